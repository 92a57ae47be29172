"""The test driver's screenshot: a PNG picture streamed in chunks, as libvirt's test driver streams its own.

libvirt's test driver answers every screenshot with ``image/png`` and the bytes of a
picture it ships, whatever the domain's state and the screen asked. virt-test draws
its own picture instead (a grey gradient, made here with ``zlib``: nothing is read from
disk) and streams it the same way.
"""

from __future__ import annotations

import functools
import struct
import zlib

__all__ = ["PNG_MIME", "ImageSource", "test_screenshot"]

#: The MIME type every screenshot of the test driver has.
PNG_MIME = "image/png"

_WIDTH, _HEIGHT = 320, 200


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@functools.cache
def test_screenshot() -> bytes:
    """The picture: a valid 320x200 8-bit greyscale PNG."""
    rows = b"".join(b"\x00" + bytes((x + y) % 256 for x in range(_WIDTH)) for y in range(_HEIGHT))
    header = struct.pack(">IIBBBBB", _WIDTH, _HEIGHT, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


test_screenshot.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class ImageSource:
    """A :class:`~virtcore.storage.DownloadSource` over bytes held in memory."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    @property
    def size(self) -> int:
        """How many bytes the picture has."""
        return len(self._data)

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes at most (``b""``: the end)."""
        out = self._data[self._at : self._at + size]
        self._at += len(out)
        return out

    def close(self) -> None:
        """Nothing to release."""
