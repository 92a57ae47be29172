"""virt-test's networks: libvirt's ``default`` network, its state machine and each error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import virt_test
from virt_test.loader import DEFAULT_NETWORK, DEFAULT_NETWORK_XML

import virtcore
from virtcore.errors import (
    ArgumentUnsupportedError,
    ErrorDomain,
    ErrorNumber,
    InternalError,
    NoNetworkError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    VirtError,
    XMLError,
)
from virtcore.network import NetworkSection, NetworkUpdateCommand

DEFAULT_UUID = "dd8fe884-6c02-601e-7551-cca97df1c5df"


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


@pytest.fixture
def conn() -> Iterator[virtcore.Connection]:
    with virtcore.open("test:///default") as c:
        yield c


def test_default_has_libvirts_default_network_active_on_virbr0(conn: virtcore.Connection) -> None:
    net = conn.lookup_network("default")
    assert (net.name, net.uuid) == ("default", DEFAULT_UUID)
    assert net == conn.lookup_network_by_uuid(DEFAULT_UUID.upper())
    assert net.is_active() and net.is_persistent() and not net.autostart
    assert net.bridge_name == "virbr0"
    assert net.xml_desc() == DEFAULT_NETWORK_XML
    assert "<range start='192.168.122.2' end='192.168.122.254'/>" in net.xml_desc(inactive=True)
    assert net.dhcp_leases() == []  # no DHCP server in the mock
    assert [n.name for n in conn.list_networks()] == ["default"]
    assert [n.name for n in conn.list_networks(active=True)] == ["default"]
    assert conn.list_networks(active=False) == []


def test_the_pending_default_network_says_what_its_xml_says() -> None:
    xml = DEFAULT_NETWORK.xml
    assert f"<name>{DEFAULT_NETWORK.name}</name>" in xml
    assert f"<uuid>{DEFAULT_NETWORK.uuid}</uuid>" in xml
    assert f"<bridge name='{DEFAULT_NETWORK.bridge_name}'" in xml


def test_unknown_networks_are_no_network_errors_naming_them(conn: virtcore.Connection) -> None:
    with pytest.raises(NoNetworkError) as err:
        conn.lookup_network("nope")
    assert err.value.code == ErrorNumber.NO_NETWORK == 43
    assert err.value.domain == ErrorDomain.TEST  # raised by libvirt's test driver itself
    assert str(err.value) == "Network not found: no network with matching name 'nope'"
    with pytest.raises(
        NoNetworkError, match="no network with matching uuid '11111111-2222-3333-4444-555555555555'"
    ):
        conn.lookup_network_by_uuid("11111111-2222-3333-4444-555555555555")


def test_start_and_destroy_follow_the_state_with_libvirts_errors(conn: virtcore.Connection) -> None:
    net = conn.lookup_network("default")
    with pytest.raises(OperationInvalidError) as err:
        net.start()
    assert str(err.value) == "Requested operation is not valid: Network 'default' is already running"
    assert err.value.code == 55
    net.destroy()
    assert not net.is_active() and net.is_persistent()
    assert [n.name for n in conn.list_networks(active=False)] == ["default"]
    with pytest.raises(OperationInvalidError, match="network 'default' is not active"):
        net.destroy()
    net.start()
    assert net.is_active()


def test_a_state_change_is_seen_by_every_connection_of_the_node(conn: virtcore.Connection) -> None:
    with virtcore.open("test:///default") as other:
        conn.lookup_network("default").destroy()
        assert not other.lookup_network("default").is_active()


def test_autostart_is_kept_and_undefine_leaves_an_active_network_running_as_transient(
    conn: virtcore.Connection,
) -> None:
    net = conn.lookup_network("default")
    net.autostart = True
    assert net.autostart
    net.undefine()
    assert net.is_active() and not net.is_persistent() and not net.autostart
    with pytest.raises(OperationInvalidError, match="cannot set autostart for transient network"):
        net.autostart = True
    with pytest.raises(OperationInvalidError, match="network 'default' is not persistent"):
        net.undefine()
    net.destroy()  # a transient network vanishes when it stops
    with pytest.raises(NoNetworkError, match="'default'"):
        conn.lookup_network("default")
    with pytest.raises(NoNetworkError, match=DEFAULT_UUID):
        net.is_active()
    assert conn.list_networks() == []


def test_undefining_an_inactive_network_removes_it(conn: virtcore.Connection) -> None:
    net = conn.lookup_network("default")
    net.destroy()
    net.undefine()
    assert conn.list_networks() == []
    with pytest.raises(NoNetworkError):
        net.dhcp_leases()


def test_read_only_connections_read_networks_but_change_none() -> None:
    with virtcore.open_read_only("test:///default") as ro:
        net = ro.lookup_network("default")
        assert net.is_active()
        for change in (net.destroy, net.undefine, net.start):
            with pytest.raises(OperationDeniedError):
                change()
        assert net.is_active() and net.is_persistent()


def test_a_network_without_a_bridge_name_says_so(conn: virtcore.Connection) -> None:
    assert virt_test._default is not None  # the open connection holds test:///default's node
    networks = virt_test._default.networks
    networks.add_loaded(
        DEFAULT_NETWORK._replace(
            name="nobridge", uuid="0b6c5a9e-3b1c-4a3e-8f43-0d5e6f708192", bridge_name=None
        )
    )
    with pytest.raises(InternalError, match=r"network 'nobridge' does not have a bridge name\."):
        _ = conn.lookup_network("nobridge").bridge_name


LAB = "<network><name>lab</name><bridge name='vcbr1'/><ip address='10.10.0.1' prefix='24'/></network>"


def test_define_start_and_redefine_while_active(conn: virtcore.Connection) -> None:
    net = conn.define_network(LAB)
    assert (net.name, net.is_active(), net.is_persistent()) == ("lab", False, True)
    assert net.bridge_name == "vcbr1"
    net.start()
    uuid_xml = f"<uuid>{net.uuid}</uuid>"
    conn.define_network(LAB.replace("vcbr1", "vcbr7").replace("</name>", "</name>" + uuid_xml))
    assert net.bridge_name == "vcbr1"  # the running network keeps its definition...
    assert "vcbr7" in net.xml_desc(inactive=True) and "vcbr7" not in net.xml_desc()
    net.destroy()
    assert net.bridge_name == "vcbr7"  # ...until it stops


def test_create_makes_a_transient_network_and_refuses_an_active_one(conn: virtcore.Connection) -> None:
    net = conn.create_network(LAB)
    assert net.is_active() and not net.is_persistent()
    with pytest.raises(OperationInvalidError, match="network is already active as 'lab'"):
        conn.create_network(LAB.replace("</name>", f"</name><uuid>{net.uuid}</uuid>"))
    with pytest.raises(OperationFailedError, match=f"network 'lab' already exists with uuid {net.uuid}"):
        conn.define_network(LAB)  # a new UUID for a name already taken
    net.destroy()
    assert [n.name for n in conn.list_networks()] == ["default"]


def test_bad_network_xml_is_refused_and_nothing_is_defined(conn: virtcore.Connection) -> None:
    with pytest.raises(XMLError):
        conn.define_network("<network><name>x</name>")
    with pytest.raises(VirtError) as err:
        conn.define_network("<network><name>bad</name><bridge name='a-bridge-name-too-long'/></network>")
    assert "a-bridge-name-too-long" in str(err.value)
    assert [n.name for n in conn.list_networks()] == ["default"]


def test_a_private_copy_of_the_default_node_has_the_default_network(tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_text(virt_test.default_node_xml())
    with virtcore.open(f"test://{node}") as c:
        net = c.lookup_network("default")
        assert (net.uuid, net.bridge_name, net.is_active()) == (DEFAULT_UUID, "virbr0", True)


def _hosts(xml: str) -> list[str]:
    return re.findall(r"<host [^>]*mac=.([0-9a-f:]+)", xml)


HOST = "<host mac='52:54:00:00:00:01' ip='192.168.122.10'/>"


def test_update_live_changes_only_the_running_definition(conn: virtcore.Connection) -> None:
    net = conn.lookup_network("default")
    net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, HOST)  # current: live, as active
    assert _hosts(net.xml_desc()) == ["52:54:00:00:00:01"]
    assert _hosts(net.xml_desc(inactive=True)) == []
    net.update(
        NetworkUpdateCommand.ADD_FIRST, NetworkSection.IP_DHCP_HOST, HOST.replace("01", "02"), config=True
    )
    assert _hosts(net.xml_desc(inactive=True)) == ["52:54:00:00:00:02"]
    net.destroy()  # stopping drops the live-only change; the config's host is what remains
    assert _hosts(net.xml_desc()) == ["52:54:00:00:00:02"]
    with pytest.raises(OperationInvalidError, match="network is not running"):
        net.update(NetworkUpdateCommand.DELETE, NetworkSection.IP_DHCP_HOST, HOST, live=True)


def test_a_refused_update_changes_nothing(conn: virtcore.Connection) -> None:
    net = conn.lookup_network("default")
    net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, HOST, live=True, config=True)
    before = (net.xml_desc(), net.xml_desc(inactive=True))
    with pytest.raises(
        OperationInvalidError, match="there is an existing dhcp host entry in network 'default'"
    ):
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, HOST, live=True, config=True)
    with pytest.raises(XMLError, match="expecting <host>"):
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, "<range start='x' end='y'/>")
    with pytest.raises(XMLError):
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, "<host mac='01:00:5e:00:00:01")
    with pytest.raises(
        ArgumentUnsupportedError, match="can't update 'dns-host' section of network 'default'"
    ):
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.DNS_HOST, "<host ip='192.168.122.5'/>")
    with pytest.raises(OperationInvalidError, match="couldn't locate a matching dhcp host entry"):
        net.update(NetworkUpdateCommand.DELETE, NetworkSection.IP_DHCP_HOST, HOST.replace(".10", ".11"))
    with pytest.raises(OperationInvalidError, match="no <ip> element found at index 3"):
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, HOST, parent_index=3)
    assert (net.xml_desc(), net.xml_desc(inactive=True)) == before


def test_update_config_of_a_transient_network_is_refused(conn: virtcore.Connection) -> None:
    net = conn.create_network(LAB)
    with pytest.raises(OperationInvalidError, match="cannot change persistent config of a transient network"):
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, HOST, config=True)
    # a network without <dhcp> gets one holding the host
    net.update(
        NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, HOST.replace("192.168.122", "10.10.0")
    )
    assert _hosts(net.xml_desc()) == ["52:54:00:00:00:01"]


def test_default_state_is_forgotten_when_its_last_connection_closes() -> None:
    """libvirt's test driver frees test:///default when the last connection on it closes."""
    first = virtcore.open("test:///default")
    second = virtcore.open("test:///default")
    first.lookup_domain("test").destroy()
    first.close()
    assert not second.lookup_domain("test").is_active()  # still open: the same state
    second.close()
    with virtcore.open("test:///default") as again:
        assert again.lookup_domain("test").is_active()  # libvirt's defaults again
