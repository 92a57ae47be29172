"""libvirt storage volume XML: :class:`VolumeDef` (``<volume>``), described with ``typed(...)``.

>>> v = parse_volume("<volume><name>a.img</name><capacity unit='G'>1</capacity>"
...                  "<target><format type='qcow2'/></target></volume>")
>>> v.type, v.capacity, v.allocation, v.target.format
('file', 1073741824, 1073741824, 'qcow2')

Every class declares its fields with :func:`~virtcore.xml._spec.typed`; parsing,
formatting (an overlay onto the source element: what is not typed is written back
unchanged) and the coverage report (:func:`virtcore.xml.unmodelled`) come from those
declarations. Sizes are in bytes; ``unit=`` is read as libvirt reads it (``b``,
``KB`` = 1000, ``K``/``KiB`` = 1024, ... ``EiB``), and a size beyond an unsigned
64-bit integer (``LLONG_MAX`` for capacity, allocation and physical: ``off_t`` is
signed) is an :class:`~virtcore.errors.XMLError` naming the element.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

import attrs

from virtcore.errors import ConfigUnsupportedError, ErrorDomain, XMLError
from virtcore.limits import LLONG_MAX
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._fast import fast_parse
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import UINT, SpecElement, check_covered, format_xml, typed, with_source
from virtcore.xml._storagecommon import UUID, Permissions, check_name

if TYPE_CHECKING:
    from virtcore.xml.pool import PoolDef

__all__ = [
    "ALL_VOLUME_FORMATS",
    "DISK_FORMATS",
    "FILE_FORMATS",
    "FS_FORMATS",
    "VOLUME_TYPES",
    "BackingStore",
    "Cipher",
    "Encryption",
    "EncryptionSecret",
    "Extent",
    "IVGen",
    "Timestamps",
    "VolumeDef",
    "VolumeFeatures",
    "VolumeSource",
    "VolumeSourceDevice",
    "VolumeTarget",
    "format_volume",
    "parse_volume",
    "volume_from_element",
]

#: The volume types of libvirt's schema (``virStorageVolType``).
VOLUME_TYPES = frozenset({"file", "block", "dir", "network", "netdir", "ploop"})
#: Image formats of file-based pools (libvirt's ``virStorageFileFormat``).
FILE_FORMATS = (
    "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop", "cow", "qcow",
    "qcow2", "qed", "vmdk", "luks",
)  # fmt: skip
#: Partition types of a disk pool's volumes (``virStorageVolFormatDisk``).
DISK_FORMATS = ("none", "linux", "fat16", "fat32", "linux-swap", "linux-lvm", "linux-raid", "extended")
#: File systems (``formatdev`` of libvirt's schema, for volumes holding one).
FS_FORMATS = (
    "none", "auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat", "hfs+",
    "xfs", "ocfs2", "vmfs",
)  # fmt: skip
#: Every volume format any pool accepts: a format outside it never reaches a tool.
ALL_VOLUME_FORMATS = frozenset(FILE_FORMATS + DISK_FORMATS + FS_FORMATS)
#: Per pool type: the default volume format and the accepted ones (types absent: no format).
_VOLUME_FORMATS: dict[str, tuple[str, frozenset[str]]] = {
    **{t: ("raw", frozenset(FILE_FORMATS)) for t in ("dir", "fs", "netfs", "rbd", "gluster", "vstorage")},
    "disk": ("none", frozenset(DISK_FORMATS)),
}
STORAGE = ErrorDomain.STORAGE


@attrs.frozen
class Extent(SpecElement):
    """``<source><device><extent start=... end=...>``: a byte range of a device the volume uses."""

    _tag: ClassVar[str] = "extent"
    start: int | None = typed("attr", "start", conv=UINT)
    end: int | None = typed("attr", "end", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class VolumeSourceDevice(SpecElement):
    """``<source><device path=...>``: a device holding (part of) the volume, and its extents."""

    _tag: ClassVar[str] = "device"
    path: str | None = typed("attr", "path", required=True)
    extents: tuple[Extent, ...] = typed("many", "extent", cls=Extent, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class VolumeSource(SpecElement):
    """``<source>`` of a volume: the devices it lives on (reported by logical and disk pools)."""

    _tag: ClassVar[str] = "source"
    devices: tuple[VolumeSourceDevice, ...] = typed("many", "device", cls=VolumeSourceDevice, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Timestamps(SpecElement):
    """``<timestamps>``: access, birth, change and modification times (``seconds.nanoseconds``)."""

    _tag: ClassVar[str] = "timestamps"
    _order = ("atime", "btime", "ctime", "mtime")
    atime: str | None = typed("ctext", "atime")
    btime: str | None = typed("ctext", "btime")
    ctime: str | None = typed("ctext", "ctime")
    mtime: str | None = typed("ctext", "mtime")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class EncryptionSecret(SpecElement):
    """``<encryption><secret type=passphrase uuid=...|usage=...>``."""

    _tag: ClassVar[str] = "secret"
    type: str | None = typed("attr", "type")
    uuid: str | None = typed("attr", "uuid", conv=UUID)
    usage: str | None = typed("attr", "usage")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Cipher(SpecElement):
    """``<encryption><cipher name size mode hash>`` of a LUKS volume."""

    _tag: ClassVar[str] = "cipher"
    name: str | None = typed("attr", "name")
    size: int | None = typed("attr", "size", conv=UINT)
    mode: str | None = typed("attr", "mode")
    hash: str | None = typed("attr", "hash")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _check_algorithms("cipher", self.name, self.mode, self.hash)


def _check_algorithms(what: str, *names: str | None) -> None:
    """Algorithm names (they end up inside one ``qemu-img -o`` argument: no ``,`` or ``=``)."""
    for name in names:
        if name is not None and not _ALGORITHM.fullmatch(name):
            raise XMLError(
                f"invalid {what} algorithm '{name}' in <encryption>: expected letters, digits, '_', '-'"
            )


_ALGORITHM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*", re.ASCII)


@attrs.frozen
class IVGen(SpecElement):
    """``<encryption><ivgen name hash>`` of a LUKS volume."""

    _tag: ClassVar[str] = "ivgen"
    name: str | None = typed("attr", "name")
    hash: str | None = typed("attr", "hash")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _check_algorithms("ivgen", self.name, self.hash)


@attrs.frozen
class Encryption(SpecElement):
    """``<encryption format=luks|qcow|... engine=...>``: secrets, and a LUKS cipher and IV generator."""

    _tag: ClassVar[str] = "encryption"
    _order = ("secret", "cipher", "ivgen")
    format: str | None = typed("attr", "format", required=True)
    engine: str | None = typed("attr", "engine")
    secrets: tuple[EncryptionSecret, ...] = typed("many", "secret", cls=EncryptionSecret, default=())
    cipher: Cipher | None = typed("one", "cipher", cls=Cipher, default=None)
    ivgen: IVGen | None = typed("one", "ivgen", cls=IVGen, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if self.format not in ("default", "qcow", "luks", "luks2", "luks-any"):
            raise XMLError(f"unknown volume encryption format type '{self.format}'")
        if self.engine not in (None, "default", "qemu", "librbd"):
            raise XMLError(f"unknown volume encryption engine '{self.engine}'")
        for secret in self.secrets:
            if secret.type != "passphrase":
                raise XMLError(
                    f"unknown volume encryption secret type '{secret.type}': expected 'passphrase'"
                )
            if secret.uuid is None and secret.usage is None:
                raise XMLError("a volume encryption secret needs a 'uuid' or a 'usage'")


@attrs.frozen
class VolumeFeatures(SpecElement):
    """``<target><features>`` of a qcow2 volume: ``lazy_refcounts``, ``extended_l2``."""

    _tag: ClassVar[str] = "features"
    _order = ("lazy_refcounts", "extended_l2")
    lazy_refcounts: bool = typed("flag", "lazy_refcounts", default=False)
    extended_l2: bool = typed("flag", "extended_l2", default=False)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class VolumeTarget(SpecElement):
    """``<target>``: the volume's ``path``, ``format`` (raw, qcow2, ...), ``permissions``,
    ``timestamps``, ``encryption``, qcow2 ``compat`` / ``features`` / ``cluster_size`` (bytes),
    and ``nocow`` (create without copy-on-write)."""

    _tag: ClassVar[str] = "target"
    _order = (
        "path", "format", "permissions", "timestamps", "encryption", "compat", "clusterSize",
        "features", "nocow",
    )  # fmt: skip
    path: str | None = typed("ctext", "path")
    format: str | None = typed("cattr", "format", "type")
    permissions: Permissions | None = typed("one", "permissions", cls=Permissions, default=None)
    timestamps: Timestamps | None = typed("one", "timestamps", cls=Timestamps, default=None)
    encryption: Encryption | None = typed("one", "encryption", cls=Encryption, default=None)
    compat: str | None = typed("ctext", "compat")
    cluster_size: int | None = typed("bytes", "clusterSize")
    features: VolumeFeatures | None = typed("one", "features", cls=VolumeFeatures, default=None)
    nocow: bool = typed("flag", "nocow", default=False)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _check_path(self.path, "target path")

    @property
    def lazy_refcounts(self) -> bool:
        """Whether ``<features><lazy_refcounts/>`` is set."""
        return self.features is not None and self.features.lazy_refcounts


@attrs.frozen
class BackingStore(SpecElement):
    """``<backingStore>``: the image a copy-on-write volume is layered on (path, format, permissions)."""

    _tag: ClassVar[str] = "backingStore"
    _order = ("path", "format", "permissions", "timestamps")
    path: str | None = typed("ctext", "path", required=True)
    format: str | None = typed("cattr", "format", "type")
    permissions: Permissions | None = typed("one", "permissions", cls=Permissions, default=None)
    timestamps: Timestamps | None = typed("one", "timestamps", cls=Timestamps, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _check_path(self.path, "backing store path")
        if self.path is not None and not self.path.startswith("/"):
            raise XMLError(f"volume backing store path '{self.path}' is not absolute")


def _check_path(path: str | None, what: str) -> None:
    """A volume path: printable, and not something a tool would take for an option."""
    if path is not None and (not path.isprintable() or path.startswith("-")):
        raise XMLError(f"invalid volume {what} {path!r}")


@attrs.frozen
class VolumeDef(SpecElement):
    """A storage volume definition (``<volume type=...>``), immutable: change it with :func:`attrs.evolve`.

    ``type`` is ``file`` unless given. ``capacity``, ``allocation`` and ``physical`` are
    in bytes. As libvirt's parser does, ``allocation`` defaults to ``capacity``, and qcow2
    ``features`` imply ``compat`` 1.1 (parsed or built in Python alike).
    """

    _tag: ClassVar[str] = "volume"
    _order = (
        "name", "key", "source", "capacity", "allocation", "physical", "target", "backingStore",
    )  # fmt: skip
    name: str = typed("ctext", "name")
    type: str = typed("attr", "type", default="file")
    key: str | None = typed("ctext", "key")
    source: VolumeSource | None = typed("one", "source", cls=VolumeSource, default=None)
    capacity: int | None = typed("bytes", "capacity")
    allocation: int | None = typed("bytes", "allocation")
    physical: int | None = typed("bytes", "physical")
    target: VolumeTarget | None = typed("one", "target", cls=VolumeTarget, default=None)
    backing_store: BackingStore | None = typed("one", "backingStore", cls=BackingStore, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG
    #: The document the fast path read it from (it keeps no source element): formatting
    #: parses it fully then, for the elements the values are overlaid onto.
    _src: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        # The hot path of every volume create: the checks cost no formatting unless one fails.
        if self.name is None:
            raise XMLError("missing <name> in storage volume")
        check_name(self.name, "storage volume", file_name=True)
        if self.type is None:
            object.__setattr__(self, "type", "file")
        elif self.type not in VOLUME_TYPES:
            raise ConfigUnsupportedError(f"unknown volume type '{self.type}' of {self._what}", domain=STORAGE)
        capacity, allocation, physical = self.capacity, self.allocation, self.physical
        if max(capacity or 0, allocation or 0, physical or 0) > LLONG_MAX:
            for tag in ("capacity", "allocation", "physical"):
                size = getattr(self, tag)
                if size is not None and size > LLONG_MAX:
                    # off_t is signed: no file is larger
                    raise XMLError(f"<{tag}> of {self._what} is {size} bytes, more than {LLONG_MAX}")
        target = self.target
        backing = self.backing_store
        if (target is not None and target.format not in _KNOWN_OR_NONE) or (
            backing is not None and backing.format not in _KNOWN_OR_NONE
        ):
            for where, fmt in _formats(self):
                if fmt not in ALL_VOLUME_FORMATS:
                    raise _unknown_format(fmt, where, self._what)
        if allocation is None and capacity is not None:
            object.__setattr__(self, "allocation", capacity)  # libvirt: fully allocated
        if target is not None:
            if target.features is not None and target.compat is None:
                # qcow2 features need the qcow2 v3 format, whose compat level is 1.1
                target = attrs.evolve(target, compat="1.1")
                object.__setattr__(self, "target", target)
            compat = target.compat
            if compat is not None and not _COMPAT.fullmatch(compat):
                raise XMLError(f"forbidden characters in <compat> '{compat}' of {self._what}: expected N.N")

    @property
    def _what(self) -> str:
        """The volume as error messages name it."""
        return f"storage volume '{self.name}'"

    def to_xml(self) -> str:
        """The volume as XML text (see :func:`format_volume`)."""
        return format_volume(self)


#: What a format may be for the common case to skip the per-format check: a known one, or none.
_KNOWN_OR_NONE: frozenset[str | None] = frozenset([*ALL_VOLUME_FORMATS, None])
_COMPAT = re.compile(r"[0-9]+\.[0-9]+", re.ASCII)


def _unknown_format(fmt: str, where: str, what: str) -> ConfigUnsupportedError:
    return ConfigUnsupportedError(f"unknown volume format type '{fmt}' in {where} of {what}", domain=STORAGE)


def _formats(v: VolumeDef) -> list[tuple[str, str]]:
    found = []
    if v.target is not None and v.target.format is not None:
        found.append(("<target>", v.target.format))
    if v.backing_store is not None and v.backing_store.format is not None:
        found.append(("<backingStore>", v.backing_store.format))
    return found


def volume_from_element(
    el: Element, *, pool: PoolDef | None = None, require_capacity: bool = True
) -> VolumeDef:
    """Parse a ``<volume>`` element (see :func:`parse_volume`)."""
    if el.tag != "volume":
        raise XMLError(f"unexpected root element <{el.tag}>, expecting <volume>")
    return _checked(VolumeDef.from_element(el), pool, require_capacity)


def _checked(v: VolumeDef, pool: PoolDef | None, require_capacity: bool) -> VolumeDef:
    """A parsed volume through the checks and defaults beyond its description."""
    if v.capacity is None and require_capacity:
        raise XMLError(f"missing <capacity> in {v._what}")
    # the parsed <target><features> holds its element: a path search would cost ~5 us a volume
    target = v.target
    features = None if target is None or target.features is None else target.features.raw
    for child in () if features is None else features:
        if child.tag not in ("lazy_refcounts", "extended_l2"):
            raise ConfigUnsupportedError(f"unsupported feature <{child.tag}> in {v._what}", domain=STORAGE)
    if pool is not None:
        v = _pool_defaults(v, pool)
    return v


def _pool_defaults(v: VolumeDef, pool: PoolDef) -> VolumeDef:
    """``v`` with the formats libvirt gives a volume of ``pool``'s type, which must accept them."""
    rules = _VOLUME_FORMATS.get(pool.type)
    if rules is None:  # the pool's volumes have no format
        return v
    default, accepted = rules
    target, backing = v.target, v.backing_store
    if (target is not None and target.format not in accepted and target.format is not None) or (
        backing is not None and backing.format not in accepted and backing.format is not None
    ):
        for where, fmt in _formats(v):
            if fmt not in accepted:
                what = f"storage volume '{v.name}' of {pool.type} pool '{pool.name}'"
                raise _unknown_format(fmt, where, what)
    if target is None or target.format is None:
        target = target if target is not None else VolumeTarget()
        v = attrs.evolve(v, target=attrs.evolve(target, format=default))
    if v.backing_store is not None and v.backing_store.format is None:
        v = attrs.evolve(v, backing_store=attrs.evolve(v.backing_store, format=default))
    return v


def parse_volume(
    text: str | bytes, *, pool: PoolDef | None = None, strict: bool = False, require_capacity: bool = True
) -> VolumeDef:
    """Parse storage volume XML (with the hardened parser) into a :class:`VolumeDef`.

    :param pool: the pool the volume belongs to: its type decides the formats accepted and
        the default one (``raw`` for file-based pools, ``none`` for a disk pool), as in
        libvirt. Without it any format libvirt knows is accepted and none is filled in.
    :param strict: also refuse elements and attributes the typed model does not cover
        (by default they are kept verbatim; see :func:`virtcore.xml.unmodelled`).
    :param require_capacity: refuse a volume without ``<capacity>`` (libvirt's default;
        ``False`` is its ``VIR_VOL_XML_PARSE_NO_CAPACITY``, for cloning).
    :raises XMLError: malformed or hostile XML, a missing or invalid name (``/`` is
        refused), a bad or overflowing size or unit, an invalid mode, id or compat.
    :raises ConfigUnsupportedError: an unknown volume type, format or qcow2 feature.
    """
    # the common small document skips libxml2 (~10 us of a volume create): same reader, same checks
    v = fast_parse(VolumeDef, text)
    if v is None:
        el = secure_parse(text, api="STORAGE")
        v = volume_from_element(el, pool=pool, require_capacity=require_capacity)
    else:
        object.__setattr__(v, "_src", text)
        v = _checked(v, pool, require_capacity)
    if strict:
        check_covered(v, f"storage volume '{v.name}'")
    return v


def format_volume(v: VolumeDef) -> str:
    """``v`` as volume XML text, indented like libvirt's (two spaces)."""
    if v.raw is None and v._src is not None:  # read by the fast path: overlay onto the source elements
        v = with_source(v, VolumeDef.from_element(secure_parse(v._src, api="STORAGE")))
    return format_xml(v, f"storage volume '{v.name}'")
