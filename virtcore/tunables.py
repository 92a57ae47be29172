"""Domain tunables: block I/O weights, NUMA memory policy and CPU pinning, over their hooks.

libvirt keeps these in the domain definition (``<blkiotune>``, ``<numatune>``,
``<cputune><vcpupin>``/``<emulatorpin>``) and reads or changes *one* definition,
picked as its ``VIR_DOMAIN_AFFECT_*`` flags say: ``live`` the running one, ``config``
the persistent one, neither the current one (running if active, else persistent);
both at once is ``INVALID_ARG``. Typed parameters go by libvirt's names and types
(``weight`` an unsigned int, ``device_weight`` a ``"path,value,..."`` string...);
an unknown name is ``ARGUMENT_UNSUPPORTED``, a wrong type ``INVALID_ARG``, as
libvirt's ``virTypedParamsValidate``. A CPU map is one flag per host CPU.

::

    dom.set_blkio_parameters({"weight": 500}, config=True)
    dom.numa_parameters()  # {"numa_mode": 0, "numa_nodeset": ""}
    dom.pin_vcpu(0, (False, True)); dom.vcpu_pin_info()[0][:2]  # (False, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from virtcore import errors, hookspecs, limits
from virtcore._dispatch import declined
from virtcore.errors import ArgumentUnsupportedError, InvalidArgError

if TYPE_CHECKING:
    from virtcore.connection import Connection

__all__ = [
    "DomainTunablesAPI",
    "BLKIO_PARAMETERS",
    "NUMA_PARAMETERS",
    "NUMA_MODES",
    "BLOCK_IOTUNE_PARAMETERS",
    "IOTHREAD_PARAMETERS",
    "INTERFACE_PARAMETERS",
    "parse_bitmap",
    "format_bitmap",
    "typed_params",
    "one_definition",
    "cpumap_arg",
]

Kind = Literal["uint", "int", "ullong", "string"]

#: ``virDomainSetBlkioParameters``' parameters and their typed-parameter types.
BLKIO_PARAMETERS: dict[str, Kind] = {
    "weight": "uint",
    "device_weight": "string",
    "device_read_iops_sec": "string",
    "device_write_iops_sec": "string",
    "device_read_bytes_sec": "string",
    "device_write_bytes_sec": "string",
}
#: ``virDomainSetNumaParameters``' parameters and their typed-parameter types.
NUMA_PARAMETERS: dict[str, Kind] = {"numa_mode": "int", "numa_nodeset": "string"}
#: ``virDomainSetBlockIoTune``'s parameters (the order libvirt gives them in) and their types.
_LIMITS = (
    "total_bytes_sec read_bytes_sec write_bytes_sec total_iops_sec read_iops_sec write_iops_sec"
    " total_bytes_sec_max read_bytes_sec_max write_bytes_sec_max"
    " total_iops_sec_max read_iops_sec_max write_iops_sec_max size_iops_sec group_name"
    " total_bytes_sec_max_length read_bytes_sec_max_length write_bytes_sec_max_length"
    " total_iops_sec_max_length read_iops_sec_max_length write_iops_sec_max_length"
)
BLOCK_IOTUNE_PARAMETERS: dict[str, Kind] = {
    name: "string" if name == "group_name" else "ullong" for name in _LIMITS.split()
}
#: ``virDomainSetIOThreadParams``' parameters (as libvirt 9.0's test driver takes them) and their types.
IOTHREAD_PARAMETERS: dict[str, Kind] = {"poll_max_ns": "ullong", "poll_grow": "uint", "poll_shrink": "uint"}
#: ``virDomainSetInterfaceParameters``' parameters (``<bandwidth>``: KiB/s, bursts KiB), all unsigned ints.
INTERFACE_PARAMETERS: dict[str, Kind] = dict.fromkeys(
    (
        "inbound.average",
        "inbound.peak",
        "inbound.burst",
        "inbound.floor",
        "outbound.average",
        "outbound.peak",
        "outbound.burst",
    ),
    "uint",
)
#: ``virDomainNumatuneMemMode``'s XML names, in value order (``numa_mode`` 0 is ``strict``).
NUMA_MODES = ("strict", "preferred", "interleave", "restrictive")

_RANGES = {"uint": (0, limits.UINT_MAX), "int": (-(2**31), 2**31 - 1), "ullong": (0, limits.ULLONG_MAX)}


def typed_params(params: object, schema: Mapping[str, Kind]) -> dict[str, int | str]:
    """``params`` checked against ``schema`` as libvirt's ``virTypedParamsValidate`` does.

    :raises ArgumentUnsupportedError: a name the schema lacks.
    :raises InvalidArgError: not a mapping, or a value of the wrong type or out of its range.
    """
    if not isinstance(params, Mapping):
        raise InvalidArgError(f"typed parameters must be a mapping, not {type(params).__name__}")
    checked: dict[str, int | str] = {}
    for name, value in params.items():
        kind = schema.get(name)
        if kind is None:
            raise ArgumentUnsupportedError(
                f"parameter '{name}' not supported", domain=errors.ErrorDomain.NONE
            )
        if kind == "string":
            if not isinstance(value, str) or "\0" in value:
                raise InvalidArgError(
                    f"invalid type for parameter '{name}', expected 'string': {value!r}",
                    domain=errors.ErrorDomain.NONE,
                )
        else:
            lo, hi = _RANGES[kind]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InvalidArgError(
                    f"invalid type for parameter '{name}', expected '{kind}': {value!r}",
                    domain=errors.ErrorDomain.NONE,
                )
        checked[name] = value
    return checked


def one_definition(live: bool, config: bool) -> None:
    """Refuse ``live`` and ``config`` together, as libvirt's ``virDomainObjGetOneDef``."""
    if live and config:
        raise InvalidArgError(
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
            domain=errors.ErrorDomain.DOMAIN,
        )


def cpumap_arg(cpumap: object, what: str) -> tuple[bool, ...]:
    """A CPU map argument (a sequence of flags, one per host CPU) as a tuple of bools."""
    if isinstance(cpumap, (str, bytes)) or not isinstance(cpumap, Sequence):
        raise InvalidArgError(f"{what}: a CPU map is a sequence of flags, not {type(cpumap).__name__}")
    if len(cpumap) > limits.MAX_CPUMAP_CPUS:
        raise InvalidArgError(f"{what}: a CPU map of {len(cpumap)} CPUs is too long")
    return tuple(bool(x) for x in cpumap)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_bitmap(text: str) -> set[int] | None:
    """libvirt's bitmap syntax (``0-3,^2,5``: CPU or node sets) as a set; None when it does not parse.

    Blank text is the empty set; a number must stay below :data:`limits.MAX_CPUMAP_CPUS`.
    """
    yes: set[int] = set()
    no: set[int] = set()
    if not text.strip():
        return yes
    for raw in text.split(","):
        part = raw.strip()
        negated = part.startswith("^")
        lo_text, dash, hi_text = part.removeprefix("^").partition("-")
        if (
            not lo_text.isdigit()
            or not lo_text.isascii()
            or (dash and not (hi_text.isdigit() and hi_text.isascii()))
        ):
            return None
        lo = int(lo_text)
        hi = int(hi_text) if dash else lo
        if hi < lo or hi >= limits.MAX_CPUMAP_CPUS or (negated and dash):
            return None
        (no if negated else yes).update(range(lo, hi + 1))
    return yes - no


def format_bitmap(bits: Iterable[int]) -> str:
    """A set of numbers as libvirt formats a bitmap: ranges where they run (``0-2,5``)."""
    out: list[str] = []
    run: list[int] = []
    for b in sorted(set(bits)):
        if run and b == run[-1] + 1:
            run.append(b)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [b]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def _disk_arg(disk: object) -> str:
    if not isinstance(disk, str) or not disk or "\0" in disk:
        raise InvalidArgError(f"disk must be a target name or a source path, not {disk!r}")
    return disk


def _device_arg(device: object) -> str:
    if not isinstance(device, str) or not device or "\0" in device:
        raise InvalidArgError(f"interface must be a MAC address or a target name, not {device!r}")
    return device


def _iothread_id_arg(iothread_id: object) -> None:
    if (
        isinstance(iothread_id, bool)
        or not isinstance(iothread_id, int)
        or not 0 <= iothread_id <= limits.UINT_MAX
    ):
        raise InvalidArgError(f"iothread_id must be an unsigned int: {iothread_id!r}")


class DomainTunablesAPI:
    """The tunables half of :class:`virtcore.Domain` (its methods, mixed in)."""

    __slots__ = ()
    _conn: Connection
    uuid: str

    def _get(self, spec: Callable[..., object], live: bool, config: bool) -> Any:
        one_definition(live, config)
        r = self._conn._ops[spec](uuid=self.uuid, live=live, config=config)
        return r if r is not None else declined(spec)

    def _set(self, spec: Callable[..., object], **kwargs: object) -> None:
        if self._conn._ops[spec](uuid=self.uuid, **kwargs) is None:
            declined(spec)

    def blkio_parameters(self, *, live: bool = False, config: bool = False) -> dict[str, int | str]:
        """The block I/O tunables (``weight``, ``device_weight``...: see :data:`BLKIO_PARAMETERS`)."""
        r = self._get(hookspecs.virt_domain_get_blkio_parameters, live, config)
        return dict(r)

    def set_blkio_parameters(
        self, params: Mapping[str, int | str], *, live: bool = False, config: bool = False
    ) -> None:
        """Change some block I/O tunables; a device string (``"/dev/sda,100"``) merges by path.

        :raises ArgumentUnsupportedError: a name not in :data:`BLKIO_PARAMETERS`.
        :raises InvalidArgError: a wrong type, a device string that does not parse.
        """
        checked = typed_params(params, BLKIO_PARAMETERS)
        one_definition(live, config)
        self._set(hookspecs.virt_domain_set_blkio_parameters, params=checked, live=live, config=config)

    def numa_parameters(self, *, live: bool = False, config: bool = False) -> dict[str, int | str]:
        """The NUMA memory policy: ``numa_mode`` (``virDomainNumatuneMemMode``) and ``numa_nodeset``."""
        r = self._get(hookspecs.virt_domain_get_numa_parameters, live, config)
        return dict(r)

    def set_numa_parameters(
        self, params: Mapping[str, int | str], *, live: bool = False, config: bool = False
    ) -> None:
        """Change the NUMA memory mode and/or node set.

        :raises ArgumentUnsupportedError: a name not in :data:`NUMA_PARAMETERS`.
        :raises InvalidArgError: an unknown mode, a node set that does not parse.
        :raises OperationInvalidError: an empty node set, a new mode for a running domain.
        """
        checked = typed_params(params, NUMA_PARAMETERS)
        one_definition(live, config)
        self._set(hookspecs.virt_domain_set_numa_parameters, params=checked, live=live, config=config)

    def block_io_tune(self, disk: str, *, live: bool = False, config: bool = False) -> dict[str, int | str]:
        """One disk's I/O throttling (target ``vda`` or source path): see :data:`BLOCK_IOTUNE_PARAMETERS`."""
        one_definition(live, config)
        spec = hookspecs.virt_domain_get_block_io_tune
        r = self._conn._ops[spec](uuid=self.uuid, disk=_disk_arg(disk), live=live, config=config)
        return dict(r) if r is not None else declined(spec)

    def set_block_io_tune(
        self, disk: str, params: Mapping[str, int | str], *, live: bool = False, config: bool = False
    ) -> None:
        """Change some of one disk's I/O throttling.

        :raises ArgumentUnsupportedError: a name not in :data:`BLOCK_IOTUNE_PARAMETERS`.
        :raises InvalidArgError: a wrong type, no such disk, limits that contradict each other.
        """
        checked = typed_params(params, BLOCK_IOTUNE_PARAMETERS)
        one_definition(live, config)
        spec = hookspecs.virt_domain_set_block_io_tune
        self._set(spec, disk=_disk_arg(disk), params=checked, live=live, config=config)

    def iothread_info(
        self, *, live: bool = False, config: bool = False
    ) -> list[tuple[int, tuple[bool, ...]]]:
        """``(iothread id, one flag per host CPU it may run on)`` per I/O thread."""
        r = self._get(hookspecs.virt_domain_get_io_thread_info, live, config)
        return [(int(i), tuple(m)) for i, m in r]

    def add_iothread(self, iothread_id: int, *, live: bool = False, config: bool = False) -> None:
        """Add I/O thread ``iothread_id`` (> 0).

        :raises InvalidArgError: 0 (the driver says so), or an I/O thread of that id exists.
        """
        self._iothread_call(hookspecs.virt_domain_add_io_thread, iothread_id, live=live, config=config)

    def del_iothread(self, iothread_id: int, *, live: bool = False, config: bool = False) -> None:
        """Remove I/O thread ``iothread_id``.

        :raises InvalidArgError: 0, no I/O thread of that id, or a disk or controller uses it.
        """
        self._iothread_call(hookspecs.virt_domain_del_io_thread, iothread_id, live=live, config=config)

    def pin_iothread(
        self, iothread_id: int, cpumap: Sequence[bool], *, live: bool = False, config: bool = False
    ) -> None:
        """Pin I/O thread ``iothread_id`` to the host CPUs set in ``cpumap``.

        :raises InvalidArgError: ``cpumap`` sets no CPU; no I/O thread of that id.
        """
        cpus = cpumap_arg(cpumap, "pin_iothread")
        self._iothread_call(
            hookspecs.virt_domain_pin_io_thread,
            iothread_id,
            cpumap=cpus,
            live=live,
            config=config,
        )

    def set_iothread_params(self, iothread_id: int, params: Mapping[str, int], *, live: bool = False) -> None:
        """Change a running I/O thread's polling: see :data:`IOTHREAD_PARAMETERS`.

        :raises InvalidArgError: 0, or no I/O thread of that id in the running domain.
        """
        checked = typed_params(params, IOTHREAD_PARAMETERS)
        spec = hookspecs.virt_domain_set_io_thread_params
        _iothread_id_arg(iothread_id)
        self._set(spec, iothread_id=iothread_id, params=checked, live=live)

    def iothread_stats(self) -> list[tuple[int, dict[str, int]]]:
        """The running domain's I/O threads' polling (``poll-max-ns``...), as bulk statistics give it.

        :raises OperationInvalidError: the domain is not running.
        """
        spec = hookspecs.virt_domain_get_io_thread_stats
        r = self._conn._ops[spec](uuid=self.uuid)
        return [(int(i), dict(v)) for i, v in r] if r is not None else declined(spec)

    def _iothread_call(self, spec: Callable[..., object], iothread_id: int, **kwargs: Any) -> None:
        _iothread_id_arg(iothread_id)
        one_definition(bool(kwargs.get("live")), bool(kwargs.get("config")))
        self._set(spec, iothread_id=iothread_id, **kwargs)

    def interface_parameters(
        self, device: str, *, live: bool = False, config: bool = False
    ) -> dict[str, int]:
        """One interface's rate limits (by MAC address or target name): :data:`INTERFACE_PARAMETERS`."""
        one_definition(live, config)
        spec = hookspecs.virt_domain_get_interface_parameters
        r = self._conn._ops[spec](uuid=self.uuid, device=_device_arg(device), live=live, config=config)
        return dict(r) if r is not None else declined(spec)

    def set_interface_parameters(
        self, device: str, params: Mapping[str, int], *, live: bool = False, config: bool = False
    ) -> None:
        """Change one interface's rate limits; a direction's ``average`` of 0 clears it.

        :raises ArgumentUnsupportedError: a name not in :data:`INTERFACE_PARAMETERS`.
        :raises InvalidArgError: a wrong type, or no such interface.
        """
        checked = typed_params(params, INTERFACE_PARAMETERS)
        one_definition(live, config)
        spec = hookspecs.virt_domain_set_interface_parameters
        self._set(spec, device=_device_arg(device), params=checked, live=live, config=config)

    def vcpu_pin_info(self, *, live: bool = False, config: bool = False) -> list[tuple[bool, ...]]:
        """Per vCPU (up to the maximum), one flag per host CPU it may run on."""
        r = self._get(hookspecs.virt_domain_get_vcpu_pin_info, live, config)
        return list(r)

    def pin_vcpu(self, vcpu: int, cpumap: Sequence[bool]) -> None:
        """Pin online vCPU ``vcpu`` of the running domain to the host CPUs set in ``cpumap``.

        :raises OperationInvalidError: the domain is not running.
        :raises InvalidArgError: ``vcpu`` is not an online vCPU, ``cpumap`` is no CPU map.
        """
        if isinstance(vcpu, bool) or not isinstance(vcpu, int) or not 0 <= vcpu <= limits.UINT_MAX:
            raise InvalidArgError(f"vcpu to pin must be an unsigned int: {vcpu!r}")
        cpus = cpumap_arg(cpumap, "pin_vcpu")
        self._set(hookspecs.virt_domain_pin_vcpu, vcpu=vcpu, cpumap=cpus)

    def emulator_pin_info(self, *, live: bool = False, config: bool = False) -> tuple[bool, ...]:
        """One flag per host CPU the emulator threads may run on."""
        r = self._get(hookspecs.virt_domain_get_emulator_pin_info, live, config)
        return tuple(r)

    def pin_emulator(self, cpumap: Sequence[bool], *, live: bool = False, config: bool = False) -> None:
        """Pin the emulator threads to the host CPUs set in ``cpumap``.

        :raises InvalidArgError: ``cpumap`` sets no CPU, or is no CPU map.
        """
        cpus = cpumap_arg(cpumap, "pin_emulator")
        one_definition(live, config)
        self._set(hookspecs.virt_domain_pin_emulator, cpumap=cpus, live=live, config=config)
