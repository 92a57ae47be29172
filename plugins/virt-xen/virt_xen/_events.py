"""Lifecycle events for changes nobody asked us for: a XenStore watch per connection.

xenstored fires ``@introduceDomain`` when the toolstack introduces a new domain and
``@releaseDomain`` when a domain shuts down or dies. :class:`DomainWatcher` watches both
from a background thread (its own pyxs connection) and, on every firing, compares the
running domains XenStore lists with the ones the connection knows about:

* a domain that appeared is STARTED (BOOTED);
* a domain that disappeared is STOPPED, with the detail taken from Xen's shutdown
  reason: ``xl create``'s monitoring process logs "Domain N has shut down, reason code R"
  in ``/var/log/xen/xl-NAME.log`` before it acts on the shutdown, so the reason is
  there even once the domain is gone (poweroff: SHUTDOWN, crash and watchdog: CRASHED,
  suspend: SAVED, "has been destroyed": DESTROYED; no trace: SHUTDOWN);
* a domain that went away for a reboot (reason code 1 or soft reset) is expected back
  under the same UUID: no event, unless it is still missing after
  :data:`REBOOT_GRACE` seconds (then STOPPED SHUTDOWN: ``on_reboot`` was not restart).

Changes made through this connection do not show up twice: every operation that starts
or stops a domain updates :attr:`XenContext.known` while it holds the connection's lock,
and the watcher compares under the same lock, so it sees nothing new.

A domain that crashes with ``on_crash='preserve'`` stays in the list (state CRASHED from
``xl list``) and produces no event here.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from virt_xen._xenstore import StoreDomain
from virt_xen._xl import REASON_CRASH, REASON_REBOOT, REASON_SOFT_RESET, REASON_SUSPEND, REASON_WATCHDOG
from virtcore.types import (
    DomainEvent,
    DomainEventType,
    DomainRef,
    RunningReason,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
)

if TYPE_CHECKING:
    from virt_xen._channels import XenContext

__all__ = ["DomainWatcher", "stop_detail_from_log", "XL_LOG_DIR", "REBOOT_GRACE"]

#: Where ``xl create``'s monitoring process writes its log (``xl-NAME.log``).
XL_LOG_DIR = Path("/var/log/xen")
#: Seconds a rebooting domain may be missing before it counts as stopped.
REBOOT_GRACE = 30.0
#: Seconds to wait for xl's log to say why a domain it monitored went away.
LOG_GRACE = 3.0
#: How often the watcher thread looks at its stop flag and pending reboots.
_TICK = 0.5

_RELEASE = b"@releaseDomain"
_INTRODUCE = b"@introduceDomain"

#: Stop detail -> the SHUTOFF reason a persistent domain keeps afterwards.
_SHUTOFF = {
    StoppedDetail.SHUTDOWN: ShutoffReason.SHUTDOWN,
    StoppedDetail.CRASHED: ShutoffReason.CRASHED,
    StoppedDetail.SAVED: ShutoffReason.SAVED,
    StoppedDetail.DESTROYED: ShutoffReason.DESTROYED,
}


def _pattern(domid: int) -> re.Pattern[str]:
    return re.compile(rf"Domain {domid} (?:has shut down, reason code (\d+)|has been destroyed)")


def _has_verdict(text: str, domid: int) -> bool:
    return _pattern(domid).search(text) is not None


def stop_detail_from_log(text: str, domid: int) -> StoppedDetail | None:
    """Why domain ``domid`` stopped, from an ``xl create`` log; ``None`` for a reboot.

    :returns: the STOPPED detail, or ``None`` when the last word about ``domid`` is a
        reboot (reason 1 or 5); SHUTDOWN when the log says nothing about it.
    """
    last: tuple[str, int] | None = None
    for m in _pattern(domid).finditer(text):
        last = ("shutdown", int(m.group(1))) if m.group(1) is not None else ("destroyed", -1)
    if last is None:
        return StoppedDetail.SHUTDOWN
    kind, code = last
    if kind == "destroyed":
        return StoppedDetail.DESTROYED
    if code in (REASON_REBOOT, REASON_SOFT_RESET):
        return None
    if code in (REASON_CRASH, REASON_WATCHDOG):
        return StoppedDetail.CRASHED
    if code == REASON_SUSPEND:
        return StoppedDetail.SAVED
    return StoppedDetail.SHUTDOWN


class DomainWatcher:
    """Turns XenStore's domain watches into lifecycle events for one connection.

    :param ctx: the connection's shared context (running domains, lock, ``emit``).
    :param log_dir: where ``xl create`` logs (tests point it elsewhere).
    """

    def __init__(self, ctx: XenContext, log_dir: Path = XL_LOG_DIR) -> None:
        self.ctx = ctx
        self.log_dir = log_dir
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._events: queue.Queue[Any] | None = None
        #: uuid -> (domain, deadline): gone for a reboot, expected back.
        self._rebooting: dict[str, tuple[StoreDomain, float]] = {}

    # -- thread ------------------------------------------------------------------

    def start(self, socket_path: str) -> bool:
        """Open a second XenStore connection, watch the domain paths, start the thread.

        :returns: whether watching works (``False``: no events for outside changes; the
            connection works without them).
        """
        try:
            from pyxs import Client  # saves ~10 ms of importing virt_xen: only a host with xenstored connects

            client = Client(unix_socket_path=socket_path)
            client.connect()
        except Exception:  # pyxs: ConnectionError / PyXSError / OSError
            return False
        try:
            monitor = client.monitor()
            monitor.watch(_RELEASE, b"virtcore-release")
            monitor.watch(_INTRODUCE, b"virtcore-introduce")
            events: queue.Queue[Any] = monitor.events
        except Exception:
            try:
                client.close()
            except Exception:
                pass
            return False
        self._client, self._events = client, events
        self._thread = threading.Thread(target=self._run, name="virt-xen-watch", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the watch connection (idempotent, never raises)."""
        self._stop.set()
        if self._events is not None:
            self._events.put(None)  # wake the thread now
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None

    def _run(self) -> None:
        assert self._events is not None
        while not self._stop.is_set():
            try:
                item = self._events.get(timeout=_TICK)
            except queue.Empty:
                item = None
                if not self._rebooting:
                    continue
            if self._stop.is_set():
                break
            # several firings in a row need one look
            while True:
                try:
                    self._events.get_nowait()
                except queue.Empty:
                    break
            del item
            try:
                self.reconcile()
            except Exception:  # never let the thread die on a transient XenStore/xl failure
                pass

    # -- the comparison --------------------------------------------------------------

    def reconcile(self, now: Callable[[], float] = time.monotonic) -> list[DomainEvent]:
        """Compare XenStore's running domains with the known ones; emit and return the events."""
        out: list[DomainEvent] = []
        gone: list[StoreDomain] = []
        with self.ctx.lock:
            current = {d.uuid: d for d in self.ctx.running() if d.domid != 0}
            known = self.ctx.known
            for uuid, d in list(known.items()):
                if uuid not in current:
                    del known[uuid]
                    gone.append(d)
            for uuid, d in current.items():
                if uuid in known:
                    known[uuid] = d  # a reboot through us changes the id
                    continue
                known[uuid] = d
                self._note_started(d, RunningReason.BOOTED)
                if self._rebooting.pop(uuid, None) is not None:
                    continue  # back from a reboot: not a new start
                out.append(DomainEvent(self.ctx.ref(d), DomainEventType.STARTED, int(StartedDetail.BOOTED)))
        # why they stopped: read outside the lock (it may wait a moment for xl's log)
        for d in gone:
            detail = self._why_stopped(d)
            if detail is None:
                self._rebooting[d.uuid] = (d, now() + REBOOT_GRACE)
            else:
                out.append(self._stopped(d, detail))
        for uuid, (d, deadline) in list(self._rebooting.items()):
            if now() >= deadline and uuid not in self.ctx.known:
                del self._rebooting[uuid]
                out.append(self._stopped(d, StoppedDetail.SHUTDOWN))
        for ev in out:
            self.ctx.event(ev.domain, ev.event, ev.detail)
        return out

    def _why_stopped(self, d: StoreDomain) -> StoppedDetail | None:
        log = self.log_dir / f"xl-{d.name}.log"
        deadline = time.monotonic() + LOG_GRACE
        while True:
            try:
                text = log.read_text(errors="replace")
            except OSError:
                text = None
            if text is None or _has_verdict(text, d.domid) or time.monotonic() >= deadline:
                break
            # xl's monitor writes "has been destroyed" when it hears of the death, as we do
            time.sleep(0.1)
        if text:
            return stop_detail_from_log(text, d.domid)
        # no xl log (not started by ``xl create``'s monitor): trust a reason recorded
        # by whoever stopped it through virtcore (another connection), if any
        st = self.ctx.store.status(d.uuid)
        recorded = st.get("shutoff_reason")
        if st.get("domid") is None and isinstance(recorded, int):
            for sd, sr in _SHUTOFF.items():
                if sr == recorded:
                    return sd
        return StoppedDetail.SHUTDOWN

    def _stopped(self, d: StoreDomain, detail: StoppedDetail) -> DomainEvent:
        with self.ctx.lock:
            if d.uuid not in self.ctx.known:  # not started again meanwhile
                self.ctx.mark_stopped(d.uuid, _SHUTOFF.get(detail, ShutoffReason.UNKNOWN), domid=d.domid)
        return DomainEvent(DomainRef(d.name, d.uuid, -1), DomainEventType.STOPPED, int(detail))

    def _note_started(self, d: StoreDomain, reason: RunningReason) -> None:
        if self.ctx.store.get(d.uuid) is None:
            return  # transient and not ours: nothing to remember
        st = self.ctx.store.status(d.uuid)
        if st.get("domid") == d.domid:
            return
        self.ctx.store.set_status(
            d.uuid, name=d.name, domid=d.domid, running_reason=int(reason), shutoff_reason=None,
            paused_reason=None, shutdown_requested=None,
        )  # fmt: skip
