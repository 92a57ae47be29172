"""An Ansible-virt-module-like program: list, inspect, define, start, stop, undefine domains.

Prints what it saw as JSON. Usage: ``python virt_module.py URI``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: "nostate",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "idle",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_SHUTOFF: "shutdown",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "pmsuspended",
}

NEW = """<domain type='test'>
  <name>consumer-vm</name>
  <uuid>4a1e9a4e-7d5c-4f43-9d2b-1f6f3c2a0b11</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/consumer/vm.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:11:22:33'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>"""


def find_vm(conn, name):
    return conn.lookupByName(name)


def list_vms(conn, state=None):
    names = []
    for dom in conn.listAllDomains():
        if state is None or STATES[dom.info()[0]] == state:
            names.append(dom.name())
    return sorted(names)


def legacy_list(conn):
    running = [conn.lookupByID(i).name() for i in conn.listDomainsID()]
    return sorted(running) + sorted(conn.listDefinedDomains())


def info(conn):
    found = {}
    for dom in conn.listAllDomains():
        st, maxmem, mem, ncpu, cputime = dom.info()
        found[dom.name()] = {
            "state": STATES.get(st, "unknown"),
            "maxMem": str(maxmem),
            "memory": str(mem),
            "nrVirtCpu": ncpu,
            "cpuTime": type(cputime).__name__,
            "autostart": dom.autostart(),
            "persistent": dom.isPersistent(),
            "active": dom.isActive(),
            "id": dom.ID(),
            "uuid": dom.UUIDString(),
            "ostype": type(dom.OSType()).__name__,
        }
    return found


def get_xml(conn, name):
    root = ET.fromstring(find_vm(conn, name).XMLDesc(0))
    return {
        "tag": root.tag,
        "type": root.get("type"),
        "name": root.findtext("name"),
        "memory": [root.find("memory").get("unit"), root.findtext("memory")],
        "vcpu": root.findtext("vcpu"),
        "disks": [d.find("target").get("dev") for d in root.findall("./devices/disk")],
        "macs": [i.find("mac").get("address") for i in root.findall("./devices/interface")],
    }


def status(conn, name):
    return STATES[find_vm(conn, name).info()[0]]


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
rec("list_vms", lambda: list_vms(conn))
rec("list_running", lambda: list_vms(conn, "running"))
rec("list_shutdown", lambda: list_vms(conn, "shutdown"))
rec("legacy_list", lambda: legacy_list(conn))
rec("info", lambda: info(conn))
rec("nodeinfo", lambda: [conn.getInfo()[0], conn.getInfo()[2]])
rec("missing", lambda: find_vm(conn, "no-such-vm"))
rec("missing_uuid", lambda: conn.lookupByUUIDString("11111111-2222-3333-4444-555555555555"))
rec("bad_uuid", lambda: conn.lookupByUUIDString("not-a-uuid"))
rec("missing_id", lambda: conn.lookupByID(4242))
first = list_vms(conn)[0]
rec("get_xml_first", lambda: get_xml(conn, first))
rec("define", lambda: conn.defineXML(NEW).name())
rec("define_again", lambda: conn.defineXML(NEW).name())
rec("by_uuid", lambda: conn.lookupByUUIDString("4a1e9a4e-7d5c-4f43-9d2b-1f6f3c2a0b11").name())
rec("by_uuid_bytes", lambda: conn.lookupByUUID(bytes.fromhex("4a1e9a4e7d5c4f439d2b1f6f3c2a0b11")).name())
rec("get_xml", lambda: get_xml(conn, "consumer-vm"))
rec("status_defined", lambda: status(conn, "consumer-vm"))
dom = conn.lookupByName("consumer-vm")
rec("destroy_inactive", dom.destroy)
rec("shutdown_inactive", dom.shutdown)
rec("suspend_inactive", dom.suspend)
rec("autostart_set", lambda: dom.setAutostart(1))
rec("autostart_get", dom.autostart)
rec(
    "list_autostart",
    lambda: [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)],
)
rec("start", dom.create)
rec("start_again", dom.create)
rec("status_started", lambda: status(conn, "consumer-vm"))
rec("id_positive", lambda: dom.ID() > 0)
rec("by_id", lambda: conn.lookupByID(dom.ID()).name())
rec("pause", dom.suspend)
rec("status_paused", lambda: status(conn, "consumer-vm"))
rec("unpause", dom.resume)
rec("shutdown", dom.shutdown)
rec("status_after_shutdown", lambda: status(conn, "consumer-vm"))
rec("start2", dom.create)
rec("reboot", lambda: dom.reboot(0))
rec("status_after_reboot", lambda: status(conn, "consumer-vm"))
rec("destroy", dom.destroy)
rec("status_destroyed", lambda: status(conn, "consumer-vm"))
rec("id_inactive", dom.ID)
rec("autostart_unset", lambda: dom.setAutostart(0))
rec("undefine", dom.undefine)
rec("undefine_again", dom.undefine)
rec("after_undefine", lambda: find_vm(conn, "consumer-vm"))
rec("list_vms_end", lambda: list_vms(conn))
rec("create_transient", lambda: conn.createXML(NEW.replace("consumer-vm", "transient-vm"), 0).name())
rec("transient_persistent", lambda: conn.lookupByName("transient-vm").isPersistent())
rec("transient_autostart", lambda: conn.lookupByName("transient-vm").setAutostart(1))
rec("transient_destroy", lambda: conn.lookupByName("transient-vm").destroy())
rec("transient_gone", lambda: conn.lookupByName("transient-vm"))
rec("bad_xml", lambda: conn.defineXML("<domain><name>x</name>"))
rec("no_name_xml", lambda: conn.defineXML("<domain type='test'><memory>1024</memory></domain>"))
conn.close()
dump()
