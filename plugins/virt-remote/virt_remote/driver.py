"""The remote driver's hooks: each entry point of the core, as a call of libvirt's remote program.

One :class:`RemoteDriver` per connection, over one
:class:`~virt_remote.client.RemoteClient` run on the process's loop thread
(:mod:`virt_remote.loop`). The core addresses objects by UUID (domains,
pools, networks) or key (volumes); libvirt's procedures take handles
(``remote_nonnull_domain``: name, UUID, id). The daemon finds domains,
pools and networks by UUID, so a handle carries the UUID and the name last
seen for it; volumes are found by pool and name, so a key is looked up
(``STORAGE_VOL_LOOKUP_BY_KEY``) the first time it is seen without them.

Lifecycle events are registered with the callback variant
(``CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY``) when the daemon offers it,
the old one otherwise; with the callback variant, every network, storage
pool, node device and secret event id is registered too
(:data:`virtcore.rpc.objevents.OBJECT_EVENTS`). All reach the core through
``emit`` on a thread of their own, in the order the daemon sent them. The
guest agent's raw command (the QEMU program, not the remote one) is not
offered.
"""

from __future__ import annotations

import asyncio
import threading
import types
from collections.abc import Callable
from typing import Any

from virt_remote import loop
from virt_remote.client import RemoteClient
from virt_remote.hostobjects import HostObjectHooks, secret_ref
from virt_remote.options import RemoteOptions
from virt_remote.streams import RemoteDownload, RemoteUpload
from virtcore.errors import (
    InternalError,
    InvalidArgError,
    NoDomainError,
    NoSupportError,
    OperationInvalidError,
)
from virtcore.hookspecs import hookimpl
from virtcore.network import (
    DomainInterface,
    InterfaceAddress,
    InterfaceAddressSource,
    IPAddrType,
    NetworkDHCPLease,
    NetworkRef,
    NetworkSection,
    NetworkUpdateCommand,
)
from virtcore.nodedev import NodeDeviceRef
from virtcore.objevents import (
    AnyObjectEvent,
    NetworkLifecycleEvent,
    NodeDeviceLifecycleEvent,
    NodeDeviceUpdateEvent,
    SecretLifecycleEvent,
    SecretValueChangedEvent,
    StoragePoolLifecycleEvent,
    StoragePoolRefreshEvent,
)
from virtcore.rpc.calls import CALLS, Call, Target
from virtcore.rpc.cpumap import maplen_for, pack_cpumap, unpack_cpumap
from virtcore.rpc.objevents import OBJECT_EVENTS, by_message
from virtcore.rpc.protocol import Procedure
from virtcore.rpc.tunables import TUNABLES, TYPED_PARAM_STRING_OKAY, Side, Tunable
from virtcore.rpc.typedparams import ULLONG, from_wire, to_wire, types_of
from virtcore.snapshot import SnapshotRef
from virtcore.storage import (
    StoragePoolInfo,
    StoragePoolRef,
    StoragePoolState,
    StorageVolInfo,
    StorageVolRef,
    StorageVolType,
)
from virtcore.types import (
    ControlInfo,
    ControlState,
    DomainEvent,
    DomainEventType,
    DomainInfo,
    DomainRef,
    DomainState,
    NodeInfo,
    SecurityModel,
)

__all__ = ["RemoteDriver"]

Wire = dict[str, Any]

# libvirt's flags (libvirt-domain.h, libvirt-storage.h, libvirt-network.h, libvirt-domain-snapshot.h)
_LIST_ACTIVE_DOMAINS, _LIST_INACTIVE_DOMAINS = 1, 2
_LIST_INACTIVE, _LIST_ACTIVE = 1, 2  # pools and networks
_XML_SECURE, _XML_INACTIVE = 1, 2
_UNDEFINE_SNAPSHOTS_METADATA = 2
#: VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_AFFECT_CONFIG, VIR_DOMAIN_VCPU_MAXIMUM.
_AFFECT_LIVE, _AFFECT_CONFIG, _VCPU_MAXIMUM = 1, 2, 4
_POOL_BUILD_NO_OVERWRITE, _POOL_BUILD_OVERWRITE = 4, 8
_POOL_CREATE_WITH_BUILD = 1
_VOL_PREALLOC_METADATA = 1
_VOL_RESIZE_ALLOCATE, _VOL_RESIZE_DELTA, _VOL_RESIZE_SHRINK = 1, 2, 4
_NETWORK_UPDATE_LIVE, _NETWORK_UPDATE_CONFIG = 1, 2
_SNAP_CREATE = {
    "redefine": 1,
    "current": 2,
    "no_metadata": 4,
    "halt": 8,
    "disk_only": 16,
    "reuse_ext": 32,
    "quiesce": 64,
    "atomic": 128,
    "live": 256,
}
_SNAP_LIST_ROOTS = _SNAP_LIST_DESCENDANTS = 1
_SNAP_LIST_METADATA, _SNAP_LIST_LEAVES, _SNAP_LIST_NO_LEAVES, _SNAP_LIST_NO_METADATA = 2, 4, 8, 16
_SNAP_LIST_STATES = {"inactive": 32, "active": 64, "disk-only": 128}
_SNAP_LIST_LOCATION = {"internal": 256, "external": 512}
_SNAP_LIST_TOPOLOGICAL = 1024
_SNAP_REVERT_RUNNING, _SNAP_REVERT_PAUSED, _SNAP_REVERT_FORCE = 1, 2, 4
_SNAP_DELETE_CHILDREN, _SNAP_DELETE_METADATA_ONLY, _SNAP_DELETE_CHILDREN_ONLY = 1, 2, 4
_SNAP_XML_SECURE = 1
#: ``VIR_DOMAIN_EVENT_ID_LIFECYCLE``.
_EVENT_LIFECYCLE = 0
#: ``VIR_DOMAIN_SHUTOFF``.
_STATE_SHUTOFF = 5
_AFFECT_LIVE, _AFFECT_CONFIG = 1, 2
_BASELINE_EXPAND_FEATURES = 1
#: ``REMOTE_NODE_MAX_CELLS``, ``REMOTE_DOMAIN_MEMORY_PARAMETERS_MAX``.
_NODE_MAX_CELLS = 1024
_MEMORY_PARAMETERS_MAX = 16
#: Each object kind's records of :mod:`virtcore.objevents`, by event id.
_OBJECT_RECORDS: dict[str, tuple[Callable[..., AnyObjectEvent], ...]] = {
    "network": (NetworkLifecycleEvent,),
    "storage_pool": (StoragePoolLifecycleEvent, StoragePoolRefreshEvent),
    "node_device": (NodeDeviceLifecycleEvent, NodeDeviceUpdateEvent),
    "secret": (SecretLifecycleEvent, SecretValueChangedEvent),
}


def _unoffered(error: BaseException) -> bool:
    """Whether a registration failed only because the daemon's driver lacks that kind of object."""
    return isinstance(error, NoSupportError)


def _uuid_bytes(uuid: str) -> bytes:
    """The 16 bytes of a UUID string (the core hands canonical ones; anything else is refused)."""
    try:
        raw = bytes.fromhex(uuid.replace("-", ""))
    except (ValueError, AttributeError):
        raw = b""
    if len(raw) != 16:
        raise InvalidArgError(f"not a UUID: {uuid!r}")
    return raw


def _uuid_str(raw: bytes) -> str:
    """The canonical string of a UUID's 16 bytes (str.format, not uuid.UUID: lists of thousands)."""
    h = bytes(raw).hex()
    if len(h) != 32:
        raise InvalidArgError(f"a UUID of {len(raw)} bytes from the daemon")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _c_string(raw: bytes) -> str:
    """A C string sent with its NUL (and maybe padding) as text."""
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")


def _tristate(value: bool | None, yes: int, no: int) -> int:
    return 0 if value is None else (yes if value else no)


def _affect_flags(live: bool, config: bool) -> int:
    return (_AFFECT_LIVE if live else 0) | (_AFFECT_CONFIG if config else 0)


class RemoteDriver(HostObjectHooks):
    """Every hook the remote program can serve, for one connection to one daemon.

    The node device, host interface and secret hooks are :class:`~virt_remote.hostobjects.HostObjectHooks`'.
    """

    def __init__(self, opts: RemoteOptions, client: RemoteClient) -> None:
        self._opts = opts
        self._client = client
        self._lock = threading.Lock()
        self._domains: dict[str, tuple[str, int]] = {}
        self._pools: dict[str, str] = {}
        self._networks: dict[str, str] = {}
        self._volumes: dict[str, tuple[str, str]] = {}
        self._secrets: dict[str, tuple[int, str]] = {}
        self._ifaces: dict[str, str] = {}
        self._emit: Callable[[DomainEvent | AnyObjectEvent], None] | None = None
        self._pump: loop.EventPump | None = None

    # -- plumbing -----------------------------------------------------------

    def _call(self, procedure: str, args: Wire | None = None) -> Any:
        return self._client.call_blocking(procedure, args)

    def _domref(self, wire: Wire) -> DomainRef:
        uuid = _uuid_str(wire["uuid"])
        self._domains[uuid] = (wire["name"], wire["id"])
        return DomainRef(wire["name"], uuid, wire["id"])

    def _dom(self, uuid: str) -> Wire:
        name, id_ = self._domains.get(uuid, ("", -1))
        return {"name": name, "uuid": _uuid_bytes(uuid), "id": id_}

    def _poolref(self, wire: Wire) -> StoragePoolRef:
        uuid = _uuid_str(wire["uuid"])
        self._pools[uuid] = wire["name"]
        return StoragePoolRef(wire["name"], uuid)

    def _pool(self, uuid: str) -> Wire:
        return {"name": self._pools.get(uuid, ""), "uuid": _uuid_bytes(uuid)}

    def _volref(self, wire: Wire) -> StorageVolRef:
        self._volumes[wire["key"]] = (wire["pool"], wire["name"])
        return StorageVolRef(wire["pool"], wire["name"], wire["key"])

    def _vol(self, key: str) -> Wire:
        found = self._volumes.get(key)
        if found is None:
            ref = self._volref(self._call("STORAGE_VOL_LOOKUP_BY_KEY", {"key": key})["vol"])
            found = (ref.pool, ref.name)
        return {"pool": found[0], "name": found[1], "key": key}

    def _netref(self, wire: Wire) -> NetworkRef:
        uuid = _uuid_str(wire["uuid"])
        self._networks[uuid] = wire["name"]
        return NetworkRef(wire["name"], uuid)

    def _net(self, uuid: str) -> Wire:
        return {"name": self._networks.get(uuid, ""), "uuid": _uuid_bytes(uuid)}

    def _handle(self, target: Target, ident: str) -> Wire:
        """The wire handle of the object a hook names (a UUID, a volume's key, an interface's name)."""
        if target == "dom":
            return self._dom(ident)
        if target == "net":
            return self._net(ident)
        if target == "pool":
            return self._pool(ident)
        if target == "secret":
            return self._secret(ident)
        if target == "iface":
            return self._iface(ident)
        return self._vol(ident)

    def _void(self, target: Target, procedure: str, ident: str, **extra: Any) -> bool:
        self._call(procedure, {target: self._handle(target, ident), **extra})
        return True

    def _snapref(self, wire: Wire) -> SnapshotRef:
        return SnapshotRef(wire["name"], self._domref(wire["dom"]).uuid)

    def _snap(self, uuid: str, name: str) -> Wire:
        return {"name": name, "dom": self._dom(uuid)}

    # -- connection ---------------------------------------------------------

    @hookimpl
    def virt_connect_open(self, emit: Callable[[DomainEvent | AnyObjectEvent], None]) -> None:
        """Deliver the daemon's lifecycle events and its object events through ``emit``."""
        self._emit = emit
        self._pump = loop.EventPump(emit, f"virt-remote events {self._client.what}")
        loop.run(self._register_events())

    async def _register_events(self) -> None:
        """Register for domain lifecycle events and every object event, all calls in flight at once.

        The object events (networks', pools', node devices', secrets') need the
        callback procedures (libvirt >= 1.2.1); a kind the daemon's driver does
        not offer (``NO_SUPPORT``: a hypervisor URI with no node device driver)
        is left unheard, as nothing of that kind can change there.
        """
        client = self._client
        if not client.event_callbacks:
            await client.call("CONNECT_DOMAIN_EVENT_REGISTER_ANY", {"eventID": _EVENT_LIFECYCLE})
            return
        domain = client.call(
            "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", {"eventID": _EVENT_LIFECYCLE, "dom": None}
        )
        objects = [
            client.call(events.register, {"eventID": event_id, events.field: None})
            for events in OBJECT_EVENTS
            for event_id in range(len(events.messages))
        ]
        answers = await asyncio.gather(domain, *objects, return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException) and (answer is answers[0] or not _unoffered(answer)):
                raise answer

    def on_event(self, proc: Procedure, value: Any) -> None:
        """The client's event handler (loop thread): lifecycle and object events to the pump."""
        pump = self._pump
        if pump is None:
            return
        if proc.name == "DOMAIN_EVENT_CALLBACK_LIFECYCLE":
            msg = value["msg"]
        elif proc.name == "DOMAIN_EVENT_LIFECYCLE":
            msg = value
        else:
            record = self._object_event(proc.name, value)
            if record is not None:
                pump.put(record)
            return
        try:
            event = DomainEventType(msg["event"])
        except ValueError:
            return  # an event type newer than this virtcore
        pump.put(DomainEvent(self._domref(msg["dom"]), event, msg["detail"]))

    def _object_event(self, procedure: str, msg: Wire) -> AnyObjectEvent | None:
        """The record of :mod:`virtcore.objevents` an object event's MESSAGE carries (``None``: none)."""
        found = by_message(procedure)
        if found is None:
            return None  # an event this virtcore does not relay
        events, event_id = found
        wire = msg[events.field]
        ref: Any
        if events.kind == "network":
            ref = self._netref(wire)
        elif events.kind == "storage_pool":
            ref = self._poolref(wire)
        elif events.kind == "node_device":
            ref = NodeDeviceRef(wire["name"], None)  # the message names no parent
        else:
            try:
                ref = secret_ref(wire)
            except InternalError:
                return None  # a usage type newer than this virtcore
        record = _OBJECT_RECORDS[events.kind][event_id]
        return record(ref, msg["event"], msg["detail"]) if "event" in msg else record(ref)

    @hookimpl
    def virt_connect_close(self) -> None:
        """``CONNECT_CLOSE`` and the end of the transport; queued events are delivered first."""
        try:
            loop.run(self._client.aclose())
        finally:
            if self._pump is not None:
                self._pump.stop()

    @hookimpl
    def virt_connect_get_type(self) -> str:
        """``CONNECT_GET_TYPE``."""
        return str(self._call("CONNECT_GET_TYPE")["type"])

    @hookimpl
    def virt_connect_get_version(self) -> int:
        """``CONNECT_GET_VERSION``."""
        return int(self._call("CONNECT_GET_VERSION")["hv_ver"])

    @hookimpl
    def virt_connect_get_hostname(self) -> str:
        """``CONNECT_GET_HOSTNAME``."""
        return str(self._call("CONNECT_GET_HOSTNAME")["hostname"])

    @hookimpl
    def virt_connect_get_capabilities(self) -> str:
        """``CONNECT_GET_CAPABILITIES``."""
        return str(self._call("CONNECT_GET_CAPABILITIES")["capabilities"])

    @hookimpl
    def virt_connect_domain_xml_to_native(self, native_format: str, xml: str) -> str:
        """``CONNECT_DOMAIN_XML_TO_NATIVE``."""
        args = {"nativeFormat": native_format, "domainXml": xml, "flags": 0}
        return str(self._call("CONNECT_DOMAIN_XML_TO_NATIVE", args)["nativeConfig"])

    @hookimpl
    def virt_connect_domain_xml_from_native(self, native_format: str, config: str) -> str:
        """``CONNECT_DOMAIN_XML_FROM_NATIVE``."""
        args = {"nativeFormat": native_format, "nativeConfig": config, "flags": 0}
        return str(self._call("CONNECT_DOMAIN_XML_FROM_NATIVE", args)["domainXml"])

    @hookimpl
    def virt_node_get_info(self) -> NodeInfo:
        """``NODE_GET_INFO`` (the model travels as 32 chars, NUL-padded)."""
        r = self._call("NODE_GET_INFO")
        model = bytes(r["model"]).split(b"\0", 1)[0].decode("utf-8", "replace")
        return NodeInfo(
            model, r["memory"], r["cpus"], r["mhz"], r["nodes"], r["sockets"], r["cores"], r["threads"]
        )

    @hookimpl
    def virt_node_get_free_memory(self) -> int:
        """``NODE_GET_FREE_MEMORY``."""
        return int(self._call("NODE_GET_FREE_MEMORY")["freeMem"])

    @hookimpl
    def virt_node_get_cells_free_memory(self, start_cell: int, max_cells: int) -> list[int]:
        """``NODE_GET_CELLS_FREE_MEMORY`` (at most the protocol's 1024 cells in one answer)."""
        args = {"startCell": start_cell, "maxcells": min(max_cells, _NODE_MAX_CELLS)}
        return [int(c) for c in self._call("NODE_GET_CELLS_FREE_MEMORY", args)["cells"]]

    @hookimpl
    def virt_node_get_security_model(self) -> SecurityModel:
        """``NODE_GET_SECURITY_MODEL`` (each string travels with its NUL)."""
        r = self._call("NODE_GET_SECURITY_MODEL")
        return SecurityModel(_c_string(r["model"]), _c_string(r["doi"]))

    @hookimpl
    def virt_connect_baseline_cpu(self, xml_cpus: list[str], expand_features: bool) -> str:
        """``CONNECT_BASELINE_CPU``."""
        args = {"xmlCPUs": xml_cpus, "flags": _BASELINE_EXPAND_FEATURES if expand_features else 0}
        return str(self._call("CONNECT_BASELINE_CPU", args)["cpu"])

    # -- domains ------------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_domains(self, active: bool | None) -> list[DomainRef]:
        """``CONNECT_LIST_ALL_DOMAINS``."""
        flags = _tristate(active, _LIST_ACTIVE_DOMAINS, _LIST_INACTIVE_DOMAINS)
        r = self._call("CONNECT_LIST_ALL_DOMAINS", {"need_results": 1, "flags": flags})
        return [self._domref(d) for d in r["domains"]]

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        """``DOMAIN_LOOKUP_BY_NAME``."""
        return self._domref(self._call("DOMAIN_LOOKUP_BY_NAME", {"name": name})["dom"])

    @hookimpl
    def virt_domain_lookup_by_uuid(self, uuid: str) -> DomainRef:
        """``DOMAIN_LOOKUP_BY_UUID``."""
        return self._domref(self._call("DOMAIN_LOOKUP_BY_UUID", {"uuid": _uuid_bytes(uuid)})["dom"])

    @hookimpl
    def virt_domain_lookup_by_id(self, id: int) -> DomainRef:  # noqa: A002 - the hook's name
        """``DOMAIN_LOOKUP_BY_ID``."""
        return self._domref(self._call("DOMAIN_LOOKUP_BY_ID", {"id": id})["dom"])

    @hookimpl
    def virt_domain_define_xml(self, xml: str) -> DomainRef:
        """``DOMAIN_DEFINE_XML``."""
        return self._domref(self._call("DOMAIN_DEFINE_XML", {"xml": xml})["dom"])

    @hookimpl
    def virt_domain_create_xml(self, xml: str) -> DomainRef:
        """``DOMAIN_CREATE_XML``."""
        return self._domref(self._call("DOMAIN_CREATE_XML", {"xml_desc": xml, "flags": 0})["dom"])

    @hookimpl
    def virt_domain_undefine(self, uuid: str, snapshots_metadata: bool) -> bool:
        """``DOMAIN_UNDEFINE_FLAGS``."""
        flags = _UNDEFINE_SNAPSHOTS_METADATA if snapshots_metadata else 0
        self._call("DOMAIN_UNDEFINE_FLAGS", {"dom": self._dom(uuid), "flags": flags})
        return True

    # -- pinning and I/O threads (CPU maps packed as libvirt packs them) -------------

    def _host_cpus(self) -> int:
        info = self.virt_node_get_info()
        return int(info.nodes * info.sockets * info.cores * info.threads)

    @hookimpl
    def virt_node_get_cpu_map(self) -> list[bool]:
        """``NODE_GET_CPU_MAP``: one flag per host CPU, set when it is online."""
        r = self._call("NODE_GET_CPU_MAP", {"need_map": 1, "need_online": 1, "flags": 0})
        return list(unpack_cpumap(bytes(r["cpumap"]), r["ret"]))

    @hookimpl
    def virt_domain_pin_vcpu(self, uuid: str, vcpu: int, cpumap: tuple[bool, ...]) -> bool:
        """``DOMAIN_PIN_VCPU``."""
        self._call("DOMAIN_PIN_VCPU", {"dom": self._dom(uuid), "vcpu": vcpu, "cpumap": pack_cpumap(cpumap)})
        return True

    @hookimpl
    def virt_domain_get_vcpu_pin_info(self, uuid: str, live: bool, config: bool) -> list[tuple[bool, ...]]:
        """``DOMAIN_GET_VCPUS_FLAGS`` (the maximum), then ``DOMAIN_GET_VCPU_PIN_INFO``."""
        flags = _affect_flags(live, config)
        count = self._call(
            "DOMAIN_GET_VCPUS_FLAGS", {"dom": self._dom(uuid), "flags": flags | _VCPU_MAXIMUM}
        )["num"]
        width = self._host_cpus()
        maplen = maplen_for(width)
        args = {"dom": self._dom(uuid), "ncpumaps": count, "maplen": maplen, "flags": flags}
        r = self._call("DOMAIN_GET_VCPU_PIN_INFO", args)
        data = bytes(r["cpumaps"])
        return [unpack_cpumap(data[i * maplen : (i + 1) * maplen], width) for i in range(r["num"])]

    @hookimpl
    def virt_domain_pin_emulator(self, uuid: str, cpumap: tuple[bool, ...], live: bool, config: bool) -> bool:
        """``DOMAIN_PIN_EMULATOR``."""
        args = {"dom": self._dom(uuid), "cpumap": pack_cpumap(cpumap), "flags": _affect_flags(live, config)}
        self._call("DOMAIN_PIN_EMULATOR", args)
        return True

    @hookimpl
    def virt_domain_get_emulator_pin_info(self, uuid: str, live: bool, config: bool) -> tuple[bool, ...]:
        """``DOMAIN_GET_EMULATOR_PIN_INFO``."""
        width = self._host_cpus()
        maplen = maplen_for(width)
        args = {"dom": self._dom(uuid), "maplen": maplen, "flags": _affect_flags(live, config)}
        return unpack_cpumap(bytes(self._call("DOMAIN_GET_EMULATOR_PIN_INFO", args)["cpumaps"]), width)

    @hookimpl
    def virt_domain_get_io_thread_info(
        self, uuid: str, live: bool, config: bool
    ) -> list[tuple[int, tuple[bool, ...]]]:
        """``DOMAIN_GET_IOTHREAD_INFO``."""
        width = self._host_cpus()
        args = {"dom": self._dom(uuid), "flags": _affect_flags(live, config)}
        info = self._call("DOMAIN_GET_IOTHREAD_INFO", args)["info"]
        return [(t["iothread_id"], unpack_cpumap(bytes(t["cpumap"]), width)) for t in info]

    @hookimpl
    def virt_domain_get_io_thread_stats(self, uuid: str) -> list[tuple[int, dict[str, int]]]:
        """``CONNECT_GET_ALL_DOMAIN_STATS`` of this one domain, its ``state`` and ``iothread`` groups.

        libvirt leaves the I/O threads out of a shut-off domain's record: its state tells
        which. A record missing altogether (the daemon skips a domain that is gone) is the
        daemon's own error of a lookup (``DOMAIN_LOOKUP_BY_UUID``).
        """
        from virtcore import domstats

        wanted = domstats.STATS_STATE | domstats.STATS_IOTHREAD
        args = {"doms": [self._dom(uuid)], "stats": wanted, "flags": 0}
        records = self._call("CONNECT_GET_ALL_DOMAIN_STATS", args)["retStats"]
        if not records:
            self._domref(self._call("DOMAIN_LOOKUP_BY_UUID", {"uuid": _uuid_bytes(uuid)})["dom"])
            raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        params = from_wire(records[0]["params"])
        if params.get("state.state") == _STATE_SHUTOFF:
            raise OperationInvalidError(f"domain '{records[0]['dom']['name']}' is not running")
        return domstats.iothreads_of(params)

    @hookimpl
    def virt_domain_pin_io_thread(
        self, uuid: str, iothread_id: int, cpumap: tuple[bool, ...], live: bool, config: bool
    ) -> bool:
        """``DOMAIN_PIN_IOTHREAD``."""
        args = {
            "dom": self._dom(uuid),
            "iothreads_id": iothread_id,
            "cpumap": pack_cpumap(cpumap),
            "flags": _affect_flags(live, config),
        }
        self._call("DOMAIN_PIN_IOTHREAD", args)
        return True

    @hookimpl
    def virt_domain_add_io_thread(self, uuid: str, iothread_id: int, live: bool, config: bool) -> bool:
        """``DOMAIN_ADD_IOTHREAD``."""
        args = {"dom": self._dom(uuid), "iothread_id": iothread_id, "flags": _affect_flags(live, config)}
        self._call("DOMAIN_ADD_IOTHREAD", args)
        return True

    @hookimpl
    def virt_domain_del_io_thread(self, uuid: str, iothread_id: int, live: bool, config: bool) -> bool:
        """``DOMAIN_DEL_IOTHREAD``."""
        args = {"dom": self._dom(uuid), "iothread_id": iothread_id, "flags": _affect_flags(live, config)}
        self._call("DOMAIN_DEL_IOTHREAD", args)
        return True

    @hookimpl
    def virt_domain_save(self, uuid: str, path: str, running: bool, paused: bool) -> bool:
        """``DOMAIN_SAVE``; ``DOMAIN_SAVE_FLAGS`` with VIR_DOMAIN_SAVE_RUNNING / _PAUSED."""
        flags = _save_flags(running, paused)
        if flags:
            self._call(
                "DOMAIN_SAVE_FLAGS", {"dom": self._dom(uuid), "to": path, "dxml": None, "flags": flags}
            )
        else:
            self._call("DOMAIN_SAVE", {"dom": self._dom(uuid), "to": path})
        return True

    @hookimpl
    def virt_domain_restore(self, path: str, running: bool, paused: bool) -> DomainRef:
        """``DOMAIN_RESTORE`` (``_FLAGS`` to choose its state); the image first says which domain it was."""
        xml = self._call("DOMAIN_SAVE_IMAGE_GET_XML_DESC", {"file": path, "flags": 0})["xml"]
        flags = _save_flags(running, paused)
        if flags:
            self._call("DOMAIN_RESTORE_FLAGS", {"from": path, "dxml": None, "flags": flags})
        else:
            self._call("DOMAIN_RESTORE", {"from": path})
        from virtcore.xml.domain import parse_domain

        return self.virt_domain_lookup_by_uuid(parse_domain(xml).uuid)

    @hookimpl
    def virt_domain_save_image_get_xml_desc(self, path: str) -> str:
        """``DOMAIN_SAVE_IMAGE_GET_XML_DESC``."""
        return str(self._call("DOMAIN_SAVE_IMAGE_GET_XML_DESC", {"file": path, "flags": 0})["xml"])

    @hookimpl
    def virt_domain_get_control_info(self, uuid: str) -> ControlInfo:
        """``DOMAIN_GET_CONTROL_INFO``."""
        r = self._call("DOMAIN_GET_CONTROL_INFO", {"dom": self._dom(uuid), "flags": 0})
        return ControlInfo(ControlState(r["state"]), r["details"], r["stateTime"])

    @hookimpl
    def virt_domain_set_memory_stats_period(self, uuid: str, period: int, live: bool, config: bool) -> bool:
        """``DOMAIN_SET_MEMORY_STATS_PERIOD``."""
        flags = (_AFFECT_LIVE if live else 0) | (_AFFECT_CONFIG if config else 0)
        return self._void("dom", "DOMAIN_SET_MEMORY_STATS_PERIOD", uuid, period=period, flags=flags)

    @hookimpl
    def virt_domain_get_memory_parameters(self, uuid: str) -> dict[str, int]:
        """``DOMAIN_GET_MEMORY_PARAMETERS`` (asking for the protocol's most, 16, in one call)."""
        args = {"dom": self._dom(uuid), "nparams": _MEMORY_PARAMETERS_MAX, "flags": 0}
        params = from_wire(self._call("DOMAIN_GET_MEMORY_PARAMETERS", args)["params"])
        return {name: int(value) for name, value in params.items()}

    @hookimpl
    def virt_domain_set_memory_parameters(self, uuid: str, params: dict[str, int]) -> bool:
        """``DOMAIN_SET_MEMORY_PARAMETERS`` (every limit an unsigned long long, as libvirt types them)."""
        wire = to_wire(params, dict.fromkeys(params, ULLONG))
        return self._void("dom", "DOMAIN_SET_MEMORY_PARAMETERS", uuid, params=wire, flags=0)

    @hookimpl
    def virt_domain_get_info(self, uuid: str) -> DomainInfo:
        """``DOMAIN_GET_INFO``."""
        r = self._call("DOMAIN_GET_INFO", {"dom": self._dom(uuid)})
        return DomainInfo(DomainState(r["state"]), r["maxMem"], r["memory"], r["nrVirtCpu"], r["cpuTime"])

    @hookimpl
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int]:
        """``DOMAIN_GET_STATE``."""
        r = self._call("DOMAIN_GET_STATE", {"dom": self._dom(uuid), "flags": 0})
        return DomainState(r["state"]), int(r["reason"])

    @hookimpl
    def virt_domain_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        """``DOMAIN_GET_XML_DESC``."""
        flags = _XML_INACTIVE if inactive else 0
        return str(self._call("DOMAIN_GET_XML_DESC", {"dom": self._dom(uuid), "flags": flags})["xml"])

    @hookimpl
    def virt_domain_block_stats(self, uuid: str, device: str) -> tuple[int, int, int, int, int]:
        """``DOMAIN_BLOCK_STATS``."""
        r = self._call("DOMAIN_BLOCK_STATS", {"dom": self._dom(uuid), "path": device})
        return r["rd_req"], r["rd_bytes"], r["wr_req"], r["wr_bytes"], r["errs"]

    @hookimpl
    def virt_domain_interface_stats(
        self, uuid: str, device: str
    ) -> tuple[int, int, int, int, int, int, int, int]:
        """``DOMAIN_INTERFACE_STATS``."""
        r = self._call("DOMAIN_INTERFACE_STATS", {"dom": self._dom(uuid), "device": device})
        return (
            r["rx_bytes"],
            r["rx_packets"],
            r["rx_errs"],
            r["rx_drop"],
            r["tx_bytes"],
            r["tx_packets"],
            r["tx_errs"],
            r["tx_drop"],
        )

    @hookimpl
    def virt_domain_interface_addresses(
        self, uuid: str, source: InterfaceAddressSource
    ) -> list[DomainInterface]:
        """``DOMAIN_INTERFACE_ADDRESSES``."""
        args = {"dom": self._dom(uuid), "source": int(source), "flags": 0}
        found = []
        for iface in self._call("DOMAIN_INTERFACE_ADDRESSES", args)["ifaces"]:
            addrs = tuple(
                InterfaceAddress(IPAddrType(a["type"]), a["addr"], a["prefix"]) for a in iface["addrs"]
            )
            found.append(DomainInterface(iface["name"], iface["hwaddr"], addrs))
        return found

    @hookimpl
    def virt_domain_get_guest_info(self, uuid: str, types: int) -> dict[str, str | int]:
        """``DOMAIN_GET_GUEST_INFO`` (typed parameters to a dict)."""
        from virtcore.rpc.typedparams import from_wire

        r = self._call("DOMAIN_GET_GUEST_INFO", {"dom": self._dom(uuid), "types": types, "flags": 0})
        return {k: v if isinstance(v, str) else int(v) for k, v in from_wire(r["params"]).items()}

    @hookimpl
    def virt_domain_set_user_password(self, uuid: str, user: str, password: str, crypted: bool) -> bool:
        """``DOMAIN_SET_USER_PASSWORD`` (``VIR_DOMAIN_PASSWORD_ENCRYPTED`` = 1)."""
        return self._void(
            "dom", "DOMAIN_SET_USER_PASSWORD", uuid, user=user, password=password, flags=1 if crypted else 0
        )

    @hookimpl
    def virt_domain_fs_freeze(self, uuid: str, mountpoints: list[str] | None) -> int:
        """``DOMAIN_FSFREEZE``."""
        args = {"dom": self._dom(uuid), "mountpoints": list(mountpoints or []), "flags": 0}
        return int(self._call("DOMAIN_FSFREEZE", args)["filesystems"])

    @hookimpl
    def virt_domain_fs_thaw(self, uuid: str, mountpoints: list[str] | None) -> int:
        """``DOMAIN_FSTHAW``."""
        args = {"dom": self._dom(uuid), "mountpoints": list(mountpoints or []), "flags": 0}
        return int(self._call("DOMAIN_FSTHAW", args)["filesystems"])

    @hookimpl
    def virt_domain_get_time(self, uuid: str) -> tuple[int, int]:
        """``DOMAIN_GET_TIME``."""
        r = self._call("DOMAIN_GET_TIME", {"dom": self._dom(uuid), "flags": 0})
        return int(r["seconds"]), int(r["nseconds"])

    @hookimpl
    def virt_domain_set_time(self, uuid: str, seconds: int | None, nseconds: int, sync: bool) -> bool:
        """``DOMAIN_SET_TIME`` (``VIR_DOMAIN_TIME_SYNC`` = 1)."""
        return self._void(
            "dom", "DOMAIN_SET_TIME", uuid, seconds=seconds or 0, nseconds=nseconds, flags=1 if sync else 0
        )

    # -- storage pools ------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_storage_pools(self, active: bool | None) -> list[StoragePoolRef]:
        """``CONNECT_LIST_ALL_STORAGE_POOLS``."""
        flags = _tristate(active, _LIST_ACTIVE, _LIST_INACTIVE)
        r = self._call("CONNECT_LIST_ALL_STORAGE_POOLS", {"need_results": 1, "flags": flags})
        return [self._poolref(p) for p in r["pools"]]

    @hookimpl
    def virt_storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        """``STORAGE_POOL_LOOKUP_BY_NAME``."""
        return self._poolref(self._call("STORAGE_POOL_LOOKUP_BY_NAME", {"name": name})["pool"])

    @hookimpl
    def virt_storage_pool_lookup_by_uuid(self, uuid: str) -> StoragePoolRef:
        """``STORAGE_POOL_LOOKUP_BY_UUID``."""
        return self._poolref(self._call("STORAGE_POOL_LOOKUP_BY_UUID", {"uuid": _uuid_bytes(uuid)})["pool"])

    @hookimpl
    def virt_storage_pool_define_xml(self, xml: str) -> StoragePoolRef:
        """``STORAGE_POOL_DEFINE_XML``."""
        return self._poolref(self._call("STORAGE_POOL_DEFINE_XML", {"xml": xml, "flags": 0})["pool"])

    @hookimpl
    def virt_storage_pool_create_xml(self, xml: str, build: bool) -> StoragePoolRef:
        """``STORAGE_POOL_CREATE_XML``."""
        flags = _POOL_CREATE_WITH_BUILD if build else 0
        return self._poolref(self._call("STORAGE_POOL_CREATE_XML", {"xml": xml, "flags": flags})["pool"])

    @hookimpl
    def virt_storage_pool_build(self, uuid: str, overwrite: bool | None) -> bool:
        """``STORAGE_POOL_BUILD``."""
        flags = _tristate(overwrite, _POOL_BUILD_OVERWRITE, _POOL_BUILD_NO_OVERWRITE)
        return self._void("pool", "STORAGE_POOL_BUILD", uuid, flags=flags)

    @hookimpl
    def virt_storage_pool_create(self, uuid: str) -> bool:
        """``STORAGE_POOL_CREATE``."""
        return self._void("pool", "STORAGE_POOL_CREATE", uuid, flags=0)

    @hookimpl
    def virt_storage_pool_get_info(self, uuid: str) -> StoragePoolInfo:
        """``STORAGE_POOL_GET_INFO``."""
        r = self._call("STORAGE_POOL_GET_INFO", {"pool": self._pool(uuid)})
        return StoragePoolInfo(StoragePoolState(r["state"]), r["capacity"], r["allocation"], r["available"])

    @hookimpl
    def virt_storage_pool_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        """``STORAGE_POOL_GET_XML_DESC`` (``VIR_STORAGE_XML_INACTIVE`` = 1)."""
        args = {"pool": self._pool(uuid), "flags": 1 if inactive else 0}
        return str(self._call("STORAGE_POOL_GET_XML_DESC", args)["xml"])

    @hookimpl
    def virt_storage_pool_list_all_volumes(self, uuid: str) -> list[StorageVolRef]:
        """``STORAGE_POOL_LIST_ALL_VOLUMES``."""
        args = {"pool": self._pool(uuid), "need_results": 1, "flags": 0}
        return [self._volref(v) for v in self._call("STORAGE_POOL_LIST_ALL_VOLUMES", args)["vols"]]

    # -- storage volumes ----------------------------------------------------

    @hookimpl
    def virt_storage_vol_lookup_by_name(self, pool_uuid: str, name: str) -> StorageVolRef:
        """``STORAGE_VOL_LOOKUP_BY_NAME``."""
        args = {"pool": self._pool(pool_uuid), "name": name}
        return self._volref(self._call("STORAGE_VOL_LOOKUP_BY_NAME", args)["vol"])

    @hookimpl
    def virt_storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        """``STORAGE_VOL_LOOKUP_BY_KEY``."""
        return self._volref(self._call("STORAGE_VOL_LOOKUP_BY_KEY", {"key": key})["vol"])

    @hookimpl
    def virt_storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        """``STORAGE_VOL_LOOKUP_BY_PATH``."""
        return self._volref(self._call("STORAGE_VOL_LOOKUP_BY_PATH", {"path": path})["vol"])

    @hookimpl
    def virt_storage_vol_create_xml(self, pool_uuid: str, xml: str, prealloc_metadata: bool) -> StorageVolRef:
        """``STORAGE_VOL_CREATE_XML``."""
        flags = _VOL_PREALLOC_METADATA if prealloc_metadata else 0
        args = {"pool": self._pool(pool_uuid), "xml": xml, "flags": flags}
        return self._volref(self._call("STORAGE_VOL_CREATE_XML", args)["vol"])

    @hookimpl
    def virt_storage_vol_create_xml_from(
        self, pool_uuid: str, xml: str, source_key: str, prealloc_metadata: bool
    ) -> StorageVolRef:
        """``STORAGE_VOL_CREATE_XML_FROM``."""
        flags = _VOL_PREALLOC_METADATA if prealloc_metadata else 0
        args = {"pool": self._pool(pool_uuid), "xml": xml, "clonevol": self._vol(source_key), "flags": flags}
        return self._volref(self._call("STORAGE_VOL_CREATE_XML_FROM", args)["vol"])

    @hookimpl
    def virt_storage_vol_delete(self, key: str) -> bool:
        """``STORAGE_VOL_DELETE``."""
        self._call("STORAGE_VOL_DELETE", {"vol": self._vol(key), "flags": 0})
        self._volumes.pop(key, None)
        return True

    @hookimpl
    def virt_storage_vol_wipe(self, key: str, algorithm: int) -> bool:
        """``STORAGE_VOL_WIPE_PATTERN``."""
        self._call("STORAGE_VOL_WIPE_PATTERN", {"vol": self._vol(key), "algorithm": algorithm, "flags": 0})
        return True

    @hookimpl
    def virt_storage_vol_get_info(self, key: str) -> StorageVolInfo:
        """``STORAGE_VOL_GET_INFO``."""
        r = self._call("STORAGE_VOL_GET_INFO", {"vol": self._vol(key)})
        return StorageVolInfo(StorageVolType(r["type"]), r["capacity"], r["allocation"])

    @hookimpl
    def virt_storage_vol_get_xml_desc(self, key: str) -> str:
        """``STORAGE_VOL_GET_XML_DESC``."""
        return str(self._call("STORAGE_VOL_GET_XML_DESC", {"vol": self._vol(key), "flags": 0})["xml"])

    @hookimpl
    def virt_storage_vol_resize(
        self, key: str, capacity: int, delta: bool, allocate: bool, shrink: bool
    ) -> bool:
        """``STORAGE_VOL_RESIZE``."""
        flags = (
            (_VOL_RESIZE_DELTA if delta else 0)
            | (_VOL_RESIZE_ALLOCATE if allocate else 0)
            | (_VOL_RESIZE_SHRINK if shrink else 0)
        )
        self._call("STORAGE_VOL_RESIZE", {"vol": self._vol(key), "capacity": capacity, "flags": flags})
        return True

    @hookimpl
    def virt_storage_vol_upload(self, key: str, offset: int, length: int) -> RemoteUpload:
        """``STORAGE_VOL_UPLOAD``: a stream the caller writes."""
        args = {"vol": self._vol(key), "offset": offset, "length": length, "flags": 0}
        return RemoteUpload(self._client, "STORAGE_VOL_UPLOAD", args)

    @hookimpl
    def virt_storage_vol_download(self, key: str, offset: int, length: int) -> RemoteDownload:
        """``STORAGE_VOL_DOWNLOAD``: a stream the caller reads."""
        vol = self._vol(key)
        size = self.virt_storage_vol_get_info(key).capacity
        if length == 0:
            length = max(size - offset, 0)
        args = {"vol": vol, "offset": offset, "length": length, "flags": 0}
        return RemoteDownload(self._client, "STORAGE_VOL_DOWNLOAD", args, min(length, max(size - offset, 0)))

    # -- networks -----------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_networks(self, active: bool | None) -> list[NetworkRef]:
        """``CONNECT_LIST_ALL_NETWORKS``."""
        flags = _tristate(active, _LIST_ACTIVE, _LIST_INACTIVE)
        r = self._call("CONNECT_LIST_ALL_NETWORKS", {"need_results": 1, "flags": flags})
        return [self._netref(n) for n in r["nets"]]

    @hookimpl
    def virt_network_lookup_by_name(self, name: str) -> NetworkRef:
        """``NETWORK_LOOKUP_BY_NAME``."""
        return self._netref(self._call("NETWORK_LOOKUP_BY_NAME", {"name": name})["net"])

    @hookimpl
    def virt_network_lookup_by_uuid(self, uuid: str) -> NetworkRef:
        """``NETWORK_LOOKUP_BY_UUID``."""
        return self._netref(self._call("NETWORK_LOOKUP_BY_UUID", {"uuid": _uuid_bytes(uuid)})["net"])

    @hookimpl
    def virt_network_define_xml(self, xml: str) -> NetworkRef:
        """``NETWORK_DEFINE_XML``."""
        return self._netref(self._call("NETWORK_DEFINE_XML", {"xml": xml})["net"])

    @hookimpl
    def virt_network_create_xml(self, xml: str) -> NetworkRef:
        """``NETWORK_CREATE_XML``."""
        return self._netref(self._call("NETWORK_CREATE_XML", {"xml": xml})["net"])

    @hookimpl
    def virt_network_update(
        self,
        uuid: str,
        command: NetworkUpdateCommand,
        section: NetworkSection,
        parent_index: int,
        xml: str,
        live: bool,
        config: bool,
    ) -> bool:
        """``NETWORK_UPDATE``."""
        flags = (_NETWORK_UPDATE_LIVE if live else 0) | (_NETWORK_UPDATE_CONFIG if config else 0)
        return self._void(
            "net",
            "NETWORK_UPDATE",
            uuid,
            command=int(command),
            section=int(section),
            parentIndex=parent_index,
            xml=xml,
            flags=flags,
        )

    @hookimpl
    def virt_network_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        """``NETWORK_GET_XML_DESC`` (``VIR_NETWORK_XML_INACTIVE`` = 1)."""
        args = {"net": self._net(uuid), "flags": 1 if inactive else 0}
        return str(self._call("NETWORK_GET_XML_DESC", args)["xml"])

    @hookimpl
    def virt_network_get_dhcp_leases(self, uuid: str, mac: str | None) -> list[NetworkDHCPLease]:
        """``NETWORK_GET_DHCP_LEASES``."""
        args = {"net": self._net(uuid), "mac": mac, "need_results": 1, "flags": 0}
        return [
            NetworkDHCPLease(
                lease["iface"],
                lease["expirytime"],
                IPAddrType(lease["type"]),
                lease["mac"],
                lease["iaid"],
                lease["ipaddr"],
                lease["prefix"],
                lease["hostname"],
                lease["clientid"],
            )
            for lease in self._call("NETWORK_GET_DHCP_LEASES", args)["leases"]
        ]

    # -- snapshots ----------------------------------------------------------

    @hookimpl
    def virt_domain_snapshot_create_xml(
        self,
        uuid: str,
        xml: str,
        disk_only: bool,
        quiesce: bool,
        live: bool,
        redefine: bool,
        current: bool,
        no_metadata: bool,
        halt: bool,
        atomic: bool,
        reuse_ext: bool,
    ) -> SnapshotRef:
        """``DOMAIN_SNAPSHOT_CREATE_XML``."""
        chosen = {
            "disk_only": disk_only,
            "quiesce": quiesce,
            "live": live,
            "redefine": redefine,
            "current": current,
            "no_metadata": no_metadata,
            "halt": halt,
            "atomic": atomic,
            "reuse_ext": reuse_ext,
        }
        flags = sum(bit for name, bit in _SNAP_CREATE.items() if chosen[name])
        args = {"dom": self._dom(uuid), "xml_desc": xml, "flags": flags}
        return self._snapref(self._call("DOMAIN_SNAPSHOT_CREATE_XML", args)["snap"])

    @staticmethod
    def _list_flags(
        leaves: bool | None,
        metadata: bool | None,
        states: frozenset[str] | None,
        location: str | None,
        topological: bool,
    ) -> int:
        flags = _tristate(leaves, _SNAP_LIST_LEAVES, _SNAP_LIST_NO_LEAVES)
        flags |= _tristate(metadata, _SNAP_LIST_METADATA, _SNAP_LIST_NO_METADATA)
        flags |= sum(_SNAP_LIST_STATES[s] for s in states or ())
        flags |= _SNAP_LIST_LOCATION[location] if location else 0
        return flags | (_SNAP_LIST_TOPOLOGICAL if topological else 0)

    @hookimpl
    def virt_domain_list_all_snapshots(
        self,
        uuid: str,
        roots: bool,
        leaves: bool | None,
        metadata: bool | None,
        states: frozenset[str] | None,
        location: str | None,
        topological: bool,
    ) -> list[SnapshotRef]:
        """``DOMAIN_LIST_ALL_SNAPSHOTS``."""
        flags = self._list_flags(leaves, metadata, states, location, topological)
        flags |= _SNAP_LIST_ROOTS if roots else 0
        args = {"dom": self._dom(uuid), "need_results": 1, "flags": flags}
        return [self._snapref(s) for s in self._call("DOMAIN_LIST_ALL_SNAPSHOTS", args)["snapshots"]]

    @hookimpl
    def virt_domain_snapshot_list_all_children(
        self,
        uuid: str,
        name: str,
        descendants: bool,
        leaves: bool | None,
        metadata: bool | None,
        states: frozenset[str] | None,
        location: str | None,
        topological: bool,
    ) -> list[SnapshotRef]:
        """``DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN``."""
        flags = self._list_flags(leaves, metadata, states, location, topological)
        flags |= _SNAP_LIST_DESCENDANTS if descendants else 0
        args = {"snapshot": self._snap(uuid, name), "need_results": 1, "flags": flags}
        return [self._snapref(s) for s in self._call("DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN", args)["snapshots"]]

    @hookimpl
    def virt_domain_snapshot_lookup_by_name(self, uuid: str, name: str) -> SnapshotRef:
        """``DOMAIN_SNAPSHOT_LOOKUP_BY_NAME``."""
        args = {"dom": self._dom(uuid), "name": name, "flags": 0}
        return self._snapref(self._call("DOMAIN_SNAPSHOT_LOOKUP_BY_NAME", args)["snap"])

    @hookimpl
    def virt_domain_has_current_snapshot(self, uuid: str) -> bool:
        """``DOMAIN_HAS_CURRENT_SNAPSHOT``."""
        return bool(self._call("DOMAIN_HAS_CURRENT_SNAPSHOT", {"dom": self._dom(uuid), "flags": 0})["result"])

    @hookimpl
    def virt_domain_snapshot_current(self, uuid: str) -> SnapshotRef:
        """``DOMAIN_SNAPSHOT_CURRENT``."""
        return self._snapref(
            self._call("DOMAIN_SNAPSHOT_CURRENT", {"dom": self._dom(uuid), "flags": 0})["snap"]
        )

    @hookimpl
    def virt_domain_snapshot_get_parent(self, uuid: str, name: str) -> SnapshotRef:
        """``DOMAIN_SNAPSHOT_GET_PARENT``."""
        args = {"snap": self._snap(uuid, name), "flags": 0}
        return self._snapref(self._call("DOMAIN_SNAPSHOT_GET_PARENT", args)["snap"])

    @hookimpl
    def virt_domain_snapshot_get_xml_desc(self, uuid: str, name: str, secure: bool) -> str:
        """``DOMAIN_SNAPSHOT_GET_XML_DESC``."""
        args = {"snap": self._snap(uuid, name), "flags": _SNAP_XML_SECURE if secure else 0}
        return str(self._call("DOMAIN_SNAPSHOT_GET_XML_DESC", args)["xml"])

    @hookimpl
    def virt_domain_snapshot_is_current(self, uuid: str, name: str) -> bool:
        """``DOMAIN_SNAPSHOT_IS_CURRENT``."""
        args = {"snap": self._snap(uuid, name), "flags": 0}
        return bool(self._call("DOMAIN_SNAPSHOT_IS_CURRENT", args)["current"])

    @hookimpl
    def virt_domain_snapshot_has_metadata(self, uuid: str, name: str) -> bool:
        """``DOMAIN_SNAPSHOT_HAS_METADATA``."""
        args = {"snap": self._snap(uuid, name), "flags": 0}
        return bool(self._call("DOMAIN_SNAPSHOT_HAS_METADATA", args)["metadata"])

    @hookimpl
    def virt_domain_revert_to_snapshot(
        self, uuid: str, name: str, running: bool, paused: bool, force: bool
    ) -> bool:
        """``DOMAIN_REVERT_TO_SNAPSHOT``."""
        flags = (
            (_SNAP_REVERT_RUNNING if running else 0)
            | (_SNAP_REVERT_PAUSED if paused else 0)
            | (_SNAP_REVERT_FORCE if force else 0)
        )
        self._call("DOMAIN_REVERT_TO_SNAPSHOT", {"snap": self._snap(uuid, name), "flags": flags})
        return True

    @hookimpl
    def virt_domain_snapshot_delete(
        self, uuid: str, name: str, children: bool, children_only: bool, metadata_only: bool
    ) -> bool:
        """``DOMAIN_SNAPSHOT_DELETE``."""
        flags = (
            (_SNAP_DELETE_CHILDREN if children else 0)
            | (_SNAP_DELETE_CHILDREN_ONLY if children_only else 0)
            | (_SNAP_DELETE_METADATA_ONLY if metadata_only else 0)
        )
        self._call("DOMAIN_SNAPSHOT_DELETE", {"snap": self._snap(uuid, name), "flags": flags})
        return True


# -- the hooks of the one-procedure table -------------------------------------------------------------


def _send(driver: RemoteDriver, call: Call, ident: str, values: tuple[Any, ...]) -> Any:
    """One row of :data:`~virtcore.rpc.calls.CALLS` as a call: the handle, the arguments, the reply."""
    args: Wire = {call.target: driver._handle(call.target, ident)}
    for param, value in zip(call.params, values, strict=True):
        args[param.wire] = int(value) if param.kind is bool else value
    if call.flags is not None:
        args["flags"] = 0
    reply = driver._call(call.procedure, args)
    if call.reply is None:
        return True
    field, kind = call.reply
    return kind(reply[field])


def _template(arity: int, body: Callable[[RemoteDriver, tuple[Any, ...]], Any]) -> Callable[..., Any]:
    # pluggy and virtcore's hook cache read a hook implementation's parameter names from its code
    # object, so each arity has its template and the names are set on a copy of the code (_named).
    def hook1(self: RemoteDriver, a: Any) -> Any:
        return body(self, (a,))

    def hook2(self: RemoteDriver, a: Any, b: Any) -> Any:
        return body(self, (a, b))

    def hook3(self: RemoteDriver, a: Any, b: Any, c: Any) -> Any:
        return body(self, (a, b, c))

    def hook4(self: RemoteDriver, a: Any, b: Any, c: Any, d: Any) -> Any:
        return body(self, (a, b, c, d))

    def hook5(self: RemoteDriver, a: Any, b: Any, c: Any, d: Any, e: Any) -> Any:
        return body(self, (a, b, c, d, e))

    return (hook1, hook2, hook3, hook4, hook5)[arity - 1]


def _named(
    name: str, params: tuple[str, ...], body: Callable[[RemoteDriver, tuple[Any, ...]], Any], doc: str
) -> Callable[..., Any]:
    """The hook implementation ``name``, its parameters named ``params``, passing their values to ``body``."""
    template = _template(len(params), body)
    code = template.__code__.replace(
        co_name=name, co_qualname=f"RemoteDriver.{name}", co_varnames=("self", *params)
    )
    hook = types.FunctionType(code, template.__globals__, name, None, template.__closure__)
    hook.__qualname__ = f"RemoteDriver.{name}"
    hook.__doc__ = doc
    hook.__module__ = __name__
    return hook


def _derive(name: str, call: Call) -> Callable[..., Any]:
    """The hook implementation ``name`` of ``call``, with the hookspec's parameter names."""

    def body(driver: RemoteDriver, values: tuple[Any, ...]) -> Any:
        return _send(driver, call, values[0], values[1:])

    params = (call.key, *(p.name for p in call.params))
    return _named(name, params, body, f"``{call.procedure}`` (derived from virtcore.rpc.calls.CALLS).")


for _name, _row in CALLS.items():
    setattr(RemoteDriver, _name, hookimpl(_derive(_name, _row)))


# -- the hooks of the tunables' table -----------------------------------------------------------------


def _tune(row: Tunable, side: Side) -> Callable[..., Any]:
    """``side``'s hook implementation: the getter asks how many there are, then for that many."""
    names = ("uuid", *row.hook_params(side))

    def body(driver: RemoteDriver, values: tuple[Any, ...]) -> Any:
        given = dict(zip(names, values, strict=True))
        args: Wire = {"dom": driver._dom(given["uuid"]), "flags": side.flags_of(given)}
        if row.subject is not None:
            args[row.subject.name] = given[row.subject.name]
        if side is row.setter:
            args["params"] = to_wire(dict(given["params"]), types_of(row.schema))
            driver._call(side.procedure, args)
            return True
        args["flags"] |= TYPED_PARAM_STRING_OKAY  # as libvirt's API, to a daemon that takes strings
        count = driver._call(side.procedure, {**args, "nparams": 0})["nparams"]
        if count <= 0:
            return {}
        return from_wire(driver._call(side.procedure, {**args, "nparams": count})["params"])

    return _named(
        side.hook, names, body, f"``{side.procedure}`` (derived from virtcore.rpc.tunables.TUNABLES)."
    )


for _tunable in TUNABLES:
    for _side in (_tunable.getter, _tunable.setter):
        if _side is not None:
            setattr(RemoteDriver, _side.hook, hookimpl(_tune(_tunable, _side)))


#: VIR_DOMAIN_SAVE_RUNNING and VIR_DOMAIN_SAVE_PAUSED (libvirt-domain.h).
_SAVE_RUNNING, _SAVE_PAUSED = 2, 4


def _save_flags(running: bool, paused: bool) -> int:
    """The ``VIR_DOMAIN_SAVE_*`` flags asking to restore running or paused."""
    return (_SAVE_RUNNING if running else 0) | (_SAVE_PAUSED if paused else 0)
