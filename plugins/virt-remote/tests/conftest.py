"""Fixtures: a real libvirtd and a real sshd on loopback, each in a temporary directory of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from virt_remote.daemons import Libvirtd, Sshd, libvirtd_missing, sshd_missing


@pytest.fixture(scope="session")
def libvirtd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Libvirtd]:
    """Debian's libvirtd, contained: its test driver at ``libvirtd.uri()``."""
    why = libvirtd_missing()
    if why is not None:
        pytest.skip(f"no libvirtd to test against: {why}")
    with Libvirtd(tmp_path_factory.mktemp("libvirtd")) as daemon:
        yield daemon


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """OpenSSH's sshd on 127.0.0.1, letting root in with ``sshd.client_key``."""
    why = sshd_missing()
    if why is not None:
        pytest.skip(f"no sshd to test against: {why}")
    with Sshd(tmp_path_factory.mktemp("sshd")) as daemon:
        yield daemon


@pytest.fixture
def short_tmp(tmp_path: Path) -> Path:
    """A temporary directory (unix socket paths must stay under 108 bytes)."""
    return tmp_path
