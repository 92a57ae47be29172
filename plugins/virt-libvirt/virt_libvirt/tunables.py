"""``virDomain``'s tunables: block I/O, disk throttling, NUMA, I/O threads, vCPU and emulator pinning.

libvirt-python's shapes over :class:`virtcore.tunables.DomainTunablesAPI`: typed
parameters as dicts (a name the domain lacks: ``LookupError``, as libvirt-python
learns the names from the getter first), CPU maps as tuples of flags, one per host
CPU of the node's CPU map (``virNodeGetCPUMap``). The ``VIR_DOMAIN_AFFECT_*`` flags
pick the definition, as libvirt's; other flags are refused under the driver's function
name, as libvirt 9.0's test driver checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from virt_libvirt import _constants as lv
from virt_libvirt.errors import check_flags, check_nonzero, raise_from, refuse_live_and_config
from virtcore.errors import NoSupportError, VirtError

if TYPE_CHECKING:
    import virtcore

__all__ = ["DomainTunables"]

_AFFECT = lv.VIR_DOMAIN_AFFECT_LIVE | lv.VIR_DOMAIN_AFFECT_CONFIG
_GET = _AFFECT | lv.VIR_TYPED_PARAM_STRING_OKAY


def _affect(flags: int) -> dict[str, bool]:
    """``live``/``config`` from the flags; both at once refused as libvirt's ``virDomainObjGetOneDef``."""
    refuse_live_and_config(flags)
    return {
        "live": bool(flags & lv.VIR_DOMAIN_AFFECT_LIVE),
        "config": bool(flags & lv.VIR_DOMAIN_AFFECT_CONFIG),
    }


def _only_known(params: object, known: dict[str, Any]) -> dict[str, Any]:
    """``params`` when every name is one the getter gave; else ``LookupError``, as libvirt-python."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, not {type(params).__name__}")
    for name in params:
        if name not in known:
            raise LookupError(f'Attribute name "{name}" could not be recognized')
    return params


class DomainTunables:
    """The tunables of ``virDomain`` (mixed in)."""

    __slots__ = ()
    _o: virtcore.Domain
    _conn: Any  # the virConnect

    def _width(self, fallback: int) -> int:
        """How many host CPUs a CPU map has: the node's CPU map when the driver has one."""
        try:
            return len(self._conn._conn.cpu_map())
        except NoSupportError:
            return fallback
        except VirtError as exc:
            raise_from(exc)

    def _fit(self, cpumap: tuple[bool, ...], width: int) -> tuple[bool, ...]:
        return cpumap[:width] + (False,) * (width - len(cpumap))

    def _map_arg(self, cpumap: object) -> tuple[bool, ...]:
        if not isinstance(cpumap, tuple):
            raise TypeError(f"cpumap must be a tuple of bools, not {type(cpumap).__name__}")
        return self._fit(tuple(bool(x) for x in cpumap), self._width(len(cpumap)))

    def blkioParameters(self, flags: int = 0) -> dict[str, Any]:  # noqa: N802
        """Block I/O tunables: ``weight`` and the per-device ``device_*`` strings."""
        check_flags(flags, _GET, "virDomainGetBlkioParameters", self)
        try:
            return self._o.blkio_parameters(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)

    def setBlkioParameters(self, params: dict[str, Any], flags: int = 0) -> int:  # noqa: N802
        """Change some block I/O tunables of the definition the flags pick; 0."""
        known = self.blkioParameters(flags)  # libvirt-python's first call: its flags errors
        check_flags(flags, _AFFECT, "virDomainSetBlkioParameters", self)
        try:
            self._o.set_blkio_parameters(_only_known(params, known), **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def numaParameters(self, flags: int = 0) -> dict[str, Any]:  # noqa: N802
        """The NUMA memory policy: ``numa_mode`` and ``numa_nodeset``."""
        check_flags(flags, _GET, "virDomainGetNumaParameters", self)
        try:
            return self._o.numa_parameters(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)

    def setNumaParameters(self, params: dict[str, Any], flags: int = 0) -> int:  # noqa: N802
        """Change the NUMA memory mode and/or node set of the definition the flags pick; 0."""
        known = self.numaParameters(flags)  # libvirt-python's first call: its flags errors
        check_flags(flags, _AFFECT, "virDomainSetNumaParameters", self)
        try:
            self._o.set_numa_parameters(_only_known(params, known), **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def blockIoTune(self, disk: str, flags: int = 0) -> dict[str, Any]:  # noqa: N802
        """One disk's I/O throttling (``total_bytes_sec``..., ``group_name``)."""
        check_flags(flags, _GET, "virDomainGetBlockIoTune", self)
        if not isinstance(disk, str):
            raise TypeError(f"disk must be a str, not {type(disk).__name__}")
        try:
            return self._o.block_io_tune(disk, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)

    def setBlockIoTune(self, disk: str, params: dict[str, Any], flags: int = 0) -> int:  # noqa: N802
        """Change some of one disk's I/O throttling in the definition the flags pick; 0."""
        known = self.blockIoTune(disk, flags)  # libvirt-python's first call: its errors
        check_flags(flags, _AFFECT, "virDomainSetBlockIoTune", self)
        try:
            self._o.set_block_io_tune(disk, _only_known(params, known), **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def ioThreadInfo(self, flags: int = 0) -> list[tuple[int, list[bool]]]:  # noqa: N802
        """``[(iothread id, [one flag per host CPU it may run on])]``."""
        check_flags(flags, _AFFECT, "virDomainGetIOThreadInfo", self)
        try:
            found = self._o.iothread_info(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        if not found:
            return []
        width = self._width(len(found[0][1]))
        return [(i, list(self._fit(m, width))) for i, m in found]

    def addIOThread(self, iothread_id: int, flags: int = 0) -> int:  # noqa: N802
        """Add I/O thread ``iothread_id`` to the definition the flags pick; 0."""
        check_flags(flags, _AFFECT, "virDomainAddIOThread", self)
        try:
            self._o.add_iothread(iothread_id, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def delIOThread(self, iothread_id: int, flags: int = 0) -> int:  # noqa: N802
        """Remove I/O thread ``iothread_id`` from the definition the flags pick; 0."""
        check_nonzero(iothread_id, "iothread_id", "virDomainDelIOThread")  # libvirt's API layer
        check_flags(flags, _AFFECT, "virDomainDelIOThread", self)
        try:
            self._o.del_iothread(iothread_id, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def pinIOThread(self, iothread_val: int, cpumap: Sequence[bool], flags: int = 0) -> int:  # noqa: N802
        """Pin I/O thread ``iothread_val`` to the host CPUs set in ``cpumap``; 0."""
        cpus = self._map_arg(cpumap)
        check_flags(flags, _AFFECT, "virDomainPinIOThread", self)
        try:
            self._o.pin_iothread(iothread_val, cpus, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def setIOThreadParams(self, iothread: int, params: dict[str, Any], flags: int = 0) -> int:  # noqa: N802
        """Change a running I/O thread's polling (``poll_max_ns``, ``poll_grow``, ``poll_shrink``); 0."""
        check_flags(flags, lv.VIR_DOMAIN_AFFECT_LIVE, "virDomainSetIOThreadParams", self)
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict, not {type(params).__name__}")
        try:
            self._o.set_iothread_params(iothread, params, live=bool(flags & lv.VIR_DOMAIN_AFFECT_LIVE))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def interfaceParameters(self, device: str, flags: int = 0) -> dict[str, Any]:  # noqa: N802
        """One interface's rate limits (``inbound.average``...; by MAC address or target name)."""
        check_flags(flags, _GET, "virDomainGetInterfaceParameters", self)
        if not isinstance(device, str):
            raise TypeError(f"device must be a str, not {type(device).__name__}")
        try:
            return self._o.interface_parameters(device, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)

    def setInterfaceParameters(self, device: str, params: dict[str, Any], flags: int = 0) -> int:  # noqa: N802
        """Change one interface's rate limits in the definition the flags pick; 0."""
        known = self.interfaceParameters(device, flags)  # libvirt-python's first call: its errors
        check_flags(flags, _AFFECT, "virDomainSetInterfaceParameters", self)
        try:
            self._o.set_interface_parameters(device, _only_known(params, known), **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def vcpuPinInfo(self, flags: int = 0) -> list[tuple[bool, ...]]:  # noqa: N802
        """Per vCPU (as many as ``info()`` counts), one flag per host CPU it may run on."""
        try:
            count = self._o.info().nr_virt_cpu
            maps = self._o.vcpu_pin_info(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        width = self._width(len(maps[0]) if maps else 0)
        maps = [self._fit(m, width) for m in maps[:count]]
        return maps + [(False,) * width] * (count - len(maps))

    def pinVcpu(self, vcpu: int, cpumap: Sequence[bool]) -> int:  # noqa: N802
        """Pin an online vCPU of the running domain to the host CPUs set in ``cpumap``; 0."""
        return self.pinVcpuFlags(vcpu, cpumap, 0)

    def pinVcpuFlags(self, vcpu: int, cpumap: Sequence[bool], flags: int = 0) -> int:  # noqa: N802
        """:meth:`pinVcpu` (libvirt 9.0's test driver takes no flags); 0."""
        cpus = self._map_arg(cpumap)
        check_flags(flags, 0, "virDomainPinVcpuFlags", self)
        try:
            self._o.pin_vcpu(vcpu, cpus)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def emulatorPinInfo(self, flags: int = 0) -> tuple[bool, ...]:  # noqa: N802
        """One flag per host CPU the emulator threads may run on."""
        check_flags(flags, _AFFECT, "virDomainGetEmulatorPinInfo", self)
        try:
            cpus = self._o.emulator_pin_info(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return self._fit(cpus, self._width(len(cpus)))

    def pinEmulator(self, cpumap: Sequence[bool], flags: int = 0) -> int:  # noqa: N802
        """Pin the emulator threads to the host CPUs set in ``cpumap``; 0."""
        cpus = self._map_arg(cpumap)
        check_flags(flags, _AFFECT, "virDomainPinEmulator", self)
        try:
            self._o.pin_emulator(cpus, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0
