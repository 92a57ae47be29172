"""Domain tunables (block I/O, disk throttling, NUMA, I/O threads, interface rate limits, vCPU and
emulator pinning): one script under Debian's python3-libvirt and under virt-libvirt, over
libvirt 9.0's test driver on both sides (its bulk statistics' iothread group too).

The script reads and changes each tunable through the live, config and current
definitions of a running persistent domain, a shut-off one and a transient one, with
the values and mistakes programs make; it records every answer (or the error's code,
domain and message) and the tunables' elements of the live and persistent XML.
"""

from __future__ import annotations

import pytest
from libvirt_testdata import require

SCRIPT = r"""
import json, sys, xml.etree.ElementTree as ET
import libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
out = {}
def rec(key, fn):
    try:
        out[key] = fn()
    except libvirt.libvirtError as e:
        out[key] = ["error", e.get_error_code(), e.get_error_domain(), e.get_error_message()]
    except (LookupError, TypeError) as e:
        out[key] = ["python", type(e).__name__]

L = libvirt
LIVE, CONFIG = L.VIR_DOMAIN_AFFECT_LIVE, L.VIR_DOMAIN_AFFECT_CONFIG
conn = libvirt.open(sys.argv[1])

def tunables(dom, flags):
    root = ET.fromstring(dom.XMLDesc(flags))
    found = {}
    for path in ("blkiotune", "numatune", "cputune", "devices/disk/iotune", "devices/interface/bandwidth"):
        el = root.find(path)
        if el is not None:
            found[path] = sorted(
                (e.tag, sorted(e.attrib.items()), (e.text or "").strip()) for e in el.iter()
            )
    vcpu = root.find("vcpu")
    found["vcpu"] = [vcpu.text, vcpu.get("current")]
    return found

def stats(dom):
    found = dict((d.name(), st) for d, st in conn.getAllDomainStats(L.VIR_DOMAIN_STATS_IOTHREAD, 0))
    return sorted(found[dom.name()].items())

def exercise(name, dom):
    n = name + "."
    for fname, flags in (("cur", 0), ("live", LIVE), ("config", CONFIG), ("both", LIVE | CONFIG)):
        rec(n + "blkio." + fname, lambda: dom.blkioParameters(flags))
        rec(n + "numa." + fname, lambda: dom.numaParameters(flags))
        rec(n + "vcpupin." + fname, lambda: dom.vcpuPinInfo(flags))
        rec(n + "emupin." + fname, lambda: dom.emulatorPinInfo(flags))
    rec(n + "blkio.badflags", lambda: dom.blkioParameters(1 << 10))
    rec(n + "numa.badflags", lambda: dom.numaParameters(1 << 10))
    rec(n + "emupin.badflags", lambda: dom.emulatorPinInfo(1 << 10))
    rec(n + "vcpupin.otherflags", lambda: dom.vcpuPinInfo(1 << 10))
    for key, params, flags in (
        ("weight", {"weight": 500}, 0),
        ("weight_config", {"weight": 300}, CONFIG),
        ("weight_live", {"weight": 200}, LIVE),
        ("devices", {"device_weight": "/dev/sda,100,/dev/sdb,0", "device_read_bytes_sec": "/dev/sda,9"}, 0),
        ("merge", {"device_weight": "/dev/sdc,7,/dev/sda,0", "device_write_iops_sec": "/dev/sdb,9"}, 0),
        ("empty", {"device_read_iops_sec": ""}, 0),
        ("odd", {"device_weight": "/dev/sda,100,/dev/sdb"}, 0),
        ("letters", {"device_weight": "/dev/sda,x"}, 0),
        ("trailing", {"device_weight": "/dev/sda,10x"}, 0),
        ("negative", {"device_weight": "/dev/sda,-1"}, 0),
        ("huge", {"device_weight": "/dev/sda,4294967296"}, 0),
        ("unknown", {"nope": 1}, 0),
        ("both", {"weight": 5}, LIVE | CONFIG),
        ("badflags", {"weight": 5}, 1 << 10),
    ):
        rec(n + "setblkio." + key, lambda: dom.setBlkioParameters(params, flags))
    rec(n + "blkio.after_cur", lambda: dom.blkioParameters(0))
    rec(n + "blkio.after_config", lambda: dom.blkioParameters(CONFIG))
    for key, params, flags in (
        ("mode_config_alone", {"numa_mode": 2}, CONFIG),
        ("both", {"numa_mode": 1, "numa_nodeset": "0"}, 0),
        ("nodeset_config", {"numa_nodeset": "0-1"}, CONFIG),
        ("mode_live", {"numa_mode": 2}, LIVE),
        ("mode_same_live", {"numa_mode": 1}, 0),
        ("mode_bad", {"numa_mode": 9}, 0),
        ("mode_negative", {"numa_mode": -1}, 0),
        ("nodeset_bad", {"numa_nodeset": "x"}, 0),
        ("nodeset_cleared", {"numa_nodeset": "0-1,^0-1"}, 0),
        ("nodeset_listed", {"numa_nodeset": "3,1,2,5"}, CONFIG),
        ("unknown", {"nope": 1}, 0),
        ("badflags", {"numa_mode": 0}, 1 << 10),
    ):
        rec(n + "setnuma." + key, lambda: dom.setNumaParameters(params, flags))
    rec(n + "numa.after_cur", lambda: dom.numaParameters(0))
    rec(n + "numa.after_config", lambda: dom.numaParameters(CONFIG))
    for key, vcpu, cpumap, flags in (
        ("one", 0, (False, True), 0),
        ("long", 1, (False,) * 20 + (True,), 0),
        ("empty", 1, (), 0),
        ("absent", 5, (True,), 0),
        ("flags", 0, (True,), CONFIG),
        ("again", 0, (True, False, True), 0),
    ):
        rec(n + "pinvcpu." + key, lambda: dom.pinVcpuFlags(vcpu, cpumap, flags))
    rec(n + "pinvcpu.plain", lambda: dom.pinVcpu(0, (False, False, False, True)))
    for key, cpumap, flags in (
        ("one", (False, False, True), 0),
        ("empty", (False, False), 0),
        ("config", (True,), CONFIG),
        ("live", (False, True), LIVE),
        ("both", (True,), LIVE | CONFIG),
        ("badflags", (True,), 1 << 10),
    ):
        rec(n + "pinemu." + key, lambda: dom.pinEmulator(cpumap, flags))
    for fname, flags in (("cur", 0), ("config", CONFIG)):
        rec(n + "vcpupin.after_" + fname, lambda: dom.vcpuPinInfo(flags))
        rec(n + "emupin.after_" + fname, lambda: dom.emulatorPinInfo(flags))
    disk = ET.fromstring(dom.XMLDesc(0)).find("devices/disk/target").get("dev")
    for key, params, flags in (
        ("total", {"total_bytes_sec": 5}, 0),
        ("total_max", {"total_bytes_sec": 5, "total_bytes_sec_max": 10}, 0),
        ("read_too", {"read_bytes_sec": 5}, 0),
        ("iops", {"read_iops_sec": 3, "read_iops_sec_max": 4, "group_name": "g1"}, CONFIG),
        ("iops_total", {"total_iops_sec_max": 4}, CONFIG),
        ("huge", {"size_iops_sec": 2 * 10**15}, 0),
        ("lengths", {"read_iops_sec_max_length": 7, "size_iops_sec": 512}, LIVE),
        ("unknown", {"nope": 1}, 0),
        ("both", {"size_iops_sec": 1}, LIVE | CONFIG),
        ("badflags", {"size_iops_sec": 1}, 1 << 10),
    ):
        rec(n + "setiotune." + key, lambda: dom.setBlockIoTune(disk, params, flags))
    for fname, flags in (("cur", 0), ("live", LIVE), ("config", CONFIG), ("badflags", 1 << 10)):
        rec(n + "iotune." + fname, lambda: dom.blockIoTune(disk, flags))
    source = ET.fromstring(dom.XMLDesc(0)).find("devices/disk/source").get("file")
    rec(n + "iotune.by_path", lambda: dom.blockIoTune(source, 0))
    rec(n + "iotune.nodisk", lambda: dom.blockIoTune("vdz", 0))
    rec(n + "setiotune.nodisk", lambda: dom.setBlockIoTune("vdz", {"size_iops_sec": 1}, 0))
    for fname, flags in (("cur", 0), ("live", LIVE), ("config", CONFIG), ("badflags", 1 << 10)):
        rec(n + "iothreads." + fname, lambda: dom.ioThreadInfo(flags))
    for key, fn in (
        ("add", lambda: dom.addIOThread(5, 0)),
        ("add_again", lambda: dom.addIOThread(5, 0)),
        ("add_zero", lambda: dom.addIOThread(0, 0)),
        ("add_config", lambda: dom.addIOThread(6, CONFIG)),
        ("add_live", lambda: dom.addIOThread(7, LIVE)),
        ("add_badflags", lambda: dom.addIOThread(8, 1 << 10)),
        ("pin", lambda: dom.pinIOThread(5, (False, True), 0)),
        ("pin_empty", lambda: dom.pinIOThread(5, (False,), 0)),
        ("pin_absent", lambda: dom.pinIOThread(9, (True,), 0)),
        ("pin_config", lambda: dom.pinIOThread(6, (True, False, True), CONFIG)),
        ("params", lambda: dom.setIOThreadParams(5, {"poll_max_ns": 10, "poll_grow": 2}, 0)),
        ("params_absent", lambda: dom.setIOThreadParams(9, {"poll_max_ns": 10}, 0)),
        ("params_config", lambda: dom.setIOThreadParams(5, {"poll_max_ns": 10}, CONFIG)),
        ("params_unknown", lambda: dom.setIOThreadParams(5, {"nope": 10}, 0)),
        ("params_zero", lambda: dom.setIOThreadParams(0, {"poll_max_ns": 10}, 0)),
        ("info", lambda: dom.ioThreadInfo(0)),
        ("info_config", lambda: dom.ioThreadInfo(CONFIG)),
        ("stats", lambda: stats(dom)),
        ("del", lambda: dom.delIOThread(5, 0)),
        ("del_again", lambda: dom.delIOThread(5, 0)),
        ("del_zero", lambda: dom.delIOThread(0, 0)),
        ("del_config", lambda: dom.delIOThread(6, CONFIG)),
        ("info_after", lambda: dom.ioThreadInfo(0)),
        ("stats_after", lambda: stats(dom)),
    ):
        rec(n + "iothread." + key, fn)
    nic = ET.fromstring(dom.XMLDesc(0)).find("devices/interface/mac")
    mac = nic.get("address") if nic is not None else "52:54:00:aa:00:01"
    for key, params, flags in (
        ("in", {"inbound.average": 100, "inbound.peak": 200}, 0),
        ("out_peak_alone", {"outbound.peak": 5}, 0),
        ("out_config", {"outbound.average": 7, "outbound.burst": 9}, CONFIG),
        ("in_peak_alone", {"inbound.peak": 300}, 0),
        ("in_cleared", {"inbound.average": 0}, 0),
        ("floor", {"inbound.floor": 4}, LIVE),
        ("unknown", {"nope": 1}, 0),
        ("both", {"inbound.average": 1}, LIVE | CONFIG),
        ("badflags", {"inbound.average": 1}, 1 << 10),
    ):
        rec(n + "setiftune." + key, lambda: dom.setInterfaceParameters(mac, params, flags))
    for fname, flags in (("cur", 0), ("live", LIVE), ("config", CONFIG), ("badflags", 1 << 10)):
        rec(n + "iftune." + fname, lambda: dom.interfaceParameters(mac, flags))
    rec(n + "iftune.upper", lambda: dom.interfaceParameters(mac.upper(), 0))
    rec(n + "iftune.unknown", lambda: dom.interfaceParameters("vnet99", 0))
    rec(n + "vcpus", lambda: dom.vcpus()[1] if dom.isActive() else "inactive")
    rec(n + "setvcpus", lambda: dom.setVcpusFlags(1, 0))
    rec(n + "vcpupin.fewer", lambda: dom.vcpuPinInfo(0))
    rec(n + "pinvcpu.offline", lambda: dom.pinVcpu(1, (True,)))
    rec(n + "xml.cur", lambda: tunables(dom, 0))
    rec(n + "xml.inactive", lambda: tunables(dom, L.VIR_DOMAIN_XML_INACTIVE))

GUEST = '''<domain type='test'><name>NAME</name><memory>131072</memory><vcpu>2</vcpu>
<os><type>hvm</type></os><devices><disk type='file' device='disk'><source file='/guest.img'/>
<target dev='vda' bus='virtio'/></disk><interface type='network'><mac address='52:54:00:aa:00:01'/>
<source network='default'/></interface></devices></domain>'''
running = min(conn.listAllDomains(L.VIR_CONNECT_LIST_DOMAINS_ACTIVE), key=lambda d: d.name())
exercise("running", running)
off = conn.defineXML(GUEST.replace("NAME", "tun-off"))
exercise("off", off)
transient = conn.createXML(GUEST.replace("NAME", "tun-transient"), 0)
exercise("transient", transient)
ro = libvirt.openReadOnly(sys.argv[1])
rod = ro.lookupByName(running.name())
rec("ro.blkio", lambda: rod.blkioParameters(0))
rec("ro.iothreads", lambda: rod.ioThreadInfo(0))
rec("stats.iothread", lambda: sorted(
    (d.name(), sorted(st.items())) for d, st in conn.getAllDomainStats(L.VIR_DOMAIN_STATS_IOTHREAD, 0)
))
rec("stats.all_groups", lambda: sorted(
    (d.name(), sorted(k for k in st if k.startswith(("state.", "iothread."))))
    for d, st in conn.getAllDomainStats(0, 0)
))
# a read-only connection's refusal: code, domain and words naming libvirt's function
for key, fn in (
    ("setblkio", lambda: rod.setBlkioParameters({"weight": 1}, 0)),
    ("setnuma", lambda: rod.setNumaParameters({"numa_mode": 0}, 0)),
    ("pinvcpu", lambda: rod.pinVcpu(0, (True,))),
    ("pinemu", lambda: rod.pinEmulator((True,), 0)),
    ("setiotune", lambda: rod.setBlockIoTune("vda", {"size_iops_sec": 1}, 0)),
    ("addiothread", lambda: rod.addIOThread(11, 0)),
    ("setiftune", lambda: rod.setInterfaceParameters("aa:bb:cc:dd:ee:ff", {"inbound.average": 1}, 0)),
):
    rec("ro." + key, fn)
print(json.dumps(out))
"""


def _uris() -> dict[str, str]:
    return {"default": "test:///default", "testnode": f"test://{require('testdriver') / 'testnode.xml'}"}


@pytest.mark.parametrize("node", ["default", "testnode"])
def test_tunables_answer_as_libvirts_test_driver(side_by_side, node: str) -> None:
    theirs, ours = side_by_side.run(SCRIPT, _uris()[node])
    differ = {
        k: (theirs.get(k), ours.get(k)) for k in theirs.keys() | ours.keys() if theirs.get(k) != ours.get(k)
    }
    assert differ == {}
