"""``virtcore domifaddr``: a guest's addresses in virsh's table, compared with virsh where it is installed.

The comparisons run virsh (Debian's libvirt-clients) and virtcore on the same
libvirt test-driver node file, so both see the same running guest; the rows
that libvirt's test driver never produces (several addresses on one
interface, none at all) are pinned on :func:`address_lines` directly, in
the layout of virsh's ``cmdDomIfAddr``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from cli_support import Run, virsh

from virtcore.cli_network import address_lines
from virtcore.network import DomainInterface, InterfaceAddress, IPAddrType

pytestmark = pytest.mark.usefixtures("fresh_default")

NODE = """<node>
  <network><name>lan</name><bridge name='vcbr3'/>
    <ip address='10.40.0.1' prefix='24'><dhcp><range start='10.40.0.100' end='10.40.0.200'/></dhcp></ip>
  </network>
  <domain type='test'><name>web</name><memory>1024</memory><os><type>hvm</type></os><devices>
    <interface type='network'><mac address='52:54:00:00:0c:01'/><source network='lan'/></interface>
    <interface type='bridge'><mac address='52:54:00:00:0c:02'/><source bridge='br0'/>
      <target dev='tap7'/></interface>
  </devices></domain>
</node>
"""


@pytest.fixture
def node(tmp_path: Path) -> str:
    path = tmp_path / "node.xml"
    path.write_text(NODE)
    return f"test://{path}"


@pytest.mark.parametrize(
    "command",
    [
        "domifaddr web",
        "domifaddr 1",
        "domifaddr web --source arp",
        "domifaddr web --source agent --full",
        "domifaddr web --interface tap7",
        "domifaddr web --interface nope",
    ],
)
def test_domifaddr_prints_what_virsh_prints(run: Run, node: str, command: str) -> None:
    status, out, _ = run(*shlex.split(command), uri=node)
    assert status == 0
    assert out == virsh(command, uri=node)
    assert ("10.40.0.101/24" in out) == ("--interface" not in command)


def test_domifaddr_on_the_default_node(run: Run) -> None:
    status, out, _ = run("domifaddr", "test")
    assert status == 0
    assert out == virsh("domifaddr test")
    assert "testnet0   aa:bb:cc:dd:ee:ff    ipv4         192.168.122.3/24" in out


def test_domifaddr_errors_name_the_domain(run: Run, node: str) -> None:
    assert run("destroy", "test")[0] == 0
    status, out, err = run("domifaddr", "test")
    assert status != 0 and out == ""
    assert "Requested operation is not valid: domain 'test' is not running" in err
    status, _, err = run("domifaddr", "web", "--source", "dhcp", uri=node)
    assert status != 0 and "invalid choice: 'dhcp'" in err
    status, _, err = run("domifaddr", "nobody", uri=node)
    assert status != 0 and "nobody" in err


def test_later_addresses_of_an_interface_show_dashes_unless_full() -> None:
    v4, v6 = IPAddrType.IPV4, IPAddrType.IPV6
    ifaces = [
        DomainInterface(
            "eth0",
            "52:54:00:00:0c:01",
            (InterfaceAddress(v4, "10.0.0.5", 24), InterfaceAddress(v6, "fd00::5", 64)),
        ),
        DomainInterface("lo", None, (InterfaceAddress(v4, "127.0.0.1", 8),)),
        DomainInterface("eth1", "52:54:00:00:0c:02", ()),
    ]
    assert address_lines(ifaces)[2:] == [
        " eth0       52:54:00:00:0c:01    ipv4         10.0.0.5/24",
        " -          -                    ipv6         fd00::5/64",
        " lo         N/A                  ipv4         127.0.0.1/8",
        " eth1       52:54:00:00:0c:02    N/A          N/A",
    ]
    assert address_lines(ifaces, full=True, interface="eth0")[2:] == [
        " eth0       52:54:00:00:0c:01    ipv4         10.0.0.5/24",
        " eth0       52:54:00:00:0c:01    ipv6         fd00::5/64",
    ]
