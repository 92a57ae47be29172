"""The QEMU-specific API of ``libvirt_qemu``: the guest agent's generic command, over virtcore's agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from virt_libvirt import _qemu_constants as lvq
from virt_libvirt._base import unsupported
from virt_libvirt._table import QEMU_FUNCTIONS
from virt_libvirt.errors import check_flags, raise_error, raise_from
from virtcore.errors import VirtError

if TYPE_CHECKING:
    from virt_libvirt.domain import virDomain

#: What ``timeout`` -2 (block) waits, in seconds: a year is forever enough.
_BLOCK = 365 * 24 * 3600.0


def qemuAgentCommand(domain: virDomain, cmd: str, timeout: int, flags: int) -> str:  # noqa: N802
    """Send one JSON command to the guest agent; its JSON reply.

    ``timeout`` is seconds, or ``VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK`` (-2, wait for
    ever) or ``_DEFAULT`` (-1, virtcore's default); ``_NOWAIT`` (0) is not supported.
    """
    check_flags(flags, 0, "virDomainQemuAgentCommand", domain)
    if timeout == lvq.VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK:
        seconds = _BLOCK
    elif timeout == lvq.VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT:
        from virtcore.agent import DEFAULT_TIMEOUT

        seconds = DEFAULT_TIMEOUT
    elif timeout == lvq.VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT:
        from virtcore.errors import ArgumentUnsupportedError

        raise_error(
            ArgumentUnsupportedError, "VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT in virDomainQemuAgentCommand"
        )
    else:
        seconds = float(timeout)
    try:
        return domain._o.agent.command(cmd, seconds)
    except VirtError as exc:
        raise_from(exc)


def missing() -> dict[str, object]:
    """libvirt_qemu's other functions, each raising ``libvirtError`` VIR_ERR_NO_SUPPORT naming it."""
    return {name: unsupported(cname) for name, cname in QEMU_FUNCTIONS.items() if name != "qemuAgentCommand"}
