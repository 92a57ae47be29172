"""dnsmasq's configuration for a network: a pure function of its definition, as libvirt writes it.

:func:`dnsmasq_files` turns a :class:`~virtcore.xml.NetworkDef` into the text of
dnsmasq's configuration file, its DHCP hosts file and its additional hosts file
(the DNS ``<host>`` records), after libvirt's ``networkDnsmasqConfContents``: the
same options, for every case of libvirt's ``networkxml2confdata`` equal in meaning.
It reads nothing and writes nothing; :mod:`virt_network.host` writes the result.

Every value that reaches a line has been checked by the XML model (names are DNS
names, texts hold no control characters, file names no commas), so nothing in a
definition can start another option; the ``<dnsmasq:options>`` lines are passed as
given, as libvirt does (one line each: a newline is refused by the model).

:func:`parse_leases` reads dnsmasq's lease file into libvirt's ``NetworkDHCPLease``.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from virtcore.network import IPAddrType, NetworkDHCPLease
from virtcore.xml import NetworkDef
from virtcore.xml.network import DhcpHost, DnsSrv, IPDef, Lease

__all__ = ["DnsmasqFiles", "dnsmasq_files", "parse_leases", "serves_dhcp"]


class DnsmasqFiles(NamedTuple):
    """What dnsmasq reads for one network: ``conf`` (``--conf-file``), ``hostsfile``, ``addnhosts``."""

    conf: str
    hostsfile: str
    addnhosts: str


def _lease_time(lease: Lease | None) -> str | None:
    """``1h``, ``10m``, ``200s`` or ``infinite`` (expiry 0), as dnsmasq spells a lease time."""
    if lease is None or lease.expiry is None:
        return None
    if lease.expiry == 0:
        return "infinite"
    return f"{lease.expiry}{(lease.unit or 'minutes')[0]}"


def _srv(s: DnsSrv) -> str:
    """One ``srv-host=_service._proto[.domain][,target[,port[,priority[,weight]]]]`` value."""
    text = f"_{s.service}._{s.protocol}" + (f".{s.domain}" if s.domain else "")
    if s.target:
        text += f",{s.target}"
        if s.port is not None or s.priority is not None or s.weight is not None:
            text += f",{1 if s.port is None else s.port}"
        if s.priority is not None or s.weight is not None:
            text += f",{0 if s.priority is None else s.priority}"
        if s.weight is not None:
            text += f",{s.weight}"
    return text


def _ptr_zone(ip: IPDef) -> str | None:
    """The reverse DNS zone of ``ip``'s subnet (``122.168.192.in-addr.arpa``), when it has one."""
    net = ip.network
    step = 8 if net.version == 4 else 4
    if net.prefixlen % step:
        return None
    labels = net.network_address.reverse_pointer.split(".")
    return ".".join(labels[(net.max_prefixlen - net.prefixlen) // step :])


def _host_line(h: DhcpHost, version: int) -> str:
    """One line of the DHCP hosts file (``mac,ip,name[,lease]`` / ``id:DUID,name,[ip6]``)."""
    if version == 4:
        parts = [p for p in (h.mac, str(h.ip) if h.ip else None, h.name) if p]
    else:
        parts = [p for p in (f"id:{h.id}" if h.id else None, h.name, f"[{h.ip}]" if h.ip else None) if p]
    lease = _lease_time(h.lease)
    return ",".join(parts + ([lease] if lease else []))


def serves_dhcp(d: NetworkDef) -> bool:
    """Whether ``d`` has DHCP (ranges or static hosts) on some address."""
    return any(ip.dhcp is not None and (ip.dhcp.ranges or ip.dhcp.hosts) for ip in d.ips)


def dnsmasq_files(
    d: NetworkDef,
    directory: str,
    *,
    stem: str | None = None,
    pidfile: str | None = None,
    leasefile: str | None = None,
) -> DnsmasqFiles:
    """dnsmasq's files for ``d``, naming ``directory/STEM.hostsfile`` and ``.addnhosts`` (STEM: the name).

    ``pidfile`` and ``leasefile`` add ``pid-file=`` and ``dhcp-leasefile=`` lines (what a
    running dnsmasq of virt-network uses; libvirt gives those on its command line).
    """
    stem = d.name if stem is None else stem
    bridge = d.bridge.name if d.bridge is not None else None
    dns = d.dns
    dns_on = dns is None or dns.enable is not False
    out: list[str] = ["## dnsmasq configuration written by virtcore's network driver", "strict-order"]
    if dns is not None:
        for fwd in dns.forwarders:
            if fwd.domain:
                out.append(f"server=/{fwd.domain}/{fwd.addr if fwd.addr else '#'}")
            elif fwd.addr:
                out.append(f"server={fwd.addr}")
        if any(f.addr and not f.domain for f in dns.forwarders):
            out.append("no-resolv")
    if d.domain_name:
        if d.domain_local_only:
            out.append(f"local=/{d.domain_name}/")
        out += [f"domain={d.domain_name}", "expand-hosts"]
    if dns is not None and dns.forward_plain_names is False:
        out += ["domain-needed", "local=//"]
    if not dns_on:
        out.append("port=0")
    for ip in d.ips:
        zone = _ptr_zone(ip) if ip.local_ptr else None
        if zone:
            out.append(f"local=/{zone}/")
    if pidfile:
        out.append(f"pid-file={pidfile}")
    out += ["except-interface=lo", "bind-dynamic"]
    if bridge:
        out.append(f"interface={bridge}")
    if d.forward is None:
        out += ["dhcp-option=3", "no-resolv", "ra-param=*,0,0"]
    if dns is not None and dns_on:
        out += [f"txt-record={t.name},{t.value or ''}".rstrip(",") for t in dns.txts]
        out += [f"srv-host={_srv(s)}" for s in dns.srvs if s.service and s.protocol]

    hosts: list[str] = []
    lease_max = 0
    dhcp6 = False
    boot: list[str] = []
    for ip in d.ips:
        dhcp = ip.dhcp
        v = ip.address.version
        if ip.tftp_root and v == 4:
            out += ["enable-tftp", f"tftp-root={ip.tftp_root}"]
        if dhcp is None or not (dhcp.ranges or dhcp.hosts):
            continue
        for r in dhcp.ranges:
            size = str(ip.network.netmask) if v == 4 else str(ip.prefix_length)
            lease = _lease_time(r.lease)
            out.append(f"dhcp-range={r.start},{r.end},{size}" + (f",{lease}" if lease else ""))
            lease_max += int(r.end) - int(r.start) + 1
        if not dhcp.ranges:
            out.append(f"dhcp-range={ip.address},static" + ("" if v == 4 else f",{ip.prefix_length}"))
        if v == 4:
            out += ["dhcp-no-override", "dhcp-authoritative"]
        else:
            dhcp6 = True
        hosts += [_host_line(h, v) for h in dhcp.hosts]
        if v == 4 and dhcp.bootp is not None:
            server = f",,{dhcp.bootp.server}" if dhcp.bootp.server else ""
            boot.append(f"dhcp-boot={dhcp.bootp.file}{server}")
    out += boot
    if lease_max:
        out.append(f"dhcp-lease-max={lease_max}")
    if serves_dhcp(d):
        out.append(f"dhcp-hostsfile={directory}/{stem}.hostsfile")
        if leasefile:
            out.append(f"dhcp-leasefile={leasefile}")
    if dns_on:
        out.append(f"addn-hosts={directory}/{stem}.addnhosts")
    if d.mtu is not None:
        out.append(f"dhcp-option=option:mtu,{d.mtu}")
    out += [f"dhcp-range={ip.address},ra-only" for ip in d.ips if ip.address.version == 6 and ip.dhcp is None]
    if dhcp6:
        out.append("enable-ra")
    if d.dnsmasq_options is not None:
        out += [o.value for o in d.dnsmasq_options.options if o.value is not None]

    addn = []
    if dns is not None and dns_on:
        for h in dns.hosts:
            names = [n.name for n in h.hostnames if n.name]
            if names:
                addn.append("\t".join([str(h.ip), *names]))
    return DnsmasqFiles(
        "\n".join(out) + "\n",
        "".join(f"{line}\n" for line in hosts),
        "".join(f"{line}\n" for line in addn),
    )


def _none(text: str) -> str | None:
    return None if text in ("*", "") else text


def parse_leases(
    text: str, iface: str, prefixes: dict[int, int], mac: str | None = None
) -> list[NetworkDHCPLease]:
    """The leases of dnsmasq's lease file ``text`` handed out on ``iface`` (``mac``'s only, when given).

    Lines are ``EXPIRY MAC IP HOSTNAME CLIENTID`` (IPv4) and, after a ``duid`` line,
    ``EXPIRY IAID IP HOSTNAME DUID`` (IPv6); ``*`` is dnsmasq's "none". ``prefixes``
    maps each IP version to the network's prefix length (libvirt reports it).
    A malformed line is skipped.
    """
    found: list[NetworkDHCPLease] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 5:
            continue
        expiry, hw, addr, host, client = fields
        try:
            ip = ipaddress.ip_address(addr.strip("[]"))
            expires = int(expiry)
        except ValueError:
            continue
        v6 = ip.version == 6
        lease = NetworkDHCPLease(
            iface=iface,
            expirytime=expires,
            type=IPAddrType.IPV6 if v6 else IPAddrType.IPV4,
            mac=None if v6 else hw.lower(),
            iaid=hw if v6 else None,
            ipaddr=str(ip),
            prefix=prefixes.get(ip.version, 64 if v6 else 24),
            hostname=_none(host),
            clientid=_none(client),
        )
        if mac is None or lease.mac == mac:
            found.append(lease)
    return found
