"""``nox -s bench``: virtcore's test driver side by side with libvirt's, then the other benches.

Both sides run the same workload (bench/ops.py) in this one run; the table
gives microseconds per operation and the ratio virtcore / libvirt (below 1
is faster). libvirt's side runs under Debian's /usr/bin/python3 with
python3-libvirt when that is importable; otherwise its column shows the
figures measured for the issue on these machines, marked "ref".

The cold-process bench (fresh interpreters, taking turns) gives wall and
CPU time, and also runs virtcore under libvirt's interpreter: the two
sides' interpreters are different builds of Python (a virtualenv's need not
be Debian's optimised one), and that row compares the code alone. A
development checkout is installed editable; the row "cold: installed
(wheels)" runs the same distributions built as wheels and installed into a
fresh virtualenv of the same interpreter (in the bench's temporary
directory), as a user's ``pip install`` leaves them, next to the editable
figure.

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


def editable_sources() -> list[str]:
    """The source directories of the distributions installed editable in this environment (PEP 660)."""
    import importlib.metadata
    from urllib.parse import unquote, urlparse

    found = []
    for dist in importlib.metadata.distributions():
        text = dist.read_text("direct_url.json")
        if not text:
            continue
        url = json.loads(text)
        if url.get("dir_info", {}).get("editable") and url.get("url", "").startswith("file://"):
            found.append(unquote(urlparse(url["url"]).path))
    return sorted(set(found))


def wheel_install(tmp: Path) -> str | None:
    """A fresh virtualenv under ``tmp`` holding this environment's editable distributions as wheels.

    The wheels are built with this environment's build backend (no build
    isolation: nothing is downloaded for the build), then installed by pip
    with their dependencies as a user would. Returns the new interpreter, or
    ``None`` (saying why) when that cannot be done here.
    """
    sources = editable_sources()
    if not sources:
        print("(no editable distributions in this environment: no 'installed (wheels)' row)")
        return None
    wheels, venv = tmp / "wheels", tmp / "venv"
    steps = [
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            "-w",
            str(wheels),
            *sources,
        ],
        [getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            print(f"(could not build the wheel install: {' '.join(step[:4])}: {done.stderr.strip()[-300:]})")
            return None
    python = str(venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", *map(str, sorted(wheels.glob("*.whl")))]
    done = subprocess.run(install, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        print(f"(could not install the wheels: {done.stderr.strip()[-300:]})")
        return None
    return python


#: Prints how an interpreter was built: a libpython shared library costs every call a PLT
#: indirection, so two builds of one Python version differ per instruction of the same code.
_BUILD_PROBE = (
    "import sys, sysconfig; "
    "shared = any('libpython' in line for line in open('/proc/self/maps')); "
    "pgo = '--enable-optimizations' in (sysconfig.get_config_var('CONFIG_ARGS') or ''); "
    "print(f\"Python {sys.version.split()[0]}, libpython {'shared' if shared else 'in the executable'}\""
    " + ('' if not pgo else ', --enable-optimizations'))"
)


def interpreter_build(python: str) -> str:
    """``python``'s version and how libpython is linked (see :data:`_BUILD_PROBE`)."""
    out = subprocess.run([python, "-c", _BUILD_PROBE], capture_output=True, text=True, timeout=60)
    return out.stdout.strip() or f"unknown ({out.stderr.strip()[-200:]})"


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


def print_profile(columns: dict[str, dict[str, float]], top: int = 16) -> None:
    """The packages that cost most to import, one column per side (ours, ours under libvirt's python...)."""
    print("\nimport profile of the cold process (self µs per top-level package, one run, -X importtime)")
    width = max(20, *(len(title) + 2 for title in columns))
    print(f"{'package':<22}" + "".join(f"{title:>{width}}" for title in columns))
    print("-" * (22 + width * len(columns)))
    names = sorted(set().union(*columns.values()), key=lambda n: -max(c.get(n, 0) for c in columns.values()))
    for name in names[:top]:
        print(f"{name:<22}" + "".join(f"{c.get(name, 0):>{width}.0f}" for c in columns.values()))
    print(f"{'(all imports)':<22}" + "".join(f"{sum(c.values()):>{width}.0f}" for c in columns.values()))


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
        installed = wheel_install(Path(tmp))
        if installed is not None:
            cases["cold: installed (wheels)"] = (installed, COLD_VIRTCORE, env)
            cases["cold: installed, bare python"] = (installed, "pass", env)
        if live:
            cases |= {
                "cold: libvirt's python": (SYSTEM_PYTHON, COLD_VIRTCORE, our_path_under(SYSTEM_PYTHON)),
                "libvirt cold process": (SYSTEM_PYTHON, COLD_LIBVIRT, env),
                "libvirt import only": (SYSTEM_PYTHON, "import libvirt", env),
                "libvirt bare python": (SYSTEM_PYTHON, "pass", env),
            }
        wall, cpu = cold_processes(cases, runs)
        counts = cold_instructions(cases) if instructions else {}
        profiles = {"virtcore (editable)": import_profile(sys.executable, COLD_VIRTCORE, env)}
        if installed is not None:
            profiles["virtcore (wheels)"] = import_profile(installed, COLD_VIRTCORE, env)
        if live:
            under = our_path_under(SYSTEM_PYTHON)
            profiles["virtcore, libvirt's py"] = import_profile(SYSTEM_PYTHON, COLD_VIRTCORE, under)
            profiles["libvirt"] = import_profile(SYSTEM_PYTHON, COLD_LIBVIRT, env)
    print(f"ours: {sys.executable} ({interpreter_build(sys.executable)}; installed editable)")
    if live:
        print(f"libvirt's: {SYSTEM_PYTHON} ({interpreter_build(SYSTEM_PYTHON)})")
        print("'cold: libvirt's python' runs ours under libvirt's interpreter too")
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
            "cold: installed (wheels)": measured.get("libvirt cold process"),
            "cold: import only": measured.get("libvirt import only"),
            "cold: bare python": measured.get("libvirt bare python"),
            "cold: installed, bare python": measured.get("libvirt bare python"),
        }
        if not live:
            theirs = {"cold process": LIBVIRT_REFERENCE["cold process"]} if measured is wall else {}
        print_table(ours, {k: v for k, v in theirs.items() if v is not None}, live, unit)
    print_profile(profiles)


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
