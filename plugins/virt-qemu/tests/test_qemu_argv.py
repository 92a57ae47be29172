"""Domain XML -> QEMU argv, as a pure function (no QEMU started here, except the last test)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from virt_qemu.argv import LaunchSpec, build_argv, device_names, iter_options, qemu_escape

from virtcore.errors import ConfigUnsupportedError
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
    with pytest.raises(ConfigUnsupportedError, match="domain name"):
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
        ("<interface type='network'><source network='default'/></interface>", "interface type 'network'"),
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


def test_untranslatable_top_level_elements_are_named() -> None:
    with pytest.raises(ConfigUnsupportedError, match="<numatune>"):
        argv(dom(extra="<numatune><memory mode='strict' nodeset='0'/></numatune>"))
    with pytest.raises(ConfigUnsupportedError, match="clock offset='timezone'"):
        argv(dom(extra="<clock offset='timezone' timezone='Europe/Paris'/>"))


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
