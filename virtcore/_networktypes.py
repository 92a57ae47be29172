"""The network enums and records, public in :mod:`virtcore.network`.

:mod:`virtcore.network` imports this module on first use: a process that
opens a connection and never touches networks or guest addresses does not
build these four enums and four named tuples (~7M instructions of a cold open).
"""

# No ``from __future__ import annotations``: typing.NamedTuple compiles string annotations.

import enum
from typing import NamedTuple

__all__ = [
    "IPAddrType",
    "InterfaceAddressSource",
    "InterfaceAddress",
    "DomainInterface",
    "ANY_SOURCE",
    "NetworkUpdateCommand",
    "NetworkSection",
    "NetworkRef",
    "NetworkDHCPLease",
]


class IPAddrType(enum.IntEnum):
    """``virIPAddrType``."""

    IPV4 = 0
    IPV6 = 1


class InterfaceAddressSource(enum.IntEnum):
    """``virDomainInterfaceAddressesSource``: where a guest's addresses are learnt."""

    #: The DHCP leases of the virtual networks the guest's interfaces are on.
    LEASE = 0
    #: The guest agent (``guest-network-get-interfaces``): every address the guest has.
    AGENT = 1
    #: The host's neighbour (ARP) table, matched by MAC address.
    ARP = 2


class InterfaceAddress(NamedTuple):
    """``virDomainIPAddress``: one address of a guest interface."""

    type: IPAddrType
    addr: str
    prefix: int


class DomainInterface(NamedTuple):
    """``virDomainInterface``: a guest interface and the addresses a source knows for it.

    ``name`` is the host-side device (``vnet0``) for the lease and ARP sources and
    the guest's own name (``eth0``) for the agent, as in libvirt.
    """

    name: str
    #: The MAC address, lowercase (``None`` when the agent does not tell, e.g. ``lo``).
    hwaddr: str | None
    addrs: tuple[InterfaceAddress, ...]


#: The sources :func:`wait_for_addresses` asks in turn when none is named: the networks'
#: leases first (cheap, exact), then the neighbour table, then the guest agent.
ANY_SOURCE: tuple[InterfaceAddressSource, ...] = (
    InterfaceAddressSource.LEASE,
    InterfaceAddressSource.ARP,
    InterfaceAddressSource.AGENT,
)


class NetworkUpdateCommand(enum.IntEnum):
    """``virNetworkUpdateCommand``: what :meth:`Network.update` does with its element."""

    NONE = 0
    MODIFY = 1
    DELETE = 2
    ADD_LAST = 3
    ADD_FIRST = 4


class NetworkSection(enum.IntEnum):
    """``virNetworkUpdateSection``: which part of the definition :meth:`Network.update` changes."""

    NONE = 0
    BRIDGE = 1
    DOMAIN = 2
    IP = 3
    IP_DHCP_HOST = 4
    IP_DHCP_RANGE = 5
    FORWARD = 6
    FORWARD_INTERFACE = 7
    FORWARD_PF = 8
    PORTGROUP = 9
    DNS_HOST = 10
    DNS_TXT = 11
    DNS_SRV = 12


class NetworkRef(NamedTuple):
    """What a driver answers to a network lookup: the network's identity (canonical UUID string)."""

    name: str
    uuid: str


class NetworkDHCPLease(NamedTuple):
    """``virNetworkDHCPLease``, with libvirt's field names and order.

    ``type`` is the address's :class:`IPAddrType` (IPv4 or IPv6).
    """

    #: The network's bridge the lease was handed out on (``virbr0``).
    iface: str
    #: When the lease expires, seconds since the epoch (0: never).
    expirytime: int
    type: IPAddrType
    #: The client's MAC address (IPv4), lowercase.
    mac: str | None
    #: The IAID (IPv6 only).
    iaid: str | None
    ipaddr: str
    prefix: int
    hostname: str | None
    clientid: str | None


# Their public home: pickling, documentation and class reprs name virtcore.network.
for _name in __all__:
    if isinstance(globals()[_name], type):
        globals()[_name].__module__ = "virtcore.network"
del _name
