"""Fixtures for virt-storage's tests: an embed root per test, a connection, a started dir pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_testxml import dir_pool_xml

import virtcore
from virtcore.storage import StoragePool


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The embed root of this test."""
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def uri(root: Path) -> str:
    """``storage:///embed?root=...`` for this test."""
    return f"storage:///embed?root={root}"


@pytest.fixture
def conn(uri: str) -> Iterator[virtcore.Connection]:
    """A connection to this test's storage."""
    with virtcore.open(uri) as c:
        yield c


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """Where the test's dir pool lives (not yet made)."""
    return tmp_path / "images"


@pytest.fixture
def pool(conn: virtcore.Connection, images: Path) -> StoragePool:
    """A built, started, persistent dir pool ``images`` at :func:`images`."""
    p = conn.define_storage_pool(dir_pool_xml("images", images))
    p.build()
    p.start()
    return p
