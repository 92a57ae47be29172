"""The host object half of the conformance suite: node devices, host interfaces, secrets.

:class:`HostObjectConformance` is mixed into
:class:`~virtcore.testing.DriverConformance`, so every driver run through the
suite meets these tests; a driver without one of these object types sees each
of its tests xfail naming the operation it lacks (``need``), and the first
test pins that such a driver raises ``NoSupportError`` naming the operation.
Interfaces and secrets a test defines are named for the test and the process,
and removed afterwards even when the test fails. (Host interfaces are the
host's own network configuration: only run these against a driver whose
interfaces are not the machine's, or inside a throwaway machine.)
"""

from __future__ import annotations

import os
import uuid as uuidlib
from collections.abc import Callable, Iterator

import pytest

import virtcore
from virtcore.errors import (
    InvalidSecretError,
    NoInterfaceError,
    NoNodeDeviceError,
    NoSecretError,
    NoSupportError,
    OperationDeniedError,
    OperationInvalidError,
    VirtError,
    XMLError,
)
from virtcore.secret import SecretUsageType
from virtcore.testing.support import need

__all__ = ["HostObjectConformance"]

Conn = virtcore.Connection

#: One operation per object type, and a call that needs it.
_PROBES: dict[str, Callable[[Conn], object]] = {
    "connect_list_all_node_devices": lambda c: c.list_node_devices(),
    "connect_list_all_interfaces": lambda c: c.list_interfaces(),
    "connect_list_all_secrets": lambda c: c.list_secrets(),
}


class HostObjectConformance:
    """Conformance tests for node devices, host interfaces and secrets (a mixin of ``DriverConformance``)."""

    @pytest.fixture
    def made_objects(self, conn: Conn) -> Iterator[list[object]]:
        """Interfaces and secrets this test defined: undefined afterwards."""
        made: list[object] = []
        yield made
        for obj in reversed(made):
            try:
                if isinstance(obj, virtcore.Interface) and obj.is_active():
                    obj.destroy()
                if isinstance(obj, (virtcore.Interface, virtcore.Secret)):
                    obj.undefine()
            except VirtError:
                pass

    @pytest.fixture
    def object_name(self, request: pytest.FixtureRequest) -> str:
        """A name for this test's interface (short: interface names are at most 15 bytes on Linux)."""
        return f"vc{os.getpid() % 100000}{len(request.node.name) % 100}"

    def test_hostobj_unsupported_types_name_the_operation(self, conn: Conn) -> None:
        for op, call in _PROBES.items():
            if conn.supports(op):
                continue
            with pytest.raises(NoSupportError, match=op):
                call(conn)

    # -- node devices --------------------------------------------------------

    def test_hostobj_node_devices_list_look_up_and_describe(self, conn: Conn) -> None:
        need(conn, "connect_list_all_node_devices", "node_device_lookup_by_name", "node_device_get_xml_desc")
        need(conn, "node_device_list_caps")
        from virtcore.xml import parse_node_device  # the suite reads the XML with virtcore's model

        devices = conn.list_node_devices()  # may be empty (a test node file without <device>)
        names = {d.name for d in devices}
        for dev in devices:
            assert conn.lookup_node_device(dev.name) == dev
            model = parse_node_device(dev.xml_desc())
            assert model.name == dev.name
            assert list(model.cap_types) == dev.capabilities()
            assert dev.parent is None or dev.parent in names
            for cap in dev.capabilities():
                assert dev in conn.list_node_devices(cap)
        assert conn.list_node_devices("no-such-capability") == []
        with pytest.raises(NoNodeDeviceError, match="no-such-device"):
            conn.lookup_node_device("no-such-device")

    def test_hostobj_node_device_create_refuses_what_is_no_vhba(self, conn: Conn) -> None:
        need(conn, "node_device_create_xml")
        with pytest.raises(XMLError):
            conn.create_node_device("<device")
        with pytest.raises(VirtError, match="fibre channel"):
            conn.create_node_device("<device><capability type='scsi_host'/></device>")

    # -- host interfaces -----------------------------------------------------

    def test_hostobj_interface_life_cycle(
        self, conn: Conn, made_objects: list[object], object_name: str
    ) -> None:
        need(conn, "interface_define_xml", "interface_create", "interface_destroy", "interface_undefine")
        need(conn, "interface_is_active", "interface_lookup_by_mac_string", "interface_get_xml_desc")
        mac = f"52:54:00:{os.getpid() % 256:02x}:a0:01"
        iface = conn.define_interface(
            f"<interface type='ethernet' name='{object_name}'><start mode='none'/>"
            f"<mac address='{mac}'/></interface>"
        )
        made_objects.append(iface)
        assert (iface.name, iface.mac.lower()) == (object_name, mac)
        assert not iface.is_active()
        assert iface in conn.list_interfaces(active=False) and iface not in conn.list_interfaces(active=True)
        assert conn.lookup_interface(object_name) == iface
        assert conn.lookup_interface_by_mac(mac.upper()) == iface
        assert f'name="{object_name}"' in iface.xml_desc() or f"name='{object_name}'" in iface.xml_desc()
        iface.start()
        assert iface.is_active() and iface in conn.list_interfaces(active=True)
        with pytest.raises(OperationInvalidError):
            iface.start()
        iface.destroy()
        with pytest.raises(OperationInvalidError):
            iface.destroy()
        iface.undefine()
        with pytest.raises(NoInterfaceError, match=object_name):
            conn.lookup_interface(object_name)
        with pytest.raises(NoInterfaceError, match=mac):
            conn.lookup_interface_by_mac(mac)

    def test_hostobj_interface_xml_is_refused_as_libvirt_refuses_it(self, conn: Conn) -> None:
        need(conn, "interface_define_xml")
        for bad in (
            "<interface name='x'/>",
            "<interface type='ethernet'/>",
            "<interface type='vlan' name='v'/>",
        ):
            with pytest.raises(XMLError):
                conn.define_interface(bad)

    # -- secrets -------------------------------------------------------------

    def test_hostobj_secret_life_cycle(
        self, conn: Conn, made_objects: list[object], object_name: str
    ) -> None:
        need(conn, "secret_define_xml", "secret_set_value", "secret_get_value", "secret_undefine")
        need(conn, "secret_lookup_by_usage", "secret_lookup_by_uuid", "secret_get_xml_desc")
        uuid = str(uuidlib.uuid4())
        path = f"/conformance/{object_name}.img"
        secret = conn.define_secret(
            f"<secret ephemeral='yes' private='no'><uuid>{uuid}</uuid>"
            f"<usage type='volume'><volume>{path}</volume></usage></secret>"
        )
        made_objects.append(secret)
        assert (secret.uuid, secret.usage_type, secret.usage_id) == (uuid, SecretUsageType.VOLUME, path)
        assert secret in conn.list_secrets()
        assert conn.lookup_secret_by_uuid(uuid.upper()) == secret
        assert conn.lookup_secret_by_usage("volume", path) == secret
        with pytest.raises(NoSecretError, match=uuid):
            secret.value()
        secret.set_value(b"\x00s3cr3t\xff")
        assert secret.value() == b"\x00s3cr3t\xff"
        assert "s3cr3t" not in secret.xml_desc() and uuid in secret.xml_desc()
        with pytest.raises(VirtError, match=uuid):  # the usage is taken by this secret
            conn.define_secret(f"<secret><usage type='volume'><volume>{path}</volume></usage></secret>")
        secret.undefine()
        with pytest.raises(NoSecretError, match=uuid):
            conn.lookup_secret_by_uuid(uuid)
        with pytest.raises(NoSecretError, match=path):
            conn.lookup_secret_by_usage(SecretUsageType.VOLUME, path)

    def test_hostobj_private_secret_value_cannot_be_read(
        self, conn: Conn, made_objects: list[object], object_name: str
    ) -> None:
        need(conn, "secret_define_xml", "secret_set_value", "secret_get_value")
        secret = conn.define_secret(
            f"<secret ephemeral='yes' private='yes'><usage type='ceph'>"
            f"<name>{object_name}</name></usage></secret>"
        )
        made_objects.append(secret)
        secret.set_value("pw")
        with pytest.raises(InvalidSecretError, match="private"):
            secret.value()
        with pytest.raises(VirtError, match="private flag"):
            conn.define_secret(
                f"<secret private='no'><uuid>{secret.uuid}</uuid><usage type='ceph'>"
                f"<name>{object_name}</name></usage></secret>"
            )

    def test_hostobj_read_only_connections_read_but_never_change(self, uri: str) -> None:
        with virtcore.open_read_only(uri) as ro:
            need(ro, "secret_define_xml", "interface_define_xml")
            with pytest.raises(OperationDeniedError):
                ro.define_secret("<secret><usage type='tls'><name>x</name></usage></secret>")
            with pytest.raises(OperationDeniedError):
                ro.define_interface("<interface type='ethernet' name='ro0'/>")
            for secret in ro.list_secrets():
                with pytest.raises(OperationDeniedError):
                    secret.value()
            assert isinstance(ro.list_interfaces(), list)
