"""Guest NICs on virtual networks: each ``<interface type='network'>`` gets a TAP on its network's bridge.

The bridge comes from the connection's ``resolve_network`` (the core asks
whatever network driver serves it; virt-qemu knows none), before anything
is created: a network that does not exist or is not active refuses the
start with the network driver's error (``network 'x' is not active``).

The TAPs are QEMU's own: QEMU opens ``-netdev tap,ifname=vnetN`` and the
kernel makes a non-persistent TAP that vanishes with QEMU, so a guest that
stops or crashes, or a process killed mid-start, leaves no device behind.
While QEMU waits paused (``-S``) the launcher gives each TAP libvirt's
host-side MAC (the guest's with ``fe`` first, so the bridge never takes the
guest's address), puts it on its bridge and brings it up; only then do the
vCPUs run.

Names are libvirt's ``vnetN``: the lowest ``N`` free in the network
namespace of the starting thread (the one QEMU is spawned in), chosen under
a lock held until QEMU has made them. The live XML records both
(``<source network='lan' bridge='vcbr0'/><target dev='vnet0'/>``).
Everything runs in the calling thread's network namespace: a caller inside
a test's namespace makes its devices there.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import attrs

from virtcore.errors import ConfigUnsupportedError, OperationFailedError
from virtcore.network import BridgeResolver, resolve_network_bridge
from virtcore.xml import DomainDef, Interface

__all__ = ["attach_taps", "host_mac", "name_taps", "resolve_bridges", "tap_names_free"]

#: A Linux interface name we pass to ``ip``: 1-15 safe characters, never an option.
_IFNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,14}")


def _check_ifname(name: str, what: str) -> str:
    if not _IFNAME.fullmatch(name):
        raise ConfigUnsupportedError(
            f"{what} '{name}' is not a usable interface name (1-15 letters, digits, '_', '.', ':' or '-')"
        )
    return name


def _devices_here() -> set[str]:
    """The network devices of the calling thread's network namespace."""
    lines = Path("/proc/thread-self/net/dev").read_text().splitlines()[2:]
    return {line.partition(":")[0].strip() for line in lines}


def host_mac(guest_mac: str) -> str:
    """libvirt's MAC for the host side of a guest's TAP: the guest's with ``fe`` as first byte."""
    return "fe" + guest_mac.lower()[2:]


def tap_names_free(count: int, taken: set[str]) -> Iterator[str]:
    """``count`` ``vnetN`` names, lowest first, none in ``taken`` or the namespace's devices."""
    used = _devices_here() | taken
    n = 0
    for _ in range(count):
        while f"vnet{n}" in used:
            n += 1
        used.add(f"vnet{n}")
        yield f"vnet{n}"


def resolve_bridges(d: DomainDef, resolve: BridgeResolver | None) -> dict[int, str]:
    """The bridge of each ``type='network'`` NIC of ``d``, by its index among the interfaces.

    Called before anything of the start is made. Checks the NICs' own target
    names too.

    :raises NoNetworkError, OperationInvalidError, NoSupportError: from ``resolve``, naming the NIC.
    :raises ConfigUnsupportedError: a bridge or target name that is not a safe interface name.
    """
    bridges: dict[int, str] = {}
    for n, nic in enumerate(d.interfaces):
        if nic.type != "network":
            continue
        where = f"interface {n} of domain '{d.name}'"
        bridges[n] = _check_ifname(resolve_network_bridge(resolve, nic.source, where), "bridge")
        if nic.target_dev:
            _check_ifname(nic.target_dev, f"target dev of {where}")
    return bridges


def _own_name(target: str | None) -> bool:
    """Whether ``target`` is a name the user chose: not empty, and not one of ours (``vnetN``).

    A ``vnetN`` comes from an earlier run (a saved image's live XML): libvirt
    treats it as generated and picks afresh, since another guest may hold it now.
    """
    return bool(target) and not re.fullmatch(r"vnet\d+", target or "")


def name_taps(d: DomainDef, bridges: dict[int, str]) -> DomainDef:
    """``d`` with each ``type='network'`` NIC's bridge and TAP name (``vnetN`` unless it names one).

    A ``vnetN`` it carries from an earlier run is named afresh, as libvirt does.

    Call it under the host's TAP lock, held until QEMU has made the TAPs, so
    two starts never pick one name.
    """
    if not bridges:
        return d
    nics = d.interfaces
    own = {n: nics[n].target_dev for n in bridges if _own_name(nics[n].target_dev)}
    names = tap_names_free(len(bridges) - len(own), {t for t in own.values() if t})
    devices = []
    n = 0
    for dev in d.devices:
        if isinstance(dev, Interface):
            if n in bridges:
                dev = attrs.evolve(dev, source_bridge=bridges[n], target_dev=own.get(n) or next(names))
            n += 1
        devices.append(dev)
    return attrs.evolve(d, devices=tuple(devices), raw=d.raw)


def _ip(*argv: str) -> None:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise OperationFailedError(f"ip {' '.join(argv)}: {done.stderr.strip() or done.returncode}")


def attach_taps(d: DomainDef) -> None:
    """Put each ``type='network'`` NIC's TAP (made by QEMU) on its bridge, up, with libvirt's host MAC.

    :raises OperationFailedError: ``ip`` refused (the message is its own).
    """
    for nic in d.interfaces:
        if nic.type != "network" or not nic.target_dev or not nic.source_bridge:
            continue
        tap = _check_ifname(nic.target_dev, "TAP")
        if nic.mac:
            _ip("link", "set", "dev", tap, "address", host_mac(nic.mac))
        _ip("link", "set", "dev", tap, "master", _check_ifname(nic.source_bridge, "bridge"))
        _ip("link", "set", "dev", tap, "up")
