"""An Ansible-virt_net/virt_pool-like program: what network, pool and volume XML read back says.

Ansible's ``virt_net`` and ``virt_pool`` define from the user's XML, then read
``XMLDesc`` with ElementTree for their facts (a network's bridge, forward mode
and DHCP hosts; a pool's sizes and path; a volume's capacity and format), and
scripts read ``<capacity>``'s text as bytes. Every element is recorded, child by
child, for what this program defines and for what the node already holds.
Prints what it saw as JSON. Usage: ``python ansible_net_pool_xml.py URI POOLDIR``.
"""

import os
import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

L = libvirt


def element(el, defined):
    """An element as ``[tag, attributes, text, children]``; a UUID this program did not give blanked."""
    text = (el.text or "").strip()
    if el.tag == "uuid" and defined:
        text = "<generated>"
    return [el.tag, dict(sorted(el.attrib.items())), text, [element(c, defined) for c in el]]


def xml_of(obj, defined, flags=0):
    root = ET.fromstring(obj.XMLDesc(flags))
    return element(root, defined)


def children(obj, defined):
    """The top-level children's tags, in order, and each child on its own."""
    root = xml_of(obj, defined)
    return root[0], root[1], [c[0] for c in root[3]], {c[0]: c for c in root[3]}


def record(prefix, obj, defined):
    tag, attributes, order, kids = children(obj, defined)
    rec(prefix + ".root", lambda: [tag, attributes])
    rec(prefix + ".order", lambda: order)
    for name, kid in sorted(kids.items()):
        rec(prefix + ".child." + name, lambda kid=kid: kid)


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
NAT = """<network>
  <name>ans-nat</name>
  <bridge name='virbr9'/>
  <forward mode='nat'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.150.2' end='192.168.150.254'/>
      <host mac='52:54:00:aa:bb:cc' name='h1' ip='192.168.150.10'/>
    </dhcp>
  </ip>
</network>"""
ISOLATED = "<network><name>ans-isolated</name></network>"
ROUTED = """<network><name>ans-routed</name><forward mode='route'/>
<bridge name='virbr8' stp='off' delay='2'/><ip address='10.0.9.1' prefix='24'/></network>"""
for xml in (NAT, ISOLATED, ROUTED):
    net = conn.networkDefineXML(xml)
    record("net." + net.name() + ".defined", net, True)
    rec("net." + net.name() + ".create", net.create)
    record("net." + net.name() + ".running", net, True)
    rec("net." + net.name() + ".bridge_name", net.bridgeName)
rec("net.inactive_flag", lambda: conn.networkLookupByName("ans-nat").XMLDesc(L.VIR_NETWORK_XML_INACTIVE))
for net in conn.listAllNetworks():
    if not net.name().startswith("ans-"):
        record("net." + net.name() + ".node", net, False)
        rec(
            "net." + net.name() + ".uuid_matches",
            lambda net=net: xml_of(net, False)[3][1][2] == net.UUIDString(),
        )

os.makedirs(sys.argv[2], exist_ok=True)
pool = conn.storagePoolDefineXML(
    f"<pool type='dir'><name>ans-pool</name><target><path>{sys.argv[2]}</path></target></pool>", 0
)
record("pool.ans-pool.defined", pool, True)
rec("pool.build", lambda: pool.build(0))
rec("pool.create", lambda: pool.create(0))
record("pool.ans-pool.running", pool, True)
VOLUMES = {
    "sized.qcow2": "<capacity unit='M'>10</capacity><target><format type='qcow2'/></target>",
    "plain.img": "<capacity>1048576</capacity>",
    "sparse.raw": "<capacity unit='KiB'>2048</capacity><allocation>0</allocation>",
}
for name, body in VOLUMES.items():
    rec(
        "vol." + name + ".create",
        lambda name=name, body=body: pool.createXML(f"<volume><name>{name}</name>{body}</volume>", 0),
    )
    record("vol." + name, pool.storageVolLookupByName(name), True)
    rec(
        "vol." + name + ".capacity_as_bytes",
        lambda name=name: int(
            ET.fromstring(pool.storageVolLookupByName(name).XMLDesc(0)).findtext("capacity")
        ),
    )
    rec("vol." + name + ".info", lambda name=name: pool.storageVolLookupByName(name).info()[:2])
for other in conn.listAllStoragePools():
    if other.name() != "ans-pool":
        record("pool." + other.name() + ".node", other, False)
for name in VOLUMES:
    rec("vol." + name + ".delete", lambda name=name: pool.storageVolLookupByName(name).delete(0))
rec("pool.destroy", pool.destroy)
rec("pool.undefine", pool.undefine)
for name in ("ans-nat", "ans-isolated", "ans-routed"):
    rec("net." + name + ".destroy", lambda name=name: conn.networkLookupByName(name).destroy())
    rec("net." + name + ".undefine", lambda name=name: conn.networkLookupByName(name).undefine())
conn.close()
dump()
