"""Where a ``qemu://`` URI keeps its state, and the file primitives the driver relies on.

* ``qemu:///embed?root=DIR``: everything under DIR (``etc``, ``run``, ``log``, ``cache``).
* ``qemu:///session``: the user's XDG directories.
* ``qemu:///system``: /etc/virtcore/qemu, /run/virtcore/qemu,
  /var/log/virtcore/qemu, /var/cache/virtcore/qemu (root only).

Config writes are atomic (temporary file, fsync, rename, fsync of the
directory). Cross-process exclusion uses ``fcntl.flock`` on lock files; a
shared 8-byte *generation* counter (mmap of ``run/generation``) tells every
process cheaply when another one changed something.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

from virtcore import xdg
from virtcore.errors import NoConnectError, OperationDeniedError, OperationTimeoutError, SystemError_
from virtcore.uri import URI

__all__ = ["Layout", "layout_for", "FileLock", "Generation"]


@attrs.frozen
class Layout:
    """The four directories of one URI."""

    kind: str
    config: Path
    run: Path
    log: Path
    cache: Path

    @property
    def key(self) -> str:
        """What identifies this state: process-wide driver state is shared per key."""
        return str(self.run)

    def ensure(self) -> None:
        """Create the directories (0700 for run, like libvirt's private dirs)."""
        try:
            for p in (self.config, self.log, self.cache):
                p.mkdir(parents=True, exist_ok=True)
            self.run.mkdir(parents=True, exist_ok=True, mode=0o700)
            (self.config / "autostart").mkdir(exist_ok=True)
        except PermissionError as exc:
            raise OperationDeniedError(f"cannot create {exc.filename}: permission denied") from None
        except OSError as exc:
            raise SystemError_(f"cannot create state directory {exc.filename}: {exc.strerror}") from None


def layout_for(uri: URI) -> Layout:
    """The directories for ``uri``.

    :raises NoConnectError: a URI this driver does not serve (remote host, unknown path).
    :raises OperationDeniedError: ``qemu:///system`` by a non-root user.
    """
    if not uri.is_local:
        raise NoConnectError(f"{uri.text!r}: remote QEMU connections are not supported")
    path = uri.path.rstrip("/") or "/"
    if path == "/embed":
        root = uri.params.get("root")
        if not root:
            raise NoConnectError(f"{uri.text!r}: qemu:///embed needs ?root=DIR")
        if not os.path.isabs(root):
            raise NoConnectError(f"{uri.text!r}: the embed root must be an absolute path")
        r = Path(os.path.normpath(root))
        return Layout("embed", r / "etc", r / "run", r / "log", r / "cache")
    if path == "/session":
        cfg = xdg.config_home() / "virtcore" / "qemu"
        cache = xdg.cache_home() / "virtcore" / "qemu"
        state = xdg.state_home() / "virtcore" / "qemu"
        rt = xdg.runtime_dir()
        run = rt / "virtcore" / "qemu" if rt else cache / "run"
        return Layout("session", cfg, run, state / "log", cache)
    if path == "/system":
        if os.geteuid() != 0:
            raise OperationDeniedError("qemu:///system needs root (use qemu:///session)")
        return Layout(
            "system",
            Path("/etc/virtcore/qemu"),
            Path("/run/virtcore/qemu"),
            Path("/var/log/virtcore/qemu"),
            Path("/var/cache/virtcore/qemu"),
        )
    raise NoConnectError(f"{uri.text!r}: expected qemu:///session, qemu:///system or qemu:///embed?root=DIR")


class FileLock:
    """An exclusive ``flock`` on a file, with a bounded wait. Re-entrant per instance.

    The holder may delete the lock file (:meth:`remove`): whoever locked the
    deleted file notices that it is no longer the file at the path and locks
    the path afresh, so two processes never both believe they hold the lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._depth = 0

    def _try_lock(self) -> tuple[int | None, bool]:
        """One attempt: ``(fd, False)`` when locked; ``(None, busy)`` otherwise.

        ``busy`` is False when the file we locked was deleted meanwhile: try again at once.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise SystemError_(f"cannot lock {self.path}: {exc.strerror}") from None
            return None, True
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is None or (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(fd)
            return None, False
        return fd, False

    def acquire(self, timeout: float = 30.0) -> None:
        """Take the lock, waiting at most ``timeout`` seconds.

        :raises OperationTimeoutError: another process holds it too long.
        """
        if self._depth:
            self._depth += 1
            return
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            fd, busy = self._try_lock()
            if fd is not None:
                break
            if not busy:
                continue
            if time.monotonic() >= deadline:
                raise OperationTimeoutError(f"waiting for the lock {self.path.name} held by another process")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        self._fd = fd
        self._depth = 1

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return whether we got it."""
        if self._depth:
            self._depth += 1
            return True
        while True:
            fd, busy = self._try_lock()
            if fd is not None:
                break
            if busy:
                return False
        self._fd = fd
        self._depth = 1
        return True

    def remove(self) -> None:
        """Delete the lock file; the caller holds the lock (release it afterwards)."""
        if not self._depth:
            raise RuntimeError(f"removing the lock {self.path} without holding it")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def release(self) -> None:
        """Release one level of the lock."""
        if not self._depth:
            return
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextlib.contextmanager
    def held(self, timeout: float = 30.0) -> Iterator[None]:
        """``with lock.held(): ...``"""
        self.acquire(timeout)
        try:
            yield
        finally:
            self.release()


class Generation:
    """A counter shared by every process using one run directory, read without a syscall."""

    def __init__(self, run_dir: Path) -> None:
        path = run_dir / "generation"
        self._lock = FileLock(run_dir / "generation.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(fd).st_size < 8:
                with self._lock.held():
                    if os.fstat(fd).st_size < 8:
                        os.pwrite(fd, b"\0" * 8, 0)
            self._map = mmap.mmap(fd, 8)
        finally:
            os.close(fd)

    def value(self) -> int:
        """The current generation."""
        v: int = struct.unpack_from("Q", self._map, 0)[0]
        return v

    def bump(self) -> int:
        """Advance the generation (after changing shared state); return the new value."""
        with self._lock.held():
            v = self.value() + 1
            struct.pack_into("Q", self._map, 0, v)
            return v

    def close(self) -> None:
        """Unmap the counter."""
        with contextlib.suppress(Exception):
            self._map.close()
