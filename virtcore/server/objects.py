"""The storage pools', volumes', networks' and snapshots' procedures, answered with the core's API.

Wire handles name objects as libvirt's daemon does: pools and networks by
UUID, volumes by key, snapshots by name within their domain. Flag numbers
are libvirt's (``virStoragePoolListAllFlags``, ``virDomainSnapshotCreateFlags``, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.errors import InvalidArgError
from virtcore.server.registry import check_flags, domain_of, handler, uuid_bytes, uuid_str, wire_domain

if TYPE_CHECKING:
    from virtcore.connection import Connection
    from virtcore.network import Network
    from virtcore.server.daemon import Session
    from virtcore.snapshot import DomainSnapshot
    from virtcore.storage import StoragePool, StorageVolume

__all__: list[str] = []


def _conn(session: Session) -> Connection:
    return session.connection()


def _pair(flags: int, yes: int, no: int) -> bool | None:
    if flags & yes and not flags & no:
        return True
    if flags & no and not flags & yes:
        return False
    return None


# -- storage pools ----------------------------------------------------------------------------------------


def wire_pool(pool: StoragePool) -> dict[str, Any]:
    """``remote_nonnull_storage_pool``."""
    return {"name": pool.name, "uuid": uuid_bytes(pool.uuid)}


def pool_of(session: Session, wire: dict[str, Any]) -> StoragePool:
    """The pool a wire handle names."""
    return _conn(session).lookup_storage_pool_by_uuid(uuid_str(wire["uuid"]))


@handler("CONNECT_LIST_ALL_STORAGE_POOLS")
def _list_pools(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    # INACTIVE 1, ACTIVE 2, PERSISTENT 4, TRANSIENT 8, AUTOSTART 16, NO_AUTOSTART 32; pool types
    # (64 and up) are accepted and matched against the pool XML's type.
    flags = args["flags"]
    pools = _conn(session).list_storage_pools(active=_pair(flags, 2, 1))
    persistent, autostart = _pair(flags, 4, 8), _pair(flags, 16, 32)
    types = _pool_types(flags >> 6)
    out = []
    for pool in pools:
        if persistent is not None and pool.is_persistent() != persistent:
            continue
        if autostart is not None and pool.autostart != autostart:
            continue
        if types and _pool_type(pool) not in types:
            continue
        out.append(wire_pool(pool))
    return {"pools": out if args["need_results"] else [], "ret": len(out)}


#: virConnectListAllStoragePoolsFlags' type bits, from bit 6 on, in order.
_POOL_TYPE_BITS = (
    "dir", "fs", "netfs", "logical", "disk", "iscsi", "scsi", "mpath", "rbd", "sheepdog", "gluster", "zfs",
    "vstorage", "iscsi-direct",
)  # fmt: skip


def _pool_types(bits: int) -> set[str]:
    return {name for i, name in enumerate(_POOL_TYPE_BITS) if bits & (1 << i)}


def _pool_type(pool: StoragePool) -> str:
    import re

    m = re.match(r"\s*<pool\s+type=['\"]([^'\"]+)", pool.xml_desc())
    return m.group(1) if m else ""


def _count_pools(active: bool) -> Any:
    def run(session: Session, args: None) -> dict[str, Any]:
        return {"num": len(_conn(session).list_storage_pools(active=active))}

    return run


def _name_pools(active: bool) -> Any:
    def run(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        names = [p.name for p in _conn(session).list_storage_pools(active=active)]
        return {"names": names[: max(args["maxnames"], 0)]}

    return run


handler("CONNECT_NUM_OF_STORAGE_POOLS")(_count_pools(True))
handler("CONNECT_NUM_OF_DEFINED_STORAGE_POOLS")(_count_pools(False))
handler("CONNECT_LIST_STORAGE_POOLS")(_name_pools(True))
handler("CONNECT_LIST_DEFINED_STORAGE_POOLS")(_name_pools(False))


@handler("STORAGE_POOL_LOOKUP_BY_NAME")
def _pool_by_name(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"pool": wire_pool(_conn(session).lookup_storage_pool(args["name"]))}


@handler("STORAGE_POOL_LOOKUP_BY_UUID")
def _pool_by_uuid(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"pool": wire_pool(pool_of(session, args))}


@handler("STORAGE_POOL_LOOKUP_BY_VOLUME")
def _pool_by_volume(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"pool": wire_pool(vol_of(session, args["vol"]).pool())}


@handler("STORAGE_POOL_DEFINE_XML")
def _pool_define(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0x1, "virStoragePoolDefineXML")  # VALIDATE: always
    return {"pool": wire_pool(_conn(session).define_storage_pool(args["xml"]))}


@handler("STORAGE_POOL_CREATE_XML")
def _pool_create_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7, "virStoragePoolCreateXML")  # BUILD, BUILD_(NO_)OVERWRITE
    return {"pool": wire_pool(_conn(session).create_storage_pool(args["xml"], build=bool(flags)))}


@handler("STORAGE_POOL_CREATE")
def _pool_create(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0x7, "virStoragePoolCreate")
    pool = pool_of(session, args["pool"])
    if flags:
        pool.build(overwrite=True if flags & 2 else False if flags & 4 else None)
    pool.start()


@handler("STORAGE_POOL_BUILD")
def _pool_build(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0xC, "virStoragePoolBuild")  # NO_OVERWRITE 4, OVERWRITE 8
    if flags == 0xC:
        raise InvalidArgError("flags 'overwrite' and 'no-overwrite' are mutually exclusive")
    pool_of(session, args["pool"]).build(overwrite=True if flags & 8 else False if flags & 4 else None)


@handler("STORAGE_POOL_GET_INFO")
def _pool_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    info = pool_of(session, args["pool"]).info()
    return {
        "state": int(info.state),
        "capacity": info.capacity,
        "allocation": info.allocation,
        "available": info.available,
    }


@handler("STORAGE_POOL_GET_XML_DESC")
def _pool_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x1, "virStoragePoolGetXMLDesc")  # INACTIVE
    return {"xml": pool_of(session, args["pool"]).xml_desc(inactive=bool(flags))}


@handler("STORAGE_POOL_IS_ACTIVE")
def _pool_is_active(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"active": int(pool_of(session, args["pool"]).is_active())}


@handler("STORAGE_POOL_NUM_OF_VOLUMES")
def _pool_num_volumes(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"num": len(pool_of(session, args["pool"]).list_volumes())}


@handler("STORAGE_POOL_LIST_VOLUMES")
def _pool_list_volume_names(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    names = [v.name for v in pool_of(session, args["pool"]).list_volumes()]
    return {"names": names[: max(args["maxnames"], 0)]}


@handler("STORAGE_POOL_LIST_ALL_VOLUMES")
def _pool_list_volumes(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virStoragePoolListAllVolumes")
    vols = [wire_vol(v) for v in pool_of(session, args["pool"]).list_volumes()]
    return {"vols": vols if args["need_results"] else [], "ret": len(vols)}


# -- storage volumes ----------------------------------------------------------------------------------------


def wire_vol(vol: StorageVolume) -> dict[str, Any]:
    """``remote_nonnull_storage_vol``."""
    return {"pool": vol.pool_name, "name": vol.name, "key": vol.key}


def vol_of(session: Session, wire: dict[str, Any]) -> StorageVolume:
    """The volume a wire handle names (by key, as libvirt's daemon finds it)."""
    return _conn(session).lookup_storage_volume_by_key(wire["key"])


@handler("STORAGE_VOL_LOOKUP_BY_NAME")
def _vol_by_name(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"vol": wire_vol(pool_of(session, args["pool"]).lookup_volume(args["name"]))}


@handler("STORAGE_VOL_LOOKUP_BY_KEY")
def _vol_by_key(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"vol": wire_vol(_conn(session).lookup_storage_volume_by_key(args["key"]))}


@handler("STORAGE_VOL_LOOKUP_BY_PATH")
def _vol_by_path(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"vol": wire_vol(_conn(session).lookup_storage_volume_by_path(args["path"]))}


@handler("STORAGE_VOL_CREATE_XML")
def _vol_create(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x5, "virStorageVolCreateXML")  # PREALLOC_METADATA 1, VALIDATE 4
    pool = pool_of(session, args["pool"])
    return {"vol": wire_vol(pool.create_volume(args["xml"], prealloc_metadata=bool(flags & 1)))}


@handler("STORAGE_VOL_CREATE_XML_FROM")
def _vol_create_from(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x5, "virStorageVolCreateXMLFrom")
    pool, source = pool_of(session, args["pool"]), vol_of(session, args["clonevol"])
    return {"vol": wire_vol(pool.create_volume_from(args["xml"], source, prealloc_metadata=bool(flags & 1)))}


@handler("STORAGE_VOL_DELETE")
def _vol_delete(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0, "virStorageVolDelete")
    vol_of(session, args["vol"]).delete()


@handler("STORAGE_VOL_WIPE")
def _vol_wipe(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0, "virStorageVolWipe")
    vol_of(session, args["vol"]).wipe()


@handler("STORAGE_VOL_WIPE_PATTERN")
def _vol_wipe_pattern(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0, "virStorageVolWipePattern")
    vol_of(session, args["vol"]).wipe(args["algorithm"])


@handler("STORAGE_VOL_RESIZE")
def _vol_resize(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0x7, "virStorageVolResize")  # ALLOCATE 1, DELTA 2, SHRINK 4
    vol_of(session, args["vol"]).resize(
        args["capacity"], allocate=bool(flags & 1), delta=bool(flags & 2), shrink=bool(flags & 4)
    )


def _vol_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    if "flags" in args:
        check_flags(args["flags"], 0, "virStorageVolGetInfoFlags")
    info = vol_of(session, args["vol"]).info()
    return {"type": int(info.type), "capacity": info.capacity, "allocation": info.allocation}


handler("STORAGE_VOL_GET_INFO", "STORAGE_VOL_GET_INFO_FLAGS")(_vol_info)


@handler("STORAGE_VOL_GET_XML_DESC")
def _vol_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virStorageVolGetXMLDesc")
    return {"xml": vol_of(session, args["vol"]).xml_desc()}


# -- networks -------------------------------------------------------------------------------------------


def wire_net(net: Network) -> dict[str, Any]:
    """``remote_nonnull_network``."""
    return {"name": net.name, "uuid": uuid_bytes(net.uuid)}


def net_of(session: Session, wire: dict[str, Any]) -> Network:
    """The network a wire handle names."""
    return _conn(session).lookup_network_by_uuid(uuid_str(wire["uuid"]))


@handler("CONNECT_LIST_ALL_NETWORKS")
def _list_networks(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    # INACTIVE 1, ACTIVE 2, PERSISTENT 4, TRANSIENT 8, AUTOSTART 16, NO_AUTOSTART 32
    flags = check_flags(args["flags"], 0x3F, "virConnectListAllNetworks")
    nets = _conn(session).list_networks(active=_pair(flags, 2, 1))
    persistent, autostart = _pair(flags, 4, 8), _pair(flags, 16, 32)
    out = [
        wire_net(n)
        for n in nets
        if (persistent is None or n.is_persistent() == persistent)
        and (autostart is None or n.autostart == autostart)
    ]
    return {"nets": out if args["need_results"] else [], "ret": len(out)}


def _count_nets(active: bool) -> Any:
    def run(session: Session, args: None) -> dict[str, Any]:
        return {"num": len(_conn(session).list_networks(active=active))}

    return run


def _name_nets(active: bool) -> Any:
    def run(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        names = [n.name for n in _conn(session).list_networks(active=active)]
        return {"names": names[: max(args["maxnames"], 0)]}

    return run


handler("CONNECT_NUM_OF_NETWORKS")(_count_nets(True))
handler("CONNECT_NUM_OF_DEFINED_NETWORKS")(_count_nets(False))
handler("CONNECT_LIST_NETWORKS")(_name_nets(True))
handler("CONNECT_LIST_DEFINED_NETWORKS")(_name_nets(False))


@handler("NETWORK_LOOKUP_BY_NAME")
def _net_by_name(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"net": wire_net(_conn(session).lookup_network(args["name"]))}


@handler("NETWORK_LOOKUP_BY_UUID")
def _net_by_uuid(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"net": wire_net(net_of(session, args))}


def _net_define(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    if "flags" in args:
        check_flags(args["flags"], 0x1, "virNetworkDefineXMLFlags")  # VALIDATE: always
    return {"net": wire_net(_conn(session).define_network(args["xml"]))}


def _net_create_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    if "flags" in args:
        check_flags(args["flags"], 0x1, "virNetworkCreateXMLFlags")
    return {"net": wire_net(_conn(session).create_network(args["xml"]))}


handler("NETWORK_DEFINE_XML", "NETWORK_DEFINE_XML_FLAGS")(_net_define)
handler("NETWORK_CREATE_XML", "NETWORK_CREATE_XML_FLAGS")(_net_create_xml)


@handler("NETWORK_GET_XML_DESC")
def _net_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x1, "virNetworkGetXMLDesc")  # INACTIVE
    return {"xml": net_of(session, args["net"]).xml_desc(inactive=bool(flags))}


@handler("NETWORK_UPDATE")
def _net_update(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0x3, "virNetworkUpdate")  # LIVE 1, CONFIG 2
    net_of(session, args["net"]).update(
        args["command"],
        args["section"],
        args["xml"],
        parent_index=args["parentIndex"],
        live=bool(flags & 1),
        config=bool(flags & 2),
    )


@handler("NETWORK_GET_DHCP_LEASES")
def _net_leases(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virNetworkGetDHCPLeases")
    leases = net_of(session, args["net"]).dhcp_leases(args["mac"])
    wire = [
        {
            "iface": lease.iface,
            "expirytime": lease.expirytime,
            "type": int(lease.type),
            "mac": lease.mac,
            "iaid": lease.iaid,
            "ipaddr": lease.ipaddr,
            "prefix": lease.prefix,
            "hostname": lease.hostname,
            "clientid": lease.clientid,
        }
        for lease in leases
    ]
    return {"leases": wire if args["need_results"] else [], "ret": len(wire)}


# -- snapshots ------------------------------------------------------------------------------------------


def wire_snap(snap: DomainSnapshot) -> dict[str, Any]:
    """``remote_nonnull_domain_snapshot``."""
    from virtcore.connection import Domain

    dom = snap.domain
    assert isinstance(dom, Domain)  # the only DomainSnapshotAPI
    return {"name": snap.name, "dom": wire_domain(dom)}


def snap_of(session: Session, wire: dict[str, Any]) -> DomainSnapshot:
    """The snapshot a wire handle names."""
    return domain_of(session, wire["dom"]).lookup_snapshot(wire["name"])


@handler("DOMAIN_SNAPSHOT_CREATE_XML")
def _snap_create(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x3FF, "virDomainSnapshotCreateXML")
    dom = domain_of(session, args["dom"])
    snap = dom.create_snapshot(
        args["xml_desc"] or None,
        redefine=bool(flags & 1),
        current=bool(flags & 2),
        no_metadata=bool(flags & 4),
        halt=bool(flags & 8),
        disk_only=bool(flags & 16),
        reuse_ext=bool(flags & 32),
        quiesce=bool(flags & 64),
        atomic=bool(flags & 128),
        live=bool(flags & 256),
    )
    return {"snap": wire_snap(snap)}


def _list_filter(flags: int) -> dict[str, Any]:
    """virDomainSnapshotListFlags (bit 0 is ROOTS or DESCENDANTS: the caller reads it) as keywords."""
    states = {name for bit, name in ((32, "shutoff"), (64, "active"), (128, "disk-snapshot")) if flags & bit}
    location = (
        "internal"
        if flags & 256 and not flags & 512
        else "external"
        if flags & 512 and not flags & 256
        else None
    )
    return {
        "leaves": _pair(flags, 4, 8),
        "metadata": _pair(flags, 2, 16),
        "states": states or None,
        "location": location,
        "topological": bool(flags & 1024),
    }


@handler("DOMAIN_LIST_ALL_SNAPSHOTS")
def _snap_list(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7FF, "virDomainListAllSnapshots")
    snaps = domain_of(session, args["dom"]).list_snapshots(roots=bool(flags & 1), **_list_filter(flags))
    out = [wire_snap(s) for s in snaps]
    return {"snapshots": out if args["need_results"] else [], "ret": len(out)}


@handler("DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN")
def _snap_children(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7FF, "virDomainSnapshotListAllChildren")
    snap = snap_of(session, args["snapshot"])
    out = [wire_snap(s) for s in snap.children(descendants=bool(flags & 1), **_list_filter(flags))]
    return {"snapshots": out if args["need_results"] else [], "ret": len(out)}


@handler("DOMAIN_SNAPSHOT_NUM")
def _snap_num(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7FF, "virDomainSnapshotNum")
    snaps = domain_of(session, args["dom"]).list_snapshots(roots=bool(flags & 1), **_list_filter(flags))
    return {"num": len(snaps)}


@handler("DOMAIN_SNAPSHOT_LIST_NAMES")
def _snap_names(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7FF, "virDomainSnapshotListNames")
    snaps = domain_of(session, args["dom"]).list_snapshots(roots=bool(flags & 1), **_list_filter(flags))
    return {"names": [s.name for s in snaps][: max(args["maxnames"], 0)]}


@handler("DOMAIN_SNAPSHOT_NUM_CHILDREN")
def _snap_num_children(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7FF, "virDomainSnapshotNumChildren")
    snap = snap_of(session, args["snap"])
    return {"num": len(snap.children(descendants=bool(flags & 1), **_list_filter(flags)))}


@handler("DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES")
def _snap_children_names(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x7FF, "virDomainSnapshotListChildrenNames")
    snap = snap_of(session, args["snap"])
    names = [s.name for s in snap.children(descendants=bool(flags & 1), **_list_filter(flags))]
    return {"names": names[: max(args["maxnames"], 0)]}


@handler("DOMAIN_SNAPSHOT_LOOKUP_BY_NAME")
def _snap_lookup(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainSnapshotLookupByName")
    return {"snap": wire_snap(domain_of(session, args["dom"]).lookup_snapshot(args["name"]))}


@handler("DOMAIN_HAS_CURRENT_SNAPSHOT")
def _snap_has_current(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainHasCurrentSnapshot")
    return {"result": int(domain_of(session, args["dom"]).has_current_snapshot())}


@handler("DOMAIN_SNAPSHOT_CURRENT")
def _snap_current(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainSnapshotCurrent")
    return {"snap": wire_snap(domain_of(session, args["dom"]).current_snapshot())}


@handler("DOMAIN_SNAPSHOT_GET_XML_DESC")
def _snap_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], 0x1, "virDomainSnapshotGetXMLDesc")  # SECURE
    return {"xml": snap_of(session, args["snap"]).xml_desc(secure=bool(flags))}


@handler("DOMAIN_SNAPSHOT_GET_PARENT")
def _snap_parent(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainSnapshotGetParent")
    return {"snap": wire_snap(snap_of(session, args["snap"]).parent())}


@handler("DOMAIN_SNAPSHOT_IS_CURRENT")
def _snap_is_current(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainSnapshotIsCurrent")
    return {"current": int(snap_of(session, args["snap"]).is_current())}


@handler("DOMAIN_SNAPSHOT_HAS_METADATA")
def _snap_has_metadata(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainSnapshotHasMetadata")
    return {"metadata": int(snap_of(session, args["snap"]).has_metadata())}


@handler("DOMAIN_REVERT_TO_SNAPSHOT")
def _snap_revert(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0x7, "virDomainRevertToSnapshot")  # RUNNING 1, PAUSED 2, FORCE 4
    snap_of(session, args["snap"]).revert(
        running=bool(flags & 1), paused=bool(flags & 2), force=bool(flags & 4)
    )


@handler("DOMAIN_SNAPSHOT_DELETE")
def _snap_delete(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(
        args["flags"], 0x7, "virDomainSnapshotDelete"
    )  # CHILDREN 1, METADATA_ONLY 2, CHILDREN_ONLY 4
    snap_of(session, args["snap"]).delete(
        children=bool(flags & 1), metadata_only=bool(flags & 2), children_only=bool(flags & 4)
    )
