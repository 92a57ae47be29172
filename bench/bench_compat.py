"""``import libvirt`` on virtcore, side by side in one run: three columns per test-driver operation.

1. virtcore's own API (``VirtcoreAPI`` of run.py, ``VirtcoreStorage`` of bench_storage.py);
2. virt-libvirt's ``libvirt`` module, through libvirt_side.py's adapters: the very
   code that drives libvirt-python, run in this interpreter, where ``import libvirt``
   is virt-libvirt's;
3. Debian's python3-libvirt on libvirt's own test driver (libvirt_side.py under
   /usr/bin/python3).

The workloads are ops.py and storage_ops.py. Goals (issue 13): compat at most
1.2x virtcore's own API, and below libvirt-python. Each side is measured ROUNDS times,
interleaved, keeping the best. Then event latency (events_side.py): a domain
operation until its lifecycle callback ran on the default event loop's thread,
through virt-libvirt and through python3-libvirt.

Usage: python bench/bench_compat.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ops import measure  # noqa: E402
from storage_ops import measure_storage  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"
#: compat / virtcore at most this (issue 13).
COMPAT_TARGET = 1.2
#: Rounds of both sides, taking turns; each operation keeps its best.
ROUNDS = 3


def compat_installed() -> bool:
    """Whether this interpreter's ``libvirt`` is virt-libvirt's (not libvirt-python's)."""
    spec = importlib.util.find_spec("virt_libvirt")
    return spec is not None and importlib.util.find_spec("libvirt") is not None


def debian_side(quick: bool, storage: bool) -> dict[str, float] | None:
    """Debian's python3-libvirt on libvirt's test driver; None when it is not there."""
    if not os.path.exists(SYSTEM_PYTHON):
        return None
    args = [SYSTEM_PYTHON, str(HERE / "libvirt_side.py")]
    args += ["--quick"] if quick else []
    args += ["--storage"] if storage else []
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env, cwd="/")
    if out.returncode != 0:
        return None
    return {k: float(v) for k, v in json.loads(out.stdout).items()}


def reset() -> None:
    import virt_test

    virt_test.reset_default_node()


def run(quick: bool) -> dict[str, tuple[float, float, float | None]]:
    """``{operation: (virtcore µs, compat µs, libvirt-python µs or None)}``."""
    import libvirt_side
    from bench_storage import VirtcoreStorage
    from run import VirtcoreAPI

    def ours() -> dict[str, float]:
        reset()
        return measure(VirtcoreAPI(), quick) | measure_storage(VirtcoreStorage(), quick)

    def compat() -> dict[str, float]:
        reset()
        return measure(libvirt_side.LibvirtAPI(), quick) | measure_storage(
            libvirt_side.LibvirtStorage(), quick
        )

    mine, via = ours(), compat()
    for _ in range(ROUNDS - 1):  # taking turns, so a busy machine weighs on both sides alike
        mine2, via2 = ours(), compat()
        mine = {k: min(v, mine2[k]) for k, v in mine.items()}
        via = {k: min(v, via2[k]) for k, v in via.items()}
    core, storage = debian_side(quick, False), debian_side(quick, True)
    theirs = (core or {}) | (storage or {})
    return {op: (mine[op], via[op], theirs.get(op)) for op in mine}


def events(quick: bool) -> dict[str, tuple[float, float | None]]:
    """Event latency (events_side.py) through virt-libvirt and through python3-libvirt:
    ``{measure: (virt-libvirt µs, python3-libvirt µs or None)}``, the best of two runs each."""
    args = [str(HERE / "events_side.py")] + (["--quick"] if quick else [])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def side(python: str) -> dict[str, float] | None:
        if not os.path.exists(python):
            return None
        out = subprocess.run([python, *args], capture_output=True, text=True, timeout=900, env=env, cwd="/")
        return json.loads(out.stdout) if out.returncode == 0 else None

    ours, theirs = side(sys.executable), side(SYSTEM_PYTHON)
    ours2, theirs2 = side(sys.executable), side(SYSTEM_PYTHON)
    assert ours is not None and ours2 is not None, "events_side.py failed under virt-libvirt"
    best = {k: min(v, ours2[k]) for k, v in ours.items()}
    if theirs is not None and theirs2 is not None:
        return {k: (v, min(theirs[k], theirs2[k])) for k, v in best.items()}
    return {k: (v, None) for k, v in best.items()}


def print_events(rows: dict[str, tuple[float, float | None]]) -> None:
    print()
    print("event latency on test:///default (default event loop in a thread; median µs)")
    width = max(len(k) for k in rows) + 2
    print(f"{'measure':<{width}}{'libvirt.* µs':>14}{'python3-libvirt µs':>20}{'ratio':>8}")
    for k, (ours, theirs) in rows.items():
        th = f"{theirs:>20.2f}" if theirs else f"{'-':>20}"
        ratio = f"{ours / theirs:>8.2f}" if theirs else f"{'-':>8}"
        print(f"{k:<{width}}{ours:>14.2f}{th}{ratio}")


def print_table(rows: dict[str, tuple[float, float, float | None]]) -> None:
    width = max(len(op) for op in rows) + 2
    print(f"{'operation':<{width}}{'virtcore µs':>13}{'libvirt.* µs':>14}{'python3-libvirt µs':>20}"
          f"{'compat/virtcore':>17}{'compat/libvirt':>16}")  # fmt: skip
    print("-" * (width + 80))
    for op, (mine, via, theirs) in rows.items():
        own = via / mine
        lv = f"{via / theirs:>16.2f}" if theirs else f"{'-':>16}"
        th = f"{theirs:>20.2f}" if theirs else f"{'-':>20}"
        print(f"{op:<{width}}{mine:>13.2f}{via:>14.2f}{th}{own:>17.2f}{lv}")
    print(f"goals: compat/virtcore at most {COMPAT_TARGET:.2f}; compat/libvirt below 1.00")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    if not compat_installed():
        print("virt-libvirt is not installed in this environment: pip install -e plugins/virt-libvirt")
        return
    print_table(run(args.quick))
    print_events(events(args.quick))


if __name__ == "__main__":
    main()
