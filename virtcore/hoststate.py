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
libvirt's ``/etc/libvirt/storage/autostart``), and an active object's live
definition is ``run/NAME.xml`` (:class:`DefinitionStore`). Every change happens
under :class:`StateLock`, an ``flock`` on ``run/SCHEME.lock``, so two processes
never interleave their writes; a process keeps one store per layout
(:func:`shared_store`), so its connections share that lock's thread half too.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Generic, TypeVar, cast

import attrs

from virtcore import xdg
from virtcore.errors import NoConnectError, OperationDeniedError, OperationTimeoutError, SystemError_
from virtcore.uri import URI

__all__ = ["DefinitionStore", "HostDirs", "StateLock", "host_dirs", "shared_store"]


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


_S = TypeVar("_S")

#: Every store :func:`shared_store` made in this process, by maker and run directory.
_stores: dict[tuple[object, str], object] = {}
_stores_lock = threading.Lock()


def shared_store(layout: _D, make: Callable[[_D], _S]) -> _S:
    """The process's one ``make(layout)`` per layout, its directories created first.

    Every connection of a process opened on the same layout gets the same
    store, so they share its :class:`StateLock`'s thread lock (the ``flock``
    alone does not exclude two threads of one process).

    :raises OperationDeniedError, SystemError_: the directories cannot be created
        (:meth:`HostDirs.ensure`).
    """
    layout.ensure()
    key = (make, str(layout.run))
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = make(layout)
        return cast("_S", store)


class DefinitionStore(Generic[_D]):
    """The files of one secondary driver's layout, named alike by every driver.

    ``etc/NAME.xml`` is an object's persistent definition, ``run/NAME.xml``
    its live one while it is active, ``etc/autostart/NAME.xml`` its autostart
    link (relative, to ``../NAME.xml``). A subclass reads and writes the
    definitions (their model is its own) and lists the objects from
    :meth:`names`; the files are the truth, read afresh by every operation,
    and changed under :attr:`lock`.
    """

    #: What an object is, in messages (``"storage pool"``).
    what: ClassVar[str] = "object"
    #: The suffixes of the files whose names are objects' names (a dot file is a temporary).
    suffixes: ClassVar[tuple[str, ...]] = (".xml",)

    def __init__(self, layout: _D) -> None:
        self.layout = layout
        self.lock = layout.state_lock()

    def _config(self, name: str) -> Path:
        return self.layout.config / f"{name}.xml"

    def _status(self, name: str) -> Path:
        return self.layout.run / f"{name}.xml"

    def _link(self, name: str) -> Path:
        return self.layout.autostart / f"{name}.xml"

    def names(self) -> list[str]:
        """The names with a file of :attr:`suffixes` in ``etc`` or ``run``, sorted (unreadable: none)."""
        names: set[str] = set()
        for d in (self.layout.config, self.layout.run):
            with contextlib.suppress(OSError):
                for entry in os.listdir(d):
                    if not entry.startswith("."):
                        names.update(entry[: -len(s)] for s in self.suffixes if entry.endswith(s))
        return sorted(names)

    def autostart_link(self, name: str) -> bool:
        """Whether ``name`` has an autostart link (dangling or not)."""
        return os.path.lexists(self._link(name))

    def remove_config(self, name: str) -> None:
        """Forget the persistent definition (and autostart link) of ``name``.

        :raises SystemError_: a file cannot be removed (naming it).
        """
        for path in (self._link(name), self._config(name)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SystemError_(f"cannot remove '{path}': {exc.strerror}") from None

    def set_autostart(self, name: str, autostart: bool) -> None:
        """Create or remove the autostart link of ``name``.

        :raises SystemError_: the link cannot be changed (naming the object).
        """
        link = self._link(name)
        try:
            if autostart and not os.path.lexists(link):
                os.symlink(os.path.join("..", f"{name}.xml"), link)
            elif not autostart:
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
        except OSError as exc:
            raise SystemError_(f"cannot change autostart of {self.what} '{name}': {exc.strerror}") from None

    def first_open(self) -> bool:
        """True once per boot of the run directory: when autostart objects should be started.

        :raises SystemError_: the marker ``run/autostarted`` cannot be written.
        """
        marker = self.layout.run / "autostarted"
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            return False
        except OSError as exc:
            raise SystemError_(f"cannot write '{marker}': {exc.strerror}") from None
        os.close(fd)
        return True
