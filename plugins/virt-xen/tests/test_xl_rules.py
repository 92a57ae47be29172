"""xen-xl / xen-xm conversion rules, key by key, as libvirt's xen_common.c and xen_xl.c apply them.

The inputs are small configurations written for these tests (not libvirt's vectors):
each test states one rule libvirt follows and checks the converter follows it too,
in both directions where the rule has two.
"""

from __future__ import annotations

import pytest
from lxml import etree
from virt_xen.native import domxml_from_native, domxml_to_native, parse_config

from virtcore.errors import ConfigUnsupportedError, ConfSyntaxError, ErrorNumber, NoSupportError, VirtError

_E = etree._Element


def _xml(cfg: str, fmt: str = "xen-xl") -> _E:
    return etree.fromstring(domxml_from_native(fmt, 'name = "g"\n' + cfg).encode())


def _os_type(cfg: str, fmt: str = "xen-xl") -> tuple[str | None, str | None]:
    t = _xml(cfg, fmt).find("os/type")
    assert t is not None
    return t.text, t.get("machine")


# ---------------------------------------------------------------- PV, PVH or HVM


@pytest.mark.parametrize(
    ("cfg", "want"),
    [
        # no type and no builder: PV, whatever else is there
        ("", ("xen", "xenpv")),
        ('kernel = "/boot/vmlinuz"\n', ("xen", "xenpv")),
        ('bootloader = "pygrub"\n', ("xen", "xenpv")),
        # a kernel named like Xen's HVM firmware does not make a guest HVM in xl
        ('kernel = "/usr/lib/xen/boot/hvmloader"\n', ("xen", "xenpv")),
        # xl's long-gone pvh=1 switch is not a guest type libvirt reads
        ("pvh = 1\n", ("xen", "xenpv")),
        # builder: only "hvm" means HVM
        ('builder = "hvm"\n', ("hvm", "xenfv")),
        ('builder = "linux"\n', ("xen", "xenpv")),
        ('builder = "generic"\n', ("xen", "xenpv")),
        ('builder = "hvm"\nbootloader = "pygrub"\n', ("hvm", "xenfv")),
        # type wins over builder
        ('type = "pv"\nbuilder = "hvm"\n', ("xen", "xenpv")),
        ('type = "hvm"\nbuilder = "linux"\n', ("hvm", "xenfv")),
        ('type = "hvm"\nkernel = "/boot/vmlinuz"\n', ("hvm", "xenfv")),
        ('type = "pvh"\nkernel = "/boot/vmlinuz"\n', ("xenpvh", "xenpvh")),
        ('type = "pvh"\nbuilder = "hvm"\n', ("xenpvh", "xenpvh")),
    ],
)
def test_guest_type_follows_type_then_builder(cfg: str, want: tuple[str, str]) -> None:
    assert _os_type(cfg) == want


@pytest.mark.parametrize("typ", ["PV", "hvm2", "linux", ""])
def test_unknown_guest_type_is_refused_by_name(typ: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match=f"type '{typ}' is not supported"):
        _xml(f'type = "{typ}"\n')


def test_xm_reads_the_guest_type_by_the_same_rules() -> None:
    assert _os_type('builder = "hvm"\nkernel = "/usr/lib/xen/boot/hvmloader"\n', "xen-xm") == ("hvm", "xenfv")
    assert _os_type('kernel = "/usr/lib/xen/boot/hvmloader"\n', "xen-xm") == ("xen", "xenpv")


def test_xm_hvm_kernel_is_the_loader_and_required() -> None:
    loader = _xml('builder = "hvm"\nkernel = "/opt/hvmloader"\n', "xen-xm").find("os/loader")
    assert loader is not None and loader.text == "/opt/hvmloader"
    with pytest.raises(ConfSyntaxError, match="kernel was missing"):
        _xml('builder = "hvm"\n', "xen-xm")


def test_xl_hvm_firmware() -> None:
    # an xl kernel is a direct kernel boot, never the loader; bios="ovmf" is a UEFI pflash
    xml = _xml('builder = "hvm"\nkernel = "/usr/lib/xen/boot/hvmloader"\n')
    assert (xml.findtext("os/loader"), xml.findtext("os/kernel")) == (
        "/usr/lib/xen/boot/hvmloader",
        "/usr/lib/xen/boot/hvmloader",
    )
    ovmf = _xml('builder = "hvm"\nbios = "ovmf"\n').find("os/loader")
    assert ovmf is not None
    assert (ovmf.text, ovmf.get("type"), ovmf.get("readonly")) == (
        "/usr/lib/xen/boot/ovmf.bin",
        "pflash",
        "yes",
    )
    # bios_path_override names OVMF's image only
    assert _xml('builder = "hvm"\nbios_path_override = "/x.bin"\n').findtext("os/loader") == (
        "/usr/lib/xen/boot/hvmloader"
    )


def test_pv_and_pvh_guests_keep_their_type_through_xl() -> None:
    for cfg, want in (('type = "pvh"\nkernel = "/k"\n', "pvh"), ('kernel = "/k"\n', None)):
        xml = domxml_from_native("xen-xl", 'name = "g"\n' + cfg)
        back = parse_config(domxml_to_native("xen-xl", xml))
        assert back.get("type") in ((want,) if want else (None, "pv"))
        assert "builder" not in back
        assert _os_type(domxml_to_native("xen-xl", xml).replace('name = "g"\n', "")) == (
            ("xenpvh", "xenpvh") if want else ("xen", "xenpv")
        )


# ---------------------------------------------------------------- booleans and clock


def test_booleans_are_read_as_libvirt_reads_them() -> None:
    # a string is true only when it is "1"; a number when it is not 0
    feats = _xml('builder = "hvm"\nacpi = "yes"\napic = "1"\npae = 0\nviridian = 7\n').find("features")
    assert feats is not None
    assert sorted(f.tag for f in feats) == ["apic", "viridian"]


def test_hap_is_stated_only_when_off() -> None:
    on = _xml('builder = "hvm"\nhap = 1\n').find("features/hap")
    off = _xml('builder = "hvm"\nhap = 0\n').find("features/hap")
    assert on is None
    assert off is not None and off.get("state") == "off"


def test_hvm_clock_is_always_variable() -> None:
    clock = _xml('builder = "hvm"\nlocaltime = 1\n').find("clock")
    assert clock is not None
    assert (clock.get("offset"), clock.get("adjustment"), clock.get("basis")) == (
        "variable",
        "0",
        "localtime",
    )


def test_pv_clock_ignores_rtc_timeoffset() -> None:
    # PV guests have no emulated RTC: libvirt keeps utc/localtime and drops the offset
    clock = _xml("rtc_timeoffset = 3600\nlocaltime = 1\n").find("clock")
    assert clock is not None
    assert clock.get("offset") == "localtime"
    assert clock.get("adjustment") in (None, "reset")


@pytest.mark.parametrize(
    ("native", "mode"),
    [
        ("always_emulate", "emulate"),
        ("native", "native"),
        ("native_paravirt", "paravirt"),
        ("default", "auto"),
    ],
)
def test_tsc_mode_both_ways(native: str, mode: str) -> None:
    xml = _xml(f'tsc_mode = "{native}"\n')
    timer = xml.find("clock/timer[@name='tsc']")
    assert timer is not None and timer.get("mode") == mode
    back = parse_config(domxml_to_native("xen-xl", etree.tostring(xml)))
    assert back["tsc_mode"] == native


def test_device_model_override_is_the_emulator_of_any_guest() -> None:
    xml = _xml('device_model_override = "/opt/qemu"\n')
    assert xml.findtext("devices/emulator") == "/opt/qemu"
    assert (
        parse_config(domxml_to_native("xen-xl", etree.tostring(xml)))["device_model_override"] == "/opt/qemu"
    )


@pytest.mark.parametrize(("letters", "devs"), [("dc", ["cdrom", "hd"]), ("nxa", ["network", "hd", "fd"])])
def test_boot_letters_other_than_a_d_n_mean_disk(letters: str, devs: list[str]) -> None:
    xml = _xml(f'builder = "hvm"\nboot = "{letters}"\n')
    assert [b.get("dev") for b in xml.findall("os/boot")] == devs


# ---------------------------------------------------------------- vif


def test_vif_bridge_vlan_is_read_whatever_the_script() -> None:
    iface = _xml('vif = [ "mac=00:16:3e:00:00:01,bridge=br0.42" ]\n').find("devices/interface")
    assert iface is not None
    src = iface.find("source")
    assert src is not None and src.get("bridge") == "br0"
    assert [t.get("id") for t in iface.findall("vlan/tag")] == ["42"]
    vp = iface.find("virtualport")
    assert vp is not None and vp.get("type") == "openvswitch"


def test_vif_type_names_netfront_per_format() -> None:
    # xl calls the PV NIC type "vif", xm "netfront"; the other word is no model
    def model(fmt: str, typ: str) -> str | None:
        m = _xml(f'vif = [ "bridge=br0,type={typ}" ]\n', fmt).find("devices/interface/model")
        return None if m is None else m.get("type")

    assert model("xen-xl", "vif") == "netfront"
    assert model("xen-xl", "netfront") is None
    assert model("xen-xm", "netfront") == "netfront"
    assert model("xen-xm", "vif") is None


@pytest.mark.parametrize(
    ("rate", "kb"),
    [("10MB/s", 10240), ("100KB/s", 100), ("1GB/s", 1048576), ("80Mb/s", 10240), ("5MB/s@20ms", 5120)],
)
def test_vif_rate(rate: str, kb: int) -> None:
    out = _xml(f'vif = [ "bridge=br0,rate={rate}" ]\n').find("devices/interface/bandwidth/outbound")
    assert out is not None and out.get("average") == str(kb)


@pytest.mark.parametrize("rate", ["10", "fast", "10MB", "10TB/s"])
def test_malformed_vif_rate_is_refused(rate: str) -> None:
    with pytest.raises(VirtError, match=f"rate '{rate}'"):
        _xml(f'vif = [ "bridge=br0,rate={rate}" ]\n')


# ---------------------------------------------------------------- disks read from xl.cfg


def _disk(spec: str, cfg: str = "") -> _E:
    disk = _xml(f"{cfg}disk = [ '{spec}' ]\n").find("devices/disk")
    assert disk is not None
    return disk


def test_named_target_takes_the_rest_of_the_spec() -> None:
    disk = _disk("vdev=xvda,format=raw,target=/images/a,b.img")
    src = disk.find("source")
    assert src is not None and src.get("file") == "/images/a,b.img"


def test_rbd_target_is_a_network_disk() -> None:
    spec = (
        r"format=raw,vdev=xvdb,access=rw,backendtype=qdisk,"
        r"target=rbd:pool/image@snap:id=admin:auth_supported=none:"
        r"mon_host=mon1.example.org\\:6321\\;mon2.example.org\\:6322\\;[fe80\\:\\:1]\\:6789"
    )
    disk = _disk(spec)
    assert (disk.get("type"), disk.get("device")) == ("network", "disk")
    drv = disk.find("driver")
    assert drv is not None and (drv.get("name"), drv.get("type")) == ("qemu", "raw")
    src = disk.find("source")
    assert src is not None
    assert (src.get("protocol"), src.get("name")) == ("rbd", "pool/image")
    snap = src.find("snapshot")
    assert snap is not None and snap.get("name") == "snap"
    hosts = [(h.get("name"), h.get("port")) for h in src.findall("host")]
    assert hosts == [("mon1.example.org", "6321"), ("mon2.example.org", "6322"), ("fe80::1", "6789")]


def test_rbd_disk_round_trips_through_xl() -> None:
    spec = (
        r"format=raw,vdev=xvdb,access=rw,backendtype=qdisk,"
        r"target=rbd:pool/image:auth_supported=none:mon_host=m1\\:6321\\;m2"
    )
    xml = domxml_from_native("xen-xl", f"name = \"g\"\ndisk = [ '{spec}' ]\n")
    back = parse_config(domxml_to_native("xen-xl", xml))
    assert back["disk"] == [
        r"format=raw,vdev=xvdb,access=rw,backendtype=qdisk,target=rbd:pool/image:auth_supported=none:mon_host=m1\:6321\;m2"
    ]
    again = etree.fromstring(domxml_from_native("xen-xl", domxml_to_native("xen-xl", xml)).encode())
    src = again.find("devices/disk/source")
    assert src is not None
    assert [(h.get("name"), h.get("port")) for h in src.findall("host")] == [("m1", "6321"), ("m2", None)]


def test_cdrom_is_a_readonly_qemu_file_drive() -> None:
    disk = _disk("vdev=hdc,devtype=cdrom,access=rw,backendtype=phy,target=/dev/sr0", 'builder = "hvm"\n')
    drv = disk.find("driver")
    assert (disk.get("type"), disk.get("device")) == ("file", "cdrom")
    assert drv is not None and drv.get("name") == "qemu"
    assert disk.find("readonly") is not None
    empty = _disk("vdev=hdc,devtype=cdrom", 'builder = "hvm"\n')
    assert empty.find("source") is None
    edrv = empty.find("driver")
    assert edrv is None or edrv.get("type") is None


@pytest.mark.parametrize(
    ("vdev", "hvm", "bus"),
    [
        ("xvda", True, "xen"),
        ("hda", True, "ide"),
        ("sda", True, "scsi"),
        ("vda", True, "ide"),
        ("hda", False, "xen"),
    ],
)
def test_disk_bus_follows_vdev_and_guest_type(vdev: str, hvm: bool, bus: str) -> None:
    disk = _disk(f"vdev={vdev},target=/i.img", 'builder = "hvm"\n' if hvm else "")
    tgt = disk.find("target")
    assert tgt is not None and tgt.get("bus") == bus


def test_unknown_disk_format_is_refused_by_name() -> None:
    with pytest.raises(VirtError, match="vmdk") as ei:
        _disk("vdev=xvda,format=vmdk,target=/i.img")
    assert isinstance(ei.value, (ConfSyntaxError, ConfigUnsupportedError))


def test_unknown_disk_backend_is_refused_by_name() -> None:
    with pytest.raises(ConfigUnsupportedError, match="nbdkit"):
        _disk("vdev=xvda,backendtype=nbdkit,target=/i.img")


# ---------------------------------------------------------------- disks written to xl.cfg


def _xl_disk(disk_xml: str) -> str:
    xml = f"""<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>xen</type><kernel>/k</kernel></os><devices>{disk_xml}</devices></domain>"""
    disks = parse_config(domxml_to_native("xen-xl", xml))["disk"]
    assert isinstance(disks, list) and len(disks) == 1
    return str(disks[0])


def test_rbd_network_disk_is_written_as_an_rbd_target() -> None:
    spec = _xl_disk(
        """<disk type='network' device='disk'><driver name='qemu' type='raw'/>
        <source protocol='rbd' name='pool/image'><host name='m1' port='6321'/><host name='::1' port='6789'/>
        </source><target dev='xvdb' bus='xen'/></disk>"""
    )
    assert spec == (
        r"format=raw,vdev=xvdb,access=rw,backendtype=qdisk,"
        r"target=rbd:pool/image:auth_supported=none:mon_host=m1\:6321\;[\:\:1]\:6789"
    )


@pytest.mark.parametrize("protocol", ["nbd", "iscsi", "gluster", "http", "nfs"])
def test_other_network_disks_are_refused_naming_the_protocol(protocol: str) -> None:
    with pytest.raises(NoSupportError, match=f"'{protocol}'") as ei:
        _xl_disk(
            f"""<disk type='network' device='disk'><driver name='qemu' type='raw'/>
            <source protocol='{protocol}' name='vol/img'><host name='h' port='1'/></source>
            <target dev='xvdb' bus='xen'/></disk>"""
        )
    assert ei.value.code == ErrorNumber.NO_SUPPORT


def test_rbd_image_name_with_a_colon_is_refused() -> None:
    with pytest.raises(ConfigUnsupportedError, match="pool/im:age"):
        _xl_disk(
            """<disk type='network' device='disk'><source protocol='rbd' name='pool/im:age'/>
            <target dev='xvdb'/></disk>"""
        )


@pytest.mark.parametrize(
    ("drv", "fmt"),
    [("raw", "raw"), ("qcow2", "qcow2"), ("qcow", "qcow"), ("qed", "qed"), ("vmdk", "raw"), (None, "raw")],
)
def test_disk_format_written(drv: str | None, fmt: str) -> None:
    d = f"<driver name='qemu' type='{drv}'/>" if drv else ""
    spec = _xl_disk(f"<disk type='file'>{d}<source file='/i.img'/><target dev='xvda'/></disk>")
    assert spec.startswith(f"format={fmt},")


def test_backendtype_only_for_a_named_driver() -> None:
    assert "backendtype" not in _xl_disk(
        "<disk type='block'><source dev='/dev/vg/a'/><target dev='xvda'/></disk>"
    )
    assert "backendtype=phy" in _xl_disk(
        "<disk type='block'><driver name='phy'/><source dev='/dev/vg/a'/><target dev='xvda'/></disk>"
    )
    assert "backendtype=qdisk" in _xl_disk(
        "<disk type='file'><driver name='file'/><source file='/a'/><target dev='xvda'/></disk>"
    )


def test_shareable_disk_access() -> None:
    spec = _xl_disk("<disk type='file'><source file='/a'/><target dev='xvda'/><shareable/></disk>")
    assert ",access=!," in spec


def test_transient_disk_is_refused() -> None:
    with pytest.raises(ConfigUnsupportedError, match="transient"):
        _xl_disk("<disk type='file'><source file='/a'/><target dev='xvda'/><transient/></disk>")


def test_floppy_is_left_out_of_xl() -> None:
    xml = """<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>hvm</type></os><devices>
      <disk type='file' device='floppy'><source file='/f.img'/><target dev='fda'/></disk>
      <disk type='file'><source file='/a.img'/><target dev='hda'/></disk></devices></domain>"""
    disks = parse_config(domxml_to_native("xen-xl", xml))["disk"]
    assert isinstance(disks, list)
    assert [d for d in disks if "f.img" in str(d)] == []
    assert len(disks) == 1


# ---------------------------------------------------------------- keys beyond the shared vectors


def _back(xml: _E) -> dict[str, object]:
    return dict(parse_config(domxml_to_native("xen-xl", etree.tostring(xml))))


def test_e820_host_and_passthrough_both_ways() -> None:
    xml = _xml('e820_host = 1\npassthrough = "sync_pt"\n')
    assert [(x.tag, x.get("state"), x.get("mode")) for x in xml.findall("features/xen/*")] == [
        ("e820_host", "on", None),
        ("passthrough", "on", "sync_pt"),
    ]
    back = _back(xml)
    assert (back["e820_host"], back["passthrough"]) == (1, "sync_pt")
    # e820_host is a PV setting; passthrough=disabled is stated as off and not written back
    hvm = _xml('builder = "hvm"\ne820_host = 1\npassthrough = "disabled"\n')
    assert [(x.tag, x.get("state")) for x in hvm.findall("features/xen/*")] == [("passthrough", "off")]
    assert "passthrough" not in _back(hvm) and "e820_host" not in _back(hvm)


def test_bad_passthrough_mode_is_refused() -> None:
    with pytest.raises(ConfSyntaxError, match="passthrough mode 'sometimes'"):
        _xml('passthrough = "sometimes"\n')


def test_xenbus_limits_both_ways() -> None:
    xml = _xml("max_event_channels = 4095\nmax_grant_frames = 64\n")
    ctl = xml.find("devices/controller[@type='xenbus']")
    assert ctl is not None
    assert (ctl.get("maxEventChannels"), ctl.get("maxGrantFrames")) == ("4095", "64")
    back = _back(xml)
    assert (back["max_event_channels"], back["max_grant_frames"]) == (4095, 64)


def test_acpi_firmware_both_ways() -> None:
    xml = _xml('builder = "hvm"\nacpi_firmware = "/var/lib/slic.bin"\n')
    table = xml.find("os/acpi/table")
    assert table is not None and table.text == "/var/lib/slic.bin"
    assert _back(xml)["acpi_firmware"] == "/var/lib/slic.bin"


@pytest.mark.parametrize(("value", "vmx_off"), [(1, False), (0, True)])
def test_nestedhvm_both_ways(value: int, vmx_off: bool) -> None:
    xml = _xml(f'builder = "hvm"\nnestedhvm = {value}\n')
    cpu = xml.find("cpu")
    assert cpu is not None and cpu.get("mode") == "host-passthrough"
    assert (cpu.find("feature[@name='vmx'][@policy='disable']") is not None) == vmx_off
    back = _back(xml)
    assert back["nestedhvm"] == value
    assert "cpuid" not in back


def test_cpuid_translates_libxl_feature_names_both_ways() -> None:
    xml = _xml('builder = "hvm"\ncpuid = "host,sse3=1,tm=0,page1gb=x,avx=k"\n')
    feats = [(f.get("name"), f.get("policy")) for f in xml.findall("cpu/feature")]
    assert feats == [("pni", "force"), ("tm", "disable"), ("pdpe1gb", "optional"), ("avx", "optional")]
    assert _back(xml)["cpuid"] == "host,sse3=1,tm=0,page1gb=x,avx=x"


@pytest.mark.parametrize("cpuid", ["family=6", "host,sse3", "host,sse3=2"])
def test_malformed_cpuid_is_refused(cpuid: str) -> None:
    with pytest.raises(ConfSyntaxError, match="cpuid"):
        _xml(f'builder = "hvm"\ncpuid = "{cpuid}"\n')


def test_channels_both_ways() -> None:
    xml = _xml(
        'channel = [ "connection=pty,name=org.qemu.guest_agent.0",'
        ' "connection=socket,path=/run/g.sock,name=org.example.x" ]\n'
    )
    chans = []
    for c in xml.findall("devices/channel"):
        src, tgt = c.find("source"), c.find("target")
        assert tgt is not None
        chans.append((c.get("type"), src.get("path") if src is not None else None, tgt.get("name")))
    assert chans == [("pty", None, "org.qemu.guest_agent.0"), ("unix", "/run/g.sock", "org.example.x")]
    assert _back(xml)["channel"] == [
        "connection=pty,name=org.qemu.guest_agent.0",
        "connection=socket,path=/run/g.sock,name=org.example.x",
    ]


def test_usb_controllers_and_host_devices_both_ways() -> None:
    xml = _xml(
        'usbctrl = [ "type=qusb,version=1,ports=4", "version=2,ports=10" ]\n'
        'usbdev = [ "hostbus=1,hostaddr=1a" ]\n'
    )
    ctls = [(c.get("model"), c.get("ports")) for c in xml.findall("devices/controller[@type='usb']")]
    assert ctls == [("qusb1", "4"), ("qusb2", "16")]
    addr = xml.find("devices/hostdev[@type='usb']/source/address")
    assert addr is not None and (addr.get("bus"), addr.get("device")) == ("1", "26")
    back = _back(xml)
    assert back["usbctrl"] == ["type=qusb,version=1,ports=4", "type=qusb,version=2,ports=10"]
    assert back["usbdev"] == ["hostbus=1,hostaddr=1a"]


def test_hpet_on_a_pv_guest_is_refused() -> None:
    xml = """<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>xen</type><kernel>/k</kernel></os>
      <clock offset='utc'><timer name='hpet' present='yes'/></clock></domain>"""
    with pytest.raises(ConfigUnsupportedError, match="hpet"):
        domxml_to_native("xen-xl", xml)


@pytest.mark.parametrize("key", ["on_poweroff", "on_reboot", "on_crash"])
def test_unknown_lifecycle_action_is_refused(key: str) -> None:
    with pytest.raises(ConfSyntaxError, match=f"explode for {key}"):
        _xml(f'{key} = "explode"\n')


def test_soundhw_all_and_unknown_models() -> None:
    xml = _xml('builder = "hvm"\nsoundhw = "all"\n')
    assert [s.get("model") for s in xml.findall("devices/sound")] == ["sb16", "es1370"]
    with pytest.raises(ConfSyntaxError, match="sound model 'gus'"):
        _xml('builder = "hvm"\nsoundhw = "sb16,gus"\n')


@pytest.mark.parametrize(
    ("opt", "filtering"), [(",permissive=1", "no"), (",permissive=0", "yes"), ("", None)]
)
def test_pci_permissive(opt: str, filtering: str | None) -> None:
    src = _xml(f'pci = [ "01:00.0{opt}" ]\n').find("devices/hostdev/source")
    assert src is not None and src.get("writeFiltering") == filtering


def test_multiple_serial_ports_are_refused_by_xm() -> None:
    with pytest.raises(ConfigUnsupportedError, match="xen-xm"):
        _xml('builder = "hvm"\nkernel = "/l"\nserial = [ "pty", "null" ]\n', "xen-xm")


# ---------------------------------------------------------------- vifs written


def _xl_vif(iface_xml: str, os_type: str = "xen") -> str:
    xml = f"""<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>{os_type}</type></os><devices>{iface_xml}</devices></domain>"""
    vifs = parse_config(domxml_to_native("xen-xl", xml))["vif"]
    assert isinstance(vifs, list) and len(vifs) == 1
    return str(vifs[0])


def test_bridge_vif_gets_libvirts_default_script() -> None:
    spec = _xl_vif(
        "<interface type='bridge'><mac address='00:16:3e:00:00:01'/><source bridge='br0'/></interface>"
    )
    assert spec == "mac=00:16:3e:00:00:01,bridge=br0,script=vif-bridge"


def test_vlan_tags_are_written_only_for_open_vswitch() -> None:
    ovs = _xl_vif(
        "<interface type='bridge'><source bridge='ovsbr'/><vlan trunk='yes'><tag id='4'/><tag id='5'/></vlan>"
        "<virtualport type='openvswitch'/></interface>"
    )
    assert ovs == "bridge=ovsbr:4:5,script=vif-openvswitch"
    plain = _xl_vif("<interface type='bridge'><source bridge='br0'/><vlan><tag id='4'/></vlan></interface>")
    assert plain == "bridge=br0,script=vif-bridge"


def test_netfront_model_is_a_type_only_for_hvm() -> None:
    iface = "<interface type='bridge'><source bridge='br0'/><model type='netfront'/></interface>"
    assert _xl_vif(iface).endswith(",model=netfront")
    assert _xl_vif(iface, "hvm").endswith(",type=vif")


@pytest.mark.parametrize(
    "iface",
    [
        "<interface type='bridge'><source bridge='br0,script=/tmp/evil'/></interface>",
        "<interface type='ethernet'><script path='/etc/xen/a,b'/></interface>",
        "<interface type='bridge'><source bridge='br0'/><target dev='vif0,rate=1KB/s'/></interface>",
    ],
)
def test_a_comma_cannot_smuggle_vif_parameters(iface: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match="cannot contain ','"):
        _xl_vif(iface)


def test_a_comma_in_vdev_cannot_smuggle_disk_parameters() -> None:
    with pytest.raises(VirtError, match="xvda,backendtype=phy"):
        _xl_disk("<disk type='file'><source file='/a.img'/><target dev='xvda,backendtype=phy'/></disk>")


# ---------------------------------------------------------------- more disk syntax


def test_empty_positional_parameters_keep_their_place() -> None:
    disk = _disk("/images/a.img,,hdb,,backendtype=phy", 'builder = "hvm"\n')
    tgt, src = disk.find("target"), disk.find("source")
    assert tgt is not None and tgt.get("dev") == "hdb"
    assert src is not None and src.get("dev") == "/images/a.img"
    assert disk.get("type") == "block"


@pytest.mark.parametrize(
    ("target", "path", "dtype", "drv", "fmt"),
    [
        ("phy:/dev/vg/a", "/dev/vg/a", "block", "phy", "raw"),
        ("tap:qcow2:/i.qcow2", "/i.qcow2", "file", "tap", "qcow2"),
        ("aio:/i.img", "/i.img", "file", "qemu", "raw"),
    ],
)
def test_deprecated_target_prefixes(target: str, path: str, dtype: str, drv: str, fmt: str) -> None:
    disk = _disk(f"vdev=xvda,target={target}")
    src, driver = disk.find("source"), disk.find("driver")
    assert src is not None and driver is not None
    assert (src.get("dev") or src.get("file"), disk.get("type"), driver.get("name"), driver.get("type")) == (
        path,
        dtype,
        drv,
        fmt,
    )


def test_unknown_deprecated_target_prefix_is_refused() -> None:
    with pytest.raises(ConfSyntaxError, match="prefix 'iscsi:'"):
        _disk("vdev=xvda,target=iscsi:/dev/x")


def _xm_disk(spec: str, hvm: bool = False) -> _E:
    cfg = 'builder = "hvm"\nkernel = "/l"\n' if hvm else ""
    disk = _xml(f"{cfg}disk = [ '{spec}' ]\n", "xen-xm").find("devices/disk")
    assert disk is not None
    return disk


@pytest.mark.parametrize(
    ("spec", "dtype", "drv", "fmt", "device"),
    [
        # no driver prefix: a phy block device, as libvirt reads xm
        ("/dev/vg/a,xvda,w", "block", "phy", None, "disk"),
        ("file:/i.img,xvda,w", "file", "file", None, "disk"),
        ("tap:aio:/i.img,xvda,w", "file", "tap", "raw", "disk"),
        ("tap2:qcow2:/i.q,xvda,w", "file", "tap2", "qcow2", "disk"),
        ("file:/i.iso,ioemu:hdc:cdrom,r", "file", "file", None, "cdrom"),
        # only :cdrom makes a CD-ROM
        ("file:/f.img,fda:floppy,w", "file", "file", None, "disk"),
    ],
)
def test_xm_disk_specs(spec: str, dtype: str, drv: str, fmt: str | None, device: str) -> None:
    disk = _xm_disk(spec, hvm=True)
    driver = disk.find("driver")
    assert driver is not None
    assert (disk.get("type"), driver.get("name"), driver.get("type"), disk.get("device")) == (
        dtype,
        drv,
        fmt,
        device,
    )
    tgt = disk.find("target")
    assert tgt is not None and ":" not in tgt.get("dev", "")


def test_xm_disk_modes() -> None:
    assert _xm_disk("file:/a,xvda,r").find("readonly") is not None
    assert _xm_disk("file:/a,xvda,w!").find("shareable") is not None
    # a CD-ROM is as writable as its mode says
    cdrom = _xm_disk("file:/a.iso,hdc:cdrom,w!", hvm=True)
    assert cdrom.find("readonly") is None and cdrom.find("shareable") is not None


def test_xm_tap_needs_a_known_subtype() -> None:
    with pytest.raises(ConfSyntaxError, match="driver type 'vdi'"):
        _xm_disk("tap:vdi:/i.vdi,xvda,w")


def _xm_of(disk_xml: str) -> str:
    xml = f"""<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>xen</type><kernel>/k</kernel><cmdline>root=/dev/xvda1 ro</cmdline></os>
      <devices>{disk_xml}</devices></domain>"""
    cfg = parse_config(domxml_to_native("xen-xm", xml))
    assert cfg["extra"] == "root=/dev/xvda1 ro" and "root" not in cfg
    disks = cfg["disk"]
    assert isinstance(disks, list) and len(disks) == 1
    return str(disks[0])


@pytest.mark.parametrize(
    ("disk", "spec"),
    [
        ("<disk type='file'><driver name='tap' type='raw'/><source file='/a'/><target dev='xvda'/></disk>",
         "tap:aio:/a,xvda,w"),
        ("<disk type='file'><driver name='tap2' type='qcow2'/><source file='/a'/><target dev='xvda'/></disk>",
         "tap2:qcow2:/a,xvda,w"),
        ("<disk type='block'><source dev='/dev/b'/><target dev='xvda'/><shareable/></disk>",
         "phy:/dev/b,xvda,!"),
        ("<disk type='file' device='cdrom'><source file='/c.iso'/><target dev='hdc'/><readonly/></disk>",
         "file:/c.iso,hdc:cdrom,r"),
    ],
)  # fmt: skip
def test_xm_disks_written(disk: str, spec: str) -> None:
    assert _xm_of(disk) == spec


def test_xm_refuses_network_disks() -> None:
    with pytest.raises(ConfigUnsupportedError, match="xvdb"):
        _xm_of("<disk type='network'><source protocol='rbd' name='p/i'/><target dev='xvdb'/></disk>")


# ---------------------------------------------------------------- vNUMA

_VNUMA = (
    'builder = "hvm"\nmemory = 2048\nvcpus = 4\n'
    'vnuma = [ [ "pnode=0", "size=1024", "vcpus=0,3", "vdistances=10,30" ],'
    ' [ "pnode=1", "size=1024", "vcpus=1-2", "vdistances=30,10" ] ]\n'
)


def test_vnuma_both_ways() -> None:
    xml = _xml(_VNUMA)
    cells = [
        (
            c.get("id"),
            c.get("cpus"),
            c.get("memory"),
            [s.get("value") for s in c.findall("distances/sibling")],
        )
        for c in xml.findall("cpu/numa/cell")
    ]
    assert cells == [("0", "0,3", "1048576", ["10", "30"]), ("1", "1-2", "1048576", ["30", "10"])]
    assert _back(xml)["vnuma"] == [
        ["pnode=0", "size=1024", "vcpus=0,3", "vdistances=10,30"],
        ["pnode=1", "size=1024", "vcpus=1-2", "vdistances=30,10"],
    ]


def test_vnuma_distances_not_given_are_completed() -> None:
    xml = """<domain type='xen'><name>g</name><memory unit='MiB'>3072</memory><vcpu>3</vcpu>
      <os><type>hvm</type></os><cpu><numa>
        <cell id='0' cpus='0' memory='1' unit='GiB'><distances><sibling id='1' value='15'/></distances></cell>
        <cell id='1' cpus='1' memory='1024' unit='MiB'/>
        <cell id='2' cpus='2' memory='1048576' unit='KiB'/>
      </numa></cpu></domain>"""
    vnuma = parse_config(domxml_to_native("xen-xl", xml))["vnuma"]
    assert vnuma == [
        ["pnode=0", "size=1024", "vcpus=0", "vdistances=10,15,20"],
        ["pnode=1", "size=1024", "vcpus=1", "vdistances=15,10,20"],
        ["pnode=2", "size=1024", "vcpus=2", "vdistances=20,20,10"],
    ]


@pytest.mark.parametrize(
    ("vnode", "error", "match"),
    [
        ('"pnode=2", "size=1024", "vcpus=1", "vdistances=10,10"', ConfigUnsupportedError, "pnode value '2'"),
        ('"pnode=1", "size=1024", "vcpus=1", "vdistances=10"', ConfigUnsupportedError, "doesn't fit"),
        ('"pnode=1", "vcpus=1"', ConfSyntaxError, "incomplete vnuma configuration for vnode 1"),
        ('"pnode=1", "size=1024", "vcpus=1", "color=red"', ConfSyntaxError, "color=red"),
        ('"pnode=1", "size=1024", "vcpus=1-9"', ConfigUnsupportedError, "greater than 4 maxvcpus"),
    ],
)
def test_bad_vnuma_is_refused(vnode: str, error: type[VirtError], match: str) -> None:
    cfg = f'builder = "hvm"\nvcpus = 4\nvnuma = [ [ "pnode=0", "size=1024", "vcpus=0" ], [ {vnode} ] ]\n'
    with pytest.raises(error, match=match):
        _xml(cfg)


# ---------------------------------------------------------------- xen-sxpr (xend's S-expressions)


def _sx(body: str) -> _E:
    text = f"(domain (name 'g') (uuid 'c7a5fdb2-cdaf-9455-926a-d65c16db1809') (memory 128) (vcpus 1) {body})"
    return etree.fromstring(domxml_from_native("xen-sxpr", text).encode())


def test_sxpr_hvm_loader_and_direct_kernel() -> None:
    # older xend: the kernel is the loader, whatever its name
    old = _sx("(image (hvm (kernel '/opt/firmware.bin') (boot dc)))")
    assert (old.findtext("os/loader"), old.find("os/kernel")) == ("/opt/firmware.bin", None)
    assert [b.get("dev") for b in old.findall("os/boot")] == ["cdrom", "hd"]
    # a named loader makes a different kernel a direct kernel boot
    new = _sx("(image (hvm (loader '/usr/lib/xen/boot/hvmloader') (kernel '/vmlinuz') (args 'quiet')))")
    assert (new.findtext("os/loader"), new.findtext("os/kernel"), new.findtext("os/cmdline")) == (
        "/usr/lib/xen/boot/hvmloader",
        "/vmlinuz",
        "quiet",
    )
    with pytest.raises(ConfSyntaxError, match="missing HVM loader"):
        _sx("(image (hvm (boot c)))")


def test_sxpr_pv_needs_a_kernel_or_bootloader() -> None:
    with pytest.raises(ConfSyntaxError, match="missing kernel & bootloader"):
        _sx("(image (linux (args 'quiet')))")
    assert _sx("(bootloader '/usr/bin/pygrub') (image (linux))").findtext("bootloader") == "/usr/bin/pygrub"


def test_sxpr_disks() -> None:
    xml = _sx(
        "(image (hvm (kernel '/usr/lib/xen/boot/hvmloader')))"
        "(device (vbd (dev 'xvda') (uname 'phy:/dev/vg/a') (mode 'w')))"
        "(device (tap2 (dev 'vdb') (uname 'tap:qcow2:/b.q') (mode 'w!')))"
        "(device (vbd (dev 'hdc:cdrom') (uname 'file:/c.iso') (mode 'w')))"
    )
    got = []
    for d in xml.findall("devices/disk"):
        drv, tgt = d.find("driver"), d.find("target")
        assert drv is not None and tgt is not None
        flags = (d.find("readonly") is not None, d.find("shareable") is not None)
        got.append(
            (
                tgt.get("dev"),
                tgt.get("bus"),
                d.get("type"),
                d.get("device"),
                drv.get("name"),
                drv.get("type"),
                *flags,
            )
        )
    assert got == [
        ("xvda", "xen", "block", "disk", "phy", None, False, False),
        ("vdb", "ide", "file", "disk", "tap2", "qcow2", False, True),
        ("hdc", "ide", "file", "cdrom", "file", None, False, False),
    ]


@pytest.mark.parametrize(
    ("vbd", "match"),
    [
        ("(vbd (dev 'xvda') (uname '/images/a.img') (mode 'w'))", "missing driver name"),
        ("(vbd (dev 'xvda') (uname 'tap:vdi:/a.vdi') (mode 'w'))", "driver type 'vdi'"),
        ("(vbd (dev 'xvdb') (mode 'r'))", "vbd xvdb has no src"),
        ("(vbd (uname 'file:/a') (mode 'r'))", "vbd has no dev"),
    ],
)
def test_sxpr_bad_disks_are_refused(vbd: str, match: str) -> None:
    with pytest.raises(ConfSyntaxError, match=match):
        _sx(f"(image (linux (kernel '/k'))) (device {vbd})")


def test_sxpr_vif_rate() -> None:
    xml = _sx("(image (linux (kernel '/k'))) (device (vif (bridge 'br0') (rate '2MB/s')))")
    out = xml.find("devices/interface/bandwidth/outbound")
    assert out is not None and out.get("average") == "2048"


# ---------------------------------------------------------------- graphics


def _graphics(cfg: str) -> dict[str, str | None]:
    g = _xml(cfg).find("devices/graphics")
    assert g is not None
    return dict(g.attrib)


def test_hvm_vnc_port() -> None:
    # vncunused defaults to 1: any port, whatever vncdisplay says
    assert _graphics('builder = "hvm"\nvnc = 1\nvncdisplay = 3\n')["autoport"] == "yes"
    # vncunused=0: display N is port 5900+N, display 0 when none is given
    assert _graphics('builder = "hvm"\nvnc = 1\nvncunused = 0\nvncdisplay = 3\n')["port"] == "5903"
    assert _graphics('builder = "hvm"\nvnc = 1\nvncunused = 0\n')["port"] == "5900"


def test_pv_vfb() -> None:
    assert _graphics('vfb = [ "type=vnc,vncdisplay=2" ]\n')["port"] == "5902"
    assert _graphics('vfb = [ "type=vnc,vncunused=1,vncdisplay=2" ]\n')["autoport"] == "yes"
    assert _graphics('vfb = [ "display=:0,type=sdl" ]\n') == {"type": "sdl", "display": ":0"}
    with pytest.raises(ConfSyntaxError, match="vncdisplay value 'two'"):
        _graphics('vfb = [ "type=vnc,vncdisplay=two" ]\n')


def test_hvm_spice() -> None:
    xml = _xml('builder = "hvm"\nspice = 1\nspicetls_port = 5901\nspicedisable_ticketing = 1\n')
    g = xml.find("devices/graphics")
    assert g is not None
    assert (g.get("type"), g.get("port"), g.get("tlsPort"), g.get("autoport"), g.get("passwd")) == (
        "spice",
        None,
        "5901",
        "no",
        None,
    )
    mouse, clip = g.find("mouse"), g.find("clipboard")
    assert mouse is not None and mouse.get("mode") == "server"
    assert clip is not None and clip.get("copypaste") == "no"
    with pytest.raises(ConfSyntaxError, match="spicepasswd was missing"):
        _xml('builder = "hvm"\nspice = 1\n')


# ---------------------------------------------------------------- memory, vCPUs, identity


def test_memory_never_exceeds_maxmem() -> None:
    xml = _xml("memory = 512\nmaxmem = 256\n")
    assert (xml.findtext("memory"), xml.findtext("currentMemory")) == ("262144", "262144")
    xml = _xml("memory = 256\nmaxmem = 512\n")
    assert (xml.findtext("memory"), xml.findtext("currentMemory")) == ("524288", "262144")


def test_vcpus_never_exceed_maxvcpus() -> None:
    v = _xml("vcpus = 4\nmaxvcpus = 2\n").find("vcpu")
    assert v is not None and (v.text, v.get("current")) == ("2", None)
    v = _xml("vcpus = 2\nmaxvcpus = 4\n").find("vcpu")
    assert v is not None and (v.text, v.get("current")) == ("4", "2")


@pytest.mark.parametrize(("key", "value"), [("memory", "-5"), ("maxmem", '"lots"'), ("vcpus", "-1")])
def test_negative_or_non_numeric_sizes_are_refused(key: str, value: str) -> None:
    with pytest.raises(ConfSyntaxError, match=key):
        _xml(f"{key} = {value}\n")


@pytest.mark.parametrize(
    ("uuid", "match"), [("", "can't be empty"), ("not-a-uuid", "'not-a-uuid' not parseable")]
)
def test_bad_uuid_is_refused(uuid: str, match: str) -> None:
    with pytest.raises(ConfSyntaxError, match=match):
        _xml(f'uuid = "{uuid}"\n')


def test_cpus_is_a_cpu_list() -> None:
    v = _xml('cpus = "0-3,^1"\n').find("vcpu")
    assert v is not None and v.get("cpuset") == "0,2-3"
    with pytest.raises(ConfSyntaxError, match="cpus 'all'"):
        _xml('cpus = "all"\n')


def _xl_of_clock(os_type: str, clock: str) -> dict[str, object]:
    xml = f"""<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>{os_type}</type>{"<kernel>/k</kernel>" if os_type == "xen" else ""}</os>{clock}</domain>"""
    return dict(parse_config(domxml_to_native("xen-xl", xml)))


def test_clock_written_as_libvirt_writes_it() -> None:
    hvm = _xl_of_clock("hvm", "<clock offset='variable' adjustment='3600' basis='localtime'/>")
    assert (hvm["rtc_timeoffset"], hvm["localtime"]) == (3600, 1)
    pv = _xl_of_clock("xen", "<clock offset='localtime'/>")
    assert pv["localtime"] == 1 and "rtc_timeoffset" not in pv


@pytest.mark.parametrize(
    ("os_type", "clock", "match"),
    [
        ("xen", "<clock offset='variable' adjustment='60'/>", "offset='variable'"),
        ("hvm", "<clock offset='utc' adjustment='reset'/>", "adjustment='reset'"),
        ("hvm", "<clock offset='timezone' timezone='Europe/Paris'/>", "offset='timezone'"),
    ],
)
def test_clocks_xen_cannot_keep_are_refused(os_type: str, clock: str, match: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match=match):
        _xl_of_clock(os_type, clock)


def _hvm_native(devices: str, fmt: str = "xen-xl") -> dict[str, object]:
    xml = f"""<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>hvm</type><loader>/usr/lib/xen/boot/hvmloader</loader></os><devices>{devices}</devices></domain>"""
    return dict(parse_config(domxml_to_native(fmt, xml)))


def test_serial_ports_are_placed_by_target_port() -> None:
    out = _hvm_native(
        "<serial type='pty'><target port='2'/></serial><serial type='null'><target port='0'/></serial>"
    )
    assert out["serial"] == ["null", "none", "pty"]
    assert _hvm_native("<serial type='pty'><target port='0'/></serial>")["serial"] == "pty"


def test_xm_refuses_more_than_one_serial_port() -> None:
    with pytest.raises(ConfigUnsupportedError, match="xen-xm"):
        two = "<serial type='pty'><target port='0'/></serial><serial type='pty'><target port='1'/></serial>"
        _hvm_native(two, "xen-xm")


@pytest.mark.parametrize(
    ("filtering", "suffix"), [("no", ",permissive=1"), ("yes", ",permissive=0"), (None, "")]
)
def test_pci_write_filtering_written(filtering: str | None, suffix: str) -> None:
    attr = f" writeFiltering='{filtering}'" if filtering else ""
    out = _hvm_native(
        f"<hostdev mode='subsystem' type='pci'><source{attr}>"
        "<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source></hostdev>"
    )
    assert out["pci"] == [f"0000:01:00.1{suffix}"]


def test_spice_client_mouse_needs_the_agent() -> None:
    out = _hvm_native("<graphics type='spice' autoport='yes'><mouse mode='client'/></graphics>")
    assert (out["spice"], out["spiceagent_mouse"], out["spicevdagent"]) == (1, 1, 1)


def test_spaces_and_empty_items_between_vif_and_device_settings_are_skipped() -> None:
    xml = _xml(
        'vif = [ "mac=00:16:3e:00:00:01, bridge=br0,," ]\n'
        'usbctrl = [ "version=1,\tports=4," ]\nchannel = [ "connection=pty, name=n," ]\n'
    )
    src = xml.find("devices/interface/source")
    assert src is not None and src.get("bridge") == "br0"
    ctl = xml.find("devices/controller[@type='usb']")
    assert ctl is not None and (ctl.get("model"), ctl.get("ports")) == ("qusb1", "4")
    tgt = xml.find("devices/channel/target")
    assert tgt is not None and tgt.get("name") == "n"
    with pytest.raises(ConfSyntaxError, match="'bridge', which is not key=value"):
        _xml('vif = [ "mac=00:16:3e:00:00:01,bridge" ]\n')


def test_other_protocol_targets_stay_paths_for_qemu_both_ways() -> None:
    # libvirt reads only rbd: as a network disk; QEMU's qdisk takes nbd:/iscsi: names as they are
    spec = "format=raw,vdev=xvdc,access=rw,backendtype=qdisk,target=nbd:storage.example:10809"
    disk = _disk(spec)
    src = disk.find("source")
    assert disk.get("type") == "file"
    assert src is not None and src.get("file") == "nbd:storage.example:10809"
    xml = domxml_from_native("xen-xl", f"name = \"g\"\ndisk = [ '{spec}' ]\n")
    assert parse_config(domxml_to_native("xen-xl", xml))["disk"] == [spec]
