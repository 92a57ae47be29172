"""libvirt storage pool XML: :class:`PoolDef` (``<pool>``), described with ``typed(...)``.

>>> p = parse_pool("<pool type='dir'><name>images</name>"
...                "<target><path>/var/lib/images/</path></target></pool>")
>>> p.type, p.name, p.target.path
('dir', 'images', '/var/lib/images')
>>> "<name>images</name>" in p.to_xml()
True

Every class here declares its fields with :func:`~virtcore.xml._spec.typed`; parsing,
formatting (an overlay onto the source element: whatever is not typed is written back
unchanged) and the coverage report (:func:`virtcore.xml.unmodelled`) all come from those
declarations. Sizes are in bytes. :func:`parse_pool` applies the defaults libvirt's parser
applies (a generated UUID, the per-type source format, a logical pool's name and target
path, ...).
"""

from __future__ import annotations

import re
import uuid as _uuid
from typing import Any, ClassVar

import attrs

from virtcore.errors import ConfigUnsupportedError, ErrorDomain, NoSupportError, XMLError
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import UINT, YESNO, SpecElement, check_covered, format_xml, typed
from virtcore.xml._storagecommon import PATH, PORT, UUID, Permissions, check_name, check_word
from virtcore.xml._util import canonical_uuid

__all__ = [
    "POOL_TYPES",
    "FS_NS",
    "RBD_NS",
    "Adapter",
    "ConfigOption",
    "ConfigOpts",
    "MountOption",
    "MountOpts",
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
]


@attrs.frozen
class SourceHost(SpecElement):
    """``<source><host name=... port=...>``: a server of a network pool."""

    _tag: ClassVar[str] = "host"
    name: str | None = typed("attr", "name", required=True)
    port: int | None = typed("attr", "port", conv=PORT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        check_word(self.name, "storage pool source host name")
        if self.name is not None and "/" in self.name:
            raise XMLError(f"invalid storage pool source host name '{self.name}'")


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

    def __attrs_post_init__(self) -> None:
        check_word(self.path, "storage pool source device path")


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

    def __attrs_post_init__(self) -> None:
        if self.type not in (None, "scsi_host", "fc_host"):
            raise XMLError(f"unknown storage pool adapter type '{self.type}'")
        for attr in ("wwnn", "wwpn", "parent_wwnn", "parent_wwpn", "parent_fabric_wwn"):
            value = getattr(self, attr)
            if value is not None and not _WWN.fullmatch(value):
                raise XMLError(
                    f"malformed {attr} '{value}' of the storage pool adapter: expected 16 hex digits"
                )
        if self.type == "fc_host" and (self.wwnn is None or self.wwpn is None):
            raise XMLError("an fc_host storage pool adapter needs both 'wwnn' and 'wwpn'")
        if self.name is not None and self.parent_address is not None:
            raise XMLError("a scsi_host storage pool adapter takes 'name' or <parentaddr>, not both")
        if self.name is not None and not _SCSI_HOST.fullmatch(self.name):
            raise XMLError(f"invalid storage pool adapter name '{self.name}': expected 'hostN'")
        check_word(self.parent, "storage pool adapter parent")
        if self.parent is not None and "/" in self.parent:
            raise XMLError(f"invalid storage pool adapter parent '{self.parent}'")


_WWN = re.compile(r"(0x)?[0-9a-fA-F]{16}")
_SCSI_HOST = re.compile(r"host[0-9]+", re.ASCII)


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

    def __attrs_post_init__(self) -> None:
        check_word(self.name, "storage pool source name")
        check_word(self.dir, "storage pool source dir path")


@attrs.frozen
class PoolTarget(SpecElement):
    """``<target>``: the pool's ``path`` on the host (sanitized) and its ``permissions``."""

    _tag: ClassVar[str] = "target"
    _order = ("path", "permissions")
    path: str | None = typed("ctext", "path", conv=PATH)
    permissions: Permissions | None = typed("one", "permissions", cls=Permissions, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if self.path is not None and not self.path.startswith("/"):
            raise XMLError(f"storage pool target path '{self.path}' is not absolute")


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


#: The namespace of the mount options of fs and netfs pools (prefix ``fs``).
FS_NS = "http://libvirt.org/schemas/storagepool/fs/1.0"
#: The namespace of the Ceph configuration options of rbd pools (prefix ``rbd``).
RBD_NS = "http://libvirt.org/schemas/storagepool/rbd/1.0"
#: The prefixes libvirt writes for them.
_NSMAP = {"fs": FS_NS, "rbd": RBD_NS}


@attrs.frozen
class MountOption(SpecElement):
    """``<fs:option name=...>``: one option passed to mount(8) (``-o``) for an fs or netfs pool."""

    _tag: ClassVar[str] = f"{{{FS_NS}}}option"
    name: str | None = typed("attr", "name", required=True)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        # joined with ',' into one mount -o argument: a ',' or a leading '-' would smuggle in more
        _check_option("mount option", self.name, forbidden=",")


@attrs.frozen
class MountOpts(SpecElement):
    """``<fs:mount_opts>``: the extra mount options of an fs or netfs pool."""

    _tag: ClassVar[str] = f"{{{FS_NS}}}mount_opts"
    options: tuple[MountOption, ...] = typed("many", f"{{{FS_NS}}}option", cls=MountOption, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class ConfigOption(SpecElement):
    """``<rbd:option name=... value=...>``: one Ceph client option of an rbd pool."""

    _tag: ClassVar[str] = f"{{{RBD_NS}}}option"
    name: str | None = typed("attr", "name", required=True)
    value: str | None = typed("attr", "value", required=True)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _check_option("rbd config option", self.name, forbidden="=")
        _check_option(f"value of rbd config option '{self.name}'", self.value, forbidden="", value=True)


def _check_option(what: str, text: str | None, *, forbidden: str, value: bool = False) -> None:
    """Refuse option text that could become another option where it is passed on.

    A name is non-empty printable text without blanks or ``forbidden`` characters and does
    not start with ``-``; a value (``value=True``) is printable text.
    """
    if not text or not text.isprintable():
        raise XMLError(f"invalid {what} {text!r}: expected printable text")
    if not value and (text.startswith("-") or any(ch.isspace() or ch in forbidden for ch in text)):
        raise XMLError(f"invalid {what} {text!r}: no blanks, no leading '-', no {forbidden!r}")


@attrs.frozen
class ConfigOpts(SpecElement):
    """``<rbd:config_opts>``: the Ceph client options of an rbd pool."""

    _tag: ClassVar[str] = f"{{{RBD_NS}}}config_opts"
    options: tuple[ConfigOption, ...] = typed("many", f"{{{RBD_NS}}}option", cls=ConfigOption, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PoolDef(SpecElement):
    """A storage pool definition (``<pool type=...>``), immutable: change it with :func:`attrs.evolve`.

    ``capacity``, ``allocation`` and ``available`` are in bytes (``None`` when absent;
    libvirt's own parser ignores them, they are the driver's to report). ``uuid`` is
    generated when not given. ``mount_opts`` (``fs:mount_opts``, fs and netfs pools) and
    ``config_opts`` (``rbd:config_opts``) are the drivers' namespaced extensions.
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
    mount_opts: MountOpts | None = typed("one", MountOpts._tag, cls=MountOpts, default=None)
    config_opts: ConfigOpts | None = typed("one", ConfigOpts._tag, cls=ConfigOpts, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _complete(self)

    def to_xml(self) -> str:
        """The pool as XML text (see :func:`format_pool`)."""
        return format_pool(self)


def pool_from_element(el: Element) -> PoolDef:
    """Parse a ``<pool>`` element, applying libvirt's parse-time defaults (see :func:`parse_pool`)."""
    if el.tag != "pool":
        raise XMLError(f"unexpected root element <{el.tag}>, expecting <pool>")
    pool: PoolDef = PoolDef.from_element(el)
    return pool


# ---------------------------------------------------------------------------- libvirt's rules per type

# What a pool type's source has (libvirt's VIR_STORAGE_POOL_SOURCE_* flags)
_HOST, _DEVICE, _DIR, _ADAPTER, _NAME, _IQN, _NETWORK = (1 << i for i in range(7))
_FS_FORMATS = (
    "auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat", "hfs+", "xfs",
    "ocfs2", "vmfs",
)  # fmt: skip


@attrs.frozen
class _TypeRules:
    """What libvirt's parser requires and fills in for one pool type."""

    flags: int = 0
    #: the source format when none is given, and the ones accepted (empty: no format)
    default_format: str | None = None
    formats: tuple[str, ...] = ()


_RULES: dict[str, _TypeRules] = {
    "dir": _TypeRules(),
    "fs": _TypeRules(_DEVICE, "auto", _FS_FORMATS),
    "netfs": _TypeRules(_HOST | _DIR, "auto", ("auto", "nfs", "glusterfs", "cifs")),
    "logical": _TypeRules(_NAME | _DEVICE, "lvm2", ("unknown", "lvm2")),
    "disk": _TypeRules(
        _DEVICE, "unknown", ("unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2")
    ),
    "iscsi": _TypeRules(_HOST | _DEVICE | _IQN),
    "iscsi-direct": _TypeRules(_HOST | _DEVICE | _NETWORK | _IQN),
    "scsi": _TypeRules(_ADAPTER),
    "mpath": _TypeRules(),
    "rbd": _TypeRules(_HOST | _NETWORK | _NAME),
    "sheepdog": _TypeRules(_HOST | _NETWORK | _NAME),
    "gluster": _TypeRules(_HOST | _NETWORK | _NAME | _DIR),
    "zfs": _TypeRules(_NAME | _DEVICE),
    "vstorage": _TypeRules(_NAME),
}
#: The pool types of libvirt's schema (``virStoragePoolType``).
POOL_TYPES = frozenset(_RULES)


def _set(p: PoolDef, field: str, value: object) -> None:
    object.__setattr__(p, field, value)


def _complete(p: PoolDef) -> None:
    """Check ``p`` and fill in what libvirt's parser fills in for its type (in place: ``p`` is new)."""
    rules = _RULES.get(p.type)
    if rules is None:
        raise ConfigUnsupportedError(f"unknown storage pool type '{p.type}'", domain=ErrorDomain.STORAGE)
    src = p.source if p.source is not None else PoolSource()
    what = f"storage pool '{p.name}'" if p.name else f"storage pool of type '{p.type}'"
    if p.type == "rbd" and src.name is None:
        raise XMLError(f"{what}: element <name> of <source> is mandatory for an rbd pool")
    if p.name is None and rules.flags & _NAME and src.name is not None:
        _set(p, "name", src.name)  # libvirt names such a pool after its source
    if p.name is None:
        raise XMLError(f"missing <name> in storage pool of type '{p.type}'")
    check_name(p.name, "storage pool")
    what = f"storage pool '{p.name}'"
    _set(p, "uuid", str(_uuid.uuid4()) if p.uuid is None else canonical_uuid(str(p.uuid), f"{what} <uuid>"))
    changes: dict[str, Any] = {}
    if rules.default_format is not None:
        if src.format is None:
            changes["format"] = rules.default_format
        elif src.format not in rules.formats:
            raise ConfigUnsupportedError(
                f"unknown pool format type '{src.format}' of {what}", domain=ErrorDomain.STORAGE
            )
    if src.dir is None and p.type == "gluster":
        changes["dir"] = "/"
    if rules.flags & _NAME and src.name is None:
        changes["name"] = p.name
    if src.adapter is not None and src.adapter.type is None and src.adapter.name is not None:
        changes["adapter"] = attrs.evolve(src.adapter, type="scsi_host")
    if changes:
        src = attrs.evolve(src, **changes)
    if src is not p.source:
        _set(p, "source", src)
    _check_source(p, rules, what)
    if not rules.flags & _NETWORK:
        if p.type in ("logical", "zfs"):
            path = f"/dev/{src.name}" if p.type == "logical" else f"/dev/zvol/{src.name}"
            if p.target is None or p.target.path != path:
                _set(
                    p,
                    "target",
                    PoolTarget(path=path) if p.target is None else attrs.evolve(p.target, path=path),
                )
        elif p.target is None or not p.target.path:
            raise XMLError(f"missing storage pool target path in {what}")
    if p.features is not None and p.features.cow is not None and p.type not in ("dir", "fs"):
        raise NoSupportError(f"cow feature may only be used for 'fs' and 'dir' pools, not by {what}")
    if p.refresh is not None and p.refresh.volume_allocation not in (None, "default", "capacity"):
        raise ConfigUnsupportedError(
            f"unknown storage pool volume refresh allocation type '{p.refresh.volume_allocation}' in {what}",
            domain=ErrorDomain.STORAGE,
        )


def _check_source(p: PoolDef, rules: _TypeRules, what: str) -> None:
    """The source elements ``p``'s type needs (libvirt's checks, in its order)."""
    src = p.source
    if rules.flags & _HOST and not src.hosts:
        raise XMLError(f"missing storage pool source host name in {what}")
    if rules.flags & _DIR and src.dir is None:
        raise XMLError(f"missing storage pool source path (<dir path=...>) in {what}")
    if rules.flags == _DEVICE and not src.devices:
        raise XMLError(f"missing storage pool source device name in {what}")
    if p.type == "iscsi-direct" and (src.initiator is None or not src.initiator.iqn):
        raise ConfigUnsupportedError(f"missing initiator IQN in {what}", domain=ErrorDomain.STORAGE)
    if src.auth is not None and src.auth.type not in ("chap", "ceph"):
        raise ConfigUnsupportedError(
            f"storage pool auth type must be 'chap' or 'ceph' in {what}", domain=ErrorDomain.STORAGE
        )
    if src.protocol_ver is not None and src.format not in ("nfs", "auto"):
        raise ConfigUnsupportedError(
            f"storage pool protocol ver unsupported for pool format '{src.format}' in {what}",
            domain=ErrorDomain.STORAGE,
        )


def parse_pool(text: str | bytes, *, strict: bool = False) -> PoolDef:
    """Parse storage pool XML (with the hardened parser) into a :class:`PoolDef`.

    :param strict: also refuse elements and attributes the typed model does not cover
        (by default they are kept verbatim; see :func:`virtcore.xml.unmodelled`).
    :raises XMLError: malformed or hostile XML, an unknown pool type, a missing or
        invalid name (``/`` is refused), an invalid UUID, size, mode, id or port.
    """
    p = pool_from_element(secure_parse(text, api="STORAGE"))
    if strict:
        check_covered(p, f"storage pool '{p.name}'")
    return p


def format_pool(p: PoolDef) -> str:
    """``p`` as pool XML text, indented like libvirt's (two spaces)."""
    return format_xml(p, f"storage pool '{p.name}'", _NSMAP)
