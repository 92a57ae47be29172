"""Fixtures for virt-qemu's tests: the test guest, an embedded URI per test, waiting helpers, the
snapshot tests' guest and small file system."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from snapshot_guests import disk_xml, make_image
from virt_qemu import testguest

import virtcore


@pytest.fixture(scope="session")
def guest_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(kernel, initrd)`` of the test guest (the initramfs built once per session)."""
    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel, cache_dir=tmp_path_factory.mktemp("initramfs"))
    return kernel, initrd


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The embed root of this test."""
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def uri(root: Path) -> str:
    """``qemu:///embed?root=...`` for this test."""
    return f"qemu:///embed?root={root}"


@pytest.fixture
def conn(uri: str) -> Iterator[virtcore.Connection]:
    """A connection; every guest still active at the end is destroyed."""
    c = virtcore.open(uri)
    try:
        yield c
    finally:
        for dom in c.list_domains(active=True):
            try:
                dom.destroy()
            except virtcore.errors.VirtError:
                pass
        c.close()


@pytest.fixture
def guest_xml(guest_files: tuple[Path, Path], tmp_path: Path) -> Callable[..., str]:
    """``guest_xml(name, **kw)``: XML of a test guest whose serial console goes to a file."""
    kernel, initrd = guest_files

    def make(name: str = "guest", **kw: object) -> str:
        kw.setdefault("serial_log", tmp_path / f"serial-{abs(hash(name))}.log")
        return testguest.guest_domain_xml(name, kernel, initrd, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture
def qcow2_guest(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> Iterator[tuple[virtcore.Domain, Path]]:
    """A defined (not started) ticker guest with a 16 MiB qcow2 disk; undefined with its snapshots after."""
    image = make_image(tmp_path)
    dom = conn.define_domain(guest_xml("snappy", extra_devices=disk_xml(image)))
    yield dom, image
    for step in (dom.destroy, lambda: dom.undefine(snapshots_metadata=True)):
        try:
            step()
        except virtcore.errors.VirtError:
            pass


@pytest.fixture
def full_fs(tmp_path: Path) -> Iterator[Path]:
    """A small ext4 file system on a loop device, mounted (root only); unmounted and detached after."""
    if os.geteuid() != 0:
        pytest.skip("loop devices and mount need root")
    backing = tmp_path / "fs.img"
    with backing.open("wb") as f:
        f.truncate(32 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "--", str(backing)], check=True)
    device = subprocess.run(
        ["losetup", "--find", "--show", "--", str(backing)], capture_output=True, text=True, check=True
    ).stdout.strip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "--", device, str(mnt)], check=True)
        yield mnt
    finally:
        subprocess.run(["umount", "--", str(mnt)], capture_output=True, check=False)
        subprocess.run(["losetup", "--detach", device], check=True)
