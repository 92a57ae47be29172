"""The network half of virtcore's conformance suite, on ``network:///embed`` inside a namespace.

``virtcore.testing.network_conformance.NetworkConformance`` is what every network
driver meets; here its networks are real bridges and dnsmasq processes, so each
test runs in a network namespace of its own (the ``netns`` fixture, which also
checks the host is left as it was).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import virtcore
from virtcore.testing.netns import NetNamespace
from virtcore.testing.network_conformance import NetworkConformance


class TestNetworkConformance(NetworkConformance):
    """Every network conformance test, on this driver's embedded URI, in a namespace."""

    @pytest.fixture
    def uri(self, tmp_path: Path) -> str:
        root = tmp_path / "root"
        root.mkdir()
        return f"network:///embed?root={root}"

    @pytest.fixture
    def conn(self, netns: NetNamespace, uri: str) -> Iterator[virtcore.Connection]:
        with virtcore.open(uri) as c:
            yield c
