"""A read-only connection's refusals, side by side with Debian's python3-libvirt.

libvirt refuses a change on a read-only connection in its API layer, before any driver:
``VIR_ERR_OPERATION_DENIED``, in the error domain of the C function called, with words
naming that function ("read only access prevents virDomainSetMemory"). Programs print
those words and test the domain; virt-libvirt must give the same, not virtcore's own name
for the operation.
"""

from __future__ import annotations

SCRIPT = r"""
import json, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
ro = libvirt.openReadOnly("test:///default")
dom = ro.lookupByName("test")
net = ro.networkLookupByName("default")
pool = ro.storagePoolLookupByName("default-pool")
out = {}

def rec(key, fn):
    try:
        fn()
        out[key] = "ok"
    except libvirt.libvirtError as e:
        out[key] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]

XML = "<domain type='test'><name>ro-new</name><memory>1024</memory><os><type>hvm</type></os></domain>"
rec("createXML", lambda: ro.createXML(XML, 0))
rec("defineXML", lambda: ro.defineXML(XML))
rec("suspend", dom.suspend)
rec("resume", dom.resume)
rec("destroy", dom.destroy)
rec("shutdown", dom.shutdown)
rec("reboot", lambda: dom.reboot(0))
rec("reset", lambda: dom.reset(0))
rec("undefine", dom.undefine)
rec("setAutostart", lambda: dom.setAutostart(1))
rec("setMemory", lambda: dom.setMemory(1024))
rec("setMemoryFlags", lambda: dom.setMemoryFlags(1024, 0))
rec("setMaxMemory", lambda: dom.setMaxMemory(1024))
rec("setVcpus", lambda: dom.setVcpus(1))
rec("setVcpusFlags", lambda: dom.setVcpusFlags(1, 0))
rec("pinVcpu", lambda: dom.pinVcpu(0, (True,)))
rec("setSchedulerParameters", lambda: dom.setSchedulerParameters({"weight": 10}))
rec("setMemoryParameters", lambda: dom.setMemoryParameters({"hard_limit": 100000}, 0))
rec("setBlkioParameters", lambda: dom.setBlkioParameters({"weight": 500}, 0))
rec("setMetadata", lambda: dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "t", None, None, 0))
rec("attachDevice", lambda: dom.attachDevice("<disk type='file' device='disk'><target dev='vdz'/></disk>"))
rec("snapshotCreateXML", lambda: dom.snapshotCreateXML("<domainsnapshot/>", 0))
rec("managedSave", lambda: dom.managedSave(0))
rec("save", lambda: dom.save("/nonexistent/ro.save"))
rec("net.destroy", net.destroy)
rec("net.undefine", net.undefine)
rec("net.setAutostart", lambda: net.setAutostart(0))
rec("net.create", net.create)
rec("networkDefineXML", lambda: ro.networkDefineXML("<network><name>ro-net</name></network>"))
rec("pool.destroy", pool.destroy)
rec("pool.refresh", lambda: pool.refresh(0))
rec("pool.setAutostart", lambda: pool.setAutostart(0))
rec("storagePoolDefineXML", lambda: ro.storagePoolDefineXML(
    "<pool type='dir'><name>ro-pool</name><target><path>/ro-pool</path></target></pool>", 0))
rec("createXML.vol", lambda: pool.createXML(
    "<volume><name>ro.img</name><capacity>1024</capacity></volume>", 0))
rec("info", lambda: dom.info() and None)  # reading is allowed
print(json.dumps(out))
"""


def test_read_only_refusals_name_libvirts_function_in_its_domain(side_by_side) -> None:
    theirs, ours = side_by_side.run(SCRIPT)
    assert theirs["suspend"][2] == "operation forbidden: read only access prevents virDomainSuspend"
    assert theirs["info"] == "ok"
    differ = {k: (theirs[k], ours.get(k)) for k in theirs if theirs[k] != ours.get(k)}
    assert differ == {}
