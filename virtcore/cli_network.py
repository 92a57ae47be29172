"""The network commands of the ``virtcore`` command line: virsh's ``net-*`` and ``domifaddr``.

Registered with :func:`virtcore.cli.command` like every other command (this
module is listed in :data:`virtcore.cli.COMMAND_MODULES`). Output follows
virsh: the ``net-list`` and ``net-dhcp-leases`` tables, ``Label:`` lines for
``net-info``, and virsh's messages (``Network default started``).

A ``NETWORK`` argument is a network's UUID or name. ``domifaddr`` asks a
guest's addresses (:meth:`virtcore.Domain.interface_addresses`) and prints
virsh's table.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from virtcore.cli import DOMAIN, Context, arg, command, format_table, looks_like_uuid
from virtcore.errors import InvalidArgError, NoNetworkError, NoSupportError
from virtcore.network import (
    DomainInterface,
    InterfaceAddressSource,
    IPAddrType,
    Network,
    NetworkDHCPLease,
    NetworkSection,
    NetworkUpdateCommand,
)

if TYPE_CHECKING:
    from virtcore.connection import Connection

__all__ = ["NETWORK", "UPDATE_COMMANDS", "UPDATE_SECTIONS", "address_lines", "lease_row", "lookup_network"]

#: The network positional of network commands.
NETWORK = arg("network", metavar="NETWORK", help="network name or UUID")

#: ``net-update``'s command words, as virsh spells them.
UPDATE_COMMANDS: dict[str, NetworkUpdateCommand] = {
    "add": NetworkUpdateCommand.ADD_LAST,
    "add-last": NetworkUpdateCommand.ADD_LAST,
    "add-first": NetworkUpdateCommand.ADD_FIRST,
    "delete": NetworkUpdateCommand.DELETE,
    "modify": NetworkUpdateCommand.MODIFY,
}
#: ``net-update``'s section words (``ip-dhcp-host``...), as virsh spells them.
UPDATE_SECTIONS: dict[str, NetworkSection] = {
    s.name.lower().replace("_", "-"): s for s in NetworkSection if s is not NetworkSection.NONE
}


def lookup_network(conn: Connection, text: str) -> Network:
    """A network by UUID (if ``text`` looks like one), else by name, as virsh finds it.

    :raises NoNetworkError: when neither matches (the driver's message names ``text``).
    """
    if looks_like_uuid(text):
        try:
            return conn.lookup_network_by_uuid(text)
        except (NoNetworkError, NoSupportError):
            pass
    return conn.lookup_network(text)


def _net(ctx: Context, ns: argparse.Namespace) -> Network:
    return lookup_network(ctx.conn, ns.network)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def lease_row(lease: NetworkDHCPLease) -> list[str]:
    """One ``net-dhcp-leases`` row: expiry (local time), MAC, protocol, address/prefix, host, client id."""
    expiry = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lease.expirytime))
    protocol = "ipv4" if lease.type == IPAddrType.IPV4 else "ipv6"
    return [
        expiry,
        lease.mac or "-",
        protocol,
        f"{lease.ipaddr}/{lease.prefix}",
        lease.hostname or "-",
        lease.clientid or "-",
    ]


@command(
    "net-list",
    arg("--all", action="store_true", help="list active and inactive networks"),
    arg("--inactive", action="store_true", help="list inactive networks only"),
    arg("--name", action="store_true", help="print only names, one per line"),
    arg("--uuid", action="store_true", help="print only UUIDs, one per line"),
)
def _net_list(ctx: Context, ns: argparse.Namespace) -> None:
    """List networks (active ones unless --all or --inactive)."""
    if ns.all and ns.inactive:
        raise InvalidArgError("options --all and --inactive are mutually exclusive")
    if ns.name and ns.uuid:
        raise InvalidArgError("Only one argument from --table, --name and --uuid may be specified.")
    active: bool | None = False if ns.inactive else (None if ns.all else True)
    nets = sorted(ctx.conn.list_networks(active=active), key=lambda n: (n.name.lower(), n.name))
    if ns.name or ns.uuid:
        ctx.out(*(n.uuid if ns.uuid else n.name for n in nets), "")
        return
    rows: list[list[str]] = []
    for net in nets:
        try:
            state = "active" if net.is_active() else "inactive"
            autostart, persistent = _yes_no(net.autostart), _yes_no(net.is_persistent())
        except NoNetworkError:  # undefined while listing
            continue
        rows.append([net.name, state, autostart, persistent])
    ctx.out(*format_table(["Name", "State", "Autostart", "Persistent"], rows), "")


@command("net-info", NETWORK)
def _net_info(ctx: Context, ns: argparse.Namespace) -> None:
    """Print basic information about a network."""
    net = _net(ctx, ns)
    rows = [
        ("Name:", net.name),
        ("UUID:", net.uuid),
        ("Active:", _yes_no(net.is_active())),
        ("Persistent:", _yes_no(net.is_persistent())),
        ("Autostart:", _yes_no(net.autostart)),
    ]
    try:
        rows.append(("Bridge:", net.bridge_name))
    except NoSupportError:
        pass
    ctx.out(*(f"{label:<15} {value}" for label, value in rows), "")


@command(
    "net-dumpxml",
    NETWORK,
    arg("--inactive", action="store_true", help="print the persistent definition, not the live one"),
)
def _net_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a network's XML description."""
    ctx.out(_net(ctx, ns).xml_desc(inactive=ns.inactive).rstrip("\n"), "")


@command("net-uuid", NETWORK)
def _net_uuid(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a network's UUID."""
    ctx.out(_net(ctx, ns).uuid, "")


@command("net-name", arg("uuid", metavar="UUID", help="network UUID"))
def _net_name(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the name of the network with this UUID."""
    ctx.out(ctx.conn.lookup_network_by_uuid(ns.uuid).name, "")


@command("net-define", arg("file", metavar="FILE", help="network XML file ('-' for stdin)"))
def _net_define(ctx: Context, ns: argparse.Namespace) -> None:
    """Define (but do not start) a persistent network from an XML file."""
    net = ctx.conn.define_network(ctx.read_text(ns.file, "network XML file"))
    ctx.out(f"Network {net.name} defined from {ns.file}", "")


@command("net-create", arg("file", metavar="FILE", help="network XML file ('-' for stdin)"))
def _net_create(ctx: Context, ns: argparse.Namespace) -> None:
    """Create and start a transient network from an XML file."""
    net = ctx.conn.create_network(ctx.read_text(ns.file, "network XML file"))
    ctx.out(f"Network {net.name} created from {ns.file}", "")


def _net_action(name: str, method: str, message: str, summary: str) -> None:
    """Register ``name NETWORK``: call ``method`` on the network, print ``message``."""

    def handler(ctx: Context, ns: argparse.Namespace) -> None:
        net = _net(ctx, ns)
        getattr(net, method)()
        ctx.out(message.format(name=net.name), "")

    handler.__doc__ = summary
    handler.__name__ = f"_net_{method}"
    command(name, NETWORK)(handler)


_net_action("net-start", "start", "Network {name} started", "Start (activate) a defined, inactive network.")
_net_action(
    "net-destroy", "destroy", "Network {name} destroyed", "Stop a network (a transient one vanishes)."
)
_net_action(
    "net-undefine",
    "undefine",
    "Network {name} has been undefined",
    "Remove a network's persistent definition (an active one runs on as transient).",
)


@command(
    "net-autostart",
    NETWORK,
    arg("--disable", action="store_true", help="do not start the network with the host"),
)
def _net_autostart(ctx: Context, ns: argparse.Namespace) -> None:
    """Mark a network to start with the host (or, with --disable, not)."""
    net = _net(ctx, ns)
    net.autostart = not ns.disable
    ctx.out(f"Network {net.name} {'unmarked' if ns.disable else 'marked'} as autostarted", "")


@command(
    "net-dhcp-leases",
    NETWORK,
    arg("--mac", metavar="MAC", help="only the leases of this MAC address"),
)
def _net_dhcp_leases(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the network's current DHCP leases."""
    leases = _net(ctx, ns).dhcp_leases(mac=ns.mac)
    leases.sort(key=lambda lease: (lease.mac or "", lease.ipaddr))
    header = ["Expiry Time", "MAC address", "Protocol", "IP address", "Hostname", "Client ID or DUID"]
    ctx.out(*format_table(header, [lease_row(lease) for lease in leases]), "")


@command(
    "net-update",
    NETWORK,
    arg("cmd", metavar="COMMAND", help=f"what to do: {', '.join(UPDATE_COMMANDS)}"),
    arg("section", metavar="SECTION", help=f"which part: {', '.join(UPDATE_SECTIONS)}"),
    arg("xml", metavar="XML", help="the element's XML text, or a file holding it"),
    arg("--parent-index", type=int, default=-1, metavar="N", help="which <ip> the element belongs to"),
    arg("--live", action="store_true", help="change the running network"),
    arg("--config", action="store_true", help="change the persistent definition"),
    arg("--current", action="store_true", help="change the current definition (the default)"),
)
def _net_update(ctx: Context, ns: argparse.Namespace) -> None:
    """Add, delete or modify one element of a network's definition."""
    if ns.current and (ns.live or ns.config):
        raise InvalidArgError("option --current cannot be combined with --live or --config")
    cmd = UPDATE_COMMANDS.get(ns.cmd)
    if cmd is None:
        raise InvalidArgError(
            f"unknown net-update command '{ns.cmd}' (expected {', '.join(UPDATE_COMMANDS)})"
        )
    section = UPDATE_SECTIONS.get(ns.section)
    if section is None:
        raise InvalidArgError(
            f"unknown net-update section '{ns.section}' (expected {', '.join(UPDATE_SECTIONS)})"
        )
    xml = ns.xml if ns.xml.lstrip().startswith("<") else ctx.read_text(ns.xml, "net-update XML file")
    net = _net(ctx, ns)
    net.update(cmd, section, xml, parent_index=ns.parent_index, live=ns.live, config=ns.config)
    if ns.config:
        what = "persistent config and live state" if ns.live else "persistent config"
    elif ns.live or net.is_active():
        what = "live state"
    else:
        what = "persistent config"
    ctx.out(f"Updated network {net.name} {what}")  # virsh prints no blank line after this one


def address_lines(
    ifaces: list[DomainInterface], *, interface: str | None = None, full: bool = False
) -> list[str]:
    """``domifaddr``'s table, as virsh prints it.

    One row per address; an interface's later addresses show ``-`` for its
    name and MAC unless ``full``; an interface without one shows ``N/A``.
    ``interface`` keeps only the interface of that name.
    """
    lines = [
        f" {'Name':<10} {'MAC address':<20} {'Protocol':<8}     Address",
        "-" * 79,
    ]
    for iface in ifaces:
        if interface is not None and iface.name != interface:
            continue
        hwaddr = iface.hwaddr or "N/A"
        if not iface.addrs:
            lines.append(f" {iface.name:<10} {hwaddr:<17}    {'N/A':<12} N/A")
            continue
        for n, addr in enumerate(iface.addrs):
            protocol = "ipv4" if addr.type == IPAddrType.IPV4 else "ipv6"
            name, mac = (iface.name, hwaddr) if n == 0 or full else ("-", "-")
            lines.append(f" {name:<10} {mac:<17}    {protocol:<12} {addr.addr}/{addr.prefix}")
    return lines


@command(
    "domifaddr",
    DOMAIN,
    arg("--interface", metavar="DEV", help="only the interface with this name (vnet0, eth0)"),
    arg("--full", action="store_true", help="repeat the name and MAC on every address's row"),
    arg(
        "--source",
        choices=[s.name.lower() for s in InterfaceAddressSource],
        default="lease",
        help="where the addresses come from: the networks' DHCP leases (default), the guest agent, "
        "or the host's ARP table",
    ),
)
def _domifaddr(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a running domain's network interfaces and their IP addresses."""
    ifaces = ctx.domain(ns.domain).interface_addresses(ns.source)
    ctx.out(*address_lines(ifaces, interface=ns.interface, full=ns.full), "")
