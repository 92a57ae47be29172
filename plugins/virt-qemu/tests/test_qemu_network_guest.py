"""A real guest on a real NAT network, inside a network namespace the test makes for itself.

The host network driver (virt-network, the connection's secondary driver)
makes the bridge, dnsmasq and nftables rules; virt-qemu puts the guest's TAP
on that bridge; the test guest (TCG, busybox ``udhcpc`` in ``vc.mode=net``)
asks for a lease. ``wait_for_addresses`` must return that lease from the
``lease`` source (the core's, from the network's leases) and from ``arp``
(QEMU's namespace's neighbour table), and the guest must answer a ping from
the bridge's address. Everything that spawns a process or makes a device
runs in the namespace (:meth:`NetNamespace.entered`), and the host's own
devices, nftables ruleset and forwarding switch are compared before and after.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from virt_qemu import testguest

import virtcore
import virtcore.xml
from virtcore.errors import OperationInvalidError
from virtcore.network import InterfaceAddress, IPAddrType
from virtcore.testing.netns import NetNamespace, netns_missing

pytestmark = pytest.mark.timeout(600)

BRIDGE, GATEWAY = "vcbr42", "192.168.150.1"
SUBNET = ipaddress.ip_network("192.168.150.0/24")
NAT = (
    f"<network><name>guests</name><forward mode='nat'/><bridge name='{BRIDGE}'/>"
    f"<ip address='{GATEWAY}' prefix='24'><dhcp><range start='192.168.150.20' end='192.168.150.60'/></dhcp>"
    "</ip></network>"
)
MAC = "52:54:00:4e:00:01"
NIC = (
    f"<interface type='network'><mac address='{MAC}'/><source network='guests'/>"
    "<model type='virtio'/></interface>"
)


def host_view() -> tuple[list[str], str, str]:
    """The calling thread's namespace: devices, nftables ruleset, IPv4 forwarding (read only)."""
    links = json.loads(
        subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    )
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    return (
        sorted(link["ifname"] for link in links),
        ruleset,
        Path("/proc/sys/net/ipv4/ip_forward").read_text(),
    )


@pytest.fixture
def netns() -> Iterator[NetNamespace]:
    """The test's thread in a namespace of its own; the host's networking is left as it was."""
    why = netns_missing()
    if why is not None:
        pytest.skip(why)
    before = host_view()
    ns = NetNamespace()
    try:
        with ns.entered():
            subprocess.run(["ip", "link", "set", "dev", "lo", "up"], check=True)
            yield ns
    finally:
        ns.close()
    assert host_view() == before, "the host's devices, nftables ruleset or forwarding changed"


@pytest.fixture
def nsconn(netns: NetNamespace, uri: str) -> Iterator[virtcore.Connection]:
    """A qemu connection opened in the namespace (its network driver's too); guests destroyed at the end."""
    conn = virtcore.open(uri)
    try:
        yield conn
    finally:
        for dom in conn.list_domains(active=True):
            dom.destroy()
        for net in conn.list_networks(active=True):
            net.destroy()
        conn.close()


def tap_master(dev: str) -> str | None:
    """The bridge ``dev`` is a port of, in the calling thread's namespace."""
    out = subprocess.run(["ip", "-j", "link", "show", "dev", dev], capture_output=True, text=True, check=True)
    master: str | None = json.loads(out.stdout)[0].get("master")
    return master


def test_a_guest_on_a_nat_network_gets_a_lease_found_by_lease_and_arp_and_answers_a_ping(
    netns: NetNamespace, nsconn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    net = nsconn.define_network(NAT)
    dom = nsconn.define_domain(guest_xml("dhcp", mode="net", extra_devices=NIC))
    with pytest.raises(OperationInvalidError, match="network 'guests' is not active"):
        dom.start()  # libvirt's first error for a guest on a stopped network
    assert not dom.is_active()
    net.start()
    dom.start()

    # the live XML records the bridge and the TAP, which is on that bridge in the namespace
    live = dom.xml_desc()
    (nic,) = [i for i in virtcore.xml.parse_domain(live).interfaces]
    assert nic.source == "guests" and nic.source_bridge == BRIDGE
    tap = nic.target_dev
    assert tap is not None and tap.startswith("vnet") and tap in netns.devices()
    assert tap_master(tap) == BRIDGE
    link = json.loads(
        subprocess.run(["ip", "-j", "link", "show", "dev", tap], capture_output=True, text=True).stdout
    )
    assert link[0]["address"] == "fe" + MAC[2:]  # libvirt's host-side MAC

    (found,) = dom.wait_for_addresses(timeout=300, source="lease")
    assert found.name == tap and found.hwaddr == MAC
    (addr,) = found.addrs
    assert addr.type == IPAddrType.IPV4 and addr.prefix == 24
    assert ipaddress.ip_address(addr.addr) in SUBNET
    assert [lease.ipaddr for lease in net.dhcp_leases(mac=MAC)] == [addr.addr]

    # the guest says which address it set; then it answers a ping from the bridge address
    log = tmp_path / f"serial-{abs(hash('dhcp'))}.log"
    testguest.wait_for(
        lambda: f"{testguest.NET_MARK} {addr.addr}/24" in testguest.read(log),
        120,
        "the guest's address on its console",
    )
    ping_argv = [str(testguest.find_busybox()), "ping", "-c", "3", "-W", "5", "-I", GATEWAY, addr.addr]
    ping = subprocess.run(
        ping_argv,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr

    # QEMU's namespace's neighbour table knows it now: arp gives the address (prefix 0: ARP has none)
    (by_arp,) = dom.wait_for_addresses(timeout=60, source="arp")
    assert by_arp.name == tap and by_arp.hwaddr == MAC
    assert InterfaceAddress(IPAddrType.IPV4, addr.addr, 0) in by_arp.addrs
    assert dom.wait_for_addresses(timeout=0)[0].addrs == found.addrs  # any source: the lease first

    # saved and restored, the guest is on its bridge again (a TAP named afresh) and still answers
    image = tmp_path / "dhcp.save"
    dom.save(image)
    assert tap not in netns.devices()  # QEMU's TAP went with it
    nsconn.restore_domain(image)
    (again,) = virtcore.xml.parse_domain(dom.xml_desc()).interfaces
    assert again.source_bridge == BRIDGE and again.target_dev in netns.devices()
    assert tap_master(again.target_dev or "") == BRIDGE
    # a new bridge port forwards once STP's listening and learning delays are over (the
    # network's <bridge delay>): ping until it answers
    testguest.wait_for(
        lambda: subprocess.run([*ping_argv[:3], "1", *ping_argv[4:]], capture_output=True).returncode == 0,
        60,
        f"the restored guest to answer a ping at {addr.addr}",
    )

    dom.destroy()
    assert again.target_dev not in netns.devices()
    with pytest.raises(OperationInvalidError, match="domain 'dhcp' is not running"):
        dom.interface_addresses("arp")


def test_the_guest_agent_gives_the_same_lease(
    netns: NetNamespace,
    nsconn: virtcore.Connection,
    guest_files: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """The third source: the guest agent inside the guest reports the address its DHCP
    client got from our dnsmasq, on its own interface name (``eth0``), with the prefix."""
    kernel = guest_files[0]
    initrd = testguest.build_initramfs(kernel, cache_dir=tmp_path / "initramfs", agent=True)
    xml = testguest.guest_domain_xml(
        "agent", kernel, initrd, agent=True, mode="net", extra_devices=NIC, serial_log=tmp_path / "agent.log"
    )
    net = nsconn.define_network(NAT)
    net.start()
    dom = nsconn.define_domain(xml)
    dom.start()
    (by_lease,) = dom.wait_for_addresses(timeout=300, source="lease")
    (lease_addr,) = by_lease.addrs
    found = dom.wait_for_addresses(timeout=300, source="agent", family="ipv4")
    eth0 = [i for i in found if i.hwaddr == MAC]
    assert [i.name for i in eth0] == ["eth0"]
    assert InterfaceAddress(IPAddrType.IPV4, lease_addr.addr, 24) in eth0[0].addrs
    assert [lease.ipaddr for lease in net.dhcp_leases(mac=MAC)] == [lease_addr.addr]
