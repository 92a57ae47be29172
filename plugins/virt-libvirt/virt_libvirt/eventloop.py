"""libvirt's event loop: the default implementation, a user loop's callbacks, calls into the registered one.

libvirt runs its callbacks (domain events above all) from an event loop the
application provides: either libvirt's own default one
(``virEventRegisterDefaultImpl``, then ``virEventRunDefaultImpl`` in a loop)
or the application's, handed over as six functions (``virEventRegisterImpl``,
what ``libvirtaio`` does for asyncio). As in libvirt, the first registration
wins for the process (a later ``virEventRegisterDefaultImpl`` is ignored, a
second ``virEventRegisterImpl`` is ``RuntimeError`` as libvirt-python's),
and without one ``virEventAdd*`` fail.

Semantics are libvirt's: handles watch a file descriptor for
``VIR_EVENT_HANDLE_READABLE``/``WRITABLE`` (``ERROR``/``HANGUP`` always
reported); a timeout of ``-1`` is disabled, ``0`` fires on every iteration,
``N`` every N ms; ids count from 1; removing an unknown id fails, updating
one is ignored; a removed callback's free function runs later, from the
loop, never from the remover's stack.

A user loop receives, like libvirt-python's, ``cb`` =
:func:`_eventInvokeHandleCallback` / :func:`_eventInvokeTimeoutCallback`
and ``opaque`` = ``(callback, opaque, free)``, calls ``cb(id, ..., opaque)``
when its event fires and :func:`virEventInvokeFreeCallback` ``(opaque)``
after a removal.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from virt_libvirt.errors import libvirtError, virResetLastError

__all__ = [
    "add_handle",
    "update_handle",
    "remove_handle",
    "add_timeout",
    "update_timeout",
    "remove_timeout",
    "registered",
    "DefaultLoop",
    "virEventRegisterDefaultImpl",
    "virEventRunDefaultImpl",
    "virEventRegisterImpl",
    "virEventAddHandle",
    "virEventUpdateHandle",
    "virEventRemoveHandle",
    "virEventAddTimeout",
    "virEventUpdateTimeout",
    "virEventRemoveTimeout",
    "virEventInvokeHandleCallback",
    "virEventInvokeTimeoutCallback",
    "virEventInvokeFreeCallback",
]

#: ``virEventHandleType``.
READABLE, WRITABLE, ERROR, HANGUP = 1, 2, 4, 8

HandleCB = Callable[[int, int, int, Any], object]
TimerCB = Callable[[int, Any], object]
FreeCB = Callable[[Any], object] | None


class Impl(Protocol):
    """What libvirt asks of an event loop (``virEventRegisterImpl``'s six functions)."""

    def add_handle(self, fd: int, events: int, cb: HandleCB, opaque: Any, ff: FreeCB) -> int:
        """Watch ``fd``; the watch id, -1 on failure."""

    def update_handle(self, watch: int, events: int) -> None:
        """Change the events of a watch (unknown: ignored)."""

    def remove_handle(self, watch: int) -> int:
        """Stop a watch: 0, or -1 if unknown."""

    def add_timeout(self, ms: int, cb: TimerCB, opaque: Any, ff: FreeCB) -> int:
        """A timer; its id, -1 on failure."""

    def update_timeout(self, timer: int, ms: int) -> None:
        """Change a timer's period (unknown: ignored)."""

    def remove_timeout(self, timer: int) -> int:
        """Remove a timer: 0, or -1 if unknown."""


class _Watch:
    __slots__ = ("cb", "events", "fd", "ff", "opaque")

    def __init__(self, fd: int, events: int, cb: HandleCB, opaque: Any, ff: FreeCB) -> None:
        self.fd, self.events, self.cb, self.opaque, self.ff = fd, events, cb, opaque, ff


class _Timer:
    __slots__ = ("cb", "due", "ff", "ms", "opaque")

    def __init__(self, ms: int, cb: TimerCB, opaque: Any, ff: FreeCB) -> None:
        self.ms, self.cb, self.opaque, self.ff = ms, cb, opaque, ff
        self.due = time.monotonic() + ms / 1000 if ms > 0 else 0.0


class DefaultLoop:
    """libvirt's default event loop, on ``poll(2)``: :meth:`run_once` is one iteration.

    Every method is thread-safe; a change made from another thread wakes an
    iteration blocked in ``poll`` (through a pipe of its own, not a watch).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._watches: dict[int, _Watch] = {}
        self._timers: dict[int, _Timer] = {}
        self._freed: list[tuple[Callable[[Any], object], Any]] = []
        self._next_watch = 1
        self._next_timer = 1
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._running = threading.Lock()  # one iteration at a time
        #: The thread running an iteration now (0: none).
        self._iterating = 0
        #: What :meth:`run_once` polls; None when the watches changed since it was made.
        self._poller: select.poll | None = None

    def _wake(self) -> None:
        if threading.get_ident() == self._iterating:
            return  # a callback of the iteration itself: the next one recomputes its wait anyway
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass  # already awake: the pipe is full of wake-ups

    def add_handle(self, fd: int, events: int, cb: HandleCB, opaque: Any, ff: FreeCB) -> int:
        """Watch ``fd`` for ``events``; the watch id (a negative ``fd`` is kept, never ready: libvirt's)."""
        with self._lock:
            watch = self._next_watch
            self._next_watch += 1
            self._watches[watch] = _Watch(fd, events, cb, opaque, ff)
            self._poller = None
        self._wake()
        return watch

    def update_handle(self, watch: int, events: int) -> None:
        """Watch for ``events`` from now on (an unknown watch is ignored, as libvirt)."""
        with self._lock:
            w = self._watches.get(watch)
            if w is not None:
                w.events = events
                self._poller = None
        self._wake()

    def remove_handle(self, watch: int) -> int:
        """Stop watching; its free function runs at the next iteration. -1 if unknown."""
        with self._lock:
            w = self._watches.pop(watch, None)
            if w is None:
                return -1
            self._poller = None
            if w.ff is not None:
                self._freed.append((w.ff, w.opaque))
        self._wake()
        return 0

    def add_timeout(self, ms: int, cb: TimerCB, opaque: Any, ff: FreeCB) -> int:
        """A timer firing every ``ms`` milliseconds (0: every iteration, -1: disabled); its id."""
        with self._lock:
            timer = self._next_timer
            self._next_timer += 1
            self._timers[timer] = _Timer(ms, cb, opaque, ff)
        self._wake()
        return timer

    def update_timeout(self, timer: int, ms: int) -> None:
        """Fire every ``ms`` from now on (an unknown timer is ignored, as libvirt)."""
        with self._lock:
            t = self._timers.get(timer)
            if t is not None:
                t.ms = ms
                t.due = time.monotonic() + ms / 1000 if ms > 0 else 0.0
        self._wake()

    def remove_timeout(self, timer: int) -> int:
        """Remove a timer; its free function runs at the next iteration. -1 if unknown."""
        with self._lock:
            t = self._timers.pop(timer, None)
            if t is None:
                return -1
            if t.ff is not None:
                self._freed.append((t.ff, t.opaque))
        self._wake()
        return 0

    def run_once(self) -> int:
        """One iteration: wait for a watched fd, a due timer or a change, then dispatch. 0."""
        with self._running:
            with self._lock:
                if self._poller is None:  # the watches changed: poll the new set
                    self._poller = self._new_poller()
                poller = self._poller
                freed, self._freed = self._freed, []
                wait = -1.0 if not freed else 0.0
                if self._timers:
                    now = time.monotonic()
                    for t in self._timers.values():
                        if t.ms >= 0:
                            left = t.due - now if t.due > now else 0.0
                            wait = left if wait < 0 else min(wait, left)
            try:
                ready = dict(poller.poll(None if wait < 0 else int(wait * 1000 + 0.999)))
            except InterruptedError:
                ready = {}
            if ready.pop(self._wake_r, 0):
                self._drain_wake()
            self._iterating = threading.get_ident()
            try:
                if self._timers:
                    self._dispatch_timers()
                if ready:
                    self._dispatch_handles(ready)
                for ff, opaque in freed:
                    _call("free callback", ff, opaque)
            finally:
                self._iterating = 0
        return 0

    def _new_poller(self) -> select.poll:
        """A poll object for the wake-up pipe and every watch's fd (the caller holds the lock)."""
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        fds: dict[int, int] = {}
        for w in self._watches.values():
            mask = (select.POLLIN if w.events & READABLE else 0) | (
                select.POLLOUT if w.events & WRITABLE else 0
            )
            fds[w.fd] = fds.get(w.fd, 0) | mask
        for fd, mask in fds.items():
            if fd >= 0 and fd != self._wake_r:
                poller.register(fd, mask)
        return poller

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _dispatch_timers(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(i, t) for i, t in self._timers.items() if t.ms >= 0 and t.due <= now]
            for _, t in due:
                t.due = now + t.ms / 1000
        for timer, t in due:
            with self._lock:
                alive = self._timers.get(timer) is t and t.ms >= 0
            if alive:  # an earlier callback of this iteration may have removed or disabled it
                _call("timeout callback", t.cb, timer, t.opaque)

    def _dispatch_handles(self, ready: dict[int, int]) -> None:
        if not ready:
            return
        with self._lock:
            todo = list(self._watches.items())
        for watch, w in todo:
            revents = ready.get(w.fd, 0)
            events = (
                (READABLE if revents & select.POLLIN and w.events & READABLE else 0)
                | (WRITABLE if revents & select.POLLOUT and w.events & WRITABLE else 0)
                | (ERROR if revents & select.POLLERR else 0)
                | (HANGUP if revents & select.POLLHUP else 0)
            )
            with self._lock:
                alive = self._watches.get(watch) is w
            if events and alive:
                _call("handle callback", w.cb, watch, w.fd, events, w.opaque)


def _call(what: str, fn: Callable[..., object], *args: Any) -> object:
    """Call a callback of the application; an exception is printed (as libvirt-python's ``PyErr_Print``)."""
    try:
        return fn(*args)
    except Exception:
        sys.stderr.write(f"libvirt: exception in event loop {what}:\n")
        traceback.print_exc()
        return None


class _UserImpl:
    """An application's loop: its six functions, called as libvirt-python calls them."""

    def __init__(self, funcs: tuple[Callable[..., Any], ...]) -> None:
        self.add_h, self.update_h, self.remove_h, self.add_t, self.update_t, self.remove_t = funcs

    @staticmethod
    def _id(result: object) -> int:
        return result if isinstance(result, int) and not isinstance(result, bool) else -1

    def add_handle(self, fd: int, events: int, cb: HandleCB, opaque: Any, ff: FreeCB) -> int:
        return self._id(
            _call("addHandle", self.add_h, fd, events, _eventInvokeHandleCallback, (cb, opaque, ff))
        )

    def update_handle(self, watch: int, events: int) -> None:
        _call("updateHandle", self.update_h, watch, events)

    def remove_handle(self, watch: int) -> int:
        try:
            self.remove_h(watch)
        except Exception:
            traceback.print_exc()
            return -1
        return 0

    def add_timeout(self, ms: int, cb: TimerCB, opaque: Any, ff: FreeCB) -> int:
        return self._id(_call("addTimeout", self.add_t, ms, _eventInvokeTimeoutCallback, (cb, opaque, ff)))

    def update_timeout(self, timer: int, ms: int) -> None:
        _call("updateTimeout", self.update_t, timer, ms)

    def remove_timeout(self, timer: int) -> int:
        try:
            self.remove_t(timer)
        except Exception:
            traceback.print_exc()
            return -1
        return 0


_impl: Impl | None = None
_default: DefaultLoop | None = None
_user_registered = False
_state_lock = threading.Lock()


def _default_loop() -> DefaultLoop:
    global _default
    with _state_lock:
        if _default is None:
            _default = DefaultLoop()
        return _default


def registered() -> Impl | None:
    """The event loop libvirt's callbacks go to (``None``: none registered yet)."""
    return _impl


# -- what virt-libvirt's event machinery calls (libvirt's internal virEvent* API) ---------------


def add_handle(fd: int, events: int, cb: HandleCB, opaque: Any, ff: FreeCB = None) -> int:
    """Watch ``fd`` on the registered loop; -1 without one."""
    impl = _impl
    return -1 if impl is None else impl.add_handle(fd, events, cb, opaque, ff)


def update_handle(watch: int, events: int) -> None:
    """Change a watch on the registered loop (nothing without one)."""
    if _impl is not None:
        _impl.update_handle(watch, events)


def remove_handle(watch: int) -> int:
    """Remove a watch from the registered loop; -1 without one or if unknown."""
    return -1 if _impl is None else _impl.remove_handle(watch)


def add_timeout(ms: int, cb: TimerCB, opaque: Any, ff: FreeCB = None) -> int:
    """A timer on the registered loop; -1 without one."""
    impl = _impl
    return -1 if impl is None else impl.add_timeout(ms, cb, opaque, ff)


def update_timeout(timer: int, ms: int) -> None:
    """Change a timer of the registered loop (nothing without one)."""
    if _impl is not None:
        _impl.update_timeout(timer, ms)


def remove_timeout(timer: int) -> int:
    """Remove a timer from the registered loop; -1 without one or if unknown."""
    return -1 if _impl is None else _impl.remove_timeout(timer)


# -- libvirt's public API ------------------------------------------------------------------


def virEventRegisterDefaultImpl() -> int:  # noqa: N802
    """Register libvirt's default event loop (ignored once a loop is registered, as libvirt); 0."""
    global _impl
    virResetLastError()  # as libvirt's, which starts by resetting the thread's last error
    loop = _default_loop()
    with _state_lock:
        if _impl is None:
            _impl = loop
    return 0


def virEventRunDefaultImpl() -> int:  # noqa: N802
    """Run one iteration of the default event loop (blocking until something happens); 0."""
    virResetLastError()
    return _default_loop().run_once()


def virEventRegisterImpl(  # noqa: N802
    addHandle: Callable[..., Any],  # noqa: N803
    updateHandle: Callable[..., Any],  # noqa: N803
    removeHandle: Callable[..., Any],  # noqa: N803
    addTimeout: Callable[..., Any],  # noqa: N803
    updateTimeout: Callable[..., Any],  # noqa: N803
    removeTimeout: Callable[..., Any],  # noqa: N803
) -> None:
    """Hand libvirt an application's event loop as its six functions (once per process).

    :raises RuntimeError: a loop was registered with this function already (libvirt-python's).
    :raises TypeError: one of them is not callable.
    """
    global _impl, _user_registered
    funcs = (addHandle, updateHandle, removeHandle, addTimeout, updateTimeout, removeTimeout)
    with _state_lock:
        if _user_registered:
            raise RuntimeError("Event loop is already registered")
        if not all(callable(f) for f in funcs):
            raise TypeError("virEventRegisterImpl takes six callables")
        _user_registered = True
        if _impl is None:  # libvirt keeps the first loop registered ("Ignoring attempt to replace")
            _impl = _UserImpl(funcs)


def virEventAddHandle(fd: int, events: int, cb: HandleCB, opaque: Any) -> int:  # noqa: N802
    """Call ``cb(watch, fd, events, opaque)`` when ``fd`` has ``events``; the watch id.

    :raises libvirtError: no event loop is registered, or it refused.
    """
    ret = add_handle(fd, events, cb, opaque)
    if ret == -1:
        raise libvirtError("virEventAddHandle() failed")
    return ret


def virEventUpdateHandle(watch: int, events: int) -> None:  # noqa: N802
    """Watch for ``events`` from now on (an unknown watch is ignored)."""
    update_handle(watch, events)


def virEventRemoveHandle(watch: int) -> int:  # noqa: N802
    """Stop a watch; 0.

    :raises libvirtError: no such watch, or no event loop.
    """
    ret = remove_handle(watch)
    if ret == -1:
        raise libvirtError("virEventRemoveHandle() failed")
    return ret


def virEventAddTimeout(timeout: int, cb: TimerCB, opaque: Any) -> int:  # noqa: N802
    """Call ``cb(timer, opaque)`` every ``timeout`` ms (0: every iteration, -1: disabled); the timer id.

    :raises libvirtError: no event loop is registered, or it refused.
    """
    ret = add_timeout(timeout, cb, opaque)
    if ret == -1:
        raise libvirtError("virEventAddTimeout() failed")
    return ret


def virEventUpdateTimeout(timer: int, timeout: int) -> None:  # noqa: N802
    """Fire every ``timeout`` ms from now on (an unknown timer is ignored)."""
    update_timeout(timer, timeout)


def virEventRemoveTimeout(timer: int) -> int:  # noqa: N802
    """Remove a timer; 0.

    :raises libvirtError: no such timer, or no event loop.
    """
    ret = remove_timeout(timer)
    if ret == -1:
        raise libvirtError("virEventRemoveTimeout() failed")
    return ret


# -- what a user loop calls back -------------------------------------------------------------


def _eventInvokeHandleCallback(  # noqa: N802
    watch: int, fd: int, event: int, opaque: Any, opaquecompat: Any = None
) -> None:
    """What a user loop calls when a watch fires: ``opaque`` is the ``(callback, opaque, free)``
    it was given (or, libvirt 0.9.2's form, the callback with ``opaquecompat``)."""
    if opaquecompat:
        opaque(watch, fd, event, opaquecompat)
        return
    opaque[0](watch, fd, event, opaque[1])


def _eventInvokeTimeoutCallback(timer: int, opaque: Any, opaquecompat: Any = None) -> None:  # noqa: N802
    """What a user loop calls when a timer fires (``opaque`` as for :func:`_eventInvokeHandleCallback`)."""
    if opaquecompat:
        opaque(timer, opaquecompat)
        return
    opaque[0](timer, opaque[1])


def virEventInvokeHandleCallback(watch: int, fd: int, event: int, cb: HandleCB, opaque: Any) -> None:  # noqa: N802
    """libvirtmod's: run a watch's callback."""
    cb(watch, fd, event, opaque)


def virEventInvokeTimeoutCallback(timer: int, cb: TimerCB, opaque: Any) -> None:  # noqa: N802
    """libvirtmod's: run a timer's callback."""
    cb(timer, opaque)


def virEventInvokeFreeCallback(*args: Any) -> None:  # noqa: N802
    """Free what a removed watch or timer held: ``(opaque)`` as the ``libvirt`` module's (the
    ``(callback, opaque, free)`` a user loop was given), or ``(free, opaque)`` as libvirtmod's."""
    if len(args) == 1:
        _, opaque, ff = args[0]
    elif len(args) == 2:
        ff, opaque = args
    else:
        raise TypeError(f"virEventInvokeFreeCallback takes 1 or 2 arguments ({len(args)} given)")
    if ff is not None:
        ff(opaque)
