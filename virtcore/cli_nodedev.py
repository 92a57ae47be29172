"""The host device commands of the ``virtcore`` command line: virsh's ``nodedev-*``.

Registered with :func:`virtcore.cli.command` (this module is listed in
:data:`virtcore.cli.COMMAND_MODULES`). Output follows virsh: ``nodedev-list``
prints device names sorted, one per line; ``nodedev-dumpxml`` the device's XML;
``nodedev-create`` and ``nodedev-destroy`` virsh's messages.
"""

from __future__ import annotations

import argparse

from virtcore.cli import Context, arg, command

__all__: list[str] = []

#: The device positional of device commands.
DEVICE = arg("device", metavar="DEVICE", help="device name")


@command(
    "nodedev-list",
    arg("--cap", metavar="CAPS", help="only devices with one of these capabilities (comma-separated)"),
)
def _nodedev_list(ctx: Context, ns: argparse.Namespace) -> None:
    """List the host's devices (those with a capability of --cap, when given)."""
    caps = [c.strip() for c in ns.cap.split(",") if c.strip()] if ns.cap else [None]
    names = {d.name for cap in caps for d in ctx.conn.list_node_devices(cap)}
    ctx.out(*sorted(names), "")


@command("nodedev-dumpxml", DEVICE)
def _nodedev_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a host device's XML."""
    ctx.out(ctx.conn.lookup_node_device(ns.device).xml_desc().rstrip("\n"), "")


@command("nodedev-create", arg("file", metavar="FILE", help="device XML file ('-' for stdin)"))
def _nodedev_create(ctx: Context, ns: argparse.Namespace) -> None:
    """Create a device (a virtual HBA) from an XML file."""
    dev = ctx.conn.create_node_device(ctx.read_text(ns.file, "node device XML file"))
    ctx.out(f"Node device {dev.name} created from {ns.file}", "")


@command("nodedev-destroy", DEVICE)
def _nodedev_destroy(ctx: Context, ns: argparse.Namespace) -> None:
    """Destroy a device made with nodedev-create (a virtual HBA)."""
    dev = ctx.conn.lookup_node_device(ns.device)
    dev.destroy()
    ctx.out(f"Destroyed node device '{dev.name}'", "")
