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

__all__ = [
    "BRIDGE_NAME",
    "HostRecord",
    "bring_up",
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
    proc = subprocess.run(["ip", "-j", "link", "show", "dev", name], capture_output=True, text=True)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def _link_kind(name: str) -> str | None:
    out = _ip("-j", "-d", "link", "show", "dev", name, what=f"look at device '{name}'")
    links = json.loads(out or "[]")
    return links[0].get("linkinfo", {}).get("info_kind") if links else None


def check_routes(d: NetworkDef, bridge: str) -> None:
    """Refuse a subnet of ``d`` that a route of another device already covers (libvirt's route conflict).

    :raises OperationFailedError: naming the subnet and the device using it.
    """
    for family in ("-4", "-6"):
        routes = json.loads(_ip("-j", family, "route", "show", what="read the routing table") or "[]")
        for route in routes:
            dst, dev = route.get("dst"), route.get("dev")
            if not dst or dst == "default" or dev == bridge:
                continue
            try:
                theirs = ipaddress.ip_network(dst, strict=False)
            except ValueError:
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


def _write_dnsmasq(d: NetworkDef, rec: HostRecord) -> None:
    assert rec.conf is not None
    directory = os.path.dirname(rec.conf)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    files = dnsmasq_files(d, directory, stem=d.uuid, pidfile=rec.pidfile, leasefile=rec.leasefile)
    # world-readable: dnsmasq reads its hosts files again as its own unprivileged user
    write_atomically(f"{directory}/{d.uuid}.hostsfile", files.hostsfile.encode(), mode=0o644, sync=False)
    write_atomically(f"{directory}/{d.uuid}.addnhosts", files.addnhosts.encode(), mode=0o644, sync=False)
    write_atomically(rec.conf, files.conf.encode(), mode=0o644, sync=False)


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
        time.sleep(0.01)


def reload_hosts(d: NetworkDef, rec: HostRecord) -> None:
    """Rewrite dnsmasq's files for ``d`` and make the running dnsmasq read them again (SIGHUP)."""
    if rec.conf is None:
        return
    _write_dnsmasq(d, rec)
    pid = _pid(rec)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)


def _stop_dnsmasq(rec: HostRecord) -> None:
    pid = _pid(rec)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and _pid(rec) == pid and time.monotonic() < deadline:
            time.sleep(0.01)
        if _pid(rec) == pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    if rec.conf is not None:
        stem = rec.conf.removesuffix(".conf")
        for suffix in (".conf", ".pid", ".leases", ".hostsfile", ".addnhosts"):
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
    what = f"create bridge '{bridge}' of network '{d.name}'"
    if link_exists(bridge):
        raise OperationFailedError(f"cannot {what}: a device of that name exists already", domain=_NET)
    stp = d.bridge is None or d.bridge.stp is not False
    delay = 0 if d.bridge is None or d.bridge.delay is None else d.bridge.delay
    # the delay first: the kernel refuses a short one once STP is on
    _ip("link", "add", "name", bridge, "type", "bridge", "forward_delay", str(delay * 100), what=what)
    if stp:
        _ip(
            "link",
            "set",
            "dev",
            bridge,
            "type",
            "bridge",
            "stp_state",
            "1",
            what=f"turn on STP of '{bridge}'",
        )
    if d.mac:
        _ip("link", "set", "dev", bridge, "address", d.mac, what=f"set the MAC address of '{bridge}'")
    if d.mtu:
        _ip("link", "set", "dev", bridge, "mtu", str(d.mtu), what=f"set the MTU of '{bridge}'")
    for ip in d.ips:
        cidr = f"{ip.address}/{ip.prefix_length}"
        extra = ("nodad",) if ip.address.version == 6 else ()
        _ip("addr", "add", cidr, "dev", bridge, *extra, what=f"add address {cidr} to '{bridge}'")
    _ip("link", "set", "dev", bridge, "up", what=f"bring up '{bridge}'")
    for route in d.routes:
        prefix = route.prefix if route.prefix is not None else None
        if prefix is None:
            prefix = (
                bin(int(route.netmask)).count("1")
                if route.netmask is not None
                else route.address.max_prefixlen
            )
        dst = f"{route.address}/{prefix}"
        metric = ("metric", str(route.metric)) if route.metric is not None else ()
        _ip("route", "add", dst, "via", str(route.gateway), "dev", bridge, *metric, what=f"add route {dst}")


def _enable_forwarding(d: NetworkDef) -> None:
    """Turn on IP forwarding (of the calling thread's namespace) for ``nat`` and ``route``, as libvirt."""
    if d.mode not in ("nat", "route"):
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


def bring_up(d: NetworkDef, rec: HostRecord) -> None:
    """Make ``rec`` on the host for ``d``; on failure remove what was made and raise.

    :raises OperationFailedError: a step failed (the message names it); nothing is left.
    """
    try:
        if not rec.own_bridge:
            if _link_kind(rec.bridge) != "bridge":
                raise OperationFailedError(
                    f"network '{d.name}': '{rec.bridge}' is not an existing bridge", domain=_NET
                )
            return
        check_routes(d, rec.bridge)
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
    if rec.own_bridge and link_exists(rec.bridge):
        _ip("link", "del", "dev", rec.bridge, what=f"remove bridge '{rec.bridge}'")


def is_running(rec: HostRecord) -> bool:
    """Whether the network still runs: its dnsmasq (when it has one) and its bridge are there."""
    if rec.conf is not None:
        return _pid(rec) is not None
    return link_exists(rec.bridge)
