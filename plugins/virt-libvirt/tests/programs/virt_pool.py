"""An Ansible-virt_pool-like program: list, inspect, define, build, start, fill, stop, undefine pools.

Prints what it saw as JSON. Usage: ``python virt_pool.py URI POOLDIR``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

POOL_STATES = ["inactive", "building", "running", "degraded", "inaccessible"]
VOL_TYPES = ["file", "block", "dir", "network", "netdir", "ploop"]


def pool_facts(conn, flags=0):
    facts = {}
    for pool in conn.listAllStoragePools(flags):
        state, capacity, allocation, available = pool.info()
        root = ET.fromstring(pool.XMLDesc(0))
        facts[pool.name()] = {
            "state": POOL_STATES[state],
            "sizes": [type(capacity).__name__, type(allocation).__name__, type(available).__name__],
            "autostart": pool.autostart(),
            "persistent": pool.isPersistent(),
            "active": pool.isActive(),
            "uuid": pool.UUIDString(),
            "type": root.get("type"),
            "path": root.findtext("./target/path"),
            "volumes": sorted(pool.listVolumes()) if pool.isActive() else [],
            "numvols": pool.numOfVolumes() if pool.isActive() else -1,
        }
    return facts


def vol_facts(pool):
    facts = {}
    for vol in pool.listAllVolumes():
        vtype, capacity, _ = vol.info()
        root = ET.fromstring(vol.XMLDesc(0))
        facts[vol.name()] = {
            "type": VOL_TYPES[vtype],
            "capacity": capacity,
            "key_is_path": vol.key() == vol.path(),
            "format": root.find("./target/format").get("type")
            if root.find("./target/format") is not None
            else None,
            "pool": vol.storagePoolLookupByVolume().name(),
        }
    return facts


poolxml = f"""<pool type='dir'>
  <name>consumer-pool</name>
  <uuid>0b6b1e0e-8d8a-4a57-9a3e-4c2b7b1d5e21</uuid>
  <target><path>{sys.argv[2]}</path></target>
</pool>"""
volxml = """<volume>
  <name>disk1.img</name>
  <capacity unit='M'>10</capacity>
  <allocation unit='M'>0</allocation>
  <target><format type='raw'/></target>
</volume>"""

libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
L = libvirt
rec("facts", lambda: pool_facts(conn))
for flag in ("ACTIVE", "INACTIVE", "PERSISTENT", "TRANSIENT", "AUTOSTART", "NO_AUTOSTART", "DIR", "LOGICAL"):
    rec(
        "list_" + flag,
        lambda flag=flag: sorted(
            p.name() for p in conn.listAllStoragePools(getattr(L, "VIR_CONNECT_LIST_STORAGE_POOLS_" + flag))
        ),
    )
rec("legacy_active", lambda: sorted(conn.listStoragePools()))
rec("legacy_defined", lambda: sorted(conn.listDefinedStoragePools()))
rec("counts", lambda: [conn.numOfStoragePools(), conn.numOfDefinedStoragePools()])
rec("missing", lambda: conn.storagePoolLookupByName("no-such-pool"))
rec("missing_uuid", lambda: conn.storagePoolLookupByUUIDString("11111111-2222-3333-4444-555555555555"))
rec("missing_vol_path", lambda: conn.storageVolLookupByPath("/no/such/volume.img"))
rec("missing_vol_key", lambda: conn.storageVolLookupByKey("/no/such/volume.img"))
rec("define", lambda: conn.storagePoolDefineXML(poolxml, 0).name())
rec("define_again", lambda: conn.storagePoolDefineXML(poolxml, 0).name())
pool = conn.storagePoolLookupByName("consumer-pool")
rec("info_defined", lambda: pool.info()[0])
rec("listvols_inactive", pool.listVolumes)
rec("refresh_inactive", lambda: pool.refresh(0))
rec("destroy_inactive", pool.destroy)
rec("build", lambda: pool.build(0))
rec("autostart", lambda: pool.setAutostart(1))
rec("create", lambda: pool.create(0))
rec("create_again", lambda: pool.create(0))
rec("info_running", lambda: pool.info()[0])
rec("refresh", lambda: pool.refresh(0))
rec("vol_create", lambda: pool.createXML(volxml, 0).name())
rec("vol_create_again", lambda: pool.createXML(volxml, 0).name())
rec("vols", lambda: vol_facts(pool))
rec("vol_by_name", lambda: pool.storageVolLookupByName("disk1.img").name())
rec("vol_by_path", lambda: conn.storageVolLookupByPath(sys.argv[2] + "/disk1.img").name())
rec("vol_by_key", lambda: conn.storageVolLookupByKey(sys.argv[2] + "/disk1.img").name())
rec("vol_missing", lambda: pool.storageVolLookupByName("nope.img"))
rec("vol_info", lambda: pool.storageVolLookupByName("disk1.img").info()[:2])
rec("facts_running", lambda: pool_facts(conn, L.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)["consumer-pool"])
rec("undefine_active", pool.undefine)
rec("vol_delete", lambda: pool.storageVolLookupByName("disk1.img").delete(0))
rec("vols_after_delete", pool.listVolumes)
rec("destroy", pool.destroy)
rec("noautostart", lambda: pool.setAutostart(0))
rec("delete", lambda: pool.delete(0))
rec("undefine", pool.undefine)
rec("after_undefine", lambda: conn.storagePoolLookupByName("consumer-pool"))
rec("facts_end", lambda: sorted(pool_facts(conn)))
rec("bad_xml", lambda: conn.storagePoolDefineXML("<pool type='dir'><name>x</name>", 0))
conn.close()
dump()
