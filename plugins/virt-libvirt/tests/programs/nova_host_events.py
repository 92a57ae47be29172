"""A nova-host-like program: domain capabilities parsed in depth, host facts, events, error texts.

nova's ``Host`` reads ``getDomainCapabilities`` for each guest arch and virt
type (os loader and firmware, CPU modes, disk buses, video models, features),
the host's CPU map, NUMA cells' free memory and memory statistics; registers
lifecycle, reboot, device-removed and job callbacks on libvirt's default event
loop run in a thread; and logs the text of every libvirt error it catches
(``get_error_message``) beside its code and domain. Prints what it saw as JSON.
Usage: ``python nova_host_events.py URI``.
"""

import sys
import threading
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec, shape

L = libvirt
libvirt.virEventRegisterDefaultImpl()
libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])


def domain_caps(emulator, arch, machine, virttype):
    """What nova's ``_get_domain_capabilities`` reads of one answer."""
    root = ET.fromstring(conn.getDomainCapabilities(emulator, arch, machine, virttype, 0))

    def enum(path, name):
        return [v.text for v in root.findall(f"{path}/enum[@name='{name}']/value")]

    return {
        "tag": root.tag,
        "path": root.findtext("path"),
        "domain": root.findtext("domain"),
        "machine": root.findtext("machine"),
        "arch": root.findtext("arch"),
        "vcpu_max": (root.find("vcpu").get("max") if root.find("vcpu") is not None else None),
        "iothreads": (
            root.find("iothreads").get("supported") if root.find("iothreads") is not None else None
        ),
        "os": (root.find("os").get("supported") if root.find("os") is not None else None),
        "loader_types": enum("./os/loader", "type"),
        "cpu_modes": sorted((m.get("name"), m.get("supported")) for m in root.findall("./cpu/mode")),
        "disk_buses": enum("./devices/disk", "bus"),
        "disk_devices": enum("./devices/disk", "diskDevice"),
        "video_models": enum("./devices/video", "modelType"),
        "graphics_types": enum("./devices/graphics", "type"),
        "hostdev_modes": enum("./devices/hostdev", "mode"),
        "features": sorted(
            (f.tag, f.get("supported"))
            for f in (root.find("features") if root.find("features") is not None else [])
        ),
    }


caps = ET.fromstring(conn.getCapabilities())
guests = sorted({(g.findtext("os_type"), g.find("arch").get("name")) for g in caps.findall("guest")})
for os_type, arch in guests:
    for dom_el in caps.findall(f"./guest/arch[@name='{arch}']/domain"):
        virttype = dom_el.get("type")
        rec(f"domcaps.{os_type}.{arch}.{virttype}", lambda a=arch, v=virttype: domain_caps(None, a, None, v))
rec("domcaps.default", lambda: domain_caps(None, None, None, None))
rec("domcaps.bad_arch", lambda: domain_caps(None, "no-such-arch", None, None))
rec("domcaps.bad_virttype", lambda: domain_caps(None, None, None, "no-such-type"))
rec("domcaps.bad_flags", lambda: conn.getDomainCapabilities(None, None, None, None, 1 << 20))
rec("host.topology_cells", lambda: len(caps.findall("./host/topology/cells/cell")))
rec(
    "host.cell_memory",
    lambda: [c.find("memory").get("unit") for c in caps.findall("./host/topology/cells/cell")],
)
rec("host.secmodels", lambda: [m.findtext("model") for m in caps.findall("./host/secmodel")])
rec(
    "host.migration",
    lambda: [t.text for t in caps.findall("./host/migration_features/uri_transports/uri_transport")],
)
rec("host.cpumap", lambda: conn.getCPUMap(0))
rec("host.info", conn.getInfo)
rec("host.cells_free", lambda: conn.getCellsFreeMemory(0, 8))
rec("host.cells_free_past_end", lambda: conn.getCellsFreeMemory(5, 2))
rec("host.memstats", lambda: shape(conn.getMemoryStats(L.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)))
rec("host.memstats_cell0", lambda: shape(conn.getMemoryStats(0, 0)))
rec("host.memstats_bad_cell", lambda: conn.getMemoryStats(99, 0))
rec("host.cpustats_cpu0", lambda: shape(conn.getCPUStats(0, 0)))
rec("host.cpustats_bad_cpu", lambda: conn.getCPUStats(999, 0))
rec("host.free_pages", lambda: conn.getFreePages([4, 2048], 0, 1, 0))

# -- events, on libvirt's default loop in a thread (nova's native thread) -----------------------
seen = []
ids = {}
lock = threading.Lock()


def note(*item):
    with lock:
        seen.append(list(item))


ids["lifecycle"] = conn.domainEventRegisterAny(
    None, L.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda c, d, ev, det, o: note("lifecycle", d.name(), ev, det), None
)
ids["reboot"] = conn.domainEventRegisterAny(
    None, L.VIR_DOMAIN_EVENT_ID_REBOOT, lambda c, d, o: note("reboot", d.name()), None
)
ids["device_removed"] = conn.domainEventRegisterAny(
    None,
    L.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
    lambda c, d, dev, o: note("device_removed", d.name(), dev),
    None,
)
ids["job_completed"] = conn.domainEventRegisterAny(
    None, L.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, lambda c, d, params, o: note("job_completed", d.name()), None
)
rec("event_ids_distinct", lambda: len(set(ids.values())) == len(ids) and min(ids.values()) >= 0)
rec(
    "event_bad_id",
    lambda: conn.domainEventRegisterAny(None, 4242, lambda *a: None, None),
)
stop = threading.Event()


def loop():
    while not stop.is_set():
        L.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()
GUEST = """<domain type='test'>
  <name>nova-ev</name>
  <memory unit='MiB'>128</memory>
  <os><type>hvm</type></os>
</domain>"""
dom = conn.defineXML(GUEST)
rec("ev.start", dom.create)
rec("ev.reboot", lambda: dom.reboot(0))
rec("ev.suspend", dom.suspend)
rec("ev.resume", dom.resume)
rec("ev.destroy", dom.destroy)
rec("ev.undefine", dom.undefine)


def wait_for(pred):
    for _ in range(600):  # at most a minute
        with lock:
            if pred(seen):
                return True
        threading.Event().wait(0.1)
    return False


rec(
    "ev.seen_undefined",
    lambda: wait_for(lambda s: any(e[0] == "lifecycle" and e[2] == L.VIR_DOMAIN_EVENT_UNDEFINED for e in s)),
)
with lock:
    rec("ev.events", lambda: list(seen))
for name, cid in sorted(ids.items()):
    rec("ev.deregister." + name, lambda cid=cid: conn.domainEventDeregisterAny(cid))
rec("ev.deregister_again", lambda: conn.domainEventDeregisterAny(ids["reboot"]))
stop.set()

# -- the error texts nova logs -----------------------------------------------------------------
#: key -> what the message says before its first colon: the kind of error nova matches on
#: ("Domain not found", "Requested operation is not valid", ...); the rest names the object its
#: own way on each side (virtcore's messages name it; libvirt 9.0's test driver's mostly do not).
prefixes = {}


def failure(key, fn, kind=True):
    """Record ``fn()``'s value or error code (as ``rec``) and, with ``kind``, its message's kind."""

    def call():
        try:
            return fn()
        except libvirt.libvirtError as e:
            if kind:
                prefixes[key] = (e.get_error_message() or "").split(":")[0]
            raise

    rec(key, call)


failure("err.lookup_name", lambda: conn.lookupByName("nova-missing"))
failure("err.lookup_uuid", lambda: conn.lookupByUUIDString("00000000-0000-0000-0000-00000000abcd"))
# libxml2's own report of a document not well formed, and the type refused, are compared by code only
failure("err.define_bad_xml", lambda: conn.defineXML("<domain type='test'><name>x</name>"), kind=False)
failure(
    "err.define_no_os",
    lambda: conn.defineXML("<domain type='test'><name>x</name><memory>1024</memory></domain>"),
)
failure(
    "err.define_bad_type", lambda: conn.defineXML(GUEST.replace("type='test'", "type='bogus'")), kind=False
)
failure("err.net_missing", lambda: conn.networkLookupByName("nova-net-missing"))
failure("err.pool_missing", lambda: conn.storagePoolLookupByName("nova-pool-missing"))
failure("err.vol_missing", lambda: conn.storageVolLookupByPath("/nova/no/such/volume"))
again = conn.defineXML(GUEST)
failure("err.inactive_suspend", again.suspend)
failure("err.inactive_destroy", again.destroy)
failure("err.snapshot_missing", lambda: again.snapshotLookupByName("nova-snap", 0))
failure("err.no_current_snapshot", lambda: again.snapshotCurrent(0))
failure("err.set_memory_inactive", lambda: again.setMemory(1024))
failure("err.set_vcpus_inactive", lambda: again.setVcpus(1))
failure("err.max_vcpus_bad", lambda: again.setVcpusFlags(0, L.VIR_DOMAIN_AFFECT_CONFIG))
rec("err.cleanup", again.undefine)


def last_error():
    err = libvirt.virGetLastError()
    return None if err is None else [err[0], err[1]]


failure("err.after_cleanup_lookup", lambda: conn.lookupByName("nova-ev"))
rec("err.last_error_codes", last_error)
rec("err.message_kinds", lambda: dict(sorted(prefixes.items())))
conn.close()
dump()
