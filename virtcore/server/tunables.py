"""The domains' tunables, pinning and I/O thread procedures (and the host's CPU map that sizes them).

CPU maps travel as libvirt packs them: ``maplen`` bytes per map, bit ``n`` of byte
``n // 8`` for host CPU ``n``; ``VIR_DOMAIN_AFFECT_LIVE``/``CONFIG`` (1, 2) pick the
definition. The typed-parameter tunables (block I/O, NUMA, disk throttling, interface
rates, I/O thread polling) are served from their rows of
:data:`virtcore.rpc.tunables.TUNABLES`, as libvirt's daemon carries them: a ``GET``
with ``nparams`` 0 asks how many there are (the answer's ``nparams``), one with
``nparams`` n gets the first n, string ones only for a client that says
``VIR_TYPED_PARAM_STRING_OKAY``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virtcore import tunables
from virtcore.errors import InternalError, InvalidArgError
from virtcore.rpc import typedparams
from virtcore.rpc._remote_protocol import CONSTANTS
from virtcore.rpc.cpumap import pack_cpumap, unpack_cpumap
from virtcore.rpc.tunables import AFFECT_CONFIG, AFFECT_LIVE, TUNABLES, TYPED_PARAM_STRING_OKAY, Side, Tunable
from virtcore.server.registry import api_arg_error, check_flags, domain_of, handler

if TYPE_CHECKING:
    from virtcore.server.daemon import Session

__all__: list[str] = []

_AFFECT = AFFECT_LIVE | AFFECT_CONFIG
#: libvirt's REMOTE_CPUMAPS_MAX: the bytes every map of one reply may take together.
_CPUMAPS_MAX = 8388608


def _affect(flags: int, what: str) -> dict[str, bool]:
    check_flags(flags, _AFFECT, what)
    return {"live": bool(flags & AFFECT_LIVE), "config": bool(flags & AFFECT_CONFIG)}


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
    affect = {"live": bool(args["flags"] & AFFECT_LIVE), "config": bool(args["flags"] & AFFECT_CONFIG)}
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


# -- typed-parameter tunables (derived from virtcore.rpc.tunables.TUNABLES) ----------------------------


def _subject(row: Tunable, args: dict[str, Any], what: str) -> tuple[Any, ...]:
    """The argument naming what in the domain ``row`` tunes (none, or a disk that must not be NULL)."""
    if row.subject is None:
        return ()
    value = args[row.subject.name]
    if value is None:  # a NULL disk only asks how many there are
        raise api_arg_error(f"{row.subject.name} in {what} must not be NULL")
    return (value,)


def _getter(row: Tunable, side: Side) -> Callable[[Session, dict[str, Any]], dict[str, Any]]:
    """A ``GET_*`` handler: the count for ``nparams`` 0, else the first ``nparams`` parameters."""
    what, limit = side.function, CONSTANTS[row.limit]

    def get(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args["nparams"]
        if wanted > limit:
            raise InternalError("nparams too large")
        dom = domain_of(session, args["dom"])
        if wanted < 0:
            raise api_arg_error(f"*nparams in {what} must be zero or greater")
        affect = side.affect_of(args["flags"])
        if row.exclusive_count:
            tunables.one_definition(**affect)
        flags = check_flags(args["flags"], side.flags, what)
        if wanted == 0:  # how many there are (libvirt's drivers answer without reading the definition)
            return {"params": [], "nparams": len(row.schema)}
        read = getattr(dom, side.method)(*_subject(row, args, what), **affect)
        kept = list(read.items())[:wanted]
        if not flags & TYPED_PARAM_STRING_OKAY:  # an older client: strings left out, as libvirt's daemon
            kept = [(name, value) for name, value in kept if row.schema.get(name) != "string"]
        return {"params": typedparams.to_wire(dict(kept), typedparams.types_of(row.schema)), "nparams": 0}

    return get


def _setter(row: Tunable, side: Side) -> Callable[[Session, dict[str, Any]], None]:
    """A ``SET_*`` handler: the parameters checked against the schema, the definition the flags pick."""
    what = side.function

    def set_(session: Session, args: dict[str, Any]) -> None:
        dom = domain_of(session, args["dom"])
        if not args["params"]:  # an empty list arrives as libvirt's NULL
            if row.count_first:
                raise api_arg_error(f"nparams in {what} must be greater than zero")
            raise api_arg_error(f"params in {what} must not be NULL")
        flags = check_flags(args["flags"], side.flags, what)
        params = typedparams.checked_from_wire(args["params"], row.schema)
        getattr(dom, side.method)(*_subject(row, args, what), params, **side.affect_of(flags))

    return set_


for _row in TUNABLES:
    if _row.getter is not None:
        handler(_row.getter.procedure)(_getter(_row, _row.getter))
    handler(_row.setter.procedure)(_setter(_row, _row.setter))
