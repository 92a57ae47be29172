"""The hypercall channel's encoding on a host without Xen: the Xen 4.17 layouts, the
decoding of a domain's flags into xl's state column, a getdomaininfolist round trip
through a stand-in for the hypervisor, and the channel declining (for good) on failure.
The real hypercalls are exercised in dom0/test_xen_hypercall_dom0.py."""

from __future__ import annotations

import mmap
import os
import struct
import uuid as uuidlib
from pathlib import Path

import pytest
from virt_xen import _privcmd as pm
from virt_xen._channels import HypercallChannel, XenContext
from virt_xen._privcmd import HvDomain, Privcmd, PrivcmdError
from virt_xen._store import ConfigStore

from virtcore.types import DomainState, PausedReason, RunningReason
from virtcore.uri import URI


def test_layouts_are_xen_4_17_x86_64() -> None:
    # sizes and offsets as gcc lays out xen/include/public/{sysctl,domctl}.h of 4.17
    assert pm._DOMINFO.size == 112
    assert pm._SYSCTL_SIZE == 136
    assert pm._GDIL_IN.size == 16  # first_domain@8, max_domains@12, buffer@16 -> num_domains@24
    assert pm.IOCTL_PRIVCMD_HYPERCALL == 0x305000
    assert (pm.XEN_SYSCTL_INTERFACE_VERSION, pm.HYPERVISOR_SYSCTL, pm.XEN_SYSCTL_GETDOMAININFOLIST) == (
        0x15,
        35,
        6,
    )


def dom(flags: int, domid: int = 3) -> HvDomain:
    return HvDomain(domid, flags, 32768, 33024, 5_000_000_000, 2, str(uuidlib.uuid4()))


@pytest.mark.parametrize(
    ("flags", "column", "state", "sched"),
    [
        (pm.DOMINF_RUNNING, "r-----", DomainState.RUNNING, DomainState.RUNNING),
        (pm.DOMINF_BLOCKED, "-b----", DomainState.RUNNING, DomainState.BLOCKED),
        (pm.DOMINF_RUNNING | pm.DOMINF_BLOCKED, "rb----", DomainState.RUNNING, DomainState.RUNNING),
        (pm.DOMINF_PAUSED | pm.DOMINF_BLOCKED, "-bp---", DomainState.PAUSED, DomainState.PAUSED),
        (pm.DOMINF_SHUTDOWN, "---s--", DomainState.SHUTDOWN, DomainState.SHUTDOWN),
        (pm.DOMINF_SHUTDOWN | (1 << 16), "---sr-", DomainState.SHUTDOWN, DomainState.SHUTDOWN),
        (pm.DOMINF_SHUTDOWN | (3 << 16), "---sc-", DomainState.CRASHED, DomainState.CRASHED),
        (pm.DOMINF_DYING | pm.DOMINF_SHUTDOWN, "---s-d", DomainState.SHUTDOWN, DomainState.SHUTDOWN),
    ],
)
def test_flags_read_as_xl_list_reads_them(
    flags: int, column: str, state: DomainState, sched: DomainState
) -> None:
    d = dom(flags)
    assert d.xl_flags == column
    assert (d.state, d.sched_state) == (state, sched)
    assert (d.memory_kib, d.max_memory_kib) == (131072, 132096)


class FakeXen(Privcmd):
    """Privcmd whose hypercall plays the hypervisor on the buffer (no device)."""

    def __init__(self, doms: list[tuple[int, int, bytes]], version: int = 0x15) -> None:
        super().__init__(-1, mmap.mmap(-1, pm._BUF_PAGES * mmap.PAGESIZE))
        self._fd = os.open(os.devnull, os.O_RDONLY)
        self.doms = doms
        self.version = version
        self.fail: str | None = None

    def hypercall(self, op: int, *args: int) -> int:
        if self.fail:
            raise PrivcmdError(self.fail)
        if op == pm.HYPERVISOR_XEN_VERSION:
            return (4 << 16) | 17
        assert op == pm.HYPERVISOR_SYSCTL and args[0] == self._addr
        cmd, ver = struct.unpack_from("=II", self._buf, 0)
        if (cmd, ver) != (pm.XEN_SYSCTL_GETDOMAININFOLIST, self.version):
            raise PrivcmdError("Permission denied")  # what Xen answers to a wrong version
        first, most, where = struct.unpack_from("=H2xIQ", self._buf, 8)
        picked = [d for d in self.doms if d[0] >= first][:most]
        for i, (domid, flags, handle) in enumerate(picked):
            rec = pm._DOMINFO.pack(domid, flags, 1000 + domid, 2000, 0, 0, 0, 7, 10**9 * domid,
                                   1 + domid, domid, 0, handle, 0)  # fmt: skip
            self._buf[where - self._addr + i * 112 : where - self._addr + (i + 1) * 112] = rec
        struct.pack_into("=I", self._buf, 24, len(picked))
        return 0


def test_getdomaininfolist_round_trip_over_several_calls() -> None:
    uuids = [uuidlib.uuid4() for _ in range(400)]
    xen = FakeXen(
        [(0, pm.DOMINF_RUNNING, bytes(16))] + [(i, pm.DOMINF_BLOCKED, uuids[i].bytes) for i in range(1, 400)]
    )
    try:
        doms = xen.domains()
        assert [d.domid for d in doms] == list(range(400))  # more than one call's worth
        assert doms[0].uuid == "00000000-0000-0000-0000-000000000000"
        d = doms[250]
        assert (d.uuid, d.tot_pages, d.max_pages, d.cpu_time_ns, d.online_vcpus) == (
            str(uuids[250]), 1250, 2000, 250 * 10**9, 251
        )  # fmt: skip
        assert xen.domain_by_uuid(str(uuids[7]).upper()) == doms[7]
        assert xen.domain_by_uuid(str(uuidlib.uuid4())) is None
    finally:
        xen.close()


def test_a_dying_twin_is_skipped() -> None:
    u = uuidlib.uuid4().bytes
    xen = FakeXen([(0, pm.DOMINF_RUNNING, bytes(16)), (4, pm.DOMINF_DYING, u), (5, pm.DOMINF_PAUSED, u)])
    found = xen.domain_by_uuid(str(uuidlib.UUID(bytes=u)))
    assert found is not None and found.domid == 5
    xen.close()


def test_wrong_interface_version_is_refused() -> None:
    xen = FakeXen([(0, pm.DOMINF_RUNNING, bytes(16))], version=0x16)
    with pytest.raises(PrivcmdError, match="Permission denied"):
        xen.domains()
    xen.close()


@pytest.fixture
def ctx(tmp_path: Path) -> XenContext:
    store = ConfigStore(tmp_path / "etc", tmp_path / "run")
    return XenContext(uri=URI.parse("xen:///system"), read_only=True, store=store, xl=None, xs=None)


def test_channel_answers_then_disables_itself_on_failure(ctx: XenContext) -> None:
    u = uuidlib.uuid4()
    xen = FakeXen([(0, pm.DOMINF_RUNNING, bytes(16)), (2, pm.DOMINF_PAUSED, u.bytes)])
    ch = HypercallChannel(ctx, xen)
    ctx.store.set_status(str(u), paused_reason=int(PausedReason.USER))
    assert ch.virt_domain_get_state(uuid=str(u)) == (DomainState.PAUSED, PausedReason.USER)
    info = ch.virt_domain_get_info(uuid=str(u))
    assert info is not None
    assert (info.state, info.memory, info.max_memory, info.nr_virt_cpu, info.cpu_time) == (
        DomainState.PAUSED,
        1002 * 4,
        1002 * 4,
        3,
        2 * 10**9,
    )  # fmt: skip  (no XenStore: memory is what the hypervisor says; max follows it)
    assert ch.virt_domain_get_state(uuid=str(uuidlib.uuid4())) is None  # unknown: declined
    assert ch.answered == 2
    xen.fail = "Bad address"
    assert ch.virt_domain_get_state(uuid=str(u)) is None
    assert ch.privcmd is None  # disabled for the connection
    xen.fail = None
    assert ch.virt_domain_get_info(uuid=str(u)) is None
    assert ch.answered == 2


def test_shut_down_domain_is_left_to_the_toolstack(ctx: XenContext) -> None:
    # Between the guest's poweroff and xl tearing it down the hypervisor still lists it
    # with the shutdown flag; what it becomes (gone, rebooted, preserved) is xl's to say.
    u = uuidlib.uuid4()
    poweroff = pm.DOMINF_SHUTDOWN | (0 << pm.DOMINF_SHUTDOWN_SHIFT)
    xen = FakeXen([(0, pm.DOMINF_RUNNING, bytes(16)), (3, poweroff, u.bytes)])
    ch = HypercallChannel(ctx, xen)
    assert ch.virt_domain_get_state(uuid=str(u)) is None
    assert ch.virt_domain_get_info(uuid=str(u)) is None
    assert ch.answered == 0 and ch.privcmd is not None  # declined, not disabled
    ch.virt_connect_close()


def test_running_reason_comes_from_our_status(ctx: XenContext) -> None:
    u = uuidlib.uuid4()
    xen = FakeXen([(0, pm.DOMINF_RUNNING, bytes(16)), (9, pm.DOMINF_BLOCKED, u.bytes)])
    ch = HypercallChannel(ctx, xen)
    ctx.store.set_status(str(u), running_reason=int(RunningReason.UNPAUSED))
    assert ch.virt_domain_get_state(uuid=str(u)) == (DomainState.RUNNING, RunningReason.UNPAUSED)
    info = ch.virt_domain_get_info(uuid=str(u))
    assert info is not None and info.state == DomainState.BLOCKED
    ch.virt_connect_close()
    assert ch.privcmd is None


@pytest.mark.skipif(
    any(os.path.exists(p) for p in pm.PRIVCMD_PATHS), reason="this host is a Xen domain (dom0 tests cover it)"
)
def test_open_declines_without_privcmd() -> None:
    assert Privcmd.open() is None
