"""virt-test's node devices, host interfaces and secrets: the default node, node files, rules, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import virt_test
from virt_test.loader import DEFAULT_NODE_XML

import virtcore
from virtcore.errors import (
    ErrorDomain,
    ErrorNumber,
    InternalError,
    InvalidSecretError,
    NoNodeDeviceError,
    NoSecretError,
    OperationDeniedError,
    XMLError,
)
from virtcore.secret import SecretUsageType
from virtcore.xml import parse_interface, parse_node_device, parse_secret

VHBA = (
    "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>"
    "<wwnn>2000000012340001</wwnn><wwpn>1000000012340001</wwpn></capability></capability></device>"
)


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


@pytest.fixture
def conn() -> Iterator[virtcore.Connection]:
    with virtcore.open("test:///default") as c:
        yield c


def test_the_default_node_has_libvirts_devices_and_interface(conn: virtcore.Connection) -> None:
    devices = {d.name: (d.parent, d.capabilities()) for d in conn.list_node_devices()}
    assert devices == {
        "computer": (None, ["system"]),
        "scsi_host1": ("computer", ["scsi_host"]),
        "scsi_host2": ("computer", ["scsi_host"]),
        "scsi_host11": ("scsi_host1", ["scsi_host"]),
    }
    assert [d.name for d in conn.list_node_devices("vports")] == ["scsi_host1", "scsi_host2"]
    fc = parse_node_device(conn.lookup_node_device("scsi_host2").xml_desc()).fc_host
    assert fc is not None and fc.wwnn == "2000000056785678"
    (eth1,) = conn.list_interfaces()
    assert (eth1.name, eth1.mac, eth1.is_active()) == ("eth1", "aa:bb:cc:dd:ee:ff", True)
    model = parse_interface(eth1.xml_desc())
    assert (model.mtu, model.protocols[0].ips[0].address, model.protocols[0].gateway) == (
        1492,
        "192.168.0.5",
        "192.168.0.1",
    )
    assert conn.list_secrets() == []


def test_a_private_copy_of_the_default_node_has_them_too(tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_text(DEFAULT_NODE_XML)
    with virtcore.open(f"test://{node}") as c:
        assert len(c.list_node_devices()) == 4 and [i.name for i in c.list_interfaces()] == ["eth1"]
        c.lookup_interface("eth1").destroy()
    with virtcore.open(f"test://{node}") as c:  # each connection to a node file has its own state
        assert c.lookup_interface("eth1").is_active()


def test_a_vhba_is_made_and_destroyed_as_libvirts_mock_does(conn: virtcore.Connection) -> None:
    vhba = conn.create_node_device(VHBA)
    assert (vhba.name, vhba.parent) == ("scsi_host12", "scsi_host1")
    model = parse_node_device(vhba.xml_desc())
    assert model.fc_host is not None and (model.fc_host.wwnn, model.fc_host.wwpn) == (
        "2000000012340001",
        "1000000012340001",
    )
    with virtcore.open("test:///default") as other:  # the default node is shared
        assert other.lookup_node_device("scsi_host12").capabilities() == ["scsi_host"]
    vhba.destroy()
    with pytest.raises(NoNodeDeviceError, match="scsi_host12") as exc:
        vhba.destroy()
    assert (exc.value.code, exc.value.domain) == (ErrorNumber.NO_NODE_DEVICE, ErrorDomain.TEST)


@pytest.mark.parametrize(
    ("xml", "match"),
    [
        (VHBA.replace("scsi_host1", "nosuch"), "Could not find parent device for 'new device'"),
        (VHBA.replace("scsi_host1", "scsi_host11"), "Parent device scsi_host11 is not capable of vport"),
        (
            "<device><parent>scsi_host1</parent><capability type='scsi_host'/></device>",
            "not a fibre channel HBA",
        ),
        ("<device><name>v</name></device>", "no device capabilities for 'v'"),
    ],
)
def test_what_is_no_vhba_is_refused_as_libvirt_refuses_it(
    conn: virtcore.Connection, xml: str, match: str
) -> None:
    with pytest.raises(InternalError, match=match) as exc:
        conn.create_node_device(xml)
    assert exc.value.domain == ErrorDomain.NODEDEV
    assert len(conn.list_node_devices()) == 4  # nothing half-made


def test_only_a_vhba_can_be_destroyed(conn: virtcore.Connection) -> None:
    with pytest.raises(InternalError, match="not a fibre channel HBA"):
        conn.lookup_node_device("computer").destroy()
    assert conn.lookup_node_device("computer").name == "computer"


def test_a_node_file_with_a_bad_device_or_interface_is_refused_naming_it(tmp_path: Path) -> None:
    for bad in ("<device><name>d</name></device>", "<interface name='x'/>"):
        node = tmp_path / "node.xml"
        node.write_text(f"<node>{bad}</node>")
        with pytest.raises(XMLError, match=str(node)):
            virtcore.open(f"test://{node}")


def test_node_file_interfaces_are_loaded_active(tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    (tmp_path / "br.xml").write_text(
        "<interface type='bridge' name='br0'><bridge stp='off'>"
        "<interface type='ethernet' name='eth0'/></bridge></interface>"
    )
    node.write_text("<node><interface file='br.xml'/><interface type='ethernet' name='eth5'/></node>")
    with virtcore.open(f"test://{node}") as c:
        assert sorted((i.name, i.mac, i.is_active()) for i in c.list_interfaces()) == [
            ("br0", "", True),
            ("eth5", "", True),
        ]
        assert parse_interface(c.lookup_interface("br0").xml_desc()).bridge is not None


def test_a_redefined_secret_keeps_its_value_and_refuses_what_libvirt_refuses(
    conn: virtcore.Connection,
) -> None:
    s = conn.define_secret("<secret private='no'><usage type='tls'><name>web</name></usage></secret>")
    s.set_value(b"v1")
    again = conn.define_secret(
        f"<secret private='no'><uuid>{s.uuid}</uuid><description>d</description>"
        "<usage type='tls'><name>web</name></usage></secret>"
    )
    assert again == s and s.value() == b"v1"
    assert parse_secret(s.xml_desc()).description == "d"
    with pytest.raises(
        InternalError, match=f"a secret with UUID {s.uuid} is already defined for use with web"
    ):
        conn.define_secret(
            f"<secret><uuid>{s.uuid}</uuid><usage type='tls'><name>other</name></usage></secret>"
        )
    with pytest.raises(InternalError, match=f"a secret with UUID {s.uuid} already defined for use with web"):
        conn.define_secret("<secret><usage type='tls'><name>web</name></usage></secret>")
    private = conn.define_secret(
        f"<secret private='yes'><uuid>{s.uuid}</uuid><usage type='tls'><name>web</name></usage></secret>"
    )
    with pytest.raises(InvalidSecretError, match="secret is private") as exc:
        private.value()
    assert exc.value.code == ErrorNumber.INVALID_SECRET
    with pytest.raises(InternalError, match="cannot change private flag"):
        conn.define_secret(
            f"<secret private='no'><uuid>{s.uuid}</uuid><usage type='tls'><name>web</name></usage></secret>"
        )
    assert [x.uuid for x in conn.list_secrets()] == [s.uuid]


def test_secrets_are_looked_up_by_usage_and_refused_with_libvirts_codes(conn: virtcore.Connection) -> None:
    vol = conn.define_secret("<secret><usage type='volume'><volume>/v.img</volume></usage></secret>")
    none = conn.define_secret("<secret/>")
    assert (none.usage_type, none.usage_id) == (SecretUsageType.NONE, "")
    assert conn.lookup_secret_by_usage(SecretUsageType.VOLUME, "/v.img") == vol
    assert conn.lookup_secret_by_usage(1, "/v.img") == vol
    with pytest.raises(NoSecretError, match=r"no secret with matching usage '/v\.img'"):
        conn.lookup_secret_by_usage("ceph", "/v.img")
    with pytest.raises(NoSecretError, match=f"secret '{vol.uuid}' does not have a value") as exc:
        vol.value()
    assert (exc.value.code, exc.value.domain) == (ErrorNumber.NO_SECRET, ErrorDomain.SECRET)


def test_a_read_only_connection_may_not_read_a_secret_value(conn: virtcore.Connection) -> None:
    s = conn.define_secret("<secret><usage type='iscsi'><target>t</target></usage></secret>")
    s.set_value("pw")
    with virtcore.open_read_only("test:///default") as ro:
        (seen,) = ro.list_secrets()
        assert seen.usage_id == "t" and "iscsi" in seen.xml_desc()
        with pytest.raises(OperationDeniedError, match="secret_get_value"):
            seen.value()
        with pytest.raises(OperationDeniedError):
            seen.undefine()
        with pytest.raises(OperationDeniedError):
            ro.create_node_device(VHBA)
        with pytest.raises(OperationDeniedError):
            ro.lookup_interface("eth1").destroy()
    assert s.value() == b"pw"
