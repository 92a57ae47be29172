"""The guest-agent commands of the ``virtcore`` command line, as virsh has them.

``qemu-agent-command``, ``guestinfo``, ``set-user-password``, ``domfsfreeze``,
``domfsthaw`` and ``domtime``, registered with :func:`virtcore.cli.command` (this
module is listed in :data:`virtcore.cli.COMMAND_MODULES`), printing what virsh
prints (``Froze 2 filesystem(s)``, ``guestinfo``'s ``key : value`` lines).
"""

from __future__ import annotations

import argparse
import time

from virtcore.cli import DOMAIN, Context, arg, command
from virtcore.errors import InvalidArgError

__all__ = ["GUESTINFO_FLAGS", "DEFAULT_TIMEOUT"]

#: ``guestinfo``'s options and the :class:`virtcore.agent.GuestInfoTypes` they ask for.
GUESTINFO_FLAGS: dict[str, str] = {
    "user": "USERS",
    "os": "OS",
    "timezone": "TIMEZONE",
    "hostname": "HOSTNAME",
    "filesystem": "FILESYSTEM",
    "disk": "DISKS",
    "interface": "INTERFACES",
}

#: ``qemu-agent-command``'s default timeout, seconds (:data:`virtcore.agent.DEFAULT_TIMEOUT`).
DEFAULT_TIMEOUT = 30.0

_MOUNTPOINT = arg("--mountpoint", action="append", metavar="PATH", help="only this mount point (repeatable)")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"timeout must be a positive number of seconds, not {text!r}")
    return value


@command(
    "qemu-agent-command",
    DOMAIN,
    arg("cmd", nargs="+", metavar="CMD", help="the JSON command (words are joined with spaces)"),
    arg("--timeout", type=_positive, default=DEFAULT_TIMEOUT, help="seconds to wait for the answer"),
    arg("--pretty", action="store_true", help="pretty-print the answer"),
)
def _qemu_agent_command(ctx: Context, ns: argparse.Namespace) -> None:
    """Run one guest agent command (JSON) and print the agent's JSON answer."""
    import json  # saves ~3 ms on every other command: only agent commands parse JSON

    dom = ctx.domain(ns.domain)
    reply = json.loads(dom.agent.command(" ".join(ns.cmd), timeout=ns.timeout))
    if ns.pretty:
        ctx.out(json.dumps(reply, indent=2))
    else:
        ctx.out(json.dumps(reply, separators=(",", ":")))


@command(
    "guestinfo",
    DOMAIN,
    *(arg(f"--{name}", action="store_true", help=f"report {name} information") for name in GUESTINFO_FLAGS),
)
def _guestinfo(ctx: Context, ns: argparse.Namespace) -> None:
    """Print what the guest agent tells about the guest (all of it unless options choose)."""
    from virtcore.agent import GuestInfoTypes  # saves json and base64 on every other command

    types = 0
    for name, flag in GUESTINFO_FLAGS.items():
        if getattr(ns, name):
            types |= GuestInfoTypes[flag]
    info = ctx.domain(ns.domain).agent.guest_info(types)
    ctx.out(*(f"{key:<20}: {value}" for key, value in info.items()), "")


@command(
    "set-user-password",
    DOMAIN,
    arg("user", metavar="USER", help="the user name"),
    arg("password", metavar="PASSWORD", help="the new password"),
    arg("--encrypted", action="store_true", help="the password is already encrypted (a crypt(3) hash)"),
)
def _set_user_password(ctx: Context, ns: argparse.Namespace) -> None:
    """Set a user's password inside the domain (through the guest agent)."""
    dom = ctx.domain(ns.domain)
    dom.agent.set_user_password(ns.user, ns.password, crypted=ns.encrypted)
    ctx.out(f"Password set successfully for {ns.user} in {dom.name}")


@command("domfsfreeze", DOMAIN, _MOUNTPOINT)
def _domfsfreeze(ctx: Context, ns: argparse.Namespace) -> None:
    """Freeze the guest's file systems (all, or the --mountpoint ones)."""
    n = ctx.domain(ns.domain).agent.fs_freeze(ns.mountpoint)
    ctx.out(f"Froze {n} filesystem(s)", "")


@command("domfsthaw", DOMAIN, _MOUNTPOINT)
def _domfsthaw(ctx: Context, ns: argparse.Namespace) -> None:
    """Thaw the guest's frozen file systems (all, or the --mountpoint ones)."""
    n = ctx.domain(ns.domain).agent.fs_thaw(ns.mountpoint)
    ctx.out(f"Thawed {n} filesystem(s)", "")


@command(
    "domtime",
    DOMAIN,
    arg("--now", action="store_true", help="set the guest's clock to the host's"),
    arg("--pretty", action="store_true", help="print the time as a date"),
    arg("--sync", action="store_true", help="set the guest's clock from its hardware clock"),
    arg("--time", type=int, metavar="SECONDS", help="set the guest's clock (seconds since the epoch)"),
)
def _domtime(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the guest's clock, or set it (--now, --time, --sync)."""
    clashes = (
        ("--now", "--time", ns.now and ns.time is not None),
        ("--now", "--sync", ns.now and ns.sync),
        ("--time", "--sync", ns.time is not None and ns.sync),
    )
    for a, b, clash in clashes:
        if clash:
            raise InvalidArgError(f"Options {a} and {b} are mutually exclusive")
    dom = ctx.domain(ns.domain)
    if ns.now or ns.time is not None or ns.sync:
        if ns.now:
            seconds: int | None = int(time.time())
        else:
            seconds = ns.time
        dom.agent.set_time(seconds, 0, sync=ns.sync)
        ctx.out("")
        return
    secs, _ = dom.agent.get_time()
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs)) if ns.pretty else str(secs)
    ctx.out(f"Time: {text}")
