"""One network scenario, played on libvirt's test driver and on virt-test, step by step.

Each step is a label and a call on an adapter; its outcome is ``["ok", value]``
(plain JSON values) or ``["err", code]`` (the libvirt error number).
``test_network_vs_libvirt.py`` plays it here with virtcore and, in a
subprocess of Debian's ``/usr/bin/python3``, with python3-libvirt
(``python3 network_scenario.py`` prints the outcomes as JSON), and compares.
``python3 network_scenario.py nodes DIR`` prints instead what the networks of
libvirt's node files in ``DIR`` are (:func:`node_file_networks`).

This file must run under a Python without virtcore: it imports neither
virtcore nor libvirt at module level.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import libvirt_peer
from libvirt_peer import Outcome

NET = "<network><name>{name}</name>{uuid}<bridge name='{bridge}'/><ip address='{ip}' prefix='24'/></network>"
OTHER_UUID = "11111111-2222-3333-4444-555555555555"
DEFAULT_UUID = "dd8fe884-6c02-601e-7551-cca97df1c5df"
M1, M2, M3 = "52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"


def net_xml(name: str, bridge: str, ip: str = "10.10.0.1", uuid: str | None = None) -> str:
    """A small routed-less network."""
    return NET.format(name=name, bridge=bridge, ip=ip, uuid="" if uuid is None else f"<uuid>{uuid}</uuid>")


class LibvirtSide:
    """The scenario's vocabulary over python3-libvirt."""

    def __init__(self, uri: str = "test:///default") -> None:
        import libvirt

        libvirt.registerErrorHandler(lambda *a: None, None)
        self.lv = libvirt
        self.conn = libvirt.open(uri)

    def error_code(self, exc: BaseException) -> int | None:
        return exc.get_error_code() if isinstance(exc, self.lv.libvirtError) else None

    def net(self, name: str) -> Any:
        return self.conn.networkLookupByName(name)

    def ident(self, name: str) -> list[str]:
        n = self.net(name)
        return [n.name(), n.UUIDString()]

    def by_uuid(self, uuid: str) -> str:
        return str(self.conn.networkLookupByUUIDString(uuid).name())

    def flags(self, name: str) -> list[bool]:
        n = self.net(name)
        return [bool(n.isActive()), bool(n.isPersistent()), bool(n.autostart())]

    def bridge(self, name: str) -> str:
        return str(self.net(name).bridgeName())

    def names(self, active: bool | None) -> list[str]:
        flags = {
            None: 0,
            True: self.lv.VIR_CONNECT_LIST_NETWORKS_ACTIVE,
            False: self.lv.VIR_CONNECT_LIST_NETWORKS_INACTIVE,
        }[active]
        return sorted(n.name() for n in self.conn.listAllNetworks(flags))

    def do(self, name: str, op: str) -> None:
        n = self.net(name)
        {"start": n.create, "destroy": n.destroy, "undefine": n.undefine}[op]()

    def set_autostart(self, name: str, value: bool) -> None:
        self.net(name).setAutostart(int(value))

    def update(self, name: str, command: int, section: int, xml: str, live: bool = False) -> None:
        self.net(name).update(
            command, section, -1, xml, self.lv.VIR_NETWORK_UPDATE_AFFECT_LIVE if live else 0
        )

    def xml(self, name: str) -> str:
        return str(self.net(name).XMLDesc())

    def inactive_xml_hosts(self, name: str) -> list[list[str]]:
        return dhcp_hosts(self.net(name).XMLDesc(self.lv.VIR_NETWORK_XML_INACTIVE))

    def leases(self, name: str) -> list[str]:
        return [str(lease["ipaddr"]) for lease in self.net(name).DHCPLeases()]

    def define(self, xml: str) -> str:
        return str(self.conn.networkDefineXML(xml).name())

    def create(self, xml: str) -> str:
        return str(self.conn.networkCreateXML(xml).name())


class VirtcoreSide:
    """The same vocabulary over virtcore (``test:///default`` reset first, or a node file)."""

    def __init__(self, uri: str = "test:///default") -> None:
        import virt_test

        import virtcore

        virt_test.reset_default_node()
        self.conn = virtcore.open(uri)
        self.virtcore = virtcore

    def error_code(self, exc: BaseException) -> int | None:
        return int(exc.code) if isinstance(exc, self.virtcore.VirtError) else None

    def net(self, name: str) -> Any:
        return self.conn.lookup_network(name)

    def ident(self, name: str) -> list[str]:
        n = self.net(name)
        return [n.name, n.uuid]

    def by_uuid(self, uuid: str) -> str:
        return str(self.conn.lookup_network_by_uuid(uuid).name)

    def flags(self, name: str) -> list[bool]:
        n = self.net(name)
        return [n.is_active(), n.is_persistent(), n.autostart]

    def bridge(self, name: str) -> str:
        return str(self.net(name).bridge_name)

    def names(self, active: bool | None) -> list[str]:
        return sorted(n.name for n in self.conn.list_networks(active=active))

    def do(self, name: str, op: str) -> None:
        getattr(self.net(name), op)()

    def set_autostart(self, name: str, value: bool) -> None:
        self.net(name).autostart = value

    def update(self, name: str, command: int, section: int, xml: str, live: bool = False) -> None:
        self.net(name).update(command, section, xml, live=live)

    def xml(self, name: str) -> str:
        return str(self.net(name).xml_desc())

    def inactive_xml_hosts(self, name: str) -> list[list[str]]:
        return dhcp_hosts(self.net(name).xml_desc(inactive=True))

    def leases(self, name: str) -> list[str]:
        return [lease.ipaddr for lease in self.net(name).dhcp_leases()]

    def define(self, xml: str) -> str:
        return str(self.conn.define_network(xml).name)

    def create(self, xml: str) -> str:
        return str(self.conn.create_network(xml).name)


Side = Any

#: libvirt's VIR_NETWORK_UPDATE_COMMAND_* and VIR_NETWORK_SECTION_* numbers the steps use.
MODIFY, DELETE, ADD_LAST, ADD_FIRST = 1, 2, 3, 4
IP_DHCP_HOST = 4


def host(mac: str, last: str) -> str:
    """A static DHCP host of the default network (``last``: ``".10"``, the address's last part)."""
    return f"<host mac='{mac}' ip='192.168.122{last}'/>"


def dhcp_hosts(xml: str) -> list[list[str]]:
    """The ``[mac, ip]`` of each ``<host>`` of a network's XML (either quote style)."""
    return [[m, i] for m, i in re.findall(r"<host mac=.([0-9a-f:]+). ip=.([0-9.]+)./>", xml)]


def steps(s: Side) -> list[tuple[str, Callable[[], object]]]:
    """The scenario: ``(label, call)`` in order. Calls run lazily, one after the other."""
    return [
        ("default network", lambda: s.ident("default")),
        ("default by uuid", lambda: s.by_uuid(DEFAULT_UUID)),
        ("default flags", lambda: s.flags("default")),
        ("default bridge", lambda: s.bridge("default")),
        ("all networks", lambda: s.names(None)),
        ("unknown name", lambda: s.ident("nope")),
        ("unknown uuid", lambda: s.by_uuid(OTHER_UUID)),
        ("start the active default", lambda: s.do("default", "start")),
        ("create the default again", lambda: s.create(net_xml("default", "virbr5", uuid=DEFAULT_UUID))),
        (
            "define default's uuid with another name",
            lambda: s.define(net_xml("other", "virbr5", uuid=DEFAULT_UUID)),
        ),
        ("destroy default", lambda: s.do("default", "destroy")),
        ("default flags when stopped", lambda: s.flags("default")),
        ("inactive networks", lambda: s.names(False)),
        ("active networks", lambda: s.names(True)),
        ("start default", lambda: s.do("default", "start")),
        ("autostart default", lambda: s.set_autostart("default", True)),
        ("default flags with autostart", lambda: s.flags("default")),
        ("define lab", lambda: s.define(net_xml("lab", "vcbr1"))),
        ("lab flags", lambda: s.flags("lab")),
        ("lab bridge", lambda: s.bridge("lab")),
        ("define lab again", lambda: s.define(net_xml("lab", "vcbr1"))),
        ("start lab", lambda: s.do("lab", "start")),
        ("lab flags when started", lambda: s.flags("lab")),
        ("destroy lab", lambda: s.do("lab", "destroy")),
        ("undefine lab", lambda: s.do("lab", "undefine")),
        ("lab is gone", lambda: s.ident("lab")),
        ("create tmp", lambda: s.create(net_xml("tmp", "vcbr2", ip="10.20.0.1"))),
        ("tmp flags", lambda: s.flags("tmp")),
        ("destroy tmp", lambda: s.do("tmp", "destroy")),
        ("tmp is gone", lambda: s.ident("tmp")),
        ("add a dhcp host", lambda: s.update("default", ADD_LAST, IP_DHCP_HOST, host(M1, ".10"))),
        ("add a host first", lambda: s.update("default", ADD_FIRST, IP_DHCP_HOST, host(M2, ".11"))),
        ("add a host with a taken mac", lambda: s.update("default", ADD_LAST, IP_DHCP_HOST, host(M1, ".12"))),
        ("modify a host", lambda: s.update("default", MODIFY, IP_DHCP_HOST, host(M1, ".13"))),
        ("modify a missing host", lambda: s.update("default", MODIFY, IP_DHCP_HOST, host(M3, ".13"))),
        ("dhcp hosts", lambda: dhcp_hosts(s.xml("default"))),
        ("delete a host that differs", lambda: s.update("default", DELETE, IP_DHCP_HOST, host(M2, ".99"))),
        ("delete a host", lambda: s.update("default", DELETE, IP_DHCP_HOST, host(M2, ".11"))),
        ("dhcp hosts after delete", lambda: dhcp_hosts(s.xml("default"))),
        (
            "update with a <range>",
            lambda: s.update("default", ADD_LAST, IP_DHCP_HOST, "<range start='a' end='b'/>"),
        ),
        ("stop default for updates", lambda: s.do("default", "destroy")),
        (
            "update a stopped network live",
            lambda: s.update("default", ADD_LAST, IP_DHCP_HOST, host(M3, ".14"), True),
        ),
        ("destroy the stopped default", lambda: s.do("default", "destroy")),
        ("default's inactive XML", lambda: s.inactive_xml_hosts("default")),
        ("start default again", lambda: s.do("default", "start")),
        ("default's leases", lambda: s.leases("default")),
        ("undefine the running default", lambda: s.do("default", "undefine")),
        ("default flags after undefine", lambda: s.flags("default")),
        ("autostart a transient network", lambda: s.set_autostart("default", True)),
        ("networks at the end", lambda: s.names(None)),
    ]


def play(side: Side) -> list[tuple[str, Outcome]]:
    """Run every step (:func:`libvirt_peer.play`): handles and ``None`` are recorded as ``None``."""
    return libvirt_peer.play(side, steps(side))


def node_file_networks(make: Callable[[str], Side], directory: str) -> dict[str, list[Any]]:
    """Each node file's networks: ``[name, uuid, flags, bridge]`` in name order."""
    found = {}
    for node in ("testnode.xml", "testnodeinline.xml"):
        side = make("test://" + os.path.join(directory, node))
        found[node] = [[*side.ident(n), side.flags(n), side.bridge(n)] for n in side.names(None)]
    return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["nodes"]:
        json.dump(node_file_networks(LibvirtSide, sys.argv[2]), sys.stdout)
    else:
        json.dump(play(LibvirtSide()), sys.stdout)
