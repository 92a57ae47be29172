"""virt-qemu against bare QEMU, side by side in one run (real TCG guests, 128 MiB).

Bare QEMU is driven the leanest possible way (its own argv, a raw QMP socket);
our column goes through virtcore's public API on ``qemu:///embed``. libvirt's
column holds the figures measured for issue 4 on these machines (libvirt 9.0
+ QEMU 7.2, TCG, 128 MiB guest), since libvirtd does not run here.

Usage: python bench/bench_qemu.py [--quick] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from virt_qemu import testguest
from virt_qemu.argv import LaunchSpec, build_argv

import virtcore
from virtcore.xml import parse_domain

#: libvirt 9.0 + QEMU 7.2 under TCG, 128 MiB guest, measured for issue 4 (seconds).
LIBVIRT = {
    "start": 0.37,
    "destroy": 0.22,
    "suspend": 0.0027,
    "resume": 0.0018,
    "state": 75e-6,
    "info": 75e-6,
    "save": 0.32,
    "restore": 0.39,
    "cold first connection": 1.3,
}
#: Seconds after the start at which both sides suspend the guest (it is booting: the
#: vCPU thread's activity decides how fast QEMU can stop it).
SETTLE = 1.0
TARGETS = {
    "start": "<= 1.3x bare",
    "destroy": "< 20 ms",
    "state": "< 10 us",
    "info": "< 10 us",
    "save": "<= libvirt",
    "restore": "<= libvirt",
    "cold first connection": "< 0.3 s",
}


class RawQMP:
    """The minimal QMP client bare QEMU gets: a blocking socket and JSON lines."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.0005)
        self.f = self.sock.makefile("rwb")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name: str) -> object:
        self.f.write(json.dumps({"execute": name}).encode() + b"\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg or "error" in msg:
                return msg

    def close(self) -> None:
        self.sock.close()


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    import select

    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        p.poll(timeout * 1000)
    finally:
        os.close(fd)


def bare_cycle(xml: str, tmp: Path) -> dict[str, float]:
    """Bare QEMU: launch (daemonized, -S) to ready-for-cont, cont, stop, cont, SIGTERM."""
    d = parse_domain(xml)
    sock = str(tmp / "bare.sock")
    pidfile = tmp / "bare.pid"
    for p in (sock, pidfile):
        with __import__("contextlib").suppress(FileNotFoundError):
            os.unlink(p)
    argv = build_argv(
        d, emulator="/usr/bin/qemu-system-x86_64", machine="pc",
        spec=LaunchSpec(
            pidfile=str(pidfile), monitor_paths=(sock,), serial_log=str(tmp / "bare-console.log")
        ),
    )  # fmt: skip
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    subprocess.run(
        argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    q = RawQMP(sock)
    out["ready for cont"] = time.perf_counter() - t0
    q.cmd("cont")
    out["start"] = time.perf_counter() - t0
    time.sleep(SETTLE)  # both sides pause the guest at the same point of its boot
    t = time.perf_counter()
    q.cmd("stop")
    out["suspend"] = time.perf_counter() - t
    t = time.perf_counter()
    q.cmd("cont")
    out["resume"] = time.perf_counter() - t
    pid = int(pidfile.read_text())
    t = time.perf_counter()
    os.kill(pid, signal.SIGTERM)
    _wait_dead(pid)
    out["destroy"] = time.perf_counter() - t
    q.close()
    return out


def per_call(fn: Callable[[], object], n: int) -> float:
    for _ in range(min(n, 1000)):
        fn()
    best = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - t) / n)
    return min(best)


def ours_cycle(conn: virtcore.Connection, xml: str, tmp: Path, n_fast: int) -> dict[str, float]:
    dom = conn.define_domain(xml)
    out: dict[str, float] = {}
    t0 = t = time.perf_counter()
    dom.start()
    out["start"] = time.perf_counter() - t
    out["state"] = per_call(dom.state, n_fast)
    out["info"] = per_call(dom.info, n_fast)
    time.sleep(max(0.0, SETTLE - (time.perf_counter() - t0)))
    t = time.perf_counter()
    dom.suspend()
    out["suspend"] = time.perf_counter() - t
    t = time.perf_counter()
    dom.resume()
    out["resume"] = time.perf_counter() - t
    testguest.wait_marker(virtcore_console(dom))
    image = tmp / "ours.save"
    t = time.perf_counter()
    dom.save(image)
    out["save"] = time.perf_counter() - t
    t = time.perf_counter()
    conn.restore_domain(image)
    out["restore"] = time.perf_counter() - t
    t = time.perf_counter()
    dom.destroy()
    out["destroy"] = time.perf_counter() - t
    dom.undefine()
    image.unlink()
    return out


def virtcore_console(dom: virtcore.Domain) -> Path:
    from virt_qemu import console_log

    return console_log(dom)


COLD = (
    "import time; t = time.perf_counter(); import virtcore; "
    "c = virtcore.open({uri!r}); c.list_domains(); "
    "print(time.perf_counter() - t)"
)
COLD_CAPS = (
    "import time; t = time.perf_counter(); import virtcore; "
    "c = virtcore.open({uri!r}); c.list_domains(); c.capabilities_xml(); "
    "print(time.perf_counter() - t)"
)


def cold(uri: str, code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code.format(uri=uri)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v < 1e-3:
        return f"{v * 1e6:.1f} us"
    if v < 1:
        return f"{v * 1e3:.1f} ms"
    return f"{v:.2f} s"


def main() -> None:
    """Run the bench and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument("--root", help="embed root to use (default: a temporary directory)")
    args = ap.parse_args()
    rounds = 2 if args.quick else 7
    n_fast = 2000 if args.quick else 20000
    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel)
    with tempfile.TemporaryDirectory(prefix="bench-qemu-") as tmpd:
        tmp = Path(tmpd)
        root = Path(args.root) if args.root else tmp / "root"
        uri = f"qemu:///embed?root={root}"
        xml = testguest.guest_domain_xml("bench", kernel, initrd, serial_log=tmp / "console.log")
        bare_runs: list[dict[str, float]] = []
        ours_runs: list[dict[str, float]] = []
        cold_cache = cold(f"qemu:///embed?root={tmp / 'coldroot'}", COLD_CAPS)
        with virtcore.open(uri) as conn:
            for _ in range(rounds):  # interleaved, so both sides see the same machine
                bare_runs.append(bare_cycle(xml, tmp))
                ours_runs.append(ours_cycle(conn, xml, tmp, n_fast))
        cold_warm = min(cold(uri, COLD) for _ in range(3))
    med = lambda runs, k: statistics.median(r[k] for r in runs) if k in runs[0] else None  # noqa: E731
    rows = ["start", "destroy", "suspend", "resume", "state", "info", "save", "restore"]
    print(
        f"virt-qemu vs bare QEMU 7.2 (TCG, 128 MiB guest), median of {rounds} rounds; "
        "libvirt = issue 4's figures"
    )
    print(f"bare QEMU launch -> ready for cont: {fmt(med(bare_runs, 'ready for cont'))}")
    cols = ("bare QEMU", 12), ("virt-qemu", 12), ("x bare", 8), ("libvirt", 11), ("x libvirt", 10)
    header = f"{'operation':<26}" + "".join(f"{c:>{w}}" for c, w in cols) + "  target"
    print(header)
    print("-" * len(header))
    for k in rows:
        b, o, lv = med(bare_runs, k), med(ours_runs, k), LIBVIRT.get(k)
        rb = f"{o / b:.2f}" if b and o else "-"
        rl = f"{o / lv:.3f}" if lv and o else "-"
        print(f"{k:<26}{fmt(b):>12}{fmt(o):>12}{rb:>8}{fmt(lv):>11}{rl:>10}  {TARGETS.get(k, '')}")
    best = lambda runs, k: min(r[k] for r in runs)  # noqa: E731
    for k in ("start", "destroy", "suspend", "resume"):
        b, o = best(bare_runs, k), best(ours_runs, k)
        print(f"{'  ' + k + ', best of ' + str(rounds):<26}{fmt(b):>12}{fmt(o):>12}{o / b:>8.2f}")
    lv = LIBVIRT["cold first connection"]
    print(
        f"{'cold first connection':<26}{'-':>12}{fmt(cold_warm):>12}{'-':>8}{fmt(lv):>11}"
        f"{cold_warm / lv:>10.3f}  < 0.3 s"
    )
    print(
        f"{'  same, cold cache + caps':<26}{'-':>12}{fmt(cold_cache):>12}{'-':>8}{fmt(lv):>11}"
        f"{cold_cache / lv:>10.3f}  (probes QEMU + KVM)"
    )


if __name__ == "__main__":
    main()
