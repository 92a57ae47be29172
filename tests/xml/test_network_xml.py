"""The network XML model: building in Python, libvirt's checks, and hostile input.

Every bad value a user can write is a VirtError naming it (XMLError, or
ConfigUnsupportedError for a DHCP range outside its network, as libvirt reports it);
names that become bridge or file names and strings that become dnsmasq configuration
lines cannot smuggle in anything else.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libvirt_testdata import require
from lxml import etree

from virtcore.errors import ConfigUnsupportedError, ErrorDomain, ErrorNumber, VirtError, XMLError
from virtcore.xml import MAX_XML_BYTES, NetworkDef, parse_network, unmodelled
from virtcore.xml.network import (
    Bandwidth,
    BandwidthRate,
    Bridge,
    Dhcp,
    DhcpHost,
    DhcpRange,
    Dns,
    DnsHost,
    DnsHostname,
    Forward,
    IPDef,
    Lease,
    OutboundRate,
)

NET = (
    "<network><name>{name}</name><forward mode='nat'/><bridge name='{bridge}'/>"
    "<mac address='{mac}'/><domain name='{domain}'/>"
    "<ip address='{address}' netmask='{netmask}'><dhcp>"
    "<range start='{start}' end='{end}'/><host mac='52:54:00:00:00:05' name='{host}' ip='10.0.0.5'/>"
    "</dhcp></ip></network>"
)
GOOD = {
    "name": "vcnet",
    "bridge": "vcbr0",
    "mac": "52:54:00:aa:bb:cc",
    "domain": "example.com",
    "address": "10.0.0.1",
    "netmask": "255.255.255.0",
    "start": "10.0.0.2",
    "end": "10.0.0.254",
    "host": "guest1",
}


def _net(**changes: str) -> NetworkDef:
    return parse_network(NET.format(**{**GOOD, **changes}))


@pytest.fixture(scope="module")
def network_rng() -> etree.RelaxNG:
    """libvirt's network.rng."""
    return etree.RelaxNG(etree.parse(str(require("schemas", "network.rng"))))


# ---------------------------------------------------------------------------- the model


def test_the_fields_issue_11_needs_read_as_typed_values() -> None:
    n = _net()
    assert n.name == "vcnet" and n.mode == "nat"
    assert n.bridge == Bridge(name="vcbr0", stp=True, delay=0)
    assert n.mac == "52:54:00:aa:bb:cc" and n.domain_name == "example.com"
    ip = n.ips[0]
    assert ip.address == ipaddress.IPv4Address("10.0.0.1")
    assert ip.network == ipaddress.IPv4Network("10.0.0.0/24") and ip.prefix_length == 24
    assert ip.dhcp is not None
    assert [(str(r.start), str(r.end)) for r in ip.dhcp.ranges] == [("10.0.0.2", "10.0.0.254")]
    assert [(h.mac, h.name, str(h.ip)) for h in ip.dhcp.hosts] == [
        ("52:54:00:00:00:05", "guest1", "10.0.0.5")
    ]
    assert unmodelled(n) == []


def test_a_network_built_in_python_formats_valid_xml_and_reads_back(network_rng: etree.RelaxNG) -> None:
    n = NetworkDef(
        name="built",
        forward=Forward(mode="route", dev="eth0"),
        bridge=Bridge(name="vcbr1"),
        mtu=9000,
        ips=(
            IPDef(
                address=ipaddress.ip_address("192.168.50.1"),
                prefix=24,
                dhcp=Dhcp(
                    ranges=(
                        DhcpRange(
                            start=ipaddress.ip_address("192.168.50.10"),
                            end=ipaddress.ip_address("192.168.50.20"),
                            lease=Lease(expiry=2, unit="hours"),
                        ),
                    )
                ),
            ),
        ),
        dns=Dns(
            hosts=(DnsHost(ip=ipaddress.ip_address("192.168.50.1"), hostnames=(DnsHostname(name="gw"),)),)
        ),
    )
    assert n.bridge == Bridge(name="vcbr1", stp=True, delay=0)  # libvirt's defaults, filled in
    assert n.forward is not None and [i.dev for i in n.forward.interfaces] == ["eth0"]
    text = n.to_xml()
    assert network_rng.validate(etree.fromstring(text.encode())), str(network_rng.error_log.last_error)
    back = parse_network(text)
    assert back == n
    assert back.ips[0].dhcp is not None and back.ips[0].dhcp.ranges[0].lease == Lease(expiry=2, unit="hours")
    assert back.dns is not None and back.dns.hosts[0].names == ("gw",)
    assert back.to_xml() == text


def test_unknown_content_is_kept_and_listed_and_strict_refuses_it() -> None:
    text = (
        NET.format(**GOOD)
        .replace("<forward", "<future flag='1'/><forward")
        .replace("<bridge ", "<bridge newattr='x' ")
    )
    n = parse_network(text)
    assert unmodelled(n) == ["network/future", "network/bridge/@newattr"]
    out = n.to_xml()
    assert '<future flag="1"/>' in out and 'newattr="x"' in out
    edited = attrs.evolve(n, mtu=1400).to_xml()
    assert '<future flag="1"/>' in edited and '<mtu size="1400"/>' in edited
    with pytest.raises(XMLError, match="network/future"):
        parse_network(text, strict=True)


def test_a_uuid_is_generated_and_a_bad_one_refused() -> None:
    n = _net()
    assert len(n.uuid) == 36 and parse_network(n.to_xml()).uuid == n.uuid
    with pytest.raises(XMLError, match="uuid"):
        parse_network("<network><name>a</name><uuid>not-a-uuid</uuid></network>")


def test_network_names_are_loaded_only_when_used() -> None:
    code = (
        "import sys, virtcore.xml as x\n"
        "assert 'virtcore.xml.network' not in sys.modules\n"
        "from virtcore.xml import network_from_element, NetworkDef, format_network\n"
        "assert x.parse_network.__module__ == 'virtcore.xml.network'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["a/b", "-net", ".", "..", "a&#10;b", "a&#9;b", " "])
def test_network_names_that_escape_or_look_like_options_are_refused(name: str) -> None:
    with pytest.raises(XMLError) as info:
        _net(name=name)
    # a blank name is no name: NO_NAME, as libvirt's parser says of a missing one
    assert info.value.code == (ErrorNumber.NO_NAME if not name.strip() else ErrorNumber.XML_ERROR)
    assert "network" in str(info.value)


def test_a_nul_in_a_name_built_in_python_is_refused() -> None:
    with pytest.raises(XMLError, match="control character"):
        NetworkDef(name="a\0b")


@pytest.mark.parametrize("bridge", ["vcbr0123456789ab", "br/0", "-br0", "br 0", "br:0", "br,0", "br&#10;0"])
def test_bad_bridge_names_are_refused(bridge: str) -> None:
    with pytest.raises(XMLError, match="bridge name"):
        _net(bridge=bridge)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("address", "10.0.0.300", "invalid IP address '10.0.0.300'"),
        ("address", "not-an-ip", "invalid IP address"),
        ("address", "", "invalid IP address"),
        ("netmask", "255.0.255.0", "invalid netmask '255.0.255.0'"),
        ("netmask", "24", "invalid netmask"),  # a netmask is written as an address
        ("start", "10.0.0.2/24", "invalid IP address"),
        ("end", "fe80::zz", "invalid IP address"),
        ("mac", "01:00:5e:00:00:01", "multicast"),
        ("mac", "52:54:00:aa:bb", "mac address"),
        ("mac", "52:54:00:aa:bb:cc:dd", "mac address"),
    ],
)
def test_malformed_addresses_are_refused(field: str, value: str, match: str) -> None:
    with pytest.raises(XMLError, match=match):
        _net(**{field: value})


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        ("10.0.1.2", "10.0.1.254", "not entirely within network 10.0.0.0/24"),
        ("10.0.0.2", "10.0.1.1", "not entirely within network 10.0.0.0/24"),
        ("10.0.0.200", "10.0.0.100", "reversed"),
        ("10.0.0.0", "10.0.0.10", "network or broadcast address"),
        ("10.0.0.10", "10.0.0.255", "network or broadcast address"),
        ("fd00::2", "fd00::9", "not of the family"),
    ],
)
def test_a_dhcp_range_outside_its_network_is_refused_as_libvirt_does(
    start: str, end: str, match: str
) -> None:
    with pytest.raises(ConfigUnsupportedError, match=match) as info:
        _net(start=start, end=end)
    assert info.value.code == ErrorNumber.CONFIG_UNSUPPORTED
    assert info.value.domain == ErrorDomain.NETWORK


def test_ip_settings_that_contradict_each_other_are_refused() -> None:
    with pytest.raises(XMLError, match="both a netmask and a prefix"):
        parse_network(
            "<network><name>a</name><ip address='10.0.0.1' netmask='255.0.0.0' prefix='8'/></network>"
        )
    with pytest.raises(XMLError, match="does not match its family 'ipv6'"):
        parse_network("<network><name>a</name><ip family='ipv6' address='10.0.0.1'/></network>")
    with pytest.raises(XMLError, match="invalid prefix 33"):
        parse_network("<network><name>a</name><ip address='10.0.0.1' prefix='33'/></network>")
    with pytest.raises(XMLError, match="missing attribute 'address'"):
        parse_network("<network><name>a</name><ip prefix='8'/></network>")
    with pytest.raises(XMLError, match=r"mac .* not allowed in IPv6"):
        parse_network(
            "<network><name>a</name><ip family='ipv6' address='fd00::1' prefix='64'><dhcp>"
            "<host mac='52:54:00:00:00:01' ip='fd00::5'/></dhcp></ip></network>"
        )


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("domain", "example.com&#10;dhcp-option=3"),
        ("domain", "a,b"),
        ("domain", "-example"),
        ("host", "evil&#10;address=/#/127.0.0.1"),
        ("host", "a b"),
        ("host", "a=b"),
    ],
)
def test_dnsmasq_options_cannot_be_smuggled_through_names(where: str, text: str) -> None:
    with pytest.raises(XMLError, match="invalid"):
        _net(**{where: text})


@pytest.mark.parametrize(
    "dns",
    [
        "<host ip='10.0.0.9'><hostname>x&#10;server=127.0.0.2</hostname></host>",
        "<host ip='10.0.0.9'><hostname>x,y</hostname></host>",
        "<txt name='t' value='v&#10;addn-hosts=/etc/shadow'/>",
        "<txt name='t,u' value='v'/>",
        "<srv service='s' protocol='tcp' target='a&#10;b'/>",
        "<srv service='s' protocol='icmp'/>",
        "<forwarder domain='a b' addr='10.0.0.53'/>",
        "<forwarder addr='10.0.0.5300'/>",
    ],
)
def test_bad_dns_entries_are_refused(dns: str) -> None:
    with pytest.raises(XMLError):
        parse_network(f"<network><name>a</name><dns>{dns}</dns></network>")


def test_a_dnsmasq_option_cannot_carry_a_second_line() -> None:
    ns = "http://libvirt.org/schemas/network/dnsmasq/1.0"
    doc = (
        f"<network xmlns:dnsmasq='{ns}'><name>a</name><dnsmasq:options>"
        "<dnsmasq:option value='foo=bar&#10;dhcp-script=/tmp/x'/></dnsmasq:options></network>"
    )
    with pytest.raises(XMLError, match="dnsmasq option"):
        parse_network(doc)


@pytest.mark.parametrize(
    ("forward", "match"),
    [
        ("<forward mode='tunnel'/>", "unknown forward mode 'tunnel'"),
        ("<forward mode='nat' dev='-eth0'/>", "forward dev"),
        ("<forward mode='nat' dev='eth0'><interface dev='eth1'/></forward>", "must match the first"),
        ("<forward mode='route'><nat/></forward>", "only allowed in <forward mode='nat'>"),
        ("<forward mode='nat'><nat><port start='2000' end='1000'/></nat></forward>", "reversed"),
        ("<forward mode='nat'><nat><address start='fd00::1' end='fd00::2'/></nat></forward>", "IPv4"),
        ("<forward mode='hostdev'><pf dev='a'/><pf dev='b'/></forward>", "only one <pf>"),
    ],
)
def test_inconsistent_forward_settings_are_refused(forward: str, match: str) -> None:
    with pytest.raises(XMLError, match=match):
        parse_network(f"<network><name>a</name>{forward}</network>")


def test_bridge_options_outside_the_modes_that_make_a_bridge_are_refused() -> None:
    with pytest.raises(XMLError, match="stp and delay"):
        parse_network(
            "<network><name>a</name><forward mode='bridge'/><bridge name='br0' stp='on'/></network>"
        )
    with pytest.raises(XMLError, match="not allowed with forward mode 'vepa'"):
        parse_network(
            "<network><name>a</name><forward mode='vepa'><interface dev='e0'/></forward>"
            "<bridge name='br0'/></network>"
        )


def test_numbers_out_of_range_are_refused() -> None:
    with pytest.raises(XMLError, match="mtu"):
        parse_network("<network><name>a</name><mtu size='12'/></network>")
    with pytest.raises(XMLError):
        parse_network("<network><name>a</name><mtu size='99999999999999999999'/></network>")
    with pytest.raises(XMLError):
        parse_network("<network><name>a</name><vlan><tag id='4096'/></vlan></network>")
    with pytest.raises(XMLError):
        parse_network("<network><name>a</name><ip address='10.0.0.1' prefix='²'/></network>")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<network><name>&lol2;</name></network>"""
XXE = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<network><name>&xxe;</name></network>'


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE, "<network><name>a</name>", "<pool/>"])
def test_hostile_or_broken_documents_are_xml_errors(doc: str) -> None:
    with pytest.raises(XMLError):
        parse_network(doc)


def test_an_oversized_document_is_refused() -> None:
    with pytest.raises(XMLError):
        parse_network(
            "<network><name>a</name><description>" + "x" * MAX_XML_BYTES + "</description></network>"
        )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_fails_only_with_virt_errors(text: str) -> None:
    for doc in (
        text,
        NET.format(**{**GOOD, "name": text}),
        NET.format(**{**GOOD, "bridge": text}),
        NET.format(**{**GOOD, "address": text}),
        NET.format(**{**GOOD, "start": text}),
        NET.format(**{**GOOD, "host": text}),
        NET.format(**{**GOOD, "mac": text}),
    ):
        try:
            n = parse_network(doc)
            assert parse_network(n.to_xml()) == n
        except VirtError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(v=4), st.integers(min_value=8, max_value=30), st.data())
def test_any_range_inside_the_subnet_is_accepted_and_any_outside_refused(
    address: ipaddress.IPv4Address, prefix: int, data: st.DataObject
) -> None:
    net = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    inside = st.integers(int(net.network_address) + 1, int(net.broadcast_address) - 1)
    a, b = sorted((data.draw(inside), data.draw(inside)))
    doc = (
        f"<network><name>n</name><ip address='{address}' prefix='{prefix}'><dhcp>"
        "<range start='{}' end='{}'/></dhcp></ip></network>"
    )
    n = parse_network(doc.format(ipaddress.IPv4Address(a), ipaddress.IPv4Address(b)))
    assert n.ips[0].dhcp is not None and n.ips[0].dhcp.ranges[0].start in n.ips[0].network
    outside = data.draw(st.integers(0, 2**32 - 1).filter(lambda x: ipaddress.IPv4Address(x) not in net))
    with pytest.raises(ConfigUnsupportedError, match="not entirely within"):
        parse_network(doc.format(ipaddress.IPv4Address(a), ipaddress.IPv4Address(outside)))


def test_a_dhcp_host_needs_an_identity() -> None:
    with pytest.raises(XMLError, match="needs a mac, an id or a name"):
        DhcpHost(ip=ipaddress.ip_address("10.0.0.5"))


def test_bandwidth_built_in_python_writes_inbound_and_outbound(network_rng: etree.RelaxNG) -> None:
    n = NetworkDef(
        name="qos",
        bridge=Bridge(name="vcbr2"),
        bandwidth=Bandwidth(
            inbound=BandwidthRate(average=1000, burst=512), outbound=OutboundRate(average=2000)
        ),
    )
    text = n.to_xml()
    assert '<inbound average="1000" burst="512"/>' in text and '<outbound average="2000"/>' in text
    assert network_rng.validate(etree.fromstring(text.encode())), str(network_rng.error_log.last_error)
    assert parse_network(text) == n


def test_the_status_of_a_running_network_is_typed(network_rng: etree.RelaxNG) -> None:
    """What a driver writes into an active network's XML: connection counts."""
    n = parse_network(
        "<network connections='2'><name>live</name><forward mode='nat'>"
        "<interface dev='eth1' connections='2'/></forward><bridge name='virbr9'/></network>"
    )
    assert n.connections == 2 and n.forward is not None and n.forward.interfaces[0].connections == 2
    assert unmodelled(n) == []
    text = n.to_xml()
    assert network_rng.validate(etree.fromstring(text.encode())), str(network_rng.error_log.last_error)
    with pytest.raises(XMLError, match="connections"):
        parse_network("<network connections='-1'><name>live</name></network>")


def test_addresses_given_as_text_in_python_are_read_and_checked() -> None:
    ip = IPDef(
        address="10.1.0.1",  # type: ignore[arg-type]
        netmask="255.255.0.0",  # type: ignore[arg-type]
        dhcp=Dhcp(ranges=(DhcpRange(start="10.1.0.10", end="10.1.0.20"),)),  # type: ignore[arg-type]
    )
    assert ip.address == ipaddress.IPv4Address("10.1.0.1") and ip.prefix_length == 16
    assert ip.dhcp is not None and ip.dhcp.ranges[0].end == ipaddress.IPv4Address("10.1.0.20")
    with pytest.raises(XMLError, match=r"invalid IP address '10\.1\.0\.999'"):
        DhcpRange(start="10.1.0.10", end="10.1.0.999")  # type: ignore[arg-type]
    with pytest.raises(ConfigUnsupportedError, match="not entirely within"):
        IPDef(
            address="10.1.0.1",  # type: ignore[arg-type]
            prefix=24,
            dhcp=Dhcp(ranges=(DhcpRange(start="10.2.0.10", end="10.2.0.20"),)),  # type: ignore[arg-type]
        )


def test_a_uuid_without_dashes_is_written_as_libvirt_writes_it() -> None:
    """libvirt reads a network's ``<uuid>`` in any spelling it accepts and writes it with dashes
    (testnode.xml's networks give theirs without), as ``UUIDString()`` gives it."""
    from virtcore.xml import format_network, parse_network

    n = parse_network(
        "<network><name>n</name><uuid>004b96e12d78c30f5aa5f03c87d21e69</uuid>"
        "<bridge name='virbr5'/></network>"
    )
    assert n.uuid == "004b96e1-2d78-c30f-5aa5-f03c87d21e69"
    assert "<uuid>004b96e1-2d78-c30f-5aa5-f03c87d21e69</uuid>" in format_network(n)


@pytest.mark.parametrize(
    "forward", ["", "<forward mode='nat'/>", "<forward mode='route'/>", "<forward mode='open'/>"]
)
def test_a_network_whose_bridge_libvirt_makes_says_stp_and_delay_without_a_bridge_element(
    forward: str,
) -> None:
    """libvirt writes ``<bridge stp='on' delay='0'/>`` for an isolated, nat, route or open network
    whose XML gave no ``<bridge>`` (Ansible's virt_net reads the bridge's attributes)."""
    from virtcore.xml import format_network, parse_network

    n = parse_network(f"<network><name>n</name>{forward}</network>")
    assert n.bridge is not None and (n.bridge.name, n.bridge.stp, n.bridge.delay) == (None, True, 0)
    assert '<bridge stp="on" delay="0"/>' in format_network(n)
    bridged = parse_network("<network><name>b</name><forward mode='bridge'/><bridge name='br0'/></network>")
    assert bridged.bridge is not None and bridged.bridge.stp is None
