"""``virStoragePool`` and ``virStorageVol`` over virtcore's storage API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from virt_libvirt import _constants as lv
from virt_libvirt._base import Handle, Persistent, complete, passes
from virt_libvirt.errors import check_flags, raise_error, raise_from
from virtcore.errors import VirtError

if TYPE_CHECKING:
    import virtcore
    from virt_libvirt.stream import virStream

#: ``VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE>`` flag: the pool type it keeps.
_POOL_TYPES = {
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_DIR: "dir",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_FS: "fs",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_NETFS: "netfs",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_LOGICAL: "logical",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_DISK: "disk",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_ISCSI: "iscsi",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_SCSI: "scsi",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_MPATH: "mpath",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_RBD: "rbd",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_SHEEPDOG: "sheepdog",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_GLUSTER: "gluster",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_ZFS: "zfs",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_VSTORAGE: "vstorage",
    lv.VIR_CONNECT_LIST_STORAGE_POOLS_ISCSI_DIRECT: "iscsi-direct",
}
_POOL_FILTERS = sum(_POOL_TYPES) | sum(
    (
        lv.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE,
        lv.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
        lv.VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT,
        lv.VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT,
        lv.VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART,
        lv.VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART,
    )
)


def pool_filter(flags: int, owner: object) -> Callable[[virtcore.StoragePool], bool]:
    """The test ``virConnectListAllStoragePools`` on ``owner`` (a ``virConnect``) applies for ``flags``."""
    check_flags(flags, _POOL_FILTERS, "virConnectListAllStoragePools", owner)
    types = {name for bit, name in _POOL_TYPES.items() if flags & bit}

    def keep(p: virtcore.StoragePool) -> bool:
        if not passes(
            flags,
            lv.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
            lv.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE,
            p.is_active,
        ):
            return False
        persistent = lv.VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT, lv.VIR_CONNECT_LIST_STORAGE_POOLS_TRANSIENT
        if not passes(flags, *persistent, p.is_persistent):
            return False
        auto = lv.VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART, lv.VIR_CONNECT_LIST_STORAGE_POOLS_NO_AUTOSTART
        if not passes(flags, *auto, lambda: p.autostart):
            return False
        if types:
            import xml.etree.ElementTree as ET  # only a type filter reads the pool's XML

            return ET.fromstring(p.xml_desc()).get("type") in types
        return True

    return keep


class virStoragePool(Persistent):  # noqa: N801 - libvirt-python's name
    """A storage pool, as libvirt-python's ``virStoragePool``."""

    __slots__ = ()
    _o: virtcore.StoragePool

    def info(self) -> list[int]:
        """``[state, capacity, allocation, available]`` (bytes)."""
        try:
            r = self._o.info()
        except VirtError as exc:
            raise_from(exc)
        return [r[0]._value_, r[1], r[2], r[3]]

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<pool>`` XML (``VIR_STORAGE_XML_INACTIVE``: the persistent definition)."""
        check_flags(flags, lv.VIR_STORAGE_XML_INACTIVE, "virStoragePoolGetXMLDesc", self)
        try:
            return self._o.xml_desc(inactive=bool(flags & lv.VIR_STORAGE_XML_INACTIVE))
        except VirtError as exc:
            raise_from(exc)

    def _do(self, action: Callable[[], None]) -> int:
        try:
            action()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def create(self, flags: int = 0) -> int:
        """Start the pool; 0."""
        check_flags(flags, 0, "virStoragePoolCreate", self)
        return self._do(self._o.start)

    def destroy(self) -> int:
        """Stop the pool; 0."""
        return self._do(self._o.destroy)

    def build(self, flags: int = 0) -> int:
        """Make the pool's storage (``VIR_STORAGE_POOL_BUILD_[NO_]OVERWRITE``); 0."""
        overwrite_flags = lv.VIR_STORAGE_POOL_BUILD_OVERWRITE | lv.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
        check_flags(flags, overwrite_flags, "virStoragePoolBuild", self)
        if flags & overwrite_flags == overwrite_flags:
            from virtcore.errors import InvalidArgError

            raise_error(InvalidArgError, "VIR_STORAGE_POOL_BUILD_OVERWRITE and NO_OVERWRITE are exclusive")
        overwrite = None
        if flags & lv.VIR_STORAGE_POOL_BUILD_OVERWRITE:
            overwrite = True
        elif flags & lv.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE:
            overwrite = False
        return self._do(lambda: self._o.build(overwrite=overwrite))

    def delete(self, flags: int = 0) -> int:
        """Remove what :meth:`build` made; 0."""
        check_flags(flags, 0, "virStoragePoolDelete", self)
        return self._do(self._o.delete)

    def undefine(self) -> int:
        """Remove the persistent definition; 0."""
        return self._do(self._o.undefine)

    def refresh(self, flags: int = 0) -> int:
        """Rescan the pool's volumes; 0."""
        check_flags(flags, 0, "virStoragePoolRefresh", self)
        return self._do(self._o.refresh)

    def listVolumes(self) -> list[str]:  # noqa: N802
        """The names of the pool's volumes."""
        try:
            return [v.name for v in self._o.list_volumes()]
        except VirtError as exc:
            raise_from(exc)

    def listAllVolumes(self, flags: int = 0) -> list[virStorageVol]:  # noqa: N802
        """The pool's volumes."""
        check_flags(flags, 0, "virStoragePoolListAllVolumes", self)
        try:
            return [virStorageVol(self._conn, v) for v in self._o.list_volumes()]
        except VirtError as exc:
            raise_from(exc)

    def numOfVolumes(self) -> int:  # noqa: N802
        """How many volumes the pool holds."""
        return len(self.listVolumes())

    def storageVolLookupByName(self, name: str) -> virStorageVol:  # noqa: N802
        """The pool's volume called ``name``."""
        try:
            return virStorageVol(self._conn, self._o.lookup_volume(name))
        except VirtError as exc:
            raise_from(exc)

    def createXML(self, xmlDesc: str, flags: int = 0) -> virStorageVol:  # noqa: N802, N803
        """Create a volume (``VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA``)."""
        allowed = lv.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA | lv.VIR_STORAGE_VOL_CREATE_VALIDATE
        check_flags(flags, allowed, "virStorageVolCreateXML", self)
        prealloc = bool(flags & lv.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA)
        try:
            return virStorageVol(self._conn, self._o.create_volume(xmlDesc, prealloc_metadata=prealloc))
        except VirtError as exc:
            raise_from(exc)

    def createXMLFrom(self, xmlDesc: str, clonevol: virStorageVol, flags: int = 0) -> virStorageVol:  # noqa: N802, N803
        """Create a volume holding a copy of ``clonevol``."""
        allowed = lv.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA | lv.VIR_STORAGE_VOL_CREATE_VALIDATE
        check_flags(flags, allowed, "virStorageVolCreateXMLFrom", self)
        prealloc = bool(flags & lv.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA)
        try:
            vol = self._o.create_volume_from(xmlDesc, clonevol._o, prealloc_metadata=prealloc)
        except VirtError as exc:
            raise_from(exc)
        return virStorageVol(self._conn, vol)


complete(virStoragePool)


class virStorageVol(Handle):  # noqa: N801 - libvirt-python's name
    """A storage volume, as libvirt-python's ``virStorageVol``."""

    __slots__ = ()
    _o: virtcore.StorageVolume

    def name(self) -> str:
        """The volume's name."""
        return self._o.name

    def key(self) -> str:
        """The volume's key (unique on the host)."""
        return self._o.key

    def path(self) -> str:
        """The volume's path on the host."""
        try:
            return self._o.path
        except VirtError as exc:
            raise_from(exc)

    def info(self) -> list[int]:
        """``[type, capacity, allocation]`` (bytes)."""
        try:
            r = self._o.info()
        except VirtError as exc:
            raise_from(exc)
        return [r[0]._value_, r[1], r[2]]

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<volume>`` XML."""
        check_flags(flags, 0, "virStorageVolGetXMLDesc", self)
        try:
            return self._o.xml_desc()
        except VirtError as exc:
            raise_from(exc)

    def storagePoolLookupByVolume(self) -> virStoragePool:  # noqa: N802
        """The pool holding the volume."""
        try:
            return virStoragePool(self._conn, self._o.pool())
        except VirtError as exc:
            raise_from(exc)

    def delete(self, flags: int = 0) -> int:
        """Delete the volume; 0."""
        check_flags(flags, 0, "virStorageVolDelete", self)
        try:
            self._o.delete()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def wipe(self, flags: int = 0) -> int:
        """Overwrite the volume's data with zeroes; 0."""
        check_flags(flags, 0, "virStorageVolWipe", self)
        return self.wipePattern(lv.VIR_STORAGE_VOL_WIPE_ALG_ZERO)

    def wipePattern(self, algorithm: int, flags: int = 0) -> int:  # noqa: N802
        """Overwrite the volume's data with ``algorithm`` (``VIR_STORAGE_VOL_WIPE_ALG_*``); 0."""
        check_flags(flags, 0, "virStorageVolWipePattern", self)
        try:
            self._o.wipe(algorithm)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def resize(self, capacity: int, flags: int = 0) -> int:
        """Set the capacity, bytes (``VIR_STORAGE_VOL_RESIZE_*``); 0."""
        allowed = (
            lv.VIR_STORAGE_VOL_RESIZE_ALLOCATE
            | lv.VIR_STORAGE_VOL_RESIZE_DELTA
            | lv.VIR_STORAGE_VOL_RESIZE_SHRINK
        )
        check_flags(flags, allowed, "virStorageVolResize", self)
        try:
            self._o.resize(
                capacity,
                delta=bool(flags & lv.VIR_STORAGE_VOL_RESIZE_DELTA),
                allocate=bool(flags & lv.VIR_STORAGE_VOL_RESIZE_ALLOCATE),
                shrink=bool(flags & lv.VIR_STORAGE_VOL_RESIZE_SHRINK),
            )
        except VirtError as exc:
            raise_from(exc)
        return 0

    def upload(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        """Make ``stream`` carry data into the volume from ``offset`` (``length`` 0: to the end); 0."""
        check_flags(flags, 0, "virStorageVolUpload", self)
        stream._start_upload(self._o, offset, length)
        return 0

    def download(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        """Make ``stream`` carry the volume's data from ``offset`` (``length`` 0: to the end); 0."""
        check_flags(flags, 0, "virStorageVolDownload", self)
        stream._start_download(self._o, offset, length)
        return 0


complete(virStorageVol)
