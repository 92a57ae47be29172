"""``virtcore serve``: virtcore connections offered over libvirt's RPC protocol.

A :class:`Server` serves a fixed list of virtcore URIs. Clients reach it on
unix sockets (read-write or read-only, guarded by the socket file's owner
and mode, with libvirt's AUTH_NONE) or on stdin/stdout (``--stdio``, for an
ssh ``command=``). Each client is a :class:`Session`: its calls run the
core's API in worker threads and are answered by serial as they finish;
keepalive PINGs are answered with PONGs; events registered with the
callback variants go out as MESSAGE packets. A failure of a call goes back
as libvirt's error structure; a client breaking the protocol (garbage, a
hostile length) is disconnected with the error logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import virtcore
from virtcore.connection import Connection
from virtcore.errors import (
    NoConnectError,
    NoSupportError,
    OperationDeniedError,
    RPCError,
    SystemError_,
    VirtError,
)
from virtcore.rpc.message import Header, MessageStatus, MessageType, pack_message, read_message
from virtcore.rpc.protocol import KEEPALIVE, REMOTE
from virtcore.server import domains, objects, registry

#: The modules whose import registers the procedures' handlers.
_PROCEDURE_MODULES = (domains, objects)

__all__ = ["Server", "Session", "ServedURI"]

log = logging.getLogger("virtcore.server")

#: ``VIR_CONNECT_RO``: the client's open asks for read-only access.
CONNECT_RO = 1


class ServedURI:
    """One URI the server offers: its text, and the connections opened on it (one rw, one ro)."""

    def __init__(self, uri: str, aliases: tuple[str, ...] = ()) -> None:
        self.uri = uri
        #: The names clients may ask for it by: libvirt's remote driver sends the URI without
        #: its transport and ``socket=`` (``qemu:///embed?root=DIR`` is asked for as
        #: ``qemu:///embed``), and aliases (``qemu:///system``: libvirt's clients refuse to send
        #: an ``/embed`` URI to a daemon).
        self.names = frozenset((uri, uri.split("?", 1)[0], *aliases))
        self._lock = threading.Lock()
        self._conns: dict[bool, Connection] = {}

    def matches(self, name: str) -> bool:
        """Whether a client's requested URI names this one."""
        return name in self.names

    def connection(self, read_only: bool) -> Connection:
        """The shared connection (opened on first use)."""
        with self._lock:
            conn = self._conns.get(read_only)
            if conn is None or conn.closed:
                conn = virtcore.open_read_only(self.uri) if read_only else virtcore.open(self.uri)
                self._conns[read_only] = conn
            return conn

    def close(self) -> None:
        """Close the connections opened on this URI."""
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            with contextlib.suppress(VirtError):
                conn.close()


class Session:
    """One client: its connection, its event callbacks, the writer its replies go to."""

    def __init__(self, server: Server, writer: Callable[[bytes], None], read_only: bool, peer: str) -> None:
        self.server = server
        self._write = writer
        #: Whether the socket the client came in on is read-only.
        self.socket_read_only = read_only
        self.peer = peer
        self.conn: Connection | None = None
        self.served: ServedURI | None = None
        #: Client callback id -> (event id, domain uuid filter or None, core callback id).
        self.callbacks: dict[int, tuple[int, str | None, int]] = {}
        self._next_callback = 0
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self._event_serial = 0

    # -- the connection --------------------------------------------------------

    def open(self, name: str | None, flags: int) -> None:
        """CONNECT_OPEN: bind the session to the served URI the client named."""
        if self.conn is not None:
            raise OperationDeniedError("connection already open")
        served = self.server.lookup(name)
        read_only = self.socket_read_only or bool(flags & CONNECT_RO)
        self.conn = served.connection(read_only)
        self.served = served

    def close_connection(self) -> None:
        """CONNECT_CLOSE: drop the callbacks; the shared connection stays open for other clients."""
        for cid in list(self.callbacks):
            with contextlib.suppress(VirtError):
                self.remove_callback(cid)
        self.conn = None
        self.served = None

    def connection(self) -> Connection:
        """The open connection; before CONNECT_OPEN, libvirt's "connection not open" error."""
        if self.conn is None:
            raise RPCError("connection not open")
        return self.conn

    def add_callback(self, event_id: int, uuid: str | None) -> int:
        """A new client callback id whose events this session sends."""
        conn = self.connection()
        self._next_callback += 1
        cid = self._next_callback

        def relay(dom: Any, event: int, detail: int) -> None:
            if uuid is not None and dom.uuid != uuid:
                return
            self.loop.call_soon_threadsafe(self.send_lifecycle, cid, dom, int(event), int(detail))

        core_id = conn.on_domain_event(relay) if event_id == registry.EVENT_ID_LIFECYCLE else -1
        self.callbacks[cid] = (event_id, uuid, core_id)
        return cid

    def remove_callback(self, cid: int) -> None:
        """Drop a client callback."""
        from virtcore.errors import InvalidArgError

        entry = self.callbacks.pop(cid, None)
        if entry is None:
            raise InvalidArgError(f"no domain event callback with id {cid}")
        if entry[2] >= 0 and self.conn is not None:
            with contextlib.suppress(VirtError):
                self.conn.remove_domain_event(entry[2])

    def send_lifecycle(self, cid: int, dom: Any, event: int, detail: int) -> None:
        """Send a lifecycle event to the client (on the loop)."""
        if self.closed or cid not in self.callbacks:
            return
        msg = {
            "callbackID": cid,
            "msg": {"dom": registry.wire_domain(dom, -1), "event": event, "detail": detail},
        }
        self.send(REMOTE.event("DOMAIN_EVENT_CALLBACK_LIFECYCLE", msg))

    def send(self, data: bytes) -> None:
        """Write one whole message to the client."""
        if not self.closed:
            self._write(data)

    # -- dispatch --------------------------------------------------------------

    async def handle(self, header: Header, payload: bytes) -> None:
        """Answer one message."""
        if KEEPALIVE.owns(header):
            if header.proc == KEEPALIVE.procedure("PING").number:
                self.send(KEEPALIVE.event("PONG", None))
            return
        if not REMOTE.owns(header):
            if header.type == MessageType.CALL:
                self.send(
                    pack_message(
                        header.reply(MessageStatus.ERROR),
                        _encode_error(RPCError(f"unknown program {header.prog:#x} version {header.vers}")),
                    )
                )
            return
        if header.type != MessageType.CALL:
            return  # streams are not served; asynchronous messages from a client mean nothing
        try:
            proc = REMOTE.procedure(header.proc)
        except RPCError:
            self.send(REMOTE_error(header, NoSupportError(f"unknown procedure: {header.proc}")))
            return
        handler = registry.HANDLERS.get(proc.name)
        if handler is None:
            log.debug("client %s called %s, which is not served", self.peer, proc.name)
            self.send(
                REMOTE_error(header, NoSupportError(f"procedure {proc.name} is not served by virtcore"))
            )
            return
        try:
            args = proc.decode_args(payload)
            if handler.inline:
                ret = handler.fn(self, args)
            else:
                ret = await asyncio.to_thread(handler.fn, self, args)
            reply = pack_message(header.reply(), proc.encode_ret(ret))
        except Exception as exc:  # every failure goes back as libvirt's error structure
            if not isinstance(exc, VirtError):
                log.exception("%s failed for %s", proc.name, self.peer)
            reply = REMOTE_error(header, exc)
        self.send(reply)

    def close(self) -> None:
        """Forget the client: its callbacks stop."""
        self.close_connection()
        self.closed = True


def _encode_error(exc: BaseException) -> bytes:
    from virtcore.rpc.errors import encode_error

    return encode_error(exc)


def REMOTE_error(header: Header, exc: BaseException) -> bytes:  # noqa: N802 - reads as what it builds
    """An ERROR reply of the remote program to ``header``'s call."""
    return pack_message(header.reply(MessageStatus.ERROR), _encode_error(exc))


class Server:
    """Serves virtcore URIs to libvirt clients."""

    def __init__(self, uris: list[str], aliases: dict[str, str] | None = None) -> None:
        """Serve ``uris``; ``aliases`` maps a name clients ask for to one of them (added if missing)."""
        aliases = aliases or {}
        uris = list(uris) + [u for u in aliases.values() if u not in uris]
        if not uris:
            raise NoConnectError("virtcore serve needs at least one --uri to serve")
        self.served = [ServedURI(u, tuple(a for a, target in aliases.items() if target == u)) for u in uris]
        self.sessions: set[Session] = set()
        self._servers: list[asyncio.AbstractServer] = []
        self._paths: list[Path] = []

    def lookup(self, name: str | None) -> ServedURI:
        """The served URI a client asks for (empty or none: the first); else NO_CONNECT naming it."""
        if not name:
            return self.served[0]
        for served in self.served:
            if served.matches(name):
                return served
        raise NoConnectError(f"{name} (this server serves {', '.join(s.uri for s in self.served)})")

    async def run_session(
        self, reader: asyncio.StreamReader, write: Callable[[bytes], None], read_only: bool, peer: str
    ) -> None:
        """Read a client's messages until it leaves or breaks the protocol."""
        session = Session(self, write, read_only, peer)
        self.sessions.add(session)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                try:
                    msg = await read_message(reader)
                except RPCError as exc:
                    log.warning("client %s: %s", peer, exc)
                    break
                except (ConnectionError, OSError):
                    break
                if msg is None:
                    break
                header, payload = msg
                if registry.is_ordered(header):
                    await session.handle(header, payload)
                    continue
                task = asyncio.create_task(session.handle(header, payload))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            session.close()
            self.sessions.discard(session)
            for task in list(tasks):
                task.cancel()

    async def _on_unix_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, read_only: bool
    ) -> None:
        sock = writer.get_extra_info("socket")
        peer = "unix"
        with contextlib.suppress(OSError, AttributeError):
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            pid, uid, _gid = (int.from_bytes(creds[i : i + 4], sys.byteorder) for i in (0, 4, 8))
            peer = f"pid {pid} uid {uid}"
        try:
            await self.run_session(reader, writer.write, read_only, peer)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def listen_unix(
        self, path: str | os.PathLike[str], *, read_only: bool = False, mode: int | None = None
    ) -> None:
        """Listen on a unix socket at ``path`` (mode 0600 read-write, 0666 read-only unless given).

        An existing socket file is replaced only if nothing answers on it; any
        other file there is refused.
        """
        p = Path(path)
        if not p.is_absolute():
            p = Path.cwd() / p
        if p.exists() or p.is_symlink():
            if not stat.S_ISSOCK(p.lstat().st_mode):
                raise SystemError_(f"refusing to replace '{p}': it is not a socket")
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(p))
                except OSError:
                    p.unlink()
                else:
                    raise SystemError_(f"a server is already listening on '{p}'")
        perm = mode if mode is not None else (0o666 if read_only else 0o600)
        old = os.umask(0o777 & ~perm)
        try:
            server = await asyncio.start_unix_server(
                lambda r, w: self._on_unix_client(r, w, read_only), path=str(p), limit=2**16
            )
        finally:
            os.umask(old)
        os.chmod(p, perm)
        self._servers.append(server)
        self._paths.append(p)
        log.info("listening on %s (%s, mode %o)", p, "read-only" if read_only else "read-write", perm)

    async def serve_stdio(self, read_only: bool = False) -> None:
        """Serve one client on stdin/stdout (ssh's ``command=``) until it leaves.

        The protocol gets its own copies of the two descriptors; file
        descriptor 1 is pointed at stderr, so nothing printed by accident
        can corrupt the stream.
        """
        loop = asyncio.get_running_loop()
        in_stat, out_stat = os.fstat(0), os.fstat(1)
        if stat.S_ISSOCK(in_stat.st_mode) and (in_stat.st_dev, in_stat.st_ino) == (
            out_stat.st_dev,
            out_stat.st_ino,
        ):
            # one socket both ways (libvirt's ext transport, some sshd builds): a stream over it, since
            # a write-pipe transport would take the socket's incoming data for the peer's hang-up
            sock = socket.socket(fileno=os.dup(0))
            os.dup2(2, 1)
            reader, writer = await asyncio.open_connection(sock=sock, limit=2**16)
            transport: asyncio.BaseTransport = writer.transport
        else:
            rfile = os.fdopen(os.dup(0), "rb", buffering=0)
            wfile = os.fdopen(os.dup(1), "wb", buffering=0)
            os.dup2(2, 1)
            reader = asyncio.StreamReader(limit=2**16)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), rfile)
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, wfile)
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)  # type: ignore[arg-type]
        try:
            await self.run_session(reader, writer.write, read_only, "stdio")
            with contextlib.suppress(Exception):
                await writer.drain()
        finally:
            transport.close()

    async def serve_forever(self) -> None:
        """Serve the listening sockets until cancelled."""
        try:
            await asyncio.gather(*(s.serve_forever() for s in self._servers))
        finally:
            self.close()

    def close(self) -> None:
        """Stop listening, remove the socket files, close the served connections."""
        for server in self._servers:
            server.close()
        for p in self._paths:
            with contextlib.suppress(OSError):
                p.unlink()
        self._servers, self._paths = [], []
        for served in self.served:
            served.close()
