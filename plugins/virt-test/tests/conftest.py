from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTDRIVER = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "libvirt" / "testdriver"


@pytest.fixture
def testdriver_dir() -> Path:
    """libvirt's own test-driver node files (../shared/conformance/libvirt/testdriver)."""
    assert TESTDRIVER.is_dir(), f"libvirt's test data is missing: {TESTDRIVER}"
    return TESTDRIVER
