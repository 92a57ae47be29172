"""The state reasons, event details and records no cold path reads, public in :mod:`virtcore.types`.

:mod:`virtcore.types` imports this module on first use: opening a
connection, looking a domain up and reading its info need only the states,
the reasons for RUNNING and SHUTOFF and the domain and node records, and
building these fifteen enums and four records would add ~15M instructions to
every cold process.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple would compile each string
# annotation (a ForwardRef per field).

import enum
from typing import NamedTuple

from virtcore._domainref import DomainRef

__all__ = [
    "DomainEvent",
    "DomainEventType",
    "ControlErrorReason",
    "ControlInfo",
    "ControlState",
    "DomainMetadataType",
    "SecurityModel",
    "VcpuInfo",
    "CrashedDetail",
    "CrashedReason",
    "DefinedDetail",
    "PausedReason",
    "ResumedDetail",
    "ShutdownDetail",
    "ShutdownReason",
    "StartedDetail",
    "StoppedDetail",
    "SuspendedDetail",
    "UndefinedDetail",
]


class PausedReason(enum.IntEnum):
    """``virDomainPausedReason``: why a domain is PAUSED."""

    __module__ = "virtcore.types"

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

    __module__ = "virtcore.types"

    UNKNOWN = 0
    USER = 1


class CrashedReason(enum.IntEnum):
    """``virDomainCrashedReason``."""

    __module__ = "virtcore.types"

    UNKNOWN = 0
    PANICKED = 1


class DefinedDetail(enum.IntEnum):
    """Detail of a DEFINED event."""

    __module__ = "virtcore.types"

    ADDED = 0
    UPDATED = 1
    RENAMED = 2
    FROM_SNAPSHOT = 3


class UndefinedDetail(enum.IntEnum):
    """Detail of an UNDEFINED event."""

    __module__ = "virtcore.types"

    REMOVED = 0
    RENAMED = 1


class StartedDetail(enum.IntEnum):
    """Detail of a STARTED event."""

    __module__ = "virtcore.types"

    BOOTED = 0
    MIGRATED = 1
    RESTORED = 2
    FROM_SNAPSHOT = 3
    WAKEUP = 4


class SuspendedDetail(enum.IntEnum):
    """Detail of a SUSPENDED event."""

    __module__ = "virtcore.types"

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

    __module__ = "virtcore.types"

    UNPAUSED = 0
    MIGRATED = 1
    FROM_SNAPSHOT = 2
    POSTCOPY = 3


class StoppedDetail(enum.IntEnum):
    """Detail of a STOPPED event."""

    __module__ = "virtcore.types"

    SHUTDOWN = 0
    DESTROYED = 1
    CRASHED = 2
    MIGRATED = 3
    SAVED = 4
    FAILED = 5
    FROM_SNAPSHOT = 6


class CrashedDetail(enum.IntEnum):
    """Detail of a CRASHED event."""

    __module__ = "virtcore.types"

    PANICKED = 0
    CRASHLOADED = 1


class ShutdownDetail(enum.IntEnum):
    """Detail of a SHUTDOWN event."""

    __module__ = "virtcore.types"

    FINISHED = 0
    GUEST = 1
    HOST = 2


class DomainEventType(enum.IntEnum):
    """``virDomainEventType``: the kind of a lifecycle event."""

    __module__ = "virtcore.types"

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    SUSPENDED = 3
    RESUMED = 4
    STOPPED = 5
    SHUTDOWN = 6
    PMSUSPENDED = 7
    CRASHED = 8


class DomainMetadataType(enum.IntEnum):
    """``virDomainMetadataType``: which piece of a domain's metadata."""

    __module__ = "virtcore.types"

    DESCRIPTION = 0
    TITLE = 1
    ELEMENT = 2


class ControlState(enum.IntEnum):
    """``virDomainControlState``: what the interface controlling a domain is doing."""

    __module__ = "virtcore.types"

    OK = 0
    JOB = 1
    OCCUPIED = 2
    ERROR = 3


class ControlErrorReason(enum.IntEnum):
    """``virDomainControlErrorReason``: why the control interface is in :attr:`ControlState.ERROR`."""

    __module__ = "virtcore.types"

    NONE = 0
    UNKNOWN = 1
    MONITOR = 2
    INTERNAL = 3


class VcpuInfo(NamedTuple):
    """``virVcpuInfo``: one vCPU of a running domain (libvirt-python's ``vcpus()`` rows)."""

    number: int
    #: ``virVcpuState``: 0 offline, 1 running, 2 blocked.
    state: int
    #: CPU time used, nanoseconds.
    cpu_time: int
    #: The host CPU it runs on (-1: none).
    cpu: int


class SecurityModel(NamedTuple):
    """``virSecurityModel``: the host's security driver (``"selinux"``, ``"apparmor"``, ``"none"``...)
    and its domain of interpretation; both empty when there is none."""

    model: str
    doi: str


class ControlInfo(NamedTuple):
    """``virDomainControlInfo``: the control interface's state, its detail (a
    :class:`ControlErrorReason` in ERROR, else 0) and how long it has been in it (ms)."""

    state: ControlState
    details: int
    state_time: int


class DomainEvent(NamedTuple):
    """A lifecycle event, as drivers report it through ``virt_domain_event``.

    ``detail`` is a member of the detail enum that goes with ``event``
    (:class:`StartedDetail` for STARTED, ...), or a plain int.
    """

    domain: DomainRef
    event: DomainEventType
    detail: int


# Their public home: pickling, documentation and class reprs name virtcore.types (the enums
# say so in their bodies; a NamedTuple's body cannot).
for _record in (VcpuInfo, SecurityModel, ControlInfo, DomainEvent):
    _record.__module__ = "virtcore.types"
del _record
