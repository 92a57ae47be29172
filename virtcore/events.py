"""Domain events besides the lifecycle: libvirt's event ids and the records drivers emit.

libvirt numbers every kind of domain event (``VIR_DOMAIN_EVENT_ID_*``,
:class:`DomainEventID`); a lifecycle change is a
:class:`~virtcore.types.DomainEvent`, every other kind a record of this module
carrying the payload libvirt's callback of that id receives (an RTC change its
offset, an I/O error the disk's path, alias, action and reason...). A driver
reports one by calling the ``emit`` it got in ``virt_connect_open`` with the
record; users receive records with ``Connection.on_domain_event_any(event_id,
callback)``. One record may answer several ids: an :class:`IOErrorEvent`
reaches the callbacks of both ``IO_ERROR`` and ``IO_ERROR_REASON``, as libvirt
emits both for one error. Ids no driver produces can be registered and never fire.

Numbers are libvirt's (``libvirt-domain.h``). Nothing on the cold path imports
this module: the core reads it when a driver emits something other than a
lifecycle event or a user registers for one.
"""

# No ``from __future__ import annotations``: typing.NamedTuple compiles string annotations.

import enum
from typing import NamedTuple, TypeAlias

from virtcore.types import DomainEvent, DomainRef

__all__ = [
    "DomainEventID",
    "WatchdogAction",
    "IOErrorAction",
    "TrayChangeReason",
    "DiskChangeReason",
    "AgentLifecycleState",
    "AgentLifecycleReason",
    "RebootEvent",
    "RTCChangeEvent",
    "WatchdogEvent",
    "IOErrorEvent",
    "TrayChangeEvent",
    "DiskChangeEvent",
    "PMWakeupEvent",
    "PMSuspendEvent",
    "PMSuspendDiskEvent",
    "BalloonChangeEvent",
    "DeviceAddedEvent",
    "DeviceRemovedEvent",
    "DeviceRemovalFailedEvent",
    "AgentLifecycleEvent",
    "MetadataChangeEvent",
    "AnyDomainEvent",
    "event_ids",
]


class DomainEventID(enum.IntEnum):
    """``virDomainEventID``: every kind of domain event libvirt defines."""

    LIFECYCLE = 0
    REBOOT = 1
    RTC_CHANGE = 2
    WATCHDOG = 3
    IO_ERROR = 4
    GRAPHICS = 5
    IO_ERROR_REASON = 6
    CONTROL_ERROR = 7
    BLOCK_JOB = 8
    DISK_CHANGE = 9
    TRAY_CHANGE = 10
    PMWAKEUP = 11
    PMSUSPEND = 12
    BALLOON_CHANGE = 13
    PMSUSPEND_DISK = 14
    DEVICE_REMOVED = 15
    BLOCK_JOB_2 = 16
    TUNABLE = 17
    AGENT_LIFECYCLE = 18
    DEVICE_ADDED = 19
    MIGRATION_ITERATION = 20
    JOB_COMPLETED = 21
    DEVICE_REMOVAL_FAILED = 22
    METADATA_CHANGE = 23
    BLOCK_THRESHOLD = 24
    MEMORY_FAILURE = 25
    MEMORY_DEVICE_SIZE_CHANGE = 26


class WatchdogAction(enum.IntEnum):
    """``virDomainEventWatchdogAction``: what the hypervisor did when the watchdog fired."""

    NONE = 0
    PAUSE = 1
    RESET = 2
    POWEROFF = 3
    SHUTDOWN = 4
    DEBUG = 5
    INJECTNMI = 6


class IOErrorAction(enum.IntEnum):
    """``virDomainEventIOErrorAction``: what the hypervisor did on a disk I/O error."""

    NONE = 0
    PAUSE = 1
    REPORT = 2


class TrayChangeReason(enum.IntEnum):
    """``virDomainEventTrayChangeReason``."""

    OPEN = 0
    CLOSE = 1


class DiskChangeReason(enum.IntEnum):
    """``virConnectDomainEventDiskChangeReason``."""

    MISSING_ON_START = 0
    DROP_MISSING_ON_START = 1


class AgentLifecycleState(enum.IntEnum):
    """``virConnectDomainEventAgentLifecycleState``."""

    CONNECTED = 1
    DISCONNECTED = 2


class AgentLifecycleReason(enum.IntEnum):
    """``virConnectDomainEventAgentLifecycleReason``."""

    UNKNOWN = 0
    DOMAIN_STARTED = 1
    CHANNEL = 2


class RebootEvent(NamedTuple):
    """``REBOOT``: the guest was reset (by itself or through the hypervisor)."""

    domain: DomainRef


class RTCChangeEvent(NamedTuple):
    """``RTC_CHANGE``: the guest set its clock; ``utcoffset`` is its new offset from UTC in seconds."""

    domain: DomainRef
    utcoffset: int


class WatchdogEvent(NamedTuple):
    """``WATCHDOG``: the guest's watchdog fired; ``action`` is a :class:`WatchdogAction`."""

    domain: DomainRef
    action: int


class IOErrorEvent(NamedTuple):
    """``IO_ERROR`` and ``IO_ERROR_REASON``: a disk failed an I/O.

    ``src_path`` and ``dev_alias`` name the disk (``""`` when it cannot be
    told), ``action`` is an :class:`IOErrorAction`, ``reason`` libvirt's
    string (``"enospc"`` when the host ran out of space, else ``""``).
    """

    domain: DomainRef
    src_path: str
    dev_alias: str
    action: int
    reason: str


class TrayChangeEvent(NamedTuple):
    """``TRAY_CHANGE``: a removable disk's tray opened or closed (:class:`TrayChangeReason`)."""

    domain: DomainRef
    dev_alias: str
    reason: int


class DiskChangeEvent(NamedTuple):
    """``DISK_CHANGE``: a disk's source changed (``None``: no source before/after)."""

    domain: DomainRef
    old_src_path: str | None
    new_src_path: str | None
    dev_alias: str
    reason: int


class PMWakeupEvent(NamedTuple):
    """``PMWAKEUP``: the guest woke up from a power-management suspend (``reason`` is 0)."""

    domain: DomainRef
    reason: int


class PMSuspendEvent(NamedTuple):
    """``PMSUSPEND``: the guest suspended itself to RAM (``reason`` is 0)."""

    domain: DomainRef
    reason: int


class PMSuspendDiskEvent(NamedTuple):
    """``PMSUSPEND_DISK``: the guest suspended itself to disk (``reason`` is 0)."""

    domain: DomainRef
    reason: int


class BalloonChangeEvent(NamedTuple):
    """``BALLOON_CHANGE``: the balloon's size changed; ``actual`` is the guest's memory in KiB."""

    domain: DomainRef
    actual: int


class DeviceAddedEvent(NamedTuple):
    """``DEVICE_ADDED``: a device was hot-plugged; ``dev_alias`` is its alias."""

    domain: DomainRef
    dev_alias: str


class DeviceRemovedEvent(NamedTuple):
    """``DEVICE_REMOVED``: the guest released a hot-unplugged device; ``dev_alias`` is its alias."""

    domain: DomainRef
    dev_alias: str


class DeviceRemovalFailedEvent(NamedTuple):
    """``DEVICE_REMOVAL_FAILED``: the guest refused to release the device ``dev_alias``."""

    domain: DomainRef
    dev_alias: str


class AgentLifecycleEvent(NamedTuple):
    """``AGENT_LIFECYCLE``: the guest agent (dis)connected (:class:`AgentLifecycleState`,
    :class:`AgentLifecycleReason`)."""

    domain: DomainRef
    state: int
    reason: int


class MetadataChangeEvent(NamedTuple):
    """``METADATA_CHANGE``: the domain's metadata of ``type`` (``virDomainMetadataType``)
    changed; ``nsuri`` names the namespace of an element (``None`` otherwise)."""

    domain: DomainRef
    type: int
    nsuri: str | None


#: Every record a driver may emit (the lifecycle's is :class:`~virtcore.types.DomainEvent`).
AnyDomainEvent: TypeAlias = (
    DomainEvent
    | RebootEvent
    | RTCChangeEvent
    | WatchdogEvent
    | IOErrorEvent
    | TrayChangeEvent
    | DiskChangeEvent
    | PMWakeupEvent
    | PMSuspendEvent
    | PMSuspendDiskEvent
    | BalloonChangeEvent
    | DeviceAddedEvent
    | DeviceRemovedEvent
    | DeviceRemovalFailedEvent
    | AgentLifecycleEvent
    | MetadataChangeEvent
)

_IDS: dict[type, tuple[DomainEventID, ...]] = {
    DomainEvent: (DomainEventID.LIFECYCLE,),
    RebootEvent: (DomainEventID.REBOOT,),
    RTCChangeEvent: (DomainEventID.RTC_CHANGE,),
    WatchdogEvent: (DomainEventID.WATCHDOG,),
    IOErrorEvent: (DomainEventID.IO_ERROR, DomainEventID.IO_ERROR_REASON),
    TrayChangeEvent: (DomainEventID.TRAY_CHANGE,),
    DiskChangeEvent: (DomainEventID.DISK_CHANGE,),
    PMWakeupEvent: (DomainEventID.PMWAKEUP,),
    PMSuspendEvent: (DomainEventID.PMSUSPEND,),
    PMSuspendDiskEvent: (DomainEventID.PMSUSPEND_DISK,),
    BalloonChangeEvent: (DomainEventID.BALLOON_CHANGE,),
    DeviceAddedEvent: (DomainEventID.DEVICE_ADDED,),
    DeviceRemovedEvent: (DomainEventID.DEVICE_REMOVED,),
    DeviceRemovalFailedEvent: (DomainEventID.DEVICE_REMOVAL_FAILED,),
    AgentLifecycleEvent: (DomainEventID.AGENT_LIFECYCLE,),
    MetadataChangeEvent: (DomainEventID.METADATA_CHANGE,),
}


def event_ids(event: object) -> tuple[DomainEventID, ...]:
    """The event ids whose callbacks ``event`` reaches (``()`` for anything that is no record)."""
    return _IDS.get(type(event), ())
