"""The rest of Ansible's community.libvirt ``virt`` module: its other commands, states and flags.

``virt_module.py`` walks a guest's life; this one runs the action table's
remaining entries as ``virt.py`` calls them: ``virttype``, ``freemem``,
``get_interfaces``, ``status`` of every guest, ``define`` with a changed
definition (same UUID: modify; same name, other UUID: refused) and the
``mutate_flags`` behaviour of keeping the UUID/MACs, ``state=running`` of a
name defined inactive through ``createXML``, ``undefine`` with each of the
module's ``flags``, and ``state=destroyed``/``shutdown``/``paused`` on guests
in every state. Prints what it saw as JSON. Usage: ``python virt_module_actions.py URI``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

L = libvirt
STATES = {1: "running", 2: "idle", 3: "paused", 4: "shutdown", 5: "shutdown", 6: "crashed", 7: "pmsuspended"}


def guest(name, uuid, memory=262144, mac="52:54:00:00:00:01"):
    return f"""<domain type='test'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>{memory}</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <interface type='network'><mac address='{mac}'/><source network='default'/></interface>
    <interface type='bridge'><mac address='52:54:00:00:00:99'/><source bridge='br0'/></interface>
  </devices>
</domain>"""


U1 = "11111111-aaaa-4bbb-8ccc-000000000001"
U2 = "11111111-aaaa-4bbb-8ccc-000000000002"


def interfaces(dom):
    root = ET.fromstring(dom.XMLDesc(0))
    return [
        [
            i.get("type"),
            i.find("mac").get("address"),
            (i.find("source").get("network") or i.find("source").get("bridge")),
        ]
        for i in root.findall("./devices/interface")
    ]


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
rec("virttype", conn.getType)
rec("status_all", lambda: {d.name(): STATES.get(d.info()[0], "unknown") for d in conn.listAllDomains()})
rec("define", lambda: conn.defineXML(guest("ans-vm", U1)))
dom = conn.lookupByName("ans-vm")
rec("get_interfaces", lambda: interfaces(dom))
rec("modify_memory", lambda: conn.defineXML(guest("ans-vm", U1, memory=524288)).maxMemory())
rec("modify_mac", lambda: interfaces(conn.defineXML(guest("ans-vm", U1, mac="52:54:00:00:00:02")))[0][1])
rec("same_name_other_uuid", lambda: conn.defineXML(guest("ans-vm", U2)))
rec("same_uuid_other_name", lambda: conn.defineXML(guest("ans-vm2", U1)))
rec("after_defines", lambda: [d.name() for d in conn.listAllDomains(L.VIR_CONNECT_LIST_DOMAINS_INACTIVE)])
rec("create_defined_name", lambda: conn.createXML(guest("ans-vm", U1), 0))
rec("create_defined_state", lambda: [dom.isActive(), dom.isPersistent()])
rec("create_running_again", lambda: conn.createXML(guest("ans-vm", U1), 0))
rec("create_other_uuid", lambda: conn.createXML(guest("ans-vm", U2), 0))
rec("define_while_running", lambda: conn.defineXML(guest("ans-vm", U1, memory=131072)).maxMemory())
rec(
    "running_vs_next",
    lambda: [dom.info()[1], int(ET.fromstring(dom.XMLDesc(L.VIR_DOMAIN_XML_INACTIVE)).findtext("memory"))],
)
rec("updated", dom.isUpdated)
# state=paused / running / shutdown / destroyed from each state
rec("paused", dom.suspend)
rec("destroyed_from_paused", dom.destroy)
rec("next_start_memory", lambda: [dom.create(), dom.info()[1]][1])
rec("shutdown_running", dom.shutdown)
rec("shutdown_state", lambda: dom.state(0))
rec("shutdown_shutoff", dom.shutdown)
UNDEF = {
    "managed_save": L.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
    "snapshots_metadata": L.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
    "nvram": L.VIR_DOMAIN_UNDEFINE_NVRAM,
    "keep_nvram": L.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
    "checkpoints_metadata": L.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
    "keep_tpm": getattr(L, "VIR_DOMAIN_UNDEFINE_KEEP_TPM", 1 << 6),
    "nvram_and_keep": L.VIR_DOMAIN_UNDEFINE_NVRAM | L.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
    "unknown": 1 << 20,
}
for i, (name, flag) in enumerate(UNDEF.items()):
    uuid = f"22222222-aaaa-4bbb-8ccc-{i:012d}"
    rec(
        "undefine." + name,
        lambda name=name, flag=flag, uuid=uuid: conn.defineXML(guest("u-" + name, uuid)).undefineFlags(flag),
    )
rec("undefine_left", lambda: sorted(d.name() for d in conn.listAllDomains() if d.name().startswith("u-")))
rec("undefine_managed_saved", lambda: [dom.create(), dom.managedSave(0), dom.undefineFlags(0)][2])
rec("undefine_managed_saved_flag", lambda: dom.undefineFlags(L.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE))
rec("gone", lambda: conn.lookupByUUIDString(U1))
conn.close()
dump()
