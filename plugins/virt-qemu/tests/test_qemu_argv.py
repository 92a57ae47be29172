"""Domain XML -> QEMU argv, as a pure function (no QEMU started here, except the last test)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from virt_qemu.argv import LaunchSpec, build_argv, device_names, iter_options, qemu_escape

from virtcore.errors import ConfigUnsupportedError, XMLError
from virtcore.xml import parse_domain

SPEC = LaunchSpec(pidfile="/run/x/pid", monitor_fds=(3,))
QEMU = "/usr/bin/qemu-system-x86_64"


def dom(
    devices: str = "", *, name: str = "vm", extra: str = "", os_extra: str = "", dtype: str = "qemu"
) -> str:
    return f"""<domain type='{dtype}'>
  <name>{name}</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>{os_extra}</os>
  <features><acpi/></features>
  {extra}
  <devices>{devices}</devices>
</domain>"""


def argv(xml: str, spec: LaunchSpec = SPEC, machine: str = "pc") -> list[str]:
    return build_argv(parse_domain(xml), emulator=QEMU, machine=machine, spec=spec)


def opts(a: list[str], name: str) -> list[str]:
    return [v for k, v in iter_options(a) if k == name and v is not None]


def devices(a: list[str]) -> list[dict[str, object]]:
    return [json.loads(v) for v in opts(a, "-device")]


def test_escape_doubles_commas_and_refuses_control_characters() -> None:
    assert qemu_escape("a,b,,c") == "a,,b,,,,c"
    with pytest.raises(ConfigUnsupportedError):
        qemu_escape("a\nb")


def test_basic_shape() -> None:
    a = argv(dom())
    assert a[0] == QEMU
    for flag in ("-S", "-no-user-config", "-nodefaults", "-no-shutdown", "-daemonize"):
        assert flag in a
    assert opts(a, "-m") == ["size=131072k"]
    assert opts(a, "-smp") == ["2,sockets=2,dies=1,cores=1,threads=1"]
    assert opts(a, "-machine")[0].startswith("pc,accel=tcg,")
    assert opts(a, "-uuid") == ["6695eb01-f6a4-8304-79aa-97f2502e193f"]
    assert opts(a, "-pidfile") == ["/run/x/pid"]
    assert "socket,id=charmonitor0,fd=3,server=on,wait=off" in opts(a, "-chardev")
    assert opts(a, "-display") == ["none"]
    # libvirt's default balloon
    assert {"driver": "virtio-balloon-pci", "id": "balloon0"} in devices(a)


@pytest.mark.parametrize(
    "name",
    [
        "evil,name",
        "x,debug-threads=off,guest=other",
        "-name",
        "a b\t".strip(),
        "quote'\"",
        "ünïcödé",
        "semi;colon$(rm -rf ~)",
        "x" * 200,
    ],
)
def test_hostile_names_never_inject_arguments(name: str) -> None:
    from xml.sax.saxutils import escape

    a = argv(dom(name=escape(name)))
    name_args = opts(a, "-name")
    assert name_args == [f"guest={name.replace(',', ',,')},debug-threads=on"]
    # Apart from -name's value, the argv is exactly the one of a plain name.
    plain = argv(dom(name="plain"))
    i = a.index("-name") + 1
    assert a[:i] + a[i + 1 :] == plain[:i] + plain[i + 1 :]


def test_name_with_control_characters_is_refused() -> None:
    # the core's rules (virtcore.limits) refuse it when the definition is read
    with pytest.raises(XMLError, match=r"name .* cannot contain control character"):
        argv(dom(name="bad&#10;name"))


def test_paths_with_commas_are_escaped_or_json() -> None:
    a = argv(
        dom(
            """<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
               <source file='/img/a,b.qcow2'/><target dev='vda' bus='virtio'/></disk>
               <serial type='file'><source path='/log/s,1.log'/><target port='0'/></serial>""",
            os_extra="<kernel>/k,1</kernel><cmdline>a=b,c</cmdline>",
        )
    )
    blockdevs = [json.loads(v) for v in opts(a, "-blockdev")]
    assert blockdevs[0]["filename"] == "/img/a,b.qcow2"
    assert blockdevs[1]["driver"] == "qcow2"
    assert "file,id=charserial0,path=/log/s,,1.log,append=on" in opts(a, "-chardev")
    assert opts(a, "-kernel") == ["/k,1"]
    assert opts(a, "-append") == ["a=b,c"]


def test_disk_buses_and_boot_order() -> None:
    a = argv(
        dom(
            """<disk type='file' device='disk'><source file='/a'/><target dev='vda' bus='virtio'/>
                 <boot order='2'/></disk>
               <disk type='file' device='cdrom'><source file='/c.iso'/><target dev='hdc' bus='ide'/>
                 <readonly/><boot order='1'/></disk>
               <disk type='file' device='disk'><source file='/s'/><target dev='sda' bus='sata'/></disk>
               <disk type='file' device='disk'><source file='/q'/><target dev='sdb' bus='scsi'/>
                 <readonly/></disk>"""
        )
    )
    devs = {d["id"]: d for d in devices(a)}
    assert devs["virtio-disk0"]["driver"] == "virtio-blk-pci" and devs["virtio-disk0"]["bootindex"] == 2
    assert devs["ide0-1-0"]["driver"] == "ide-cd" and devs["ide0-1-0"]["bus"] == "ide.1"
    assert devs["ide0-1-0"]["bootindex"] == 1
    assert devs["sata0"]["driver"] == "ich9-ahci" and devs["sata0-0-0"]["bus"] == "sata0.0"
    assert devs["scsi0"]["driver"] == "virtio-scsi-pci" and devs["scsi0-0-0-1"]["driver"] == "scsi-hd"
    fmt = [json.loads(v) for v in opts(a, "-blockdev") if '"file":' in v]
    assert [f["read-only"] for f in fmt] == [False, True, False, True]
    assert device_names(
        parse_domain(dom("""<disk type='file'><source file='/a'/><target dev='vdb'/></disk>"""))
    ).disks == {"vdb": "virtio-disk1"}


def test_network_serial_graphics_input_rng() -> None:
    a = argv(
        dom(
            """<interface type='user'><mac address='52:54:00:aa:bb:cc'/><model type='virtio'/></interface>
               <serial type='pty'><target port='0'/></serial>
               <console type='pty'><target type='serial' port='0'/></console>
               <serial type='unix'><source mode='bind' path='/run/s.sock'/><target port='1'/></serial>
               <graphics type='vnc' port='5905' autoport='no'/><video><model type='none'/></video>
               <input type='tablet' bus='usb'/><input type='keyboard' bus='virtio'/>
               <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
               <memballoon model='none'/>"""
        ),
        LaunchSpec(pidfile="/p", monitor_fds=(3,), serial_log="/log/console.log"),
    )
    assert json.loads(opts(a, "-netdev")[0]) == {"id": "hostnet0", "type": "user"}
    devs = {d["id"]: d for d in devices(a)}
    assert devs["net0"] == {
        "driver": "virtio-net-pci",
        "netdev": "hostnet0",
        "id": "net0",
        "mac": "52:54:00:aa:bb:cc",
    }
    chardevs = opts(a, "-chardev")
    assert "pty,id=charserial0,logfile=/log/console.log,logappend=on" in chardevs
    assert "socket,id=charserial1,path=/run/s.sock,server=on,wait=off" in chardevs
    assert sum(1 for d in devices(a) if d["driver"] == "isa-serial") == 2  # the console is serial0 again
    assert opts(a, "-vnc") == ["127.0.0.1:5"]
    assert "-display" not in a
    assert devs["usb"]["driver"] == "piix3-usb-uhci" and devs["input-tablet"]["bus"] == "usb.0"
    assert devs["input-keyboard"]["driver"] == "virtio-keyboard-pci"
    assert devs["rng0"]["driver"] == "virtio-rng-pci"
    assert "balloon0" not in devs


def test_cpu_topology_and_current_vcpus() -> None:
    xml = dom(
        extra="<cpu mode='custom'><model>Skylake-Client</model>"
        "<topology sockets='1' dies='1' cores='2' threads='1'/><feature policy='disable' name='pcid'/></cpu>"
    )
    xml = xml.replace("<vcpu>2</vcpu>", "<vcpu current='1'>2</vcpu>")
    a = argv(xml)
    assert opts(a, "-cpu") == ["Skylake-Client,pcid=off"]
    assert opts(a, "-smp") == ["1,maxcpus=2,sockets=1,dies=1,cores=2,threads=1"]
    assert opts(argv(dom(extra="<cpu mode='host-passthrough'/>")), "-cpu") == ["max"]


def test_no_acpi_feature_turns_acpi_off() -> None:
    a = argv(dom().replace("<features><acpi/></features>", ""))
    assert "acpi=off" in opts(a, "-machine")[0]


@pytest.mark.parametrize(
    ("devices_xml", "element"),
    [
        ("<hostdev mode='subsystem' type='pci'/>", "<hostdev>"),
        ("<graphics type='spice'/>", "graphics type='spice'"),
        (
            "<disk type='network' device='disk'><source protocol='nbd' name='x'/><target dev='vda'/></disk>",
            "disk type 'network'",
        ),
        (
            "<disk type='file'><driver name='qemu' type='vmdk'/><source file='/a'/>"
            "<target dev='vda'/></disk>",
            "format 'vmdk'",
        ),
        ("<sound model='ich6'/>", "<sound>"),
    ],
)
def test_untranslatable_devices_are_named(devices_xml: str, element: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match=element.replace("(", r"\(")):
        argv(dom(devices_xml))


def test_a_resolved_network_nic_is_the_tap_the_launcher_named() -> None:
    a = argv(
        dom(
            "<interface type='network'><mac address='52:54:00:00:00:07'/>"
            "<source network='lan' bridge='vcbr0'/><target dev='vnet3'/><model type='virtio'/></interface>"
        )
    )
    assert json.loads(opts(a, "-netdev")[0]) == {
        "id": "hostnet0", "type": "tap", "ifname": "vnet3", "script": "no", "downscript": "no"
    }  # fmt: skip
    (nic,) = [d for d in devices(a) if d.get("netdev") == "hostnet0"]
    assert nic["driver"] == "virtio-net-pci" and nic["mac"] == "52:54:00:00:00:07"


def test_untranslatable_top_level_elements_are_named() -> None:
    with pytest.raises(ConfigUnsupportedError, match="<numatune>"):
        argv(dom(extra="<numatune><memory mode='strict' nodeset='0'/></numatune>"))
    with pytest.raises(ConfigUnsupportedError, match="timer name='tsc'"):
        argv(dom(extra="<clock offset='utc'><timer name='tsc' frequency='1000'/></clock>"))


def test_variable_clock_sets_the_rtc_base() -> None:
    import time

    a = argv(dom(extra="<clock offset='variable' adjustment='86400' basis='utc'/>"))
    (rtc,) = opts(a, "-rtc")
    base = time.mktime(time.strptime(rtc.removeprefix("base="), "%Y-%m-%dT%H:%M:%S")) - time.mktime(
        time.gmtime()
    )
    assert 86400 - 5 < base < 86400 + 5


def test_udp_telnet_debugcon_floppy_audio() -> None:
    a = argv(
        dom(
            """<serial type='udp'><source mode='bind' host='127.0.0.1' service='9999'/>
                 <source mode='connect' host='127.0.0.1' service='9998'/><target port='0'/></serial>
               <serial type='tcp'><source mode='bind' host='127.0.0.1' service='9997'/>
                 <protocol type='telnet'/><target port='1'/></serial>
               <serial type='pty'><target type='isa-debug' port='2'/>
                 <address type='isa' iobase='0x402'/></serial>
               <disk type='file' device='floppy'><source file='/f.img'/><target dev='fda' bus='fdc'/>
                 <boot order='1'/></disk>
               <audio id='1' type='none'/>"""
        )
    )
    chardevs = opts(a, "-chardev")
    assert "udp,id=charserial0,host=127.0.0.1,port=9998,localaddr=127.0.0.1,localport=9999" in chardevs
    assert "socket,id=charserial1,host=127.0.0.1,port=9997,telnet=on,server=on,wait=off" in chardevs
    devs = {d["id"]: d for d in devices(a) if "id" in d}
    assert devs["serial2"] == {
        "driver": "isa-debugcon",
        "chardev": "charserial2",
        "id": "serial2",
        "iobase": 1026,
    }
    assert devs["fdc0-0-0"]["driver"] == "floppy" and devs["fdc0-0-0"]["unit"] == 0
    assert "isa-fdc.bootindexA=1" in opts(a, "-global")
    assert json.loads(opts(a, "-audiodev")[0]) == {"id": "audio1", "driver": "none"}
    with pytest.raises(ConfigUnsupportedError, match="audio type='pa'"):
        argv(dom("<audio id='1' type='pa'/>"))


def test_kvm_accel_and_incoming() -> None:
    a = argv(dom(dtype="kvm"), LaunchSpec(pidfile="/p", accel="kvm", incoming="fd:7", daemonize=False))
    assert opts(a, "-machine")[0].startswith("pc,accel=kvm,")
    assert opts(a, "-incoming") == ["fd:7"]
    assert "-daemonize" not in a


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
def test_qemu_accepts_the_hostile_name_argv(tmp_path: Path) -> None:
    a = build_argv(
        parse_domain(dom(name="x,guest=y -S", devices="<serial type='null'/>")),
        emulator=QEMU,
        machine="pc",
        spec=LaunchSpec(pidfile=str(tmp_path / "pid"), daemonize=False),
    )
    a = [x for x in a if x != "-S"] + ["-qmp", "stdio"]
    proc = subprocess.run(
        a, input=b'{"execute":"qmp_capabilities"}\n{"execute":"query-name"}\n{"execute":"quit"}\n',
        capture_output=True, timeout=30,
    )  # fmt: skip
    assert b'{"return": {"name": "x,guest=y -S"}}' in proc.stdout, proc.stderr


# -- memory backing, guest NUMA, memory devices -----------------------------------------

HUGE = LaunchSpec(pidfile="/p", hugetlbfs=((2048, "/mnt/huge2M"), (1048576, "/mnt/huge1G")))


def objects(a: list[str]) -> dict[str, dict[str, object]]:
    return {o["id"]: o for o in (json.loads(v) for v in opts(a, "-object"))}


def _start_paused(a: list[str], tmp: Path) -> bytes:
    """Run our argv in real QEMU (-S, not daemonized), ask for its status, quit."""
    proc = subprocess.run(
        [*a, "-qmp", "stdio"], capture_output=True, timeout=60, cwd=tmp,
        input=b'{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n{"execute":"quit"}\n',
    )  # fmt: skip
    assert b'"status": "prelaunch"' in proc.stdout, proc.stderr.decode(errors="replace")
    return proc.stdout


def test_hugepages_use_the_hosts_hugetlbfs_mount_of_that_page_size() -> None:
    a = argv(dom(extra="<memoryBacking><hugepages/></memoryBacking>"), HUGE)
    assert "memory-backend=pc.ram" in opts(a, "-machine")[0].split(",")
    ram = objects(a)["pc.ram"]
    assert ram["qom-type"] == "memory-backend-file" and ram["mem-path"] == "/mnt/huge2M"
    assert ram["prealloc"] is True and ram["size"] == 128 << 20
    one_g = "<memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages></memoryBacking>"
    assert objects(argv(dom(extra=one_g), HUGE))["pc.ram"]["mem-path"] == "/mnt/huge1G"
    # memfd asks the kernel for hugetlb pages itself: no mount involved
    memfd = "<memoryBacking><hugepages/><source type='memfd'/></memoryBacking>"
    ram = objects(argv(dom(extra=memfd), HUGE))["pc.ram"]
    assert (ram["qom-type"], ram["hugetlb"], ram["hugetlbsize"]) == ("memory-backend-memfd", True, 2 << 20)
    # the system page size is ordinary memory
    small = "<memoryBacking><hugepages><page size='4' unit='KiB'/></hugepages></memoryBacking>"
    assert objects(argv(dom(extra=small), HUGE))["pc.ram"]["qom-type"] == "memory-backend-ram"


def test_hugepages_without_a_matching_mount_are_refused_by_name() -> None:
    xml = dom(extra="<memoryBacking><hugepages/></memoryBacking>")
    with pytest.raises(ConfigUnsupportedError, match="hugetlbfs is not mounted on this host"):
        argv(xml, LaunchSpec(pidfile="/p", hugetlbfs=()))
    one_g = "<memoryBacking><hugepages><page size='1048576' unit='KiB'/></hugepages></memoryBacking>"
    with pytest.raises(ConfigUnsupportedError, match="no hugetlbfs mount with 1048576 KiB pages"):
        argv(dom(extra=one_g), LaunchSpec(pidfile="/p", hugetlbfs=((2048, "/h"),)))
    # checking a definition (no host information) accepts it
    assert objects(argv(xml))["pc.ram"]["qom-type"] == "memory-backend-file"
    with pytest.raises(ConfigUnsupportedError, match="node 1 not found"):
        argv(
            dom(extra="<memoryBacking><hugepages><page size='2048' nodeset='1'/></hugepages></memoryBacking>")
        )
    two = "<hugepages><page size='1048576'/><page size='2048' nodeset='0'/></hugepages>"
    with pytest.raises(ConfigUnsupportedError, match="two page sizes"):
        argv(dom(extra=f"<memoryBacking>{two}</memoryBacking>"))


def test_hugetlbfs_mounts_reads_proc_mounts(tmp_path: Path) -> None:
    from virt_qemu.argv import hugetlbfs_mounts

    (tmp_path / "mounts").write_text(
        "proc /proc proc rw 0 0\n"
        "hugetlbfs /mnt/h1g hugetlbfs rw,relatime,pagesize=1024M 0 0\n"
        "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
        "none /mnt/with\\040space hugetlbfs rw 0 0\n"
    )
    (tmp_path / "meminfo").write_text("MemTotal: 1 kB\nHugepagesize:       2048 kB\n")
    assert hugetlbfs_mounts(str(tmp_path / "mounts"), str(tmp_path / "meminfo")) == (
        (2048, "/dev/hugepages"),
        (1048576, "/mnt/h1g"),
    )
    assert hugetlbfs_mounts(str(tmp_path / "missing"), str(tmp_path / "meminfo")) == ()


def test_memory_backing_options() -> None:
    xml = dom(
        extra="""<memoryBacking><nosharepages/><locked/><source type='file'/><access mode='shared'/>
                 <allocation mode='immediate' threads='2'/><discard/></memoryBacking>"""
    )
    a = argv(xml, LaunchSpec(pidfile="/p", memory_dir="/var/ram"))
    machine = opts(a, "-machine")[0].split(",")
    assert "mem-merge=off" in machine and "memory-backend=pc.ram" in machine
    assert opts(a, "-overcommit") == ["mem-lock=on"]
    ram = objects(a)["pc.ram"]
    assert ram == {
        "qom-type": "memory-backend-file", "id": "pc.ram", "mem-path": "/var/ram",
        "x-use-canonical-path-for-ramblock-id": False, "share": True, "discard-data": True,
        "prealloc": True, "prealloc-threads": 2, "size": 128 << 20,
    }  # fmt: skip
    # only locked/nosharepages: QEMU's default RAM, no backend object
    b = argv(dom(extra="<memoryBacking><locked/></memoryBacking>"))
    assert "memory-backend=pc.ram" not in opts(b, "-machine")[0] and not objects(b)
    with pytest.raises(ConfigUnsupportedError, match="<memoryBacking><source type='pmem'>"):
        argv(dom(extra="<memoryBacking><source type='pmem'/></memoryBacking>"))
    with pytest.raises(ConfigUnsupportedError, match="<memoryBacking><bogus>"):
        argv(dom(extra="<memoryBacking><bogus/></memoryBacking>"))


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
@pytest.mark.parametrize(
    "backing",
    [
        "<source type='memfd'/><access mode='shared'/><nosharepages/>",
        "<source type='file'/><discard/>",
        "<allocation mode='immediate' threads='2'/>",
    ],
)
def test_qemu_starts_with_memory_backing(backing: str, tmp_path: Path) -> None:
    a = build_argv(
        parse_domain(dom(extra=f"<memoryBacking>{backing}</memoryBacking>")), emulator=QEMU, machine="pc",
        spec=LaunchSpec(pidfile=str(tmp_path / "pid"), daemonize=False, memory_dir=str(tmp_path)),
    )  # fmt: skip
    _start_paused(a, tmp_path)


NUMA_CPU = """<cpu><topology sockets='2' dies='1' cores='1' threads='1'/><numa>
  <cell id='0' cpus='0' memory='64' unit='MiB'>
    <distances><sibling id='0' value='10'/><sibling id='1' value='21'/></distances></cell>
  <cell id='1' cpus='1' memory='64' unit='MiB' memAccess='shared'>
    <distances><sibling id='0' value='21'/><sibling id='1' value='10'/></distances></cell>
</numa></cpu>"""


def test_guest_numa_cells_and_distances() -> None:
    a = argv(dom(extra=NUMA_CPU))
    assert opts(a, "-m") == ["size=131072k"]
    assert opts(a, "-numa") == [
        "node,nodeid=0,cpus=0,memdev=ram-node0",
        "node,nodeid=1,cpus=1,memdev=ram-node1",
        "dist,src=0,dst=0,val=10", "dist,src=0,dst=1,val=21",
        "dist,src=1,dst=0,val=21", "dist,src=1,dst=1,val=10",
    ]  # fmt: skip
    objs = objects(a)
    assert objs["ram-node0"] == {"qom-type": "memory-backend-ram", "id": "ram-node0", "size": 64 << 20}
    assert objs["ram-node1"]["share"] is True
    assert "memory-backend=pc.ram" not in opts(a, "-machine")[0]
    split = NUMA_CPU.replace("cpus='0'", "cpus='0-1,3'")
    assert "node,nodeid=0,cpus=0-1,cpus=3,memdev=ram-node0" in opts(argv(dom(extra=split)), "-numa")
    with pytest.raises(ConfigUnsupportedError, match="cell ids must be"):
        argv(dom(extra=NUMA_CPU.replace("cell id='1'", "cell id='5'")))


MEMDEVS = """<memory model='dimm'><target><size unit='MiB'>128</size><node>1</node></target></memory>
<memory model='nvdimm' access='shared'><source><path>{nv}</path></source>
  <target><size unit='MiB'>32</size><node>0</node><label><size unit='KiB'>128</size></label></target></memory>
<memory model='virtio-mem'><target><size unit='MiB'>128</size><node>0</node>
  <block unit='MiB'>2</block><requested unit='MiB'>64</requested></target></memory>
<memory model='virtio-pmem' access='shared'><source><path>{pm}</path></source>
  <target><size unit='MiB'>16</size></target></memory>"""


def _hotplug_dom(tmp: Path, maxmem: str = "<maxMemory slots='4' unit='GiB'>2</maxMemory>") -> str:
    for name, size in (("nv", 32), ("pm", 16)):
        with open(tmp / name, "wb") as fh:
            fh.truncate(size << 20)
    xml = dom(MEMDEVS.format(nv=tmp / "nv", pm=tmp / "pm"), extra=maxmem + NUMA_CPU)
    return xml.replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>432</memory>")


def test_memory_devices(tmp_path: Path) -> None:
    a = argv(_hotplug_dom(tmp_path))
    assert opts(a, "-m") == ["size=131072k,slots=4,maxmem=2097152k"]
    assert "nvdimm=on" in opts(a, "-machine")[0].split(",")
    devs = {d["id"]: d for d in devices(a)}
    objs = objects(a)
    assert devs["dimm0"] == {"driver": "pc-dimm", "node": 1, "memdev": "memdimm0", "id": "dimm0", "slot": 0}
    assert objs["memdimm0"]["size"] == 128 << 20
    assert devs["nvdimm1"]["label-size"] == 128 << 10 and devs["nvdimm1"]["slot"] == 1
    assert objs["memnvdimm1"]["mem-path"] == str(tmp_path / "nv") and objs["memnvdimm1"]["share"] is True
    vm = devs["virtiomem2"]
    assert (vm["driver"], vm["block-size"], vm["requested-size"]) == ("virtio-mem-pci", 2 << 20, 64 << 20)
    assert objs["memvirtiomem2"]["reserve"] is False
    assert devs["virtiopmem3"]["driver"] == "virtio-pmem-pci"
    huge_max = "<maxMemory slots='16' unit='TiB'>1024</maxMemory>"
    with pytest.raises(ConfigUnsupportedError, match="40-bit guest physical address space of TCG"):
        argv(_hotplug_dom(tmp_path, huge_max))
    wide = _hotplug_dom(tmp_path, huge_max).replace("<cpu>", "<cpu><maxphysaddr mode='emulate' bits='52'/>")
    assert opts(argv(wide), "-cpu") == ["qemu64,phys-bits=52"]
    with pytest.raises(ConfigUnsupportedError, match="need a guest NUMA topology"):
        argv(dom("<memory model='dimm'><target><size unit='MiB'>128</size></target></memory>"))


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
def test_qemu_starts_with_a_tib_of_hotplug_space_given_wider_physical_addresses(tmp_path: Path) -> None:
    xml = _hotplug_dom(tmp_path, "<maxMemory slots='16' unit='TiB'>1024</maxMemory>")
    xml = xml.replace("<cpu>", "<cpu><maxphysaddr mode='emulate' bits='52'/>")
    a = build_argv(
        parse_domain(xml), emulator=QEMU, machine="pc",
        spec=LaunchSpec(pidfile=str(tmp_path / "pid"), daemonize=False),
    )  # fmt: skip
    _start_paused(a, tmp_path)


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
def test_qemu_starts_with_numa_and_memory_devices(tmp_path: Path) -> None:
    a = build_argv(
        parse_domain(_hotplug_dom(tmp_path)), emulator=QEMU, machine="pc",
        spec=LaunchSpec(pidfile=str(tmp_path / "pid"), daemonize=False),
    )  # fmt: skip
    proc = subprocess.run(
        [*a, "-qmp", "stdio"], capture_output=True, timeout=60, cwd=tmp_path,
        input=b'{"execute":"qmp_capabilities"}\n{"execute":"query-memory-devices"}\n'
        b'{"execute":"query-memdev"}\n{"execute":"quit"}\n',
    )  # fmt: skip
    out = proc.stdout.decode()
    assert '"type": "dimm"' in out and '"type": "nvdimm"' in out, proc.stderr
    assert '"type": "virtio-mem"' in out and '"type": "virtio-pmem"' in out
    assert '"id": "ram-node1"' in out and '"share": true' in out


# -- <qemu:commandline>, character devices, cputune ---------------------------------------

QNS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"


def test_qemu_commandline_is_passed_through_verbatim() -> None:
    from virt_qemu.argv import qemu_commandline

    cl = f"""<qemu:commandline {QNS}><qemu:arg value='-set'/><qemu:arg value='a b,c=$(x) ;'/>
              <qemu:env name='FOO' value='bar baz'/><qemu:env name='EMPTY'/></qemu:commandline>"""
    d = parse_domain(dom(extra=cl))
    a = build_argv(d, emulator=QEMU, machine="pc", spec=SPEC)
    assert a[-2:] == ["-set", "a b,c=$(x) ;"]
    assert qemu_commandline(d) == (["-set", "a b,c=$(x) ;"], {"FOO": "bar baz", "EMPTY": ""})
    with pytest.raises(ConfigUnsupportedError, match="not a valid variable name"):
        argv(dom(extra=f"<qemu:commandline {QNS}><qemu:env name='A=B' value='x'/></qemu:commandline>"))
    with pytest.raises(ConfigUnsupportedError, match="<qemu:capabilities>"):
        argv(dom(extra=f"<qemu:capabilities {QNS}><qemu:add capability='x'/></qemu:capabilities>"))
    with pytest.raises(ConfigUnsupportedError, match="namespace 'urn:other'"):
        argv(dom(extra="<o:commandline xmlns:o='urn:other'/>"))


def test_vc_dev_stdio_and_spiceport_chardevs() -> None:
    a = argv(
        dom(
            """<serial type='vc'><target port='0'/></serial>
               <serial type='dev'><source path='/dev/ttyS2'/><target port='1'/>
                 <address type='isa' iobase='0x2f8' irq='3'/></serial>"""
        ),
        LaunchSpec(pidfile="/p"),
    )
    assert "vc,id=charserial0" in opts(a, "-chardev")
    assert "serial,id=charserial1,path=/dev/ttyS2" in opts(a, "-chardev")
    assert {"iobase": 0x2F8, "irq": 3}.items() <= {d["id"]: d for d in devices(a)}["serial1"].items()
    stdio = dom("<serial type='stdio'><target port='0'/></serial>")
    assert "stdio,id=charserial0" in opts(argv(stdio, LaunchSpec(pidfile="/p", daemonize=False)), "-chardev")
    with pytest.raises(ConfigUnsupportedError, match="daemonized"):
        argv(stdio)
    with pytest.raises(ConfigUnsupportedError, match="needs SPICE"):
        argv(dom("<serial type='spiceport'><source channel='org.qemu.console.serial.0'/></serial>"))


def test_cputune_beyond_vcpupin_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigUnsupportedError, match=r"<cputune>.*cgroups and thread affinity"):
        argv(dom(extra="<cputune><vcpupin vcpu='0' cpuset='0'/><emulatorpin cpuset='0'/></cputune>"))


def test_vcpupin_alone_is_no_qemu_option() -> None:
    # the driver pins the vCPU threads itself once QEMU runs (virt_qemu.affinity)
    assert argv(dom(extra="<cputune><vcpupin vcpu='0' cpuset='0'/></cputune>")) == argv(dom())


def test_cpu_maxphysaddr_and_cache() -> None:
    cpu = (
        "<cpu mode='custom'><model>qemu64</model><maxphysaddr mode='emulate' bits='46'/>"
        "<cache mode='disable'/></cpu>"
    )
    assert opts(argv(dom(extra=cpu)), "-cpu") == ["qemu64,phys-bits=46,l3-cache=off"]
    with pytest.raises(ConfigUnsupportedError, match="needs KVM"):
        argv(dom(extra="<cpu mode='host-passthrough'><maxphysaddr mode='passthrough'/></cpu>"))
    kvm = LaunchSpec(pidfile="/p", accel="kvm")
    a = argv(
        dom(extra="<cpu mode='host-passthrough'><maxphysaddr mode='passthrough' limit='39'/></cpu>"), kvm
    )
    assert opts(a, "-cpu") == ["host,host-phys-bits=on,host-phys-bits-limit=39"]
    with pytest.raises(ConfigUnsupportedError, match="cache mode='emulate' level='2'"):
        argv(dom(extra="<cpu><cache mode='emulate' level='2'/></cpu>"))


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
def test_driver_boots_numa_memfd_guest_with_passthrough_and_env(tmp_path: Path) -> None:
    """Through the driver: a real guest with two NUMA nodes on shared memfd RAM boots, and
    ``<qemu:commandline>``'s arguments and environment reach the QEMU process."""
    from virt_qemu import testguest

    import virtcore

    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel, cache_dir=tmp_path / "initramfs")
    log = tmp_path / "serial.log"
    xml = testguest.guest_domain_xml("numa guest", kernel, initrd, serial_log=log, vcpus=2)
    extra = f"""<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
      <cpu><numa><cell id='0' cpus='0' memory='64' unit='MiB'/><cell id='1' cpus='1' memory='64' unit='MiB'/>
      </numa></cpu>
      <qemu:commandline {QNS}><qemu:arg value='-smbios'/><qemu:arg value='type=1,serial=pass,,through'/>
        <qemu:env name='VIRTCORE_PASSTHROUGH' value='a b;c'/></qemu:commandline>"""
    xml = xml.replace("<features>", extra + "<features>")
    root = tmp_path / "root"
    root.mkdir()
    conn = virtcore.open(f"qemu:///embed?root={root}")
    try:
        dom = conn.create_domain(xml)
        try:
            testguest.wait_marker(log)
            pid = int((root / "run" / dom.uuid / "pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert cmdline[-3:-1] == [b"-smbios", b"type=1,serial=pass,,through"]
            assert b"VIRTCORE_PASSTHROUGH=a b;c" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert [a for a in cmdline if a.startswith(b"node,")] == [
                b"node,nodeid=0,cpus=0,memdev=ram-node0",
                b"node,nodeid=1,cpus=1,memdev=ram-node1",
            ]
        finally:
            dom.destroy()
    finally:
        conn.close()


def test_clock_absolute_timezone_pit_i8042_and_vnc_socket() -> None:
    from virt_qemu.argv import launch_env

    a = argv(dom(extra="<clock offset='absolute' start='1234567890'/>"))
    assert opts(a, "-rtc") == ["base=2009-02-13T23:31:30"]
    tz = dom(extra="<clock offset='timezone' timezone='Europe/Paris'/>")
    assert opts(argv(tz), "-rtc") == ["base=localtime"]
    assert launch_env(parse_domain(tz)) == {"TZ": "Europe/Paris"}
    with pytest.raises(ConfigUnsupportedError, match="is not a time zone name"):
        argv(dom(extra="<clock offset='timezone' timezone='../../etc/x'/>"))
    pit = dom(extra="<clock offset='utc'><timer name='pit' tickpolicy='discard'/></clock>")
    assert opts(argv(pit), "-global") == ["kvm-pit.lost_tick_policy=discard"]
    off = dom().replace("<acpi/>", "<acpi/><ps2 state='off'/>")
    assert "i8042=off" in opts(argv(off), "-machine")[0].split(",")
    with pytest.raises(ConfigUnsupportedError, match="ps2 feature not to be disabled"):
        argv(dom("<input type='mouse' bus='ps2'/>").replace("<acpi/>", "<acpi/><ps2 state='off'/>"))
    vnc = dom("<graphics type='vnc'><listen type='socket'/></graphics>")
    assert opts(argv(vnc, LaunchSpec(pidfile="/run/dom/pid")), "-vnc") == ["unix:/run/dom/vnc.sock"]


# -- option injection: every user string that reaches a non-JSON ``-opt a,b,c`` -----------


def qemu_opts(value: str, implied: str | None = None) -> list[tuple[str, str]]:
    """``value`` split the way QEMU's QemuOpts parser splits it, as ``(key, value)`` pairs.

    A key runs to the first ``=`` or ``,``; a value runs to the first single ``,`` (``,,``
    is a comma). The first item without ``=`` before its first comma takes the ``implied``
    key; any other item without ``=`` is a flag set to ``on``.
    """
    out: list[tuple[str, str]] = []
    p = value
    while p:
        n = min((i for i in (p.find("="), p.find(",")) if i >= 0), default=len(p))
        if p[n : n + 1] == "=":
            key, p = p[:n], p[n + 1 :]
        elif not out and implied is not None:
            key = implied
        else:
            out.append((p[:n], "on"))
            p = p[n + 1 :]
            continue
        val = ""
        while p:
            if p.startswith(",,"):
                val, p = val + ",", p[2:]
            elif p.startswith(","):
                p = p[1:]
                break
            else:
                val, p = val + p[0], p[1:]
        out.append((key, val))
    return out


def test_qemu_opts_helper_splits_like_qemu() -> None:
    assert qemu_opts("pc,,accel=kvm,usb=off", "type") == [("type", "pc,accel=kvm"), ("usb", "off")]
    assert qemu_opts("to=5,,,127.0.0.1:7", "vnc") == [("to", "5,"), ("127.0.0.1:7", "on")]
    assert qemu_opts("socket,id=c,server=on") == [("socket", "on"), ("id", "c"), ("server", "on")]


HOSTILE = [
    "a,path=/etc/shadow",
    "a,,b",
    "x=y",
    "=,=",
    ",server=on,wait=off",
    "/tmp/sp ace;$(id)",
    "-S",
]

BAD_NAMES = [
    "qemu64,model-id=PWNED",
    "qemu64,,model-id=PWNED",
    "model-id=PWNED",
    "-qemu64",
    "qemu 64",
    "help",
    "?",
    "qemu64\u00e9",
]


@pytest.mark.parametrize("model", BAD_NAMES)
def test_cpu_model_that_is_not_a_model_name_is_refused(model: str) -> None:
    from xml.sax.saxutils import escape

    with pytest.raises(ConfigUnsupportedError, match=r"<cpu><model>") as exc:
        argv(dom(extra=f"<cpu mode='custom'><model>{escape(model)}</model></cpu>"))
    assert repr(model) in str(exc.value)


@pytest.mark.parametrize("feature", ["-pcid", "+pcid", "pcid,model-id=x", "pcid=off", "help", "pc id"])
def test_cpu_feature_that_is_not_a_feature_name_is_refused(feature: str) -> None:
    from xml.sax.saxutils import quoteattr

    xml = dom(extra=f"<cpu mode='custom'><model>qemu64</model><feature name={quoteattr(feature)}/></cpu>")
    with pytest.raises(ConfigUnsupportedError, match=r"<cpu><feature name="):
        argv(xml)


def test_cpu_model_and_features_that_are_names_pass() -> None:
    cpu = (
        "<cpu mode='custom'><model>Cascadelake-Server-noTSX</model>"
        "<feature policy='require' name='sse4.2'/><feature policy='disable' name='vmx-entry-load-bndcfgs'/>"
        "</cpu>"
    )
    assert opts(argv(dom(extra=cpu)), "-cpu") == [
        "Cascadelake-Server-noTSX,sse4.2=on,vmx-entry-load-bndcfgs=off"
    ]


def test_cpu_model_is_checked_against_the_emulators_models_when_known() -> None:
    spec = LaunchSpec(pidfile="/p", cpu_models=("qemu64", "Westmere"))
    assert opts(argv(dom(extra="<cpu><model>Westmere</model></cpu>"), spec), "-cpu") == ["Westmere"]
    with pytest.raises(ConfigUnsupportedError, match=r"<cpu><model> 'Nehalem'.*/usr/bin/qemu-system-x86_64"):
        argv(dom(extra="<cpu><model>Nehalem</model></cpu>"), spec)
    # host-model/maximum pick QEMU's own names
    assert opts(argv(dom(extra="<cpu mode='maximum'/>"), spec), "-cpu") == ["max"]


def test_cpu_features_are_checked_against_the_emulators_features_when_known() -> None:
    """With the probed feature list, a name that is a CPU property but not a feature
    (``start-powered-off``, ``enforce``, ``model-id``) is refused; libvirt's spellings pass."""
    spec = LaunchSpec(pidfile="/p", cpu_features=("pcid", "lahf-lm", "sse4.2", "pclmulqdq", "nx"))

    def cpu(*names: str) -> str:
        feats = "".join(f"<feature policy='require' name='{n}'/>" for n in names)
        return dom(extra=f"<cpu mode='custom'><model>qemu64</model>{feats}</cpu>")

    a = argv(cpu("pcid", "lahf_lm", "sse4.2", "sse4_2", "pclmuldq", "xd"), spec)
    assert opts(a, "-cpu") == ["qemu64,pcid=on,lahf_lm=on,sse4.2=on,sse4_2=on,pclmuldq=on,xd=on"]
    for bad in ("start-powered-off", "enforce", "model-id", "realized"):
        with pytest.raises(
            ConfigUnsupportedError, match=f"<cpu><feature name=...> '{bad}' is not a CPU feature of {QEMU}"
        ):
            argv(cpu("pcid", bad), spec)


@pytest.mark.parametrize("machine", [*BAD_NAMES, "accel=kvm", "pc,accel=kvm", "kernel=/etc/passwd"])
def test_machine_type_that_is_not_a_machine_name_is_refused(machine: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match="machine type") as exc:
        argv(dom(), machine=machine)
    assert repr(machine) in str(exc.value)


def test_machine_type_injection_is_refused_at_define(tmp_path: Path) -> None:
    import virtcore

    xml = dom().replace("machine='pc'", "machine='accel=kvm'")
    with virtcore.open(f"qemu:///embed?root={tmp_path}") as conn:
        with pytest.raises(ConfigUnsupportedError, match="machine type 'accel=kvm'"):
            conn.define_domain(xml)
        assert conn.list_domains() == []


@pytest.mark.parametrize("listen", ["password=on", "127.0.0.1,password=on", "to=99", "a b", "-x", "::1,x"])
def test_vnc_listen_that_is_not_an_address_is_refused(listen: str) -> None:
    from xml.sax.saxutils import quoteattr

    with pytest.raises(ConfigUnsupportedError, match="listen address") as exc:
        argv(dom(f"<graphics type='vnc' port='5901' autoport='no' listen={quoteattr(listen)}/>"))
    assert repr(listen) in str(exc.value)


@pytest.mark.parametrize(
    ("listen", "value"),
    [
        ("0.0.0.0", "0.0.0.0:1"),
        ("::1", "[::1]:1"),
        ("localhost", "localhost:1"),
        ("vm-host.example", "vm-host.example:1"),
    ],
)
def test_vnc_listen_addresses_pass(listen: str, value: str) -> None:
    a = argv(dom(f"<graphics type='vnc' port='5901' autoport='no' listen='{listen}'/>"))
    assert opts(a, "-vnc") == [value]


@pytest.mark.parametrize("path", HOSTILE)
def test_vnc_socket_path_is_one_value_or_refused(path: str) -> None:
    from xml.sax.saxutils import quoteattr

    xml = dom(f"<graphics type='vnc'><listen type='socket' socket={quoteattr(path)}/></graphics>")
    if "=" in path:
        with pytest.raises(ConfigUnsupportedError, match="VNC socket path") as exc:
            argv(xml)
        assert repr(path) in str(exc.value)
        return
    (value,) = opts(argv(xml), "-vnc")
    assert qemu_opts(value, "vnc") == [("vnc", f"unix:{path}")]


def _chardev_of(a: list[str], cid: str) -> list[tuple[str, str]]:
    found = [qemu_opts(v) for v in opts(a, "-chardev") if f",id={cid}," in v + ","]
    assert len(found) == 1, opts(a, "-chardev")
    return found[0]


@pytest.mark.parametrize("value", HOSTILE)
def test_chardev_paths_and_hosts_are_one_value_each(value: str) -> None:
    from xml.sax.saxutils import quoteattr

    q = quoteattr(value)
    a = argv(
        dom(
            f"""<serial type='file'><source path={q}/><target port='0'/></serial>
                <serial type='dev'><source path={q}/><target port='1'/></serial>
                <serial type='unix'><source mode='bind' path={q}/><target port='2'/></serial>
                <serial type='tcp'><source mode='connect' host={q} service='4555'/><target port='3'/>
                  <log file={q}/></serial>
                <serial type='udp'><source mode='bind' host={q} service='0'/>
                  <source mode='connect' host={q} service='4556'/><target port='4'/></serial>"""
        ),
        LaunchSpec(pidfile="/p"),
    )
    assert _chardev_of(a, "charserial0") == [
        ("file", "on"),
        ("id", "charserial0"),
        ("path", value),
        ("append", "on"),
    ]
    assert _chardev_of(a, "charserial1") == [("serial", "on"), ("id", "charserial1"), ("path", value)]
    assert _chardev_of(a, "charserial2") == [
        ("socket", "on"), ("id", "charserial2"), ("path", value), ("server", "on"), ("wait", "off"),
    ]  # fmt: skip
    assert _chardev_of(a, "charserial3") == [
        ("socket", "on"), ("id", "charserial3"), ("host", value), ("port", "4555"), ("server", "off"),
        ("logfile", value), ("logappend", "on"),
    ]  # fmt: skip
    assert _chardev_of(a, "charserial4") == [
        ("udp", "on"), ("id", "charserial4"), ("host", value), ("port", "4556"),
        ("localaddr", value), ("localport", "0"),
    ]  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE)
def test_name_is_one_value(name: str) -> None:
    from xml.sax.saxutils import escape

    name = name.replace("/", "|")  # a domain name cannot hold '/'
    (value,) = opts(argv(dom(name=escape(name))), "-name")
    assert qemu_opts(value, "guest") == [("guest", name), ("debug-threads", "on")]


@pytest.mark.parametrize("action", ["reset,panic=exit-failure", "dump", "reboot", "pause,", "x=y"])
def test_watchdog_action_that_qemu_does_not_have_is_refused(action: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match="<watchdog action=") as exc:
        argv(dom(f"<watchdog model='i6300esb' action='{action}'/>"))
    assert repr(action) in str(exc.value)


def test_watchdog_actions_pass() -> None:
    for action in ("reset", "shutdown", "poweroff", "pause", "none", "inject-nmi"):
        a = argv(dom(f"<watchdog model='i6300esb' action='{action}'/>"))
        assert opts(a, "-action") == [f"watchdog={action}"]


@pytest.mark.parametrize("name", ["virtio-9p-pci", "loader", "pcie-root-port,x=y"])
def test_pcie_root_port_model_name_is_one_of_libvirts(name: str) -> None:
    xml = dom(f"<controller type='pci' index='1' model='pcie-root-port'><model name='{name}'/></controller>")
    with pytest.raises(
        ConfigUnsupportedError, match="<controller type='pci' model='pcie-root-port'><model name="
    ):
        argv(xml, machine="q35")


def test_pcie_root_port_model_names_pass() -> None:
    for name in ("pcie-root-port", "ioh3420"):
        xml = dom(
            f"<controller type='pci' index='1' model='pcie-root-port'><model name='{name}'/></controller>"
        )
        assert {"driver": name, "id": "pci.1", "port": 1, "chassis": 1} in devices(argv(xml, machine="q35"))


@pytest.mark.parametrize("value", HOSTILE)
def test_boot_files_and_cmdline_are_whole_arguments(value: str) -> None:
    from xml.sax.saxutils import escape

    v = escape(value)
    os_extra = (
        f"<loader>{v}</loader><kernel>{v}</kernel><initrd>{v}</initrd><cmdline>{v}</cmdline><dtb>{v}</dtb>"
    )
    a = argv(dom(os_extra=os_extra))
    for opt in ("-bios", "-kernel", "-initrd", "-append", "-dtb"):
        assert opts(a, opt) == [value]


@pytest.mark.parametrize(
    "extra",
    [
        "<clock offset='utc,driftfix=slew'/>",
        "<clock offset='variable' adjustment='1,driftfix=slew'/>",
        "<clock offset='absolute' start='1,driftfix=slew'/>",
        "<clock offset='timezone' timezone='UTC,x=y'/>",
        "<cpu><numa><cell id='0' cpus='0,memdev=x' memory='128' unit='MiB'/></numa></cpu>",
    ],
)
def test_clock_and_numa_values_are_checked(extra: str) -> None:
    with pytest.raises((ConfigUnsupportedError, XMLError)):
        argv(dom(extra=extra))


def test_smbios_and_uuid_never_reach_qemu_unchecked() -> None:
    """No ``-smbios`` is generated: SMBIOS modes other than QEMU's own are refused by name,
    and ``-uuid`` only ever gets a canonical UUID."""
    for mode in ("host", "sysinfo"):
        with pytest.raises(ConfigUnsupportedError, match=f"<os><smbios mode='{mode}'>"):
            argv(dom(os_extra=f"<smbios mode='{mode}'/>"))
    assert opts(argv(dom(os_extra="<smbios mode='emulate'/>")), "-smbios") == []
    with pytest.raises(ConfigUnsupportedError, match="<sysinfo>"):
        argv(dom(extra="<sysinfo type='smbios'><system><entry name='serial'>a,b</entry></system></sysinfo>"))
    with pytest.raises(XMLError, match="invalid UUID"):
        argv(dom().replace("<uuid>6695eb01-", "<uuid>6695eb01,x=y-"))


@pytest.mark.parametrize("dev", ["hd,menu=on", "network,strict=off"])
def test_boot_device_that_is_unknown_is_refused(dev: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match="<os><boot dev="):
        argv(dom(os_extra=f"<boot dev='{dev}'/>"))


@pytest.mark.parametrize("value", HOSTILE)
def test_json_options_carry_hostile_strings_as_values(value: str) -> None:
    from xml.sax.saxutils import escape, quoteattr

    q, t = quoteattr(value), escape(value)
    a = argv(
        dom(
            f"""<disk type='file' device='disk'><source file={q}/><target dev='vda' bus='virtio'/>
                  <serial>{t}</serial></disk>
                <interface type='bridge'><source bridge={q}/></interface>
                <rng model='virtio'><backend model='random'>{t}</backend></rng>"""
        )
    )
    blockdev = json.loads(opts(a, "-blockdev")[0])
    assert blockdev["filename"] == value
    assert {d["id"]: d for d in devices(a)}["virtio-disk0"]["serial"] == value
    assert json.loads(opts(a, "-netdev")[0])["br"] == value
    assert objects(a)["objrng0"]["filename"] == value


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
def test_driver_refuses_cpu_model_injection_and_boots_a_named_model(tmp_path: Path) -> None:
    """Through the driver with a real QEMU: the model of issue 8 is refused by name at define and
    at create, and a custom model with features still boots with exactly that ``-cpu``."""
    from virt_qemu import testguest

    import virtcore

    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel, cache_dir=tmp_path / "initramfs")
    log = tmp_path / "serial.log"

    def xml(name: str, cpu: str) -> str:
        base = testguest.guest_domain_xml(name, kernel, initrd, serial_log=log)
        return base.replace("<features>", cpu + "<features>")

    hostile = xml("pwned", "<cpu mode='custom'><model>qemu64,model-id=PWNED</model></cpu>")
    root = tmp_path / "root"
    root.mkdir()
    with virtcore.open(f"qemu:///embed?root={root}") as conn:
        for op in (conn.define_domain, conn.create_domain):
            with pytest.raises(ConfigUnsupportedError, match=r"<cpu><model> 'qemu64,model-id=PWNED'"):
                op(hostile)
        assert conn.list_domains() == []
        with pytest.raises(ConfigUnsupportedError, match=r"<cpu><model> 'NoSuchCPU'.*qemu-system-x86_64"):
            conn.create_domain(xml("unknown", "<cpu mode='custom'><model>NoSuchCPU</model></cpu>"))
        knob = "<cpu mode='custom'><model>qemu64</model><feature name='start-powered-off'/></cpu>"
        with pytest.raises(ConfigUnsupportedError, match=r"'start-powered-off' is not a CPU feature of"):
            conn.create_domain(xml("knob", knob))
        cpu = "<cpu mode='custom'><model>qemu64</model><feature policy='disable' name='sse4a'/></cpu>"
        dom_ = conn.create_domain(xml("named", cpu))
        try:
            testguest.wait_marker(log)
            pid = int((root / "run" / dom_.uuid / "pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert cmdline[cmdline.index(b"-cpu") + 1] == b"qemu64,sse4a=off"
        finally:
            dom_.destroy()


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64")
def test_qemu_reads_escaped_values_intact(tmp_path: Path) -> None:
    """Real QEMU reads a hostile domain name, a chardev path (values after ``key=``) and a VNC
    socket path (-vnc's key-less first item) back as one value each."""
    path = tmp_path / "s,path=x,append=off"
    sock = tmp_path / "v,,x,lossy.sock"
    a = build_argv(
        parse_domain(dom(
            name="a,,debug-threads=off,guest=b",
            devices=f"""<serial type='file'><source path='{path}'/><target port='0'/></serial>
                        <graphics type='vnc'><listen type='socket' socket='{sock}'/></graphics>""",
        )),
        emulator=QEMU, machine="pc", spec=LaunchSpec(pidfile=str(tmp_path / "pid"), daemonize=False),
    )  # fmt: skip
    proc = subprocess.run(
        [*a, "-qmp", "stdio"], capture_output=True, timeout=60, cwd=tmp_path,
        input=b'{"execute":"qmp_capabilities"}\n{"execute":"query-name"}\n'
        b'{"execute":"query-vnc-servers"}\n{"execute":"quit"}\n',
    )  # fmt: skip
    replies = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith(b'{"return"')]
    assert replies[1]["return"] == {"name": "a,,debug-threads=off,guest=b"}, proc.stderr
    assert [s["service"] for s in replies[2]["return"][0]["server"]] == [str(sock)]
    assert path.exists() and not (tmp_path / "x").exists()
