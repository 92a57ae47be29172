"""The guest agent of a domain: :attr:`virtcore.Domain.agent`.

A guest agent (QEMU's ``qemu-guest-agent``) is a process inside the guest
that answers JSON commands over a host-guest channel. Through it the host
runs programs in the guest, reads and writes its files, freezes its file
systems and learns what only the guest knows (its OS, users, addresses)::

    dom.agent.ping()
    code, out, err = dom.agent.exec(["uname", "-a"])
    dom.agent.file_read("/etc/hostname")
    dom.agent.guest_info()["os.id"]
    dom.agent.set_user_password("root", "s3cret")
    dom.agent.fs_freeze(); dom.agent.fs_thaw()
    dom.agent.command('{"execute": "guest-info"}')      # libvirt_qemu's qemuAgentCommand

The operations libvirt has entry points for (guest info, passwords, freeze
and thaw, time) are hooks of their own; the rest are built here on the one
generic hook, :func:`~virtcore.hookspecs.virt_domain_qemu_agent_command`, so every
driver with an agent channel offers them. Errors: ``AgentUnresponsiveError``
(86) when there is no agent, ``AgentCommandTimeoutError`` (112) when it does
not answer in time, ``AgentCommandFailedError`` (113) when it refuses,
``OperationInvalidError`` when the domain is not running.
"""

from __future__ import annotations

import base64
import enum
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from virtcore import hookspecs
from virtcore._dispatch import declined
from virtcore.errors import AgentCommandFailedError, AgentCommandTimeoutError, InvalidArgError, VirtError

if TYPE_CHECKING:
    from virtcore.connection import Domain

__all__ = ["GuestInfoTypes", "DomainAgent", "DEFAULT_TIMEOUT", "ExecResult"]

#: Seconds an agent call waits for its answer unless told otherwise.
DEFAULT_TIMEOUT = 30.0

#: Bytes asked per ``guest-file-read`` (the agent's own limit is 48 MiB).
_READ_CHUNK = 1 << 20

#: Bytes sent per ``guest-file-write``.
_WRITE_CHUNK = 1 << 20

#: What ``file_read`` gives back at most, so a guest cannot exhaust the host's memory.
MAX_FILE_BYTES = 64 << 20


class GuestInfoTypes(enum.IntFlag):
    """``virDomainGuestInfoTypes``: which parts :meth:`DomainAgent.guest_info` asks for."""

    USERS = 1 << 0
    OS = 1 << 1
    TIMEZONE = 1 << 2
    HOSTNAME = 1 << 3
    FILESYSTEM = 1 << 4
    DISKS = 1 << 5
    INTERFACES = 1 << 6
    LOAD = 1 << 7


#: ``(exit code, stdout, stderr)`` of :meth:`DomainAgent.exec`.
ExecResult = tuple[int, bytes, bytes]


def _timeout_arg(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidArgError(f"agent timeout must be a positive number of seconds, not {timeout!r}")
    return float(timeout)


def _path_arg(path: object) -> str:
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise InvalidArgError(f"guest file path must be an absolute path without NUL bytes, not {path!r}")
    return path


def _user_arg(user: object) -> str:
    if not isinstance(user, str) or not user or any(c in user for c in ":\n\0"):
        raise InvalidArgError(
            f"user name must be a non-empty string without ':', newlines or NUL, not {user!r}"
        )
    return user


def _mountpoints_arg(mountpoints: object) -> list[str] | None:
    if mountpoints is None:
        return None
    if isinstance(mountpoints, str) or not isinstance(mountpoints, Sequence):
        raise InvalidArgError(f"mount points must be a list of absolute paths, not {mountpoints!r}")
    return [_path_arg(m) for m in mountpoints]


class DomainAgent:
    """The guest agent of one domain. Get it as ``dom.agent``; every call talks to the guest."""

    __slots__ = ("_dom",)

    def __init__(self, dom: Domain) -> None:
        self._dom = dom

    def __repr__(self) -> str:
        return f"<virtcore.DomainAgent of {self._dom.name!r}>"

    # -- the generic command ------------------------------------------------------

    def command(self, json_text: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Send one JSON command (``{"execute": ..., "arguments": {...}}``) and return the
        agent's JSON reply as text. libvirt_qemu: ``qemuAgentCommand``.

        :raises InvalidArgError: ``json_text`` is not one JSON object with ``execute``.
        """
        if isinstance(json_text, bytes):
            json_text = json_text.decode("utf-8", "replace")
        try:
            parsed = json.loads(json_text) if isinstance(json_text, str) else None
        except ValueError as exc:
            raise InvalidArgError(f"agent command is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("execute"), str):
            raise InvalidArgError(f"agent command must be a JSON object with 'execute', not {json_text!r}")
        spec = hookspecs.virt_domain_qemu_agent_command
        conn = self._dom.connection
        r = conn._ops[spec](uuid=self._dom.uuid, command=json.dumps(parsed), timeout=_timeout_arg(timeout))
        return r if r is not None else declined(spec)

    def _call(
        self, execute: str, arguments: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Any:
        """Run ``execute`` and return the value of the reply's ``return``."""
        msg: dict[str, Any] = {"execute": execute}
        if arguments is not None:
            msg["arguments"] = arguments
        reply = json.loads(self.command(json.dumps(msg), timeout))
        if not isinstance(reply, dict) or "return" not in reply:
            raise AgentCommandFailedError(f"{execute}: the agent's reply has no 'return': {reply!r}")
        return reply["return"]

    # -- built on the generic command ---------------------------------------------

    def ping(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Ask the agent whether it is there (``guest-ping``); raises when it is not."""
        self._call("guest-ping", timeout=timeout)

    def exec(
        self,
        argv: Sequence[str],
        input: bytes | None = None,  # noqa: A002 - subprocess's name
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ExecResult:
        """Run ``argv`` in the guest (no shell), wait for it, and return
        ``(exit code, stdout, stderr)``. ``input`` is its standard input.

        A program killed by a signal gives ``-signal`` as exit code.

        :raises AgentCommandTimeoutError: it did not end within ``timeout`` seconds
            (it keeps running in the guest).
        """
        if isinstance(argv, str) or not isinstance(argv, Sequence) or not argv:
            raise InvalidArgError(f"argv must be a non-empty list of strings, not {argv!r}")
        if not all(isinstance(a, str) and "\0" not in a for a in argv):
            raise InvalidArgError(f"argv items must be strings without NUL bytes: {argv!r}")
        if input is not None and not isinstance(input, (bytes, bytearray)):
            raise InvalidArgError(f"input must be bytes, not {type(input).__name__}")
        limit = _timeout_arg(timeout)
        args: dict[str, Any] = {"path": argv[0], "arg": list(argv[1:]), "capture-output": True}
        if input is not None:
            args["input-data"] = base64.b64encode(bytes(input)).decode("ascii")
        deadline = time.monotonic() + limit
        started = self._call("guest-exec", args, timeout=limit)
        pid = started.get("pid") if isinstance(started, dict) else None
        if not isinstance(pid, int):
            raise AgentCommandFailedError(f"guest-exec of {argv[0]!r} gave no pid: {started!r}")
        pause = 0.01
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentCommandTimeoutError(
                    f"{argv[0]!r} (pid {pid} in the guest) did not end within {limit:g} s"
                )
            status = self._call("guest-exec-status", {"pid": pid}, timeout=left)
            if isinstance(status, dict) and status.get("exited"):
                break
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 0.2)
        code = status.get("exitcode")
        if not isinstance(code, int):
            sig = status.get("signal")
            code = -sig if isinstance(sig, int) else -1
        return code, _b64(status.get("out-data")), _b64(status.get("err-data"))

    def file_read(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """The whole content of the guest's file ``path`` (at most :data:`MAX_FILE_BYTES`)."""
        limit = _timeout_arg(timeout)
        handle = self._call("guest-file-open", {"path": _path_arg(path), "mode": "r"}, timeout=limit)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                got = self._call("guest-file-read", {"handle": handle, "count": _READ_CHUNK}, timeout=limit)
                data = _b64(got.get("buf-b64")) if isinstance(got, dict) else b""
                size += len(data)
                if size > MAX_FILE_BYTES:
                    raise InvalidArgError(f"guest file {path!r} is larger than {MAX_FILE_BYTES} bytes")
                chunks.append(data)
                if not isinstance(got, dict) or got.get("eof") or not data:
                    break
        except BaseException:
            self._close_quietly(handle, limit)
            raise
        self._call("guest-file-close", {"handle": handle}, timeout=limit)
        return b"".join(chunks)

    def _close_quietly(self, handle: object, timeout: float) -> None:
        """Close a guest file after a failure, keeping that failure the one raised."""
        try:
            self._call("guest-file-close", {"handle": handle}, timeout=timeout)
        except VirtError:
            pass

    def file_write(self, path: str, data: bytes, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Write ``data`` to the guest's file ``path`` (created or truncated)."""
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidArgError(f"data must be bytes, not {type(data).__name__}")
        limit = _timeout_arg(timeout)
        handle = self._call("guest-file-open", {"path": _path_arg(path), "mode": "w"}, timeout=limit)
        try:
            view = bytes(data)
            for at in range(0, len(view), _WRITE_CHUNK):
                piece = base64.b64encode(view[at : at + _WRITE_CHUNK]).decode("ascii")
                self._call("guest-file-write", {"handle": handle, "buf-b64": piece}, timeout=limit)
            self._call("guest-file-flush", {"handle": handle}, timeout=limit)
        except BaseException:
            self._close_quietly(handle, limit)
            raise
        self._call("guest-file-close", {"handle": handle}, timeout=limit)

    # -- libvirt's typed entry points ---------------------------------------------

    def guest_info(self, types: int = 0) -> dict[str, str | int]:
        """What the agent tells about the guest, with libvirt's keys (``os.id``, ``hostname``,
        ``timezone.name``, ``user.0.name``, ``fs.0.mountpoint``...). libvirt:
        ``virDomainGetGuestInfo``; ``types`` is a mask of :class:`GuestInfoTypes` (0: all).
        """
        if isinstance(types, bool) or not isinstance(types, int) or types < 0 or types & ~_ALL_TYPES:
            raise InvalidArgError(f"unknown guest info types {types!r}")
        spec = hookspecs.virt_domain_get_guest_info
        r = self._dom.connection._ops[spec](uuid=self._dom.uuid, types=int(types))
        return r if r is not None else declined(spec)

    def set_user_password(self, user: str, password: str, crypted: bool = False) -> None:
        """Set ``user``'s password in the guest. libvirt: ``virDomainSetUserPassword``."""
        if not isinstance(password, str) or "\0" in password:
            raise InvalidArgError("password must be a string without NUL bytes")
        spec = hookspecs.virt_domain_set_user_password
        r = self._dom.connection._ops[spec](
            uuid=self._dom.uuid, user=_user_arg(user), password=password, crypted=bool(crypted)
        )
        if r is None:
            declined(spec)

    def fs_freeze(self, mountpoints: Sequence[str] | None = None) -> int:
        """Freeze the guest's file systems (``mountpoints``, default all); how many were frozen.
        libvirt: ``virDomainFSFreeze``."""
        spec = hookspecs.virt_domain_fs_freeze
        r = self._dom.connection._ops[spec](uuid=self._dom.uuid, mountpoints=_mountpoints_arg(mountpoints))
        return r if r is not None else declined(spec)

    def fs_thaw(self, mountpoints: Sequence[str] | None = None) -> int:
        """Thaw the frozen file systems; how many were thawed. libvirt: ``virDomainFSThaw``."""
        spec = hookspecs.virt_domain_fs_thaw
        r = self._dom.connection._ops[spec](uuid=self._dom.uuid, mountpoints=_mountpoints_arg(mountpoints))
        return r if r is not None else declined(spec)

    def get_time(self) -> tuple[int, int]:
        """The guest's clock, ``(seconds, nanoseconds)``. libvirt: ``virDomainGetTime``."""
        spec = hookspecs.virt_domain_get_time
        r = self._dom.connection._ops[spec](uuid=self._dom.uuid)
        return r if r is not None else declined(spec)

    def set_time(self, seconds: int | None = None, nseconds: int = 0, sync: bool = False) -> None:
        """Set the guest's clock; ``sync=True`` without ``seconds``: from its hardware clock.
        libvirt: ``virDomainSetTime``."""
        if seconds is None and not sync:
            raise InvalidArgError("set_time needs seconds, or sync=True")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0):
            raise InvalidArgError(f"seconds must be a non-negative integer, not {seconds!r}")
        if isinstance(nseconds, bool) or not isinstance(nseconds, int) or not 0 <= nseconds < 1_000_000_000:
            raise InvalidArgError(f"nseconds must be 0 .. 999999999, not {nseconds!r}")
        spec = hookspecs.virt_domain_set_time
        r = self._dom.connection._ops[spec](
            uuid=self._dom.uuid, seconds=seconds, nseconds=nseconds, sync=bool(sync)
        )
        if r is None:
            declined(spec)


_ALL_TYPES = int(
    GuestInfoTypes.USERS
    | GuestInfoTypes.OS
    | GuestInfoTypes.TIMEZONE
    | GuestInfoTypes.HOSTNAME
    | GuestInfoTypes.FILESYSTEM
    | GuestInfoTypes.DISKS
    | GuestInfoTypes.INTERFACES
    | GuestInfoTypes.LOAD
)


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise AgentCommandFailedError("the agent sent malformed base64 data") from None
