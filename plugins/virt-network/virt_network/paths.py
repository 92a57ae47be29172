"""Where a ``network://`` URI keeps its state, and the lock that serializes its writers.

* ``network:///embed?root=DIR``: ``DIR/network/etc`` (definitions) and
  ``DIR/network/run`` (running networks' status, dnsmasq's files), so a
  ``qemu:///embed?root=DIR`` connection and its networks share one root.
* ``network:///session``: the user's XDG directories (definitions only: starting
  a network needs root).
* ``network:///system``: ``/etc/virtcore/network`` and ``/run/virtcore/network``
  (root only).

Definitions are ``etc/NAME.xml``; autostart is a link ``etc/autostart/NAME.xml``;
a running network has ``run/NAME.xml`` (its live definition) and ``run/NAME.json``
(what start made on the host, written *before* making it, so that whatever a
killed process left behind can be found and removed). Every change happens
under :class:`StateLock`, an ``flock`` on ``run/network.lock``.
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
    """The directories of one URI: persistent definitions and runtime status."""

    kind: str
    config: Path
    run: Path

    @property
    def autostart(self) -> Path:
        """Where the autostart links live."""
        return self.config / "autostart"

    @property
    def dnsmasq(self) -> Path:
        """dnsmasq's configuration, hosts, lease and pid files of the running networks."""
        return self.run / "dnsmasq"

    @property
    def can_run(self) -> bool:
        """Whether networks of this layout may be started: the host's devices need root."""
        return self.kind != "session" and os.geteuid() == 0

    def ensure(self) -> None:
        """Create the directories (0700; the run directory 0711: dnsmasq's user reads its files in it)."""
        try:
            self.config.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.autostart.mkdir(exist_ok=True, mode=0o700)
            self.run.mkdir(parents=True, exist_ok=True, mode=0o711)  # dnsmasq's user passes through
        except PermissionError as exc:
            raise OperationDeniedError(f"cannot create {exc.filename}: permission denied") from None
        except OSError as exc:
            raise SystemError_(f"cannot create state directory {exc.filename}: {exc.strerror}") from None


def layout_for(uri: URI) -> Layout:
    """The directories for ``uri`` (``network:///system?root=D`` keeps them under ``D``, as embed does).

    :raises NoConnectError: a URI this driver does not serve (remote host, unknown path), or
        ``network:///system`` for a non-root user (declining lets a hypervisor connection open
        without networks, whose operations are then unsupported).
    """
    if not uri.is_local:
        raise NoConnectError(f"{uri.text!r}: remote network connections are not supported")
    path = uri.path.rstrip("/") or "/"
    root = uri.params.get("root")
    if path == "/embed" or (path == "/system" and root):
        if not root:
            raise NoConnectError(f"{uri.text!r}: network:///embed needs ?root=DIR")
        if not os.path.isabs(root):
            raise NoConnectError(f"{uri.text!r}: the root must be an absolute path")
        r = Path(os.path.normpath(root)) / "network"
        return Layout(path.lstrip("/"), r / "etc", r / "run")
    if path == "/session":
        cfg = xdg.config_home() / "virtcore" / "network"
        rt = xdg.runtime_dir()
        run = rt / "virtcore" / "network" if rt else xdg.cache_home() / "virtcore" / "network" / "run"
        return Layout("session", cfg, run)
    if path == "/system":
        if os.geteuid() != 0:
            raise NoConnectError(f"{uri.text!r}: network:///system needs root (use network:///session)")
        return Layout("system", Path("/etc/virtcore/network"), Path("/run/virtcore/network"))
    raise NoConnectError(
        f"{uri.text!r}: expected network:///session, network:///system or network:///embed?root=DIR"
    )


class StateLock:
    """Exclusive access to one layout's state: a thread lock, then ``flock`` on ``run/network.lock``.

    Re-entrant within a thread (a start inside a define-and-start takes it once more).
    """

    def __init__(self, run: Path) -> None:
        self.path = run / "network.lock"
        self._threads = threading.RLock()
        self._depth = 0
        self._fd = -1

    @contextmanager
    def held(self, timeout: float = 60.0) -> Iterator[None]:
        """``with lock.held(): ...``; waits at most ``timeout`` seconds.

        :raises OperationTimeoutError: another process holds the lock too long.
        """
        if not self._threads.acquire(timeout=timeout):
            raise OperationTimeoutError(f"waiting for the network state lock {self.path}")
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
                    f"waiting for the network state lock {self.path} held by another process"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
