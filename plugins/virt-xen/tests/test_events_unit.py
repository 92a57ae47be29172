"""The XenStore watcher's logic on a host without Xen: which events a change of the running
set gives, and the shutdown reasons read from xl's state column and its monitor's log.
The watch itself (a real xenstored firing @releaseDomain) is exercised in dom0/."""

from __future__ import annotations

from pathlib import Path

import pytest
from virt_xen._channels import XenContext
from virt_xen._events import REBOOT_GRACE, DomainWatcher, stop_detail_from_log
from virt_xen._store import ConfigStore
from virt_xen._xenstore import StoreDomain
from virt_xen._xl import reason_from_flags, sched_state_from_flags

from virtcore.types import DomainEvent, DomainEventType, DomainState, ShutoffReason, StoppedDetail
from virtcore.uri import URI
from virtcore.xml import format_domain, parse_domain

U1 = "11111111-1111-1111-1111-111111111111"
U2 = "22222222-2222-2222-2222-222222222222"


class FakeStore:
    """Stands in for :class:`virt_xen._xenstore.XenStore`: a settable list of domains."""

    def __init__(self) -> None:
        self.doms: list[StoreDomain] = [StoreDomain(0, "Domain-0", "00000000-0000-0000-0000-000000000000")]

    def domains(self) -> list[StoreDomain]:
        return list(self.doms)


Setup = tuple[XenContext, "FakeStore", DomainWatcher, list[DomainEvent], Path]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    xs = FakeStore()
    ctx = XenContext(
        uri=URI.parse("xen:///system"), read_only=False,
        store=ConfigStore(tmp_path / "etc", tmp_path / "run"), xl=None, xs=xs,  # type: ignore[arg-type]
    )  # fmt: skip
    seen: list[DomainEvent] = []
    ctx.emit = seen.append
    logs = tmp_path / "log"
    logs.mkdir()
    return ctx, xs, DomainWatcher(ctx, log_dir=logs), seen, logs


def kinds(events: list[DomainEvent]) -> list[tuple[str, DomainEventType, int]]:
    return [(e.domain.name, e.event, e.detail) for e in events]


def test_flags_give_reason_and_scheduler_state() -> None:
    assert reason_from_flags("-b----") is None
    assert reason_from_flags("---s--") == 0
    assert reason_from_flags("---sr-") == 1
    assert reason_from_flags("---sc-") == 3
    assert reason_from_flags("---ss-") == 2
    assert sched_state_from_flags("-b----") == DomainState.BLOCKED
    assert sched_state_from_flags("r-----") == DomainState.RUNNING
    assert sched_state_from_flags("rb----") == DomainState.RUNNING
    assert sched_state_from_flags("-bp---") == DomainState.PAUSED
    assert sched_state_from_flags("---sc-") == DomainState.CRASHED


def test_reason_from_xl_monitor_log() -> None:
    log = (
        "Waiting for domain g (domid 7) to die [pid 99]\n"
        "Domain 7 has shut down, reason code 3 0x3\n"
        "Action for shutdown reason code 3 is destroy\n"
    )
    assert stop_detail_from_log(log, 7) == StoppedDetail.CRASHED
    assert stop_detail_from_log(log, 70) == StoppedDetail.SHUTDOWN  # nothing about 70
    assert stop_detail_from_log("Domain 4 has shut down, reason code 0 0x0\n", 4) == StoppedDetail.SHUTDOWN
    assert stop_detail_from_log("Domain 4 has shut down, reason code 2 0x2\n", 4) == StoppedDetail.SAVED
    assert stop_detail_from_log("Domain 4 has been destroyed.\n", 4) == StoppedDetail.DESTROYED
    assert stop_detail_from_log("Domain 4 has shut down, reason code 1 0x1\n", 4) is None  # reboot


def test_outside_start_and_guest_poweroff_give_events(setup: Setup) -> None:
    _, xs, watcher, seen, logs = setup
    assert watcher.reconcile() == []
    xs.doms.append(StoreDomain(5, "ext", U1))
    watcher.reconcile()
    assert kinds(seen) == [("ext", DomainEventType.STARTED, 0)]
    (logs / "xl-ext.log").write_text("Domain 5 has shut down, reason code 0 0x0\n")
    xs.doms.pop()
    watcher.reconcile()
    assert kinds(seen)[1:] == [("ext", DomainEventType.STOPPED, StoppedDetail.SHUTDOWN)]
    assert seen[1].domain.id == -1
    assert watcher.reconcile() == []  # nothing new: nothing reported twice


def test_changes_made_through_the_connection_are_not_reported(setup: Setup) -> None:
    ctx, xs, watcher, seen, _ = setup
    d = StoreDomain(6, "ours", U1)
    with ctx.lock:  # what ToolstackChannel does around xl create / xl destroy
        xs.doms.append(d)
        ctx.note_running(d)
    assert watcher.reconcile() == []
    with ctx.lock:
        xs.doms.remove(d)
        ctx.note_gone(U1)
    assert watcher.reconcile() == [] and seen == []


def test_crash_of_a_persistent_domain_is_recorded(setup: Setup) -> None:
    ctx, xs, watcher, seen, logs = setup
    xml = f"<domain type='xen'><name>pers</name><uuid>{U2}</uuid><memory>131072</memory></domain>"
    d = parse_domain(xml)
    ctx.store.save(d, format_domain(d))
    xs.doms.append(StoreDomain(9, "pers", U2))
    watcher.reconcile()
    assert ctx.store.status(U2)["domid"] == 9
    (logs / "xl-pers.log").write_text("Domain 9 has shut down, reason code 3 0x3\n")
    xs.doms.pop()
    watcher.reconcile()
    assert kinds(seen)[-1] == ("pers", DomainEventType.STOPPED, StoppedDetail.CRASHED)
    assert ctx.store.status(U2)["shutoff_reason"] == ShutoffReason.CRASHED


def test_reboot_is_not_a_stop_unless_the_domain_stays_away(setup: Setup) -> None:
    _, xs, watcher, seen, logs = setup
    xs.doms.append(StoreDomain(3, "rb", U1))
    watcher.reconcile()
    (logs / "xl-rb.log").write_text("Domain 3 has shut down, reason code 1 0x1\n")
    xs.doms.pop()
    clock = [0.0]
    assert watcher.reconcile(now=lambda: clock[0]) == []
    xs.doms.append(StoreDomain(4, "rb", U1))  # back under a new id
    assert watcher.reconcile(now=lambda: clock[0]) == []
    (logs / "xl-rb.log").write_text("Domain 4 has shut down, reason code 1 0x1\n")
    xs.doms.pop()
    assert watcher.reconcile(now=lambda: clock[0]) == []
    clock[0] = REBOOT_GRACE + 1
    assert kinds(watcher.reconcile(now=lambda: clock[0])) == [
        ("rb", DomainEventType.STOPPED, StoppedDetail.SHUTDOWN)
    ]
    assert kinds(seen) == [("rb", DomainEventType.STARTED, 0), ("rb", DomainEventType.STOPPED, 0)]
