"""Storage pools and volumes: the public handles over the storage hooks.

A *pool* is a place that holds volumes (a directory, a mounted filesystem, an
LVM volume group); a *volume* is one disk image or block device in it.
Values follow libvirt's ``libvirt-storage.h``: sizes are bytes, states and
types are libvirt's numbers.

Storage is usually served by a secondary driver shared by every hypervisor
connection of the host (``qemu:///system`` and ``xen:///system`` see the
same pools); the test driver serves its own, in memory. A connection whose
drivers offer no storage raises ``NoSupportError`` naming the operation.

::

    pool = conn.define_storage_pool(pool_xml)
    pool.build(); pool.start(); pool.autostart = True
    vol = pool.create_volume(vol_xml)
    with open("debian.qcow2", "rb") as f:
        vol.upload(f, progress=lambda done, total: print(done, total))
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from virtcore import hookspecs
from virtcore._dispatch import canonical_uuid, declined, path_arg, xml_arg
from virtcore.errors import (
    ConfigUnsupportedError,
    InvalidArgError,
    NoStoragePoolError,
    NoStorageVolError,
    NoSupportError,
    ReadFailedError,
    SystemError_,
)

if TYPE_CHECKING:
    from virtcore._dispatch import Table
    from virtcore._storagetypes import (
        DownloadSource,
        StoragePoolInfo,
        StoragePoolRef,
        StoragePoolState,
        StorageVolInfo,
        StorageVolRef,
        StorageVolType,
        StorageVolWipeAlgorithm,
        UploadSink,
    )

__all__ = [
    "StoragePoolState",
    "StorageVolType",
    "StorageVolWipeAlgorithm",
    "StoragePoolRef",
    "StorageVolRef",
    "StoragePoolInfo",
    "StorageVolInfo",
    "UploadSink",
    "DownloadSource",
    "ProgressCallback",
    "VolumeResolver",
    "resolve_volume_path",
    "StorageAPI",
    "StoragePool",
    "StorageVolume",
]

#: How much :meth:`StorageVolume.upload` and :meth:`~StorageVolume.download` move per step.
CHUNK = 1 << 20


def __getattr__(name: str) -> object:
    # The enums, records and protocols live in virtcore._storagetypes, imported on first use.
    if not name.startswith("_"):
        from virtcore import _storagetypes  # saves ~5M instructions of a cold open

        if name in _storagetypes.__all__:
            return getattr(_storagetypes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: ``progress(done, total)``: bytes moved so far and in all (0 when unknown).
ProgressCallback = Callable[[int, int], None]


#: A connection's ``resolve_volume(pool, volume) -> path``, as hypervisor drivers get it in
#: :func:`~virtcore.hookspecs.virt_connect_open`.
VolumeResolver = Callable[[str, str], str]


def resolve_volume_path(
    resolve: VolumeResolver | None, pool: str | None, volume: str | None, where: str
) -> str:
    """The local path of a ``<disk type='volume'>``'s volume: what a hypervisor driver calls.

    ``where`` names the disk for messages (``"disk 'vda' of domain 'web'"``); every
    error names it, the pool and the volume.

    :raises ConfigUnsupportedError: no pool or volume name, or the volume is not at an
        absolute local path.
    :raises NoStoragePoolError, NoStorageVolError: no such pool or volume.
    :raises NoSupportError: no connection (``resolve`` is None) or no storage driver.
    """
    if not pool or not volume:
        raise ConfigUnsupportedError(f"{where}: <disk type='volume'> needs <source pool=... volume=...>")
    if resolve is None:
        raise NoSupportError(f"{where}: volume '{volume}' of pool '{pool}' (the connection is not open)")
    try:
        path = resolve(pool, volume)
    except NoStoragePoolError as exc:
        raise NoStoragePoolError(f"{exc.detail} (pool '{pool}' of {where})") from None
    except NoStorageVolError as exc:
        raise NoStorageVolError(f"{exc.detail} (volume '{volume}' in pool '{pool}' of {where})") from None
    except NoSupportError as exc:
        raise NoSupportError(
            f"{exc.detail} (needed for volume '{volume}' of pool '{pool}' of {where}: "
            "is a storage driver installed?)"
        ) from None
    if not isinstance(path, str) or not os.path.isabs(path):
        raise ConfigUnsupportedError(
            f"{where}: volume '{volume}' of pool '{pool}' is at {path!r}, not a local path"
        )
    return path


def _name_arg(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _size_arg(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 1 << 64:
        raise InvalidArgError(f"{what} must be an integer from 0 to 2**64-1, not {value!r}")
    return value


class StorageAPI:
    """The storage half of :class:`virtcore.Connection` (its methods, mixed in)."""

    _ops: Table

    def list_storage_pools(self, active: bool | None = None) -> list[StoragePool]:
        """Pools: all (``None``), only active (``True``) or only inactive (``False``)."""
        spec = hookspecs.virt_connect_list_all_storage_pools
        refs = self._ops[spec](active=active)
        return [StoragePool(self, r) for r in refs] if refs is not None else declined(spec)

    def lookup_storage_pool(self, name: str) -> StoragePool:
        """The pool called ``name``; ``NoStoragePoolError`` if there is none."""
        spec = hookspecs.virt_storage_pool_lookup_by_name
        r = self._ops[spec](name=_name_arg(name, "pool name"))
        return StoragePool(self, r) if r is not None else declined(spec)

    def lookup_storage_pool_by_uuid(self, uuid: str) -> StoragePool:
        """The pool with this UUID (any common spelling); ``NoStoragePoolError`` if none."""
        spec = hookspecs.virt_storage_pool_lookup_by_uuid
        r = self._ops[spec](uuid=canonical_uuid(uuid, "STORAGE"))
        return StoragePool(self, r) if r is not None else declined(spec)

    def define_storage_pool(self, xml: str) -> StoragePool:
        """Define a persistent, inactive pool from ``<pool>`` XML (build and start it next)."""
        spec = hookspecs.virt_storage_pool_define_xml
        r = self._ops[spec](xml=xml_arg(xml, "pool XML"))
        return StoragePool(self, r) if r is not None else declined(spec)

    def create_storage_pool(self, xml: str, *, build: bool = False) -> StoragePool:
        """Create and start a transient pool (built first with ``build=True``)."""
        spec = hookspecs.virt_storage_pool_create_xml
        r = self._ops[spec](xml=xml_arg(xml, "pool XML"), build=bool(build))
        return StoragePool(self, r) if r is not None else declined(spec)

    def lookup_storage_volume_by_key(self, key: str) -> StorageVolume:
        """The volume with this key in any active pool; ``NoStorageVolError`` if none."""
        spec = hookspecs.virt_storage_vol_lookup_by_key
        r = self._ops[spec](key=_name_arg(key, "volume key"))
        return StorageVolume(self, r) if r is not None else declined(spec)

    def lookup_storage_volume_by_path(self, path: str | os.PathLike[str]) -> StorageVolume:
        """The volume at ``path`` in any active pool; ``NoStorageVolError`` if none."""
        spec = hookspecs.virt_storage_vol_lookup_by_path
        r = self._ops[spec](path=path_arg(path))
        return StorageVolume(self, r) if r is not None else declined(spec)

    def _resolve_volume(self, pool: str, volume: str) -> str:
        """The path of ``volume`` in ``pool`` (names): what drivers get as ``resolve_volume``."""
        return self.lookup_storage_pool(pool).lookup_volume(volume).path


class StoragePool:
    """A handle on one storage pool of a connection. Get one from a lookup or a define."""

    __slots__ = ("_conn", "name", "uuid")

    def __init__(self, conn: StorageAPI, ref: StoragePoolRef) -> None:
        self._conn = conn
        #: The pool's name.
        self.name: str = ref.name
        #: The canonical UUID string.
        self.uuid: str = ref.uuid

    def __repr__(self) -> str:
        return f"<virtcore.StoragePool {self.name!r} {self.uuid}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoragePool) and other._conn is self._conn and other.uuid == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    @property
    def connection(self) -> StorageAPI:
        """The connection this handle belongs to."""
        return self._conn

    def _done(self, r: bool | None, spec: Callable[..., object]) -> None:
        if r is None:
            declined(spec)

    def build(self, *, overwrite: bool | None = None) -> None:
        """Make the pool's storage on the host (``overwrite=False``: refuse if it holds data)."""
        spec = hookspecs.virt_storage_pool_build
        self._done(self._conn._ops[spec](uuid=self.uuid, overwrite=overwrite), spec)

    def start(self) -> None:
        """Start (activate) the pool; its volumes are scanned."""
        spec = hookspecs.virt_storage_pool_create
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def destroy(self) -> None:
        """Stop the pool; its data stays (a transient pool vanishes)."""
        spec = hookspecs.virt_storage_pool_destroy
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def delete(self) -> None:
        """Remove what :meth:`build` made (the pool must be inactive)."""
        spec = hookspecs.virt_storage_pool_delete
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def undefine(self) -> None:
        """Remove the persistent definition of an inactive pool."""
        spec = hookspecs.virt_storage_pool_undefine
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def refresh(self) -> None:
        """Rescan the pool for volumes made or removed outside virtcore."""
        spec = hookspecs.virt_storage_pool_refresh
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)

    def info(self) -> StoragePoolInfo:
        """State, capacity, allocation and free space (bytes)."""
        spec = hookspecs.virt_storage_pool_get_info
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def is_active(self) -> bool:
        """Whether the pool is running."""
        from virtcore._storagetypes import StoragePoolState  # saves ~5M instructions of a cold open

        return self.info().state != StoragePoolState.INACTIVE

    def is_persistent(self) -> bool:
        """Whether the pool has a persistent definition."""
        spec = hookspecs.virt_storage_pool_is_persistent
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def xml_desc(self, inactive: bool = False) -> str:
        """The pool's XML (``inactive``: the persistent definition)."""
        spec = hookspecs.virt_storage_pool_get_xml_desc
        r = self._conn._ops[spec](uuid=self.uuid, inactive=bool(inactive))
        return r if r is not None else declined(spec)

    @property
    def autostart(self) -> bool:
        """Whether the pool starts with the host; assign to change it."""
        spec = hookspecs.virt_storage_pool_get_autostart
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    @autostart.setter
    def autostart(self, value: bool) -> None:
        spec = hookspecs.virt_storage_pool_set_autostart
        self._done(self._conn._ops[spec](uuid=self.uuid, autostart=bool(value)), spec)

    def list_volumes(self) -> list[StorageVolume]:
        """Every volume of the (active) pool."""
        spec = hookspecs.virt_storage_pool_list_all_volumes
        refs = self._conn._ops[spec](uuid=self.uuid)
        return [StorageVolume(self._conn, r) for r in refs] if refs is not None else declined(spec)

    def lookup_volume(self, name: str) -> StorageVolume:
        """The volume called ``name``; ``NoStorageVolError`` if none."""
        spec = hookspecs.virt_storage_vol_lookup_by_name
        r = self._conn._ops[spec](pool_uuid=self.uuid, name=_name_arg(name, "volume name"))
        return StorageVolume(self._conn, r) if r is not None else declined(spec)

    def create_volume(self, xml: str, *, prealloc_metadata: bool = False) -> StorageVolume:
        """Create a volume from ``<volume>`` XML."""
        spec = hookspecs.virt_storage_vol_create_xml
        r = self._conn._ops[spec](
            pool_uuid=self.uuid, xml=xml_arg(xml, "volume XML"), prealloc_metadata=bool(prealloc_metadata)
        )
        return StorageVolume(self._conn, r) if r is not None else declined(spec)

    def create_volume_from(
        self, xml: str, source: StorageVolume, *, prealloc_metadata: bool = False
    ) -> StorageVolume:
        """Create a volume from ``<volume>`` XML holding a copy of ``source`` (any format to any)."""
        if not isinstance(source, StorageVolume):
            raise InvalidArgError(f"source must be a StorageVolume, not {type(source).__name__}")
        spec = hookspecs.virt_storage_vol_create_xml_from
        r = self._conn._ops[spec](
            pool_uuid=self.uuid,
            xml=xml_arg(xml, "volume XML"),
            source_key=source.key,
            prealloc_metadata=bool(prealloc_metadata),
        )
        return StorageVolume(self._conn, r) if r is not None else declined(spec)


class StorageVolume:
    """A handle on one volume: addressed by its key, which is stable for the volume's life."""

    __slots__ = ("_conn", "key", "name", "pool_name")

    def __init__(self, conn: StorageAPI, ref: StorageVolRef) -> None:
        self._conn = conn
        #: The name of the pool holding it.
        self.pool_name: str = ref.pool
        #: The volume's name in its pool.
        self.name: str = ref.name
        #: The host-wide key (for file volumes, libvirt's key is the path).
        self.key: str = ref.key

    def __repr__(self) -> str:
        return f"<virtcore.StorageVolume {self.pool_name}/{self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorageVolume) and other._conn is self._conn and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def connection(self) -> StorageAPI:
        """The connection this handle belongs to."""
        return self._conn

    def pool(self) -> StoragePool:
        """The pool holding this volume."""
        return self._conn.lookup_storage_pool(self.pool_name)

    @property
    def path(self) -> str:
        """The volume's path on the host."""
        spec = hookspecs.virt_storage_vol_get_path
        r = self._conn._ops[spec](key=self.key)
        return r if r is not None else declined(spec)

    def info(self) -> StorageVolInfo:
        """Type, capacity and allocation (bytes)."""
        spec = hookspecs.virt_storage_vol_get_info
        r = self._conn._ops[spec](key=self.key)
        return r if r is not None else declined(spec)

    def xml_desc(self) -> str:
        """The volume's ``<volume>`` XML."""
        spec = hookspecs.virt_storage_vol_get_xml_desc
        r = self._conn._ops[spec](key=self.key)
        return r if r is not None else declined(spec)

    def delete(self) -> None:
        """Delete the volume and its data."""
        spec = hookspecs.virt_storage_vol_delete
        if self._conn._ops[spec](key=self.key) is None:
            declined(spec)

    def wipe(self, algorithm: StorageVolWipeAlgorithm | int = 0) -> None:
        """Overwrite the volume's data with a :class:`StorageVolWipeAlgorithm` (ZERO, 0, by default)."""
        from virtcore._storagetypes import StorageVolWipeAlgorithm  # saves ~5M instructions of a cold open

        try:
            alg = StorageVolWipeAlgorithm(algorithm)
        except ValueError:
            raise InvalidArgError(f"unknown wipe algorithm {algorithm!r}") from None
        spec = hookspecs.virt_storage_vol_wipe
        if self._conn._ops[spec](key=self.key, algorithm=int(alg)) is None:
            declined(spec)

    def resize(
        self, capacity: int, *, delta: bool = False, allocate: bool = False, shrink: bool = False
    ) -> None:
        """Set the capacity to ``capacity`` bytes (``delta``: grow or, with ``shrink``, shrink by it)."""
        spec = hookspecs.virt_storage_vol_resize
        r = self._conn._ops[spec](
            key=self.key,
            capacity=_size_arg(capacity, "capacity"),
            delta=bool(delta),
            allocate=bool(allocate),
            shrink=bool(shrink),
        )
        if r is None:
            declined(spec)

    def upload(
        self, source: BinaryIO, *, offset: int = 0, length: int = 0, progress: ProgressCallback | None = None
    ) -> int:
        """Write ``source``'s bytes into the volume from ``offset`` (``length`` 0: all of it).

        Streams in chunks: the data is never held in memory whole. Returns the
        number of bytes written. A failing ``source`` aborts the upload
        (``ReadFailedError`` naming it); the volume's content is then
        unspecified.
        """
        offset, length = _size_arg(offset, "offset"), _size_arg(length, "length")
        spec = hookspecs.virt_storage_vol_upload
        sink = self._conn._ops[spec](key=self.key, offset=offset, length=length)
        if sink is None:
            declined(spec)
        total = length or _remaining(source)
        done = 0
        try:
            while not length or done < length:
                want = CHUNK if not length else min(CHUNK, length - done)
                try:
                    data = source.read(want)
                except OSError as exc:
                    raise ReadFailedError(
                        f"upload source {_describe(source)}: {exc.strerror or exc}"
                    ) from None
                if not data:
                    break
                sink.write(data)
                done += len(data)
                if progress is not None:
                    progress(done, total)
        except BaseException:
            sink.abort()
            raise
        sink.finish()
        return done

    def download(
        self, target: BinaryIO, *, offset: int = 0, length: int = 0, progress: ProgressCallback | None = None
    ) -> int:
        """Write the volume's bytes from ``offset`` (``length`` 0: to the end) into ``target``.

        Streams in chunks; returns the number of bytes written.
        """
        offset, length = _size_arg(offset, "offset"), _size_arg(length, "length")
        spec = hookspecs.virt_storage_vol_download
        src = self._conn._ops[spec](key=self.key, offset=offset, length=length)
        if src is None:
            declined(spec)
        done = 0
        try:
            total = src.size
            while True:
                data = src.read(CHUNK)
                if not data:
                    break
                try:
                    target.write(data)
                except OSError as exc:
                    raise SystemError_(
                        f"download target {_describe(target)}: {exc.strerror or exc}"
                    ) from None
                done += len(data)
                if progress is not None:
                    progress(done, total)
        finally:
            src.close()
        return done


def _remaining(source: BinaryIO) -> int:
    """How many bytes ``source`` still holds, when it is a regular file (else 0: unknown)."""
    try:
        st = os.fstat(source.fileno())
        if not stat.S_ISREG(st.st_mode):
            return 0
        return max(0, st.st_size - source.tell())
    except (OSError, AttributeError, ValueError):
        return 0


def _describe(stream: object) -> str:
    name = getattr(stream, "name", None)
    return repr(name) if isinstance(name, str) else type(stream).__name__
