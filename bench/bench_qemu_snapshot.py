"""Snapshots: virt-qemu against the same QMP commands issued by hand (TCG, 128 MiB guest).

Both sides run the same guest (the busybox ticker with a 16 MiB qcow2 disk),
launched from the same argv. Internal, by hand: ``stop``, the ``snapshot-save``
(or ``snapshot-load``) job polled with ``query-jobs`` until it concludes,
``job-dismiss``, ``cont``, over a raw QMP socket. External (disk-only), by hand:
``qemu-img create`` of the overlay, ``blockdev-add``, a ``transaction`` of one
``blockdev-snapshot``, the definition saved naming the overlay; its delete:
``block-commit`` polled until ready, ``job-complete``, polled until concluded,
``job-dismiss``, ``blockdev-del``, the definition saved naming the base again,
the overlay removed; its revert (a disk-only snapshot: the guest ends shut off,
as libvirt's revert without flags): a fresh overlay made beside the old one
(``qemu-img create``) while the guest runs, QEMU stopped (SIGTERM, waited for),
the fresh overlay renamed over the old one. Saving the definition is a step a
correct manager cannot skip (the next start must boot the image the disk runs
on now): by hand it is the argv written to a file, synced, renamed into place,
its directory synced. Ours: ``dom.create_snapshot`` (``disk_only=True``),
``snap.revert()`` and ``snap.delete()`` through virtcore's public API on
``qemu:///embed``, which also records, commits and fsyncs the snapshot tree and
the definition. Rounds are interleaved.

Usage: python bench/bench_qemu_snapshot.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_qemu import RawQMP, _wait_dead, fmt
from virt_qemu import testguest
from virt_qemu.argv import LaunchSpec, build_argv

import virtcore
from virtcore.xml import parse_domain

TARGET = 1.2


class JobQMP(RawQMP):
    """The raw QMP client, with arguments and job polling."""

    def call(self, name: str, args: dict[str, object]) -> dict[str, object]:
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg or "error" in msg:
                if "error" in msg:
                    raise RuntimeError(f"{name}: {msg['error']}")
                return msg

    def job(self, name: str, args: dict[str, object]) -> None:
        self.call(name, {"job-id": "bench", **args})
        delay = 0.005
        completing = False
        while True:
            jobs = self.call("query-jobs", {})["return"]
            job = next(j for j in jobs if j["id"] == "bench")  # type: ignore[union-attr]
            if job["status"] == "ready" and not completing:  # an active commit: pivot
                self.call("job-complete", {"id": "bench"})
                completing = True
            elif job["status"] == "concluded":
                self.call("job-dismiss", {"id": "bench"})
                if job.get("error"):
                    raise RuntimeError(job["error"])
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _disk(path: Path) -> str:
    return (
        f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='{path}'/><target dev='vda' bus='virtio'/></disk>"
    )


def _image(path: Path) -> Path:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return path


def _save_definition(path: Path, argv: list[str], disk: Path, now: Path) -> None:
    """What a careful operator keeps of the guest: its argv (naming the image the disk runs on
    ``now``), written whole and durably (synced, renamed into place, the directory synced)."""
    data = json.dumps([a.replace(str(disk), str(now)) for a in argv]).encode()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _overlay(image: Path, overlay: Path) -> None:
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", str(image), "--",
         str(overlay), str(16 << 20)],
        check=True,
    )  # fmt: skip


def by_hand(kernel: Path, initrd: Path, tmp: Path) -> dict[str, float]:
    """Bare QEMU and raw QMP: snapshot, revert, delete."""
    image = _image(tmp / "bare.qcow2")
    log = tmp / "bare-console.log"
    xml = testguest.guest_domain_xml("bare", kernel, initrd, serial_log=log, extra_devices=_disk(image))
    sock, pidfile = tmp / "bare.sock", tmp / "bare.pid"
    for p in (sock, pidfile, log):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    argv = build_argv(
        parse_domain(xml), emulator="/usr/bin/qemu-system-x86_64", machine="pc",
        spec=LaunchSpec(pidfile=str(pidfile), monitor_paths=(str(sock),), serial_log=str(log)),
    )  # fmt: skip
    subprocess.run(
        argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    q = JobQMP(str(sock))
    q.cmd("cont")
    testguest.wait_marker(log)
    node = next(
        b["inserted"]["node-name"]
        for b in q.call("query-block", {})["return"]
        if b.get("inserted")  # type: ignore[union-attr]
    )
    spec = {"tag": "s1", "vmstate": node, "devices": [node]}
    out: dict[str, float] = {}
    t = time.perf_counter()
    q.cmd("stop")
    q.job("snapshot-save", spec)
    q.cmd("cont")
    out["snapshot (running)"] = time.perf_counter() - t
    time.sleep(1)
    t = time.perf_counter()
    q.cmd("stop")
    q.job("snapshot-load", spec)
    q.cmd("cont")
    out["revert (running)"] = time.perf_counter() - t
    t = time.perf_counter()
    q.job("snapshot-delete", {"tag": "s1", "devices": [node]})
    out["delete (running)"] = time.perf_counter() - t
    overlay, definition = tmp / "bare.ext", tmp / "bare.json"
    for p in (overlay, tmp / "bare.ext2", tmp / "bare.ext2.new"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    t = time.perf_counter()
    _overlay(image, overlay)
    q.call("blockdev-add", {
        "driver": "qcow2", "node-name": "ext", "backing": None,
        "file": {"driver": "file", "filename": str(overlay), "node-name": "ext-f"},
    })  # fmt: skip
    q.call(
        "transaction", {"actions": [{"type": "blockdev-snapshot", "data": {"node": node, "overlay": "ext"}}]}
    )
    _save_definition(definition, argv, image, overlay)
    out["external snapshot"] = time.perf_counter() - t
    time.sleep(1)
    t = time.perf_counter()
    q.job("block-commit", {"device": "ext", "base-node": node, "auto-dismiss": False})
    q.call("blockdev-del", {"node-name": "ext"})
    _save_definition(definition, argv, image, image)
    overlay.unlink()
    out["external delete"] = time.perf_counter() - t
    # the revert's snapshot, taken as above (not timed)
    overlay, fresh = tmp / "bare.ext2", tmp / "bare.ext2.new"
    _overlay(image, overlay)
    q.call("blockdev-add", {
        "driver": "qcow2", "node-name": "ext2", "backing": None,
        "file": {"driver": "file", "filename": str(overlay), "node-name": "ext2-f"},
    })  # fmt: skip
    q.call(
        "transaction", {"actions": [{"type": "blockdev-snapshot", "data": {"node": node, "overlay": "ext2"}}]}
    )
    _save_definition(definition, argv, image, overlay)
    time.sleep(1)
    t = time.perf_counter()
    _overlay(image, fresh)  # the disk as it was at the snapshot, made while the guest runs on
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGTERM)
    _wait_dead(pid)
    os.replace(fresh, overlay)  # the definition names the overlay already
    out["external revert"] = time.perf_counter() - t
    q.close()
    return out


def ours(conn: virtcore.Connection, kernel: Path, initrd: Path, tmp: Path) -> dict[str, float]:
    """virtcore's API: the same three operations."""
    image = _image(tmp / "ours.qcow2")
    log = tmp / "ours-console.log"
    with contextlib.suppress(FileNotFoundError):
        log.unlink()
    xml = testguest.guest_domain_xml("ours", kernel, initrd, serial_log=log, extra_devices=_disk(image))
    dom = conn.define_domain(xml)
    dom.start()
    testguest.wait_marker(log)
    out: dict[str, float] = {}
    t = time.perf_counter()
    snap = dom.create_snapshot("<domainsnapshot><name>s1</name></domainsnapshot>")
    out["snapshot (running)"] = time.perf_counter() - t
    time.sleep(1)
    t = time.perf_counter()
    snap.revert()
    out["revert (running)"] = time.perf_counter() - t
    t = time.perf_counter()
    snap.delete()
    out["delete (running)"] = time.perf_counter() - t
    for name in ("ours.ext", "ours.ext2"):
        with contextlib.suppress(FileNotFoundError):
            (tmp / name).unlink()
    t = time.perf_counter()
    ext = dom.create_snapshot("<domainsnapshot><name>ext</name></domainsnapshot>", disk_only=True)
    out["external snapshot"] = time.perf_counter() - t
    time.sleep(1)
    t = time.perf_counter()
    ext.delete()
    out["external delete"] = time.perf_counter() - t
    ext2 = dom.create_snapshot("<domainsnapshot><name>ext2</name></domainsnapshot>", disk_only=True)
    time.sleep(1)
    t = time.perf_counter()
    ext2.revert()  # a disk-only snapshot: the guest ends shut off
    out["external revert"] = time.perf_counter() - t
    dom.undefine(snapshots_metadata=True)
    return out


def main() -> None:
    """Run the bench and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    args = ap.parse_args()
    rounds = 2 if args.quick else 9
    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel)
    bare_runs: list[dict[str, float]] = []
    our_runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-qsnap-") as tmpd:
        tmp = Path(tmpd)
        with virtcore.open(f"qemu:///embed?root={tmp / 'root'}") as conn:
            for _ in range(rounds):  # interleaved, so both sides see the same machine
                bare_runs.append(by_hand(kernel, initrd, tmp))
                our_runs.append(ours(conn, kernel, initrd, tmp))
    print(f"snapshots, virt-qemu vs the same QMP commands by hand (TCG, 128 MiB), median of {rounds}")
    header = f"{'operation':<22}{'by hand':>12}{'virt-qemu':>12}{'x hand':>8}{'x/round':>9}  target"
    print(header)
    print("-" * len(header))
    for k in bare_runs[0]:
        b = statistics.median(r[k] for r in bare_runs)
        o = statistics.median(r[k] for r in our_runs)
        # each round runs both sides back to back: the median of the rounds' ratios sees the
        # load of the shared machine on both sides alike
        per_round = statistics.median(ro[k] / rb[k] for rb, ro in zip(bare_runs, our_runs, strict=True))
        print(f"{k:<22}{fmt(b):>12}{fmt(o):>12}{o / b:>8.2f}{per_round:>9.2f}  <= {TARGET}x")
    # QEMU's job time varies by several times from run to run (TCG, a shared machine):
    # the best of each side shows what the driver itself adds
    for k in bare_runs[0]:
        b, o = min(r[k] for r in bare_runs), min(r[k] for r in our_runs)
        print(f"{'  ' + k.removesuffix(' (running)') + ', best':<22}{fmt(b):>12}{fmt(o):>12}{o / b:>8.2f}")


if __name__ == "__main__":
    main()
