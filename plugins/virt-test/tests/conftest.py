from __future__ import annotations

from pathlib import Path

import pytest
from libvirt_testdata import require

pytest_plugins = ["pytester"]


@pytest.fixture
def testdriver_dir() -> Path:
    """libvirt's own test-driver node files (its examples/xml/test/)."""
    return require("testdriver")
