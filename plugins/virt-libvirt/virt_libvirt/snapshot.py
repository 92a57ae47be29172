"""``virDomainSnapshot`` and ``virDomainCheckpoint``; libvirt's snapshot flags as virtcore's arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virt_libvirt import _constants as lv
from virt_libvirt._base import complete
from virt_libvirt.errors import check_flags, raise_from
from virtcore.errors import VirtError

if TYPE_CHECKING:
    import virtcore
    from virt_libvirt.connect import virConnect
    from virt_libvirt.domain import virDomain

#: ``VIR_DOMAIN_SNAPSHOT_CREATE_*`` flag: virtcore's ``create_snapshot`` argument.
_CREATE = {
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: "redefine",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT: "current",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA: "no_metadata",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_HALT: "halt",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY: "disk_only",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT: "reuse_ext",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE: "quiesce",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC: "atomic",
    lv.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE: "live",
}
_CREATE_ALL = sum(_CREATE) | lv.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE
_LIST_ALL = (
    lv.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_METADATA
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL
    | lv.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL
)
_STATES = {
    lv.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE: "inactive",
    lv.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE: "active",
    lv.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY: "disk-only",
}
_DELETE_ALL = (
    lv.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN
    | lv.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY
    | lv.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY
)


def snapshot_create_kwargs(flags: int, owner: object) -> dict[str, bool]:
    """virtcore's ``create_snapshot`` arguments for ``VIR_DOMAIN_SNAPSHOT_CREATE_*`` flags, on ``owner``."""
    check_flags(flags, _CREATE_ALL, "virDomainSnapshotCreateXML", owner)
    return {name: bool(flags & bit) for bit, name in _CREATE.items()}


def snapshot_list_kwargs(flags: int, function: str, *, roots: bool, owner: object) -> dict[str, Any]:
    """virtcore's listing arguments for ``VIR_DOMAIN_SNAPSHOT_LIST_*`` flags.

    Bit 0 is ``ROOTS`` when listing a domain's snapshots and ``DESCENDANTS``
    when listing a snapshot's children (``roots=False``).
    """
    check_flags(flags, _LIST_ALL, function, owner)
    kwargs: dict[str, Any] = {"topological": bool(flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)}
    first = bool(flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)
    kwargs["roots" if roots else "descendants"] = first
    leaves, no_leaves = (
        flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES,
        flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES,
    )
    if bool(leaves) != bool(no_leaves):
        kwargs["leaves"] = bool(leaves)
    meta, no_meta = (
        flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_METADATA,
        flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA,
    )
    if bool(meta) != bool(no_meta):
        kwargs["metadata"] = bool(meta)
    states = [name for bit, name in _STATES.items() if flags & bit]
    if states:
        kwargs["states"] = states
    internal, external = (
        flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL,
        flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL,
    )
    if bool(internal) != bool(external):
        kwargs["location"] = "internal" if internal else "external"
    return kwargs


class _DomainChild:
    """A handle on an object of one domain (a snapshot, a checkpoint): what they share."""

    __slots__ = ("__weakref__", "_dom", "_o")

    def __init__(self, dom: virDomain, _obj: Any) -> None:
        self._dom = dom
        self._o = _obj

    def domain(self) -> virDomain:
        """The domain the object is of."""
        return self._dom

    def getDomain(self) -> virDomain:  # noqa: N802
        """The domain the object is of."""
        return self._dom

    def connect(self) -> virConnect:
        """The connection of its domain."""
        return self._dom.connect()

    def getConnect(self) -> virConnect:  # noqa: N802
        """The connection of its domain."""
        return self._dom.connect()

    def c_pointer(self) -> int:
        """An identifier of the underlying handle (libvirt-python: its C pointer)."""
        return id(self._o)

    def getName(self) -> str:  # noqa: N802
        """The object's name."""
        name: str = self._o.name
        return name


class virDomainSnapshot(_DomainChild):  # noqa: N801 - libvirt-python's name
    """A domain snapshot, as libvirt-python's ``virDomainSnapshot``."""

    __slots__ = ()
    _o: virtcore.DomainSnapshot

    def getXMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<domainsnapshot>`` XML (``VIR_DOMAIN_SNAPSHOT_XML_SECURE``: secrets too)."""
        check_flags(flags, lv.VIR_DOMAIN_SNAPSHOT_XML_SECURE, "virDomainSnapshotGetXMLDesc", self)
        try:
            return self._o.xml_desc(secure=bool(flags & lv.VIR_DOMAIN_SNAPSHOT_XML_SECURE))
        except VirtError as exc:
            raise_from(exc)

    def getParent(self, flags: int = 0) -> virDomainSnapshot:  # noqa: N802
        """The snapshot this one was taken after."""
        check_flags(flags, 0, "virDomainSnapshotGetParent", self)
        try:
            return virDomainSnapshot(self._dom, self._o.parent())
        except VirtError as exc:
            raise_from(exc)

    def isCurrent(self, flags: int = 0) -> int:  # noqa: N802
        """1 when this is the domain's current snapshot."""
        check_flags(flags, 0, "virDomainSnapshotIsCurrent", self)
        try:
            return int(self._o.is_current())
        except VirtError as exc:
            raise_from(exc)

    def hasMetadata(self, flags: int = 0) -> int:  # noqa: N802
        """1 when the driver keeps metadata for the snapshot."""
        check_flags(flags, 0, "virDomainSnapshotHasMetadata", self)
        try:
            return int(self._o.has_metadata())
        except VirtError as exc:
            raise_from(exc)

    def listAllChildren(self, flags: int = 0) -> list[virDomainSnapshot]:  # noqa: N802
        """The snapshots taken after this one (``VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS``: all below)."""
        kwargs = snapshot_list_kwargs(flags, "virDomainSnapshotListAllChildren", roots=False, owner=self)
        try:
            return [virDomainSnapshot(self._dom, s) for s in self._o.children(**kwargs)]
        except VirtError as exc:
            raise_from(exc)

    def listChildrenNames(self, flags: int = 0) -> list[str]:  # noqa: N802
        """The names of :meth:`listAllChildren`."""
        kwargs = snapshot_list_kwargs(flags, "virDomainSnapshotListChildrenNames", roots=False, owner=self)
        try:
            return [s.name for s in self._o.children(**kwargs)]
        except VirtError as exc:
            raise_from(exc)

    def numChildren(self, flags: int = 0) -> int:  # noqa: N802
        """How many children :meth:`listChildrenNames` would name."""
        kwargs = snapshot_list_kwargs(flags, "virDomainSnapshotNumChildren", roots=False, owner=self)
        try:
            return len(self._o.children(**kwargs))
        except VirtError as exc:
            raise_from(exc)

    def delete(self, flags: int = 0) -> int:
        """Delete the snapshot (``VIR_DOMAIN_SNAPSHOT_DELETE_*``); 0."""
        check_flags(flags, _DELETE_ALL, "virDomainSnapshotDelete", self)
        try:
            self._o.delete(
                children=bool(flags & lv.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN),
                children_only=bool(flags & lv.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY),
                metadata_only=bool(flags & lv.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY),
            )
        except VirtError as exc:
            raise_from(exc)
        return 0


complete(virDomainSnapshot)


class virDomainCheckpoint(_DomainChild):  # noqa: N801 - libvirt-python's name
    """A domain checkpoint, as libvirt-python's ``virDomainCheckpoint``."""

    __slots__ = ()
    _o: virtcore.DomainCheckpoint

    def getXMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<domaincheckpoint>`` XML (``VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN``: without the domain's)."""
        allowed = lv.VIR_DOMAIN_CHECKPOINT_XML_SECURE | lv.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN
        check_flags(flags, allowed, "virDomainCheckpointGetXMLDesc", self)
        try:
            return self._o.xml_desc(no_domain=bool(flags & lv.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN))
        except VirtError as exc:
            raise_from(exc)

    def getParent(self, flags: int = 0) -> virDomainCheckpoint:  # noqa: N802
        """The checkpoint this one was taken after."""
        check_flags(flags, 0, "virDomainCheckpointGetParent", self)
        try:
            return virDomainCheckpoint(self._dom, self._o.parent())
        except VirtError as exc:
            raise_from(exc)

    def listAllChildren(self, flags: int = 0) -> list[virDomainCheckpoint]:  # noqa: N802
        """The checkpoints taken right after this one."""
        check_flags(
            flags, lv.VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL, "virDomainCheckpointListAllChildren", self
        )
        try:
            return [virDomainCheckpoint(self._dom, c) for c in self._o.children()]
        except VirtError as exc:
            raise_from(exc)

    def delete(self, flags: int = 0) -> int:
        """Delete the checkpoint (``VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN``: and the ones after it); 0."""
        check_flags(flags, lv.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN, "virDomainCheckpointDelete", self)
        try:
            self._o.delete(children=bool(flags & lv.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN))
        except VirtError as exc:
            raise_from(exc)
        return 0


complete(virDomainCheckpoint)
