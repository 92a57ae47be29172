"""``networkUpdate`` on a network definition: what libvirt's ``virNetworkDefUpdateSection`` does.

Shared by the network drivers (the test driver's mock and the host driver): it
updates the static DHCP hosts (``NetworkSection.IP_DHCP_HOST``), the section users
change most (a guest's fixed address); other sections are
``ArgumentUnsupportedError`` naming them. The rules are libvirt's:

* ``parent_index`` picks the ``<ip>``; ``-1`` the one ``<ip>`` that has DHCP
  (two with DHCP: refused), else the first IPv4 one.
* ``ADD_FIRST``/``ADD_LAST`` refuse a host whose MAC, id, name or address
  another host of that ``<ip>`` has (the message shows the host given);
  ``MODIFY`` replaces the first host with the same MAC, id, name or address;
  ``DELETE`` removes the host equal to the one given.

Every change makes a new definition (the model's checks run on it again);
the old one is left as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtcore import errors
from virtcore.errors import ArgumentUnsupportedError, OperationInvalidError, XMLError
from virtcore.network import NetworkSection, NetworkUpdateCommand

if TYPE_CHECKING:
    from virtcore.xml import NetworkDef
    from virtcore.xml.network import DhcpHost, IPDef

__all__ = ["update_definition"]


def _pick_ip(d: NetworkDef, parent_index: int) -> int:
    """The index in ``d.ips`` of the ``<ip>`` a DHCP host update is for."""
    if parent_index >= 0:
        if parent_index >= len(d.ips):
            raise OperationInvalidError(
                f"couldn't update dhcp host entry - no <ip> element found at index {parent_index}"
                f" in network '{d.name}'",
                domain=errors.ErrorDomain.NETWORK,
            )
        return parent_index
    with_dhcp = [i for i, ip in enumerate(d.ips) if ip.dhcp is not None and (ip.dhcp.ranges or ip.dhcp.hosts)]
    if len(with_dhcp) > 1:
        raise OperationInvalidError(
            f"dhcp is enabled on multiple IPs of network '{d.name}': give the parent index",
            domain=errors.ErrorDomain.NETWORK,
        )
    if with_dhcp:
        return with_dhcp[0]
    for version in (4, 6):
        for i, ip in enumerate(d.ips):
            if ip.address.version == version:
                return i
    raise OperationInvalidError(
        f"couldn't update dhcp host entry - no <ip> element found in network '{d.name}'",
        domain=errors.ErrorDomain.NETWORK,
    )


def _describe(h: DhcpHost) -> str:
    parts = [f"{k}='{v}'" for k, v in (("mac", h.mac), ("id", h.id), ("name", h.name), ("ip", h.ip)) if v]
    return "<host " + " ".join(parts) + "/>"


def _same_host(a: DhcpHost, b: DhcpHost) -> bool:
    return (a.mac, a.id, a.name, a.ip) == (b.mac, b.id, b.name, b.ip)


def _clashes(a: DhcpHost, b: DhcpHost) -> bool:
    return any(
        x is not None and x == y for x, y in ((a.mac, b.mac), (a.id, b.id), (a.name, b.name), (a.ip, b.ip))
    )


def _new_hosts(
    d: NetworkDef, ip: IPDef, command: NetworkUpdateCommand, host: DhcpHost
) -> tuple[DhcpHost, ...]:
    hosts = ip.dhcp.hosts if ip.dhcp is not None else ()
    if command in (NetworkUpdateCommand.ADD_FIRST, NetworkUpdateCommand.ADD_LAST):
        if any(_clashes(h, host) for h in hosts):
            raise OperationInvalidError(
                f"there is an existing dhcp host entry in network '{d.name}' that matches"
                f' "{_describe(host)}"',
                domain=errors.ErrorDomain.NETWORK,
            )
        return (host, *hosts) if command == NetworkUpdateCommand.ADD_FIRST else (*hosts, host)
    if command == NetworkUpdateCommand.DELETE:
        kept = tuple(h for h in hosts if not _same_host(h, host))
        if len(kept) == len(hosts):
            raise OperationInvalidError(
                f"couldn't locate a matching dhcp host entry in network '{d.name}'",
                domain=errors.ErrorDomain.NETWORK,
            )
        return kept
    if command == NetworkUpdateCommand.MODIFY:
        matches = [i for i, h in enumerate(hosts) if _clashes(h, host)]
        if not matches:
            raise OperationInvalidError(
                f'couldn\'t locate an existing dhcp host entry matching "{_describe(host)}"'
                f" in network '{d.name}'",
                domain=errors.ErrorDomain.NETWORK,
            )
        return tuple(host if i == matches[0] else h for i, h in enumerate(hosts))
    raise ArgumentUnsupportedError(f"network update command {command.name} is not supported")


def update_definition(
    d: NetworkDef, command: NetworkUpdateCommand, section: NetworkSection, parent_index: int, xml: str
) -> NetworkDef:
    """``d`` with the update applied (a new definition; the model checks it again)."""
    import attrs  # saves ~28 ms on open: only updates evolve definitions

    from virtcore.xml import secure_parse  # saves ~170 ms on open: lxml and the XML model
    from virtcore.xml.network import Dhcp, DhcpHost  # saves ~170 ms on open: the XML model

    if section != NetworkSection.IP_DHCP_HOST:
        raise ArgumentUnsupportedError(
            f"can't update '{section.name.lower().replace('_', '-')}' section of network '{d.name}'"
            " (the test driver updates ip-dhcp-host only)"
        )
    el = secure_parse(xml)
    if el.tag != "host":
        raise XMLError(f"unexpected element <{el.tag}>, expecting <host>, while updating network '{d.name}'")
    host = DhcpHost.from_element(el)
    index = _pick_ip(d, parent_index)
    ip = d.ips[index]
    hosts = _new_hosts(d, ip, command, host)
    dhcp = attrs.evolve(ip.dhcp, hosts=hosts) if ip.dhcp is not None else Dhcp(hosts=hosts)
    ips = tuple(attrs.evolve(ip, dhcp=dhcp) if i == index else other for i, other in enumerate(d.ips))
    return attrs.evolve(d, ips=ips)
