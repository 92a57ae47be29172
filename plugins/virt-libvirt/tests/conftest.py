"""Fixtures of virt-libvirt's tests: the side-by-side runner against Debian's python3-libvirt."""

from __future__ import annotations

import pytest
from compat_peer import SideBySide


@pytest.fixture
def side_by_side() -> SideBySide:
    """Runs a script unchanged under Debian's python3-libvirt and under virt-libvirt; their JSON output."""
    return SideBySide()
