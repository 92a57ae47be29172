"""Resources and statistics: state and info, memory, vCPUs, block and interface counters,
the control state of a running domain, the host's CPUs, memory and security model.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import attrs

from virt_qemu import argv as argvmod
from virt_qemu import hostmem
from virt_qemu.affinity import pin_thread, vcpu_threads
from virt_qemu.caps import SECURITY_DOI, SECURITY_MODEL, host_arch
from virt_qemu.connection import Part
from virt_qemu.hoststate import DETACH_TIMEOUT, Dom
from virtcore import hookimpl
from virtcore.errors import (
    ArgumentUnsupportedError,
    InvalidArgError,
    NoDomainError,
    OperationFailedError,
    OperationInvalidError,
    OperationTimeoutError,
    OperationUnsupportedError,
)
from virtcore.tunables import format_bitmap, parse_bitmap
from virtcore.types import (
    ControlErrorReason,
    ControlInfo,
    ControlState,
    DomainInfo,
    DomainState,
    NodeInfo,
    SecurityModel,
)
from virtcore.xml import DomainDef
from virtcore.xml.elements import CPUTune, VcpuPin

__all__ = ["Resources"]

_NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


class Resources(Part):
    """The hooks that report and change a domain's resources, and the host's."""

    def _cpu_time(self, dom: Dom) -> int:
        """CPU time of the QEMU process (user + system, ns) from its ``/proc`` stat file."""
        fd = dom.stat_fd
        if fd is None:
            return 0
        try:
            data = os.pread(fd, 1024, 0)
        except OSError:
            return 0
        fields = data[data.rfind(b")") + 2 :].split(b" ", 14)
        try:
            return (int(fields[11]) + int(fields[12])) * _NS_PER_TICK
        except (IndexError, ValueError):
            return 0

    @hookimpl
    def virt_domain_get_info(self, uuid: str) -> DomainInfo:
        """State, memory (balloon), vCPUs, CPU time of the QEMU process."""
        h = self.host
        dom = h.current(uuid)
        d = dom.live or dom.config
        if d is None:
            raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        if dom.state == DomainState.SHUTOFF:
            return DomainInfo(dom.state, d.memory, d.current_memory or d.memory, d.current_vcpus or d.vcpu, 0)
        return DomainInfo(
            dom.state, d.memory, dom.balloon_kib, d.current_vcpus or d.vcpu, self._cpu_time(dom)
        )

    @hookimpl
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int]:
        """``(state, reason)`` from memory (kept current by QMP events, or by the shared
        generation and ``status.xml`` in a process with only read-only connections)."""
        dom = self.host.current(uuid)
        return dom.state, dom.reason

    @hookimpl
    def virt_domain_set_memory(self, uuid: str, memory: int) -> bool:
        """Balloon target (live) or currentMemory (inactive)."""
        h = self.host
        dom = h.get(uuid)
        if isinstance(memory, bool) or not isinstance(memory, int) or memory <= 0:
            raise InvalidArgError(f"memory must be a positive number of KiB, not {memory!r}")
        with dom.job:
            d = dom.definition
            if memory > d.memory:
                raise InvalidArgError("cannot set memory higher than max memory")
            if dom.active:
                mon = h.monitor_of(dom)
                mon.cmd("balloon", {"value": memory * 1024})
                dom.live = attrs.evolve(d, current_memory=memory, raw=d.raw)
                dom.balloon_kib = memory
                h.write_status(dom)
            else:
                config = h.config_of(dom)
                h.save_config(dom, attrs.evolve(config, current_memory=memory, raw=config.raw))
        return True

    @hookimpl
    def virt_domain_set_max_memory(self, uuid: str, memory: int) -> bool:
        """Maximum memory of an inactive domain."""
        h = self.host
        dom = h.get(uuid)
        if isinstance(memory, bool) or not isinstance(memory, int) or memory <= 0:
            raise InvalidArgError(f"memory must be a positive number of KiB, not {memory!r}")
        with dom.job:
            if dom.active:
                raise OperationInvalidError("cannot resize the maximum memory of an active domain")
            config = h.config_of(dom)
            cur = min(config.current_memory or memory, memory)
            h.save_config(dom, attrs.evolve(config, memory=memory, current_memory=cur, raw=config.raw))
        return True

    @hookimpl
    def virt_domain_set_vcpus(self, uuid: str, count: int) -> bool:
        """Current vCPUs (hot-plugged when active, else in the definition)."""
        h = self.host
        dom = h.get(uuid)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidArgError(f"vcpu count must be a positive integer, not {count!r}")
        with dom.job:
            d = dom.definition
            if count > d.vcpu:
                raise InvalidArgError(
                    f"requested cpu amount exceeds maximum supported amount ({count} > {d.vcpu})"
                )
            if dom.active:
                self._hotplug_vcpus(dom, d, count)
                return True
            config = h.config_of(dom)
            h.save_config(dom, attrs.evolve(config, current_vcpus=count, raw=config.raw))
        return True

    def _hotplug_vcpus(self, dom: Dom, d: DomainDef, count: int) -> None:
        """CPU hotplug: ``device_add`` free slots up to ``count``; ``device_del`` ours down to it."""
        h = self.host
        mon = h.monitor_of(dom)
        slots = mon.cmd("query-hotpluggable-cpus")
        present = [s for s in slots if s.get("qom-path")]
        if count > len(present):
            free = sorted(
                (s for s in slots if not s.get("qom-path")), key=lambda s: sorted(s["props"].items())
            )
            for slot in free[: count - len(present)]:
                props = dict(slot["props"])
                cpu_id = "vcpu-" + "-".join(f"{props[k]}" for k in sorted(props))
                mon.cmd("device_add", {"driver": slot["type"], "id": cpu_id, **props})
        elif count < len(present):
            # Only vCPUs added by hotplug have ids in /machine/peripheral; boot vCPUs stay.
            ours = sorted(
                (s for s in present if "/machine/peripheral/" in s["qom-path"]),
                key=lambda s: s["qom-path"],
                reverse=True,
            )
            if len(present) - len(ours) > count:
                booted = len(present) - len(ours)
                raise ArgumentUnsupportedError(
                    f"removing vCPUs present at boot (domain '{dom.name}' booted with {booted})"
                )
            gone = [s["qom-path"] for s in ours[: len(present) - count]]
            for path in gone:
                mon.cmd("device_del", {"id": path.rsplit("/", 1)[-1]})
            # The guest ejects them (ACPI); wait until QEMU no longer lists them.
            deadline = time.monotonic() + DETACH_TIMEOUT
            while any(s.get("qom-path") in gone for s in mon.cmd("query-hotpluggable-cpus")):
                if time.monotonic() > deadline:
                    raise OperationTimeoutError(f"the guest of '{dom.name}' did not release its vCPUs")
                time.sleep(0.02)
        dom.live = attrs.evolve(d, current_vcpus=count, raw=d.raw)
        h.write_status(dom)

    # -- vCPU pinning: the vCPU threads' affinity (query-cpus-fast), kept in <cputune><vcpupin> --

    @hookimpl
    def virt_domain_get_vcpu_pin_info(self, uuid: str, live: bool, config: bool) -> list[tuple[bool, ...]]:
        """Each vCPU's ``<vcpupin>``, else ``<vcpu cpuset>``, else every host CPU (libvirt's order)."""
        h = self.host
        dom = h.current(uuid)
        if live and not dom.active:
            raise OperationInvalidError("domain is not running")
        d = h.config_of(dom) if config or not dom.active else dom.definition
        width = os.cpu_count() or 1
        pins = {p.vcpu: parse_bitmap(p.cpuset or "") for p in (d.cputune.vcpupins if d.cputune else ())}
        default = parse_bitmap(d.cpuset) if d.cpuset else None
        if default is None:
            default = set(range(width))
        maps = []
        for i in range(d.vcpu):
            bits = pins.get(i)
            maps.append(tuple(c in (bits if bits is not None else default) for c in range(width)))
        return maps

    @hookimpl
    def virt_domain_pin_vcpu(self, uuid: str, vcpu: int, cpumap: tuple[bool, ...]) -> bool:
        """Set vCPU ``vcpu``'s thread affinity (``sched_setaffinity``) and keep it as its ``<vcpupin>``."""
        h = self.host
        dom = h.get(uuid)
        cpus = {i for i, on in enumerate(cpumap) if on}
        with dom.job:
            if not dom.active:
                raise OperationInvalidError(f"domain '{dom.name}' is not running")
            d = dom.definition
            if not cpus:
                raise InvalidArgError("Empty cpu list for pinning")
            threads = vcpu_threads(h.monitor_of(dom))
            if vcpu not in threads:
                raise InvalidArgError(f"requested vcpu '{vcpu}' is not present in the domain")
            pin_thread(threads[vcpu], cpus, vcpu)
            tune = d.cputune or CPUTune()
            pin = VcpuPin(vcpu=vcpu, cpuset=format_bitmap(cpus))
            pins = sorted([p for p in tune.vcpupins if p.vcpu != vcpu] + [pin], key=lambda p: p.vcpu or 0)
            dom.live = attrs.evolve(d, cputune=attrs.evolve(tune, vcpupins=tuple(pins)), raw=d.raw)
            h.write_status(dom)
        return True

    def _require_running(self, uuid: str) -> Dom:
        """An active domain, for a query (no monitor of ours needed)."""
        dom = self.host.current(uuid)
        if not dom.active:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        return dom

    @hookimpl
    def virt_domain_block_stats(self, uuid: str, device: str) -> tuple[int, int, int, int, int]:
        """QMP ``query-blockstats`` for the disk with target ``device``."""
        h = self.host
        dom = self._require_running(uuid)
        d = dom.definition
        disk = next((x for x in d.disks if x.target_dev == device or x.source == device), None)
        if disk is None:
            raise InvalidArgError(f"invalid path: {device}")
        alias = argvmod.disk_alias(disk, 0)
        for s in h.monitors.query(dom, "query-blockstats"):
            qdev = s.get("qdev", "")
            if f"/{alias}/" in qdev or qdev.endswith(f"/{alias}"):
                st = s.get("stats", {})
                errs = int(st.get("failed_rd_operations", 0)) + int(st.get("failed_wr_operations", 0))
                return (int(st.get("rd_operations", 0)), int(st.get("rd_bytes", 0)),
                        int(st.get("wr_operations", 0)), int(st.get("wr_bytes", 0)), errs)  # fmt: skip
        raise InvalidArgError(f"invalid path: {device} (no statistics)")

    @hookimpl
    def virt_domain_interface_stats(
        self, uuid: str, device: str
    ) -> tuple[int, int, int, int, int, int, int, int]:
        """Host-side counters of a tap interface.

        Read from ``/proc/<QEMU's pid>/net/dev``: the network namespace QEMU runs
        in, where its tap is (the host's, unless QEMU was started in another).
        """
        dom = self._require_running(uuid)
        d = dom.definition
        iface = next((i for i in d.interfaces if device in (i.target_dev, i.mac)), None)
        if iface is None:
            raise InvalidArgError(f"invalid path, '{device}' is not a known interface")
        if not iface.target_dev or iface.type == "user":
            raise ArgumentUnsupportedError(
                f"interface statistics of '{device}': user-mode networking has no host-side device to count"
            )
        dev = iface.target_dev
        try:
            table = Path(f"/proc/{dom.pid}/net/dev").read_text()
        except OSError:
            raise OperationFailedError(
                f"cannot read statistics of {dev} (QEMU's network namespace)"
            ) from None
        for line in table.splitlines()[2:]:
            name, sep, counters = line.partition(":")
            if sep and name.strip() == dev:
                f = [int(x) for x in counters.split() if x.isdigit()]
                if len(f) < 16:
                    break
                # rx: bytes packets errs drop ...(8 fields), tx: bytes packets errs drop ...
                # The host's transmit is the guest's receive (libvirt swaps them the same way).
                return (f[8], f[9], f[10], f[11], f[0], f[1], f[2], f[3])
        raise OperationFailedError(
            f"cannot read statistics of {dev}: QEMU's network namespace has no such device"
        )

    @hookimpl
    def virt_node_get_info(self) -> NodeInfo:
        """The host's CPUs and memory."""
        mem = 0
        with contextlib.suppress(OSError, ValueError):
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1])
        mhz = 0
        with contextlib.suppress(OSError, ValueError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("cpu MHz"):
                    mhz = int(float(line.split(":")[1]))
                    break
        cpus = os.cpu_count() or 1
        return NodeInfo(host_arch(), mem, cpus, mhz, 1, 1, cpus, 1)

    @hookimpl
    def virt_node_get_free_memory(self) -> int:
        """The host's free bytes (its NUMA nodes' ``MemFree`` summed)."""
        return hostmem.free_memory()

    @hookimpl
    def virt_node_get_cells_free_memory(self, start_cell: int, max_cells: int) -> list[int]:
        """Free bytes of the host's NUMA nodes from ``start_cell`` on."""
        return hostmem.cells_free(start_cell, max_cells)

    @hookimpl
    def virt_node_get_security_model(self) -> SecurityModel:
        """``none``/``0``: virt-qemu labels no guest (libvirt's QEMU driver, ``security_driver="none"``)."""
        return SecurityModel(SECURITY_MODEL, SECURITY_DOI)

    @hookimpl
    def virt_domain_get_control_info(self, uuid: str) -> ControlInfo:
        """OK while this process's QMP monitor of the running domain is up, ERROR (MONITOR) once it
        is lost. A process with only read-only connections holds no monitor: it cannot tell."""
        h = self.host
        dom = h.current(uuid)
        if not dom.active:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        if not h.monitored:
            raise OperationUnsupportedError(
                f"the control state of domain '{dom.name}' is known to a read-write connection only"
                " (it holds the domain's monitor)"
            )
        mon = dom.monitor
        if mon is None:
            h.sync(force=True)
            mon = dom.monitor
        if mon is None or not mon.connected:
            return ControlInfo(ControlState.ERROR, ControlErrorReason.MONITOR, 0)
        return ControlInfo(ControlState.OK, 0, 0)
