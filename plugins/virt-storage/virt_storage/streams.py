"""Upload and download of a file volume's bytes, a chunk at a time.

An upload of a whole volume (offset 0, no length) writes a hidden temporary
beside it and renames it over the volume on ``finish()``: until then the
volume keeps its old content, and an aborted upload leaves it untouched. As
libvirt's upload writes over the volume without truncating it, what lies
beyond the uploaded bytes is carried over first (its data extents only, so a
sparse volume stays sparse). An upload of a range writes in place. A
download reads the file as it is.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable

from virt_storage.volumes import claim_temporary
from virtcore.errors import InvalidArgError, SystemError_

__all__ = ["FileSink", "FileSource"]


class FileSink:
    """An :class:`~virtcore.storage.UploadSink` writing into the volume file at ``path``.

    ``closed`` is called once when the upload ends, finished or not (libvirt's storage driver
    refreshes the pool then, and reports it).
    """

    def __init__(
        self, path: str, offset: int, length: int, what: str, closed: Callable[[], None] | None = None
    ) -> None:
        self._path, self._what, self._length, self._written = path, what, length, 0
        self._tmp: str | None = None
        self._closed = closed
        try:
            st = os.stat(path)
            if offset == 0 and length == 0:
                self._fd, self._tmp = claim_temporary(os.path.dirname(path))
                os.fchmod(self._fd, stat.S_IMODE(st.st_mode))
                os.fchown(self._fd, st.st_uid, st.st_gid)
            else:
                if offset > st.st_size:
                    raise InvalidArgError(f"offset {offset} is beyond the end of {what} ({st.st_size} bytes)")
                self._fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
                os.lseek(self._fd, offset, os.SEEK_SET)
        except OSError as exc:
            self._discard()
            raise SystemError_(f"cannot upload to {what}: {exc.strerror or exc}") from None

    def write(self, data: bytes) -> None:
        """Write the next chunk (refusing more than ``length`` bytes)."""
        if self._length and self._written + len(data) > self._length:
            raise InvalidArgError(f"upload to {self._what} is longer than the {self._length} bytes announced")
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError as exc:
            raise SystemError_(f"cannot upload to {self._what}: {exc.strerror or exc}") from None
        self._written += len(data)

    def finish(self) -> None:
        """Make the data durable; a whole upload then replaces the volume's content at once."""
        try:
            self._finish()
        finally:
            self._close_callback()

    def _finish(self) -> None:
        try:
            if self._tmp is not None:
                _carry_tail(self._path, self._fd, self._written)
            os.fsync(self._fd)
            if self._tmp is not None:  # renamed while still claimed: no refresh can take it
                os.replace(self._tmp, self._path)
                self._tmp = None
            os.close(self._fd)
            self._fd = -1
        except OSError as exc:
            self._discard()
            raise SystemError_(f"cannot upload to {self._what}: {exc.strerror or exc}") from None

    def abort(self) -> None:
        """Forget the upload: a whole upload's temporary goes, the volume stays as it was."""
        try:
            self._discard()
        finally:
            self._close_callback()

    def _close_callback(self) -> None:
        closed, self._closed = self._closed, None
        if closed is not None:
            closed()

    def _discard(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None


class FileSource:
    """A :class:`~virtcore.storage.DownloadSource` reading the volume file at ``path``."""

    def __init__(self, path: str, offset: int, length: int, what: str) -> None:
        self._what = what
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as exc:
            raise SystemError_(f"cannot download {what}: {exc.strerror or exc}") from None
        end = os.fstat(self._fd).st_size
        if offset > end:
            os.close(self._fd)
            raise InvalidArgError(f"offset {offset} is beyond the end of {what} ({end} bytes)")
        self._pos = offset
        self._left = min(length, end - offset) if length else end - offset
        self._size = self._left

    @property
    def size(self) -> int:
        """How many bytes the download delivers."""
        return self._size

    def read(self, size: int) -> bytes:
        """Up to ``size`` next bytes; ``b""`` at the end."""
        if self._left <= 0:
            return b""
        try:
            data = os.pread(self._fd, min(size, self._left), self._pos)
        except OSError as exc:
            raise SystemError_(f"cannot download {self._what}: {exc.strerror or exc}") from None
        self._pos += len(data)
        self._left = self._left - len(data) if data else 0
        return data

    def close(self) -> None:
        """Close the file."""
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _carry_tail(path: str, fd: int, start: int) -> None:
    """Copy what the file at ``path`` holds from ``start`` on into ``fd``, keeping holes as holes."""
    src = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        size = os.fstat(src).st_size
        if size <= start:
            return
        os.ftruncate(fd, size)
        pos = start
        while pos < size:
            try:
                data_at = os.lseek(src, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            hole_at = os.lseek(src, data_at, os.SEEK_HOLE)
            at = data_at
            while at < hole_at:
                chunk = os.pread(src, min(1 << 20, hole_at - at), at)
                if not chunk:
                    break
                os.pwrite(fd, chunk, at)
                at += len(chunk)
            pos = hole_at
    finally:
        os.close(src)
