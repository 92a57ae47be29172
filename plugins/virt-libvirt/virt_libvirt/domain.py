"""``virDomain``: a domain through libvirt-python's methods, over :class:`virtcore.Domain`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from virt_libvirt import _constants as lv
from virt_libvirt._base import Persistent, complete, passes
from virt_libvirt.errors import check_exclusive, check_flags, check_nonzero, raise_error, raise_from
from virt_libvirt.snapshot import (
    snapshot_create_kwargs,
    snapshot_list_kwargs,
    virDomainCheckpoint,
    virDomainSnapshot,
)
from virt_libvirt.tunables import DomainTunables
from virtcore.errors import NoSupportError, VirtError

if TYPE_CHECKING:
    import virtcore
    from virt_libvirt.stream import virStream

_XML_FLAGS = lv.VIR_DOMAIN_XML_SECURE | lv.VIR_DOMAIN_XML_INACTIVE | lv.VIR_DOMAIN_XML_UPDATE_CPU
_XML_FLAGS |= lv.VIR_DOMAIN_XML_MIGRATABLE
_AFFECT = lv.VIR_DOMAIN_AFFECT_LIVE | lv.VIR_DOMAIN_AFFECT_CONFIG
_UNDEFINE_FLAGS = (
    lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | lv.VIR_DOMAIN_UNDEFINE_NVRAM
    | lv.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
    | lv.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | lv.VIR_DOMAIN_UNDEFINE_TPM
    | lv.VIR_DOMAIN_UNDEFINE_KEEP_TPM
)
_START_FLAGS = lv.VIR_DOMAIN_START_PAUSED | lv.VIR_DOMAIN_START_VALIDATE | lv.VIR_DOMAIN_START_FORCE_BOOT
_START_FLAGS |= lv.VIR_DOMAIN_START_BYPASS_CACHE
_SAVE_FLAGS = lv.VIR_DOMAIN_SAVE_BYPASS_CACHE | lv.VIR_DOMAIN_SAVE_RUNNING | lv.VIR_DOMAIN_SAVE_PAUSED
#: The VIR_DOMAIN_SAVE_* flags libvirt's API refuses together, before any driver (VIR_EXCLUSIVE_FLAGS).
SAVE_EXCLUSIVE = (
    (lv.VIR_DOMAIN_SAVE_RUNNING, "VIR_DOMAIN_SAVE_RUNNING"),
    (lv.VIR_DOMAIN_SAVE_PAUSED, "VIR_DOMAIN_SAVE_PAUSED"),
)


def save_flags_taken(owner: Any) -> int:
    """The ``VIR_DOMAIN_SAVE_*`` flags virDomainSaveFlags / virDomainRestoreFlags take on ``owner``'s
    connection: none on libvirt's test driver (it checks for 0), the rest on the others (its QEMU's)."""
    conn = owner if hasattr(owner, "getType") else owner.connect()
    return 0 if conn.getType() == "TEST" else _SAVE_FLAGS


_REBOOT_FLAGS = (
    lv.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN
    | lv.VIR_DOMAIN_REBOOT_GUEST_AGENT
    | lv.VIR_DOMAIN_REBOOT_INITCTL
    | lv.VIR_DOMAIN_REBOOT_SIGNAL
    | lv.VIR_DOMAIN_REBOOT_PARAVIRT
)
_SHUTDOWN_FLAGS = (
    lv.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN
    | lv.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT
    | lv.VIR_DOMAIN_SHUTDOWN_INITCTL
    | lv.VIR_DOMAIN_SHUTDOWN_SIGNAL
    | lv.VIR_DOMAIN_SHUTDOWN_PARAVIRT
)
_ADDRESS_SOURCES = {
    lv.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE: "lease",
    lv.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT: "agent",
    lv.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP: "arp",
}
_REVERT_FLAGS = lv.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | lv.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
_REVERT_FLAGS |= lv.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE


def _unsupported_flag(what: str) -> None:
    from virtcore.errors import ArgumentUnsupportedError

    raise_error(ArgumentUnsupportedError, what)


def _only_known(params: Mapping[str, object], known: Mapping[str, object]) -> None:
    """Refuse a typed parameter the domain does not have: ``LookupError``, as libvirt-python."""
    for name in params:
        if name not in known:
            raise LookupError(f'Attribute name "{name}" could not be recognized')


class virDomain(Persistent, DomainTunables):  # noqa: N801 - libvirt-python's name
    """A domain, as libvirt-python's ``virDomain``."""

    __slots__ = ()
    _o: virtcore.Domain

    # -- identity ---------------------------------------------------------------

    def ID(self) -> int:  # noqa: N802
        """The hypervisor's id while active, -1 while not."""
        try:
            return self._o.id
        except VirtError as exc:
            raise_from(exc)

    # -- state --------------------------------------------------------------------

    def info(self) -> list[int]:
        """``[state, max memory KiB, memory KiB, vcpus, cpu time ns]``."""
        try:
            r = self._o.info()
        except VirtError as exc:
            raise_from(exc)
        return [r[0]._value_, r[1], r[2], r[3], r[4]]  # the enum's plain int, as libvirt's

    def state(self, flags: int = 0) -> list[int]:
        """``[state, reason]``."""
        if flags:
            check_flags(flags, 0, "virDomainGetState", self)
        try:
            s, reason = self._o.state()
        except VirtError as exc:
            raise_from(exc)
        return [s._value_, int(reason)]

    def controlInfo(self, flags: int = 0) -> list[int]:  # noqa: N802
        """``[state, details, stateTime]`` of the interface controlling the running domain."""
        check_flags(flags, 0, "virDomainGetControlInfo", self)
        try:
            info = self._o.control_info()
        except VirtError as exc:
            raise_from(exc)
        return [int(info.state), int(info.details), info.state_time]

    def maxMemory(self) -> int:  # noqa: N802
        """The maximum memory, KiB."""
        try:
            return self._o.info()[1]
        except VirtError as exc:
            raise_from(exc)

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The domain XML (``VIR_DOMAIN_XML_INACTIVE``: the persistent definition)."""
        if flags:
            check_flags(flags, _XML_FLAGS, "virDomainGetXMLDesc", self)
        try:
            return self._o.xml_desc(inactive=bool(flags & lv.VIR_DOMAIN_XML_INACTIVE))
        except VirtError as exc:
            raise_from(exc)

    # -- lifecycle ----------------------------------------------------------------

    def create(self) -> int:
        """Start the defined domain; 0."""
        try:
            self._o.start()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def createWithFlags(self, flags: int = 0) -> int:  # noqa: N802
        """Start the defined domain (``VIR_DOMAIN_START_PAUSED``: left paused); 0."""
        check_flags(flags, _START_FLAGS | lv.VIR_DOMAIN_START_AUTODESTROY, "virDomainCreateWithFlags", self)
        if flags & lv.VIR_DOMAIN_START_AUTODESTROY:
            _unsupported_flag("VIR_DOMAIN_START_AUTODESTROY in virDomainCreateWithFlags")
        try:
            if flags & lv.VIR_DOMAIN_START_FORCE_BOOT and self._o.has_managed_save_image():
                self._o.managed_save_remove()  # boot afresh, not from the managed save image
            self._o.start()
            if flags & lv.VIR_DOMAIN_START_PAUSED:
                self._o.suspend()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def _do(self, action: Callable[[], None]) -> int:
        try:
            action()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def destroy(self) -> int:
        """Stop the domain at once; 0."""
        return self._do(self._o.destroy)

    def destroyFlags(self, flags: int = 0) -> int:  # noqa: N802
        """Stop the domain (``VIR_DOMAIN_DESTROY_GRACEFUL``: the same here); 0."""
        check_flags(flags, lv.VIR_DOMAIN_DESTROY_GRACEFUL, "virDomainDestroyFlags", self)
        return self._do(self._o.destroy)

    def shutdown(self) -> int:
        """Ask the guest to power off; 0."""
        return self._do(self._o.shutdown)

    def shutdownFlags(self, flags: int = 0) -> int:  # noqa: N802
        """Ask the guest to power off, by the means the flags allow; 0."""
        check_flags(flags, _SHUTDOWN_FLAGS, "virDomainShutdownFlags", self)
        return self._do(self._o.shutdown)

    def reboot(self, flags: int = 0) -> int:
        """Ask the guest to reboot; 0."""
        check_flags(flags, _REBOOT_FLAGS, "virDomainReboot", self)
        return self._do(self._o.reboot)

    def isUpdated(self) -> int:  # noqa: N802
        """1 when the hypervisor flags the domain's definition as updated, else 0."""
        try:
            return int(self._o.is_updated())
        except VirtError as exc:
            raise_from(exc)

    def setMemoryStatsPeriod(self, period: int, flags: int = 0) -> int:  # noqa: N802
        """Set the balloon statistics period in seconds (``VIR_DOMAIN_AFFECT_LIVE``/``CONFIG``); 0."""
        check_flags(
            flags,
            lv.VIR_DOMAIN_AFFECT_LIVE | lv.VIR_DOMAIN_AFFECT_CONFIG,
            "virDomainSetMemoryStatsPeriod",
            self,
        )
        live, config = bool(flags & lv.VIR_DOMAIN_AFFECT_LIVE), bool(flags & lv.VIR_DOMAIN_AFFECT_CONFIG)
        return self._do(lambda: self._o.set_memory_stats_period(period, live=live, config=config))

    def reset(self, flags: int = 0) -> int:
        """Reset the guest at once, as the reset button would; 0."""
        check_flags(flags, 0, "virDomainReset", self)
        return self._do(self._o.reset)

    def injectNMI(self, flags: int = 0) -> int:  # noqa: N802
        """Send a non-maskable interrupt to the guest; 0."""
        check_flags(flags, 0, "virDomainInjectNMI", self)
        return self._do(self._o.inject_nmi)

    def suspend(self) -> int:
        """Pause the domain; 0."""
        return self._do(self._o.suspend)

    def resume(self) -> int:
        """Resume the paused domain; 0."""
        return self._do(self._o.resume)

    def undefine(self) -> int:
        """Remove the persistent definition; 0."""
        return self._do(self._o.undefine)

    def undefineFlags(self, flags: int = 0) -> int:  # noqa: N802
        """Remove the definition (``VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA``: and its snapshots' metadata)."""
        check_flags(flags, _UNDEFINE_FLAGS, "virDomainUndefineFlags", self)
        for remove, keep, what in (
            (lv.VIR_DOMAIN_UNDEFINE_NVRAM, lv.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM, "nvram"),
            (lv.VIR_DOMAIN_UNDEFINE_TPM, lv.VIR_DOMAIN_UNDEFINE_KEEP_TPM, "TPM"),
        ):
            if flags & remove and flags & keep:
                from virtcore.errors import OperationInvalidError

                raise_error(OperationInvalidError, f"cannot both keep and delete {what}")
        meta = bool(flags & lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        try:
            if flags & lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE and self._o.has_managed_save_image():
                self._o.managed_save_remove()
            self._o.undefine(snapshots_metadata=meta)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def save(self, to: str) -> int:
        """Save the domain's state to the file ``to`` and stop it; 0."""
        try:
            self._o.save(to)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def saveFlags(self, to: str, dxml: str | None = None, flags: int = 0) -> int:  # noqa: N802
        """:meth:`save` with libvirt's flags: ``VIR_DOMAIN_SAVE_RUNNING`` / ``_PAUSED`` record the
        state to restore into, ``_BYPASS_CACHE`` is taken. libvirt's test driver takes none (its
        ``testDomainSaveFlags`` refuses every flag), and so does this on a test connection."""
        check_exclusive(flags, *SAVE_EXCLUSIVE, "virDomainSaveFlags")
        check_flags(flags, save_flags_taken(self), "virDomainSaveFlags", self)
        if dxml is not None:
            _unsupported_flag("an alternative XML in virDomainSaveFlags")
        try:
            self._o.save(
                to,
                running=bool(flags & lv.VIR_DOMAIN_SAVE_RUNNING),
                paused=bool(flags & lv.VIR_DOMAIN_SAVE_PAUSED),
            )
        except VirtError as exc:
            raise_from(exc)
        return 0

    # -- resources ------------------------------------------------------------------

    def setMemory(self, memory: int) -> int:  # noqa: N802
        """Set the running domain's current memory, KiB (libvirt's ``VIR_DOMAIN_AFFECT_LIVE``); 0."""
        check_nonzero(memory, "memory", "virDomainSetMemory")
        self._affect_current(lv.VIR_DOMAIN_AFFECT_LIVE, "virDomainSetMemory")
        return self._set_memory(memory)

    def _set_memory(self, memory: int) -> int:
        try:
            self._o.set_memory(memory)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def setMaxMemory(self, memory: int) -> int:  # noqa: N802
        """Set the maximum memory, KiB; 0."""
        check_nonzero(memory, "memory", "virDomainSetMaxMemory")
        return self._set_max_memory(memory)

    def _set_max_memory(self, memory: int) -> int:
        try:
            self._o.set_max_memory(memory)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def _affect_current(self, flags: int, function: str) -> None:
        """Accept ``VIR_DOMAIN_AFFECT_LIVE``/``CONFIG`` when they name the definition virtcore changes.

        virtcore changes the current definition: the live one of a running domain (what
        ``AFFECT_LIVE`` asks), the persistent one of a shut-off domain (``AFFECT_CONFIG``).
        ``AFFECT_LIVE`` on a shut-off domain is libvirt's OPERATION_INVALID; the persistent
        definition of a running domain cannot be changed apart: ARGUMENT_UNSUPPORTED.
        """
        live, config = bool(flags & lv.VIR_DOMAIN_AFFECT_LIVE), bool(flags & lv.VIR_DOMAIN_AFFECT_CONFIG)
        if not (live or config):
            return
        self._no_config_of_transient(flags)
        try:
            active = self._o.is_active()
        except VirtError as exc:
            raise_from(exc)
        if live and not active:
            from virtcore.errors import OperationInvalidError

            raise_error(OperationInvalidError, "domain is not running")
        if config and active:
            _unsupported_flag(f"VIR_DOMAIN_AFFECT_CONFIG of a running domain in {function}")

    def _no_config_of_transient(self, flags: int) -> None:
        """``VIR_DOMAIN_AFFECT_CONFIG`` of a transient domain: libvirt's OPERATION_INVALID."""
        if not flags & lv.VIR_DOMAIN_AFFECT_CONFIG:
            return
        try:
            persistent = self._o.is_persistent()
        except VirtError as exc:
            raise_from(exc)
        if not persistent:
            from virtcore.errors import OperationInvalidError

            raise_error(OperationInvalidError, "transient domains do not have any persistent config")

    def setMemoryFlags(self, memory: int, flags: int = 0) -> int:  # noqa: N802
        """Set the current (``VIR_DOMAIN_MEM_MAXIMUM``: the maximum) memory, KiB; 0."""
        check_nonzero(memory, "memory", "virDomainSetMemoryFlags")
        check_flags(flags, _AFFECT | lv.VIR_DOMAIN_MEM_MAXIMUM, "virDomainSetMemoryFlags", self)
        self._affect_current(flags, "virDomainSetMemoryFlags")
        if flags & lv.VIR_DOMAIN_MEM_MAXIMUM:
            return self._set_max_memory(memory)
        return self._set_memory(memory)

    def setVcpus(self, nvcpus: int) -> int:  # noqa: N802
        """Set the running domain's number of virtual CPUs (libvirt's ``VIR_DOMAIN_AFFECT_LIVE``); 0."""
        check_nonzero(nvcpus, "nvcpus", "virDomainSetVcpus")
        self._affect_current(lv.VIR_DOMAIN_AFFECT_LIVE, "virDomainSetVcpus")
        return self._set_vcpus(nvcpus)

    def _set_vcpus(self, nvcpus: int) -> int:
        try:
            self._o.set_vcpus(nvcpus)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def setVcpusFlags(self, nvcpus: int, flags: int = 0) -> int:  # noqa: N802
        """Set the number of virtual CPUs of the definition ``flags`` name (see :meth:`setMemoryFlags`); 0."""
        # VIR_DOMAIN_VCPU_GUEST (the guest agent's vCPU hot-plug) is no flag virtcore's drivers know:
        # refused as libvirt 9.0's test driver refuses it (INVALID_ARG, unsupported flags)
        allowed = _AFFECT | lv.VIR_DOMAIN_VCPU_MAXIMUM | lv.VIR_DOMAIN_VCPU_HOTPLUGGABLE
        check_nonzero(nvcpus, "nvcpus", "virDomainSetVcpusFlags")
        check_flags(flags, allowed, "virDomainSetVcpusFlags", self)
        if flags & lv.VIR_DOMAIN_VCPU_MAXIMUM and flags & lv.VIR_DOMAIN_AFFECT_LIVE:
            from virtcore.errors import InvalidArgError

            raise_error(InvalidArgError, "maximum vcpu count of a live domain can't be modified")
        if flags & lv.VIR_DOMAIN_VCPU_MAXIMUM:
            _unsupported_flag("VIR_DOMAIN_VCPU_MAXIMUM in virDomainSetVcpusFlags")
        self._affect_current(flags, "virDomainSetVcpusFlags")
        return self._set_vcpus(nvcpus)

    # -- devices ----------------------------------------------------------------------

    def attachDevice(self, xml: str) -> int:  # noqa: N802
        """Attach the device described by ``xml``; 0."""
        try:
            self._o.attach_device(xml)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def attachDeviceFlags(self, xml: str, flags: int = 0) -> int:  # noqa: N802
        """:meth:`attachDevice` to the current definition (``VIR_DOMAIN_AFFECT_CONFIG`` alone is refused)."""
        check_flags(flags, _AFFECT, "virDomainAttachDeviceFlags", self)
        self._no_config_of_transient(flags)
        if flags & lv.VIR_DOMAIN_AFFECT_CONFIG:
            _unsupported_flag(
                "VIR_DOMAIN_AFFECT_CONFIG in virDomainAttachDeviceFlags (virtcore changes the current one)"
            )
        return self.attachDevice(xml)

    def detachDevice(self, xml: str) -> int:  # noqa: N802
        """Detach the device described by ``xml``; 0."""
        try:
            self._o.detach_device(xml)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def detachDeviceFlags(self, xml: str, flags: int = 0) -> int:  # noqa: N802
        """:meth:`detachDevice` from the current definition (``VIR_DOMAIN_AFFECT_CONFIG`` is refused)."""
        check_flags(flags, _AFFECT, "virDomainDetachDeviceFlags", self)
        self._no_config_of_transient(flags)
        if flags & lv.VIR_DOMAIN_AFFECT_CONFIG:
            _unsupported_flag(
                "VIR_DOMAIN_AFFECT_CONFIG in virDomainDetachDeviceFlags (virtcore changes the current one)"
            )
        return self.detachDevice(xml)

    def blockStats(self, path: str) -> tuple[int, int, int, int, int]:  # noqa: N802
        """``(rd_req, rd_bytes, wr_req, wr_bytes, errs)`` of the disk ``path``."""
        try:
            return tuple(self._o.block_stats(path))  # type: ignore[return-value]
        except VirtError as exc:
            raise_from(exc)

    def blockInfo(self, path: str, flags: int = 0) -> list[int]:  # noqa: N802
        """``[capacity, allocation, physical]`` in bytes of the disk ``path`` (target or source)."""
        check_flags(flags, 0, "virDomainGetBlockInfo", self)
        try:
            return list(self._o.block_info(path))
        except VirtError as exc:
            raise_from(exc)

    def interfaceStats(self, path: str) -> tuple[int, ...]:  # noqa: N802
        """``(rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop)``."""
        try:
            return tuple(self._o.interface_stats(path))
        except VirtError as exc:
            raise_from(exc)

    def interfaceAddresses(self, source: int, flags: int = 0) -> dict[str, dict[str, Any]]:  # noqa: N802
        """``{name: {"hwaddr": mac, "addrs": [{"type", "addr", "prefix"}]}}`` as ``source`` knows them."""
        check_flags(flags, 0, "virDomainInterfaceAddresses", self)
        if source not in _ADDRESS_SOURCES:
            from virtcore.errors import ArgumentUnsupportedError

            raise_error(ArgumentUnsupportedError, f"Unknown IP address data source {source}")
        try:
            ifaces = self._o.interface_addresses(_ADDRESS_SOURCES[source])
        except VirtError as exc:
            raise_from(exc)
        return {
            i.name: {
                "hwaddr": i.hwaddr,
                "addrs": [{"type": int(a.type), "addr": a.addr, "prefix": a.prefix} for a in i.addrs],
            }
            for i in ifaces
        }

    def _definition(self, flags: int = 0) -> Any:
        import xml.etree.ElementTree as ET  # only the few calls answered from the domain XML parse it

        try:
            return ET.fromstring(self._o.xml_desc(inactive=bool(flags & lv.VIR_DOMAIN_AFFECT_CONFIG)))
        except VirtError as exc:
            raise_from(exc)

    def OSType(self) -> str:  # noqa: N802
        """The guest's OS type (``hvm``, ``xen``...), from its definition."""
        os_type: str = self._definition().findtext("os/type", "")
        return os_type.strip()

    def maxVcpus(self) -> int:  # noqa: N802
        """The most virtual CPUs the domain can have."""
        return self.vcpusFlags(lv.VIR_DOMAIN_VCPU_MAXIMUM)

    def vcpusFlags(self, flags: int = 0) -> int:  # noqa: N802
        """Its virtual CPUs (``VIR_DOMAIN_VCPU_MAXIMUM``: the most it may have)."""
        check_flags(
            flags,
            _AFFECT | lv.VIR_DOMAIN_VCPU_MAXIMUM | lv.VIR_DOMAIN_VCPU_GUEST,
            "virDomainGetVcpusFlags",
            self,
        )
        if flags & lv.VIR_DOMAIN_VCPU_GUEST:
            _unsupported_flag("VIR_DOMAIN_VCPU_GUEST in virDomainGetVcpusFlags")
        vcpu = self._definition(flags).find("vcpu")
        if vcpu is None:
            return 1
        maximum = int((vcpu.text or "1").strip())
        if flags & lv.VIR_DOMAIN_VCPU_MAXIMUM:
            return maximum
        return int(vcpu.get("current", maximum))

    # -- scheduler, statistics, metadata --------------------------------------------------

    def schedulerType(self) -> tuple[str, int]:  # noqa: N802
        """``(scheduler, number of parameters)`` (``("fair", 1)``), as libvirt-python."""
        try:
            name, count = self._o.scheduler_type()
        except VirtError as exc:
            raise_from(exc)
        return (name, count)

    def schedulerParameters(self) -> dict[str, int]:  # noqa: N802
        """The CPU scheduler's parameters by name (``{"weight": 50}``)."""
        try:
            return dict(self._o.scheduler_parameters())
        except VirtError as exc:
            raise_from(exc)

    def schedulerParametersFlags(self, flags: int = 0) -> dict[str, int]:  # noqa: N802
        """:meth:`schedulerParameters` (``VIR_DOMAIN_AFFECT_*``: the current definition here)."""
        check_flags(
            flags, _AFFECT | lv.VIR_TYPED_PARAM_STRING_OKAY, "virDomainGetSchedulerParametersFlags", self
        )
        return self.schedulerParameters()

    def setSchedulerParameters(self, params: dict[str, int]) -> int:  # noqa: N802
        """Change some scheduler parameters; 0 (an unknown name: ``LookupError``, as libvirt-python)."""
        try:
            _only_known(params, self._o.scheduler_parameters())
            self._o.set_scheduler_parameters(params)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def setSchedulerParametersFlags(self, params: dict[str, int], flags: int = 0) -> int:  # noqa: N802
        """:meth:`setSchedulerParameters` (``VIR_DOMAIN_AFFECT_*``: the current definition here); 0."""
        check_flags(flags, _AFFECT, "virDomainSetSchedulerParametersFlags", self)
        return self.setSchedulerParameters(params)

    def memoryParameters(self, flags: int = 0) -> dict[str, int]:  # noqa: N802
        """The memory tunables (``hard_limit``, ``soft_limit``, ``swap_hard_limit``: KiB)."""
        check_flags(flags, _AFFECT | lv.VIR_TYPED_PARAM_STRING_OKAY, "virDomainGetMemoryParameters", self)
        try:
            return dict(self._o.memory_parameters())
        except VirtError as exc:
            raise_from(exc)

    def setMemoryParameters(self, params: dict[str, int], flags: int = 0) -> int:  # noqa: N802
        """Change some memory tunables; 0 (an unknown name: ``LookupError``, as libvirt-python)."""
        check_flags(flags, _AFFECT, "virDomainSetMemoryParameters", self)
        try:
            _only_known(params, self._o.memory_parameters())
            self._o.set_memory_parameters(params)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def memoryStats(self) -> dict[str, int]:  # noqa: N802
        """The running guest's memory statistics by libvirt's names (``actual``, ``rss``...: KiB)."""
        try:
            return dict(self._o.memory_stats())
        except VirtError as exc:
            raise_from(exc)

    def vcpus(self) -> tuple[list[tuple[int, ...]], list[tuple[bool, ...]]]:
        """``([(number, state, cpu time ns, host cpu)...], [affinity per vCPU...])``."""
        try:
            info, affinity = self._o.vcpus()
        except VirtError as exc:
            raise_from(exc)
        maps = [tuple(a) for a in affinity]
        try:
            # libvirt-python sizes each affinity map by the node's CPU map (virNodeGetCPUMap) when the
            # driver has one; otherwise by the driver's own count, as here.
            width = len(self._conn._conn.cpu_map())
        except NoSupportError:
            width = None
        except VirtError as exc:
            raise_from(exc)
        if width is not None:
            maps = [a[:width] + (False,) * (width - len(a)) for a in maps]
        return [tuple(int(x) for x in v) for v in info], maps

    def getCPUStats(self, total: bool, flags: int = 0) -> list[dict[str, int]]:  # noqa: N802
        """CPU time, ns: ``[totals]`` or, ``total`` false, one dictionary per host CPU."""
        check_flags(flags, lv.VIR_TYPED_PARAM_STRING_OKAY, "virDomainGetCPUStats", self)
        try:
            return [dict(d) for d in self._o.cpu_stats(bool(total))]
        except VirtError as exc:
            raise_from(exc)

    def hostname(self, flags: int = 0) -> str:
        """The guest's host name, as the guest reports it."""
        allowed = lv.VIR_DOMAIN_GET_HOSTNAME_LEASE | lv.VIR_DOMAIN_GET_HOSTNAME_AGENT
        check_flags(flags, allowed, "virDomainGetHostname", self)
        try:
            return self._o.hostname()
        except VirtError as exc:
            raise_from(exc)

    def metadata(self, type: int, uri: str | None, flags: int = 0) -> str:  # noqa: A002 - libvirt's name
        """The description, title, or namespace ``uri``'s element (``VIR_DOMAIN_METADATA_*``)."""
        check_flags(flags, _AFFECT, "virDomainGetMetadata", self)
        live, config = bool(flags & lv.VIR_DOMAIN_AFFECT_LIVE), bool(flags & lv.VIR_DOMAIN_AFFECT_CONFIG)
        try:
            return self._o.metadata(type, uri, live=live, config=config)
        except VirtError as exc:
            raise_from(exc)

    def setMetadata(  # noqa: N802
        self,
        type: int,  # noqa: A002 - libvirt's name
        metadata: str | None,
        key: str | None,
        uri: str | None,
        flags: int = 0,
    ) -> int:
        """Set (``metadata`` None: remove) the description, title, or an application's element; 0."""
        check_flags(flags, _AFFECT, "virDomainSetMetadata", self)
        live, config = bool(flags & lv.VIR_DOMAIN_AFFECT_LIVE), bool(flags & lv.VIR_DOMAIN_AFFECT_CONFIG)
        try:
            self._o.set_metadata(type, metadata, key, uri, live=live, config=config)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def screenshot(self, stream: virStream, screen: int, flags: int = 0) -> str:
        """Take a picture of display ``screen``: its bytes come through ``stream``; its MIME type."""
        check_flags(flags, 0, "virDomainScreenshot", self)
        mime: list[str] = []
        stream._start_source(lambda target: mime.append(self._o.screenshot(target, screen)))
        return mime[0]

    # -- managed save -------------------------------------------------------------------

    def managedSave(self, flags: int = 0) -> int:  # noqa: N802
        """Save the domain's state where the next start restores it from, and stop it; 0."""
        check_flags(flags, _SAVE_FLAGS, "virDomainManagedSave", self)
        if flags & (lv.VIR_DOMAIN_SAVE_RUNNING | lv.VIR_DOMAIN_SAVE_PAUSED):
            _unsupported_flag("VIR_DOMAIN_SAVE_RUNNING/PAUSED in virDomainManagedSave")
        return self._do(self._o.managed_save)

    def hasManagedSaveImage(self, flags: int = 0) -> int:  # noqa: N802
        """1 when a managed save image waits for the next start."""
        check_flags(flags, 0, "virDomainHasManagedSaveImage", self)
        try:
            return int(self._o.has_managed_save_image())
        except VirtError as exc:
            raise_from(exc)

    def managedSaveRemove(self, flags: int = 0) -> int:  # noqa: N802
        """Drop the managed save image; 0."""
        check_flags(flags, 0, "virDomainManagedSaveRemove", self)
        return self._do(self._o.managed_save_remove)

    # -- the guest agent (virtcore's DomainAgent) -------------------------------------

    def fsFreeze(self, mountpoints: list[str] | None = None, flags: int = 0) -> int:  # noqa: N802
        """Freeze the guest's file systems (``mountpoints``, default all); how many."""
        check_flags(flags, 0, "virDomainFSFreeze", self)
        try:
            return self._o.agent.fs_freeze(mountpoints)
        except VirtError as exc:
            raise_from(exc)

    def fsThaw(self, mountpoints: list[str] | None = None, flags: int = 0) -> int:  # noqa: N802
        """Thaw the frozen file systems; how many."""
        check_flags(flags, 0, "virDomainFSThaw", self)
        try:
            return self._o.agent.fs_thaw(mountpoints)
        except VirtError as exc:
            raise_from(exc)

    def getTime(self, flags: int = 0) -> dict[str, int]:  # noqa: N802
        """The guest's clock: ``{"seconds": s, "nseconds": ns}``."""
        check_flags(flags, 0, "virDomainGetTime", self)
        try:
            seconds, nseconds = self._o.agent.get_time()
        except VirtError as exc:
            raise_from(exc)
        return {"seconds": seconds, "nseconds": nseconds}

    def setTime(self, time: dict[str, int] | None = None, flags: int = 0) -> int:  # noqa: N802
        """Set the guest's clock to ``{"seconds", "nseconds"}`` (``VIR_DOMAIN_TIME_SYNC``: to its RTC); 0."""
        check_flags(flags, lv.VIR_DOMAIN_TIME_SYNC, "virDomainSetTime", self)
        sync = bool(flags & lv.VIR_DOMAIN_TIME_SYNC)
        seconds = None if time is None else time.get("seconds")
        nseconds = 0 if time is None else time.get("nseconds", 0)
        try:
            self._o.agent.set_time(seconds, nseconds, sync=sync)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def setUserPassword(self, user: str, password: str, flags: int = 0) -> int:  # noqa: N802
        """Set ``user``'s password in the guest (``VIR_DOMAIN_PASSWORD_ENCRYPTED``: already crypted); 0."""
        check_flags(flags, lv.VIR_DOMAIN_PASSWORD_ENCRYPTED, "virDomainSetUserPassword", self)
        try:
            self._o.agent.set_user_password(
                user, password, crypted=bool(flags & lv.VIR_DOMAIN_PASSWORD_ENCRYPTED)
            )
        except VirtError as exc:
            raise_from(exc)
        return 0

    def guestInfo(self, types: int = 0, flags: int = 0) -> dict[str, Any]:  # noqa: N802
        """What the agent tells about the guest, with libvirt's keys (``os.id``, ``hostname``...)."""
        check_flags(flags, 0, "virDomainGetGuestInfo", self)
        try:
            return dict(self._o.agent.guest_info(types))
        except VirtError as exc:
            raise_from(exc)

    # -- checkpoints --------------------------------------------------------------------

    def checkpointCreateXML(self, xmlDesc: str, flags: int = 0) -> virDomainCheckpoint:  # noqa: N802, N803
        """Take a checkpoint of the running domain from ``<domaincheckpoint>`` XML."""
        check_flags(flags, 0, "virDomainCheckpointCreateXML", self)
        try:
            return virDomainCheckpoint(self, self._o.create_checkpoint(xmlDesc))
        except VirtError as exc:
            raise_from(exc)

    def checkpointLookupByName(self, name: str, flags: int = 0) -> virDomainCheckpoint:  # noqa: N802
        """The checkpoint called ``name``."""
        check_flags(flags, 0, "virDomainCheckpointLookupByName", self)
        try:
            return virDomainCheckpoint(self, self._o.lookup_checkpoint(name))
        except VirtError as exc:
            raise_from(exc)

    def listAllCheckpoints(self, flags: int = 0) -> list[virDomainCheckpoint]:  # noqa: N802
        """The domain's checkpoints, oldest first."""
        check_flags(flags, lv.VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL, "virDomainListAllCheckpoints", self)
        try:
            return [virDomainCheckpoint(self, c) for c in self._o.list_checkpoints()]
        except VirtError as exc:
            raise_from(exc)

    # -- snapshots ----------------------------------------------------------------------

    def snapshotCreateXML(self, xmlDesc: str, flags: int = 0) -> virDomainSnapshot:  # noqa: N802, N803
        """Take a snapshot described by ``xmlDesc`` (``VIR_DOMAIN_SNAPSHOT_CREATE_*``)."""
        kwargs = snapshot_create_kwargs(flags, self)
        try:
            return virDomainSnapshot(self, self._o.create_snapshot(xmlDesc, **kwargs))
        except VirtError as exc:
            raise_from(exc)

    def listAllSnapshots(self, flags: int = 0) -> list[virDomainSnapshot]:  # noqa: N802
        """The domain's snapshots, filtered by ``VIR_DOMAIN_SNAPSHOT_LIST_*``."""
        kwargs = snapshot_list_kwargs(flags, "virDomainListAllSnapshots", roots=True, owner=self)
        try:
            return [virDomainSnapshot(self, s) for s in self._o.list_snapshots(**kwargs)]
        except VirtError as exc:
            raise_from(exc)

    def snapshotListNames(self, flags: int = 0) -> list[str]:  # noqa: N802
        """The names of the domain's snapshots, filtered by ``VIR_DOMAIN_SNAPSHOT_LIST_*``."""
        kwargs = snapshot_list_kwargs(flags, "virDomainSnapshotListNames", roots=True, owner=self)
        try:
            return [s.name for s in self._o.list_snapshots(**kwargs)]
        except VirtError as exc:
            raise_from(exc)

    def snapshotNum(self, flags: int = 0) -> int:  # noqa: N802
        """How many snapshots :meth:`snapshotListNames` would name."""
        kwargs = snapshot_list_kwargs(flags, "virDomainSnapshotNum", roots=True, owner=self)
        try:
            return len(self._o.list_snapshots(**kwargs))
        except VirtError as exc:
            raise_from(exc)

    def snapshotLookupByName(self, name: str, flags: int = 0) -> virDomainSnapshot:  # noqa: N802
        """The snapshot called ``name``."""
        check_flags(flags, 0, "virDomainSnapshotLookupByName", self)
        try:
            return virDomainSnapshot(self, self._o.lookup_snapshot(name))
        except VirtError as exc:
            raise_from(exc)

    def snapshotCurrent(self, flags: int = 0) -> virDomainSnapshot:  # noqa: N802
        """The current snapshot."""
        check_flags(flags, 0, "virDomainSnapshotCurrent", self)
        try:
            return virDomainSnapshot(self, self._o.current_snapshot())
        except VirtError as exc:
            raise_from(exc)

    def hasCurrentSnapshot(self, flags: int = 0) -> int:  # noqa: N802
        """1 when the domain has a current snapshot."""
        check_flags(flags, 0, "virDomainHasCurrentSnapshot", self)
        try:
            return int(self._o.has_current_snapshot())
        except VirtError as exc:
            raise_from(exc)

    def revertToSnapshot(self, snap: virDomainSnapshot, flags: int = 0) -> int:  # noqa: N802
        """Bring the domain back to ``snap`` (``VIR_DOMAIN_SNAPSHOT_REVERT_*``); 0."""
        check_flags(flags, _REVERT_FLAGS, "virDomainRevertToSnapshot", self)
        try:
            self._o.revert_to_snapshot(
                snap._o,
                running=bool(flags & lv.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING),
                paused=bool(flags & lv.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED),
                force=bool(flags & lv.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE),
            )
        except VirtError as exc:
            raise_from(exc)
        return 0


complete(virDomain)

_LIST_STATE = (
    lv.VIR_CONNECT_LIST_DOMAINS_RUNNING
    | lv.VIR_CONNECT_LIST_DOMAINS_PAUSED
    | lv.VIR_CONNECT_LIST_DOMAINS_SHUTOFF
    | lv.VIR_CONNECT_LIST_DOMAINS_OTHER
)
_LIST_ALL = (
    lv.VIR_CONNECT_LIST_DOMAINS_ACTIVE
    | lv.VIR_CONNECT_LIST_DOMAINS_INACTIVE
    | lv.VIR_CONNECT_LIST_DOMAINS_PERSISTENT
    | lv.VIR_CONNECT_LIST_DOMAINS_TRANSIENT
    | _LIST_STATE
    | lv.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE
    | lv.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE
    | lv.VIR_CONNECT_LIST_DOMAINS_AUTOSTART
    | lv.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART
    | lv.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT
    | lv.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT
    | lv.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT
    | lv.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT
)


def list_filter(flags: int, owner: object) -> Callable[[virtcore.Domain], bool]:
    """The test ``virConnectListAllDomains`` on ``owner`` (a ``virConnect``) applies for ``flags``."""
    check_flags(flags, _LIST_ALL, "virConnectListAllDomains", owner)

    def keep(d: virtcore.Domain) -> bool:
        if not passes(
            flags, lv.VIR_CONNECT_LIST_DOMAINS_ACTIVE, lv.VIR_CONNECT_LIST_DOMAINS_INACTIVE, d.is_active
        ):
            return False
        persistent = lv.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, lv.VIR_CONNECT_LIST_DOMAINS_TRANSIENT
        if not passes(flags, *persistent, d.is_persistent):
            return False
        if flags & _LIST_STATE:
            state = d.state()[0]
            bit = {
                lv.VIR_DOMAIN_RUNNING: lv.VIR_CONNECT_LIST_DOMAINS_RUNNING,
                lv.VIR_DOMAIN_PAUSED: lv.VIR_CONNECT_LIST_DOMAINS_PAUSED,
                lv.VIR_DOMAIN_SHUTOFF: lv.VIR_CONNECT_LIST_DOMAINS_SHUTOFF,
            }.get(int(state), lv.VIR_CONNECT_LIST_DOMAINS_OTHER)
            if not flags & bit:
                return False
        autostart = lv.VIR_CONNECT_LIST_DOMAINS_AUTOSTART, lv.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART
        if not passes(flags, *autostart, lambda: d.autostart):
            return False
        snap = lv.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, lv.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT
        if not passes(flags, *snap, lambda: bool(d.list_snapshots())):
            return False
        managed = lv.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, lv.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE
        if not passes(flags, *managed, d.has_managed_save_image):
            return False
        checkpoints = lv.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT, lv.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT
        return passes(flags, *checkpoints, lambda: bool(d.list_checkpoints()))

    return keep
