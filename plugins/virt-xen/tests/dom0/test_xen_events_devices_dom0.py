"""Events for changes made outside virtcore, and device hot-plug, against real Xen (dom0 only)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from xenhelpers import console_log, guest_xml, wait_for

import virtcore
from virtcore import DomainEventType, DomainState
from virtcore.errors import InvalidArgError, OperationFailedError
from virtcore.types import ShutoffReason, StartedDetail, StoppedDetail
from virtcore.xml import parse_domain

BOOT_TIMEOUT = 180.0  # a PV guest under Xen under TCG: seconds when idle, much more when not
EVENT_TIMEOUT = 60.0


def xl(*args: str) -> str:
    return subprocess.run(["xl", *args], capture_output=True, text=True, timeout=120, check=True).stdout


def xs_read(path: str) -> str | None:
    p = subprocess.run(["xenstore-read", path], capture_output=True, text=True, timeout=30)
    return p.stdout.strip() if p.returncode == 0 else None


def markers(name: str) -> int:
    return console_log(name).count("GUEST-MARKER")


class Recorder:
    """A callback registered on the connection: the events of one domain, thread-safe."""

    def __init__(self, conn: virtcore.Connection, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.events: list[tuple[DomainEventType, int]] = []
        conn.on_domain_event(self)

    def __call__(self, dom: object, event: DomainEventType, detail: int) -> None:
        if getattr(dom, "name", None) == self.name:
            with self.lock:
                self.events.append((event, detail))

    def seen(self) -> list[tuple[DomainEventType, int]]:
        with self.lock:
            return list(self.events)


def test_guest_shutdown_outside_virtcore_is_a_stopped_event(conn: virtcore.Connection, name: str) -> None:
    rec = Recorder(conn, name)
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    wait_for(lambda: markers(name) >= 1, BOOT_TIMEOUT, f"{name} to boot")
    xl("shutdown", str(dom.id))  # not through virtcore: the guest powers itself off
    wait_for(lambda: (DomainEventType.STOPPED, StoppedDetail.SHUTDOWN) in rec.seen(), EVENT_TIMEOUT,
             "a STOPPED/SHUTDOWN event")  # fmt: skip
    assert rec.seen() == [
        (DomainEventType.DEFINED, 0),
        (DomainEventType.STARTED, StartedDetail.BOOTED),
        (DomainEventType.STOPPED, StoppedDetail.SHUTDOWN),
    ]
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)


def test_guest_crash_is_a_crashed_stop_and_transient_domain_disappears(
    conn: virtcore.Connection, name: str
) -> None:
    rec = Recorder(conn, name)
    # sysrq_always_enabled: Debian's kernel refuses sysrq-c by default; panic=1: the guest
    # kernel reports the crash to Xen (SHUTDOWN_crash) instead of hanging
    xml = guest_xml(name).replace("rdinit=/init", "rdinit=/init panic=1 sysrq_always_enabled")
    dom = conn.create_domain(xml)  # transient
    # Up enough for sysrq-c: the kernel's xenbus has set up its control watches (it
    # advertises control/feature-suspend then), or init printed its marker. Not the
    # marker alone: it reaches us through xenconsoled's log, one more moving part.
    domid = dom.id
    wait_for(
        lambda: markers(name) >= 1 or xs_read(f"/local/domain/{domid}/control/feature-suspend") is not None,
        BOOT_TIMEOUT,
        f"{name} (domain {domid}) to boot",
    )
    xl("sysrq", str(domid), "c")  # the guest kernel crashes itself (sysrq-c)
    wait_for(lambda: any(e == DomainEventType.STOPPED for e, _ in rec.seen()), EVENT_TIMEOUT,
             f"a STOPPED event; guest console:\n{console_log(name)[-1500:]}")  # fmt: skip
    assert rec.seen() == [
        (DomainEventType.STARTED, StartedDetail.BOOTED),
        (DomainEventType.STOPPED, StoppedDetail.CRASHED),
    ]
    with pytest.raises(virtcore.errors.NoDomainError):
        conn.lookup_domain(name)


def test_domains_started_and_destroyed_by_xl_give_events(
    conn: virtcore.Connection, name: str, tmp_path: Path
) -> None:
    rec = Recorder(conn, name)
    cfg = tmp_path / "outside.cfg"
    cfg.write_text(
        f'name = "{name}"\ntype = "pv"\nmemory = 128\nvcpus = 1\n'
        'kernel = "/guest/vmlinuz"\nramdisk = "/guest/initrd"\nextra = "console=hvc0 quiet rdinit=/init"\n'
    )
    xl("create", str(cfg))
    wait_for(lambda: bool(rec.seen()), EVENT_TIMEOUT, "a STARTED event")
    assert rec.seen() == [(DomainEventType.STARTED, StartedDetail.BOOTED)]
    dom = conn.lookup_domain(name)
    assert dom.is_active() and not dom.is_persistent()
    xl("destroy", name)
    wait_for(lambda: len(rec.seen()) == 2, EVENT_TIMEOUT, "a STOPPED event")
    assert rec.seen()[1] == (DomainEventType.STOPPED, StoppedDetail.DESTROYED)


def test_guest_reboot_outside_virtcore_is_not_a_stop(conn: virtcore.Connection, name: str) -> None:
    rec = Recorder(conn, name)
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    wait_for(lambda: markers(name) >= 1, BOOT_TIMEOUT, f"{name} to boot")
    old = dom.id
    xl("reboot", str(old))
    wait_for(lambda: markers(name) >= 2, BOOT_TIMEOUT, f"{name} to boot again")
    assert conn.lookup_domain(name).id != old
    assert [e for e, _ in rec.seen()] == [DomainEventType.DEFINED, DomainEventType.STARTED]
    assert dom.state()[0] == DomainState.RUNNING


def test_close_stops_the_watcher(uri: str) -> None:
    def watchers() -> int:
        return sum(t.name == "virt-xen-watch" for t in threading.enumerate())

    before = watchers()
    c = virtcore.open(uri)
    assert watchers() == before + 1
    c.close()
    wait_for(lambda: watchers() == before, 10, "the watcher thread to end")


# ---------------------------------------------------------------------------- devices

VIF_SCRIPT = """#!/bin/sh
# a minimal vif hotplug script: no bridge in this dom0; tell netback the backend is ready
case "$1" in online|add) xenstore-write "$XENBUS_PATH/hotplug-status" connected ;; esac
exit 0
"""


def test_attach_and_detach_disk_and_interface_live(
    conn: virtcore.Connection, name: str, tmp_path: Path
) -> None:
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    domid = dom.id
    image = tmp_path / "data.raw"
    image.write_bytes(b"\0" * (8 * 1024 * 1024))
    disk = (
        f"<disk type='file' device='disk'><driver name='phy'/><source file='{image}'/>"
        "<target dev='xvdb'/></disk>"
    )
    dom.attach_device(disk)
    vbd = f"/local/domain/0/backend/vbd/{domid}/51728"  # xvdb: 202 << 8 | 16
    assert xs_read(f"{vbd}/params") == str(image)
    wait_for(lambda: xs_read(f"{vbd}/physical-device") is not None, 30, "the block script to set up the disk")
    assert [d.target_dev for d in parse_domain(dom.xml_desc()).disks] == ["xvdb"]
    assert "51728" in xl("block-list", str(domid))

    script = tmp_path / "vif-virtcore-test"
    script.write_text(VIF_SCRIPT)
    script.chmod(0o755)
    mac = "00:16:3e:5a:00:01"
    nic = f"<interface type='ethernet'><mac address='{mac}'/><script path='{script}'/></interface>"
    dom.attach_device(nic)
    assert xs_read(f"/local/domain/0/backend/vif/{domid}/0/mac") == mac
    assert [i.mac for i in parse_domain(dom.xml_desc()).interfaces] == [mac]
    with pytest.raises(OperationFailedError, match=mac):
        dom.attach_device(nic)

    # the backends' counters in dom0's sysfs (the guest has no frontend drivers: all idle)
    blk = dom.block_stats("xvdb")
    assert len(blk) == 5 and all(isinstance(x, int) and x >= 0 for x in blk)
    net = dom.interface_stats(mac)
    assert len(net) == 8 and all(isinstance(x, int) and x >= 0 for x in net)
    assert dom.interface_stats(f"vif{domid}.0") == net
    with pytest.raises(InvalidArgError, match="xvdz"):
        dom.block_stats("xvdz")

    dom.detach_device(f"<interface type='ethernet'><mac address='{mac}'/></interface>")
    wait_for(lambda: xs_read(f"/local/domain/0/backend/vif/{domid}/0/mac") is None, 60, "the vif to go")
    dom.detach_device("<disk type='file'><target dev='xvdb'/></disk>")
    wait_for(lambda: xs_read(f"{vbd}/params") is None, 60, "the vbd to go")
    live = parse_domain(dom.xml_desc())
    assert live.disks == () and live.interfaces == ()
    with pytest.raises(OperationFailedError, match="device not found"):
        dom.detach_device("<disk type='file'><target dev='xvdb'/></disk>")


def test_attach_to_inactive_domain_starts_with_the_device(
    conn: virtcore.Connection, name: str, tmp_path: Path
) -> None:
    dom = conn.define_domain(guest_xml(name))
    image = tmp_path / "boot-data.raw"
    image.write_bytes(b"\0" * (4 * 1024 * 1024))
    dom.attach_device(
        f"<disk type='file' device='disk'><driver name='phy'/><source file='{image}'/>"
        "<target dev='xvdc'/></disk>"
    )
    assert [d.target_dev for d in parse_domain(dom.xml_desc(inactive=True)).disks] == ["xvdc"]
    dom.start()
    vbd = f"/local/domain/0/backend/vbd/{dom.id}/51744"  # xvdc
    assert xs_read(f"{vbd}/params") == str(image)
