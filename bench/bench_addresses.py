"""``wait_for_addresses`` latency: from the guest's DHCP lease to virtcore's answer.

Inside a network namespace the bench makes for itself (nothing outside it is
touched), a NAT network of virt-network (bridge, dnsmasq, nftables) and the
TCG test guest of virt-qemu in ``vc.mode=net`` (busybox ``udhcpc``). Each
round starts the guest and calls ``wait_for_addresses`` at once; a watcher
thread polls dnsmasq's lease file every millisecond and notes when the
guest's lease appears there (the DHCP ACK). Per round:

* ``lease -> answer``: from the lease in dnsmasq's file to ``wait_for_addresses``
  returning it: what virtcore adds (its polling interval, the lease read);
* ``start -> answer``: from ``dom.start()`` returning to the answer (boot and DHCP
  in the guest dominate it);
* ``interface_addresses``: one ``lease`` call and one ``arp`` call on the running guest.

Needs root, QEMU, the test guest's kernel and busybox, dnsmasq and nft.

Usage: python bench/bench_addresses.py [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import virtcore
from virtcore.testing.netns import NetNamespace, netns_missing

NAT = (
    "<network><name>bench</name><forward mode='nat'/><bridge name='vcbrb0'/>"
    "<ip address='192.168.151.1' prefix='24'><dhcp><range start='192.168.151.20' end='192.168.151.90'/>"
    "</dhcp></ip></network>"
)
#: Each round's guest has a MAC of its own: dnsmasq keeps a stopped guest's lease until it
#: expires, and the lease source reports it (as libvirt's does), so a reused MAC would be
#: answered at once from the previous round's lease.
NIC = (
    "<interface type='network'><mac address='{mac}'/><source network='bench'/>"
    "<model type='virtio'/></interface>"
)


def watch_lease(root: Path, mac: str, stop: threading.Event, seen: list[float]) -> None:
    """Note when ``mac`` first shows in a dnsmasq lease file under ``root`` (1 ms polling)."""
    leasefiles: list[Path] = []
    while not stop.is_set():
        if not leasefiles:  # dnsmasq's files are under the network driver's run directory
            try:
                leasefiles = list((root / "network").rglob("*.leases"))
            except OSError:  # a directory changed under the walk: look again
                pass
        for leasefile in leasefiles:
            try:
                if mac in leasefile.read_text():
                    seen.append(time.monotonic())
                    return
            except OSError:
                pass
        time.sleep(0.001)


def one_round(conn: virtcore.Connection, xml: str, root: Path, mac: str) -> dict[str, float]:
    """Start the guest with ``mac``, wait for its address, time it against the lease file; stop it."""
    dom = conn.define_domain(xml.replace("{mac}", mac))
    stop, seen = threading.Event(), []  # type: ignore[var-annotated]
    watcher = threading.Thread(target=watch_lease, args=(root, mac, stop, seen), daemon=True)
    watcher.start()
    try:
        dom.start()
        started = time.monotonic()
        found = dom.wait_for_addresses(timeout=300, source="lease")
        answered = time.monotonic()
        assert found and found[0].hwaddr == mac, found
        t0 = time.perf_counter()
        dom.interface_addresses("lease")
        lease_call = time.perf_counter() - t0
        t0 = time.perf_counter()
        dom.interface_addresses("arp")
        arp_call = time.perf_counter() - t0
    finally:
        stop.set()
        watcher.join()
        if dom.is_active():
            dom.destroy()
        dom.undefine()
    if not seen:
        raise SystemExit("the watcher never saw the lease in dnsmasq's file")
    return {
        "lease -> answer": answered - seen[0],
        "start -> answer": answered - started,
        "interface_addresses lease": lease_call,
        "interface_addresses arp": arp_call,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the rounds in a namespace of the bench's own and print the table."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="two rounds")
    args = p.parse_args(argv)
    rounds = 2 if args.quick else args.rounds
    why = netns_missing()
    if why is not None:
        print(f"bench_addresses: skipped ({why})")
        return 0
    from virt_qemu import testguest

    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel)
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="vc-bench-addr-") as tmp:
        root = Path(tmp)
        xml = testguest.guest_domain_xml(
            "bench-dhcp", kernel, initrd, mode="net", extra_devices=NIC, serial_log=root / "serial.log"
        )
        ns = NetNamespace()
        try:
            with ns.entered():
                subprocess.run(["ip", "link", "set", "dev", "lo", "up"], check=True)
                with virtcore.open(f"qemu:///embed?root={root}") as conn:
                    net = conn.define_network(NAT)
                    net.start()
                    try:
                        for n in range(rounds):
                            results.append(one_round(conn, xml, root, f"52:54:00:4e:01:{n:02x}"))
                            print(f"round {n + 1}/{rounds}: " + ", ".join(
                                f"{k} {v * 1000:.1f} ms" for k, v in results[-1].items()
                            ), file=sys.stderr)  # fmt: skip
                    finally:
                        net.destroy()
        finally:
            ns.close()
    print(f"wait_for_addresses on a NAT network, TCG guest, {rounds} rounds (ms)")
    print(f"{'':28}{'median':>10}{'min':>10}{'max':>10}")
    for key in results[0]:
        values = [r[key] * 1000 for r in results]
        print(f"{key:28}{statistics.median(values):10.1f}{min(values):10.1f}{max(values):10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
