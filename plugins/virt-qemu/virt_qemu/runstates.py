"""A QEMU host's run-state machine: QEMU's run state as each process publishes it.

The live state of a running domain is QEMU's (``query-status``), published in
``status.xml`` under the domain's lock so the file always ends with the latest one;
shutdown, panic and end-of-monitor events end in :class:`~virt_qemu.stopping.Stopping`
and the domain's restart policy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from virt_qemu.hoststate import EOF, RUN_STATES, SAVE_TIMEOUT, Dom, HostState, domain_event, run_state_event
from virt_qemu.monitors import Monitors
from virt_qemu.process import STOP_TIMEOUT, wait_dead
from virt_qemu.stopping import Stopping
from virtcore.errors import VirtError
from virtcore.types import (
    CrashedDetail,
    CrashedReason,
    DomainEventType,
    DomainState,
    RunningReason,
    ShutdownDetail,
)

if TYPE_CHECKING:  # qemu.qmp (asyncio) is imported only once a monitor is needed
    from virt_qemu.monitor import Monitor

log = logging.getLogger("virt_qemu")


class RunStates:
    """Running, paused, crashed: learning, changing and publishing a domain's live state."""

    def __init__(self, host: HostState, monitors: Monitors, stopping: Stopping) -> None:
        self.host = host
        self.monitors = monitors
        self.stopping = stopping

    def reconcile(self, dom: Dom, token: int) -> None:
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
            dom.state_lock = self.host.dom_lock(dom.uuid)
        return dom.state_lock.held(STOP_TIMEOUT)

    def refresh_run_state(self, dom: Dom) -> None:
        """Align a running or paused domain with QEMU's ``query-status``; the caller holds ``dom.job``."""
        mon = dom.monitor
        if mon is None or dom.state not in (DomainState.RUNNING, DomainState.PAUSED):
            return
        with self.run_state_held(dom):
            status = mon.cmd("query-status", timeout=10)
            target = RUN_STATES.get(str(status.get("status", "")))
            if target is not None and target[0] != dom.state:
                self.transition(dom, target[0], target[1])

    def own(self, dom: Dom, mon: Monitor, cmd: str, event: str, timeout: float = 30.0) -> None:
        """Run this process's ``cmd`` (``stop``/``cont``) that makes QEMU send ``event``.

        Nothing needs counting: the echo ``event`` reaches :meth:`reconcile`,
        which finds QEMU's status equal to the state this process already set.
        """
        mon.cmd(cmd, timeout=timeout)

    def handle(self, dom: Dom, token: int, name: str, data: dict[str, Any]) -> None:
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
        ev = run_state_event(dom.ref, old, state, reason)
        if ev is not None:
            self.host.emit(ev)

    def _publish(self, dom: Dom) -> None:
        """Rewrite ``status.xml`` with the live state and advance the generation."""
        rd = self.host.run_dir(dom.uuid)
        try:
            with self.run_state_held(dom):
                if (rd / "status.xml").exists():  # not while a stop elsewhere removes the dir
                    self.host.write_status(dom)
        except VirtError as exc:
            log.debug("cannot record the state of %s: %s", dom.name, exc)
        self.host.bump()

    def _handle_eof(self, dom: Dom) -> None:
        pid = dom.pid
        # QEMU closes its monitors while exiting, a moment before it dies: give it that moment.
        if pid is not None and not wait_dead(pid, 3.0):
            # Only the monitor connection broke; QEMU lives. Reconnect, or watch the process.
            self.monitors.detach_monitor(dom)
            try:
                self.monitors.attach_monitor(dom)
                return
            except (VirtError, OSError):
                token = dom.token

                def watch() -> None:
                    while not wait_dead(pid, 60.0):
                        if dom.token != token:
                            return
                    self.host.work.put(lambda: self.handle(dom, token, EOF, {}))

                threading.Thread(target=watch, name="virt-qemu-watch", daemon=True).start()
                return
        why = self.stopping.collect_stop_reason(dom, default="crashed")
        self.stopping.finish_stop(dom, why)

    def _handle_panic(self, dom: Dom) -> None:
        """The guest kernel panicked (pvpanic): CRASHED event, then ``on_crash``."""
        self.host.emit(domain_event(dom.ref, DomainEventType.CRASHED, CrashedDetail.PANICKED))
        action = dom.definition.on_crash
        if action in ("preserve", "coredump-preserve"):
            dom.state, dom.reason = DomainState.CRASHED, CrashedReason.PANICKED
            return
        self.stopping.stop_process(dom, "crashed")
        if action in ("restart", "coredump-restart", "rename-restart"):
            self._restart(dom)

    def _handle_shutdown(self, dom: Dom, data: dict[str, Any]) -> None:
        dom.powerdown_seen.set()
        rd = self.host.run_dir(dom.uuid)
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
        self.host.emit(
            domain_event(
                dom.ref, DomainEventType.SHUTDOWN, ShutdownDetail.GUEST if guest else ShutdownDetail.HOST
            )
        )
        d = dom.definition
        restart = guest and d.on_poweroff in ("restart",)
        self.stopping.stop_process(dom, "shutdown")
        if restart:
            self._restart(dom)

    def _restart(self, dom: Dom) -> None:
        """Start a persistent domain again after it stopped (its restart policy)."""
        if dom.config is not None and self.host.starter is not None:
            with contextlib.suppress(VirtError):
                self.host.starter.start(dom.uuid)
