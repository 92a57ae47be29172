"""A running test domain's statistics, with the values libvirt's test driver makes up.

libvirt's test driver invents them from the definition: memory statistics from the
current (balloon) memory when the domain has a memory balloon, none otherwise; one
running vCPU per online vCPU, allowed on every host CPU and "on" the last, with a
CPU time that grows with the clock; CPU totals of fixed values, and per host CPU
(one per *core* of the node, as libvirt counts them) a share of the total. Every
one of them needs a running domain (``OPERATION_INVALID``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from virtcore import errors
from virtcore.errors import OperationInvalidError
from virtcore.types import VcpuInfo

if TYPE_CHECKING:
    from virt_test.node import Node

__all__ = ["TOTAL_CPU_TIME", "cpu_stats", "memory_stats", "vcpus"]

#: The domain CPU time libvirt's test driver reports, nanoseconds.
TOTAL_CPU_TIME = 48772617035
_USER_TIME, _SYSTEM_TIME = 5540000000, 6460000000
#: libvirt's test driver's fixed ``last_update``.
_LAST_UPDATE = 627319920
#: How far a per-CPU ``vcpu_time`` is below that CPU's ``cpu_time`` in the test driver.
_VCPU_TIME_LAG = 1234567890


def memory_stats(node: Node, uuid: str) -> dict[str, int]:
    """``memoryStats()``: derived from the current memory, when the domain has a balloon."""
    with node.lock:
        dom = node.get_active(uuid)
        d = dom.definition()
        if d.memballoon is None or d.memballoon.model == "none":
            return {}
        cur = d.current_memory if d.current_memory is not None else d.memory
    return {
        "actual": cur,
        "swap_in": 0,
        "swap_out": 0,
        "major_fault": 0,
        "minor_fault": 0,
        "unused": cur // 2,
        "available": cur,
        "usable": cur // 2,
        "last_update": _LAST_UPDATE,
        "disk_caches": cur // 8,
        "hugetlb_pgalloc": 0,
        "hugetlb_pgfail": 0,
        "rss": cur // 2,
    }


def vcpus(node: Node, uuid: str) -> tuple[list[VcpuInfo], list[tuple[bool, ...]]]:
    """``vcpus()``: every online vCPU running, allowed on all host CPUs, on the last one."""
    info = node.node_info
    host_cpus = info.nodes * info.sockets * info.cores * info.threads
    with node.lock:
        try:
            dom = node.get_active(uuid)
        except OperationInvalidError:
            raise OperationInvalidError(
                "cannot list vcpus for an inactive domain", domain=errors.ErrorDomain.TEST
            ) from None
        d = dom.definition()
        count = d.current_vcpus if d.current_vcpus is not None else d.vcpu
    now = time.time_ns() // 1000 // 10  # libvirt: the real time in microseconds, divided by ten
    if d.cputune is None and d.cpuset is None:  # nothing pinned: the common case needs no parsing
        rows = [VcpuInfo(i, 1, now, host_cpus - 1) for i in range(count)]
        return rows, [(True,) * host_cpus for _ in range(count)]
    from virt_test.tunables import vcpu_affinity  # saves the XML model on open: pinned domains only

    allowed = vcpu_affinity(d, host_cpus)[:count]
    # libvirt's test driver reports each vCPU on the last host CPU it may run on (-1: none)
    rows = [VcpuInfo(i, 1, now, max(bits, default=-1)) for i, bits in enumerate(allowed)]
    return rows, [tuple(c in bits for c in range(host_cpus)) for bits in allowed]


def cpu_stats(node: Node, uuid: str, total: bool) -> list[dict[str, int]]:
    """``getCPUStats(total)``: fixed totals, or one entry per core of the node."""
    with node.lock:
        node.get_active(uuid)
    if total:
        return [{"cpu_time": TOTAL_CPU_TIME, "user_time": _USER_TIME, "system_time": _SYSTEM_TIME}]
    cores = node.node_info.cores
    share = TOTAL_CPU_TIME // cores
    return [{"cpu_time": share + i, "vcpu_time": share + i - _VCPU_TIME_LAG} for i in range(cores)]
