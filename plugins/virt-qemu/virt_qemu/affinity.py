"""The host CPUs a guest's vCPU threads may run on: QMP ``query-cpus-fast`` names each vCPU's
thread, ``sched_setaffinity`` sets it (libvirt's QEMU driver does the same, through cgroups too)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from virtcore.errors import ConfigUnsupportedError, InvalidArgError
from virtcore.tunables import format_bitmap, parse_bitmap

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor
    from virtcore.xml import DomainDef

__all__ = ["vcpu_threads", "pin_thread", "apply_vcpu_pins"]


def vcpu_threads(mon: Monitor) -> dict[int, int]:
    """vCPU index -> the id of the host thread running it."""
    return {c["cpu-index"]: c["thread-id"] for c in mon.cmd("query-cpus-fast", timeout=10)}


def pin_thread(tid: int, cpus: set[int], vcpu: int) -> None:
    """Let thread ``tid`` (vCPU ``vcpu``) run on ``cpus`` only.

    :raises InvalidArgError: no CPU of ``cpus`` is one of the host's.
    """
    try:
        os.sched_setaffinity(tid, cpus)
    except OSError as exc:  # EINVAL: none of them is a host CPU
        raise InvalidArgError(f"cannot pin vcpu '{vcpu}' to CPUs {format_bitmap(cpus)}: {exc}") from None


def apply_vcpu_pins(mon: Monitor, d: DomainDef) -> None:
    """At start: each vCPU's ``<vcpupin>``, else ``<vcpu cpuset>``, as libvirt's QEMU driver applies them.

    :raises ConfigUnsupportedError: a CPU set that names no host CPU.
    """
    pins = {p.vcpu: p.cpuset or "" for p in (d.cputune.vcpupins if d.cputune else ()) if p.vcpu is not None}
    if not pins and not d.cpuset:
        return
    for vcpu, tid in vcpu_threads(mon).items():
        text = pins.get(vcpu, d.cpuset or "")
        cpus = parse_bitmap(text)
        if not text or not cpus:
            continue
        try:
            pin_thread(tid, cpus, vcpu)
        except InvalidArgError as exc:
            raise ConfigUnsupportedError(f"domain '{d.name}': {exc.detail}") from None
