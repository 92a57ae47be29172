"""A running test domain's interface addresses, invented as libvirt's test driver invents them.

libvirt's test driver (``testDomainInterfaceAddresses``) has no guests to ask,
so it answers every source (lease, agent, ARP) alike from the definitions:

* an ``<interface type='network'>`` gets one address in its network's first
  ``<ip>``: the first DHCP range's start (the ``<ip>``'s own address when it
  has no range) plus ``20 * (domain id - 1) + index + 1``, where ``index``
  is the interface's position in the domain; the prefix is the ``<ip>``'s.
  An IPv6 address adds that offset to its last byte only (wrapping), as
  libvirt does;
* any other interface gets ``192.168.0.(index + 1)/24``.

Every interface is listed (the mock has an answer for each), named as
libvirt's test driver names the host side of a started guest's NICs: its
``<target dev>`` or the lowest free ``testnetN``, which a start writes into
the definition (:func:`with_ifnames`), as libvirt's does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from virt_test.networks import _parsed
from virtcore.errors import ConfigUnsupportedError, ErrorDomain, NoNetworkError
from virtcore.network import DomainInterface, InterfaceAddress, InterfaceAddressSource, IPAddrType
from virtcore.xml import Interface

if TYPE_CHECKING:
    from virt_test.networks import Networks
    from virt_test.node import Node
    from virtcore.xml import DomainDef

__all__ = ["interface_addresses", "host_ifnames", "with_ifnames"]


def host_ifnames(nics: Sequence[Interface]) -> list[str]:
    """The host-side names of ``nics``: each one's ``<target dev>``, else the lowest free ``testnetN``."""
    taken = {n.target_dev for n in nics if n.target_dev}
    names: list[str] = []
    counter = 0
    for nic in nics:
        if nic.target_dev:
            names.append(nic.target_dev)
            continue
        while f"testnet{counter}" in taken:
            counter += 1
        names.append(f"testnet{counter}")
        taken.add(names[-1])
    return names


def with_ifnames(d: DomainDef) -> DomainDef:
    """``d`` with every NIC's host-side name set (:func:`host_ifnames`): what a start does."""
    nics = d.interfaces
    if all(n.target_dev for n in nics):
        return d
    names = iter(host_ifnames(nics))
    devices = tuple(
        attrs.evolve(dev, target_dev=next(names)) if isinstance(dev, Interface) else dev for dev in d.devices
    )
    return attrs.evolve(d, devices=devices, raw=d.raw)


def _from_network(networks: Networks, name: str, offset: int, where: str) -> InterfaceAddress:
    """The address ``offset`` past the start of network ``name``'s first range (or its address)."""
    with networks.lock:
        net = networks.by_name.get(name)
        if net is None:
            raise NoNetworkError(f"no network with matching name '{name}'", domain=ErrorDomain.NETWORK)
        definition = _parsed(net.live)
    if not definition.ips:
        raise ConfigUnsupportedError(f"{where}: network '{name}' has no <ip> to give an address from")
    ip = definition.ips[0]
    ranges = ip.dhcp.ranges if ip.dhcp is not None else ()
    base = ranges[0].start if ranges else ip.address
    if base.version == 6:
        packed = bytearray(base.packed)
        packed[15] = (packed[15] + offset) % 256
        return InterfaceAddress(IPAddrType.IPV6, str(ipaddress.IPv6Address(bytes(packed))), ip.prefix_length)
    return InterfaceAddress(
        IPAddrType.IPV4, str(ipaddress.IPv4Address((int(base) + offset) % (1 << 32))), ip.prefix_length
    )


def interface_addresses(node: Node, uuid: str, source: InterfaceAddressSource) -> list[DomainInterface]:
    """Every interface of running domain ``uuid`` with its invented address (any ``source``).

    :raises OperationInvalidError: the domain is not running.
    :raises NoNetworkError: an interface's network does not exist.
    """
    del source  # libvirt's test driver answers every source the same
    with node.lock:
        dom = node._active(uuid)
        nics = dom.definition().interfaces
        dom_id = dom.id
    names = host_ifnames(nics)
    out: list[DomainInterface] = []
    for index, nic in enumerate(nics):
        if nic.type == "network" and nic.source:
            where = f"interface {names[index]} of domain '{dom.name}'"
            addr = _from_network(node.networks, nic.source, 20 * (dom_id - 1) + index + 1, where)
        else:
            addr = InterfaceAddress(IPAddrType.IPV4, f"192.168.0.{index + 1}", 24)
        out.append(DomainInterface(names[index], nic.mac.lower() if nic.mac else None, (addr,)))
    return out
