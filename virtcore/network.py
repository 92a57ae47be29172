"""Virtual networks: the public handles over the network hooks.

A *virtual network* is a host bridge with addressing (DHCP, DNS) and a way
out (NAT, routing, or none) that guests' ``<interface type='network'>``
attach to. Values follow libvirt's ``libvirt-network.h``: update commands
and sections are libvirt's numbers.

Networks may be served by a secondary driver shared by the host's
hypervisor connections, or by the hypervisor driver itself (the test driver
serves its own, in memory). A connection whose drivers offer no networks
raises ``NoSupportError`` naming the operation.

::

    net = conn.define_network(net_xml)
    net.start(); net.autostart = True
    net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST,
               "<host mac='52:54:00:00:00:01' ip='192.168.122.10'/>")
    for lease in net.dhcp_leases():
        print(lease.mac, lease.ipaddr)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from virtcore import errors, hookspecs
from virtcore._dispatch import canonical_uuid, declined, xml_arg
from virtcore.errors import (
    InvalidArgError,
    NoNetworkError,
    NoSupportError,
    OperationInvalidError,
    OperationTimeoutError,
    VirtError,
)

if TYPE_CHECKING:
    from virtcore._dispatch import Table
    from virtcore._networktypes import (
        ANY_SOURCE,
        DomainInterface,
        InterfaceAddress,
        InterfaceAddressSource,
        IPAddrType,
        NetworkDHCPLease,
        NetworkRef,
        NetworkSection,
        NetworkUpdateCommand,
    )

__all__ = [
    "IPAddrType",
    "InterfaceAddressSource",
    "InterfaceAddress",
    "DomainInterface",
    "ANY_SOURCE",
    "lease_addresses",
    "BridgeResolver",
    "resolve_network_bridge",
    "wait_for_addresses",
    "NetworkUpdateCommand",
    "NetworkSection",
    "NetworkRef",
    "NetworkDHCPLease",
    "NetworkAPI",
    "Network",
]


def __getattr__(name: str) -> object:
    # The enums and records live in virtcore._networktypes, imported on first use.
    if not name.startswith("_"):
        from virtcore import _networktypes  # saves ~7M instructions of a cold open

        if name in _networktypes.__all__:
            return getattr(_networktypes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Error codes that mean "this source cannot answer yet" while waiting: the guest agent
#: is not up (it starts late in the guest's boot) or did not answer in time.
#: (Their codes, not their classes: a driver may raise any VirtError carrying them.)
_NOT_YET = ("AGENT_UNRESPONSIVE", "AGENT_COMMAND_TIMEOUT", "AGENT_UNSYNCED")


#: A connection's ``resolve_network(name) -> bridge``, as hypervisor drivers get it in
#: :func:`~virtcore.hookspecs.virt_connect_open`.
BridgeResolver = Callable[[str], str]


def resolve_network_bridge(resolve: BridgeResolver | None, network: str | None, where: str) -> str:
    """The bridge an ``<interface type='network'>`` attaches to: what a hypervisor driver calls.

    ``where`` names the interface for messages (``"interface 0 of domain 'web'"``);
    every error names it and the network.

    :raises ConfigUnsupportedError: no network name.
    :raises NoNetworkError: no such network.
    :raises OperationInvalidError: the network is not active (libvirt's
        ``network 'x' is not active``).
    :raises NoSupportError: no connection (``resolve`` is None) or no network driver.
    """
    from virtcore.errors import ConfigUnsupportedError

    if not network:
        raise ConfigUnsupportedError(f"{where}: <interface type='network'> needs <source network=...>")
    if resolve is None:
        raise NoSupportError(f"{where}: network '{network}' (the connection is not open)")
    try:
        return resolve(network)
    except NoNetworkError as exc:
        raise NoNetworkError(f"{exc.detail} (network of {where})", domain=exc.domain) from None
    except NoSupportError as exc:
        raise NoSupportError(
            f"{exc.detail} (needed for network '{network}' of {where}: is a network driver installed?)"
        ) from None


def lease_addresses(networks: NetworkAPI, domain_name: str, live_xml: str) -> list[DomainInterface]:
    """The ``LEASE`` answer for a running domain, derived from its networks' DHCP leases.

    What libvirt's QEMU driver does (``qemuGetDHCPInterfaces``) and what the
    core answers for every hypervisor driver that leaves ``LEASE`` to it: for
    each ``<interface type='network'>`` of the live definition ``live_xml``,
    the leases its network holds for the interface's MAC address; an
    interface with none is left out. The interface's name is its host-side
    device (``<target dev='vnet0'/>``).

    :raises NoNetworkError: an interface's network does not exist.
    :raises NoSupportError: the connection has no networks.
    """
    from virtcore._networktypes import DomainInterface, InterfaceAddress  # saves ~7M: see __getattr__
    from virtcore.xml import parse_domain  # the XML model: only when leases are asked for

    out: list[DomainInterface] = []
    for nic in parse_domain(live_xml).interfaces:
        if nic.type != "network" or not nic.source or not nic.mac:
            continue
        mac = nic.mac.lower()
        try:
            leases = networks.lookup_network(nic.source).dhcp_leases(mac)
        except NoSupportError as exc:
            raise NoSupportError(
                f"{exc.detail} (needed for the leases of domain '{domain_name}' on network "
                f"'{nic.source}': is a network driver installed?)"
            ) from None
        addrs = tuple(InterfaceAddress(lease.type, lease.ipaddr, lease.prefix) for lease in leases)
        if addrs:
            out.append(DomainInterface(nic.target_dev or "", mac, addrs))
    return out


def _only_family(ifaces: Sequence[DomainInterface], family: IPAddrType | None) -> list[DomainInterface]:
    if family is None:
        return [i for i in ifaces if i.addrs]
    kept = [i._replace(addrs=tuple(a for a in i.addrs if a.type == family)) for i in ifaces]
    return [i for i in kept if i.addrs]


def wait_for_addresses(
    ask: Callable[[InterfaceAddressSource], list[DomainInterface]],
    domain_name: str,
    *,
    timeout: float,
    sources: Sequence[InterfaceAddressSource],
    family: IPAddrType | None = None,
    interval: float = 0.25,
) -> list[DomainInterface]:
    """Poll ``ask(source)`` until one answer holds an address (of ``family``); return that answer.

    The engine of :meth:`virtcore.Domain.wait_for_addresses`. ``sources`` are
    asked in turn on every round; one whose driver lacks it
    (``NoSupportError``) is dropped, and a guest agent that does not answer
    yet counts as "no address yet". Every other error (the domain stopped:
    ``OperationInvalidError``) ends the wait at once. The answer keeps only
    the interfaces with an address of ``family`` (``None``: any).

    :raises OperationTimeoutError: no address after ``timeout`` seconds, naming the domain.
    :raises NoSupportError: no source in ``sources`` is supported.
    """
    deadline = time.monotonic() + timeout
    live = list(sources)
    unsupported: list[str] = []
    while True:
        for source in list(live):
            try:
                found = _only_family(ask(source), family)
            except NoSupportError as exc:
                live.remove(source)
                unsupported.append(str(exc))
                continue
            except VirtError as exc:
                if exc.code not in {getattr(errors.ErrorNumber, name) for name in _NOT_YET}:
                    raise
                continue
            if found:
                return found
        if not live:
            raise NoSupportError(
                f"no address source of domain '{domain_name}' is supported: {'; '.join(unsupported)}"
            )
        left = deadline - time.monotonic()
        if left <= 0:
            what = "address" if family is None else f"{family.name.replace('IPV', 'IPv')} address"
            names = ", ".join(s.name.lower() for s in live)
            raise OperationTimeoutError(
                f"domain '{domain_name}' has no {what} after {timeout:g} s (asked: {names})"
            )
        time.sleep(min(interval, left))


def _name_arg(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _mac_arg(value: object) -> str | None:
    if value is None:
        return None
    text = _name_arg(value, "MAC address").lower()
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts):
        raise InvalidArgError(f"malformed MAC address {value!r}")
    return text


class NetworkAPI:
    """The network half of :class:`virtcore.Connection` (its methods, mixed in)."""

    _ops: Table

    def list_networks(self, active: bool | None = None) -> list[Network]:
        """Networks: all (``None``), only active (``True``) or only inactive (``False``)."""
        spec = hookspecs.virt_connect_list_all_networks
        refs = self._ops[spec](active=active)
        return [Network(self, r) for r in refs] if refs is not None else declined(spec)

    def lookup_network(self, name: str) -> Network:
        """The network called ``name``; ``NoNetworkError`` if there is none."""
        spec = hookspecs.virt_network_lookup_by_name
        r = self._ops[spec](name=_name_arg(name, "network name"))
        return Network(self, r) if r is not None else declined(spec)

    def lookup_network_by_uuid(self, uuid: str) -> Network:
        """The network with this UUID (any common spelling); ``NoNetworkError`` if none."""
        spec = hookspecs.virt_network_lookup_by_uuid
        r = self._ops[spec](uuid=canonical_uuid(uuid, "NETWORK"))
        return Network(self, r) if r is not None else declined(spec)

    def define_network(self, xml: str) -> Network:
        """Define a persistent, inactive network from ``<network>`` XML (start it next)."""
        spec = hookspecs.virt_network_define_xml
        r = self._ops[spec](xml=xml_arg(xml, "network XML"))
        return Network(self, r) if r is not None else declined(spec)

    def create_network(self, xml: str) -> Network:
        """Create and start a transient network: it vanishes when destroyed."""
        spec = hookspecs.virt_network_create_xml
        r = self._ops[spec](xml=xml_arg(xml, "network XML"))
        return Network(self, r) if r is not None else declined(spec)

    def _resolve_network(self, name: str) -> str:
        """The bridge of active network ``name``: what drivers get as ``resolve_network``."""
        net = self.lookup_network(name)
        if not net.is_active():
            raise OperationInvalidError(f"network '{name}' is not active", domain=errors.ErrorDomain.NETWORK)
        return net.bridge_name


class Network:
    """A handle on one virtual network of a connection. Get one from a lookup or a define."""

    __slots__ = ("_conn", "name", "uuid")

    def __init__(self, conn: NetworkAPI, ref: NetworkRef) -> None:
        self._conn = conn
        #: The network's name.
        self.name: str = ref.name
        #: The canonical UUID string.
        self.uuid: str = ref.uuid

    def __repr__(self) -> str:
        return f"<virtcore.Network {self.name!r} {self.uuid}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and other._conn is self._conn and other.uuid == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    @property
    def connection(self) -> NetworkAPI:
        """The connection this handle belongs to."""
        return self._conn

    def _done(self, r: bool | None, spec: Callable[..., object]) -> None:
        if r is None:
            declined(spec)

    def start(self) -> None:
        """Start (activate) the network."""
        spec = hookspecs.virt_network_create
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def destroy(self) -> None:
        """Stop the network (a transient network vanishes)."""
        spec = hookspecs.virt_network_destroy
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def undefine(self) -> None:
        """Remove the persistent definition (an active network runs on as transient)."""
        spec = hookspecs.virt_network_undefine
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def is_active(self) -> bool:
        """Whether the network is running."""
        spec = hookspecs.virt_network_is_active
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def is_persistent(self) -> bool:
        """Whether the network has a persistent definition."""
        spec = hookspecs.virt_network_is_persistent
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def xml_desc(self, inactive: bool = False) -> str:
        """The network's XML (``inactive``: the persistent definition)."""
        spec = hookspecs.virt_network_get_xml_desc
        r = self._conn._ops[spec](uuid=self.uuid, inactive=bool(inactive))
        return r if r is not None else declined(spec)

    @property
    def autostart(self) -> bool:
        """Whether the network starts with the host; assign to change it."""
        spec = hookspecs.virt_network_get_autostart
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    @autostart.setter
    def autostart(self, value: bool) -> None:
        spec = hookspecs.virt_network_set_autostart
        self._done(self._conn._ops[spec](uuid=self.uuid, autostart=bool(value)), spec)

    @property
    def bridge_name(self) -> str:
        """The host bridge's name (``virbr0``)."""
        spec = hookspecs.virt_network_get_bridge_name
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def dhcp_leases(self, mac: str | None = None) -> list[NetworkDHCPLease]:
        """The network's current DHCP leases (only ``mac``'s, when given)."""
        spec = hookspecs.virt_network_get_dhcp_leases
        r = self._conn._ops[spec](uuid=self.uuid, mac=_mac_arg(mac))
        return r if r is not None else declined(spec)

    def update(
        self,
        command: NetworkUpdateCommand,
        section: NetworkSection,
        xml: str,
        *,
        parent_index: int = -1,
        live: bool = False,
        config: bool = False,
    ) -> None:
        """Add, modify or delete one element of ``section`` (``live``/``config``: which definition).

        Neither ``live`` nor ``config`` changes the current definition: the
        running one of an active network, else the persistent one.
        """
        from virtcore._networktypes import NetworkSection, NetworkUpdateCommand  # saves ~7M: __getattr__

        try:
            cmd, sec = NetworkUpdateCommand(command), NetworkSection(section)
        except ValueError:
            raise InvalidArgError(
                f"unknown network update command or section: {command!r}, {section!r}"
            ) from None
        if isinstance(parent_index, bool) or not isinstance(parent_index, int) or parent_index < -1:
            raise InvalidArgError(f"parent index must be an integer from -1 up, not {parent_index!r}")
        spec = hookspecs.virt_network_update
        r = self._conn._ops[spec](
            uuid=self.uuid,
            command=cmd,
            section=sec,
            parent_index=parent_index,
            xml=xml_arg(xml, "network update XML"),
            live=bool(live),
            config=bool(config),
        )
        self._done(r, spec)
