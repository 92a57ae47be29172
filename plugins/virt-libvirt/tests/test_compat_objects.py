"""Node devices, host interfaces and secrets through libvirt's classes (virt-test's host objects).

libvirt 9.0's test driver has no secrets, so those are checked here on their own;
devices and interfaces are also in scenario_shapes.py, side by side.
"""

from __future__ import annotations

from collections.abc import Iterator

import libvirt
import pytest

SECRET_UUID = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"
SECRET_XML = (
    f"<secret ephemeral='no' private='no'><uuid>{SECRET_UUID}</uuid>"
    "<usage type='volume'><volume>/var/lib/images/a.img</volume></usage></secret>"
)


@pytest.fixture
def conn(virt_uri: str) -> Iterator[libvirt.virConnect]:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open(virt_uri)
    yield c
    c.close()
    libvirt.registerErrorHandler(None, None)


def test_a_secret_round_trip(conn: libvirt.virConnect) -> None:
    secret = conn.secretDefineXML(SECRET_XML, 0)
    assert type(secret) is libvirt.virSecret and secret.UUIDString() == SECRET_UUID
    assert secret.UUID() == bytes.fromhex(SECRET_UUID.replace("-", ""))
    assert secret.usageType() == libvirt.VIR_SECRET_USAGE_TYPE_VOLUME
    assert secret.usageID() == "/var/lib/images/a.img"
    with pytest.raises(libvirt.libvirtError) as caught:
        secret.value()
    assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_SECRET
    assert secret.setValue(b"s3cret") == 0 and secret.value() == b"s3cret"
    found = conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_VOLUME, "/var/lib/images/a.img")
    assert found.UUIDString() == SECRET_UUID
    assert conn.listSecrets() == [SECRET_UUID] and conn.numOfSecrets() == 1
    public = conn.listAllSecrets(libvirt.VIR_CONNECT_LIST_SECRETS_NO_PRIVATE)
    assert [s.UUIDString() for s in public] == [SECRET_UUID]
    assert conn.listAllSecrets(libvirt.VIR_CONNECT_LIST_SECRETS_PRIVATE) == []
    assert secret.undefine() == 0
    with pytest.raises(libvirt.libvirtError) as caught:
        conn.secretLookupByUUID(secret.UUID())
    assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_SECRET


def test_node_devices_and_interfaces(conn: libvirt.virConnect) -> None:
    dev = conn.nodeDeviceLookupByName("scsi_host1")
    assert type(dev) is libvirt.virNodeDevice and dev.parent() == "computer"
    assert "scsi_host" in dev.listCaps() and "<device>" in dev.XMLDesc(0)
    hosts = conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST)
    assert {d.name() for d in hosts} == set(conn.listDevices("scsi_host", 0))
    iface = conn.interfaceLookupByName("eth1")
    assert type(iface) is libvirt.virInterface and iface.isActive() == 1
    assert conn.interfaceLookupByMACString(iface.MACString()).name() == "eth1"
    assert iface.destroy(0) == 0 and iface.isActive() == 0
    assert conn.listDefinedInterfaces() == ["eth1"]
    assert [i.name() for i in conn.listAllInterfaces(libvirt.VIR_CONNECT_LIST_INTERFACES_INACTIVE)] == [
        "eth1"
    ]
    with pytest.raises(libvirt.libvirtError) as caught:
        iface.create(1 << 5)
    assert caught.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_domain_statistics_have_libvirts_keys(conn: libvirt.virConnect) -> None:
    ((dom, stats),) = conn.getAllDomainStats(0, 0)
    assert dom.name() == "test" and type(dom) is libvirt.virDomain
    state, max_kib, kib, vcpus, _ = dom.info()
    assert (stats["state.state"], stats["balloon.current"], stats["balloon.maximum"]) == (state, kib, max_kib)
    assert stats["vcpu.current"] == vcpus == stats["vcpu.maximum"] and "vcpu.1.time" in stats
    assert {"cpu.time", "cpu.user", "cpu.system", "balloon.rss"} <= set(stats)
    only = conn.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_PERF, 0)
    assert {k.split(".")[0] for k in only[0][1]} == {"balloon"}  # an unknown group is left out
    dom.destroy()
    off = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_STATE, 0)[0][1]
    assert off["state.state"] == libvirt.VIR_DOMAIN_SHUTOFF and "vcpu.0.time" not in off
