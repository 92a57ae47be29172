"""libvirt host interface XML: :class:`InterfaceDef` (a host's ``<interface>``), described by ``typed(...)``.

>>> i = parse_interface("<interface type='ethernet' name='eth1'><start mode='onboot'/>"
...                     "<mac address='aa:bb:cc:dd:ee:ff'/><protocol family='ipv4'>"
...                     "<ip address='192.168.0.5' prefix='24'/></protocol></interface>")
>>> i.name, i.mac, i.start_mode, [(p.family, [(a.address, a.prefix) for a in p.ips]) for p in i.protocols]
('eth1', 'aa:bb:cc:dd:ee:ff', 'onboot', [('ipv4', [('192.168.0.5', 24)])])

This is the host's own network configuration as libvirt's interface driver describes it
(``interface.rng``), not a guest's ``<interface>`` device. A bridge holds member
interfaces (``ethernet``, ``bond`` or ``vlan``), a bond holds ``ethernet`` ones, a VLAN
names the interface it rides on: each level is its own class below. Parsing, formatting
and coverage (:func:`virtcore.xml.unmodelled`) come from the declarations;
:func:`parse_interface` applies libvirt's checks (a type, a name, a VLAN's tag and
device). Names are checked here: they become device names and command arguments.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from virtcore.errors import XMLError
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import Node
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import (
    ONOFF,
    UINT,
    YESNO,
    SpecElement,
    check_covered,
    format_xml,
    one_of,
    spec_node,
    typed,
)

__all__ = [
    "INTERFACE_TYPES",
    "START_MODES",
    "InterfaceDef",
    "IfaceBond",
    "IfaceBridge",
    "IfaceDhcp",
    "IfaceIP",
    "IfaceMember",
    "IfacePort",
    "IfaceProtocol",
    "IfaceVlan",
    "format_interface",
    "interface_from_element",
    "parse_interface",
]

#: ``<interface type=...>`` of a host interface.
INTERFACE_TYPES = ("ethernet", "bridge", "bond", "vlan")
#: ``<start mode=...>``: when the host brings the interface up.
START_MODES = ("onboot", "none", "hotplug")
#: ``<bond mode=...>``.
BOND_MODES = (
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
)
#: ``<link state=...>``: the operational state (RFC 2863).
LINK_STATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")

_TYPE = one_of(INTERFACE_TYPES, "interface type")
_LINK_STATE = one_of(LINK_STATES, "link state")


def check_interface_name(name: object, what: str = "interface name") -> str:
    """``name`` when it can name a host interface (a device name, a command argument), else :class:`XMLError`.

    Non-empty, printable, no ``/`` or blank, not ``.`` or ``..``, not starting with ``-``.
    """
    if not isinstance(name, str) or not name:
        raise XMLError(f"{what} is missing")
    if "/" in name or not name.isprintable() or any(c.isspace() for c in name):
        raise XMLError(f"{what} {name!r} cannot contain '/', blanks or control characters")
    if name in (".", "..") or name.startswith("-"):
        raise XMLError(f"{what} {name!r} is not allowed (no '.', '..' or leading '-')")
    return name


@attrs.frozen
class IfacePort(SpecElement):
    """``<bond><interface>``: an ethernet port of a bond."""

    _tag: ClassVar[str] = "interface"
    _order = ("start", "mtu", "mac", "link")
    type: str | None = typed("attr", "type", conv=_TYPE)
    name: str | None = typed("attr", "name")
    mac: str | None = typed("cattr", "mac", "address")
    mtu: int | None = typed("cattr", "mtu", "size", conv=UINT)
    link_speed: int | None = typed("cattr", "link", "speed", conv=UINT)
    link_state: str | None = typed("cattr", "link", "state", conv=_LINK_STATE)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IfaceBond(SpecElement):
    """``<bond mode>``: a bond's ports, and how it watches their links (MII or ARP)."""

    _tag: ClassVar[str] = "bond"
    _order = ("miimon", "arpmon", "interface")
    mode: str | None = typed("attr", "mode", conv=one_of(BOND_MODES, "bond mode"))
    miimon_freq: int | None = typed("cattr", "miimon", "freq", conv=UINT)
    miimon_downdelay: int | None = typed("cattr", "miimon", "downdelay", conv=UINT)
    miimon_updelay: int | None = typed("cattr", "miimon", "updelay", conv=UINT)
    miimon_carrier: str | None = typed(
        "cattr", "miimon", "carrier", conv=one_of(("ioctl", "netif"), "carrier")
    )
    arpmon_interval: int | None = typed("cattr", "arpmon", "interval", conv=UINT)
    arpmon_target: str | None = typed("cattr", "arpmon", "target")
    arpmon_validate: str | None = typed(
        "cattr", "arpmon", "validate", conv=one_of(("none", "active", "backup", "all"), "ARP validate")
    )
    interfaces: tuple[IfacePort, ...] = typed("many", "interface", cls=IfacePort, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IfaceVlan(SpecElement):
    """``<vlan tag><interface name/>``: the VLAN's tag and the device it rides on."""

    _tag: ClassVar[str] = "vlan"
    tag: int | None = typed("attr", "tag", conv=UINT)
    device: str | None = typed("cattr", "interface", "name")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IfaceMember(SpecElement):
    """``<bridge><interface>``: a member of a bridge (an ethernet port, a bond or a VLAN)."""

    _tag: ClassVar[str] = "interface"
    _order = ("start", "mtu", "mac", "link", "bond", "vlan")
    type: str | None = typed("attr", "type", conv=_TYPE)
    name: str | None = typed("attr", "name")
    mac: str | None = typed("cattr", "mac", "address")
    mtu: int | None = typed("cattr", "mtu", "size", conv=UINT)
    link_speed: int | None = typed("cattr", "link", "speed", conv=UINT)
    link_state: str | None = typed("cattr", "link", "state", conv=_LINK_STATE)
    bond: IfaceBond | None = typed("one", "bond", cls=IfaceBond, default=None)
    vlan: IfaceVlan | None = typed("one", "vlan", cls=IfaceVlan, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IfaceBridge(SpecElement):
    """``<bridge stp delay>``: a bridge's spanning tree settings and its members."""

    _tag: ClassVar[str] = "bridge"
    stp: bool | None = typed("attr", "stp", conv=ONOFF)
    #: Forward delay in seconds, as written (``0.01``).
    delay: str | None = typed("attr", "delay")
    interfaces: tuple[IfaceMember, ...] = typed("many", "interface", cls=IfaceMember, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IfaceIP(SpecElement):
    """``<protocol><ip address prefix>``: a static address."""

    _tag: ClassVar[str] = "ip"
    address: str | None = typed("attr", "address", required=True)
    prefix: int | None = typed("attr", "prefix", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IfaceDhcp(SpecElement):
    """``<protocol><dhcp peerdns>``: the address comes from DHCP (``peerdns``: take its DNS servers)."""

    _tag: ClassVar[str] = "dhcp"
    peerdns: bool | None = typed("attr", "peerdns", conv=YESNO)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IfaceProtocol(SpecElement):
    """``<protocol family>``: an address family's configuration (autoconf, DHCP, addresses, gateway)."""

    _tag: ClassVar[str] = "protocol"
    _order = ("autoconf", "dhcp", "ip", "route")
    family: str | None = typed("attr", "family", conv=one_of(("ipv4", "ipv6"), "protocol family"))
    autoconf: bool = typed("flag", "autoconf", default=False)
    dhcp: IfaceDhcp | None = typed("one", "dhcp", cls=IfaceDhcp, default=None)
    ips: tuple[IfaceIP, ...] = typed("many", "ip", cls=IfaceIP, default=())
    gateway: str | None = typed("cattr", "route", "gateway")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class InterfaceDef(SpecElement):
    """A host interface's definition (``<interface type name>``), immutable; use ``attrs.evolve``."""

    _tag: ClassVar[str] = "interface"
    _order = ("start", "mtu", "protocol", "link", "mac", "bridge", "bond", "vlan")
    type: str | None = typed("attr", "type", conv=_TYPE)
    name: str | None = typed("attr", "name")
    start_mode: str | None = typed("cattr", "start", "mode", conv=one_of(START_MODES, "start mode"))
    mtu: int | None = typed("cattr", "mtu", "size", conv=UINT)
    protocols: tuple[IfaceProtocol, ...] = typed("many", "protocol", cls=IfaceProtocol, default=())
    link_speed: int | None = typed("cattr", "link", "speed", conv=UINT)
    link_state: str | None = typed("cattr", "link", "state", conv=_LINK_STATE)
    mac: str | None = typed("cattr", "mac", "address")
    bridge: IfaceBridge | None = typed("one", "bridge", cls=IfaceBridge, default=None)
    bond: IfaceBond | None = typed("one", "bond", cls=IfaceBond, default=None)
    vlan: IfaceVlan | None = typed("one", "vlan", cls=IfaceVlan, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _complete(self)

    @classmethod
    def covered(cls) -> Node:
        """What the model types of ``<interface>``."""
        return spec_node(cls)

    def to_xml(self) -> str:
        """The interface as XML text (see :func:`format_interface`)."""
        return format_interface(self)


def _complete(i: InterfaceDef) -> None:
    """libvirt's checks (``virInterfaceDefParseXML``) of a top-level interface."""
    if i.type is None:
        raise XMLError("interface misses the type attribute")
    check_interface_name(i.name)
    what = f"interface '{i.name}'"
    members: list[IfaceMember | IfacePort] = []
    if i.type == "bridge":
        if i.bridge is None:
            raise XMLError(f"{what}: bridge interface misses the bridge element")
        members += i.bridge.interfaces
        for m in i.bridge.interfaces:
            if m.bond is not None:
                members += m.bond.interfaces
    if i.type == "bond":
        if i.bond is None:
            raise XMLError(f"{what}: bond interface misses the bond element")
        members += i.bond.interfaces
    if i.type == "vlan":
        if i.vlan is None or i.vlan.tag is None:
            raise XMLError(f"{what}: vlan interface misses the tag attribute")
        if i.vlan.device is None:
            raise XMLError(f"{what}: vlan interface misses name attribute")
        check_interface_name(i.vlan.device, f"{what}: vlan device")
    for member in members:
        check_interface_name(member.name, f"{what}: member interface name")
    families = [p.family for p in i.protocols]
    for fam in families:
        if fam is None:
            raise XMLError(f"{what}: protocol misses the family attribute")
        if families.count(fam) > 1:
            raise XMLError(f"{what}: protocol family {fam} is configured more than once")


def interface_from_element(el: Element) -> InterfaceDef:
    """Parse a host ``<interface>`` element, applying libvirt's parse-time checks."""
    if el.tag != "interface":
        raise XMLError(f"unexpected root element <{el.tag}>, expecting <interface>")
    iface: InterfaceDef = InterfaceDef.from_element(el)
    return iface


def parse_interface(text: str | bytes, *, strict: bool = False) -> InterfaceDef:
    """Parse host interface XML (with the hardened parser) into an :class:`InterfaceDef`.

    :param strict: also refuse elements and attributes the typed model does not cover.
    :raises XMLError: malformed or hostile XML, no type or name, a bad name, a VLAN without
        tag or device, a bridge or bond without its element.
    """
    i = interface_from_element(secure_parse(text, api="INTERFACE"))
    if strict:
        check_covered(i, f"interface '{i.name}'")
    return i


def format_interface(i: InterfaceDef) -> str:
    """``i`` as interface XML text, indented and quoted like libvirt's."""
    return format_xml(i, f"interface '{i.name}'", single_quotes=True)
