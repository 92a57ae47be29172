"""The sync API over the asyncio client: one event loop thread per process runs every connection.

:func:`run` hands a coroutine to that loop and waits for its result in the
calling thread. Events reach users on a thread of their own per connection
(:class:`EventPump`), never on the loop thread: a callback may call back
into its connection without deadlocking the loop that would answer it.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from virtcore.errors import OperationInvalidError

__all__ = ["EventPump", "loop", "run"]

_T = TypeVar("_T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid = 0


def loop() -> asyncio.AbstractEventLoop:
    """The process's loop thread's loop, started on first use (and again in a forked child)."""
    global _loop, _thread, _pid
    current = _loop
    if current is not None and _pid == os.getpid():
        return current
    with _lock:
        if _loop is None or _pid != os.getpid():
            new = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(new)
                new.call_soon(ready.set)
                new.run_forever()

            _thread = threading.Thread(target=serve, name="virt-remote loop", daemon=True)
            _thread.start()
            ready.wait()
            _loop, _pid = new, os.getpid()
        return _loop


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` on the loop thread; its result, or its exception, in the calling thread."""
    if threading.current_thread() is _thread:
        coro.close()
        raise OperationInvalidError("a blocking remote call from the remote driver's own event loop thread")
    return asyncio.run_coroutine_threadsafe(coro, loop()).result()


class EventPump:
    """One thread that delivers one connection's events in order, off the loop thread."""

    def __init__(self, deliver: Callable[[Any], None], name: str) -> None:
        self._deliver = deliver
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._pump, name=name, daemon=True)
        self._thread.start()

    def put(self, item: Any) -> None:
        """Queue an event (any thread)."""
        self._queue.put(item)

    def _pump(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            try:
                self._deliver(item)
            except Exception:  # a consumer's failure must not stop later events
                import logging

                logging.getLogger(__name__).exception("delivering a remote event failed")

    def stop(self) -> None:
        """Deliver what is queued, then end the thread."""
        self._queue.put(_STOP)
        if threading.current_thread() is not self._thread:
            self._thread.join(10)


_STOP = object()
