"""The host object conformance tests through the remote driver, against libvirtd's own drivers.

libvirt's test driver has no secret driver (``.secretDriver = NULL``), so
test_remote_conformance.py sees the secret tests xfail with the daemon's
NO_SUPPORT. A ``qemu:///system`` connection to the same contained libvirtd
reaches its real secret driver (``libvirt_driver_secret.so``, ephemeral
secrets kept in memory, persistent ones in the daemon's overlay ``/etc``),
its node device driver (udev) and its interface driver (udev: read-only, so
defining one is its NO_SUPPORT, an xfail naming the function).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from virt_remote.daemons import Libvirtd

import virtcore
from virtcore.testing.hostobject_conformance import HostObjectConformance


class TestLibvirtdQemuSystem(HostObjectConformance):
    """Secrets, node devices and interfaces over ``qemu+unix:///system`` to Debian's libvirtd."""

    @pytest.fixture
    def uri(self, libvirtd: Libvirtd) -> str:
        return libvirtd.uri("qemu", "/system")

    @pytest.fixture
    def conn(self, uri: str) -> Iterator[virtcore.Connection]:
        c = virtcore.open(uri)
        try:
            yield c
        finally:
            c.close()
