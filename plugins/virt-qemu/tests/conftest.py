"""Fixtures for virt-qemu's tests: the test guest, an embedded URI per test, waiting helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
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
