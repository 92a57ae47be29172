"""What a running network is on the host: a bridge with addresses, a dnsmasq, an nftables table.

:class:`HostRecord` says what start made (or is about to make) for one network; it
is saved *before* anything is made, so :func:`teardown` can remove whatever a killed
process left, from any process. :func:`bring_up` makes it all, in order, removing
what it made when a step fails; :func:`is_running` tells whether it still runs.

Every device name given to ``ip`` has passed :func:`check_bridge_name` (letters,
digits, ``_ . : -``, not starting with ``-``) and follows the ``name``/``dev``
keyword, addresses are :mod:`ipaddress` objects' text, and dnsmasq gets only
``--conf-file=PATH`` (a path of the driver's own): no user string is ever an option.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import attrs

from virt_network import nft
from virt_network.dnsmasq import dnsmasq_files, serves_dhcp
from virtcore.errors import ErrorDomain, InternalError, OperationFailedError, XMLError
from virtcore.files import write_atomically
from virtcore.xml import NetworkDef
from virtcore.xml.network import IPNet

__all__ = [
    "BRIDGE_NAME",
    "HostRecord",
    "bring_up",
    "preflight",
    "check_bridge_name",
    "is_running",
    "link_exists",
    "plan",
    "teardown",
]

_NET = ErrorDomain.NETWORK
#: What a bridge name may be: Linux's 15 characters, of a set no tool reads as anything else.
BRIDGE_NAME = re.compile(r"[A-Za-z0-9_.:][A-Za-z0-9_.:-]{0,14}", re.ASCII)


def check_bridge_name(name: str, network: str) -> None:
    """Refuse (:class:`XMLError`) a bridge name that is not 1-15 of ``[A-Za-z0-9_.:-]``, not leading ``-``."""
    if not BRIDGE_NAME.fullmatch(name):
        raise XMLError(
            f"invalid bridge name '{name}' of network '{network}': expected 1 to 15 letters, digits,"
            " '_', '.', ':' or '-', not starting with '-'"
        )


@attrs.frozen
class HostRecord:
    """What start makes on the host for one network (``run/NAME.json``)."""

    uuid: str
    bridge: str
    #: Whether the bridge is the network's own (made and removed by it) or an existing one.
    own_bridge: bool
    #: The nftables table (``None``: no rules).
    table: str | None
    #: dnsmasq's configuration file and pid file (``None``: no dnsmasq).
    conf: str | None
    pidfile: str | None
    leasefile: str | None

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data."""
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostRecord:
        """The record from :meth:`to_json`'s data (``ValueError``/``TypeError``/``KeyError`` if damaged)."""
        rec = cls(**{f.name: data[f.name] for f in attrs.fields(cls)})
        if not isinstance(rec.bridge, str) or not BRIDGE_NAME.fullmatch(rec.bridge):
            raise ValueError("damaged host record")
        return rec


#: What the directory of dnsmasq's files may be named: it is written into dnsmasq's configuration,
#: where a newline, blank, ``#`` or ``,`` could end the value or start another option.
_CONF_PATH = re.compile(r"/[A-Za-z0-9_./+@:%~-]*", re.ASCII)


def _runs_dnsmasq(d: NetworkDef) -> bool:
    dns_on = d.dns is None or d.dns.enable is not False
    return dns_on or serves_dhcp(d)


def plan(d: NetworkDef, dnsmasq_dir: Path) -> HostRecord:
    """What starting ``d`` will make (its bridge named, checked, in the definition)."""
    bridge = d.bridge.name if d.bridge is not None else None
    if not bridge:
        raise InternalError(f"network '{d.name}' does not have a bridge name.", domain=_NET)
    check_bridge_name(bridge, d.name)
    if d.mode == "bridge":
        return HostRecord(d.uuid, bridge, False, None, None, None, None)
    table = nft.table_name(d.uuid) if nft.wants_table(d) else None
    base = dnsmasq_dir / d.uuid
    if not _runs_dnsmasq(d):
        return HostRecord(d.uuid, bridge, True, table, None, None, None)
    if not _CONF_PATH.fullmatch(str(dnsmasq_dir)):
        raise OperationFailedError(
            f"cannot start network '{d.name}': dnsmasq's directory {str(dnsmasq_dir)!r} has characters"
            " its configuration cannot hold (only letters, digits and _ . / + @ : % ~ -)",
            domain=_NET,
        )
    return HostRecord(d.uuid, bridge, True, table, f"{base}.conf", f"{base}.pid", f"{base}.leases")


# ---------------------------------------------------------------------------- ip


def _ip(*argv: str, what: str) -> str:
    try:
        proc = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationFailedError(f"cannot run ip to {what}: {exc}", domain=_NET) from None
    if proc.returncode != 0:
        raise OperationFailedError(f"cannot {what}: {' '.join(proc.stderr.split())}", domain=_NET)
    return proc.stdout


def link_exists(name: str) -> bool:
    """Whether the network device ``name`` exists (in the calling thread's network namespace)."""
    try:
        lines = Path("/proc/thread-self/net/dev").read_text().splitlines()[2:]
    except OSError:
        proc = subprocess.run(["ip", "-j", "link", "show", "dev", name], capture_output=True, text=True)
        return proc.returncode == 0 and bool(proc.stdout.strip())
    return any(line.partition(":")[0].strip() == name for line in lines)


def _link_kind(name: str) -> str | None:
    if not link_exists(name):
        return None
    out = _ip("-j", "-d", "link", "show", "dev", name, what=f"look at device '{name}'")
    links = json.loads(out or "[]")
    return links[0].get("linkinfo", {}).get("info_kind") if links else None


def _routes() -> list[tuple[IPNet, str]]:
    """The main routing table of the calling thread's namespace: ``(destination, device)``, both families.

    Read from ``/proc/thread-self/net`` (the thread's namespace, not the process's): no ``ip`` to run.
    """
    found: list[tuple[IPNet, str]] = []
    net = Path("/proc/thread-self/net")
    with contextlib.suppress(OSError):
        for line in (net / "route").read_text().splitlines()[1:]:
            f = line.split()
            if len(f) >= 8 and f[1] != "00000000":
                dst = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(f[1]), "little"))
                mask = ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(f[7]), "little"))
                found.append((ipaddress.IPv4Network(f"{dst}/{mask}", strict=False), f[0]))
    with contextlib.suppress(OSError):
        for line in (net / "ipv6_route").read_text().splitlines():
            f = line.split()
            if len(f) == 10 and int(f[1], 16) > 0:
                dst6 = ipaddress.IPv6Address(int(f[0], 16))
                found.append((ipaddress.IPv6Network(f"{dst6}/{int(f[1], 16)}", strict=False), f[9]))
    return found


def check_routes(d: NetworkDef, bridge: str) -> None:
    """Refuse a subnet of ``d`` that a route of another device already covers (libvirt's route conflict).

    :raises OperationFailedError: naming the subnet and the device using it.
    """
    for theirs, dev in _routes():
        if dev in (bridge, "lo") or (theirs.version == 6 and theirs.is_link_local) or theirs.is_multicast:
            continue
        for ip in d.ips:
            if ip.network.version == theirs.version and ip.network.overlaps(theirs):
                raise OperationFailedError(
                    f"network '{d.name}' subnet {ip.network} is already in use by interface {dev}"
                    f" (route {theirs})",
                    domain=_NET,
                )


# ---------------------------------------------------------------------------- dnsmasq


def _pid(rec: HostRecord) -> int | None:
    """dnsmasq's pid, if that process runs dnsmasq with this network's configuration."""
    if rec.pidfile is None or rec.conf is None:
        return None
    try:
        pid = int(Path(rec.pidfile).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if f"--conf-file={rec.conf}".encode() in cmdline else None


def _reachable_by_all(directory: str) -> bool:
    """Whether every user may pass through ``directory`` and each of its parents (``o+x``)."""
    path = Path(directory).resolve()
    for p in (path, *path.parents):
        try:
            if not os.stat(p).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _exited(pid: int) -> bool:
    """Whether process ``pid`` is gone or a zombie: only then are its sockets closed.

    Not its command line: an exiting process loses it (its memory) before its files.
    """
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _write_dnsmasq(d: NetworkDef, rec: HostRecord) -> None:
    assert rec.conf is not None
    directory = os.path.dirname(rec.conf)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    files = dnsmasq_files(d, directory, stem=d.uuid, pidfile=rec.pidfile, leasefile=rec.leasefile)
    conf = files.conf
    if not _reachable_by_all(directory):
        # dnsmasq reads its hosts files after dropping to its own user, who cannot reach a
        # directory under a private root (an embed root in a 0700 directory): it stays root
        conf += "user=root\n"
    # world-readable: dnsmasq reads its hosts files again as its own unprivileged user
    write_atomically(f"{directory}/{d.uuid}.hostsfile", files.hostsfile.encode(), mode=0o644, sync=False)
    write_atomically(f"{directory}/{d.uuid}.addnhosts", files.addnhosts.encode(), mode=0o644, sync=False)
    write_atomically(rec.conf, conf.encode(), mode=0o644, sync=False)


def _start_dnsmasq(d: NetworkDef, rec: HostRecord) -> None:
    _write_dnsmasq(d, rec)
    try:
        proc = subprocess.run(
            ["dnsmasq", f"--conf-file={rec.conf}"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationFailedError(
            f"cannot start dnsmasq of network '{d.name}': {exc}", domain=_NET
        ) from None
    if proc.returncode != 0:
        reason = " ".join((proc.stderr or proc.stdout).split())
        raise OperationFailedError(f"dnsmasq of network '{d.name}' failed to start: {reason}", domain=_NET)
    deadline = time.monotonic() + 10
    while _pid(rec) is None:
        if time.monotonic() > deadline:
            raise OperationFailedError(f"dnsmasq of network '{d.name}' wrote no pid file", domain=_NET)
        time.sleep(0.002)


def reload_hosts(d: NetworkDef, rec: HostRecord) -> None:
    """Restart ``rec``'s dnsmasq with ``d``'s files (its leases stay in the lease file it reads again).

    Not SIGHUP: dnsmasq rereads its hosts files as its unprivileged user, who may not reach
    the driver's run directory (an embed root under a private directory).
    """
    if rec.conf is None:
        return
    _stop_dnsmasq(rec, keep_leases=True)
    _start_dnsmasq(d, rec)


def _stop_dnsmasq(rec: HostRecord, *, keep_leases: bool = False) -> None:
    pid = _pid(rec)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        # not the pid file: dnsmasq removes it before it has closed its sockets
        while not _exited(pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        if not _exited(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while not _exited(pid) and time.monotonic() < deadline:
                time.sleep(0.002)
    if rec.conf is not None:
        stem = rec.conf.removesuffix(".conf")
        for suffix in (".conf", ".pid", ".hostsfile", ".addnhosts", *(() if keep_leases else (".leases",))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stem + suffix)


def leases_text(rec: HostRecord) -> str:
    """dnsmasq's lease file as it is now (empty when there is none yet)."""
    if rec.leasefile is None:
        return ""
    try:
        return Path(rec.leasefile).read_text()
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------------------- up and down


def _make_bridge(d: NetworkDef, bridge: str) -> None:
    """Create ``bridge`` with ``d``'s settings, addresses and routes: one ``ip -batch -`` run.

    The commands go to ``ip``'s standard input, one per line; every word in them is a
    checked bridge name, an :mod:`ipaddress` object's text, a model-checked MAC or a number.
    """
    stp = d.bridge is None or d.bridge.stp is not False
    delay = 0 if d.bridge is None or d.bridge.delay is None else d.bridge.delay
    # the delay first: the kernel refuses a short one once STP is on
    lines = [f"link add name {bridge} type bridge forward_delay {delay * 100}"]
    if stp:
        lines.append(f"link set dev {bridge} type bridge stp_state 1")
    if d.mac:
        lines.append(f"link set dev {bridge} address {d.mac}")
    if d.mtu:
        lines.append(f"link set dev {bridge} mtu {d.mtu}")
    for ip in d.ips:
        nodad = " nodad" if ip.address.version == 6 else ""
        lines.append(f"addr add {ip.address}/{ip.prefix_length} dev {bridge}{nodad}")
    lines.append(f"link set dev {bridge} up")
    for route in d.routes:
        prefix = route.prefix
        if prefix is None:
            prefix = (
                bin(int(route.netmask)).count("1")
                if route.netmask is not None
                else route.address.max_prefixlen
            )
        metric = f" metric {route.metric}" if route.metric is not None else ""
        lines.append(f"route add {route.address}/{prefix} via {route.gateway} dev {bridge}{metric}")
    what = f"create bridge '{bridge}' of network '{d.name}'"
    try:
        proc = subprocess.run(
            ["ip", "-batch", "-"], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationFailedError(f"cannot run ip to {what}: {exc}", domain=_NET) from None
    if proc.returncode != 0:
        raise OperationFailedError(f"cannot {what}: {' '.join(proc.stderr.split())}", domain=_NET)


def _enable_forwarding(d: NetworkDef) -> None:
    """Turn on IP forwarding (of the calling thread's namespace) for every forwarding mode, as libvirt."""
    if d.mode not in ("nat", "route", "open"):
        return
    paths = {4: "/proc/sys/net/ipv4/ip_forward", 6: "/proc/sys/net/ipv6/conf/all/forwarding"}
    for version in sorted({ip.address.version for ip in d.ips}):
        try:
            with open(paths[version], "w") as fh:
                fh.write("1\n")
        except OSError as exc:
            raise OperationFailedError(
                f"cannot enable IPv{version} forwarding for network '{d.name}': {exc.strerror}", domain=_NET
            ) from None


def preflight(d: NetworkDef, rec: HostRecord) -> None:
    """Refuse to start ``d`` before anything is made or recorded: so a refusal removes nothing.

    :raises OperationFailedError: the bridge to attach to is missing, the bridge to make exists
        already (another tool's device), or a route of another device uses the subnet.
    """
    if not rec.own_bridge:
        if _link_kind(rec.bridge) != "bridge":
            raise OperationFailedError(
                f"network '{d.name}': there is no bridge '{rec.bridge}' to attach to", domain=_NET
            )
        return
    if link_exists(rec.bridge):
        raise OperationFailedError(
            f"cannot create bridge '{rec.bridge}' of network '{d.name}': a device of that name exists",
            domain=_NET,
        )
    check_routes(d, rec.bridge)


def bring_up(d: NetworkDef, rec: HostRecord) -> None:
    """Make ``rec`` on the host for ``d`` (after :func:`preflight`); on failure remove it and raise.

    :raises OperationFailedError: a step failed (the message names it); nothing is left.
    """
    if not rec.own_bridge:
        return
    try:
        _make_bridge(d, rec.bridge)
        _enable_forwarding(d)
        if rec.table is not None:
            nft.apply(nft.ruleset(d, rec.bridge, rec.table), f"network '{d.name}'")
        if rec.conf is not None:
            _start_dnsmasq(d, rec)
    except BaseException:
        teardown(rec)
        raise


def teardown(rec: HostRecord) -> None:
    """Remove whatever of ``rec`` exists: dnsmasq, the table, an own bridge. Safe to repeat."""
    _stop_dnsmasq(rec)
    if rec.table is not None:
        with contextlib.suppress(OperationFailedError):
            nft.apply(nft.delete_table(rec.table), f"table {rec.table}")
    if rec.own_bridge:
        proc = subprocess.run(["ip", "link", "del", "dev", rec.bridge], capture_output=True, text=True)
        if proc.returncode != 0 and link_exists(rec.bridge):  # an error is fine when it is gone
            raise OperationFailedError(
                f"cannot remove bridge '{rec.bridge}': {' '.join(proc.stderr.split())}", domain=_NET
            )


def is_running(rec: HostRecord) -> bool:
    """Whether the network still runs: its dnsmasq (when it has one) and its bridge are there."""
    if rec.conf is not None:
        return _pid(rec) is not None
    return link_exists(rec.bridge)
