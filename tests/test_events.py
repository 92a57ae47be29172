"""Domain events by libvirt's event id: the records, the routing, the registration errors.

A small in-process driver emits records through the ``emit`` it got at open
(as virt-qemu does from its QMP events); virt-test's lifecycle events are
checked against libvirt's test driver in plugins/virt-test/tests/test_test_events.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import virtcore
from virtcore import DomainEvent, DomainEventType, DomainRef, hookimpl
from virtcore import drivers as drivers_mod
from virtcore.errors import InvalidArgError, NoDomainError
from virtcore.events import (
    AgentLifecycleEvent,
    AgentLifecycleReason,
    AgentLifecycleState,
    DomainEventID,
    IOErrorAction,
    IOErrorEvent,
    RebootEvent,
    RTCChangeEvent,
    event_ids,
)

REF = DomainRef("vm1", "11111111-2222-3333-4444-555555555555", 7)


class EmittingDriver:
    """Looks ``vm1`` up and keeps the ``emit`` it was given."""

    emit: Callable[[object], None]

    @hookimpl
    def virt_connect_open(self, emit: Callable[[object], None]) -> None:
        self.emit = emit

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        if name != REF.name:
            raise NoDomainError(f"no domain with matching name '{name}'")
        return REF


@pytest.fixture
def driven() -> Iterator[tuple[virtcore.Connection, EmittingDriver]]:
    drv = EmittingDriver()
    drivers_mod._loaded["emitting"] = lambda uri, ro: [drv]
    try:
        with virtcore.open("emitting:///") as conn:
            yield conn, drv
    finally:
        drivers_mod._loaded.pop("emitting", None)


def test_event_ids_are_libvirts() -> None:
    """Every VIR_DOMAIN_EVENT_ID_* of libvirt 9.0.0, with its value (libvirt-domain.h)."""
    assert len(DomainEventID) == 27
    assert DomainEventID.LIFECYCLE == 0
    assert DomainEventID.IO_ERROR_REASON == 6
    assert DomainEventID.AGENT_LIFECYCLE == 18
    assert DomainEventID.DEVICE_ADDED == 19
    assert DomainEventID.MEMORY_DEVICE_SIZE_CHANGE == 26


def test_records_answer_their_ids() -> None:
    assert event_ids(DomainEvent(REF, DomainEventType.STARTED, 0)) == (DomainEventID.LIFECYCLE,)
    assert event_ids(RebootEvent(REF)) == (DomainEventID.REBOOT,)
    io = IOErrorEvent(REF, "/img", "virtio-disk0", IOErrorAction.PAUSE, "enospc")
    assert event_ids(io) == (DomainEventID.IO_ERROR, DomainEventID.IO_ERROR_REASON)
    assert event_ids("not a record") == ()


def test_records_reach_the_callbacks_of_their_ids_only(driven: Any) -> None:
    conn, drv = driven
    got: list[tuple[str, int, object]] = []
    for eid in DomainEventID:
        conn.on_domain_event_any(eid, lambda d, ev, eid=eid: got.append((d.name, eid, ev)))
    lifecycle: list[tuple[str, int, int]] = []
    conn.on_domain_event(lambda d, e, detail: lifecycle.append((d.name, e, detail)))

    drv.emit(RTCChangeEvent(REF, 3600))
    assert got == [("vm1", DomainEventID.RTC_CHANGE, RTCChangeEvent(REF, 3600))]
    assert lifecycle == []  # a lifecycle callback never sees other kinds

    got.clear()
    io = IOErrorEvent(REF, "/var/img.qcow2", "virtio-disk0", IOErrorAction.PAUSE, "enospc")
    drv.emit(io)
    assert got == [("vm1", DomainEventID.IO_ERROR, io), ("vm1", DomainEventID.IO_ERROR_REASON, io)]

    got.clear()
    drv.emit(DomainEvent(REF, DomainEventType.STOPPED, 1))
    assert got == [("vm1", DomainEventID.LIFECYCLE, DomainEvent(REF, DomainEventType.STOPPED, 1))]
    assert lifecycle == [("vm1", DomainEventType.STOPPED, 1)]


def test_removing_a_callback_stops_it_and_unknown_ids_are_refused(driven: Any) -> None:
    conn, drv = driven
    got: list[object] = []
    cid = conn.on_domain_event_any(DomainEventID.AGENT_LIFECYCLE, lambda d, ev: got.append(ev))
    ev = AgentLifecycleEvent(REF, AgentLifecycleState.CONNECTED, AgentLifecycleReason.CHANNEL)
    drv.emit(ev)
    conn.remove_domain_event(cid)
    drv.emit(ev)
    assert got == [ev]
    with pytest.raises(InvalidArgError, match=f"no domain event callback with id {cid}"):
        conn.remove_domain_event(cid)


@pytest.mark.parametrize("bad", [-1, 27, 1000, "0", None, True])
def test_registering_an_undefined_event_id_is_invalid_arg(driven: Any, bad: object) -> None:
    conn, _ = driven
    with pytest.raises(InvalidArgError, match="unsupported event ID") as info:
        conn.on_domain_event_any(bad, lambda d, ev: None)
    assert info.value.code == 8  # VIR_ERR_INVALID_ARG


def test_ids_no_driver_produces_are_accepted_and_never_fire(driven: Any) -> None:
    conn, drv = driven
    got: list[object] = []
    conn.on_domain_event_any(DomainEventID.GRAPHICS, lambda d, ev: got.append(ev))
    conn.on_domain_event_any(DomainEventID.MEMORY_FAILURE, lambda d, ev: got.append(ev))
    drv.emit(RebootEvent(REF))
    drv.emit(DomainEvent(REF, DomainEventType.STARTED, 0))
    assert got == []


def test_a_failing_callback_does_not_stop_the_others(driven: Any) -> None:
    conn, drv = driven
    got: list[object] = []

    def broken(d: object, ev: object) -> None:
        raise RuntimeError("user bug")

    conn.on_domain_event_any(DomainEventID.REBOOT, broken)
    conn.on_domain_event_any(DomainEventID.REBOOT, lambda d, ev: got.append(ev))
    drv.emit(RebootEvent(REF))
    assert got == [RebootEvent(REF)]


def test_observer_plugins_receive_every_kind(driven: Any) -> None:
    """``virt_domain_event`` observers see lifecycle events and records alike (the hook's contract)."""
    conn, drv = driven
    seen: list[object] = []

    class Observer:
        @hookimpl
        def virt_domain_event(self, event: object) -> None:
            seen.append(event)

    conn.register_plugin(Observer())
    got: list[object] = []
    conn.on_domain_event_any(DomainEventID.REBOOT, lambda d, ev: got.append(ev))
    drv.emit(RebootEvent(REF))
    drv.emit(DomainEvent(REF, DomainEventType.STARTED, 0))
    assert seen == [RebootEvent(REF), DomainEvent(REF, DomainEventType.STARTED, 0)]
    assert got == [RebootEvent(REF)]
