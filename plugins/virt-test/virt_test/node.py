"""The in-memory node behind ``test:///`` URIs: domains, their state machine, ids, events.

This module documents, in code, the semantics every virtcore driver follows
(after libvirt's test driver, ``src/test/test_driver.c``):

* A domain is *persistent* (has a config definition) and/or *active* (has a
  live definition and an id). A transient domain exists only while active.
* Starting allocates the next id of the node (1, 2, ...; never reused).
  Stopping sets the id to -1; a transient domain then disappears.
* Invalid transitions raise what libvirt's test driver raises, naming the
  domain: :class:`~virtcore.errors.InternalError` (``VIR_FROM_TEST``) for
  start, suspend, resume and shutdown in the wrong state,
  :class:`~virtcore.errors.OperationInvalidError` (``VIR_FROM_DOMAIN``, its
  "domain is not running" check) for the rest; unknown domains
  :class:`~virtcore.errors.NoDomainError` (``VIR_FROM_TEST``).
* Every change of lifecycle is reported as a :class:`~virtcore.types.DomainEvent`
  to every connection open on the node, after the node's lock is released.
"""

from __future__ import annotations

import _thread  # not threading: saves ~1 ms of a cold open (threading's own import)
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from virt_test.pending import PendingDef, PendingNetwork, PendingPool
from virtcore import errors, limits, types
from virtcore.errors import (
    InternalError,
    InvalidArgError,
    NoDomainError,
    OperationFailedError,
    OperationInvalidError,
    SystemError_,
    XMLError,
)
from virtcore.files import write_atomically
from virtcore.types import (
    DomainInfo,
    DomainRef,
    DomainState,
    NodeInfo,
    RunningReason,
    ShutoffReason,
)

if TYPE_CHECKING:
    from virt_test.ifaces import HostInterfaces
    from virt_test.networks import Networks
    from virt_test.nodedevs import NodeDevices
    from virt_test.pools import Storage
    from virt_test.secrets import Secrets
    from virt_test.snapshots import SnapshotTree
    from virtcore.events import AnyDomainEvent
    from virtcore.objevents import AnyObjectEvent
    from virtcore.types import DomainEvent
    from virtcore.xml import DomainDef

__all__ = ["Node", "NumaCell", "PendingDef", "TestDomain", "SAVE_MAGIC"]

#: First line of a save image written by the test driver.
SAVE_MAGIC = b"virtcore-test-save-v1\n"

_ACTIVE = frozenset({DomainState.RUNNING, DomainState.PAUSED, DomainState.BLOCKED, DomainState.SHUTDOWN})

Emitter = Callable[["AnyDomainEvent | AnyObjectEvent"], None]
_monotonic = time.monotonic
_new_tuple = tuple.__new__


# The functional form: under this module's ``from __future__ import annotations`` the class form
# would compile each field's string annotation (the first compile() of a process costs ~8M instructions).
NumaCell = NamedTuple("NumaCell", [("cpu_ids", tuple[int, ...]), ("memory", int), ("free", int)])  # noqa: UP014
NumaCell.__doc__ = "One NUMA cell of the fake host: its logical CPUs, its memory and its free memory (KiB)."


#: A parsed definition, or one still pending.
AnyDef: TypeAlias = "DomainDef | PendingDef"


class TestDomain:
    """One domain of a node: its definitions, state and id. Guarded by the node's lock."""

    __test__ = False  # not a pytest test class
    __slots__ = (
        "autostart", "checkpoints", "config", "id", "iothreads", "live", "managed_save", "reason", "ref",
        "sched_weight", "snapshots", "started_at", "state",
    )  # fmt: skip

    def __init__(self, config: AnyDef | None, live: AnyDef | None) -> None:
        self.config: AnyDef | None = config
        self.live: AnyDef | None = live
        self.state = DomainState.SHUTOFF
        self.reason: int = ShutoffReason.UNKNOWN
        self.id = -1
        self.autostart = False
        self.started_at = 0.0
        self.managed_save = False
        #: The ``fair`` scheduler's weight (libvirt's test driver: 50).
        self.sched_weight = 50
        #: The domain's checkpoints by name, oldest first (:mod:`virt_test.checkpoints`).
        self.checkpoints: dict[str, Any] = {}
        #: The I/O threads' polling, ``[id, poll_max_ns, poll_grow, poll_shrink]`` each: libvirt's test
        #: driver keeps it beside the definition, filled from a node file's domains (virt_test.tunables).
        self.iothreads: list[list[int]] = []
        #: The domain's snapshots (:class:`~virt_test.snapshots.SnapshotTree`), made on the first one.
        self.snapshots: SnapshotTree | None = None
        d = self.current
        self.ref = DomainRef(d.name, d.uuid, -1)

    @property
    def current(self) -> AnyDef:
        """The live definition when active, else the persistent one (perhaps not parsed yet)."""
        d = self.live if self.live is not None else self.config
        assert d is not None
        return d

    def definition(self) -> DomainDef:
        """The current definition, parsed: :class:`PendingDef` ones are parsed now and kept."""
        if isinstance(self.config, PendingDef) or isinstance(self.live, PendingDef):
            from virtcore.xml import parse_domain  # saves ~170 ms on open: lxml and the XML model

            parsed: dict[int, DomainDef] = {}

            def real(d: AnyDef | None) -> DomainDef | None:
                if not isinstance(d, PendingDef):
                    return d
                if id(d) not in parsed:
                    parsed[id(d)] = parse_domain(d.xml)
                return parsed[id(d)]

            self.config, self.live = real(self.config), real(self.live)
        d = self.current
        assert not isinstance(d, PendingDef)
        return d  # type: ignore[no-any-return]  # DomainDef, once parsed

    def persistent_definition(self) -> DomainDef | None:
        """The persistent definition, parsed, or None for a transient domain."""
        self.definition()
        assert not isinstance(self.config, PendingDef)
        return self.config

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def active(self) -> bool:
        return self.state in _ACTIVE

    @property
    def persistent(self) -> bool:
        return self.config is not None

    def set_id(self, new_id: int) -> None:
        self.id = new_id
        self.ref = DomainRef(self.ref.name, self.ref.uuid, new_id)

    def info(self) -> DomainInfo:
        d = self.live if self.live is not None else self.config
        assert d is not None
        state = self.state
        cpu = int((_monotonic() - self.started_at) * 1e9) if state in _ACTIVE else 0
        # tuple.__new__ skips the NamedTuple's Python-level __new__: this is a hot path.
        return _new_tuple(DomainInfo, (state, d.memory, d.current_memory, d.current_vcpus, cpu))


class Node:
    """A whole fake host: node info, domains (one lock around them), storage and networks."""

    def __init__(
        self,
        node_info: NodeInfo,
        *,
        cells: Sequence[NumaCell] = (),
        pools: Sequence[PendingPool] = (),
        networks: Sequence[PendingNetwork] = (),
        devices: Sequence[str] = (),
        interfaces: Sequence[str] = (),
    ) -> None:
        self.node_info = node_info
        #: The host's NUMA cells (libvirt's test driver: two on ``test:///default``, none from a node file).
        self.cells = tuple(cells)
        self.domains: dict[str, TestDomain] = {}  # by uuid
        self.by_name: dict[str, TestDomain] = {}
        self.by_id: dict[int, TestDomain] = {}
        self.next_id = 1
        self.lock = _thread.RLock()
        self.emitters: tuple[Emitter, ...] = ()  # replaced, never mutated: read without the lock
        #: What each domain's guest agent keeps (frozen file systems, clock), by uuid, under
        #: :attr:`lock` (:mod:`virt_test.agent`); it outlives restarts, as libvirt's private data.
        self.guests: dict[str, Any] = {}
        # Storage and networks are built on first use, with ``pools`` and ``networks`` in them.
        self._pending = (tuple(pools), tuple(networks))
        self._parts_lock = _thread.allocate_lock()
        self._storage: Storage | None = None
        #: Per domain name: a definition and the volumes its disks use (see ``domain_using``).
        self._disk_volumes: dict[str, tuple[Any, frozenset[tuple[Any, Any]], frozenset[Any]]] = {}
        self._networks: Networks | None = None
        # Host devices and interfaces, as their XML until the first call that needs them.
        self._pending_host = (list(devices), list(interfaces))
        self._node_devices: NodeDevices | None = None
        self._host_interfaces: HostInterfaces | None = None
        self._secrets: Secrets | None = None
        #: The node file's ``<auth>`` users: (name, password or ``None``); empty: no login.
        self.auths: tuple[tuple[str, str | None], ...] = ()

    @property
    def storage(self) -> Storage:
        """Pools and volumes, under a lock of their own."""
        if self._storage is None:
            with self._parts_lock:
                if self._storage is None:
                    from virt_test.pools import Storage  # saves ~1.5M instr. of open: the storage mock

                    storage = Storage(self.domain_using)
                    for pool in self._pending[0]:
                        storage.add_loaded(pool)
                    self._storage = storage
        return self._storage

    @property
    def networks(self) -> Networks:
        """Virtual networks, under a lock of their own."""
        if self._networks is None:
            with self._parts_lock:
                if self._networks is None:
                    from virt_test.networks import Networks  # saves ~1M instr. of open: the network mock

                    networks = Networks()
                    for network in self._pending[1]:
                        networks.add_loaded(network)
                    self._networks = networks
        return self._networks

    def add_host_xml(self, tag: str, xml: str) -> None:
        """Add a ``<device>`` or ``<interface>`` (its XML) while loading, before the first call uses them."""
        self._pending_host[0 if tag == "device" else 1].append(xml)

    @property
    def node_devices(self) -> NodeDevices:
        """Host devices, under a lock of their own (parsed on first use)."""
        if self._node_devices is None:
            with self._parts_lock:
                if self._node_devices is None:
                    from virt_test.nodedevs import NodeDevices  # saves the XML model on open
                    from virtcore.xml.nodedev import parse_node_device  # saves the XML model on open

                    self._node_devices = NodeDevices(parse_node_device(x) for x in self._pending_host[0])
        return self._node_devices

    @property
    def host_interfaces(self) -> HostInterfaces:
        """Host interfaces, under a lock of their own (parsed on first use)."""
        if self._host_interfaces is None:
            with self._parts_lock:
                if self._host_interfaces is None:
                    from virt_test.ifaces import HostInterfaces  # saves the XML model on open
                    from virtcore.xml.interface import parse_interface  # saves the XML model on open

                    self._host_interfaces = HostInterfaces(parse_interface(x) for x in self._pending_host[1])
        return self._host_interfaces

    @property
    def secrets(self) -> Secrets:
        """Secrets (none at first: libvirt's test node has none), under a lock of their own."""
        if self._secrets is None:
            with self._parts_lock:
                if self._secrets is None:
                    from virt_test.secrets import Secrets  # saves a module on open: only secret users

                    self._secrets = Secrets()
        return self._secrets

    # -- events --------------------------------------------------------------

    def subscribe(self, emit: Emitter) -> None:
        with self.lock:
            self.emitters = (*self.emitters, emit)

    def unsubscribe(self, emit: Emitter) -> None:
        with self.lock:
            self.emitters = tuple(e for e in self.emitters if e != emit)

    def _send(self, events: Sequence[AnyDomainEvent | AnyObjectEvent]) -> None:
        emitters = self.emitters
        for ev in events:
            for emit in emitters:
                emit(ev)

    # -- lookup --------------------------------------------------------------

    def get(self, uuid: str) -> TestDomain:
        dom = self.domains.get(uuid)
        if dom is None:
            raise NoDomainError(f"no domain with matching uuid '{uuid}'", domain=errors.ErrorDomain.TEST)
        return dom

    def lookup_name(self, name: str) -> DomainRef:
        dom = self.by_name.get(name)
        if dom is None:
            raise NoDomainError(name, domain=errors.ErrorDomain.TEST)
        return dom.ref

    def lookup_id(self, dom_id: int) -> DomainRef:
        dom = self.by_id.get(dom_id)
        if dom is None:
            raise NoDomainError(f"no domain with matching id {dom_id}", domain=errors.ErrorDomain.TEST)
        return dom.ref

    def list_refs(self, active: bool | None) -> list[DomainRef]:
        with self.lock:
            if active is None:
                return [d.ref for d in self.domains.values()]
            return [d.ref for d in self.domains.values() if d.active == active]

    def domain_using(self, pool: str, volume: str, path: str) -> str | None:
        """The running domain with a disk on that volume (by path, or by pool and name), or None."""
        with self.lock:
            for dom in self.domains.values():
                if not dom.active:
                    continue
                d = dom.definition()
                found = self._disk_volumes.get(dom.name)
                if found is None or found[0] is not d:  # read a definition's disks once: every delete asks
                    found = self._disk_volumes[dom.name] = (d, *_volumes_of(d))
                if (pool, volume) in found[1] or path in found[2]:
                    return dom.name
        return None

    # -- adding and removing -------------------------------------------------

    def _check_identity(self, new: AnyDef) -> TestDomain | None:
        """The existing domain ``new`` redefines, or None; refuse clashes (libvirt's rules)."""
        same_uuid = self.domains.get(new.uuid)
        same_name = self.by_name.get(new.name)
        if same_name is not None and same_name is not same_uuid:
            raise OperationFailedError(
                f"domain '{new.name}' already exists with uuid {same_name.ref.uuid}",
                domain=errors.ErrorDomain.DOMAIN,
            )
        if same_uuid is not None and same_uuid.name != new.name:
            raise OperationFailedError(
                f"domain '{same_uuid.name}' is already defined with uuid {new.uuid}"
                f" (cannot define '{new.name}' with the same uuid)",
                domain=errors.ErrorDomain.DOMAIN,
            )
        return same_uuid

    def _insert(self, dom: TestDomain) -> None:
        self.domains[dom.ref.uuid] = dom
        self.by_name[dom.name] = dom

    def _remove(self, dom: TestDomain) -> None:
        self.domains.pop(dom.ref.uuid, None)
        self.by_name.pop(dom.name, None)
        if dom.id >= 0:
            self.by_id.pop(dom.id, None)

    def _start(self, dom: TestDomain, reason: int, paused: bool = False) -> None:
        if dom.live is None:
            dom.live = dom.config
        if not isinstance(dom.live, PendingDef) and dom.live is not None and dom.live.interfaces:
            # NICs get their host-side names (testnetN), kept in the persistent definition too
            from virt_test.addresses import with_ifnames  # saves ~3 ms on open: ipaddress, the answers

            named = with_ifnames(dom.live)
            if dom.config is dom.live:
                dom.config = named
            dom.live = named
        dom.set_id(self.next_id)
        self.next_id += 1
        self.by_id[dom.id] = dom
        dom.state = DomainState.PAUSED if paused else DomainState.RUNNING
        dom.reason = types.PausedReason.USER if paused else reason
        dom.started_at = time.monotonic()

    def _stopped_ref(self, dom: TestDomain, reason: ShutoffReason) -> DomainRef:
        """Stop ``dom``; the domain its STOPPED event carries, as libvirt's test driver makes it:
        id -1 once stopped, except a transient domain's, which keeps its id as it goes away."""
        before = dom.ref
        return before if self._stop(dom, reason) else dom.ref

    def _stop(self, dom: TestDomain, reason: ShutoffReason) -> bool:
        """Shut the domain off; True when it was transient and is now gone."""
        self.by_id.pop(dom.id, None)
        dom.set_id(-1)
        dom.state = DomainState.SHUTOFF
        dom.reason = reason
        dom.live = None
        if dom.config is None:
            self._remove(dom)
            return True
        return False

    def add_loaded(
        self, config: AnyDef, *, running: DomainState, transient: bool, managed_save: bool
    ) -> None:
        """Add a domain read from a node file, in the state the file asks for."""
        with self.lock:
            self._check_identity(config)
            dom = TestDomain(None if transient else config, config if transient else None)
            dom.managed_save = managed_save
            if not isinstance(config, PendingDef) and (config.iothreads or config.iothreadids):
                from virt_test.tunables import (
                    iothread_ids,
                    new_iothread,
                )  # saves the XML model on open: node files only

                dom.iothreads = [new_iothread(i) for i in iothread_ids(config)]
            self._insert(dom)
            if running in _ACTIVE or transient:
                self._start(dom, RunningReason.BOOTED, paused=running == DomainState.PAUSED)
            # libvirt's test driver then sets the file's state with reason 0 (UNKNOWN) whatever it is
            dom.reason = 0

    def define(self, new: DomainDef) -> DomainRef:
        with self.lock:
            existing = self._check_identity(new)
            if existing is None:
                dom = TestDomain(new, None)
                self._insert(dom)
                detail = types.DefinedDetail.ADDED
            else:
                dom = existing
                detail = types.DefinedDetail.UPDATED if dom.config is not None else types.DefinedDetail.ADDED
                dom.config = new
            ref = dom.ref
        self._send([types.DomainEvent(ref, types.DomainEventType.DEFINED, detail)])
        return ref

    def create_transient(self, new: DomainDef) -> DomainRef:
        with self.lock:
            existing = self._check_identity(new)
            if existing is not None:
                if existing.active:
                    raise OperationInvalidError(
                        f"domain '{new.name}' is already active", domain=errors.ErrorDomain.DOMAIN
                    )
                dom = existing
            else:
                dom = TestDomain(None, new)
                self._insert(dom)
            dom.live = new
            self._start(dom, RunningReason.BOOTED)
            ref = dom.ref
        self._send([types.DomainEvent(ref, types.DomainEventType.STARTED, types.StartedDetail.BOOTED)])
        return ref

    def undefine(self, uuid: str, *, snapshots_metadata: bool = False) -> None:
        """Remove the persistent definition (an inactive domain with snapshots: ``snapshots_metadata``)."""
        with self.lock:
            dom = self.get(uuid)
            if dom.config is None:
                raise OperationInvalidError(f"cannot undefine transient domain '{dom.name}'")
            count = len(dom.snapshots or ())
            if count and not dom.active and not snapshots_metadata:
                raise OperationInvalidError(
                    f"cannot delete inactive domain with {count} snapshots", domain=errors.ErrorDomain.TEST
                )
            if dom.managed_save:
                raise OperationInvalidError(
                    f"Refusing to undefine while domain managed save image exists ('{dom.name}')"
                )
            ref = dom.ref
            if snapshots_metadata:
                dom.snapshots = None
            dom.config = None
            dom.autostart = False
            if not dom.active:
                self._remove(dom)
        self._send([types.DomainEvent(ref, types.DomainEventType.UNDEFINED, types.UndefinedDetail.REMOVED)])

    # -- state machine -------------------------------------------------------

    def get_active(self, uuid: str) -> TestDomain:
        """The running (or paused) domain with ``uuid``; ``OperationInvalidError`` when it is shut off."""
        return self._active(uuid)

    def _active(self, uuid: str) -> TestDomain:
        dom = self.get(uuid)
        if not dom.active:
            raise OperationInvalidError(
                f"domain '{dom.name}' is not running", domain=errors.ErrorDomain.DOMAIN
            )
        return dom

    def start(self, uuid: str) -> None:
        with self.lock:
            dom = self.get(uuid)
            if dom.active:
                raise InternalError(f"Domain '{dom.name}' is already running", domain=errors.ErrorDomain.TEST)
            dom.managed_save = False  # a start resumes from the managed save image, and drops it
            self._start(dom, RunningReason.BOOTED)
            ref = dom.ref
        self._send([types.DomainEvent(ref, types.DomainEventType.STARTED, types.StartedDetail.BOOTED)])

    def suspend(self, uuid: str) -> None:
        with self.lock:
            dom = self.get(uuid)
            if dom.state in (DomainState.SHUTOFF, DomainState.PAUSED):
                raise InternalError(f"domain '{dom.name}' not running", domain=errors.ErrorDomain.TEST)
            dom.state, dom.reason = DomainState.PAUSED, types.PausedReason.USER
            ref = dom.ref
        self._send([types.DomainEvent(ref, types.DomainEventType.SUSPENDED, types.SuspendedDetail.PAUSED)])

    def resume(self, uuid: str) -> None:
        with self.lock:
            dom = self.get(uuid)
            if dom.state != DomainState.PAUSED:
                raise InternalError(f"domain '{dom.name}' not paused", domain=errors.ErrorDomain.TEST)
            dom.state, dom.reason = DomainState.RUNNING, RunningReason.UNPAUSED
            ref = dom.ref
        self._send([types.DomainEvent(ref, types.DomainEventType.RESUMED, types.ResumedDetail.UNPAUSED)])

    def destroy(self, uuid: str) -> None:
        with self.lock:
            dom = self._active(uuid)
            ref = self._stopped_ref(dom, ShutoffReason.DESTROYED)
        self._send([types.DomainEvent(ref, types.DomainEventType.STOPPED, types.StoppedDetail.DESTROYED)])

    def shutdown(self, uuid: str) -> None:
        """The guest "powers off" at once, then ``on_poweroff`` decides what happens."""
        with self.lock:
            dom = self.get(uuid)
            if not dom.active:
                raise InternalError(f"domain '{dom.name}' not running", domain=errors.ErrorDomain.TEST)
            ref = dom.ref
            action = dom.current.on_poweroff
            if action in ("restart", "rename-restart"):
                dom.state, dom.reason = DomainState.RUNNING, RunningReason.BOOTED
                dom.started_at = time.monotonic()
                events: list[DomainEvent] = []
            elif action == "preserve":
                dom.state, dom.reason = DomainState.SHUTOFF, ShutoffReason.SHUTDOWN
                events = [types.DomainEvent(ref, types.DomainEventType.STOPPED, types.StoppedDetail.SHUTDOWN)]
            else:
                stopped = self._stopped_ref(dom, ShutoffReason.SHUTDOWN)
                events = [
                    types.DomainEvent(stopped, types.DomainEventType.STOPPED, types.StoppedDetail.SHUTDOWN)
                ]
        self._send(events)

    def reboot(self, uuid: str) -> None:
        """A reboot follows ``on_reboot``: ``restart`` keeps it running, ``destroy`` stops it."""
        with self.lock:
            dom = self._active(uuid)
            if dom.current.on_reboot in ("destroy", "preserve"):
                stopped = self._stopped_ref(dom, ShutoffReason.SHUTDOWN)
                events = [
                    types.DomainEvent(stopped, types.DomainEventType.STOPPED, types.StoppedDetail.SHUTDOWN)
                ]
            else:
                dom.state, dom.reason = DomainState.RUNNING, RunningReason.BOOTED
                dom.started_at = time.monotonic()
                events = []
        self._send(events)

    # -- save and restore ----------------------------------------------------

    def save(self, uuid: str, path: str) -> None:
        """Write the domain's XML and state to ``path`` (atomically), then stop it."""
        import json  # saves ~3 ms of import on open: only save images are JSON

        from virtcore.xml import format_domain  # saves ~170 ms on open: lxml and the XML model

        with self.lock:
            dom = self._active(uuid)
            header = {
                "uuid": dom.ref.uuid,
                "name": dom.name,
                "paused": dom.state == DomainState.PAUSED,
                "cpu_time_ns": dom.info().cpu_time,
                "xml": format_domain(dom.definition()),
            }
            write_atomically(path, SAVE_MAGIC + json.dumps(header, indent=1).encode() + b"\n")
            ref = self._stopped_ref(dom, ShutoffReason.SAVED)
        self._send([types.DomainEvent(ref, types.DomainEventType.STOPPED, types.StoppedDetail.SAVED)])

    def managed_save(self, uuid: str) -> None:
        """Stop a running domain, keeping its state as its managed save image (in memory, as libvirt's)."""
        with self.lock:
            dom = self._active(uuid)
            if not dom.persistent:  # its image would outlive it, with no definition to start it from
                raise OperationInvalidError(
                    "cannot do managed save for transient domain", domain=errors.ErrorDomain.TEST
                )
            ref = dom.ref
            self._stop(dom, ShutoffReason.SAVED)
            dom.managed_save = True
        self._send([types.DomainEvent(ref, types.DomainEventType.STOPPED, types.StoppedDetail.SAVED)])

    def managed_save_remove(self, uuid: str) -> None:
        """Drop the domain's managed save image, if any."""
        with self.lock:
            self.get(uuid).managed_save = False

    def restore(self, path: str) -> DomainRef:
        from virtcore.xml import parse_domain  # saves ~170 ms on open: lxml and the XML model

        header = read_save_image(path)
        try:
            definition = parse_domain(str(header["xml"]))
        except XMLError as exc:
            raise InvalidArgError(f"save image '{path}' holds invalid domain XML: {exc.detail}") from None
        with self.lock:
            existing = self._check_identity(definition)
            if existing is not None and existing.active:
                raise OperationInvalidError(f"domain '{existing.name}' is already active")
            if existing is None:
                dom = TestDomain(None, definition)
                self._insert(dom)
            else:
                dom = existing
            dom.live = definition
            self._start(dom, RunningReason.RESTORED, paused=bool(header.get("paused")))
            ref = dom.ref
        self._send([types.DomainEvent(ref, types.DomainEventType.STARTED, types.StartedDetail.RESTORED)])
        return ref

    # -- resources -----------------------------------------------------------

    def _replace_def(self, dom: TestDomain, new: AnyDef) -> None:
        if dom.active:
            dom.live = new
        else:
            dom.config = new

    def _evolve_def(self, dom: TestDomain, d: DomainDef, **changes: Any) -> None:
        """Replace ``dom``'s current definition ``d`` by a copy with ``changes``."""
        import attrs  # saves ~28 ms of import on open: only parsed definitions (attrs) are evolved

        self._replace_def(dom, attrs.evolve(d, **changes))

    def set_memory(self, uuid: str, kib: int) -> None:
        with self.lock:
            dom = self.get(uuid)
            d = dom.definition()
            if kib > d.memory:
                raise InvalidArgError(
                    f"cannot set memory higher than max memory ({kib} > {d.memory} KiB)",
                    domain=errors.ErrorDomain.TEST,
                )
            self._evolve_def(dom, d, current_memory=kib)

    def set_memory_stats_period(self, uuid: str, period: int, live: bool, config: bool) -> None:
        """Set the memballoon's ``<stats period>`` of the one definition the flags pick, as libvirt's."""
        import attrs  # saves ~28 ms of import on open: only parsed definitions (attrs) are evolved

        if live and config:
            raise InvalidArgError(
                "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive"
            )
        with self.lock:
            dom = self.get(uuid)
            dom.definition()  # parse a pending definition
            if live and not dom.active:
                raise OperationInvalidError(f"domain '{dom.name}' is not running")
            if config and not dom.persistent:
                raise OperationInvalidError("transient domains do not have any persistent config")
            use_live = live or (not config and dom.active)
            d = dom.live if use_live else dom.config
            assert d is not None and not isinstance(d, PendingDef)
            balloon = d.memballoon
            if balloon is None or balloon.model == "none":
                raise errors.InternalError(
                    f"domain '{dom.name}' has no memory balloon device: cannot set the collection period"
                )
            changed = attrs.evolve(balloon, period=period or None)
            new = attrs.evolve(d, devices=tuple(changed if x is balloon else x for x in d.devices))
            if use_live:
                dom.live = new
            else:
                dom.config = new

    def set_max_memory(self, uuid: str, kib: int) -> None:
        with self.lock:
            dom = self.get(uuid)
            d = dom.definition()
            self._evolve_def(dom, d, memory=kib, current_memory=min(kib, d.current_memory or kib))

    def set_memory_parameters(self, uuid: str, params: dict[str, int]) -> None:
        """Change ``<memtune>`` limits; hard_limit may not exceed swap_hard_limit (as libvirt)."""
        import attrs  # saves ~28 ms of import on open, as in _evolve_def

        from virtcore.xml.elements import MemTune  # saves the XML model on open

        with self.lock:
            dom = self.get(uuid)
            d = dom.definition()
            tune = d.memtune or MemTune()
            hard = params.get("hard_limit", tune.hard_limit)
            swap = params.get("swap_hard_limit", tune.swap_hard_limit)
            if ("hard_limit" in params or "swap_hard_limit" in params) and (
                (hard if hard is not None else limits.MEMORY_PARAM_UNLIMITED)
                > (swap if swap is not None else limits.MEMORY_PARAM_UNLIMITED)
            ):
                raise InvalidArgError(
                    "memory hard_limit tunable value must be lower than or equal to swap_hard_limit"
                )
            new = attrs.evolve(
                tune,
                hard_limit=hard,
                swap_hard_limit=swap,
                soft_limit=params.get("soft_limit", tune.soft_limit),
            )
            self._evolve_def(dom, d, memtune=new)

    def set_vcpus(self, uuid: str, count: int) -> None:
        with self.lock:
            dom = self.get(uuid)
            d = dom.definition()
            if count > d.vcpu:
                raise InvalidArgError(
                    f"requested cpu amount exceeds maximum supported amount ({count} > {d.vcpu})",
                    domain=errors.ErrorDomain.TEST,
                )
            self._evolve_def(dom, d, current_vcpus=count)

    def set_autostart(self, uuid: str, value: bool) -> None:
        with self.lock:
            dom = self.get(uuid)
            if dom.config is None:
                raise OperationInvalidError(f"cannot set autostart for transient domain '{dom.name}'")
            dom.autostart = value


def read_save_image(path: str) -> dict[str, object]:
    """The header of a test-driver save image; raises ``SystemError_`` or ``InvalidArgError``."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(64 * 1024 * 1024 + 1)
    except OSError as exc:
        raise SystemError_(
            f"cannot read domain image '{path}': {exc.strerror}", domain=errors.ErrorDomain.TEST
        ) from None
    if not data.startswith(SAVE_MAGIC):
        raise InvalidArgError(f"'{path}' is not a test driver save image")
    import json  # saves ~3 ms of import on open: only save images are JSON

    try:
        header = json.loads(data[len(SAVE_MAGIC) :])
    except ValueError:
        raise InvalidArgError(f"save image '{path}' is corrupt") from None
    if not isinstance(header, dict) or not isinstance(header.get("xml"), str):
        raise InvalidArgError(f"save image '{path}' is corrupt")
    return header


def _volumes_of(d: Any) -> tuple[frozenset[tuple[Any, Any]], frozenset[Any]]:
    """The (pool, volume) pairs of a definition's volume disks, and the sources of its other disks."""
    from virtcore.xml.devices import Disk  # saves ~170 ms on open: the XML model

    pairs, paths = set(), set()
    for disk in d.devices:  # the devices, not ``disks``: no tuple built
        if isinstance(disk, Disk):
            if disk.type == "volume":
                pairs.add((disk.source_pool, disk.source))
            else:
                paths.add(disk.source)
    return frozenset(pairs), frozenset(paths)
