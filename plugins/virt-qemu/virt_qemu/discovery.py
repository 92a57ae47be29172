"""A QEMU host's discovery: what other processes defined, started, stopped or left behind.

Processes share the state directory; the shared generation says when another one
changed something, and a look (:meth:`Discovery.sync`) reads the definitions and the
running domains' ``status.xml`` again, reattaching to QEMU processes this one does not
manage yet and delivering the events of what changed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from virt_qemu.hoststate import (
    QEMU_STATUS,
    STOP_DETAIL,
    Dom,
    HostState,
    channel_states,
    domain_event,
    run_state_event,
)
from virt_qemu.monitors import Monitors
from virt_qemu.paths import FileLock
from virt_qemu.process import alive, cmdline_has
from virt_qemu.saverecovery import SaveRecovery
from virt_qemu.stopping import Stopping
from virtcore.errors import OperationTimeoutError, VirtError, XMLError
from virtcore.types import (
    DomainEvent,
    DomainEventType,
    DomainState,
    PausedReason,
    RunningReason,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
)
from virtcore.xml import parse_domain, secure_parse

log = logging.getLogger("virt_qemu")

_UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: A temporary of an atomic write of config/UUID.xml (virtcore.files names them ``.NAME.RANDOM``).
_CONFIG_TEMPORARY = re.compile(rf"\.{_UUID_RE}\.xml\.[A-Za-z0-9_]+")
#: A per-domain record in the run directory: its stop reason or its lock file.
_RUN_RECORD = re.compile(rf"{_UUID_RE}\.(last|lock)")


class Discovery:
    """Synchronizing this process's domains with the state directory."""

    def __init__(self, host: HostState, monitors: Monitors, stopping: Stopping, saves: SaveRecovery) -> None:
        self.host = host
        self.monitors = monitors
        self.stopping = stopping
        self.saves = saves
        #: Set by a rescan that could not read everything (a domain's lock was held too long).
        self._look_incomplete = False
        self._sync_events: list[DomainEvent] = []

    def sync(self, force: bool = False) -> None:
        """Reload what other processes changed (cheap when nothing did)."""
        g = self.host.gen.value()
        if not force and g == self.host.seen_gen:
            return
        with self.host.lock:
            g = self.host.gen.value()
            if not force and g == self.host.seen_gen:
                return
            # ``seen_gen`` means "this process is up to date": it moves only once the look is
            # complete, so a thread that finds it current (the fast path above) never reads
            # a state another thread's rescan (the follower's) is still bringing in.
            self._look_incomplete = False
            self._rescan()
            self.host.seen_gen = -1 if self._look_incomplete else g
            events, self._sync_events = self._sync_events, []
        for ev in events:
            self.host.emit(ev)

    def _rescan(self) -> None:
        lay = self.host.layout
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
            dom = self.host.doms.get(uuid)
            if dom is not None and dom.config is not None and dom.config_mtime == mtime:
                continue
            try:
                d = parse_domain(path.read_bytes())
            except (OSError, VirtError) as exc:
                log.warning("ignoring unreadable definition %s: %s", path, exc)
                continue
            if dom is None:
                dom = Dom(d.uuid, d.name)
                dom.reason = self.stopping.last_reason(uuid)
                self.host.doms[uuid] = dom
            dom.config = d
            dom.config_mtime = mtime
            if not dom.active:
                self.host.rename(dom, d.name)
        # domains gone from disk
        for uuid, dom in list(self.host.doms.items()):
            if uuid not in on_disk and dom.config is not None:
                dom.config = None
            if dom.config is None and not dom.active and uuid not in running:
                self.host.forget(dom)
        # running domains we do not manage yet (without monitors: all of them, from status.xml)
        for uuid in running:
            dom = self.host.doms.get(uuid)
            if dom is None or not dom.active or dom.monitor is None:
                self._reattach(uuid)
        # without monitors, no EOF tells us of a stop elsewhere: the runtime dir is gone
        if not self.host.monitored:
            for uuid, dom in list(self.host.doms.items()):
                if dom.active and uuid not in running and dom.monitor is None:
                    self._stopped_elsewhere(dom)

    def _stopped_elsewhere(self, dom: Dom) -> None:
        """A domain another process stopped (seen by a process without monitors): SHUTOFF, STOPPED."""
        why = self.stopping.collect_stop_reason(dom, default="crashed")
        reason, detail = STOP_DETAIL.get(why, (ShutoffReason.UNKNOWN, StoppedDetail.FAILED))
        ref = dom.ref
        self.monitors.detach_monitor(dom)
        dom.state, dom.reason, dom.id, dom.pid, dom.live = DomainState.SHUTOFF, reason, -1, None, None
        if dom.config is None:
            self.host.forget(dom)
        else:
            self.host.rename(dom, dom.config.name)
        self._sync_events.append(domain_event(ref, DomainEventType.STOPPED, detail))

    def remove_leftovers(self) -> None:
        """Delete what crashed processes left: config temporaries, records of vanished domains.

        ``config/.UUID.xml.*`` are temporaries of definition writes (those
        happen under ``config/.lock``, taken here too). ``run/UUID.last`` and
        ``run/UUID.lock`` of a UUID with neither a definition nor a runtime
        directory belong to no domain any more.
        """
        lay = self.host.layout
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
            if uuid in self.host.doms or (lay.config / f"{uuid}.xml").exists() or (lay.run / uuid).exists():
                continue
            self.remove_records(uuid)

    def remove_records(self, uuid: str) -> None:
        """Delete ``run/UUID.last`` and ``run/UUID.lock`` of a domain that no longer exists."""
        lock = self.host.dom_lock(uuid)
        try:
            if not lock.try_acquire():
                return  # someone is starting a domain with that UUID right now
        except (OSError, VirtError):
            return
        try:
            if (self.host.layout.config / f"{uuid}.xml").exists() or self.host.run_dir(uuid).exists():
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.host.layout.run / f"{uuid}.last")
            lock.remove()
        except OSError as exc:
            log.warning("cannot remove the records of %s: %s", uuid, exc)
        finally:
            lock.release()

    def _reattach(self, uuid: str) -> None:
        rd = self.host.run_dir(uuid)
        lock = self.host.dom_lock(uuid)
        interrupted: tuple[dict[str, Any], FileLock] | None = None
        locked = True
        try:
            lock.acquire(2.0)
        except OperationTimeoutError:
            # Another process holds it (starting, stopping, publishing, or reading it): this
            # look is incomplete, so the next sync must look again even if nothing else changes.
            self._look_incomplete = True
            if self.host.monitored:
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
            dom = self.host.doms.get(uuid)
            if dom is None:
                dom = Dom(uuid, live.name)
                self.host.doms[uuid] = dom
            was = dom.state
            if not alive(pid) or not cmdline_has(pid, uuid):
                if not locked:
                    return
                # QEMU died while nobody watched: crashed, unless it was being stopped (a save).
                stop_why = self.stopping.collect_stop_reason(dom, default="crashed")
                record = self.saves.drop_unfinished_save(uuid)
                if stop_why == "crashed" and record is not None and self.saves.save_committed(record):
                    stop_why = "saved"
                self.stopping.write_last(uuid, stop_why)
                shutil.rmtree(rd, ignore_errors=True)
                dom.live = None
                dom.state, dom.id = DomainState.SHUTOFF, -1
                dom.reason = STOP_DETAIL.get(stop_why, (ShutoffReason.UNKNOWN, 0))[0]
                if dom.config is None:
                    self.host.forget(dom)
                else:
                    self.host.rename(dom, dom.config.name)
                self.host.bump()
                if was != DomainState.SHUTOFF:
                    self._sync_events.append(
                        domain_event(dom.ref, DomainEventType.STOPPED, StoppedDetail.CRASHED)
                    )
                return
            dom.live = live
            dom.pid = pid
            dom.id = dom_id
            self.host.rename(dom, live.name)
            dom.balloon_kib = live.current_memory or live.memory
            if not self.host.monitored:
                # Read-only clients hold no monitor; the managing processes keep status.xml current.
                dom.state, dom.reason = recorded
                if dom.stat_fd is None:
                    with contextlib.suppress(OSError):
                        dom.stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
                self._note_reattached(dom, was)
                return
            try:
                self.monitors.attach_monitor(dom)
                status = dom.monitor.cmd("query-status", timeout=5) if dom.monitor else {}
                st, why = QEMU_STATUS.get(status.get("status", "running"), (DomainState.RUNNING, 0))
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
                interrupted = self.saves.save_in_progress(uuid)
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
            self.saves.recover_save(dom, *interrupted)

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
        ev = run_state_event(dom.ref, was, dom.state, dom.reason)
        if ev is not None:
            self._sync_events.append(ev)
