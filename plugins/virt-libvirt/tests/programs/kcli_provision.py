"""A kcli-like provisioning flow: pool, volume with a backing store, network with DHCP hosts, a guest.

Creates a dir pool and a base image, a qcow2 overlay on it, a NAT network with
fixed DHCP host entries, a guest with two disks, a cloud-init cdrom and two
NICs; starts it, asks for its addresses and the network's leases, snapshots
it, then deletes everything the way ``kcli delete vm`` does. Prints what it
saw as JSON. Usage: ``python kcli_provision.py URI POOLDIR``.
"""

import os
import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

L = libvirt


POOLDIR = sys.argv[2]
os.makedirs(POOLDIR, exist_ok=True)
POOL = f"<pool type='dir'><name>kvirt</name><target><path>{POOLDIR}</path></target></pool>"
BASE = """<volume><name>centos9.qcow2</name><capacity unit='M'>64</capacity>
  <target><format type='qcow2'/></target></volume>"""
OVERLAY = f"""<volume type='file'><name>vm1_0.img</name><capacity unit='G'>1</capacity>
  <target><format type='qcow2'/></target>
  <backingStore><path>{POOLDIR}/centos9.qcow2</path><format type='qcow2'/></backingStore>
</volume>"""
DATA = """<volume><name>vm1_1.img</name><capacity unit='M'>32</capacity>
  <allocation>0</allocation><target><format type='raw'/></target></volume>"""
ISO = """<volume><name>vm1.ISO</name><capacity unit='K'>372</capacity>
  <target><format type='raw'/></target></volume>"""
NET = """<network>
  <name>kvirt-net</name>
  <forward mode='nat'/>
  <bridge name='kvirbr7' stp='on' delay='0'/>
  <domain name='kvirt.lab'/>
  <ip address='192.168.177.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.177.2' end='192.168.177.254'/>
      <host mac='52:54:00:aa:00:01' name='vm1' ip='192.168.177.10'/>
    </dhcp>
  </ip>
</network>"""
HOST2 = "<host mac='52:54:00:aa:00:02' name='vm1-b' ip='192.168.177.11'/>"
VM = f"""<domain type='test'>
  <name>vm1</name>
  <description>kcli vm</description>
  <metadata><kvirt:info xmlns:kvirt="kvirt"><kvirt:image>centos9</kvirt:image>
    <kvirt:plan>lab</kvirt:plan></kvirt:info></metadata>
  <memory unit='MiB'>512</memory>
  <currentMemory unit='MiB'>512</currentMemory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <cpu mode='host-model'/>
  <clock offset='utc'/>
  <on_reboot>restart</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{POOLDIR}/vm1_0.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='kvirt' volume='vm1_1.img'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='{POOLDIR}/vm1.ISO'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:00:01'/>
      <source network='kvirt-net'/>
      <model type='virtio'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:aa:00:02'/>
      <source network='kvirt-net'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>"""

libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
rec("pool_define", lambda: conn.storagePoolDefineXML(POOL, 0))
pool = conn.storagePoolLookupByName("kvirt")
rec("pool_start", lambda: pool.create(0))
rec("pool_autostart", lambda: pool.setAutostart(1))
rec("pool_refresh", lambda: pool.refresh(0))
rec("base", lambda: pool.createXML(BASE, 0))
rec("overlay", lambda: pool.createXML(OVERLAY, 0))
rec("data", lambda: pool.createXML(DATA, 0))
rec("iso", lambda: pool.createXML(ISO, 0))
rec("iso_again", lambda: pool.createXML(ISO, 0))


def vol(name):
    v = pool.storageVolLookupByName(name)
    root = ET.fromstring(v.XMLDesc(0))
    bs = root.find("backingStore")
    return {
        "info": [v.info()[0], v.info()[1]],
        "path": v.path() == os.path.join(POOLDIR, name),
        "format": root.find("./target/format").get("type"),
        "backing": None if bs is None else os.path.relpath(bs.findtext("path"), POOLDIR),
    }


for name in ("centos9.qcow2", "vm1_0.img", "vm1_1.img", "vm1.ISO"):
    rec("vol." + name, lambda name=name: vol(name))
rec("volumes", lambda: sorted(pool.listVolumes()))
rec("net_define", lambda: conn.networkDefineXML(NET).name())
net = conn.networkLookupByName("kvirt-net")
rec("net_start", net.create)
rec("net_autostart", lambda: net.setAutostart(True))
rec(
    "net_add_host",
    lambda: net.update(
        L.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
        L.VIR_NETWORK_SECTION_IP_DHCP_HOST,
        -1,
        HOST2,
        L.VIR_NETWORK_UPDATE_AFFECT_LIVE | L.VIR_NETWORK_UPDATE_AFFECT_CONFIG,
    ),
)
rec(
    "net_hosts",
    lambda: [
        [h.get("mac"), h.get("name"), h.get("ip")]
        for h in ET.fromstring(net.XMLDesc(0)).findall("./ip/dhcp/host")
    ],
)
rec("net_bridge", net.bridgeName)
rec("vm_define", lambda: conn.defineXML(VM))
dom = conn.lookupByName("vm1")
rec("vm_start", dom.create)
rec("vm_state", lambda: dom.state(0))
rec("vm_autostart", lambda: dom.setAutostart(1))
rec("vm_autostart_get", dom.autostart)


def disks():
    root = ET.fromstring(dom.XMLDesc(0))
    return [
        [d.get("device"), d.get("type"), d.find("target").get("dev"), d.find("readonly") is not None]
        for d in root.findall("./devices/disk")
    ]


rec("vm_disks", disks)
rec(
    "vm_macs",
    lambda: [
        [i.find("mac").get("address"), i.find("source").get("network")]
        for i in ET.fromstring(dom.XMLDesc(0)).findall("./devices/interface")
    ],
)
rec(
    "vm_kvirt_meta",
    lambda: ET.fromstring(dom.metadata(L.VIR_DOMAIN_METADATA_ELEMENT, "kvirt", 0)).findtext("{kvirt}image"),
)
rec("vm_description", lambda: dom.metadata(L.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0))
for src in ("LEASE", "AGENT", "ARP"):
    rec(
        "ifaddr." + src,
        lambda src=src: dom.interfaceAddresses(getattr(L, "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_" + src), 0),
    )
rec("leases", lambda: net.DHCPLeases())
rec("vm_snapshot", lambda: dom.snapshotCreateXML("<domainsnapshot><name>base</name></domainsnapshot>", 0))
rec("vm_snapshots", dom.snapshotListNames)
rec(
    "vm_eject",
    lambda: dom.updateDeviceFlags(
        "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>",
        L.VIR_DOMAIN_AFFECT_LIVE,
    ),
)
# kcli delete: destroy, drop snapshots, undefine, delete the disks it made.
rec("vm_destroy", dom.destroy)
rec("vm_undefine_snapshots", dom.undefine)
rec("vm_snapshot_delete", lambda: [s.delete(0) for s in dom.listAllSnapshots(0)])
rec(
    "vm_undefine",
    lambda: dom.undefineFlags(L.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | L.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA),
)
rec("vm_gone", lambda: conn.lookupByName("vm1"))
for name in ("vm1_0.img", "vm1_1.img", "vm1.ISO"):
    rec("delete." + name, lambda name=name: pool.storageVolLookupByName(name).delete(0))
rec("delete_missing", lambda: pool.storageVolLookupByName("vm1_0.img"))
rec("volumes_after", lambda: sorted(pool.listVolumes()))
rec("net_destroy", net.destroy)
rec("net_undefine", net.undefine)
rec("net_gone", lambda: conn.networkLookupByName("kvirt-net"))
rec("base_delete", lambda: pool.storageVolLookupByName("centos9.qcow2").delete(0))
rec("pool_destroy", pool.destroy)
rec("pool_delete", lambda: pool.delete(0))
rec("pool_undefine", pool.undefine)
rec("pool_gone", lambda: conn.storagePoolLookupByName("kvirt"))
conn.close()
dump()
