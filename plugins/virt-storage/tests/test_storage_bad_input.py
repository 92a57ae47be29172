"""Bad input: each a named VirtError, nothing created or deleted outside the pool, nothing half written."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storage_testxml import volume_xml
from virt_storage.volumes import TEMP_PREFIX

import virtcore
from virtcore.errors import (
    NoStorageVolError,
    OperationFailedError,
    StorageVolExistError,
    VirtError,
    XMLError,
)
from virtcore.storage import StoragePool

MiB = 1 << 20


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("a/b", "cannot contain '/'"),
        ("..", "'..'"),
        (".", "'.'"),
        ("-o", "cannot start with '-'"),
        ("--help", "cannot start with '-'"),
        (TEMP_PREFIX + "0123456789abcdef", "temporaries"),
        ("x&#0;y", "invalid xmlChar value 0"),
        ("", "missing <name>"),
    ],
)
def test_bad_volume_names_are_xml_errors(pool: StoragePool, tmp_path: Path, name: str, error: str) -> None:
    before = listing(tmp_path)
    with pytest.raises(XMLError, match=error):
        pool.create_volume(volume_xml(name, MiB))
    assert listing(tmp_path) == before


def test_a_nul_in_a_lookup_name_finds_nothing(pool: StoragePool) -> None:
    for name in ("a\0b", "../images", "-x", TEMP_PREFIX + "x"):
        with pytest.raises(NoStorageVolError):
            pool.lookup_volume(name)


def test_a_target_path_outside_the_pool_is_refused(pool: StoragePool, tmp_path: Path) -> None:
    before = listing(tmp_path)
    outside = tmp_path / "outside.qcow2"
    xml = (
        "<volume><name>a.qcow2</name><capacity>1048576</capacity>"
        f"<target><path>{outside}</path></target></volume>"
    )
    with pytest.raises(XMLError, match=rf"target path '{outside}'.*pool 'images'"):
        pool.create_volume(xml)
    assert listing(tmp_path) == before and not outside.exists()


def test_a_capacity_that_overflows_or_exceeds_free_space_is_refused(
    pool: StoragePool, tmp_path: Path
) -> None:
    before = listing(tmp_path)
    with pytest.raises(XMLError, match=r"capacity"):
        pool.create_volume("<volume><name>big</name><capacity unit='EiB'>100</capacity></volume>")
    with pytest.raises(XMLError, match=r"capacity"):
        pool.create_volume("<volume><name>big</name><capacity>18446744073709551616</capacity></volume>")
    free = pool.info().available
    with pytest.raises(OperationFailedError, match=r"not enough free space in storage pool 'images'.*'big'"):
        pool.create_volume(volume_xml("big", free + 1024 * MiB, "raw"))
    assert listing(tmp_path) == before


def test_a_backing_store_that_is_not_readable_is_named(pool: StoragePool, tmp_path: Path) -> None:
    before = listing(tmp_path)
    for backing in (tmp_path / "missing.qcow2", tmp_path):
        extra = f"<backingStore><path>{backing}</path><format type='qcow2'/></backingStore>"
        with pytest.raises(
            OperationFailedError, match=rf"backing store '{backing}' of .*'o.qcow2' is not readable"
        ):
            pool.create_volume(volume_xml("o.qcow2", MiB, extra=extra))
    with pytest.raises(XMLError, match=r"absolute"):
        pool.create_volume(
            volume_xml("o.qcow2", MiB, extra="<backingStore><path>rel.img</path></backingStore>")
        )
    assert listing(tmp_path) == before


def test_an_existing_name_is_refused_and_left_alone(pool: StoragePool, images: Path) -> None:
    v = pool.create_volume(volume_xml("a.qcow2", MiB))
    data = Path(v.path).read_bytes()
    with pytest.raises(StorageVolExistError, match=r"'a.qcow2'"):
        pool.create_volume(volume_xml("a.qcow2", 2 * MiB))
    with pytest.raises(StorageVolExistError, match=r"'a.qcow2'"):
        pool.create_volume_from(volume_xml("a.qcow2", 2 * MiB), v)
    assert Path(v.path).read_bytes() == data
    (images / "planted").symlink_to("/etc/passwd")
    with pytest.raises(StorageVolExistError, match=r"'planted'"):
        pool.create_volume(volume_xml("planted", MiB, "raw"))
    assert [x.name for x in pool.list_volumes()] == ["a.qcow2"]  # a symlink is no volume


def test_a_failing_tool_leaves_nothing(pool: StoragePool, images: Path) -> None:
    xml = volume_xml("bad.qcow2", MiB, extra="").replace("<target>", "<target><clusterSize>3</clusterSize>")
    with pytest.raises(VirtError, match=r"bad.qcow2"):
        pool.create_volume(xml)
    assert list(images.iterdir()) == []


def test_encrypted_volumes_are_refused_naming_the_feature(pool: StoragePool, images: Path) -> None:
    xml = volume_xml("e.img", MiB, "raw", extra="").replace(
        "</target>",
        "<encryption format='luks'><secret type='passphrase' uuid='f52a81b2-424e-490c-823d-6bd4235bc572'/>"
        "</encryption></target>",
    )
    with pytest.raises(virtcore.errors.ConfigUnsupportedError, match=r"encryption"):
        pool.create_volume(xml)
    assert list(images.iterdir()) == []


SLOW_QEMU_IMG = """#!/bin/sh
# the real qemu-img, then a pause the test kills the creating process in
{real} "$@" || exit $?
touch {ready}
sleep 600
"""


def test_a_create_killed_midway_leaves_no_volume_that_claims_to_be_complete(
    uri: str, pool: StoragePool, images: Path, tmp_path: Path
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    ready = tmp_path / "ready"
    wrapper = bindir / "qemu-img"
    real = subprocess.run(
        ["sh", "-c", "command -v qemu-img"], capture_output=True, text=True, check=True
    ).stdout
    wrapper.write_text(SLOW_QEMU_IMG.format(real=real.strip(), ready=ready))
    wrapper.chmod(0o755)
    script = (
        "import virtcore, sys\n"
        "with virtcore.open(sys.argv[1]) as c:\n"
        "    c.lookup_storage_pool('images').create_volume(sys.argv[2])\n"
    )
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, uri, volume_xml("half.qcow2", 8 * MiB)],
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, "the creating process ended before qemu-img made the image"
            assert time.monotonic() < deadline, "qemu-img never made the image"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    left = [p.name for p in images.iterdir()]
    assert len(left) == 1 and left[0].startswith(TEMP_PREFIX)  # the image, under its hidden name only
    assert [v.name for v in pool.list_volumes()] == []
    with pytest.raises(NoStorageVolError):
        pool.lookup_volume("half.qcow2")
    pool.refresh()  # the leftover goes, under the lock no create holds any more
    assert list(images.iterdir()) == []
    assert pool.create_volume(volume_xml("half.qcow2", 8 * MiB)).info().capacity == 8 * MiB


def test_a_resize_that_overflows_is_refused(pool: StoragePool) -> None:
    v = pool.create_volume(volume_xml("r.qcow2", MiB))
    with pytest.raises(virtcore.errors.InvalidArgError, match=r"overflows"):
        v.resize((1 << 64) - 1)
    with pytest.raises(virtcore.errors.InvalidArgError, match=r"overflows"):
        v.resize((1 << 63) - 1, delta=True)
    with pytest.raises(virtcore.errors.InvalidArgError, match=r"below 0 bytes"):
        v.resize(2 * MiB, delta=True, shrink=True)
    assert v.info().capacity == MiB


def test_two_processes_creating_one_name_make_one_volume(uri: str, pool: StoragePool, images: Path) -> None:
    script = (
        "import sys, virtcore\n"
        "from virtcore.errors import StorageVolExistError\n"
        "with virtcore.open(sys.argv[1]) as c:\n"
        "    try:\n"
        "        c.lookup_storage_pool('images').create_volume(sys.argv[2])\n"
        "        print('made')\n"
        "    except StorageVolExistError as exc:\n"
        "        print('exists', exc.code)\n"
    )
    xml = volume_xml("same.qcow2", 4 * MiB)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, uri, xml], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = sorted(p.communicate(timeout=300)[0].strip() for p in procs)
    assert outcomes == ["exists 90", "exists 90", "made"]
    assert [p.name for p in images.iterdir()] == ["same.qcow2"]


def test_a_target_swapped_for_a_symlink_is_refused_by_the_next_operation(
    pool: StoragePool, images: Path, tmp_path: Path
) -> None:
    # The target is checked once per operation (not at each of its steps), and never
    # remembered from one operation to the next.
    pool.create_volume(volume_xml("a.img", MiB))
    elsewhere = tmp_path / "elsewhere"
    images.rename(elsewhere)
    images.symlink_to(elsewhere)
    with pytest.raises(OperationFailedError, match=rf"'{images}'.*symbolic link to '{elsewhere}'"):
        pool.create_volume(volume_xml("b.img", MiB))
    assert sorted(p.name for p in elsewhere.iterdir()) == ["a.img"]


def test_a_copy_that_cannot_reach_the_disk_is_a_named_error_and_leaves_nothing(
    pool: StoragePool, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = pool.create_volume(volume_xml("src.qcow2", 4 * MiB))

    def fdatasync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    with pytest.raises(
        virtcore.errors.SystemError_, match=r"storage volume 'copy\.qcow2'.*Input/output error"
    ):
        pool.create_volume_from(volume_xml("copy.qcow2", 4 * MiB), source)
    assert sorted(p.name for p in images.iterdir()) == ["src.qcow2"]  # no copy, no temporary
    with pytest.raises(NoStorageVolError):
        pool.lookup_volume("copy.qcow2")
