"""Network events over libvirt's RPC protocol: a known gap, kept visible.

virt-remote registers for domain lifecycle events only; libvirtd (its test
driver) queues network events on the same connection, in order with the
domain's, so a domain event after the network's changes marks the point by
which the network's must have come.
"""

from __future__ import annotations

from typing import Any

import pytest
from virt_remote.daemons import Libvirtd

import virtcore
from virtcore.objevents import NetworkEventLifecycleType, ObjectKind
from virtcore.testing.support import wait_for


@pytest.mark.xfail(
    strict=True,
    reason="virt-remote and virtcore serve relay domain lifecycle events only: "
    "REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY / _STORAGE_POOL_ / _NODE_DEVICE_ / _SECRET_ "
    "and their NETWORK_EVENT_LIFECYCLE ... messages are not implemented",
)
def test_network_events_cross_the_remote_protocol(libvirtd: Libvirtd) -> None:
    with virtcore.open(libvirtd.uri()) as conn:
        nets: list[tuple[str, int]] = []
        doms: list[str] = []

        def on_net(net: Any, rec: Any) -> None:
            nets.append((net.name, rec.event))

        conn.on_object_event(ObjectKind.NETWORK, 0, on_net)
        conn.on_domain_event(lambda dom, event, detail: doms.append(event.name))
        net = conn.lookup_network("default")
        net.destroy()
        net.start()
        dom = conn.lookup_domain("test")
        dom.suspend()
        dom.resume()
        wait_for(lambda: doms[-1:] == ["RESUMED"], 30, "the domain's events")
        e = NetworkEventLifecycleType
        assert nets == [("default", e.STOPPED), ("default", e.STARTED)]
