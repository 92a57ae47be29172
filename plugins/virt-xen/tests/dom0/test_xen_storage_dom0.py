"""A Xen connection's storage in a real dom0: the host storage driver (virt-storage) as its
secondary driver, volumes made by real ``qemu-img`` (runs inside dom0 only).

The harness (inner.sh) runs these in its "storage" suite, with the storage half of the
conformance suite on ``xen:///system``; they pin what that relies on: that the Xen
connection has storage at all, makes qcow2 volumes through qemu-img, and shares its
pools with ``storage:///system`` under the same root.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import virtcore
from virtcore.storage import StoragePoolState


def _pool_xml(name: str, path: Path) -> str:
    return f"<pool type='dir'><name>{name}</name><target><path>{path}</path></target></pool>"


def test_xen_connection_serves_pools_and_qcow2_volumes(conn: virtcore.Connection, tmp_path: Path) -> None:
    pool = conn.define_storage_pool(_pool_xml("dom0-images", tmp_path / "images"))
    pool.build()
    pool.start()
    try:
        assert pool.info().state == StoragePoolState.RUNNING
        base = pool.create_volume(
            "<volume><name>base.qcow2</name><capacity unit='MiB'>64</capacity>"
            "<target><format type='qcow2'/></target></volume>"
        )
        overlay = pool.create_volume(
            "<volume><name>top.qcow2</name><capacity unit='MiB'>64</capacity>"
            "<target><format type='qcow2'/></target>"
            f"<backingStore><path>{base.path}</path><format type='qcow2'/></backingStore></volume>"
        )
        info = json.loads(
            subprocess.run(
                ["qemu-img", "info", "--output=json", "-U", overlay.path],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        )
        assert info["format"] == "qcow2"
        assert info["virtual-size"] == 64 << 20
        assert info["full-backing-filename"] == base.path
        overlay.resize(128 << 20)
        assert overlay.info().capacity == 128 << 20
        assert conn.lookup_storage_volume_by_path(overlay.path) == overlay
        overlay.delete()
        base.delete()
        assert pool.list_volumes() == []
    finally:
        pool.destroy()
        pool.undefine()


def test_xen_and_storage_connections_see_the_same_pools(
    conn: virtcore.Connection, root: Path, tmp_path: Path
) -> None:
    pool = conn.define_storage_pool(_pool_xml("dom0-shared", tmp_path / "shared"))
    try:
        with virtcore.open(f"storage:///system?root={root}") as storage:
            theirs = storage.lookup_storage_pool("dom0-shared")
            assert theirs.uuid == pool.uuid
            theirs.build()
            theirs.start()
        assert pool.is_active()
        vol = pool.create_volume("<volume><name>a.img</name><capacity unit='MiB'>1</capacity></volume>")
        assert vol.path == str(tmp_path / "shared" / "a.img")
        vol.delete()
        pool.destroy()
    finally:
        pool.undefine()
