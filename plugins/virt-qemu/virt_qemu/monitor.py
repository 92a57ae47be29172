"""QMP monitors over :class:`qemu.qmp.QMPClient`, driven from synchronous code.

One asyncio event loop runs in a background thread (:class:`EventLoop`);
:class:`Monitor` bridges every synchronous call onto it with
``run_coroutine_threadsafe`` and a timeout, so no caller ever waits
unboundedly. Events and the end of the connection (QEMU exited or crashed)
are passed to a callback, which must not block (the driver queues them for
its own worker thread).

Every trip to the loop thread and back costs two thread wakeups, more than
QEMU takes to answer most commands: :meth:`Monitor.cmds` runs several commands
in one trip, :meth:`Monitor.submit` sends one while the caller goes on, and
:meth:`Monitor.run` runs a whole exchange written as a coroutine (with
:meth:`Monitor.execute` and :meth:`Monitor.listen`; :mod:`virt_qemu.qmpjob` waits
for a job by its events so).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from qemu.qmp import EventListener, ExecuteError, QMPClient
from qemu.qmp.events import EventFilter
from qemu.qmp.protocol import Runstate

from virtcore.errors import OperationFailedError, OperationTimeoutError

__all__ = ["EventLoop", "Monitor", "MonitorClosedError", "EOF"]

# qemu.qmp logs every disconnect at ERROR/WARNING level; a guest stopping is routine here.
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)

_T = TypeVar("_T")

#: The pseudo event name passed to the callback when the monitor connection ends.
EOF = "__EOF__"

DEFAULT_TIMEOUT = 30.0


class MonitorClosedError(OperationFailedError):
    """The monitor connection is gone (QEMU exited)."""


def _desc(exc: ExecuteError) -> str:
    """QEMU's error description of a refused command."""
    info = getattr(exc.error, "error", None)
    return str(getattr(info, "desc", None) or exc)


class EventLoop:
    """An asyncio loop in a daemon thread, shared by the monitors of one driver instance."""

    def __init__(self, name: str = "virt-qemu-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Start ``coro`` on the loop; its future (the caller waits for it when it needs it)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float, what: str) -> _T:
        """Run ``coro`` on the loop and wait at most ``timeout`` seconds for its result."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise OperationTimeoutError(f"{what} did not finish within {timeout:g} s") from None

    def in_loop(self) -> bool:
        """Whether the caller runs on the loop's thread."""
        return threading.current_thread() is self._thread

    def stop(self) -> None:
        """Stop the loop (monitors must be closed first)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(2.0)


class Monitor:
    """One QMP connection to one QEMU process.

    ``on_event(name, data)`` is called on the loop thread for every QMP event
    and once with :data:`EOF` when the connection ends; it must not block.
    """

    def __init__(self, loop: EventLoop, on_event: Callable[[str, dict[str, Any]], None], name: str) -> None:
        self._loop = loop
        self._on_event = on_event
        self._client = QMPClient(name)
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._eof_sent = False

    def connect(self, sock: socket.socket, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Take over the connected (or connecting) unix socket ``sock`` and negotiate QMP."""
        self._loop.run(self._connect(sock), timeout, "connecting to the QEMU monitor")

    async def _connect(self, sock: socket.socket) -> None:
        listener = EventListener()
        self._client.register_listener(listener)
        try:
            await self._client.connect(sock)
        except Exception as exc:
            raise OperationFailedError(f"cannot connect to the QEMU monitor: {exc}") from None
        self._tasks.append(asyncio.ensure_future(self._pump(listener)))
        self._tasks.append(asyncio.ensure_future(self._watch()))

    async def _pump(self, listener: EventListener) -> None:
        async for ev in listener:
            try:
                data = ev.get("data", {})
                self._on_event(str(ev["event"]), dict(data) if isinstance(data, dict) else {})
            except Exception:  # the callback's bugs must not kill the pump
                logging.getLogger("virt_qemu").exception("monitor event callback failed")

    async def _watch(self) -> None:
        while True:
            state = await self._client.runstate_changed()
            if state in (Runstate.DISCONNECTING, Runstate.IDLE):
                break
        self._signal_eof()

    def _signal_eof(self) -> None:
        if self._eof_sent:
            return
        self._eof_sent = True
        if not self._closed:
            with contextlib.suppress(Exception):
                self._on_event(EOF, {})

    @property
    def connected(self) -> bool:
        """Whether the QMP session is up."""
        return self._client.runstate == Runstate.RUNNING

    def cmd(self, name: str, args: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Execute a QMP command and return its result.

        :raises OperationFailedError: QEMU refused it (message included).
        :raises MonitorClosedError: the connection is gone.
        :raises OperationTimeoutError: no answer within ``timeout``.
        """
        return self._loop.run(self.execute(name, args), timeout, f"QMP command {name!r}")

    def cmds(
        self, calls: list[tuple[str, dict[str, Any] | None]], timeout: float = DEFAULT_TIMEOUT,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[Any]:  # fmt: skip
        """Execute QMP commands one after the other (each once the one before succeeded) in one
        trip to the loop; their results. Raises as :meth:`cmd` for the first that fails (the
        ones after it are not sent). ``meanwhile`` is called on this thread while QEMU answers
        (the commands are waited for even if it raises)."""

        async def run() -> list[Any]:
            return [await self.execute(name, args) for name, args in calls]

        fut = self._loop.submit(run())
        try:
            if meanwhile is not None:
                meanwhile()
        finally:
            try:
                out = fut.result(timeout)
            except concurrent.futures.TimeoutError:
                fut.cancel()
                names = ", ".join(repr(n) for n, _ in calls)
                raise OperationTimeoutError(f"QMP commands {names} did not finish in {timeout:g} s") from None
        return out

    def submit(self, name: str, args: dict[str, Any] | None = None) -> concurrent.futures.Future[Any]:
        """Send a QMP command and return at once: its future holds the result, or the error
        :meth:`cmd` would raise (``future.result(timeout)`` waits for it)."""
        return self._loop.submit(self.execute(name, args))

    @staticmethod
    def answer(fut: concurrent.futures.Future[_T], timeout: float = DEFAULT_TIMEOUT) -> _T:
        """The result of a command :meth:`submit` sent (raises as :meth:`cmd`)."""
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise OperationTimeoutError(f"a QMP command did not finish within {timeout:g} s") from None

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float, what: str) -> _T:
        """Run ``coro`` (an exchange written with :meth:`execute` and :meth:`listen`) on the
        loop, waiting at most ``timeout`` seconds; ``what`` names it in the timeout's error."""
        return self._loop.run(coro, timeout, what)

    def start(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        """Start ``coro`` (as :meth:`run`) without waiting for it; its future."""
        return self._loop.submit(coro)

    @contextlib.contextmanager
    def listen(
        self, names: str | list[str], event_filter: EventFilter | None = None
    ) -> Iterator[EventListener]:
        """On the loop (inside a coroutine :meth:`run` runs): a queue of the events named
        ``names`` (passing ``event_filter``) while the block runs; await its ``get()``."""
        listener = EventListener(names, event_filter)
        with self._client.listen(listener):
            yield listener

    async def execute(self, name: str, args: dict[str, Any] | None = None) -> Any:
        """On the loop: execute a QMP command; raises as :meth:`cmd`."""
        if self._client.runstate != Runstate.RUNNING:
            raise MonitorClosedError(f"QEMU monitor is closed (running {name!r})")
        try:
            return await self._client.execute(name, args)
        except ExecuteError as exc:
            raise OperationFailedError(f"QEMU refused {name}: {_desc(exc)}") from None
        except (EOFError, ConnectionError, OSError) as exc:
            raise MonitorClosedError(f"QEMU monitor closed during {name!r}: {exc}") from None
        except Exception as exc:
            if self._client.runstate != Runstate.RUNNING:
                raise MonitorClosedError(f"QEMU monitor closed during {name!r}") from None
            raise OperationFailedError(f"QMP command {name!r} failed: {exc}") from None

    def send_fd(self, fd: int, fdname: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Pass ``fd`` to QEMU and register it as ``fdname`` (``getfd``)."""
        self._loop.run(self._send_fd(fd, fdname), timeout, "passing a file descriptor to QEMU")

    async def _send_fd(self, fd: int, fdname: str) -> None:
        try:
            self._client.send_fd_scm(fd)
            await self._client.execute("getfd", {"fdname": fdname})
        except ExecuteError as exc:
            raise OperationFailedError(f"QEMU refused getfd: {_desc(exc)}") from None
        except Exception as exc:
            raise MonitorClosedError(f"cannot pass a file descriptor to QEMU: {exc}") from None

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect without telling the callback (QEMU keeps running)."""
        if self._closed:
            return
        self._closed = True
        if self._loop.in_loop():
            return
        with contextlib.suppress(Exception):
            self._loop.run(self._close(), timeout, "closing the QEMU monitor")

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.disconnect()
        for t in self._tasks:
            t.cancel()
