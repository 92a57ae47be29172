"""virtcore's conformance suite through the remote driver, against ``virtcore serve``.

virt-remote -> unix socket -> ``virtcore serve`` (its own process) -> virt-test's
``test:///default``: both ends of virtcore's remote protocol, and every hook
the remote driver carries, held to the contract the in-process drivers meet.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serve_support import Served

from virtcore.errors import InternalError, VirtError
from virtcore.testing import DriverConformance


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One ``virtcore serve`` on ``test:///default`` for the module (the suite leaves it as it found it)."""
    server = Served(tmp_path_factory.mktemp("serve"), ["test:///default"])
    yield server
    log = server.stop()
    assert "Traceback" not in log, log


class TestOverServe(DriverConformance):
    """The suite over ``test+unix:///default?socket=...`` to ``virtcore serve``."""

    @pytest.fixture
    def uri(self, served: Served) -> str:
        return served.uri("test:///default")

    @pytest.fixture
    def wrong_state_errors(self) -> dict[str, type[VirtError]]:
        """virt-test's, which are libvirt 9.0's test driver's: INTERNAL_ERROR, passed through."""
        return dict.fromkeys(("start", "suspend", "resume", "shutdown"), InternalError)
