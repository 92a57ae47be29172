"""Bulk domain statistics (``getAllDomainStats``, ``domainListGetStats``) from virtcore's typed calls.

Each ``VIR_DOMAIN_STATS_*`` group the core describes (:mod:`virtcore.domstats`,
which ``virtcore serve`` sends too: ``state``, ``cpu-total``, ``balloon``,
``vcpu``, ``iothread``) is filled with libvirt's keys from what virtcore tells.
A source the driver does not have leaves its keys out, as libvirt leaves out
what a driver cannot tell; a group the core does not know is left out too, or
refused with ``VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virt_libvirt import _constants as lv
from virt_libvirt.errors import check_flags, raise_error
from virtcore import domstats

if TYPE_CHECKING:
    import virtcore


#: The groups filled (:data:`virtcore.domstats.GROUPS`), as one number.
SUPPORTED = domstats.SUPPORTED
_LIST_FILTERS = (
    lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_OTHER
)
FLAGS = (
    _LIST_FILTERS
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING
    | lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS
)


def groups(stats: int, flags: int, owner: object) -> int:
    """The groups to fill for ``stats`` (0: every one known); checks ``flags`` on ``owner`` as libvirt does.

    Both ``virConnectGetAllDomainStats`` and ``virDomainListGetStats`` reach the driver's
    ``connectGetAllDomainStats``, so that is the function a refusal names.
    """
    check_flags(flags, FLAGS, "virConnectGetAllDomainStats", owner)
    if not stats:
        return SUPPORTED
    if flags & lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS and stats & ~SUPPORTED:
        from virtcore.errors import ArgumentUnsupportedError

        raise_error(ArgumentUnsupportedError, f"Stats types bits 0x{stats & ~SUPPORTED:x} are not supported")
    return stats & SUPPORTED


def list_flags(flags: int) -> int:
    """The domain-list filter bits of ``flags`` (the same bits as ``VIR_CONNECT_LIST_DOMAINS_*``)."""
    return flags & _LIST_FILTERS


def domain_stats(dom: virtcore.Domain, wanted: int) -> dict[str, Any]:
    """libvirt's statistics record of ``dom`` for the groups ``wanted``."""
    return {stat.key: stat.value for stat in domstats.record(dom, wanted)}
