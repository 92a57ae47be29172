"""Debian's python3-libvirt's bulk statistics (``getAllDomainStats``...) through ``virtcore serve``.

One script, run by the system interpreter, against libvirt's own test driver in-process
and against ``virtcore serve`` of virt-test's ``test:///default``: the records of the
``state`` and ``iothread`` groups (the ones libvirt's test driver fills), the domain
filters, ``ENFORCE_STATS`` and the flags refused must be the same; the other groups,
which only ``virtcore serve`` fills, are checked for what they hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_support import Served, has_python3_libvirt, run_python3_libvirt, serving

pytestmark = pytest.mark.skipif(not has_python3_libvirt(), reason="Debian's python3-libvirt is not installed")

TEST = "test:///default"

SCRIPT = r"""
import sys, json, libvirt
L = libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
conn = libvirt.open(sys.argv[1])
dom = conn.lookupByName("test")
out = {}
STATE, IOTHREAD, CPU = L.VIR_DOMAIN_STATS_STATE, L.VIR_DOMAIN_STATS_IOTHREAD, L.VIR_DOMAIN_STATS_CPU_TOTAL
LIVE = L.VIR_DOMAIN_AFFECT_LIVE

def stats(records):
    return [(d.name(), s) for d, s in records]

out["before"] = stats(conn.getAllDomainStats(STATE | IOTHREAD))
dom.addIOThread(3, LIVE)
dom.addIOThread(1, LIVE)
dom.setIOThreadParams(3, {"poll_max_ns": 4000, "poll_grow": 2, "poll_shrink": 3}, LIVE)
out["after"] = stats(conn.getAllDomainStats(IOTHREAD))
out["list"] = stats(conn.domainListGetStats([dom], STATE | IOTHREAD))
out["all0"] = stats(conn.getAllDomainStats(0, 0))
try:
    conn.getAllDomainStats(L.VIR_DOMAIN_STATS_PERF, L.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS)
except libvirt.libvirtError as e:
    out["enforce"] = [e.get_error_code(), e.get_error_message()]
out["cpu only"] = stats(conn.getAllDomainStats(CPU))
try:
    conn.getAllDomainStats(0, 1 << 20)
except libvirt.libvirtError as e:
    out["badflags"] = e.get_error_code()  # the words name each side's own function
dom.destroy()
out["off"] = stats(conn.getAllDomainStats(STATE | IOTHREAD))
out["running only"] = stats(conn.getAllDomainStats(STATE, L.VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING))
out["shutoff only"] = stats(conn.getAllDomainStats(STATE, L.VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF))
print(json.dumps(out))
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path, [TEST]) as server:
        yield server


def _run(uri: str) -> Any:
    return run_python3_libvirt(SCRIPT, uri)


def test_bulk_statistics_through_virtcore_serve_are_libvirts_test_drivers(served: Served) -> None:
    theirs = _run(TEST)
    ours = _run(served.uri(TEST))
    # libvirt's test driver fills only the state and iothread groups; virtcore serve fills those
    # of libvirt's QEMU driver it can (virtcore.domstats), as virt-libvirt does
    assert theirs.pop("cpu only") == [["test", {}]]
    assert [name for name, _ in ours.pop("cpu only")] == ["test"]
    assert {k for k in theirs.pop("all0")[0][1] if not k.startswith(("state.", "iothread."))} == set()
    (name, everything), *others = ours.pop("all0")
    assert name == "test" and others == []
    assert everything["vcpu.current"] == 2 and everything["balloon.maximum"] > 0 and "cpu.time" in everything
    assert everything["iothread.3.poll-max-ns"] == 4000 and everything["state.state"] == 1
    assert ours == theirs
    # and the comparison is about something
    assert ours["before"] == [["test", {"state.state": 1, "state.reason": 0}]]
    assert ours["after"][0][1]["iothread.3.poll-max-ns"] == 4000
    assert ours["enforce"][0] == 74  # VIR_ERR_ARGUMENT_UNSUPPORTED
    assert ours["badflags"] == 8  # VIR_ERR_INVALID_ARG
    assert ours["off"] == [["test", {"state.state": 5, "state.reason": 2}]]  # no iothread group when off
    assert ours["running only"] == [] and ours["shutoff only"] == ours["off"]
