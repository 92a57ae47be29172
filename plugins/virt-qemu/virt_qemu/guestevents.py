"""QMP events that become libvirt's domain events besides the lifecycle.

QEMU reports what happens to a guest on its monitor (``RESET``,
``RTC_CHANGE``, ``WATCHDOG``, ``BLOCK_IO_ERROR``...); :func:`records` turns
one of them into the :mod:`virtcore.events` records libvirt's QEMU driver
emits for it (``qemu_process.c``): a reset is ``REBOOT`` (except the one of
a start still paused), an RTC change carries the guest's offset from UTC (a
``variable`` clock's start adjustment included), a watchdog its action, an
I/O error the disk's source, alias, action and ``"enospc"`` when the host ran
out of space, a tray the disk's alias. The lifecycle side of these (a guest
paused by an I/O error or a watchdog) comes from the run state, as for every
other pause. The guest agent's (dis)connection is in :mod:`virt_qemu.qmpevents`,
where the channel's state is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from virtcore.events import (
    AnyDomainEvent,
    BalloonChangeEvent,
    DeviceRemovalFailedEvent,
    DeviceRemovedEvent,
    IOErrorAction,
    IOErrorEvent,
    PMSuspendDiskEvent,
    PMSuspendEvent,
    PMWakeupEvent,
    RebootEvent,
    RTCChangeEvent,
    TrayChangeEvent,
    TrayChangeReason,
    WatchdogAction,
    WatchdogEvent,
)
from virtcore.types import DomainRef
from virtcore.xml import DomainDef

__all__ = ["QMP_EVENTS", "records", "DiskLookup"]

#: The QMP events :func:`records` translates.
QMP_EVENTS = frozenset(
    {
        "RESET",
        "RTC_CHANGE",
        "WATCHDOG",
        "BLOCK_IO_ERROR",
        "DEVICE_TRAY_MOVED",
        "DEVICE_DELETED",
        "DEVICE_UNPLUG_GUEST_ERROR",
        "BALLOON_CHANGE",
        "SUSPEND",
        "SUSPEND_DISK",
        "WAKEUP",
    }
)

#: QEMU's watchdog actions, as libvirt numbers them.
_WATCHDOG = {
    "none": WatchdogAction.NONE,
    "pause": WatchdogAction.PAUSE,
    "reset": WatchdogAction.RESET,
    "poweroff": WatchdogAction.POWEROFF,
    "shutdown": WatchdogAction.SHUTDOWN,
    "debug": WatchdogAction.DEBUG,
    "inject-nmi": WatchdogAction.INJECTNMI,
}

#: QEMU's I/O error actions, as libvirt numbers them.
_IO_ERROR = {"ignore": IOErrorAction.NONE, "stop": IOErrorAction.PAUSE, "report": IOErrorAction.REPORT}

#: ``lookup(device, node_name)``: the ``(source path, alias)`` of the disk QEMU names, ``("", "")`` if none.
DiskLookup = Callable[[str, str], tuple[str, str]]


def records(
    ref: DomainRef,
    definition: DomainDef | None,
    name: str,
    data: dict[str, Any],
    *,
    starting_up: bool,
    disk: DiskLookup,
) -> list[AnyDomainEvent]:
    """The records libvirt emits for QMP event ``name`` with ``data`` (``[]``: none).

    :param definition: the domain's live definition (its clock), if known.
    :param starting_up: the domain is paused while starting (a reset then is QEMU's own).
    :param disk: finds a disk by QEMU's device or node name (asked for I/O errors only).
    """
    if name == "RESET":
        return [] if starting_up else [RebootEvent(ref)]
    if name == "RTC_CHANGE":
        offset = _int(data.get("offset"))
        clock = definition.clock if definition is not None else None
        if clock is not None and clock.offset == "variable":
            offset += clock.adjustment or 0
        return [RTCChangeEvent(ref, offset)]
    if name == "WATCHDOG":
        return [WatchdogEvent(ref, _WATCHDOG.get(str(data.get("action", "")), WatchdogAction.NONE))]
    if name == "BLOCK_IO_ERROR":
        src, alias = disk(str(data.get("device") or ""), str(data.get("node-name") or ""))
        action = _IO_ERROR.get(str(data.get("action", "ignore")), IOErrorAction.NONE)
        reason = "enospc" if data.get("nospace") is True else ""
        return [IOErrorEvent(ref, src, alias, action, reason)]
    if name == "DEVICE_TRAY_MOVED":
        alias = str(data.get("id") or data.get("device") or "")
        tray = TrayChangeReason.OPEN if data.get("tray-open") else TrayChangeReason.CLOSE
        return [TrayChangeEvent(ref, alias, tray)] if alias else []
    if name == "DEVICE_DELETED":
        # Devices without an id (a disk's inner backend) are QEMU's own parts, not the domain's.
        alias = str(data.get("device") or "")
        return [DeviceRemovedEvent(ref, alias)] if alias else []
    if name == "DEVICE_UNPLUG_GUEST_ERROR":
        alias = str(data.get("device") or "")
        return [DeviceRemovalFailedEvent(ref, alias)] if alias else []
    if name == "BALLOON_CHANGE":
        return [BalloonChangeEvent(ref, _int(data.get("actual")) // 1024)]
    if name == "SUSPEND":
        return [PMSuspendEvent(ref, 0)]
    if name == "SUSPEND_DISK":
        return [PMSuspendDiskEvent(ref, 0)]
    if name == "WAKEUP":
        return [PMWakeupEvent(ref, 0)]
    return []


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
