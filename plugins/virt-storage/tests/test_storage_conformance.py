"""The storage half of virtcore's conformance suite, run on ``storage:///embed`` with real files.

``virtcore.testing.storage_conformance.StorageConformance`` is the part of the
driver conformance suite every storage driver meets; the domain half needs a
hypervisor, which a ``storage://`` connection alone does not have.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import virtcore
from virtcore.testing.storage_conformance import StorageConformance


class TestStorageConformance(StorageConformance):
    """Every storage conformance test, on this driver's embedded URI."""

    @pytest.fixture
    def uri(self, tmp_path: Path) -> str:
        root = tmp_path / "root"
        root.mkdir()
        return f"storage:///embed?root={root}"

    @pytest.fixture
    def conn(self, uri: str) -> Iterator[virtcore.Connection]:
        with virtcore.open(uri) as c:
            yield c
