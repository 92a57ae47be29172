"""Pools: define, build, start, destroy, delete, undefine, autostart, state on disk, refused types."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from storage_testxml import dir_pool_xml, volume_xml

import virtcore
from virtcore.errors import (
    ConfigUnsupportedError,
    NoStoragePoolError,
    OperationFailedError,
    OperationInvalidError,
    XMLError,
)
from virtcore.storage import StoragePoolState
from virtcore.xml.pool import parse_pool


def test_dir_pool_lifecycle_builds_the_directory_and_reports_statvfs(
    conn: virtcore.Connection, images: Path, root: Path
) -> None:
    p = conn.define_storage_pool(dir_pool_xml("images", images, mode="0750"))
    assert (root / "storage" / "etc" / "images.xml").is_file()
    assert p.info().state == StoragePoolState.INACTIVE and not p.is_active() and p.is_persistent()
    with pytest.raises(OperationFailedError, match=r"is not a directory"):
        p.start()
    p.build()
    assert stat.S_IMODE(images.stat().st_mode) == 0o750
    p.start()
    assert (root / "storage" / "run" / "images.xml").is_file()
    with pytest.raises(OperationInvalidError, match=r"'images' is already active"):
        p.start()
    with pytest.raises(OperationInvalidError, match=r"already active"):
        p.build()
    info = p.info()
    st = os.statvfs(images)
    assert info.state == StoragePoolState.RUNNING
    assert info.capacity == st.f_blocks * st.f_frsize
    assert 0 < info.available <= info.capacity and info.allocation <= info.capacity
    live = parse_pool(p.xml_desc())
    assert live.capacity == info.capacity and live.target is not None and live.target.path == str(images)
    assert parse_pool(p.xml_desc(inactive=True)).capacity is None
    assert [x.name for x in conn.list_storage_pools(active=True)] == ["images"]
    with pytest.raises(OperationInvalidError, match=r"still active"):
        p.undefine()
    with pytest.raises(OperationInvalidError, match=r"still active"):
        p.delete()
    p.destroy()
    with pytest.raises(OperationInvalidError, match=r"not active"):
        p.destroy()
    with pytest.raises(OperationInvalidError, match=r"not active"):
        p.list_volumes()
    p.delete()
    assert not images.exists()
    p.undefine()
    assert not (root / "storage" / "etc" / "images.xml").exists()
    with pytest.raises(NoStoragePoolError, match=r"'images'"):
        conn.lookup_storage_pool("images")


def test_delete_refuses_a_directory_that_still_holds_volumes(conn: virtcore.Connection, images: Path) -> None:
    p = conn.define_storage_pool(dir_pool_xml("images", images))
    p.build()
    p.start()
    p.create_volume(volume_xml("a.qcow2", 1 << 20))
    p.destroy()
    with pytest.raises(OperationFailedError, match=r"'images'.*not empty"):
        p.delete()
    assert (images / "a.qcow2").is_file()


def test_a_transient_pool_vanishes_when_destroyed(
    conn: virtcore.Connection, images: Path, root: Path
) -> None:
    p = conn.create_storage_pool(dir_pool_xml("scratch", images), build=True)
    assert p.is_active() and not p.is_persistent() and images.is_dir()
    assert not (root / "storage" / "etc" / "scratch.xml").exists()
    with pytest.raises(OperationInvalidError, match=r"transient"):
        p.autostart = True
    p.destroy()
    with pytest.raises(NoStoragePoolError):
        conn.lookup_storage_pool("scratch")


def test_state_is_shared_by_connections_and_processes(uri: str, images: Path) -> None:
    with virtcore.open(uri) as a:
        p = a.define_storage_pool(dir_pool_xml("images", images))
        p.build()
        p.start()
        p.create_volume(volume_xml("a.qcow2", 1 << 20))
    script = (
        "import virtcore, sys\n"
        "with virtcore.open(sys.argv[1]) as c:\n"
        "    p = c.lookup_storage_pool('images')\n"
        "    print(p.uuid, p.is_active(), [v.name for v in p.list_volumes()])\n"
        "    p.destroy()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, uri], capture_output=True, text=True, check=True
    ).stdout
    assert out.split(None, 1) == [p.uuid, "True ['a.qcow2']\n"]
    with virtcore.open(uri) as b:
        assert not b.lookup_storage_pool_by_uuid(p.uuid).is_active()


def test_concurrent_processes_defining_pools_lose_none(uri: str, tmp_path: Path) -> None:
    script = (
        "import virtcore, sys\n"
        "with virtcore.open(sys.argv[1]) as c:\n"
        "    for i in range(15):\n"
        "        n = f'{sys.argv[2]}{i}'\n"
        "        c.define_storage_pool(f\"<pool type='dir'><name>{n}</name>"
        '<target><path>{sys.argv[3]}/{n}</path></target></pool>")\n'
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, uri, prefix, str(tmp_path)])
        for prefix in ("a", "b", "c")
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    with virtcore.open(uri) as c:
        names = sorted(p.name for p in c.list_storage_pools())
    assert names == sorted(f"{x}{i}" for x in "abc" for i in range(15))


def test_autostart_is_a_link_and_starts_the_pool_on_the_first_open_after_boot(
    uri: str, images: Path, root: Path
) -> None:
    with virtcore.open(uri) as c:
        p = c.define_storage_pool(dir_pool_xml("images", images))
        p.build()
        assert not p.autostart
        p.autostart = True
        assert p.autostart
        link = root / "storage" / "etc" / "autostart" / "images.xml"
        assert link.is_symlink() and link.resolve() == root / "storage" / "etc" / "images.xml"
    with virtcore.open(uri) as c:  # same "boot": nothing starts it
        assert not c.lookup_storage_pool("images").is_active()
    for f in (root / "storage" / "run").iterdir():  # a reboot empties the run directory
        f.unlink()
    with virtcore.open(uri) as c:
        p = c.lookup_storage_pool("images")
        assert p.is_active()
        p.autostart = False
        assert not link.exists()


def test_names_uuids_and_targets_are_unique(conn: virtcore.Connection, tmp_path: Path) -> None:
    p = conn.define_storage_pool(dir_pool_xml("one", tmp_path / "one"))
    again = conn.define_storage_pool(
        f"<pool type='dir'><name>one</name><uuid>{p.uuid}</uuid>"
        f"<target><path>{tmp_path}/one2</path></target></pool>"
    )
    assert again.uuid == p.uuid  # a redefinition
    with pytest.raises(OperationFailedError, match=r"'one' is already defined with uuid"):
        conn.define_storage_pool(dir_pool_xml("one", tmp_path / "x"))
    with pytest.raises(OperationFailedError, match=rf"'one' already has uuid {p.uuid}"):
        conn.define_storage_pool(
            f"<pool type='dir'><name>two</name><uuid>{p.uuid}</uuid><target><path>/x</path></target></pool>"
        )
    with pytest.raises(OperationFailedError, match=r"'one' already uses target path"):
        conn.define_storage_pool(dir_pool_xml("two", tmp_path / "one2"))


@pytest.mark.parametrize("kind", ["netfs", "iscsi", "rbd", "logical", "disk"])
def test_other_pool_types_are_refused_naming_the_type(conn: virtcore.Connection, kind: str) -> None:
    xml = {
        "netfs": "<source><host name='nfs.example'/><dir path='/export'/><format type='nfs'/></source>",
        "iscsi": "<source><host name='iscsi.example'/><device path='iqn.2013-06.com.example:p'/></source>",
        "rbd": "<source><name>rbd</name><host name='mon.example'/></source>",
        "logical": "<source><name>vg</name><format type='lvm2'/></source>",
        "disk": "<source><device path='/dev/sdz'/><format type='dos'/></source>",
    }[kind]
    target = "" if kind == "rbd" else "<target><path>/dev/x</path></target>"
    with pytest.raises(ConfigUnsupportedError, match=rf"type '{kind}'"):
        conn.define_storage_pool(f"<pool type='{kind}'><name>p</name>{xml}{target}</pool>")
    assert conn.list_storage_pools() == []


def test_a_pool_target_that_is_a_symlink_to_elsewhere_is_refused(
    conn: virtcore.Connection, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    p = conn.define_storage_pool(dir_pool_xml("images", link))
    with pytest.raises(OperationFailedError, match=rf"'{link}'.*symbolic link to '{elsewhere}'"):
        p.build()
    with pytest.raises(OperationFailedError, match=r"symbolic link"):
        p.start()
    through = conn.define_storage_pool(dir_pool_xml("deep", link / "sub"))
    with pytest.raises(OperationFailedError, match=r"symbolic link"):
        through.build()
    assert not (elsewhere / "sub").exists() and list(elsewhere.iterdir()) == []


def test_a_bad_pool_definition_is_an_xml_error_and_writes_nothing(
    conn: virtcore.Connection, root: Path
) -> None:
    with pytest.raises(XMLError):
        conn.define_storage_pool("<pool type='dir'><name>a/b</name><target><path>/x</path></target></pool>")
    with pytest.raises(XMLError, match=r"'.hidden'"):
        conn.define_storage_pool(
            "<pool type='dir'><name>.hidden</name><target><path>/x</path></target></pool>"
        )
    assert [p.name for p in (root / "storage" / "etc").iterdir()] == ["autostart"]


def test_an_fs_pool_without_a_usable_source_is_refused_at_define(
    conn: virtcore.Connection, tmp_path: Path
) -> None:
    target = f"<target><path>{tmp_path}/mnt</path></target>"

    def fs(name: str, source: str) -> str:
        return f"<pool type='fs'><name>{name}</name><source>{source}</source>{target}</pool>"

    with pytest.raises(XMLError, match=r"source device"):
        conn.define_storage_pool(fs("p", ""))
    with pytest.raises(
        ConfigUnsupportedError, match=r"'p' needs one <source><device path=\.\.\.> \(absolute\)"
    ):
        conn.define_storage_pool(fs("p", "<device path='dev/x'/>"))
    with pytest.raises(ConfigUnsupportedError, match=r"format 'gfs2' of storage pool 'p'"):
        conn.define_storage_pool(fs("p", "<device path='/dev/x'/><format type='gfs2'/>"))
    conn.define_storage_pool(fs("p", "<device path='/dev/x'/><format type='ext4'/>"))
    target = f"<target><path>{tmp_path}/other</path></target>"
    with pytest.raises(OperationFailedError, match=r"'p' already uses source '/dev/x'"):
        conn.define_storage_pool(fs("q", "<device path='/dev/x'/>"))
    assert [p.name for p in conn.list_storage_pools()] == ["p"]
