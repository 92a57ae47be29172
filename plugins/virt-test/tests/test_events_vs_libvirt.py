"""virt-test's domain events against libvirt's own test driver, side by side.

``events_scenario.py`` plays its steps on libvirt's test driver through Debian's
python3-libvirt (default event loop); here the same steps run on virt-test
through virtcore. Every step must produce the same lifecycle events
(domain, its id in the event, event, detail), in the same order: what libvirt's
test_driver.c queues (a STOPPED event's domain already has id -1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import events_scenario
import virt_test
from libvirt_peer import run_libvirt_side

import virtcore
from virtcore.events import DomainEventID
from virtcore.types import DomainMetadataType


def play_on_virtcore(tmp_path: Path) -> dict[str, list[list[Any]]]:
    """The scenario's steps on virt-test; the events of each step, as events_scenario.py shows them."""
    out: dict[str, list[list[Any]]] = {}
    got: list[list[Any]] = []
    save = str(tmp_path / "ev1.save")
    virt_test.reset_default_node()  # libvirt's side is a fresh process: ids count from there too
    with virtcore.open("test:///default") as conn:
        cid = conn.on_domain_event_any(
            DomainEventID.LIFECYCLE,
            lambda d, ev: got.append([d.name, ev.domain.id, int(ev.event), int(ev.detail)]),
        )
        mid = conn.on_domain_event_any(
            DomainEventID.METADATA_CHANGE, lambda d, ev: got.append([d.name, "metadata", ev.type, ev.nsuri])
        )
        try:
            for label, op in events_scenario.STEPS:
                got.clear()
                if op == "define":
                    conn.define_domain(events_scenario.DOMAIN_XML)
                elif op == "create_transient":
                    conn.create_domain(events_scenario.TRANSIENT_XML)
                elif op == "destroy_transient":
                    conn.lookup_domain("ev2").destroy()
                elif op == "save":
                    conn.lookup_domain("ev1").save(save)
                elif op == "restore":
                    conn.restore_domain(save)
                elif op == "metadata":
                    conn.lookup_domain("ev1").set_metadata(DomainMetadataType.DESCRIPTION, "hello")
                elif op == "create":
                    conn.lookup_domain("ev1").start()
                else:
                    getattr(conn.lookup_domain("ev1"), op)()
                out[label] = list(got)  # virt-test emits synchronously, in the caller's thread
        finally:
            conn.remove_domain_event(cid)
            conn.remove_domain_event(mid)
    return out


def test_lifecycle_events_match_libvirts_test_driver(tmp_path: Path) -> None:
    libvirt_side = run_libvirt_side("events_scenario.py")
    ours = play_on_virtcore(tmp_path)
    assert list(ours) == [label for label, _ in events_scenario.STEPS]
    assert ours == libvirt_side
    # the comparison means something: every kind of step produced its event
    assert ours["save"] == [["ev1", -1, 5, 4]] and ours["undefine"] == [["ev1", -1, 1, 0]]
    assert ours["start"][0][1] > 1  # a running domain's events carry its id
    assert ours["set the description"] == [["ev1", "metadata", 0, None]]
