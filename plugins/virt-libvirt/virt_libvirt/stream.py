"""``virStream``: the data of a volume upload or download, as libvirt-python's stream.

virtcore moves volume data with file objects (``StorageVolume.upload(source)``,
``download(target)``). A download is read into a spooled temporary file
(memory, then disk past :data:`SPOOL`) when it starts and handed out by
``recv``; an upload's ``send`` calls are spooled likewise and written into
the volume, all at once, by ``finish``: ``abort`` leaves the volume untouched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virt_libvirt._base import complete
from virt_libvirt.errors import libvirtError, raise_error, raise_from
from virtcore.errors import VirtError

if TYPE_CHECKING:
    import virtcore
    from virt_libvirt.connect import virConnect

#: Bytes a stream keeps in memory before spilling to a temporary file.
SPOOL = 8 << 20
#: The chunk ``sendAll``/``recvAll`` ask for, as libvirt-python's.
CHUNK = 64 * 1024


def _invalid(detail: str) -> None:
    from virtcore.errors import OperationInvalidError

    raise_error(OperationInvalidError, detail)


class virStream:  # noqa: N801 - libvirt-python's name
    """A data stream of a connection, as libvirt-python's ``virStream``."""

    __slots__ = ("__weakref__", "_buf", "_conn", "_flags", "_length", "_mode", "_offset", "_vol")

    def __init__(self, conn: virConnect, flags: int = 0) -> None:
        self._conn = conn
        conn._hold(self)
        self._flags = flags
        self._mode = ""
        self._buf: Any = None
        self._vol: virtcore.StorageVolume | None = None
        self._offset = self._length = 0

    def connect(self) -> virConnect:
        """The connection the stream belongs to."""
        return self._conn

    def c_pointer(self) -> int:
        """An identifier of the stream (libvirt-python: its C pointer)."""
        return id(self)

    # -- started by virStorageVol.upload / download -----------------------------------

    def _claim(self, mode: str) -> None:
        if self._mode:
            _invalid(f"the stream is already in use for an {self._mode}")
        self._mode = mode
        self._buf = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed by finish/abort

    def _start_upload(self, vol: virtcore.StorageVolume, offset: int, length: int) -> None:
        self._claim("upload")
        self._vol, self._offset, self._length = vol, offset, length

    def _start_download(self, vol: virtcore.StorageVolume, offset: int, length: int) -> None:
        self._start_source(lambda target: vol.download(target, offset=offset, length=length))

    def _start_source(self, fill: Callable[[Any], object]) -> None:
        """Carry what ``fill(file)`` writes (a volume's data, a screenshot) to ``recv``."""
        self._claim("download")
        try:
            fill(self._buf)
        except VirtError as exc:
            self._close()
            raise_from(exc)
        self._buf.seek(0)

    def _close(self) -> None:
        if self._buf is not None:
            self._buf.close()
        self._buf = None
        self._mode = "finished"

    # -- libvirt's stream API --------------------------------------------------------

    def send(self, data: bytes) -> int:
        """Queue ``data`` for the upload; how many bytes were taken."""
        if self._mode != "upload":
            _invalid("the stream is not carrying an upload")
        if self._length and self._buf.tell() + len(data) > self._length:
            from virtcore.errors import InvalidArgError

            raise_error(InvalidArgError, f"more data than the {self._length} bytes the upload announced")
        self._buf.write(data)
        return len(data)

    def recv(self, nbytes: int) -> bytes:
        """The next ``nbytes`` (at most) of the download; ``b""`` at its end."""
        if self._mode != "download":
            _invalid("the stream is not carrying a download")
        data: bytes = self._buf.read(nbytes)
        return data

    def sendAll(self, handler: Callable[[virStream, int, Any], bytes], opaque: Any) -> None:  # noqa: N802
        """Send what ``handler(stream, nbytes, opaque)`` gives until it gives nothing (abort on error)."""
        while True:
            try:
                got = handler(self, CHUNK, opaque)
            except BaseException:
                self.abort()
                raise
            if not got:
                break
            if isinstance(got, int) and got < 0:
                self.abort()
                raise libvirtError("cannot use sendAll: the handler failed")
            self.send(got)

    def recvAll(self, handler: Callable[[virStream, bytes, Any], int], opaque: Any) -> None:  # noqa: N802
        """Hand every chunk of the download to ``handler(stream, data, opaque)`` (abort on error)."""
        while True:
            got = self.recv(CHUNK)
            if not got:
                break
            try:
                ret = handler(self, got, opaque)
            except BaseException:
                self.abort()
                raise
            if isinstance(ret, int) and ret < 0:
                self.abort()
                raise libvirtError(f"recvAll handler returned {ret}")

    def finish(self) -> int:
        """Complete the transfer (an upload is written into the volume now); 0."""
        if self._mode == "upload":
            assert self._vol is not None
            self._buf.seek(0)
            try:
                self._vol.upload(self._buf, offset=self._offset, length=self._length)
            except VirtError as exc:
                self._close()
                raise_from(exc)
        elif self._mode != "download":
            _invalid("the stream carries no transfer to finish")
        self._close()
        return 0

    def abort(self) -> int:
        """Drop the transfer: an upload's data never reaches the volume; 0."""
        if self._mode in ("upload", "download"):
            self._close()
        return 0


complete(virStream)
