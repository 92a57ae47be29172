"""A libvirt-python script driving one guest: define, start, pause, save and restore (flags too), destroy.

Written against libvirt-python's API alone (it runs as well on libvirt itself);
test_compat_qemu.py runs it unchanged through virt-libvirt on qemu:///embed.
Arguments: URI, domain XML file, save image path, serial console log; prints JSON.
"""

import json
import sys
import time

import libvirt

MARKER = "VIRTCORE-GUEST-READY"


def console(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait(what, predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def ticks(path):
    return [int(line.split()[1]) for line in console(path).splitlines() if line.startswith("vc-tick ")]


uri, xml_file, image, log = sys.argv[1:5]
out = {}
conn = libvirt.open(uri)
out["type"] = conn.getType()
with open(xml_file) as f:
    dom = conn.defineXML(f.read())
out["defined"] = [dom.name(), dom.isActive(), dom.isPersistent(), dom.state()[0]]
dom.create()
out["started"] = [dom.isActive(), dom.state()[0], dom.ID() > 0]
wait("the guest to boot", lambda: MARKER in console(log))
wait("two ticks", lambda: len(ticks(log)) >= 2)
state, maxmem, mem, vcpus, cputime = dom.info()
out["info"] = [state, maxmem, vcpus, cputime > 0]
dom.suspend()
out["paused"] = dom.state()[0]
dom.resume()
out["resumed"] = dom.state()[0]
out["save"] = dom.save(image)
tick_at_save = ticks(log)[-1]
out["saved"] = [dom.state()[0], dom.isActive(), conn.listDefinedDomains()]
out["restore"] = conn.restore(image)
dom = conn.lookupByName(dom.name())
out["restored"] = [dom.state()[0], dom.isActive()]
wait("ticks after restore", lambda: ticks(log)[-1] > tick_at_save + 1)
out["same boot"] = console(log).count(MARKER) == 1
# VIR_DOMAIN_SAVE_PAUSED recorded by saveFlags, VIR_DOMAIN_SAVE_RUNNING chosen by restoreFlags
out["save paused"] = dom.saveFlags(image, None, libvirt.VIR_DOMAIN_SAVE_PAUSED)
out["restore as saved"] = conn.restoreFlags(image, None, 0)
dom = conn.lookupByName(dom.name())
out["restored paused"] = dom.state()[0]
dom.destroy()
out["restore running"] = conn.restoreFlags(image, None, libvirt.VIR_DOMAIN_SAVE_RUNNING)
dom = conn.lookupByName(dom.name())
out["restored running"] = dom.state()[0]
try:
    dom.saveFlags(image, None, libvirt.VIR_DOMAIN_SAVE_RUNNING | libvirt.VIR_DOMAIN_SAVE_PAUSED)
except libvirt.libvirtError as e:
    out["save both"] = [e.get_error_code(), e.get_error_domain(), dom.state()[0]]
out["destroy"] = dom.destroy()
out["destroyed"] = [dom.state()[0], dom.ID(), conn.listDomainsID()]
try:
    dom.suspend()
except libvirt.libvirtError as e:
    out["suspend inactive"] = e.get_error_code()
out["undefine"] = dom.undefine()
try:
    conn.lookupByName(dom.name())
except libvirt.libvirtError as e:
    out["gone"] = e.get_error_code()
conn.close()
print(json.dumps(out))
