"""A libvirt-python script over test:///default printing return values and error codes as JSON.

Run unchanged by Debian's python3-libvirt and by virt-libvirt (test_compat_shapes.py).
"""

import json

import libvirt

out = {}


def rec(key, fn):
    try:
        v = fn()
        if isinstance(v, bytes):
            v = ["bytes", v.hex()]
        out[key] = v
    except libvirt.libvirtError as e:
        out[key] = ["error", e.get_error_code()]
    except LookupError as e:
        out[key] = ["LookupError", str(e)]


libvirt.registerErrorHandler(lambda c, e: None, None)
conn = libvirt.open("test:///default")
rec("type", conn.getType)
rec("uri", conn.getURI)
rec("version", conn.getVersion)
rec("libversion", conn.getLibVersion)
rec("getVersion", libvirt.getVersion)
rec("info", conn.getInfo)
rec("alive", conn.isAlive)
rec("secure", conn.isSecure)
rec("encrypted", conn.isEncrypted)
rec("ids", conn.listDomainsID)
rec("defined", conn.listDefinedDomains)
rec("num", conn.numOfDomains)
rec("numdef", conn.numOfDefinedDomains)
rec("all", lambda: [d.name() for d in conn.listAllDomains()])
for f in (
    "ACTIVE",
    "INACTIVE",
    "PERSISTENT",
    "TRANSIENT",
    "RUNNING",
    "PAUSED",
    "SHUTOFF",
    "AUTOSTART",
    "NO_AUTOSTART",
    "HAS_SNAPSHOT",
    "NO_SNAPSHOT",
):
    rec(
        "all_" + f,
        lambda f=f: [
            d.name() for d in conn.listAllDomains(getattr(libvirt, "VIR_CONNECT_LIST_DOMAINS_" + f))
        ],
    )
rec("all_badflag", lambda: conn.listAllDomains(1 << 30))
dom = conn.lookupByName("test")
rec("name", dom.name)
rec("id", dom.ID)
rec("uuid", dom.UUIDString)
rec("uuidb", dom.UUID)
rec("dinfo", dom.info)
rec("state", dom.state)
rec("active", dom.isActive)
rec("persistent", dom.isPersistent)
rec("maxmem", dom.maxMemory)
rec("ostype", dom.OSType)
rec("maxvcpus", dom.maxVcpus)
rec("vcpus_max", lambda: dom.vcpusFlags(libvirt.VIR_DOMAIN_VCPU_MAXIMUM))
rec("vcpus_cur", lambda: dom.vcpusFlags(0))
rec("vcpus_config", lambda: dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG))
rec("autostart", dom.autostart)
rec("byuuid", lambda: conn.lookupByUUID(dom.UUID()).name())
rec("byuuidstr", lambda: conn.lookupByUUIDString(dom.UUIDString()).name())
rec("byid", lambda: conn.lookupByID(1).name())
rec("nosuch", lambda: conn.lookupByName("nosuch"))
rec("nosuchid", lambda: conn.lookupByID(99))
rec("badflags", lambda: dom.XMLDesc(1 << 30))
rec("xmlstr", lambda: type(dom.XMLDesc(0)).__name__)
rec("suspend", dom.suspend)
rec("state_p", dom.state)
rec("suspend2", dom.suspend)
rec("resume", dom.resume)
rec("state_r", dom.state)
rec("resume2", dom.resume)
rec("setmem", lambda: dom.setMemory(1024 * 1024))
rec("dinfo2", dom.info)
rec("setmemflags_bad", lambda: dom.setMemoryFlags(1024, 1 << 20))
rec("schedtype", dom.schedulerType)
rec("schedparams", dom.schedulerParameters)
rec("setsched", lambda: dom.setSchedulerParameters({"weight": 100}))
rec("schedparams2", lambda: dom.schedulerParametersFlags(0))
rec("setsched_bad", lambda: dom.setSchedulerParameters({"nosuch": 1}))
rec("memstats", lambda: sorted(dom.memoryStats()))
rec("vcpus", lambda: [[len(v) for v in dom.vcpus()[0]], [len(a) for a in dom.vcpus()[1]]])
rec("cpustats", lambda: [sorted(d) for d in dom.getCPUStats(True)])
rec("cpustats_each", lambda: [sorted(d) for d in dom.getCPUStats(False)][:1])
rec("hostname", dom.hostname)
rec("meta_none", lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None))
rec("meta_set", lambda: dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "a title", None, None))
rec("meta_get", lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None))
rec(
    "screenshot",
    lambda: (lambda st: [dom.screenshot(st, 0, 0), st.recv(8).hex(), st.finish()])(conn.newStream()),
)
rec("hasmanaged", dom.hasManagedSaveImage)
rec("cp1", lambda: dom.checkpointCreateXML("<domaincheckpoint><name>c1</name></domaincheckpoint>").getName())
rec("cp2", lambda: dom.checkpointCreateXML("<domaincheckpoint><name>c2</name></domaincheckpoint>").getName())
rec("cp_dup", lambda: dom.checkpointCreateXML("<domaincheckpoint><name>c1</name></domaincheckpoint>"))
rec("cps", lambda: sorted(c.getName() for c in dom.listAllCheckpoints()))
rec("cp_parent", lambda: dom.checkpointLookupByName("c2").getParent().getName())
rec("cp_noparent", lambda: dom.checkpointLookupByName("c1").getParent())
rec("cp_children", lambda: [c.getName() for c in dom.checkpointLookupByName("c1").listAllChildren()])
rec("cp_xml", lambda: "<domaincheckpoint>" in dom.checkpointLookupByName("c1").getXMLDesc())
rec(
    "cp_has", lambda: [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT)]
)
rec("cp_nocp", lambda: dom.checkpointLookupByName("nope"))
rec(
    "cp_delete",
    lambda: dom.checkpointLookupByName("c1").delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN),
)
rec("cps2", lambda: [c.getName() for c in dom.listAllCheckpoints()])
rec(
    "stats_state",
    lambda: [(d.name(), st) for d, st in conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE)],
)
rec(
    "stats_list",
    lambda: [(d.name(), st) for d, st in conn.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_STATE)],
)
rec(
    "stats_enforce",
    lambda: conn.getAllDomainStats(
        libvirt.VIR_DOMAIN_STATS_PERF, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS
    ),
)
rec(
    "stats_inactive",
    lambda: conn.getAllDomainStats(
        libvirt.VIR_DOMAIN_STATS_STATE, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE
    ),
)
rec("addrs", lambda: dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE))
rec("addrs_badsrc", lambda: dom.interfaceAddresses(99))
rec("blockstats", lambda: list(dom.blockStats("vda")))
rec("snap", lambda: dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>").getName())
rec("snap2", lambda: dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>").getName())
rec("snapnum", dom.snapshotNum)
rec("snapnames", dom.snapshotListNames)
rec("snaproots", lambda: dom.snapshotListNames(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS))
rec("snapleaves", lambda: dom.snapshotListNames(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES))
rec("hascur", dom.hasCurrentSnapshot)
rec("cur", lambda: dom.snapshotCurrent().getName())
rec("parent", lambda: dom.snapshotLookupByName("s2").getParent().getName())
rec("noparent", lambda: dom.snapshotLookupByName("s1").getParent())
rec("children", lambda: dom.snapshotLookupByName("s1").listChildrenNames())
rec("numchildren", lambda: dom.snapshotLookupByName("s1").numChildren())
rec("iscur", lambda: dom.snapshotLookupByName("s2").isCurrent())
rec("hasmeta", lambda: dom.snapshotLookupByName("s2").hasMetadata())
rec("allsnaps", lambda: [s.getName() for s in dom.listAllSnapshots()])
rec("snapdom", lambda: dom.snapshotLookupByName("s1").getDomain().name())
rec("nosnap", lambda: dom.snapshotLookupByName("nope"))
rec("revert", lambda: dom.revertToSnapshot(dom.snapshotLookupByName("s1")))
rec("cur2", lambda: dom.snapshotCurrent().getName())
rec("delete", lambda: dom.snapshotLookupByName("s1").delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN))
rec("snapnum2", dom.snapshotNum)
rec("undefine_running", lambda: dom.undefineFlags(1 << 20))
rec("destroy", dom.destroy)
rec("state_d", dom.state)
rec("id_d", dom.ID)
rec("active_d", dom.isActive)
rec("destroy2", dom.destroy)
rec("create", dom.create)
rec("state_c", dom.state)
rec("managedsave", dom.managedSave)
rec("managed_state", dom.state)
rec("hasmanaged2", dom.hasManagedSaveImage)
rec(
    "managed_list",
    lambda: [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)],
)
rec("managed_start", dom.create)
rec("hasmanaged3", dom.hasManagedSaveImage)
new = (
    "<domain type='test'><name>extra</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
    "<memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
)
rec("define", lambda: conn.defineXML(new).name())
rec("define_info", lambda: conn.lookupByName("extra").info())
rec("define_state", lambda: conn.lookupByName("extra").state())
rec("defined2", conn.listDefinedDomains)
rec("define_again", lambda: conn.createXML(new, 0))
rec("undefine", lambda: conn.lookupByName("extra").undefine())
rec("defined3", conn.listDefinedDomains)
rec("transient", lambda: conn.createXML(new, 0).isPersistent())
rec("pools", conn.listStoragePools)
rec("dpools", conn.listDefinedStoragePools)
rec("npools", conn.numOfStoragePools)
pool = conn.storagePoolLookupByName("default-pool")
rec("pool_name", pool.name)
rec("pool_info", pool.info)
rec("pool_active", pool.isActive)
rec("pool_persistent", pool.isPersistent)
rec("pool_autostart", pool.autostart)
rec("pool_vols", pool.listVolumes)
rec("pool_nvols", pool.numOfVolumes)
rec("pool_byuuid", lambda: conn.storagePoolLookupByUUID(pool.UUID()).name())
rec("nopool", lambda: conn.storagePoolLookupByName("nope"))
volxml = "<volume><name>v.img</name><capacity unit='M'>1</capacity></volume>"
rec("vol", lambda: pool.createXML(volxml, 0).name())
vol = pool.storageVolLookupByName("v.img")
rec("vol_info", vol.info)
rec("vol_key", vol.key)
rec("vol_path", vol.path)
rec("vol_bypath", lambda: conn.storageVolLookupByPath(vol.path()).name())
rec("vol_bykey", lambda: conn.storageVolLookupByKey(vol.key()).name())
rec("vol_pool", lambda: vol.storagePoolLookupByVolume().name())
rec("vol_again", lambda: pool.createXML(volxml, 0))
rec("novol", lambda: pool.storageVolLookupByName("nope"))
rec("vol_resize", lambda: (vol.resize(2 * 1024 * 1024), vol.info())[1])
rec("vol_delete", vol.delete)
rec("pool_vols2", pool.listVolumes)
rec("nets", conn.listNetworks)
rec("dnets", conn.listDefinedNetworks)
rec("nnets", conn.numOfNetworks)
net = conn.networkLookupByName("default")
rec("net_name", net.name)
rec("net_active", net.isActive)
rec("net_persistent", net.isPersistent)
rec("net_bridge", net.bridgeName)
rec("net_autostart", net.autostart)
rec("net_byuuid", lambda: conn.networkLookupByUUIDString(net.UUIDString()).name())
rec("nonet", lambda: conn.networkLookupByName("nope"))
rec("net_all", lambda: [n.name() for n in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)])
rec("net_destroy", net.destroy)
rec("net_active2", net.isActive)
rec("nets2", conn.listDefinedNetworks)
rec("devices", lambda: sorted(conn.listDevices(None, 0)))
rec("devices_scsi_host", lambda: sorted(conn.listDevices("scsi_host", 0)))
rec("ndevices", lambda: conn.numOfDevices(None, 0))
rec("alldevices", lambda: sorted(d.name() for d in conn.listAllDevices(0)))
rec(
    "alldevices_scsi_host",
    lambda: sorted(
        d.name() for d in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST)
    ),
)
rec("dev_caps", lambda: conn.nodeDeviceLookupByName("scsi_host1").listCaps())
rec("dev_ncaps", lambda: conn.nodeDeviceLookupByName("scsi_host1").numOfCaps())
rec("dev_parent", lambda: conn.nodeDeviceLookupByName("scsi_host1").parent())
rec("dev_root_parent", lambda: conn.nodeDeviceLookupByName("computer").parent())
rec("nodev", lambda: conn.nodeDeviceLookupByName("nope"))
rec("ifaces", conn.listInterfaces)
rec("difaces", conn.listDefinedInterfaces)
rec("nifaces", conn.numOfInterfaces)
rec("alliface", lambda: [i.name() for i in conn.listAllInterfaces(0)])
rec("iface_mac", lambda: conn.interfaceLookupByName("eth1").MACString())
rec("iface_active", lambda: conn.interfaceLookupByName("eth1").isActive())
rec("iface_bymac", lambda: conn.interfaceLookupByMACString("aa:bb:cc:dd:ee:ff").name())
rec("noiface", lambda: conn.interfaceLookupByName("nope"))
rec("lasterr", lambda: (libvirt.virGetLastError() or [None])[0])
rec("close", conn.close)
ro = libvirt.openReadOnly("test:///default")
rec("ro_destroy", lambda: ro.lookupByName("test").destroy())
rec("ro_info", lambda: ro.lookupByName("test").info())
rec(
    "openauth_ro",
    lambda: (
        libvirt.openAuth(
            "test:///default", [[libvirt.VIR_CRED_AUTHNAME], lambda c, o: 0, None], libvirt.VIR_CONNECT_RO
        )
        .lookupByName("test")
        .suspend()
    ),
)
print(json.dumps(out, default=lambda o: ["object", type(o).__name__]))
