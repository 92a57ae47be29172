"""The storage hooks of the test driver, over a node's :class:`~virt_test.pools.Storage`.

libvirt's test driver serves storage itself (no secondary driver): each
``test:///`` connection gets a :class:`TestStorage` beside its
:class:`~virt_test.TestDriver`, both over the same node, so storage is
shared exactly as domains are (``test:///default``: per process; a node
file: per connection).

Uploads and downloads move through :class:`VolumeSink` and
:class:`VolumeSource`: an upload is staged and stored only when it finishes,
so an aborted one changes nothing; a download reads a snapshot of the data
and zeros beyond it, without building the whole volume in memory.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from virtcore import hookimpl
from virtcore.errors import InvalidArgError

if TYPE_CHECKING:
    from virt_test.node import Node
    from virt_test.pools import Storage
    from virtcore.storage import StoragePoolInfo, StoragePoolRef, StorageVolInfo, StorageVolRef

__all__ = ["TestStorage", "VolumeSink", "VolumeSource"]


class VolumeSink:
    """An upload into one volume: chunks are staged, then stored by :meth:`finish`."""

    def __init__(self, storage: Storage, key: str, offset: int, limit: int, name: str) -> None:
        self._storage, self._key, self._offset = storage, key, offset
        self._limit, self._name = limit, name
        self._chunks: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        """Stage the next chunk; refused past the volume's capacity (or the length asked for)."""
        if self._size + len(data) > self._limit:
            raise InvalidArgError(
                f"upload to storage volume '{self._name}' is larger than the {self._limit} bytes"
                f" it may write from offset {self._offset}"
            )
        self._chunks.append(bytes(data))
        self._size += len(data)

    def finish(self) -> None:
        """Store what was staged (the volume may have been deleted meanwhile: NoStorageVolError)."""
        chunks, self._chunks = self._chunks, []
        self._storage.write(self._key, self._offset, chunks)

    def abort(self) -> None:
        """Forget what was staged: the volume is left as it was."""
        self._chunks = []


class VolumeSource:
    """A download of one volume: a snapshot of its written data, then zeros up to ``size``."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = data
        self._size = size
        self._pos = 0

    @property
    def size(self) -> int:
        """How many bytes the download delivers."""
        return self._size

    def read(self, size: int) -> bytes:
        """Up to ``size`` next bytes; ``b""`` at the end."""
        n = min(size, self._size - self._pos)
        if n <= 0:
            return b""
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk + bytes(n - len(chunk))

    def close(self) -> None:
        """Release the snapshot."""
        self._data = b""
        self._pos = self._size


class TestStorage:
    """The storage hook implementations over one node's storage."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self._node = node

    def _event(self, ref: StoragePoolRef, event: str | None) -> None:
        """Tell every connection of the node, where libvirt's test driver queues a pool event
        (``event``: a ``StoragePoolEventLifecycleType`` name; ``None``: a refresh)."""
        from virtcore import objevents  # saves its enums and records on open

        self._node._send(
            [
                objevents.StoragePoolRefreshEvent(ref)
                if event is None
                else objevents.StoragePoolLifecycleEvent(ref, objevents.StoragePoolEventLifecycleType[event])
            ]
        )

    @functools.cached_property
    def storage(self) -> Storage:
        """The node's storage, built when the first storage hook runs (opening never does)."""
        return self._node.storage

    # -- pools ---------------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_storage_pools(self, active: bool | None) -> list[StoragePoolRef]:
        return self.storage.list_refs(active)

    @hookimpl
    def virt_storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        return self.storage.lookup_name(name)

    @hookimpl
    def virt_storage_pool_lookup_by_uuid(self, uuid: str) -> StoragePoolRef:
        return self.storage.lookup_uuid(uuid)

    @hookimpl
    def virt_storage_pool_define_xml(self, xml: str) -> StoragePoolRef:
        from virtcore.xml import parse_pool  # saves ~170 ms on open: lxml and the XML model

        ref = self.storage.define(parse_pool(xml))
        self._event(ref, "DEFINED")
        return ref

    @hookimpl
    def virt_storage_pool_create_xml(self, xml: str, build: bool) -> StoragePoolRef:
        from virtcore.xml import parse_pool  # saves ~170 ms on open: lxml and the XML model

        ref = self.storage.create_transient(parse_pool(xml))
        self._event(ref, "STARTED")  # libvirt's test driver: STARTED only, built or not
        return ref

    @hookimpl
    def virt_storage_pool_build(self, uuid: str, overwrite: bool | None) -> bool:
        ref = self.storage.lookup_uuid(uuid)
        self.storage.build(uuid)
        self._event(ref, "CREATED")
        return True

    @hookimpl
    def virt_storage_pool_create(self, uuid: str) -> bool:
        ref = self.storage.lookup_uuid(uuid)
        self.storage.start(uuid)
        self._event(ref, "STARTED")
        return True

    @hookimpl
    def virt_storage_pool_destroy(self, uuid: str) -> bool:
        ref = self.storage.lookup_uuid(uuid)
        self.storage.destroy(uuid)
        self._event(ref, "STOPPED")
        return True

    @hookimpl
    def virt_storage_pool_delete(self, uuid: str) -> bool:
        ref = self.storage.lookup_uuid(uuid)
        self.storage.delete(uuid)
        self._event(ref, "DELETED")
        return True

    @hookimpl
    def virt_storage_pool_undefine(self, uuid: str) -> bool:
        ref = self.storage.lookup_uuid(uuid)
        self.storage.undefine(uuid)
        self._event(ref, "UNDEFINED")
        return True

    @hookimpl
    def virt_storage_pool_refresh(self, uuid: str) -> bool:
        ref = self.storage.lookup_uuid(uuid)
        self.storage.refresh(uuid)
        self._event(ref, None)
        return True

    @hookimpl
    def virt_storage_pool_get_info(self, uuid: str) -> StoragePoolInfo:
        return self.storage.info(uuid)

    @hookimpl
    def virt_storage_pool_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        return self.storage.xml(uuid, inactive)

    @hookimpl
    def virt_storage_pool_get_autostart(self, uuid: str) -> bool:
        return self.storage.get_autostart(uuid)

    @hookimpl
    def virt_storage_pool_set_autostart(self, uuid: str, autostart: bool) -> bool:
        self.storage.set_autostart(uuid, autostart)
        return True

    @hookimpl
    def virt_storage_pool_is_persistent(self, uuid: str) -> bool:
        return self.storage.is_persistent(uuid)

    @hookimpl
    def virt_storage_pool_list_all_volumes(self, uuid: str) -> list[StorageVolRef]:
        return self.storage.list_volumes(uuid)

    # -- volumes -------------------------------------------------------------

    @hookimpl
    def virt_storage_vol_lookup_by_name(self, pool_uuid: str, name: str) -> StorageVolRef:
        return self.storage.lookup_volume(pool_uuid, name)

    @hookimpl
    def virt_storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        return self.storage.lookup_key(key)

    @hookimpl
    def virt_storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        return self.storage.lookup_path(path)

    @hookimpl
    def virt_storage_vol_create_xml(self, pool_uuid: str, xml: str, prealloc_metadata: bool) -> StorageVolRef:
        from virtcore.xml import parse_volume  # saves ~170 ms on open: lxml and the XML model

        with self.storage.lock:
            pool = self.storage.get(pool_uuid)
            return self.storage.create_volume(pool_uuid, parse_volume(xml, pool=pool.definition()))

    @hookimpl
    def virt_storage_vol_create_xml_from(
        self, pool_uuid: str, xml: str, source_key: str, prealloc_metadata: bool
    ) -> StorageVolRef:
        from virtcore.xml import parse_volume  # saves ~170 ms on open: lxml and the XML model

        with self.storage.lock:
            pool = self.storage.get(pool_uuid)
            definition = parse_volume(xml, pool=pool.definition(), require_capacity=False)
            return self.storage.clone_volume(pool_uuid, definition, source_key)

    @hookimpl
    def virt_storage_vol_delete(self, key: str) -> bool:
        self.storage.delete_volume(key)
        return True

    @hookimpl
    def virt_storage_vol_wipe(self, key: str, algorithm: int) -> bool:
        self.storage.wipe(key, algorithm)
        return True

    @hookimpl
    def virt_storage_vol_get_info(self, key: str) -> StorageVolInfo:
        return self.storage.volume_info(key)

    @hookimpl
    def virt_storage_vol_get_xml_desc(self, key: str) -> str:
        with self.storage.lock:
            return self.storage.volume(key)[1].xml()

    @hookimpl
    def virt_storage_vol_get_path(self, key: str) -> str:
        with self.storage.lock:
            return self.storage.volume(key)[1].path

    @hookimpl
    def virt_storage_vol_resize(
        self, key: str, capacity: int, delta: bool, allocate: bool, shrink: bool
    ) -> bool:
        self.storage.resize(key, capacity, delta=delta, allocate=allocate, shrink=shrink)
        return True

    @hookimpl
    def virt_storage_vol_upload(self, key: str, offset: int, length: int) -> VolumeSink:
        with self.storage.lock:
            self.storage.check_unused(key, "upload to it")
            vol = self.storage.volume(key)[1]
            room = _room(vol.name, vol.capacity, offset, length, "upload")
        return VolumeSink(self.storage, key, offset, room, vol.name)

    @hookimpl
    def virt_storage_vol_download(self, key: str, offset: int, length: int) -> VolumeSource:
        with self.storage.lock:
            vol = self.storage.volume(key)[1]
            size = _room(vol.name, vol.capacity, offset, length, "download")
            data = bytes(vol.data[offset : offset + size])
        return VolumeSource(data, size)


def _room(name: str, capacity: int, offset: int, length: int, what: str) -> int:
    """How many bytes a transfer from ``offset`` may move (``length`` 0: to the end)."""
    if offset > capacity:
        raise InvalidArgError(
            f"{what} offset {offset} is beyond the end of storage volume '{name}' ({capacity} bytes)"
        )
    room = capacity - offset
    if length > room:
        raise InvalidArgError(
            f"{what} of {length} bytes from offset {offset} does not fit in storage volume '{name}'"
            f" ({capacity} bytes)"
        )
    return length or room
