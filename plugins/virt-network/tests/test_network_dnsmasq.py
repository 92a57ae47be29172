"""dnsmasq's configuration for libvirt's networkxml2confdata cases equals libvirt's in meaning.

Each case's ``.xml`` is parsed by the model and given to
:func:`virt_network.dnsmasq.dnsmasq_files` naming libvirt's directory
(``/var/lib/libvirt/dnsmasq``); its ``.conf`` and ``.hostsfile`` are libvirt's.
"In meaning": comments aside, the same option lines in any order (dnsmasq reads
them so), but ``server=`` lines in the same order (``strict-order`` asks them in it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from libvirt_testdata import MISSING, find, require
from virt_network.dnsmasq import dnsmasq_files, parse_leases

from virtcore.network import IPAddrType, NetworkDHCPLease
from virtcore.xml import parse_network

LIBVIRT_DIR = "/var/lib/libvirt/dnsmasq"
_DATA = find("networkxml2confdata")
CASES = sorted(p.stem for p in _DATA.glob("*.xml")) if _DATA is not None else [MISSING]

#: Cases whose libvirt output differs on purpose, with the reason.
XFAIL = {
    "nat-network-name-with-quotes": (
        "libvirt XML-escapes the quotes of a network name in dnsmasq's file names (&quot;);"
        " virt-network names the files as given (and names its own after the UUID)"
    ),
}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _meaning(text: str) -> tuple[list[str], list[str]]:
    lines = _lines(text)
    return sorted(lines), [line for line in lines if line.startswith("server=")]


@pytest.mark.parametrize("case", CASES)
def test_conf_and_hostsfile_equal_libvirts(case: str) -> None:
    base = require("networkxml2confdata", f"{case}.xml").with_suffix("")
    if case in XFAIL:
        pytest.xfail(XFAIL[case])
    files = dnsmasq_files(parse_network(base.with_suffix(".xml").read_bytes()), LIBVIRT_DIR)
    assert _meaning(files.conf) == _meaning(base.with_suffix(".conf").read_text())
    hosts = base.with_suffix(".hostsfile")
    assert sorted(_lines(files.hostsfile)) == sorted(_lines(hosts.read_text() if hosts.exists() else ""))


def test_runtime_lines_name_the_drivers_files() -> None:
    path = require("networkxml2confdata", "nat-network.xml")
    d = parse_network(path.read_bytes())
    files = dnsmasq_files(d, "/run/x", stem=d.uuid, pidfile="/run/x/a.pid", leasefile="/run/x/a.leases")
    lines = _lines(files.conf)
    assert {"pid-file=/run/x/a.pid", "dhcp-leasefile=/run/x/a.leases"} <= set(lines)
    assert f"dhcp-hostsfile=/run/x/{d.uuid}.hostsfile" in lines


def test_dns_hosts_go_to_the_additional_hosts_file() -> None:
    d = parse_network(require("networkxml2confdata", "nat-network-dns-hosts.xml").read_bytes())
    assert dnsmasq_files(d, LIBVIRT_DIR).addnhosts == "192.168.122.1\thost\tgateway\n"


def test_lease_file_lines_become_libvirts_leases() -> None:
    text = (
        "1700000000 52:54:00:AA:bb:01 10.77.0.20 guest1 01:52:54:00:aa:bb:01\n"
        "0 52:54:00:aa:bb:02 10.77.0.21 * *\n"
        "duid 00:01:00:01:2c:aa:bb:cc:52:54:00:00:00:01\n"
        "1700000100 1234 2001:db8::20 guest6 00:01:00:01:aa\n"
        "garbage\n"
    )
    leases = parse_leases(text, "vtbr0", {4: 24, 6: 64})
    assert leases == [
        NetworkDHCPLease("vtbr0", 1700000000, IPAddrType.IPV4, "52:54:00:aa:bb:01", None, "10.77.0.20", 24,
                         "guest1", "01:52:54:00:aa:bb:01"),
        NetworkDHCPLease("vtbr0", 0, IPAddrType.IPV4, "52:54:00:aa:bb:02", None, "10.77.0.21", 24,
                         None, None),
        NetworkDHCPLease("vtbr0", 1700000100, IPAddrType.IPV6, None, "1234", "2001:db8::20", 64, "guest6",
                         "00:01:00:01:aa"),
    ]  # fmt: skip
    assert [x.ipaddr for x in parse_leases(text, "vtbr0", {4: 24}, "52:54:00:aa:bb:02")] == ["10.77.0.21"]


def test_every_case_is_counted() -> None:
    """The corpus is there and every case is run above (27 in libvirt 11.3)."""
    data: Path = require("networkxml2confdata")
    assert len(list(data.glob("*.xml"))) == len(CASES) >= 27
