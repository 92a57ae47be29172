"""Real guests under TCG (128 MiB, the busybox test guest): every lifecycle operation."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from virt_qemu import console_log, testguest
from virt_qemu.connection import Part
from virt_qemu.testguest import last_tick, read, wait_for, wait_marker

import virtcore
from virtcore.errors import (
    ArgumentUnsupportedError,
    ConfigUnsupportedError,
    InvalidArgError,
    NoDomainError,
    OperationFailedError,
    OperationInvalidError,
)
from virtcore.testing.netns import NetNamespace, netns_missing
from virtcore.types import (
    DomainEventType,
    DomainState,
    PausedReason,
    RunningReason,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
)
from virtcore.xml import parse_domain

pytestmark = [
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed"),
    pytest.mark.slow,
]

Events = list[tuple[str, DomainEventType, int]]


def record(conn: virtcore.Connection) -> Events:
    events: Events = []
    lock = threading.Lock()

    def cb(dom: virtcore.Domain, ev: DomainEventType, detail: int) -> None:
        with lock:
            events.append((dom.name, ev, detail))

    conn.on_domain_event(cb)
    return events


def _qemu_pid(root: Path, dom: virtcore.Domain) -> int:
    return int((root / "run" / dom.uuid / "pid").read_text())


def test_boot_marker_suspend_resume_info_destroy(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    events = record(conn)
    dom = conn.define_domain(guest_xml("lifecycle"))
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.UNKNOWN)
    dom.start()
    assert dom.state() == (DomainState.RUNNING, RunningReason.BOOTED)
    assert dom.id > 0 and conn.lookup_domain_by_id(dom.id) == dom
    log = console_log(dom)
    wait_marker(log)
    info = dom.info()
    assert info.state == DomainState.RUNNING and info.max_memory == 128 * 1024 and info.nr_virt_cpu == 1
    assert info.cpu_time > 0  # the QEMU process really ran (boot under TCG costs CPU)
    with pytest.raises(OperationInvalidError, match="lifecycle"):
        dom.start()
    dom.suspend()
    assert dom.state() == (DomainState.PAUSED, PausedReason.USER)
    with pytest.raises(OperationInvalidError, match="paused"):
        dom.suspend()
    tick = last_tick(log)
    time.sleep(1.5)
    assert last_tick(log) <= tick + 1  # paused: the ticker stands still (one tick may be in flight)
    dom.resume()
    assert dom.state() == (DomainState.RUNNING, RunningReason.UNPAUSED)
    wait_for(lambda: last_tick(log) > tick + 1, 10, "ticks after resume")
    with pytest.raises(OperationInvalidError, match="not paused"):
        dom.resume()
    cpu1 = dom.info().cpu_time
    wait_for(lambda: dom.info().cpu_time > cpu1, 10, "cpu time to grow")
    pid = _qemu_pid(Path(conn.parsed_uri.params["root"]), dom)
    dom.destroy()
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    assert dom.id == -1
    assert not (Path(conn.parsed_uri.params["root"]) / "run" / dom.uuid).exists()
    st = _proc_state(pid)
    assert st in (None, "Z")
    with pytest.raises(OperationInvalidError):
        dom.destroy()
    kinds = [(e, d) for n, e, d in events if n == "lifecycle"]
    assert kinds == [
        (DomainEventType.DEFINED, 0),
        (DomainEventType.STARTED, StartedDetail.BOOTED),
        (DomainEventType.SUSPENDED, 0),
        (DomainEventType.RESUMED, 0),
        (DomainEventType.STOPPED, StoppedDetail.DESTROYED),
    ]


def _proc_state(pid: int) -> str | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :][:1].decode()


def test_shutdown_by_acpi_and_reboot(conn: virtcore.Connection, guest_xml: Callable[..., str]) -> None:
    events = record(conn)
    dom = conn.define_domain(guest_xml("acpi"))
    dom.start()
    log = console_log(dom)
    wait_marker(log)
    dom.reboot()
    wait_marker(log, 2)  # booted again: fake reboot through the power button and a reset
    assert dom.is_active()
    assert "vc-powerdown" in read(log)
    dom.shutdown()
    wait_for(lambda: dom.state()[0] == DomainState.SHUTOFF, 30, "the guest to power off")
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
    assert read(log).count("vc-powerdown") == 2
    wait_for(lambda: any(e == DomainEventType.STOPPED for _, e, _ in events), 5, "STOPPED")
    assert (DomainEventType.STOPPED, StoppedDetail.SHUTDOWN) in [(e, d) for _, e, d in events]
    assert DomainEventType.SHUTDOWN in [e for _, e, _ in events]


def test_on_poweroff_restart_starts_the_guest_again(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    """A restart policy: the host starts the domain through the launcher its client handed it."""
    events = record(conn)
    xml = guest_xml("phoenix").replace(
        "<on_poweroff>destroy</on_poweroff>", "<on_poweroff>restart</on_poweroff>"
    )
    dom = conn.define_domain(xml)
    assert parse_domain(dom.xml_desc()).on_poweroff == "restart"
    dom.start()
    wait_marker(console_log(dom))
    first_id = dom.id
    dom.shutdown()

    def kinds() -> list[tuple[int, int]]:
        return [(e, d) for _, e, d in events]

    wait_for(
        lambda: (DomainEventType.STOPPED, StoppedDetail.SHUTDOWN) in kinds(), 120, "the guest to power off"
    )
    wait_for(
        lambda: [e for e, _ in kinds()].count(DomainEventType.STARTED) == 2,
        60,
        "the restarted guest's STARTED",
    )
    assert dom.state()[0] == DomainState.RUNNING
    assert dom.id != first_id  # a new QEMU process
    dom.destroy()
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)


def test_idle_guest_ignores_the_button_and_destroy_still_works(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    dom = conn.create_domain(guest_xml("idle", mode="idle"))
    wait_marker(console_log(dom))
    assert "mode=idle" in read(console_log(dom))
    dom.shutdown()
    time.sleep(2)
    assert dom.state()[0] == DomainState.RUNNING
    dom.destroy()
    with pytest.raises(NoDomainError):  # transient: gone once stopped
        conn.lookup_domain("idle")


def test_save_restore_round_trip_keeps_the_guests_memory(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    events = record(conn)
    dom = conn.define_domain(guest_xml("saver"))
    dom.start()
    log = console_log(dom)
    wait_marker(log)
    wait_for(lambda: last_tick(log) >= 2, 10, "two ticks")
    image = tmp_path / "saver.img"
    dom.save(image)
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
    tick_at_save = last_tick(log)
    with open(image, "rb") as fh:
        head = fh.read(64 * 1024)
    assert head.startswith(b"VirtcoreQemuSv01") and b"<name>saver</name>" in head
    restored = conn.restore_domain(image)
    assert restored == dom
    assert dom.state() == (DomainState.RUNNING, RunningReason.RESTORED)
    wait_for(lambda: last_tick(log) > tick_at_save + 1, 15, "ticks after restore")
    # The same boot continues: no second marker, and the ticks carry on from where they were.
    assert read(log).count(testguest.MARKER) == 1
    ticks = [int(x.split()[1]) for x in read(log).splitlines() if x.startswith("vc-tick ")]
    assert ticks == sorted(ticks) and ticks[-1] > tick_at_save
    # paused save restores paused
    dom.suspend()
    dom.save(image)
    d2 = conn.restore_domain(image)
    assert d2.state()[0] == DomainState.PAUSED
    d2.resume()
    details = [(e, d) for _, e, d in events]
    assert (DomainEventType.STOPPED, StoppedDetail.SAVED) in details
    assert (DomainEventType.STARTED, StartedDetail.RESTORED) in details


def test_save_and_restore_choose_the_state_the_guest_comes_back_in(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    """VIR_DOMAIN_SAVE_PAUSED / _RUNNING: recorded by save, chosen again by restore."""
    events = record(conn)
    dom = conn.define_domain(guest_xml("chooser"))
    dom.start()
    log = console_log(dom)
    wait_marker(log)
    image = tmp_path / "chooser.img"
    with pytest.raises(InvalidArgError, match="mutually exclusive"):
        dom.save(image, running=True, paused=True)
    assert dom.state()[0] == DomainState.RUNNING and not image.exists()
    # a running guest saved to come back paused: restored, its vCPUs never run
    dom.save(image, paused=True)
    dom = conn.restore_domain(image)
    assert dom.state()[0] == DomainState.PAUSED
    assert _monitor(conn, dom).cmd("query-status")["running"] is False
    assert (DomainEventType.SUSPENDED, SuspendedDetail.RESTORED) in [(e, d) for _, e, d in events]
    dom.destroy()
    # the same image, restored running as asked: the guest goes on ticking
    dom = conn.restore_domain(image, running=True)
    assert dom.state() == (DomainState.RUNNING, RunningReason.RESTORED)
    tick = last_tick(log)
    wait_for(lambda: last_tick(log) > tick, 15, "a tick after the running restore")
    # a paused guest saved to come back running, and that image restored paused
    dom.suspend()
    dom.save(image, running=True)
    dom = conn.restore_domain(image)
    assert dom.state() == (DomainState.RUNNING, RunningReason.RESTORED)
    dom.save(image)
    with pytest.raises(InvalidArgError, match="mutually exclusive"):
        conn.restore_domain(image, running=True, paused=True)
    dom = conn.restore_domain(image, paused=True)
    assert dom.state()[0] == DomainState.PAUSED
    assert _monitor(conn, dom).cmd("query-status")["running"] is False
    dom.destroy()


def test_restore_rejects_garbage_and_save_to_unwritable_place(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a save image" * 100)
    with pytest.raises(InvalidArgError):
        conn.restore_domain(junk)
    with pytest.raises(virtcore.errors.SystemError_):
        conn.restore_domain(tmp_path / "missing")
    dom = conn.create_domain(guest_xml("nosave"))
    with pytest.raises(virtcore.errors.VirtError):
        dom.save("/proc/nonexistent/dir/image")
    assert dom.state()[0] == DomainState.RUNNING


def _monitor(conn: virtcore.Connection, dom: virtcore.Domain) -> Any:
    """White box: the driver's QMP monitor of ``dom``, to check what QEMU really did."""
    part = next(p for p in conn.driver_objects() if isinstance(p, Part))
    return part.host.doms[dom.uuid].monitor


def test_balloon_vcpu_hotplug_and_config_changes(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    xml = guest_xml("balloon").replace("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>")
    dom = conn.define_domain(xml)
    dom.set_memory(100 * 1024)
    assert dom.info().memory == 100 * 1024
    with pytest.raises(InvalidArgError, match="higher than max"):
        dom.set_memory(512 * 1024)
    dom.start()
    wait_marker(console_log(dom))
    mon = _monitor(conn, dom)
    # started with currentMemory below memory: the balloon was set at start
    wait_for(lambda: mon.cmd("query-balloon")["actual"] == 100 * 1024 * 1024, 20, "the balloon at 100 MiB")
    dom.set_memory(96 * 1024)
    assert dom.info().memory == 96 * 1024
    # the guest's virtio-balloon driver really gives the memory back
    wait_for(lambda: mon.cmd("query-balloon")["actual"] == 96 * 1024 * 1024, 20, "the guest to deflate")
    assert parse_domain(dom.xml_desc()).current_memory == 96 * 1024
    # vCPU hotplug: up to the maximum, and back
    assert len(mon.cmd("query-cpus-fast")) == 1
    log = console_log(dom)
    dom.set_vcpus(2)
    assert len(mon.cmd("query-cpus-fast")) == 2 and dom.info().nr_virt_cpu == 2
    wait_for(lambda: read(log).rstrip().endswith("cpus=0-1"), 10, "the guest to see its second vCPU")
    dom.set_vcpus(1)
    assert len(mon.cmd("query-cpus-fast")) == 1 and dom.info().nr_virt_cpu == 1
    wait_for(lambda: read(log).rstrip().endswith("cpus=0"), 10, "the guest to lose it again")
    with pytest.raises(InvalidArgError, match="exceeds maximum"):
        dom.set_vcpus(3)
    with pytest.raises(OperationInvalidError):
        dom.set_max_memory(64 * 1024)


def test_attach_detach_disk_and_nic_with_stats(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    img = tmp_path / "extra,disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(img), "16M"], check=True)
    dom = conn.define_domain(guest_xml("hotplug"))
    dom.start()
    wait_marker(console_log(dom))
    disk = (
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{img}'/>"
        "<target dev='vdb' bus='virtio'/></disk>"
    )
    dom.attach_device(disk)
    assert "vdb" in dom.xml_desc()
    with pytest.raises(OperationFailedError, match="vdb"):
        dom.attach_device(disk)
    stats = dom.block_stats("vdb")
    assert len(stats) == 5 and all(isinstance(x, int) and x >= 0 for x in stats)
    wait_for(lambda: dom.block_stats("vdb")[0] > 0, 20, "the guest's virtio-blk driver to read the disk")
    with pytest.raises(InvalidArgError):
        dom.block_stats("vdz")
    nic = "<interface type='user'><mac address='52:54:00:12:34:99'/><model type='virtio'/></interface>"
    dom.attach_device(nic)
    assert "52:54:00:12:34:99" in dom.xml_desc()
    with pytest.raises(ArgumentUnsupportedError, match="user-mode"):
        dom.interface_stats("52:54:00:12:34:99")
    dom.detach_device(nic)
    assert "52:54:00:12:34:99" not in dom.xml_desc()
    dom.detach_device(disk)
    assert "vdb" not in dom.xml_desc()
    with pytest.raises(OperationFailedError, match="not found"):
        dom.detach_device(disk)
    with pytest.raises(ConfigUnsupportedError):
        dom.attach_device("<sound model='ich6'/>")
    with pytest.raises(OperationFailedError, match=r"nonexistent\.img"):  # QEMU's own refusal, named
        dom.attach_device("<disk type='file'><source file='/nonexistent.img'/><target dev='vdc'/></disk>")
    assert "vdc" not in dom.xml_desc()


@pytest.fixture
def netns() -> Iterator[NetNamespace]:
    """A network namespace of this test's own."""
    ns = NetNamespace()
    try:
        yield ns
    finally:
        ns.close()


@pytest.mark.skipif(netns_missing() is not None, reason=netns_missing() or "")
def test_tap_interface_stats(
    conn: virtcore.Connection, guest_xml: Callable[..., str], netns: NetNamespace
) -> None:
    """QEMU runs in a network namespace of the test's, so its tap never touches the host's
    networking; the driver reads the counters in QEMU's namespace."""
    nic = "<interface type='ethernet'><mac address='52:54:00:00:00:42'/><model type='virtio'/></interface>"
    with netns.entered():
        dom = conn.create_domain(guest_xml("tapper", extra_devices=nic))
    live = parse_domain(dom.xml_desc())
    tap = live.interfaces[0].target_dev
    assert tap and tap in netns.devices()  # QEMU made the tap we named, in the test's namespace
    assert not Path(f"/sys/class/net/{tap}").exists()  # and not in the host's
    netns.run("ip", "link", "set", "dev", tap, "up")
    assert dom.interface_stats(tap) == dom.interface_stats("52:54:00:00:00:42")
    # The guest brings eth0 up; IPv6 autoconfiguration sends packets, which the tap receives.
    wait_for(lambda: dom.interface_stats(tap)[5] >= 1, 30, "the guest to transmit")
    stats = dom.interface_stats(tap)
    assert stats[4] >= 40 * stats[5]  # tx bytes: every frame is at least 40 bytes
    with pytest.raises(InvalidArgError):
        dom.interface_stats("nosuchdev")
    dom.destroy()
    wait_for(lambda: tap not in netns.devices(), 5, "the tap to go with QEMU")


def test_autostart_and_persistence_across_connections(
    uri: str, guest_xml: Callable[..., str], root: Path
) -> None:
    with virtcore.open(uri) as c1:
        dom = c1.define_domain(guest_xml("persist"))
        dom.autostart = True
        assert (root / "etc" / f"{dom.uuid}.xml").exists()
    with virtcore.open(uri) as c2:
        d2 = c2.lookup_domain("persist")
        assert d2.autostart is True and d2.is_persistent()
        d2.autostart = False
        assert d2.autostart is False
        tr = c2.create_domain(guest_xml("transient-one"))
        with pytest.raises(OperationInvalidError, match="transient"):
            tr.autostart = True
        tr.destroy()


def test_kvm_type_fails_clearly_when_kvm_does_not_work(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    from virt_qemu.caps import kvm_works

    if kvm_works():
        pytest.skip("KVM works on this host: nothing to refuse")
    dom = conn.define_domain(guest_xml("kvm-guest", domain_type="kvm"))
    t = time.monotonic()
    with pytest.raises(ConfigUnsupportedError, match="KVM"):
        dom.start()
    assert time.monotonic() - t < 10  # bounded (the probe is cached; it never hangs)
    assert dom.state()[0] == DomainState.SHUTOFF


@pytest.mark.parametrize("name", ["evil,name -S", "quote'\"<&>", "ünï cödé", "-dash", "a" * 120])
def test_hostile_names_boot(conn: virtcore.Connection, guest_xml: Callable[..., str], name: str) -> None:
    from xml.sax.saxutils import escape

    dom = conn.create_domain(guest_xml(name))
    assert dom.name == name
    assert conn.lookup_domain(name) == dom
    assert dom.state()[0] == DomainState.RUNNING
    assert f"<name>{escape(name)}</name>" in dom.xml_desc()
    dom.destroy()


def test_crash_is_detected_and_state_cleaned(
    conn: virtcore.Connection, guest_xml: Callable[..., str], root: Path
) -> None:
    events = record(conn)
    dom = conn.define_domain(guest_xml("crasher"))
    dom.start()
    pid = _qemu_pid(root, dom)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: dom.state()[0] == DomainState.SHUTOFF, 10, "the crash to be noticed")
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.CRASHED)
    assert not (root / "run" / dom.uuid).exists()
    assert dom.is_persistent()  # the definition is kept
    wait_for(
        lambda: (DomainEventType.STOPPED, StoppedDetail.CRASHED) in [(e, d) for _, e, d in events], 5, "event"
    )
    dom.start()  # and it can start again
    assert dom.is_active()


MANAGER = r"""
import sys, time, virtcore
conn = virtcore.open(sys.argv[1])
dom = conn.define_domain(open(sys.argv[2]).read())
dom.start()
print("started", dom.id, flush=True)
time.sleep(600)
"""


def test_reattach_after_the_manager_is_killed(
    uri: str, guest_xml: Callable[..., str], root: Path, tmp_path: Path
) -> None:
    xml_file = tmp_path / "dom.xml"
    xml_file.write_text(guest_xml("orphan"))
    proc = subprocess.Popen(
        [sys.executable, "-c", MANAGER, uri, str(xml_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("started"), line
        dom_id = int(line.split()[1])
    finally:
        proc.kill()
        proc.wait(10)
    with virtcore.open(uri) as conn:
        events = record(conn)
        dom = conn.lookup_domain("orphan")
        assert dom.state()[0] == DomainState.RUNNING and dom.id == dom_id
        wait_marker(console_log(dom))
        dom.suspend()  # the new process really controls it
        assert dom.state()[0] == DomainState.PAUSED
        dom.resume()
        os.kill(_qemu_pid(root, dom), signal.SIGKILL)  # and watches it
        wait_for(
            lambda: dom.state() == (DomainState.SHUTOFF, ShutoffReason.CRASHED), 10, "crash after reattach"
        )
        assert DomainEventType.SUSPENDED in [e for _, e, _ in events]


def test_crash_while_nobody_watches_is_found_at_open(
    uri: str, guest_xml: Callable[..., str], root: Path
) -> None:
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(guest_xml("unwatched"))
        dom.start()
        pid = _qemu_pid(root, dom)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _proc_state(pid) in (None, "Z"), 5, "QEMU to die")
    with virtcore.open(uri) as conn:
        dom = conn.lookup_domain("unwatched")
        assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.CRASHED)
        assert not (root / "run" / dom.uuid).exists()


OTHER = r"""
import sys, virtcore
conn = virtcore.open(sys.argv[1])
dom = conn.lookup_domain(sys.argv[2])
getattr(dom, sys.argv[3])()
print(dom.state()[0].name)
"""


def test_two_processes_share_one_guest(
    conn: virtcore.Connection, uri: str, guest_xml: Callable[..., str]
) -> None:
    events = record(conn)
    dom = conn.define_domain(guest_xml("shared"))
    dom.start()

    def other(op: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", OTHER, uri, "shared", op], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert other("suspend") == "PAUSED"
    wait_for(lambda: dom.state()[0] == DomainState.PAUSED, 5, "the other process's suspend to show here")
    assert other("resume") == "RUNNING"
    wait_for(lambda: dom.state()[0] == DomainState.RUNNING, 5, "resume to show here")
    assert other("destroy") == "SHUTOFF"
    wait_for(lambda: dom.state()[0] == DomainState.SHUTOFF, 5, "destroy to show here")
    assert other("start") == "RUNNING"  # started elsewhere: seen here at once, and managed from here
    assert dom.state()[0] == DomainState.RUNNING
    dom.suspend()
    assert other("resume") == "RUNNING"
    assert other("destroy") == "SHUTOFF"
    wait_for(lambda: dom.state()[0] == DomainState.SHUTOFF, 5, "destroy to show here")
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    assert (DomainEventType.STOPPED, StoppedDetail.DESTROYED) in [(e, d) for _, e, d in events]


def test_parallel_starts_of_different_domains(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    doms = [conn.define_domain(guest_xml(f"par{i}")) for i in range(3)]
    errors: list[BaseException] = []

    def go(d: virtcore.Domain) -> None:
        try:
            d.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(d,)) for d in doms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len({d.id for d in doms}) == 3
    assert all(d.state()[0] == DomainState.RUNNING for d in doms)


def test_uris_and_layouts(tmp_path: Path) -> None:
    from virt_qemu.paths import layout_for

    from virtcore.uri import URI

    lay = layout_for(URI.parse(f"qemu:///embed?root={tmp_path}"))
    assert lay.config == tmp_path / "etc" and lay.run == tmp_path / "run"
    with pytest.raises(virtcore.errors.NoConnectError):
        virtcore.open("qemu:///embed")
    with pytest.raises(virtcore.errors.NoConnectError):
        virtcore.open("qemu:///embed?root=relative/dir")
    with pytest.raises(virtcore.errors.NoConnectError):  # virtcore.open sends it to the remote driver
        layout_for(URI.parse("qemu://otherhost/system"))
    with pytest.raises(virtcore.errors.NoConnectError):
        virtcore.open("qemu:///nonsense")
    sess = layout_for(URI.parse("qemu:///session"))
    assert "virtcore" in str(sess.config) and sess.kind == "session"
    if os.geteuid() == 0:
        sysl = layout_for(URI.parse("qemu:///system"))
        assert sysl.config == Path("/etc/virtcore/qemu") and sysl.run == Path("/run/virtcore/qemu")


DEFINER = r"""
import sys, virtcore
from virt_qemu import testguest
conn = virtcore.open(sys.argv[1])
for i in range(25):
    xml = testguest.guest_domain_xml(f"{sys.argv[2]}-{i}", "/k", "/i")
    dom = conn.define_domain(xml)
    if i % 5 == 0:
        dom.undefine()
print(len(conn.list_domains()))
"""


def test_two_processes_defining_at_once_do_not_corrupt(uri: str, root: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", DEFINER, uri, tag], stdout=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    for p in procs:
        p.wait(120)
        assert p.returncode == 0
    with virtcore.open(uri) as conn:
        names = sorted(d.name for d in conn.list_domains())
    assert names == sorted(f"{t}-{i}" for t in "ab" for i in range(25) if i % 5)
    for f in (root / "etc").glob("*.xml"):
        parse_domain(f.read_text())  # every definition on disk is whole
    assert not list((root / "etc").glob(".*.xml.*"))  # no temporary files left behind


def test_guest_panic_gives_crashed_event_and_on_crash(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    events = record(conn)
    dom = conn.define_domain(guest_xml("panicky", mode="panic", extra_devices="<panic model='isa'/>"))
    dom.start()
    wait_for(
        lambda: dom.state()[0] == DomainState.SHUTOFF,
        30,
        "the panicked guest to be stopped (on_crash=destroy)",
    )
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.CRASHED)
    kinds = [(e, d) for _, e, d in events]
    assert (DomainEventType.CRASHED, 0) in kinds  # VIR_DOMAIN_EVENT_CRASHED_PANICKED
    assert (DomainEventType.STOPPED, StoppedDetail.CRASHED) in kinds
    assert f"{testguest.MARKER} mode=panic" in read(console_log(dom))


def test_autostart_domains_start_once_per_host_boot(
    uri: str, guest_xml: Callable[..., str], root: Path
) -> None:
    with virtcore.open(uri) as conn:
        auto = conn.define_domain(guest_xml("auto"))
        conn.define_domain(guest_xml("manual"))
        auto.autostart = True
    # A fresh host boot is what the marker records; forget it as a reboot would.
    (root / "run" / "autostarted").unlink()
    with virtcore.open(uri) as conn:
        assert conn.lookup_domain("auto").state() == (DomainState.RUNNING, RunningReason.BOOTED)
        assert conn.lookup_domain("manual").state()[0] == DomainState.SHUTOFF
        conn.lookup_domain("auto").destroy()
    with virtcore.open(uri) as conn:  # same boot: not started again
        assert conn.lookup_domain("auto").state()[0] == DomainState.SHUTOFF
