"""A QEMU host's QMP monitors: this process's slot on each running domain, and borrowed ones.

Each running domain has :data:`~virt_qemu.hoststate.MONITOR_SLOTS` QMP sockets, one per
managing process (``run/UUID/monN.sock`` under ``monN.lock``); a process with only
read-only connections borrows a free one for a single query (``monN.borrow``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from virt_qemu.hoststate import MONITOR_SLOTS, START_TIMEOUT, Dom, HostState
from virt_qemu.paths import FileLock
from virt_qemu.process import connect_unix
from virtcore.errors import OperationFailedError, OperationInvalidError


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


class Monitors:
    """Attaching and detaching this process's monitors; read-only queries on borrowed slots."""

    def __init__(self, host: HostState, on_event: Callable[[Dom, int, str, dict[str, Any]], None]) -> None:
        self.host = host
        #: Where a monitor's QMP events go (on the loop thread): :meth:`virt_qemu.qmpevents.Events.on_event`.
        self._on_event = on_event

    def attach_monitor(self, dom: Dom, sock: socket.socket | None = None, slot: int | None = None) -> None:
        rd = self.host.run_dir(dom.uuid)
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
            self.host.loop, lambda name, data: self._on_event(dom, token, name, data), f"qemu-{dom.uuid[:8]}"
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
        if self.host.monitored:
            raise OperationFailedError(f"no monitor connection to domain '{dom.name}'")
        return self._borrowed_query(dom, name, args)

    def _borrowed_query(self, dom: Dom, name: str, args: dict[str, Any] | None) -> Any:
        """Run one query on a free monitor slot, given back at once (processes with only
        read-only connections hold none, so they never keep a slot from a read-write client).

        :raises OperationFailedError: every slot is held (by read-write clients).
        """
        from virt_qemu.monitor import Monitor

        rd = self.host.run_dir(dom.uuid)
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
                mon = Monitor(self.host.loop, lambda _name, _data: None, f"qemu-ro-{dom.uuid[:8]}")
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
