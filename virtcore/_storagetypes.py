"""The storage enums, records and stream protocols, public in :mod:`virtcore.storage`.

:mod:`virtcore.storage` imports this module on first use: a process that
opens a connection and never touches storage does not build these three
enums, four named tuples and two protocols (~5M instructions of a cold open).
"""

# No ``from __future__ import annotations``: typing.NamedTuple compiles string annotations.

import enum
from typing import NamedTuple, Protocol

__all__ = [
    "StoragePoolState",
    "StorageVolType",
    "StorageVolWipeAlgorithm",
    "StoragePoolRef",
    "StorageVolRef",
    "StoragePoolInfo",
    "StorageVolInfo",
    "UploadSink",
    "DownloadSource",
]


class StoragePoolState(enum.IntEnum):
    """``virStoragePoolState``."""

    INACTIVE = 0
    BUILDING = 1
    RUNNING = 2
    DEGRADED = 3
    INACCESSIBLE = 4


class StorageVolType(enum.IntEnum):
    """``virStorageVolType``."""

    FILE = 0
    BLOCK = 1
    DIR = 2
    NETWORK = 3
    NETDIR = 4
    PLOOP = 5


class StorageVolWipeAlgorithm(enum.IntEnum):
    """``virStorageVolWipeAlgorithm``."""

    ZERO = 0
    NNSA = 1
    DOD = 2
    BSI = 3
    GUTMANN = 4
    SCHNEIER = 5
    PFITZNER7 = 6
    PFITZNER33 = 7
    RANDOM = 8
    TRIM = 9


class StoragePoolRef(NamedTuple):
    """What a driver answers to a pool lookup: the pool's identity (canonical UUID string)."""

    name: str
    uuid: str


class StorageVolRef(NamedTuple):
    """What a driver answers to a volume lookup: its pool's name, its name and its key."""

    pool: str
    name: str
    key: str


class StoragePoolInfo(NamedTuple):
    """``virStoragePoolInfo``, in ``virStoragePool.info()``'s order (bytes)."""

    state: StoragePoolState
    capacity: int
    allocation: int
    available: int


class StorageVolInfo(NamedTuple):
    """``virStorageVolInfo``, in ``virStorageVol.info()``'s order (bytes)."""

    type: StorageVolType
    capacity: int
    allocation: int


class UploadSink(Protocol):
    """Where an upload's bytes go: what :func:`~virtcore.hookspecs.virt_storage_vol_upload` returns."""

    def write(self, data: bytes) -> None:
        """Write the next chunk."""

    def finish(self) -> None:
        """All data was written: make it durable and release the volume."""

    def abort(self) -> None:
        """The upload failed: release the volume (its content is unspecified, never claimed complete)."""


class DownloadSource(Protocol):
    """Where a download's bytes come from.

    What :func:`~virtcore.hookspecs.virt_storage_vol_download` returns.
    """

    @property
    def size(self) -> int:
        """How many bytes it will deliver in all."""

    def read(self, size: int) -> bytes:
        """Up to ``size`` next bytes; ``b""`` at the end."""

    def close(self) -> None:
        """Release the volume."""


# Their public home: pickling, documentation and class reprs name virtcore.storage.
for _name in __all__:
    globals()[_name].__module__ = "virtcore.storage"
del _name
