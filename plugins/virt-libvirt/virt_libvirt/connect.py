"""``virConnect`` and the module functions that open one (``open``, ``openReadOnly``, ``openAuth``)."""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any, cast

import virtcore
from virt_libvirt import _constants as lv
from virt_libvirt import events
from virt_libvirt._base import complete, passes, uuid_string
from virt_libvirt._table import VERSION
from virt_libvirt.domain import SAVE_EXCLUSIVE, list_filter, save_flags_taken, virDomain
from virt_libvirt.errors import ErrorTuple, check_exclusive, check_flags, raise_error, raise_from
from virt_libvirt.network import virNetwork
from virt_libvirt.objects import HostObjectsAPI
from virt_libvirt.stats import domain_stats, list_flags
from virt_libvirt.stats import groups as stats_groups
from virt_libvirt.storage import pool_filter, virStoragePool, virStorageVol
from virt_libvirt.stream import virStream
from virtcore.errors import VirtError

if TYPE_CHECKING:
    from virtcore.connection import Connection

#: libvirt's environment variable naming the URI ``open(None)`` uses.
DEFAULT_URI_ENV = "LIBVIRT_DEFAULT_URI"


class _ClosedConnection:
    """What a ``virConnect`` calls once :meth:`virConnect.close` ran: every call is INVALID_CONN,
    as on libvirt-python's connection whose pointer ``close()`` dropped."""

    closed = True

    def close(self) -> None:
        """Nothing left to close."""

    def __getattr__(self, name: str) -> Any:
        from virtcore.errors import InvalidConnError

        raise InvalidConnError(f"{name}: the connection is closed")


_CLOSED = _ClosedConnection()


#: What libvirt's virConnGetLastError gives for a connection without an error: its cleared virError.
_NO_ERROR: tuple[int, int, None, int, None, None, None, int, int] = (0, 0, None, 0, None, None, None, 0, 0)


class virConnect(HostObjectsAPI):  # noqa: N801 - libvirt-python's name
    """A connection to a hypervisor driver, as libvirt-python's ``virConnect``.

    As in libvirt, the connection is reference counted: every handle got from it (domains,
    pools, volumes, networks, host objects, streams) and every event callback registered on it
    holds a reference. :meth:`close` drops the caller's; the handles keep working on the
    connection until the last of them lets go of it.
    """

    __slots__ = ("__weakref__", "_conn", "_handles", "_kept", "_last_error")

    def __init__(self, _obj: Connection) -> None:
        self._conn = _obj
        #: The handles got from this connection that are still alive (each holds the connection).
        self._handles: weakref.WeakSet[object] = weakref.WeakSet()
        #: The connection :meth:`close` left open for the handles still holding it.
        self._kept: Connection | None = None
        #: The last error of a call on this connection or a handle got from it (virConnGetLastError).
        self._last_error: ErrorTuple | None = None

    def __del__(self) -> None:
        # libvirt-python closes a connection its last reference lets go of (every handle got from it
        # holds one); test:///default then forgets its state with its last connection, as libvirt's.
        for conn in (self._conn, self._kept):
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass

    def _hold(self, handle: object) -> None:
        """Count ``handle`` (got from this connection) among the references :meth:`close` reports."""
        self._handles.add(handle)

    def __enter__(self) -> virConnect:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def c_pointer(self) -> int:
        """An identifier of the underlying connection (libvirt-python: its C pointer)."""
        return id(self._conn)

    # -- the connection -------------------------------------------------------

    def _check_open(self, function: str) -> None:
        """libvirt-python's ``libvirtError`` VIR_ERR_INVALID_CONN once :meth:`close` has run."""
        if self._conn.closed:
            from virtcore.errors import InvalidConnError

            raise_error(InvalidConnError, function)

    def close(self) -> int:
        """Drop the caller's reference, as libvirt's ``virConnectClose``: 0 when that closed the
        connection, 1 when handles or event callbacks still hold it (they go on working; the
        connection closes when the last lets go). Afterwards every call on this object, closing it
        again included, is VIR_ERR_INVALID_CONN."""
        self._check_open("virConnectClose")
        core, self._conn = self._conn, cast("Connection", _CLOSED)
        if len(self._handles) or events.holds_connection(self):
            self._kept = core
            return 1
        core.close()
        return 0

    def virConnGetLastError(self) -> ErrorTuple | tuple[int, int, None, int, None, None, None, int, int]:  # noqa: N802
        """The last error of a call on this connection or on a handle got from it.

        libvirt keeps it per connection as well as per thread (``virGetLastError``); an
        error raised anywhere else, or a later success, leaves it as it is. With none (or
        after :meth:`virConnResetLastError`), libvirt's cleared error: code VIR_ERR_OK,
        ``(0, 0, None, 0, None, None, None, 0, 0)``, not None as ``virGetLastError`` gives.
        """
        return _NO_ERROR if self._last_error is None else self._last_error

    def virConnResetLastError(self) -> None:  # noqa: N802
        """Forget this connection's last error (the thread's stays)."""
        self._last_error = None

    def getURI(self) -> str:  # noqa: N802
        """The URI the connection was opened with."""
        self._check_open("virConnectGetURI")
        return self._conn.uri

    def getType(self) -> str:  # noqa: N802
        """The hypervisor type (``"TEST"``, ``"QEMU"``...)."""
        try:
            return self._conn.get_type()
        except VirtError as exc:
            raise_from(exc)

    def getVersion(self) -> int:  # noqa: N802
        """The hypervisor's version, ``major * 1000000 + minor * 1000 + release``."""
        try:
            return self._conn.get_version()
        except VirtError as exc:
            raise_from(exc)

    def getLibVersion(self) -> int:  # noqa: N802
        """The version of libvirt's API this library provides."""
        return VERSION

    def getHostname(self) -> str:  # noqa: N802
        """The host's name."""
        try:
            return self._conn.hostname()
        except VirtError as exc:
            raise_from(exc)

    def getMaxVcpus(self, type: str | None) -> int:  # noqa: N802, A002 - libvirt's names
        """The most vCPUs a guest of ``type`` (None: the default) may have."""
        try:
            return self._conn.max_vcpus(type)
        except VirtError as exc:
            raise_from(exc)

    def getSysinfo(self, flags: int = 0) -> str:  # noqa: N802
        """The host's ``<sysinfo>`` XML."""
        check_flags(flags, 0, "virConnectGetSysinfo", self)
        try:
            return self._conn.sysinfo_xml()
        except VirtError as exc:
            raise_from(exc)

    def getCapabilities(self) -> str:  # noqa: N802
        """libvirt's capabilities XML."""
        try:
            return self._conn.capabilities_xml()
        except VirtError as exc:
            raise_from(exc)

    def getInfo(self) -> list[Any]:  # noqa: N802
        """``[model, memory MiB, cpus, mhz, nodes, sockets, cores, threads]``."""
        try:
            n = self._conn.node_info()
        except VirtError as exc:
            raise_from(exc)
        return [n.model, n.memory >> 10, n.cpus, n.mhz, n.nodes, n.sockets, n.cores, n.threads]

    def getCPUStats(self, cpuNum: int, flags: int = 0) -> dict[str, int]:  # noqa: N802, N803 - libvirt's names
        """The host's CPU time counters of CPU ``cpuNum`` (``VIR_NODE_CPU_STATS_ALL_CPUS``: all), ns."""
        check_flags(flags, 0, "virNodeGetCPUStats", self)
        try:
            return dict(self._conn.cpu_stats(cpuNum))
        except VirtError as exc:
            raise_from(exc)

    def getCPUMap(self, flags: int = 0) -> tuple[int, list[bool], int]:  # noqa: N802
        """``(number of CPUs, [online flag per CPU], number online)``, as libvirt-python."""
        check_flags(flags, 0, "virNodeGetCPUMap", self)
        try:
            cpus = self._conn.cpu_map()
        except VirtError as exc:
            raise_from(exc)
        return (len(cpus), list(cpus), sum(cpus))

    def getFreeMemory(self) -> int:  # noqa: N802
        """The host's free memory, in bytes (the test driver: its cells' free amounts, as libvirt's)."""
        try:
            return self._conn.free_memory()
        except VirtError as exc:
            raise_from(exc)

    def getCellsFreeMemory(self, startCell: int, maxCells: int) -> list[int]:  # noqa: N802, N803
        """The free memory of NUMA cells ``startCell``... (at most ``maxCells``)."""
        try:
            return self._conn.cells_free_memory(startCell, maxCells)
        except VirtError as exc:
            raise_from(exc)

    def getSecurityModel(self) -> list[str]:  # noqa: N802
        """``[model, doi]`` of the host's security driver (both empty: none)."""
        try:
            model = self._conn.security_model()
        except VirtError as exc:
            raise_from(exc)
        return [model.model, model.doi]

    def baselineCPU(self, xmlCPUs: list[str], flags: int = 0) -> str:  # noqa: N802, N803
        """The ``<cpu>`` every CPU of ``xmlCPUs`` can run (VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES: every
        feature listed)."""
        check_flags(flags, lv.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES, "virConnectBaselineCPU", self)
        try:
            return self._conn.baseline_cpu(
                list(xmlCPUs), bool(flags & lv.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES)
            )
        except VirtError as exc:
            raise_from(exc)

    def isAlive(self) -> int:  # noqa: N802
        """1 while the connection is open (once closed, libvirt-python raises VIR_ERR_INVALID_CONN)."""
        self._check_open("virConnectIsAlive")
        return int(self._conn.is_alive())

    def isEncrypted(self) -> int:  # noqa: N802
        """0: virtcore's drivers run in-process, nothing travels over a network."""
        self._check_open("virConnectIsEncrypted")
        return 0

    def isSecure(self) -> int:  # noqa: N802
        """1: in-process, nobody can eavesdrop."""
        self._check_open("virConnectIsSecure")
        return 1

    # -- domains --------------------------------------------------------------

    def lookupByName(self, name: str) -> virDomain:  # noqa: N802
        """The domain called ``name``."""
        try:
            return virDomain(self, self._conn.lookup_domain(name))
        except VirtError as exc:
            raise_from(exc)

    def lookupByUUIDString(self, uuidstr: str) -> virDomain:  # noqa: N802
        """The domain with this UUID string."""
        try:
            return virDomain(self, self._conn.lookup_domain_by_uuid(uuidstr))
        except VirtError as exc:
            raise_from(exc)

    def lookupByUUID(self, uuid: bytes) -> virDomain:  # noqa: N802
        """The domain with these 16 UUID bytes."""
        return self.lookupByUUIDString(uuid_string(uuid))

    def lookupByID(self, id: int) -> virDomain:  # noqa: N802, A002 - libvirt's names
        """The active domain with this id."""
        try:
            return virDomain(self, self._conn.lookup_domain_by_id(id))
        except VirtError as exc:
            raise_from(exc)

    def listAllDomains(self, flags: int = 0) -> list[virDomain]:  # noqa: N802
        """Every domain, filtered by ``VIR_CONNECT_LIST_DOMAINS_*`` flags."""
        try:
            if not flags:
                return [virDomain(self, d) for d in self._conn.list_domains()]
            keep = list_filter(flags, self)
            return [virDomain(self, d) for d in self._conn.list_domains() if keep(d)]
        except VirtError as exc:
            raise_from(exc)

    def listDomainsID(self) -> list[int]:  # noqa: N802
        """The ids of the active domains."""
        try:
            return [d.id for d in self._conn.list_domains(active=True)]
        except VirtError as exc:
            raise_from(exc)

    def listDefinedDomains(self) -> list[str]:  # noqa: N802
        """The names of the inactive (defined) domains."""
        try:
            return [d.name for d in self._conn.list_domains(active=False)]
        except VirtError as exc:
            raise_from(exc)

    def numOfDomains(self) -> int:  # noqa: N802
        """How many domains are active."""
        return len(self.listDomainsID())

    def numOfDefinedDomains(self) -> int:  # noqa: N802
        """How many domains are defined and inactive."""
        return len(self.listDefinedDomains())

    def defineXML(self, xml: str) -> virDomain:  # noqa: N802
        """Define a persistent domain from XML."""
        try:
            return virDomain(self, self._conn.define_domain(xml))
        except VirtError as exc:
            raise_from(exc)

    def defineXMLFlags(self, xml: str, flags: int = 0) -> virDomain:  # noqa: N802
        """Define a persistent domain (``VIR_DOMAIN_DEFINE_VALIDATE``: always validated here)."""
        check_flags(flags, lv.VIR_DOMAIN_DEFINE_VALIDATE, "virDomainDefineXMLFlags", self)
        return self.defineXML(xml)

    def createXML(self, xmlDesc: str, flags: int = 0) -> virDomain:  # noqa: N802, N803
        """Create and start a transient domain (``VIR_DOMAIN_START_PAUSED``: left paused)."""
        allowed = lv.VIR_DOMAIN_START_PAUSED | lv.VIR_DOMAIN_START_VALIDATE | lv.VIR_DOMAIN_START_AUTODESTROY
        check_flags(flags, allowed, "virDomainCreateXML", self)
        if flags & lv.VIR_DOMAIN_START_AUTODESTROY:
            from virtcore.errors import ArgumentUnsupportedError

            raise_error(ArgumentUnsupportedError, "VIR_DOMAIN_START_AUTODESTROY in virDomainCreateXML")
        try:
            dom = self._conn.create_domain(xmlDesc)
            if flags & lv.VIR_DOMAIN_START_PAUSED:
                dom.suspend()
        except VirtError as exc:
            raise_from(exc)
        return virDomain(self, dom)

    def createLinux(self, xmlDesc: str, flags: int = 0) -> virDomain:  # noqa: N802, N803
        """:meth:`createXML` under its historical name."""
        return self.createXML(xmlDesc, flags)

    def saveImageGetXMLDesc(self, file: str, flags: int = 0) -> str:  # noqa: N802
        """The domain XML a save file holds (``VIR_DOMAIN_SAVE_IMAGE_XML_SECURE``: all of it)."""
        check_flags(flags, lv.VIR_DOMAIN_SAVE_IMAGE_XML_SECURE, "virDomainSaveImageGetXMLDesc", self)
        try:
            if flags & lv.VIR_DOMAIN_SAVE_IMAGE_XML_SECURE and self._conn.read_only:
                from virtcore.errors import OperationDeniedError

                raise OperationDeniedError("virDomainSaveImageGetXMLDesc with secure flag")
            return self._conn.save_image_xml_desc(file)
        except VirtError as exc:
            raise_from(exc)

    def restore(self, frm: str) -> int:
        """Start a domain from a file :meth:`virDomain.save` wrote; 0."""
        try:
            self._conn.restore_domain(frm)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def restoreFlags(self, frm: str, dxml: str | None = None, flags: int = 0) -> int:  # noqa: N802
        """:meth:`restore` (``VIR_DOMAIN_SAVE_RUNNING``/``PAUSED``: the state to leave it in, the
        paused guest never having run). libvirt's test driver takes no flag, nor does this there."""
        check_exclusive(flags, *SAVE_EXCLUSIVE, "virDomainRestoreFlags")
        check_flags(flags, save_flags_taken(self), "virDomainRestoreFlags", self)
        if dxml is not None:
            from virtcore.errors import ArgumentUnsupportedError

            raise_error(ArgumentUnsupportedError, "an alternative XML in virDomainRestoreFlags")
        try:
            self._conn.restore_domain(
                frm,
                running=bool(flags & lv.VIR_DOMAIN_SAVE_RUNNING),
                paused=bool(flags & lv.VIR_DOMAIN_SAVE_PAUSED),
            )
        except VirtError as exc:
            raise_from(exc)
        return 0

    def domainXMLToNative(self, nativeFormat: str, domainXml: str, flags: int = 0) -> str:  # noqa: N802, N803
        """The domain XML in a hypervisor's native format."""
        check_flags(flags, 0, "virConnectDomainXMLToNative", self)
        try:
            return self._conn.domain_xml_to_native(nativeFormat, domainXml)
        except VirtError as exc:
            raise_from(exc)

    def domainXMLFromNative(self, nativeFormat: str, nativeConfig: str, flags: int = 0) -> str:  # noqa: N802, N803
        """Domain XML from a hypervisor's native configuration."""
        check_flags(flags, 0, "virConnectDomainXMLFromNative", self)
        try:
            return self._conn.domain_xml_from_native(nativeFormat, nativeConfig)
        except VirtError as exc:
            raise_from(exc)

    def getAllDomainStats(self, stats: int = 0, flags: int = 0) -> list[tuple[virDomain, dict[str, Any]]]:  # noqa: N802
        """``[(domain, {libvirt's statistic keys})]`` of every domain (``VIR_DOMAIN_STATS_*`` groups)."""
        wanted = stats_groups(stats, flags, self)
        try:
            doms = self._conn.list_domains()
            if list_flags(flags):
                keep = list_filter(list_flags(flags), self)
                doms = [d for d in doms if keep(d)]
            return [(virDomain(self, d), domain_stats(d, wanted)) for d in doms]
        except VirtError as exc:
            raise_from(exc)

    def domainListGetStats(  # noqa: N802
        self, doms: list[virDomain], stats: int = 0, flags: int = 0
    ) -> list[tuple[virDomain, dict[str, Any]]]:
        """:meth:`getAllDomainStats` of the domains ``doms``."""
        if not doms:  # libvirt's API layer refuses this before its driver sees the flags
            from virtcore.errors import InvalidArgError

            raise_error(
                InvalidArgError, "doms array in virDomainListGetStats must contain at least one domain"
            )
        wanted = stats_groups(stats, flags, self)
        keep = list_filter(list_flags(flags), self) if list_flags(flags) else None
        try:
            return [(d, domain_stats(d._o, wanted)) for d in doms if keep is None or keep(d._o)]
        except VirtError as exc:
            raise_from(exc)

    # -- events (virt_libvirt.events) -------------------------------------------

    def domainEventRegisterAny(self, dom: virDomain | None, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
        """Call ``cb`` on events ``eventID`` of ``dom`` (None: of every domain); the callback id."""
        return events.domainEventRegisterAny(self, dom, eventID, cb, opaque)

    def domainEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        """Stop the callback ``callbackID``."""
        events.domainEventDeregisterAny(self, callbackID)

    def domainEventRegister(self, cb: Any, opaque: Any) -> None:  # noqa: N802
        """Call ``cb`` on lifecycle events of every domain (the legacy form)."""
        events.domainEventRegister(self, cb, opaque)

    def domainEventDeregister(self, cb: Any) -> None:  # noqa: N802
        """Stop a callback of :meth:`domainEventRegister`."""
        events.domainEventDeregister(self, cb)

    def networkEventRegisterAny(self, net: virNetwork | None, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
        """Call ``cb`` on network events ``eventID`` of ``net`` (None: of every network); the callback id."""
        return events.networkEventRegisterAny(self, net, eventID, cb, opaque)

    def networkEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        """Stop the network event callback ``callbackID``."""
        events.networkEventDeregisterAny(self, callbackID)

    def storagePoolEventRegisterAny(self, pool: Any, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
        """Call ``cb`` on events ``eventID`` of storage pool ``pool`` (None: of every pool); its id."""
        return events.storagePoolEventRegisterAny(self, pool, eventID, cb, opaque)

    def storagePoolEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        """Stop the storage pool event callback ``callbackID``."""
        events.storagePoolEventDeregisterAny(self, callbackID)

    def nodeDeviceEventRegisterAny(self, dev: Any, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
        """Call ``cb`` on events ``eventID`` of node device ``dev`` (None: of every device); its id."""
        return events.nodeDeviceEventRegisterAny(self, dev, eventID, cb, opaque)

    def nodeDeviceEventDeregisterAny(self, callbackID: int) -> None:  # noqa: N802, N803
        """Stop the node device event callback ``callbackID``."""
        events.nodeDeviceEventDeregisterAny(self, callbackID)

    def registerCloseCallback(self, cb: Any, opaque: Any) -> int:  # noqa: N802
        """Call ``cb(conn, reason, opaque)`` if the driver closes the connection (ours never do)."""
        return events.registerCloseCallback(self, cb, opaque)

    def unregisterCloseCallback(self) -> None:  # noqa: N802
        """Forget the close callback."""
        events.unregisterCloseCallback(self)

    # -- storage --------------------------------------------------------------

    def storagePoolLookupByName(self, name: str) -> virStoragePool:  # noqa: N802
        """The storage pool called ``name``."""
        try:
            return virStoragePool(self, self._conn.lookup_storage_pool(name))
        except VirtError as exc:
            raise_from(exc)

    def storagePoolLookupByUUIDString(self, uuidstr: str) -> virStoragePool:  # noqa: N802
        """The storage pool with this UUID string."""
        try:
            return virStoragePool(self, self._conn.lookup_storage_pool_by_uuid(uuidstr))
        except VirtError as exc:
            raise_from(exc)

    def storagePoolLookupByUUID(self, uuid: bytes) -> virStoragePool:  # noqa: N802
        """The storage pool with these 16 UUID bytes."""
        return self.storagePoolLookupByUUIDString(uuid_string(uuid))

    def listAllStoragePools(self, flags: int = 0) -> list[virStoragePool]:  # noqa: N802
        """Every storage pool, filtered by ``VIR_CONNECT_LIST_STORAGE_POOLS_*`` flags."""
        try:
            pools = self._conn.list_storage_pools()
            if flags:
                keep = pool_filter(flags, self)
                pools = [p for p in pools if keep(p)]
            return [virStoragePool(self, p) for p in pools]
        except VirtError as exc:
            raise_from(exc)

    def listStoragePools(self) -> list[str]:  # noqa: N802
        """The names of the active storage pools."""
        try:
            return [p.name for p in self._conn.list_storage_pools(active=True)]
        except VirtError as exc:
            raise_from(exc)

    def listDefinedStoragePools(self) -> list[str]:  # noqa: N802
        """The names of the inactive storage pools."""
        try:
            return [p.name for p in self._conn.list_storage_pools(active=False)]
        except VirtError as exc:
            raise_from(exc)

    def numOfStoragePools(self) -> int:  # noqa: N802
        """How many storage pools are active."""
        return len(self.listStoragePools())

    def numOfDefinedStoragePools(self) -> int:  # noqa: N802
        """How many storage pools are inactive."""
        return len(self.listDefinedStoragePools())

    def storagePoolDefineXML(self, xml: str, flags: int = 0) -> virStoragePool:  # noqa: N802
        """Define a persistent storage pool."""
        check_flags(flags, lv.VIR_STORAGE_POOL_DEFINE_VALIDATE, "virStoragePoolDefineXML", self)
        try:
            return virStoragePool(self, self._conn.define_storage_pool(xml))
        except VirtError as exc:
            raise_from(exc)

    def storagePoolCreateXML(self, xmlDesc: str, flags: int = 0) -> virStoragePool:  # noqa: N802, N803
        """Create and start a transient pool (``VIR_STORAGE_POOL_CREATE_WITH_BUILD``: build it first)."""
        build = lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD
        allowed = build | lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE
        allowed |= lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE
        check_flags(flags, allowed, "virStoragePoolCreateXML", self)
        try:
            return virStoragePool(self, self._conn.create_storage_pool(xmlDesc, build=bool(flags & build)))
        except VirtError as exc:
            raise_from(exc)

    def storageVolLookupByKey(self, key: str) -> virStorageVol:  # noqa: N802
        """The volume with this key."""
        try:
            return virStorageVol(self, self._conn.lookup_storage_volume_by_key(key))
        except VirtError as exc:
            raise_from(exc)

    def storageVolLookupByPath(self, path: str) -> virStorageVol:  # noqa: N802
        """The volume at this path."""
        try:
            return virStorageVol(self, self._conn.lookup_storage_volume_by_path(path))
        except VirtError as exc:
            raise_from(exc)

    # -- networks ---------------------------------------------------------------

    def networkLookupByName(self, name: str) -> virNetwork:  # noqa: N802
        """The network called ``name``."""
        try:
            return virNetwork(self, self._conn.lookup_network(name))
        except VirtError as exc:
            raise_from(exc)

    def networkLookupByUUIDString(self, uuidstr: str) -> virNetwork:  # noqa: N802
        """The network with this UUID string."""
        try:
            return virNetwork(self, self._conn.lookup_network_by_uuid(uuidstr))
        except VirtError as exc:
            raise_from(exc)

    def networkLookupByUUID(self, uuid: bytes) -> virNetwork:  # noqa: N802
        """The network with these 16 UUID bytes."""
        return self.networkLookupByUUIDString(uuid_string(uuid))

    def listAllNetworks(self, flags: int = 0) -> list[virNetwork]:  # noqa: N802
        """Every network, filtered by ``VIR_CONNECT_LIST_NETWORKS_*`` flags."""
        check_flags(flags, _NETWORK_FILTERS, "virConnectListAllNetworks", self)
        try:
            nets = self._conn.list_networks()
            return [virNetwork(self, n) for n in nets if not flags or _network_kept(n, flags)]
        except VirtError as exc:
            raise_from(exc)

    def listNetworks(self) -> list[str]:  # noqa: N802
        """The names of the active networks."""
        try:
            return [n.name for n in self._conn.list_networks(active=True)]
        except VirtError as exc:
            raise_from(exc)

    def listDefinedNetworks(self) -> list[str]:  # noqa: N802
        """The names of the inactive networks."""
        try:
            return [n.name for n in self._conn.list_networks(active=False)]
        except VirtError as exc:
            raise_from(exc)

    def numOfNetworks(self) -> int:  # noqa: N802
        """How many networks are active."""
        return len(self.listNetworks())

    def numOfDefinedNetworks(self) -> int:  # noqa: N802
        """How many networks are inactive."""
        return len(self.listDefinedNetworks())

    def networkDefineXML(self, xml: str) -> virNetwork:  # noqa: N802
        """Define a persistent network."""
        try:
            return virNetwork(self, self._conn.define_network(xml))
        except VirtError as exc:
            raise_from(exc)

    def networkDefineXMLFlags(self, xml: str, flags: int = 0) -> virNetwork:  # noqa: N802
        """Define a persistent network (``VIR_NETWORK_DEFINE_VALIDATE``: always validated here)."""
        check_flags(flags, lv.VIR_NETWORK_DEFINE_VALIDATE, "virNetworkDefineXMLFlags", self)
        return self.networkDefineXML(xml)

    def networkCreateXML(self, xmlDesc: str) -> virNetwork:  # noqa: N802, N803
        """Create and start a transient network."""
        try:
            return virNetwork(self, self._conn.create_network(xmlDesc))
        except VirtError as exc:
            raise_from(exc)

    def networkCreateXMLFlags(self, xmlDesc: str, flags: int = 0) -> virNetwork:  # noqa: N802, N803
        """Create and start a transient network (``VIR_NETWORK_CREATE_VALIDATE``: always validated here)."""
        check_flags(flags, lv.VIR_NETWORK_CREATE_VALIDATE, "virNetworkCreateXMLFlags", self)
        return self.networkCreateXML(xmlDesc)

    # -- streams ----------------------------------------------------------------

    def newStream(self, flags: int = 0) -> virStream:  # noqa: N802
        """A new stream for volume upload and download (``VIR_STREAM_NONBLOCK``)."""
        check_flags(flags, lv.VIR_STREAM_NONBLOCK, "virStreamNew", self)
        return virStream(self, flags)


_NETWORK_FILTERS = (
    lv.VIR_CONNECT_LIST_NETWORKS_ACTIVE
    | lv.VIR_CONNECT_LIST_NETWORKS_INACTIVE
    | lv.VIR_CONNECT_LIST_NETWORKS_PERSISTENT
    | lv.VIR_CONNECT_LIST_NETWORKS_TRANSIENT
    | lv.VIR_CONNECT_LIST_NETWORKS_AUTOSTART
    | lv.VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART
)


def _network_kept(net: virtcore.Network, flags: int) -> bool:
    return (
        passes(
            flags, lv.VIR_CONNECT_LIST_NETWORKS_ACTIVE, lv.VIR_CONNECT_LIST_NETWORKS_INACTIVE, net.is_active
        )
        and passes(
            flags,
            lv.VIR_CONNECT_LIST_NETWORKS_PERSISTENT,
            lv.VIR_CONNECT_LIST_NETWORKS_TRANSIENT,
            net.is_persistent,
        )
        and passes(
            flags,
            lv.VIR_CONNECT_LIST_NETWORKS_AUTOSTART,
            lv.VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART,
            lambda: net.autostart,
        )
    )


complete(virConnect)


def _uri(name: str | None) -> str | None:
    """The URI ``open(name)`` connects to: ``name``, else ``$LIBVIRT_DEFAULT_URI``, else virtcore's
    default (``$VIRTCORE_DEFAULT_URI``), else, as libvirt probes, the QEMU driver's
    ``qemu:///system`` (root) or ``qemu:///session`` when it is installed."""
    if name is not None:
        return name
    from virtcore.uri import default_uri

    chosen = os.environ.get(DEFAULT_URI_ENV) or default_uri()
    if chosen is None:
        from virtcore.drivers import installed_drivers

        if any(d.scheme == "qemu" for d in installed_drivers()):
            chosen = "qemu:///system" if os.geteuid() == 0 else "qemu:///session"
    return chosen


def open(name: str | None = None) -> virConnect:  # noqa: A001 - libvirt's name
    """A read-write connection to ``name`` (None: ``$LIBVIRT_DEFAULT_URI``, then the default)."""
    try:
        return virConnect(virtcore.open(_uri(name)))
    except VirtError as exc:
        raise_from(exc)


def openReadOnly(name: str | None = None) -> virConnect:  # noqa: N802
    """A read-only connection to ``name``."""
    try:
        return virConnect(virtcore.open_read_only(_uri(name)))
    except VirtError as exc:
        raise_from(exc)


def openAuth(uri: str | None, auth: list[Any], flags: int = 0) -> virConnect:  # noqa: N802
    """A connection whose driver asks ``auth`` = ``[[credential types], callback, opaque]`` for credentials.

    The callback is libvirt-python's: ``callback(creds, opaque)``, each credential a
    list ``[type, prompt, challenge, default, result]`` whose ``result`` it fills in;
    it returns 0 (negative: it could not). ``VIR_CONNECT_RO`` opens it read-only.
    """
    if not isinstance(auth, list | tuple) or len(auth) != 3:
        raise TypeError("auth must be [[credential types], callback, opaque]")
    credtypes, callback, opaque = auth
    from virtcore.auth import Auth, Credential

    def answer(creds: list[Credential]) -> int:
        asked: list[list[Any]] = [[int(c.type), c.prompt, c.challenge, c.defresult, None] for c in creds]
        status = callback(asked, opaque)
        for cred, item in zip(creds, asked, strict=True):
            cred.result = item[4]
        return -1 if status is None else int(status)

    credentials = Auth(list(credtypes), answer if callback is not None else None)
    opener = virtcore.open_read_only if flags & lv.VIR_CONNECT_RO else virtcore.open
    try:
        conn = virConnect(opener(_uri(uri), auth=credentials))
    except VirtError as exc:
        raise_from(exc)
    # libvirt's drivers check the flags in their connectOpen (testConnectOpen...), on the
    # connection: its test and QEMU drivers take only VIR_CONNECT_RO, the others NO_ALIASES too.
    allowed = lv.VIR_CONNECT_RO
    if conn.getType() not in ("TEST", "QEMU"):
        allowed |= lv.VIR_CONNECT_NO_ALIASES
    try:
        check_flags(flags, allowed, "virConnectOpen", conn)
    except BaseException:
        conn.close()
        raise
    return conn


def getVersion(name: str | None = None) -> int | tuple[int, int]:  # noqa: N802
    """The version of libvirt's API this library provides (with a driver name: twice, as a pair)."""
    if name is None:
        return VERSION
    return (VERSION, VERSION)
