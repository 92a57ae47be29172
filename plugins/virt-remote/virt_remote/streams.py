"""Volume upload and download over libvirt's streams, as the core's sync sink and source.

A stream is a call (``STORAGE_VOL_UPLOAD``/``_DOWNLOAD``) whose serial then
carries STREAM packets: data with status CONTINUE, and at the end an OK
from each side (or an ERROR: the transfer failed, or was aborted). These
objects run the :class:`~virt_remote.client.RemoteClient`'s coroutines on the
loop thread, so the core's copy loop sees :class:`~virtcore.storage.UploadSink`
and :class:`~virtcore.storage.DownloadSource` as for any driver.
"""

from __future__ import annotations

from typing import Any

from virt_remote import loop
from virt_remote.client import RemoteClient, StreamState

__all__ = ["RemoteDownload", "RemoteUpload"]


class RemoteUpload:
    """An upload's sink: ``write`` sends, ``finish`` ends it and waits for the daemon's OK."""

    def __init__(self, client: RemoteClient, procedure: str, args: Any) -> None:
        self._client = client
        self._stream: StreamState = loop.run(client.stream_open(procedure, args, incoming=False))
        self._done = False

    def write(self, data: bytes) -> None:
        """Send the next chunk."""
        loop.run(self._client.stream_send(self._stream, bytes(data)))

    def finish(self) -> None:
        """All data was sent: the daemon makes it durable (or says why not)."""
        self._done = True
        loop.run(self._client.stream_finish(self._stream))

    def abort(self) -> None:
        """Abort the upload."""
        if not self._done:
            self._done = True
            loop.run(self._client.stream_abort(self._stream))


class RemoteDownload:
    """A download's source: ``read`` gives the daemon's data as it comes, ``b""`` at the end."""

    def __init__(self, client: RemoteClient, procedure: str, args: Any, size: int) -> None:
        self._client = client
        self._size = size
        self._stream: StreamState = loop.run(client.stream_open(procedure, args, incoming=True))
        self._buffer = b""
        self._ended = False
        self._closed = False

    @property
    def size(self) -> int:
        """How many bytes it will deliver in all."""
        return self._size

    async def _next(self) -> bytes | None:
        return await self._stream.queue.get()

    def read(self, size: int) -> bytes:
        """Up to ``size`` next bytes; ``b""`` at the end (the daemon's error if it failed)."""
        while not self._buffer and not self._ended:
            chunk = loop.run(self._next())
            self._stream.check()
            if chunk is None:
                self._ended = True
            else:
                self._buffer = chunk
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def close(self) -> None:
        """End the stream: finished when all was read, else aborted."""
        if self._closed:
            return
        self._closed = True
        if self._ended and self._stream.error is None:
            loop.run(self._client.stream_finish(self._stream))
        else:
            loop.run(self._client.stream_abort(self._stream))
