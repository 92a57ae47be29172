"""A virt-install / virt-manager / Ansible-like program that reads back what libvirt made of its XML.

virt-install defines a guest from a short XML and then parses ``XMLDesc``
with ElementTree (virt-manager's details page, Ansible's ``get_xml``, nova's
``get_config``): what libvirt filled in (``<vcpu placement>``, the ``<os>``
arch and boot device, the serial port behind a ``<console>``, a graphics
listen, the implicit video card, generated MACs, device order) is what they
read. For each guest and each ``XMLDesc`` flag it records every element, child by
child; also the XML's plain-text forms scripts grep for, and what a snapshot of a
guest holds. Prints what it saw as JSON. Usage: ``python xmldesc_elements.py URI``.
"""

import re
import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

L = libvirt

#: What virt-install writes for a small guest (no arch, no boot, a console without a serial...).
GUESTS = {
    "vi-minimal": """<domain type='test'>
  <name>vi-minimal</name>
  <memory>131072</memory>
  <os><type>hvm</type></os>
</domain>""",
    "vi-desktop": """<domain type='test'>
  <name>vi-desktop</name>
  <uuid>0b7d5f52-3c4e-4d8e-9a51-6a3c2f0e4d11</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='i686'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/vi-desktop.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/var/lib/libvirt/images/install.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:0a:0b:0c'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <graphics type='vnc'/>
    <console type='pty'/>
    <input type='tablet' bus='usb'/>
  </devices>
</domain>""",
    "vi-server": """<domain type='test'>
  <name>vi-server</name>
  <memory unit='KiB'>524288</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu current='1'>4</vcpu>
  <os><type arch='i686'>hvm</type><boot dev='network'/><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/vi-server.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>""",
}

#: The top-level children a consumer reads, and the device kinds (each recorded even when absent).
TOP = (
    "name",
    "uuid",
    "memory",
    "currentMemory",
    "vcpu",
    "os",
    "features",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "resource",
    "seclabel",
    "cpu",
)
DEVICES = (
    "emulator",
    "disk",
    "controller",
    "interface",
    "serial",
    "console",
    "input",
    "graphics",
    "video",
    "sound",
    "memballoon",
)
FLAGS = {
    "live": 0,
    "inactive": L.VIR_DOMAIN_XML_INACTIVE,
    "secure": L.VIR_DOMAIN_XML_SECURE,
    "migratable": L.VIR_DOMAIN_XML_MIGRATABLE,
}


def element(el):
    """An element as ``[tag, attributes, text, children]``, children in order."""
    text = (el.text or "").strip()
    return [el.tag, dict(sorted(el.attrib.items())), text, [element(c) for c in el]]


def without_generated(found, tag):
    """Blank what libvirt makes up at random (a UUID, a MAC it generated); an interface's
    ``<target>`` (the host device's name) is recorded on its own, as ``devices.interface_target``."""
    if tag == "uuid":
        return [[e[0], e[1], "<uuid>" if e[2] else "", e[3]] for e in found]
    if tag == "interface":
        return [[e[0], e[1], e[2], [mac(c) for c in e[3] if c[0] != "target"]] for e in found]
    return found


def mac(child):
    """A ``<mac>`` the guest did not give as ``<generated>``."""
    if child[0] != "mac" or child[1]["address"].startswith("52:54:00:0a"):
        return child
    return [child[0], {"address": "<generated>"}, child[2], child[3]]


def record_xml(name, flag_name, xml):
    root = ET.fromstring(xml)
    prefix = "xml." + name + "." + flag_name + "."
    rec(prefix + "root", lambda: [root.tag, sorted(k for k in root.attrib if k != "id")])
    rec(prefix + "order", lambda: [c.tag for c in root])
    for tag in TOP:
        rec(prefix + tag, lambda tag=tag: without_generated([element(e) for e in root.findall(tag)], tag))
    devices = root.find("devices")
    kids = [] if devices is None else list(devices)
    rec(prefix + "device_order", lambda: [d.tag for d in kids])
    for tag in DEVICES:
        rec(
            prefix + "devices." + tag,
            lambda tag=tag: without_generated([element(d) for d in kids if d.tag == tag], tag),
        )
    rec(
        prefix + "devices.interface_target",
        lambda: [[element(t) for t in d.findall("target")] for d in kids if d.tag == "interface"],
    )
    # Scripts from tutorials grep the text: libvirt writes attributes in single quotes.
    rec(prefix + "grep_name", lambda: re.findall(r"<domain type='(\w+)'", xml))
    rec(prefix + "grep_vcpu", lambda: re.findall(r"<vcpu placement='(\w+)'[^>]*>(\d+)</vcpu>", xml))


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
defined = {}
for name, xml in GUESTS.items():
    rec("dom." + name + ".define", lambda xml=xml: conn.defineXML(xml))
    try:
        defined[name] = conn.lookupByName(name)
    except libvirt.libvirtError:
        pass
for name, dom in sorted(defined.items()):
    for flag_name, flag in FLAGS.items():
        record_xml(name, "defined_" + flag_name, dom.XMLDesc(flag))
    rec("dom." + name + ".info", lambda dom=dom: dom.info()[:4])
    rec("dom." + name + ".maxmem", dom.maxMemory)
    rec("dom." + name + ".ostype", dom.OSType)
    rec(
        "dom." + name + ".vcpus_flags",
        lambda dom=dom: [dom.vcpusFlags(0), dom.vcpusFlags(L.VIR_DOMAIN_VCPU_MAXIMUM)],
    )
    rec("dom." + name + ".start", dom.create)
    for flag_name in ("live", "inactive"):
        record_xml(name, "running_" + flag_name, dom.XMLDesc(FLAGS[flag_name]))
    rec("dom." + name + ".vcpus_running", lambda dom=dom: [len(v) for v in dom.vcpus()])

# The domain the node file gave, as libvirt's test driver and ours read it.
for dom in conn.listAllDomains():
    if dom.name() not in defined:
        for flag_name in ("live", "inactive"):
            record_xml(dom.name(), flag_name, dom.XMLDesc(FLAGS[flag_name]))

# A snapshot holds the guest's definition as libvirt made it (nova, virt-manager's snapshot page).
desk = defined["vi-desktop"]
snap = desk.snapshotCreateXML(
    "<domainsnapshot><name>before</name><description>pre-update</description></domainsnapshot>", 0
)
sroot = ET.fromstring(snap.getXMLDesc(0))
rec("snap.order", lambda: [c.tag for c in sroot])
rec("snap.state", lambda: sroot.findtext("state"))
rec("snap.memory", lambda: element(sroot.find("memory")))
rec("snap.disks", lambda: element(sroot.find("disks")))
inner = sroot.find("domain")
rec("snap.domain.order", lambda: [c.tag for c in inner])
rec("snap.domain.vcpu", lambda: element(inner.find("vcpu")))
rec("snap.domain.os", lambda: element(inner.find("os")))
rec("snap.domain.device_order", lambda: [d.tag for d in inner.find("devices")])
rec("snap.current", lambda: desk.snapshotCurrent(0).getName())
rec("snap.is_current", lambda: snap.isCurrent(0))
rec("snap.has_metadata", lambda: snap.hasMetadata(0))
child = desk.snapshotCreateXML("<domainsnapshot><name>after</name></domainsnapshot>", 0)
rec("snap.child_parent", lambda: child.getParent().getName())
rec("snap.children", lambda: [s.getName() for s in snap.listAllChildren(0)])
rec("snap.num_children", lambda: snap.numChildren(0))
rec(
    "snap.roots", lambda: sorted(s.getName() for s in desk.listAllSnapshots(L.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS))
)
rec(
    "snap.leaves",
    lambda: sorted(s.getName() for s in desk.listAllSnapshots(L.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES)),
)
rec("snap.revert", lambda: desk.revertToSnapshot(snap, 0))
rec("snap.current_after_revert", lambda: desk.snapshotCurrent(0).getName())
rec("snap.state_after_revert", lambda: desk.state(0))
rec("snap.delete_children", lambda: snap.delete(L.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN))
rec("snap.left", lambda: desk.listAllSnapshots(0))
rec("snap.current_none", lambda: desk.hasCurrentSnapshot(0))

for name, dom in sorted(defined.items()):
    rec("dom." + name + ".destroy", dom.destroy)
    rec(
        "dom." + name + ".undefine",
        lambda dom=dom: dom.undefineFlags(L.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA),
    )
conn.close()
dump()
