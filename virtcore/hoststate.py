"""Where a host-wide secondary driver keeps its state, and the lock that serializes its writers.

Secondary drivers (storage, networks: :func:`virtcore.drivers.describe_driver`'s
``secondary=``) serve every hypervisor connection of a host, so they all lay their
state out the same way, by the URI they are opened with (``SCHEME`` is the
driver's own scheme, ``storage`` or ``network``):

* ``SCHEME:///embed?root=DIR`` (and ``SCHEME:///system?root=DIR``, what a
  hypervisor URI with a root such as ``xen:///system?root=D`` gives its secondary
  drivers): ``DIR/SCHEME/etc`` (definitions) and ``DIR/SCHEME/run`` (runtime
  status), so a ``qemu:///embed?root=DIR`` connection and its secondary drivers
  share one root.
* ``SCHEME:///session``: the user's XDG directories.
* ``SCHEME:///system``: ``/etc/virtcore/SCHEME`` and ``/run/virtcore/SCHEME``
  (root only).

Definitions are ``etc/NAME.xml`` with autostart links in ``etc/autostart`` (as
libvirt's ``/etc/libvirt/storage/autostart``). Every change happens under
:class:`StateLock`, an ``flock`` on ``run/SCHEME.lock``, so two processes never
interleave their writes.
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
from typing import TypeVar

import attrs

from virtcore import xdg
from virtcore.errors import NoConnectError, OperationDeniedError, OperationTimeoutError, SystemError_
from virtcore.uri import URI

__all__ = ["HostDirs", "StateLock", "host_dirs"]


@attrs.frozen
class HostDirs:
    """The two directories of one secondary driver's URI: definitions and runtime status.

    A driver may subclass it (frozen, no new fields) to name its own files in them.
    """

    #: The driver's scheme (``storage``): names the lock file.
    scheme: str
    #: ``embed``, ``session`` or ``system``.
    kind: str
    config: Path
    run: Path

    @property
    def autostart(self) -> Path:
        """Where the autostart links live."""
        return self.config / "autostart"

    def ensure(self, run_mode: int = 0o700) -> None:
        """Create the directories (0700: definitions may name users of secrets; ``run_mode``
        for the run directory, when a helper running as another user must pass through it).

        :raises OperationDeniedError: the user may not create them.
        :raises SystemError_: another reason the system gives.
        """
        try:
            self.config.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.autostart.mkdir(exist_ok=True, mode=0o700)
            self.run.mkdir(parents=True, exist_ok=True, mode=run_mode)
        except PermissionError as exc:
            raise OperationDeniedError(f"cannot create {exc.filename}: permission denied") from None
        except OSError as exc:
            raise SystemError_(f"cannot create state directory {exc.filename}: {exc.strerror}") from None

    def state_lock(self) -> StateLock:
        """The lock serializing every writer of this state (``run/SCHEME.lock``)."""
        return StateLock(self.run / f"{self.scheme}.lock", self.scheme)


_D = TypeVar("_D", bound=HostDirs)


def host_dirs(uri: URI, scheme: str, make: type[_D]) -> _D:
    """The directories for ``uri`` in ``scheme``, as a ``make`` (:class:`HostDirs` or a subclass).

    :raises NoConnectError: a URI the driver does not serve (remote host, unknown path), or
        ``SCHEME:///system`` for a non-root user: declining (rather than denying) lets a
        hypervisor connection a non-root user may open read-only (``xen:///system``) open
        without that secondary driver, whose operations are then unsupported.
    """
    if not uri.is_local:
        raise NoConnectError(f"{uri.text!r}: remote {scheme} connections are not supported")
    path = uri.path.rstrip("/") or "/"
    root = uri.params.get("root")
    if path == "/embed" or (path == "/system" and root):
        if not root:
            raise NoConnectError(f"{uri.text!r}: {scheme}:///embed needs ?root=DIR")
        if not os.path.isabs(root):
            raise NoConnectError(f"{uri.text!r}: the root must be an absolute path")
        r = Path(os.path.normpath(root)) / scheme
        return make(scheme, path.lstrip("/"), r / "etc", r / "run")
    if path == "/session":
        cfg = xdg.config_home() / "virtcore" / scheme
        rt = xdg.runtime_dir()
        run = rt / "virtcore" / scheme if rt else xdg.cache_home() / "virtcore" / scheme / "run"
        return make(scheme, "session", cfg, run)
    if path == "/system":
        if os.geteuid() != 0:
            raise NoConnectError(f"{uri.text!r}: {scheme}:///system needs root (use {scheme}:///session)")
        return make(scheme, "system", Path("/etc/virtcore") / scheme, Path("/run/virtcore") / scheme)
    raise NoConnectError(
        f"{uri.text!r}: expected {scheme}:///session, {scheme}:///system or {scheme}:///embed?root=DIR"
    )


class StateLock:
    """Exclusive access to one driver's state: a thread lock, then ``flock`` on ``path``.

    Re-entrant within a thread (an operation made of others takes it once more).
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self._what = what
        self._threads = threading.RLock()
        self._depth = 0
        self._fd = -1

    @contextmanager
    def held(self, timeout: float = 60.0) -> Iterator[None]:
        """``with lock.held(): ...``; waits at most ``timeout`` seconds.

        :raises OperationTimeoutError: another thread or process holds the lock too long.
        """
        if not self._threads.acquire(timeout=timeout):
            raise OperationTimeoutError(f"waiting for the {self._what} state lock {self.path}")
        try:
            if self._depth == 0:
                self._fd = self._flock(time.monotonic() + timeout)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    os.close(self._fd)
                    self._fd = -1
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
                    f"waiting for the {self._what} state lock {self.path} held by another process"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
