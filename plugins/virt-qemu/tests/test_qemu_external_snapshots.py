"""External snapshots of real guests (TCG): overlays switched live, reverted to and merged back.

Two guests count: the ticker (``vc-tick N`` on its console: a full snapshot's
memory brings the count back) and a disk counter, a script on its raw disk
that reads a number from the disk, then counts on, writing each number back
(synced) before it prints ``vc-disk-count N``: a disk-only snapshot reverted
boots the disk as it was, so the count goes on from the number it held then.
Images are checked with ``qemu-io`` and ``qemu-img``; the tree and the
definition are read back by a new process after one is killed mid-way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from snapshot_guests import boot, disk_xml, fill_fs, make_image, qemu_io, snap_xml
from virt_qemu import console_log, testguest
from virt_qemu.saving import TEST_HOLD_ENV
from virt_qemu.testguest import MARKER, last_tick, read, wait_for

import virtcore
from virtcore.errors import (
    AgentUnresponsiveError,
    ConfigUnsupportedError,
    ErrorNumber,
    OperationFailedError,
    VirtError,
)
from virtcore.types import DomainState, RunningReason
from virtcore.xml import parse_domain, parse_snapshot

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None,
    reason="qemu-system-x86 and qemu-utils are not installed",
)

MIB = 1 << 20
#: Where the disk counter keeps its number (a sector past its script).
COUNT_AT = MIB
COUNTER = f"""
n=$(dd if=/dev/vda bs=512 skip={COUNT_AT // 512} count=1 2>/dev/null | head -n 1 | tr -dc 0-9)
[ -n "$n" ] || n=0
echo vc-disk-start $n
while :; do
  n=$((n+1))
  printf '%-15s\\n' $n | dd of=/dev/vda bs=512 seek={COUNT_AT // 512} conv=notrunc 2>/dev/null
  sync
  echo vc-disk-count $n
  sleep 1
done
"""


def counts(log: Path) -> list[int]:
    """The numbers the disk counter printed, in order."""
    return [int(x.split()[1]) for x in read(log).splitlines() if x.startswith("vc-disk-count ")]


def last_count(log: Path) -> int:
    found = counts(log)
    return found[-1] if found else 0


def on_disk(image: Path) -> int:
    """The number the counter's raw image holds."""
    with image.open("rb") as f:
        f.seek(COUNT_AT)
        digits = f.read(512).split(b"\n")[0].strip()
    return int(digits) if digits else 0


def source_of(dom: virtcore.Domain, inactive: bool = False) -> tuple[str | None, str | None]:
    disk = parse_domain(dom.xml_desc(inactive=inactive)).disks[0]
    return disk.source, disk.driver_type


def backing_of(path: Path) -> str | None:
    out = subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", "--", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout).get("backing-filename")


def _cleanup(dom: virtcore.Domain) -> None:
    for step in (dom.destroy, lambda: dom.undefine(snapshots_metadata=True)):
        try:
            step()
        except VirtError:
            pass


@pytest.fixture
def counter_guest(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> Iterator[tuple[virtcore.Domain, Path]]:
    """A defined disk-counter guest on a 4 MiB raw image."""
    image = tmp_path / "counter.img"
    image.write_bytes(testguest.disk_script_image(COUNTER, 4 * MIB))
    disk = disk_xml(image, "raw")
    dom = conn.define_domain(guest_xml("counter", mode="disk", extra_devices=disk))
    yield dom, image
    _cleanup(dom)


def _count_to(log: Path, n: int) -> None:
    wait_for(lambda: last_count(log) >= n, 60, f"the disk counter at {n}")


def test_disk_only_snapshot_of_a_running_raw_disk_reverts_and_merges_back_live(
    counter_guest: tuple[virtcore.Domain, Path], root: Path
) -> None:
    dom, image = counter_guest
    dom.start()
    log = console_log(dom)
    _count_to(log, 3)
    before = last_count(log)
    snap = dom.create_snapshot(snap_xml("ext"), disk_only=True)
    after = last_count(log)
    overlay = image.with_suffix(".ext")  # libvirt's name: the image's suffix replaced
    assert dom.state()[0] == DomainState.RUNNING
    assert backing_of(overlay) == str(image)
    assert source_of(dom) == (str(overlay), "qcow2") == source_of(dom, inactive=True)
    meta = parse_snapshot(snap.xml_desc(), redefine=True)
    assert (meta.state, meta.memory_snapshot) == ("disk-snapshot", "no")
    assert [(d.name, d.snapshot, d.file) for d in meta.disks] == [("vda", "external", str(overlay))]
    assert meta.domain is not None and meta.domain.disks[0].source == str(image)
    _count_to(log, after + 3)
    assert before <= on_disk(image) <= after + 1  # the raw image is frozen at the snapshot
    log.unlink()  # the revert boots the guest afresh: its console is a new file
    snap.revert(running=True, force=True)
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
    _count_to(log, 1)
    first = counts(log)[0]
    assert before + 1 <= first <= after + 2  # counting on from the number the disk held
    assert source_of(dom) == (str(overlay), "qcow2")  # the snapshot's overlay made anew
    _count_to(log, first + 2)
    seen: list[tuple[int, int]] = []
    snap.delete(progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] > 0  # QEMU's job progress, to the end
    assert not overlay.exists()
    assert source_of(dom) == (str(image), "raw") == source_of(dom, inactive=True)
    assert dom.list_snapshots() == []
    now = last_count(log)
    _count_to(log, now + 2)  # the guest counts on, on its raw image alone
    assert on_disk(image) >= now + 1
    assert not list((root / "etc" / "snapshots").glob("*.pending"))


def test_two_live_snapshots_merge_back_intermediate_then_active(
    counter_guest: tuple[virtcore.Domain, Path],
) -> None:
    dom, image = counter_guest
    dom.start()
    log = console_log(dom)
    _count_to(log, 2)
    s1 = dom.create_snapshot(snap_xml("s1"), disk_only=True)
    _count_to(log, last_count(log) + 2)
    s2 = dom.create_snapshot(snap_xml("s2"), disk_only=True)
    o1, o2 = image.with_suffix(".s1"), image.with_suffix(".s2")
    assert backing_of(o2) == str(o1) and source_of(dom)[0] == str(o2)
    assert s2.parent() == s1
    _count_to(log, last_count(log) + 2)
    s1.delete()  # o1 is below the active layer: an intermediate commit into the image
    assert not o1.exists() and backing_of(o2) == str(image)
    assert source_of(dom)[0] == str(o2)
    recorded = parse_snapshot(s2.xml_desc(), redefine=True).domain
    assert recorded is not None and recorded.disks[0].source == str(image)  # s2 froze o1, merged
    _count_to(log, last_count(log) + 2)
    s2.delete()  # the active layer: an active commit, job-complete, pivot
    assert not o2.exists() and source_of(dom) == (str(image), "raw")
    now = last_count(log)
    _count_to(log, now + 2)
    assert on_disk(image) >= now + 1


def test_full_external_snapshot_reverted_brings_the_counter_back(
    qcow2_guest: tuple[virtcore.Domain, Path], tmp_path: Path, root: Path
) -> None:
    dom, image = qcow2_guest
    log = boot(dom)
    memory = tmp_path / "s.mem"
    before = last_tick(log)
    snap = dom.create_snapshot(
        f"<domainsnapshot><name>full</name><memory snapshot='external' file='{memory}'/></domainsnapshot>"
    )
    after = last_tick(log)
    overlay = image.with_suffix(".full")
    assert dom.state()[0] == DomainState.RUNNING
    assert memory.read_bytes()[:4] == b"QEVM"  # QEMU's migration stream
    assert backing_of(overlay) == str(image) and source_of(dom)[0] == str(overlay)
    meta = parse_snapshot(snap.xml_desc(), redefine=True)
    assert (meta.state, meta.memory_snapshot, meta.memory_file) == ("running", "external", str(memory))
    wait_for(lambda: last_tick(log) >= after + 4, 30, "four ticks after the snapshot")
    log.unlink()  # the revert starts QEMU afresh: its console is a new file
    snap.revert()
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
    wait_for(lambda: last_tick(log) > 0, 30, "a tick after the revert")
    assert MARKER not in read(log)  # no boot: the memory came back
    first = int(next(x for x in read(log).splitlines() if x.startswith("vc-tick ")).split()[1])
    assert before < first <= after + 2
    assert source_of(dom)[0] == str(overlay)
    snap.delete()
    assert not memory.exists() and not overlay.exists()
    assert source_of(dom) == (str(image), "qcow2")
    tick = last_tick(log)
    wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the merge")


def test_full_external_snapshot_not_live_of_a_paused_guest_reverts_paused(
    qcow2_guest: tuple[virtcore.Domain, Path], tmp_path: Path
) -> None:
    dom, image = qcow2_guest
    log = boot(dom)
    dom.suspend()
    at = last_tick(log)
    memory = tmp_path / "p.mem"
    snap = dom.create_snapshot(
        f"<domainsnapshot><name>p</name><memory snapshot='external' file='{memory}'/></domainsnapshot>",
        live=False,
    )
    assert dom.state()[0] == DomainState.PAUSED  # left as it was
    assert parse_snapshot(snap.xml_desc(), redefine=True).state == "paused"
    dom.resume()
    wait_for(lambda: last_tick(log) >= at + 3, 30, "ticks after the resume")
    log.unlink()
    snap.revert()
    assert dom.state()[0] == DomainState.PAUSED
    dom.resume()
    wait_for(lambda: last_tick(log) > 0, 30, "a tick after the revert")
    first = int(next(x for x in read(log).splitlines() if x.startswith("vc-tick ")).split()[1])
    assert first <= at + 1
    snap.delete()
    assert not image.with_suffix(".p").exists() and not memory.exists()


def test_external_disk_only_snapshot_of_a_shut_off_guest_reverts_without_writing_the_image(
    qcow2_guest: tuple[virtcore.Domain, Path],
) -> None:
    dom, image = qcow2_guest
    assert qemu_io(image, "write -P 0x11 0 64k").returncode == 0
    s1 = dom.create_snapshot(snap_xml("s1"), disk_only=True)
    o1 = image.with_suffix(".s1")
    assert source_of(dom) == (str(o1), "qcow2") and backing_of(o1) == str(image)
    assert qemu_io(o1, "write -P 0x22 0 64k").returncode == 0
    s2 = dom.create_snapshot(snap_xml("s2"), disk_only=True)
    o2 = image.with_suffix(".s2")
    assert qemu_io(o2, "write -P 0x33 0 64k").returncode == 0

    s1.revert()  # o1 holds s2's state: a new overlay beside it
    top = Path(str(source_of(dom)[0]))
    assert top == Path(f"{o1}-1") and backing_of(top) == str(image)
    assert (
        qemu_io(top, "read -P 0x11 0 64k").stdout.count("read")
        and "failed" not in qemu_io(top, "read -P 0x11 0 64k").stdout
    )
    assert "failed" not in qemu_io(o1, "read -P 0x22 0 64k").stdout  # s2's state untouched
    assert qemu_io(top, "write -P 0x44 0 64k").returncode == 0

    s2.revert()  # nothing sits on o2: it is made anew; the left overlay o1-1 goes
    assert source_of(dom)[0] == str(o2) and not top.exists()
    assert "failed" not in qemu_io(o2, "read -P 0x22 0 64k").stdout

    seen: list[tuple[int, int]] = []
    s1.delete(progress=lambda done, total: seen.append((done, total)))  # o1 merged into the image
    assert seen[-1] == (1, 1)
    assert not o1.exists() and backing_of(o2) == str(image)
    assert "failed" not in qemu_io(image, "read -P 0x22 0 64k").stdout
    recorded = parse_snapshot(s2.xml_desc(), redefine=True).domain
    assert recorded is not None and recorded.disks[0].source == str(image)
    s2.delete()
    assert not o2.exists() and source_of(dom) == (str(image), "qcow2")
    assert "failed" not in qemu_io(image, "read -P 0x22 0 64k").stdout


def test_external_disk_only_snapshot_reverts_and_merges_back(
    qcow2_guest: tuple[virtcore.Domain, Path],
) -> None:
    dom, image = qcow2_guest
    assert qemu_io(image, "write -P 0x11 0 64k").returncode == 0
    boot(dom)
    snap = dom.create_snapshot(snap_xml("ext"), disk_only=True)
    overlay = image.with_suffix(".ext")
    assert overlay.exists() and dom.state()[0] == DomainState.RUNNING
    dom.destroy()
    assert qemu_io(overlay, "write -P 0x22 0 64k").returncode == 0
    snap.revert()
    assert "failed" not in qemu_io(overlay, "read -P 0x11 0 64k").stdout  # made anew on the image
    assert qemu_io(image, "read -P 0x11 0 64k").returncode == 0
    snap.delete()
    assert not overlay.exists()


def test_external_snapshot_refusals_name_the_thing_and_leave_nothing(
    qcow2_guest: tuple[virtcore.Domain, Path], tmp_path: Path, root: Path
) -> None:
    dom, image = qcow2_guest
    taken = tmp_path / "taken.qcow2"
    taken.write_bytes(b"x")
    cases = [
        (dict(xml=snap_xml("r"), disk_only=True, reuse_ext=True), "reusing existing"),
        (dict(xml="<domainsnapshot><name>f</name><disks><disk name='vda'><driver type='raw'/>"
                  "</disk></disks></domainsnapshot>"), "format for disk vda is unsupported: raw"),
        (dict(xml="<domainsnapshot><name>t</name><disks><disk name='vda'>"
                  f"<source file='{taken}'/></disk></disks></domainsnapshot>"), "already exists"),
        (dict(xml="<domainsnapshot><name>m</name><memory snapshot='external' "
                  f"file='{tmp_path / 'mem'}'/></domainsnapshot>"), "memory state cannot be saved"),
        (dict(xml=snap_xml("q"), quiesce=True), "quiesce requires disk-only"),
    ]  # fmt: skip
    for kw, message in cases:
        with pytest.raises(ConfigUnsupportedError, match=message) as exc:
            dom.create_snapshot(**kw)  # type: ignore[arg-type]
        assert exc.value.code == ErrorNumber.CONFIG_UNSUPPORTED
    assert dom.list_snapshots() == [] and taken.read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("disk")) == ["disk.qcow2"]
    assert not (root / "etc" / "snapshots" / f"{dom.uuid}.xml").exists()
    assert source_of(dom) == (str(image), "qcow2")


def test_quiesce_without_an_agent_is_refused_and_the_guest_runs_on(
    qcow2_guest: tuple[virtcore.Domain, Path], root: Path
) -> None:
    dom, image = qcow2_guest
    log = boot(dom)
    with pytest.raises(AgentUnresponsiveError, match="agent is not configured"):
        dom.create_snapshot(snap_xml("q"), disk_only=True, quiesce=True)
    assert not image.with_suffix(".q").exists() and dom.list_snapshots() == []
    assert source_of(dom) == (str(image), "qcow2")
    assert not list((root / "etc" / "snapshots").glob("*.pending"))
    tick = last_tick(log)
    wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the refusal")


@pytest.mark.parametrize("running", [True, False], ids=["running", "off"])
def test_disk_full_mid_overlay_is_a_named_error_and_nothing_is_left(
    conn: virtcore.Connection,
    guest_xml: Callable[..., str],
    full_fs: Path,
    root: Path,
    running: bool,
) -> None:
    image = make_image(full_fs)
    dom = conn.define_domain(guest_xml("full", extra_devices=disk_xml(image)))
    try:
        log = boot(dom) if running else None
        fill_fs(full_fs)
        with pytest.raises(OperationFailedError, match="overlay") as exc:
            dom.create_snapshot(snap_xml("big"), disk_only=True)
        assert exc.value.code == ErrorNumber.OPERATION_FAILED and str(image.with_suffix(".big")) in str(
            exc.value
        )
        assert dom.list_snapshots() == [] and not image.with_suffix(".big").exists()
        assert source_of(dom) == (str(image), "qcow2") == source_of(dom, inactive=True)
        assert not list((root / "etc" / "snapshots").glob("*.pending"))
        if log is not None:
            assert dom.state()[0] == DomainState.RUNNING
            tick = last_tick(log)
            wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the failed snapshot")
        (full_fs / "filler").unlink()
        dom.create_snapshot(snap_xml("fits"), disk_only=True)
        assert image.with_suffix(".fits").exists()
    finally:
        _cleanup(dom)


TAKER = r"""
import sys, virtcore
conn = virtcore.open(sys.argv[1])
dom = conn.lookup_domain(sys.argv[2])
if sys.argv[3] == "create":
    dom.create_snapshot("<domainsnapshot><name>k</name></domainsnapshot>", disk_only=True)
elif sys.argv[3] == "revert":
    dom.lookup_snapshot("k").revert(running=True, force=True)
else:
    dom.lookup_snapshot("k").delete()
print("done", flush=True)
"""


def _kill_at(point: str, uri: str, name: str, what: str) -> None:
    """Run ``what`` (create, revert to or delete snapshot ``k``) in another process; SIGKILL it at
    ``point``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", TAKER, uri, name, what],
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
@pytest.mark.parametrize("point", ["snapshot-taken", "snapshot-committed"])
def test_killed_mid_external_snapshot_leaves_tree_and_definition_consistent(
    uri: str, qcow2_guest: tuple[virtcore.Domain, Path], root: Path, running: bool, point: str
) -> None:
    dom, image = qcow2_guest
    log = boot(dom) if running else None
    overlay = image.with_suffix(".k")
    _kill_at(point, uri, dom.name, "create")
    # running: QEMU switched to the overlay before the kill, so it is carried through;
    # off: nothing ran on the overlay, so an uncommitted one is removed
    kept = running or point == "snapshot-committed"
    with virtcore.open(uri) as conn:
        again = conn.lookup_domain(dom.name)
        assert [s.name for s in again.list_snapshots()] == (["k"] if kept else [])
        assert overlay.exists() == kept
        want = (str(overlay), "qcow2") if kept else (str(image), "qcow2")
        assert source_of(again) == want == source_of(again, inactive=True)
        assert not list((root / "etc" / "snapshots").glob("*.pending"))
        assert not list((root / "etc" / "snapshots").glob(".*"))  # nor what was written ahead
        if log is not None:
            assert again.state()[0] == DomainState.RUNNING
            tick = last_tick(log)
            wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the recovery")


@pytest.mark.parametrize(
    ("running", "point"),
    [(True, "snapshot-merging"), (True, "snapshot-merged"), (False, "snapshot-merged")],
    ids=["running-job-started", "running-merged", "off-merged"],
)
def test_killed_mid_merge_is_finished_by_the_next_process(
    uri: str, qcow2_guest: tuple[virtcore.Domain, Path], root: Path, running: bool, point: str
) -> None:
    dom, image = qcow2_guest
    log = boot(dom) if running else None
    dom.create_snapshot(snap_xml("k"), disk_only=True)
    overlay = image.with_suffix(".k")
    if not running:
        assert qemu_io(overlay, "write -P 0x5a 0 64k").returncode == 0
    _kill_at(point, uri, dom.name, "delete")
    assert overlay.exists()  # the overlay goes only once the merge is written down
    with virtcore.open(uri) as conn:
        again = conn.lookup_domain(dom.name)
        assert again.list_snapshots() == []
        assert not overlay.exists()
        assert source_of(again) == (str(image), "qcow2") == source_of(again, inactive=True)
        assert not list((root / "etc" / "snapshots").glob("*.pending"))
        if log is not None:
            tick = last_tick(log)
            wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks after the recovery")
        else:
            assert "failed" not in qemu_io(image, "read -P 0x5a 0 64k").stdout


@pytest.mark.parametrize(
    ("point", "done"),
    [
        ("snapshot-revert-prepared", False),
        ("snapshot-revert-committed", True),
        ("snapshot-revert-written", True),
    ],
    ids=["overlays-made", "committed", "tree-written"],
)
def test_killed_mid_external_revert_leaves_guest_and_tree_as_before_or_after(
    uri: str, qcow2_guest: tuple[virtcore.Domain, Path], root: Path, point: str, done: bool
) -> None:
    dom, image = qcow2_guest
    log = boot(dom)
    dom.create_snapshot(snap_xml("k"), disk_only=True)
    dom.create_snapshot(snap_xml("k2"), disk_only=True)
    k, k2 = image.with_suffix(".k"), image.with_suffix(".k2")
    fresh = Path(f"{k}-1")  # k2 sits on k's overlay: the revert makes a new one beside it
    tick = last_tick(log)
    _kill_at(point, uri, dom.name, "revert")
    if done:  # the revert starts the guest afresh: its console is a new file
        log.unlink()
    with virtcore.open(uri) as conn:
        again = conn.lookup_domain(dom.name)
        assert sorted(s.name for s in again.list_snapshots()) == ["k", "k2"]
        assert again.current_snapshot().name == ("k" if done else "k2")
        top = fresh if done else k2
        assert source_of(again) == (str(top), "qcow2") == source_of(again, inactive=True)
        assert backing_of(top) == str(image if done else k)
        # no overlay the definition or a snapshot does not name: k2's is discarded by the revert
        left = sorted(p.name for p in image.parent.iterdir() if p.name.startswith(image.stem))
        assert left == sorted([image.name, k.name, top.name])
        assert not list((root / "etc" / "snapshots").glob("*.pending"))
        assert not list((root / "etc" / "snapshots").glob(".*"))
        assert again.state()[0] == DomainState.RUNNING
        if done:
            wait_for(lambda: last_tick(log) >= 2, 60, "ticks of the guest started on the snapshot")
        else:
            wait_for(lambda: last_tick(log) > tick + 1, 30, "ticks of the guest left running")


def test_cli_takes_reverts_and_deletes_external_snapshots_as_virsh(
    uri: str, qcow2_guest: tuple[virtcore.Domain, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from virtcore.cli import main

    dom, image = qcow2_guest
    overlay = tmp_path / "given.qcow2"

    def run(*args: str) -> str:
        capsys.readouterr()
        assert main(["-c", uri, *args]) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    out = run("snapshot-create-as", dom.name, "d", "--disk-only", "--diskspec", f"vda,file={overlay}")
    assert out == "Domain snapshot d created\n"
    assert backing_of(overlay) == str(image) and source_of(dom)[0] == str(overlay)
    assert run("snapshot-list", dom.name, "--external", "--name") == "d\n\n"
    assert run("snapshot-list", dom.name, "--inactive", "--name") == "d\n\n"  # of a shut-off guest
    assert qemu_io(overlay, "write -P 0x66 0 64k").returncode == 0
    assert run("snapshot-revert", dom.name, "d") == "Domain snapshot d reverted\n\n"
    assert "failed" not in qemu_io(overlay, "read -P 0 0 64k").stdout  # made anew: the image's zeros
    boot(dom)
    memory = tmp_path / "m.mem"
    out = run("snapshot-create-as", dom.name, "m", "--memspec", f"file={memory},snapshot=external",
              "--diskspec", "vda,snapshot=external")  # fmt: skip
    assert out == "Domain snapshot m created\n"
    assert memory.read_bytes()[:4] == b"QEVM" and image.with_name("given.m").exists()
    info = run("snapshot-info", dom.name, "m")
    assert re.search(r"^State:\s+running$", info, re.M) and re.search(r"^Location:\s+external$", info, re.M)
    assert run("snapshot-delete", dom.name, "m") == "Domain snapshot m deleted\n\n"
    assert run("snapshot-delete", dom.name, "d") == "Domain snapshot d deleted\n\n"
    assert not memory.exists() and not overlay.exists() and not image.with_name("given.m").exists()
    assert source_of(dom) == (str(image), "qcow2") and dom.state()[0] == DomainState.RUNNING


def test_an_external_snapshot_holding_an_internal_one_in_its_overlay_is_not_merged(
    qcow2_guest: tuple[virtcore.Domain, Path],
) -> None:
    dom, image = qcow2_guest
    ext = dom.create_snapshot(snap_xml("ext"), disk_only=True)
    overlay = image.with_suffix(".ext")
    dom.create_snapshot(snap_xml("inner"))  # internal, inside the overlay the disk now runs on
    with pytest.raises(ConfigUnsupportedError, match="internal snapshot 'inner' lives in its overlay") as exc:
        ext.delete()
    assert exc.value.code == ErrorNumber.CONFIG_UNSUPPORTED
    assert overlay.exists() and [s.name for s in dom.list_snapshots()] == ["ext", "inner"]
    assert source_of(dom)[0] == str(overlay)
    dom.lookup_snapshot("inner").delete()
    ext.delete()
    assert not overlay.exists() and source_of(dom) == (str(image), "qcow2")
