"""Storage pool events from virt-storage, where libvirt's storage driver (storage_driver.c) queues them.

Define: DEFINED; build: CREATED; start (and create-from-XML, built or not):
STARTED; refresh, and the end of an upload: REFRESH; destroy: STOPPED; delete: DELETED; undefine:
UNDEFINED. A refused call reports nothing. Real directories, real files.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from storage_testxml import dir_pool_xml, volume_xml

import virtcore
from virtcore.errors import OperationInvalidError, ReadFailedError
from virtcore.objevents import ObjectKind, StoragePoolEventID, StoragePoolEventLifecycleType


def _heard(conn: virtcore.Connection) -> list[tuple[str, str, int | None]]:
    got: list[tuple[str, str, int | None]] = []

    def cb(pool: Any, rec: Any) -> None:
        got.append((pool.name, type(rec).__name__, getattr(rec, "event", None)))

    conn.on_object_event(ObjectKind.STORAGE_POOL, StoragePoolEventID.LIFECYCLE, cb)
    conn.on_object_event(ObjectKind.STORAGE_POOL, StoragePoolEventID.REFRESH, cb)
    return got


def test_a_pools_whole_life_is_told_in_libvirts_events(conn: virtcore.Connection, images: Path) -> None:
    got = _heard(conn)
    pool = conn.define_storage_pool(dir_pool_xml("images", images))
    pool.build()
    assert images.is_dir()
    pool.start()
    with pytest.raises(OperationInvalidError):
        pool.undefine()  # still active: refused, nothing reported
    pool.refresh()
    pool.destroy()
    pool.delete()
    assert not images.exists()
    pool.undefine()
    e = StoragePoolEventLifecycleType
    life = "StoragePoolLifecycleEvent"
    assert got == [
        ("images", life, e.DEFINED),
        ("images", life, e.CREATED),
        ("images", life, e.STARTED),
        ("images", "StoragePoolRefreshEvent", None),
        ("images", life, e.STOPPED),
        ("images", life, e.DELETED),
        ("images", life, e.UNDEFINED),
    ]


def test_a_transient_pool_built_on_creation_reports_started_only(
    conn: virtcore.Connection, images: Path
) -> None:
    got = _heard(conn)
    pool = conn.create_storage_pool(dir_pool_xml("tmp", images), build=True)
    assert images.is_dir()
    pool.destroy()
    e = StoragePoolEventLifecycleType
    assert got == [
        ("tmp", "StoragePoolLifecycleEvent", e.STARTED),
        ("tmp", "StoragePoolLifecycleEvent", e.STOPPED),
    ]


def test_an_upload_ending_finished_or_not_refreshes_the_pool(conn: virtcore.Connection, images: Path) -> None:
    # storage_driver.c refreshes the pool when an upload's stream closes, and reports REFRESH
    pool = conn.define_storage_pool(dir_pool_xml("images", images))
    pool.build()
    pool.start()
    vol = pool.create_volume(volume_xml("u.raw", 1 << 20, "raw"))
    got = _heard(conn)
    vol.upload(io.BytesIO(b"A" * 4096))
    assert got == [("images", "StoragePoolRefreshEvent", None)]

    class Failing(io.RawIOBase):
        name = "/dev/failing"

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            raise OSError(5, "Input/output error")

    with pytest.raises(ReadFailedError):
        vol.upload(Failing())  # type: ignore[arg-type]
    assert got == [("images", "StoragePoolRefreshEvent", None)] * 2
    assert Path(vol.path).read_bytes()[:4096] == b"A" * 4096
