"""Where a ``storage://`` URI keeps its state, and the lock that serializes its writers.

* ``storage:///embed?root=DIR``: ``DIR/storage/etc`` (pool definitions) and
  ``DIR/storage/run`` (active pools' status), so a ``qemu:///embed?root=DIR``
  connection and its storage share one root.
* ``storage:///session``: the user's XDG directories.
* ``storage:///system``: ``/etc/virtcore/storage`` and ``/run/virtcore/storage``
  (root only).

Definitions are ``etc/NAME.xml``; autostart is a link ``etc/autostart/NAME.xml``
to it (as libvirt's ``/etc/libvirt/storage/autostart``); an active pool has a
status file ``run/NAME.xml``. Every change happens under :class:`StateLock`, an
``flock`` on ``run/storage.lock``, so two processes never interleave writes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from virtcore import xdg
from virtcore.errors import NoConnectError, OperationDeniedError, OperationTimeoutError, SystemError_
from virtcore.uri import URI

__all__ = ["Layout", "StateLock", "layout_for"]


@attrs.frozen
class Layout:
    """The two directories of one URI: persistent definitions and runtime status."""

    kind: str
    config: Path
    run: Path

    @property
    def autostart(self) -> Path:
        """Where the autostart links live."""
        return self.config / "autostart"

    def ensure(self) -> None:
        """Create the directories (0700: pool definitions may name secrets' users)."""
        try:
            self.config.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.autostart.mkdir(exist_ok=True, mode=0o700)
            self.run.mkdir(parents=True, exist_ok=True, mode=0o700)
        except PermissionError as exc:
            raise OperationDeniedError(f"cannot create {exc.filename}: permission denied") from None
        except OSError as exc:
            raise SystemError_(f"cannot create state directory {exc.filename}: {exc.strerror}") from None


def layout_for(uri: URI) -> Layout:
    """The directories for ``uri`` (``storage:///system?root=D`` keeps them under ``D``, as embed does).

    :raises NoConnectError: a URI this driver does not serve (remote host, unknown path), or
        ``storage:///system`` for a non-root user: declining (rather than denying) lets a
        hypervisor connection that a non-root user may open read-only (``xen:///system``)
        open without storage, whose operations are then unsupported.
    """
    if not uri.is_local:
        raise NoConnectError(f"{uri.text!r}: remote storage connections are not supported")
    path = uri.path.rstrip("/") or "/"
    root = uri.params.get("root")
    if path == "/embed" or (path == "/system" and root):
        # /system?root=D: what a hypervisor URI with a root (xen:///system?root=D, its
        # tests) gives its secondary storage driver; the state stays under D, as theirs.
        if not root:
            raise NoConnectError(f"{uri.text!r}: storage:///embed needs ?root=DIR")
        if not os.path.isabs(root):
            raise NoConnectError(f"{uri.text!r}: the root must be an absolute path")
        r = Path(os.path.normpath(root)) / "storage"
        return Layout(path.lstrip("/"), r / "etc", r / "run")
    if path == "/session":
        cfg = xdg.config_home() / "virtcore" / "storage"
        rt = xdg.runtime_dir()
        run = rt / "virtcore" / "storage" if rt else xdg.cache_home() / "virtcore" / "storage" / "run"
        return Layout("session", cfg, run)
    if path == "/system":
        if os.geteuid() != 0:
            raise NoConnectError(f"{uri.text!r}: storage:///system needs root (use storage:///session)")
        return Layout("system", Path("/etc/virtcore/storage"), Path("/run/virtcore/storage"))
    raise NoConnectError(
        f"{uri.text!r}: expected storage:///session, storage:///system or storage:///embed?root=DIR"
    )


class StateLock:
    """Exclusive access to one layout's state: a thread lock, then ``flock`` on ``run/storage.lock``.

    Not re-entrant: take it once per operation.
    """

    def __init__(self, run: Path) -> None:
        self.path = run / "storage.lock"
        self._threads = threading.Lock()

    @contextmanager
    def held(self, timeout: float = 60.0) -> Iterator[None]:
        """``with lock.held(): ...``; waits at most ``timeout`` seconds.

        :raises OperationTimeoutError: another process holds the lock too long.
        """
        if not self._threads.acquire(timeout=timeout):
            raise OperationTimeoutError(f"waiting for the storage state lock {self.path}")
        try:
            fd = self._flock(time.monotonic() + timeout)
            try:
                yield
            finally:
                os.close(fd)
        finally:
            self._threads.release()

    def _flock(self, deadline: float) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise SystemError_(f"cannot open the lock {self.path}: {exc.strerror}") from None
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise SystemError_(f"cannot lock {self.path}: {exc.strerror}") from None
            if time.monotonic() >= deadline:
                os.close(fd)
                raise OperationTimeoutError(
                    f"waiting for the storage state lock {self.path} held by another process"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
