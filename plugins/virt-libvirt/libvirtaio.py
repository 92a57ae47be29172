"""libvirt-python's ``libvirtaio``: libvirt's event loop on asyncio (installed by virt-libvirt in its place).

>>> import asyncio, libvirt, libvirtaio                       # doctest: +SKIP
>>> async def main():                                        # doctest: +SKIP
...     libvirtaio.virEventRegisterAsyncIOImpl()
...     conn = libvirt.open("test:///default")
...     conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)

:func:`virEventRegisterAsyncIOImpl` hands libvirt (through
``libvirt.virEventRegisterImpl``) the six functions of a
:class:`virEventAsyncIOImpl` bound to an asyncio loop: watches become the
loop's readers and writers, timers tasks that sleep their period (``0``:
every iteration, ``-1``: disabled). libvirt may call them from any thread;
what touches the loop is handed to it with ``call_soon_threadsafe``. A
removed watch or timer's free function runs later as a task of the loop;
:meth:`virEventAsyncIOImpl.drain` waits for those, and
:meth:`virEventAsyncIOImpl.is_idle` says that nothing is registered or
pending.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import libvirt

__all__ = ["getCurrentImpl", "virEventAsyncIOImpl", "virEventRegisterAsyncIOImpl"]

_READABLE = 1  # VIR_EVENT_HANDLE_READABLE
_WRITABLE = 2  # VIR_EVENT_HANDLE_WRITABLE


def _report(what: str) -> None:
    sys.stderr.write(f"libvirtaio: exception in {what}:\n")
    traceback.print_exc()


class _Watch:
    """One watch of a file descriptor: ``cb(watch, fd, events, opaque)`` when it is ready."""

    def __init__(
        self, impl: virEventAsyncIOImpl, iden: int, fd: int, events: int, cb: Any, opaque: Any
    ) -> None:
        self.impl, self.iden, self.fd, self.events, self.cb, self.opaque = impl, iden, fd, events, cb, opaque

    def fire(self, events: int) -> None:
        try:
            self.cb(self.iden, self.fd, events, self.opaque)
        except Exception:
            _report(f"the callback of watch {self.iden}")


class _Timer:
    """One timer: ``cb(timer, opaque)`` every ``timeout`` ms, from a task of the loop."""

    def __init__(self, impl: virEventAsyncIOImpl, iden: int, timeout: int, cb: Any, opaque: Any) -> None:
        self.impl, self.iden, self.timeout, self.cb, self.opaque = impl, iden, timeout, cb, opaque
        self.task: asyncio.Task[None] | None = None

    def restart(self) -> None:
        """On the loop: (re)start counting the current period (none while disabled)."""
        if self.task is not None:
            self.task.cancel()
            self.task = None
        if self.timeout >= 0 and self.impl.callbacks.get(self.iden) is self:
            self.task = self.impl.loop.create_task(self._ticks(self.timeout))

    async def _ticks(self, timeout: int) -> None:
        while True:
            await asyncio.sleep(timeout / 1000)
            try:
                self.cb(self.iden, self.opaque)
            except Exception:
                _report(f"the callback of timer {self.iden}")

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None


class virEventAsyncIOImpl:  # noqa: N801 - libvirt-python's name
    """libvirt's event loop functions over one asyncio loop (default: the current one)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            with warnings.catch_warnings():  # no running loop: asyncio's default one, as libvirt-python
                warnings.simplefilter("ignore", DeprecationWarning)
                loop = asyncio.get_event_loop()
        self.loop = loop
        #: Every live watch and timer by id (ids shared by both, from 1).
        self.callbacks: dict[int, _Watch | _Timer] = {}
        self._counter = itertools.count(start=1)
        self._lock = threading.Lock()
        self._pending = 0
        self._finished = asyncio.Event()
        self._finished.set()
        self._readers: dict[int, list[_Watch]] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} callbacks={self.callbacks} loop={self.loop}>"

    # -- plumbing ----------------------------------------------------------------

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop: now when called from it, else as soon as it can."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            fn()
        else:
            self.loop.call_soon_threadsafe(fn)

    def _pending_inc(self) -> None:
        with self._lock:
            self._pending += 1
            self._finished.clear()

    def _pending_dec(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0:
                self._finished.set()

    # -- the API --------------------------------------------------------------------

    def register(self) -> virEventAsyncIOImpl:
        """Hand this implementation to libvirt (``libvirt.virEventRegisterImpl``); itself."""
        libvirt.virEventRegisterImpl(
            self._add_handle,
            self._update_handle,
            self._remove_handle,
            self._add_timeout,
            self._update_timeout,
            self._remove_timeout,
        )
        return self

    def schedule_ff_callback(self, iden: int, opaque: Any) -> None:
        """Run the free function of removed watch or timer ``iden`` later, as a task of the loop."""
        self._pending_inc()
        self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self._ff_callback(iden, opaque)))

    async def _ff_callback(self, iden: int, opaque: Any) -> None:
        try:
            libvirt.virEventInvokeFreeCallback(opaque)
        except Exception:
            _report(f"the free callback of {iden}")
        finally:
            self._pending_dec()

    async def drain(self) -> None:
        """Wait until every free function scheduled so far has run."""
        await self._finished.wait()

    def is_idle(self) -> bool:
        """Whether nothing is registered and no free function is pending."""
        return not self.callbacks and not self._pending

    # -- watches ---------------------------------------------------------------------

    def _add_handle(self, fd: int, event: int, cb: Any, opaque: Any) -> int:
        """libvirt's addHandle: watch ``fd`` for ``event``; the watch id."""
        iden = next(self._counter)
        watch = _Watch(self, iden, fd, event, cb, opaque)
        self.callbacks[iden] = watch
        self._on_loop(lambda: self._sync_fd(fd))
        return iden

    def _update_handle(self, watch: int, event: int) -> None:
        """libvirt's updateHandle (an unknown watch is ignored)."""
        w = self.callbacks.get(watch)
        if isinstance(w, _Watch):
            w.events = event
            self._on_loop(lambda: self._sync_fd(w.fd))

    def _remove_handle(self, watch: int) -> int:
        """libvirt's removeHandle: stop the watch; -1 if unknown."""
        w = self.callbacks.get(watch)
        if not isinstance(w, _Watch):
            return -1
        del self.callbacks[watch]
        self._on_loop(lambda: self._sync_fd(w.fd))
        self.schedule_ff_callback(watch, w.opaque)
        return 0

    def _sync_fd(self, fd: int) -> None:
        """On the loop: make its reader and writer of ``fd`` what the live watches ask."""
        watches = [w for w in self.callbacks.values() if isinstance(w, _Watch) and w.fd == fd]
        if fd < 0:
            return
        want_r = any(w.events & _READABLE for w in watches)
        want_w = any(w.events & _WRITABLE for w in watches)
        self.loop.remove_reader(fd)
        self.loop.remove_writer(fd)
        if want_r:
            self.loop.add_reader(fd, self._ready, fd, _READABLE)
        if want_w:
            self.loop.add_writer(fd, self._ready, fd, _WRITABLE)

    def _ready(self, fd: int, event: int) -> None:
        for w in [w for w in self.callbacks.values() if isinstance(w, _Watch) and w.fd == fd]:
            if w.events & event and self.callbacks.get(w.iden) is w:
                w.fire(event)

    # -- timers ----------------------------------------------------------------------

    def _add_timeout(self, timeout: int, cb: Any, opaque: Any) -> int:
        """libvirt's addTimeout: ``cb`` every ``timeout`` ms (0: every iteration, -1: disabled); its id."""
        iden = next(self._counter)
        timer = _Timer(self, iden, timeout, cb, opaque)
        self.callbacks[iden] = timer
        self._on_loop(timer.restart)
        return iden

    def _update_timeout(self, timer: int, timeout: int) -> None:
        """libvirt's updateTimeout: the new period, counted from now (an unknown timer is ignored)."""
        t = self.callbacks.get(timer)
        if isinstance(t, _Timer):
            t.timeout = timeout
            self._on_loop(t.restart)

    def _remove_timeout(self, timer: int) -> int:
        """libvirt's removeTimeout: remove the timer; -1 if unknown."""
        t = self.callbacks.get(timer)
        if not isinstance(t, _Timer):
            return -1
        del self.callbacks[timer]
        self._on_loop(t.stop)
        self.schedule_ff_callback(timer, t.opaque)
        return 0


_current_impl: virEventAsyncIOImpl | None = None


def getCurrentImpl() -> virEventAsyncIOImpl | None:  # noqa: N802
    """The implementation :func:`virEventRegisterAsyncIOImpl` registered last (None: none yet)."""
    return _current_impl


def virEventRegisterAsyncIOImpl(loop: asyncio.AbstractEventLoop | None = None) -> virEventAsyncIOImpl:  # noqa: N802
    """Register libvirt's event loop on asyncio ``loop`` (default: the current one); the implementation."""
    global _current_impl
    _current_impl = virEventAsyncIOImpl(loop=loop).register()
    return _current_impl
