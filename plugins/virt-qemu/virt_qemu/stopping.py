"""A QEMU host's stopping: ending a QEMU process, and the reason it stopped.

``run/UUID/stop-reason`` holds why a stop under way happens (the first one wins);
``run/UUID.last`` keeps why the domain last stopped, for other processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable

from virt_qemu.hoststate import STOP_DETAIL, Dom, HostState, domain_event
from virt_qemu.monitors import Monitors
from virt_qemu.process import kill_painfully
from virtcore.errors import OperationFailedError
from virtcore.types import DomainEventType, DomainState, ShutoffReason, StoppedDetail


class Stopping:
    """Stopping QEMU processes and recording why they stopped."""

    def __init__(
        self, host: HostState, monitors: Monitors, drop_unfinished_save: Callable[[str], object]
    ) -> None:
        self.host = host
        self.monitors = monitors
        #: :meth:`virt_qemu.saverecovery.SaveRecovery.drop_unfinished_save` (a stop ends a save).
        self._drop_unfinished_save = drop_unfinished_save

    # -- stopping ----------------------------------------------------------------

    def write_last(self, uuid: str, why: str) -> None:
        with contextlib.suppress(OSError):
            (self.host.layout.run / f"{uuid}.last").write_text(why)

    def last_reason(self, uuid: str) -> int:
        """The shutoff reason recorded when ``uuid`` last stopped (UNKNOWN when none is)."""
        try:
            why = (self.host.layout.run / f"{uuid}.last").read_text().strip()
        except OSError:
            return ShutoffReason.UNKNOWN
        return STOP_DETAIL.get(why, (ShutoffReason.UNKNOWN, 0))[0]

    def collect_stop_reason(self, dom: Dom, default: str) -> str:
        rd = self.host.run_dir(dom.uuid)
        try:
            return (rd / "stop-reason").read_text().strip() or default
        except OSError:
            pass
        if not rd.exists():
            try:
                return (self.host.layout.run / f"{dom.uuid}.last").read_text().strip() or default
            except OSError:
                pass
        return default

    def stop_process(self, dom: Dom, why: str, meanwhile: Callable[[], None] | None = None) -> None:
        """Stop QEMU (SIGTERM, then SIGKILL) and clean up; the caller holds ``dom.job``.
        ``meanwhile`` is called while QEMU exits (if there is one to stop)."""
        rd = self.host.run_dir(dom.uuid)
        lock = self.host.dom_lock(dom.uuid)
        with lock.held():
            with contextlib.suppress(OSError):  # a stop already under way keeps its reason
                fd = os.open(rd / "stop-reason", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.write(fd, why.encode())
                os.close(fd)
            why = self.collect_stop_reason(dom, default=why)
            pid = dom.pid
            if pid is not None and not kill_painfully(pid, meanwhile=meanwhile):
                raise OperationFailedError(f"failed to terminate QEMU process {pid} of domain '{dom.name}'")
        self.finish_stop(dom, why)

    def finish_stop(self, dom: Dom, why: str) -> None:
        """Forget the QEMU process; clean its runtime dir; SHUTOFF; emit STOPPED."""
        reason, detail = STOP_DETAIL.get(why, (ShutoffReason.UNKNOWN, StoppedDetail.FAILED))
        self.monitors.detach_monitor(dom)
        with self.host.dom_lock(dom.uuid).held():
            rd = self.host.run_dir(dom.uuid)
            if rd.exists():
                self._drop_unfinished_save(dom.uuid)
                self.write_last(dom.uuid, why)
                shutil.rmtree(rd, ignore_errors=True)
        ref = dom.ref
        with self.host.lock:
            dom.state, dom.reason = DomainState.SHUTOFF, reason
            dom.id = -1
            dom.pid = None
            dom.live = None
            if dom.config is None:
                self.host.forget(dom)
            else:
                self.host.rename(dom, dom.config.name)
            dom.set_ref()
        self.host.bump()
        self.host.emit(domain_event(ref, DomainEventType.STOPPED, detail))
