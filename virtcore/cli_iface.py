"""The host interface commands of the ``virtcore`` command line: virsh's ``iface-*``.

Registered with :func:`virtcore.cli.command` (this module is listed in
:data:`virtcore.cli.COMMAND_MODULES`). Output follows virsh: the ``iface-list``
table, the interface's XML, and virsh's messages (``Interface eth1 started``).
An ``INTERFACE`` argument is an interface's name or MAC address.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from virtcore.cli import Context, arg, command, format_table
from virtcore.errors import InvalidArgError, NoInterfaceError

if TYPE_CHECKING:
    from virtcore.connection import Connection
    from virtcore.interface import Interface

__all__ = ["lookup_interface"]

#: The interface positional of interface commands.
INTERFACE = arg("interface", metavar="INTERFACE", help="interface name or MAC address")

_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")


def lookup_interface(conn: Connection, text: str) -> Interface:
    """An interface by name, else by MAC address when ``text`` is one, as virsh finds it."""
    try:
        return conn.lookup_interface(text)
    except NoInterfaceError:
        if not _MAC.fullmatch(text):
            raise
    return conn.lookup_interface_by_mac(text)


@command(
    "iface-list",
    arg("--all", action="store_true", help="list active and inactive interfaces"),
    arg("--inactive", action="store_true", help="list inactive interfaces only"),
)
def _iface_list(ctx: Context, ns: argparse.Namespace) -> None:
    """List host interfaces (active ones unless --all or --inactive)."""
    if ns.all and ns.inactive:
        raise InvalidArgError("options --all and --inactive are mutually exclusive")
    active: bool | None = False if ns.inactive else (None if ns.all else True)
    rows = []
    for iface in sorted(ctx.conn.list_interfaces(active), key=lambda i: i.name):
        try:
            state = "active" if iface.is_active() else "inactive"
        except NoInterfaceError:  # undefined while listing
            continue
        rows.append([iface.name, state, iface.mac])
    ctx.out(*format_table(["Name", "State", "MAC Address"], rows), "")


@command("iface-dumpxml", INTERFACE, arg("--inactive", action="store_true", help="the configuration"))
def _iface_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a host interface's XML."""
    ctx.out(lookup_interface(ctx.conn, ns.interface).xml_desc(inactive=ns.inactive).rstrip("\n"), "")


@command("iface-define", arg("file", metavar="FILE", help="interface XML file ('-' for stdin)"))
def _iface_define(ctx: Context, ns: argparse.Namespace) -> None:
    """Define (but do not start) a host interface from an XML file."""
    iface = ctx.conn.define_interface(ctx.read_text(ns.file, "interface XML file"))
    ctx.out(f"Interface {iface.name} defined from {ns.file}", "")


def _iface_action(name: str, method: str, done: str, summary: str) -> None:
    """Register ``name INTERFACE``: call ``method`` on the interface, print virsh's message."""

    def handler(ctx: Context, ns: argparse.Namespace) -> None:
        iface = lookup_interface(ctx.conn, ns.interface)
        getattr(iface, method)()
        ctx.out(f"Interface {iface.name} {done}", "")

    handler.__doc__ = summary
    handler.__name__ = f"_iface_{method}"
    command(name, INTERFACE)(handler)


_iface_action("iface-start", "start", "started", "Start (bring up) a host interface.")
_iface_action("iface-destroy", "destroy", "destroyed", "Stop (bring down) a host interface.")
_iface_action("iface-undefine", "undefine", "undefined", "Remove a host interface's configuration.")


@command("iface-mac", INTERFACE)
def _iface_mac(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a host interface's MAC address."""
    ctx.out(lookup_interface(ctx.conn, ns.interface).mac, "")


@command("iface-name", arg("mac", metavar="MAC", help="MAC address"))
def _iface_name(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the name of the host interface with this MAC address."""
    ctx.out(ctx.conn.lookup_interface_by_mac(ns.mac).name, "")
