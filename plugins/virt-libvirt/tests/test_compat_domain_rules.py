"""libvirt's rules for domain calls that consumer programs showed virt-libvirt missing.

Each is libvirt's behaviour in all its drivers (the public API's or the QEMU
driver's checks), run here on virt-test through virt-libvirt; the side-by-side
programs (test_consumer_programs.py) compare them with python3-libvirt too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt
import pytest
from virt_test import reset_default_node

GUEST = """<domain type='test'>
  <name>rules</name>
  <memory unit='KiB'>262144</memory>
  <vcpu current='1'>4</vcpu>
  <os><type>hvm</type></os>
</domain>"""


@pytest.fixture
def conn() -> libvirt.virConnect:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open("test:///default")
    yield c
    c.close()  # handles the test still holds keep the connection (as libvirt): forget the node's state
    reset_default_node()
    libvirt.registerErrorHandler(None, None)


def _code(fn) -> int | None:
    with pytest.raises(libvirt.libvirtError) as caught:
        fn()
    return caught.value.get_error_code()


def test_affect_config_of_a_transient_domain_is_operation_invalid(conn) -> None:
    dom = conn.createXML(GUEST, 0)
    config = libvirt.VIR_DOMAIN_AFFECT_CONFIG
    disk = "<disk type='file' device='disk'><source file='/x.img'/><target dev='vdb'/></disk>"
    for call in (
        lambda: dom.setMemoryFlags(131072, config),
        lambda: dom.setVcpusFlags(2, config),
        lambda: dom.attachDeviceFlags(disk, config),
        lambda: dom.detachDeviceFlags(disk, config | libvirt.VIR_DOMAIN_AFFECT_LIVE),
    ):
        assert _code(call) == libvirt.VIR_ERR_OPERATION_INVALID
    assert dom.info()[2] == 262144 and dom.vcpusFlags(0) == 1  # nothing changed


def test_the_maximum_vcpus_of_a_live_domain_are_invalid_arg(conn) -> None:
    dom = conn.createXML(GUEST, 0)
    flags = libvirt.VIR_DOMAIN_VCPU_MAXIMUM | libvirt.VIR_DOMAIN_AFFECT_LIVE
    assert _code(lambda: dom.setVcpusFlags(4, flags)) == libvirt.VIR_ERR_INVALID_ARG
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_VCPU_MAXIMUM) == 4


@pytest.mark.parametrize(
    "flags",
    [
        libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
        libvirt.VIR_DOMAIN_UNDEFINE_TPM | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_TPM,
    ],
)
def test_undefine_cannot_both_keep_and_delete(conn, flags: int) -> None:
    dom = conn.defineXML(GUEST)
    assert _code(lambda: dom.undefineFlags(flags)) == libvirt.VIR_ERR_OPERATION_INVALID
    assert conn.lookupByName("rules").isPersistent() == 1  # still defined
    assert dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM) == 0


def test_stats_of_no_domains_are_invalid_arg(conn) -> None:
    call = lambda: conn.domainListGetStats([], libvirt.VIR_DOMAIN_STATS_STATE, 0)  # noqa: E731
    assert _code(call) == libvirt.VIR_ERR_INVALID_ARG
    assert len(conn.domainListGetStats(conn.listAllDomains(), libvirt.VIR_DOMAIN_STATS_STATE, 0)) == 1


def test_vcpu_affinity_maps_are_as_wide_as_the_node_cpu_map(conn) -> None:
    width = conn.getCPUMap(0)[0]
    assert width != conn.getInfo()[2]  # test:///default: 8 CPUs in the map, 16 in the node info
    info, maps = conn.lookupByName("test").vcpus()
    assert len(maps) == len(info) == 2
    assert [len(m) for m in maps] == [width, width]


def test_the_inactive_xml_of_a_transient_domain_has_no_id(conn) -> None:
    dom = conn.createXML(GUEST, 0)
    assert ET.fromstring(dom.XMLDesc(0)).get("id") == str(dom.ID())
    assert ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).get("id") is None


def test_set_memory_and_vcpus_change_the_running_domain_only(conn) -> None:
    """virDomainSetMemory / virDomainSetVcpus are their *Flags calls with VIR_DOMAIN_AFFECT_LIVE:
    a shut-off domain is OPERATION_INVALID (and its definition unchanged), a running one changes."""
    dom = conn.defineXML(GUEST)
    assert _code(lambda: dom.setMemory(131072)) == libvirt.VIR_ERR_OPERATION_INVALID
    assert _code(lambda: dom.setVcpus(2)) == libvirt.VIR_ERR_OPERATION_INVALID
    assert dom.info()[2] == 262144 and dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1
    dom.create()
    assert dom.setMemory(131072) == 0 and dom.setVcpus(2) == 0
    assert dom.info()[2] == 131072 and dom.info()[3] == 2
