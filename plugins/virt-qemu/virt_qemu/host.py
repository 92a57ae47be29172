"""The QEMU driver's state for one URI: domains, their QEMU processes, monitors and files.

One :class:`Host` exists per process and state directory; every connection
to the same URI in a process shares it (as libvirt's clients share one
daemon). Processes share the directories and coordinate through file locks
and a generation counter (see :mod:`virt_qemu.paths`).

Files (``L`` = the :class:`~virt_qemu.paths.Layout`)::

    L.config/UUID.xml            persistent definition (atomic writes)
    L.config/autostart/UUID      autostart mark
    L.run/UUID.lock              the domain's cross-process lock
    L.run/UUID.last              why it last stopped (read by other processes)
    L.run/UUID/status.xml        running domain: state, pid, id, live XML (rewritten on every
                                 pause/resume, so processes without a monitor read the state)
    L.run/UUID/pid               QEMU's pidfile
    L.run/UUID/monN.sock         QMP sockets (one per managing process), monN.lock
    L.run/UUID/save              a save in progress (held under save.lock; see virt_qemu.saving)
    L.log/UUID.log               QEMU's stderr; L.log/UUID-console.log the serial log

Monitors belong to read-write clients: a process holds QMP monitor slots only
while it has a read-write connection to the URI, so read-only clients can
never take a slot a read-write one needs. A process with only read-only
connections reads running domains from ``status.xml`` at each call that
follows a change (the shared generation tells, also looked at every
:data:`FOLLOW_INTERVAL` by the event worker) and delivers the events of the
changes it finds then. See the README's "Events across processes" for what a
watcher can rely on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from virt_qemu import argv as argvmod
from virt_qemu import guestevents
from virt_qemu.caps import CapsCache
from virt_qemu.paths import FileLock, Generation, Layout
from virt_qemu.process import (
    STOP_TIMEOUT,
    alive,
    cmdline_has,
    connect_unix,
    kill_painfully,
    wait_dead,
)
from virtcore.errors import (
    ConfigUnsupportedError,
    NoDomainError,
    OperationFailedError,
    OperationInvalidError,
    OperationTimeoutError,
    SystemError_,
    VirtError,
    XMLError,
)
from virtcore.events import AgentLifecycleEvent, AgentLifecycleReason, AgentLifecycleState, AnyDomainEvent
from virtcore.files import write_atomically
from virtcore.types import (
    CrashedDetail,
    CrashedReason,
    DomainEvent,
    DomainEventType,
    DomainRef,
    DomainState,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutdownDetail,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
)
from virtcore.xml import (
    Channel,
    DomainDef,
    Serial,
    format_domain,
    parse_domain,
    secure_parse,
)

if TYPE_CHECKING:  # qemu.qmp (asyncio) is imported only once a monitor is needed
    from virt_qemu.monitor import EventLoop, Monitor

__all__ = [
    "Host",
    "Dom",
    "Starter",
    "get_host",
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

_UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: A temporary of an atomic write of config/UUID.xml (virtcore.files names them ``.NAME.RANDOM``).
_CONFIG_TEMPORARY = re.compile(rf"\.{_UUID_RE}\.xml\.[A-Za-z0-9_]+")
#: A per-domain record in the run directory: its stop reason or its lock file.
_RUN_RECORD = re.compile(rf"{_UUID_RE}\.(last|lock)")
_STOP_DETAIL = {
    "shutdown": (ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN),
    "destroyed": (ShutoffReason.DESTROYED, StoppedDetail.DESTROYED),
    "crashed": (ShutoffReason.CRASHED, StoppedDetail.CRASHED),
    "saved": (ShutoffReason.SAVED, StoppedDetail.SAVED),
    "failed": (ShutoffReason.FAILED, StoppedDetail.FAILED),
    "from-snapshot": (ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT),
}
_QEMU_STATUS = {
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
_RUN_STATES = {
    k: _QEMU_STATUS[k] for k in ("running", "paused", "io-error", "watchdog", "internal-error", "debug")
}


# --------------------------------------------------------------------------- helpers


def _slot_borrowed(rd: Path) -> bool:
    """Whether a read-only client holds one of the monitor slots of ``rd`` for one query."""
    try:
        for i in range(MONITOR_SLOTS):
            lk = FileLock(rd / f"mon{i}.borrow")
            if not lk.try_acquire():
                return True
            lk.release()
    except OSError:  # the guest stopped: its runtime dir is gone
        pass
    return False


#: query-migrate statuses of a migration still under way (anything else is final).
_MIGRATION_RUNNING = frozenset(
    {"setup", "active", "cancelling", "pre-switchover", "device", "wait-unplug", "postcopy-active"}
)


def _remove_temporary(record: dict[str, Any]) -> None:
    """Delete the temporary of an interrupted save, if it is still the file the saver created."""
    with contextlib.suppress(OSError, TypeError, ValueError):
        st = os.stat(record["tmp"], follow_symlinks=False)
        if [st.st_dev, st.st_ino] == list(record["file"]):
            os.unlink(record["tmp"])


def wait_migration(mon: Monitor) -> str:
    """Wait until the outgoing migration ends; its final ``query-migrate`` status.

    :raises OperationTimeoutError: still running after :data:`SAVE_TIMEOUT` seconds.
    """
    deadline = time.monotonic() + SAVE_TIMEOUT
    delay = 0.001
    while True:
        status = str(mon.cmd("query-migrate", timeout=10).get("status", "none"))
        if status not in _MIGRATION_RUNNING:
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


def _run_state_event(ref: DomainRef, old: DomainState, new: DomainState, reason: int) -> DomainEvent | None:
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
        #: (:meth:`Host.run_state_held`). Other threads take their own :meth:`Host.dom_lock`.
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


_hosts: dict[str, Host] = {}
_hosts_lock = threading.Lock()


def get_host(layout: Layout) -> Host:
    """The process-wide :class:`Host` for ``layout`` (created on first use), with a new reference."""
    with _hosts_lock:
        h = _hosts.get(layout.key)
        if h is None or h.closed:
            h = Host(layout)
            _hosts[layout.key] = h
        h.refs += 1
        return h


class Starter(Protocol):
    """What the host asks of its launcher (:class:`virt_qemu.launching.Launcher`)."""

    def start(self, uuid: str, *, paused: bool = False) -> None:
        """Start the defined, inactive domain ``uuid``."""

    def autostart(self) -> None:
        """Start the autostart domains, once per host boot."""


class Host:
    """Every domain of one state directory, as seen by this process."""

    def __init__(self, layout: Layout) -> None:
        layout.ensure()
        self.layout = layout
        self.refs = 0
        #: Read-write connections of this process: only while there is one are monitors held.
        self.rw_refs = 0
        self._autostart_checked = False
        #: What starts domains for autostart and the restart policies: the launchers of the open
        #: clients, newest last (each resolves volume disks through its own connection).
        self._starters: list[Starter] = []
        self.closed = False
        self.caps = CapsCache(layout.cache)
        self.gen = Generation(layout.run)
        self.seen_gen = -1
        #: Set by a rescan that could not read everything (a domain's lock was held too long).
        self._look_incomplete = False
        self.lock = threading.RLock()
        self.doms: dict[str, Dom] = {}
        self.by_name: dict[str, Dom] = {}
        self.emitters: list[Callable[[AnyDomainEvent], None]] = []
        self._sync_events: list[DomainEvent] = []
        self._loop: EventLoop | None = None
        self._work: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work_loop, name="virt-qemu-events", daemon=True)
        self._worker.start()
        self.sync(force=True)

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

    def _work_loop(self) -> None:
        while True:
            try:
                job = self._work.get(timeout=FOLLOW_INTERVAL)
            except queue.Empty:
                job = self._follow
            if job is None:
                return
            try:
                job()
            except VirtError as exc:
                log.debug("event handling: %s", exc)
            except Exception:
                log.exception("event handling failed")

    def _follow(self) -> None:
        """Without monitors, catch up with other processes' changes so that callbacks
        waiting for events get them without calling anything (one shared-memory read
        when nothing changed)."""
        if not self.monitored and self.emitters and not self.closed:
            self.sync()

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

    def open_client(self, read_only: bool, starter: Starter) -> None:
        """Account for a new connection; a read-write one takes monitors and autostarts guests.

        Only a read-write client may autostart (once per host boot, see
        :meth:`Starter.autostart`), and only a read-write client holds monitor slots:
        a read-only one can never take a slot a read-write one needs.
        """
        with self.lock:
            self._starters.append(starter)
        if read_only:
            return
        with self.lock:
            self.rw_refs += 1
            first = self.rw_refs == 1
            if first:
                self.seen_gen = -1
        if first:
            self.sync()  # reattach with monitors what was followed through status files
        if not self._autostart_checked:
            self._autostart_checked = True
            self._remove_leftovers()  # a read-only client changes nothing on disk
            starter.autostart()

    def close_client(self, read_only: bool, starter: Starter | None = None) -> None:
        """Undo :meth:`open_client` (``starter``: the one it was given): the last read-write
        client gives the monitor slots back (even while read-only clients stay)."""
        with self.lock:
            if starter in self._starters:
                self._starters.remove(starter)
        if read_only:
            return
        with self.lock:
            self.rw_refs -= 1
            drop = self.rw_refs == 0
            if drop:
                self.seen_gen = -1  # follow running guests through status files from now on
                doms = list(self.doms.values())
        if drop:
            for dom in doms:
                self.detach_monitor(dom)

    def release(self) -> None:
        """Drop one reference; the last one closes monitors (guests keep running)."""
        with _hosts_lock:
            self.refs -= 1
            if self.refs > 0:
                return
            self.closed = True
            if _hosts.get(self.layout.key) is self:
                del _hosts[self.layout.key]
        with self.lock:
            doms = list(self.doms.values())
        for dom in doms:
            self.detach_monitor(dom)
        self._work.put(None)
        self._worker.join(2.0)
        if self._loop is not None:
            self._loop.stop()
        self.gen.close()

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

    # -- discovery and synchronization with other processes ---------------------

    def sync(self, force: bool = False) -> None:
        """Reload what other processes changed (cheap when nothing did)."""
        g = self.gen.value()
        if not force and g == self.seen_gen:
            return
        with self.lock:
            g = self.gen.value()
            if not force and g == self.seen_gen:
                return
            # ``seen_gen`` means "this process is up to date": it moves only once the look is
            # complete, so a thread that finds it current (the fast path above) never reads
            # a state another thread's rescan (the follower's) is still bringing in.
            self._look_incomplete = False
            self._rescan()
            self.seen_gen = -1 if self._look_incomplete else g
            events, self._sync_events = self._sync_events, []
        for ev in events:
            self.emit(ev)

    def _rescan(self) -> None:
        lay = self.layout
        on_disk: dict[str, tuple[Path, int]] = {}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(lay.config):
                if entry.name.endswith(".xml") and entry.is_file():
                    with contextlib.suppress(OSError):
                        on_disk[entry.name[:-4]] = (Path(entry.path), entry.stat().st_mtime_ns)
        running: set[str] = set()
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(lay.run):
                if entry.is_dir() and (Path(entry.path) / "status.xml").exists():
                    running.add(entry.name)
        # persistent definitions
        for uuid, (path, mtime) in on_disk.items():
            dom = self.doms.get(uuid)
            if dom is not None and dom.config is not None and dom.config_mtime == mtime:
                continue
            try:
                d = parse_domain(path.read_bytes())
            except (OSError, VirtError) as exc:
                log.warning("ignoring unreadable definition %s: %s", path, exc)
                continue
            if dom is None:
                dom = Dom(d.uuid, d.name)
                dom.reason = self._last_reason(uuid)
                self.doms[uuid] = dom
            dom.config = d
            dom.config_mtime = mtime
            if not dom.active:
                self.rename(dom, d.name)
        # domains gone from disk
        for uuid, dom in list(self.doms.items()):
            if uuid not in on_disk and dom.config is not None:
                dom.config = None
            if dom.config is None and not dom.active and uuid not in running:
                self.forget(dom)
        # running domains we do not manage yet (without monitors: all of them, from status.xml)
        for uuid in running:
            dom = self.doms.get(uuid)
            if dom is None or not dom.active or dom.monitor is None:
                self._reattach(uuid)
        # without monitors, no EOF tells us of a stop elsewhere: the runtime dir is gone
        if not self.monitored:
            for uuid, dom in list(self.doms.items()):
                if dom.active and uuid not in running and dom.monitor is None:
                    self._stopped_elsewhere(dom)

    def _stopped_elsewhere(self, dom: Dom) -> None:
        """A domain another process stopped (seen by a process without monitors): SHUTOFF, STOPPED."""
        why = self._collect_stop_reason(dom, default="crashed")
        reason, detail = _STOP_DETAIL.get(why, (ShutoffReason.UNKNOWN, StoppedDetail.FAILED))
        ref = dom.ref
        self.detach_monitor(dom)
        dom.state, dom.reason, dom.id, dom.pid, dom.live = DomainState.SHUTOFF, reason, -1, None, None
        if dom.config is None:
            self.forget(dom)
        else:
            self.rename(dom, dom.config.name)
        self._sync_events.append(domain_event(ref, DomainEventType.STOPPED, detail))

    def _remove_leftovers(self) -> None:
        """Delete what crashed processes left: config temporaries, records of vanished domains.

        ``config/.UUID.xml.*`` are temporaries of definition writes (those
        happen under ``config/.lock``, taken here too). ``run/UUID.last`` and
        ``run/UUID.lock`` of a UUID with neither a definition nor a runtime
        directory belong to no domain any more.
        """
        lay = self.layout
        with contextlib.suppress(OSError, VirtError), FileLock(lay.config / ".lock").held(5.0):
            for entry in os.scandir(lay.config):
                if _CONFIG_TEMPORARY.fullmatch(entry.name) and not entry.is_dir(follow_symlinks=False):
                    log.info("removing the orphan temporary %s", entry.path)
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
        try:
            names = os.listdir(lay.run)
        except OSError:
            return
        for uuid in sorted({n[:-5] for n in names if _RUN_RECORD.fullmatch(n)}):
            if uuid in self.doms or (lay.config / f"{uuid}.xml").exists() or (lay.run / uuid).exists():
                continue
            self.remove_records(uuid)

    def remove_records(self, uuid: str) -> None:
        """Delete ``run/UUID.last`` and ``run/UUID.lock`` of a domain that no longer exists."""
        lock = self.dom_lock(uuid)
        try:
            if not lock.try_acquire():
                return  # someone is starting a domain with that UUID right now
        except (OSError, VirtError):
            return
        try:
            if (self.layout.config / f"{uuid}.xml").exists() or self.run_dir(uuid).exists():
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.layout.run / f"{uuid}.last")
            lock.remove()
        except OSError as exc:
            log.warning("cannot remove the records of %s: %s", uuid, exc)
        finally:
            lock.release()

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

    def _reattach(self, uuid: str) -> None:
        rd = self.run_dir(uuid)
        lock = self.dom_lock(uuid)
        interrupted: tuple[dict[str, Any], FileLock] | None = None
        locked = True
        try:
            lock.acquire(2.0)
        except OperationTimeoutError:
            # Another process holds it (starting, stopping, publishing, or reading it): this
            # look is incomplete, so the next sync must look again even if nothing else changes.
            self._look_incomplete = True
            if self.monitored:
                return
            # Without monitors the published status.xml (always whole: written by rename) is
            # the best answer there is; what needs the lock (a crash found) waits for the next look.
            locked = False
        try:
            try:
                root = secure_parse((rd / "status.xml").read_bytes())
                pid = int(root.get("pid", "0"))
                dom_id = int(root.get("id", "0"))
                recorded = (DomainState(int(root.get("state", "1"))), int(root.get("reason", "0")))
                dom_el = root.find("domain")
                if dom_el is None:
                    raise XMLError("status without <domain>")
                from lxml import etree

                live = parse_domain(etree.tostring(dom_el))
            except (OSError, ValueError, VirtError) as exc:
                log.warning("cannot read runtime state of %s: %s", uuid, exc)
                return
            dom = self.doms.get(uuid)
            if dom is None:
                dom = Dom(uuid, live.name)
                self.doms[uuid] = dom
            was = dom.state
            if not alive(pid) or not cmdline_has(pid, uuid):
                if not locked:
                    return
                # QEMU died while nobody watched: crashed, unless it was being stopped (a save).
                stop_why = self._collect_stop_reason(dom, default="crashed")
                record = self._drop_unfinished_save(uuid)
                if stop_why == "crashed" and record is not None and self._save_committed(record):
                    stop_why = "saved"
                self._write_last(uuid, stop_why)
                shutil.rmtree(rd, ignore_errors=True)
                dom.live = None
                dom.state, dom.id = DomainState.SHUTOFF, -1
                dom.reason = _STOP_DETAIL.get(stop_why, (ShutoffReason.UNKNOWN, 0))[0]
                if dom.config is None:
                    self.forget(dom)
                else:
                    self.rename(dom, dom.config.name)
                self.bump()
                if was != DomainState.SHUTOFF:
                    self._sync_events.append(
                        domain_event(dom.ref, DomainEventType.STOPPED, StoppedDetail.CRASHED)
                    )
                return
            dom.live = live
            dom.pid = pid
            dom.id = dom_id
            self.rename(dom, live.name)
            dom.balloon_kib = live.current_memory or live.memory
            if not self.monitored:
                # Read-only clients hold no monitor; the managing processes keep status.xml current.
                dom.state, dom.reason = recorded
                if dom.stat_fd is None:
                    with contextlib.suppress(OSError):
                        dom.stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
                self._note_reattached(dom, was)
                return
            try:
                self._attach_monitor(dom)
                status = dom.monitor.cmd("query-status", timeout=5) if dom.monitor else {}
                st, why = _QEMU_STATUS.get(status.get("status", "running"), (DomainState.RUNNING, 0))
                dom.state, dom.reason = st, why
                if st == DomainState.RUNNING:
                    dom.reason = RunningReason.BOOTED
                with contextlib.suppress(VirtError):
                    bal = dom.monitor.cmd("query-balloon", timeout=5) if dom.monitor else None
                    if bal:
                        dom.balloon_kib = int(bal["actual"]) // 1024
                with contextlib.suppress(VirtError):  # events were missed while nobody watched
                    if dom.monitor is not None:
                        dom.live = channel_states(dom.monitor, live)
                interrupted = self._save_in_progress(uuid)
                if interrupted is None and st == DomainState.PAUSED and (rd / "save").exists():
                    dom.reason = PausedReason.SAVE  # another process is saving it right now
            except VirtError as exc:
                log.warning("cannot reattach to %s (pid %d): %s", live.name, pid, exc)
                dom.state, dom.reason = DomainState.RUNNING, RunningReason.UNKNOWN
            self._note_reattached(dom, was)
        finally:
            if locked:
                lock.release()
        if interrupted is not None:
            self._recover_save(dom, *interrupted)

    def _note_reattached(self, dom: Dom, was: DomainState) -> None:
        """Queue the events of what changed since this process last looked (delivered by :meth:`sync`)."""
        if was == DomainState.SHUTOFF:
            detail = StartedDetail.RESTORED if dom.reason == RunningReason.RESTORED else StartedDetail.BOOTED
            self._sync_events.append(domain_event(dom.ref, DomainEventType.STARTED, detail))
            if dom.state == DomainState.PAUSED:
                self._sync_events.append(
                    domain_event(dom.ref, DomainEventType.SUSPENDED, SuspendedDetail.PAUSED)
                )
            return
        ev = _run_state_event(dom.ref, was, dom.state, dom.reason)
        if ev is not None:
            self._sync_events.append(ev)

    # -- monitors --------------------------------------------------------------

    def _attach_monitor(self, dom: Dom, sock: socket.socket | None = None, slot: int | None = None) -> None:
        rd = self.run_dir(dom.uuid)
        if sock is None:
            # A read-only client may borrow a slot for one query (_borrowed_query): wait that out,
            # but not for slots that read-write clients hold.
            deadline = time.monotonic() + 2.0
            while sock is None:
                for i in range(MONITOR_SLOTS):
                    lk = FileLock(rd / f"mon{i}.lock")
                    if lk.try_acquire():
                        try:
                            sock = connect_unix(rd / f"mon{i}.sock")
                        except OSError:
                            lk.release()
                            continue
                        dom.slot = lk
                        break
                if sock is not None or time.monotonic() > deadline or not _slot_borrowed(rd):
                    break
                time.sleep(0.02)
            if sock is None:
                raise OperationFailedError(
                    f"domain '{dom.name}' is already managed by {MONITOR_SLOTS} processes (no free monitor)"
                )
        dom.token += 1
        token = dom.token
        from virt_qemu.monitor import Monitor

        mon = Monitor(
            self.loop, lambda name, data: self.on_event(dom, token, name, data), f"qemu-{dom.uuid[:8]}"
        )
        mon.connect(sock, timeout=START_TIMEOUT)
        dom.monitor = mon
        if dom.pid is not None and dom.stat_fd is None:
            with contextlib.suppress(OSError):
                dom.stat_fd = os.open(f"/proc/{dom.pid}/stat", os.O_RDONLY | os.O_CLOEXEC)

    def query(self, dom: Dom, name: str, args: dict[str, Any] | None = None) -> Any:
        """A read-only QMP query: on our monitor, or (without one) on a borrowed slot."""
        if dom.monitor is not None:
            return dom.monitor.cmd(name, args)
        if self.monitored:
            raise OperationFailedError(f"no monitor connection to domain '{dom.name}'")
        return self._borrowed_query(dom, name, args)

    def _borrowed_query(self, dom: Dom, name: str, args: dict[str, Any] | None) -> Any:
        """Run one query on a free monitor slot, given back at once (processes with only
        read-only connections hold none, so they never keep a slot from a read-write client).

        :raises OperationFailedError: every slot is held (by read-write clients).
        """
        from virt_qemu.monitor import Monitor

        rd = self.run_dir(dom.uuid)
        for i in range(MONITOR_SLOTS):
            lk = FileLock(rd / f"mon{i}.lock")
            borrow = FileLock(rd / f"mon{i}.borrow")  # tells a waiting read-write client it comes back
            try:
                if not lk.try_acquire():
                    continue
                borrow.try_acquire()
            except OSError:  # the runtime dir is gone
                lk.release()
                raise OperationInvalidError(f"domain '{dom.name}' is not running") from None
            try:
                try:
                    sock = connect_unix(rd / f"mon{i}.sock")
                except OSError:
                    continue
                mon = Monitor(self.loop, lambda _name, _data: None, f"qemu-ro-{dom.uuid[:8]}")
                try:
                    mon.connect(sock, timeout=10)
                    return mon.cmd(name, args, timeout=10)
                finally:
                    mon.close()
            finally:
                borrow.release()
                lk.release()
        raise OperationFailedError(
            f"no free monitor of domain '{dom.name}' for {name} "
            f"(all {MONITOR_SLOTS} are held by read-write clients)"
        )

    def detach_monitor(self, dom: Dom) -> None:
        link, dom.agent = dom.agent, None
        if link is not None:
            link.close()
        mon, dom.monitor = dom.monitor, None
        dom.token += 1
        if mon is not None:
            mon.close()
        if dom.slot is not None:
            dom.slot.release()
            dom.slot = None
        if dom.stat_fd is not None:
            with contextlib.suppress(OSError):
                os.close(dom.stat_fd)
            dom.stat_fd = None

    def on_event(self, dom: Dom, token: int, name: str, data: dict[str, Any]) -> None:
        """On the loop thread: never block; hand the work to the worker thread."""
        if name in guestevents.QMP_EVENTS:  # in QEMU's order, before the lifecycle they may cause
            self._work.put(lambda: self._guest_event(dom, token, name, data))
        if name == "DEVICE_DELETED":
            ev = dom.deleted.get(str(data.get("device", "")))
            if ev is not None:
                ev.set()
            return
        if name == "BALLOON_CHANGE":
            with contextlib.suppress(KeyError, ValueError, TypeError):
                dom.balloon_kib = int(data["actual"]) // 1024
            return
        if name == "VSERPORT_CHANGE":
            port, opened = str(data.get("id", "")), bool(data.get("open"))
            self._work.put(lambda: self._port_changed(dom, token, port, opened))
            return
        if name in ("STOP", "RESUME"):
            if not dom.reconcile_queued:  # a burst of them needs one look at QEMU's status
                dom.reconcile_queued = True
                self._work.put(lambda: self._reconcile(dom, token))
        elif name in ("SHUTDOWN", EOF, "GUEST_PANICKED"):
            self._work.put(lambda: self._handle(dom, token, name, data))

    def _guest_event(self, dom: Dom, token: int, name: str, data: dict[str, Any]) -> None:
        """On the worker, after a QMP event of :data:`guestevents.QMP_EVENTS`: emit its records."""
        if token != dom.token or not dom.active:
            return
        starting = dom.state == DomainState.PAUSED and dom.reason == PausedReason.STARTING_UP
        recs = guestevents.records(
            dom.ref,
            dom.live,
            name,
            data,
            starting_up=starting,
            disk=lambda dev, node: self._disk_of(dom, dev, node),
        )
        for rec in recs:
            self.emit(rec)

    def _disk_of(self, dom: Dom, device: str, node: str) -> tuple[str, str]:
        """The ``(source, alias)`` of the disk QEMU calls ``device`` (its qdev id) or ``node``
        (the node name at its top); ``("", "")`` when none is known, as libvirt reports it."""
        alias = device
        if not alias and node.startswith("hp-") and node.endswith("-format"):
            alias = node[3 : -len("-format")]  # a hot-plugged disk's node (virt_qemu.devices)
        elif not alias and node and dom.monitor is not None:
            try:
                for b in dom.monitor.cmd("query-block", timeout=5):
                    qdev = str(b.get("qdev", ""))
                    if (b.get("inserted") or {}).get("node-name") == node and qdev.startswith(
                        "/machine/peripheral/"
                    ):
                        alias = qdev.split("/")[3]
                        break
            except VirtError as exc:
                log.debug("cannot tell which disk node %s is: %s", node, exc)
        d = dom.live
        if alias and d is not None:
            for i, disk in enumerate(d.disks):
                if argvmod.disk_alias(disk, i) == alias:
                    return disk.source or "", alias
        return "", ""

    def agent_event(self, dom: Dom, reason: int) -> None:
        """Emit AGENT_LIFECYCLE for the guest agent's channel as the live XML has it (none: no event)."""
        chan = agent_channel(dom.live) if dom.live is not None else None
        state = {"connected": AgentLifecycleState.CONNECTED, "disconnected": AgentLifecycleState.DISCONNECTED}
        if chan is not None and chan.target_state in state:
            self.emit(AgentLifecycleEvent(dom.ref, state[chan.target_state], reason))

    def _port_changed(self, dom: Dom, token: int, port: str, opened: bool) -> None:
        """On the worker, after ``VSERPORT_CHANGE``: the guest opened or closed a channel
        (``channelN``); the live XML's ``<target state=...>`` says so."""
        if not dom.job.acquire(timeout=SAVE_TIMEOUT):
            return
        try:
            d = dom.live
            if token != dom.token or not dom.active or d is None or not port.startswith("channel"):
                return
            state = "connected" if opened else "disconnected"
            devices, n = [], 0
            agent_changed = False
            for dev in d.devices:
                if isinstance(dev, Channel):
                    if f"channel{n}" == port and dev.target_state != state:
                        dev = attrs.evolve(dev, target_state=state)
                        agent_changed = dev.target_type == "virtio" and dev.target_name == AGENT_PORT
                    n += 1
                devices.append(dev)
            dom.live = attrs.evolve(d, devices=tuple(devices), raw=d.raw)
            self.write_status(dom)
            self.bump()
        finally:
            dom.job.release()
        if agent_changed:
            self.agent_event(dom, AgentLifecycleReason.CHANNEL)

    def _reconcile(self, dom: Dom, token: int) -> None:
        """On the worker, after STOP/RESUME events: take QEMU's real run state.

        Whoever caused them (this process, another one, the guest), the state
        afterwards is what ``query-status`` says once the job in progress is
        done; an event is emitted only when that differs from what this
        process last knew. So a burst of transitions made elsewhere may be
        coalesced, but no transition is ever invented and the final state is
        always QEMU's.
        """
        dom.reconcile_queued = False  # events from now on queue another look
        if not dom.job.acquire(timeout=SAVE_TIMEOUT):
            return
        try:
            if token != dom.token or not dom.active:
                return
            self.refresh_run_state(dom)
        finally:
            dom.job.release()

    def run_state_held(self, dom: Dom) -> contextlib.AbstractContextManager[None]:
        """Hold the domain's lock from learning or changing QEMU's run state until it is published.

        The caller holds ``dom.job``. Every process that writes a run state into
        ``status.xml`` asks QEMU (or changes its state) and writes under this one
        lock, so the file always ends with the latest state: a process that asked
        QEMU just before another one resumed the guest cannot write its older
        answer over the newer one. Re-entrant for the holder of ``dom.job``.
        """
        if dom.state_lock is None:
            dom.state_lock = self.dom_lock(dom.uuid)
        return dom.state_lock.held(STOP_TIMEOUT)

    def refresh_run_state(self, dom: Dom) -> None:
        """Align a running or paused domain with QEMU's ``query-status``; the caller holds ``dom.job``."""
        mon = dom.monitor
        if mon is None or dom.state not in (DomainState.RUNNING, DomainState.PAUSED):
            return
        with self.run_state_held(dom):
            status = mon.cmd("query-status", timeout=10)
            target = _RUN_STATES.get(str(status.get("status", "")))
            if target is not None and target[0] != dom.state:
                self.transition(dom, target[0], target[1])

    def own(self, dom: Dom, mon: Monitor, cmd: str, event: str, timeout: float = 30.0) -> None:
        """Run this process's ``cmd`` (``stop``/``cont``) that makes QEMU send ``event``.

        Nothing needs counting: the echo ``event`` reaches :meth:`_reconcile`,
        which finds QEMU's status equal to the state this process already set.
        """
        mon.cmd(cmd, timeout=timeout)

    def _handle(self, dom: Dom, token: int, name: str, data: dict[str, Any]) -> None:
        if not dom.job.acquire(timeout=SAVE_TIMEOUT):
            return
        try:
            if token != dom.token or not dom.active:
                return
            if name == EOF:
                self._handle_eof(dom)
            elif name == "SHUTDOWN":
                self._handle_shutdown(dom, data)
            elif name == "GUEST_PANICKED":
                self._handle_panic(dom)
        finally:
            dom.job.release()

    def transition(self, dom: Dom, state: DomainState, reason: int) -> None:
        """Set a live state, publish it, and emit SUSPENDED/RESUMED when it really changes.

        The caller holds ``dom.job``, and :meth:`run_state_held` since it asked
        QEMU or changed QEMU's state. The state is in ``status.xml`` and the
        generation advanced before this returns, so every other process sees
        it at its next call.
        """
        old = dom.state
        dom.state, dom.reason = state, int(reason)
        if old == state:
            return
        self._publish(dom)
        ev = _run_state_event(dom.ref, old, state, reason)
        if ev is not None:
            self.emit(ev)

    def _publish(self, dom: Dom) -> None:
        """Rewrite ``status.xml`` with the live state and advance the generation."""
        rd = self.run_dir(dom.uuid)
        try:
            with self.run_state_held(dom):
                if (rd / "status.xml").exists():  # not while a stop elsewhere removes the dir
                    self.write_status(dom)
        except VirtError as exc:
            log.debug("cannot record the state of %s: %s", dom.name, exc)
        self.bump()

    def _handle_eof(self, dom: Dom) -> None:
        pid = dom.pid
        # QEMU closes its monitors while exiting, a moment before it dies: give it that moment.
        if pid is not None and not wait_dead(pid, 3.0):
            # Only the monitor connection broke; QEMU lives. Reconnect, or watch the process.
            self.detach_monitor(dom)
            try:
                self._attach_monitor(dom)
                return
            except (VirtError, OSError):
                token = dom.token

                def watch() -> None:
                    while not wait_dead(pid, 60.0):
                        if dom.token != token:
                            return
                    self._work.put(lambda: self._handle(dom, token, EOF, {}))

                threading.Thread(target=watch, name="virt-qemu-watch", daemon=True).start()
                return
        why = self._collect_stop_reason(dom, default="crashed")
        self._finish_stop(dom, why)

    def _handle_panic(self, dom: Dom) -> None:
        """The guest kernel panicked (pvpanic): CRASHED event, then ``on_crash``."""
        self.emit(domain_event(dom.ref, DomainEventType.CRASHED, CrashedDetail.PANICKED))
        action = dom.definition.on_crash
        if action in ("preserve", "coredump-preserve"):
            dom.state, dom.reason = DomainState.CRASHED, CrashedReason.PANICKED
            return
        self.stop_process(dom, "crashed")
        if action in ("restart", "coredump-restart", "rename-restart"):
            self._restart(dom)

    def _handle_shutdown(self, dom: Dom, data: dict[str, Any]) -> None:
        dom.powerdown_seen.set()
        rd = self.run_dir(dom.uuid)
        try:
            os.unlink(rd / "fake-reboot")
            fake = True
        except OSError:
            fake = False
        if fake and dom.monitor is not None:
            dom.monitor.cmd("system_reset", timeout=5)
            self.own(dom, dom.monitor, "cont", "RESUME", timeout=5)
            dom.state, dom.reason = DomainState.RUNNING, RunningReason.BOOTED
            dom.started_at = time.monotonic()  # booting again: a power button press may be lost again
            return
        guest = bool(data.get("guest", False))
        if not guest:
            return  # QEMU was told to quit or signalled: whoever did it set the reason; EOF follows
        self.emit(
            domain_event(
                dom.ref, DomainEventType.SHUTDOWN, ShutdownDetail.GUEST if guest else ShutdownDetail.HOST
            )
        )
        d = dom.definition
        restart = guest and d.on_poweroff in ("restart",)
        self.stop_process(dom, "shutdown")
        if restart:
            self._restart(dom)

    def _restart(self, dom: Dom) -> None:
        """Start a persistent domain again after it stopped (its restart policy)."""
        if dom.config is not None and self.starter is not None:
            with contextlib.suppress(VirtError):
                self.starter.start(dom.uuid)

    # -- stopping ----------------------------------------------------------------

    def _write_last(self, uuid: str, why: str) -> None:
        with contextlib.suppress(OSError):
            (self.layout.run / f"{uuid}.last").write_text(why)

    def _last_reason(self, uuid: str) -> int:
        """The shutoff reason recorded when ``uuid`` last stopped (UNKNOWN when none is)."""
        try:
            why = (self.layout.run / f"{uuid}.last").read_text().strip()
        except OSError:
            return ShutoffReason.UNKNOWN
        return _STOP_DETAIL.get(why, (ShutoffReason.UNKNOWN, 0))[0]

    def _collect_stop_reason(self, dom: Dom, default: str) -> str:
        rd = self.run_dir(dom.uuid)
        try:
            return (rd / "stop-reason").read_text().strip() or default
        except OSError:
            pass
        if not rd.exists():
            try:
                return (self.layout.run / f"{dom.uuid}.last").read_text().strip() or default
            except OSError:
                pass
        return default

    def stop_process(self, dom: Dom, why: str, meanwhile: Callable[[], None] | None = None) -> None:
        """Stop QEMU (SIGTERM, then SIGKILL) and clean up; the caller holds ``dom.job``.
        ``meanwhile`` is called while QEMU exits (if there is one to stop)."""
        rd = self.run_dir(dom.uuid)
        lock = self.dom_lock(dom.uuid)
        with lock.held():
            with contextlib.suppress(OSError):  # a stop already under way keeps its reason
                fd = os.open(rd / "stop-reason", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.write(fd, why.encode())
                os.close(fd)
            why = self._collect_stop_reason(dom, default=why)
            pid = dom.pid
            if pid is not None and not kill_painfully(pid, meanwhile=meanwhile):
                raise OperationFailedError(f"failed to terminate QEMU process {pid} of domain '{dom.name}'")
        self._finish_stop(dom, why)

    def _finish_stop(self, dom: Dom, why: str) -> None:
        """Forget the QEMU process; clean its runtime dir; SHUTOFF; emit STOPPED."""
        reason, detail = _STOP_DETAIL.get(why, (ShutoffReason.UNKNOWN, StoppedDetail.FAILED))
        self.detach_monitor(dom)
        with self.dom_lock(dom.uuid).held():
            rd = self.run_dir(dom.uuid)
            if rd.exists():
                self._drop_unfinished_save(dom.uuid)
                self._write_last(dom.uuid, why)
                shutil.rmtree(rd, ignore_errors=True)
        ref = dom.ref
        with self.lock:
            dom.state, dom.reason = DomainState.SHUTOFF, reason
            dom.id = -1
            dom.pid = None
            dom.live = None
            if dom.config is None:
                self.forget(dom)
            else:
                self.rename(dom, dom.config.name)
            dom.set_ref()
        self.bump()
        self.emit(domain_event(ref, DomainEventType.STOPPED, detail))

    # -- lookups -----------------------------------------------------------------

    def get(self, uuid: str) -> Dom:
        dom = self.doms.get(uuid)
        if dom is None:
            self.sync()
            dom = self.doms.get(uuid)
            if dom is None:
                raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        return dom

    def by_name_get(self, name: str) -> Dom:
        self.sync()
        dom = self.by_name.get(name)
        if dom is None:
            raise NoDomainError(f"no domain with matching name '{name}'")
        return dom

    def current(self, uuid: str) -> Dom:
        """The domain with its state brought up to date with other processes' changes.

        With monitors, QMP events keep running domains current; without them
        (only read-only connections here), the shared generation says when
        ``status.xml`` must be read again.
        """
        dom = self.doms.get(uuid)
        if dom is None or dom.state == DomainState.SHUTOFF or not self.monitored:
            self.sync()
            dom = self.get(uuid)
        return dom

    def still_known(self, dom: Dom) -> None:
        """Check, after other processes' changes, that ``dom`` still exists.

        :raises NoDomainError: another process undefined (and stopped) it since it was looked up.
        """
        self.sync()
        if self.doms.get(dom.uuid) is not dom:
            raise NoDomainError(f"domain '{dom.name}' is no longer defined")

    def config_of(self, dom: Dom) -> DomainDef:
        """The persistent definition of ``dom``, checked against other processes' changes.

        :raises NoDomainError: another process undefined it since it was looked up.
        """
        self.still_known(dom)
        if dom.config is None:
            raise NoDomainError(f"domain '{dom.name}' is no longer defined")
        return dom.config

    def list_refs(self, active: bool | None) -> list[DomainRef]:
        self.sync()
        with self.lock:
            doms = list(self.doms.values())
        return [d.ref for d in doms if active is None or d.active == active]

    # -- definitions ---------------------------------------------------------------

    def validate(self, d: DomainDef) -> None:
        if d.type not in ("qemu", "kvm"):
            raise ConfigUnsupportedError(
                f"<domain type='{d.type}'>: the QEMU driver runs type 'qemu' and 'kvm'"
            )
        spec = argvmod.LaunchSpec(pidfile="/nonexistent", monitor_fds=(3,))
        argvmod.build_argv(d, emulator=d.emulator or "qemu", machine=d.os.machine or "pc", spec=spec)

    def check_conflicts(self, d: DomainDef) -> Dom | None:
        other = self.by_name.get(d.name)
        if other is not None and other.uuid != d.uuid:
            raise OperationFailedError(f"domain '{d.name}' already exists with uuid {other.uuid}")
        same = self.doms.get(d.uuid)
        if same is not None and same.name != d.name:
            if same.active:
                raise OperationFailedError(
                    f"domain '{same.name}' is already active with uuid {d.uuid} (cannot rename to '{d.name}')"
                )
            if same.config is not None:
                raise OperationFailedError(f"domain '{same.name}' already exists with uuid {d.uuid}")
        return same

    def claim(self, d: DomainDef) -> Dom:
        """The domain ``d`` will run as, registered under its name (create and restore).

        :raises OperationInvalidError: that domain is already active.
        :raises OperationFailedError: the name or UUID belongs to another domain.
        """
        with self.lock:
            same = self.check_conflicts(d)
            if same is not None and same.active:
                raise OperationInvalidError(f"domain '{d.name}' is already active")
            dom = same or Dom(d.uuid, d.name)
            self.doms[d.uuid] = dom
            self.rename(dom, d.name)
        return dom

    def unclaim(self, dom: Dom) -> None:
        """Forget a domain :meth:`claim` registered when it did not start (a transient one)."""
        with self.lock:
            if dom.config is None and not dom.active:
                self.forget(dom)

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

    # -- running domains -------------------------------------------------------------

    def require_active(self, uuid: str) -> Dom:
        dom = self.get(uuid)
        if not dom.active:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        if dom.monitor is None:
            self.sync(force=True)
            if dom.monitor is None:
                raise OperationFailedError(f"no monitor connection to domain '{dom.name}'")
        return dom

    @contextlib.contextmanager
    def active_job(self, uuid: str) -> Iterator[Dom]:
        """``uuid``'s running domain with its job held, still running once the job is ours."""
        dom = self.require_active(uuid)
        with dom.job:
            if not dom.active:
                raise OperationInvalidError(f"domain '{dom.name}' is not running")
            yield dom

    def monitor_of(self, dom: Dom) -> Monitor:
        mon = dom.monitor
        if mon is None:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        return mon

    # -- save / restore ----------------------------------------------------------------

    def _save_in_progress(self, uuid: str) -> tuple[dict[str, Any], FileLock] | None:
        """A save of ``uuid`` whose saver is gone: its record and the save lock, now held by us.

        ``None`` when there is no save record, or its saver still holds the lock.
        """
        rd = self.run_dir(uuid)
        try:
            record = json.loads((rd / "save").read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable save record of %s: %s", uuid, exc)
            return None
        job = FileLock(rd / "save.lock")
        try:
            if not job.try_acquire():
                return None
        except (OSError, VirtError):
            return None
        if not isinstance(record, dict) or not {"tmp", "target", "paused", "file"} <= record.keys():
            log.warning("ignoring malformed save record of %s", uuid)
            with contextlib.suppress(OSError):
                os.unlink(rd / "save")
            job.release()
            return None
        return record, job

    def _drop_unfinished_save(self, uuid: str) -> dict[str, Any] | None:
        """QEMU is gone: delete the temporary of a save whose saver died too; its record.

        ``None`` when no save was interrupted (or its saver lives and cleans up itself).
        """
        unfinished = self._save_in_progress(uuid)
        if unfinished is None:
            return None
        record, job = unfinished
        _remove_temporary(record)
        job.release()
        return record

    @staticmethod
    def _save_committed(record: dict[str, Any]) -> bool:
        """Whether the interrupted save's temporary was renamed over its target (same inode)."""
        try:
            st = os.stat(record["target"], follow_symlinks=False)
        except (OSError, TypeError, ValueError):
            return False
        return [st.st_dev, st.st_ino] == list(record["file"])

    def _recover_save(self, dom: Dom, record: dict[str, Any], job: FileLock) -> None:
        """Finish or roll back a save whose process died; QEMU runs and we hold its monitor.

        A migration QEMU completed is finished (the temporary renamed over the
        target if that had not happened yet, QEMU stopped: SHUTOFF/SAVED);
        anything less is rolled back (migration cancelled, temporary removed,
        the guest resumed if it was running before the save). A guest someone
        resumed since is left running, its stale image discarded.
        """
        rd = self.run_dir(dom.uuid)
        tmp = Path(record["tmp"])
        try:
            if not dom.job.acquire(timeout=DETACH_TIMEOUT):
                return
            try:
                mon = self.monitor_of(dom)
                status = mon.cmd("query-migrate", timeout=10).get("status", "none")
                if status in _MIGRATION_RUNNING:
                    with contextlib.suppress(VirtError):
                        mon.cmd("migrate_cancel", timeout=10)
                    status = wait_migration(mon)
                if mon.cmd("query-status", timeout=10).get("running"):
                    status = "resumed"  # someone resumed the guest since: the image is stale
                if status == "completed" and not self._save_committed(record):
                    with contextlib.suppress(OSError):
                        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                        try:
                            st = os.fstat(fd)
                            os.fsync(fd)
                        finally:
                            os.close(fd)
                        if [st.st_dev, st.st_ino] == list(record["file"]):
                            os.replace(tmp, record["target"])
                if status == "completed" and self._save_committed(record):
                    log.info("finishing the interrupted save of '%s' to %s", dom.name, record["target"])
                    self.stop_process(dom, "saved")
                    return
                log.info("rolling back the interrupted save of '%s' to %s", dom.name, record["target"])
                _remove_temporary(record)
                if status == "resumed":
                    dom.state, dom.reason = DomainState.RUNNING, RunningReason.UNPAUSED
                elif record["paused"]:
                    dom.state, dom.reason = DomainState.PAUSED, PausedReason.USER
                else:
                    self.own(dom, mon, "cont", "RESUME", timeout=10)
                    dom.state, dom.reason = DomainState.RUNNING, RunningReason.SAVE_CANCELED
                with contextlib.suppress(OSError):
                    os.unlink(rd / "save")
                self.write_status(dom)
                self.bump()
            finally:
                dom.job.release()
        except VirtError as exc:
            log.warning("cannot recover the interrupted save of '%s': %s", dom.name, exc)
        finally:
            job.release()

    # -- information -------------------------------------------------------------------

    def save_config(self, dom: Dom, d: DomainDef, prepared: str | None = None) -> None:
        """Make ``d`` the persistent definition of ``dom`` (written atomically and synced).

        ``prepared``: a synced temporary already holding ``d`` (on this filesystem, outside
        ``config/``), renamed into place; the caller then syncs ``layout.config``
        (:func:`virtcore.files.sync_directory`), so a write can be made ahead of the change it records.
        """
        path = self.layout.config / f"{dom.uuid}.xml"
        with FileLock(self.layout.config / ".lock").held():  # see _remove_leftovers
            if prepared is None:
                write_atomically(path, format_domain(d).encode())
            else:
                try:
                    os.replace(prepared, path)
                except OSError as exc:
                    raise SystemError_(f"cannot write '{path}': {exc.strerror}") from None
        dom.config = d
        with contextlib.suppress(OSError):
            dom.config_mtime = path.stat().st_mtime_ns
        self.bump()

    # -- devices --------------------------------------------------------------------------
