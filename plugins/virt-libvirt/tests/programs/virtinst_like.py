"""A virt-install / virt-manager-like program: capabilities, volume clone and streams, domain events.

Prints what it saw as JSON. Usage: ``python virtinst_like.py URI POOLDIR``.
"""

import os
import sys
import threading
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

L = libvirt


libvirt.virEventRegisterDefaultImpl()
libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
events = []
rec(
    "event_register",
    lambda: (
        conn.domainEventRegisterAny(
            None,
            L.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda c, d, event, detail, opaque: events.append([d.name(), event, detail]),
            None,
        )
        >= 0
    ),
)
stop = threading.Event()


def loop():
    while not stop.is_set():
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()


def caps():
    root = ET.fromstring(conn.getCapabilities())
    return {
        "host_arch": root.findtext("./host/cpu/arch"),
        "has_guests": len(root.findall("guest")) > 0,
        "domain_types": sorted({d.get("type") for d in root.findall("./guest/arch/domain")}),
    }


rec("caps", caps)
rec("domcaps", lambda: ET.fromstring(conn.getDomainCapabilities(None, None, None, None, 0)).tag)
first = min(conn.listAllDomains(), key=lambda d: d.name())
rec("uuid_lookup_bytes", lambda: conn.lookupByUUID(first.UUID()).name())
POOL = f"<pool type='dir'><name>images</name><target><path>{sys.argv[2]}</path></target></pool>"
os.makedirs(sys.argv[2], exist_ok=True)
pool = conn.storagePoolCreateXML(POOL, 0)
rec("pool_transient", lambda: [pool.isActive(), pool.isPersistent()])
VOL = """<volume><name>base.img</name><capacity unit='KiB'>64</capacity>
<target><format type='raw'/></target></volume>"""
rec("vol_create", lambda: pool.createXML(VOL, 0))
base = pool.storageVolLookupByName("base.img")
data = bytes(range(256)) * 16


def upload():
    st = conn.newStream(0)
    base.upload(st, 0, len(data), 0)
    st.sendAll(lambda s, nbytes, buf: buf.pop(0) if buf else b"", [data])
    return st.finish()


rec("upload", upload)


def download():
    st = conn.newStream(0)
    base.download(st, 0, len(data), 0)
    got = []
    st.recvAll(lambda s, chunk, acc: acc.append(chunk), got)
    st.finish()
    return b"".join(got) == data


rec("download", download)
CLONE = """<volume><name>clone.img</name><capacity unit='KiB'>64</capacity>
<target><format type='raw'/></target></volume>"""
rec("clone", lambda: pool.createXMLFrom(CLONE, base, 0))
rec("clone_info", lambda: pool.storageVolLookupByName("clone.img").info()[:2])
rec("vols", lambda: sorted(v.name() for v in pool.listAllVolumes(0)))
rec("wipe", lambda: pool.storageVolLookupByName("clone.img").wipe(0))
rec("vol_xml_format", lambda: ET.fromstring(base.XMLDesc(0)).find("./target/format").get("type"))
DOM = f"""<domain type='test'>
  <name>installed</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type><boot dev='cdrom'/></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='{sys.argv[2]}/clone.img'/><target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>"""
rec("install", lambda: conn.createXML(DOM, 0))
rec("installed_state", lambda: conn.lookupByName("installed").state(0))
uuid = conn.lookupByName("installed").UUIDString()
# the persistent definition virt-install writes carries the running guest's UUID
rec("installed_define", lambda: conn.defineXML(DOM.replace("<name>", f"<uuid>{uuid}</uuid><name>")))
rec("installed_destroy", lambda: conn.lookupByName("installed").destroy())
rec("installed_start", lambda: conn.lookupByName("installed").createWithFlags(0))
rec("installed_destroy2", lambda: conn.lookupByName("installed").destroy())
rec("installed_undefine", lambda: conn.lookupByName("installed").undefine())
rec("vol_delete", lambda: pool.storageVolLookupByName("clone.img").delete(0))
rec("pool_destroy", pool.destroy)
rec("pool_gone", lambda: conn.storagePoolLookupByName("images"))
for _ in range(600):  # until the undefine's event came through the loop (at most a minute)
    if any(e[1] == L.VIR_DOMAIN_EVENT_UNDEFINED for e in events):
        break
    threading.Event().wait(0.1)
rec("events", lambda: events)
stop.set()
dump()
