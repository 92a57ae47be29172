"""The state reasons and event details no cold path reads, public in :mod:`virtcore.types`.

:mod:`virtcore.types` imports this module on first use: opening a
connection, looking a domain up and reading its info need only the states,
the reasons for RUNNING and SHUTOFF and the event types, and building these
eleven enums would add ~10M instructions to every cold process.
"""

from __future__ import annotations

import enum

__all__ = [
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
