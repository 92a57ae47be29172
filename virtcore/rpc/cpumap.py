"""CPU maps on the wire, as libvirt packs them: bit ``n % 8`` of byte ``n // 8`` is host CPU ``n``."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["pack_cpumap", "unpack_cpumap", "maplen_for"]


def maplen_for(cpus: int) -> int:
    """The bytes a map of ``cpus`` CPUs takes (libvirt's ``VIR_CPU_MAPLEN``; at least one)."""
    return max(1, (cpus + 7) // 8)


def pack_cpumap(cpumap: Sequence[bool], maplen: int | None = None) -> bytes:
    """``cpumap`` packed into ``maplen`` bytes (default: as many as it needs; CPUs beyond are left out)."""
    size = maplen_for(len(cpumap)) if maplen is None else maplen
    out = bytearray(size)
    for cpu, on in enumerate(cpumap[: size * 8]):
        if on:
            out[cpu // 8] |= 1 << (cpu % 8)
    return bytes(out)


def unpack_cpumap(data: bytes, width: int | None = None) -> tuple[bool, ...]:
    """``width`` flags (default: ``len(data) * 8``) from a packed map; CPUs it does not reach are off."""
    count = len(data) * 8 if width is None else width
    return tuple(cpu // 8 < len(data) and bool(data[cpu // 8] >> (cpu % 8) & 1) for cpu in range(count))
