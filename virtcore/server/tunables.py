"""The domains' pinning and I/O thread procedures (and the host's CPU map that sizes them).

CPU maps travel as libvirt packs them: ``maplen`` bytes per map, bit ``n`` of byte
``n // 8`` for host CPU ``n``; ``VIR_DOMAIN_AFFECT_LIVE``/``CONFIG`` (1, 2) pick the
definition. The typed-parameter tunables (block I/O, NUMA, disk throttling, interface
rates, I/O thread polling) are not served: the protocol layer has no typed parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.errors import InvalidArgError
from virtcore.rpc.cpumap import pack_cpumap, unpack_cpumap
from virtcore.server.registry import check_flags, domain_of, handler

if TYPE_CHECKING:
    from virtcore.server.daemon import Session

__all__: list[str] = []

_LIVE, _CONFIG = 1, 2
_AFFECT = _LIVE | _CONFIG
#: libvirt's REMOTE_CPUMAPS_MAX: the bytes every map of one reply may take together.
_CPUMAPS_MAX = 8388608


def _affect(flags: int, what: str) -> dict[str, bool]:
    check_flags(flags, _AFFECT, what)
    return {"live": bool(flags & _LIVE), "config": bool(flags & _CONFIG)}


def _maplen(maplen: int) -> int:
    if maplen <= 0:
        raise InvalidArgError(f"maplen must be positive: {maplen}")
    return maplen


@handler("DOMAIN_PIN_VCPU")
def _pin_vcpu(session: Session, args: dict[str, Any]) -> None:
    domain_of(session, args["dom"]).pin_vcpu(args["vcpu"], unpack_cpumap(args["cpumap"]))


@handler("DOMAIN_PIN_VCPU_FLAGS")
def _pin_vcpu_flags(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0, "virDomainPinVcpuFlags")
    domain_of(session, args["dom"]).pin_vcpu(args["vcpu"], unpack_cpumap(args["cpumap"]))


@handler("DOMAIN_GET_VCPU_PIN_INFO")
def _vcpu_pin_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    maplen, ncpumaps = _maplen(args["maplen"]), args["ncpumaps"]
    if ncpumaps < 0 or ncpumaps * maplen > _CPUMAPS_MAX:
        raise InvalidArgError(f"ncpumaps * maplen must be at most {_CPUMAPS_MAX}")
    affect = {"live": bool(args["flags"] & _LIVE), "config": bool(args["flags"] & _CONFIG)}
    maps = domain_of(session, args["dom"]).vcpu_pin_info(**affect)[:ncpumaps]
    return {"cpumaps": b"".join(pack_cpumap(m, maplen) for m in maps), "num": len(maps)}


@handler("DOMAIN_PIN_EMULATOR")
def _pin_emulator(session: Session, args: dict[str, Any]) -> None:
    affect = _affect(args["flags"], "virDomainPinEmulator")
    domain_of(session, args["dom"]).pin_emulator(unpack_cpumap(args["cpumap"]), **affect)


@handler("DOMAIN_GET_EMULATOR_PIN_INFO")
def _emulator_pin_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    affect = _affect(args["flags"], "virDomainGetEmulatorPinInfo")
    cpumap = domain_of(session, args["dom"]).emulator_pin_info(**affect)
    return {"cpumaps": pack_cpumap(cpumap, _maplen(args["maplen"])), "ret": 1}


@handler("DOMAIN_GET_IOTHREAD_INFO")
def _iothread_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    affect = _affect(args["flags"], "virDomainGetIOThreadInfo")
    found = domain_of(session, args["dom"]).iothread_info(**affect)
    info = [{"iothread_id": i, "cpumap": pack_cpumap(m, max(1, (len(m) + 7) // 8))} for i, m in found]
    return {"info": info, "ret": len(info)}


@handler("DOMAIN_PIN_IOTHREAD")
def _pin_iothread(session: Session, args: dict[str, Any]) -> None:
    affect = _affect(args["flags"], "virDomainPinIOThread")
    cpumap = unpack_cpumap(args["cpumap"])
    domain_of(session, args["dom"]).pin_iothread(args["iothreads_id"], cpumap, **affect)


@handler("DOMAIN_ADD_IOTHREAD")
def _add_iothread(session: Session, args: dict[str, Any]) -> None:
    affect = _affect(args["flags"], "virDomainAddIOThread")
    domain_of(session, args["dom"]).add_iothread(args["iothread_id"], **affect)


@handler("DOMAIN_DEL_IOTHREAD")
def _del_iothread(session: Session, args: dict[str, Any]) -> None:
    affect = _affect(args["flags"], "virDomainDelIOThread")
    domain_of(session, args["dom"]).del_iothread(args["iothread_id"], **affect)


@handler("NODE_GET_CPU_MAP")
def _node_cpu_map(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    # virsh sizes every pinning map by this count (virshNodeGetCPUCount)
    check_flags(args["flags"], 0, "virNodeGetCPUMap")
    cpus = session.connection().cpu_map()
    return {
        "cpumap": pack_cpumap(cpus) if args["need_map"] else b"",
        "online": sum(cpus) if args["need_online"] else 0,
        "ret": len(cpus),
    }
