"""Domain events of a real QEMU guest, by libvirt's event id (issue 13).

One guest (the agent test image, ``vc.mode=disk``) lives through what makes
QEMU report something: its agent connects, it reboots, its balloon shrinks, a
disk is hot-plugged and unplugged, it sets its hardware clock an hour ahead,
and it writes to a disk whose file lives on a 1 MiB tmpfs until the host runs
out of space. Each must arrive as the record libvirt's QEMU driver emits, with
libvirt's numbers, and the lifecycle events around them in libvirt's order.
The QMP translation of what this guest cannot do (a watchdog: the cloud
kernel has no i6300esb driver; a tray: no CD-ROM driver) is pinned on QEMU's
event shapes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from virt_qemu import guestevents, testguest
from virt_qemu.testguest import read, wait_for

import virtcore
from virtcore.events import (
    AgentLifecycleEvent,
    AgentLifecycleReason,
    AgentLifecycleState,
    BalloonChangeEvent,
    DeviceAddedEvent,
    DeviceRemovedEvent,
    DomainEventID,
    IOErrorAction,
    IOErrorEvent,
    RebootEvent,
    RTCChangeEvent,
    TrayChangeEvent,
    TrayChangeReason,
    WatchdogAction,
    WatchdogEvent,
)
from virtcore.types import (
    DomainEvent,
    DomainEventType,
    DomainRef,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
)
from virtcore.xml import parse_domain

pytestmark = pytest.mark.timeout(600)

MIB = 1 << 20
#: What the guest does once its init is up (``vc.mode=disk`` runs it from /dev/vda): wait for
#: the test to plug vdc and unplug it, set the clock an hour ahead and write it to the RTC,
#: then fill vdb (whose file cannot grow past 1 MiB on the host).
SCRIPT = """
echo vc-ev-script
while [ ! -e /dev/vdc ]; do usleep 100000; done
echo vc-ev-saw-vdc
while [ -e /dev/vdc ]; do usleep 100000; done
echo vc-ev-vdc-gone
/bin/busybox date -u -s @$(( $(/bin/busybox date -u +%s) + 3600 )) >/dev/null
/bin/busybox hwclock -w -u
echo vc-ev-rtc
/bin/busybox dd if=/dev/urandom of=/dev/vdb bs=65536 count=64 conv=fsync 2>/dev/null
echo vc-ev-wrote
"""


class Recorder:
    """Every event of every id on one connection, in arrival order, as ``(id, record)``."""

    def __init__(self, conn: virtcore.Connection) -> None:
        self.events: list[tuple[int, Any]] = []
        self._lock = threading.Lock()
        for eid in DomainEventID:
            conn.on_domain_event_any(eid, lambda d, ev, eid=eid: self._add(eid, ev))

    def _add(self, eid: int, ev: Any) -> None:
        with self._lock:
            self.events.append((eid, ev))

    def of(self, eid: int) -> list[Any]:
        with self._lock:
            return [ev for i, ev in self.events if i == eid]

    def index(self, eid: int, pred: Callable[[Any], bool]) -> int:
        with self._lock:
            return next(n for n, (i, ev) in enumerate(self.events) if i == eid and pred(ev))

    def wait(self, eid: int, pred: Callable[[Any], bool], what: str, timeout: float = 120) -> Any:
        wait_for(lambda: any(pred(ev) for ev in self.of(eid)), timeout, what)
        return next(ev for ev in self.of(eid) if pred(ev))


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (unmounted afterwards): a disk file on it runs out of space."""
    if os.geteuid() != 0:
        pytest.skip("mounting a 1 MiB tmpfs for the ENOSPC disk needs root")
    where = tmp_path / "small"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_real_guest_reports_its_events_with_libvirts_ids(
    tmp_path: Path, guest_files: tuple[Path, Path], small_fs: Path
) -> None:
    kernel = guest_files[0]
    initrd = testguest.build_initramfs(kernel, cache_dir=tmp_path / "initramfs", agent=True)
    script = tmp_path / "script.raw"
    script.write_bytes(testguest.disk_script_image(SCRIPT, MIB))
    full = small_fs / "full.raw"
    with full.open("wb") as f:
        f.truncate(16 * MIB)  # sparse: a 16 MiB disk on a 1 MiB file system
    disks = (
        f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{script}'/>"
        "<target dev='vda' bus='virtio'/></disk>"
        f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{full}'/>"
        "<target dev='vdb' bus='virtio'/></disk>"
    )
    log = tmp_path / "serial.log"
    xml = testguest.guest_domain_xml(
        "events", kernel, initrd, agent=True, mode="disk", extra_devices=disks, serial_log=log
    )
    plug = tmp_path / "plug.raw"
    plug.write_bytes(b"\0" * MIB)
    plug_xml = (
        f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{plug}'/>"
        "<target dev='vdc' bus='virtio'/></disk>"
    )
    root = tmp_path / "root"
    root.mkdir()

    def after_reboot() -> str:
        return read(log).split(testguest.MARKER)[-1]

    with virtcore.open(f"qemu:///embed?root={root}") as conn:
        rec = Recorder(conn)
        dom = conn.define_domain(xml)
        try:
            dom.start()
            # The agent's port is closed at start (libvirt: DISCONNECTED, DOMAIN_STARTED, before
            # STARTED), then qemu-ga opens it (CONNECTED, CHANNEL).
            started = rec.wait(
                DomainEventID.LIFECYCLE, lambda e: e.event == DomainEventType.STARTED, "STARTED", 10
            )
            assert started.detail == StartedDetail.BOOTED
            first_agent = rec.of(DomainEventID.AGENT_LIFECYCLE)[0]
            assert (first_agent.state, first_agent.reason) == (
                AgentLifecycleState.DISCONNECTED,
                AgentLifecycleReason.DOMAIN_STARTED,
            )
            assert rec.index(DomainEventID.AGENT_LIFECYCLE, lambda e: True) < rec.index(
                DomainEventID.LIFECYCLE, lambda e: e.event == DomainEventType.STARTED
            )
            rec.wait(
                DomainEventID.AGENT_LIFECYCLE,
                lambda e: (
                    (e.state, e.reason) == (AgentLifecycleState.CONNECTED, AgentLifecycleReason.CHANNEL)
                ),
                "the agent to connect",
                180,
            )
            testguest.wait_marker(log, timeout=180)

            # A reboot resets the guest: REBOOT (libvirt's fake reboot: power button, then reset).
            dom.reboot()
            reboot = rec.wait(DomainEventID.REBOOT, lambda e: True, "REBOOT")
            assert isinstance(reboot, RebootEvent) and reboot.domain.name == "events"
            testguest.wait_marker(log, count=2, timeout=180)

            # The balloon: BALLOON_CHANGE in KiB, down to the new size.
            dom.set_memory(96 * 1024)
            balloon = rec.wait(DomainEventID.BALLOON_CHANGE, lambda e: e.actual == 96 * 1024, "the balloon")
            assert isinstance(balloon, BalloonChangeEvent)

            # Hot-plug and unplug: DEVICE_ADDED, DEVICE_REMOVED with the alias.
            wait_for(lambda: "vc-ev-script" in after_reboot(), 60, "the script after the reboot")
            dom.attach_device(plug_xml)
            assert rec.wait(
                DomainEventID.DEVICE_ADDED, lambda e: True, "DEVICE_ADDED", 10
            ) == DeviceAddedEvent(reboot.domain, "virtio-disk2")
            wait_for(lambda: "vc-ev-saw-vdc" in after_reboot(), 60, "the guest to see vdc")
            dom.detach_device(plug_xml)
            removed = rec.wait(DomainEventID.DEVICE_REMOVED, lambda e: True, "DEVICE_REMOVED")
            assert removed == DeviceRemovedEvent(reboot.domain, "virtio-disk2")

            # The guest writes its RTC an hour ahead: RTC_CHANGE with its offset from UTC.
            rtc = rec.wait(DomainEventID.RTC_CHANGE, lambda e: True, "RTC_CHANGE")
            assert isinstance(rtc, RTCChangeEvent)
            assert abs(rtc.utcoffset - 3600) < 300  # an hour, give or take the guest's own clock

            # The host runs out of space under vdb: IO_ERROR and IO_ERROR_REASON ("enospc"),
            # then the guest is paused (SUSPENDED, IOERROR), in libvirt's order.
            io = rec.wait(DomainEventID.IO_ERROR_REASON, lambda e: True, "the I/O error")
            assert io == IOErrorEvent(io.domain, str(full), "virtio-disk1", IOErrorAction.PAUSE, "enospc")
            assert rec.of(DomainEventID.IO_ERROR)[0] == io
            rec.wait(
                DomainEventID.LIFECYCLE,
                lambda e: (e.event, e.detail) == (DomainEventType.SUSPENDED, SuspendedDetail.IOERROR),
                "SUSPENDED/IOERROR",
            )
            assert rec.index(DomainEventID.IO_ERROR, lambda e: True) < rec.index(
                DomainEventID.LIFECYCLE, lambda e: e.event == DomainEventType.SUSPENDED
            )
            assert parse_domain(dom.xml_desc()).name == "events"
        finally:
            with contextlib.suppress(virtcore.errors.VirtError):
                dom.destroy()
        stopped = rec.wait(
            DomainEventID.LIFECYCLE, lambda e: e.event == DomainEventType.STOPPED, "STOPPED", 30
        )
        assert stopped.detail == StoppedDetail.DESTROYED
        # Nothing of an id QEMU has no event for was ever delivered.
        assert not rec.of(DomainEventID.GRAPHICS) and not rec.of(DomainEventID.BLOCK_JOB)
        assert all(isinstance(ev, DomainEvent) for ev in rec.of(DomainEventID.LIFECYCLE))
        assert all(isinstance(ev, AgentLifecycleEvent) for ev in rec.of(DomainEventID.AGENT_LIFECYCLE))


# -- the translation of what the test guest cannot make QEMU say ---------------------------

REF = DomainRef("g", "11111111-2222-3333-4444-555555555555", 3)


def _records(name: str, data: dict[str, Any], **kw: Any) -> list[Any]:
    kw.setdefault("starting_up", False)
    kw.setdefault("disk", lambda dev, node: ("", ""))
    return guestevents.records(REF, None, name, data, **kw)


@pytest.mark.parametrize(
    ("qemu", "libvirt"),
    [
        ("none", 0),
        ("pause", 1),
        ("reset", 2),
        ("poweroff", 3),
        ("shutdown", 4),
        ("debug", 5),
        ("inject-nmi", 6),
    ],
)
def test_watchdog_actions_take_libvirts_numbers(qemu: str, libvirt: int) -> None:
    assert _records("WATCHDOG", {"action": qemu}) == [WatchdogEvent(REF, WatchdogAction(libvirt))]


def test_tray_moves_name_the_device() -> None:
    opened = {"device": "", "id": "ide0-1-0", "tray-open": True}
    assert _records("DEVICE_TRAY_MOVED", opened) == [TrayChangeEvent(REF, "ide0-1-0", TrayChangeReason.OPEN)]
    closed = {**opened, "tray-open": False}
    assert _records("DEVICE_TRAY_MOVED", closed) == [TrayChangeEvent(REF, "ide0-1-0", TrayChangeReason.CLOSE)]


def test_a_reset_while_starting_is_no_reboot() -> None:
    assert _records("RESET", {"guest": False}, starting_up=True) == []
    assert _records("RESET", {"guest": True}) == [RebootEvent(REF)]


def test_an_io_error_on_an_unknown_node_names_no_disk() -> None:
    got = _records(
        "BLOCK_IO_ERROR", {"device": "", "node-name": "x", "action": "report", "operation": "read"}
    )
    assert got == [IOErrorEvent(REF, "", "", IOErrorAction.REPORT, "")]
