"""The typed tuning, memory backing, sysinfo, seclabel, features and address models.

For each: the values parse, a change made with attrs.evolve is written back, the
content the model does not type stays in place, the output validates against
libvirt's domain.rng, and unmodelled() no longer reports what is typed.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from test_properties import domains

from virtcore.errors import XMLError
from virtcore.xml import (
    Address,
    BlkioDevice,
    BlkioTune,
    CPUTune,
    Disk,
    DomainDef,
    HugePage,
    HyperV,
    Interface,
    IOThread,
    IOThreadIds,
    IOThreadPin,
    KVMFeatures,
    MemNode,
    MemoryBacking,
    MemTune,
    NumaTune,
    SecLabel,
    SysInfo,
    SysInfoBlock,
    SysInfoEntry,
    VcpuPin,
    format_device,
    format_domain,
    parse_device,
    parse_domain,
    unmodelled,
)

TUNED = """<domain type='kvm'>
  <name>tuned</name>
  <memory unit='GiB'>4</memory>
  <blkiotune>
    <weight>800</weight>
    <device><path>/dev/sda</path><weight>1000</weight><read_bytes_sec>10000</read_bytes_sec></device>
  </blkiotune>
  <memtune>
    <hard_limit unit='MiB'>2048</hard_limit>
    <soft_limit unit='KiB'>1048576</soft_limit>
  </memtune>
  <memoryBacking>
    <hugepages>
      <page size='2' unit='MiB' nodeset='0'/>
      <page size='1048576' unit='KiB' nodeset='1'/>
    </hugepages>
    <nosharepages/>
    <locked/>
    <source type='memfd'/>
    <access mode='shared'/>
    <allocation mode='immediate' threads='8'/>
  </memoryBacking>
  <vcpu placement='static'>4</vcpu>
  <iothreads>2</iothreads>
  <iothreadids><iothread id='1'/><iothread id='3'/></iothreadids>
  <cputune>
    <shares>2048</shares>
    <period>1000000</period>
    <quota>-1</quota>
    <vcpupin vcpu='0' cpuset='1-4,^2'/>
    <vcpupin vcpu='1' cpuset='0,1'/>
    <emulatorpin cpuset='1-3'/>
    <iothreadpin iothread='1' cpuset='5,6'/>
    <vcpusched vcpus='0-1' scheduler='fifo' priority='1'/>
  </cputune>
  <numatune>
    <memory mode='strict' nodeset='0-1'/>
    <memnode cellid='0' mode='preferred' nodeset='0'/>
  </numatune>
  <sysinfo type='smbios'>
    <bios><entry name='vendor'>LENOVO</entry></bios>
    <system><entry name='manufacturer'>Fedora</entry><entry name='serial'>123</entry></system>
    <oemStrings><entry>myappname:some arbitrary data</entry></oemStrings>
  </sysinfo>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/><smbios mode='sysinfo'/></os>
  <features>
    <acpi/>
    <hyperv mode='custom'>
      <relaxed state='on'/>
      <spinlocks state='on' retries='4096'/>
      <vendor_id state='on' value='KVM Hv'/>
      <stimer state='on'><direct state='on'/></stimer>
    </hyperv>
    <kvm><hidden state='on'/><dirty-ring state='on' size='4096'/></kvm>
  </features>
  <cpu mode='host-passthrough'>
    <numa>
      <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
      <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
    </numa>
  </cpu>
  <devices>
    <disk type='file' device='disk'>
      <source file='/a.img'/>
      <target dev='vda' bus='virtio'/>
      <alias name='ua-disk0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <controller type='usb' index='0'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
    </memballoon>
  </devices>
  <seclabel type='static' model='selinux' relabel='yes'>
    <label>system_u:system_r:svirt_t:s0:c392,c662</label>
  </seclabel>
  <seclabel type='none'/>
</domain>
"""


def _valid(text: str, rng: etree.RelaxNG) -> None:
    assert rng.validate(etree.fromstring(text.encode())), str(rng.error_log.last_error)


def test_values_are_typed() -> None:
    d = parse_domain(TUNED)
    assert d.memory_backing == MemoryBacking(
        hugepages=(HugePage(size=2048, nodeset="0"), HugePage(size=1048576, nodeset="1")),
        nosharepages=True,
        locked=True,
        source_type="memfd",
        access_mode="shared",
        allocation_mode="immediate",
        allocation_threads=8,
    )
    assert d.blkiotune == BlkioTune(
        weight=800, devices=(BlkioDevice(path="/dev/sda", weight=1000, read_bytes_sec=10000),)
    )
    assert d.memtune == MemTune(hard_limit=2 * 1024 * 1024, soft_limit=1048576)
    assert d.iothreads == 2
    assert d.iothreadids == IOThreadIds(iothreads=(IOThread(id=1), IOThread(id=3)))
    assert d.cputune == CPUTune(
        shares=2048,
        period=1000000,
        quota=-1,
        vcpupins=(VcpuPin(vcpu=0, cpuset="1-4,^2"), VcpuPin(vcpu=1, cpuset="0,1")),
        emulatorpin="1-3",
        iothreadpins=(IOThreadPin(iothread=1, cpuset="5,6"),),
    )
    assert d.numatune == NumaTune(
        mode="strict", nodeset="0-1", memnodes=(MemNode(cellid=0, mode="preferred", nodeset="0"),)
    )
    (si,) = d.sysinfo
    assert si.type == "smbios"
    assert [(b.section, [(e.name, e.value) for e in b.entries]) for b in si.blocks] == [
        ("bios", [("vendor", "LENOVO")]),
        ("system", [("manufacturer", "Fedora"), ("serial", "123")]),
        ("oemStrings", [(None, "myappname:some arbitrary data")]),
    ]
    assert d.seclabels == (
        SecLabel(
            type="static", model="selinux", relabel=True, label="system_u:system_r:svirt_t:s0:c392,c662"
        ),
        SecLabel(type="none"),
    )
    assert d.hyperv == HyperV(
        mode="custom",
        states=(("relaxed", True), ("spinlocks", True), ("vendor_id", True), ("stimer", True)),
        spinlocks_retries=4096,
        vendor_id="KVM Hv",
    )
    assert d.kvm == KVMFeatures(states=(("hidden", True), ("dirty-ring", True)), dirty_ring_size=4096)
    disk = d.disks[0]
    assert disk.alias == "ua-disk0"
    assert disk.address == Address(type="pci", domain=0, bus=0, slot=4, function=0)
    assert d.memballoon is not None and d.memballoon.address is not None and d.memballoon.address.slot == 6


def test_typed_parts_are_not_reported_unmodelled() -> None:
    # only what stays verbatim: the scheduler tuning, stimer's <direct>, os/smbios
    assert unmodelled(parse_domain(TUNED)) == [
        "domain/cputune/vcpusched",
        "domain/os/smbios",
        "domain/features/hyperv/stimer/direct",
    ]


def test_unchanged_round_trip_keeps_the_source_spelling(domain_rng: etree.RelaxNG) -> None:
    d = parse_domain(TUNED)
    text = format_domain(d)
    _valid(text, domain_rng)
    assert "slot='0x04'" in text.replace('"', "'") and "size='2' unit='MiB'" in text.replace('"', "'")
    assert "<vcpusched" in text and "<direct state=" in text
    assert parse_domain(text) == d


def test_changes_are_written_back(domain_rng: etree.RelaxNG) -> None:
    d = parse_domain(TUNED)
    assert d.memory_backing is not None and d.cputune is not None and d.numatune is not None
    assert d.hyperv is not None and d.kvm is not None and d.memtune is not None
    disk = attrs.evolve(d.disks[0], address=attrs.evolve(d.disks[0].address, slot=9), alias="ua-new")
    d2 = attrs.evolve(
        d,
        memory_backing=attrs.evolve(d.memory_backing, locked=False, hugepages=(HugePage(size=2048),)),
        cputune=attrs.evolve(
            d.cputune, shares=512, vcpupins=(VcpuPin(vcpu=3, cpuset="7"),), emulatorpin=None
        ),
        numatune=attrs.evolve(d.numatune, mode="interleave"),
        memtune=attrs.evolve(d.memtune, soft_limit=None, min_guarantee=65536),
        blkiotune=None,
        iothreads=4,
        iothreadids=IOThreadIds(iothreads=tuple(IOThread(id=i) for i in (1, 2, 3, 4))),
        sysinfo=(SysInfo(type="fwcfg", entries=(SysInfoEntry(name="opt/com.example/name", value="x"),)),),
        seclabels=(SecLabel(type="none"),),
        hyperv=attrs.evolve(
            d.hyperv, states=(("relaxed", False), ("vapic", True)), spinlocks_retries=None, vendor_id=None
        ),
        kvm=attrs.evolve(d.kvm, dirty_ring_size=8192),
        devices=(disk, *d.devices[1:]),
    )
    text = format_domain(d2)
    _valid(text, domain_rng)
    back = parse_domain(text)
    assert back == d2
    assert back.memory_backing is not None and back.memory_backing.source_type == "memfd"
    assert "<locked/>" not in text and "<blkiotune" not in text and "<emulatorpin" not in text
    assert "<vcpusched" in text  # kept: not typed
    assert back.disks[0].address is not None and back.disks[0].address.slot == 9
    assert back.disks[0].alias == "ua-new"
    assert back.hyperv is not None and dict(back.hyperv.states) == {"relaxed": False, "vapic": True}
    assert "<direct state=" not in text  # stimer is no longer among the states: its element went


def test_built_in_python_formats_valid_xml(domain_rng: etree.RelaxNG) -> None:
    d = DomainDef(
        type="kvm",
        name="built",
        memory=1 << 20,
        vcpu=2,
        features=("acpi", "hyperv", "kvm"),
        hyperv=HyperV(mode="custom", states=(("relaxed", True), ("spinlocks", True)), spinlocks_retries=8191),
        kvm=KVMFeatures(states=(("hidden", True),)),
        memory_backing=MemoryBacking(hugepages=(), locked=True),
        cputune=CPUTune(shares=100, vcpupins=(VcpuPin(vcpu=0, cpuset="0"),), emulatorpin="1"),
        numatune=NumaTune(mode="strict", nodeset="0"),
        memtune=MemTune(hard_limit=1 << 20),
        blkiotune=BlkioTune(weight=500, devices=(BlkioDevice(path="/dev/sdb", write_iops_sec=100),)),
        iothreads=1,
        sysinfo=(
            SysInfo(
                blocks=(SysInfoBlock(section="system", entries=(SysInfoEntry(name="serial", value="42"),)),)
            ),
        ),
        seclabels=(SecLabel(type="dynamic", model="selinux"),),
        devices=(
            Disk(
                source="/b.img",
                target_dev="vda",
                address=Address(type="pci", domain=0, bus=0, slot=5, function=0),
            ),
        ),
    )
    text = format_domain(d)
    _valid(text, domain_rng)
    assert parse_domain(text) == d
    assert unmodelled(parse_domain(text)) == []


def test_invalid_values_name_the_element() -> None:
    with pytest.raises(XMLError, match="cputune"):
        parse_domain(TUNED.replace("<shares>2048</shares>", "<shares>lots</shares>"))
    with pytest.raises(XMLError, match="address"):
        parse_domain(TUNED.replace("slot='0x04'", "slot='0xZZ'"))
    with pytest.raises(XMLError, match="memtune"):
        parse_domain(TUNED.replace("<hard_limit unit='MiB'>", "<hard_limit unit='parsecs'>"))
    with pytest.raises(XMLError, match="hyperv"):
        parse_domain(TUNED.replace("<relaxed state='on'/>", "<relaxed state='maybe'/>"))


def test_device_alias_and_address_on_a_lone_device() -> None:
    xml = (
        "<interface type='network'><mac address='52:54:00:00:00:07'/><source network='default'/>"
        "<alias name='net0'/><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'"
        " multifunction='on'/></interface>"
    )
    nic = parse_device(xml)
    assert isinstance(nic, Interface)
    assert nic.alias == "net0" and nic.address is not None and nic.address.multifunction is True
    again = parse_device(format_device(attrs.evolve(nic, alias=None)))
    assert again.alias is None and again.address == nic.address


# ------------------------------------------------------------------ generated


_cpuset = st.sampled_from(["0", "1-3", "0,2", "0-7,^3"])
_kib = st.integers(1, 2**30)
_tunings = st.fixed_dictionaries(
    {},
    optional={
        "memory_backing": st.builds(
            MemoryBacking,
            hugepages=st.none()
            | st.lists(
                st.builds(HugePage, size=st.sampled_from([2048, 1048576]), nodeset=st.none() | st.just("0")),
                max_size=2,
            ).map(tuple),
            nosharepages=st.booleans(),
            locked=st.booleans(),
            source_type=st.none() | st.sampled_from(["file", "anonymous", "memfd"]),
            access_mode=st.none() | st.sampled_from(["shared", "private"]),
            discard=st.booleans(),
        ),
        "cputune": st.builds(
            CPUTune,
            shares=st.none() | st.integers(2, 262144),
            period=st.none() | st.integers(1000, 1000000),
            quota=st.none() | st.integers(1000, 17592186044415) | st.just(-1),
            vcpupins=st.lists(st.builds(VcpuPin, vcpu=st.integers(0, 3), cpuset=_cpuset), max_size=3).map(
                tuple
            ),
            emulatorpin=st.none() | _cpuset,
        ),
        "numatune": st.builds(
            NumaTune, mode=st.none() | st.sampled_from(["strict", "preferred", "interleave"]), nodeset=_cpuset
        ),
        "memtune": st.builds(
            MemTune, hard_limit=st.none() | _kib, soft_limit=st.none() | _kib, min_guarantee=st.none() | _kib
        ),
        "blkiotune": st.builds(BlkioTune, weight=st.none() | st.integers(100, 1000)),
        "seclabels": st.lists(
            st.builds(
                SecLabel, type=st.sampled_from(["dynamic", "none"]), model=st.none() | st.just("selinux")
            ),
            max_size=2,
        ).map(tuple),
        "iothreads": st.integers(1, 8),
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domains(), _tunings, st.lists(st.integers(1, 31), max_size=5))
def test_generated_tuned_domains_round_trip(
    d: DomainDef, tuning: dict[str, object], slots: list[int]
) -> None:
    devices = tuple(
        attrs.evolve(dev, address=Address(type="pci", domain=0, bus=0, slot=slots[i], function=0))
        if i < len(slots) and isinstance(dev, Disk | Interface)
        else dev
        for i, dev in enumerate(d.devices)
    )
    d = attrs.evolve(d, devices=devices, **tuning)
    text = format_domain(d)
    back = parse_domain(text)
    assert back == d
    assert format_domain(back) == text


_BASE = parse_domain(
    "<domain type='kvm'><name>g</name><memory unit='MiB'>512</memory><vcpu>4</vcpu>"
    "<os><type arch='x86_64'>hvm</type></os><devices>"
    "<disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"
    "</devices></domain>"
)


@settings(max_examples=60, deadline=None)
@given(_tunings, st.none() | st.integers(1, 31))
def test_generated_tunings_validate_against_domain_rng(
    domain_rng: etree.RelaxNG, tuning: dict[str, object], slot: int | None
) -> None:
    disk = _BASE.devices[0]
    address = None if slot is None else Address(type="pci", domain=0, bus=0, slot=slot, function=0)
    d = attrs.evolve(_BASE, devices=(attrs.evolve(disk, address=address),), **tuning)
    text = format_domain(d)
    assert domain_rng.validate(etree.fromstring(text.encode())), str(domain_rng.error_log.last_error)
    assert parse_domain(text) == d


def test_generic_device_built_in_python_keeps_its_own_address_unless_given() -> None:
    from virtcore.xml import GenericDevice

    xml = (
        "<smartcard mode='passthrough' type='spicevmc'>"
        "<address type='ccid' controller='0' slot='0'/></smartcard>"
    )
    g = GenericDevice(kind="smartcard", xml=xml)
    assert 'type="ccid"' in format_device(g)
    moved = format_device(attrs.evolve(g, address=Address(type="ccid", controller=0, slot=1), alias="sc0"))
    back = parse_device(moved)
    assert back.address == Address(type="ccid", controller=0, slot=1) and back.alias == "sc0"
