"""The storage driver's hooks: pools and volumes of one layout, for one connection.

:class:`StorageDriver` answers the storage hooks of :mod:`virtcore.hookspecs`
over a :class:`~virt_storage.state.PoolStore` (the pools, as files) with the
pool types of :mod:`virt_storage.backends` and the file volumes of
:mod:`virt_storage.volumes`. Every change takes the layout's state lock; reads
see the files as they are. What would change or remove a volume an active
domain uses is refused first (:mod:`virt_storage.inuse`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from virt_storage.backends import backend_for, target_of
from virt_storage.inuse import Users
from virt_storage.state import PoolRecord, PoolStore
from virt_storage.streams import FileSink, FileSource
from virt_storage.volumes import FilePool
from virtcore import hookimpl, objevents
from virtcore.errors import (
    NoStorageVolError,
    OperationFailedError,
    OperationInvalidError,
    VirtError,
    XMLError,
)
from virtcore.storage import (
    StoragePoolInfo,
    StoragePoolRef,
    StoragePoolState,
    StorageVolInfo,
    StorageVolRef,
)
from virtcore.xml.pool import PoolDef, parse_pool

__all__ = ["StorageDriver"]


def _ref(pool: PoolDef) -> StoragePoolRef:
    return StoragePoolRef(pool.name, pool.uuid)


def _what(pool: PoolDef) -> str:
    return f"storage pool '{pool.name}'"


def _active(record: PoolRecord) -> FilePool:
    if record.live is None:
        raise OperationInvalidError(f"storage pool '{record.current.name}' is not active")
    return FilePool(record.live)


def _names(files: FilePool) -> list[str]:
    """The volumes of ``files``; none when its directory cannot be read (nothing there to be in use)."""
    try:
        return files.names()
    except VirtError:
        return []


class StorageDriver:
    """The storage hooks for one connection to one layout."""

    def __init__(self, store: PoolStore) -> None:
        self.store = store
        #: Who uses a volume: the connection's hypervisor driver, asked through the core.
        self.users = Users()
        #: The connection's ``emit``: pool events go to the connection this driver serves.
        self._emit: Callable[[objevents.AnyObjectEvent], None] | None = None

    @hookimpl
    def virt_connect_open(
        self, users_of_path: Callable[[str], list[str]], emit: Callable[[objevents.AnyObjectEvent], None]
    ) -> None:
        """Keep the connection's ``users_of_path`` (volumes in use are refused their removal) and
        its ``emit`` (pool events)."""
        self.users.attach(users_of_path)
        self._emit = emit

    @hookimpl
    def virt_connect_close(self) -> None:
        """Forget the connection's ``users_of_path`` and ``emit``."""
        self.users.attach(None)
        self._emit = None

    def _event(self, pool: PoolDef, event: str | None) -> None:
        """Report a pool event where libvirt's storage driver queues one (``event``: a
        ``StoragePoolEventLifecycleType`` name; ``None``: a refresh)."""
        emit = self._emit
        if emit is None:
            return
        ref = _ref(pool)
        emit(
            objevents.StoragePoolRefreshEvent(ref)
            if event is None
            else objevents.StoragePoolLifecycleEvent(ref, objevents.StoragePoolEventLifecycleType[event])
        )

    def _check_unused(self, files: FilePool, names: list[str], doing: str) -> None:
        """``ResourceBusyError`` when an active domain uses one of the volumes ``names`` of ``files``."""
        target = files.target
        self.users.check(files.pool.name, [(n, os.path.join(target, n)) for n in names], doing)

    # -- pools: finding --------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_storage_pools(self, active: bool | None) -> list[StoragePoolRef]:
        """Pools, filtered by state."""
        return [_ref(r.current) for r in self.store.load().values() if active is None or r.active == active]

    @hookimpl
    def virt_storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        """The pool called ``name``."""
        return _ref(self.store.by_name(name).current)

    @hookimpl
    def virt_storage_pool_lookup_by_uuid(self, uuid: str) -> StoragePoolRef:
        """The pool with this UUID."""
        return _ref(self.store.by_uuid(uuid).current)

    # -- pools: defining -------------------------------------------------------

    def _parse(self, xml: str) -> PoolDef:
        pool = parse_pool(xml)
        backend_for(pool).check(pool)
        if pool.name.startswith("."):
            raise XMLError(f"storage pool name '{pool.name}' cannot start with '.'")
        return pool

    def _check_unique(self, pool: PoolDef, records: dict[str, PoolRecord]) -> PoolRecord | None:
        """The record ``pool`` redefines (same name and UUID), refusing a clash with another pool."""
        same = records.get(pool.name)
        if same is not None and same.current.uuid != pool.uuid:
            raise OperationFailedError(f"{_what(pool)} is already defined with uuid {same.current.uuid}")
        target = target_of(pool)
        for name, other in records.items():
            if name == pool.name:
                continue
            theirs = other.current
            if theirs.uuid == pool.uuid:
                raise OperationFailedError(f"storage pool '{name}' already has uuid {pool.uuid}")
            if target_of(theirs) == target:
                raise OperationFailedError(f"storage pool '{name}' already uses target path '{target}'")
            shared = sorted(
                {d.path for d in pool.source.devices if d.path}
                & {d.path for d in theirs.source.devices if d.path}
            )
            if shared:
                raise OperationFailedError(f"storage pool '{name}' already uses source '{shared[0]}'")
        return same

    @hookimpl
    def virt_storage_pool_define_xml(self, xml: str) -> StoragePoolRef:
        """Define (or redefine) a persistent pool."""
        pool = self._parse(xml)
        with self.store.lock.held():
            self._check_unique(pool, self.store.load())
            self.store.save_config(pool)
        self._event(pool, "DEFINED")
        return _ref(pool)

    @hookimpl
    def virt_storage_pool_create_xml(self, xml: str, build: bool) -> StoragePoolRef:
        """Create and start a transient pool."""
        pool = self._parse(xml)
        with self.store.lock.held():
            if self._check_unique(pool, self.store.load()) is not None:
                raise OperationFailedError(f"{_what(pool)} already exists")
            backend = backend_for(pool)
            if build:
                backend.build(pool, None)
            backend.start(pool)
            self.store.save_status(pool)
        self._event(pool, "STARTED")  # built or not: libvirt's storage driver says STARTED only
        return _ref(pool)

    @hookimpl
    def virt_storage_pool_undefine(self, uuid: str) -> bool:
        """Remove an inactive pool's definition."""
        with self.store.lock.held():
            record = self.store.by_uuid(uuid)
            if record.active:
                raise OperationInvalidError(f"storage pool '{record.current.name}' is still active")
            self.store.remove_config(record.current.name)
        self._event(record.current, "UNDEFINED")
        return True

    # -- pools: lifecycle ------------------------------------------------------

    @hookimpl
    def virt_storage_pool_build(self, uuid: str, overwrite: bool | None) -> bool:
        """Make the pool's storage."""
        with self.store.lock.held():
            record = self.store.by_uuid(uuid)
            if record.active:
                raise OperationInvalidError(f"storage pool '{record.current.name}' is already active")
            backend_for(record.current).build(record.current, overwrite)
        self._event(record.current, "CREATED")
        return True

    @hookimpl
    def virt_storage_pool_create(self, uuid: str) -> bool:
        """Start the pool."""
        with self.store.lock.held():
            record = self.store.by_uuid(uuid)
            self._start(record)
        self._event(record.current, "STARTED")
        return True

    def _start(self, record: PoolRecord) -> None:
        pool = record.current
        if record.active:
            raise OperationInvalidError(f"storage pool '{pool.name}' is already active")
        backend_for(pool).start(pool)
        FilePool(pool).remove_leftovers()
        self.store.save_status(pool)

    @hookimpl
    def virt_storage_pool_destroy(self, uuid: str) -> bool:
        """Stop the pool (a transient one vanishes)."""
        with self.store.lock.held():
            record = self.store.by_uuid(uuid)
            files = _active(record)
            pool = files.pool
            self._check_unused(files, _names(files), f"stop storage pool '{pool.name}'")
            backend_for(pool).stop(pool)
            self.store.remove_status(pool.name)
        self._event(pool, "STOPPED")
        return True

    @hookimpl
    def virt_storage_pool_delete(self, uuid: str) -> bool:
        """Remove what build made."""
        with self.store.lock.held():
            record = self.store.by_uuid(uuid)
            if record.active:
                raise OperationInvalidError(f"storage pool '{record.current.name}' is still active")
            files = FilePool(record.current)  # an inactive pool's files a domain may still have open
            self._check_unused(files, _names(files), f"delete storage pool '{record.current.name}'")
            backend_for(record.current).delete(record.current)
        self._event(record.current, "DELETED")
        return True

    @hookimpl
    def virt_storage_pool_refresh(self, uuid: str) -> bool:
        """Rescan: the directory is read afresh on every call; leftovers of interrupted creates go."""
        with self.store.lock.held():
            files = _active(self.store.by_uuid(uuid))
            files.remove_leftovers()
            files.names()
        self._event(files.pool, None)
        return True

    def autostart_all(self) -> None:
        """Start every autostart pool that is inactive; one that fails stays inactive."""
        with self.store.lock.held():
            for record in self.store.load().values():
                if record.autostart and not record.active:
                    try:
                        self._start(record)
                    except VirtError:
                        continue

    # -- pools: describing -----------------------------------------------------

    @hookimpl
    def virt_storage_pool_get_info(self, uuid: str) -> StoragePoolInfo:
        """State and sizes (statvfs of the target when active)."""
        record = self.store.by_uuid(uuid)
        if not record.active:
            return StoragePoolInfo(StoragePoolState.INACTIVE, 0, 0, 0)
        capacity, allocation, available = _active(record).capacity()
        return StoragePoolInfo(StoragePoolState.RUNNING, capacity, allocation, available)

    @hookimpl
    def virt_storage_pool_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        """The pool's XML, with current sizes when active."""
        record = self.store.by_uuid(uuid)
        if inactive and record.config is not None:
            return record.config.to_xml()
        pool = record.current
        if record.active:
            capacity, allocation, available = _active(record).capacity()
        else:
            capacity = allocation = available = 0
        return attrs.evolve(pool, capacity=capacity, allocation=allocation, available=available).to_xml()

    @hookimpl
    def virt_storage_pool_get_autostart(self, uuid: str) -> bool:
        """Whether the pool autostarts."""
        return self.store.by_uuid(uuid).autostart

    @hookimpl
    def virt_storage_pool_set_autostart(self, uuid: str, autostart: bool) -> bool:
        """Set or clear autostart of a persistent pool."""
        with self.store.lock.held():
            record = self.store.by_uuid(uuid)
            if not record.persistent:
                raise OperationInvalidError(
                    f"cannot set autostart for transient storage pool '{record.current.name}'"
                )
            self.store.set_autostart(record.current.name, autostart)
        return True

    @hookimpl
    def virt_storage_pool_is_persistent(self, uuid: str) -> bool:
        """Whether the pool has a persistent definition."""
        return self.store.by_uuid(uuid).persistent

    @hookimpl
    def virt_storage_pool_list_all_volumes(self, uuid: str) -> list[StorageVolRef]:
        """The volumes of the active pool."""
        files = _active(self.store.by_uuid(uuid))
        target = files.target
        return [StorageVolRef(files.pool.name, n, os.path.join(target, n)) for n in files.names()]

    # -- volumes ---------------------------------------------------------------

    def _volume(self, key: str) -> tuple[FilePool, str]:
        """The active pool holding the volume whose key (path) is ``key``, and its name."""
        for path in dict.fromkeys((os.path.normpath(key), os.path.realpath(key))):
            for record in self.store.load().values():
                if record.live is None:
                    continue
                files = FilePool(record.live)
                try:
                    name = files.owns(path)
                except VirtError:
                    continue
                if name is not None:
                    return files, name
        raise NoStorageVolError(f"no storage vol with matching key '{key}'")

    @staticmethod
    def _vref(files: FilePool, name: str) -> StorageVolRef:
        return StorageVolRef(files.pool.name, name, os.path.join(files.target, name))

    @hookimpl
    def virt_storage_vol_lookup_by_name(self, pool_uuid: str, name: str) -> StorageVolRef:
        """The volume called ``name`` in the pool."""
        files = _active(self.store.by_uuid(pool_uuid))
        files.path_of(name)
        return self._vref(files, name)

    @hookimpl
    def virt_storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        """The volume with this key (its path)."""
        return self._vref(*self._volume(key))

    @hookimpl
    def virt_storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        """The volume at this path."""
        try:
            return self._vref(*self._volume(path))
        except NoStorageVolError:
            raise NoStorageVolError(f"no storage vol with matching path '{path}'") from None

    @hookimpl
    def virt_storage_vol_create_xml(self, pool_uuid: str, xml: str, prealloc_metadata: bool) -> StorageVolRef:
        """Create a volume."""
        with self.store.lock.held():
            files = _active(self.store.by_uuid(pool_uuid))
            name = files.create(xml, prealloc_metadata=prealloc_metadata)
        return self._vref(files, name)

    @hookimpl
    def virt_storage_vol_create_xml_from(
        self, pool_uuid: str, xml: str, source_key: str, prealloc_metadata: bool
    ) -> StorageVolRef:
        """Create a volume holding a copy of another (any format to any)."""
        with self.store.lock.held():
            files = _active(self.store.by_uuid(pool_uuid))
            source_pool, source_name = self._volume(source_key)
            path = source_pool.path_of(source_name)
            name = files.clone(xml, path, prealloc_metadata=prealloc_metadata)
        return self._vref(files, name)

    @hookimpl
    def virt_storage_vol_delete(self, key: str) -> bool:
        """Delete the volume."""
        with self.store.lock.held():
            files, name = self._volume(key)
            self._check_unused(files, [name], "delete it")
            files.delete(name)
        return True

    @hookimpl
    def virt_storage_vol_wipe(self, key: str, algorithm: int) -> bool:
        """Overwrite the volume with zeros."""
        with self.store.lock.held():
            files, name = self._volume(key)
            self._check_unused(files, [name], "wipe it")
            files.wipe(name, algorithm)
        return True

    @hookimpl
    def virt_storage_vol_get_info(self, key: str) -> StorageVolInfo:
        """Type, capacity, allocation."""
        files, name = self._volume(key)
        return files.info(name)

    @hookimpl
    def virt_storage_vol_get_xml_desc(self, key: str) -> str:
        """The volume's XML, from the file as it is."""
        files, name = self._volume(key)
        return files.describe(name).to_xml()

    @hookimpl
    def virt_storage_vol_get_path(self, key: str) -> str:
        """The volume's path."""
        files, name = self._volume(key)
        return files.path_of(name)

    @hookimpl
    def virt_storage_vol_resize(
        self, key: str, capacity: int, delta: bool, allocate: bool, shrink: bool
    ) -> bool:
        """Change the capacity."""
        with self.store.lock.held():
            files, name = self._volume(key)
            files.resize(
                name,
                capacity,
                delta=delta,
                allocate=allocate,
                shrink=shrink,
                before_shrinking=lambda: self._check_unused(files, [name], "shrink it"),
            )
        return True

    @hookimpl
    def virt_storage_vol_upload(self, key: str, offset: int, length: int) -> FileSink:
        """A sink writing into the volume."""
        files, name = self._volume(key)
        self._check_unused(files, [name], "upload to it")
        pool = files.pool
        return FileSink(
            files.path_of(name), offset, length, f"storage volume '{name}'", lambda: self._event(pool, None)
        )

    @hookimpl
    def virt_storage_vol_download(self, key: str, offset: int, length: int) -> FileSource:
        """A source reading the volume."""
        files, name = self._volume(key)
        return FileSource(files.path_of(name), offset, length, f"storage volume '{name}'")
