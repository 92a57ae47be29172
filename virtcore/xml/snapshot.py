"""libvirt domain snapshot XML: :class:`SnapshotDef` (``<domainsnapshot>``), described with ``typed(...)``.

>>> s = parse_snapshot("<domainsnapshot><name>s1</name><description>before the upgrade</description>"
...                    "<memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/>"
...                    "</disks></domainsnapshot>")
>>> s.name, s.memory_snapshot, [(d.name, d.snapshot) for d in s.disks]
('s1', 'internal', [('vda', 'internal')])
>>> "<name>s1</name>" in s.to_xml()
True

Every class here declares its fields with :func:`~virtcore.xml._spec.typed`; parsing,
formatting and the coverage report (:func:`virtcore.xml.unmodelled`) come from those
declarations. The embedded ``<domain>`` and ``<inactiveDomain>`` (the definition the
snapshot was taken of) and the driver's ``<cookie>`` are kept verbatim, as written:
:attr:`SnapshotDef.domain` reads the first with the domain model.

:func:`parse_snapshot` reads a document as libvirt's ``virDomainSnapshotDefParseString``
does: for a new snapshot (``redefine=False``) the fields only a driver writes (state,
parent, creation time, the embedded definitions, ``<active>``, the cookie) are dropped,
and disks get libvirt's defaults (``snapshot='external'`` when a disk names a source or a
driver, ``type='file'`` for an external disk, an empty ``<driver/>`` or ``<source/>``
left out); ``redefine=True`` keeps all of it (a snapshot's metadata given back to a
driver). A snapshot name is checked here: it becomes a file name and a command-line
argument, so it holds no ``/``, newline, NUL or other control character, does not start
with ``-`` and is not ``.`` or ``..``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, ClassVar

import attrs
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import ANY, Node, merge
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import (
    INT,
    SpecElement,
    check_covered,
    format_xml,
    one_of,
    parse_fields,
    spec_node,
    typed,
)
from virtcore.xml._storagecommon import PORT
from virtcore.xml.elements import SecLabel

if TYPE_CHECKING:
    from virtcore.xml.domain import DomainDef

__all__ = [
    "DISK_SNAPSHOT_MODES",
    "MEMORY_SNAPSHOT_MODES",
    "SNAPSHOT_STATES",
    "MetadataCache",
    "SnapshotDef",
    "SnapshotDisk",
    "SnapshotDiskSource",
    "SnapshotDriver",
    "SnapshotHost",
    "SnapshotParent",
    "check_snapshot_name",
    "format_snapshot",
    "parse_snapshot",
    "snapshot_from_element",
]

#: ``<state>`` of a snapshot: the domain's state when it was taken (libvirt's ``virDomainSnapshotState``).
SNAPSHOT_STATES = (
    "nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended",
    "disk-snapshot",
)  # fmt: skip
#: ``<memory snapshot=...>``: where the guest's memory goes.
MEMORY_SNAPSHOT_MODES = ("no", "internal", "external", "manual")
#: ``<disk snapshot=...>``: how a disk is snapshotted.
DISK_SNAPSHOT_MODES = ("no", "internal", "external", "manual")
#: ``<disk type=...>`` of an external snapshot's new file.
DISK_TYPES = ("file", "block", "network", "dir", "volume", "nvme", "vhostuser", "vhostvdpa")

_STATE = one_of(SNAPSHOT_STATES, "snapshot state")


def check_snapshot_name(name: object) -> str:
    """``name`` when it can name a snapshot (a file name, a command-line argument), else an :class:`XMLError`.

    Non-empty printable text without ``/``, not ``.`` or ``..``, not starting with ``-``.
    """
    if not isinstance(name, str) or not name.strip():
        raise XMLError("snapshot has no name")
    if "/" in name:
        raise XMLError(f"snapshot name '{name}' cannot contain '/'")
    if not name.isprintable():
        raise XMLError(f"snapshot name {name!r} cannot contain a newline, NUL or other control character")
    if name in (".", "..") or name.startswith("-"):
        raise XMLError(f"snapshot name '{name}' is not allowed (no '.', '..' or leading '-')")
    return name


# ---------------------------------------------------------------------------- <disks><disk>


@attrs.frozen
class SnapshotHost(SpecElement):
    """``<source><host name port transport socket>``: a server of a network disk's new image."""

    _tag: ClassVar[str] = "host"
    name: str | None = typed("attr", "name")
    port: int | None = typed("attr", "port", conv=PORT)
    transport: str | None = typed("attr", "transport", conv=one_of(("tcp", "unix", "rdma"), "host transport"))
    socket: str | None = typed("attr", "socket")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class SnapshotDiskSource(SpecElement):
    """``<disk><source file|dev|protocol name>``: where an external snapshot's new image goes.

    ``hosts`` for a network image, ``seclabels`` (of a file or block image only).
    """

    _tag: ClassVar[str] = "source"
    _order = ("host", "seclabel")
    file: str | None = typed("attr", "file")
    dev: str | None = typed("attr", "dev")
    protocol: str | None = typed("attr", "protocol")
    name: str | None = typed("attr", "name")
    hosts: tuple[SnapshotHost, ...] = typed("many", "host", cls=SnapshotHost, default=())
    seclabels: tuple[SecLabel, ...] = typed("many", "seclabel", cls=SecLabel, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @property
    def empty(self) -> bool:
        """Whether the source names nothing (libvirt drops such a ``<source/>``)."""
        return not (self.file or self.dev or self.protocol or self.name or self.hosts or self.seclabels)


@attrs.frozen
class MetadataCache(SpecElement):
    """``<driver><metadata_cache><max_size>``: the qcow2 metadata cache size of the new image, in bytes."""

    _tag: ClassVar[str] = "metadata_cache"
    max_size: int | None = typed("bytes", "max_size")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class SnapshotDriver(SpecElement):
    """``<disk><driver type>``: the format of an external snapshot's new image (``qcow2``...)."""

    _tag: ClassVar[str] = "driver"
    type: str | None = typed("attr", "type")
    metadata_cache: MetadataCache | None = typed("one", "metadata_cache", cls=MetadataCache, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class SnapshotDisk(SpecElement):
    """``<disks><disk name snapshot type>``: how one disk of the domain is snapshotted.

    ``name`` is the disk's target (``vda``) or its source path; ``snapshot`` one of
    :data:`DISK_SNAPSHOT_MODES` (``None``: the domain's default); ``source`` and ``driver``:
    the new image of an external snapshot.
    """

    _tag: ClassVar[str] = "disk"
    _order = ("driver", "source")
    name: str | None = typed("attr", "name", required=True)
    snapshot: str | None = typed("attr", "snapshot", conv=one_of(DISK_SNAPSHOT_MODES, "disk snapshot mode"))
    type: str | None = typed("attr", "type", conv=one_of(DISK_TYPES, "disk type"))
    driver: SnapshotDriver | None = typed("one", "driver", cls=SnapshotDriver, default=None)
    source: SnapshotDiskSource | None = typed("one", "source", cls=SnapshotDiskSource, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _complete_disk(self)

    @property
    def file(self) -> str | None:
        """The path of the new image (a file's or a block device's), if it names one."""
        return None if self.source is None else self.source.file or self.source.dev


def _complete_disk(d: SnapshotDisk) -> None:
    """libvirt's checks and defaults of a snapshot ``<disk>`` (in place: ``d`` is new)."""
    where = f"snapshot disk '{d.name}'"
    if d.name is None or not d.name.strip():
        raise XMLError("snapshot disk has no name")
    src = d.source
    if src is not None and src.raw is not None and src.raw.get("startupPolicy") is not None:
        raise XMLError(f"{where}: setting disk source startupPolicy is not allowed in a snapshot")
    if src is not None and src.seclabels and d.type == "network":
        raise XMLError(f"{where}: a network disk source cannot have a <seclabel>")
    if src is not None and src.empty:
        object.__setattr__(d, "source", None)
    if d.driver is not None and d.driver.type is None and d.driver.metadata_cache is None:
        object.__setattr__(d, "driver", None)
    if d.snapshot is None and (d.source is not None or d.driver is not None):
        object.__setattr__(d, "snapshot", "external")
    if d.snapshot == "external" and d.type is None:
        object.__setattr__(d, "type", "file")
    if d.snapshot in ("no", "internal", "manual") and (d.source is not None or d.driver is not None):
        raise XMLError(f"{where}: a source or driver is only allowed with snapshot='external'")


# ---------------------------------------------------------------------------- <domainsnapshot>


@attrs.frozen
class SnapshotParent(SpecElement):
    """``<parent><name>``: the snapshot this one was taken after."""

    _tag: ClassVar[str] = "parent"
    name: str | None = typed("ctext", "name", strip=False)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


#: The children a driver writes and libvirt ignores in a new snapshot's XML.
_DRIVER_WRITTEN = ("state", "parent", "creationTime", "domain", "inactiveDomain", "active", "cookie")
#: Kept verbatim: the embedded definitions and the driver's cookie.
_VERBATIM = ("domain", "inactiveDomain", "cookie")


@attrs.frozen
class SnapshotDef(SpecElement):
    """A domain snapshot (``<domainsnapshot>``), immutable: change it with :func:`attrs.evolve`.

    ``state``: the domain's state when taken (:data:`SNAPSHOT_STATES`); ``creation_time``
    in seconds since the epoch; ``parent``: the snapshot it was taken after;
    ``memory_snapshot`` / ``memory_file``: where the guest's memory went; ``disks`` how each
    disk was snapshotted; ``active``: ``1`` when it is the domain's current snapshot (a
    driver's metadata). The embedded ``<domain>`` is :attr:`domain` (:attr:`domain_xml` as
    written), ``<inactiveDomain>`` :attr:`inactive_domain_xml`, the cookie :attr:`cookie_xml`.
    """

    _tag: ClassVar[str] = "domainsnapshot"
    _order = (
        "name", "description", "state", "parent", "creationTime", "memory", "disks", "domain",
        "inactiveDomain", "active", "cookie",
    )  # fmt: skip
    #: as written (libvirt keeps blanks around a snapshot name)
    name: str | None = typed("ctext", "name", strip=False)
    description: str | None = typed("ctext", "description", strip=False)
    state: str | None = typed("ctext", "state", conv=_STATE)
    parent: SnapshotParent | None = typed("one", "parent", cls=SnapshotParent, default=None)
    creation_time: int | None = typed("ctext", "creationTime", conv=INT)
    memory_snapshot: str | None = typed(
        "cattr", "memory", "snapshot", conv=one_of(MEMORY_SNAPSHOT_MODES, "memory snapshot mode")
    )
    memory_file: str | None = typed("cattr", "memory", "file")
    disks: tuple[SnapshotDisk, ...] = typed("cmany", "disks", "disk", cls=SnapshotDisk, default=())
    active: str | None = typed("ctext", "active", conv=one_of(("0", "1"), "snapshot <active>"))
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _complete(self)

    @classmethod
    def covered(cls) -> Node:
        """What the model types of ``<domainsnapshot>``; the definitions and the cookie are kept verbatim."""
        return merge(spec_node(cls), domain=ANY, inactiveDomain=ANY, cookie=ANY)

    @property
    def parent_name(self) -> str | None:
        """The parent snapshot's name (``None``: a root)."""
        return None if self.parent is None else self.parent.name

    @property
    def is_current(self) -> bool:
        """Whether the XML marks it the domain's current snapshot (``<active>1</active>``)."""
        return self.active == "1"

    def _verbatim(self, tag: str) -> Element | None:
        return None if self.raw is None else next(self.raw.iterchildren(tag), None)

    def _verbatim_text(self, tag: str) -> str | None:
        el = self._verbatim(tag)
        return None if el is None else etree.tostring(el, encoding="unicode", with_tail=False)

    @property
    def domain_xml(self) -> str | None:
        """The embedded ``<domain>`` as written (``None``: none)."""
        return self._verbatim_text("domain")

    @property
    def inactive_domain_xml(self) -> str | None:
        """The embedded ``<inactiveDomain>`` (the persistent definition of a running domain), as written."""
        return self._verbatim_text("inactiveDomain")

    @property
    def cookie_xml(self) -> str | None:
        """The driver's ``<cookie>`` as written."""
        return self._verbatim_text("cookie")

    @property
    def domain_uuid(self) -> str | None:
        """The UUID of the embedded domain (older snapshots embed only ``<domain><uuid>``)."""
        el = self._verbatim("domain")
        uuid = None if el is None else next(el.iterchildren("uuid"), None)
        return None if uuid is None or uuid.text is None else uuid.text.strip()

    @property
    def domain(self) -> DomainDef | None:
        """The embedded ``<domain>`` read with the domain model (``None``: none, or only a ``<uuid>``)."""
        el = self._verbatim("domain")
        if el is None or el.get("type") is None:
            return None
        from virtcore.xml.domain import domain_from_element  # deferred: the domain model is large

        return domain_from_element(copy.deepcopy(el))

    @property
    def inactive_domain(self) -> DomainDef | None:
        """The embedded ``<inactiveDomain>`` (the persistent definition) read with the domain model."""
        el = self._verbatim("inactiveDomain")
        if el is None or el.get("type") is None:
            return None
        from virtcore.xml.domain import domain_from_element  # deferred: the domain model is large

        copied = copy.deepcopy(el)
        copied.tag = "domain"
        return domain_from_element(copied)

    def with_domain(self, domain_xml: str | None, inactive_xml: str | None = None) -> SnapshotDef:
        """A copy embedding ``domain_xml`` (and ``inactive_xml`` as ``<inactiveDomain>``), as a driver
        records the definition a snapshot was taken of; ``None`` removes it."""
        root = copy.deepcopy(self.raw) if self.raw is not None else etree.Element(self._tag)
        for tag, text in (("domain", domain_xml), ("inactiveDomain", inactive_xml)):
            for old in list(root.iterchildren(tag)):
                root.remove(old)
            if text is not None:
                el = secure_parse(text)
                if el.tag != "domain":
                    raise XMLError(f"expected a <domain> to embed in snapshot '{self.name}', not <{el.tag}>")
                el.tag = tag
                el.tail = None
                _insert(root, el)
        return _rebuild(self, root)

    def as_taken(self, now: int) -> SnapshotDef:
        """The snapshot as a driver takes it at ``now`` (seconds since the epoch): that creation
        time, and the time as its name when it has none (as libvirt names snapshots)."""
        return attrs.evolve(self, name=self.name or str(now), creation_time=now)

    def to_xml(self) -> str:
        """The snapshot as XML text (see :func:`format_snapshot`)."""
        return format_snapshot(self)


def _insert(root: Element, el: Element) -> None:
    order = SnapshotDef._order
    rank = order.index(el.tag)
    for i, child in enumerate(root):
        if isinstance(child.tag, str) and child.tag in order and order.index(child.tag) > rank:
            root.insert(i, el)
            return
    root.append(el)


def _rebuild(s: SnapshotDef, root: Element) -> SnapshotDef:
    """``s`` with its typed values, over the source element ``root``."""
    fields = {a.name: getattr(s, a.name) for a in attrs.fields(SnapshotDef) if a.init and a.name != "raw"}
    return SnapshotDef(**fields, raw=root)


def _complete(s: SnapshotDef) -> None:
    """Check ``s`` (in place: ``s`` is new)."""
    if s.name is not None:
        check_snapshot_name(s.name)
    what = f"snapshot '{s.name}'"
    if s.description == "":
        object.__setattr__(s, "description", None)  # libvirt reads an empty description as none
    if s.description is not None and "\0" in s.description:
        raise XMLError(f"{what}: <description> cannot contain NUL")
    if s.parent is not None:
        if s.parent.name is None:
            raise XMLError(f"{what}: <parent> has no <name>")
        check_snapshot_name(s.parent.name)
    if s.memory_file is not None:
        if s.memory_snapshot is None:
            object.__setattr__(s, "memory_snapshot", "external")
        elif s.memory_snapshot != "external":
            raise XMLError(f"{what}: memory file '{s.memory_file}' needs memory snapshot='external'")
        if not s.memory_file.startswith("/"):
            raise XMLError(f"{what}: memory file '{s.memory_file}' is not an absolute path")
    if s.creation_time is not None and s.creation_time < 0:
        raise XMLError(f"{what}: invalid creationTime {s.creation_time}")


def snapshot_from_element(el: Element, *, redefine: bool = False) -> SnapshotDef:
    """Parse a ``<domainsnapshot>`` element (see :func:`parse_snapshot` for ``redefine``)."""
    if el.tag != "domainsnapshot":
        raise XMLError(f"unexpected root element <{el.tag}>, expecting <domainsnapshot>")
    if not redefine and next(el.iterchildren(*_DRIVER_WRITTEN), None) is not None:
        el = copy.deepcopy(el)
        for tag in _DRIVER_WRITTEN:
            for old in list(el.iterchildren(tag)):
                el.remove(old)
    s = SnapshotDef(**parse_fields(SnapshotDef, el), raw=el)
    if redefine and s.name is None:
        raise XMLError("a redefined snapshot needs a <name>")
    if redefine and s.creation_time is None:
        raise XMLError(f"missing creationTime from existing snapshot '{s.name}'")
    return s


def parse_snapshot(text: str | bytes, *, redefine: bool = False, strict: bool = False) -> SnapshotDef:
    """Parse domain snapshot XML (with the hardened parser) into a :class:`SnapshotDef`.

    :param redefine: the XML is a snapshot's full metadata given back to a driver (libvirt's
        ``VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE``): name and creation time are required and the
        driver-written fields are kept. Without it, they are dropped as libvirt drops them.
    :param strict: also refuse elements and attributes the typed model does not cover.
    :raises XMLError: malformed or hostile XML, an invalid name, state or snapshot mode, a
        disk source that is not allowed.
    """
    s = snapshot_from_element(secure_parse(text, api="DOMAIN_SNAPSHOT"), redefine=redefine)
    if strict:
        check_covered(s, f"snapshot '{s.name}'")
    return s


def format_snapshot(s: SnapshotDef) -> str:
    """``s`` as snapshot XML text, indented like libvirt's (two spaces)."""
    return format_xml(s, f"snapshot '{s.name}'")
