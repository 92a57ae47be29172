"""Fixtures for the tests that run inside a real Xen dom0 (see ../xenhost/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import virtcore


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "xenroot"


@pytest.fixture
def uri(root: Path) -> str:
    return f"xen:///system?root={root}"


@pytest.fixture
def conn(uri: str) -> Iterator[virtcore.Connection]:
    c = virtcore.open(uri)
    try:
        yield c
    finally:
        for dom in c.list_domains():
            if dom.name.startswith("it-"):
                try:
                    if dom.is_active():
                        dom.destroy()
                    if dom.is_persistent():
                        dom.undefine()
                except virtcore.VirtError:
                    pass
        c.close()


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    return "it-" + request.node.name.removeprefix("test_")[:30].replace("_", "-")
