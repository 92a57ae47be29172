"""virt-xen side by side with libvirt's libxl driver, both inside a real Xen 4.17 dom0.

The operations must run in dom0, so on the host ``main()`` boots the virt-xen harness
(plugins/virt-xen/tests/xenhost/run.sh, Xen under QEMU TCG) with libvirtd added to dom0
(``XENHOST_WITH_LIBVIRT=1``) and this file as the script dom0 runs; inside dom0 the same
file (``--in-dom0``) starts libvirtd, measures both sides on the same tiny PV guest and
writes JSON to the share; the host prints the table with ratios (virtcore / libvirt:
below 1 is faster).

Timings are under QEMU TCG (no KVM here): absolute figures are slow, the ratios are
what matters. Fast read-only calls are the best of several runs of many calls; the
lifecycle operations the median of a few.

Usage: python bench/bench_xen.py [--quick]      (about 4-6 minutes; --quick about 3)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HARNESS = REPO / "plugins" / "virt-xen" / "tests" / "xenhost" / "run.sh"

GUEST_XML = """<domain type='xen'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>/guest/vmlinuz</kernel>
    <initrd>/guest/initrd</initrd>
    <cmdline>console=hvc0 quiet rdinit=/init</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <console type='pty'><target type='xen' port='0'/></console>
  </devices>
</domain>"""

ORDER = [
    "lookup",
    "info",
    "state",
    "list",
    "define+undefine",
    "start",
    "suspend+resume",
    "save",
    "restore",
    "destroy",
]

# ============================================================================ in dom0


def _xml(name: str) -> str:
    # xl wants type 'xen' for PV; libvirt accepts 'linux' and 'xen' alike
    return GUEST_XML.format(name=name, uuid=uuidlib.uuid4()).replace(">linux<", ">xen<")


def _booted(name: str) -> bool:
    try:
        return "GUEST-MARKER" in Path(f"/var/log/xen/console/guest-{name}.log").read_text(errors="replace")
    except OSError:
        return False


def _wait(pred: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        time.sleep(0.2)


def _fast(fn: Callable[[], Any], number: int) -> float:
    """µs per call: the best of 3 runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=3)) / number * 1e6


class Ours:
    """virtcore's adapter."""

    label = "virtcore"

    def __init__(self) -> None:
        import virtcore

        self.conn = virtcore.open("xen:///system?root=/tmp/bench-virtcore")

    def define(self, xml: str) -> Any:
        return self.conn.define_domain(xml)

    def lookup(self, name: str) -> Any:
        return self.conn.lookup_domain(name)

    def info(self, d: Any) -> Any:
        return d.info()

    def state(self, d: Any) -> Any:
        return d.state()

    def list(self) -> Any:
        return self.conn.list_domains()

    def undefine(self, d: Any) -> None:
        d.undefine()

    def start(self, d: Any) -> None:
        d.start()

    def suspend(self, d: Any) -> None:
        d.suspend()

    def resume(self, d: Any) -> None:
        d.resume()

    def save(self, d: Any, path: str) -> None:
        d.save(path)

    def restore(self, path: str) -> None:
        self.conn.restore_domain(path)

    def destroy(self, d: Any) -> None:
        d.destroy()


class Theirs:
    """libvirt's adapter (python3-libvirt talking to libvirtd's libxl driver)."""

    label = "libvirt"

    def __init__(self) -> None:
        import libvirt

        libvirt.registerErrorHandler(lambda *a: None, None)
        self.conn = libvirt.open("xen:///system")

    def define(self, xml: str) -> Any:
        return self.conn.defineXML(xml)

    def lookup(self, name: str) -> Any:
        return self.conn.lookupByName(name)

    def info(self, d: Any) -> Any:
        return d.info()

    def state(self, d: Any) -> Any:
        return d.state()

    def list(self) -> Any:
        return self.conn.listAllDomains()

    def undefine(self, d: Any) -> None:
        d.undefine()

    def start(self, d: Any) -> None:
        d.create()

    def suspend(self, d: Any) -> None:
        d.suspend()

    def resume(self, d: Any) -> None:
        d.resume()

    def save(self, d: Any, path: str) -> None:
        d.save(path)

    def restore(self, path: str) -> None:
        self.conn.restore(path)

    def destroy(self, d: Any) -> None:
        d.destroy()


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e6


LIFECYCLE = ("start", "suspend+resume", "save", "restore", "destroy")


def _round(
    api: Any, name: str, fast_n: int | None, out: dict[str, float], life: dict[str, list[float]]
) -> None:
    """One guest's life through ``api``: start, (the fast calls), pause, save, restore, destroy."""
    dom = api.define(_xml(name))
    life["start"].append(_timed(lambda: api.start(dom)))
    _wait(lambda: _booted(name), 120)
    dom = api.lookup(name)
    if fast_n:
        out["lookup"] = _fast(lambda: api.lookup(name), fast_n)
        out["info"] = _fast(lambda: api.info(dom), fast_n)
        out["state"] = _fast(lambda: api.state(dom), fast_n)
        out["list"] = _fast(api.list, fast_n)
    life["suspend+resume"].append(_timed(lambda: (api.suspend(dom), api.resume(dom))))
    image = f"/tmp/{name}.save"
    life["save"].append(_timed(lambda: api.save(dom, image)))
    life["restore"].append(_timed(lambda: api.restore(image)))
    os.unlink(image)
    dom = api.lookup(name)
    life["destroy"].append(_timed(lambda: api.destroy(dom)))
    api.undefine(api.lookup(name))


def measure_side(api: Any, tag: str, quick: bool) -> dict[str, float]:
    """Every operation of ORDER through ``api``; µs per operation."""
    out: dict[str, float] = {}
    dd = []
    for i in range(3 if quick else 10):
        x = _xml(f"bench-{tag}-def{i}")
        dd.append(_timed(lambda x=x: api.undefine(api.define(x))))  # type: ignore[misc]
    out["define+undefine"] = statistics.median(dd)
    life: dict[str, list[float]] = {k: [] for k in LIFECYCLE}
    for r in range(1 if quick else 3):
        _round(api, f"bench-{tag}-{r}", (20 if quick else 50) if r == 0 else None, out, life)
    for k, v in life.items():
        out[k] = statistics.median(v)
    return out


def _start_libvirtd() -> subprocess.Popen[bytes] | None:
    if not os.path.exists("/usr/sbin/libvirtd"):
        return None
    for d in ("/run/libvirt", "/var/lib/libvirt/libxl", "/var/log/libvirt/libxl"):
        os.makedirs(d, exist_ok=True)
    log = open("/tmp/libvirtd.log", "wb")  # noqa: SIM115 - lives as long as libvirtd
    proc = subprocess.Popen(["/usr/sbin/libvirtd"], stdout=log, stderr=subprocess.STDOUT)
    _wait(lambda: os.path.exists("/run/libvirt/libvirt-sock") or proc.poll() is not None, 60)
    return proc if proc.poll() is None else None


def in_dom0(out: Path, quick: bool) -> None:
    """Measure both sides inside dom0 and write ``{"virtcore": {...}, "libvirt": {...}}``."""
    result: dict[str, Any] = {"quick": quick}
    ours = Ours()
    try:
        result["virtcore"] = measure_side(ours, "vc", quick)
    finally:
        ours.conn.close()  # its XenStore watcher must not react to libvirt's guests
    out.write_text(json.dumps(result))
    proc = _start_libvirtd()
    if proc is None:
        result["libvirt_error"] = "libvirtd did not start: " + Path("/tmp/libvirtd.log").read_text()[-1500:]
    else:
        try:
            result["libvirt"] = measure_side(Theirs(), "lv", quick)
        except Exception as exc:  # report, keep our side
            result["libvirt_error"] = f"{type(exc).__name__}: {exc}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    out.write_text(json.dumps(result))


# ============================================================================ on the host


def _fmt(us: float | None) -> str:
    if us is None:
        return "-"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.1f} ms"
    return f"{us:.0f} µs"


def table(result: dict[str, Any]) -> str:
    """The comparison as text: operation, virtcore, libvirt, ratio."""
    ours, theirs = result.get("virtcore", {}), result.get("libvirt", {})
    lines = [
        "virt-xen vs libvirt libxl driver, inside a Xen 4.17 dom0 under QEMU TCG"
        + (" (quick)" if result.get("quick") else ""),
        f"{'operation':<18}{'virtcore':>12}{'libvirt':>12}{'ratio':>8}",
    ]
    for k in ORDER:
        a, b = ours.get(k), theirs.get(k)
        ratio = f"{a / b:.2f}" if a and b else "-"
        lines.append(f"{k:<18}{_fmt(a):>12}{_fmt(b):>12}{ratio:>8}")
    if result.get("libvirt_error"):
        lines.append("libvirt side failed: " + str(result["libvirt_error"])[:500])
    return "\n".join(lines)


def main() -> None:
    """Boot the Xen harness in bench mode and print the table it brings back."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of the lifecycle operations")
    parser.add_argument("--in-dom0", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_dom0:
        in_dom0(Path(args.in_dom0), args.quick)
        return
    work = Path(tempfile.mkdtemp(prefix="virtcore-xenbench-"))
    script = work / "bench.sh"
    script.write_text(
        "#!/bin/sh\ncd /src\n"
        f"python3 bench/bench_xen.py --in-dom0 /mnt/host/bench.json {'--quick' if args.quick else ''}\n"
    )
    script.chmod(0o755)
    env = dict(os.environ, XENHOST_WORK=str(work / "run"), XENHOST_DEBUG_SCRIPT=str(script),
               XENHOST_WITH_LIBVIRT="1", XENHOST_TIMEOUT="480")  # fmt: skip
    t0 = time.monotonic()
    try:
        proc = subprocess.run(["bash", str(HARNESS), str(REPO)], env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
    except subprocess.TimeoutExpired:
        print("bench_xen: the Xen harness did not finish in 600 s")
        return
    share = work / "run" / "share"
    res = share / "bench.json"
    if not res.exists():
        print(f"bench_xen: no result (harness rc={proc.returncode}); see {work}")
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        dbg = share / "debug.log"
        if dbg.exists():
            print(dbg.read_text(errors="replace")[-3000:])
        return
    print(table(json.loads(res.read_text())))
    print(f"(harness: {time.monotonic() - t0:.0f} s wall; raw results in {res})")


if __name__ == "__main__":
    sys.exit(main())
