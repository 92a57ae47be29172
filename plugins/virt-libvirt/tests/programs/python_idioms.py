"""The libvirt-python idioms scripts and tutorials are full of: legacy lists, lookups, connection facts.

Iterates domains the old way (``listDomainsID`` + ``lookupByID``,
``listDefinedDomains`` + ``lookupByName``) and the new, counts with
``numOf*``, looks up by UUID (string and bytes), reads the connection's facts
(URI, host name, versions, alive/encrypted/secure, type, sysinfo, max vCPUs,
node info, CPU map, CPU and memory statistics), sets keepalive and close
callbacks, opens read-only and with ``openAuth``, and reads errors the ways
scripts do. Prints what it saw as JSON. Usage: ``python python_idioms.py URI``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec, shape

L = libvirt


URI = sys.argv[1]
libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(URI)
rec("uri", conn.getURI)
rec("type", conn.getType)
rec("hostname", lambda: isinstance(conn.getHostname(), str) and len(conn.getHostname()) > 0)
rec("version", conn.getVersion)
rec("libversion", lambda: conn.getLibVersion() >= 9000000)
rec("module_version", lambda: libvirt.getVersion() >= 9000000)
rec("module_version_type", lambda: libvirt.getVersion("Test"))
rec("alive", conn.isAlive)
rec("encrypted", conn.isEncrypted)
rec("secure", conn.isSecure)
rec("maxvcpus_none", lambda: conn.getMaxVcpus(None))
rec("maxvcpus_test", lambda: conn.getMaxVcpus("test"))
rec("nodeinfo", conn.getInfo)
rec("cpumap", lambda: conn.getCPUMap(0))
rec("cpustats_cpu0", lambda: shape(conn.getCPUStats(0, 0)))
rec("cpustats_bad_cpu", lambda: conn.getCPUStats(1000, 0))
rec("memstats_cell0", lambda: shape(conn.getMemoryStats(0, 0)))
rec("memstats_bad_cell", lambda: conn.getMemoryStats(99, 0))
rec("sysinfo", lambda: [c.tag for c in ET.fromstring(conn.getSysinfo(0))][:3])
rec("sysinfo_badflags", lambda: conn.getSysinfo(1))
rec("keepalive", lambda: conn.setKeepAlive(5, 3))
rec("keepalive_off", lambda: conn.setKeepAlive(0, 0))
rec("close_cb", lambda: conn.registerCloseCallback(lambda c, r, o: None, None))
rec("close_cb_twice", lambda: conn.registerCloseCallback(lambda c, r, o: None, None))
rec("close_cb_unregister", conn.unregisterCloseCallback)
rec("close_cb_unregister_again", conn.unregisterCloseCallback)

rec("num_domains", conn.numOfDomains)
rec("num_defined", conn.numOfDefinedDomains)
rec("ids", lambda: sorted(conn.listDomainsID()))
rec("by_id", lambda: sorted(conn.lookupByID(i).name() for i in conn.listDomainsID()))
rec("defined", lambda: sorted(conn.listDefinedDomains()))
rec("by_name", lambda: sorted(conn.lookupByName(n).ID() for n in conn.listDefinedDomains()))
rec("all", lambda: sorted(d.name() for d in conn.listAllDomains()))


def uuids():
    found = {}
    for dom in conn.listAllDomains():
        u = dom.UUIDString()
        found[dom.name()] = [
            conn.lookupByUUIDString(u).name(),
            conn.lookupByUUID(dom.UUID()).name(),
            len(dom.UUID()),
            conn.lookupByUUIDString(u.replace("-", "")).name(),
            conn.lookupByUUIDString(u.upper()).name(),
        ]
    return found


rec("uuids", uuids)
rec("by_id_missing", lambda: conn.lookupByID(9999))
rec("by_id_negative", lambda: conn.lookupByID(-1))
rec("by_name_missing", lambda: conn.lookupByName("no-such-domain"))
rec("by_uuid_bad", lambda: conn.lookupByUUIDString("not-a-uuid"))
rec("by_uuid_missing", lambda: conn.lookupByUUIDString("00000000-0000-0000-0000-000000000001"))
rec("by_uuid_bytes_short", lambda: conn.lookupByUUID(b"short"))
rec(
    "equal_handles",
    lambda: conn.lookupByName("test" if "default" in URI else "fc4") == conn.listAllDomains()[0],
)
rec("handle_connect", lambda: conn.listAllDomains()[0].connect().getURI())
rec("networks", lambda: [sorted(conn.listNetworks()), sorted(conn.listDefinedNetworks())])
rec("num_networks", lambda: [conn.numOfNetworks(), conn.numOfDefinedNetworks()])
rec("pools", lambda: [sorted(conn.listStoragePools()), sorted(conn.listDefinedStoragePools())])
rec("num_pools", lambda: [conn.numOfStoragePools(), conn.numOfDefinedStoragePools()])
rec("interfaces", lambda: [sorted(conn.listInterfaces()), sorted(conn.listDefinedInterfaces())])
rec("num_interfaces", lambda: [conn.numOfInterfaces(), conn.numOfDefinedInterfaces()])
rec("secrets", lambda: [sorted(conn.listSecrets()), conn.numOfSecrets()])
rec("nwfilters", lambda: [sorted(conn.listNWFilters()), conn.numOfNWFilters()])


def last_error():
    try:
        conn.lookupByName("no-such-domain")
    except libvirt.libvirtError as e:
        err = libvirt.virGetLastError()
        return [
            e.get_error_code(),
            e.get_error_level(),
            isinstance(e.get_error_message(), str),
            err is not None and err[0] == e.get_error_code(),
            isinstance(e.get_str1(), (str, type(None))),
        ]
    return None


rec("last_error", last_error)


def conn_last_error():
    """The connection's last error (code, domain) as scripts read it: kept per connection."""

    def seen(c):
        return list(c.virConnGetLastError()[:2])

    other = libvirt.openReadOnly(URI)
    got = [seen(conn), seen(other)]
    try:
        conn.lookupByName("no-such-domain")
    except libvirt.libvirtError as e:
        got.append(conn.virConnGetLastError()[0] == e.get_error_code())
    got += [seen(conn), seen(other)]  # the other connection's is untouched
    conn.listAllDomains(0)
    got.append(seen(conn))  # a success leaves it
    try:
        conn.lookupByName("test").create()  # a handle's error is its connection's
    except libvirt.libvirtError:
        pass
    got.append(seen(conn))
    libvirt.virResetLastError()
    got.append(seen(conn))  # the thread's reset leaves the connection's
    conn.virConnResetLastError()
    got += [seen(conn), conn.virConnGetLastError()]
    other.close()
    return got


rec("conn_last_error", conn_last_error)
rec("reset_error", lambda: [libvirt.virResetLastError(), libvirt.virGetLastError()])

ro = libvirt.openReadOnly(URI)
rec("ro_uri", ro.getURI)
rec(
    "ro_define",
    lambda: ro.defineXML(
        "<domain type='test'><name>ro</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    ),
)
rec("ro_list", lambda: sorted(d.name() for d in ro.listAllDomains()))
rec("ro_destroy", lambda: ro.listAllDomains(L.VIR_CONNECT_LIST_DOMAINS_ACTIVE)[0].destroy())
rec("ro_close", ro.close)


def auth_cb(creds, opaque):
    return 0


auth = libvirt.openAuth(URI, [[L.VIR_CRED_AUTHNAME, L.VIR_CRED_PASSPHRASE], auth_cb, None], 0)
rec("auth_uri", auth.getURI)
rec("auth_ro", lambda: libvirt.openAuth(URI, [[], auth_cb, None], L.VIR_CONNECT_RO).getURI())
rec("open_bad_uri", lambda: libvirt.open("test:///no/such/file.xml"))
rec("close", lambda: conn.close() >= 0)
rec("after_close", conn.getURI)
dump()
