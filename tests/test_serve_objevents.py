"""Object events through ``virtcore serve``, heard by Debian's python3-libvirt (its C remote driver).

One script runs under Debian's python3-libvirt twice: on libvirt's own test
driver in-process (``test:///default``), and through ``virtcore serve``
(virt-test behind it) over ``test+unix://``. It registers for every network,
storage pool and node device event id (one only for the network ``default``),
runs libvirt's default event loop in a thread, and changes networks, a pool
and a vHBA; both runs must hear the same (kind, id, object, event, detail,
opaque) in the same order. libvirt's client sends each registration to the
daemon (``CONNECT_NETWORK_EVENT_REGISTER_ANY``...), and a filtered one names
its object: the daemon filters.
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
import json, sys, threading
import libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
conn = libvirt.open(sys.argv[1])
heard, finished, default_heard = [], threading.Event(), threading.Event()

def listener(kind, event_id):
    def cb(*args):
        c, obj, *rest, opaque = args
        heard.append([kind, event_id, obj.name(), rest, opaque, c is conn])
        if obj.name() == "marker" and rest == [1, 0]:
            finished.set()
        if kind == "only default" and rest == [2, 0]:
            default_heard.set()
    return cb

ids = [
    conn.networkEventRegisterAny(None, 0, listener("network", 0), "n0"),
    conn.networkEventRegisterAny(conn.networkLookupByName("default"), 0, listener("only default", 0), "nd"),
    conn.storagePoolEventRegisterAny(None, 0, listener("pool", 0), "p0"),
    conn.storagePoolEventRegisterAny(None, 1, listener("pool", 1), "p1"),
    conn.nodeDeviceEventRegisterAny(None, 0, listener("device", 0), "d0"),
    conn.nodeDeviceEventRegisterAny(None, 1, listener("device", 1), "d1"),
]
NET = ("<network><name>{}</name><bridge name='{}'/>"
       "<ip address='192.168.{}.1' netmask='255.255.255.0'/></network>")
net = conn.networkDefineXML(NET.format("srvnet", "virbr9", 199))
net.create(); net.destroy(); net.undefine()
default = conn.networkLookupByName("default")
default.destroy(); default.create()
transient = conn.networkCreateXML(NET.format("srvtrans", "virbr8", 198))
transient.destroy()
POOL = "<pool type='dir'><name>{}</name><target><path>/nonexistent/{}</path></target></pool>"
pool = conn.storagePoolDefineXML(POOL.format("srvpool", "srvpool"))
pool.build(0); pool.create(0); pool.refresh(0); pool.destroy(); pool.delete(0); pool.undefine()
dev = conn.nodeDeviceCreateXML('''<device><name>scsi_host12</name><parent>scsi_host1</parent>
<capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341234</wwnn>
<wwpn>1000000012341234</wwpn></capability></capability></device>''', 0)
dev.destroy()
# a deregistered callback hears nothing more (once it heard what was queued for it: libvirt
# drops the queued events of a callback deregistered before the loop delivered them)
default_heard.wait(60)
conn.networkEventDeregisterAny(ids[1])
default.destroy(); default.create()
marker = conn.networkDefineXML(NET.format("marker", "virbr7", 197))
marker.undefine()
finished.wait(60)
for cid in ids[2:]:
    conn.storagePoolEventDeregisterAny(cid) if cid in ids[2:4] else conn.nodeDeviceEventDeregisterAny(cid)
conn.networkEventDeregisterAny(ids[0])
print(json.dumps(heard))
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path, [TEST]) as server:
        yield server


def _run(uri: str) -> Any:
    return run_python3_libvirt(SCRIPT, uri)


def test_python3_libvirt_hears_object_events_through_virtcore_serve_as_from_libvirt(served: Served) -> None:
    libvirts = _run(TEST)
    ours = _run(served.uri(TEST))
    assert ours == libvirts
    # the comparison is about something: every kind fired, the filtered one only for default
    assert {h[0] for h in ours} == {"network", "only default", "pool", "device"}
    assert [h[3] for h in ours if h[0] == "only default"] == [[3, 0], [2, 0]]
    assert ["pool", 1, "srvpool", [], "p1", True] in ours  # a refresh: no event code, no detail
    assert ["device", 0, "scsi_host12", [0, 0], "d0", True] in ours
    assert ours[-1] == ["network", 0, "marker", [1, 0], "n0", True]
