"""Debian's python3-libvirt on host interfaces, node devices and secrets through ``virtcore serve``.

One script, run by the system interpreter (python3-libvirt 9.0), once against libvirt's
own test driver in-process (``test:///default``) and once against ``virtcore serve`` of
virt-test's ``test:///default``: the answers must be the same. libvirt's test driver has
no secrets, so the script's secret part runs against ``virtcore serve`` only, with its
answers written out here.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_support import Served, has_python3_libvirt, run_python3_libvirt, serving

pytestmark = pytest.mark.skipif(not has_python3_libvirt(), reason="Debian's python3-libvirt is not installed")

TEST = "test:///default"

SCRIPT = r"""
import json, sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
out = {}

def record(name, call):
    try:
        out[name] = call()
    except libvirt.libvirtError as e:
        out[name] = ["error", e.get_error_code(), e.get_error_message()]

record("ifaces", lambda: sorted((i.name(), i.MACString(), i.isActive()) for i in conn.listAllInterfaces()))
record("active ifaces", lambda: conn.listInterfaces())
record("defined ifaces", lambda: conn.listDefinedInterfaces())
record("num ifaces", lambda: [conn.numOfInterfaces(), conn.numOfDefinedInterfaces()])
record("eth1 xml", lambda: conn.interfaceLookupByName("eth1").XMLDesc(0))
record("by mac", lambda: conn.interfaceLookupByMACString("AA:BB:CC:DD:EE:FF").name())
record("no iface", lambda: conn.interfaceLookupByName("nope0"))
record("no mac", lambda: conn.interfaceLookupByMACString("00:11:22:33:44:55"))
xml = ("<interface type='ethernet' name='vc-py9'><start mode='none'/>"
       "<mac address='52:54:00:aa:bb:cc'/></interface>")
def life():
    iface = conn.interfaceDefineXML(xml, 0)
    steps = [iface.isActive(), iface.create(0), iface.isActive()]
    try:
        iface.create(0)
    except libvirt.libvirtError as e:
        steps.append(e.get_error_code())  # the words differ: libvirt names no interface
    steps += [iface.destroy(0), iface.isActive(), iface.undefine()]
    return steps
record("iface life", life)
def bad_xml():
    try:
        conn.interfaceDefineXML("<interface name='x'/>", 0)
    except libvirt.libvirtError as e:
        return e.get_error_code()  # the words are the XML parser's own
record("bad iface xml", bad_xml)
record("devices", lambda: sorted(conn.listDevices(None, 0)))
record("all devices", lambda: sorted(d.name() for d in conn.listAllDevices(0)))
record("scsi hosts", lambda: sorted(conn.listDevices("scsi_host", 0)))
record("num devices", lambda: conn.numOfDevices(None, 0))
FC_HOST = libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST
record("fc hosts", lambda: sorted(d.name() for d in conn.listAllDevices(FC_HOST)))
dev = conn.nodeDeviceLookupByName("scsi_host11")
record("parent", dev.parent)
record("caps", lambda: [dev.numOfCaps(), dev.listCaps()])
record("dev xml", lambda: dev.XMLDesc(0))
record("root parent", lambda: conn.nodeDeviceLookupByName("computer").parent())
record("no dev", lambda: conn.nodeDeviceLookupByName("nope"))
if len(sys.argv) > 2:  # secrets: libvirt's test driver has none to compare with
    sxml = ("<secret ephemeral='no' private='no'><uuid>%s</uuid><usage type='ceph'>"
            "<name>vc-py</name></usage></secret>" % sys.argv[2])
    def secret_life():
        s = conn.secretDefineXML(sxml, 0)
        steps = [s.UUIDString(), s.usageType(), s.usageID()]
        try:
            s.value(0)
        except libvirt.libvirtError as e:
            steps.append([e.get_error_code(), e.get_error_message()])
        s.setValue(b"\x00pw\xff", 0)
        steps.append(list(s.value(0)))
        steps.append(conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_CEPH, "vc-py").UUIDString())
        steps.append([x.UUIDString() for x in conn.listAllSecrets(0)])
        steps.append(conn.listSecrets())
        steps.append("<name>vc-py</name>" in s.XMLDesc(0))
        steps.append(s.undefine())
        return steps
    record("secret life", secret_life)
    record("no secret", lambda: conn.secretLookupByUUIDString(sys.argv[2]))
print(json.dumps(out))
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path, [TEST]) as server:
        yield server


def _run(*args: str) -> Any:
    return run_python3_libvirt(SCRIPT, *args)


def test_interfaces_and_node_devices_answer_as_libvirts_test_driver(served: Served) -> None:
    theirs = _run(TEST)
    ours = _run(served.uri(TEST))
    assert ours == theirs
    # and the comparison is about something
    assert ours["ifaces"] == [["eth1", "aa:bb:cc:dd:ee:ff", 1]]
    assert ours["iface life"] == [0, 0, 1, 55, 0, 0, 0]  # the second create: OPERATION_INVALID
    assert ours["no mac"] == [
        "error",
        57,
        "Interface not found: no interface with matching mac '00:11:22:33:44:55'",
    ]
    assert ours["fc hosts"] == ["scsi_host1", "scsi_host11", "scsi_host2"]  # fc_host is nested in scsi_host
    assert ours["parent"] == "scsi_host1" and ours["root parent"] is None
    assert ours["caps"] == [1, ["scsi_host"]]


def test_a_secret_lives_through_libvirt_python(served: Served) -> None:
    uuid = str(uuidlib.uuid4())
    ours = _run(served.uri(TEST), uuid)
    assert ours["secret life"] == [
        uuid,
        2,  # VIR_SECRET_USAGE_TYPE_CEPH
        "vc-py",
        [66, f"Secret not found: secret '{uuid}' does not have a value"],
        [0, 112, 119, 255],
        uuid,
        [uuid],
        [uuid],
        True,
        0,
    ]
    assert ours["no secret"] == ["error", 66, f"Secret not found: no secret with matching uuid '{uuid}'"]
