"""The domain tunables commands of the ``virtcore`` command line, as virsh has them.

``blkiotune``, ``blkdeviotune``, ``numatune``, ``vcpupin``, ``emulatorpin``, ``iothreadinfo``,
``iothreadadd``, ``iothreaddel``, ``iothreadpin`` and ``domiftune``, registered with
:func:`virtcore.cli.command` (this module is listed in
:data:`virtcore.cli.COMMAND_MODULES`). Without a change each prints what virsh
prints (``weight         : 0``, the ``VCPU   CPU Affinity`` table, ``*: 0-7``);
with one it changes the definition ``--live``/``--config`` pick (neither: the
current one). CPU lists are libvirt's (``0-3,^2,5``), sized by the node's CPU map.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from virtcore.cli import DOMAIN, Context, arg, command, scaled_integer
from virtcore.errors import InvalidArgError, NoSupportError
from virtcore.tunables import BLOCK_IOTUNE_PARAMETERS, NUMA_MODES, format_bitmap, parse_bitmap

__all__ = ["BLKIO_OPTIONS"]

#: ``blkiotune``'s options (without ``--``) and the typed parameters they set.
BLKIO_OPTIONS: dict[str, str] = {
    "device-weights": "device_weight",
    "device-read-iops-sec": "device_read_iops_sec",
    "device-write-iops-sec": "device_write_iops_sec",
    "device-read-bytes-sec": "device_read_bytes_sec",
    "device-write-bytes-sec": "device_write_bytes_sec",
}

_AFFECT = (
    arg("--live", action="store_true", help="the running domain's definition"),
    arg("--config", action="store_true", help="the persistent definition"),
    arg("--current", action="store_true", help="the current definition (the default)"),
)


def _affect(ns: argparse.Namespace) -> dict[str, bool]:
    if ns.current and (ns.live or ns.config):
        raise InvalidArgError("--current and --live/--config are mutually exclusive")
    return {"live": ns.live, "config": ns.config}


def _typed(ctx: Context, params: dict[str, int | str]) -> None:
    for name, value in params.items():
        ctx.out(f"{name:<15}: {value}")
    ctx.out("")


def _width(ctx: Context, fallback: int) -> int:
    try:
        return len(ctx.conn.cpu_map())
    except NoSupportError:
        return fallback


def _cpulist(text: str, width: int) -> tuple[bool, ...]:
    bits = parse_bitmap(text)
    if bits is None or not bits:
        raise InvalidArgError(f"cpulist: Invalid format: {text!r}")
    if max(bits) >= width:
        raise InvalidArgError(f"cpulist {text!r} names a CPU the host lacks (it has {width})")
    return tuple(i in bits for i in range(width))


def _shown(cpumap: Sequence[bool], width: int) -> str:
    return format_bitmap(i for i, on in enumerate(cpumap[:width]) if on)


@command(
    "blkiotune",
    DOMAIN,
    arg("--weight", type=int, metavar="N", help="new I/O weight"),
    *(
        arg("--" + option, metavar="PATH,VALUE,...", help=f"new {name}")
        for option, name in BLKIO_OPTIONS.items()
    ),
    *_AFFECT,
)
def _blkiotune(ctx: Context, ns: argparse.Namespace) -> None:
    """Show a domain's block I/O tunables, or change those given (virsh blkiotune)."""
    dom = ctx.domain(ns.domain)
    affect = _affect(ns)
    changes: dict[str, int | str] = {} if ns.weight is None else {"weight": ns.weight}
    for option, name in BLKIO_OPTIONS.items():
        value = getattr(ns, option.replace("-", "_"))
        if value is not None:
            changes[name] = value
    if changes:
        dom.set_blkio_parameters(changes, **affect)
        ctx.out("")
        return
    _typed(ctx, dom.blkio_parameters(**affect))


def _iotune_value(name: str, text: str) -> int:
    """A ``blkdeviotune`` limit: bytes limits are scaled integers (``10M``), the others plain."""
    value = scaled_integer(text, 1) if "bytes" in name else (int(text) if text.isdigit() else None)
    if value is None:
        raise InvalidArgError(f"Unable to parse integer parameter '{name.replace('_', '-')}': {text!r}")
    return value


@command(
    "blkdeviotune",
    DOMAIN,
    arg("device", metavar="DEVICE", help="the disk's target (vda) or source path"),
    *(
        arg("--" + name.replace("_", "-"), metavar="VALUE", help=f"new {name}")
        for name in BLOCK_IOTUNE_PARAMETERS
    ),
    *_AFFECT,
)
def _blkdeviotune(ctx: Context, ns: argparse.Namespace) -> None:
    """Show a disk's I/O throttling, or change the limits given (virsh blkdeviotune)."""
    dom = ctx.domain(ns.domain)
    affect = _affect(ns)
    changes: dict[str, int | str] = {}
    for name, kind in BLOCK_IOTUNE_PARAMETERS.items():
        text = getattr(ns, name)
        if text is not None:
            changes[name] = text if kind == "string" else _iotune_value(name, text)
    if changes:
        dom.set_block_io_tune(ns.device, changes, **affect)
        ctx.out("")
        return
    _typed(ctx, dom.block_io_tune(ns.device, **affect))


@command(
    "numatune",
    DOMAIN,
    arg("--mode", choices=NUMA_MODES, help="new NUMA memory mode"),
    arg("--nodeset", metavar="NODESET", help="new host NUMA node set (0-1,3)"),
    *_AFFECT,
)
def _numatune(ctx: Context, ns: argparse.Namespace) -> None:
    """Show a domain's NUMA memory policy, or change its mode and/or node set (virsh numatune)."""
    dom = ctx.domain(ns.domain)
    affect = _affect(ns)
    changes: dict[str, int | str] = {}
    if ns.mode is not None:
        changes["numa_mode"] = NUMA_MODES.index(ns.mode)
    if ns.nodeset is not None:
        changes["numa_nodeset"] = ns.nodeset
    if changes:
        dom.set_numa_parameters(changes, **affect)
        ctx.out("")
        return
    params = dom.numa_parameters(**affect)
    mode = params["numa_mode"]
    shown = NUMA_MODES[mode] if isinstance(mode, int) and 0 <= mode < len(NUMA_MODES) else mode
    _typed(ctx, {"numa_mode": shown, "numa_nodeset": params["numa_nodeset"]})


@command(
    "vcpupin",
    DOMAIN,
    arg("vcpu", nargs="?", type=int, metavar="VCPU", help="the vCPU to show or pin"),
    arg("cpulist", nargs="?", metavar="CPULIST", help="host CPUs to pin it to (0-3,^2)"),
    *_AFFECT,
)
def _vcpupin(ctx: Context, ns: argparse.Namespace) -> None:
    """Show each vCPU's host CPU affinity, or pin one vCPU of a running domain (virsh vcpupin)."""
    dom = ctx.domain(ns.domain)
    affect = _affect(ns)
    if ns.cpulist is not None:
        if affect["config"] or affect["live"]:
            raise InvalidArgError("vcpupin --live/--config: a vCPU is pinned in the running domain only")
        dom.pin_vcpu(ns.vcpu, _cpulist(ns.cpulist, _width(ctx, 0) or len(dom.emulator_pin_info())))
        ctx.out("")
        return
    maps = dom.vcpu_pin_info(**affect)
    width = _width(ctx, len(maps[0]) if maps else 0)
    if ns.vcpu is not None and not 0 <= ns.vcpu < len(maps):
        raise InvalidArgError(f"vcpu {ns.vcpu} is out of range of live cpu count {len(maps)}")
    ctx.out(" VCPU   CPU Affinity", "----------------------")
    for i, cpumap in enumerate(maps):
        if ns.vcpu is None or ns.vcpu == i:
            ctx.out(f" {i:<6} {_shown(cpumap, width)}")
    ctx.out("")


@command(
    "emulatorpin",
    DOMAIN,
    arg("cpulist", nargs="?", metavar="CPULIST", help="host CPUs to pin the emulator to (0-3,^2)"),
    *_AFFECT,
)
def _emulatorpin(ctx: Context, ns: argparse.Namespace) -> None:
    """Show the emulator threads' host CPU affinity, or pin them (virsh emulatorpin)."""
    dom = ctx.domain(ns.domain)
    affect = _affect(ns)
    cpumap = dom.emulator_pin_info(**affect)
    width = _width(ctx, len(cpumap))
    if ns.cpulist is not None:
        dom.pin_emulator(_cpulist(ns.cpulist, width), **affect)
        ctx.out("")
        return
    ctx.out(
        "emulator: CPU Affinity",
        "----------------------------------",
        f"       *: {_shown(cpumap, width)}",
        "",
    )


_IOTHREAD_ID = arg("iothread_id", type=int, metavar="ID", help="the I/O thread's id")


@command("iothreadinfo", DOMAIN, *_AFFECT)
def _iothreadinfo(ctx: Context, ns: argparse.Namespace) -> None:
    """Show a domain's I/O threads and their host CPU affinity (virsh iothreadinfo)."""
    found = ctx.domain(ns.domain).iothread_info(**_affect(ns))
    if not found:
        ctx.out("No IOThreads found for the domain")
        return
    width = _width(ctx, len(found[0][1]))
    ctx.out(" IOThread ID   CPU Affinity", "-" * 29)
    for number, cpumap in found:
        ctx.out(f" {number:<13} {_shown(cpumap, width)}")
    ctx.out("")


@command("iothreadadd", DOMAIN, _IOTHREAD_ID, *_AFFECT)
def _iothreadadd(ctx: Context, ns: argparse.Namespace) -> None:
    """Add an I/O thread to a domain (virsh iothreadadd)."""
    ctx.domain(ns.domain).add_iothread(ns.iothread_id, **_affect(ns))
    ctx.out("")


@command("iothreaddel", DOMAIN, _IOTHREAD_ID, *_AFFECT)
def _iothreaddel(ctx: Context, ns: argparse.Namespace) -> None:
    """Remove an I/O thread from a domain (virsh iothreaddel)."""
    ctx.domain(ns.domain).del_iothread(ns.iothread_id, **_affect(ns))
    ctx.out("")


@command(
    "iothreadpin",
    DOMAIN,
    _IOTHREAD_ID,
    arg("cpulist", metavar="CPULIST", help="host CPUs to pin it to (0-3,^2)"),
    *_AFFECT,
)
def _iothreadpin(ctx: Context, ns: argparse.Namespace) -> None:
    """Pin an I/O thread of a domain to host CPUs (virsh iothreadpin)."""
    dom = ctx.domain(ns.domain)
    width = _width(ctx, len(dom.emulator_pin_info()))
    dom.pin_iothread(ns.iothread_id, _cpulist(ns.cpulist, width), **_affect(ns))
    ctx.out("")


def _rates(way: str, text: str) -> dict[str, int]:
    """virsh's ``average[,peak[,burst[,floor]]]`` (empty fields allowed) as typed parameters."""
    names = ("average", "peak", "burst", "floor") if way == "inbound" else ("average", "peak", "burst")
    fields = text.split(",")
    if len(fields) > len(names) or not all(f == "" or f.isdigit() for f in fields):
        raise InvalidArgError(f"inbound/outbound: invalid rate {text!r} for --{way} ({','.join(names)})")
    values = {name: int(f) for name, f in zip(names, fields, strict=False) if f}
    out = {f"{way}.{name}": v for name, v in values.items() if v}
    out.setdefault(f"{way}.average", values.get("average", 0))  # an average of 0 clears the direction
    return out


@command(
    "domiftune",
    DOMAIN,
    arg("interface", metavar="INTERFACE", help="the interface's MAC address or target name"),
    arg("--inbound", metavar="AVERAGE[,PEAK[,BURST[,FLOOR]]]", help="incoming rate limits (KiB/s, KiB)"),
    arg("--outbound", metavar="AVERAGE[,PEAK[,BURST]]", help="outgoing rate limits (KiB/s, KiB)"),
    *_AFFECT,
)
def _domiftune(ctx: Context, ns: argparse.Namespace) -> None:
    """Show an interface's rate limits, or change them (virsh domiftune)."""
    dom = ctx.domain(ns.domain)
    affect = _affect(ns)
    changes: dict[str, int] = {}
    if ns.inbound is not None:
        changes |= _rates("inbound", ns.inbound)
    if ns.outbound is not None:
        changes |= _rates("outbound", ns.outbound)
    if changes:
        dom.set_interface_parameters(ns.interface, changes, **affect)
        ctx.out("")
        return
    _typed(ctx, dict(dom.interface_parameters(ns.interface, **affect)))
