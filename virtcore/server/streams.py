"""Volume upload and download over libvirt's stream messages.

A ``STORAGE_VOL_UPLOAD`` / ``STORAGE_VOL_DOWNLOAD`` call is answered with an
empty REPLY; the data then travels as STREAM messages with the call's
procedure and serial: ``CONTINUE`` with bytes (with none: the sender's EOF),
``OK`` with none for the client's "finish" and, from the server, its
confirmation (a server-sent ``OK`` the client did not ask for breaks its
connection), ``ERROR`` with a ``remote_error`` for a failure (the client's
abort is confirmed with ``OK`` too). The transfer itself is the core's
:meth:`~virtcore.storage.StorageVolume.upload` / ``download`` in a worker
thread, reading from (or writing to) a file-like object fed by the event loop,
with flow control both ways: the client is not read from while
:data:`MAX_QUEUED` bytes of its upload wait, and the worker waits while the
client's socket buffer is full.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

from virtcore.errors import OperationAbortedError, VirtError
from virtcore.rpc._remote_protocol import CONSTANTS
from virtcore.rpc.message import Header, MessageStatus, MessageType, pack_message

if TYPE_CHECKING:
    from virtcore.server.daemon import Session
    from virtcore.storage import StorageVolume

__all__ = ["Stream", "UploadStream", "DownloadStream", "MAX_QUEUED", "CHUNK"]

#: Bytes of one STREAM message's data (libvirt's legacy payload size, what its clients send).
CHUNK: int = CONSTANTS["VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX"]
#: Upload bytes received but not yet written before the client is no longer read from.
MAX_QUEUED = 4 * CHUNK

log = logging.getLogger("virtcore.server")

_EOF = object()
_ABORT = object()


class Stream:
    """One transfer of a session: the call's header, the volume, the worker's outcome."""

    def __init__(self, session: Session, call: Header, vol: StorageVolume, offset: int, length: int) -> None:
        self.session = session
        self.call = call
        self.vol = vol
        self.offset = offset
        self.length = length
        self.loop = session.loop
        self.done = False  # the worker finished (either way)
        self.client_done: MessageStatus | None = None  # the client's finish (OK) or abort (ERROR)
        self.closed = False

    def header(self, status: MessageStatus) -> Header:
        """A STREAM header of this transfer."""
        return self.call._replace(type=MessageType.STREAM, status=status)

    def send_data(self, data: bytes, status: MessageStatus = MessageStatus.CONTINUE) -> None:
        """Send a STREAM message (on the loop): data, our EOF (no data), or a confirmation (``OK``)."""
        self.session.send(pack_message(self.header(status), data))

    def send_error(self, exc: BaseException) -> None:
        """Send the transfer's failure and forget it (on the loop)."""
        from virtcore.rpc.errors import encode_error

        self.session.send(pack_message(self.header(MessageStatus.ERROR), encode_error(exc)))
        self.close()

    def close(self) -> None:
        """Forget the transfer."""
        self.closed = True
        self.session.streams.pop(self.call.serial, None)

    def start(self) -> None:
        """Run the transfer in a worker thread (on the loop, after the call's REPLY went out)."""
        task = self.loop.create_task(asyncio.to_thread(self.run))
        task.add_done_callback(self._finished)

    def run(self) -> None:  # pragma: no cover - overridden
        """The worker's transfer."""
        raise NotImplementedError

    def _finished(self, task: asyncio.Future[None]) -> None:
        self.done = True
        exc = task.exception() if not task.cancelled() else OperationAbortedError("stream cancelled")
        if self.closed:
            return
        if exc is not None and self.client_done != MessageStatus.ERROR:
            if not isinstance(exc, VirtError):
                log.error("%s stream failed: %r", self.vol, exc)
            self.send_error(exc)
            return
        self.transferred()

    def transferred(self) -> None:
        """The worker succeeded (or was aborted by the client): the end of the exchange."""
        if self.client_done is not None:
            self.send_data(b"", MessageStatus.OK)  # confirm the client's finish or abort
            self.close()

    def on_message(self, header: Header, payload: bytes) -> None:  # pragma: no cover - overridden
        """A STREAM message of the client's for this transfer."""
        raise NotImplementedError


class UploadStream(Stream):
    """Client to volume: STREAM data from the client feeds the core's ``upload``."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._queued = 0
        self._lock = threading.Lock()
        self._buffer = b""
        self._ended = False

    # -- the loop's side --

    def on_message(self, header: Header, payload: bytes) -> None:
        """Data, the client's finish or its abort."""
        if header.status == MessageStatus.CONTINUE:
            if self.client_done is not None or self.done:
                return  # after the end (or after the worker stopped): dropped
            with self._lock:
                self._queued += len(payload)
                full = self._queued > MAX_QUEUED
            self._queue.put(payload)
            if full:
                self.session.hold("upload", True)
            return
        self.client_done = header.status
        self._queue.put(_EOF if header.status == MessageStatus.OK else _ABORT)
        if self.done:
            self.transferred()

    # -- the worker's side: a file-like source --

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of the client's data; ``b""`` at its finish."""
        while not self._buffer and not self._ended:
            item = self._queue.get()
            if item is _EOF:
                self._ended = True
                break
            if item is _ABORT:
                self._ended = True
                raise OperationAbortedError(f"upload to volume '{self.vol.name}' aborted by the client")
            assert isinstance(item, bytes)
            with self._lock:
                self._queued -= len(item)
                resume = self._queued <= MAX_QUEUED
            if resume:
                self.loop.call_soon_threadsafe(self.session.hold, "upload", False)
            self._buffer = item
        data, self._buffer = (self._buffer, b"") if n < 0 else (self._buffer[:n], self._buffer[n:])
        return data

    def run(self) -> None:
        """Write the client's bytes into the volume, then wait for the client's finish."""
        self.vol.upload(self, offset=self.offset, length=self.length)  # type: ignore[arg-type]
        while not self._ended:  # a length reached before the client's finish: drain to it
            if not self.read(CHUNK) and not self._ended:
                continue


class DownloadStream(Stream):
    """Volume to client: the core's ``download`` writes STREAM data messages."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._aborted = False

    def on_message(self, header: Header, payload: bytes) -> None:
        """The client's finish (after our EOF) or its abort."""
        if header.status == MessageStatus.CONTINUE:
            return  # data towards a download: meaningless, dropped
        self.client_done = header.status
        if header.status == MessageStatus.ERROR:
            self._aborted = True
        if self.done:
            self.transferred()

    def write(self, data: bytes) -> int:
        """Send ``data`` to the client (waiting while its socket buffer is full)."""
        for start in range(0, len(data), CHUNK):
            if self._aborted or self.session.closed:
                raise OperationAbortedError(f"download of volume '{self.vol.name}' aborted by the client")
            chunk = bytes(data[start : start + CHUNK])
            asyncio.run_coroutine_threadsafe(self._send(chunk), self.loop).result()
        return len(data)

    async def _send(self, chunk: bytes) -> None:
        await self.session.writable()
        self.send_data(chunk)

    def run(self) -> None:
        """Read the volume into STREAM messages, then send the end."""
        self.vol.download(self, offset=self.offset, length=self.length)  # type: ignore[arg-type]
        if not self._aborted:
            asyncio.run_coroutine_threadsafe(self._send(b""), self.loop).result()  # our EOF

    def transferred(self) -> None:
        """Confirm the client's finish (or abort) once both sides are done."""
        if self.client_done is not None:
            super().transferred()


def open_stream(session: Session, call: Header, proc: str, args: dict[str, Any]) -> bytes:
    """Answer a STORAGE_VOL_UPLOAD / _DOWNLOAD call (in a worker thread): the REPLY.

    The transfer is registered with the session and starts once the reply is out.
    """
    from virtcore.server.objects import vol_of
    from virtcore.server.registry import check_flags

    upload = proc == "STORAGE_VOL_UPLOAD"
    # VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM / _DOWNLOAD_SPARSE_STREAM (1): holes are not served
    check_flags(args["flags"], 0, "virStorageVolUpload" if upload else "virStorageVolDownload")
    if upload and session.read_only:
        from virtcore.errors import OperationDeniedError

        raise OperationDeniedError("read only access prevents virStorageVolUpload")
    vol = vol_of(session, args["vol"])
    cls = UploadStream if upload else DownloadStream
    stream = cls(session, call, vol, args["offset"], args["length"])
    session.pending_streams.append(stream)
    return pack_message(call.reply(), b"")
