"""A virt-manager-like inspector: list domains by flag, read every XML flavour, poll stats, watch events.

virt-manager's connection polls ``listAllDomains`` with each flag, reads each
domain's XML with every ``XMLDesc`` flag, polls ``info``/``vcpus``/
``memoryStats``/``blockStats``/``interfaceStats``/``jobInfo`` and the bulk
stats with each group, and registers domain events. Prints what it saw as
JSON (numbers that move by their type). Usage: ``python virtmanager_inspect.py URI``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, out, rec, shape

L = libvirt


def names(doms):
    return sorted(d.name() for d in doms)


libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
events = []
rec(
    "register_lifecycle",
    lambda: (
        conn.domainEventRegisterAny(
            None,
            L.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            lambda c, d, ev, detail, opaque: events.append(["lifecycle", d.name(), ev, detail]),
            None,
        )
        >= 0
    ),
)
rec(
    "register_reboot",
    lambda: (
        conn.domainEventRegisterAny(
            None, L.VIR_DOMAIN_EVENT_ID_REBOOT, lambda c, d, opaque: events.append(["reboot", d.name()]), None
        )
        >= 0
    ),
)
rec(
    "register_device_removed",
    lambda: (
        conn.domainEventRegisterAny(
            None,
            L.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
            lambda c, d, dev, opaque: events.append(["removed", d.name(), dev]),
            None,
        )
        >= 0
    ),
)
rec("register_bad_id", lambda: conn.domainEventRegisterAny(None, 9999, lambda *a: None, None))

FLAGS = {
    "all": 0,
    "active": L.VIR_CONNECT_LIST_DOMAINS_ACTIVE,
    "inactive": L.VIR_CONNECT_LIST_DOMAINS_INACTIVE,
    "persistent": L.VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
    "transient": L.VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
    "running": L.VIR_CONNECT_LIST_DOMAINS_RUNNING,
    "paused": L.VIR_CONNECT_LIST_DOMAINS_PAUSED,
    "shutoff": L.VIR_CONNECT_LIST_DOMAINS_SHUTOFF,
    "other": L.VIR_CONNECT_LIST_DOMAINS_OTHER,
    "managedsave": L.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
    "no_managedsave": L.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE,
    "autostart": L.VIR_CONNECT_LIST_DOMAINS_AUTOSTART,
    "no_autostart": L.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART,
    "has_snapshot": L.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
    "no_snapshot": L.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT,
    "active_persistent": L.VIR_CONNECT_LIST_DOMAINS_ACTIVE | L.VIR_CONNECT_LIST_DOMAINS_PERSISTENT,
    "bad": 1 << 30,
}

GUEST = """<domain type='test'>
  <name>vmm-guest</name>
  <memory>131072</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/guest.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:01:02:03'/><source network='default'/></interface>
  </devices>
</domain>"""
rec("define", lambda: conn.defineXML(GUEST).name())
transient = None
try:
    transient = conn.createXML(GUEST.replace("vmm-guest", "vmm-transient"), 0)
except libvirt.libvirtError as e:
    out["create_transient"] = ["error", e.get_error_code(), e.get_error_domain()]
for key, flags in FLAGS.items():
    rec("list." + key, lambda flags=flags: names(conn.listAllDomains(flags)))


def xml_flavours(dom):
    found = {}
    for fname in ("0", "SECURE", "INACTIVE", "MIGRATABLE"):
        flag = 0 if fname == "0" else getattr(L, "VIR_DOMAIN_XML_" + fname)
        try:
            root = ET.fromstring(dom.XMLDesc(flag))
            found[fname] = [root.get("id"), root.findtext("name"), len(root.findall("./devices/*")) > 0]
        except libvirt.libvirtError as e:
            found[fname] = ["error", e.get_error_code()]
    return found


def inspect(dom):
    n = "dom." + dom.name()
    rec(n + ".xml", lambda: xml_flavours(dom))
    rec(n + ".xml_update_cpu", lambda: ET.fromstring(dom.XMLDesc(L.VIR_DOMAIN_XML_UPDATE_CPU)).tag)
    rec(n + ".xml_badflags", lambda: dom.XMLDesc(1 << 20))
    rec(n + ".info", lambda: [dom.info()[0], dom.info()[1], dom.info()[3]])
    rec(n + ".state", lambda: dom.state(0))
    rec(n + ".id", dom.ID)
    rec(n + ".active_persistent", lambda: [dom.isActive(), dom.isPersistent()])
    rec(n + ".updated", dom.isUpdated)
    rec(n + ".os", dom.OSType)
    rec(n + ".vcpus", lambda: shape(dom.vcpus()))
    rec(n + ".vcpus_flags", lambda: [dom.vcpusFlags(0), dom.vcpusFlags(L.VIR_DOMAIN_VCPU_MAXIMUM)])
    rec(n + ".vcpu_pin", lambda: dom.vcpuPinInfo(0))
    rec(n + ".emulator_pin", lambda: dom.emulatorPinInfo(0))
    rec(n + ".memstats", lambda: sorted(dom.memoryStats()))
    rec(n + ".memstats_period", lambda: dom.setMemoryStatsPeriod(5, L.VIR_DOMAIN_AFFECT_LIVE))
    rec(n + ".jobinfo", lambda: shape(dom.jobInfo()))
    rec(n + ".autostart", dom.autostart)
    rec(n + ".managedsave", lambda: dom.hasManagedSaveImage(0))
    rec(n + ".snapshots", lambda: dom.snapshotNum(0))
    rec(n + ".sched", lambda: dom.schedulerType())
    rec(n + ".sched_params", lambda: shape(dom.schedulerParameters()))
    rec(n + ".blkio", lambda: shape(dom.blkioParameters(0)))
    rec(n + ".memparams", lambda: shape(dom.memoryParameters(0)))
    rec(n + ".numa", lambda: shape(dom.numaParameters(0)))
    root = ET.fromstring(dom.XMLDesc(0))
    disks = [t.get("dev") for t in root.findall("./devices/disk/target")]
    nics = [t.get("dev") for t in root.findall("./devices/interface/target")]

    def each(devs, fn):
        found = {}
        for dev in devs:
            try:
                found[dev] = fn(dev)
            except libvirt.libvirtError as e:
                found[dev] = ["error", e.get_error_code()]
        return found

    rec(n + ".blockstats", lambda: each(disks, lambda d: shape(dom.blockStats(d))))
    rec(n + ".blockstatsflags", lambda: each(disks, lambda d: sorted(dom.blockStatsFlags(d, 0))))
    rec(n + ".blockiotune", lambda: each(disks, lambda d: shape(dom.blockIoTune(d, 0))))
    rec(n + ".ifstats", lambda: each(nics, lambda d: shape(dom.interfaceStats(d))))


for dom in sorted(conn.listAllDomains(0), key=lambda d: d.name()):
    inspect(dom)

GROUPS = [
    "STATE",
    "CPU_TOTAL",
    "BALLOON",
    "VCPU",
    "INTERFACE",
    "BLOCK",
    "PERF",
    "IOTHREAD",
    "MEMORY",
    "DIRTYRATE",
]


def bulk(records):
    return {d.name(): sorted(stats) for d, stats in records}


for group in GROUPS:
    const = getattr(L, "VIR_DOMAIN_STATS_" + group, None)
    if const is None:
        continue
    rec("stats." + group, lambda const=const: bulk(conn.getAllDomainStats(const, 0)))
rec(
    "stats.enforce",
    lambda: bulk(
        conn.getAllDomainStats(L.VIR_DOMAIN_STATS_STATE, L.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS)
    ),
)
rec(
    "stats.inactive",
    lambda: bulk(
        conn.getAllDomainStats(L.VIR_DOMAIN_STATS_STATE, L.VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE)
    ),
)
rec(
    "stats.list",
    lambda: bulk(
        conn.domainListGetStats(
            conn.listAllDomains(L.VIR_CONNECT_LIST_DOMAINS_ACTIVE), L.VIR_DOMAIN_STATS_STATE, 0
        )
    ),
)
rec("stats.list_empty", lambda: conn.domainListGetStats([], L.VIR_DOMAIN_STATS_STATE, 0))

dom = conn.lookupByName("vmm-guest")
rec("start", dom.create)
rec("suspend", dom.suspend)
rec("resume", dom.resume)
rec("reboot", lambda: dom.reboot(0))
rec("shutdown", dom.shutdown)
rec("undefine", dom.undefine)
if transient is not None:
    rec("destroy_transient", transient.destroy)
rec("events", lambda: sorted(e for e in events if e[1].startswith("vmm-")))
conn.close()
dump()
