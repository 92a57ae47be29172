"""Network, storage pool and node device events through virtcore's core, from virt-test.

virt-test emits them where libvirt 9.0's test driver does (``test_driver.c``);
``Connection.on_object_event`` registers by kind and libvirt's event id, and
a callback gets the object (a :class:`~virtcore.network.Network`...) and the
record of :mod:`virtcore.objevents`. Side by side with python3-libvirt:
plugins/virt-libvirt/tests/test_compat_object_events.py.
"""

from __future__ import annotations

from typing import Any

import pytest

import virtcore
from virtcore.errors import InvalidArgError
from virtcore.objevents import (
    NetworkEventID,
    NetworkEventLifecycleType,
    NetworkLifecycleEvent,
    NodeDeviceEventLifecycleType,
    ObjectKind,
    StoragePoolEventID,
    StoragePoolEventLifecycleType,
    StoragePoolRefreshEvent,
    event_key,
)

NET = "<network><name>{}</name><bridge name='virbr9'/></network>"
POOL = "<pool type='dir'><name>{}</name><target><path>/nonexistent/{}</path></target></pool>"
VHBA = """<device><name>scsi_host12</name><parent>scsi_host1</parent>
<capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341234</wwnn>
<wwpn>1000000012341234</wwpn></capability></capability></device>"""


@pytest.fixture
def conn() -> Any:
    """A connection to the process's ``test:///default`` node (each test leaves it as it found it)."""
    with virtcore.open("test:///default") as c:
        yield c


def _record(conn: Any, kind: ObjectKind, event_id: int) -> list[tuple[str, Any]]:
    got: list[tuple[str, Any]] = []
    conn.on_object_event(kind, event_id, lambda obj, rec: got.append((obj.name, rec)))
    return got


def test_network_lifecycle_events_come_where_libvirts_test_driver_queues_them(conn: Any) -> None:
    got = _record(conn, ObjectKind.NETWORK, NetworkEventID.LIFECYCLE)
    net = conn.define_network(NET.format("ev-net"))
    net.start()
    net.destroy()
    net.undefine()
    transient = conn.create_network(NET.format("ev-trans"))
    transient.destroy()
    e = NetworkEventLifecycleType
    assert [(n, r.event, r.detail) for n, r in got] == [
        ("ev-net", e.DEFINED, 0),
        ("ev-net", e.STARTED, 0),
        ("ev-net", e.STOPPED, 0),
        ("ev-net", e.UNDEFINED, 0),
        ("ev-trans", e.STARTED, 0),
        ("ev-trans", e.STOPPED, 0),  # a transient network's end: no UNDEFINED, as libvirt's
    ]
    assert all(isinstance(r, NetworkLifecycleEvent) and r.network.uuid for _, r in got)


def test_pool_events_include_build_delete_and_refresh(conn: Any) -> None:
    life = _record(conn, ObjectKind.STORAGE_POOL, StoragePoolEventID.LIFECYCLE)
    refresh = _record(conn, "storage_pool", StoragePoolEventID.REFRESH)
    pool = conn.define_storage_pool(POOL.format("ev-pool", "ev-pool"))
    pool.build()
    pool.start()
    pool.refresh()
    pool.destroy()
    pool.delete()
    pool.undefine()
    e = StoragePoolEventLifecycleType
    assert [(n, r.event) for n, r in life] == [
        ("ev-pool", e.DEFINED),
        ("ev-pool", e.CREATED),
        ("ev-pool", e.STARTED),
        ("ev-pool", e.STOPPED),
        ("ev-pool", e.DELETED),
        ("ev-pool", e.UNDEFINED),
    ]
    assert [n for n, _ in refresh] == ["ev-pool"]
    assert isinstance(refresh[0][1], StoragePoolRefreshEvent)
    assert event_key(refresh[0][1]) == (ObjectKind.STORAGE_POOL, StoragePoolEventID.REFRESH)


def test_vhba_creation_and_destruction_are_node_device_events(conn: Any) -> None:
    got = _record(conn, ObjectKind.NODE_DEVICE, 0)
    dev = conn.create_node_device(VHBA)
    dev.destroy()
    e = NodeDeviceEventLifecycleType
    assert [(n, r.event) for n, r in got] == [("scsi_host12", e.CREATED), ("scsi_host12", e.DELETED)]


def test_every_connection_to_the_node_hears_and_a_removed_callback_does_not(conn: Any) -> None:
    with virtcore.open("test:///default") as other:
        heard = _record(other, ObjectKind.NETWORK, 0)
        mine: list[Any] = []
        cid = conn.on_object_event(ObjectKind.NETWORK, 0, lambda obj, rec: mine.append(rec.event))
        net = conn.lookup_network("default")
        net.destroy()
        conn.remove_event(cid)
        net.start()
        assert [r.event for _, r in heard] == [
            NetworkEventLifecycleType.STOPPED,
            NetworkEventLifecycleType.STARTED,
        ]
        assert mine == [NetworkEventLifecycleType.STOPPED]


def test_a_registration_for_one_object_hears_only_it(conn: Any) -> None:
    only: list[str] = []
    default = conn.lookup_network("default")
    conn.on_object_event(ObjectKind.NETWORK, 0, lambda obj, rec: only.append(obj.name), default)
    devices: list[str] = []
    host1 = conn.lookup_node_device("scsi_host1")
    conn.on_object_event(ObjectKind.NODE_DEVICE, 0, lambda obj, rec: devices.append(obj.name), host1)
    other = conn.define_network(NET.format("ev-other"))
    other.undefine()
    default.destroy()
    default.start()
    conn.create_node_device(VHBA).destroy()
    assert only == ["default", "default"]
    assert devices == []  # scsi_host12's events, not scsi_host1's


def test_an_object_of_another_kind_is_refused(conn: Any) -> None:
    with pytest.raises(InvalidArgError, match="a storage_pool event's object must be a StoragePool"):
        conn.on_object_event(ObjectKind.STORAGE_POOL, 0, lambda *a: None, conn.lookup_network("default"))


@pytest.mark.parametrize(
    ("kind", "event_id", "message"),
    [
        ("volume", 0, "unsupported object event kind 'volume'"),
        (ObjectKind.NETWORK, 1, "unsupported network event ID 1"),  # libvirt 9.0: lifecycle only
        (ObjectKind.STORAGE_POOL, 2, "unsupported storage_pool event ID 2"),
        (ObjectKind.SECRET, True, "unsupported secret event ID True"),
    ],
)
def test_unknown_kinds_and_ids_are_refused(conn: Any, kind: Any, event_id: Any, message: str) -> None:
    with pytest.raises(InvalidArgError, match=message):
        conn.on_object_event(kind, event_id, lambda *a: None)


def test_a_callback_must_be_callable(conn: Any) -> None:
    with pytest.raises(InvalidArgError, match="callback must be callable"):
        conn.on_object_event(ObjectKind.SECRET, 1, None)


def test_remove_domain_event_refuses_an_object_events_id_and_keeps_its_callback(conn: Any) -> None:
    heard: list[Any] = []
    cid = conn.on_object_event(ObjectKind.NETWORK, 0, lambda obj, rec: heard.append(rec.event))
    with pytest.raises(InvalidArgError, match=f"no domain event callback with id {cid}"):
        conn.remove_domain_event(cid)
    net = conn.lookup_network("default")
    net.destroy()
    assert heard == [NetworkEventLifecycleType.STOPPED]
    conn.remove_event(cid)
    net.start()
    assert heard == [NetworkEventLifecycleType.STOPPED]
    with pytest.raises(InvalidArgError, match=f"no event callback with id {cid}"):
        conn.remove_event(cid)


def test_remove_event_removes_a_domain_events_callback_too(conn: Any) -> None:
    seen: list[Any] = []
    cid = conn.on_domain_event(lambda dom, event, detail: seen.append(event))
    dom = conn.lookup_domain("test")
    dom.suspend()
    conn.remove_event(cid)
    dom.resume()
    assert len(seen) == 1
    with pytest.raises(InvalidArgError, match=f"no domain event callback with id {cid}"):
        conn.remove_domain_event(cid)
