"""libvirt's bulk domain statistics (``virConnectGetAllDomainStats``): the groups the core can fill.

A record of bulk statistics is a flat list of typed parameters per domain
(``state.state``, ``iothread.3.poll-max-ns``...), grouped by
``VIR_DOMAIN_STATS_*`` bits. :data:`GROUPS` describes, once, each group the
core fills from a :class:`virtcore.Domain` (``state``, ``cpu-total``,
``balloon``, ``vcpu``, ``iothread``), with libvirt's key names and types (its
QEMU driver's); ``virtcore serve`` sends records made by :func:`record`,
virt-libvirt gives them to ``getAllDomainStats``, the remote driver reads the
I/O threads back with :func:`iothreads_of`. A group whose
source the domain's driver lacks, or that only a running domain has, is left
out of the record, as libvirt leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from virtcore.errors import NoSupportError, OperationInvalidError

if TYPE_CHECKING:
    from virtcore.connection import Domain

__all__ = [
    "STATS_STATE",
    "STATS_CPU_TOTAL",
    "STATS_BALLOON",
    "STATS_VCPU",
    "STATS_IOTHREAD",
    "Stat",
    "GROUPS",
    "SUPPORTED",
    "record",
    "iothreads_of",
]

#: ``VIR_DOMAIN_STATS_*`` (libvirt-domain.h): the groups filled here.
STATS_STATE, STATS_CPU_TOTAL, STATS_BALLOON, STATS_VCPU, STATS_IOTHREAD = 1, 2, 4, 8, 128
#: An I/O thread's polling keys (``iothread.<id>.<key>``) and libvirt's type of each.
_POLLING = {"poll-max-ns": "ullong", "poll-grow": "uint", "poll-shrink": "uint"}
#: virtcore's memory statistic name (``Domain.memory_stats``): libvirt's ``balloon.*`` key.
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


class Stat(NamedTuple):
    """One typed parameter of a record: libvirt's key, libvirt's type name (``"uint"``...), the value."""

    key: str
    kind: str
    value: int


#: A group's filler: appends its statistics to the list, as far as the domain's driver tells them
#: (what it appended before a source failed stays, as libvirt keeps what it got).
Fill = Callable[["Domain", list[Stat]], None]


def _state(dom: Domain, out: list[Stat]) -> None:
    state, reason = dom.state()
    out += [Stat("state.state", "int", int(state)), Stat("state.reason", "int", int(reason))]


def _cpu(dom: Domain, out: list[Stat]) -> None:
    out.append(Stat("cpu.time", "ullong", dom.info()[4]))
    totals = dom.cpu_stats(True)
    if totals:
        for key in ("user_time", "system_time"):
            if key in totals[0]:
                out.append(Stat(f"cpu.{key.split('_')[0]}", "ullong", totals[0][key]))


def _balloon(dom: Domain, out: list[Stat]) -> None:
    info = dom.info()
    out += [Stat("balloon.current", "ullong", info[2]), Stat("balloon.maximum", "ullong", info[1])]
    for name, value in dom.memory_stats().items():
        if name in _BALLOON:
            out.append(Stat(f"balloon.{_BALLOON[name]}", "ullong", value))


def _vcpu(dom: Domain, out: list[Stat]) -> None:
    current = dom.info()[3]
    out.append(Stat("vcpu.current", "uint", current))
    import xml.etree.ElementTree as ET  # only the vcpu group reads the definition

    vcpu = ET.fromstring(dom.xml_desc()).find("vcpu")
    out.append(Stat("vcpu.maximum", "uint", int((vcpu.text or "1").strip()) if vcpu is not None else current))
    for v in dom.vcpus()[0]:
        number, state, cpu_time = int(v[0]), int(v[1]), int(v[2])
        out += [Stat(f"vcpu.{number}.state", "int", state), Stat(f"vcpu.{number}.time", "ullong", cpu_time)]


def _iothread(dom: Domain, out: list[Stat]) -> None:
    found = dom.iothread_stats()
    if found:
        out.append(Stat("iothread.count", "uint", len(found)))
    for number, polling in found:
        out += [Stat(f"iothread.{number}.{key}", kind, polling[key]) for key, kind in _POLLING.items()]


#: Each group the core fills, by its bit, in libvirt's order.
GROUPS: dict[int, Fill] = {
    STATS_STATE: _state,
    STATS_CPU_TOTAL: _cpu,
    STATS_BALLOON: _balloon,
    STATS_VCPU: _vcpu,
    STATS_IOTHREAD: _iothread,
}
SUPPORTED = sum(GROUPS)


def record(dom: Domain, wanted: int) -> list[Stat]:
    """The statistics of ``dom`` for the groups ``wanted`` (bits of :data:`GROUPS`; others are ignored).

    :raises VirtError: what a source raises but ``NoSupportError`` (the driver cannot tell)
        and ``OperationInvalidError`` (not while the domain is off): those leave the rest of
        that group out.
    """
    out: list[Stat] = []
    for bit, fill in GROUPS.items():
        if wanted & bit:
            try:
                fill(dom, out)
            except (NoSupportError, OperationInvalidError):
                continue
    return out


def iothreads_of(params: Mapping[str, Any]) -> list[tuple[int, dict[str, int]]]:
    """The I/O threads a record's ``iothread`` group tells: ``(id, {poll-max-ns, ...})``, in its order.

    Only threads with polling keys are told (libvirt's QEMU driver leaves out a thread's when
    QEMU does not report them).
    """
    threads: dict[int, dict[str, int]] = {}
    for key, value in params.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "iothread" and parts[1].isdigit() and parts[2] in _POLLING:
            threads.setdefault(int(parts[1]), {})[parts[2]] = int(value)
    return list(threads.items())
