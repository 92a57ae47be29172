"""The asyncio client of libvirt's remote protocol: one connection to one daemon.

:meth:`RemoteClient.open` opens the transport (:mod:`virt_remote.transport`),
authenticates (``AUTH_LIST``: ``none`` goes through, SASL and polkit are
refused with :class:`~virtcore.errors.AuthUnavailableError` naming them),
starts keepalive when the daemon offers it, and opens the URI on the
daemon (``CONNECT_OPEN``). :meth:`RemoteClient.call` sends a CALL and awaits
its REPLY, matched by serial, so any number of calls may be in flight; a
REPLY with status ERROR raises the :class:`~virtcore.errors.VirtError` that
libvirt's error structure describes (its code and message). Asynchronous
MESSAGEs (events) go to ``on_event``.

Faults end the connection, never hang it: the stream ending, a message the
codec refuses (a hostile length, garbage: :class:`~virtcore.errors.RPCError`,
with at most one capped message buffered) or ``count`` keepalive intervals
without a word from the daemon each fail every call in flight and every
later one with :class:`~virtcore.errors.RPCError` naming the daemon.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import threading
from collections.abc import Callable
from typing import Any

from virt_remote.directread import DirectReader
from virt_remote.options import RemoteOptions
from virt_remote.transport import Channel, connect
from virtcore.errors import AuthUnavailableError, NoSupportError, OperationInvalidError, RPCError, VirtError
from virtcore.rpc.errors import decode_error
from virtcore.rpc.message import Header, MessageStatus, MessageType, pack_message, read_message
from virtcore.rpc.protocol import KEEPALIVE, REMOTE, Procedure

__all__ = ["AUTH_NAMES", "EventHandler", "RemoteClient", "StreamState"]

#: ``remote_auth_type``: what ``AUTH_LIST`` may offer.
AUTH_NAMES = {0: "none", 1: "sasl", 2: "polkit"}
#: ``VIR_DRV_FEATURE_PROGRAM_KEEPALIVE``, ``VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`` (libvirt_internal.h).
FEATURE_KEEPALIVE = 10
FEATURE_EVENT_CALLBACK = 14
#: ``VIR_CONNECT_RO``.
CONNECT_RO = 1
#: libvirt's client defaults (``virConnectSetKeepAlive``): a ping every 5 s, dead after 5 unanswered.
KEEPALIVE_INTERVAL = 5.0
KEEPALIVE_COUNT = 5
#: Flush the socket when this much is waiting (many calls in flight).
_DRAIN_ABOVE = 1 << 16

#: Called with (procedure, decoded message) for every event the daemon sends.
EventHandler = Callable[[Procedure, Any], None]

#: Data per stream packet (libvirt's ``VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX``, which every daemon takes).
STREAM_CHUNK = 262120
#: Incoming stream packets buffered before the connection stops reading.
STREAM_QUEUE = 8


class StreamState:
    """One stream of a connection: its procedure and serial, and what came for it."""

    def __init__(self, proc: Procedure, serial: int, incoming: bool) -> None:
        self.proc = proc
        self.serial = serial
        self.incoming = incoming
        #: Incoming data, ``None`` at its end (downloads).
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(STREAM_QUEUE)
        self.error: VirtError | None = None
        #: Set while our OK or ERROR awaits the daemon's answer.
        self.finishing: asyncio.Future[None] | None = None

    def fail(self, error: VirtError) -> None:
        """The stream failed (the daemon's error, or the connection died)."""
        if self.error is None:
            self.error = error
        if self.finishing is not None and not self.finishing.done():
            self.finishing.set_exception(error)
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def check(self) -> None:
        """Raise the stream's error, if it failed."""
        if self.error is not None:
            raise self.error


def _settle(
    future: asyncio.Future[Any] | concurrent.futures.Future[Any], result: Any, error: BaseException | None
) -> None:
    """Complete a call's future with its reply (on the loop's thread for an asyncio one)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_PING = KEEPALIVE.procedure("PING")
_PONG = KEEPALIVE.procedure("PONG")


class RemoteClient:
    """One connection to a libvirt daemon. Make it with :meth:`open`; end it with :meth:`aclose`."""

    def __init__(
        self,
        channel: Channel,
        *,
        keepalive: tuple[float, int] = (KEEPALIVE_INTERVAL, KEEPALIVE_COUNT),
        on_event: EventHandler | None = None,
        direct_reads: bool = False,
    ) -> None:
        self._channel = channel
        self._writer = channel.writer
        self._keepalive = keepalive
        self._on_event = on_event
        self._serials = itertools.count(1)
        self._pending: dict[int, tuple[Procedure, asyncio.Future[Any] | concurrent.futures.Future[Any]]] = {}
        self._streams: dict[int, StreamState] = {}
        self._dead: str | None = None
        self._closing = False
        self._loop = asyncio.get_running_loop()
        self._last_heard = self._loop.time()
        self._keepalive_task: asyncio.Task[None] | None = None
        #: Every write takes it, so that a blocking caller may send on the socket itself (see
        #: :meth:`call_blocking`) without its bytes ever landing between another message's.
        self._write_lock = threading.Lock()
        self._partial: bytes | None = None
        sock = channel.writer.get_extra_info("socket")
        plain = channel.writer.get_extra_info("sslcontext") is None
        self._direct_fd: int | None = sock.fileno() if sock is not None and plain else None
        #: What the daemon said is read by the threads waiting on it (see :mod:`virt_remote.directread`),
        #: or by the loop's task.
        self._direct: DirectReader | None = None
        self._reader_task: asyncio.Task[None] | None = None
        if direct_reads and self._direct_fd is not None:
            channel.writer.transport.pause_reading()  # type: ignore[attr-defined]
            self._direct = DirectReader(self._direct_fd, channel.what, self._dispatch_direct, self._lost)
        else:
            self._reader_task = self._loop.create_task(self._read_loop())
        #: The daemon sends events through the callback-register procedures (libvirt >= 1.2.1).
        self.event_callbacks = False
        #: What we are connected to, for messages.
        self.what = channel.what

    # -- opening ------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        opts: RemoteOptions,
        *,
        keepalive: tuple[float, int] = (KEEPALIVE_INTERVAL, KEEPALIVE_COUNT),
        on_event: EventHandler | None = None,
        direct_reads: bool = False,
    ) -> RemoteClient:
        """Connect, authenticate and open ``opts.name`` on the daemon.

        :raises SystemError_: the transport cannot be opened.
        :raises AuthUnavailableError: the daemon wants SASL or polkit.
        :raises VirtError: what the daemon answered (``NO_CONNECT`` for a URI it does not serve).
        :raises RPCError: the daemon broke the protocol or went away.

        ``direct_reads``: a plain socket is read by the threads blocked in
        :meth:`call_blocking` (no hop through the loop for their replies) and a
        thread of the connection's own (:mod:`virt_remote.directread`); for
        connections used through the sync API.
        """
        channel = await connect(opts)
        client = cls(channel, keepalive=keepalive, on_event=on_event, direct_reads=direct_reads)
        try:
            await client._handshake(opts)
        except BaseException:
            await client.aclose(say_goodbye=False)
            raise
        return client

    async def _handshake(self, opts: RemoteOptions) -> None:
        try:
            offered = (await self.call("AUTH_LIST"))["types"]
        except NoSupportError:
            offered = []  # a daemon older than AUTH_LIST: no authentication
        if offered and 0 not in offered:
            names = ", ".join(AUTH_NAMES.get(t, str(t)) for t in offered)
            raise AuthUnavailableError(
                f"the daemon at {self.what} requires {names} authentication, which virtcore does not "
                "implement (use a socket whose auth is none: libvirtd.conf's auth_unix_rw)"
            )
        if await self.supports_feature(FEATURE_KEEPALIVE) and self._keepalive[0] > 0:
            self._keepalive_task = self._loop.create_task(self._keepalive_loop())
        await self.call("CONNECT_OPEN", {"name": opts.name, "flags": CONNECT_RO if opts.read_only else 0})
        self.event_callbacks = await self.supports_feature(FEATURE_EVENT_CALLBACK)

    async def supports_feature(self, feature: int) -> bool:
        """``CONNECT_SUPPORTS_FEATURE``: whether the daemon offers ``feature`` (``VIR_DRV_FEATURE_*``)."""
        ret = await self.call("CONNECT_SUPPORTS_FEATURE", {"feature": feature, "flags": 0})
        return bool(ret["supported"])

    # -- calls --------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the connection can still carry calls."""
        return self._dead is None

    def _dead_error(self) -> RPCError:
        return RPCError(self._dead or f"the connection to {self.what} is closed")

    async def call(self, procedure: str, args: Any = None, *, serial: int | None = None) -> Any:
        """Call ``procedure`` (``"DOMAIN_GET_INFO"``) with ``args``; its decoded return value.

        :raises VirtError: the daemon's error, as libvirt's error structure gave it.
        :raises RPCError: the connection is dead, or dies before the reply.
        """
        if self._dead is not None:
            raise self._dead_error()
        proc = REMOTE.procedure(procedure)
        serial = next(self._serials) if serial is None else serial
        message = pack_message(REMOTE.header(proc.number, serial, MessageType.CALL), proc.encode_args(args))
        future: asyncio.Future[Any] = self._loop.create_future()
        self._pending[serial] = (proc, future)
        try:
            self._write(message)
            if self._writer.transport.get_write_buffer_size() > _DRAIN_ABOVE:
                await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            self._pending.pop(serial, None)
            self._fail(f"cannot send to {self.what}: {exc}")
            raise self._dead_error() from None
        return await future

    def call_blocking(self, procedure: str, args: Any = None) -> Any:
        """:meth:`call` from another thread than the loop's, waiting there for the reply.

        The sync API's path: the message is encoded in the calling thread and
        sent from it when the socket is free (:meth:`_send_direct`), else handed
        to the loop with one wake-up; the reply's reader completes the caller's
        future directly (no task per call).
        """
        if asyncio._get_running_loop() is self._loop:
            raise OperationInvalidError(
                f"a blocking call to {self.what} from its own event loop: await call()"
            )
        if self._dead is not None:
            raise self._dead_error()
        proc = REMOTE.procedure(procedure)
        serial = next(self._serials)
        message = pack_message(REMOTE.header(proc.number, serial, MessageType.CALL), proc.encode_args(args))
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if not self._send_direct(proc, serial, message, future):
            self._loop.call_soon_threadsafe(self._send, proc, serial, message, future)
        if self._direct is not None:
            self._direct.wait(future)  # reads the reply in this thread when no one else reads
        return future.result()

    def _write(self, data: bytes) -> None:
        """Write on the loop thread, under the write lock; the rest of a direct send goes first."""
        with self._write_lock:
            if self._partial is not None:
                rest, self._partial = self._partial, None
                self._writer.write(rest)
            if data:
                self._writer.write(data)

    def _send_direct(
        self, proc: Procedure, serial: int, message: bytes, future: concurrent.futures.Future[Any]
    ) -> bool:
        """Send a blocking call's message from the calling thread, saving the loop a wake-up.

        Only on a plain socket whose transport has nothing queued (else its bytes
        go first: the loop sends this one after them), and only whole: a message
        the socket takes in part is completed by the loop before anything else.
        """
        fd = self._direct_fd
        if fd is None:
            return False
        with self._write_lock:
            if self._dead is not None or self._writer.transport.get_write_buffer_size():
                return False
            self._pending[serial] = (proc, future)
            try:
                sent = os.write(fd, message)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self._pending.pop(serial, None)
                self._loop.call_soon_threadsafe(self._fail, f"cannot send to {self.what}: {exc}")
                future.set_exception(RPCError(f"cannot send to {self.what}: {exc}"))
                return True
            if sent < len(message):
                # The rest goes before anything else the loop writes; later blocking calls
                # of this connection take the loop's path (simple, and rare: a full socket).
                self._partial = message[sent:]
                self._direct_fd = None
                self._loop.call_soon_threadsafe(self._write, b"")
        return True

    def _send(
        self, proc: Procedure, serial: int, message: bytes, future: concurrent.futures.Future[Any]
    ) -> None:
        if self._dead is not None:
            future.set_exception(self._dead_error())
            return
        self._pending[serial] = (proc, future)
        try:
            self._write(message)
        except (OSError, RuntimeError) as exc:
            self._fail(f"cannot send to {self.what}: {exc}")

    # -- reading ------------------------------------------------------------

    async def _read_loop(self) -> None:
        reader = self._channel.reader
        try:
            while True:
                got = await read_message(reader)
                if got is None:
                    said = self._channel.process_error()
                    self._fail(
                        f"the daemon at {self.what} closed the connection" + (f" ({said})" if said else "")
                    )
                    return
                self._last_heard = self._loop.time()
                if got[0].type == MessageType.STREAM:
                    await self._stream_packet(*got)
                else:
                    self._dispatch(*got)
        except RPCError as exc:
            self._fail(f"{self.what}: {exc.message}")
        except (OSError, asyncio.IncompleteReadError) as exc:
            self._fail(f"cannot read from {self.what}: {exc}")
        except asyncio.CancelledError:
            raise

    def _dispatch(self, header: Header, payload: bytes) -> None:
        if KEEPALIVE.owns(header):
            if header.proc == _PING.number and header.type == MessageType.MESSAGE:
                if asyncio._get_running_loop() is self._loop:
                    self._send_keepalive(_PONG)
                else:
                    self._loop.call_soon_threadsafe(self._send_keepalive, _PONG)
            return
        if not REMOTE.owns(header):
            raise RPCError(f"message of unknown program {header.prog:#x} version {header.vers}")
        if header.type == MessageType.REPLY:
            entry = self._pending.pop(header.serial, None)
            if entry is None:
                raise RPCError(f"reply to serial {header.serial}, which no call of ours had")
            proc, future = entry
            if future.done():
                return
            result: Any = None
            error: BaseException | None = None
            if header.proc != proc.number:
                error = RPCError(f"reply to {proc.name} names procedure {header.proc}")
            elif header.status == MessageStatus.OK:
                try:
                    result = proc.decode_ret(payload)
                except VirtError as exc:
                    error = exc
            elif header.status == MessageStatus.ERROR:
                try:
                    error = decode_error(payload)
                except VirtError as exc:
                    error = exc
            else:
                error = RPCError(f"reply to {proc.name} with status {header.status.name}")
            if isinstance(future, asyncio.Future) and asyncio._get_running_loop() is not self._loop:
                self._loop.call_soon_threadsafe(_settle, future, result, error)  # a direct reader's
            else:
                _settle(future, result, error)
        elif header.type == MessageType.MESSAGE:
            proc = REMOTE.procedure(header.proc)
            value = proc.decode_message(payload)
            if self._on_event is not None:
                self._on_event(proc, value)
        else:
            raise RPCError(f"unexpected {header.type.name} message from the daemon")

    def _dispatch_direct(self, header: Header, payload: bytes) -> None:
        """A message a direct reader read (in its thread): stream data goes through the loop."""
        self._last_heard = self._loop.time()
        if header.type == MessageType.STREAM:
            # waits while the stream's reader is behind: this thread stops reading, as the loop would
            asyncio.run_coroutine_threadsafe(self._stream_packet(header, payload), self._loop).result()
        else:
            self._dispatch(header, payload)

    def _lost(self, why: str) -> None:
        """A direct reader found the connection dead (in its thread)."""
        self._loop.call_soon_threadsafe(self._fail, why)

    def _fail(self, why: str) -> None:
        """The connection is dead: every call in flight and every later one gets ``why``."""
        with self._write_lock:  # a blocking caller registers its call under it: none is missed
            if self._dead is not None:
                return
            self._dead = why
            pending, self._pending = self._pending, {}
        for _, future in pending.values():
            if not future.done():
                future.set_exception(RPCError(why))
        if self._direct is not None:
            self._direct.stop()
        streams, self._streams = self._streams, {}
        for stream in streams.values():
            stream.fail(RPCError(why))
        if self._keepalive_task is not None and self._keepalive_task is not asyncio.current_task():
            self._keepalive_task.cancel()
        with contextlib.suppress(Exception):
            self._writer.close()

    # -- streams ------------------------------------------------------------

    async def stream_open(self, procedure: str, args: Any, *, incoming: bool) -> StreamState:
        """Call a stream procedure (``STORAGE_VOL_UPLOAD``); the stream its reply opened.

        ``incoming``: the daemon sends the data (a download), at most
        :data:`STREAM_QUEUE` packets ahead of the reader: the connection stops
        reading until the reader catches up, so memory stays bounded.
        """
        if self._dead is not None:
            raise self._dead_error()
        proc = REMOTE.procedure(procedure)
        serial = next(self._serials)
        stream = StreamState(proc, serial, incoming)
        self._streams[serial] = stream  # before the call: data may follow the reply at once
        try:
            await self.call(procedure, args, serial=serial)
        except BaseException:
            self._streams.pop(serial, None)
            raise
        return stream

    def _stream_message(self, stream: StreamState, status: MessageStatus, payload: bytes = b"") -> bytes:
        header = Header(
            REMOTE.number, REMOTE.version, stream.proc.number, MessageType.STREAM, stream.serial, status
        )
        return pack_message(header, payload)

    async def stream_send(self, stream: StreamState, data: bytes) -> None:
        """Send ``data`` on an outgoing stream, in packets of at most :data:`STREAM_CHUNK` bytes."""
        for start in range(0, len(data), STREAM_CHUNK):
            stream.check()
            if self._dead is not None:
                raise self._dead_error()
            self._write(
                self._stream_message(stream, MessageStatus.CONTINUE, data[start : start + STREAM_CHUNK])
            )
            await self._writer.drain()

    async def stream_finish(self, stream: StreamState) -> None:
        """End a stream: our OK, and the daemon's (its error if the transfer failed)."""
        await self._stream_end(stream, MessageStatus.OK)

    async def stream_abort(self, stream: StreamState) -> None:
        """Abort a stream; the daemon's answer is awaited but its error ignored."""
        with contextlib.suppress(VirtError):
            await self._stream_end(stream, MessageStatus.ERROR)

    async def _stream_end(self, stream: StreamState, status: MessageStatus) -> None:
        if self._dead is not None:
            self._streams.pop(stream.serial, None)
            raise self._dead_error()
        if stream.error is not None:
            # the daemon ended the stream with its error: it answers nothing more on it
            self._streams.pop(stream.serial, None)
            raise stream.error
        stream.finishing = self._loop.create_future()
        try:
            self._write(self._stream_message(stream, status))
            await self._writer.drain()
            await stream.finishing
        finally:
            self._streams.pop(stream.serial, None)

    async def _stream_packet(self, header: Header, payload: bytes) -> None:
        stream = self._streams.get(header.serial)
        if stream is None:
            return  # a packet of a stream already ended (libvirt drops those too)
        if header.status == MessageStatus.CONTINUE:
            if not stream.incoming:
                raise RPCError(f"data from the daemon on outgoing stream {stream.proc.name}")
            await stream.queue.put(payload or None)  # libvirt ends the data with an empty packet
        elif header.status == MessageStatus.OK:
            if stream.finishing is not None and not stream.finishing.done():
                stream.finishing.set_result(None)
            else:
                await stream.queue.put(None)  # the end of the data
        else:
            try:
                error: VirtError = decode_error(payload)
            except VirtError as exc:
                error = exc
            stream.fail(error)

    # -- keepalive ----------------------------------------------------------

    def _send_keepalive(self, proc: Procedure) -> None:
        if self._dead is not None:
            return
        with contextlib.suppress(OSError, RuntimeError):
            self._write(pack_message(KEEPALIVE.header(proc.number, 0, MessageType.MESSAGE)))

    async def _keepalive_loop(self) -> None:
        """libvirt's rule: a ping after each quiet interval; ``count`` unanswered pings: dead."""
        interval, count = self._keepalive
        unanswered = 0
        while self._dead is None:
            await asyncio.sleep(interval)
            if self._loop.time() - self._last_heard < interval:
                unanswered = 0
                continue
            if unanswered >= count:
                quiet = self._loop.time() - self._last_heard
                self._fail(
                    f"connection to {self.what} closed due to keepalive timeout "
                    f"(no answer for {quiet:.0f}s, {count} pings)"
                )
                return
            self._send_keepalive(_PING)
            unanswered += 1

    # -- closing ------------------------------------------------------------

    async def aclose(self, *, say_goodbye: bool = True) -> None:
        """``CONNECT_CLOSE`` (when the connection still works), then end the transport. Idempotent."""
        if self._closing:
            return
        self._closing = True
        if say_goodbye and self._dead is None:
            with contextlib.suppress(VirtError, TimeoutError):
                await asyncio.wait_for(self.call("CONNECT_CLOSE"), 10)
        self._fail(f"the connection to {self.what} is closed")
        for task in (self._keepalive_task, self._reader_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._channel.aclose()
