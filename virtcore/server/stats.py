"""Bulk domain statistics: ``CONNECT_GET_ALL_DOMAIN_STATS``, answered with :mod:`virtcore.domstats`.

libvirt's remote client sends both ``virConnectGetAllDomainStats`` (no
domains: every one the filter flags let through) and ``virDomainListGetStats``
(the domains named) as this one procedure. The groups are the core's
(:data:`virtcore.domstats.GROUPS`); ``stats`` 0 asks for all of them, a group
the core does not fill is left out, or refused with
``VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS``, as libvirt's drivers do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.errors import ArgumentUnsupportedError, NoDomainError
from virtcore.rpc import typedparams
from virtcore.server.domains import active_filter, listed
from virtcore.server.registry import check_flags, domain_of, handler, wire_domain

if TYPE_CHECKING:
    from virtcore.connection import Domain
    from virtcore.server.daemon import Session

__all__: list[str] = []

#: ``VIR_CONNECT_GET_ALL_DOMAINS_STATS_*``: the domain filters (bits 0-7, as listing's), NOWAIT,
#: BACKING (no group here reads backing chains) and ENFORCE_STATS.
_FILTERS = 0xFF
_NOWAIT, _BACKING, _ENFORCE_STATS = 1 << 29, 1 << 30, 1 << 31


@handler("CONNECT_GET_ALL_DOMAIN_STATS")
def _all_domain_stats(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    from virtcore import domstats

    flags = check_flags(
        args["flags"], _FILTERS | _NOWAIT | _BACKING | _ENFORCE_STATS, "virConnectGetAllDomainStats"
    )
    stats = args["stats"] or domstats.SUPPORTED
    if flags & _ENFORCE_STATS and stats & ~domstats.SUPPORTED:
        raise ArgumentUnsupportedError(
            f"Stats types bits 0x{stats & ~domstats.SUPPORTED:x} are not supported by this daemon"
        )
    out = []
    for dom in _domains(session, args["doms"], flags):
        try:
            params = domstats.record(dom, stats)
            types = {s.key: s.kind for s in params}
            wire = typedparams.to_wire({s.key: s.value for s in params}, typedparams.types_of(types))
            out.append({"dom": wire_domain(dom), "params": wire})
        except NoDomainError:  # gone while asked
            continue
    return {"retStats": out}


def _domains(session: Session, wires: list[dict[str, Any]], flags: int) -> list[Domain]:
    """The domains named (those gone skipped, as libvirt does), or every one, that ``flags`` let through."""
    if wires:
        doms = []
        for wire in wires:
            try:
                doms.append(domain_of(session, wire))
            except NoDomainError:
                continue
        active = active_filter(flags)
        if active is not None:
            doms = [d for d in doms if d.is_active() == active]
    else:
        doms = session.connection().list_domains(active=active_filter(flags))
    kept = []
    for dom in doms:
        try:
            if listed(dom, flags):
                kept.append(dom)
        except NoDomainError:
            continue
    return kept
