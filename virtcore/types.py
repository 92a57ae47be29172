"""Value types shared by the public API and the driver contract.

Numbers follow libvirt's ``libvirt-domain.h`` so that values read from
virtcore mean what they mean in libvirt. Records that libvirt-python returns
as lists (``virDomain.info()``, ``virConnect.getInfo()``) are named tuples
here: they unpack the same way and also have names.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef per field); real types save ~2M instructions of ``import virtcore``.

import enum
from typing import TYPE_CHECKING, NamedTuple

from virtcore._domainref import DomainRef

if TYPE_CHECKING:
    from virtcore._details import (
        ControlErrorReason,
        ControlInfo,
        ControlState,
        CrashedDetail,
        CrashedReason,
        DefinedDetail,
        DomainEvent,
        DomainEventType,
        DomainMetadataType,
        PausedReason,
        ResumedDetail,
        SecurityModel,
        ShutdownDetail,
        ShutdownReason,
        StartedDetail,
        StoppedDetail,
        SuspendedDetail,
        UndefinedDetail,
        VcpuInfo,
    )

__all__ = [
    "DomainState",
    "RunningReason",
    "PausedReason",
    "ShutdownReason",
    "ShutoffReason",
    "CrashedReason",
    "DomainEventType",
    "DomainMetadataType",
    "MEMORY_STAT_NAMES",
    "VcpuInfo",
    "StartedDetail",
    "SuspendedDetail",
    "ResumedDetail",
    "StoppedDetail",
    "CrashedDetail",
    "ShutdownDetail",
    "DefinedDetail",
    "UndefinedDetail",
    "DomainRef",
    "DomainInfo",
    "NodeInfo",
    "SecurityModel",
    "ControlState",
    "ControlErrorReason",
    "ControlInfo",
    "DomainEvent",
]


class DomainState(enum.IntEnum):
    """``virDomainState``."""

    NOSTATE = 0
    RUNNING = 1
    BLOCKED = 2
    PAUSED = 3
    SHUTDOWN = 4
    SHUTOFF = 5
    CRASHED = 6
    PMSUSPENDED = 7


class RunningReason(enum.IntEnum):
    """``virDomainRunningReason``: why a domain is RUNNING."""

    UNKNOWN = 0
    BOOTED = 1
    MIGRATED = 2
    RESTORED = 3
    FROM_SNAPSHOT = 4
    UNPAUSED = 5
    MIGRATION_CANCELED = 6
    SAVE_CANCELED = 7
    WAKEUP = 8
    CRASHED = 9
    POSTCOPY = 10


class ShutoffReason(enum.IntEnum):
    """``virDomainShutoffReason``: why a domain is SHUTOFF."""

    UNKNOWN = 0
    SHUTDOWN = 1
    DESTROYED = 2
    CRASHED = 3
    MIGRATED = 4
    SAVED = 5
    FAILED = 6
    FROM_SNAPSHOT = 7
    DAEMON = 8


#: The names of a domain's memory statistics, in the order of libvirt's ``virDomainMemoryStatTags``
#: (libvirt-python's ``memoryStats()`` keys).
MEMORY_STAT_NAMES = (
    "swap_in", "swap_out", "major_fault", "minor_fault", "unused", "available", "actual", "rss",
    "usable", "last_update", "disk_caches", "hugetlb_pgalloc", "hugetlb_pgfail",
)  # fmt: skip


def __getattr__(name: str) -> object:
    # The reasons, details and records no cold path reads live in virtcore._details, imported on
    # first use.
    if not name.startswith("_"):
        from virtcore import _details  # saves ~15M instructions of import: fifteen enums, four records

        if name in _details.__all__:
            return getattr(_details, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DomainInfo(NamedTuple):
    """``virDomainInfo``: what ``virDomain.info()`` returns, in the same order.

    Memory figures are KiB; ``cpu_time`` is nanoseconds of CPU used.
    """

    state: DomainState
    max_memory: int
    memory: int
    nr_virt_cpu: int
    cpu_time: int


class NodeInfo(NamedTuple):
    """``virNodeInfo``: the host, in ``virConnect.getInfo()``'s order (memory in KiB)."""

    model: str
    memory: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int
