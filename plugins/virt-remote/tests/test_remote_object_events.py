"""Network, storage pool and node device events over libvirt's RPC protocol, through virt-remote.

virt-remote registers for every object event id with libvirt's procedures
(``CONNECT_NETWORK_EVENT_REGISTER_ANY``...) and turns their MESSAGEs
(``NETWORK_EVENT_LIFECYCLE``...) into the records of
:mod:`virtcore.objevents`. The same scenario runs against Debian's libvirtd
(its test driver) and against ``virtcore serve`` (virt-test behind it): both
must deliver the same events, in order. A daemon queues a connection's events
in order, so a domain event after the objects' changes marks the point by
which theirs must have come. A node device is created with virsh on the same
daemon (the remote driver offers no node device calls): another client's
changes are heard too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_support import VIRSH, Served, virsh
from virt_remote.daemons import Libvirtd

import virtcore
from virtcore.errors import InternalError
from virtcore.objevents import (
    NetworkEventLifecycleType,
    NetworkLifecycleEvent,
    NodeDeviceLifecycleEvent,
    ObjectKind,
    SecretEventLifecycleType,
    SecretValueChangedEvent,
    StoragePoolEventLifecycleType,
    StoragePoolLifecycleEvent,
    StoragePoolRefreshEvent,
)
from virtcore.testing.support import wait_for

NET = (
    "<network><name>{}</name><bridge name='virbr9'/>"
    "<ip address='192.168.199.1' netmask='255.255.255.0'/></network>"
)
POOL = "<pool type='dir'><name>{}</name><target><path>/nonexistent/{}</path></target></pool>"
VHBA = """<device><name>scsi_host12</name><parent>scsi_host1</parent>
<capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341234</wwnn>
<wwpn>1000000012341234</wwpn></capability></capability></device>"""

N, P, D = NetworkEventLifecycleType, StoragePoolEventLifecycleType, 0
#: What the scenario must deliver, in order: (kind, id, object, event code or None).
EXPECTED = [
    ("network", 0, "rem-net", N.DEFINED),
    ("network", 0, "rem-net", N.STARTED),
    ("network", 0, "rem-net", N.STOPPED),
    ("network", 0, "rem-net", N.UNDEFINED),
    ("network", 0, "default", N.STOPPED),
    ("network", 0, "default", N.STARTED),
    ("storage_pool", 0, "rem-pool", P.DEFINED),
    ("storage_pool", 0, "rem-pool", P.CREATED),
    ("storage_pool", 0, "rem-pool", P.STARTED),
    ("storage_pool", 1, "rem-pool", None),
    ("storage_pool", 0, "rem-pool", P.STOPPED),
    ("storage_pool", 0, "rem-pool", P.DELETED),
    ("storage_pool", 0, "rem-pool", P.UNDEFINED),
    ("node_device", 0, "scsi_host12", D),  # VIR_NODE_DEVICE_EVENT_CREATED
    ("node_device", 0, "scsi_host12", D + 1),  # VIR_NODE_DEVICE_EVENT_DELETED
]


def _scenario(uri: str, virsh_uri: str, tmp: Path) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """Register for every object event id, change networks, a pool and a vHBA; what was heard."""
    with virtcore.open(uri) as conn:
        heard: list[tuple[Any, ...]] = []
        records: list[Any] = []
        doms: list[str] = []
        for kind, ids in ((ObjectKind.NETWORK, 1), (ObjectKind.STORAGE_POOL, 2), (ObjectKind.NODE_DEVICE, 2)):
            for event_id in range(ids):

                def on(obj: Any, rec: Any, kind: ObjectKind = kind, event_id: int = event_id) -> None:
                    heard.append((kind.value, event_id, obj.name, getattr(rec, "event", None)))
                    records.append(rec)

                conn.on_object_event(kind, event_id, on)
        conn.on_domain_event(lambda dom, event, detail: doms.append(event.name))
        net = conn.define_network(NET.format("rem-net"))
        net.start()
        net.destroy()
        net.undefine()
        default = conn.lookup_network("default")
        default.destroy()
        default.start()
        pool = conn.define_storage_pool(POOL.format("rem-pool", "rem-pool"))
        pool.build()
        pool.start()
        pool.refresh()
        pool.destroy()
        pool.delete()
        pool.undefine()
        vhba = tmp / "vhba.xml"
        vhba.write_text(VHBA)
        created = virsh(virsh_uri, "nodedev-create", str(vhba))
        assert created.returncode == 0, created.stderr
        destroyed = virsh(virsh_uri, "nodedev-destroy", "scsi_host12")
        assert destroyed.returncode == 0, destroyed.stderr
        dom = conn.lookup_domain("test")
        dom.suspend()
        dom.resume()
        wait_for(lambda: doms[-1:] == ["RESUMED"], 60, "the domain's events")
        return heard, records


def _check(heard: list[tuple[Any, ...]], records: list[Any]) -> None:
    assert heard == EXPECTED
    # the records are virtcore's own, with the objects' identities from the wire
    assert isinstance(records[0], NetworkLifecycleEvent) and len(records[0].network.uuid) == 36
    assert isinstance(records[6], StoragePoolLifecycleEvent) and records[6].pool.name == "rem-pool"
    assert isinstance(records[9], StoragePoolRefreshEvent)
    assert isinstance(records[-1], NodeDeviceLifecycleEvent) and records[-1].device.name == "scsi_host12"


@pytest.mark.skipif(VIRSH is None, reason="Debian's virsh (libvirt-clients) is not installed")
def test_object_events_from_libvirtd(libvirtd: Libvirtd, tmp_path: Path) -> None:
    # libvirtd's test driver has no secret driver: that registration is NO_SUPPORT, and left
    heard, records = _scenario(libvirtd.uri(), libvirtd.uri(), tmp_path)
    _check(heard, records)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``virtcore serve`` on ``test:///default`` (its own process, so its own mock node)."""
    sockets = tmp_path / "s"
    sockets.mkdir()
    server = Served(sockets, ["test:///default"])
    yield server
    log = server.stop()
    assert "Traceback" not in log, log


@pytest.mark.skipif(VIRSH is None, reason="Debian's virsh (libvirt-clients) is not installed")
def test_object_events_from_virtcore_serve(served: Served, tmp_path: Path) -> None:
    uri = served.uri("test:///default")
    heard, records = _scenario(uri, uri, tmp_path)
    _check(heard, records)


def test_virtcore_serve_refuses_unknown_object_event_ids_and_callbacks(served: Served) -> None:
    from virt_remote import loop
    from virt_remote.client import RemoteClient
    from virt_remote.options import parse_options

    from virtcore.uri import URI

    async def talk() -> list[str]:
        client = await RemoteClient.open(parse_options(URI.parse(served.uri("test:///default")), False))
        said = []
        try:
            for proc, args in (
                ("CONNECT_NETWORK_EVENT_REGISTER_ANY", {"eventID": 1, "net": None}),
                ("CONNECT_SECRET_EVENT_REGISTER_ANY", {"eventID": -1, "secret": None}),
                ("CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY", {"callbackID": 999}),
            ):
                try:
                    await client.call(proc, args)
                except InternalError as exc:
                    said.append(exc.message)
            # a network callback's id is no pool callback's
            cid = (await client.call("CONNECT_NETWORK_EVENT_REGISTER_ANY", {"eventID": 0, "net": None}))[
                "callbackID"
            ]
            try:
                await client.call("CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY", {"callbackID": cid})
            except InternalError as exc:
                said.append(exc.message.replace(str(cid), "CID"))
            await client.call("CONNECT_NETWORK_EVENT_DEREGISTER_ANY", {"callbackID": cid})
        finally:
            await client.aclose()
        return said

    assert loop.run(talk()) == [
        "internal error: unsupported network event ID 1",
        "internal error: unsupported secret event ID -1",
        "internal error: storage pool event callback 999 not registered",
        "internal error: storage pool event callback CID not registered",
    ]


SECRET = """<secret ephemeral='no' private='yes'><uuid>{}</uuid>
<usage type='volume'><volume>/var/lib/virtcore-test/remote-secret.img</volume></usage></secret>"""


@pytest.mark.skipif(VIRSH is None, reason="Debian's virsh (libvirt-clients) is not installed")
def test_secret_events_from_libvirtds_secret_driver(libvirtd: Libvirtd, tmp_path: Path) -> None:
    uuid = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"
    uri = libvirtd.uri("qemu", "/system")
    xml = tmp_path / "secret.xml"
    xml.write_text(SECRET.format(uuid))
    with virtcore.open(uri) as conn:
        heard: list[Any] = []
        conn.on_object_event(ObjectKind.SECRET, 0, lambda obj, rec: heard.append((obj.uuid, rec.event)))
        conn.on_object_event(ObjectKind.SECRET, 1, lambda obj, rec: heard.append((obj.uuid, type(rec))))
        for args in (
            ("secret-define", str(xml)),
            ("secret-set-value", uuid, "--base64", "c2VrcmV0"),
            ("secret-undefine", uuid),
        ):
            done = virsh(uri, *args)
            assert done.returncode == 0, done.stderr
        wait_for(lambda: len(heard) >= 3, 60, "the secret's events")
        assert heard == [
            (uuid, SecretEventLifecycleType.DEFINED),
            (uuid, SecretValueChangedEvent),
            (uuid, SecretEventLifecycleType.UNDEFINED),
        ]
