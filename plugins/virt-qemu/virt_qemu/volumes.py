"""Disks of ``type='volume'``: ``<source pool='images' volume='a.qcow2'/>`` resolved to a file.

The connection's storage (whatever storage driver serves it, through the
``resolve_volume`` the core hands :func:`~virtcore.hookspecs.virt_connect_open`)
gives the volume's path; its format is the disk's ``<driver type>`` when the
XML names one, else the volume's own, read from its header as a file pool's
storage driver does. The definition keeps ``type='volume'`` as written: only
the QEMU command line (and a hot-plug's ``blockdev-add``) sees the path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

import attrs

from virtcore.errors import (
    ConfigUnsupportedError,
    SystemError_,
)
from virtcore.storage import VolumeResolver, resolve_volume_path
from virtcore.xml import Disk, DomainDef

__all__ = ["Resolve", "ResolvedVolume", "probe_format", "resolve_disk", "resolve_volumes"]

#: A connection's ``resolve_volume(pool, volume) -> path`` (:func:`virtcore.hookspecs.virt_connect_open`).
Resolve = VolumeResolver


@attrs.frozen
class ResolvedVolume:
    """Where a volume disk's data is on the host, and in which image format."""

    path: str
    format: str


#: Image headers: (offset, magic, format). A file matching none is raw.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"QFI\xfb", "qcow2"),  # qcow and qcow2 share it; the version tells them apart
    (0, b"QED\x00", "qed"),
    (0, b"KDMV", "vmdk"),
    (0, b"conectix", "vpc"),
    (64, b"\x7f\x10\xda\xbe", "vdi"),
    (0, b"vhdxfile", "vhdx"),
    (0, b"WithoutFreeSpace", "ploop"),
)


def probe_format(path: str) -> str:
    """The image format of the file or block device at ``path``, from its header.

    :raises SystemError_: it cannot be read, naming it.
    :raises ConfigUnsupportedError: it is neither a regular file nor a block device.
    """
    try:  # O_NONBLOCK: a FIFO in a pool must not hang the start
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise SystemError_(f"cannot open volume {path!r}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            raise ConfigUnsupportedError(f"volume {path!r} is neither a file nor a block device")
        head = os.pread(fd, 72, 0)
    except OSError as exc:
        raise SystemError_(f"cannot read volume {path!r}: {exc.strerror}") from None
    finally:
        os.close(fd)
    for offset, magic, fmt in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if fmt == "qcow2" and head[4:8] == b"\x00\x00\x00\x01":
                return "qcow"
            return fmt
    return "raw"


def resolve_disk(disk: Disk, resolve: Resolve | None, domain: str) -> ResolvedVolume:
    """Where the volume disk ``disk`` of domain ``domain`` is, through the connection's storage.

    :raises NoStoragePoolError, NoStorageVolError: the pool or volume is unknown,
        naming it, the disk and the domain.
    :raises NoSupportError: the connection has no storage driver.
    :raises ConfigUnsupportedError: the ``<source>`` lacks a pool or volume name,
        or the volume is not a local file or block device.
    """
    where = f"disk '{disk.target_dev}' of domain '{domain}'"
    path = resolve_volume_path(resolve, disk.source_pool, disk.source, where)
    fmt = disk.driver_type or probe_format(path)
    return ResolvedVolume(path=path, format=fmt)


def resolve_volumes(d: DomainDef, resolve: Resolve | None) -> Mapping[str, ResolvedVolume]:
    """Every volume disk of ``d`` resolved (see :func:`resolve_disk`), by target device."""
    return {disk.target_dev: resolve_disk(disk, resolve, d.name) for disk in d.disks if disk.type == "volume"}
