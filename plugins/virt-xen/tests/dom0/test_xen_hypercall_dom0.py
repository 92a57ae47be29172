"""The hypercall channel against real Xen 4.17 (dom0 only): info() and state() of live
domains come from XEN_SYSCTL_getdomaininfolist through /dev/xen/privcmd, and agree with xl."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from virt_xen._channels import HypercallChannel
from virt_xen._privcmd import HYPERCALL_BUF_DEV, Privcmd
from xenhelpers import console_log, guest_xml, wait_for

import virtcore
from virtcore import DomainState
from virtcore.types import PausedReason, RunningReason

BOOT_TIMEOUT = 180.0  # a PV guest under Xen under TCG: seconds when idle, much more when not


def xl_list(domid: int | None = None) -> dict[int, tuple[str, int, int, str, float]]:
    """``xl list [DOMID]`` by id: (name, mem MiB, vCPUs, state flags, seconds)."""
    args = ["xl", "list"] + ([] if domid is None else [str(domid)])
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    rows = {}
    for line in out.splitlines()[1:]:
        p = line.split()
        if len(p) >= 6:
            rows[int(p[-5])] = (" ".join(p[:-5]), int(p[-4]), int(p[-3]), p[-2], float(p[-1]))
    return rows


def channel(conn: virtcore.Connection) -> HypercallChannel:
    found = [p for p in conn.driver_objects() if isinstance(p, HypercallChannel)]
    assert len(found) == 1, "the hypercall channel is not registered in dom0"
    return found[0]


@pytest.fixture
def privcmd() -> Iterator[Privcmd]:
    pc = Privcmd.open()
    assert pc is not None, "privcmd did not answer in dom0"
    yield pc
    pc.close()


def test_buffers_come_from_the_hypercall_device(privcmd: Privcmd) -> None:
    assert os.path.exists(HYPERCALL_BUF_DEV), "Debian 12's kernel has the hypercall buffer device"
    assert privcmd.buffer_kind == HYPERCALL_BUF_DEV


def test_plain_anonymous_pages_also_work_in_a_pv_dom0() -> None:
    """The fallback for kernels without /dev/xen/hypercall: ordinary mmap'ed pages."""
    pc = Privcmd.open(anonymous=True)
    assert pc is not None and pc.buffer_kind == "anonymous"
    try:
        assert pc.domains()[0].domid == 0
    finally:
        pc.close()


def test_getdomaininfolist_agrees_with_xl_list(privcmd: Privcmd) -> None:
    before = xl_list()
    doms = {d.domid: d for d in privcmd.domains()}
    after = xl_list()
    assert set(doms) == set(before) == set(after)
    for domid, (_name, mem, vcpus, flags, secs) in after.items():
        d = doms[domid]
        assert d.online_vcpus == vcpus
        assert d.memory_kib // 1024 == mem
        assert d.xl_flags[2:] == flags[2:]  # paused/shutdown/reason/dying (r/b flip by the moment)
        assert before[domid][4] - 0.1 <= d.cpu_time_ns / 1e9 <= secs + 0.1
    assert doms[0].uuid == "00000000-0000-0000-0000-000000000000"


def test_channel_is_tryfirst_for_info_and_state(conn: virtcore.Connection) -> None:
    ch = channel(conn)
    for op in ("domain_get_info", "domain_get_state"):
        assert conn.implementers(op)[0] is ch  # asked first
    dom0 = conn.lookup_domain_by_id(0)
    n = ch.answered
    info = dom0.info()
    assert ch.answered == n + 1
    assert info.state in (DomainState.RUNNING, DomainState.BLOCKED)
    assert info.nr_virt_cpu == xl_list(0)[0][2]


def test_info_and_state_of_running_and_paused_guest_agree_with_xl(
    conn: virtcore.Connection, name: str
) -> None:
    ch = channel(conn)
    dom = conn.create_domain(guest_xml(name))
    wait_for(lambda: "GUEST-MARKER" in console_log(name), BOOT_TIMEOUT, f"{name} to boot")
    n = ch.answered
    assert dom.state() == (DomainState.RUNNING, RunningReason.BOOTED)
    x0 = xl_list(dom.id)[dom.id]
    info = dom.info()
    x1 = xl_list(dom.id)[dom.id]
    assert ch.answered == n + 2
    assert info.state in (DomainState.RUNNING, DomainState.BLOCKED)
    assert info.nr_virt_cpu == x1[2] == 1
    assert info.memory == x1[1] * 1024 == 128 * 1024
    assert x0[4] - 0.1 <= info.cpu_time / 1e9 <= x1[4] + 0.1

    dom.suspend()
    assert xl_list(dom.id)[dom.id][3][2] == "p"
    assert dom.state() == (DomainState.PAUSED, PausedReason.USER)
    assert dom.info().state == DomainState.PAUSED
    assert ch.answered == n + 4
    dom.resume()
    assert xl_list(dom.id)[dom.id][3][2] == "-"
    assert dom.state() == (DomainState.RUNNING, RunningReason.UNPAUSED)


def test_info_and_state_without_xl(conn: virtcore.Connection, name: str, tmp_path: Path, root: Path) -> None:
    """With an xl that always fails, info() and state() of a running guest still answer:
    they come from the hypercall, and agree with a connection that has no hypercall channel."""
    dom = conn.create_domain(guest_xml(name))
    broken = tmp_path / "broken-xl"
    broken.write_text("#!/bin/sh\necho 'Error: xl disabled by the test' >&2\nexit 1\n")
    broken.chmod(0o755)
    no_xl = virtcore.open(f"xen:///system?root={root}&xl={broken}")
    plain = virtcore.open(f"xen:///system?root={root}&hypercalls=0")
    try:
        assert not [p for p in plain.driver_objects() if isinstance(p, HypercallChannel)]
        d1 = no_xl.lookup_domain_by_uuid(dom.uuid)
        d2 = plain.lookup_domain_by_uuid(dom.uuid)
        d2.suspend()  # through xl (that connection has no hypercall channel)
        assert d1.state() == d2.state() == (DomainState.PAUSED, PausedReason.USER)
        i1, i2 = d1.info(), d2.info()
        assert (i1.state, i1.max_memory, i1.memory, i1.nr_virt_cpu) == (
            i2.state, i2.max_memory, i2.memory, i2.nr_virt_cpu
        )  # fmt: skip
        assert abs(i1.cpu_time - i2.cpu_time) <= 100_000_000  # paused; xl prints tenths of seconds
        with pytest.raises(virtcore.VirtError, match="xl disabled by the test"):
            d1.resume()  # lifecycle still needs xl
    finally:
        no_xl.close()
        plain.close()
