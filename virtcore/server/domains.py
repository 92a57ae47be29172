"""The connection's and the domains' procedures, answered with the core's API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virtcore.errors import InternalError, InvalidArgError, NoSupportError, RPCError, VirtError
from virtcore.rpc import typedparams
from virtcore.server.registry import (
    AUTH_NONE,
    EVENT_ID_LIFECYCLE,
    FEATURE_PROGRAM_KEEPALIVE,
    LIB_VERSION,
    SUPPORTED_FEATURES,
    check_flags,
    domain_of,
    handler,
    uuid_str,
    wire_domain,
)

if TYPE_CHECKING:
    from virtcore.connection import Connection, Domain
    from virtcore.server.daemon import EventBody, Session

__all__: list[str] = []


#: ``REMOTE_NODE_MAX_CELLS``, ``REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX``.
_NODE_MAX_CELLS = 1024
_MEMORY_PARAMETERS_MAX = 16
#: ``VIR_DOMAIN_AFFECT_LIVE``, ``VIR_DOMAIN_AFFECT_CONFIG``, ``VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES``.
_AFFECT_LIVE, _AFFECT_CONFIG = 1, 2
_BASELINE_EXPAND_FEATURES = 1
#: ``VIR_TYPED_PARAM_STRING_OKAY``.
_TYPED_PARAM_STRING_OKAY = 4


def _conn(session: Session) -> Connection:
    return session.connection()


# -- connection ---------------------------------------------------------------------------------------


@handler("AUTH_LIST", inline=True)
def _auth_list(session: Session, args: None) -> dict[str, Any]:
    return {"types": [AUTH_NONE]}


@handler("CONNECT_OPEN")
def _open(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0x3, "virConnectOpen")  # RO, NO_ALIASES
    session.open(args["name"], args["flags"])


@handler("CONNECT_CLOSE", inline=True)
def _close(session: Session, args: None) -> None:
    session.close_connection()


@handler("CONNECT_SUPPORTS_FEATURE", inline=True)
def _supports_feature(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    if args["feature"] == FEATURE_PROGRAM_KEEPALIVE:
        session.keepalive = True  # a client that asks knows PING: it is pinged while silent
    return {"supported": int(args["feature"] in SUPPORTED_FEATURES)}


@handler("CONNECT_GET_URI", inline=True)
def _get_uri(session: Session, args: None) -> dict[str, Any]:
    _conn(session)
    assert session.served is not None
    return {"uri": session.served.uri}


@handler("CONNECT_GET_TYPE")
def _get_type(session: Session, args: None) -> dict[str, Any]:
    return {"type": _conn(session).get_type()}


@handler("CONNECT_GET_VERSION")
def _get_version(session: Session, args: None) -> dict[str, Any]:
    return {"hv_ver": _conn(session).get_version()}


@handler("CONNECT_GET_LIB_VERSION", inline=True)
def _get_lib_version(session: Session, args: None) -> dict[str, Any]:
    return {"lib_ver": LIB_VERSION}


@handler("CONNECT_GET_HOSTNAME")
def _get_hostname(session: Session, args: None) -> dict[str, Any]:
    return {"hostname": _conn(session).hostname()}


@handler("CONNECT_GET_CAPABILITIES")
def _get_capabilities(session: Session, args: None) -> dict[str, Any]:
    return {"capabilities": _conn(session).capabilities_xml()}


@handler("CONNECT_IS_SECURE", inline=True)
def _is_secure(session: Session, args: None) -> dict[str, Any]:
    return {"secure": 1}  # a unix socket or stdio under ssh


@handler("CONNECT_GET_MAX_VCPUS")
def _get_max_vcpus(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"max_vcpus": _conn(session).node_info().cpus}


@handler("NODE_GET_INFO")
def _node_info(session: Session, args: None) -> dict[str, Any]:
    info = _conn(session).node_info()
    model = info.model.encode()[:31]
    return {
        "model": model.ljust(32, b"\0"),
        "memory": info.memory,
        "cpus": info.cpus,
        "mhz": info.mhz,
        "nodes": info.nodes,
        "sockets": info.sockets,
        "cores": info.cores,
        "threads": info.threads,
    }


@handler("NODE_GET_SECURITY_MODEL", inline=True)
def _security_model(session: Session, args: None) -> dict[str, Any]:
    # libvirt's empty model, whatever the driver's: a client told of one asks each domain's label
    # next (virsh dominfo: DOMAIN_GET_SECURITY_LABEL), which the core has no hook to answer
    return {"model": b"", "doi": b""}


@handler("NODE_GET_FREE_MEMORY")
def _free_memory(session: Session, args: None) -> dict[str, Any]:
    return {"freeMem": _conn(session).free_memory()}


@handler("NODE_GET_CELLS_FREE_MEMORY")
def _cells_free_memory(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    if args["maxcells"] > _NODE_MAX_CELLS:
        raise RPCError("maxCells > REMOTE_NODE_MAX_CELLS")
    return {"cells": _conn(session).cells_free_memory(args["startCell"], args["maxcells"])}


@handler("CONNECT_BASELINE_CPU")
def _baseline_cpu(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], _BASELINE_EXPAND_FEATURES, "virConnectBaselineCPU")
    return {"cpu": _conn(session).baseline_cpu(args["xmlCPUs"], bool(flags & _BASELINE_EXPAND_FEATURES))}


# -- domain lists ---------------------------------------------------------------------------------------

# virConnectListAllDomainsFlags
_ACTIVE, _INACTIVE, _PERSISTENT, _TRANSIENT = 1, 2, 4, 8
_RUNNING, _PAUSED, _SHUTOFF, _OTHER = 16, 32, 64, 128
_AUTOSTART, _NO_AUTOSTART, _HAS_SNAPSHOT, _NO_SNAPSHOT = 256, 512, 1024, 2048
_HAS_MANAGED_SAVE, _NO_MANAGED_SAVE = 4096, 8192


def _pair(flags: int, yes: int, no: int) -> bool | None:
    if flags & yes and not flags & no:
        return True
    if flags & no and not flags & yes:
        return False
    return None


def listed(dom: Domain, flags: int) -> bool:
    """Whether ``dom`` passes the filter bits of ``virConnectListAllDomains``' ``flags`` but the first
    two (active or inactive: :func:`active_filter`, for the caller's listing); ``NoDomainError``
    when it went away.

    Bits 0 to 7 (active ... other) mean the same in ``virConnectGetAllDomainStats``' flags.
    """
    persistent = _pair(flags, _PERSISTENT, _TRANSIENT)
    autostart = _pair(flags, _AUTOSTART, _NO_AUTOSTART)
    snapshot = _pair(flags, _HAS_SNAPSHOT, _NO_SNAPSHOT)
    managed = _pair(flags, _HAS_MANAGED_SAVE, _NO_MANAGED_SAVE)
    states = flags & (_RUNNING | _PAUSED | _SHUTOFF | _OTHER)
    if persistent is not None and dom.is_persistent() != persistent:
        return False
    if autostart is not None and dom.autostart != autostart:
        return False
    if snapshot is not None and bool(dom.list_snapshots()) != snapshot:
        return False
    if managed is True:  # virtcore keeps no managed save images
        return False
    if states:
        state = int(dom.state()[0])
        bit = {1: _RUNNING, 3: _PAUSED, 5: _SHUTOFF}.get(state, _OTHER)
        if not states & bit:
            return False
    return True


def active_filter(flags: int) -> bool | None:
    """The first two filter bits of ``flags`` (``_ACTIVE``, ``_INACTIVE``) as ``list_domains``' ``active``."""
    return _pair(flags, _ACTIVE, _INACTIVE)


@handler("CONNECT_LIST_ALL_DOMAINS")
def _list_all_domains(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x3FFF, "virConnectListAllDomains")
    from virtcore.errors import NoDomainError

    out = []
    for dom in _conn(session).list_domains(active=active_filter(flags)):
        try:
            if listed(dom, flags):
                out.append(wire_domain(dom))
        except NoDomainError:  # gone while listing
            continue
    return {"domains": out if args["need_results"] else [], "ret": len(out)}


@handler("CONNECT_NUM_OF_DOMAINS")
def _num_of_domains(session: Session, args: None) -> dict[str, Any]:
    return {"num": len(_conn(session).list_domains(active=True))}


@handler("CONNECT_LIST_DOMAINS")
def _list_domains(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    ids = [d.id for d in _conn(session).list_domains(active=True)]
    return {"ids": sorted(i for i in ids if i >= 0)[: max(args["maxids"], 0)]}


@handler("CONNECT_NUM_OF_DEFINED_DOMAINS")
def _num_of_defined(session: Session, args: None) -> dict[str, Any]:
    return {"num": len(_conn(session).list_domains(active=False))}


@handler("CONNECT_LIST_DEFINED_DOMAINS")
def _list_defined(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    names = [d.name for d in _conn(session).list_domains(active=False)]
    return {"names": names[: max(args["maxnames"], 0)]}


# -- lookups and definitions ------------------------------------------------------------------------------


@handler("DOMAIN_LOOKUP_BY_NAME")
def _lookup_by_name(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"dom": wire_domain(_conn(session).lookup_domain(args["name"]))}


@handler("DOMAIN_LOOKUP_BY_UUID")
def _lookup_by_uuid(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"dom": wire_domain(_conn(session).lookup_domain_by_uuid(uuid_str(args["uuid"])))}


@handler("DOMAIN_LOOKUP_BY_ID")
def _lookup_by_id(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"dom": wire_domain(_conn(session).lookup_domain_by_id(args["id"]), args["id"])}


@handler("DOMAIN_DEFINE_XML")
def _define(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"dom": wire_domain(_conn(session).define_domain(args["xml"]))}


@handler("DOMAIN_DEFINE_XML_FLAGS")
def _define_flags(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0x1, "virDomainDefineXMLFlags")  # VALIDATE: we always validate
    return {"dom": wire_domain(_conn(session).define_domain(args["xml"]))}


@handler("DOMAIN_CREATE_XML")
def _create_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0x10, "virDomainCreateXML")  # VALIDATE
    return {"dom": wire_domain(_conn(session).create_domain(args["xml_desc"]))}


@handler("DOMAIN_UNDEFINE")
def _undefine(session: Session, args: dict[str, Any]) -> None:
    domain_of(session, args["dom"]).undefine()


@handler("DOMAIN_UNDEFINE_FLAGS")
def _undefine_flags(session: Session, args: dict[str, Any]) -> None:
    # MANAGED_SAVE (1): there are none to remove; SNAPSHOTS_METADATA (2); NVRAM (4) / KEEP_NVRAM (8):
    # virtcore keeps no NVRAM files of its own; CHECKPOINTS_METADATA (16): none exist.
    flags = check_flags(args["flags"], 0x1F, "virDomainUndefineFlags")
    domain_of(session, args["dom"]).undefine(snapshots_metadata=bool(flags & 2))


# -- lifecycle ---------------------------------------------------------------------------------------------


@handler("DOMAIN_CREATE_WITH_FLAGS")
def _create_with_flags(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainCreateWithFlags")
    dom = domain_of(session, args["dom"])
    dom.start()
    return {"dom": wire_domain(dom)}


#: VIR_DOMAIN_SAVE_RUNNING and VIR_DOMAIN_SAVE_PAUSED: the state to restore into.
_SAVE_RUNNING, _SAVE_PAUSED = 2, 4


@handler("DOMAIN_SAVE")
def _save(session: Session, args: dict[str, Any]) -> None:
    domain_of(session, args["dom"]).save(args["to"])


@handler("DOMAIN_SAVE_FLAGS")
def _save_flags(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], _SAVE_RUNNING | _SAVE_PAUSED, "virDomainSaveFlags")
    if args["dxml"] is not None:
        raise NoSupportError("saving with a replacement XML (virDomainSaveFlags dxml)")
    dom = domain_of(session, args["dom"])
    dom.save(args["to"], running=bool(flags & _SAVE_RUNNING), paused=bool(flags & _SAVE_PAUSED))


@handler("DOMAIN_SAVE_IMAGE_GET_XML_DESC")
def _save_image_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0x1, "virDomainSaveImageGetXMLDesc")  # SECURE: nothing secret is kept
    return {"xml": _conn(session).save_image_xml_desc(args["file"])}


@handler("DOMAIN_RESTORE")
def _restore(session: Session, args: dict[str, Any]) -> None:
    _conn(session).restore_domain(args["from"])


@handler("DOMAIN_RESTORE_FLAGS")
def _restore_flags(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], _SAVE_RUNNING | _SAVE_PAUSED, "virDomainRestoreFlags")
    if args["dxml"] is not None:
        raise NoSupportError("restoring with a replacement XML (virDomainRestoreFlags dxml)")
    running, paused = bool(flags & _SAVE_RUNNING), bool(flags & _SAVE_PAUSED)
    _conn(session).restore_domain(args["from"], running=running, paused=paused)


# -- state and description -----------------------------------------------------------------------------


@handler("DOMAIN_GET_INFO")
def _get_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    info = domain_of(session, args["dom"]).info()
    return {
        "state": int(info.state),
        "maxMem": info.max_memory,
        "memory": info.memory,
        "nrVirtCpu": info.nr_virt_cpu,
        "cpuTime": info.cpu_time,
    }


@handler("DOMAIN_GET_CONTROL_INFO")
def _control_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainGetControlInfo")
    info = domain_of(session, args["dom"]).control_info()
    return {"state": int(info.state), "details": info.details, "stateTime": info.state_time}


@handler("DOMAIN_SET_MEMORY_STATS_PERIOD")
def _memory_stats_period(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], _AFFECT_LIVE | _AFFECT_CONFIG, "virDomainSetMemoryStatsPeriod")
    domain_of(session, args["dom"]).set_memory_stats_period(
        args["period"], live=bool(flags & _AFFECT_LIVE), config=bool(flags & _AFFECT_CONFIG)
    )


@handler("DOMAIN_GET_MEMORY_PARAMETERS")
def _memory_parameters(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    # libvirt's clients always say they take string parameters (memory ones are all numbers)
    check_flags(args["flags"], _TYPED_PARAM_STRING_OKAY, "virDomainGetMemoryParameters")
    wanted = args["nparams"]
    if wanted > _MEMORY_PARAMETERS_MAX:
        raise InternalError("nparams too large")
    params = domain_of(session, args["dom"]).memory_parameters()
    if wanted == 0:  # libvirt's clients ask how many there are first
        return {"params": [], "nparams": len(params)}
    kept = dict(list(params.items())[:wanted])
    wire = typedparams.to_wire(kept, dict.fromkeys(kept, typedparams.ULLONG))
    return {"params": wire, "nparams": len(kept)}


@handler("DOMAIN_SET_MEMORY_PARAMETERS")
def _set_memory_parameters(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0, "virDomainSetMemoryParameters")
    domain_of(session, args["dom"]).set_memory_parameters(typedparams.from_wire(args["params"]))


@handler("DOMAIN_GET_STATE")
def _get_state(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainGetState")
    state, reason = domain_of(session, args["dom"]).state()
    return {"state": int(state), "reason": int(reason)}


@handler("DOMAIN_GET_XML_DESC")
def _get_xml_desc(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    # SECURE (1): virtcore's XML holds no secrets it would hide; INACTIVE (2); UPDATE_CPU (4) and
    # MIGRATABLE (8) are refused.
    flags = check_flags(args["flags"], 0x3, "virDomainGetXMLDesc")
    return {"xml": domain_of(session, args["dom"]).xml_desc(inactive=bool(flags & 2))}


@handler("DOMAIN_IS_ACTIVE")
def _is_active(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"active": int(domain_of(session, args["dom"]).is_active())}


@handler("DOMAIN_GET_MAX_MEMORY")
def _get_max_memory(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"memory": domain_of(session, args["dom"]).info().max_memory}


@handler("DOMAIN_BLOCK_STATS")
def _block_stats(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    rd_req, rd_bytes, wr_req, wr_bytes, errs = domain_of(session, args["dom"]).block_stats(args["path"])
    return {"rd_req": rd_req, "rd_bytes": rd_bytes, "wr_req": wr_req, "wr_bytes": wr_bytes, "errs": errs}


@handler("DOMAIN_INTERFACE_STATS")
def _interface_stats(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stats = domain_of(session, args["dom"]).interface_stats(args["device"])
    keys = ("rx_bytes", "rx_packets", "rx_errs", "rx_drop", "tx_bytes", "tx_packets", "tx_errs", "tx_drop")
    return dict(zip(keys, stats, strict=True))


@handler("DOMAIN_HAS_MANAGED_SAVE_IMAGE")
def _has_managed_save(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainHasManagedSaveImage")
    domain_of(session, args["dom"])
    return {"result": 0}  # virtcore keeps no managed save images


@handler("DOMAIN_GET_OS_TYPE")
def _os_type(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    import re

    xml = domain_of(session, args["dom"]).xml_desc()
    m = re.search(r"<type\b[^>]*>\s*([^<\s]+)\s*</type>", xml)
    return {"type": m.group(1) if m else "hvm"}


# -- events ----------------------------------------------------------------------------------------------


@handler("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", inline=True)
def _event_register(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    event_id = args["eventID"]
    if not 0 <= event_id < 64:
        raise InvalidArgError(f"unsupported event ID {event_id}")
    dom = args["dom"]
    only = None if dom is None else uuid_str(dom["uuid"])

    def listen(conn: Connection, send: Callable[[str, EventBody], None]) -> int:
        if event_id != EVENT_ID_LIFECYCLE:
            return -1  # accepted, as libvirt's drivers accept ids they never produce

        def relay(dom: Domain, event: int, detail: int) -> None:
            if only is None or dom.uuid == only:
                send("DOMAIN_EVENT_CALLBACK_LIFECYCLE", functools.partial(_lifecycle, dom, event, detail))

        return conn.on_domain_event(relay)

    return {"callbackID": session.add_callback("domain", listen)}


def _lifecycle(dom: Domain, event: int, detail: int) -> dict[str, Any]:
    """A lifecycle MESSAGE's fields, with the domain's id asked of the driver (-1 once it is not running)."""
    try:
        dom_id = int(dom.id)
    except VirtError:
        dom_id = -1
    return {"msg": {"dom": wire_domain(dom, dom_id), "event": int(event), "detail": int(detail)}}


@handler("CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", inline=True)
def _event_deregister(session: Session, args: dict[str, Any]) -> None:
    session.remove_callback("domain", args["callbackID"])


@handler("CONNECT_REGISTER_CLOSE_CALLBACK", "CONNECT_UNREGISTER_CLOSE_CALLBACK", inline=True)
def _close_callback(session: Session, args: None) -> None:
    # The client learns of a closed connection from the socket closing; nothing to keep here.
    _conn(session)


@handler("DOMAIN_INTERFACE_ADDRESSES")
def _interface_addresses(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainInterfaceAddresses")
    from virtcore.network import InterfaceAddressSource

    try:
        source = InterfaceAddressSource(args["source"])
    except ValueError:
        raise InvalidArgError(f"unknown interface address source {args['source']}") from None
    ifaces = domain_of(session, args["dom"]).interface_addresses(source)
    return {
        "ifaces": [
            {
                "name": i.name,
                "hwaddr": i.hwaddr,
                "addrs": [{"type": int(a.type), "addr": a.addr, "prefix": a.prefix} for a in i.addrs],
            }
            for i in ifaces
        ]
    }


# -- the *_FLAGS variants virsh uses --------------------------------------------------------------------
# virDomainModificationImpact: CURRENT 0, LIVE 1, CONFIG 2. virtcore changes a domain's running and
# persistent definitions together, so LIVE and CONFIG are both what it does.


@handler("DOMAIN_SET_MEMORY_FLAGS")
def _set_memory_flags(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0x7, "virDomainSetMemoryFlags")  # MAXIMUM 4
    dom = domain_of(session, args["dom"])
    if flags & 4:
        dom.set_max_memory(args["memory"])
    else:
        dom.set_memory(args["memory"])


@handler("DOMAIN_SET_VCPUS_FLAGS")
def _set_vcpus_flags(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0x3, "virDomainSetVcpusFlags")  # MAXIMUM, GUEST, HOTPLUGGABLE refused
    domain_of(session, args["dom"]).set_vcpus(args["nvcpus"])


def _max_vcpus(xml: str) -> int:
    import re

    m = re.search(r"<vcpu\b[^>]*>\s*(\d+)\s*</vcpu>", xml)
    return int(m.group(1)) if m else 1


@handler("DOMAIN_GET_VCPUS_FLAGS")
def _get_vcpus_flags(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7, "virDomainGetVcpusFlags")  # MAXIMUM 4
    dom = domain_of(session, args["dom"])
    return {"num": _max_vcpus(dom.xml_desc()) if flags & 4 else dom.info().nr_virt_cpu}


@handler("DOMAIN_GET_MAX_VCPUS")
def _get_max_vcpus_of_domain(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"num": _max_vcpus(domain_of(session, args["dom"]).xml_desc())}


@handler("DOMAIN_ATTACH_DEVICE_FLAGS")
def _attach_flags(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0x3, "virDomainAttachDeviceFlags")
    domain_of(session, args["dom"]).attach_device(args["xml"])


@handler("DOMAIN_DETACH_DEVICE_FLAGS")
def _detach_flags(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0x3, "virDomainDetachDeviceFlags")
    domain_of(session, args["dom"]).detach_device(args["xml"])


@handler("CONNECT_DOMAIN_XML_TO_NATIVE")
def _xml_to_native(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virConnectDomainXMLToNative")
    return {"nativeConfig": _conn(session).domain_xml_to_native(args["nativeFormat"], args["domainXml"])}


@handler("CONNECT_DOMAIN_XML_FROM_NATIVE")
def _xml_from_native(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virConnectDomainXMLFromNative")
    return {"domainXml": _conn(session).domain_xml_from_native(args["nativeFormat"], args["nativeConfig"])}
