"""A vdsm/oVirt-like lifecycle: transient guests, pause/resume, save/restore, live changes, device flags.

vdsm starts guests with ``createXML`` (transient: the engine keeps the
definition), pauses and resumes them, hibernates with ``save``/``restore``,
balloons with ``setMemory``, hot-plugs vCPUs with ``setVcpusFlags``,
attaches/detaches/updates devices with explicit flags, keeps its own metadata
and grows disks with ``blockResize``. Prints what it saw as JSON.
Usage: ``python vdsm_lifecycle.py URI WORKDIR``.
"""

import os
import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

L = libvirt


WORK = sys.argv[2]
os.makedirs(WORK, exist_ok=True)
GUEST = """<domain type='test'>
  <name>ovirt-vm</name>
  <uuid>6e3c9a2b-1d4f-4e5a-8b7c-0a1b2c3d4e5f</uuid>
  <metadata>
    <ovirt-vm:vm xmlns:ovirt-vm="http://ovirt.org/vm/1.0"><ovirt-vm:clusterVersion>4.7</ovirt-vm:clusterVersion></ovirt-vm:vm>
  </metadata>
  <maxMemory slots='16' unit='KiB'>4194304</maxMemory>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static' current='2'>8</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/rhev/data-center/mnt/disk0'/>
      <target dev='sda' bus='scsi'/>
      <serial>disk0</serial>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='56:6f:00:00:00:01'/>
      <source network='default'/>
      <model type='virtio'/>
      <link state='up'/>
    </interface>
  </devices>
</domain>"""
OVIRT_NS = "http://ovirt.org/vm/1.0"
LEASE = "<lease><lockspace>sd-1</lockspace><key>vm-lease</key><target path='/rhev/leases'/></lease>"
DISK = """<disk type='file' device='disk'>
  <source file='/rhev/data-center/mnt/disk1'/>
  <target dev='sdb' bus='scsi'/>
  <serial>disk1</serial>
</disk>"""
LINK_DOWN = """<interface type='network'>
  <mac address='56:6f:00:00:00:01'/>
  <source network='default'/>
  <model type='virtio'/>
  <link state='down'/>
</interface>"""


def facts(dom, flags=0):
    root = ET.fromstring(dom.XMLDesc(flags))
    return {
        "disks": [t.get("dev") for t in root.findall("./devices/disk/target")],
        "links": [
            (i.find("link").get("state") if i.find("link") is not None else None)
            for i in root.findall("./devices/interface")
        ],
        "vcpu": [root.findtext("vcpu"), root.find("vcpu").get("current")],
        "memory": [root.findtext("memory"), root.findtext("currentMemory")],
    }


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
rec("create", lambda: conn.createXML(GUEST, 0))
dom = conn.lookupByName("ovirt-vm")
rec("create_again", lambda: conn.createXML(GUEST, 0))
rec(
    "create_paused",
    lambda: conn.createXML(
        GUEST.replace("ovirt-vm<", "ovirt-vm2<").replace("6e3c", "7e3c"), L.VIR_DOMAIN_START_PAUSED
    ),
)
rec("paused_state", lambda: conn.lookupByName("ovirt-vm2").state(0))
rec("destroy_paused", lambda: conn.lookupByName("ovirt-vm2").destroy())
rec("persistent", dom.isPersistent)
rec("facts", lambda: facts(dom))
rec("suspend", dom.suspend)
rec("state_paused", lambda: dom.state(0))
rec("suspend_again", dom.suspend)
rec("resume", dom.resume)
rec("resume_again", dom.resume)
rec("state_running", lambda: dom.state(0))
rec("set_memory", lambda: dom.setMemory(524288))
rec("set_memory_live", lambda: dom.setMemoryFlags(786432, L.VIR_DOMAIN_AFFECT_LIVE))
rec("set_memory_config", lambda: dom.setMemoryFlags(786432, L.VIR_DOMAIN_AFFECT_CONFIG))
rec("set_memory_too_much", lambda: dom.setMemory(8388608))
rec("info_memory", lambda: dom.info()[1:3])
rec("set_vcpus_live", lambda: dom.setVcpusFlags(4, L.VIR_DOMAIN_AFFECT_LIVE))
rec("set_vcpus_current", lambda: dom.setVcpusFlags(3, L.VIR_DOMAIN_AFFECT_CURRENT))
rec("set_vcpus_config", lambda: dom.setVcpusFlags(4, L.VIR_DOMAIN_AFFECT_CONFIG))
rec("set_vcpus_max_live", lambda: dom.setVcpusFlags(8, L.VIR_DOMAIN_AFFECT_LIVE | L.VIR_DOMAIN_VCPU_MAXIMUM))
rec("set_vcpus_zero", lambda: dom.setVcpusFlags(0, L.VIR_DOMAIN_AFFECT_LIVE))
rec("set_vcpus_guest", lambda: dom.setVcpusFlags(2, L.VIR_DOMAIN_VCPU_GUEST))
rec(
    "vcpus_after",
    lambda: [dom.vcpusFlags(L.VIR_DOMAIN_AFFECT_LIVE), dom.vcpusFlags(L.VIR_DOMAIN_VCPU_MAXIMUM)],
)
rec("attach_config_transient", lambda: dom.attachDeviceFlags(DISK, L.VIR_DOMAIN_AFFECT_CONFIG))
rec("update_link", lambda: dom.updateDeviceFlags(LINK_DOWN, L.VIR_DOMAIN_AFFECT_LIVE))
rec("attach_lease", lambda: dom.attachDeviceFlags(LEASE, L.VIR_DOMAIN_AFFECT_LIVE))
rec("facts_after", lambda: facts(dom))
rec(
    "set_ovirt_meta",
    lambda: dom.setMetadata(
        L.VIR_DOMAIN_METADATA_ELEMENT,
        "<vm><clusterVersion>4.8</clusterVersion><launchPaused>false</launchPaused></vm>",
        "ovirt-vm",
        OVIRT_NS,
        L.VIR_DOMAIN_AFFECT_LIVE,
    ),
)
rec(
    "ovirt_meta",
    lambda: ET.fromstring(
        dom.metadata(L.VIR_DOMAIN_METADATA_ELEMENT, OVIRT_NS, L.VIR_DOMAIN_AFFECT_LIVE)
    ).findtext("clusterVersion"),
)
rec(
    "meta_config_transient",
    lambda: dom.metadata(L.VIR_DOMAIN_METADATA_ELEMENT, OVIRT_NS, L.VIR_DOMAIN_AFFECT_CONFIG),
)
rec("clear_meta", lambda: dom.setMetadata(L.VIR_DOMAIN_METADATA_ELEMENT, None, None, OVIRT_NS, 0))
rec("meta_cleared", lambda: dom.metadata(L.VIR_DOMAIN_METADATA_ELEMENT, OVIRT_NS, 0))
rec("block_resize", lambda: dom.blockResize("sda", 10 * 1024 * 1024, 0))
rec(
    "block_resize_bytes",
    lambda: dom.blockResize("sda", 10 * 1024 * 1024 * 1024, L.VIR_DOMAIN_BLOCK_RESIZE_BYTES),
)
rec("block_resize_missing", lambda: dom.blockResize("sdz", 1024, 0))
rec("block_info", lambda: dom.blockInfo("sda", 0)[0])
image = os.path.join(WORK, "ovirt-vm.save")
rec("save", lambda: dom.save(image))
rec("state_saved", lambda: conn.lookupByName("ovirt-vm"))
rec("save_image_exists", lambda: os.path.exists(image))
rec("save_image_xml", lambda: ET.fromstring(conn.saveImageGetXMLDesc(image, 0)).findtext("name"))
rec("restore", lambda: conn.restore(image))
dom = conn.lookupByName("ovirt-vm")
rec("restored", lambda: [dom.state(0), dom.isPersistent(), facts(dom)["vcpu"]])
rec("restore_again", lambda: conn.restore(image))
rec("save_flags_paused", lambda: dom.saveFlags(image, None, L.VIR_DOMAIN_SAVE_PAUSED))
rec("restore_flags_running", lambda: conn.restoreFlags(image, None, L.VIR_DOMAIN_SAVE_RUNNING))
rec("restored_state", lambda: conn.lookupByName("ovirt-vm").state(0))
rec("restore_missing", lambda: conn.restore(os.path.join(WORK, "nope.save")))
dom = conn.lookupByName("ovirt-vm")
rec("reset", lambda: dom.reset(0))
rec("inject_nmi", lambda: dom.injectNMI(0))
rec("screenshot_flags", lambda: dom.screenshot(conn.newStream(0), 0, 1))
rec("destroy", dom.destroy)
rec("gone", lambda: conn.lookupByName("ovirt-vm"))
rec("destroy_again", dom.destroy)
conn.close()
dump()
