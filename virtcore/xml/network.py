"""libvirt virtual network XML: :class:`NetworkDef` (``<network>``), described with ``typed(...)``.

>>> n = parse_network("<network><name>default</name><forward mode='nat'/>"
...                   "<bridge name='virbr0'/><ip address='192.168.122.1' prefix='24'>"
...                   "<dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>")
>>> n.name, n.forward.mode, n.bridge.name, n.bridge.stp, str(n.ips[0].network)
('default', 'nat', 'virbr0', True, '192.168.122.0/24')
>>> "<name>default</name>" in n.to_xml()
True

Every class here declares its fields with :func:`~virtcore.xml._spec.typed`; parsing,
formatting (an overlay onto the source element: whatever is not typed is written back
unchanged) and the coverage report (:func:`virtcore.xml.unmodelled`) all come from those
declarations. Addresses are :mod:`ipaddress` objects. :func:`parse_network` applies the
checks and defaults libvirt's parser applies (a generated UUID, ``nat`` for a
``<forward>`` without a mode, STP on and no delay for a bridge libvirt creates, the
forward device listed as the first ``<interface>``, a DHCP range inside its network ...).

Names and strings that end up as bridge names, file names or lines of dnsmasq's
configuration are checked here: a network name has no ``/``, newline or NUL and does
not start with ``-``; interface names are at most 15 characters of printable text
without blanks or ``/``; DNS names, TXT and SRV strings hold no control characters,
and names no blanks or commas.
"""

from __future__ import annotations

import ipaddress
import re
import uuid as _uuid
from typing import ClassVar, TypeAlias

import attrs
from lxml import etree

from virtcore.errors import ConfigUnsupportedError, ErrorDomain, NoNameError, XMLError
from virtcore.xml import _util as u
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import ANY, Node, merge
from virtcore.xml._parser import error_domain_named, secure_parse
from virtcore.xml._spec import (
    ONOFF,
    UINT32,
    YESNO,
    Fmt,
    Parse,
    SpecElement,
    check_covered,
    format_xml,
    one_of,
    spec_node,
    typed,
)
from virtcore.xml._storagecommon import PATH, PORT, UUID
from virtcore.xml._util import canonical_uuid
from virtcore.xml.bandwidth import Bandwidth, BandwidthRate, OutboundRate
from virtcore.xml.devices import _canonical_mac
from virtcore.xml.elements import Address

__all__ = [
    "DNSMASQ_NS",
    "FORWARD_MODES",
    "Bandwidth",
    "BandwidthRate",
    "Bootp",
    "Bridge",
    "Dhcp",
    "DhcpHost",
    "DhcpRange",
    "Dns",
    "DnsForwarder",
    "DnsHost",
    "DnsHostname",
    "DnsSrv",
    "DnsTxt",
    "DnsmasqOption",
    "DnsmasqOptions",
    "Forward",
    "ForwardInterface",
    "ForwardPf",
    "IPDef",
    "Lease",
    "Nat",
    "NetworkDef",
    "OutboundRate",
    "PortGroup",
    "Route",
    "VirtualPort",
    "VirtualPortParameters",
    "Vlan",
    "VlanTag",
    "format_network",
    "network_from_element",
    "parse_network",
]

IPAddr: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNet: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The namespace of the raw dnsmasq options of a network (prefix ``dnsmasq``).
DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"
_NSMAP = {"dnsmasq": DNSMASQ_NS}

#: libvirt's forward modes (``virNetworkForwardType``); no ``<forward>`` is an isolated network.
FORWARD_MODES = ("nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev")
#: The modes in which libvirt makes the bridge itself (and isolated, no forward at all).
_OWN_BRIDGE = (None, "nat", "route", "open")

# ---------------------------------------------------------------------------- converters


def _p_ip(text: str, where: str) -> IPAddr:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise XMLError(f"invalid IP address '{text}' in {where}") from None


#: An IPv4 or IPv6 address (an :mod:`ipaddress` object), written in its compressed form.
IP: tuple[Parse, Fmt] = (_p_ip, str)


def _p_netmask(text: str, where: str) -> ipaddress.IPv4Address:
    try:
        mask = ipaddress.IPv4Address(text.strip())  # dotted: a prefix length is not a netmask
        return ipaddress.IPv4Network(f"0.0.0.0/{mask}").netmask
    except ValueError:
        raise XMLError(f"invalid netmask '{text}' in {where}") from None


#: An IPv4 netmask (``255.255.255.0``): contiguous ones, else an XMLError.
NETMASK: tuple[Parse, Fmt] = (_p_netmask, str)


def _p_mac(text: str, where: str) -> str:
    return _canonical_mac(text, where)


#: A unicast MAC address, lower-cased as libvirt writes it (a multicast one is an XMLError).
MAC: tuple[Parse, Fmt] = (_p_mac, str)


def _p_prefix(text: str, where: str) -> int:
    return u.parse_uint(text, where, maximum=128)


#: A network prefix length (checked against the address family by the element).
PREFIX: tuple[Parse, Fmt] = (_p_prefix, str)


def _p_vlan(text: str, where: str) -> int:
    return u.parse_uint(text, where, maximum=4095)


#: A VLAN id, 0 to 4095.
VLAN_ID: tuple[Parse, Fmt] = (_p_vlan, str)

_FAMILY = one_of(("ipv4", "ipv6"), "address family")


def _coerce_addresses(obj: SpecElement) -> None:
    """Read address fields given as text (a class built in Python) as :mod:`ipaddress` objects.

    A malformed one is the same :class:`XMLError` as in XML (in place: ``obj`` is new).
    """
    for f in obj._spec:
        if f.parse in (_p_ip, _p_netmask):
            value = getattr(obj, f.name)
            if isinstance(value, str):
                object.__setattr__(obj, f.name, f.parse(value, f"<{obj._tag}> attribute '{f.sub or f.xml}'"))


# ---------------------------------------------------------------------------- name checks


def check_network_name(name: object) -> str:
    """``name`` when it can name a network (it becomes a file name), else an :class:`XMLError`.

    Non-empty printable text without ``/``, not ``.`` or ``..``, not starting with ``-``.
    """
    if not isinstance(name, str) or not name.strip():
        raise XMLError("network has no name")
    if "/" in name:
        raise XMLError(f"network name '{name}' cannot contain '/'")
    if not name.isprintable():
        raise XMLError(f"network name {name!r} cannot contain a newline, NUL or other control character")
    if name in (".", "..") or name.startswith("-"):
        raise XMLError(f"network name '{name}' is not allowed (no '.', '..' or leading '-')")
    return name


#: Linux's IFNAMSIZ less the NUL: the longest interface name.
IFNAME_MAX = 15


def check_ifname(value: str | None, what: str) -> None:
    """Refuse (:class:`XMLError` naming ``what``) a value that cannot name a network interface.

    At most 15 characters of printable text without blanks, ``/`` or ``:``, and no leading ``-``
    (``%d`` is allowed: libvirt fills it in for bridge name templates such as ``virbr%d``).
    """
    if value is None:
        return
    if not value or not value.isprintable() or any(ch.isspace() or ch in "/:," for ch in value):
        raise XMLError(f"invalid {what} {value!r}: expected printable text without blanks, '/', ':' or ','")
    if value.startswith("-") or value in (".", ".."):
        raise XMLError(f"invalid {what} '{value}': it cannot start with '-' or be '.' or '..'")
    if len(value) > IFNAME_MAX:
        raise XMLError(f"invalid {what} '{value}': longer than {IFNAME_MAX} characters")


_DNS_NAME = re.compile(r"[A-Za-z0-9_*]([A-Za-z0-9_.*-]*)", re.ASCII)


def check_dns_name(value: str | None, what: str, *, dot: bool = False) -> None:
    """Refuse a DNS name that is not letters, digits, ``-``, ``_``, ``.`` (``*`` for wildcards).

    These names become lines of dnsmasq's configuration and hosts files: no blanks,
    commas, ``=`` or control characters can pass. With ``dot``, a lone ``.`` (no target) is allowed.
    """
    if value is None or (dot and value == "."):
        return
    if not _DNS_NAME.fullmatch(value):
        raise XMLError(f"invalid {what} {value!r}: expected a DNS name (letters, digits, '-', '_', '.')")


def check_text(value: str | None, what: str) -> None:
    """Refuse text holding control characters (a newline would start another dnsmasq option)."""
    if value is not None and not value.isprintable():
        raise XMLError(f"invalid {what} {value!r}: control characters are not allowed")


def _net_error(message: str) -> ConfigUnsupportedError:
    return ConfigUnsupportedError(message, domain=ErrorDomain.NETWORK)


# ---------------------------------------------------------------------------- <ip>


@attrs.frozen
class Lease(SpecElement):
    """``<lease expiry=N unit=seconds|minutes|hours>``: a DHCP lease time (``0``: infinite)."""

    _tag: ClassVar[str] = "lease"
    expiry: int | None = typed("attr", "expiry", conv=UINT32, required=True)
    unit: str | None = typed("attr", "unit", conv=one_of(("seconds", "minutes", "hours"), "lease unit"))
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @property
    def seconds(self) -> int | None:
        """The lease time in seconds (``None``: infinite); the unit defaults to minutes."""
        if not self.expiry:
            return None
        return self.expiry * {"seconds": 1, "minutes": 60, "hours": 3600}[self.unit or "minutes"]


@attrs.frozen
class DhcpRange(SpecElement):
    """``<dhcp><range start end>``: the addresses DHCP hands out, and their ``lease``."""

    _tag: ClassVar[str] = "range"
    start: IPAddr = typed("attr", "start", conv=IP, required=True)
    end: IPAddr = typed("attr", "end", conv=IP, required=True)
    lease: Lease | None = typed("one", "lease", cls=Lease, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)


@attrs.frozen
class DhcpHost(SpecElement):
    """``<dhcp><host mac|id name ip>``: a static DHCP lease (IPv4 by MAC, IPv6 by DUID ``id``)."""

    _tag: ClassVar[str] = "host"
    mac: str | None = typed("attr", "mac", conv=MAC)
    id: str | None = typed("attr", "id")
    name: str | None = typed("attr", "name")
    ip: IPAddr | None = typed("attr", "ip", conv=IP)
    lease: Lease | None = typed("one", "lease", cls=Lease, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)
        check_dns_name(self.name, "DHCP host name")
        if self.id is not None and not re.fullmatch(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})+", self.id):
            raise XMLError(f"invalid DHCP host id (DUID) '{self.id}': expected hex bytes separated by ':'")
        if self.mac is None and self.id is None and self.name is None:
            raise XMLError("a static DHCP host needs a mac, an id or a name")


@attrs.frozen
class Bootp(SpecElement):
    """``<dhcp><bootp file server>``: the PXE boot file and the TFTP server to fetch it from."""

    _tag: ClassVar[str] = "bootp"
    file: str | None = typed("attr", "file", required=True)
    server: IPAddr | None = typed("attr", "server", conv=IP)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)
        check_text(self.file, "DHCP bootp file")
        if self.file is not None and ("," in self.file or not self.file.strip()):
            raise XMLError(f"invalid DHCP bootp file {self.file!r}: no ',' and not empty")


@attrs.frozen
class Dhcp(SpecElement):
    """``<ip><dhcp>``: ``ranges``, static ``hosts`` and ``bootp``."""

    _tag: ClassVar[str] = "dhcp"
    _order = ("range", "host", "bootp")
    ranges: tuple[DhcpRange, ...] = typed("many", "range", cls=DhcpRange, default=())
    hosts: tuple[DhcpHost, ...] = typed("many", "host", cls=DhcpHost, default=())
    bootp: Bootp | None = typed("one", "bootp", cls=Bootp, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


def _classful_prefix(addr: IPAddr) -> int:
    """The prefix libvirt assumes for an address given without netmask or prefix."""
    if addr.version == 6:
        return 64
    first = int(addr) >> 24
    return 8 if first < 128 else 16 if first < 192 else 24


@attrs.frozen
class IPDef(SpecElement):
    """``<ip address netmask|prefix family localPtr>``: an address of the network's bridge.

    ``dhcp`` (ranges, static hosts, bootp) and ``tftp_root`` (a TFTP server's root).
    :attr:`network` is the subnet it serves.
    """

    _tag: ClassVar[str] = "ip"
    _order = ("tftp", "dhcp")
    address: IPAddr = typed("attr", "address", conv=IP, required=True)
    netmask: ipaddress.IPv4Address | None = typed("attr", "netmask", conv=NETMASK)
    prefix: int | None = typed("attr", "prefix", conv=PREFIX)
    family: str | None = typed("attr", "family", conv=_FAMILY)
    local_ptr: bool | None = typed("attr", "localPtr", conv=YESNO)
    tftp_root: str | None = typed("cattr", "tftp", "root", conv=PATH)
    dhcp: Dhcp | None = typed("one", "dhcp", cls=Dhcp, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)
        addr = self.address
        where = f"network address '{addr}'"
        if self.family is not None and self.family != f"ipv{addr.version}":
            raise XMLError(f"{where} does not match its family '{self.family}'")
        if self.netmask is not None and self.prefix is not None:
            raise XMLError(f"{where} has both a netmask and a prefix")
        if self.netmask is not None and addr.version != 4:
            raise XMLError(f"{where}: a netmask is only valid for IPv4")
        if self.prefix is not None and self.prefix > addr.max_prefixlen:
            raise XMLError(f"{where}: invalid prefix {self.prefix}")
        if self.tftp_root is not None:
            check_text(self.tftp_root, "TFTP root")
            if not self.tftp_root.startswith("/") or "," in self.tftp_root:
                raise XMLError(f"invalid TFTP root '{self.tftp_root}': expected an absolute path without ','")
        if self.dhcp is not None:
            self._check_dhcp(self.dhcp)

    @property
    def prefix_length(self) -> int:
        """The prefix length: given, from the netmask, or libvirt's default (classful / 64)."""
        if self.prefix is not None:
            return self.prefix
        if self.netmask is not None:
            return bin(int(self.netmask)).count("1")
        return _classful_prefix(self.address)

    @property
    def network(self) -> IPNet:
        """The subnet this address serves (e.g. ``192.168.122.0/24``)."""
        return ipaddress.ip_network(f"{self.address}/{self.prefix_length}", strict=False)

    def _check_dhcp(self, dhcp: Dhcp) -> None:
        net = self.network
        for r in dhcp.ranges:
            span = f"DHCP range {r.start} - {r.end}"
            if r.start.version != net.version or r.end.version != net.version:
                raise _net_error(f"{span} is not of the family of network {net}")
            if r.start not in net or r.end not in net:
                raise _net_error(f"{span} is not entirely within network {net}")
            if int(r.start) > int(r.end):
                raise _net_error(f"{span} in network {net} is reversed")
            edges = (net.network_address, net.broadcast_address)
            if net.version == 4 and net.prefixlen < 31 and (r.start in edges or r.end in edges):
                raise _net_error(f"{span} includes the network or broadcast address of {net}")
        for h in dhcp.hosts:
            if h.ip is not None and h.ip.version != net.version:
                raise XMLError(f"DHCP host ip '{h.ip}' is not of the family of network {net}")
            if net.version == 6 and h.mac is not None:
                raise XMLError(f"DHCP host mac '{h.mac}' is not allowed in IPv6 network {net}")
            if net.version == 4 and h.mac is None and h.name is None:
                raise XMLError(f"IPv4 DHCP host '{h.ip}' of network {net} needs a mac or a name")


# ---------------------------------------------------------------------------- <route>


@attrs.frozen
class Route(SpecElement):
    """``<route address netmask|prefix gateway family metric>``: a static route via the bridge."""

    _tag: ClassVar[str] = "route"
    family: str | None = typed("attr", "family", conv=_FAMILY)
    address: IPAddr = typed("attr", "address", conv=IP, required=True)
    netmask: ipaddress.IPv4Address | None = typed("attr", "netmask", conv=NETMASK)
    prefix: int | None = typed("attr", "prefix", conv=PREFIX)
    gateway: IPAddr = typed("attr", "gateway", conv=IP, required=True)
    metric: int | None = typed("attr", "metric", conv=UINT32)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)
        where = f"network route '{self.address}'"
        if self.gateway.version != self.address.version:
            raise XMLError(f"{where}: gateway '{self.gateway}' is of another family")
        if self.family is not None and self.family != f"ipv{self.address.version}":
            raise XMLError(f"{where} does not match its family '{self.family}'")
        if self.netmask is not None and (self.prefix is not None or self.address.version != 4):
            raise XMLError(f"{where}: a netmask goes with an IPv4 address and no prefix")
        if self.prefix is not None and self.prefix > self.address.max_prefixlen:
            raise XMLError(f"{where}: invalid prefix {self.prefix}")


# ---------------------------------------------------------------------------- <dns>


@attrs.frozen
class DnsForwarder(SpecElement):
    """``<dns><forwarder addr domain>``: where to send queries (for ``domain``, or all)."""

    _tag: ClassVar[str] = "forwarder"
    addr: IPAddr | None = typed("attr", "addr", conv=IP)
    domain: str | None = typed("attr", "domain")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)
        check_dns_name(self.domain, "DNS forwarder domain")
        if self.addr is None and self.domain is None:
            raise XMLError("a DNS forwarder needs an addr or a domain")


@attrs.frozen
class DnsTxt(SpecElement):
    """``<dns><txt name value>``: a TXT record."""

    _tag: ClassVar[str] = "txt"
    name: str | None = typed("attr", "name", required=True)
    value: str | None = typed("attr", "value")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        check_dns_name(self.name, "DNS TXT record name")
        check_text(self.value, f"value of DNS TXT record '{self.name}'")


@attrs.frozen
class DnsHostname(SpecElement):
    """``<dns><host><hostname>``: one name of a DNS host entry."""

    _tag: ClassVar[str] = "hostname"
    name: str | None = typed("text")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if self.name is None:
            raise XMLError("empty <hostname> in a DNS host entry")
        check_dns_name(self.name, "DNS hostname")


@attrs.frozen
class DnsHost(SpecElement):
    """``<dns><host ip><hostname>...``: names the network's DNS resolves to ``ip``."""

    _tag: ClassVar[str] = "host"
    ip: IPAddr = typed("attr", "ip", conv=IP, required=True)
    hostnames: tuple[DnsHostname, ...] = typed("many", "hostname", cls=DnsHostname, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)
        if not self.hostnames:
            raise XMLError(f"DNS host '{self.ip}' has no <hostname>")

    @property
    def names(self) -> tuple[str, ...]:
        """The host's names, as text."""
        return tuple(h.name for h in self.hostnames if h.name is not None)


@attrs.frozen
class DnsSrv(SpecElement):
    """``<dns><srv service protocol domain target port priority weight>``: an SRV record."""

    _tag: ClassVar[str] = "srv"
    service: str | None = typed("attr", "service")
    protocol: str | None = typed("attr", "protocol", conv=one_of(("tcp", "udp"), "DNS SRV protocol"))
    domain: str | None = typed("attr", "domain")
    target: str | None = typed("attr", "target")
    port: int | None = typed("attr", "port", conv=PORT)
    priority: int | None = typed("attr", "priority", conv=PORT)
    weight: int | None = typed("attr", "weight", conv=PORT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if self.service is None or self.protocol is None:
            raise XMLError("a DNS SRV record needs a service and a protocol")
        if len(self.service) > 15:
            raise XMLError(f"DNS SRV service '{self.service}' is longer than 15 characters")
        check_dns_name(self.service, "DNS SRV service")
        check_dns_name(self.domain, "DNS SRV domain")
        check_dns_name(self.target, "DNS SRV target", dot=True)


@attrs.frozen
class Dns(SpecElement):
    """``<dns enable forwardPlainNames>``: the network's DNS server (dnsmasq).

    ``forwarders``, ``txts`` (TXT records), ``hosts`` and ``srvs`` (SRV records).
    """

    _tag: ClassVar[str] = "dns"
    _order = ("forwarder", "txt", "host", "srv")
    enable: bool | None = typed("attr", "enable", conv=YESNO)
    forward_plain_names: bool | None = typed("attr", "forwardPlainNames", conv=YESNO)
    forwarders: tuple[DnsForwarder, ...] = typed("many", "forwarder", cls=DnsForwarder, default=())
    txts: tuple[DnsTxt, ...] = typed("many", "txt", cls=DnsTxt, default=())
    hosts: tuple[DnsHost, ...] = typed("many", "host", cls=DnsHost, default=())
    srvs: tuple[DnsSrv, ...] = typed("many", "srv", cls=DnsSrv, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if self.enable is False and (self.forwarders or self.txts or self.hosts or self.srvs):
            raise XMLError("DNS is disabled (enable='no') but has forwarders, hosts, TXT or SRV records")


# ---------------------------------------------------------------------------- <forward>


@attrs.frozen
class Nat(SpecElement):
    """``<forward><nat ipv6>``: NAT ``address_start..address_end`` and ``port_start..port_end``."""

    _tag: ClassVar[str] = "nat"
    ipv6: bool | None = typed("attr", "ipv6", conv=YESNO)
    address_start: ipaddress.IPv4Address | None = typed("cattr", "address", "start", conv=IP)
    address_end: ipaddress.IPv4Address | None = typed("cattr", "address", "end", conv=IP)
    port_start: int | None = typed("cattr", "port", "start", conv=PORT)
    port_end: int | None = typed("cattr", "port", "end", conv=PORT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _coerce_addresses(self)
        for a in (self.address_start, self.address_end):
            if a is not None and a.version != 4:
                raise XMLError(f"NAT address '{a}' is not an IPv4 address")
        if self.address_start and self.address_end and self.address_start > self.address_end:
            raise XMLError(f"NAT address range {self.address_start} - {self.address_end} is reversed")
        if self.port_start is not None and self.port_end is not None and self.port_start > self.port_end:
            raise XMLError(f"NAT port range {self.port_start} - {self.port_end} is reversed")


@attrs.frozen
class ForwardInterface(SpecElement):
    """``<forward><interface dev>``: a host interface the network forwards through."""

    _tag: ClassVar[str] = "interface"
    dev: str | None = typed("attr", "dev", required=True)
    #: how many guest interfaces use it (status of a running network, written by the driver)
    connections: int | None = typed("attr", "connections", conv=UINT32)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        check_ifname(self.dev, "forward interface dev")


@attrs.frozen
class ForwardPf(SpecElement):
    """``<forward><pf dev>``: the SR-IOV physical function whose virtual functions are used."""

    _tag: ClassVar[str] = "pf"
    dev: str | None = typed("attr", "dev", required=True)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        check_ifname(self.dev, "forward pf dev")


@attrs.frozen
class Forward(SpecElement):
    """``<forward mode dev managed>``: how guests reach the outside (no ``<forward>``: isolated).

    ``interfaces`` (host devices), ``pfs`` (an SR-IOV physical function), ``addresses``
    (PCI virtual functions, mode ``hostdev``), ``nat`` (address and port ranges),
    ``driver_model`` (hostdev).
    """

    _tag: ClassVar[str] = "forward"
    _order = ("driver", "pf", "nat", "interface", "address")
    mode: str | None = typed("attr", "mode", conv=one_of(FORWARD_MODES, "forward mode"))
    dev: str | None = typed("attr", "dev")
    managed: bool | None = typed("attr", "managed", conv=YESNO)
    driver_name: str | None = typed("cattr", "driver", "name")
    driver_model: str | None = typed("cattr", "driver", "model")
    pfs: tuple[ForwardPf, ...] = typed("many", "pf", cls=ForwardPf, default=())
    nat: Nat | None = typed("one", "nat", cls=Nat, default=None)
    interfaces: tuple[ForwardInterface, ...] = typed("many", "interface", cls=ForwardInterface, default=())
    addresses: tuple[Address, ...] = typed("many", "address", cls=Address, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _complete_forward(self)

    @property
    def effective_mode(self) -> str:
        """The mode (``nat`` when the element gives none, as libvirt reads it)."""
        return self.mode or "nat"


def _complete_forward(f: Forward) -> None:
    """libvirt's checks of ``<forward>``, and its defaults (in place: ``f`` is new)."""
    check_ifname(f.dev, "forward dev")
    if f.mode is None:
        object.__setattr__(f, "mode", "nat")
    mode = f.mode
    if len(f.pfs) > 1:
        raise XMLError(f"only one <pf> is allowed in <forward mode='{mode}'>")
    devs = [i.dev for i in f.interfaces]
    for d in devs:
        if devs.count(d) > 1:
            raise XMLError(f"forward interface dev '{d}' is listed more than once")
    pci = [(a.domain, a.bus, a.slot, a.function) for a in f.addresses]
    for a, key in zip(f.addresses, pci, strict=True):
        if a.type != "pci":
            raise XMLError(f"forward address of type '{a.type}' is not supported: only 'pci'")
        if pci.count(key) > 1:
            raise XMLError(
                "forward PCI address {:04x}:{:02x}:{:02x}.{:x} is listed more than once".format(
                    *(x or 0 for x in key)
                )
            )
    if f.nat is not None and mode != "nat":
        raise XMLError(f"<nat> is only allowed in <forward mode='nat'>, not '{mode}'")
    if mode == "open" and (f.dev is not None or f.interfaces or f.pfs or f.addresses):
        raise XMLError("forward dev, interfaces and pfs are not allowed with forward mode='open'")
    if f.interfaces and f.addresses:
        raise XMLError(f"<forward mode='{mode}'> takes <address> or <interface> elements, not both")
    if f.addresses and mode in ("nat", "route", "open"):
        raise XMLError(f"forward <address> elements are not allowed with mode='{mode}'")
    if mode == "hostdev":
        return
    if f.dev is not None and f.interfaces and f.interfaces[0].dev != f.dev:
        raise XMLError(f"forward dev '{f.dev}' must match the first <interface dev='{f.interfaces[0].dev}'>")
    if f.dev is not None and not f.interfaces and not f.pfs:
        object.__setattr__(f, "interfaces", (ForwardInterface(dev=f.dev),))
    if f.dev is None and f.interfaces:
        object.__setattr__(f, "dev", f.interfaces[0].dev)


# ---------------------------------------------------------------------------- bridge, ports, QoS


@attrs.frozen
class Bridge(SpecElement):
    """``<bridge name stp delay macTableManager zone>``: the host bridge of the network."""

    _tag: ClassVar[str] = "bridge"
    name: str | None = typed("attr", "name")
    stp: bool | None = typed("attr", "stp", conv=ONOFF)
    delay: int | None = typed("attr", "delay", conv=UINT32)
    mac_table_manager: str | None = typed(
        "attr", "macTableManager", conv=one_of(("kernel", "libvirt"), "macTableManager")
    )
    zone: str | None = typed("attr", "zone")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        check_ifname(self.name, "bridge name")
        if self.zone is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", self.zone, re.ASCII):
            raise XMLError(f"invalid firewalld zone name '{self.zone}'")
        if self.zone is not None and self.zone.startswith("-"):
            raise XMLError(f"invalid firewalld zone name '{self.zone}': it cannot start with '-'")


@attrs.frozen
class VlanTag(SpecElement):
    """``<vlan><tag id nativeMode>``: a VLAN id (0-4095)."""

    _tag: ClassVar[str] = "tag"
    id: int | None = typed("attr", "id", conv=VLAN_ID, required=True)
    native_mode: str | None = typed(
        "attr", "nativeMode", conv=one_of(("tagged", "untagged"), "vlan nativeMode")
    )
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Vlan(SpecElement):
    """``<vlan trunk>``: the VLAN ``tags`` of the network's ports."""

    _tag: ClassVar[str] = "vlan"
    trunk: bool | None = typed("attr", "trunk", conv=YESNO)
    tags: tuple[VlanTag, ...] = typed("many", "tag", cls=VlanTag, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if not self.tags:
            raise XMLError("a <vlan> needs at least one <tag>")
        if len(self.tags) > 1 and self.trunk is False:
            raise XMLError("a <vlan trunk='no'> can have only one <tag>")


@attrs.frozen
class VirtualPortParameters(SpecElement):
    """``<virtualport><parameters>``: the port profile's ids (802.1Qbg/Qbh, Open vSwitch)."""

    _tag: ClassVar[str] = "parameters"
    managerid: int | None = typed("attr", "managerid", conv=UINT32)
    typeid: int | None = typed("attr", "typeid", conv=UINT32)
    typeidversion: int | None = typed("attr", "typeidversion", conv=UINT32)
    instanceid: str | None = typed("attr", "instanceid", conv=UUID)
    profileid: str | None = typed("attr", "profileid")
    interfaceid: str | None = typed("attr", "interfaceid", conv=UUID)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        check_text(self.profileid, "virtualport profileid")


@attrs.frozen
class VirtualPort(SpecElement):
    """``<virtualport type>``: ``802.1Qbg``, ``802.1Qbh``, ``openvswitch`` or ``midonet``."""

    _tag: ClassVar[str] = "virtualport"
    type: str | None = typed(
        "attr", "type", conv=one_of(("802.1Qbg", "802.1Qbh", "openvswitch", "midonet"), "virtualport type")
    )
    parameters: VirtualPortParameters | None = typed(
        "one", "parameters", cls=VirtualPortParameters, default=None
    )
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class PortGroup(SpecElement):
    """``<portgroup name default trustGuestRxFilters>``: a named set of port settings."""

    _tag: ClassVar[str] = "portgroup"
    _order = ("vlan", "virtualport", "bandwidth")
    name: str | None = typed("attr", "name", required=True)
    default: bool | None = typed("attr", "default", conv=YESNO)
    trust_guest_rx_filters: bool | None = typed("attr", "trustGuestRxFilters", conv=YESNO)
    vlan: Vlan | None = typed("one", "vlan", cls=Vlan, default=None)
    virtualport: VirtualPort | None = typed("one", "virtualport", cls=VirtualPort, default=None)
    bandwidth: Bandwidth | None = typed("one", "bandwidth", cls=Bandwidth, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        check_text(self.name, "portgroup name")


@attrs.frozen
class DnsmasqOption(SpecElement):
    """``<dnsmasq:option value>``: one line passed to dnsmasq as is (libvirt's escape hatch)."""

    _tag: ClassVar[str] = f"{{{DNSMASQ_NS}}}option"
    value: str | None = typed("attr", "value", required=True)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        # one option is one configuration line: a newline would smuggle in another
        check_text(self.value, "dnsmasq option")


@attrs.frozen
class DnsmasqOptions(SpecElement):
    """``<dnsmasq:options>``: extra dnsmasq configuration lines."""

    _tag: ClassVar[str] = f"{{{DNSMASQ_NS}}}options"
    options: tuple[DnsmasqOption, ...] = typed("many", DnsmasqOption._tag, cls=DnsmasqOption, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


# ---------------------------------------------------------------------------- <network>


@attrs.frozen
class NetworkDef(SpecElement):
    """A virtual network definition (``<network>``), immutable: change it with :func:`attrs.evolve`.

    ``forward`` is ``None`` for an isolated network; ``ips`` the bridge's addresses with
    their DHCP; ``domain_name`` the DNS domain (``domain_local_only``: answered locally
    only); ``mtu`` in bytes; ``port_isolated``: guests cannot talk to each other.
    ``uuid`` is generated when not given.
    """

    _tag: ClassVar[str] = "network"
    _order = (
        "name", "uuid", "title", "description", "metadata", "forward", "bridge", "port", "mtu",
        "mac", "domain", "dns", "vlan", "bandwidth", "ip", "route", "virtualport", "portgroup",
        DnsmasqOptions._tag,
    )  # fmt: skip
    name: str = typed("ctext", "name")
    uuid: str = typed("ctext", "uuid", conv=UUID)
    ipv6: bool | None = typed("attr", "ipv6", conv=YESNO)
    trust_guest_rx_filters: bool | None = typed("attr", "trustGuestRxFilters", conv=YESNO)
    #: how many guest interfaces are connected (status of a running network, written by the driver)
    connections: int | None = typed("attr", "connections", conv=UINT32)
    title: str | None = typed("ctext", "title", strip=False)
    description: str | None = typed("ctext", "description", strip=False)
    forward: Forward | None = typed("one", "forward", cls=Forward, default=None)
    bridge: Bridge | None = typed("one", "bridge", cls=Bridge, default=None)
    port_isolated: bool | None = typed("cattr", "port", "isolated", conv=YESNO)
    mtu: int | None = typed("cattr", "mtu", "size", conv=UINT32)
    mac: str | None = typed("cattr", "mac", "address", conv=MAC)
    domain_name: str | None = typed("cattr", "domain", "name")
    domain_local_only: bool | None = typed("cattr", "domain", "localOnly", conv=YESNO)
    domain_register: bool | None = typed("cattr", "domain", "register", conv=YESNO)
    dns: Dns | None = typed("one", "dns", cls=Dns, default=None)
    vlan: Vlan | None = typed("one", "vlan", cls=Vlan, default=None)
    bandwidth: Bandwidth | None = typed("one", "bandwidth", cls=Bandwidth, default=None)
    ips: tuple[IPDef, ...] = typed("many", "ip", cls=IPDef, default=())
    routes: tuple[Route, ...] = typed("many", "route", cls=Route, default=())
    virtualport: VirtualPort | None = typed("one", "virtualport", cls=VirtualPort, default=None)
    portgroups: tuple[PortGroup, ...] = typed("many", "portgroup", cls=PortGroup, default=())
    dnsmasq_options: DnsmasqOptions | None = typed(
        "one", DnsmasqOptions._tag, cls=DnsmasqOptions, default=None
    )
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _complete(self)

    @classmethod
    def covered(cls) -> Node:
        """What the model types of ``<network>``; ``<metadata>`` is kept verbatim on purpose."""
        return merge(spec_node(cls), metadata=ANY)

    @property
    def metadata(self) -> str | None:
        """``<metadata>`` serialized verbatim (it is always kept as written)."""
        if self.raw is None:
            return None
        md = next(self.raw.iterchildren("metadata"), None)
        return None if md is None else etree.tostring(md, encoding="unicode", with_tail=False)

    @property
    def mode(self) -> str | None:
        """The forward mode, ``None`` for an isolated network."""
        return None if self.forward is None else self.forward.mode

    def to_xml(self) -> str:
        """The network as XML text (see :func:`format_network`)."""
        return format_network(self)


def _set(n: NetworkDef, field: str, value: object) -> None:
    object.__setattr__(n, field, value)


def _complete(n: NetworkDef) -> None:
    """Check ``n`` and fill in what libvirt's parser fills in (in place: ``n`` is new)."""
    if n.name is None:
        raise NoNameError("<network>: a network needs a <name>", domain=error_domain_named("NETWORK"))
    check_network_name(n.name)
    what = f"network '{n.name}'"
    if n.ipv6 is False:
        _set(n, "ipv6", None)  # the default: libvirt writes only ipv6='yes'
    _set(n, "uuid", str(_uuid.uuid4()) if n.uuid is None else canonical_uuid(str(n.uuid), f"{what} <uuid>"))
    check_dns_name(n.domain_name, f"domain name of {what}")
    for text, name in ((n.title, "title"), (n.description, "description")):
        if text is not None and "\0" in text:
            raise XMLError(f"{what}: <{name}> cannot contain NUL")
    if n.title is not None and "\n" in n.title:
        raise XMLError(f"{what}: <title> cannot contain a newline")
    mode = n.mode
    if mode in _OWN_BRIDGE:
        # a bridge libvirt makes has STP on and no delay unless said: written even without a <bridge>
        bridge = Bridge() if n.bridge is None else n.bridge
        stp = True if bridge.stp is None else bridge.stp
        delay = 0 if bridge.delay is None else bridge.delay
        if n.bridge is None or (stp, delay) != (bridge.stp, bridge.delay):
            _set(n, "bridge", attrs.evolve(bridge, stp=stp, delay=delay))
    elif n.bridge is not None and (n.bridge.stp is not None or n.bridge.delay is not None):
        raise XMLError(f"{what}: bridge stp and delay are only allowed in isolated, nat, route and open mode")
    if mode in ("passthrough", "private", "vepa", "hostdev") and n.bridge is not None:
        raise XMLError(f"{what}: a <bridge> is not allowed with forward mode '{mode}'")
    if mode == "bridge" and n.bridge is not None and n.forward is not None and n.forward.interfaces:
        raise XMLError(f"{what}: forward mode 'bridge' takes a <bridge name> or forward interfaces, not both")
    dhcp4 = [ip for ip in n.ips if ip.address.version == 4 and ip.dhcp is not None]
    if len(dhcp4) > 1:
        raise XMLError(f"{what}: DHCP may be configured on only one IPv4 address")
    dhcp6 = [ip for ip in n.ips if ip.address.version == 6 and ip.dhcp is not None]
    if len(dhcp6) > 1:
        raise XMLError(f"{what}: DHCP may be configured on only one IPv6 address")
    defaults = [p.name for p in n.portgroups if p.default]
    if len(defaults) > 1:
        raise XMLError(f"{what}: more than one default portgroup ({', '.join(map(str, defaults))})")
    groups = [p.name for p in n.portgroups]
    for group in groups:
        if groups.count(group) > 1:
            raise XMLError(f"{what}: portgroup '{group}' is defined more than once")
    if n.mtu is not None and not 68 <= n.mtu <= 65535:
        raise XMLError(f"{what}: invalid mtu size {n.mtu}")


def network_from_element(el: Element) -> NetworkDef:
    """Parse a ``<network>`` element, applying libvirt's parse-time checks and defaults."""
    if el.tag != "network":
        raise XMLError(f"unexpected root element <{el.tag}>, expecting <network>")
    network: NetworkDef = NetworkDef.from_element(el)
    return network


def parse_network(text: str | bytes, *, strict: bool = False) -> NetworkDef:
    """Parse network XML (with the hardened parser) into a :class:`NetworkDef`.

    :param strict: also refuse elements and attributes the typed model does not cover
        (by default they are kept verbatim; see :func:`virtcore.xml.unmodelled`).
    :raises XMLError: malformed or hostile XML, a missing or invalid name, a malformed
        address, MAC or interface name, inconsistent forward settings.
    :raises ConfigUnsupportedError: a DHCP range outside its network (or reversed).
    """
    n = network_from_element(secure_parse(text, api="NETWORK"))
    if strict:
        check_covered(n, f"network '{n.name}'")
    return n


def format_network(n: NetworkDef) -> str:
    """``n`` as network XML text, indented like libvirt's (two spaces)."""
    return format_xml(n, f"network '{n.name}'", _NSMAP)
