"""The in-memory storage of a test node: pools, their volumes, and the space they account.

This module documents, in code, what libvirt's test driver does with storage
(``src/test/test_driver.c``), which is also what every virtcore storage
driver promises:

* A pool is *persistent* (defined) and/or *active* (started). A transient
  pool (``create_storage_pool``) exists only while active. Redefining an
  active pool keeps the new definition for when it stops.
* Every pool has a capacity of 100 GiB and starts with nothing allocated,
  whatever its XML says (libvirt's ``testStoragePoolObjSetDefaults``); each
  volume's allocation is taken from the pool's free space and given back when
  the volume is deleted.
* A volume's path and key are ``<pool target>/<name>``. Volumes are reached
  only through an active pool; they survive the pool being stopped.
* Names, UUIDs and target paths are unique among pools; a volume name is
  unique in its pool and can never leave it (the XML model refuses ``/``,
  ``..``, NUL and a leading ``-``).
* A volume a running domain uses (a disk whose source is its path, or its
  pool and name) cannot be deleted or uploaded to, nor its pool stopped:
  ``ResourceBusyError`` naming the domain.
* A volume's data is a byte buffer that grows as it is written, never beyond
  the capacity; what was never written reads as zeros.

Errors carry libvirt's codes: ``NoStoragePoolError`` (49),
``NoStorageVolError`` (50), ``StorageVolExistError`` (90),
``OperationInvalidError`` (55) for a pool in the wrong state,
``OperationFailedError`` (9) for clashes and for a pool out of space.
"""

from __future__ import annotations

import _thread  # not threading: saves ~1 ms of a cold open (threading's own import)
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

from virt_test.pending import PendingPool
from virtcore import errors
from virtcore.errors import (
    ArgumentUnsupportedError,
    InvalidArgError,
    NoStoragePoolError,
    NoStorageVolError,
    OperationFailedError,
    OperationInvalidError,
    ResourceBusyError,
    StorageVolExistError,
)
from virtcore.storage import (
    StoragePoolInfo,
    StoragePoolRef,
    StoragePoolState,
    StorageVolInfo,
    StorageVolRef,
    StorageVolType,
    StorageVolWipeAlgorithm,
)

if TYPE_CHECKING:
    from virtcore.xml import PoolDef, VolumeDef

__all__ = [
    "POOL_CAPACITY",
    "PendingPool",
    "Storage",
    "TestPool",
    "TestVolume",
]

#: What every pool of the test driver holds (``defaultPoolCap``: 100 GiB).
POOL_CAPACITY = 100 * 1024**3

#: The largest size a volume can have (``off_t`` is signed 64-bit).
_MAX_SIZE = (1 << 63) - 1


#: ``user(pool name, volume name, path)``: the running domain using that volume, or None.
UserOf = Callable[[str, str, str], "str | None"]

#: A parsed pool definition, or one still pending.
AnyPoolDef: TypeAlias = "PoolDef | PendingPool"


def _target_of(d: AnyPoolDef) -> str:
    if isinstance(d, PendingPool):
        return d.target
    if d.target is not None and d.target.path:
        return d.target.path
    return "/" + d.name  # network pools have no local target: their volumes live under their name


_T = TypeVar("_T")


class _Renews(Protocol):
    """What owns a :func:`_renewing` value: something that renews its info tuple."""

    def _renew(self) -> None: ...


class _Renewed(Protocol[_T]):
    """The type of a :func:`_renewing` value, for the type checker."""

    def __get__(self, obj: object, owner: type | None = None) -> _T: ...
    def __set__(self, obj: object, value: _T) -> None: ...


def _renewing(slot: str, doc: str) -> Any:
    """A value an info tuple is made from, kept in ``slot``: setting it drops the tuple.

    ``info()`` is the hot path, so volumes and pools keep their info tuple once made and
    drop it (their ``_renew()``) whenever one of the values it holds changes; the next
    ``info()`` makes it again. A property whose getter is C (``attrgetter``): reading
    costs no Python call.
    """

    def renew(self: _Renews, value: object) -> None:
        setattr(self, slot, value)
        self._renew()

    return property(attrgetter(slot), renew, doc=doc)


class TestVolume:
    """One volume: its definition, sizes and data. Guarded by the storage's lock.

    Its info tuple and XML are kept once made and dropped when its sizes change:
    reading them is the hot path.
    """

    __test__ = False  # not a pytest test class
    __slots__ = ("_allocation", "_capacity", "_info", "_xml", "data", "definition", "key", "name", "path")

    capacity: _Renewed[int] = _renewing("_capacity", "The size the volume offers, in bytes.")
    allocation: _Renewed[int] = _renewing("_allocation", "The bytes it takes from its pool.")

    def __init__(self, definition: VolumeDef, path: str, key: str) -> None:
        self.definition = definition
        self.name: str = definition.name
        self.path = path
        self.key = key
        self._capacity: int = definition.capacity or 0
        self._allocation: int = definition.allocation if definition.allocation is not None else self._capacity
        self._renew()
        #: What was written so far (never longer than the capacity); the rest reads as zeros.
        self.data = bytearray()

    def _renew(self) -> None:
        self._info: StorageVolInfo | None = None  # made on the next info(): a create+delete makes none
        self._xml: str | None = None

    def info(self) -> StorageVolInfo:
        """``virStorageVolInfo``: a file volume's type, capacity and allocation."""
        info = self._info
        if info is None:
            info = self._info = StorageVolInfo(StorageVolType.FILE, self._capacity, self._allocation)
        return info

    def xml(self) -> str:
        """The volume's XML, with its key, path and current sizes."""
        if self._xml is None:
            import attrs  # saves ~28 ms on open: only parsed definitions (attrs) are evolved

            from virtcore.xml.volume import VolumeTarget  # saves ~170 ms on open: the XML model

            d = self.definition
            target = d.target if d.target is not None else VolumeTarget()
            current = attrs.evolve(
                d,
                key=self.key,
                capacity=self._capacity,
                allocation=self._allocation,
                target=attrs.evolve(target, path=self.path),
            )
            self._xml = current.to_xml()
        return self._xml


class TestPool:
    """One pool: its definitions, state, volumes and space. Guarded by the storage's lock."""

    __test__ = False  # not a pytest test class
    __slots__ = (
        "_active",
        "_allocation",
        "_info",
        "_xml",
        "autostart",
        "capacity",
        "config",
        "live",
        "volumes",
    )

    active: _Renewed[bool] = _renewing("_active", "Whether the pool is started.")
    allocation: _Renewed[int] = _renewing("_allocation", "The bytes its volumes take.")

    def __init__(self, definition: AnyPoolDef, *, persistent: bool) -> None:
        #: The definition in use; the persistent one when they differ is ``config``.
        self.live: AnyPoolDef = definition
        #: The persistent definition (None: transient).
        self.config: AnyPoolDef | None = definition if persistent else None
        self.autostart = False
        self.capacity = POOL_CAPACITY
        self._active = False
        self._allocation = 0
        #: The XML last formatted, per ``inactive``: (definition, allocation, text).
        self._xml: dict[bool, tuple[PoolDef, int, str]] = {}
        self._renew()
        self.volumes: dict[str, TestVolume] = {}

    def _renew(self) -> None:
        """Forget the info tuple: the next info() makes it (a volume create+delete changes the
        allocation twice and reads it never: two tuples saved)."""
        self._info: StoragePoolInfo | None = None

    @property
    def name(self) -> str:
        """The pool's name."""
        return self.live.name

    @property
    def uuid(self) -> str:
        """The pool's canonical UUID."""
        return self.live.uuid

    @property
    def target(self) -> str:
        """The directory its volumes are in (``<target><path>``)."""
        return _target_of(self.live)

    @property
    def persistent(self) -> bool:
        """Whether the pool has a persistent definition."""
        return self.config is not None

    @property
    def available(self) -> int:
        """The bytes still free."""
        return max(0, self.capacity - self.allocation)

    @property
    def ref(self) -> StoragePoolRef:
        """What a pool lookup answers."""
        return StoragePoolRef(self.name, self.uuid)

    def vol_ref(self, vol: TestVolume) -> StorageVolRef:
        """What a lookup of ``vol`` (one of this pool's volumes) answers."""
        return StorageVolRef(self.name, vol.name, vol.key)

    def info(self) -> StoragePoolInfo:
        """``virStoragePoolInfo``: state, capacity, allocation, available (kept until they change)."""
        info = self._info
        if info is None:
            state = StoragePoolState.RUNNING if self._active else StoragePoolState.INACTIVE
            info = self._info = StoragePoolInfo(state, self.capacity, self._allocation, self.available)
        return info

    def definition(self, *, inactive: bool = False) -> PoolDef:
        """The live definition (``inactive``: the persistent one), parsed: pending ones are parsed now."""
        if isinstance(self.live, PendingPool) or isinstance(self.config, PendingPool):
            from virtcore.xml import parse_pool  # saves ~170 ms on open: lxml and the XML model

            parsed: dict[int, PoolDef] = {}

            def real(d: AnyPoolDef | None) -> PoolDef | None:
                if not isinstance(d, PendingPool):
                    return d
                if id(d) not in parsed:
                    parsed[id(d)] = parse_pool(d.xml)
                return parsed[id(d)]

            live = real(self.live)
            assert live is not None
            self.live, self.config = live, real(self.config)
        d = self.config if inactive and self.config is not None else self.live
        assert not isinstance(d, PendingPool)
        return d

    def xml(self, *, inactive: bool = False) -> str:
        """The pool's XML with its current sizes."""
        d = self.definition(inactive=inactive)
        cached = self._xml.get(inactive)
        if cached is not None and cached[0] is d and cached[1] == self._allocation:
            return cached[2]
        import attrs  # saves ~28 ms on open: only parsed definitions (attrs) are evolved

        text = attrs.evolve(
            d, capacity=self.capacity, allocation=self._allocation, available=self.available
        ).to_xml()
        self._xml[inactive] = (d, self._allocation, text)
        return text


class Storage:
    """Every pool of a node, with one lock around all of them (libvirt's ``virStoragePoolObjList``)."""

    def __init__(self, user_of: UserOf | None = None) -> None:
        self.lock = _thread.RLock()
        self.pools: dict[str, TestPool] = {}  # by uuid
        self.by_name: dict[str, TestPool] = {}
        #: Every volume of every pool by key and by path (keys and paths are unique on the node).
        self.keys: dict[str, tuple[TestPool, TestVolume]] = {}
        self.paths: dict[str, tuple[TestPool, TestVolume]] = {}
        #: Who uses a volume (the node's running domains); taken after this lock, never before.
        self.user_of: UserOf = user_of or (lambda pool, name, path: None)

    def _check_unused(self, pool: TestPool, vol: TestVolume, doing: str) -> None:
        user = self.user_of(pool.name, vol.name, vol.path)
        if user is not None:
            raise ResourceBusyError(
                f"cannot {doing}: storage volume '{vol.name}' of pool '{pool.name}'"
                f" is in use by running domain '{user}'",
                domain=errors.ErrorDomain.STORAGE,
            )

    # -- lookup --------------------------------------------------------------

    def get(self, uuid: str) -> TestPool:
        """The pool with ``uuid``; ``NoStoragePoolError`` when none (call with the lock held)."""
        pool = self.pools.get(uuid)
        if pool is None:
            raise NoStoragePoolError(
                f"no storage pool with matching uuid '{uuid}'", domain=errors.ErrorDomain.TEST
            )
        return pool

    def lookup_name(self, name: str) -> StoragePoolRef:
        """The pool called ``name``."""
        with self.lock:
            pool = self.by_name.get(name)
            if pool is None:
                raise NoStoragePoolError(
                    f"no storage pool with matching name '{name}'", domain=errors.ErrorDomain.TEST
                )
            return pool.ref

    def lookup_uuid(self, uuid: str) -> StoragePoolRef:
        """The pool with ``uuid``."""
        with self.lock:
            return self.get(uuid).ref

    def list_refs(self, active: bool | None) -> list[StoragePoolRef]:
        """Every pool, or only the active (``True``) or inactive (``False``) ones."""
        with self.lock:
            return [p.ref for p in self.pools.values() if active is None or p.active == active]

    def _active(self, uuid: str) -> TestPool:
        pool = self.get(uuid)
        if not pool.active:
            raise OperationInvalidError(
                f"storage pool '{pool.name}' is not active", domain=errors.ErrorDomain.TEST
            )
        return pool

    def _inactive(self, uuid: str) -> TestPool:
        pool = self.get(uuid)
        if pool.active:
            raise OperationInvalidError(
                f"storage pool '{pool.name}' is active", domain=errors.ErrorDomain.TEST
            )
        return pool

    # -- adding and removing pools -------------------------------------------

    def _check_identity(self, new: AnyPoolDef) -> TestPool | None:
        """The existing pool ``new`` redefines, or None; refuse clashes (libvirt's rules)."""
        same_uuid = self.pools.get(new.uuid)
        same_name = self.by_name.get(new.name)
        if same_name is not None and same_name is not same_uuid:
            raise OperationFailedError(
                f"pool '{new.name}' already exists with uuid {same_name.uuid}",
                domain=errors.ErrorDomain.STORAGE,
            )
        if same_uuid is not None and same_uuid.name != new.name:
            raise OperationFailedError(
                f"pool '{same_uuid.name}' is already defined with uuid {new.uuid}",
                domain=errors.ErrorDomain.STORAGE,
            )
        target = _target_of(new)
        for other in self.pools.values():
            if other is not same_uuid and other.target == target:
                raise OperationFailedError(
                    f"storage pool '{new.name}': source conflict with pool '{other.name}'"
                    f" (same target path '{target}')",
                    domain=errors.ErrorDomain.STORAGE,
                )
        return same_uuid

    def _insert(self, pool: TestPool) -> None:
        self.pools[pool.uuid] = pool
        self.by_name[pool.name] = pool

    def _remove(self, pool: TestPool) -> None:
        self.pools.pop(pool.uuid, None)
        self.by_name.pop(pool.name, None)
        for vol in pool.volumes.values():
            self.keys.pop(vol.key, None)
            self.paths.pop(vol.path, None)

    def add_loaded(self, definition: AnyPoolDef, volumes: Sequence[VolumeDef] = ()) -> TestPool:
        """Add an active, persistent pool read from a node file, with its volumes.

        A volume keeps the path and key its XML gives, else gets
        ``<target>/<name>`` as both (libvirt's ``testOpenVolumesForPool``).
        """
        with self.lock:
            self._check_identity(definition)
            pool = TestPool(definition, persistent=True)
            pool.active = True
            try:
                for v in volumes:
                    if v.name in pool.volumes:
                        raise StorageVolExistError(f"{v.name}' in pool '{pool.name}")
                    target = v.target.path if v.target is not None else None
                    path = target or f"{pool.target}/{v.name}"
                    self._add_volume(pool, TestVolume(v, path, v.key or path))
            except BaseException:
                self._remove(pool)  # the volumes indexed so far
                raise
            self._insert(pool)
            return pool

    def define(self, new: PoolDef) -> StoragePoolRef:
        """Define ``new`` or redefine the pool it names (an active pool takes it when it stops)."""
        with self.lock:
            pool = self._check_identity(new)
            if pool is None:
                pool = TestPool(new, persistent=True)
                self._insert(pool)
            elif pool.active:
                pool.config = new  # in use when the pool next starts
            else:
                pool.live = pool.config = new
            return pool.ref

    def create_transient(self, new: PoolDef) -> StoragePoolRef:
        """Start ``new`` as a transient pool (or an inactive pool it names, with ``new`` until it stops)."""
        with self.lock:
            pool = self._check_identity(new)
            if pool is None:
                pool = TestPool(new, persistent=False)
                self._insert(pool)
            elif pool.active:
                raise OperationInvalidError(
                    f"storage pool '{pool.name}' is active", domain=errors.ErrorDomain.TEST
                )
            else:
                pool.live = new  # the persistent definition comes back when it stops
            pool.active = True
            return pool.ref

    def undefine(self, uuid: str) -> None:
        """Forget an inactive pool and its volumes."""
        with self.lock:
            pool = self._inactive(uuid)
            self._remove(pool)

    # -- pool state -----------------------------------------------------------

    def build(self, uuid: str) -> None:
        """Nothing to make in memory; refused on an active pool as libvirt does."""
        with self.lock:
            self._inactive(uuid)

    def start(self, uuid: str) -> None:
        """Start an inactive pool."""
        with self.lock:
            self._inactive(uuid).active = True

    def destroy(self, uuid: str) -> None:
        """Stop an active pool none of whose volumes is in use; a transient one vanishes."""
        with self.lock:
            pool = self._active(uuid)
            for vol in pool.volumes.values():
                self._check_unused(pool, vol, f"stop storage pool '{pool.name}'")
            pool.active = False
            if pool.config is None:
                self._remove(pool)
            else:
                pool.live = pool.config

    def delete(self, uuid: str) -> None:
        """Nothing was built in memory; its volumes stay, as in libvirt's test driver."""
        with self.lock:
            self._inactive(uuid)

    def refresh(self, uuid: str) -> None:
        """Nothing outside the driver can change memory: only the state is checked."""
        with self.lock:
            self._active(uuid)

    def info(self, uuid: str) -> StoragePoolInfo:
        """The pool's info tuple."""
        # Without the lock when the tuple is ready (the hot path); made under it (writers hold it).
        pool = self.pools.get(uuid)
        info = pool._info if pool is not None else None
        if info is not None:
            return info
        with self.lock:
            return self.get(uuid).info()

    def xml(self, uuid: str, inactive: bool) -> str:
        """The pool's XML (``inactive``: its persistent definition)."""
        with self.lock:
            return self.get(uuid).xml(inactive=inactive)

    def is_persistent(self, uuid: str) -> bool:
        """Whether the pool has a persistent definition."""
        with self.lock:
            return self.get(uuid).persistent

    def get_autostart(self, uuid: str) -> bool:
        """Whether the pool is marked to start with the host."""
        with self.lock:
            return self.get(uuid).autostart

    def set_autostart(self, uuid: str, value: bool) -> None:
        """Mark a persistent pool to start with the host (or not)."""
        with self.lock:
            pool = self.get(uuid)
            if pool.config is None:
                raise OperationInvalidError(
                    f"cannot set autostart for transient storage pool '{pool.name}'",
                    domain=errors.ErrorDomain.STORAGE,
                )
            pool.autostart = value

    def list_volumes(self, uuid: str) -> list[StorageVolRef]:
        """The volumes of an active pool."""
        with self.lock:
            pool = self._active(uuid)
            return [pool.vol_ref(v) for v in pool.volumes.values()]

    # -- volume lookup --------------------------------------------------------

    def _find_key(self, key: str) -> tuple[TestPool, TestVolume]:
        """The volume with ``key`` and its pool; ``OperationInvalidError`` when the pool is stopped."""
        entry = self.keys.get(key)
        if entry is None:
            raise NoStorageVolError(
                f"no storage vol with matching key '{key}'", domain=errors.ErrorDomain.TEST
            )
        if not entry[0].active:
            raise OperationInvalidError(
                f"storage pool '{entry[0].name}' is not active", domain=errors.ErrorDomain.TEST
            )
        return entry

    def lookup_volume(self, pool_uuid: str, name: str) -> StorageVolRef:
        """The volume ``name`` of an active pool."""
        with self.lock:
            pool = self._active(pool_uuid)
            vol = pool.volumes.get(name)
            if vol is None:
                raise NoStorageVolError(
                    f"no storage vol with matching name '{name}'", domain=errors.ErrorDomain.TEST
                )
            return pool.vol_ref(vol)

    def lookup_key(self, key: str) -> StorageVolRef:
        """The volume with ``key`` in an active pool (a stopped pool's volumes are not found)."""
        with self.lock:
            entry = self.keys.get(key)
            if entry is None or not entry[0].active:
                raise NoStorageVolError(
                    f"no storage vol with matching key '{key}'", domain=errors.ErrorDomain.TEST
                )
            return entry[0].vol_ref(entry[1])

    def lookup_path(self, path: str) -> StorageVolRef:
        """The volume at ``path`` in an active pool."""
        with self.lock:
            entry = self.paths.get(path)
            if entry is None or not entry[0].active:
                raise NoStorageVolError(
                    f"no storage vol with matching path '{path}'", domain=errors.ErrorDomain.TEST
                )
            return entry[0].vol_ref(entry[1])

    def volume(self, key: str) -> tuple[TestPool, TestVolume]:
        """The volume ``key`` and its (active) pool; hold the lock while using them."""
        return self._find_key(key)

    def volume_info(self, key: str) -> StorageVolInfo:
        """The info of volume ``key`` (the hot path: read without the lock when it can be)."""
        entry = self.keys.get(key)
        if entry is not None and entry[0].active:
            info = entry[1]._info  # ready: read without the lock; else made under it (writers hold it)
            if info is not None:
                return info
        with self.lock:
            return self._find_key(key)[1].info()

    # -- volumes: create and delete -------------------------------------------

    def _add_volume(self, pool: TestPool, vol: TestVolume) -> None:
        for index, value, what in ((self.keys, vol.key, "key"), (self.paths, vol.path, "path")):
            if value in index:
                other_pool, other = index[value]
                raise OperationFailedError(
                    f"storage volume '{vol.name}' of pool '{pool.name}': its {what} '{value}' is the"
                    f" {what} of volume '{other.name}' of pool '{other_pool.name}'",
                    domain=errors.ErrorDomain.STORAGE,
                )
        pool.volumes[vol.name] = vol
        self.keys[vol.key] = self.paths[vol.path] = (pool, vol)
        pool.allocation += vol.allocation

    def _new_volume(self, pool: TestPool, definition: VolumeDef) -> TestVolume:
        """Check ``definition`` against ``pool`` (name, space) and make its volume (not added yet)."""
        name = definition.name  # the XML model refused names that could leave the pool
        if name in pool.volumes:
            raise StorageVolExistError(f"{name}' in storage pool '{pool.name}")
        path = f"{pool.target}/{name}"
        vol = TestVolume(definition, path, path)
        if pool.allocation + vol.allocation > pool.capacity:
            raise OperationFailedError(
                f"Not enough free space in pool '{pool.name}' for volume '{name}'"
                f" ({vol.allocation} bytes wanted, {pool.available} available)",
                domain=errors.ErrorDomain.STORAGE,
            )
        return vol

    def create_volume(self, pool_uuid: str, definition: VolumeDef) -> StorageVolRef:
        """Add a volume from ``definition`` to an active pool, if it fits."""
        with self.lock:
            pool = self._active(pool_uuid)
            vol = self._new_volume(pool, definition)
            self._add_volume(pool, vol)
            return pool.vol_ref(vol)

    def clone_volume(self, pool_uuid: str, definition: VolumeDef, source_key: str) -> StorageVolRef:
        """A new volume holding a copy of ``source_key``'s data.

        Its capacity is the XML's, or the source's when that is missing or
        larger (the copy must fit); its allocation the XML's, or the source's.
        """
        import attrs  # saves ~28 ms on open: only parsed definitions (attrs) are evolved

        with self.lock:
            pool = self._active(pool_uuid)
            _, source = self._find_key(source_key)
            capacity = max(definition.capacity or 0, source.capacity)
            allocation = definition.allocation if definition.capacity is not None else source.allocation
            definition = attrs.evolve(definition, capacity=capacity, allocation=allocation)
            vol = self._new_volume(pool, definition)
            vol.data = bytearray(source.data)
            self._add_volume(pool, vol)
            return pool.vol_ref(vol)

    def delete_volume(self, key: str) -> None:
        """Remove a volume no running domain uses; its allocation goes back to the pool."""
        with self.lock:
            pool, vol = self._find_key(key)
            self._check_unused(pool, vol, "delete it")
            del pool.volumes[vol.name]
            del self.keys[vol.key], self.paths[vol.path]
            pool.allocation -= vol.allocation

    # -- volumes: content and size --------------------------------------------

    def wipe(self, key: str, algorithm: int) -> None:
        """Zero the volume (the only algorithm an in-memory volume has)."""
        with self.lock:
            _, vol = self._find_key(key)
            if algorithm != StorageVolWipeAlgorithm.ZERO:
                name = StorageVolWipeAlgorithm(algorithm).name.lower()
                raise ArgumentUnsupportedError(
                    f"wipe algorithm '{name}' is not supported by the test driver"
                    f" for volume '{vol.name}' (only 'zero')",
                    domain=errors.ErrorDomain.STORAGE,
                )
            vol.data = bytearray()

    def resize(self, key: str, capacity: int, *, delta: bool, allocate: bool, shrink: bool) -> None:
        """libvirt's ``storageVolResize`` rules, in its order."""
        with self.lock:
            pool, vol = self._find_key(key)
            what = f"storage volume '{vol.name}'"
            if delta:
                if shrink:
                    if capacity > vol.capacity:
                        raise InvalidArgError(f"can't shrink capacity of {what} below 0")
                    new = vol.capacity - capacity
                else:
                    new = vol.capacity + capacity
            else:
                new = capacity
            if new > _MAX_SIZE:
                raise InvalidArgError(f"new capacity of {what} ({new} bytes) overflows: at most {_MAX_SIZE}")
            if new < vol.allocation:
                raise InvalidArgError(
                    f"can't shrink capacity of {what} below its allocation ({new} < {vol.allocation} bytes)"
                )
            if new < vol.capacity and not shrink:
                raise InvalidArgError(
                    f"can't shrink capacity of {what} below its current capacity"
                    f" ({new} < {vol.capacity} bytes) unless shrink is asked for"
                )
            grow = new - vol.allocation if allocate else 0
            if grow > pool.available:
                raise InvalidArgError(
                    f"not enough space left in storage pool '{pool.name}' to allocate {what}"
                    f" ({grow} bytes wanted, {pool.available} available)"
                )
            vol.capacity = new
            del vol.data[new:]
            if allocate:
                vol.allocation += grow
                pool.allocation += grow

    def check_unused(self, key: str, doing: str) -> None:
        """``ResourceBusyError`` when a running domain uses volume ``key``."""
        with self.lock:
            self._check_unused(*self._find_key(key), doing)

    def write(self, key: str, offset: int, chunks: list[bytes]) -> None:
        """Store ``chunks`` at ``offset`` (an upload that finished); space grown is taken from the pool."""
        with self.lock:
            pool, vol = self._find_key(key)
            self._check_unused(pool, vol, "upload to it")
            end = offset + sum(len(c) for c in chunks)
            if end > vol.capacity:
                raise InvalidArgError(
                    f"upload to storage volume '{vol.name}' ends at byte {end}, beyond its capacity"
                    f" of {vol.capacity} bytes"
                )
            grow = max(0, end - vol.allocation)
            if grow > pool.available:
                raise OperationFailedError(
                    f"Not enough free space in pool '{pool.name}' for the upload to volume '{vol.name}'",
                    domain=errors.ErrorDomain.STORAGE,
                )
            if len(vol.data) < offset:
                vol.data.extend(bytes(offset - len(vol.data)))
            pos = offset
            for chunk in chunks:
                vol.data[pos : pos + len(chunk)] = chunk
                pos += len(chunk)
            vol.allocation += grow
            pool.allocation += grow
