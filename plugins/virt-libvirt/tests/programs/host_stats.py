"""A nova-host / prometheus-exporter-like program: node facts, CPU models, devices, domain stats.

Prints what it saw as JSON. Usage: ``python host_stats.py URI``.
"""

import sys
import xml.etree.ElementTree as ET

import libvirt
from recording import dump, rec, shape

libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
L = libvirt
closed = []
rec("close_cb", lambda: conn.registerCloseCallback(lambda c, reason, opaque: closed.append(reason), None))
rec("keepalive", lambda: conn.setKeepAlive(5, 3))
rec("alive", conn.isAlive)
rec("hostname", lambda: type(conn.getHostname()).__name__)
rec("libversion_int", lambda: isinstance(conn.getLibVersion(), int))
rec("version", conn.getVersion)
rec("type", conn.getType)
rec("uri", conn.getURI)
rec("maxvcpus", lambda: conn.getMaxVcpus(None))
rec("info", conn.getInfo)
rec("free_memory", lambda: type(conn.getFreeMemory()).__name__)
rec("cells_free", lambda: conn.getCellsFreeMemory(0, 2))
rec("cpumap", lambda: conn.getCPUMap(0))
rec("cpustats", lambda: shape(conn.getCPUStats(L.VIR_NODE_CPU_STATS_ALL_CPUS, 0)))
rec("memstats", lambda: shape(conn.getMemoryStats(L.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)))
rec("sysinfo_root", lambda: ET.fromstring(conn.getSysinfo(0)).tag)
rec("security", lambda: conn.getSecurityModel())


def capabilities():
    root = ET.fromstring(conn.getCapabilities())
    host = root.find("host")
    return {
        "arch": host.findtext("./cpu/arch"),
        "model": host.findtext("./cpu/model"),
        "cells": len(host.findall("./topology/cells/cell")),
        "guests": sorted(
            {(g.findtext("os_type"), g.find("arch").get("name")) for g in root.findall("guest")}
        ),
    }


rec("caps", capabilities)
host_cpu = ET.tostring(ET.fromstring(conn.getCapabilities()).find("./host/cpu"), encoding="unicode")
rec("compare_host", lambda: conn.compareCPU(host_cpu, 0))
rec("compare_bad", lambda: conn.compareCPU("<cpu><model>", 0))
rec("baseline", lambda: ET.fromstring(conn.baselineCPU([host_cpu], 0)).findtext("model"))
rec("baseline_none", lambda: conn.baselineCPU([], 0))
rec("devices", lambda: sorted(d.name() for d in conn.listAllDevices(0)))
rec("devices_legacy", lambda: sorted(conn.listDevices(None, 0)))
rec("numdevices", lambda: conn.numOfDevices(None, 0))
rec("device_missing", lambda: conn.nodeDeviceLookupByName("no_such_device"))
rec(
    "device_parents",
    lambda: sorted([d.name(), d.parent()] for d in conn.listAllDevices(0)),
)


def domain_stats(records):
    found = {}
    for dom, stats in records:
        found[dom.name()] = {
            k: (
                v
                if k.startswith(("state.", "vcpu.current", "vcpu.maximum", "balloon.maximum"))
                else type(v).__name__
            )
            for k, v in sorted(stats.items())
        }
    return found


rec("all_stats", lambda: domain_stats(conn.getAllDomainStats(0, 0)))
rec("state_stats", lambda: domain_stats(conn.getAllDomainStats(L.VIR_DOMAIN_STATS_STATE, 0)))
rec(
    "active_stats",
    lambda: domain_stats(
        conn.getAllDomainStats(
            L.VIR_DOMAIN_STATS_STATE | L.VIR_DOMAIN_STATS_CPU_TOTAL | L.VIR_DOMAIN_STATS_BALLOON,
            L.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE,
        )
    ),
)
rec("stats_badflags", lambda: domain_stats(conn.getAllDomainStats(0, 1 << 29)))
doms = conn.listAllDomains()
rec("list_stats", lambda: domain_stats(conn.domainListGetStats(doms, L.VIR_DOMAIN_STATS_STATE, 0)))


def domain_facts(dom):
    """Record what an exporter reads of one domain."""
    n = dom.name()
    rec(n + ".info", lambda: shape(dom.info()))
    rec(n + ".state", lambda: dom.state(0))
    rec(n + ".maxmem", dom.maxMemory)
    rec(n + ".vcpus_max", lambda: dom.vcpusFlags(L.VIR_DOMAIN_VCPU_MAXIMUM))
    rec(n + ".jobinfo", lambda: shape(dom.jobInfo()))
    rec(n + ".jobstats", lambda: dom.jobStats(0))
    rec(n + ".memstats", lambda: shape(dom.memoryStats()))
    root = ET.fromstring(dom.XMLDesc(0))
    for disk in root.findall("./devices/disk/target"):
        dev = disk.get("dev")
        rec(n + ".blockinfo." + dev, lambda dev=dev: shape(dom.blockInfo(dev, 0)))
        rec(n + ".blockstats." + dev, lambda dev=dev: shape(dom.blockStats(dev)))
    for nic in root.findall("./devices/interface/target"):
        dev = nic.get("dev")
        rec(n + ".ifstats." + dev, lambda dev=dev: shape(dom.interfaceStats(dev)))
    rec(n + ".blockinfo.missing", lambda: dom.blockInfo("sdz", 0))
    rec(n + ".blockstats.missing", lambda: dom.blockStats("sdz"))
    rec(n + ".ifstats.missing", lambda: dom.interfaceStats("vnet99"))
    for src in ("LEASE", "AGENT", "ARP"):
        rec(
            n + ".addresses." + src,
            lambda src=src: dom.interfaceAddresses(getattr(L, "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_" + src)),
        )
    rec(n + ".hostname", dom.hostname)
    rec(n + ".time", lambda: shape(dom.getTime()))
    rec(n + ".cpu_stats", lambda: shape(dom.getCPUStats(True)))
    rec(n + ".control", lambda: dom.controlInfo())
    rec(n + ".metadata", lambda: dom.metadata(L.VIR_DOMAIN_METADATA_DESCRIPTION, None))


for dom in doms:
    domain_facts(dom)
rec("closed_before_close", lambda: list(closed))
rec("close", lambda: conn.close() >= 0)
rec("alive_after_close", lambda: conn.isAlive())
rec("uri_after_close", conn.getURI)
rec("close_again", conn.close)
dump()
