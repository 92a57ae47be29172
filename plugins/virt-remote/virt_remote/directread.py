"""Reading a plain socket in the threads that wait on it: the sync API's replies without a thread hop.

A blocking call (:meth:`~virt_remote.client.RemoteClient.call_blocking`)
sends its message from the calling thread; with the event loop reading the
socket, its reply then travels loop thread -> caller thread. A
:class:`DirectReader` takes the socket's reading from the loop (the
transport is paused from the start) and gives it to the threads that wait
on it, as libvirt's own client does:

* a thread waiting for its reply polls the socket itself and reads what
  comes, until its reply is in, handing every other message on as it goes
  (others' replies complete their futures, events go to the connection's
  handler);
* a thread of the connection's own reads when no caller waits, so events
  and the replies of asynchronous calls keep coming. It leaves the socket
  alone while calls come: it polls it again only after a quiet
  :data:`_PARK` (0.3 ms) without a new call, so a run of calls wakes no
  thread but the callers' own (the per-call wake-up of a second Python
  thread was what the hop cost), and an event that comes between calls
  waits at most about that long.

Measured with ``python bench/bench_remote.py`` and a same-process
comparison (three clients of one libvirtd, interleaved rounds), a lookup's
reply read by the loop cost 234-240 µs, by the caller with this reader
149-185 µs (python3-libvirt 92-115 µs on the same daemon).

One lock makes each read and the hand-on of what it brought one step, so
messages are handed on whole and in the order they came. Whatever ends the
connection (the daemon's EOF, garbage, the client's close) stops every
reader; the socket's duplicate and the wake-up pipe are closed by the
connection's thread once no one reads.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import select
import threading
from collections.abc import Callable
from typing import Any

from virtcore.errors import RPCError
from virtcore.rpc.message import FrameReader, Header

__all__ = ["DirectReader"]

#: Bytes asked of the socket per read.
_READ = 1 << 18
_IN = select.POLLIN | select.POLLHUP | select.POLLERR
#: How long the connection's thread leaves the socket to callers after the last one came (s).
_PARK = 0.0003
_PARK_MAX = 0.002
#: How long a caller that shares the socket with other callers sleeps before it looks again (ms).
_SHARED_POLL_MS = 20


class DirectReader:
    """The reading side of one connection's socket, shared by the threads that wait on it."""

    def __init__(
        self,
        fd: int,
        what: str,
        dispatch: Callable[[Header, bytes], None],
        lost: Callable[[str], None],
    ) -> None:
        #: A duplicate of the socket's descriptor: ours to close, whenever the transport closes its own.
        self._fd = os.dup(fd)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._what = what
        self._dispatch = dispatch
        self._lost = lost
        self._frames = FrameReader()
        #: Held for one read and the hand-on of what it brought.
        self._read_lock = threading.Lock()
        self._cond = threading.Condition(threading.Lock())
        #: Callers waiting for a reply, and threads polling the socket.
        self._waiting = 0
        self._polling = 0
        #: Calls waited for so far (the connection's thread reads only after a quiet spell).
        self._calls = 0
        self._stopped = False
        #: The descriptors are closed (set under ``_cond``, before they are).
        self._closed = False
        self._thread = threading.Thread(target=self._idle, name=f"virt-remote reader {what}", daemon=True)
        self._thread.start()

    # -- callers ----------------------------------------------------------------

    def wait(self, future: concurrent.futures.Future[Any]) -> None:
        """Return once ``future`` is done or the connection ended, reading the socket meanwhile."""
        with self._cond:
            if self._stopped:
                return
            self._waiting += 1
            self._polling += 1
            self._calls += 1
        try:
            poller = self._poller()
            while not future.done() and not self._stopped:
                # the connection's thread leaves the reading to us: what we wait for comes to us
                # (or is read under the lock by a caller before us, which completed our future)
                if self._read_lock.acquire(blocking=False):
                    try:
                        if future.done():
                            break
                        self._read_some()
                    finally:
                        self._read_lock.release()
                    if future.done():
                        break
                    # alone, nothing reads our reply but us; with other callers, one of them may
                    # read it between our look and our sleep: then sleep briefly, and look again
                    poller.poll(None if self._waiting == 1 else _SHARED_POLL_MS)
                else:
                    # another caller reads now: it completes our future if our reply is in
                    with self._read_lock:
                        pass
        finally:
            with self._cond:
                self._waiting -= 1
                self._polling -= 1
                if self._stopped:
                    self._cond.notify_all()  # the connection's thread waits for us to close

    def stop(self) -> None:
        """The connection ended: no one reads any more (any thread, idempotent)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            if not self._closed:
                with contextlib.suppress(BlockingIOError):
                    os.write(self._wake_w, b"\0")

    # -- reading ----------------------------------------------------------------

    def _poller(self) -> select.poll:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        return poller

    def _read_some(self) -> None:
        """Read what the socket has (under the read lock) and hand it on."""
        try:
            data = os.read(self._fd, _READ)
        except BlockingIOError:
            return
        except OSError as exc:
            self._end(f"cannot read from {self._what}: {exc}")
            return
        if not data:
            self._end(f"the daemon at {self._what} closed the connection")
            return
        try:
            for header, payload in self._frames.feed(data):
                self._dispatch(header, payload)
        except RPCError as exc:
            self._end(f"{self._what}: {exc.message}")

    def _end(self, why: str) -> None:
        if self._stopped:
            return
        self.stop()
        self._lost(why)

    def _idle(self) -> None:
        """The connection's own reader: reads while no caller waits; closes the descriptors at the end."""
        poller = self._poller()
        try:
            while True:
                with self._cond:
                    # parked while callers come: it reads only after a quiet _PARK, so a run of
                    # calls wakes no thread but the callers' own
                    park = _PARK
                    while not self._stopped:
                        seen = self._calls
                        self._cond.wait(park)
                        if self._calls == seen and not self._waiting:
                            break
                        # a long call in flight: look less often (its end wakes no one)
                        park = min(park * 2, _PARK_MAX) if self._waiting else _PARK
                    if self._stopped:
                        return
                    self._polling += 1
                try:
                    events = poller.poll()
                finally:
                    with self._cond:
                        self._polling -= 1
                if self._stopped:
                    return
                if not any(fd == self._fd and ev & _IN for fd, ev in events):
                    continue
                if self._waiting:
                    continue  # a caller reads it
                with self._read_lock:
                    # looked at again under the lock: a caller that came since reads its own reply
                    # (it takes this lock before it polls, so it never sleeps on what we read)
                    if not self._stopped and not self._waiting:
                        self._read_some()
        finally:
            with self._cond:
                self._stopped = True
                self._cond.notify_all()
                while self._polling:
                    self._cond.wait(0.05)
                self._closed = True
            for fd in (self._fd, self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
