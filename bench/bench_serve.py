"""``virtcore serve`` answering libvirt's clients, side by side with libvirtd's test driver.

Two daemons run in this one bench, each on its own unix socket in a temporary
directory: ``virtcore serve --uri test:///default`` and Debian's ``libvirtd``
started with its own config (``unix_sock_dir`` in the temporary directory,
AUTH_NONE) as an unprivileged user, so that it touches nothing of the host
(its test driver is what answers ``test:///default``; the drivers it loads
for the host run in session mode). Both are driven by the same clients:

- Debian's ``virsh``, one process per command, taking turns between the two
  daemons: the wall time of each command (process start included);
- Debian's python3-libvirt through its C remote driver: microseconds per call
  in a loop, the best of several rounds (lookup, info, xml_desc, list, define+undefine, suspend+resume).

Ratios are virtcore / libvirtd: below 1.00, virtcore's server is faster.

Usage: python bench/bench_serve.py [--quick]   (needs root for the unprivileged libvirtd)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
LIBVIRTD = "/usr/sbin/libvirtd"
NOBODY = 65534
GUEST = "<domain type='test'><name>{name}</name><memory>65536</memory><os><type>hvm</type></os></domain>"

#: virsh commands, each run as its own process against each daemon (the define is its own
#: process's: ``GUEST`` written to a file by :func:`virsh_rounds`).
VIRSH_COMMANDS: list[tuple[str, list[str]]] = [
    ("list --all", ["list", "--all"]),
    ("dominfo", ["dominfo", "test"]),
    ("dumpxml", ["dumpxml", "test"]),
    ("domstate", ["domstate", "test"]),
    # libvirtd's test:///default lives as long as a connection is open: a change and its undoing
    # are one virsh process (commands separated by ';')
    ("suspend; resume", ["suspend test; resume test"]),
    ("pool-list", ["pool-list", "--all"]),
    ("net-list", ["net-list", "--all"]),
]

#: python3-libvirt's calls, looped; prints {name: µs per call} as JSON.
PY_LOOP = r"""
import json, sys, time, libvirt
uri, n, xml = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = libvirt.open(uri)
dom = conn.lookupByName("test")
out = {}
def loop(name, fn, count=n):
    fn()
    t = time.perf_counter()
    for i in range(count):
        fn()
    out[name] = (time.perf_counter() - t) / count * 1e6
loop("lookup", lambda: conn.lookupByName("test"))
loop("info", dom.info)
loop("xml_desc", lambda: dom.XMLDesc(0))
loop("list all", conn.listAllDomains)
def define_undefine():
    conn.defineXML(xml).undefine()
loop("define+undefine", define_undefine, max(n // 4, 1))
def suspend_resume():
    dom.suspend(); dom.resume()
loop("suspend+resume", suspend_resume, max(n // 4, 1))
conn.close()
print(json.dumps(out))
"""


def missing() -> str | None:
    """Why the bench cannot run here, or None."""
    if shutil.which("virsh") is None:
        return "virsh is not installed (libvirt-clients)"
    if not os.path.exists(LIBVIRTD):
        return "libvirtd is not installed (libvirt-daemon)"
    if os.geteuid() != 0:
        return "starting libvirtd as an unprivileged user needs root"
    return None


def _wait_for(path: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"daemon did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def libvirtd(tmp: Path) -> Iterator[Path]:
    """Debian's libvirtd as ``nobody``, its socket and state in ``tmp``; yields the socket."""
    root = tmp / "libvirtd"
    run, home = root / "run", root / "home"
    run.mkdir(parents=True)
    home.mkdir()
    conf = root / "libvirtd.conf"
    conf.write_text(
        f'unix_sock_dir = "{run}"\nunix_sock_rw_perms = "0777"\nauth_unix_rw = "none"\n'
        'auth_unix_ro = "none"\nlisten_tls = 0\nlisten_tcp = 0\n'
    )
    for p in (root, run, home, conf):
        os.chown(p, NOBODY, NOBODY)
    env = {
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(run),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    }
    log = root / "log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", LIBVIRTD,
             "--config", str(conf), "--pid-file", str(root / "pid")],
            env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=root,
        )  # fmt: skip
    try:
        _wait_for(run / "libvirt-sock", proc, log)
        yield run / "libvirt-sock"
    finally:
        _stop(proc)


@contextmanager
def virtcore_serve(tmp: Path) -> Iterator[Path]:
    """``virtcore serve --uri test:///default`` on a socket in ``tmp``; yields the socket."""
    sock, log = tmp / "virtcore.sock", tmp / "virtcore.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "virtcore",
                "serve",
                "--uri",
                "test:///default",
                "--listen",
                f"unix:{sock}",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(sock, proc, log)
        yield sock
    finally:
        _stop(proc)


def _virsh(sock: Path, argv: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(
        ["virsh", "-q", "-c", f"test+unix:///default?socket={sock}", *argv], check=True, capture_output=True
    )
    return time.perf_counter() - t


def virsh_rounds(socks: dict[str, Path], rounds: int, tmp: Path) -> dict[str, dict[str, float]]:
    """Median seconds of each virsh command against each daemon, taking turns."""
    xml = tmp / "guest.xml"
    xml.write_text(GUEST.format(name="virshguest"))
    commands = [*VIRSH_COMMANDS, ("define; undefine", [f"define {xml}; undefine virshguest"])]
    times: dict[str, dict[str, list[float]]] = {side: {c: [] for c, _ in commands} for side in socks}
    for _ in range(rounds):
        for name, argv in commands:
            for side, sock in socks.items():
                times[side][name].append(_virsh(sock, argv))
    return {side: {c: statistics.median(v) for c, v in t.items()} for side, t in times.items()}


#: Rounds of the python3-libvirt loops, taking turns: the best round counts (on a machine
#: shared with other work, the least disturbed one).
REPEATS = 7


def python_loops(socks: dict[str, Path], n: int) -> dict[str, dict[str, float]] | str:
    """µs per call of python3-libvirt against each daemon (best of :data:`REPEATS`, taking turns)."""
    if subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True).returncode != 0:
        return "python3-libvirt is not importable by /usr/bin/python3"
    best: dict[str, dict[str, float]] = {}
    for i in range(REPEATS):
        for side, sock in socks.items():
            out = subprocess.run(
                [SYSTEM_PYTHON, "-c", PY_LOOP, f"test+unix:///default?socket={sock}", str(n),
                 GUEST.format(name=f"bench{i}")],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            got = json.loads(out.stdout)
            best[side] = {k: min(v, best.get(side, {}).get(k, v)) for k, v in got.items()}
    return best


def _table(title: str, rows: dict[str, dict[str, float]], scale: float, unit: str) -> None:
    print(f"-- {title} --")
    print(f"{'operation':<18}{'libvirtd ' + unit:>16}{'virtcore ' + unit:>16}{'ratio':>8}")
    print("-" * 58)
    for op in rows["libvirtd"]:
        theirs, ours = rows["libvirtd"][op] * scale, rows["virtcore"][op] * scale
        print(f"{op:<18}{theirs:>16.2f}{ours:>16.2f}{ours / theirs:>8.2f}")
    print("ratio = virtcore serve / libvirtd: below 1.00 is faster")


def main() -> None:
    """Print both tables."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = ap.parse_args()
    why = missing()
    if why is not None:
        print(f"(bench_serve skipped: {why})")
        return
    rounds, n = (3, 50) if args.quick else (15, 300)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        os.chmod(tmp, 0o755)  # the unprivileged libvirtd reaches its directory through it
        with libvirtd(Path(tmp)) as theirs, virtcore_serve(Path(tmp)) as ours:
            socks = {"libvirtd": theirs, "virtcore": ours}
            _table(
                f"virsh, one process per command, median of {rounds}",
                virsh_rounds(socks, rounds, Path(tmp)),
                1e3,
                "ms",
            )
            loops = python_loops(socks, n)
            if isinstance(loops, str):
                print(f"(python3-libvirt loops skipped: {loops})")
            else:
                _table(
                    f"python3-libvirt over the socket, µs per call, best of {REPEATS} x {n}", loops, 1.0, "µs"
                )


if __name__ == "__main__":
    main()
