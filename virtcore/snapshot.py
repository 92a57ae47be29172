"""Domain snapshots: the public handles over the snapshot hooks.

A *snapshot* records a domain at a point in time: its definition, the state of its
disks (inside qcow2 images, *internal*, or as new overlay files, *external*) and,
for a running domain, its memory. A domain's snapshots form a tree: each new one is
a child of the *current* snapshot (the one the domain last took or reverted to).
Values and flags follow libvirt's ``libvirt-domain-snapshot.h``; every flag is a
keyword argument here.

Snapshots are served by the hypervisor driver (the test driver keeps them in
memory); a driver without them raises ``NoSupportError`` naming the operation.

::

    snap = dom.create_snapshot("<domainsnapshot><name>s1</name></domainsnapshot>")
    dom.list_snapshots(); dom.current_snapshot(); dom.lookup_snapshot("s1")
    snap.parent(); snap.children(); snap.xml_desc()
    snap.revert(running=True); snap.delete(children=False)
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple would compile each string
# annotation (a ForwardRef per field); a cold open then compiles nothing (~8M instructions).
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from virtcore import hookspecs
from virtcore._dispatch import declined, xml_arg
from virtcore.errors import InvalidArgError, InvalidDomainSnapshotError, OperationDeniedError

if TYPE_CHECKING:
    from virtcore.connection import Connection

__all__ = [
    "SNAPSHOT_STATE_FILTERS",
    "SNAPSHOT_LOCATIONS",
    "SnapshotRef",
    "DomainSnapshotAPI",
    "DomainSnapshot",
]

#: The state filters of a snapshot listing (libvirt's ``VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE``,
#: ``_ACTIVE``, ``_DISK_ONLY``): taken of a shut-off domain, with its memory, of its disks only.
SNAPSHOT_STATE_FILTERS = frozenset({"inactive", "active", "disk-only"})
#: The location filters (``VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL``, ``_EXTERNAL``).
SNAPSHOT_LOCATIONS = frozenset({"internal", "external"})


class SnapshotRef(NamedTuple):
    """What a driver answers to a snapshot lookup: the snapshot's name and its domain's UUID."""

    name: str
    domain_uuid: str


def _name_arg(name: object) -> str:
    if not isinstance(name, str) or not name or "\0" in name:
        raise InvalidArgError(f"snapshot name must be a non-empty string without NUL, not {name!r}")
    return name


def _tristate(value: object, what: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidArgError(f"{what} must be True, False or None, not {value!r}")


def _states(states: Iterable[str] | None) -> frozenset[str] | None:
    if states is None:
        return None
    chosen = frozenset([states] if isinstance(states, str) else states)
    unknown = chosen - SNAPSHOT_STATE_FILTERS
    if unknown or not chosen:
        raise InvalidArgError(
            f"unknown snapshot state filter {sorted(unknown) or '(none)'}: expected some of "
            f"{', '.join(sorted(SNAPSHOT_STATE_FILTERS))}"
        )
    return chosen


def _location(location: object) -> str | None:
    if location is None or location in SNAPSHOT_LOCATIONS:
        return location  # type: ignore[return-value]  # checked: None or one of the words
    raise InvalidArgError(f"unknown snapshot location {location!r}: expected internal or external")


class _Filter:
    """The filters of a snapshot listing, checked once.

    A plain class, not a NamedTuple: nothing reads it as a tuple, and building a
    NamedTuple cost every cold ``import virtcore`` ~0.5M instructions.
    """

    __slots__ = ("leaves", "location", "metadata", "states", "topological")

    def __init__(
        self,
        leaves: object,
        metadata: object,
        states: Iterable[str] | None,
        location: object,
        topological: object,
    ) -> None:
        self.leaves = _tristate(leaves, "leaves")
        self.metadata = _tristate(metadata, "metadata")
        self.states = _states(states)
        self.location = _location(location)
        self.topological = bool(topological)


class DomainSnapshotAPI:
    """The snapshot half of :class:`virtcore.Domain` (its methods, mixed in)."""

    __slots__ = ()
    _conn: "Connection"
    uuid: str
    name: str

    def _snap(self, r: SnapshotRef | None, spec: Callable[..., object]) -> "DomainSnapshot":
        if r is None:
            declined(spec)
        return DomainSnapshot(self, r.name)

    def create_snapshot(
        self,
        xml: str | None = None,
        *,
        disk_only: bool = False,
        quiesce: bool = False,
        live: bool = True,
        redefine: bool = False,
        current: bool = False,
        no_metadata: bool = False,
        halt: bool = False,
        atomic: bool = False,
        reuse_ext: bool = False,
    ) -> "DomainSnapshot":
        """Take a snapshot described by ``<domainsnapshot>`` XML (``None``: a default one named by its time).

        ``disk_only``: the disks only, no memory; ``quiesce``: freeze the guest's file
        systems through its agent first; ``live``: keep the guest running while memory
        is saved; ``halt``: stop the domain afterwards; ``atomic``: all disks or none;
        ``reuse_ext``: external files exist already. ``redefine`` gives back a snapshot's
        metadata (``current``: and make it the current one); ``no_metadata``: take it
        without keeping metadata. libvirt: ``virDomainSnapshotCreateXML``.

        :raises XMLError: malformed XML, an invalid snapshot name.
        :raises OperationFailedError: a snapshot of that name exists.
        :raises InvalidArgError, ArgumentUnsupportedError: flags the driver does not take together.
        """
        if current and not redefine:
            raise InvalidArgError("current=True is only allowed with redefine=True")
        if redefine and (halt or disk_only or no_metadata):
            raise InvalidArgError("redefine=True cannot be combined with halt, disk_only or no_metadata")
        if reuse_ext and not disk_only and xml is None:
            raise InvalidArgError("reuse_ext=True needs disk_only=True or external disks in the XML")
        text = "<domainsnapshot/>" if xml is None else xml_arg(xml, "snapshot XML")
        spec = hookspecs.virt_domain_snapshot_create_xml
        r = self._conn._ops[spec](
            uuid=self.uuid,
            xml=text,
            disk_only=bool(disk_only),
            quiesce=bool(quiesce),
            live=bool(live),
            redefine=bool(redefine),
            current=bool(current),
            no_metadata=bool(no_metadata),
            halt=bool(halt),
            atomic=bool(atomic),
            reuse_ext=bool(reuse_ext),
        )
        return self._snap(r, spec)

    def list_snapshots(
        self,
        *,
        roots: bool = False,
        leaves: bool | None = None,
        metadata: bool | None = None,
        states: Iterable[str] | None = None,
        location: str | None = None,
        topological: bool = False,
    ) -> "list[DomainSnapshot]":
        """The domain's snapshots, oldest first (``topological``: every parent before its children).

        ``roots``: only those without a parent; ``leaves``: only those without children
        (``False``: only those with); ``metadata``: with (or without) metadata; ``states``:
        some of ``inactive``, ``active``, ``disk-only``; ``location``: ``internal`` or
        ``external``. libvirt: ``virDomainListAllSnapshots``.
        """
        f = _Filter(leaves, metadata, states, location, topological)
        spec = hookspecs.virt_domain_list_all_snapshots
        refs = self._conn._ops[spec](
            uuid=self.uuid,
            roots=bool(roots),
            leaves=f.leaves,
            metadata=f.metadata,
            states=f.states,
            location=f.location,
            topological=f.topological,
        )
        return [DomainSnapshot(self, r.name) for r in refs] if refs is not None else declined(spec)

    def lookup_snapshot(self, name: str) -> "DomainSnapshot":
        """The snapshot called ``name``; ``NoDomainSnapshotError`` if there is none."""
        spec = hookspecs.virt_domain_snapshot_lookup_by_name
        return self._snap(self._conn._ops[spec](uuid=self.uuid, name=_name_arg(name)), spec)

    def has_current_snapshot(self) -> bool:
        """Whether the domain has a current snapshot."""
        spec = hookspecs.virt_domain_has_current_snapshot
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def current_snapshot(self) -> "DomainSnapshot":
        """The current snapshot; ``NoDomainSnapshotError`` when there is none."""
        spec = hookspecs.virt_domain_snapshot_current
        return self._snap(self._conn._ops[spec](uuid=self.uuid), spec)

    def revert_to_snapshot(
        self, snapshot: "DomainSnapshot", *, running: bool = False, paused: bool = False, force: bool = False
    ) -> None:
        """Revert to ``snapshot`` (:meth:`DomainSnapshot.revert`), which must be one of this domain's.

        :raises InvalidDomainSnapshotError: ``snapshot`` belongs to another domain or connection.
        """
        if not isinstance(snapshot, DomainSnapshot):
            raise InvalidArgError(f"expected a DomainSnapshot, not {type(snapshot).__name__}")
        if snapshot.domain != self:
            raise InvalidDomainSnapshotError(
                f"snapshot '{snapshot.name}' belongs to domain '{snapshot.domain.name}', not '{self.name}'"
            )
        snapshot.revert(running=running, paused=paused, force=force)


class DomainSnapshot:
    """A handle on one snapshot of a domain: from :meth:`DomainSnapshotAPI.create_snapshot` or a lookup."""

    __slots__ = ("domain", "name")

    def __init__(self, domain: DomainSnapshotAPI, name: str) -> None:
        #: The domain the snapshot belongs to.
        self.domain = domain
        #: The snapshot's name.
        self.name: str = name

    def __repr__(self) -> str:
        return f"<virtcore.DomainSnapshot {self.name!r} of {self.domain.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DomainSnapshot) and other.domain == self.domain and other.name == self.name

    def __hash__(self) -> int:
        return hash((self.domain.uuid, self.name))

    def _ops(self) -> "tuple[Connection, str]":
        return self.domain._conn, self.domain.uuid

    def parent(self) -> "DomainSnapshot":
        """The snapshot this one was taken after; ``NoDomainSnapshotError`` for a root."""
        conn, uuid = self._ops()
        spec = hookspecs.virt_domain_snapshot_get_parent
        r = conn._ops[spec](uuid=uuid, name=self.name)
        return DomainSnapshot(self.domain, r.name) if r is not None else declined(spec)

    def children(
        self,
        *,
        descendants: bool = False,
        leaves: bool | None = None,
        metadata: bool | None = None,
        states: Iterable[str] | None = None,
        location: str | None = None,
        topological: bool = False,
    ) -> "list[DomainSnapshot]":
        """The snapshots taken after this one (``descendants``: all the subtree), filtered as
        :meth:`DomainSnapshotAPI.list_snapshots`. libvirt: ``virDomainSnapshotListAllChildren``."""
        f = _Filter(leaves, metadata, states, location, topological)
        conn, uuid = self._ops()
        spec = hookspecs.virt_domain_snapshot_list_all_children
        refs = conn._ops[spec](
            uuid=uuid,
            name=self.name,
            descendants=bool(descendants),
            leaves=f.leaves,
            metadata=f.metadata,
            states=f.states,
            location=f.location,
            topological=f.topological,
        )
        return [DomainSnapshot(self.domain, r.name) for r in refs] if refs is not None else declined(spec)

    def xml_desc(self, *, secure: bool = False) -> str:
        """The snapshot's ``<domainsnapshot>`` XML with the domain's definition (``secure``: secrets too)."""
        conn, uuid = self._ops()
        if secure and conn.read_only:
            raise OperationDeniedError("secure snapshot XML on a read-only connection")
        spec = hookspecs.virt_domain_snapshot_get_xml_desc
        r = conn._ops[spec](uuid=uuid, name=self.name, secure=bool(secure))
        return r if r is not None else declined(spec)

    def is_current(self) -> bool:
        """Whether this is the domain's current snapshot."""
        conn, uuid = self._ops()
        spec = hookspecs.virt_domain_snapshot_is_current
        r = conn._ops[spec](uuid=uuid, name=self.name)
        return r if r is not None else declined(spec)

    def has_metadata(self) -> bool:
        """Whether the driver keeps metadata for this snapshot."""
        conn, uuid = self._ops()
        spec = hookspecs.virt_domain_snapshot_has_metadata
        r = conn._ops[spec](uuid=uuid, name=self.name)
        return r if r is not None else declined(spec)

    def revert(self, *, running: bool = False, paused: bool = False, force: bool = False) -> None:
        """Bring the domain back to this snapshot: its definition, disks and state.

        ``running`` / ``paused``: leave the domain running or paused whatever state the
        snapshot was taken in; ``force``: revert even where that is risky (the guest must
        be respawned, or the snapshot lacks the definition). libvirt: ``virDomainRevertToSnapshot``.

        :raises InvalidArgError: ``running`` and ``paused`` together.
        :raises SnapshotRevertRiskyError: risky without ``force``.
        """
        if running and paused:
            raise InvalidArgError("running and paused are mutually exclusive")
        conn, uuid = self._ops()
        spec = hookspecs.virt_domain_revert_to_snapshot
        r = conn._ops[spec](
            uuid=uuid, name=self.name, running=bool(running), paused=bool(paused), force=bool(force)
        )
        if r is None:
            declined(spec)

    def delete(
        self,
        *,
        children: bool = False,
        children_only: bool = False,
        metadata_only: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Delete the snapshot (``children``: and its descendants; ``children_only``: only its
        descendants; ``metadata_only``: forget it, leaving its data). Its children move to its
        parent; when it was current, its parent becomes current. An external snapshot's overlays
        are merged back into the images below them (a block commit), ``progress(done, total)``
        called as that runs. libvirt: ``virDomainSnapshotDelete``.

        :raises InvalidArgError: ``children`` and ``children_only`` together, a ``progress`` not callable.
        """
        if children and children_only:
            raise InvalidArgError("children and children_only are mutually exclusive")
        if progress is not None and not callable(progress):
            raise InvalidArgError(f"progress must be callable, not {type(progress).__name__}")
        conn, uuid = self._ops()
        spec = hookspecs.virt_domain_snapshot_delete
        r = conn._ops[spec](
            uuid=uuid,
            name=self.name,
            children=bool(children),
            children_only=bool(children_only),
            metadata_only=bool(metadata_only),
            progress=progress,
        )
        if r is None:
            declined(spec)
