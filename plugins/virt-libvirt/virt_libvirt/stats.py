"""Bulk domain statistics (``getAllDomainStats``, ``domainListGetStats``) from virtcore's typed calls.

Each ``VIR_DOMAIN_STATS_*`` group this module knows is filled with libvirt's
keys from what virtcore tells: ``state.*`` and ``iothread.*`` as the core
describes them for every client (:mod:`virtcore.domstats`, which ``virtcore
serve`` sends too), ``cpu.*`` from ``info()`` and ``cpu_stats()``, ``balloon.*``
from ``info()`` and ``memory_stats()``, ``vcpu.*`` from the definition and
``vcpus()``. A source
the driver does not have leaves its keys out, as libvirt leaves out what a
driver cannot tell; a group this module does not know is left out too, or
refused with ``VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virt_libvirt import _constants as lv
from virt_libvirt.errors import check_flags, raise_error
from virtcore import domstats
from virtcore.errors import NoSupportError, OperationInvalidError, VirtError

if TYPE_CHECKING:
    import virtcore


def _core(bit: int) -> Callable[[virtcore.Domain, dict[str, Any]], None]:
    """The filler of a group the core describes (:data:`virtcore.domstats.GROUPS`)."""

    def fill(dom: virtcore.Domain, out: dict[str, Any]) -> None:
        out.update((stat.key, stat.value) for stat in domstats.GROUPS[bit](dom))

    return fill


def _cpu(dom: virtcore.Domain, out: dict[str, Any]) -> None:
    out["cpu.time"] = dom.info()[4]
    totals = dom.cpu_stats(True)
    if totals:
        for key in ("user_time", "system_time"):
            if key in totals[0]:
                out[f"cpu.{key.split('_')[0]}"] = totals[0][key]


#: virtcore's memory statistic name: libvirt's ``balloon.*`` key.
_BALLOON = {
    "swap_in": "swap_in",
    "swap_out": "swap_out",
    "major_fault": "major_fault",
    "minor_fault": "minor_fault",
    "unused": "unused",
    "available": "available",
    "usable": "usable",
    "last_update": "last-update",
    "disk_caches": "disk_caches",
    "hugetlb_pgalloc": "hugetlb_pgalloc",
    "hugetlb_pgfail": "hugetlb_pgfail",
    "rss": "rss",
}


def _balloon(dom: virtcore.Domain, out: dict[str, Any]) -> None:
    info = dom.info()
    out["balloon.current"] = info[2]
    out["balloon.maximum"] = info[1]
    for name, value in dom.memory_stats().items():
        if name in _BALLOON:
            out[f"balloon.{_BALLOON[name]}"] = value


def _vcpu(dom: virtcore.Domain, out: dict[str, Any]) -> None:
    out["vcpu.current"] = dom.info()[3]
    import xml.etree.ElementTree as ET  # only the vcpu group reads the definition

    vcpu = ET.fromstring(dom.xml_desc()).find("vcpu")
    out["vcpu.maximum"] = int((vcpu.text or "1").strip()) if vcpu is not None else out["vcpu.current"]
    for v in dom.vcpus()[0]:
        number, state, cpu_time = int(v[0]), int(v[1]), int(v[2])
        out[f"vcpu.{number}.state"] = state
        out[f"vcpu.{number}.time"] = cpu_time


#: The groups this module fills, in libvirt's order.
GROUPS: dict[int, Callable[[virtcore.Domain, dict[str, Any]], None]] = {
    lv.VIR_DOMAIN_STATS_STATE: _core(lv.VIR_DOMAIN_STATS_STATE),
    lv.VIR_DOMAIN_STATS_CPU_TOTAL: _cpu,
    lv.VIR_DOMAIN_STATS_BALLOON: _balloon,
    lv.VIR_DOMAIN_STATS_VCPU: _vcpu,
    lv.VIR_DOMAIN_STATS_IOTHREAD: _core(lv.VIR_DOMAIN_STATS_IOTHREAD),
}
SUPPORTED = sum(GROUPS)
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
    out: dict[str, Any] = {}
    for bit, fill in GROUPS.items():
        if wanted & bit:
            try:
                fill(dom, out)
            except (NoSupportError, OperationInvalidError):
                continue  # the driver cannot tell (or not while the domain is off): leave it out
            except VirtError:
                raise
    return out
