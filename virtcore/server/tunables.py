"""The domains' tunables, pinning and I/O thread procedures (and the host's CPU map that sizes them).

CPU maps travel as libvirt packs them: ``maplen`` bytes per map, bit ``n`` of byte
``n // 8`` for host CPU ``n``; ``VIR_DOMAIN_AFFECT_LIVE``/``CONFIG`` (1, 2) pick the
definition. The typed-parameter tunables (block I/O, NUMA, disk throttling, interface
rates, I/O thread polling) go by the names and types of :mod:`virtcore.tunables`, as
libvirt's daemon carries them: a ``GET`` with ``nparams`` 0 asks how many there are
(the answer's ``nparams``), one with ``nparams`` n gets the first n, string ones only
for a client that says ``VIR_TYPED_PARAM_STRING_OKAY``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from virtcore import tunables
from virtcore.errors import InternalError, InvalidArgError
from virtcore.rpc import typedparams
from virtcore.rpc._remote_protocol import CONSTANTS
from virtcore.rpc.cpumap import pack_cpumap, unpack_cpumap
from virtcore.server.registry import api_arg_error, check_flags, domain_of, handler

if TYPE_CHECKING:
    from virtcore.connection import Domain
    from virtcore.server.daemon import Session

__all__: list[str] = []

_LIVE, _CONFIG = 1, 2
_AFFECT = _LIVE | _CONFIG
#: libvirt's REMOTE_CPUMAPS_MAX: the bytes every map of one reply may take together.
_CPUMAPS_MAX = 8388608
#: ``VIR_TYPED_PARAM_STRING_OKAY``: the client takes string parameters.
_STRING_OKAY = 4
#: The calls whose libvirt API refuses ``LIVE`` with ``CONFIG`` even when only asked how many
#: parameters there are (the others refuse them when the definition is read).
_EXCLUSIVE_FIRST = frozenset({"virDomainGetBlkioParameters", "virDomainGetBlockIoTune"})


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


# -- typed-parameter tunables -------------------------------------------------------------------------


def _typed_get(
    session: Session,
    args: dict[str, Any],
    what: str,
    schema: Mapping[str, str],
    limit: str,
    read: Callable[[Domain, dict[str, bool]], Mapping[str, int | str]],
) -> dict[str, Any]:
    """A ``GET_*`` reply: the count for ``nparams`` 0, else the first ``nparams`` of ``read``'s."""
    wanted = args["nparams"]
    if wanted > CONSTANTS[limit]:
        raise InternalError("nparams too large")
    dom = domain_of(session, args["dom"])
    if wanted < 0:
        raise api_arg_error(f"*nparams in {what} must be zero or greater")
    affect = {"live": bool(args["flags"] & _LIVE), "config": bool(args["flags"] & _CONFIG)}
    if what in _EXCLUSIVE_FIRST:
        tunables.one_definition(**affect)
    flags = check_flags(args["flags"], _AFFECT | _STRING_OKAY, what)
    if wanted == 0:  # how many there are (libvirt's drivers answer without reading the definition)
        return {"params": [], "nparams": len(schema)}
    kept = list(read(dom, affect).items())[:wanted]
    if not flags & _STRING_OKAY:  # an older client: strings are left out, as libvirt's daemon does
        kept = [(name, value) for name, value in kept if schema.get(name) != "string"]
    wire = typedparams.to_wire(dict(kept), typedparams.types_of(schema))
    return {"params": wire, "nparams": 0}


def _typed_set(
    args: dict[str, Any], what: str, schema: Mapping[str, str], allowed: int = _AFFECT
) -> dict[str, Any]:
    """The checked parameters and the definition a ``SET_*`` call's flags pick, as keywords."""
    if not args["params"]:  # an empty list arrives as libvirt's NULL
        raise api_arg_error(f"params in {what} must not be NULL")
    flags = check_flags(args["flags"], allowed, what)
    params = typedparams.checked_from_wire(args["params"], schema)
    return {"params": params, "live": bool(flags & _LIVE), "config": bool(flags & _CONFIG)}


@handler("DOMAIN_GET_BLKIO_PARAMETERS")
def _blkio_parameters(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return _typed_get(
        session,
        args,
        "virDomainGetBlkioParameters",
        tunables.BLKIO_PARAMETERS,
        "REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX",
        lambda dom, affect: dom.blkio_parameters(**affect),
    )


@handler("DOMAIN_SET_BLKIO_PARAMETERS")
def _set_blkio_parameters(session: Session, args: dict[str, Any]) -> None:
    dom = domain_of(session, args["dom"])
    dom.set_blkio_parameters(**_typed_set(args, "virDomainSetBlkioParameters", tunables.BLKIO_PARAMETERS))


@handler("DOMAIN_GET_NUMA_PARAMETERS")
def _numa_parameters(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return _typed_get(
        session,
        args,
        "virDomainGetNumaParameters",
        tunables.NUMA_PARAMETERS,
        "REMOTE_DOMAIN_NUMA_PARAMETERS_MAX",
        lambda dom, affect: dom.numa_parameters(**affect),
    )


@handler("DOMAIN_SET_NUMA_PARAMETERS")
def _set_numa_parameters(session: Session, args: dict[str, Any]) -> None:
    dom = domain_of(session, args["dom"])
    dom.set_numa_parameters(**_typed_set(args, "virDomainSetNumaParameters", tunables.NUMA_PARAMETERS))


@handler("DOMAIN_GET_BLOCK_IO_TUNE")
def _block_io_tune(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    def read(dom: Domain, affect: dict[str, bool]) -> Mapping[str, int | str]:
        if args["disk"] is None:  # NULL only asks how many there are
            raise api_arg_error("disk in virDomainGetBlockIoTune must not be NULL")
        return dom.block_io_tune(args["disk"], **affect)

    return _typed_get(
        session,
        args,
        "virDomainGetBlockIoTune",
        tunables.BLOCK_IOTUNE_PARAMETERS,
        "REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX",
        read,
    )


@handler("DOMAIN_SET_BLOCK_IO_TUNE")
def _set_block_io_tune(session: Session, args: dict[str, Any]) -> None:
    dom = domain_of(session, args["dom"])
    if not args["params"]:
        raise api_arg_error("nparams in virDomainSetBlockIoTune must be greater than zero")
    schema = tunables.BLOCK_IOTUNE_PARAMETERS
    dom.set_block_io_tune(args["disk"], **_typed_set(args, "virDomainSetBlockIoTune", schema))


@handler("DOMAIN_GET_INTERFACE_PARAMETERS")
def _interface_parameters(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    device = args["device"]
    return _typed_get(
        session,
        args,
        "virDomainGetInterfaceParameters",
        tunables.INTERFACE_PARAMETERS,
        "REMOTE_DOMAIN_INTERFACE_PARAMETERS_MAX",
        lambda dom, affect: dom.interface_parameters(device, **affect),
    )


@handler("DOMAIN_SET_INTERFACE_PARAMETERS")
def _set_interface_parameters(session: Session, args: dict[str, Any]) -> None:
    dom = domain_of(session, args["dom"])
    schema = tunables.INTERFACE_PARAMETERS
    dom.set_interface_parameters(
        args["device"], **_typed_set(args, "virDomainSetInterfaceParameters", schema)
    )


@handler("DOMAIN_SET_IOTHREAD_PARAMS")
def _set_iothread_params(session: Session, args: dict[str, Any]) -> None:
    dom = domain_of(session, args["dom"])
    what, schema = "virDomainSetIOThreadParams", tunables.IOTHREAD_PARAMETERS
    checked = _typed_set(args, what, schema, allowed=_LIVE)  # the polling lives in the running domain
    dom.set_iothread_params(args["iothread_id"], checked["params"], live=checked["live"])
