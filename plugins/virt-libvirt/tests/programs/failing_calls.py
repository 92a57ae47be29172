"""Failing calls on every object type, each recorded as libvirt reports the error.

Run unchanged under Debian's python3-libvirt (libvirt 9.0's own test driver) and
under virt-libvirt (virt-test); ``test_error_parity.py`` compares the two. Each key
is ``["error", code, domain, message]``, or ``["ok"]`` when the call did not fail.
Usage: ``python failing_calls.py URI``.
"""

import sys

import libvirt
from recording import dump
from recording import rec_failure as rec

UUID0 = "00000000-0000-0000-0000-0000000000ee"
DOM = """<domain type='test'>
  <name>%s</name>
  <memory unit='KiB'>262144</memory>
  <os><type arch='i686'>hvm</type></os>
</domain>"""
NET = "<network><name>%s</name><bridge name='virbrep%d'/></network>"
POOL = "<pool type='dir'><name>%s</name><target><path>/ep-pool-%s</path></target></pool>"
VOL = "<volume><name>%s</name><capacity>1048576</capacity></volume>"
SNAP = "<domainsnapshot><name>%s</name></domainsnapshot>"
CHECKPOINT = "<domaincheckpoint><name>%s</name></domaincheckpoint>"
SECRET = (
    "<secret ephemeral='no' private='no'><uuid>%s</uuid>"
    "<usage type='volume'><volume>%s</volume></usage></secret>"
)


conn = libvirt.open(sys.argv[1])
libvirt.registerErrorHandler(lambda ctx, err: None, None)

# -- domains: lookups, XML, define ----------------------------------------------------------
rec("dom_lookup_name", lambda: conn.lookupByName("ep-nosuch"))
rec("dom_lookup_uuid", lambda: conn.lookupByUUIDString(UUID0))
rec("dom_lookup_id", lambda: conn.lookupByID(4242))
rec("dom_define_bad_xml", lambda: conn.defineXML("<domain"))
rec("dom_define_wrong_root", lambda: conn.defineXML("<network><name>x</name></network>"))
rec("dom_define_no_name", lambda: conn.defineXML("<domain type='test'><memory>1024</memory></domain>"))
rec("dom_create_bad_xml", lambda: conn.createXML("<domain", 0))
rec("dom_define_bad_flags", lambda: conn.defineXMLFlags(DOM % "ep-flags", 1 << 20))

# "test" runs on the default node; "ep-off" is defined and shut off.
run = conn.lookupByName("test")
off = conn.defineXML(DOM % "ep-off")
rec(
    "dom_define_dup_uuid",
    lambda: conn.defineXML(
        DOM.replace("<name>%s</name>", "<name>ep-other</name><uuid>" + run.UUIDString() + "</uuid>")
    ),
)
rec("dom_create_running_name", lambda: conn.createXML(DOM % "test", 0))

# -- domains: every state change in a wrong state -------------------------------------------
rec("off_suspend", lambda: off.suspend())
rec("off_resume", lambda: off.resume())
rec("off_shutdown", lambda: off.shutdown())
rec("off_reboot", lambda: off.reboot(0))
rec("off_destroy", lambda: off.destroy())
rec("off_managed_save", lambda: off.managedSave(0))
rec("off_save", lambda: off.save("/nonexistent-ep/save.img"))
rec("off_set_memory", lambda: off.setMemoryFlags(1024, libvirt.VIR_DOMAIN_AFFECT_LIVE))
rec("off_set_vcpus_live", lambda: off.setVcpusFlags(1, libvirt.VIR_DOMAIN_AFFECT_LIVE))
rec("off_get_vcpus", lambda: off.vcpus())
rec("off_block_stats", lambda: off.blockStats("vda"))
rec("off_interface_stats", lambda: off.interfaceStats("vnet0"))
rec("off_memory_stats", lambda: off.memoryStats())
rec("off_create_bad_flags", lambda: off.createWithFlags(1 << 20))
rec("off_get_cpu_stats", lambda: off.getCPUStats(True))
rec("off_interface_addresses", lambda: off.interfaceAddresses(0, 0))
rec("off_hostname", lambda: off.hostname(0))
rec("run_create", lambda: run.create())
rec("run_resume", lambda: run.resume())
rec("run_undefine_snapshots_bad_flags", lambda: run.undefineFlags(1 << 20))
rec("run_shutdown_bad_flags", lambda: run.shutdownFlags(1 << 20))
rec("run_destroy_bad_flags", lambda: run.destroyFlags(1 << 20))
rec("run_reset_bad_flags", lambda: run.reset(1))
rec("run_inject_nmi_bad_flags", lambda: run.injectNMI(1))
rec("run_control_info_bad_flags", lambda: run.controlInfo(1))
rec("run_memory_parameters_bad_flags", lambda: run.memoryParameters(1 << 20))
rec("run_set_memory_parameters_bad_flags", lambda: run.setMemoryParameters({"hard_limit": 1 << 20}, 1 << 20))
rec("run_memory_stats_period_bad_flags", lambda: run.setMemoryStatsPeriod(1, 1 << 20))
rec("baseline_cpu_bad_flags", lambda: conn.baselineCPU(["<cpu/>"], 1 << 20))
rec("save_image_xml_bad_flags", lambda: conn.saveImageGetXMLDesc("/nonexistent", 1 << 20))
# Flags refused in the connection's driver, named as its function (testConnectListAllDomains...).
# libvirt's test driver takes no save/restore flag; RUNNING with PAUSED its API refuses first.
SAVE_BOTH = libvirt.VIR_DOMAIN_SAVE_RUNNING | libvirt.VIR_DOMAIN_SAVE_PAUSED
rec(
    "run_save_flags_paused",
    lambda: run.saveFlags("/nonexistent-ep/s.img", None, libvirt.VIR_DOMAIN_SAVE_PAUSED),
)
rec(
    "run_save_flags_bypass",
    lambda: run.saveFlags("/nonexistent-ep/s.img", None, libvirt.VIR_DOMAIN_SAVE_BYPASS_CACHE),
)
rec("run_save_flags_both", lambda: run.saveFlags("/nonexistent-ep/s.img", None, SAVE_BOTH))
rec(
    "restore_flags_running",
    lambda: conn.restoreFlags("/nonexistent-ep/s.img", None, libvirt.VIR_DOMAIN_SAVE_RUNNING),
)
rec("restore_flags_both", lambda: conn.restoreFlags("/nonexistent-ep/s.img", None, SAVE_BOTH))
rec("list_all_domains_bad_flags", lambda: conn.listAllDomains(1 << 30))
rec("list_all_pools_bad_flags", lambda: conn.listAllStoragePools(1 << 30))
rec("all_domain_stats_bad_flags", lambda: conn.getAllDomainStats(0, 1 << 25))
rec("domain_list_stats_bad_flags", lambda: conn.domainListGetStats([run], 0, 1 << 25))
rec("list_all_snapshots_bad_flags", lambda: run.listAllSnapshots(1 << 20))
NO_AUTH = [[], None, None]
rec("open_auth_no_aliases", lambda: libvirt.openAuth(sys.argv[1], NO_AUTH, libvirt.VIR_CONNECT_NO_ALIASES))
rec("open_auth_bad_flags", lambda: libvirt.openAuth(sys.argv[1], NO_AUTH, 1 << 20))
rec("run_set_memory_too_much", lambda: run.setMemory(1 << 40))
rec("run_set_vcpus_zero", lambda: run.setVcpus(0))
rec("run_set_vcpus_flags_zero", lambda: run.setVcpusFlags(0, 0))
rec("run_set_memory_zero", lambda: run.setMemory(0))
rec("run_set_memory_flags_zero", lambda: run.setMemoryFlags(0, libvirt.VIR_DOMAIN_MEM_MAXIMUM))
rec("run_set_max_memory_zero", lambda: run.setMaxMemory(0))
rec("run_set_vcpus_too_many", lambda: run.setVcpus(4096))
rec("run_set_max_memory_live", lambda: run.setMaxMemory(1024))
rec("run_restore_missing", lambda: conn.restore("/nonexistent-ep/save.img"))
rec("run_block_stats_unknown", lambda: run.blockStats("vdz"))
rec("run_interface_stats_unknown", lambda: run.interfaceStats("ep-nonic"))
rec(
    "run_metadata_missing", lambda: run.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://ep.example/", 0)
)
rec("run_metadata_bad_type", lambda: run.metadata(42, None, 0))
run.suspend()
rec("paused_suspend", lambda: run.suspend())
rec("paused_create", lambda: run.create())
run.resume()
tr = conn.createXML(DOM % "ep-transient", 0)
rec("transient_undefine", lambda: tr.undefine())
rec("transient_managed_save", lambda: tr.managedSave(0))
rec("transient_autostart", lambda: tr.setAutostart(1))
tr.destroy()
rec("gone_get_info", lambda: tr.info())
rec("gone_destroy", lambda: tr.destroy())

# -- snapshots and checkpoints ---------------------------------------------------------------
rec("snap_lookup", lambda: off.snapshotLookupByName("ep-nosuch", 0))
rec("snap_current_none", lambda: off.snapshotCurrent(0))
rec("snap_create_bad_xml", lambda: off.snapshotCreateXML("<domainsnapshot", 0))
rec("snap_create_bad_flags", lambda: off.snapshotCreateXML(SNAP % "s", 1 << 20))
snap = off.snapshotCreateXML(SNAP % "ep-s1", 0)
rec("snap_create_dup", lambda: off.snapshotCreateXML(SNAP % "ep-s1", 0))
rec("snap_undefine_with_snapshots", lambda: off.undefine())
rec("snap_parent_none", lambda: snap.getParent(0))
rec("snap_revert_bad_flags", lambda: off.revertToSnapshot(snap, 1 << 20))
rec("snap_delete_bad_flags", lambda: snap.delete(1 << 20))
rec("ckpt_lookup", lambda: run.checkpointLookupByName("ep-nosuch", 0))
rec("ckpt_create_bad_xml", lambda: run.checkpointCreateXML("<domaincheckpoint", 0))
ck = run.checkpointCreateXML(CHECKPOINT % "ep-c1", 0)
rec("ckpt_create_dup", lambda: run.checkpointCreateXML(CHECKPOINT % "ep-c1", 0))
rec("ckpt_parent_none", lambda: ck.getParent(0))
rec("ckpt_delete_bad_flags", lambda: ck.delete(1 << 20))

# -- networks ------------------------------------------------------------------------------
rec("net_lookup_name", lambda: conn.networkLookupByName("ep-nosuch"))
rec("net_lookup_uuid", lambda: conn.networkLookupByUUIDString(UUID0))
rec("net_define_bad_xml", lambda: conn.networkDefineXML("<network"))
rec("net_define_no_name", lambda: conn.networkDefineXML("<network/>"))
rec("net_define_dup", lambda: conn.networkDefineXML(NET % ("default", 9)))
rec("net_create_running", lambda: conn.networkLookupByName("default").create())
netoff = conn.networkDefineXML(NET % ("ep-net", 7))
rec("net_destroy_inactive", lambda: netoff.destroy())
rec("net_leases_bad_flags", lambda: netoff.DHCPLeases(None, 1 << 20))
rec("net_port_lookup", lambda: conn.networkLookupByName("default").portLookupByUUIDString(UUID0))

# -- pools and volumes ----------------------------------------------------------------------
rec("pool_lookup_name", lambda: conn.storagePoolLookupByName("ep-nosuch"))
rec("pool_lookup_uuid", lambda: conn.storagePoolLookupByUUIDString(UUID0))
rec("pool_define_bad_xml", lambda: conn.storagePoolDefineXML("<pool", 0))
rec("pool_define_dup", lambda: conn.storagePoolDefineXML(POOL % ("default-pool", "dup"), 0))
pool = conn.storagePoolLookupByName("default-pool")
rec("pool_create_running", lambda: pool.create(0))
rec("pool_undefine_running", lambda: pool.undefine())
rec("pool_delete_running", lambda: pool.delete(0))
pooloff = conn.storagePoolDefineXML(POOL % ("ep-pool", "off"), 0)
rec("pool_destroy_inactive", lambda: pooloff.destroy())
rec("pool_refresh_inactive", lambda: pooloff.refresh(0))
rec("pool_vol_create_inactive", lambda: pooloff.createXML(VOL % "v", 0))
rec("pool_list_vols_inactive", lambda: pooloff.listAllVolumes(0))
rec("vol_lookup_name", lambda: pool.storageVolLookupByName("ep-nosuch"))
rec("vol_lookup_key", lambda: conn.storageVolLookupByKey("/ep-nosuch"))
rec("vol_lookup_path", lambda: conn.storageVolLookupByPath("/ep-nosuch"))
rec("vol_create_bad_xml", lambda: pool.createXML("<volume", 0))
vol = pool.createXML(VOL % "ep-vol", 0)
rec("vol_create_dup", lambda: pool.createXML(VOL % "ep-vol", 0))
rec("vol_resize_shrink", lambda: vol.resize(1, 0))

# -- node devices, interfaces, secrets --------------------------------------------------
rec("nodedev_lookup", lambda: conn.nodeDeviceLookupByName("ep-nosuch"))
rec("nodedev_create_bad_xml", lambda: conn.nodeDeviceCreateXML("<device", 0))
rec("iface_lookup_name", lambda: conn.interfaceLookupByName("ep-nosuch"))
rec("iface_lookup_mac", lambda: conn.interfaceLookupByMACString("00:00:00:00:00:ee"))
rec("iface_define_bad_xml", lambda: conn.interfaceDefineXML("<interface", 0))
rec("iface_create_running", lambda: conn.interfaceLookupByName("eth1").create(0))
rec("secret_lookup_uuid", lambda: conn.secretLookupByUUIDString(UUID0))
rec(
    "secret_lookup_usage",
    lambda: conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_VOLUME, "/ep-nosuch"),
)
rec("secret_define_bad_xml", lambda: conn.secretDefineXML("<secret", 0))
rec("secret_define", lambda: conn.secretDefineXML(SECRET % (UUID0, "/ep-vol"), 0))

dump()
