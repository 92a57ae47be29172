"""Fixtures for virt-network's tests: an embed root per test, a connection, a namespace of the test's own.

:func:`netns` puts the test's thread (and so every ``ip``, ``dnsmasq`` and ``nft`` it
runs) into a network namespace it creates, and checks afterwards that the host's own
devices, nftables ruleset and forwarding switch are exactly as they were.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import virtcore
from virtcore.testing.netns import NetNamespace, netns_missing

needs_netns = pytest.mark.skipif(netns_missing() is not None, reason=netns_missing() or "")


def host_view() -> tuple[list[str], str, str]:
    """The calling thread's namespace as the tests compare it: devices, nftables ruleset, forwarding."""
    links = json.loads(
        subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    )
    ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    return sorted(link["ifname"] for link in links), ruleset, forward


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The embed root of this test."""
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def uri(root: Path) -> str:
    """``network:///embed?root=...`` for this test."""
    return f"network:///embed?root={root}"


@pytest.fixture
def netns() -> Iterator[NetNamespace]:
    """The test runs inside a network namespace of its own; the host's networking is left as it was."""
    if netns_missing() is not None:
        pytest.skip(netns_missing() or "")
    before = host_view()
    ns = NetNamespace()
    try:
        with ns.entered():
            subprocess.run(["ip", "link", "set", "dev", "lo", "up"], check=True)
            yield ns
    finally:
        left = kill_processes_in(ns)
        ns.close()
    assert host_view() == before, "the host's devices, nftables ruleset or forwarding changed"
    assert left == [], f"processes left running in the test's namespace: {left}"


def kill_processes_in(ns: NetNamespace) -> list[str]:
    """Kill what still runs in ``ns`` but its holder (a dnsmasq a failed test left); their command lines."""
    target = os.readlink(ns.path)
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == ns.proc.pid:
            continue
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != target:
                continue
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
        left.append(cmd.strip())
    return left


@pytest.fixture
def conn(uri: str) -> Iterator[virtcore.Connection]:
    """A connection to this test's networks (in the namespace, when the test asks for ``netns`` first)."""
    with virtcore.open(uri) as c:
        yield c


@pytest.fixture
def nsconn(netns: NetNamespace, uri: str) -> Iterator[virtcore.Connection]:
    """A connection opened inside the test's namespace: what it starts runs there."""
    with virtcore.open(uri) as c:
        yield c
