"""Value types shared by the public API and the driver contract.

Numbers follow libvirt's ``libvirt-domain.h`` so that values read from
virtcore mean what they mean in libvirt. Records that libvirt-python returns
as lists (``virDomain.info()``, ``virConnect.getInfo()``) are named tuples
here: they unpack the same way and also have names.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

__all__ = [
    "DomainState",
    "RunningReason",
    "PausedReason",
    "ShutdownReason",
    "ShutoffReason",
    "CrashedReason",
    "DomainEventType",
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


class PausedReason(enum.IntEnum):
    """``virDomainPausedReason``: why a domain is PAUSED."""

    UNKNOWN = 0
    USER = 1
    MIGRATION = 2
    SAVE = 3
    DUMP = 4
    IOERROR = 5
    WATCHDOG = 6
    FROM_SNAPSHOT = 7
    SHUTTING_DOWN = 8
    SNAPSHOT = 9
    CRASHED = 10
    STARTING_UP = 11


class ShutdownReason(enum.IntEnum):
    """``virDomainShutdownReason``: why a domain is SHUTDOWN (shutting down)."""

    UNKNOWN = 0
    USER = 1


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


class CrashedReason(enum.IntEnum):
    """``virDomainCrashedReason``."""

    UNKNOWN = 0
    PANICKED = 1


class DomainEventType(enum.IntEnum):
    """``virDomainEventType``: the kind of a lifecycle event."""

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    SUSPENDED = 3
    RESUMED = 4
    STOPPED = 5
    SHUTDOWN = 6
    PMSUSPENDED = 7
    CRASHED = 8


class DefinedDetail(enum.IntEnum):
    """Detail of a DEFINED event."""

    ADDED = 0
    UPDATED = 1
    RENAMED = 2
    FROM_SNAPSHOT = 3


class UndefinedDetail(enum.IntEnum):
    """Detail of an UNDEFINED event."""

    REMOVED = 0
    RENAMED = 1


class StartedDetail(enum.IntEnum):
    """Detail of a STARTED event."""

    BOOTED = 0
    MIGRATED = 1
    RESTORED = 2
    FROM_SNAPSHOT = 3
    WAKEUP = 4


class SuspendedDetail(enum.IntEnum):
    """Detail of a SUSPENDED event."""

    PAUSED = 0
    MIGRATED = 1
    IOERROR = 2
    WATCHDOG = 3
    RESTORED = 4
    FROM_SNAPSHOT = 5
    API_ERROR = 6
    POSTCOPY = 7
    POSTCOPY_FAILED = 8


class ResumedDetail(enum.IntEnum):
    """Detail of a RESUMED event."""

    UNPAUSED = 0
    MIGRATED = 1
    FROM_SNAPSHOT = 2
    POSTCOPY = 3


class StoppedDetail(enum.IntEnum):
    """Detail of a STOPPED event."""

    SHUTDOWN = 0
    DESTROYED = 1
    CRASHED = 2
    MIGRATED = 3
    SAVED = 4
    FAILED = 5
    FROM_SNAPSHOT = 6


class CrashedDetail(enum.IntEnum):
    """Detail of a CRASHED event."""

    PANICKED = 0
    CRASHLOADED = 1


class ShutdownDetail(enum.IntEnum):
    """Detail of a SHUTDOWN event."""

    FINISHED = 0
    GUEST = 1
    HOST = 2


class DomainRef(NamedTuple):
    """What a driver answers to a lookup: a domain's identity.

    ``id`` is the hypervisor's id while the domain is active and ``-1`` while
    it is not (libvirt's convention). ``uuid`` is the canonical lowercase
    36-character form; the core uses it to address the domain in every
    later hook call.
    """

    name: str
    uuid: str
    id: int


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


class DomainEvent(NamedTuple):
    """A lifecycle event, as drivers report it through ``virt_domain_event``.

    ``detail`` is a member of the detail enum that goes with ``event``
    (:class:`StartedDetail` for STARTED, ...), or a plain int.
    """

    domain: DomainRef
    event: DomainEventType
    detail: int
