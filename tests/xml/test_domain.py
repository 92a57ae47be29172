"""Domain XML model: parse, format, round trips and validation errors."""

from __future__ import annotations

import attrs
import pytest
from lxml import etree

from virtcore.errors import VirtError, XMLError
from virtcore.xml import (
    OS,
    Address,
    Console,
    Disk,
    DomainDef,
    GenericDevice,
    Graphics,
    Input,
    Interface,
    MemBalloon,
    Serial,
    Sound,
    Video,
    Watchdog,
    domain_from_element,
    format_device,
    format_domain,
    parse_device,
    parse_domain,
)

QEMU_GUEST = """\
<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>guest1</name>
  <uuid>C7A5FDBD-EDAF-9455-926A-D65C16DB1809</uuid>
  <title>A guest</title>
  <metadata>
    <app:info xmlns:app='http://example.org/app'><app:owner>me</app:owner></app:info>
  </metadata>
  <memory unit='GiB'>2</memory>
  <currentMemory unit='MiB'>1024</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/boot/vmlinuz</kernel>
    <initrd>/boot/initrd</initrd>
    <cmdline>console=ttyS0</cmdline>
    <boot dev='hd'/>
    <boot dev='cdrom'/>
  </os>
  <features><acpi/><apic/><pae/></features>
  <clock offset='localtime'><timer name='rtc' tickpolicy='catchup'/><timer name='hpet' present='no'/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>preserve</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
      <source file='/var/lib/images/guest1.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <boot order='1'/>
      <serial>S123</serial>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <disk type='block' device='cdrom'>
      <source dev='/dev/sr0'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
      <shareable/>
    </disk>
    <interface type='bridge'>
      <mac address='52:54:00:AB:CD:EF'/>
      <source bridge='br0'/>
      <model type='virtio'/>
      <target dev='vnet0'/>
    </interface>
    <interface type='user'><mac address='52:54:00:00:00:02'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <serial type='file'><source path='/tmp/ser.log'/><target port='1'/></serial>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <input type='tablet' bus='usb'/>
    <video><model type='cirrus' vram='16384' heads='1'/></video>
    <sound model='ich6'/>
    <hub type='usb'/>
    <memballoon model='virtio'/>
  </devices>
  <qemu:commandline><qemu:arg value='-no-hpet'/></qemu:commandline>
</domain>
"""


def _dom(body: str, type_: str = "qemu") -> str:
    return f"<domain type='{type_}'>{body}</domain>"


def test_parse_qemu_guest_fields() -> None:
    d = parse_domain(QEMU_GUEST)
    assert d.type == "kvm"
    assert d.name == "guest1"
    assert d.uuid == "c7a5fdbd-edaf-9455-926a-d65c16db1809"
    assert d.title == "A guest"
    assert d.memory == 2 * 1024 * 1024
    assert d.current_memory == 1024 * 1024
    assert (d.vcpu, d.current_vcpus) == (2, 1)
    assert d.os == OS(
        type="hvm",
        arch="x86_64",
        machine="pc",
        kernel="/boot/vmlinuz",
        initrd="/boot/initrd",
        cmdline="console=ttyS0",
        boot=("hd", "cdrom"),
    )
    assert d.features == ("acpi", "apic", "pae")
    assert d.clock.offset == "localtime"
    assert [(t.name, t.present, t.tickpolicy) for t in d.clock.timers] == [
        ("rtc", None, "catchup"),
        ("hpet", False, None),
    ]
    assert (d.on_poweroff, d.on_reboot, d.on_crash) == ("destroy", "restart", "preserve")
    assert d.emulator == "/usr/bin/qemu-system-x86_64"
    vda, cdrom = d.disks
    assert vda == Disk(
        type="file",
        device="disk",
        driver_name="qemu",
        driver_type="qcow2",
        driver_cache="none",
        source="/var/lib/images/guest1.qcow2",
        target_dev="vda",
        target_bus="virtio",
        boot_order=1,
        serial="S123",
        address=Address(type="pci", domain=0, bus=0, slot=4, function=0),
    )
    assert (cdrom.type, cdrom.device, cdrom.source, cdrom.readonly, cdrom.shareable) == (
        "block",
        "cdrom",
        "/dev/sr0",
        True,
        True,
    )
    br, user = d.interfaces
    assert br == Interface(
        type="bridge", mac="52:54:00:ab:cd:ef", source="br0", model="virtio", target_dev="vnet0"
    )
    assert (user.type, user.source) == ("user", None)
    assert d.serials == (
        Serial(type="pty", target_port=0),
        Serial(type="file", source_path="/tmp/ser.log", target_port=1),
    )
    assert d.consoles == (Console(type="pty", target_type="serial", target_port=0),)
    assert d.graphics == (Graphics(type="vnc", port=-1, autoport=True, listen="127.0.0.1"),)
    assert d.inputs == (Input(type="tablet", bus="usb"),)
    assert d.videos == (Video(model="cirrus", vram=16384, heads=1),)
    assert d.memballoon == MemBalloon(model="virtio")
    kinds = [type(x).__name__ for x in d.devices]
    assert kinds == [
        "Disk", "Disk", "Interface", "Interface", "Serial", "Console", "Serial", "Graphics", "Input",
        "Video", "Sound", "GenericDevice", "MemBalloon",
    ]  # fmt: skip
    assert d.devices[10] == Sound(model="ich6")
    hub = d.devices[11]
    assert isinstance(hub, GenericDevice) and hub.kind == "hub"


def test_round_trip_is_a_fixed_point_and_keeps_unknowns() -> None:
    d = parse_domain(QEMU_GUEST)
    out = format_domain(d)
    d2 = parse_domain(out)
    assert d2 == d
    assert format_domain(d2) == out
    root = etree.fromstring(out.encode())
    # unmodelled content survives verbatim and in place
    assert root.find("metadata/{http://example.org/app}info/{http://example.org/app}owner").text == "me"
    assert root.find("{http://libvirt.org/schemas/domain/qemu/1.0}commandline") is not None
    assert root.find("devices/disk/driver").get("discard") == "unmap"
    assert root.find("devices/disk/address").get("slot") == "0x04"
    assert root.find("vcpu").get("placement") == "static"
    assert root.find("devices/sound").get("model") == "ich6"
    assert "<app:owner>me</app:owner>" in (d.metadata or "")


def test_format_normalises_units_and_ids() -> None:
    d = parse_domain(QEMU_GUEST)
    root = etree.fromstring(format_domain(d, domain_id=7).encode())
    assert root.get("id") == "7"
    assert root.find("memory").text == "2097152" and root.find("memory").get("unit") == "KiB"
    assert root.find("currentMemory").text == "1048576"
    assert root.find("vcpu").get("current") == "1"
    assert etree.fromstring(format_domain(d).encode()).get("id") is None


def test_evolve_changes_are_formatted() -> None:
    d = parse_domain(QEMU_GUEST)
    disk = attrs.evolve(d.disks[0], source="/new.img", boot_order=None, readonly=True)
    d2 = attrs.evolve(
        d,
        name="renamed",
        memory=4 * 1024 * 1024,
        current_memory=3 * 1024 * 1024,
        vcpu=4,
        current_vcpus=4,
        devices=(disk, *d.devices[1:]),
        features=("acpi",),
        os=attrs.evolve(d.os, boot=("network",), kernel=None),
        on_crash="restart",
    )
    back = parse_domain(format_domain(d2))
    assert back == d2
    root = etree.fromstring(format_domain(d2).encode())
    assert root.find("vcpu").get("current") is None
    assert root.find("os/kernel") is None
    assert [b.get("dev") for b in root.findall("os/boot")] == ["network"]
    assert root.find("devices/disk/driver").get("discard") == "unmap"  # unknown attr kept
    assert root.find("devices/disk/boot") is None
    # the old object is untouched
    assert parse_domain(format_domain(d)) == d


def test_domain_built_in_python() -> None:
    d = DomainDef(
        type="test",
        name="py",
        memory=1024,
        os=OS(type="hvm", boot=("hd",)),
        devices=(
            Disk(source="/a.img", target_dev="vda", target_bus="virtio", driver_type="raw"),
            Interface(type="network", source="default", mac="52:54:00:01:02:03"),
            Serial(type="pty", target_port=0),
            Console(type="pty", target_type="serial", target_port=0),
            Graphics(type="vnc", port=5900),
            Input(type="mouse", bus="ps2"),
            Video(model="vga"),
            MemBalloon(model="none"),
        ),
    )
    assert d.current_memory == 1024 and d.current_vcpus == 1
    assert len(d.uuid) == 36
    out = format_domain(d)
    assert parse_domain(out) == d
    assert parse_domain(format_domain(parse_domain(out))) == d


def test_defaults_like_libvirt() -> None:
    d = parse_domain(
        "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    assert (d.on_poweroff, d.on_reboot, d.on_crash) == ("destroy", "restart", "destroy")
    assert d.current_memory == 1024 and d.vcpu == 1 and d.current_vcpus == 1
    assert d.clock.offset == "utc"
    # a random uuid4 when none is given
    d2 = parse_domain(
        "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    assert d.uuid != d2.uuid and d.uuid[14] == "4"


@pytest.mark.parametrize(
    "vcpu",
    ["", "<vcpu>2</vcpu>", "<vcpu current='1'>2</vcpu>"],
)
def test_vcpu_placement_is_static_unless_given(vcpu: str) -> None:
    """libvirt always writes ``<vcpu placement='static'>`` (its default); consumers read it."""
    xml = f"<domain type='test'><name>x</name><memory>1024</memory>{vcpu}<os><type>hvm</type></os></domain>"
    d = parse_domain(xml)
    assert d.vcpu_placement == "static"
    assert etree.fromstring(format_domain(d).encode()).find("vcpu").get("placement") == "static"
    built = DomainDef(type="test", name="py", memory=1024)
    assert etree.fromstring(format_domain(built).encode()).find("vcpu").get("placement") == "static"
    auto = parse_domain(
        xml.replace("<vcpu>", "<vcpu placement='auto'>").replace(
            "<vcpu current", "<vcpu placement='auto' current"
        )
    )
    assert auto.vcpu_placement == ("auto" if vcpu else "static")


@pytest.mark.parametrize(
    ("unit", "value", "kib"),
    [
        ("b", "1025", 2),
        ("bytes", "2048", 2),
        ("KB", "1000", 977),
        ("k", "5", 5),
        ("KiB", "5", 5),
        ("M", "1", 1024),
        ("MB", "1", 977),
        ("G", "1", 1024**2),
        ("GiB", "2", 2 * 1024**2),
        ("T", "1", 1024**3),
    ],
)
def test_memory_units(unit: str, value: str, kib: int) -> None:
    d = parse_domain(_dom(f"<name>x</name><memory unit='{unit}'>{value}</memory><os><type>hvm</type></os>"))
    assert d.memory == kib


def test_interface_without_mac_gets_one() -> None:
    dev = parse_device("<interface type='network'><source network='default'/></interface>")
    assert isinstance(dev, Interface)
    assert dev.mac is not None and dev.mac.startswith("52:54:00:")
    assert parse_device(format_device(dev)) == dev


def test_parse_and_format_device() -> None:
    disk = parse_device(b"<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>")
    assert disk == Disk(type="file", device="cdrom", target_dev="hdc", target_bus="ide", readonly=True)
    assert "<readonly/>" in format_device(disk)
    assert parse_device(format_device(disk)) == disk
    assert parse_device("<watchdog model='i6300esb' action='reset'/>") == Watchdog(
        model="i6300esb", action="reset"
    )
    other = parse_device("<smartcard mode='host'/>")
    assert isinstance(other, GenericDevice) and other.kind == "smartcard"
    assert parse_device(format_device(other)) == other


def test_domain_from_element_inside_node_file() -> None:
    node = etree.fromstring(
        b"<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        b"<name>n</name><memory>4096</memory><os><type>hvm</type></os>"
        b"<test:runstate>5</test:runstate></domain></node>"
    )
    d = domain_from_element(node[0])
    assert d.name == "n"
    assert "<test:runstate>5</test:runstate>" in format_domain(d)


_BASE = "<name>x</name><memory>1024</memory><os><type>hvm</type></os>"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (_dom(_BASE + "<uuid>xyz</uuid>"), "invalid UUID 'xyz' in <uuid>"),
        (_dom("<memory>1024</memory><os><type>hvm</type></os>"), "missing name information in <domain>"),
        (_dom(_BASE + "<currentMemory>2048</currentMemory>"), "<currentMemory>"),
        (_dom("<name>x</name><memory unit='parsec'>1</memory><os><type>hvm</type></os>"), "unit 'parsec'"),
        (_dom("<name>x</name><memory>lots</memory><os><type>hvm</type></os>"), "in <memory>"),
        (_dom("<name>x</name><memory>-5</memory><os><type>hvm</type></os>"), "in <memory>"),
        (_dom(_BASE + "<vcpu>0</vcpu>"), "<vcpu>"),
        (_dom(_BASE + "<vcpu current='3'>2</vcpu>"), "<vcpu>"),
        (_dom(_BASE + "<on_crash>explode</on_crash>"), "<on_crash>"),
        (_dom("<name>x</name><memory>1024</memory>"), "os <type>"),
        (_dom(_BASE, type_="bogus"), "invalid domain type 'bogus'"),
        ("<domain><name>x</name></domain>", "missing domain type"),
        ("<notadomain/>", "<notadomain>"),
        (_dom(_BASE + "<devices><disk type='file'><source file='/a'/></disk></devices>"), "<target"),
        (
            _dom(
                _BASE + "<devices><disk><source file='/a'/><target dev='vda'/></disk>"
                "<disk><source file='/b'/><target dev='vda'/></disk></devices>"
            ),
            "target 'vda' duplicated",
        ),
        (
            _dom(_BASE + "<devices><disk type='weird'><target dev='vda'/></disk></devices>"),
            "disk type 'weird'",
        ),
        (
            _dom(
                _BASE
                + "<devices><interface type='user'><mac address='zz:00:00:00:00:00'/></interface></devices>"
            ),
            "mac address 'zz:00:00:00:00:00'",
        ),
        (_dom(_BASE + "<devices><interface type='network'/></devices>"), "'network' attribute"),
        (_dom(_BASE + "<devices><memballoon/></devices>"), "<memballoon>"),
        (_dom("<name>a/b</name><memory>1</memory><os><type>hvm</type></os>"), "cannot contain '/'"),
        ("<domain type='qemu'><name>x</name>", "malformed"),
        ("", "malformed"),
    ],
)
def test_invalid_domains_raise_xml_error_naming_the_element(xml: str, message: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_domain(xml)
    assert message in str(info.value)
    # not well formed: libvirt's parser's XML_DETAIL (35) in VIR_FROM_DOMAIN; not valid: XML_ERROR (27)
    expected = {"malformed": (35, 20), "missing name information in <domain>": (21, 20)}.get(message, (27, 5))
    assert (info.value.code, int(info.value.domain)) == expected  # NO_NAME as libvirt's parser says


def test_non_text_input_is_an_xml_error() -> None:
    with pytest.raises(XMLError):
        parse_domain(12)  # type: ignore[arg-type]
    with pytest.raises(VirtError):
        parse_device("<domain type='test'/>")


def test_video_primary_is_read_and_written() -> None:
    """``<model primary='yes'>`` marks the card a guest shows first (virt-manager reads it)."""
    xml = (
        "<domain type='test'><name>v</name><memory>1024</memory><os><type>hvm</type></os><devices>"
        "<video><model type='qxl' vram='65536' heads='1'/></video>"
        "<video><model type='vga' vram='16384' heads='1' primary='yes'/></video></devices></domain>"
    )
    d = parse_domain(xml)
    assert [v.primary for v in d.devices] == [None, True]
    models = etree.fromstring(format_domain(d).encode()).findall("devices/video/model")
    assert [m.get("primary") for m in models] == [None, "yes"]
    assert parse_domain(format_domain(d)) == d
