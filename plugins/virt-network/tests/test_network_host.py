"""Networks started for real: bridges, dnsmasq and nftables, each test inside its own network namespace.

The ``netns`` fixture makes the namespace, runs the test's thread in it (so ``ip``,
``dnsmasq`` and ``nft`` run there) and checks afterwards that the host's devices,
ruleset and forwarding switch are unchanged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from nettestxml import net_xml

import virtcore
from virtcore.errors import ErrorNumber, OperationFailedError, OperationInvalidError
from virtcore.network import IPAddrType, NetworkSection, NetworkUpdateCommand
from virtcore.testing.netns import NetNamespace
from virtcore.testing.support import wait_for


def ip_json(*argv: str) -> list[dict[str, object]]:
    out = subprocess.run(["ip", "-j", *argv], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out or "[]"))


def links() -> set[str]:
    return {str(link["ifname"]) for link in ip_json("link")}


def addresses(dev: str) -> set[str]:
    (link,) = ip_json("addr", "show", "dev", dev)
    infos = link["addr_info"]
    assert isinstance(infos, list)
    return {f"{a['local']}/{a['prefixlen']}" for a in infos if a.get("scope") == "global"}


def tables() -> set[str]:
    out = subprocess.run(["nft", "-j", "list", "tables"], capture_output=True, text=True, check=True).stdout
    return {item["table"]["name"] for item in json.loads(out)["nftables"] if "table" in item}


def chains(table: str) -> set[str]:
    out = subprocess.run(
        ["nft", "-j", "list", "table", "inet", table], capture_output=True, text=True, check=True
    ).stdout
    return {item["chain"]["name"] for item in json.loads(out)["nftables"] if "chain" in item}


def dnsmasqs() -> list[int]:
    """Pids of the dnsmasq processes of this test: in its namespace, with a configuration of the driver."""
    found = []
    mine = os.readlink("/proc/thread-self/ns/net")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if os.readlink(f"/proc/{pid}/ns/net") != mine:
                continue
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"dnsmasq") and any(b"/network/run/dnsmasq/" in c for c in cmd):
            found.append(int(pid))
    return found


def run_dir(root: Path) -> Path:
    return root / "network" / "run"


@pytest.mark.parametrize(
    ("mode", "rules"),
    [(None, {"forward"}), ("nat", {"forward", "postrouting"}), ("route", {"forward"}), ("open", None)],
)
def test_start_makes_bridge_dnsmasq_and_rules_and_destroy_removes_them(
    nsconn: virtcore.Connection, root: Path, mode: str | None, rules: set[str] | None
) -> None:
    net = nsconn.define_network(net_xml("lan", mode=mode))
    before = dnsmasqs()
    net.start()
    assert net.is_active() and nsconn.list_networks(active=True) == [net]
    assert "vtbr0" in links() and addresses("vtbr0") == {"10.77.0.1/24"}
    table = "virtcore_" + net.uuid.replace("-", "")[:12]
    if rules is None:
        assert tables() == set()
    else:
        assert tables() == {table} and chains(table) == rules
    (pid,) = set(dnsmasqs()) - set(before)
    conf = (run_dir(root) / "dnsmasq" / f"{net.uuid}.conf").read_text()
    assert "interface=vtbr0" in conf and "dhcp-range=10.77.0.10,10.77.0.100,255.255.255.0" in conf
    with pytest.raises(OperationInvalidError, match="network 'lan' is already active"):
        net.start()
    net.destroy()
    assert not net.is_active()
    assert "vtbr0" not in links() and tables() == set()
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10, "dnsmasq to exit")
    assert sorted(p.name for p in run_dir(root).iterdir()) == ["autostarted", "dnsmasq", "network.lock"]
    assert list((run_dir(root) / "dnsmasq").iterdir()) == []


def test_a_transient_network_vanishes_when_destroyed(nsconn: virtcore.Connection, root: Path) -> None:
    net = nsconn.create_network(net_xml("tmp", mode="nat"))
    assert net.is_active() and not net.is_persistent() and "vtbr0" in links()
    net.destroy()
    assert nsconn.list_networks() == [] and "vtbr0" not in links() and tables() == set()


def test_a_new_process_sees_the_running_network_and_can_stop_it(
    nsconn: virtcore.Connection, uri: str
) -> None:
    net = nsconn.define_network(net_xml("shared", mode="nat"))
    net.start()
    code = textwrap.dedent(
        """
        import sys, virtcore
        with virtcore.open(sys.argv[1]) as c:
            n = c.lookup_network("shared")
            print(n.is_active(), [x.name for x in c.list_networks(active=True)], n.dhcp_leases())
            n.destroy()
        """
    )
    # the child inherits the thread's namespace: it sees the same bridge and dnsmasq
    out = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0] == "True ['shared'] []"
    assert not net.is_active() and "vtbr0" not in links() and tables() == set()


def test_a_network_whose_dnsmasq_died_is_inactive_and_starts_again(
    nsconn: virtcore.Connection, root: Path
) -> None:
    net = nsconn.define_network(net_xml("fragile", mode="nat"))
    net.start()
    (pid,) = dnsmasqs()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not net.is_active(), 10, "the network to be reported inactive")
    assert nsconn.list_networks(active=True) == []
    with pytest.raises(OperationInvalidError, match="not active"):
        net.destroy()  # what the dead network left is removed all the same
    assert "vtbr0" not in links() and tables() == set()
    net.start()
    assert net.is_active() and len(dnsmasqs()) == 1
    net.destroy()


KILLED_MID_START = textwrap.dedent(
    """
    import os, sys, virtcore
    import virt_network.host as host
    import virt_network.state as state
    def die(*args):
        os._exit(9)
    if sys.argv[2] == "before-dnsmasq":  # after the bridge and the rules
        host._start_dnsmasq = die
    else:  # after everything, before the live definition is written
        state.NetworkStore.save_live = die
    with virtcore.open(sys.argv[1]) as c:
        c.lookup_network("interrupted").start()
    """
)


@pytest.mark.parametrize("when", ["before-dnsmasq", "before-live"])
def test_a_process_killed_mid_start_leaves_nothing_a_new_one_cannot_clean(
    nsconn: virtcore.Connection, uri: str, root: Path, when: str
) -> None:
    net = nsconn.define_network(net_xml("interrupted", mode="nat"))
    argv = [sys.executable, "-c", KILLED_MID_START, uri, when]
    child = subprocess.run(argv, capture_output=True, text=True)
    assert child.returncode == 9, child.stderr
    assert "vtbr0" in links() and len(tables()) == 1  # what it made before it died
    assert len(dnsmasqs()) == (1 if when == "before-live" else 0)
    assert (run_dir(root) / "interrupted.json").exists()
    assert not net.is_active()
    net.start()  # the leftovers go first
    assert net.is_active() and len(tables()) == 1 and len(dnsmasqs()) == 1
    net.destroy()
    assert "vtbr0" not in links() and tables() == set()

    subprocess.run(argv, capture_output=True, check=False)
    assert "vtbr0" in links()
    with pytest.raises(OperationInvalidError):
        net.destroy()  # not active; its leftovers are removed
    assert "vtbr0" not in links() and tables() == set() and not (run_dir(root) / "interrupted.json").exists()
    wait_for(lambda: dnsmasqs() == [], 10, "the leftover dnsmasq to exit")


def test_a_subnet_a_route_already_uses_is_refused_at_start(nsconn: virtcore.Connection, root: Path) -> None:
    subprocess.run(["ip", "link", "add", "name", "other0", "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", "10.77.0.200/24", "dev", "other0"], check=True)
    subprocess.run(["ip", "link", "set", "dev", "other0", "up"], check=True)
    net = nsconn.define_network(net_xml("clash", mode="nat"))
    with pytest.raises(
        OperationFailedError, match=r"subnet 10.77.0.0/24 is already in use by interface other0"
    ) as e:
        net.start()
    assert e.value.code == ErrorNumber.OPERATION_FAILED
    assert not net.is_active() and "vtbr0" not in links() and tables() == set()
    assert not (run_dir(root) / "clash.json").exists()


def test_an_ipv6_subnet_a_route_already_uses_is_refused_at_start(nsconn: virtcore.Connection) -> None:
    subprocess.run(["ip", "link", "add", "name", "other6", "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", "2001:db8:7::2/64", "dev", "other6", "nodad"], check=True)
    subprocess.run(["ip", "link", "set", "dev", "other6", "up"], check=True)
    xml = net_xml("clash6").replace(
        "</network>", "<ip family='ipv6' address='2001:db8:7::1' prefix='64'/></network>"
    )
    net = nsconn.define_network(xml)
    with pytest.raises(
        OperationFailedError, match=r"subnet 2001:db8:7::/64 is already in use by interface other6"
    ):
        net.start()
    assert "vtbr0" not in links() and tables() == set()


def test_a_bridge_name_another_device_has_is_refused_and_that_device_kept(
    nsconn: virtcore.Connection, root: Path
) -> None:
    subprocess.run(["ip", "link", "add", "name", "vtbr0", "type", "bridge"], check=True)
    net = nsconn.define_network(net_xml("taken", mode="nat"))
    with pytest.raises(
        OperationFailedError, match="cannot create bridge 'vtbr0' of network 'taken': a device"
    ):
        net.start()
    assert "vtbr0" in links() and tables() == set() and dnsmasqs() == []
    assert not (run_dir(root) / "taken.json").exists()
    subprocess.run(["ip", "link", "del", "dev", "vtbr0"], check=True)
    net.start()
    net.destroy()


def test_a_subnet_of_another_active_network_is_refused_at_start(
    nsconn: virtcore.Connection, root: Path
) -> None:
    a = nsconn.create_network(net_xml("running", bridge="vtbr1", ip="10.90.0.1"))
    stale = root / "network" / "etc"
    # a definition written beside the driver (by hand, or an older version) that overlaps
    xml = net_xml("overlap", ip="10.90.0.1", prefix=16, dhcp=False)
    (stale / "overlap.xml").write_text(
        xml.replace("</name>", "</name><uuid>0b7a3f52-7d2c-4a57-9a0e-3c2a1f6b9e01</uuid>")
    )
    net = nsconn.lookup_network("overlap")
    with pytest.raises(OperationFailedError, match=r"overlaps subnet 10\.90\.0\.0/24 of network 'running'"):
        net.start()
    assert "vtbr0" not in links()
    a.destroy()


def test_bridge_mode_attaches_to_an_existing_bridge(nsconn: virtcore.Connection) -> None:
    subprocess.run(["ip", "link", "add", "name", "extbr0", "type", "bridge"], check=True)
    xml = "<network><name>ext</name><forward mode='bridge'/><bridge name='extbr0'/></network>"
    net = nsconn.define_network(xml)
    net.start()
    assert net.is_active() and net.bridge_name == "extbr0" and tables() == set() and dnsmasqs() == []
    net.destroy()
    assert "extbr0" in links()  # not ours to remove
    missing = nsconn.define_network(xml.replace(">ext<", ">gone<").replace("extbr0", "nobr0"))
    with pytest.raises(OperationFailedError, match="network 'gone': there is no bridge 'nobr0'"):
        missing.start()


def test_a_dhcp_client_gets_a_lease_that_dhcp_leases_reports(
    netns: NetNamespace, nsconn: virtcore.Connection, uri: str
) -> None:
    net = nsconn.define_network(net_xml("leases", mode="nat"))
    net.start()
    guest = NetNamespace()  # the client's own namespace, joined to ours by a veth pair
    try:
        subprocess.run(
            ["ip", "link", "add", "name", "vh0", "type", "veth", "peer", "name", "vg0"], check=True
        )
        subprocess.run(["ip", "link", "set", "dev", "vh0", "master", "vtbr0", "up"], check=True)
        subprocess.run(["ip", "link", "set", "dev", "vg0", "netns", str(guest.proc.pid)], check=True)
        guest.run("ip", "link", "set", "dev", "vg0", "address", "52:54:00:12:34:56", "up")
        udhcpc = (
            "busybox",
            "udhcpc",
            "-i",
            "vg0",
            "-n",
            "-q",
            "-f",
            "-t",
            "10",
            "-T",
            "1",
            "-s",
            "/bin/true",
        )
        guest.run(*udhcpc, "-x", "hostname:guest1")
        wait_for(lambda: net.dhcp_leases() != [], 10, "dnsmasq to record the lease")
        (lease,) = net.dhcp_leases()
        assert (lease.iface, lease.type, lease.mac, lease.prefix) == (
            "vtbr0",
            IPAddrType.IPV4,
            "52:54:00:12:34:56",
            24,
        )
        assert lease.hostname == "guest1"
        assert 10 <= int(lease.ipaddr.rsplit(".", 1)[1]) <= 100 and lease.ipaddr.startswith("10.77.0.")
        assert lease.expirytime > 0
        assert net.dhcp_leases(mac="52:54:00:12:34:56") == [lease]
        assert net.dhcp_leases(mac="52:54:00:00:00:01") == []
        with virtcore.open_read_only(uri) as ro:
            assert ro.lookup_network("leases").dhcp_leases() == [lease]
        code = (
            "import sys, virtcore\n"
            "print(virtcore.open_read_only(sys.argv[1]).lookup_network('leases').dhcp_leases())"
        )
        child = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, check=True)
        assert child.stdout.strip() == repr([lease])  # a new process reads the same lease file

        # a fixed address added to the running network: dnsmasq reads its hosts again
        host = "<host mac='52:54:00:12:34:56' name='guest1' ip='10.77.0.5'/>"
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, host, live=True, config=True)
        assert "10.77.0.5" in net.xml_desc() and "10.77.0.5" in net.xml_desc(inactive=True)
        guest.run(
            "busybox", "udhcpc", "-i", "vg0", "-n", "-q", "-f", "-t", "10", "-T", "1", "-s", "/bin/true"
        )
        wait_for(lambda: [x.ipaddr for x in net.dhcp_leases()] == ["10.77.0.5"], 10, "the fixed address")
    finally:
        guest.close()
    net.destroy()
    assert net.dhcp_leases() == []


def test_autostart_networks_start_on_the_first_open_after_boot(
    netns: NetNamespace, uri: str, root: Path
) -> None:
    with virtcore.open(uri) as conn:
        conn.define_network(net_xml("boot", mode="nat")).autostart = True
        conn.define_network(net_xml("manual", bridge="vtbr1", ip="10.78.0.1"))
    (run_dir(root) / "autostarted").unlink()  # what a reboot does to the run directory (a tmpfs)
    with virtcore.open(uri) as conn:
        assert [n.name for n in conn.list_networks(active=True)] == ["boot"]
        with virtcore.open(uri) as again:  # only the first open after boot starts them
            assert [n.name for n in again.list_networks(active=True)] == ["boot"]
        conn.lookup_network("boot").destroy()
    assert "vtbr0" not in links() and tables() == set()


def test_the_command_line_starts_and_stops_a_network(
    nsconn: virtcore.Connection, uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from virtcore.cli import main

    nsconn.define_network(net_xml("cli", mode="route"))
    assert main(["-c", uri, "net-start", "cli"]) == 0
    assert "vtbr0" in links() and nsconn.lookup_network("cli").is_active()
    assert main(["-c", uri, "net-list"]) == 0
    assert "cli" in capsys.readouterr().out
    assert main(["-c", uri, "net-destroy", "cli"]) == 0
    assert "vtbr0" not in links() and tables() == set()
    assert main(["-c", uri, "net-destroy", "cli"]) != 0
    assert "network 'cli' is not active" in capsys.readouterr().err


@pytest.mark.parametrize("odd", ["a%0Adhcp-script=/bin/sh", "a%20b", "a%23b", "a,b"])
def test_a_root_dnsmasq_could_misread_is_refused_at_start(
    netns: NetNamespace, tmp_path: Path, odd: str
) -> None:
    with virtcore.open(f"network:///embed?root={tmp_path}/{odd}") as conn:
        net = conn.define_network(net_xml("odd"))  # defining writes no dnsmasq configuration
        with pytest.raises(OperationFailedError, match="cannot start network 'odd': dnsmasq's directory"):
            net.start()
        assert not net.is_active() and "vtbr0" not in links() and dnsmasqs() == []


RICH = """<network><name>rich</name><forward mode='nat'/><bridge name='vtrich0'/><domain name='rich.test'/>
<dns><host ip='10.61.0.5'><hostname>web</hostname></host></dns>
<ip address='10.61.0.1' prefix='24' localPtr='yes'><dhcp><range start='10.61.0.10' end='10.61.0.20'>
<lease expiry='1' unit='hours'/></range><host mac='52:54:00:00:00:07' name='g7' ip='10.61.0.7'/></dhcp></ip>
<ip family='ipv6' address='fd00:61::1' prefix='64'>
<dhcp><range start='fd00:61::10' end='fd00:61::20'/></dhcp></ip>
<route address='192.168.250.0' prefix='24' gateway='10.61.0.2'/>
</network>"""


def dns_a(server: str, name: str) -> list[str]:
    """The A records ``server`` answers for ``name`` (one UDP query on the namespace's bridge)."""
    import socket
    import struct

    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    query += (
        b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(query, (server, 53))
        reply = s.recv(512)
    count = struct.unpack(">H", reply[6:8])[0]
    pos, found = len(query), []
    for _ in range(count):
        pos += 2  # a compressed name pointer to the question
        rtype, _, _, length = struct.unpack(">HHIH", reply[pos : pos + 10])
        pos += 10
        if rtype == 1:
            found.append(socket.inet_ntoa(reply[pos : pos + length]))
        pos += length
    return found


def test_a_rich_definition_runs_ipv6_routes_and_dns_records(nsconn: virtcore.Connection) -> None:
    net = nsconn.create_network(RICH)
    assert addresses("vtrich0") == {"10.61.0.1/24", "fd00:61::1/64"}
    routes = [r["dst"] for r in ip_json("route", "show", "dev", "vtrich0")]
    assert "192.168.250.0/24" in routes
    assert dns_a("10.61.0.1", "web.rich.test") == ["10.61.0.5"]  # the additional hosts file
    assert dns_a("10.61.0.1", "web") == ["10.61.0.5"]  # expand-hosts: the domain is added
    net.destroy()
    assert "vtrich0" not in links() and tables() == set()


LISTEN = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.2", 9999))
s.settimeout(float(sys.argv[1]))
print("ready", flush=True)
try:
    data, (src, _) = s.recvfrom(100)
    print(src, flush=True)
except socket.timeout:
    print("nothing", flush=True)
"""
SEND = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"hello", ("198.51.100.2", 9999))
"""


@pytest.mark.parametrize(
    ("mode", "seen"),
    [("nat", "198.51.100.1"), ("route", "10.77.0.50"), ("open", "10.77.0.50"), (None, "nothing")],
)
def test_forward_modes_masquerade_route_or_isolate_a_guests_traffic(
    nsconn: virtcore.Connection, mode: str | None, seen: str
) -> None:
    """A guest namespace on the bridge sends a datagram to an 'outside' namespace behind the host's
    uplink: masqueraded (nat), as is (route, open), or refused (isolated)."""
    net = nsconn.define_network(net_xml("fw", mode=mode, dhcp=False))
    net.start()
    if mode is None:  # forwarding on (in the test's namespace): only the network's rules refuse
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == "1\n"
    guest, outside = NetNamespace(), NetNamespace()
    try:
        subprocess.run(
            ["ip", "link", "add", "name", "vh0", "type", "veth", "peer", "name", "vg0"], check=True
        )
        subprocess.run(["ip", "link", "set", "dev", "vh0", "master", "vtbr0", "up"], check=True)
        subprocess.run(["ip", "link", "set", "dev", "vg0", "netns", str(guest.proc.pid)], check=True)
        guest.run("ip", "addr", "add", "10.77.0.50/24", "dev", "vg0")
        guest.run("ip", "link", "set", "dev", "vg0", "up")
        guest.run("ip", "route", "add", "default", "via", "10.77.0.1")
        subprocess.run(
            ["ip", "link", "add", "name", "up0", "type", "veth", "peer", "name", "out0"], check=True
        )
        subprocess.run(["ip", "link", "set", "dev", "out0", "netns", str(outside.proc.pid)], check=True)
        subprocess.run(["ip", "addr", "add", "198.51.100.1/24", "dev", "up0"], check=True)
        subprocess.run(["ip", "link", "set", "dev", "up0", "up"], check=True)
        outside.run("ip", "addr", "add", "198.51.100.2/24", "dev", "out0")
        outside.run("ip", "link", "set", "dev", "out0", "up")
        wait = "3" if seen == "nothing" else "20"
        listener = subprocess.Popen(
            ["nsenter", f"--net={outside.path}", "--", sys.executable, "-c", LISTEN, wait],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        # the bridge's port may take a moment (STP) to forward: send until the listener answers
        for _ in range(40 if seen != "nothing" else 6):
            subprocess.run(["nsenter", f"--net={guest.path}", "--", sys.executable, "-c", SEND], check=True)
            if listener.poll() is not None:
                break
            time.sleep(0.5)
        out, _ = listener.communicate(timeout=30)
        assert out.strip() == seen
    finally:
        guest.close()
        outside.close()
    net.destroy()
