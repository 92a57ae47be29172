"""The shared state of a QEMU :class:`~virt_qemu.host.Host`: its domains, locks and plumbing.

:class:`HostState` is what every concern of the host works on (the domain tables,
the shared generation, the event loop and the worker's queue, the per-domain files);
:class:`Dom` is one domain as this process knows it. The concerns themselves
(:mod:`virt_qemu.discovery`, :mod:`virt_qemu.monitors`, :mod:`virt_qemu.qmpevents`,
:mod:`virt_qemu.runstates`, :mod:`virt_qemu.stopping`, :mod:`virt_qemu.saverecovery`)
sit above this module, and :class:`~virt_qemu.host.Host` wires them on it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import attrs

from virt_qemu.caps import CapsCache
from virt_qemu.paths import FileLock, Generation, Layout
from virtcore.errors import NoDomainError, OperationInvalidError, OperationTimeoutError
from virtcore.events import AnyDomainEvent
from virtcore.files import write_atomically
from virtcore.types import (
    CrashedReason,
    DomainEvent,
    DomainEventType,
    DomainRef,
    DomainState,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutoffReason,
    StoppedDetail,
    SuspendedDetail,
)
from virtcore.xml import Channel, DomainDef, Serial, format_domain

if TYPE_CHECKING:  # qemu.qmp (asyncio) is imported only once a monitor is needed
    from virt_qemu.monitor import EventLoop, Monitor

__all__ = [
    "HostState",
    "Dom",
    "Starter",
    "domain_event",
    "wait_migration",
    "channel_states",
    "AGENT_PORT",
    "agent_channel",
]

#: The pseudo event for the end of a monitor connection (same value as virt_qemu.monitor.EOF).
EOF = "__EOF__"

log = logging.getLogger("virt_qemu")

#: QMP sockets per running domain: how many processes can manage it at once.
MONITOR_SLOTS = 3
START_TIMEOUT = 30.0
SAVE_TIMEOUT = 300.0
DETACH_TIMEOUT = 10.0
#: How often a process without monitors looks at the shared generation to deliver events.
FOLLOW_INTERVAL = 0.25

STOP_DETAIL = {
    "shutdown": (ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN),
    "destroyed": (ShutoffReason.DESTROYED, StoppedDetail.DESTROYED),
    "crashed": (ShutoffReason.CRASHED, StoppedDetail.CRASHED),
    "saved": (ShutoffReason.SAVED, StoppedDetail.SAVED),
    "failed": (ShutoffReason.FAILED, StoppedDetail.FAILED),
    "from-snapshot": (ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT),
}
QEMU_STATUS = {
    "running": (DomainState.RUNNING, RunningReason.UNPAUSED),
    "paused": (DomainState.PAUSED, PausedReason.USER),
    "prelaunch": (DomainState.PAUSED, PausedReason.STARTING_UP),
    "inmigrate": (DomainState.PAUSED, PausedReason.MIGRATION),
    "postmigrate": (DomainState.PAUSED, PausedReason.MIGRATION),
    "finish-migrate": (DomainState.PAUSED, PausedReason.MIGRATION),
    "save-vm": (DomainState.PAUSED, PausedReason.SAVE),
    "restore-vm": (DomainState.PAUSED, PausedReason.STARTING_UP),
    "io-error": (DomainState.PAUSED, PausedReason.IOERROR),
    "watchdog": (DomainState.PAUSED, PausedReason.WATCHDOG),
    "guest-panicked": (DomainState.CRASHED, CrashedReason.PANICKED),
    "shutdown": (DomainState.SHUTDOWN, 1),
    "suspended": (DomainState.PMSUSPENDED, 0),
    "internal-error": (DomainState.PAUSED, PausedReason.UNKNOWN),
    "debug": (DomainState.PAUSED, PausedReason.UNKNOWN),
}
#: The QEMU statuses a STOP/RESUME event is reconciled to (the others belong to shutdown,
#: migration, save and panic handling).
RUN_STATES = {
    k: QEMU_STATUS[k] for k in ("running", "paused", "io-error", "watchdog", "internal-error", "debug")
}


# --------------------------------------------------------------------------- helpers

#: query-migrate statuses of a migration still under way (anything else is final).
MIGRATION_RUNNING = frozenset(
    {"setup", "active", "cancelling", "pre-switchover", "device", "wait-unplug", "postcopy-active"}
)


def wait_migration(mon: Monitor) -> str:
    """Wait until the outgoing migration ends; its final ``query-migrate`` status.

    :raises OperationTimeoutError: still running after :data:`SAVE_TIMEOUT` seconds.
    """
    deadline = time.monotonic() + SAVE_TIMEOUT
    delay = 0.001
    while True:
        status = str(mon.cmd("query-migrate", timeout=10).get("status", "none"))
        if status not in MIGRATION_RUNNING:
            return status
        if time.monotonic() > deadline:
            raise OperationTimeoutError("the migration to the save file did not finish")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


#: The guest agent's channel name.
AGENT_PORT = "org.qemu.guest_agent.0"


def agent_channel(d: DomainDef) -> Channel | None:
    """The guest agent's channel of ``d``, if it has one."""
    for dev in d.devices:
        if isinstance(dev, Channel) and dev.target_type == "virtio" and dev.target_name == AGENT_PORT:
            return dev
    return None


def channel_states(mon: Monitor, d: DomainDef) -> DomainDef:
    """``d`` with each virtio channel's ``<target state=...>`` as QEMU knows it now
    (``query-chardev``'s ``frontend-open``: whether the guest has the port open), as
    libvirt refreshes it at start and on reconnecting."""
    channels = [dev for dev in d.devices if isinstance(dev, Channel) and dev.target_type == "virtio"]
    if not channels:
        return d
    opened = {c.get("label"): c.get("frontend-open") for c in mon.cmd("query-chardev", timeout=5)}
    devices, n = [], 0
    for dev in d.devices:
        if isinstance(dev, Channel):
            state = opened.get(f"charchannel{n}")
            if dev.target_type == "virtio" and isinstance(state, bool):
                dev = attrs.evolve(dev, target_state="connected" if state else "disconnected")
            n += 1
        devices.append(dev)
    return attrs.evolve(d, devices=tuple(devices), raw=d.raw)


def domain_event(ref: DomainRef, ev: DomainEventType, detail: int) -> DomainEvent:
    return DomainEvent(domain=ref, event=ev, detail=int(detail))


def run_state_event(ref: DomainRef, old: DomainState, new: DomainState, reason: int) -> DomainEvent | None:
    """The SUSPENDED/RESUMED event of a live state change from ``old`` to ``new`` (None: no event)."""
    if old == new:
        return None
    if new == DomainState.PAUSED:
        detail = SuspendedDetail.PAUSED
        if reason == PausedReason.IOERROR:
            detail = SuspendedDetail.IOERROR
        elif reason == PausedReason.WATCHDOG:
            detail = SuspendedDetail.WATCHDOG
        return domain_event(ref, DomainEventType.SUSPENDED, detail)
    if new == DomainState.RUNNING and old == DomainState.PAUSED:
        return domain_event(ref, DomainEventType.RESUMED, ResumedDetail.UNPAUSED)
    return None


# --------------------------------------------------------------------------- domains


class Closable(Protocol):
    """What the host knows of a domain's agent link: that it closes (the agent part owns it)."""

    def close(self) -> None:
        """Close it for good: calls in progress fail, later ones too."""


class Dom:
    """One domain as this process knows it."""

    def __init__(self, uuid: str, name: str) -> None:
        self.uuid = uuid
        self.name = name
        self.config: DomainDef | None = None
        self.config_mtime: int = 0
        self.live: DomainDef | None = None
        self.state: DomainState = DomainState.SHUTOFF
        self.reason: int = ShutoffReason.UNKNOWN
        self.id = -1
        self.pid: int | None = None
        self.monitor: Monitor | None = None
        self.slot: FileLock | None = None
        self.stat_fd: int | None = None
        self.token = 0
        self.job = threading.RLock()
        self.balloon_kib: int = 0
        self.deleted: dict[str, threading.Event] = {}
        self.started_at = 0.0
        self.powerdown_seen = threading.Event()
        #: A reconciliation with QEMU's status is queued on the worker (set on the loop thread).
        self.reconcile_queued = False
        self.ref = DomainRef(name, uuid, -1)
        #: ``run/UUID.lock``, re-entrant for this process's holder of :attr:`job` only: held from
        #: asking QEMU its run state (or changing it) until ``status.xml`` says so
        #: (:meth:`~virt_qemu.runstates.RunStates.run_state_held`). Other threads take their own
        #: :meth:`HostState.dom_lock`.
        self.state_lock: FileLock | None = None
        #: This process's link to the guest agent (a :class:`virt_qemu.agent.AgentLink`), made on
        #: first use; closed with the monitor.
        self.agent: Closable | None = None

    @property
    def active(self) -> bool:
        return self.state != DomainState.SHUTOFF

    @property
    def definition(self) -> DomainDef:
        """The live definition, else the persistent one.

        :raises NoDomainError: neither exists any more (another process undefined it meanwhile).
        """
        d = self.live if self.live is not None else self.config
        if d is None:
            raise NoDomainError(f"domain '{self.name}' is no longer defined")
        return d

    def set_ref(self) -> None:
        self.ref = DomainRef(self.name, self.uuid, self.id)


class Starter(Protocol):
    """What the host asks of its launcher (:class:`virt_qemu.launching.Launcher`)."""

    def start(self, uuid: str, *, paused: bool = False) -> None:
        """Start the defined, inactive domain ``uuid``."""

    def autostart(self) -> None:
        """Start the autostart domains, once per host boot."""


class HostState:
    """The state every concern of a :class:`~virt_qemu.host.Host` shares, and its plumbing."""

    def __init__(self, layout: Layout) -> None:
        layout.ensure()
        self.layout = layout
        self.refs = 0
        #: Read-write connections of this process: only while there is one are monitors held.
        self.rw_refs = 0
        #: What starts domains for autostart and the restart policies: the launchers of the open
        #: clients, newest last (each resolves volume disks through its own connection).
        self._starters: list[Starter] = []
        self.closed = False
        self.caps = CapsCache(layout.cache)
        self.gen = Generation(layout.run)
        self.seen_gen = -1
        self.lock = threading.RLock()
        self.doms: dict[str, Dom] = {}
        self.by_name: dict[str, Dom] = {}
        self.emitters: list[Callable[[AnyDomainEvent], None]] = []
        self._loop: EventLoop | None = None
        #: The event worker's queue (:class:`~virt_qemu.host.Host` runs the worker).
        self.work: queue.Queue[Callable[[], None] | None] = queue.Queue()

    # -- plumbing ---------------------------------------------------------------

    @property
    def loop(self) -> EventLoop:
        with self.lock:
            if self._loop is None:
                from virt_qemu.monitor import EventLoop

                self._loop = EventLoop()
            return self._loop

    def emit(self, ev: AnyDomainEvent) -> None:
        for fn in list(self.emitters):
            try:
                fn(ev)
            except Exception:
                log.exception("event delivery failed")

    def bump(self) -> None:
        """Advance the shared generation after our own change (others' changes still show)."""
        before = self.seen_gen
        g = self.gen.bump()
        if g == before + 1:
            self.seen_gen = g

    @property
    def monitored(self) -> bool:
        """Whether this process manages guests through monitors (it has a read-write connection)."""
        return self.rw_refs > 0

    @property
    def starter(self) -> Starter | None:
        """The launcher of the newest open client, or ``None`` when none is open."""
        return self._starters[-1] if self._starters else None

    def dom_lock(self, uuid: str) -> FileLock:
        return FileLock(self.layout.run / f"{uuid}.lock")

    def run_dir(self, uuid: str) -> Path:
        return self.layout.run / uuid

    def console_log(self, dom: Dom) -> Path:
        """The file receiving the guest's first serial port (the console)."""
        d = dom.definition
        for s in d.devices:
            if isinstance(s, Serial) and s.type == "file" and s.source_path:
                return Path(s.source_path)
        return self.layout.log / f"{dom.uuid}-console.log"

    def rename(self, dom: Dom, name: str) -> None:
        if self.by_name.get(dom.name) is dom:
            del self.by_name[dom.name]
        dom.name = name
        self.by_name[name] = dom
        dom.set_ref()

    def forget(self, dom: Dom) -> None:
        self.doms.pop(dom.uuid, None)
        if self.by_name.get(dom.name) is dom:
            del self.by_name[dom.name]

    def write_status(self, dom: Dom) -> None:
        if dom.live is None:
            return
        xml = format_domain(dom.live, domain_id=dom.id)
        body = (
            f"<domstatus state='{int(dom.state)}' reason='{int(dom.reason)}' pid='{dom.pid}' "
            f"id='{dom.id}' monitors='{MONITOR_SLOTS}'>\n{xml}</domstatus>\n"
        )
        rd = self.run_dir(dom.uuid)
        # Runtime state: atomic, but no fsync (it is meaningless after a host reboot).
        write_atomically(rd / "status.xml", body.encode(), sync=False)

    def monitor_of(self, dom: Dom) -> Monitor:
        mon = dom.monitor
        if mon is None:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        return mon
