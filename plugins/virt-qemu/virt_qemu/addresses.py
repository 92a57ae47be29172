"""A running guest's addresses from the host's neighbour (ARP) table: the ``arp`` source.

QEMU's network namespace is the one it was started in (a test's own, for
instance), so the table read is QEMU's: ``/proc/<qemu pid>/net/arp``. Each
interface of the live definition whose MAC has a complete entry is listed,
named by its host-side device (``vnet0``), with the entry's IPv4 addresses
and prefix 0, as libvirt's QEMU driver answers (the table knows no prefix).

The other sources are not this part's: ``lease`` is derived by the core
from the networks' DHCP leases (:func:`virtcore.network.lease_addresses`),
and ``agent`` is the guest-agent part's; both are declined here.
"""

from __future__ import annotations

from virt_qemu.connection import Part
from virtcore import hookimpl
from virtcore.errors import OperationInvalidError
from virtcore.network import DomainInterface, InterfaceAddress, InterfaceAddressSource, IPAddrType

__all__ = ["Addresses", "arp_table"]

#: ``/proc/net/arp``'s flags of an entry whose MAC is known (ATF_COM).
_COMPLETE = 0x2


def arp_table(pid: int) -> dict[str, list[str]]:
    """The IPv4 addresses of each MAC (lowercase) in process ``pid``'s network namespace's ARP table.

    :raises OSError: the process is gone.
    """
    with open(f"/proc/{pid}/net/arp") as f:
        lines = f.read().splitlines()[1:]
    table: dict[str, list[str]] = {}
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        ip, _hwtype, flags, mac = fields[:4]
        try:
            complete = int(flags, 16) & _COMPLETE
        except ValueError:
            continue
        if complete:
            table.setdefault(mac.lower(), []).append(ip)
    return table


class Addresses(Part):
    """The hook that answers a guest's addresses from the neighbour table."""

    @hookimpl
    def virt_domain_interface_addresses(
        self, uuid: str, source: InterfaceAddressSource
    ) -> list[DomainInterface] | None:
        """ARP: the live NICs' entries in QEMU's neighbour table; other sources declined."""
        if source is not InterfaceAddressSource.ARP:
            return None  # LEASE: the core's; AGENT: the guest-agent part's (first result wins)

        h = self.host
        h.sync()
        dom = h.get(uuid)
        with h.lock:
            active, live, pid, name = dom.active, dom.live, dom.pid, dom.name
        if not active or live is None or pid is None:
            raise OperationInvalidError(f"domain '{name}' is not running")
        try:
            table = arp_table(pid)
        except OSError:
            raise OperationInvalidError(f"domain '{name}' is not running (its QEMU is gone)") from None
        out: list[DomainInterface] = []
        for nic in live.interfaces:
            mac = nic.mac.lower() if nic.mac else None
            ips = table.get(mac) if mac else None
            if mac and ips:
                addrs = tuple(InterfaceAddress(IPAddrType.IPV4, ip, 0) for ip in ips)
                out.append(DomainInterface(nic.target_dev or "", mac, addrs))
        return out
