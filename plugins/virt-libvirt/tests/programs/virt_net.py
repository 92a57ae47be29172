"""An Ansible-virt_net-like program: list, inspect, define, start, query, stop, undefine networks.

Prints what it saw as JSON. Usage: ``python virt_net.py URI``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec

NETXML = """<network>
  <name>consumer-net</name>
  <uuid>7b3c6a61-3f0e-4c0f-8a55-2d4a9d6a0c11</uuid>
  <forward mode='nat'/>
  <bridge name='virbr77' stp='on' delay='0'/>
  <mac address='52:54:00:aa:bb:cc'/>
  <ip address='192.168.77.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.77.2' end='192.168.77.254'/>
      <host mac='52:54:00:11:22:33' name='web' ip='192.168.77.10'/>
    </dhcp>
  </ip>
</network>"""


def net_facts(conn):
    facts = {}
    for net in conn.listAllNetworks():
        root = ET.fromstring(net.XMLDesc(0))
        fwd = root.find("forward")
        facts[net.name()] = {
            "active": net.isActive(),
            "persistent": net.isPersistent(),
            "autostart": net.autostart(),
            "uuid": net.UUIDString(),
            "bridge": net.bridgeName(),
            "forward": None if fwd is None else fwd.get("mode"),
            "ips": [ip.get("address") for ip in root.findall("ip")],
            "hosts": [h.get("ip") for h in root.findall("./ip/dhcp/host")],
        }
    return facts


libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
L = libvirt
rec("facts", lambda: net_facts(conn))
for flag in ("ACTIVE", "INACTIVE", "PERSISTENT", "TRANSIENT", "AUTOSTART", "NO_AUTOSTART"):
    rec(
        "list_" + flag,
        lambda flag=flag: sorted(
            n.name() for n in conn.listAllNetworks(getattr(L, "VIR_CONNECT_LIST_NETWORKS_" + flag))
        ),
    )
rec("legacy", lambda: [sorted(conn.listNetworks()), sorted(conn.listDefinedNetworks())])
rec("counts", lambda: [conn.numOfNetworks(), conn.numOfDefinedNetworks()])
rec("missing", lambda: conn.networkLookupByName("no-such-net"))
rec("missing_uuid", lambda: conn.networkLookupByUUIDString("11111111-2222-3333-4444-555555555555"))
rec("define", lambda: conn.networkDefineXML(NETXML).name())
net = conn.networkLookupByName("consumer-net")
rec("by_uuid", lambda: conn.networkLookupByUUIDString("7b3c6a61-3f0e-4c0f-8a55-2d4a9d6a0c11").name())
rec("destroy_inactive", net.destroy)
rec("leases_inactive", lambda: net.DHCPLeases())
rec("autostart", lambda: net.setAutostart(True))
rec("create", net.create)
rec("create_again", net.create)
rec("leases", lambda: net.DHCPLeases())
rec("leases_mac", lambda: net.DHCPLeases("52:54:00:11:22:33"))
rec("leases_badflags", lambda: net.DHCPLeases(None, 1 << 20))
rec("facts_running", lambda: net_facts(conn)["consumer-net"])
rec(
    "list_ACTIVE_after",
    lambda: sorted(n.name() for n in conn.listAllNetworks(L.VIR_CONNECT_LIST_NETWORKS_ACTIVE)),
)
rec(
    "update_add_host",
    lambda: net.update(
        L.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
        L.VIR_NETWORK_SECTION_IP_DHCP_HOST,
        -1,
        "<host mac='52:54:00:44:55:66' name='db' ip='192.168.77.11'/>",
        L.VIR_NETWORK_UPDATE_AFFECT_LIVE | L.VIR_NETWORK_UPDATE_AFFECT_CONFIG,
    ),
)
rec("hosts_after_update", lambda: net_facts(conn)["consumer-net"]["hosts"])
rec("undefine_active", net.undefine)
rec("transient", lambda: [net.isPersistent(), net.isActive()])
rec("destroy", net.destroy)
rec("gone", lambda: conn.networkLookupByName("consumer-net"))
rec("define2", lambda: conn.networkDefineXML(NETXML).name())
net = conn.networkLookupByName("consumer-net")
rec("undefine", net.undefine)
rec("bad_xml", lambda: conn.networkDefineXML("<network><name>x</name>"))
rec("facts_end", lambda: sorted(net_facts(conn)))
conn.close()
dump()
