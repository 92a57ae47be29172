"""Persistent definitions of ``network:///embed``: files under the root, checks at define, errors' codes.

Nothing here starts a network, except the session test, which shows that starting
without root is refused by name while definitions work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from nettestxml import net_xml

import virtcore
from virtcore.errors import (
    ConfigUnsupportedError,
    ErrorNumber,
    NoNetworkError,
    NoSupportError,
    OperationFailedError,
    OperationInvalidError,
    VirtError,
    XMLError,
)
from virtcore.network import NetworkSection, NetworkUpdateCommand


def state_files(root: Path) -> list[str]:
    """Every file under the root's network state, but the lock."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name not in ("network.lock", "autostarted")
    )


def test_define_lookup_list_and_xml(conn: virtcore.Connection, root: Path) -> None:
    net = conn.define_network(net_xml("lan"))
    assert (root / "network" / "etc" / "lan.xml").is_file()
    assert conn.lookup_network("lan") == net == conn.lookup_network_by_uuid(net.uuid)
    assert not net.is_active() and net.is_persistent()
    assert conn.list_networks() == [net] and conn.list_networks(active=False) == [net]
    assert conn.list_networks(active=True) == []
    assert net.bridge_name == "vtbr0"
    xml = net.xml_desc()
    assert "<name>lan</name>" in xml and f"<uuid>{net.uuid}</uuid>" in xml and "10.77.0.10" in xml
    assert net.dhcp_leases() == []


def test_definitions_survive_a_new_process(conn: virtcore.Connection, uri: str) -> None:
    net = conn.define_network(net_xml("kept"))
    net.autostart = True
    code = (
        "import sys, virtcore\n"
        "with virtcore.open(sys.argv[1]) as c:\n"
        "    n = c.lookup_network('kept')\n"
        "    print(n.uuid, n.autostart, n.is_active(), n.bridge_name)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [net.uuid, "True", "False", "vtbr0"]


def test_autostart_and_undefine(conn: virtcore.Connection, root: Path) -> None:
    net = conn.define_network(net_xml("auto"))
    assert not net.autostart
    net.autostart = True
    assert net.autostart and os.path.islink(root / "network" / "etc" / "autostart" / "auto.xml")
    net.autostart = False
    assert not net.autostart
    net.autostart = True
    net.undefine()
    assert state_files(root) == []
    with pytest.raises(NoNetworkError, match="auto") as err:
        conn.lookup_network("auto")
    assert err.value.code == ErrorNumber.NO_NETWORK
    with pytest.raises(NoNetworkError, match=net.uuid):
        net.undefine()


def test_redefine_keeps_uuid_and_refuses_clashes(conn: virtcore.Connection) -> None:
    net = conn.define_network(net_xml("one"))
    again = conn.define_network(
        net_xml("one", ip="10.77.0.1").replace("<name>one</name>", f"<name>one</name><uuid>{net.uuid}</uuid>")
    )
    assert again == net
    with pytest.raises(OperationFailedError, match="'one' already exists with uuid") as err:
        conn.define_network(net_xml("one", bridge="vtbr9", ip="10.78.0.1"))  # another UUID, same name
    assert err.value.code == ErrorNumber.OPERATION_FAILED
    other = net_xml("two", bridge="vtbr1", ip="10.79.0.1").replace(
        "<name>two</name>", f"<name>two</name><uuid>{net.uuid}</uuid>"
    )
    with pytest.raises(OperationFailedError, match=net.uuid):
        conn.define_network(other)
    with pytest.raises(OperationFailedError, match="bridge name 'vtbr0' of network 'three' is already used"):
        conn.define_network(net_xml("three", ip="10.80.0.1"))
    assert [n.name for n in conn.list_networks()] == ["one"]


def test_a_network_without_a_bridge_name_gets_a_free_one(conn: virtcore.Connection) -> None:
    a = conn.define_network(net_xml("a", bridge=None, ip="10.81.0.1"))
    b = conn.define_network(net_xml("b", bridge=None, ip="10.82.0.1"))
    assert (a.bridge_name, b.bridge_name) == ("vcbr0", "vcbr1")
    again = net_xml("a", bridge=None, ip="10.81.0.1").replace("</name>", f"</name><uuid>{a.uuid}</uuid>")
    assert conn.define_network(again).bridge_name == "vcbr0"  # a redefinition keeps its bridge


@pytest.mark.parametrize(
    "bridge",
    ["abcdefghijklmnop", "br/x", "br x", "br%d", "br,x", "-br", "br\u00e9", "br=x", "br\tx"],
)
def test_bad_bridge_names_are_refused_and_nothing_is_written(
    conn: virtcore.Connection, root: Path, bridge: str
) -> None:
    before = state_files(root)
    with pytest.raises(XMLError, match="bridge name") as err:
        conn.define_network(net_xml("bad", bridge=bridge))
    assert err.value.code == ErrorNumber.XML_ERROR
    assert state_files(root) == before
    with pytest.raises(NoNetworkError):
        conn.lookup_network("bad")


def test_a_dhcp_range_outside_the_subnet_is_refused(conn: virtcore.Connection, root: Path) -> None:
    xml = net_xml("out").replace("10.77.0.100", "10.77.1.100")
    with pytest.raises(
        ConfigUnsupportedError, match=r"10.77.0.10 - 10.77.1.100 is not entirely within"
    ) as err:
        conn.define_network(xml)
    assert err.value.code == ErrorNumber.CONFIG_UNSUPPORTED
    assert state_files(root) == []


@pytest.mark.parametrize(
    "extra",
    ["<mac address='01:00:5e:00:00:01'/>", "<mac address='ff:ff:ff:ff:ff:ff'/>"],
)
def test_a_multicast_mac_is_refused(conn: virtcore.Connection, root: Path, extra: str) -> None:
    with pytest.raises(XMLError, match="multicast"):
        conn.define_network(net_xml("mc", extra=extra))
    host = net_xml("mc").replace("</dhcp>", "<host mac='03:00:00:00:00:01' ip='10.77.0.5'/></dhcp>")
    with pytest.raises(XMLError, match="multicast"):
        conn.define_network(host)
    assert state_files(root) == []


@pytest.mark.parametrize(
    ("ip", "prefix"),
    [("10.77.0.1", 24), ("10.77.0.129", 25), ("10.77.0.1", 16), ("10.0.0.1", 8)],
)
def test_overlapping_subnets_are_refused(conn: virtcore.Connection, root: Path, ip: str, prefix: int) -> None:
    conn.define_network(net_xml("first"))
    before = state_files(root)
    xml = net_xml("second", bridge="vtbr1", ip=ip, prefix=prefix, dhcp=False)
    with pytest.raises(
        OperationFailedError, match=r"of network 'second' overlaps subnet 10.77.0.0/24 of network 'first'"
    ):
        conn.define_network(xml)
    assert state_files(root) == before
    conn.define_network(net_xml("second", bridge="vtbr1", ip="10.78.0.1"))  # a neighbour is fine


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("<domain name='ex.com&#10;port=53'/>", "domain name"),
        ("<domain name='ex.com port=0'/>", "domain name"),
        ("<domain name='a=b'/>", "domain name"),
        ("<dns><txt name='t' value='x&#10;dhcp-script=/bin/sh'/></dns>", "TXT"),
        ("<dns><host ip='10.77.0.5'><hostname>h,conf-file=/x</hostname></host></dns>", "hostname"),
        ("<dns><srv service='s' protocol='tcp' target='a&#10;b'/></dns>", "SRV"),
        ("<dns><forwarder domain='a/b' addr='10.1.1.1'/></dns>", "forwarder"),
    ],
)
def test_dnsmasq_options_cannot_be_smuggled(
    conn: virtcore.Connection, root: Path, extra: str, match: str
) -> None:
    with pytest.raises(VirtError, match=match):
        conn.define_network(net_xml("smuggle", extra=extra))
    assert state_files(root) == []


@pytest.mark.parametrize(
    "host",
    ["<host mac='52:54:00:00:00:09' name='x,y' ip='10.77.0.9'/>", "<host name='a&#10;b' ip='10.77.0.9'/>"],
)
def test_dhcp_host_names_cannot_be_smuggled(conn: virtcore.Connection, root: Path, host: str) -> None:
    with pytest.raises(XMLError, match="DHCP host name"):
        conn.define_network(net_xml("smuggle").replace("</dhcp>", host + "</dhcp>"))
    assert state_files(root) == []


def test_network_names_that_are_not_file_names_are_refused(conn: virtcore.Connection, root: Path) -> None:
    for name in ("a/b", "a&#10;b", "-x", "..", ".hidden"):
        with pytest.raises(XMLError):
            conn.define_network(net_xml(name))
    assert state_files(root) == []


def test_unsupported_forward_modes_are_refused(conn: virtcore.Connection) -> None:
    xml = "<network><name>p</name><forward mode='passthrough'><interface dev='eth9'/></forward></network>"
    with pytest.raises(NoSupportError, match="forward mode 'passthrough' of network 'p'"):
        conn.define_network(xml)


def test_update_changes_the_persistent_definition(conn: virtcore.Connection, uri: str) -> None:
    net = conn.define_network(net_xml("upd"))
    host = "<host mac='52:54:00:00:00:01' name='g1' ip='10.77.0.5'/>"
    net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, host, config=True)
    with virtcore.open(uri) as other:
        assert "52:54:00:00:00:01" in other.lookup_network("upd").xml_desc(inactive=True)
    with pytest.raises(OperationInvalidError, match="not running"):
        net.update(NetworkUpdateCommand.DELETE, NetworkSection.IP_DHCP_HOST, host, live=True)
    net.update(NetworkUpdateCommand.DELETE, NetworkSection.IP_DHCP_HOST, host)
    assert "52:54:00:00:00:01" not in net.xml_desc()


def test_start_and_destroy_of_inactive_networks(conn: virtcore.Connection) -> None:
    net = conn.define_network(net_xml("idle"))
    with pytest.raises(OperationInvalidError, match="network 'idle' is not active") as err:
        net.destroy()
    assert err.value.code == ErrorNumber.OPERATION_INVALID


def test_session_defines_but_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    with virtcore.open("network:///session") as conn:
        net = conn.define_network(net_xml("sess"))
        assert (tmp_path / "config" / "virtcore" / "network" / "sess.xml").is_file()
        with pytest.raises(
            NoSupportError,
            match=r"starting network 'sess' needs root .* \(a session connection keeps definitions only\)",
        ) as err:
            net.start()
        assert err.value.code == ErrorNumber.NO_SUPPORT
        assert not net.is_active()
        assert not list((tmp_path / "run" / "virtcore" / "network").glob("*.json"))


def test_read_only_connections_change_nothing(conn: virtcore.Connection, uri: str) -> None:
    conn.define_network(net_xml("ro"))
    with virtcore.open_read_only(uri) as ro:
        net = ro.lookup_network("ro")
        for change in (net.start, net.undefine):
            with pytest.raises(virtcore.errors.OperationDeniedError):
                change()


NOT_ROOT = """
import sys, virtcore
from virtcore.errors import NoSupportError
with virtcore.open(sys.argv[1]) as c:
    n = c.define_network(sys.argv[2])
    try:
        n.start()
    except NoSupportError as e:
        print(e.code, e)
    print(n.is_active(), [x.name for x in c.list_networks()])
"""


def test_an_embed_root_of_a_user_who_is_not_root_defines_but_cannot_start() -> None:
    """As a user who is not root (the tests' root runs it as nobody), start says it needs root."""
    home = Path(tempfile.mkdtemp(prefix="virt-network-user-"))  # beside, not under, root's private tmp
    try:
        home.chmod(0o777)
        argv = [sys.executable, "-c", NOT_ROOT, f"network:///embed?root={home}", net_xml("mine")]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()
        assert out == [
            "3 this function is not supported by the connection driver: starting network 'mine' needs root"
            " to make its bridge, run dnsmasq and add firewall rules (this process is not root)",
            "False ['mine']",
        ]
        assert (home / "network" / "etc" / "mine.xml").is_file()
        assert not list((home / "network" / "run").glob("*.json"))
    finally:
        shutil.rmtree(home)
