"""nftables rules of a network: one ``inet`` table of its own, given to ``nft -j -f -`` as JSON.

:func:`ruleset` is pure: the commands that create the table ``virtcore_<uuid>``
with the network's chains, after what libvirt's nftables backend does per mode:

* ``nat``: guests' traffic leaves the subnet (masqueraded, except to multicast
  and broadcast); replies come back in; anything else to or from the bridge is
  refused. IPv6 subnets are routed, not masqueraded (as libvirt).
* ``route``: the subnet is forwarded both ways, unmasqueraded.
* isolated (no forward): guests talk to each other and to the host only.
* ``open``: no rules at all (libvirt adds none either), so no table.

Nothing user-given is ever a command-line word: the rules are JSON on ``nft``'s
standard input. Removing the table removes everything: :func:`delete_table` works
whether the table exists or not (``add`` then ``delete`` in one transaction).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from virtcore.errors import ErrorDomain, OperationFailedError
from virtcore.xml import NetworkDef

__all__ = ["apply", "delete_table", "ruleset", "table_name", "wants_table"]

JSON = dict[str, Any]
_NET = ErrorDomain.NETWORK


def table_name(uuid: str) -> str:
    """The network's table (``virtcore_81ff0d90c91e``): from its UUID, so any name is safe."""
    return "virtcore_" + uuid.replace("-", "")[:12]


def wants_table(d: NetworkDef) -> bool:
    """Whether the network's mode has firewall rules (every mode of a bridge of ours but ``open``)."""
    return d.mode in (None, "nat", "route")


def _match(left: JSON, right: object, op: str = "==") -> JSON:
    return {"match": {"op": op, "left": left, "right": right}}


def _iif(bridge: str) -> JSON:
    return _match({"meta": {"key": "iifname"}}, bridge)


def _oif(bridge: str) -> JSON:
    return _match({"meta": {"key": "oifname"}}, bridge)


def _addr(version: int, field: str, net: str, op: str = "==") -> JSON:
    addr, _, length = net.partition("/")
    proto = "ip" if version == 4 else "ip6"
    return _match(
        {"payload": {"protocol": proto, "field": field}}, {"prefix": {"addr": addr, "len": int(length)}}, op
    )


def ruleset(d: NetworkDef, bridge: str, table: str) -> JSON:
    """The ``nft -j`` commands that make ``table`` with ``d``'s rules on ``bridge``."""
    t = {"family": "inet", "table": table}
    cmds: list[JSON] = [{"add": {"table": {"family": "inet", "name": table}}}]
    chain = {"type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}
    cmds.append({"add": {"chain": {**t, "name": "forward", **chain}}})

    def rule(chain_name: str, *expr: JSON) -> None:
        cmds.append({"add": {"rule": {**t, "chain": chain_name, "expr": list(expr)}}})

    accept, reject = {"accept": None}, {"reject": None}
    rule("forward", _iif(bridge), _oif(bridge), accept)
    mode = d.mode
    if mode in ("nat", "route"):
        if mode == "nat":
            nat = {"type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}
            cmds.append({"add": {"chain": {**t, "name": "postrouting", **nat}}})
        for ip in d.ips:
            net, v = str(ip.network), ip.network.version
            rule("forward", _iif(bridge), _addr(v, "saddr", net), accept)
            if mode == "nat" and v == 4:
                established = _match({"ct": {"key": "state"}}, ["established", "related"], "in")
                rule("forward", _oif(bridge), _addr(v, "daddr", net), established, accept)
                for never in ("224.0.0.0/24", "255.255.255.255/32"):
                    rule("postrouting", _addr(v, "saddr", net), _addr(v, "daddr", never), {"return": None})
                rule(
                    "postrouting", _addr(v, "saddr", net), _addr(v, "daddr", net, "!="), {"masquerade": None}
                )
            else:
                rule("forward", _oif(bridge), _addr(v, "daddr", net), accept)
    rule("forward", _iif(bridge), reject)
    rule("forward", _oif(bridge), reject)
    return {"nftables": cmds}


def delete_table(table: str) -> JSON:
    """Commands removing ``table`` whether it exists or not."""
    spec = {"table": {"family": "inet", "name": table}}
    return {"nftables": [{"add": spec}, {"delete": spec}]}


def apply(commands: JSON, what: str) -> None:
    """Run ``commands`` through ``nft -j -f -`` (one transaction: all or nothing).

    :raises OperationFailedError: nft refused them; the message names ``what`` and nft's reason.
    """
    try:
        proc = subprocess.run(
            ["nft", "-j", "-f", "-"], input=json.dumps(commands), capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationFailedError(f"cannot run nft for {what}: {exc}", domain=_NET) from None
    if proc.returncode != 0:
        reason = " ".join(proc.stderr.split())[:400]
        raise OperationFailedError(f"nft refused the rules of {what}: {reason}", domain=_NET)
