"""A test domain's tunables, kept in its definition's XML as libvirt 9.0's test driver keeps them.

* block I/O (``<blkiotune>``): ``weight`` and per-device ``path,value`` strings that
  merge into the devices already there by path (``testDomainSetBlkioParameters``);
* NUMA (``<numatune><memory mode nodeset placement>``): mode and node set, with
  libvirt's placement rules (``virDomainNumatuneSet``);
* disk I/O throttling (``<disk><iotune>``): set as ``testDomainSetBlockIoTune`` checks it
  (a total limit not with a read or write one, no limit above its burst maximum);
* I/O threads (``<iothreads>``, ``<iothreadids>``, ``<cputune><iothreadpin>``), and their
  polling, which libvirt's test driver keeps beside the definition (``TestDomain.iothreads``:
  filled from a node file's domains, grown and shrunk by add/delete whatever the flags);
* an interface's rate limits (``<interface><bandwidth>``), set direction by direction as
  ``testDomainSetInterfaceParameters`` does;
* pinning (``<cputune><vcpupin>``, ``<emulatorpin>``): a vCPU of a running domain is
  pinned in its live definition only (``testDomainPinVcpuFlags`` takes no flags); the
  emulator in the one definition the flags pick.

Every call reads or changes one definition: ``live`` the running one (a shut-off
domain: ``OPERATION_INVALID``), ``config`` the persistent one (a transient domain:
``OPERATION_INVALID``), neither the current one (``virDomainObjGetOneDef``). Each
change is checked whole before the definition is replaced, so a refused call leaves
the definition as it was.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs

from virtcore import errors
from virtcore.errors import (
    ArgumentUnsupportedError,
    ConfigUnsupportedError,
    InvalidArgError,
    OperationInvalidError,
)
from virtcore.limits import UINT_MAX, ULLONG_MAX
from virtcore.tunables import BLOCK_IOTUNE_PARAMETERS, NUMA_MODES, format_bitmap, parse_bitmap
from virtcore.xml.bandwidth import Bandwidth, BandwidthRate, OutboundRate
from virtcore.xml.devices import Disk, DiskIoTune, Interface
from virtcore.xml.domain import DomainDef
from virtcore.xml.elements import (
    BlkioDevice,
    BlkioTune,
    CPUTune,
    IOThread,
    IOThreadIds,
    IOThreadPin,
    NumaTune,
    VcpuPin,
)

if TYPE_CHECKING:
    from virt_test.node import Node, TestDomain

__all__ = [
    "blkio_parameters",
    "set_blkio_parameters",
    "numa_parameters",
    "set_numa_parameters",
    "vcpu_pin_info",
    "pin_vcpu",
    "emulator_pin_info",
    "pin_emulator",
    "host_cpus",
    "block_io_tune",
    "set_block_io_tune",
    "iothread_ids",
    "new_iothread",
    "iothread_info",
    "add_iothread",
    "del_iothread",
    "pin_iothread",
    "set_iothread_params",
    "iothread_stats",
    "interface_parameters",
    "set_interface_parameters",
    "vcpu_affinity",
]

_DOMAIN = errors.ErrorDomain.DOMAIN
_TEST = errors.ErrorDomain.TEST

#: typed-parameter name -> (BlkioDevice field, largest value): libvirt's unsigned int or long long.
_BLKIO_DEVICE = {
    "device_weight": ("weight", UINT_MAX),
    "device_read_iops_sec": ("read_iops_sec", UINT_MAX),
    "device_write_iops_sec": ("write_iops_sec", UINT_MAX),
    "device_read_bytes_sec": ("read_bytes_sec", ULLONG_MAX),
    "device_write_bytes_sec": ("write_bytes_sec", ULLONG_MAX),
}


def host_cpus(node: Node) -> int:
    """The node's CPU count (libvirt's ``VIR_NODEINFO_MAXCPUS``)."""
    info = node.node_info
    return int(info.nodes * info.sockets * info.cores * info.threads)


def _cpumap(bits: set[int], width: int) -> tuple[bool, ...]:
    return tuple(i in bits for i in range(width))


# -- the one definition the flags pick -------------------------------------------


def _pick(dom: TestDomain, live: bool, config: bool) -> tuple[bool, DomainDef]:
    """(whether it is the live one, the definition) that ``live``/``config`` name."""
    dom.definition()  # parse a pending definition
    if live and not dom.active:
        raise OperationInvalidError("domain is not running", domain=_DOMAIN)
    if config and not dom.persistent:
        raise OperationInvalidError("transient domains do not have any persistent config", domain=_DOMAIN)
    use_live = live or (not config and dom.active)
    d = dom.live if use_live else dom.config
    assert isinstance(d, DomainDef)
    return use_live, d


def _put(dom: TestDomain, use_live: bool, new: DomainDef) -> None:
    if use_live:
        dom.live = new
    else:
        dom.config = new


# -- block I/O ---------------------------------------------------------------------


def blkio_parameters(node: Node, uuid: str, live: bool, config: bool) -> dict[str, int | str]:
    """``weight`` and the per-device strings of the picked definition's ``<blkiotune>``."""
    with node.lock:
        _, d = _pick(node.get(uuid), live, config)
    tune = d.blkiotune or BlkioTune()
    out: dict[str, int | str] = {"weight": tune.weight or 0}
    for name, (field, _) in _BLKIO_DEVICE.items():
        pairs = [(dev.path, getattr(dev, field)) for dev in tune.devices]
        out[name] = ",".join(f"{path},{value}" for path, value in pairs if value)
    return out


def _device_pairs(name: str, text: str) -> list[tuple[str, int]]:
    """``path,value,path,value`` as pairs, refused as ``virDomainDriverParseBlkioDeviceStr`` does."""
    if text == "":
        return []
    tokens = text.split(",")
    if len(tokens) % 2:
        raise InvalidArgError(f"unable to parse blkio device '{name}' '{text}'", domain=_DOMAIN)
    largest = _BLKIO_DEVICE[name][1]
    pairs: list[tuple[str, int]] = []
    for i in range(0, len(tokens), 2):
        path, value = tokens[i], tokens[i + 1]
        m = re.match(r"[ \t\n\v\f\r]*\+?(\d+)", value)
        if m is None or int(m.group(1)) > largest:
            rest = ",".join(tokens[i + 1 :])
            raise InvalidArgError(
                f"invalid value '{rest}' for parameter '{name}' of device '{path}'", domain=_DOMAIN
            )
        if m.end() != len(value):
            raise InvalidArgError(f"unable to parse blkio device '{name}' '{text}'", domain=_DOMAIN)
        pairs.append((path, int(m.group(1))))
    return pairs


def _merge(devices: list[BlkioDevice], field: str, pairs: list[tuple[str, int]]) -> None:
    """Each pair's value into the device of its path, or a new device (a zero adds none)."""
    for path, value in pairs:
        for i, dev in enumerate(devices):
            if dev.path == path:
                change: dict[str, Any] = {field: value or None}
                devices[i] = attrs.evolve(dev, **change)
                break
        else:
            if value:
                first: dict[str, Any] = {field: value}
                devices.append(BlkioDevice(path=path, **first))


def set_blkio_parameters(
    node: Node, uuid: str, params: dict[str, int | str], live: bool, config: bool
) -> None:
    """Change ``<blkiotune>`` of the picked definition (every device string checked first)."""
    parsed = {name: _device_pairs(name, v) for name, v in params.items() if isinstance(v, str)}
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        tune = d.blkiotune or BlkioTune()
        weight = tune.weight
        devices = list(tune.devices)
        for name, value in params.items():
            if name == "weight":
                weight = int(value) or None
            else:
                _merge(devices, _BLKIO_DEVICE[name][0], parsed[name])
        devices = [dev for dev in devices if any(getattr(dev, f) for f, _ in _BLKIO_DEVICE.values())]
        new = attrs.evolve(tune, weight=weight, devices=tuple(devices))
        _put(dom, use_live, attrs.evolve(d, blkiotune=new if new != BlkioTune() else None))


# -- NUMA ------------------------------------------------------------------------------


def _numa_mode(tune: NumaTune | None) -> int | None:
    """The ``<numatune><memory>`` mode, or None when no memory policy is set."""
    if tune is None or (tune.mode is None and tune.nodeset is None and tune.placement is None):
        return None
    return NUMA_MODES.index(tune.mode) if tune.mode in NUMA_MODES else 0


def numa_parameters(node: Node, uuid: str, live: bool, config: bool) -> dict[str, int | str]:
    """``numa_mode`` (strict when not set) and ``numa_nodeset`` (libvirt's form; empty when not set)."""
    with node.lock:
        _, d = _pick(node.get(uuid), live, config)
    tune = d.numatune
    mode = _numa_mode(tune)
    bits = parse_bitmap(tune.nodeset) if tune is not None and tune.nodeset else None
    return {"numa_mode": mode or 0, "numa_nodeset": format_bitmap(bits) if bits else ""}


def set_numa_parameters(
    node: Node, uuid: str, params: dict[str, int | str], live: bool, config: bool
) -> None:
    """Change the picked definition's NUMA memory mode and node set (``virDomainNumatuneSet``)."""
    mode = -1
    nodeset: set[int] | None = None
    for name, value in params.items():
        if name == "numa_mode":
            mode = int(value)
            if not 0 <= mode < len(NUMA_MODES):
                raise InvalidArgError(f"unsupported numatune mode: '{mode}'", domain=_TEST)
        else:
            nodeset = parse_bitmap(str(value))
            if nodeset is None:
                raise InvalidArgError(f"Failed to parse bitmap '{value}'", domain=errors.ErrorDomain.NONE)
            if not nodeset:
                raise OperationInvalidError(f"Invalid nodeset of 'numatune': {value}", domain=_TEST)
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        tune = d.numatune
        current = _numa_mode(tune)
        if use_live and mode != -1 and current is not None and current != mode:
            raise OperationInvalidError("can't change numatune mode for running domain", domain=_TEST)
        if mode == -1 and nodeset is None:
            return
        specified = current is not None
        old = tune or NumaTune()
        new_mode = mode if mode != -1 else (current if specified else 0)
        old_bits = parse_bitmap(old.nodeset) if old.nodeset else None
        bits = nodeset if nodeset is not None else old_bits
        placement = "static" if nodeset is not None else (None if specified else "default")
        if placement == "default":
            placement = "static" if bits or d.vcpu_placement != "auto" else "auto"
        if placement is None:
            placement = old.placement or ("static" if bits else "auto")
        if placement == "static" and not bits:
            raise ConfigUnsupportedError(
                "nodeset for NUMA memory tuning must be set if 'placement' is 'static'", domain=_DOMAIN
            )
        if placement == "auto":
            bits = None
        new = attrs.evolve(
            old,
            mode=NUMA_MODES[new_mode if new_mode is not None else 0],
            nodeset=format_bitmap(bits) if bits else None,
            placement="auto" if placement == "auto" else None,
        )
        _put(dom, use_live, attrs.evolve(d, numatune=new))


# -- pinning -----------------------------------------------------------------------------


def _default_cpus(d: DomainDef, width: int) -> set[int]:
    """``<vcpu cpuset>``, else every host CPU."""
    bits = parse_bitmap(d.cpuset) if d.cpuset else None
    return bits if bits is not None else set(range(width))


def vcpu_pin_info(node: Node, uuid: str, live: bool, config: bool) -> list[tuple[bool, ...]]:
    """Each vCPU's affinity (up to the maximum): its ``<vcpupin>``, else the domain's default."""
    width = host_cpus(node)
    with node.lock:
        _, d = _pick(node.get(uuid), live, config)
    return [_cpumap(bits, width) for bits in vcpu_affinity(d, width)]


def vcpu_affinity(d: DomainDef, width: int) -> list[set[int]]:
    """The host CPUs each vCPU (up to the maximum) of definition ``d`` may run on."""
    pins = {p.vcpu: parse_bitmap(p.cpuset or "") for p in (d.cputune.vcpupins if d.cputune else ())}
    default = _default_cpus(d, width)
    return [b if (b := pins.get(i)) is not None else default for i in range(d.vcpu)]


def pin_vcpu(node: Node, uuid: str, vcpu: int, cpumap: tuple[bool, ...]) -> None:
    """Pin an online vCPU of the running domain, in its live definition."""
    with node.lock:
        dom = node.get(uuid)
        if not dom.active:
            raise OperationInvalidError("cannot pin vcpus on an inactive domain", domain=_TEST)
        d = dom.definition()
        online = d.current_vcpus if d.current_vcpus is not None else d.vcpu
        if vcpu >= online:
            raise InvalidArgError(f"requested vcpu '{vcpu}' is not present in the domain", domain=_TEST)
        tune = d.cputune or CPUTune()
        pin = VcpuPin(vcpu=vcpu, cpuset=format_bitmap(i for i, on in enumerate(cpumap) if on))
        pins = sorted([p for p in tune.vcpupins if p.vcpu != vcpu] + [pin], key=lambda p: p.vcpu or 0)
        dom.live = attrs.evolve(d, cputune=attrs.evolve(tune, vcpupins=tuple(pins)))


def emulator_pin_info(node: Node, uuid: str, live: bool, config: bool) -> tuple[bool, ...]:
    """The emulator's affinity: ``<emulatorpin>``, else the domain's default."""
    width = host_cpus(node)
    with node.lock:
        _, d = _pick(node.get(uuid), live, config)
    pinned = d.cputune.emulatorpin if d.cputune else None
    bits = parse_bitmap(pinned) if pinned is not None else None
    return _cpumap(bits if bits is not None else _default_cpus(d, width), width)


def pin_emulator(node: Node, uuid: str, cpumap: tuple[bool, ...], live: bool, config: bool) -> None:
    """Pin the emulator in the picked definition (``<emulatorpin>``); an empty map is refused."""
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        if not any(cpumap):
            raise InvalidArgError("Empty cpu list for pinning", domain=_TEST)
        tune = d.cputune or CPUTune()
        cpuset = format_bitmap(i for i, on in enumerate(cpumap) if on)
        _put(dom, use_live, attrs.evolve(d, cputune=attrs.evolve(tune, emulatorpin=cpuset)))


# -- disk I/O throttling ---------------------------------------------------------------

#: libvirt's test driver throttles nothing above this (``TEST_BLOCK_IOTUNE_MAX``).
BLOCK_IOTUNE_MAX = 1_000_000_000_000_000


def _disk(d: DomainDef, name: str) -> Disk | None:
    """The first disk whose target (a name without ``/``) or source path is ``name``."""
    for disk in d.disks:
        if (disk.source if "/" in name else disk.target_dev) == name:
            return disk
    return None


def block_io_tune(node: Node, uuid: str, disk: str, live: bool, config: bool) -> dict[str, int | str]:
    """Every ``<iotune>`` value of the disk (0, or an empty group name, when not set)."""
    with node.lock:
        _, d = _pick(node.get(uuid), live, config)
    found = _disk(d, disk)
    if found is None:
        raise InvalidArgError(f"disk '{disk}' was not found in the domain config", domain=_TEST)
    tune = found.iotune or DiskIoTune()
    return {
        name: getattr(tune, name) or ("" if kind == "string" else 0)
        for name, kind in BLOCK_IOTUNE_PARAMETERS.items()
    }


def _check_iotune(values: dict[str, int | str]) -> None:
    """``testDomainSetBlockIoTune``'s checks of the values it would keep, in its order."""
    for kind in ("bytes_sec", "iops_sec", "bytes_sec_max", "iops_sec_max"):
        if values["total_" + kind] and (values["read_" + kind] or values["write_" + kind]):
            raise InvalidArgError(
                f"total and read/write of {kind} cannot be set at the same time", domain=_TEST
            )
    for way in ("total", "read", "write"):
        for unit in ("bytes_sec", "iops_sec"):
            field = f"{way}_{unit}"
            if int(values[field]) > int(values[field + "_max"]):
                raise InvalidArgError(f"{field} cannot be set higher than {field}_max ", domain=_TEST)


def set_block_io_tune(
    node: Node, uuid: str, disk: str, params: dict[str, int | str], live: bool, config: bool
) -> None:
    """Change the disk's ``<iotune>`` in the picked definition, checked whole first."""
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        found = _disk(d, disk)
        if found is None:
            raise InvalidArgError(f"missing persistent configuration for disk '{disk}'", domain=_TEST)
        tune = found.iotune or DiskIoTune()
        values: dict[str, int | str] = {
            name: getattr(tune, name) or ("" if kind == "string" else 0)
            for name, kind in BLOCK_IOTUNE_PARAMETERS.items()
        }
        for name, value in params.items():
            if isinstance(value, int) and value > BLOCK_IOTUNE_MAX:
                raise ArgumentUnsupportedError(
                    f"block I/O throttle limit value must be no more than {BLOCK_IOTUNE_MAX}", domain=_TEST
                )
            values[name] = value
        _check_iotune(values)
        kept: dict[str, Any] = {name: value or None for name, value in values.items()}
        new = DiskIoTune(**kept)
        changed = attrs.evolve(found, iotune=None if new == DiskIoTune() else new)
        devices = tuple(changed if dev is found else dev for dev in d.devices)
        _put(dom, use_live, attrs.evolve(d, devices=devices))


# -- I/O threads -----------------------------------------------------------------------


#: The polling a test domain's I/O thread starts with (libvirt's test driver: 32768 ns, no growth).
IOTHREAD_POLL_MAX_NS = 32768


def new_iothread(iothread_id: int) -> list[int]:
    """A new I/O thread's polling state: ``[id, poll_max_ns, poll_grow, poll_shrink]``."""
    return [iothread_id, IOTHREAD_POLL_MAX_NS, 0, 0]


def iothread_ids(d: DomainDef) -> list[int]:
    """The I/O thread ids of ``d``: ``<iothreadids>``, then the smallest free ids up to ``<iothreads>``."""
    ids = [t.id for t in d.iothreadids.iothreads if t.id is not None] if d.iothreadids else []
    wanted = max(d.iothreads or 0, len(ids))
    candidate = 1
    while len(ids) < wanted:
        if candidate not in ids:
            ids.append(candidate)
        candidate += 1
    return ids


def _iothread_pins(d: DomainDef) -> dict[int, str]:
    return {p.iothread: p.cpuset or "" for p in (d.cputune.iothreadpins if d.cputune else ()) if p.iothread}


def _with_iothreads(d: DomainDef, ids: list[int], pins: dict[int, str]) -> DomainDef:
    """``d`` with I/O threads ``ids`` (``<iothreads>``, ``<iothreadids>``) pinned as ``pins`` say."""
    tune = d.cputune or CPUTune()
    kept = tuple(IOThreadPin(iothread=i, cpuset=pins[i]) for i in ids if i in pins)
    cputune = attrs.evolve(tune, iothreadpins=kept)
    return attrs.evolve(
        d,
        iothreads=len(ids) or None,
        iothreadids=IOThreadIds(iothreads=tuple(IOThread(id=i) for i in ids)) if ids else None,
        cputune=None if cputune == CPUTune() else cputune,
    )


def _nonzero(iothread_id: int) -> None:
    if iothread_id == 0:
        raise InvalidArgError("invalid value of 0 for iothread_id", domain=_TEST)


def iothread_info(node: Node, uuid: str, live: bool, config: bool) -> list[tuple[int, tuple[bool, ...]]]:
    """Each I/O thread's affinity: its pin, else ``<vcpu cpuset>``, else the first vCPU-count CPUs."""
    width = host_cpus(node)
    with node.lock:
        _, d = _pick(node.get(uuid), live, config)
    pins = _iothread_pins(d)
    vcpus = d.current_vcpus if d.current_vcpus is not None else d.vcpu
    default = parse_bitmap(d.cpuset) if d.cpuset else None
    out = []
    for i in iothread_ids(d):
        bits = parse_bitmap(pins[i]) if i in pins else None
        if bits is None:
            bits = default if default is not None else set(range(vcpus))  # libvirt: a map vCPUs wide
        out.append((i, _cpumap(bits, width)))
    return out


def add_iothread(node: Node, uuid: str, iothread_id: int, live: bool, config: bool) -> None:
    """Add an I/O thread to the picked definition, and its polling state to the domain."""
    _nonzero(iothread_id)
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        ids = iothread_ids(d)
        if iothread_id in ids:
            raise InvalidArgError(f"an IOThread is already using iothread_id '{iothread_id}'", domain=_DOMAIN)
        _put(dom, use_live, _with_iothreads(d, [*ids, iothread_id], _iothread_pins(d)))
        dom.iothreads.append(new_iothread(iothread_id))


def _users(d: DomainDef, iothread_id: int) -> str | None:
    """Why ``iothread_id`` cannot go: a disk's or a controller's ``<driver iothread>`` names it."""
    for dev in d.devices:
        raw = getattr(dev, "raw", None)
        driver = raw.find("driver") if raw is not None else None
        if driver is not None and driver.get("iothread") == str(iothread_id):
            if isinstance(dev, Disk):
                return (
                    f"cannot remove IOThread {iothread_id} since it is being used by disk '{dev.target_dev}'"
                )
            return f"cannot remove IOThread '{iothread_id}' since it is being used by controller"
    return None


def del_iothread(node: Node, uuid: str, iothread_id: int, live: bool, config: bool) -> None:
    """Remove an I/O thread (and its pin) from the picked definition, and its polling state."""
    _nonzero(iothread_id)
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        ids = iothread_ids(d)
        if iothread_id not in ids:
            raise InvalidArgError(f"cannot find IOThread '{iothread_id}' in iothreadids list", domain=_DOMAIN)
        used = _users(d, iothread_id)
        if used is not None:
            raise InvalidArgError(used, domain=_DOMAIN)
        ids.remove(iothread_id)
        _put(dom, use_live, _with_iothreads(d, ids, _iothread_pins(d)))
        dom.iothreads = [t for t in dom.iothreads if t[0] != iothread_id]


def pin_iothread(
    node: Node, uuid: str, iothread_id: int, cpumap: tuple[bool, ...], live: bool, config: bool
) -> None:
    """Pin an I/O thread in the picked definition (``<iothreadpin>``)."""
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        if not any(cpumap):
            raise InvalidArgError("Empty iothread cpumap list for pinning", domain=_TEST)
        ids = iothread_ids(d)
        if iothread_id not in ids:
            raise InvalidArgError(f"iothreadid {iothread_id} not found", domain=_TEST)
        pins = _iothread_pins(d)
        pins[iothread_id] = format_bitmap(i for i, on in enumerate(cpumap) if on)
        _put(dom, use_live, _with_iothreads(d, ids, pins))


def set_iothread_params(node: Node, uuid: str, iothread_id: int, params: dict[str, int], live: bool) -> None:
    """Change an I/O thread's polling (the domain's, beside the definition)."""
    _nonzero(iothread_id)
    with node.lock:
        dom = node.get(uuid)
        _, d = _pick(dom, live, False)
        if iothread_id not in iothread_ids(d):
            raise InvalidArgError(f"cannot find IOThread '{iothread_id}' in iothreadids", domain=_TEST)
        state = next((t for t in dom.iothreads if t[0] == iothread_id), None)
        if state is None:  # libvirt's test driver fails here without saying why
            raise errors.InternalError(f"IOThread '{iothread_id}' has no polling state in this domain")
        for n, name in enumerate(("poll_max_ns", "poll_grow", "poll_shrink"), start=1):
            if name in params:
                state[n] = params[name]


def iothread_stats(node: Node, uuid: str) -> list[tuple[int, dict[str, int]]]:
    """The running domain's I/O threads' polling, by the bulk statistics' names."""
    with node.lock:
        dom = node.get_active(uuid)
        return [
            (i, {"poll-max-ns": max_ns, "poll-grow": grow, "poll-shrink": shrink})
            for i, max_ns, grow, shrink in dom.iothreads
        ]


# -- interface rate limits ---------------------------------------------------------------

_MAC = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}")
_RATES = ("average", "peak", "burst", "floor")


def _interface(d: DomainDef, device: str) -> Interface:
    """The interface of MAC address ``device``, else of target name ``device`` (``virDomainNetFind``)."""
    if _MAC.fullmatch(device):
        wanted = ":".join(f"{int(b, 16):02x}" for b in device.split(":"))
        found = next((i for i in d.interfaces if i.mac == wanted), None)
    else:
        found = next((i for i in d.interfaces if i.target_dev == device), None)
    if found is None:
        raise InvalidArgError(f"'{device}' is not a known interface", domain=_DOMAIN)
    return found


def interface_parameters(node: Node, uuid: str, device: str, live: bool, config: bool) -> dict[str, int]:
    """The interface's ``inbound.*`` and ``outbound.*`` limits (0 when not set)."""
    with node.lock:
        _, d = _pick(node.get(uuid), live, config)
    band = _interface(d, device).bandwidth
    out: dict[str, int] = {}
    for way in ("inbound", "outbound"):
        rate = getattr(band, way) if band is not None else None
        for name in _RATES[: 4 if way == "inbound" else 3]:
            out[f"{way}.{name}"] = (getattr(rate, name) if rate is not None else None) or 0
    return out


def set_interface_parameters(
    node: Node, uuid: str, device: str, params: dict[str, int], live: bool, config: bool
) -> None:
    """Replace the directions ``params`` set (a direction without average, or floor, is cleared)."""
    with node.lock:
        dom = node.get(uuid)
        use_live, d = _pick(dom, live, config)
        iface = _interface(d, device)
        given = {
            way: {n: params[f"{way}.{n}"] for n in _RATES if f"{way}.{n}" in params}
            for way in ("inbound", "outbound")
        }
        rates_in: dict[str, Any] = {n: v or None for n, v in given["inbound"].items()}
        rates_out: dict[str, Any] = {n: v or None for n, v in given["outbound"].items()}
        new_in, new_out = BandwidthRate(**rates_in), OutboundRate(**rates_out)
        keep_in = bool(new_in.average or new_in.floor)
        keep_out = bool(new_out.average)
        old = iface.bandwidth or Bandwidth()
        # libvirt: a direction given with its average (or floor) replaces the old one; one given
        # without is cleared; a direction not named stays
        specified_in = "average" in given["inbound"] or "floor" in given["inbound"]
        specified_out = "average" in given["outbound"]
        inbound = new_in if keep_in else (None if specified_in or iface.bandwidth is None else old.inbound)
        outbound = (
            new_out if keep_out else (None if specified_out or iface.bandwidth is None else old.outbound)
        )
        band = Bandwidth(inbound=inbound, outbound=outbound)
        changed = attrs.evolve(iface, bandwidth=None if band == Bandwidth() else band)
        devices = tuple(changed if dev is iface else dev for dev in d.devices)
        _put(dom, use_live, attrs.evolve(d, devices=devices))
