"""A nova-guest-like program: device hot-plug, memory/vCPU changes, metadata, snapshots, managed save.

Prints what it saw as JSON. Usage: ``python nova_guest.py URI``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

L = libvirt


GUEST = """<domain type='test'>
  <name>instance-00000001</name>
  <uuid>c0ffee00-1234-4abc-9def-0123456789ab</uuid>
  <memory unit='KiB'>524288</memory>
  <currentMemory unit='KiB'>524288</currentMemory>
  <vcpu placement='static' current='1'>4</vcpu>
  <os><type arch='i686'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/nova/instances/disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>"""
VOLUME = """<disk type='file' device='disk'>
  <source file='/var/lib/nova/instances/volume-1'/>
  <target dev='vdb' bus='virtio'/>
  <serial>volume-1</serial>
</disk>"""
NIC = """<interface type='network'>
  <mac address='fa:16:3e:00:00:01'/>
  <source network='default'/>
  <model type='virtio'/>
</interface>"""
META = "<instance><name>vm1</name><flavor>m1.small</flavor></instance>"
NOVA_NS = "http://openstack.org/xmlns/libvirt/nova/1.1"


def devices(dom, flags=0):
    root = ET.fromstring(dom.XMLDesc(flags))
    return {
        "disks": [d.find("target").get("dev") for d in root.findall("./devices/disk")],
        "macs": [i.find("mac").get("address") for i in root.findall("./devices/interface")],
        "vcpu": [root.find("vcpu").text, root.find("vcpu").get("current")],
        "memory": [root.findtext("memory"), root.findtext("currentMemory")],
    }


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
dom = conn.defineXML(GUEST)
rec("start", dom.create)
rec("is_active", dom.isActive)
rec("devices", lambda: devices(dom))
rec("inactive_devices", lambda: devices(dom, L.VIR_DOMAIN_XML_INACTIVE))
live_config = L.VIR_DOMAIN_AFFECT_LIVE | L.VIR_DOMAIN_AFFECT_CONFIG
rec("attach_volume", lambda: dom.attachDeviceFlags(VOLUME, L.VIR_DOMAIN_AFFECT_LIVE))
rec("attach_volume_again", lambda: dom.attachDeviceFlags(VOLUME, L.VIR_DOMAIN_AFFECT_LIVE))
rec("attach_nic", lambda: dom.attachDevice(NIC))
rec("after_attach", lambda: devices(dom))
rec("after_attach_inactive", lambda: devices(dom, L.VIR_DOMAIN_XML_INACTIVE))
rec("detach_volume", lambda: dom.detachDeviceFlags(VOLUME, L.VIR_DOMAIN_AFFECT_LIVE))
rec("detach_volume_again", lambda: dom.detachDeviceFlags(VOLUME, L.VIR_DOMAIN_AFFECT_LIVE))
rec("detach_nic", lambda: dom.detachDevice(NIC))
rec("after_detach", lambda: devices(dom))
rec("vcpus_live", lambda: dom.vcpusFlags(L.VIR_DOMAIN_AFFECT_LIVE))
rec("vcpus_max", lambda: dom.vcpusFlags(L.VIR_DOMAIN_AFFECT_CONFIG | L.VIR_DOMAIN_VCPU_MAXIMUM))
rec("set_vcpus", lambda: dom.setVcpusFlags(2, L.VIR_DOMAIN_AFFECT_LIVE))
rec("set_vcpus_too_many", lambda: dom.setVcpusFlags(8, L.VIR_DOMAIN_AFFECT_LIVE))
rec("vcpus_after", lambda: [dom.vcpusFlags(L.VIR_DOMAIN_AFFECT_LIVE), dom.maxVcpus()])
rec("vcpu_info", lambda: [[v[0], v[1]] for v in dom.vcpus()[0]])
rec("set_memory", lambda: dom.setMemoryFlags(262144, L.VIR_DOMAIN_AFFECT_LIVE))
rec("set_memory_too_much", lambda: dom.setMemoryFlags(1048576, L.VIR_DOMAIN_AFFECT_LIVE))
rec("memory_after", lambda: dom.info()[1:3])
rec(
    "set_metadata",
    lambda: dom.setMetadata(L.VIR_DOMAIN_METADATA_ELEMENT, META, "nova", NOVA_NS, L.VIR_DOMAIN_AFFECT_LIVE),
)
rec(
    "get_metadata",
    lambda: ET.fromstring(dom.metadata(L.VIR_DOMAIN_METADATA_ELEMENT, NOVA_NS, 0)).findtext("flavor"),
)
rec("missing_metadata", lambda: dom.metadata(L.VIR_DOMAIN_METADATA_ELEMENT, "http://nowhere/", 0))
rec("set_title", lambda: dom.setMetadata(L.VIR_DOMAIN_METADATA_TITLE, "my guest", None, None, 0))
rec("title", lambda: dom.metadata(L.VIR_DOMAIN_METADATA_TITLE, None, 0))
SNAP = "<domainsnapshot><name>snap1</name><description>before upgrade</description></domainsnapshot>"
rec("snapshot", lambda: dom.snapshotCreateXML(SNAP, 0))
rec("snapshot_again", lambda: dom.snapshotCreateXML(SNAP, 0))
rec("snapshot_names", dom.snapshotListNames)
rec("snapshot_all", lambda: [s.getName() for s in dom.listAllSnapshots(0)])
rec("snapshot_num", lambda: dom.snapshotNum(0))
rec("snapshot_current", lambda: dom.snapshotCurrent(0))
rec("has_current", lambda: dom.hasCurrentSnapshot(0))
rec(
    "snapshot_desc",
    lambda: ET.fromstring(dom.snapshotLookupByName("snap1", 0).getXMLDesc(0)).findtext("description"),
)
rec("snapshot_parent", lambda: dom.snapshotLookupByName("snap1", 0).getParent())
rec("snapshot_missing", lambda: dom.snapshotLookupByName("nope", 0))
rec("revert", lambda: dom.revertToSnapshot(dom.snapshotLookupByName("snap1", 0), 0))
rec("undefine_with_snapshots", dom.undefine)
rec("snapshot_delete", lambda: dom.snapshotLookupByName("snap1", 0).delete(0))
rec("persistent_transient", dom.isPersistent)
rec("redefine", lambda: conn.defineXML(GUEST).name())
rec("persistent_again", dom.isPersistent)
rec("managed_save", lambda: dom.managedSave(0))
rec("has_managed_save", lambda: dom.hasManagedSaveImage(0))
rec("state_saved", lambda: dom.state(0))
rec("start_from_save", dom.create)
rec("has_managed_save_after", lambda: dom.hasManagedSaveImage(0))
rec("job_info", lambda: dom.jobInfo()[0])
rec("abort_job", dom.abortJob)
rec("suspend", dom.suspend)
rec("state_paused", lambda: dom.state(0))
rec("resume", dom.resume)
rec("shutdown_flags", lambda: dom.shutdownFlags(L.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN))
rec("state_after_shutdown", lambda: dom.state(0)[0])
rec("destroy_flags", lambda: dom.destroyFlags(L.VIR_DOMAIN_DESTROY_GRACEFUL))
rec("state_after_destroy", lambda: dom.state(0))
rec(
    "undefine_flags",
    lambda: dom.undefineFlags(L.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | L.VIR_DOMAIN_UNDEFINE_NVRAM),
)
rec("gone", lambda: conn.lookupByUUIDString("c0ffee00-1234-4abc-9def-0123456789ab"))
conn.close()
dump()
