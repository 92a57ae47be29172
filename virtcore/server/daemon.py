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
import collections
import contextlib
import logging
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Coroutine
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
from virtcore.rpc.message import FrameReader, Header, MessageStatus, MessageType, pack_message
from virtcore.rpc.protocol import KEEPALIVE, REMOTE
from virtcore.server import calls, domains, guest, host, objects, objevents, registry, stats, tunables
from virtcore.server.streams import Stream, open_stream

#: The modules whose import registers the procedures' handlers.
_PROCEDURE_MODULES = (calls, domains, guest, host, objects, objevents, stats, tunables)

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


#: An event's MESSAGE fields but ``callbackID``, or a function giving them (run in a worker thread).
EventBody = dict[str, Any] | Callable[[], dict[str, Any]]
#: How a callback subscribes: ``listen(conn, send)`` -> the core's callback id (-1: none).
Listen = Callable[[Connection, Callable[[str, EventBody], None]], int]


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
        #: Client callback id -> (its family, ``"domain"``, ``"network"``..., core callback id).
        self.callbacks: dict[int, tuple[str, int]] = {}
        self._next_callback = 0
        self.loop = asyncio.get_running_loop()
        self.closed = False
        #: The client speaks the keepalive program (it asked about it): ping it while it is silent.
        self.keepalive = False
        self._events: asyncio.Queue[tuple[int, str, EventBody]] | None = None
        self._event_task: asyncio.Task[None] | None = None
        #: Volume transfers under way, by their call's serial; and those whose REPLY is not out yet.
        self.streams: dict[int, Stream] = {}
        self.pending_streams: list[Stream] = []
        #: Set by the client's protocol: hold(reason, on) stops reading the client while any reason holds.
        self.hold: Callable[[str, bool], None] = lambda reason, on: None
        self._can_write = asyncio.Event()
        self._can_write.set()
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
        for cid, (family, _) in list(self.callbacks.items()):
            with contextlib.suppress(VirtError):
                self.remove_callback(family, cid)
        self.conn = None
        self.served = None

    def connection(self) -> Connection:
        """The open connection; before CONNECT_OPEN, libvirt's "connection not open" error."""
        if self.conn is None:
            raise RPCError("connection not open")
        return self.conn

    def add_callback(self, family: str, listen: Listen) -> int:
        """A new client callback id, whose events ``listen`` subscribes to on the connection.

        ``listen(conn, send)`` registers with the core and gives the core's
        callback id; its callback calls ``send(procedure, body)`` (any thread)
        with the MESSAGE procedure and its fields but ``callbackID``, or with a
        function giving them that is run in a worker thread (it may ask the
        driver). ``family`` (``"domain"``, ``"network"``...) names the callback
        in errors.
        """
        conn = self.connection()
        self._next_callback += 1
        cid = self._next_callback

        def send(procedure: str, body: EventBody) -> None:
            self.loop.call_soon_threadsafe(self._queue_event, cid, procedure, body)

        self.callbacks[cid] = (family, listen(conn, send))
        return cid

    def remove_callback(self, family: str, cid: int) -> None:
        """Drop a client callback (libvirt's error when it has none of ``family`` by that id)."""
        from virtcore.errors import InternalError

        entry = self.callbacks.get(cid)
        if entry is None or entry[0] != family:
            raise InternalError(f"{family} event callback {cid} not registered")
        del self.callbacks[cid]
        if entry[1] >= 0 and self.conn is not None:
            with contextlib.suppress(VirtError):
                self.conn.remove_domain_event(entry[1])

    def _queue_event(self, cid: int, procedure: str, body: EventBody) -> None:
        """Queue an event for the client (on the loop); they go out in the order they came."""
        if self.closed or cid not in self.callbacks:
            return
        if self._events is None:
            self._events = asyncio.Queue()
            self._event_task = self.loop.create_task(self._send_events(self._events))
        self._events.put_nowait((cid, procedure, body))

    async def _send_events(self, events: asyncio.Queue[tuple[int, str, EventBody]]) -> None:
        while True:
            cid, procedure, body = await events.get()
            # a body that asks the driver (a domain's id) runs in a worker thread: the event came
            # from the driver's own thread, which may hold its locks
            fields = await asyncio.to_thread(body) if callable(body) else body
            if self.closed:
                return
            if cid in self.callbacks:
                self.send(REMOTE.event(procedure, {"callbackID": cid, **fields}))

    def send(self, data: bytes) -> None:
        """Write one whole message to the client."""
        if not self.closed:
            self._write(data)

    @property
    def read_only(self) -> bool:
        """Whether the client's connection is read-only."""
        return self.conn is not None and self.conn.read_only

    def can_write(self, ok: bool) -> None:
        """The client's socket buffer drained (``True``) or filled up."""
        if ok:
            self._can_write.set()
        else:
            self._can_write.clear()

    async def writable(self) -> None:
        """Wait until the client's socket buffer has room."""
        await self._can_write.wait()

    def start_streams(self) -> None:
        """Start the transfers whose REPLY went out."""
        while self.pending_streams:
            stream = self.pending_streams.pop(0)
            self.streams[stream.call.serial] = stream
            stream.start()

    # -- dispatch --------------------------------------------------------------

    def route(self, header: Header, payload: bytes) -> Callable[[], bytes] | None:
        """Answer a message now if it needs no worker thread; else give the job that answers it.

        Keepalive, protocol errors, procedures that touch no driver and those the
        :class:`Pacer` has seen answer fast are answered here, on the event loop; the
        job returned (run in a worker thread by the caller) gives the reply.
        """
        if KEEPALIVE.owns(header):
            if header.proc == KEEPALIVE.procedure("PING").number:
                self.send(KEEPALIVE.event("PONG", None))
            return None
        if not REMOTE.owns(header):
            if header.type == MessageType.CALL:
                self.send(
                    REMOTE_error(header, RPCError(f"unknown program {header.prog:#x} version {header.vers}"))
                )
            return None
        if header.type == MessageType.STREAM:
            stream = self.streams.get(header.serial)
            if stream is not None and stream.call.proc == header.proc:
                stream.on_message(header, payload)
            return None  # data of a transfer that ended (after an error): dropped, as libvirtd does
        if header.type != MessageType.CALL:
            return None  # asynchronous messages from a client mean nothing
        try:
            proc = REMOTE.procedure(header.proc)
        except RPCError:
            self.send(REMOTE_error(header, NoSupportError(f"unknown procedure: {header.proc}")))
            return None
        if proc.name in ("STORAGE_VOL_UPLOAD", "STORAGE_VOL_DOWNLOAD"):

            def open_transfer() -> bytes:
                try:
                    return open_stream(self, header, proc.name, proc.decode_args(payload))
                except Exception as exc:
                    return REMOTE_error(header, exc)

            return open_transfer
        handler = registry.HANDLERS.get(proc.name)
        if handler is None:
            log.debug("client %s called %s, which is not served", self.peer, proc.name)
            self.send(
                REMOTE_error(header, NoSupportError(f"procedure {proc.name} is not served by virtcore"))
            )
            return None
        key = (self.served.uri if self.served is not None else None, proc.name)

        def answer() -> bytes:
            try:
                args = proc.decode_args(payload)
                ret = handler.fn(self, args)
                return pack_message(header.reply(), proc.encode_ret(ret))
            except Exception as exc:  # every failure goes back as libvirt's error structure
                if not isinstance(exc, VirtError):
                    log.exception("%s failed for %s", proc.name, self.peer)
                return REMOTE_error(header, exc)

        if handler.inline:
            self.send(answer())
            return None
        if self.server.pacer.fast(key):
            self.send(self.server.pacer.timed(key, answer))
            return None
        return lambda: self.server.pacer.timed(key, answer)

    async def handle(self, header: Header, payload: bytes) -> None:
        """Answer one message, in a worker thread when it may block."""
        job = self.route(header, payload)
        if job is not None:
            self.send(await asyncio.to_thread(job))

    def close(self) -> None:
        """Forget the client: its callbacks stop, its transfers are aborted."""
        self.close_connection()
        self.closed = True
        if self._event_task is not None:
            self._event_task.cancel()
        self._can_write.set()
        for stream in list(self.streams.values()):
            stream.on_message(stream.header(MessageStatus.ERROR), b"")


class ClientProtocol(asyncio.Protocol):
    """One client's byte stream: messages cut by a :class:`FrameReader`, routed by its :class:`Session`.

    Calls that need a worker thread run concurrently and are answered as they
    finish; those that change the session (open, close, auth) hold back the
    messages after them until answered. A client whose replies pile up unread
    is not read from until they drain; one that breaks the protocol is
    disconnected, the error logged.
    """

    def __init__(self, server: Server, read_only: bool, write: Callable[[bytes], None] | None) -> None:
        self.server = server
        self.read_only = read_only
        self._write = write
        self.transport: asyncio.BaseTransport | None = None
        self.session: Session | None = None
        self.frames = FrameReader()
        self.queue: collections.deque[tuple[Header, bytes]] = collections.deque()
        self.busy = False
        self._holds: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the session."""
        self.transport = transport
        peer = "stdio"
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family == socket.AF_UNIX:
            peer = "unix"
            with contextlib.suppress(OSError):
                creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                pid, uid, _gid = (int.from_bytes(creds[i : i + 4], sys.byteorder) for i in (0, 4, 8))
                peer = f"pid {pid} uid {uid}"
        write = self._write
        if write is None:
            assert isinstance(transport, asyncio.WriteTransport)
            write = transport.write
        self.session = Session(self.server, write, self.read_only, peer)
        self.session.hold = self.hold
        self.server.sessions.add(self.session)
        self.last_heard = asyncio.get_running_loop().time()
        if self.server.keepalive_interval > 0:
            self._spawn(self._keepalive())

    async def _keepalive(self) -> None:
        """libvirtd's keepalive: a silent client that speaks the program is pinged every interval,
        and one that stays silent through ``keepalive_count`` pings is disconnected."""
        interval, count = self.server.keepalive_interval, self.server.keepalive_count
        loop = asyncio.get_running_loop()
        missed, last_ping = 0, 0.0
        while self.session is not None and not self.session.closed:
            await asyncio.sleep(interval)
            if self.last_heard >= last_ping:
                missed = 0  # heard from since the last ping (whatever the loop's jitter)
            if not self.session.keepalive or loop.time() - self.last_heard < interval:
                continue
            if missed >= count:
                log.warning(
                    "client %s: no answer to %d keepalive pings, disconnecting", self.session.peer, count
                )
                self.close()
                return
            last_ping = loop.time()
            self.session.send(KEEPALIVE.event("PING", None))
            missed += 1

    def data_received(self, data: bytes) -> None:
        """Cut messages out of the stream and answer them."""
        assert self.session is not None
        self.last_heard = asyncio.get_running_loop().time()
        try:
            self.queue.extend(self.frames.feed(data))
        except RPCError as exc:
            log.warning("client %s: %s", self.session.peer, exc)
            self.close()
            return
        self._drain()

    def _drain(self) -> None:
        assert self.session is not None
        while self.queue and not self.busy and not self.session.closed:
            header, payload = self.queue.popleft()
            job = self.session.route(header, payload)
            if job is None:
                continue
            if registry.is_ordered(header):
                self.busy = True
                self.hold("ordered call", True)
                self._spawn(self._ordered(job))
            else:
                self._spawn(self._reply(job))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _reply(self, job: Callable[[], bytes]) -> None:
        reply = await asyncio.to_thread(job)
        assert self.session is not None
        self.session.send(reply)
        self.session.start_streams()

    async def _ordered(self, job: Callable[[], bytes]) -> None:
        try:
            await self._reply(job)
        finally:
            self.busy = False
            self.hold("ordered call", False)
            self._drain()

    def hold(self, reason: str, on: bool) -> None:
        """Stop reading the client while any reason holds (an ordered call, unread replies, a full upload)."""
        before = bool(self._holds)
        if on:
            self._holds.add(reason)
        else:
            self._holds.discard(reason)
        after = bool(self._holds)
        if (
            before != after
            and isinstance(self.transport, asyncio.ReadTransport)
            and not self.transport.is_closing()
        ):
            if after:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def pause_writing(self) -> None:
        """The client is not reading its replies: stop reading its calls and sending its downloads."""
        self.hold("unread replies", True)
        if self.session is not None:
            self.session.can_write(False)

    def resume_writing(self) -> None:
        """Its replies drained: read on."""
        self.hold("unread replies", False)
        if self.session is not None:
            self.session.can_write(True)

    def eof_received(self) -> bool | None:
        """The client finished sending: close once its answers are out."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """End the session."""
        if self.session is not None:
            self.session.close()
            self.server.sessions.discard(self.session)
        for task in list(self.tasks):
            task.cancel()
        if not self.done.done():
            self.done.set_result(None)

    def close(self) -> None:
        """Hang up on the client."""
        if self.transport is not None:
            self.transport.close()


class Pacer:
    """Learns which procedures answer fast enough to run on the event loop, per served URI.

    A worker thread costs a round trip through the loop (hundreds of µs on a busy
    machine), more than most calls of a mock or a cached lookup take. A procedure
    runs in worker threads, timed, until its last :data:`FAST` calls each took
    under :data:`FAST_S`; then on the loop, still timed; one call over
    :data:`SLOW_S` sends it back to the threads until it has again been fast
    :data:`FAST` times in a row there (a driver call that blocks, a QEMU start, a
    save, stays off the loop; a call that blocked once costs the loop that once).
    """

    FAST = 3
    FAST_S = 0.001
    SLOW_S = 0.005

    def __init__(self) -> None:
        self._fast_runs: dict[tuple[str | None, str], int] = {}

    def fast(self, key: tuple[str | None, str]) -> bool:
        """Whether the procedure runs on the loop."""
        return self._fast_runs.get(key, 0) >= self.FAST

    def timed(self, key: tuple[str | None, str], job: Callable[[], bytes]) -> bytes:
        """Run ``job``, learning from its time."""
        start = time.perf_counter()
        try:
            return job()
        finally:
            took = time.perf_counter() - start
            if took > self.SLOW_S:
                self._fast_runs[key] = 0
            elif took < self.FAST_S:
                self._fast_runs[key] = self._fast_runs.get(key, 0) + 1


def _encode_error(exc: BaseException) -> bytes:
    from virtcore.rpc.errors import encode_error

    return encode_error(exc)


def REMOTE_error(header: Header, exc: BaseException) -> bytes:  # noqa: N802 - reads as what it builds
    """An ERROR reply of the remote program to ``header``'s call."""
    return pack_message(header.reply(MessageStatus.ERROR), _encode_error(exc))


class Server:
    """Serves virtcore URIs to libvirt clients."""

    def __init__(
        self,
        uris: list[str],
        aliases: dict[str, str] | None = None,
        *,
        keepalive_interval: float = 5.0,
        keepalive_count: int = 5,
    ) -> None:
        """Serve ``uris``; ``aliases`` maps a name clients ask for to one of them (added if missing).

        ``keepalive_interval`` seconds of a client's silence bring a PING (0: never), and
        ``keepalive_count`` unanswered ones a disconnection: libvirtd's defaults.
        """
        self.keepalive_interval = keepalive_interval
        self.keepalive_count = keepalive_count
        aliases = aliases or {}
        uris = list(uris) + [u for u in aliases.values() if u not in uris]
        if not uris:
            raise NoConnectError("virtcore serve needs at least one --uri to serve")
        self.served = [ServedURI(u, tuple(a for a, target in aliases.items() if target == u)) for u in uris]
        #: Which procedures run on the event loop.
        self.pacer = Pacer()
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

    def client(self, read_only: bool, *, write: Callable[[bytes], None] | None = None) -> ClientProtocol:
        """The protocol object of one new client (``write``: where replies go, else its own transport)."""
        return ClientProtocol(self, read_only, write)

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
            server = await asyncio.get_running_loop().create_unix_server(
                lambda: self.client(read_only), path=str(p)
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
        same = (in_stat.st_dev, in_stat.st_ino) == (out_stat.st_dev, out_stat.st_ino)
        out: asyncio.WriteTransport | None = None
        if stat.S_ISSOCK(in_stat.st_mode) and same:
            # one socket both ways (libvirt's ext transport, some sshd builds): a socket transport,
            # since a write-pipe transport would take the socket's incoming data for a hang-up
            sock = socket.socket(fileno=os.dup(0))
            os.dup2(2, 1)
            _, client = await loop.connect_accepted_socket(lambda: self.client(read_only), sock)
        else:
            rfile = os.fdopen(os.dup(0), "rb", buffering=0)
            wfile = os.fdopen(os.dup(1), "wb", buffering=0)
            os.dup2(2, 1)
            out, _ = await loop.connect_write_pipe(asyncio.Protocol, wfile)
            _, client = await loop.connect_read_pipe(lambda: self.client(read_only, write=out.write), rfile)
        try:
            await client.done
        finally:
            client.close()
            if out is not None:  # let the last replies out before the process ends
                for _ in range(500):
                    if not out.get_write_buffer_size():
                        break
                    await asyncio.sleep(0.01)
                out.close()

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
