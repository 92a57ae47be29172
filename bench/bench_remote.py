"""The remote driver: virtcore against python3-libvirt over the same libvirtd socket, and 64 hosts at once.

Side by side: a real libvirtd (Debian's, contained in a temporary directory by
virt_remote.daemons) serves its test driver; virtcore's remote driver (this
process) and python3-libvirt's own remote driver (Debian's /usr/bin/python3)
run the same workload (bench/remote_ops.py) against the same socket, taking
turns round by round; the table gives the best µs per operation of each side
and the ratio virtcore / libvirt (below 1 is faster). ``list 1000`` lists the
1000 domains defined there for it; ``event latency`` is the median time from
calling suspend (or resume) to the lifecycle event's callback.

Many hosts: ``--hosts`` (64) libvirtds, each on its own socket with 16 domains;
one process lists every host's domains and reads each one's info, every host
at once, through the asyncio API (``virt_remote.RemoteClient``): the time per
host (median and slowest, from its first call to its last reply), the total
wall time, and the peak memory (Python's allocations during the run, and the
process's peak RSS).

Needs root (libvirtd). Usage: python bench/bench_remote.py [--quick] [--hosts N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from remote_ops import DOMAIN_XML, measure_remote  # noqa: E402

import virtcore  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"


class VirtcoreRemote:
    """The workload's adapter over virtcore's public API, through the remote driver."""

    def __init__(self, uri: str) -> None:
        self.conn = virtcore.open(uri)

    def lookup(self, name: str) -> virtcore.Domain:
        return self.conn.lookup_domain(name)

    def info(self, dom: virtcore.Domain) -> Any:
        return dom.info()

    def xml_desc(self, dom: virtcore.Domain) -> str:
        return dom.xml_desc()

    def define(self, xml: str) -> virtcore.Domain:
        return self.conn.define_domain(xml)

    def undefine(self, dom: virtcore.Domain) -> None:
        dom.undefine()

    def list_all(self) -> list[virtcore.Domain]:
        return self.conn.list_domains()

    def suspend(self, dom: virtcore.Domain) -> None:
        dom.suspend()

    def resume(self, dom: virtcore.Domain) -> None:
        dom.resume()

    def on_lifecycle(self, callback: Any) -> None:
        self.conn.on_domain_event(lambda dom, event, detail: callback(int(event)))


async def _define_many(uri: str, names: list[str]) -> None:
    """Define ``names`` on the daemon, all calls in flight at once (setup, not measured)."""
    from virt_remote import RemoteClient
    from virt_remote.options import parse_options

    from virtcore.uri import URI

    client = await RemoteClient.open(parse_options(URI.parse(uri), False), keepalive=(0, 0))
    try:
        await asyncio.gather(
            *(
                client.call("DOMAIN_DEFINE_XML", {"xml": DOMAIN_XML.format(name=n, uuid=uuid.uuid4())})
                for n in names
            )
        )
    finally:
        await client.aclose()


def side_by_side(daemon: Any, quick: bool) -> None:
    uri = daemon.uri()
    holder = virtcore.open(uri)  # keeps test:///default (and the 1000 domains) alive between the sides
    try:
        asyncio.run(_define_many(uri, [f"bench-{i:04d}" for i in range(999)]))
        assert len(holder.list_domains()) == 1000
        ours: dict[str, list[float]] = {}
        theirs: dict[str, list[float]] = {}
        libvirt_ok = Path(SYSTEM_PYTHON).exists()
        for _ in range(2 if quick else 3):
            api = VirtcoreRemote(uri)
            for k, v in measure_remote(api, quick).items():
                ours.setdefault(k, []).append(v)
            api.conn.close()
            if libvirt_ok:
                run = subprocess.run(
                    [
                        SYSTEM_PYTHON,
                        str(HERE / "libvirt_remote_side.py"),
                        uri,
                        *(["--quick"] if quick else []),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                if run.returncode == 3:
                    libvirt_ok = False
                    continue
                run.check_returncode()
                for k, v in json.loads(run.stdout).items():
                    theirs.setdefault(k, []).append(float(v))
    finally:
        holder.close()
    print(f"{'operation (µs, best round)':28} {'virtcore':>10} {'libvirt':>10} {'ratio':>7}")
    for op, values in ours.items():
        mine = min(values)
        other = min(theirs[op]) if op in theirs else None
        ratio = f"{mine / other:6.2f}x" if other else "     -"
        print(f"{op:28} {mine:10.1f} {other if other is not None else float('nan'):10.1f} {ratio:>7}")
    if not theirs:
        print("(python3-libvirt is not importable by /usr/bin/python3: no libvirt column)")


async def _one_host(uri: str, names: list[str]) -> tuple[Any, float]:
    """Open a host, define its extra domains (setup), and return the client ready for the measured part."""
    from virt_remote import RemoteClient
    from virt_remote.options import parse_options

    from virtcore.uri import URI

    client = await RemoteClient.open(parse_options(URI.parse(uri), False))
    for name in names:
        await client.call("DOMAIN_DEFINE_XML", {"xml": DOMAIN_XML.format(name=name, uuid=uuid.uuid4())})
    return client, 0.0


async def _inventory(client: Any) -> tuple[int, float]:
    """list_domains + info of every domain of one host; (domains, seconds)."""
    start = time.perf_counter()
    listed = await client.call("CONNECT_LIST_ALL_DOMAINS", {"need_results": 1, "flags": 0})
    infos = await asyncio.gather(*(client.call("DOMAIN_GET_INFO", {"dom": d}) for d in listed["domains"]))
    return len(infos), time.perf_counter() - start


async def _fleet(uris: list[str], per_host: int) -> None:
    opened = await asyncio.gather(
        *(_one_host(u, [f"fleet-{i:02d}" for i in range(per_host - 1)]) for u in uris)
    )
    clients = [c for c, _ in opened]
    try:
        tracemalloc.start()
        start = time.perf_counter()
        results = await asyncio.gather(*(_inventory(c) for c in clients))
        wall = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    per_host = sorted(t for _, t in results)
    domains = sum(n for n, _ in results)
    print(
        f"{len(uris)} hosts, {domains} domains: list_domains + info of each, "
        "all hosts at once (asyncio API)\n"
        f"  wall {wall * 1e3:.1f} ms; per host: median {statistics.median(per_host) * 1e3:.1f} ms, "
        f"slowest {per_host[-1] * 1e3:.1f} ms\n"
        f"  peak Python allocations during the run {peak / 1e6:.2f} MB; "
        f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB"
    )


def many_hosts(root: Path, hosts: int, per_host: int) -> None:
    from virt_remote.daemons import Libvirtd

    daemons = [Libvirtd(root / f"host{i:02d}") for i in range(hosts)]
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(Libvirtd.start, daemons))
        asyncio.run(_fleet([d.uri() for d in daemons], per_host))
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(Libvirtd.stop, daemons))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations and 8 hosts")
    parser.add_argument(
        "--hosts", type=int, default=None, help="simulated hosts (default 64; 8 with --quick)"
    )
    args = parser.parse_args()
    from virt_remote.daemons import Libvirtd, libvirtd_missing

    why = libvirtd_missing()
    if why is not None:
        print(f"(skipped: {why})")
        return
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        root = Path(tmp)
        with Libvirtd(root / "side-by-side") as daemon:
            side_by_side(daemon, args.quick)
        print()
        many_hosts(root, args.hosts or (8 if args.quick else 64), 16)


if __name__ == "__main__":
    main()
