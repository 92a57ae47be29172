"""Empty qcow2 overlays written directly: the bytes ``qemu-img create -f qcow2 -b`` writes.

An external snapshot's overlay is an empty qcow2 v3 image on a backing file:
a header (64 KiB clusters, 16-bit refcounts) with the backing format and
QEMU's feature name table as header extensions and the backing file's name
after them; a refcount table of one entry; one refcount block counting the four
clusters in use; a one-cluster L1 table of zeros (nothing allocated yet). Spawning
``qemu-img`` for these few bytes costs more than a snapshot's every other step,
so they are written here, byte for byte what QEMU 7.2's ``qemu-img create -f qcow2
-u -F FMT -b BACKING`` writes (a test compares them), then synced as it syncs
them. :func:`overlay_image` returns None where the layout would differ (an L1
table longer than a cluster, a size that is not a whole number of sectors, a
backing name too long): the caller makes those with ``qemu-img``.
"""

from __future__ import annotations

import struct

__all__ = ["overlay_image"]

_MAGIC = b"QFI\xfb"
_CLUSTER_BITS = 16
_CLUSTER = 1 << _CLUSTER_BITS
#: Guest bytes one L1 entry maps (an L2 table of 8-byte entries, each mapping a cluster).
_L1_SPAN = _CLUSTER * (_CLUSTER // 8)
_HEADER_LENGTH = 112  # version 3, with the compression type byte, padded to 8
_EXT_BACKING_FORMAT = 0xE2792ACA
_EXT_FEATURE_TABLE = 0x6803F857
#: QEMU's feature name table: (type: 0 incompatible, 1 compatible, 2 autoclear; bit; name).
_FEATURES = (
    (0, 0, "dirty bit"),
    (0, 1, "corrupt bit"),
    (0, 2, "external data file"),
    (0, 3, "compression type"),
    (0, 4, "extended L2 entries"),
    (1, 0, "lazy refcounts"),
    (2, 0, "bitmaps"),
    (2, 1, "raw external data"),
)
#: The longest backing file name QEMU accepts.
_MAX_BACKING = 1023


def _extension(kind: int, data: bytes) -> bytes:
    """A header extension: type, length, data padded to 8 bytes."""
    return struct.pack(">II", kind, len(data)) + data + b"\0" * (-len(data) % 8)


def overlay_image(size: int, backing: str, backing_format: str) -> list[tuple[int, bytes]] | None:
    """The writes (offset, bytes) that make an empty qcow2 overlay of ``size`` bytes on
    ``backing`` (an image of format ``backing_format``), the file's length being the end of
    the last; None when the image needs a layout this module does not write."""
    name = backing.encode()
    l1_size = -(-size // _L1_SPAN)
    if size <= 0 or size % 512 or l1_size * 8 > _CLUSTER or len(name) > _MAX_BACKING:
        return None
    table = b"".join(struct.pack(">BB46s", kind, bit, text.encode()) for kind, bit, text in _FEATURES)
    extensions = (
        _extension(_EXT_BACKING_FORMAT, backing_format.encode())
        + _extension(_EXT_FEATURE_TABLE, table)
        + struct.pack(">II", 0, 0)
    )
    backing_at = _HEADER_LENGTH + len(extensions)
    refcount_table, refcount_block, l1_table = _CLUSTER, 2 * _CLUSTER, 3 * _CLUSTER
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        _MAGIC,
        3,  # version
        backing_at,
        len(name),
        _CLUSTER_BITS,
        size,
        0,  # no encryption
        l1_size,
        l1_table,
        refcount_table,
        1,  # refcount table clusters
        0,  # snapshots
        0,  # snapshots offset
        0,  # incompatible features
        0,  # compatible features
        0,  # autoclear features
        4,  # refcount order: 16-bit refcounts
        _HEADER_LENGTH,
    )
    header += b"\0" * (_HEADER_LENGTH - len(header))  # compression type zlib, padding
    return [
        (0, header + extensions + name),
        (refcount_table, struct.pack(">Q", refcount_block)),
        (refcount_block, struct.pack(">4H", 1, 1, 1, 1)),  # header, refcount table and block, L1
        (l1_table, b"\0" * (l1_size * 8)),
    ]
