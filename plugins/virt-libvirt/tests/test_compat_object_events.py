"""Network, storage pool and node device events through virt-libvirt, side by side with python3-libvirt.

One script runs unchanged under Debian's python3-libvirt and under
virt-libvirt on ``test:///default``: it registers a callback for every
network, pool and node device event id (one only for the network
``default``), runs libvirt's default loop in a thread, and defines, starts,
stops, builds, refreshes, deletes and undefines networks, pools and a vHBA.
Both must see the same sequence of (kind, id, object, event, detail, opaque),
each on the loop's thread with its connection: libvirt 9.0's test driver
emits them where virt-test does. libvirt's test driver has no secret driver:
registering for secret events is NO_SUPPORT there, and here.
"""

from __future__ import annotations

import sys
from typing import Any

from compat_peer import run_script

SCRIPT = r"""
import json, threading
import libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
conn = libvirt.open("test:///default")
got, done = [], threading.Event()
main = threading.current_thread().name

def recorder(kind, eid, getname):
    def cb(*args):
        c, obj, *rest, opaque = args
        off_main = threading.current_thread().name != main
        got.append([kind, eid, getname(obj), rest, opaque, c is conn, off_main])
        if kind == "network" and getname(obj) == "last" and rest == [1, 0]:
            done.set()
    return cb

name_of = lambda o: o.name()
ids = {}
ids["net"] = conn.networkEventRegisterAny(None, 0, recorder("network", 0, name_of), "n0")
ids["net default"] = conn.networkEventRegisterAny(conn.networkLookupByName("default"), 0,
                                                  recorder("network default", 0, name_of), "only default")
ids["pool"] = conn.storagePoolEventRegisterAny(None, 0, recorder("pool", 0, name_of), "p0")
ids["pool refresh"] = conn.storagePoolEventRegisterAny(None, 1, recorder("pool", 1, name_of), "p1")
ids["dev"] = conn.nodeDeviceEventRegisterAny(None, 0, recorder("dev", 0, name_of), "d0")
ids["dev update"] = conn.nodeDeviceEventRegisterAny(None, 1, recorder("dev", 1, name_of), "d1")

NET = ("<network><name>{}</name><bridge name='{}'/>"
       "<ip address='192.168.{}.1' netmask='255.255.255.0'/></network>")
net = conn.networkDefineXML(NET.format("evnet", "virbr9", 199))
net.create()
net.destroy()
net.undefine()
d = conn.networkLookupByName("default")
d.destroy()
d.create()
t = conn.networkCreateXML(NET.format("evtrans", "virbr8", 198))
t.destroy()

POOL = "<pool type='dir'><name>{}</name><target><path>/nonexistent/{}</path></target></pool>"
p = conn.storagePoolDefineXML(POOL.format("evpool", "evpool"))
p.build(0)
p.create(0)
p.refresh(0)
p.destroy()
p.delete(0)
p.undefine()
tp = conn.storagePoolCreateXML(POOL.format("evtpool", "evtpool"), 0)
tp.destroy()

dev = conn.nodeDeviceCreateXML('''<device><name>scsi_host12</name><parent>scsi_host1</parent>
<capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341234</wwnn>
<wwpn>1000000012341234</wwpn></capability></capability></device>''', 0)
devname = dev.name()
dev.destroy()

last = conn.networkDefineXML(NET.format("last", "virbr7", 197))
last.undefine()
done.wait(60)
conn.storagePoolEventDeregisterAny(ids["pool refresh"])
conn.nodeDeviceEventDeregisterAny(ids["dev update"])
conn.networkEventDeregisterAny(ids["net default"])
print(json.dumps({"ids": ids, "devname": devname, "got": got}))
"""

SECRET_EVENTS = r"""
import json, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open("test:///default")
try:
    out = ["ok", conn.secretEventRegisterAny(None, 0, lambda *a: None, None)]
except libvirt.libvirtError as e:
    out = ["libvirtError", e.get_error_code(), e.get_error_domain()]
print(json.dumps(out))
"""


def test_object_events_arrive_as_libvirt_pythons_on_the_test_driver(side_by_side: Any) -> None:
    theirs, ours = side_by_side.run(SCRIPT)
    assert ours == theirs
    # and the comparison is about something: every kind fired, filtered, on the loop's thread
    got = theirs["got"]
    assert {g[0] for g in got} == {"network", "network default", "pool", "dev"}
    assert all(same and off_main for *_, same, off_main in got)
    assert [g[3] for g in got if g[0] == "network default"] == [[3, 0], [2, 0]]  # only default's
    assert ["pool", 1, "evpool", [], "p1", True, True] in got  # a refresh: no event, no detail


def test_secret_events_on_the_test_driver_are_unsupported_as_libvirts(side_by_side: Any) -> None:
    theirs, ours = side_by_side.run(SECRET_EVENTS)
    assert theirs[:2] == ["libvirtError", 3]  # VIR_ERR_NO_SUPPORT
    assert ours == theirs


DEREGISTER = r"""
import json, libvirt
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open("test:///default")
core = conn._conn
before = len(core._listeners)
ids = [
    (conn.networkEventDeregisterAny, conn.networkEventRegisterAny(None, 0, lambda *a: None, None)),
    (conn.storagePoolEventDeregisterAny, conn.storagePoolEventRegisterAny(None, 1, lambda *a: None, None)),
    (conn.nodeDeviceEventDeregisterAny, conn.nodeDeviceEventRegisterAny(None, 0, lambda *a: None, None)),
]
registered = len(core._listeners)
for deregister, cid in ids:
    deregister(cid)
print(json.dumps([before, registered, len(core._listeners)]))
"""


def test_deregistering_an_object_event_drops_virtcores_registration_too() -> None:
    """networkEventDeregisterAny (and the pool's, the node device's) end virtcore's registration:
    virt-libvirt removes it with ``remove_event``, not the domain-only ``remove_domain_event``."""
    assert run_script(sys.executable, DEREGISTER) == [0, 3, 0]
