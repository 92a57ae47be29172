"""The QEMU guest agent: its channel's socket, the agent protocol, and the agent hooks.

A domain with ``<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>``
has a ``virtserialport`` whose host side is a Unix socket QEMU serves (in the
domain's runtime directory when the XML names none). Inside the guest,
``qemu-ga`` reads JSON commands from that port and writes one JSON reply per
line. The guest opening and closing its side is QEMU's ``VSERPORT_CHANGE``
event, shown as ``<target ... state='connected'/>`` in the live XML.

One :class:`AgentLink` per domain and process holds the connection (and the
``agent.lock`` file in the runtime directory, so that only one process talks to
a guest's agent at a time, as libvirt's daemon does). Its calls queue on its own
lock, never on the domain's job: a hung agent holds up agent calls only.
Like libvirt, a link resynchronises before its first command and after any
timeout: it sends ``0xFF`` (which resets the agent's JSON parser) and
``guest-sync-delimited`` with a random id, then skips everything up to the
agent's ``0xFF`` and a reply carrying that id. A command that gets no answer
in time raises ``AgentCommandTimeoutError`` (112) and drops the connection;
a resynchronisation that gets none raises ``AgentUnresponsiveError`` (86).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import socket
import threading
import time
from pathlib import Path
from typing import Any

from virt_qemu.connection import Part
from virt_qemu.hoststate import AGENT_PORT, Dom, agent_channel
from virt_qemu.paths import FileLock
from virt_qemu.process import connect_unix
from virtcore import hookimpl
from virtcore.agent import GuestInfoTypes
from virtcore.errors import (
    AgentCommandFailedError,
    AgentCommandTimeoutError,
    AgentUnresponsiveError,
    ArgumentUnsupportedError,
    OperationInvalidError,
)
from virtcore.network import DomainInterface, InterfaceAddress, InterfaceAddressSource, IPAddrType
from virtcore.types import DomainState

__all__ = ["AGENT_PORT", "AgentLink", "Agent", "agent_channel", "SYNC_TIMEOUT"]

log = logging.getLogger("virt_qemu.agent")


#: Seconds a resynchronisation waits for the agent (libvirt's QEMU_AGENT_WAIT_TIME).
SYNC_TIMEOUT = 5.0

#: A reply longer than this is refused (a guest must not exhaust the host's memory).
MAX_REPLY = 64 << 20


class AgentLink:
    """The connection of this process to one domain's guest agent (see the module's docstring)."""

    def __init__(self, name: str, path: str, lock_path: Path) -> None:
        self.name = name
        self.path = path
        self._flock = FileLock(lock_path)
        #: Agent calls queue here, not on the domain's job.
        self.lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._buf = b""
        self._in_sync = False
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (the domain stopped)."""
        return self._closed

    # -- connection -----------------------------------------------------------------

    def _connect(self) -> socket.socket:
        if self._closed:
            raise AgentUnresponsiveError(f"QEMU guest agent of domain '{self.name}' is not connected")
        if self._sock is not None:
            return self._sock
        if not self._flock.try_acquire():
            raise AgentUnresponsiveError(
                f"the guest agent of domain '{self.name}' is in use by another process"
            )
        try:
            sock = connect_unix(Path(self.path))
        except OSError as exc:
            self._flock.release()
            raise AgentUnresponsiveError(
                f"cannot connect to the guest agent channel of domain '{self.name}': {exc.strerror}"
            ) from None
        self._sock, self._buf, self._in_sync = sock, b"", False
        return sock

    def drop(self) -> None:
        """Forget the connection (the next call reconnects and resynchronises)."""
        sock, self._sock = self._sock, None
        self._buf, self._in_sync = b"", False
        if sock is not None:
            try:
                sock.close()
            finally:
                self._flock.release()

    def close(self) -> None:
        """Close for good (the domain stopped): calls in progress fail, later ones too."""
        self._closed = True
        if self.lock.acquire(blocking=False):
            try:
                self.drop()
            finally:
                self.lock.release()
            return
        sock = self._sock  # a call is in progress: it fails and drops the connection
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- wire -----------------------------------------------------------------------

    def _send(self, sock: socket.socket, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sent = sock.send(view)
            view = view[sent:]

    def _read_more(self, sock: socket.socket, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the agent channel closed")
        self._buf += chunk
        if len(self._buf) > MAX_REPLY:
            raise ConnectionResetError("the agent sent an over-long reply")

    def _line(self, sock: socket.socket, deadline: float) -> bytes:
        while b"\n" not in self._buf:
            self._read_more(sock, deadline)
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def _sync(self, sock: socket.socket, timeout: float) -> None:
        ident = random.randrange(1, 1 << 53)
        deadline = time.monotonic() + timeout
        msg = json.dumps({"execute": "guest-sync-delimited", "arguments": {"id": ident}}).encode()
        self._send(sock, b"\xff" + msg + b"\n", deadline)
        while True:
            while b"\xff" not in self._buf:
                self._buf = b""
                self._read_more(sock, deadline)
            self._buf = self._buf[self._buf.index(b"\xff") + 1 :]
            line = self._line(sock, deadline)
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if isinstance(reply, dict) and reply.get("return") == ident:
                self._in_sync = True
                return

    def call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``message`` and return the agent's reply object (``{"return": ...}``).

        :raises AgentUnresponsiveError: no connection, or no answer to the resynchronisation.
        :raises AgentCommandTimeoutError: no answer to the command within ``timeout`` s.
        :raises AgentCommandFailedError: the agent answered with an error.
        """
        what = str(message.get("execute"))
        start = time.monotonic()
        if not self.lock.acquire(timeout=timeout):
            raise AgentCommandTimeoutError(
                f"{what}: an earlier agent command of domain '{self.name}' still runs after {timeout:g} s"
            )
        try:
            sock = self._connect()
            if not self._in_sync:
                try:
                    self._sync(sock, min(SYNC_TIMEOUT, timeout))
                except (TimeoutError, OSError) as exc:
                    self.drop()
                    detail = "no answer" if isinstance(exc, TimeoutError) else str(exc)
                    raise AgentUnresponsiveError(
                        f"the guest agent of domain '{self.name}' did not resynchronise ({detail})"
                    ) from None
            deadline = start + timeout
            try:
                self._send(sock, json.dumps(message).encode() + b"\n", deadline)
                while True:
                    line = self._line(sock, deadline)
                    try:
                        reply = json.loads(line)
                    except ValueError:
                        continue  # the rest of a reply we gave up on earlier
                    if isinstance(reply, dict) and ("return" in reply or "error" in reply):
                        break
            except TimeoutError:
                self.drop()
                raise AgentCommandTimeoutError(
                    f"{what}: the guest agent of domain '{self.name}' did not answer within {timeout:g} s"
                ) from None
            except OSError as exc:
                self.drop()
                raise AgentUnresponsiveError(f"guest agent of domain '{self.name}': {exc}") from None
        finally:
            self.lock.release()
        if "error" in reply:
            err = reply.get("error")
            desc = err.get("desc") if isinstance(err, dict) else err
            raise AgentCommandFailedError(f"{what}: {desc}")
        return reply


def _ret(
    link: AgentLink, execute: str, arguments: dict[str, Any] | None = None, timeout: float = 30.0
) -> Any:
    msg: dict[str, Any] = {"execute": execute}
    if arguments is not None:
        msg["arguments"] = arguments
    return link.call(msg, timeout).get("return")


def _optional(link: AgentLink, execute: str, timeout: float) -> Any:
    """The command's return, or ``None`` when this agent does not have or allow it (libvirt skips it)."""
    try:
        return _ret(link, execute, timeout=timeout)
    except AgentCommandFailedError as exc:
        log.debug("guest info: %s", exc)
        return None


class Agent(Part):
    """The guest-agent hooks of a ``qemu://`` connection."""

    def _link(self, uuid: str) -> AgentLink:
        """The domain's agent link: running, with an agent channel whose guest side is not closed."""
        h = self.host
        dom = h.get(uuid)
        if not dom.active:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        if dom.state != DomainState.RUNNING:
            raise OperationInvalidError(f"domain '{dom.name}' is not running (its vCPUs are paused)")
        return self._link_of(dom)

    def _link_of(self, dom: Dom) -> AgentLink:
        h = self.host
        with h.lock:
            link = dom.agent
            if isinstance(link, AgentLink) and not link.closed:
                self._check_connected(dom)
                return link
            live = dom.live
            ch = agent_channel(live) if live is not None else None
            if ch is None or ch.type != "unix" or not ch.source_path:
                raise AgentUnresponsiveError(f"QEMU guest agent is not configured for domain '{dom.name}'")
            self._check_connected(dom)
            link = AgentLink(dom.name, ch.source_path, h.run_dir(dom.uuid) / "agent.lock")
            dom.agent = link
            return link

    @staticmethod
    def _check_connected(dom: Dom) -> None:
        ch = agent_channel(dom.live) if dom.live is not None else None
        if ch is not None and ch.target_state == "disconnected":
            raise AgentUnresponsiveError(f"QEMU guest agent is not connected in domain '{dom.name}'")

    @hookimpl
    def virt_domain_qemu_agent_command(self, uuid: str, command: str, timeout: float) -> str:
        """Pass the JSON command through; the whole reply back as JSON."""
        return json.dumps(self._link(uuid).call(json.loads(command), timeout))

    @hookimpl
    def virt_domain_get_guest_info(self, uuid: str, types: int) -> dict[str, str | int]:
        """libvirt's keys from guest-get-osinfo, -host-name, -timezone, -users, -fsinfo, network."""
        link = self._link(uuid)
        want = GuestInfoTypes(types or 0xFF)
        info: dict[str, str | int] = {}
        t = 30.0
        if GuestInfoTypes.USERS in want:
            users = _optional(link, "guest-get-users", t)
            if isinstance(users, list):
                info["user.count"] = len(users)
                for i, u in enumerate(users):
                    info[f"user.{i}.name"] = str(u.get("user", ""))
                    if u.get("domain"):
                        info[f"user.{i}.domain"] = str(u["domain"])
                    if isinstance(u.get("login-time"), (int, float)):
                        info[f"user.{i}.login-time"] = int(u["login-time"] * 1000)
        if GuestInfoTypes.OS in want:
            osinfo = _optional(link, "guest-get-osinfo", t)
            if isinstance(osinfo, dict):
                for key in ("id", "name", "pretty-name", "version", "version-id", "kernel-release",
                            "kernel-version", "machine", "variant", "variant-id"):  # fmt: skip
                    if osinfo.get(key) is not None:
                        info[f"os.{key}"] = str(osinfo[key])
        if GuestInfoTypes.TIMEZONE in want:
            tz = _optional(link, "guest-get-timezone", t)
            if isinstance(tz, dict):
                if tz.get("zone"):
                    info["timezone.name"] = str(tz["zone"])
                if isinstance(tz.get("offset"), int):
                    info["timezone.offset"] = int(tz["offset"])
        if GuestInfoTypes.HOSTNAME in want:
            hn = _optional(link, "guest-get-host-name", t)
            if isinstance(hn, dict) and hn.get("host-name"):
                info["hostname"] = str(hn["host-name"])
        if GuestInfoTypes.FILESYSTEM in want:
            fss = _optional(link, "guest-get-fsinfo", t)
            if isinstance(fss, list):
                info["fs.count"] = len(fss)
                for i, fs in enumerate(fss):
                    info[f"fs.{i}.mountpoint"] = str(fs.get("mountpoint", ""))
                    info[f"fs.{i}.name"] = str(fs.get("name", ""))
                    info[f"fs.{i}.fstype"] = str(fs.get("type", ""))
                    for src, dst in (("total-bytes", "total-bytes"), ("used-bytes", "used-bytes")):
                        if isinstance(fs.get(src), int):
                            info[f"fs.{i}.{dst}"] = int(fs[src])
                    disks = fs.get("disk") if isinstance(fs.get("disk"), list) else []
                    info[f"fs.{i}.disk.count"] = len(disks)
        if GuestInfoTypes.DISKS in want:
            disks = _optional(link, "guest-get-disks", t)
            if isinstance(disks, list):
                info["disk.count"] = len(disks)
                for i, disk in enumerate(disks):
                    info[f"disk.{i}.name"] = str(disk.get("name", ""))
                    info[f"disk.{i}.partition"] = bool(disk.get("partition"))
                    deps = disk.get("dependencies") if isinstance(disk.get("dependencies"), list) else []
                    info[f"disk.{i}.dependency.count"] = len(deps)
                    for j, dep in enumerate(deps):
                        info[f"disk.{i}.dependency.{j}.name"] = str(dep)
                    address = disk.get("address") if isinstance(disk.get("address"), dict) else {}
                    if address.get("serial"):
                        info[f"disk.{i}.serial"] = str(address["serial"])
        if GuestInfoTypes.INTERFACES in want:
            ifaces = self._interfaces(link)
            info["if.count"] = len(ifaces)
            for i, iface in enumerate(ifaces):
                info[f"if.{i}.name"] = iface.name
                if iface.hwaddr:
                    info[f"if.{i}.hwaddr"] = iface.hwaddr
                info[f"if.{i}.addr.count"] = len(iface.addrs)
                for j, a in enumerate(iface.addrs):
                    info[f"if.{i}.addr.{j}.type"] = "ipv6" if a.type == IPAddrType.IPV6 else "ipv4"
                    info[f"if.{i}.addr.{j}.addr"] = a.addr
                    info[f"if.{i}.addr.{j}.prefix"] = a.prefix
        return info

    @hookimpl
    def virt_domain_set_user_password(self, uuid: str, user: str, password: str, crypted: bool) -> bool:
        """guest-set-user-password (the password base64-encoded in the JSON, never on a command line)."""
        pw = base64.b64encode(password.encode()).decode("ascii")
        _ret(
            self._link(uuid),
            "guest-set-user-password",
            {"username": user, "password": pw, "crypted": crypted},
        )
        return True

    @hookimpl
    def virt_domain_fs_freeze(self, uuid: str, mountpoints: list[str] | None) -> int:
        """guest-fsfreeze-freeze, or -freeze-list for some mount points."""
        link = self._link(uuid)
        if mountpoints is None:
            n = _ret(link, "guest-fsfreeze-freeze")
        else:
            n = _ret(link, "guest-fsfreeze-freeze-list", {"mountpoints": mountpoints})
        return int(n) if isinstance(n, int) else 0

    @hookimpl
    def virt_domain_fs_thaw(self, uuid: str, mountpoints: list[str] | None) -> int:
        """guest-fsfreeze-thaw (the agent thaws everything it froze, so, as libvirt's QEMU
        driver, no mount points)."""
        if mountpoints:
            raise ArgumentUnsupportedError("specifying mountpoints is not supported")
        n = _ret(self._link(uuid), "guest-fsfreeze-thaw")
        return int(n) if isinstance(n, int) else 0

    @hookimpl
    def virt_domain_get_time(self, uuid: str) -> tuple[int, int]:
        """guest-get-time (nanoseconds) split into seconds and nanoseconds."""
        ns = _ret(self._link(uuid), "guest-get-time")
        if not isinstance(ns, int):
            raise AgentCommandFailedError(f"guest-get-time: unexpected answer {ns!r}")
        return ns // 1_000_000_000, ns % 1_000_000_000

    @hookimpl
    def virt_domain_set_time(self, uuid: str, seconds: int | None, nseconds: int, sync: bool) -> bool:
        """guest-set-time: to the given time, or (no time) from the guest's hardware clock."""
        args = None if seconds is None else {"time": seconds * 1_000_000_000 + nseconds}
        _ret(self._link(uuid), "guest-set-time", args)
        return True

    @hookimpl
    def virt_domain_interface_addresses(
        self, uuid: str, source: InterfaceAddressSource
    ) -> list[DomainInterface] | None:
        """The agent source (guest-network-get-interfaces); the other sources are declined."""
        if source != InterfaceAddressSource.AGENT:
            return None
        return [i for i in self._interfaces(self._link(uuid)) if i.addrs]

    @staticmethod
    def _interfaces(link: AgentLink) -> list[DomainInterface]:
        found: list[DomainInterface] = []
        got = _ret(link, "guest-network-get-interfaces")
        for iface in got if isinstance(got, list) else []:
            addrs = []
            for a in iface.get("ip-addresses") or []:
                kind = IPAddrType.IPV6 if a.get("ip-address-type") == "ipv6" else IPAddrType.IPV4
                if isinstance(a.get("ip-address"), str) and isinstance(a.get("prefix"), int):
                    addrs.append(InterfaceAddress(kind, a["ip-address"], a["prefix"]))
            hw = iface.get("hardware-address")
            found.append(
                DomainInterface(
                    str(iface.get("name", "")), hw.lower() if isinstance(hw, str) else None, tuple(addrs)
                )
            )
        return found
