"""Network events from virt-network, where libvirt's network driver (bridge_driver.c) queues them.

Define: DEFINED; create (and create-from-XML): STARTED; destroy: STOPPED;
undefine: UNDEFINED, active or not (an active network runs on as transient).
A refused call reports nothing. Started networks run in the test's namespace.
"""

from __future__ import annotations

from typing import Any

import pytest
from nettestxml import net_xml

import virtcore
from virtcore.errors import OperationInvalidError
from virtcore.objevents import NetworkEventLifecycleType, ObjectKind


def _heard(conn: virtcore.Connection) -> list[tuple[str, int, int]]:
    got: list[tuple[str, int, int]] = []

    def cb(net: Any, rec: Any) -> None:
        got.append((net.name, rec.event, rec.detail))

    conn.on_object_event(ObjectKind.NETWORK, 0, cb)
    return got


def test_definitions_come_and_go_with_events(conn: virtcore.Connection) -> None:
    got = _heard(conn)
    net = conn.define_network(net_xml("lan"))
    conn.define_network(net.xml_desc())  # a redefinition is DEFINED again, as libvirt's
    with pytest.raises(OperationInvalidError):
        net.destroy()  # not active: refused, nothing reported
    net.undefine()
    e = NetworkEventLifecycleType
    assert got == [("lan", e.DEFINED, 0), ("lan", e.DEFINED, 0), ("lan", e.UNDEFINED, 0)]


def test_starting_and_stopping_report_started_and_stopped(nsconn: virtcore.Connection) -> None:
    got = _heard(nsconn)
    net = nsconn.define_network(net_xml("lan", mode="nat"))
    net.start()
    net.undefine()  # runs on as transient
    net.destroy()
    tmp = nsconn.create_network(net_xml("tmp", mode="nat"))
    tmp.destroy()
    e = NetworkEventLifecycleType
    assert got == [
        ("lan", e.DEFINED, 0),
        ("lan", e.STARTED, 0),
        ("lan", e.UNDEFINED, 0),
        ("lan", e.STOPPED, 0),
        ("tmp", e.STARTED, 0),
        ("tmp", e.STOPPED, 0),
    ]
