"""QEMU processes and their sockets, as the host handles them: Unix sockets (with paths
longer than ``sun_path`` allows), liveness through ``/proc`` and pidfds, stopping, the
start log, a free VNC port. Functions only; no state.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from virtcore.errors import OperationFailedError

__all__ = [
    "STOP_TIMEOUT", "alive", "bind_listen", "cmdline_has", "connect_unix", "free_vnc_port",
    "kill_painfully", "log_tail", "proc_state", "wait_child", "wait_dead",
]  # fmt: skip

#: Seconds QEMU is given to exit after each signal.
STOP_TIMEOUT = 5.0
_UNIX_PATH_MAX = 107


def _unix_path(path: Path) -> tuple[str, int | None]:
    """A connectable/bindable spelling of ``path`` (via /proc/self/fd when too long)."""
    text = str(path)
    if len(text.encode()) <= _UNIX_PATH_MAX:
        return text, None
    dfd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{dfd}/{path.name}", dfd


def bind_listen(path: Path) -> socket.socket:
    """A listening Unix socket at ``path`` (a stale one there is replaced)."""
    spelled, dfd = _unix_path(path)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(spelled)
        s.listen(4)
        return s
    finally:
        if dfd is not None:
            os.close(dfd)


def connect_unix(path: Path, timeout: float = 5.0) -> socket.socket:
    """A non-blocking Unix socket connected to ``path`` (the connect bounded by ``timeout``)."""
    spelled, dfd = _unix_path(path)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(spelled)
        except OSError:
            s.close()
            raise
        s.setblocking(False)
        return s
    finally:
        if dfd is not None:
            os.close(dfd)


def proc_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (``None`` when gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :][:1].decode() or None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    return proc_state(pid) not in (None, "Z", "X", "x")


def wait_dead(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (a zombie counts: PID 1 may reap it late)."""
    try:
        pfd = os.pidfd_open(pid)
    except OSError:
        return True
    try:
        p = select.poll()
        p.register(pfd, select.POLLIN)
        if p.poll(timeout * 1000):
            return True
        return not alive(pid)
    finally:
        os.close(pfd)


def kill_painfully(
    pid: int, first: signal.Signals = signal.SIGTERM, meanwhile: Callable[[], None] | None = None
) -> bool:
    """SIGTERM, then SIGKILL, each wait bounded; True when the process is gone. ``meanwhile``
    is called once the first signal is sent, while the process exits (it may raise: the
    process is still waited for)."""
    for sig, wait in ((first, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        call, meanwhile = meanwhile, None
        try:
            if call is not None:
                call()
        finally:
            gone = wait_dead(pid, wait)
        if gone:
            return True
    return False


def wait_child(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Our child's exit status, waiting at most ``timeout`` (pidfd: no polling latency)."""
    try:
        pfd = os.pidfd_open(proc.pid)
    except OSError:
        pfd = None
    if pfd is not None:
        try:
            p = select.poll()
            p.register(pfd, select.POLLIN)
            p.poll(timeout * 1000)
        finally:
            os.close(pfd)
    try:
        return proc.wait(0 if pfd is not None else timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        return -1


def cmdline_has(pid: int, needle: str) -> bool:
    """Whether the command line of ``pid`` contains ``needle`` (it is still our QEMU)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return needle.encode() in fh.read()
    except OSError:
        return False


def log_tail(path: Path, offset: int, limit: int = 2000) -> str:
    """The log written since ``offset`` (after its first line), on one line, at most ``limit`` chars."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    lines = [ln for ln in text.splitlines()[1:] if ln.strip()]
    return " ".join(lines)[-limit:] or "(no message)"


def free_vnc_port() -> int:
    """A TCP port for a VNC display that is free on the loopback interface."""
    for port in range(5900, 6900):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OperationFailedError("no free VNC port between 5900 and 6899")
