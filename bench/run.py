"""``nox -s bench``: virtcore's test driver side by side with libvirt's, then the other benches.

Both sides run the same workload (bench/ops.py) in this one run; the table
gives microseconds per operation and the ratio virtcore / libvirt (below 1
is faster). libvirt's side runs under Debian's /usr/bin/python3 with
python3-libvirt when that is importable; otherwise its column shows the
figures measured for the issue on these machines, marked "ref".

The cold-process bench (fresh interpreters, taking turns) gives wall and
CPU time, and also runs virtcore under libvirt's interpreter: the two
sides' interpreters are different builds of Python (a virtualenv's need not
be Debian's optimised one), and that row compares the code alone.

Usage: python bench/run.py [--quick] [--instructions]
       [--only core|cold|xml|qemu|xen|storage|network|addresses|serve|compat|remote]
(--only qemu runs bench_qemu.py and bench_qemu_snapshot.py)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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
#: ``virtcore -c test:///default list`` in a fresh process, its table sent to /dev/null.
COLD_CLI = (
    "import os, sys; sys.stdout = open(os.devnull, 'w'); from virtcore.cli import main; "
    "main(['-c', 'test:///default', 'list'])"
)
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


def _cold_env(**extra: str) -> dict[str, str]:
    """The environment of a measured fresh interpreter.

    Bytecode caching is left on (the warm-up writes the .pyc files), as a
    user's machine has it: Debian's python3-libvirt ships compiled, and an
    inherited PYTHONDONTWRITEBYTECODE would make only our side recompile
    every module on every run.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env.update(extra)
    return env


def cold_processes(
    cases: dict[str, tuple[str, str, dict[str, str]]], runs: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall time and median CPU time (user + system), in µs, of a fresh ``python -c code``
    per case, after one warm-up each.

    The cases take turns, run by run, so a busy machine weighs on all of
    them alike. CPU time is the steadier of the two on a shared machine: it
    leaves out the time spent waiting for a core.
    """
    for python, code, env in cases.values():
        subprocess.run([python, "-c", code], check=True, env=env, timeout=60)
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (python, code, env) in cases.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([python, "-c", code], check=True, env=env, timeout=60)
            wall[name].append((time.perf_counter() - start) * 1e6)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpu[name].append(used * 1e6)
    return (
        {name: statistics.median(t) for name, t in wall.items()},
        {name: statistics.median(t) for name, t in cpu.items()},
    )


def cold_instructions(cases: dict[str, tuple[str, str, dict[str, str]]]) -> dict[str, float]:
    """Millions of instructions one run of each case executes (valgrind's callgrind, user space).

    Unlike time, the count does not grow when other processes share the
    machine, so one run per case compares two versions of the code (or the
    two sides) to a fraction of a percent. Hash randomisation is off so
    that runs repeat. It is not time: page faults, system calls and cache
    misses are left out.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("(valgrind is not installed: no instruction counts)")
        return {}
    counts = {}
    for name, (python, code, env) in cases.items():
        out = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**env, "PYTHONHASHSEED": "0"},
            timeout=900,
        )
        found = re.search(r"Collected : (\d+)", out.stderr)
        if found is None:
            raise RuntimeError(f"no instruction count from valgrind for {name!r}: {out.stderr[-500:]}")
        counts[name] = int(found.group(1)) / 1e6
    return counts


def our_path_under(python: str) -> dict[str, str]:
    """The environment that runs our checkout, and the packages of this environment, under ``python``.

    ``PYTHONPATH`` gets every entry of our :data:`sys.path` that is not the
    interpreter's own standard library, so that the same code runs under
    the other interpreter, with its own discovery cache (keyed by
    interpreter). Comparing two builds of Python says little about virtcore:
    this case runs both sides on libvirt's.
    """
    stdlib = os.path.realpath(sys.base_prefix)
    ours = [
        p for p in sys.path if p and p != str(HERE) and not os.path.realpath(p).startswith(stdlib + os.sep)
    ]
    return _cold_env(PYTHONPATH=os.pathsep.join(ours))


def import_profile(python: str, code: str, env: dict[str, str]) -> dict[str, float]:
    """Self import time (µs) per top-level package of one ``python -X importtime -c code`` run."""
    out = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|")
        top = name.strip().split(".")[0]
        totals[top] = totals.get(top, 0.0) + float(self_us)
    return totals


def print_profile(ours: dict[str, float], theirs: dict[str, float] | None, top: int = 14) -> None:
    """The packages that cost most to import, ours beside libvirt's side."""
    print("\nimport profile of the cold process (self µs per top-level package, one run, -X importtime)")
    print(f"{'package':<22}{'virtcore side':>14}{'libvirt side':>14}")
    print("-" * 50)
    names = sorted(
        set(ours) | set(theirs or {}), key=lambda n: -max(ours.get(n, 0), (theirs or {}).get(n, 0))
    )
    for name in names[:top]:
        other = "-" if theirs is None else f"{theirs.get(name, 0):.0f}"
        print(f"{name:<22}{ours.get(name, 0):>14.0f}{other:>14}")
    other_total = "-" if theirs is None else f"{sum(theirs.values()):.0f}"
    print(f"{'(all imports)':<22}{sum(ours.values()):>14.0f}{other_total:>14}")


def cold_bench(quick: bool, instructions: bool = False) -> None:
    """A fresh process doing import + open + lookup + info, ours beside libvirt-python's."""
    print("== cold process: import + open + lookup + info (test:///default) ==")
    live = libvirt_available()
    runs = 5 if quick else 20
    env = _cold_env()
    with tempfile.TemporaryDirectory() as tmp:
        # $XDG_CACHE_HOME a plain file: no discovery cache can be read or
        # written, so every run discovers through stevedore.
        blocked = Path(tmp, "not-a-directory")
        blocked.write_text("")
        cases = {
            "cold process": (sys.executable, COLD_VIRTCORE, env),
            "cold: no discovery cache": (
                sys.executable,
                COLD_VIRTCORE,
                _cold_env(XDG_CACHE_HOME=str(blocked)),
            ),
            "cold: import only": (sys.executable, "import virtcore", env),
            "cold: cli list": (sys.executable, COLD_CLI, env),
            "cold: bare python": (sys.executable, "pass", env),
        }
        if live:
            cases |= {
                "cold: libvirt's python": (SYSTEM_PYTHON, COLD_VIRTCORE, our_path_under(SYSTEM_PYTHON)),
                "libvirt cold process": (SYSTEM_PYTHON, COLD_LIBVIRT, env),
                "libvirt import only": (SYSTEM_PYTHON, "import libvirt", env),
                "libvirt bare python": (SYSTEM_PYTHON, "pass", env),
            }
        wall, cpu = cold_processes(cases, runs)
        counts = cold_instructions(cases) if instructions else {}
    print(f"ours: {sys.executable} (Python {sys.version.split()[0]})")
    if live:
        print(f"libvirt's: {SYSTEM_PYTHON}; 'cold: libvirt's python' runs ours under it too")
    tables = [("µs", f"wall time, median of {runs} alternating runs", wall)]
    tables.append(("µs", f"CPU time (user + system), median of {runs} alternating runs", cpu))
    if counts:
        tables.append(("M instr", "instructions executed (valgrind), one run each", counts))
    for unit, title, measured in tables:
        print(f"\n{title}")
        ours = {k: v for k, v in measured.items() if not k.startswith("libvirt ")}
        theirs = {
            "cold process": measured.get("libvirt cold process"),
            "cold: libvirt's python": measured.get("libvirt cold process"),
            "cold: import only": measured.get("libvirt import only"),
            "cold: bare python": measured.get("libvirt bare python"),
        }
        if not live:
            theirs = {"cold process": LIBVIRT_REFERENCE["cold process"]} if measured is wall else {}
        print_table(ours, {k: v for k, v in theirs.items() if v is not None}, live, unit)
    profile_theirs = import_profile(SYSTEM_PYTHON, COLD_LIBVIRT, env) if live else None
    print_profile(import_profile(sys.executable, COLD_VIRTCORE, env), profile_theirs)


def print_table(ours: dict[str, float], theirs: dict[str, float], live: bool, unit: str = "µs") -> None:
    head = f"libvirt {unit}" if live else f"libvirt {unit} (ref)"
    width = max(18, *(len(op) + 2 for op in ours))
    print(f"{'operation':<{width}}{'virtcore ' + unit:>14}{head:>20}{'ratio':>9}")
    print("-" * (width + 43))
    for op, value in ours.items():
        other = theirs.get(op)
        if other is None:
            print(f"{op:<{width}}{value:>14.2f}{'-':>20}{'-':>9}")
        else:
            print(f"{op:<{width}}{value:>14.2f}{other:>20.2f}{value / other:>9.2f}")
    print("ratio = virtcore / libvirt: below 1.00 is faster than libvirt")


def core_bench(quick: bool) -> None:
    print("== virtcore test driver vs libvirt's test driver (test:///default) ==")
    live = libvirt_available()
    # Interleave: ours, libvirt's, ours again; keep each side's best.
    ours = measure(VirtcoreAPI(), quick)
    theirs = run_libvirt_side(quick) if live else dict(LIBVIRT_REFERENCE)
    virtcore_reset()
    again = measure(VirtcoreAPI(), quick)
    ours = {k: min(v, again[k]) for k, v in ours.items()}
    theirs.pop("cold process", None)  # the cold process has its own table (cold_bench)
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
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="cold and storage benches: also count instructions (valgrind; steady on a busy machine; slow)",
    )
    parser.add_argument(
        "--only",
        choices=[
            "core",
            "cold",
            "xml",
            "qemu",
            "xen",
            "storage",
            "network",
            "addresses",
            "serve",
            "compat",
            "remote",
        ],
        help="run one bench",
    )
    args = parser.parse_args()
    if args.only in (None, "core"):
        core_bench(args.quick)
    if args.only in (None, "cold"):
        cold_bench(args.quick, args.instructions)
    for name in (
        "xml",
        "qemu",
        "qemu_snapshot",
        "xen",
        "storage",
        "network",
        "addresses",
        "serve",
        "compat",
        "remote",
    ):
        if args.only not in (None, name.split("_")[0]) or not (HERE / f"bench_{name}.py").exists():
            continue
        print(f"\n== bench_{name} ==", flush=True)
        module = importlib.import_module(f"bench_{name}")
        argv, sys.argv = sys.argv, [f"bench_{name}.py"] + (["--quick"] if args.quick else [])
        if args.instructions and name == "storage":
            sys.argv.append("--instructions")
        try:
            module.main()
        finally:
            sys.argv = argv


if __name__ == "__main__":
    main()
