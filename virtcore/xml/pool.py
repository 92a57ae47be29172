"""libvirt storage pool XML: :class:`PoolDef` (``<pool>``), described with ``typed(...)``.

>>> p = parse_pool("<pool type='dir'><name>images</name>"
...                "<target><path>/var/lib/images/</path></target></pool>")
>>> p.type, p.name, p.target.path
('dir', 'images', '/var/lib/images')
>>> "<name>images</name>" in p.to_xml()
True

Every class here declares its fields with :func:`~virtcore.xml._spec.typed`; parsing,
formatting (an overlay onto the source element: whatever is not typed, such as the
``fs:mount_opts`` and ``rbd:config_opts`` namespaces, is written back unchanged) and the
coverage report (:func:`unmodelled_pool`) all come from those declarations. Sizes are in
bytes. :func:`parse_pool` applies the defaults libvirt's parser applies (a generated
UUID, the per-type source format, a logical pool's name and target path, ...).
"""

from __future__ import annotations

import uuid as _uuid
from typing import Any, ClassVar

import attrs
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import Node, uncovered
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import UINT, YESNO, SpecElement, parse_fields, typed
from virtcore.xml._storagecommon import PATH, PORT, UUID, Permissions, check_name

__all__ = [
    "POOL_TYPES",
    "Adapter",
    "FreeExtent",
    "PoolAuth",
    "PoolDef",
    "PoolFeatures",
    "PoolRefresh",
    "PoolSource",
    "PoolTarget",
    "SourceDevice",
    "SourceHost",
    "format_pool",
    "parse_pool",
    "pool_from_element",
    "unmodelled_pool",
]

#: The pool types of libvirt's schema (``virStoragePoolType``).
POOL_TYPES = frozenset(
    {
        "dir", "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct", "scsi", "mpath",
        "rbd", "sheepdog", "gluster", "zfs", "vstorage",
    }
)  # fmt: skip


@attrs.frozen
class SourceHost(SpecElement):
    """``<source><host name=... port=...>``: a server of a network pool."""

    _tag: ClassVar[str] = "host"
    name: str | None = typed("attr", "name", required=True)
    port: int | None = typed("attr", "port", conv=PORT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class FreeExtent(SpecElement):
    """``<device><freeExtent start=... end=...>``: a free byte range of a disk (the driver reports it)."""

    _tag: ClassVar[str] = "freeExtent"
    start: int | None = typed("attr", "start", conv=UINT)
    end: int | None = typed("attr", "end", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class SourceDevice(SpecElement):
    """``<source><device path=... part_separator=...>``: a block device (or iSCSI target) of the pool."""

    _tag: ClassVar[str] = "device"
    path: str | None = typed("attr", "path", required=True)
    part_separator: bool | None = typed("attr", "part_separator", conv=YESNO)
    free_extents: tuple[FreeExtent, ...] = typed("many", "freeExtent", cls=FreeExtent, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PoolAuth(SpecElement):
    """``<source><auth type=chap|ceph username=...><secret uuid=...|usage=...>``."""

    _tag: ClassVar[str] = "auth"
    type: str | None = typed("attr", "type")
    username: str | None = typed("attr", "username")
    secret_uuid: str | None = typed("cattr", "secret", "uuid", conv=UUID)
    secret_usage: str | None = typed("cattr", "secret", "usage")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class ParentAddress(SpecElement):
    """``<adapter><parentaddr unique_id=...><address domain bus slot function>``: a SCSI host's PCI parent."""

    _tag: ClassVar[str] = "parentaddr"
    unique_id: int | None = typed("attr", "unique_id", conv=UINT)
    domain: int | None = typed("cattr", "address", "domain", conv=UINT)
    bus: int | None = typed("cattr", "address", "bus", conv=UINT)
    slot: int | None = typed("cattr", "address", "slot", conv=UINT)
    function: int | None = typed("cattr", "address", "function", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Adapter(SpecElement):
    """``<source><adapter>`` of a scsi pool: a SCSI host (``scsi_host``) or a vHBA (``fc_host``)."""

    _tag: ClassVar[str] = "adapter"
    type: str | None = typed("attr", "type")
    name: str | None = typed("attr", "name")
    parent: str | None = typed("attr", "parent")
    managed: bool | None = typed("attr", "managed", conv=YESNO)
    parent_wwnn: str | None = typed("attr", "parent_wwnn")
    parent_wwpn: str | None = typed("attr", "parent_wwpn")
    parent_fabric_wwn: str | None = typed("attr", "parent_fabric_wwn")
    wwnn: str | None = typed("attr", "wwnn")
    wwpn: str | None = typed("attr", "wwpn")
    parent_address: ParentAddress | None = typed("one", "parentaddr", cls=ParentAddress, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Initiator(SpecElement):
    """``<source><initiator><iqn name=...>``: the iSCSI initiator name to log in with."""

    _tag: ClassVar[str] = "initiator"
    iqn: str | None = typed("cattr", "iqn", "name")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PoolSource(SpecElement):
    """``<source>``: where the pool's storage comes from.

    ``hosts`` (network pools), ``devices`` (block devices, iSCSI targets), ``dir`` (a
    directory path, e.g. an NFS export), ``adapter`` (scsi), ``name`` (a volume group,
    RBD pool, Gluster volume, ZFS pool), ``format`` (the filesystem, partition table or
    LVM format), ``initiator`` (iSCSI iqn), ``auth``, ``vendor`` / ``product``, and
    ``protocol_ver`` (NFS protocol version).
    """

    _tag: ClassVar[str] = "source"
    _order = (
        "host", "device", "dir", "adapter", "name", "format", "protocol", "initiator", "auth",
        "vendor", "product",
    )  # fmt: skip
    hosts: tuple[SourceHost, ...] = typed("many", "host", cls=SourceHost, default=())
    devices: tuple[SourceDevice, ...] = typed("many", "device", cls=SourceDevice, default=())
    dir: str | None = typed("cattr", "dir", "path", conv=PATH)
    adapter: Adapter | None = typed("one", "adapter", cls=Adapter, default=None)
    name: str | None = typed("ctext", "name")
    format: str | None = typed("cattr", "format", "type")
    protocol_ver: str | None = typed("cattr", "protocol", "ver")
    initiator: Initiator | None = typed("one", "initiator", cls=Initiator, default=None)
    auth: PoolAuth | None = typed("one", "auth", cls=PoolAuth, default=None)
    vendor: str | None = typed("cattr", "vendor", "name")
    product: str | None = typed("cattr", "product", "name")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PoolTarget(SpecElement):
    """``<target>``: the pool's ``path`` on the host (sanitized) and its ``permissions``."""

    _tag: ClassVar[str] = "target"
    _order = ("path", "permissions")
    path: str | None = typed("ctext", "path", conv=PATH)
    permissions: Permissions | None = typed("one", "permissions", cls=Permissions, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PoolFeatures(SpecElement):
    """``<features><cow state=yes|no>``: copy-on-write of a btrfs directory pool."""

    _tag: ClassVar[str] = "features"
    cow: bool | None = typed("cattr", "cow", "state", conv=YESNO)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PoolRefresh(SpecElement):
    """``<refresh><volume allocation=default|capacity>``: how an rbd pool reports allocation."""

    _tag: ClassVar[str] = "refresh"
    volume_allocation: str | None = typed("cattr", "volume", "allocation")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PoolDef(SpecElement):
    """A storage pool definition (``<pool type=...>``), immutable: change it with :func:`attrs.evolve`.

    ``capacity``, ``allocation`` and ``available`` are in bytes (``None`` when absent;
    libvirt's own parser ignores them, they are the driver's to report). ``uuid`` is
    generated when not given.
    """

    _tag: ClassVar[str] = "pool"
    _order = (
        "name", "uuid", "capacity", "allocation", "available", "features", "source", "target",
        "refresh",
    )  # fmt: skip
    type: str = typed("attr", "type", required=True)
    name: str = typed("ctext", "name")
    uuid: str = typed("ctext", "uuid", conv=UUID)
    capacity: int | None = typed("bytes", "capacity")
    allocation: int | None = typed("bytes", "allocation")
    available: int | None = typed("bytes", "available")
    features: PoolFeatures | None = typed("one", "features", cls=PoolFeatures, default=None)
    source: PoolSource = typed("one", "source", cls=PoolSource, default=attrs.Factory(PoolSource))
    target: PoolTarget | None = typed("one", "target", cls=PoolTarget, default=None)
    refresh: PoolRefresh | None = typed("one", "refresh", cls=PoolRefresh, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if self.type not in POOL_TYPES:
            raise XMLError(f"unknown storage pool type '{self.type}'")
        check_name(self.name, f"storage pool of type '{self.type}'")
        if self.uuid is None:
            object.__setattr__(self, "uuid", str(_uuid.uuid4()))
        elif not isinstance(self.uuid, str):
            raise XMLError(f"invalid UUID in storage pool '{self.name}'")
        else:
            object.__setattr__(self, "uuid", UUID[0](self.uuid, f"storage pool '{self.name}' <uuid>"))
        if self.source is None:
            object.__setattr__(self, "source", PoolSource())

    def to_xml(self) -> str:
        """The pool as XML text (see :func:`format_pool`)."""
        return format_pool(self)


def pool_from_element(el: Element) -> PoolDef:
    """Parse a ``<pool>`` element, applying libvirt's parse-time defaults (see :func:`parse_pool`)."""
    if el.tag != "pool":
        raise XMLError(f"expected a <pool> element, got <{el.tag}>")
    values = parse_fields(PoolDef, el)
    if values["name"] is None and values["type"] == "logical" and values["source"] is not None:
        values["name"] = values["source"].name  # libvirt names such a pool after its volume group
    return _apply_defaults(PoolDef(**values, raw=el))


def _apply_defaults(p: PoolDef) -> PoolDef:
    src = p.source
    changes: dict[str, Any] = {}
    src_changes: dict[str, Any] = {}
    if p.type == "logical":
        # a volume group: the pool and the group name each other; the target is /dev/GROUP
        vg = src.name or p.name
        if src.name is None:
            src_changes["name"] = vg
        if src.format is None:
            src_changes["format"] = "lvm2"
        changes["target"] = _with_path(p.target, f"/dev/{vg}")
    elif p.type == "zfs" and src.name:
        changes["target"] = _with_path(p.target, f"/dev/zvol/{src.name}")
    elif p.type in ("netfs", "fs") and src.format is None:
        src_changes["format"] = "auto"
    elif p.type == "gluster" and src.dir is None:
        src_changes["dir"] = "/"
    elif p.type == "scsi" and src.adapter is not None and src.adapter.type is None:
        src_changes["adapter"] = attrs.evolve(src.adapter, type="scsi_host")
    if src_changes:
        changes["source"] = attrs.evolve(src, **src_changes)
    return attrs.evolve(p, **changes) if changes else p


def _with_path(target: PoolTarget | None, path: str) -> PoolTarget:
    if target is None:
        return PoolTarget(path=path)
    return attrs.evolve(target, path=path)


def parse_pool(text: str | bytes, *, strict: bool = False) -> PoolDef:
    """Parse storage pool XML (with the hardened parser) into a :class:`PoolDef`.

    :param strict: also refuse elements and attributes the typed model does not cover
        (by default they are kept verbatim; see :func:`unmodelled_pool`).
    :raises XMLError: malformed or hostile XML, an unknown pool type, a missing or
        invalid name (``/`` is refused), an invalid UUID, size, mode, id or port.
    """
    p = pool_from_element(secure_parse(text))
    if strict:
        found = unmodelled_pool(p)
        if found:
            raise XMLError(f"storage pool '{p.name}' has XML the model does not cover: {', '.join(found)}")
    return p


def format_pool(p: PoolDef) -> str:
    """``p`` as pool XML text, indented like libvirt's (two spaces)."""
    try:
        el = p.to_element()
        etree.indent(el, space="  ")
        return etree.tostring(el, encoding="unicode")
    except ValueError as exc:
        raise XMLError(f"storage pool '{p.name}' holds text XML cannot represent: {exc}") from None


def pool_tree() -> Node:
    """What the pool model types of ``<pool>`` (the coverage tree)."""
    return PoolDef.covered()


def unmodelled_pool(p: PoolDef) -> list[str]:
    """Paths (``pool/source/foo``, ``pool/@bar``) of what ``p``'s XML holds and the model does not type.

    They are kept and written back verbatim; a pool built in Python has none.
    """
    if p.raw is None:
        return []
    return uncovered(p.raw, pool_tree(), "pool")
