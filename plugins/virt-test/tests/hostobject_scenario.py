"""One node device / host interface / secret scenario, played on libvirt's test driver and on virt-test.

Each step is a label and a call on an adapter; its outcome is ``["ok", value]``
(plain JSON values) or ``["err", code]`` (the libvirt error number).
``test_hostobjects_vs_libvirt.py`` plays it here with virtcore and, in a
subprocess of Debian's ``/usr/bin/python3``, with python3-libvirt
(``python3 hostobject_scenario.py`` prints the outcomes as JSON), and compares.
XML is compared as a canonical tree (tags, attributes, stripped texts), so
quoting and indentation do not count. ``python3 hostobject_scenario.py nodes DIR``
prints the devices of libvirt's node files in ``DIR`` instead, and ``... domxml`` the
live and inactive XML of the default domain ``test``.

This file must run under a Python without virtcore: it imports neither
virtcore nor libvirt at module level.
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

Outcome = list[Any]

VHBA = (
    "<device><parent>{parent}</parent><capability type='scsi_host'><capability type='fc_host'>"
    "<wwnn>2000000012340001</wwnn><wwpn>1000000012340001</wwpn></capability></capability></device>"
)
NO_FC = "<device><parent>scsi_host1</parent><capability type='scsi_host'/></device>"
ETH9 = (
    "<interface type='ethernet' name='eth9'><start mode='none'/>"
    "<mac address='AA:BB:CC:00:00:09'/></interface>"
)
SECRET = "<secret ephemeral='no' private='no'><usage type='volume'><volume>/a.img</volume></usage></secret>"


def canonical(xml: str) -> Any:
    """``xml`` as a plain tree: ``[tag, sorted attributes, stripped text, children]``."""

    def walk(el: ET.Element) -> Any:
        return [el.tag, sorted(el.attrib.items()), (el.text or "").strip(), [walk(c) for c in el]]

    return walk(ET.fromstring(xml))


class LibvirtSide:
    """The scenario's vocabulary over python3-libvirt."""

    def __init__(self, uri: str = "test:///default") -> None:
        import libvirt  # only under Debian's python3

        libvirt.registerErrorHandler(lambda *_: None, None)
        self.lv = libvirt
        self.conn = libvirt.open(uri)

    def code(self, exc: BaseException) -> int | None:
        return exc.get_error_code() if isinstance(exc, self.lv.libvirtError) else None

    def devices(self) -> list[list[Any]]:
        return sorted([d.name(), d.parent(), d.listCaps()] for d in self.conn.listAllDevices())

    def devices_with(self, cap: str) -> list[str]:
        return sorted(self.conn.listDevices(cap, 0))

    def device_xml(self, name: str) -> Any:
        return canonical(self.conn.nodeDeviceLookupByName(name).XMLDesc())

    def create_device(self, xml: str) -> list[Any]:
        d = self.conn.nodeDeviceCreateXML(xml)
        return [d.name(), d.parent()]

    def destroy_device(self, name: str) -> None:
        self.conn.nodeDeviceLookupByName(name).destroy()

    def interfaces(self, active: bool | None) -> list[list[Any]]:
        flags = {None: 0, True: 2, False: 1}[active]  # VIR_CONNECT_LIST_INTERFACES_{IN,}ACTIVE
        return sorted(
            [i.name(), i.MACString(), bool(i.isActive())] for i in self.conn.listAllInterfaces(flags)
        )

    def iface_xml(self, name: str) -> Any:
        return canonical(self.conn.interfaceLookupByName(name).XMLDesc())

    def iface_by_mac(self, mac: str) -> str:
        return str(self.conn.interfaceLookupByMACString(mac).name())

    def define_iface(self, xml: str) -> list[Any]:
        i = self.conn.interfaceDefineXML(xml)
        return [i.name(), i.MACString(), bool(i.isActive())]

    def iface_op(self, name: str, op: str) -> None:
        i = self.conn.interfaceLookupByName(name)
        {"start": i.create, "stop": i.destroy, "undefine": i.undefine}[op]()

    def secrets(self) -> list[str]:
        return sorted(s.UUIDString() for s in self.conn.listAllSecrets())

    def domain_xml(self, inactive: bool) -> str:
        return str(self.conn.lookupByName("test").XMLDesc(self.lv.VIR_DOMAIN_XML_INACTIVE if inactive else 0))

    def define_secret(self, xml: str) -> list[Any]:
        s = self.conn.secretDefineXML(xml)
        return [s.usageType(), s.usageID()]


class VirtcoreSide:
    """The same vocabulary over virtcore."""

    def __init__(self, uri: str = "test:///default") -> None:
        import virtcore

        self.conn = virtcore.open(uri)

    def code(self, exc: BaseException) -> int | None:
        from virtcore.errors import VirtError

        return int(exc.code) if isinstance(exc, VirtError) else None

    def devices(self) -> list[list[Any]]:
        return sorted([d.name, d.parent, d.capabilities()] for d in self.conn.list_node_devices())

    def devices_with(self, cap: str) -> list[str]:
        return sorted(d.name for d in self.conn.list_node_devices(cap))

    def device_xml(self, name: str) -> Any:
        return canonical(self.conn.lookup_node_device(name).xml_desc())

    def create_device(self, xml: str) -> list[Any]:
        d = self.conn.create_node_device(xml)
        return [d.name, d.parent]

    def destroy_device(self, name: str) -> None:
        self.conn.lookup_node_device(name).destroy()

    def interfaces(self, active: bool | None) -> list[list[Any]]:
        return sorted([i.name, i.mac, i.is_active()] for i in self.conn.list_interfaces(active))

    def iface_xml(self, name: str) -> Any:
        return canonical(self.conn.lookup_interface(name).xml_desc())

    def iface_by_mac(self, mac: str) -> str:
        return self.conn.lookup_interface_by_mac(mac).name

    def define_iface(self, xml: str) -> list[Any]:
        i = self.conn.define_interface(xml)
        return [i.name, i.mac, i.is_active()]

    def iface_op(self, name: str, op: str) -> None:
        i = self.conn.lookup_interface(name)
        {"start": i.start, "stop": i.destroy, "undefine": i.undefine}[op]()

    def secrets(self) -> list[str]:
        return sorted(s.uuid for s in self.conn.list_secrets())

    def domain_xml(self, inactive: bool) -> str:
        return self.conn.lookup_domain("test").xml_desc(inactive=inactive)

    def define_secret(self, xml: str) -> list[Any]:
        s = self.conn.define_secret(xml)
        return [int(s.usage_type), s.usage_id]


def step(side: Any, call: Callable[[], Any]) -> Outcome:
    """Run ``call``: ``["ok", value]`` or ``["err", code]``."""
    try:
        return ["ok", call()]
    except Exception as exc:
        code = side.code(exc)
        if code is None:
            raise
        return ["err", code]


def play(side: Any) -> list[tuple[str, Outcome]]:
    """The scenario's steps and their outcomes on ``side``."""
    s = side
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("default devices", s.devices),
        *((f"devices with {cap}", lambda cap=cap: s.devices_with(cap)) for cap in (
            "system", "scsi_host", "fc_host", "vports", "pci", "no-such-cap")),
        *((f"XML of {n}", lambda n=n: s.device_xml(n)) for n in (
            "computer", "scsi_host1", "scsi_host2", "scsi_host11")),
        ("look up a missing device", lambda: s.device_xml("nosuch")),
        ("vHBA under a missing parent", lambda: s.create_device(VHBA.format(parent="nosuch"))),
        ("vHBA under a host without vports", lambda: s.create_device(VHBA.format(parent="scsi_host11"))),
        ("vHBA under the computer", lambda: s.create_device(VHBA.format(parent="computer"))),
        ("vHBA without WWNs", lambda: s.create_device(NO_FC)),
        ("create a vHBA", lambda: s.create_device(VHBA.format(parent="scsi_host2"))),
        ("XML of the vHBA", lambda: s.device_xml("scsi_host12")),
        ("devices with the vHBA", s.devices),
        ("destroy the vHBA", lambda: s.destroy_device("scsi_host12")),
        ("destroy it again", lambda: s.destroy_device("scsi_host12")),
        ("devices after", s.devices),
        ("default interfaces", lambda: s.interfaces(None)),
        ("XML of eth1", lambda: s.iface_xml("eth1")),
        ("eth1 by MAC", lambda: s.iface_by_mac("AA:BB:CC:DD:EE:FF")),
        ("missing interface", lambda: s.iface_xml("nosuch")),
        ("missing MAC", lambda: s.iface_by_mac("00:00:00:00:00:00")),
        ("start the active eth1", lambda: s.iface_op("eth1", "start")),
        ("stop eth1", lambda: s.iface_op("eth1", "stop")),
        ("stop it again", lambda: s.iface_op("eth1", "stop")),
        ("inactive interfaces", lambda: s.interfaces(False)),
        ("define eth9", lambda: s.define_iface(ETH9)),
        ("XML of eth9", lambda: s.iface_xml("eth9")),
        ("eth9 by lowercase MAC", lambda: s.iface_by_mac("aa:bb:cc:00:00:09")),
        ("start eth9", lambda: s.iface_op("eth9", "start")),
        ("active interfaces", lambda: s.interfaces(True)),
        ("redefine the active eth9", lambda: s.define_iface(ETH9.replace("none", "onboot"))),
        ("undefine the active eth9", lambda: s.iface_op("eth9", "undefine")),
        ("undefine it again", lambda: s.iface_op("eth9", "undefine")),
        ("interface without a type", lambda: s.define_iface("<interface name='x'/>")),
        ("interfaces after", lambda: s.interfaces(None)),
        ("secrets", s.secrets),
        ("define a secret", lambda: s.define_secret(SECRET)),
    ]  # fmt: skip
    return [(label, step(s, call)) for label, call in steps]


def node_file_devices(side_cls: Any, directory: str) -> dict[str, Any]:
    """The devices and interfaces each node file of libvirt's test data holds."""
    found: dict[str, Any] = {}
    for name in ("testnode.xml", "testnodeinline.xml"):
        side = side_cls(f"test://{os.path.join(directory, name)}")
        found[name] = [step(side, side.devices), step(side, lambda s=side: s.interfaces(None))]
    return found


def default_domain_xml(side: Any) -> list[Any]:
    """The live and inactive XML of ``test:///default``'s domain, as canonical trees."""
    return [canonical(side.domain_xml(False)), canonical(side.domain_xml(True))]


if __name__ == "__main__":
    if sys.argv[1:2] == ["domxml"]:
        print(json.dumps(default_domain_xml(LibvirtSide())))
    elif sys.argv[1:2] == ["nodes"]:
        print(json.dumps(node_file_devices(LibvirtSide, sys.argv[2])))
    else:
        print(json.dumps(play(LibvirtSide())))
