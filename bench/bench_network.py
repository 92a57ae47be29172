"""Network start/stop: virtcore's host network driver against bare ``ip`` + ``nft`` + ``dnsmasq``.

Both sides make the same NAT network (a bridge with an address, an nftables table
with forward and masquerade chains, a dnsmasq serving DHCP and DNS on it) and remove
it again, round by round, interleaved, inside a network namespace the bench makes
(nothing touches the host's networking). The bare side runs the commands a shell
script would (``ip link add``, ``ip addr add``, ``ip link set up``, ``nft -f -``,
``dnsmasq --conf-file``; then ``kill``, ``nft delete table``, ``ip link del``) with
the same dnsmasq configuration; virtcore's side is ``net.start()`` / ``net.destroy()``
on ``network:///embed?root=TMP``, which also checks the routing table, turns on STP,
records what it makes before making it and writes its files atomically.
libvirt's network driver needs libvirtd, which is not installed here, so it is not
a column.

Needs root, iproute2, nftables and dnsmasq-base. Usage: python bench/bench_network.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import virtcore
from virtcore.testing.netns import NetNamespace, netns_missing

XML = """<network><name>bench</name><forward mode='nat'/><bridge name='vcbench0'/>
<ip address='10.123.0.1' prefix='24'><dhcp><range start='10.123.0.10' end='10.123.0.200'/></dhcp></ip>
</network>"""

BARE_RULES = """table inet bare_bench {
  chain forward { type filter hook forward priority 0; policy accept;
    iifname "vcbare0" oifname "vcbare0" accept
    iifname "vcbare0" ip saddr 10.124.0.0/24 accept
    oifname "vcbare0" ip daddr 10.124.0.0/24 ct state established,related accept
    iifname "vcbare0" reject
    oifname "vcbare0" reject
  }
  chain postrouting { type nat hook postrouting priority 100; policy accept;
    ip saddr 10.124.0.0/24 ip daddr 224.0.0.0/24 return
    ip saddr 10.124.0.0/24 ip daddr 255.255.255.255 return
    ip saddr 10.124.0.0/24 ip daddr != 10.124.0.0/24 masquerade
  }
}
"""


def _run(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True)


def bare_start(d: Path) -> None:
    """What a shell script does to bring the same network up."""
    _run("ip", "link", "add", "name", "vcbare0", "type", "bridge")
    _run("ip", "addr", "add", "10.124.0.1/24", "dev", "vcbare0")
    _run("ip", "link", "set", "dev", "vcbare0", "up")
    _run("nft", "-f", "-", stdin=BARE_RULES)
    _run("dnsmasq", f"--conf-file={d / 'bare.conf'}")
    while not (d / "bare.pid").exists() or not (d / "bare.pid").read_text().strip():
        time.sleep(0.001)


def bare_stop(d: Path) -> None:
    """And down again."""
    pid = int((d / "bare.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    while os.path.exists(f"/proc/{pid}") and b"dnsmasq" in Path(f"/proc/{pid}/cmdline").read_bytes():
        time.sleep(0.001)
    (d / "bare.pid").unlink(missing_ok=True)  # dnsmasq removes it as it exits
    _run("nft", "delete", "table", "inet", "bare_bench")
    _run("ip", "link", "del", "dev", "vcbare0")


def bare_conf(d: Path) -> None:
    """The bare side's dnsmasq configuration: what the driver writes, for its own bridge and files."""
    from virt_network.dnsmasq import dnsmasq_files

    from virtcore.xml import parse_network

    net = parse_network(XML.replace("vcbench0", "vcbare0").replace("10.123.", "10.124."))
    files = dnsmasq_files(
        net, str(d), stem="bare", pidfile=str(d / "bare.pid"), leasefile=str(d / "bare.leases")
    )
    (d / "bare.conf").write_text(files.conf + "user=root\n")
    (d / "bare.hostsfile").write_text(files.hostsfile)
    (d / "bare.addnhosts").write_text(files.addnhosts)


def rounds(n: int) -> dict[str, list[float]]:
    """``n`` interleaved rounds of both sides; seconds per start and stop."""
    times: dict[str, list[float]] = {
        k: [] for k in ("bare start", "bare stop", "virtcore start", "virtcore stop")
    }
    with tempfile.TemporaryDirectory(prefix="bench-network-") as tmp:
        d = Path(tmp)
        bare_conf(d)
        root = d / "root"
        root.mkdir()
        with virtcore.open(f"network:///embed?root={root}") as conn:
            net = conn.define_network(XML)
            for _ in range(n):
                for side, start, stop in (
                    ("bare", lambda: bare_start(d), lambda: bare_stop(d)),
                    ("virtcore", net.start, net.destroy),
                ):
                    t0 = time.perf_counter()
                    start()
                    t1 = time.perf_counter()
                    stop()
                    t2 = time.perf_counter()
                    times[f"{side} start"].append(t1 - t0)
                    times[f"{side} stop"].append(t2 - t1)
            net.undefine()
    return times


def main() -> None:
    """Print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = ap.parse_args()
    n = 3 if args.quick else 15
    print(f"-- network start/stop (nat, DHCP): virtcore vs bare ip+nft+dnsmasq, median of {n} rounds, "
          "inside a network namespace --")  # fmt: skip
    missing = netns_missing()
    if missing is not None:
        print(f"(skipped: {missing})")
        return
    try:
        import virt_network  # noqa: F401
    except ImportError:
        print("(skipped: virt-network is not installed)")
        return
    ns = NetNamespace()
    try:
        with ns.entered():
            _run("ip", "link", "set", "dev", "lo", "up")
            times = rounds(n)
    finally:
        ns.close()
    print(f"{'operation':<10}{'bare ms':>10}{'virtcore ms':>13}{'ratio':>8}")
    print("-" * 41)
    for op in ("start", "stop"):
        b, o = statistics.median(times[f"bare {op}"]), statistics.median(times[f"virtcore {op}"])
        print(f"{op:<10}{b * 1e3:>10.1f}{o * 1e3:>13.1f}{o / b:>8.2f}")
    print("ratio = virtcore / bare: below 1.00 is faster")


if __name__ == "__main__":
    sys.exit(main())
