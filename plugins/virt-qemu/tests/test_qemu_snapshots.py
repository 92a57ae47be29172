"""Internal snapshots of real guests: qcow2 images made by qemu-img, the busybox ticker guest (TCG).

The guest prints ``vc-tick N`` every second on its console: a running snapshot
reverted brings the count back to where it was (memory included); a shut-off
snapshot reverted brings the image's bytes back (written and read with
``qemu-io``). The tree lives in files: a new process sees it, and a process
killed mid-snapshot (``VIRT_QEMU_TEST_HOLD``) leaves it complete or absent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from snapshot_guests import boot, disk_xml, fill_fs, image_tags, make_image, qemu_io, snap_xml
from virt_qemu import console_log
from virt_qemu.saving import TEST_HOLD_ENV
from virt_qemu.testguest import MARKER, last_tick, read, wait_for, wait_marker

import virtcore
from virtcore.errors import (
    ConfigUnsupportedError,
    ErrorNumber,
    OperationFailedError,
    OperationInvalidError,
    SnapshotRevertRiskyError,
    VirtError,
)
from virtcore.types import DomainState, RunningReason
from virtcore.xml import parse_snapshot

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None,
    reason="qemu-system-x86 and qemu-utils are not installed",
)


def test_running_snapshot_reverted_brings_the_counter_back(qcow2_guest: tuple[virtcore.Domain, Path]) -> None:
    dom, image = qcow2_guest
    log = boot(dom)
    before = last_tick(log)
    snap = dom.create_snapshot(snap_xml("s1"))
    after = last_tick(log)
    assert dom.state()[0] == DomainState.RUNNING
    assert image_tags(image)["s1"] > 0  # the memory went into the image
    meta = parse_snapshot(snap.xml_desc(), redefine=True)
    assert (meta.state, meta.memory_snapshot, [(d.name, d.snapshot) for d in meta.disks]) == (
        "running",
        "internal",
        [("vda", "internal")],
    )
    wait_for(lambda: last_tick(log) >= after + 4, 30, "four ticks after the snapshot")
    lines = len(read(log).splitlines())
    snap.revert()
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
    wait_for(lambda: len(read(log).splitlines()) > lines, 30, "a tick after the revert")
    new = [int(x.split()[1]) for x in read(log).splitlines()[lines:] if x.startswith("vc-tick ")]
    # the guest counts on from the snapshot, not from where it was before the revert
    assert new and before < new[0] <= after + 2
    assert dom.current_snapshot() == snap


def test_shutoff_snapshot_reverted_brings_the_disk_back(qcow2_guest: tuple[virtcore.Domain, Path]) -> None:
    dom, image = qcow2_guest
    assert qemu_io(image, "write -P 0x11 0 64k").returncode == 0
    snap = dom.create_snapshot(snap_xml("off"))
    assert "off" in image_tags(image) and image_tags(image)["off"] == 0
    assert qemu_io(image, "write -P 0x22 0 64k").returncode == 0
    snap.revert()
    assert dom.state()[0] == DomainState.SHUTOFF
    check = qemu_io(image, "read -P 0x11 0 64k")
    assert check.returncode == 0 and "Pattern verification failed" not in check.stdout, check.stdout


def test_shutoff_snapshot_reverted_running_starts_the_guest(
    qcow2_guest: tuple[virtcore.Domain, Path],
) -> None:
    dom, _ = qcow2_guest
    snap = dom.create_snapshot(snap_xml("off"))
    snap.revert(running=True)
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
    wait_marker(console_log(dom))


def test_running_snapshot_of_a_shut_off_guest_starts_it_where_it_was(
    qcow2_guest: tuple[virtcore.Domain, Path],
) -> None:
    dom, _ = qcow2_guest
    log = boot(dom)
    dom.create_snapshot(snap_xml("on"))
    after = last_tick(log)
    dom.destroy()
    log.unlink()  # what the console shows from here on is the reverted guest's
    dom.lookup_snapshot("on").revert()
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
    wait_for(lambda: last_tick(log) > 0, 30, "a tick after the revert")
    assert MARKER not in read(log)  # no boot: the memory came back
    first = next(x for x in read(log).splitlines() if x.startswith("vc-tick "))
    assert 2 <= int(first.split()[1]) <= after + 2


def test_delete_removes_the_tags_running_and_off(qcow2_guest: tuple[virtcore.Domain, Path]) -> None:
    dom, image = qcow2_guest
    a = dom.create_snapshot(snap_xml("a"))
    boot(dom)
    b = dom.create_snapshot(snap_xml("b"))
    assert set(image_tags(image)) == {"a", "b"}
    a.delete()  # while the guest runs: QMP snapshot-delete
    assert set(image_tags(image)) == {"b"} and b.parent is not None
    assert [s.name for s in dom.list_snapshots(roots=True)] == ["b"]
    dom.destroy()
    b.delete()  # shut off: qemu-img snapshot -d
    assert image_tags(image) == {} and dom.list_snapshots() == []


TREE_READER = r"""
import sys, json, virtcore
with virtcore.open(sys.argv[1]) as conn:
    dom = conn.lookup_domain(sys.argv[2])
    print(json.dumps({
        "names": [s.name for s in dom.list_snapshots()],
        "current": dom.current_snapshot().name,
        "parent": dom.lookup_snapshot("s2").parent().name,
    }))
"""


def test_a_new_process_sees_the_same_tree(uri: str, qcow2_guest: tuple[virtcore.Domain, Path]) -> None:
    dom, _ = qcow2_guest
    dom.create_snapshot(snap_xml("s1"))
    dom.create_snapshot(snap_xml("s2"))
    dom.create_snapshot(snap_xml("s3"))
    dom.lookup_snapshot("s2").revert()
    out = subprocess.run(
        [sys.executable, "-c", TREE_READER, uri, dom.name], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == {"names": ["s1", "s2", "s3"], "current": "s2", "parent": "s1"}


def test_raw_disk_is_refused_naming_the_disk(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    raw = make_image(tmp_path, "disk.raw", "raw")
    dom = conn.define_domain(guest_xml("rawdisk", extra_devices=disk_xml(raw, "raw")))
    try:
        with pytest.raises(ConfigUnsupportedError, match="internal snapshot for disk vda unsupported") as exc:
            dom.create_snapshot(snap_xml("s"))
        assert exc.value.code == ErrorNumber.CONFIG_UNSUPPORTED and "raw" in str(exc.value)
        assert dom.list_snapshots() == []
    finally:
        dom.undefine()


def test_undefine_refuses_while_snapshots_exist(
    conn: virtcore.Connection, qcow2_guest: tuple[virtcore.Domain, Path], root: Path
) -> None:
    dom, image = qcow2_guest
    dom.create_snapshot(snap_xml("s"))
    with pytest.raises(OperationInvalidError, match="cannot delete inactive domain with 1 snapshots"):
        dom.undefine()
    assert conn.lookup_domain(dom.name) == dom
    dom.undefine(snapshots_metadata=True)
    assert list((root / "etc" / "snapshots").iterdir()) == []  # no tree, no lock left
    assert "s" in image_tags(image)  # the metadata only: the image keeps its snapshot, as libvirt


TAKER = r"""
import sys, virtcore
conn = virtcore.open(sys.argv[1])
conn.lookup_domain(sys.argv[2]).create_snapshot("<domainsnapshot><name>k</name></domainsnapshot>")
print("taken", flush=True)
"""


def _kill_taker_at(point: str, uri: str, name: str) -> None:
    """Take snapshot ``k`` of ``name`` in another process and SIGKILL it once it holds at ``point``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", TAKER, uri, name],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, TEST_HOLD_ENV: point},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if f"holding at {point}" in line:
                break
        else:
            pytest.fail(f"the snapshot never reached {point}: {''.join(seen)}")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)


@pytest.mark.parametrize("running", [True, False], ids=["running", "off"])
@pytest.mark.parametrize(("point", "kept"), [("snapshot-taken", False), ("snapshot-committed", True)])
def test_killed_mid_snapshot_is_complete_or_absent(
    uri: str, qcow2_guest: tuple[virtcore.Domain, Path], running: bool, point: str, kept: bool
) -> None:
    dom, image = qcow2_guest
    log = boot(dom) if running else None
    _kill_taker_at(point, uri, dom.name)
    with virtcore.open(uri) as conn:
        again = conn.lookup_domain(dom.name)
        assert [s.name for s in again.list_snapshots()] == (["k"] if kept else [])
        assert ("k" in image_tags(image)) == kept
        if log is not None:
            assert again.state()[0] == DomainState.RUNNING  # the taker paused it; it runs again
            tick = last_tick(log)
            wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the recovery")
        else:
            assert again.state()[0] == DomainState.SHUTOFF
        assert not list((Path(uri.split("root=")[1]) / "etc" / "snapshots").glob("*.pending"))


def test_a_guest_without_qcow2_disk_keeps_its_memory_in_a_driver_file(
    conn: virtcore.Connection, guest_xml: Callable[..., str], root: Path
) -> None:
    dom = conn.define_domain(guest_xml("diskless"))
    try:
        log = boot(dom)
        snap = dom.create_snapshot(snap_xml("m"))
        after = last_tick(log)
        memory = root / "etc" / "snapshots" / dom.uuid / "m.vmstate"
        assert memory.read_bytes()[:4] == b"QEVM"  # QEMU's migration stream
        assert dom.state()[0] == DomainState.RUNNING
        wait_for(lambda: last_tick(log) >= after + 4, 30, "four ticks after the snapshot")
        log.unlink()  # the revert starts QEMU afresh: its console is a new file
        snap.revert()
        assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
        wait_for(lambda: last_tick(log) > 0, 30, "a tick after the revert")
        assert MARKER not in read(log)
        assert (
            int(next(x for x in read(log).splitlines() if x.startswith("vc-tick ")).split()[1]) <= after + 2
        )
        snap.delete()
        assert not memory.exists()
    finally:
        for step in (dom.destroy, lambda: dom.undefine(snapshots_metadata=True)):
            try:
                step()
            except VirtError:
                pass


@pytest.mark.parametrize("running", [True, False], ids=["running", "off"])
def test_disk_full_mid_snapshot_is_a_named_error_and_nothing_is_left(
    conn: virtcore.Connection, guest_xml: Callable[..., str], full_fs: Path, root: Path, running: bool
) -> None:
    image = make_image(full_fs)
    dom = conn.define_domain(guest_xml("full", extra_devices=disk_xml(image)))
    try:
        log = boot(dom) if running else None
        fill_fs(full_fs)
        with pytest.raises(OperationFailedError, match="snapshot 'big'") as exc:
            dom.create_snapshot(snap_xml("big"))
        assert exc.value.code == ErrorNumber.OPERATION_FAILED
        assert dom.list_snapshots() == [] and "big" not in image_tags(image)
        assert not list((root / "etc" / "snapshots").glob("*.pending"))
        if log is not None:
            assert dom.state()[0] == DomainState.RUNNING  # the guest keeps running
            tick = last_tick(log)
            wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the failed snapshot")
        (full_fs / "filler").unlink()
        if log is not None:
            # QEMU's file driver fails every flush after one failed (its page cache is no longer
            # trusted), so the retry is made by a fresh QEMU: the domain's next start. The old
            # QEMU's dirty pages are written out first: their write-back failing later (the file
            # system was full) would be reported to the new QEMU's next flush (CI saw EIO there).
            dom.destroy()
            os.sync()
            dom.start()
        dom.create_snapshot(snap_xml("fits"))  # with room again, the same works
        assert "fits" in image_tags(image)
    finally:
        for step in (dom.destroy, lambda: dom.undefine(snapshots_metadata=True)):
            try:
                step()
            except VirtError:
                pass


def test_killed_mid_snapshot_of_a_guest_without_qcow2_leaves_no_memory_file(
    uri: str, conn: virtcore.Connection, guest_xml: Callable[..., str], root: Path
) -> None:
    dom = conn.define_domain(guest_xml("nomem"))
    try:
        log = boot(dom)
        _kill_taker_at("snapshot-taken", uri, dom.name)
        with virtcore.open(uri) as again:
            assert again.lookup_domain(dom.name).list_snapshots() == []
            assert again.lookup_domain(dom.name).state()[0] == DomainState.RUNNING
        folder = root / "etc" / "snapshots" / dom.uuid
        assert not folder.exists() or list(folder.iterdir()) == []
        assert not list((root / "etc" / "snapshots").glob("*.pending"))
        tick = last_tick(log)
        wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the recovery")
    finally:
        for step in (dom.destroy, lambda: dom.undefine(snapshots_metadata=True)):
            try:
                step()
            except VirtError:
                pass


def test_revert_after_a_hot_plug_needs_force_and_then_restarts_the_guest(
    qcow2_guest: tuple[virtcore.Domain, Path], tmp_path: Path
) -> None:
    dom, _ = qcow2_guest
    log = boot(dom)
    snap = dom.create_snapshot(snap_xml("before-plug"))
    after = last_tick(log)
    extra = make_image(tmp_path, "extra.qcow2")
    dom.attach_device(disk_xml(extra).replace("dev='vda'", "dev='vdb'"))
    assert "vdb" in dom.xml_desc()
    with pytest.raises(SnapshotRevertRiskyError, match="before-plug") as exc:
        snap.revert()
    assert exc.value.code == ErrorNumber.SNAPSHOT_REVERT_RISKY
    assert dom.state()[0] == DomainState.RUNNING and "vdb" in dom.xml_desc()  # left as it was
    log.unlink()  # the forced revert starts QEMU afresh: its console is a new file
    snap.revert(force=True)
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
    assert "vdb" not in dom.xml_desc()
    wait_for(lambda: last_tick(log) > 0, 30, "a tick after the revert")
    assert MARKER not in read(log)
    assert int(next(x for x in read(log).splitlines() if x.startswith("vc-tick ")).split()[1]) <= after + 2
