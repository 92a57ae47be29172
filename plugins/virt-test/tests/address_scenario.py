"""One interface-address scenario, played on libvirt's test driver and on virt-test, step by step.

Each step is a label and a call on an adapter; its outcome is ``["ok", value]``
(plain JSON values) or ``["err", code]`` (the libvirt error number).
``test_addresses_vs_libvirt.py`` plays it here with virtcore and, in a
subprocess of Debian's ``/usr/bin/python3`` with python3-libvirt
(``python3 address_scenario.py`` prints the outcomes as JSON), and compares.
An answer is ``[[name, mac, [[type, addr, prefix], ...]], ...]`` in name order.

This file must run under a Python without virtcore: it imports neither
virtcore nor libvirt at module level.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

import libvirt_peer
from libvirt_peer import Outcome

Answer = list[list[Any]]

#: libvirt's VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_* numbers, by virtcore's names.
SOURCES = {"lease": 0, "agent": 1, "arp": 2}

V6_NET = (
    "<network><name>six</name><bridge name='vcbr6'/><ip family='ipv6' address='fd00:1::1' prefix='64'>"
    "<dhcp><range start='fd00:1::fe' end='fd00:1::ff'/></dhcp></ip></network>"
)
#: No DHCP range and a netmask instead of a prefix: the address counts from the bridge's.
MASK_NET = (
    "<network><name>mask</name><bridge name='vcbr7'/>"
    "<ip address='10.30.0.1' netmask='255.255.0.0'/></network>"
)


def nic(kind: str, source: str, mac: str | None, target: str | None = None) -> str:
    """An ``<interface>`` element."""
    attr = {"network": "network", "bridge": "bridge"}.get(kind)
    parts = [f"<interface type='{kind}'>"]
    if mac:
        parts.append(f"<mac address='{mac}'/>")
    if attr:
        parts.append(f"<source {attr}='{source}'/>")
    if target:
        parts.append(f"<target dev='{target}'/>")
    parts.append("</interface>")
    return "".join(parts)


def guest(name: str, *nics: str) -> str:
    """A test domain with these interfaces."""
    return (
        f"<domain type='test'><name>{name}</name><memory>1024</memory><os><type>hvm</type></os>"
        f"<devices>{''.join(nics)}</devices></domain>"
    )


WEB = guest(
    "web",
    nic("network", "default", "52:54:00:00:0a:01"),
    nic("network", "six", "52:54:00:00:0a:02", target="testnet0"),
    nic("bridge", "br0", "52:54:00:00:0a:03"),
    nic("user", "", "52:54:00:00:0a:04"),
    nic("network", "mask", "52:54:00:00:0a:05"),
)
LOST = guest("lost", nic("network", "nowhere", "52:54:00:00:0b:01"))


def targets(xml: str) -> list[str]:
    """The ``<target dev>`` names of a domain XML's interfaces, in order (either quote style)."""
    return re.findall(r"<interface.*?<target dev=.([^'\"]+).", xml, re.S)


class LibvirtSide:
    """The scenario's vocabulary over python3-libvirt."""

    def __init__(self, uri: str = "test:///default") -> None:
        import libvirt

        libvirt.registerErrorHandler(lambda *a: None, None)
        self.lv = libvirt
        self.conn = libvirt.open(uri)

    def error_code(self, exc: BaseException) -> int | None:
        return exc.get_error_code() if isinstance(exc, self.lv.libvirtError) else None

    def addresses(self, name: str, source: str) -> Answer:
        found = self.conn.lookupByName(name).interfaceAddresses(SOURCES[source])
        return sorted(
            [dev, v["hwaddr"], [[a["type"], a["addr"], a["prefix"]] for a in v["addrs"] or []]]
            for dev, v in found.items()
        )

    def start_guest(self, xml: str) -> None:
        self.conn.defineXML(xml).create()

    def destroy(self, name: str) -> None:
        self.conn.lookupByName(name).destroy()

    def start(self, name: str) -> None:
        self.conn.lookupByName(name).create()

    def xml(self, name: str, inactive: bool = False) -> str:
        flags = self.lv.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return str(self.conn.lookupByName(name).XMLDesc(flags))

    def start_network(self, xml: str) -> None:
        self.conn.networkDefineXML(xml).create()


class VirtcoreSide:
    """The same vocabulary over virtcore (``test:///default`` reset first)."""

    def __init__(self, uri: str = "test:///default") -> None:
        import virt_test

        import virtcore

        virt_test.reset_default_node()
        self.conn = virtcore.open(uri)
        self.virtcore = virtcore

    def error_code(self, exc: BaseException) -> int | None:
        return int(exc.code) if isinstance(exc, self.virtcore.VirtError) else None

    def addresses(self, name: str, source: str) -> Answer:
        found = self.conn.lookup_domain(name).interface_addresses(source)
        return sorted([i.name, i.hwaddr, [[int(a.type), a.addr, a.prefix] for a in i.addrs]] for i in found)

    def start_guest(self, xml: str) -> None:
        self.conn.define_domain(xml).start()

    def destroy(self, name: str) -> None:
        self.conn.lookup_domain(name).destroy()

    def start(self, name: str) -> None:
        self.conn.lookup_domain(name).start()

    def xml(self, name: str, inactive: bool = False) -> str:
        return str(self.conn.lookup_domain(name).xml_desc(inactive=inactive))

    def start_network(self, xml: str) -> None:
        self.conn.define_network(xml).start()


Side = Any


def steps(s: Side) -> list[tuple[str, Callable[[], object]]]:
    """The scenario: ``(label, call)`` in order. Calls run lazily, one after the other."""
    return [
        *((f"test's addresses from {src}", lambda src=src: s.addresses("test", src)) for src in SOURCES),
        ("start network six", lambda: s.start_network(V6_NET)),
        ("start network mask", lambda: s.start_network(MASK_NET)),
        ("start web", lambda: s.start_guest(WEB)),
        *((f"web's addresses from {src}", lambda src=src: s.addresses("web", src)) for src in SOURCES),
        ("web's host-side names, live", lambda: targets(s.xml("web"))),
        ("test's host-side names, inactive", lambda: targets(s.xml("test", inactive=True))),
        ("destroy web", lambda: s.destroy("web")),
        ("web's host-side names once stopped", lambda: targets(s.xml("web"))),
        ("a stopped guest's addresses", lambda: s.addresses("web", "lease")),
        ("start web again", lambda: s.start("web")),
        ("web's addresses with a new id", lambda: s.addresses("web", "lease")),
        ("start lost", lambda: s.start_guest(LOST)),
        ("addresses on a missing network", lambda: s.addresses("lost", "arp")),
        ("an unknown guest's addresses", lambda: s.addresses("nobody", "lease")),
    ]


def play(side: Side) -> list[tuple[str, Outcome]]:
    """Run every step (:func:`libvirt_peer.play`): handles and ``None`` are recorded as ``None``."""
    return libvirt_peer.play(side, steps(side))


if __name__ == "__main__":
    json.dump(play(LibvirtSide()), sys.stdout)
