"""fs pools on a real loop device (root only): mkfs on build, mount on start, umount on destroy."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_testxml import volume_xml

import virtcore
from virtcore.errors import ResourceBusyError, StoragePoolBuiltError
from virtcore.storage import StoragePoolState

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="loop devices and mount need root")


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A 64 MiB loop device over a sparse file, detached afterwards."""
    backing = tmp_path / "disk.img"
    with backing.open("wb") as f:
        f.truncate(64 << 20)
    device = subprocess.run(
        ["losetup", "--find", "--show", "--", str(backing)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["umount", "--", device], capture_output=True, check=False)
        subprocess.run(["losetup", "--detach", device], check=True)


def fs_pool_xml(name: str, source: str, target: Path, fmt: str = "ext4") -> str:
    return (
        f"<pool type='fs'><name>{name}</name><source><device path='{source}'/><format type='{fmt}'/></source>"
        f"<target><path>{target}</path></target></pool>"
    )


def mounted(target: Path) -> bool:
    return os.path.ismount(target)


def test_fs_pool_on_a_loop_device(conn: virtcore.Connection, loop_device: str, tmp_path: Path) -> None:
    target = tmp_path / "mnt"
    p = conn.define_storage_pool(fs_pool_xml("fsp", loop_device, target))
    p.build()
    probe = subprocess.run(
        ["blkid", "-p", "-s", "TYPE", "-o", "value", loop_device], capture_output=True, text=True
    )
    assert probe.stdout.strip() == "ext4" and target.is_dir()
    with pytest.raises(StoragePoolBuiltError, match=rf"'{loop_device}' already holds a ext4"):
        p.build(overwrite=False)
    p.start()
    try:
        assert mounted(target)
        info = p.info()
        assert info.state == StoragePoolState.RUNNING and 0 < info.capacity < 64 << 20
        v = p.create_volume(volume_xml("disk.qcow2", 8 << 20))
        assert v.path == str(target / "disk.qcow2") and v.info().capacity == 8 << 20
        # lost+found is a directory, not a volume
        assert [x.name for x in p.list_volumes()] == ["disk.qcow2"]
        with open(target / "disk.qcow2", "rb"), pytest.raises(ResourceBusyError, match="busy"):
            p.destroy()
        assert mounted(target) and p.is_active()
    finally:
        if p.is_active():
            p.destroy()
    assert not mounted(target) and not (target / "disk.qcow2").exists()
    p.start()  # the data survived on the device
    try:
        assert [x.name for x in p.list_volumes()] == ["disk.qcow2"]
    finally:
        p.destroy()
    p.build(overwrite=True)  # a fresh file system
    p.start()
    try:
        assert p.list_volumes() == []
    finally:
        p.destroy()


def test_fs_pool_on_an_image_file_mounts_it_through_a_loop(conn: virtcore.Connection, tmp_path: Path) -> None:
    image = tmp_path / "fs.img"
    with image.open("wb") as f:
        f.truncate(32 << 20)
    target = tmp_path / "mnt"
    p = conn.define_storage_pool(fs_pool_xml("img", str(image), target))
    p.build()
    p.start()
    try:
        assert mounted(target)
        p.create_volume(volume_xml("a.raw", 1 << 20, "raw"))
    finally:
        p.destroy()
    assert not mounted(target)
    listed = subprocess.run(
        ["losetup", "--list", "--noheadings", "-O", "BACK-FILE"], capture_output=True, text=True
    )
    assert str(image) not in listed.stdout  # the automatic loop device went with the mount
