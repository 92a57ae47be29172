"""Property tests: generated models round-trip; fuzzed input raises only VirtError."""

from __future__ import annotations

import string

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtcore.errors import VirtError
from virtcore.xml import (
    OS,
    Console,
    Disk,
    DomainDef,
    Graphics,
    Input,
    Interface,
    MemBalloon,
    Serial,
    Video,
    format_device,
    format_domain,
    parse_device,
    parse_domain,
)

# XML-safe text: printable, no leading/trailing blanks (libvirt strips those in names).
_word = st.text(alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=12)
_path = st.builds(lambda parts: "/" + "/".join(parts), st.lists(_word, min_size=1, max_size=4))
_mac = st.builds(
    lambda b: "52:54:00:" + ":".join(f"{x:02x}" for x in b),
    st.lists(st.integers(0, 255), min_size=3, max_size=3),
)

_disks = st.builds(
    Disk,
    type=st.sampled_from(["file", "block"]),
    device=st.sampled_from(["disk", "cdrom", "floppy"]),
    driver_name=st.none() | st.just("qemu"),
    driver_type=st.none() | st.sampled_from(["raw", "qcow2"]),
    source=st.none() | _path,
    target_bus=st.none() | st.sampled_from(["virtio", "ide", "sata", "scsi"]),
    readonly=st.booleans(),
    shareable=st.booleans(),
    boot_order=st.none() | st.integers(1, 20),
    serial=st.none() | _word,
)
_ifaces = st.builds(
    Interface,
    type=st.sampled_from(["network", "bridge"]),
    mac=_mac,
    source=_word,
    model=st.none() | st.sampled_from(["virtio", "e1000", "rtl8139"]),
    target_dev=st.none() | _word,
    link_state=st.none() | st.sampled_from(["up", "down"]),
)
_others = st.one_of(
    st.builds(
        Serial,
        type=st.sampled_from(["pty", "file", "unix"]),
        source_path=st.none() | _path,
        target_port=st.none() | st.integers(0, 3),
    ),
    st.builds(
        Console,
        type=st.just("pty"),
        target_type=st.sampled_from(["serial", "virtio"]),
        target_port=st.integers(0, 3),
    ),
    st.builds(
        Graphics,
        type=st.sampled_from(["vnc", "spice"]),
        port=st.integers(5900, 5999),
        autoport=st.just(False),
        listen=st.none() | st.just("127.0.0.1"),
    ),
    st.builds(
        Input, type=st.sampled_from(["mouse", "tablet", "keyboard"]), bus=st.sampled_from(["ps2", "usb"])
    ),
    st.builds(
        Video, model=st.sampled_from(["vga", "cirrus", "virtio"]), vram=st.none() | st.integers(1024, 65536)
    ),
    st.builds(MemBalloon, model=st.sampled_from(["virtio", "none"])),
)


@st.composite
def domains(draw: st.DrawFn) -> DomainDef:
    disks = draw(st.lists(_disks, max_size=4))
    disks = [attrs.evolve(d, target_dev=f"vd{chr(ord('a') + i)}") for i, d in enumerate(disks)]
    memory = draw(st.integers(1, 2**40))
    vcpu = draw(st.integers(1, 64))
    devices = disks + draw(st.lists(_ifaces, max_size=3)) + draw(st.lists(_others, max_size=5))
    return DomainDef(
        type=draw(st.sampled_from(["test", "qemu", "kvm", "xen"])),
        name=draw(_word),
        uuid=draw(st.uuids()).__str__(),
        memory=memory,
        current_memory=draw(st.integers(0, memory)),
        vcpu=vcpu,
        current_vcpus=draw(st.integers(1, vcpu)),
        os=OS(
            type=draw(st.sampled_from(["hvm", "xen", "linux"])),
            arch=draw(st.none() | st.sampled_from(["x86_64", "i686"])),
            kernel=draw(st.none() | _path),
            cmdline=draw(st.none() | _word),
            boot=tuple(draw(st.lists(st.sampled_from(["hd", "cdrom", "network", "fd"]), max_size=3))),
        ),
        title=draw(st.none() | _word),
        features=tuple(draw(st.lists(st.sampled_from(["acpi", "apic", "pae"]), unique=True))),
        on_poweroff=draw(st.sampled_from(["destroy", "restart", "preserve"])),
        on_reboot=draw(st.sampled_from(["destroy", "restart"])),
        on_crash=draw(st.sampled_from(["destroy", "restart", "coredump-destroy"])),
        emulator=draw(st.none() | _path),
        devices=tuple(devices),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domains())
def test_generated_models_round_trip(d: DomainDef) -> None:
    text = format_domain(d)
    back = parse_domain(text)
    assert back == d
    assert format_domain(back) == text


@settings(max_examples=100, deadline=None)
@given(st.one_of(_disks.map(lambda d: attrs.evolve(d, target_dev="sda")), _ifaces, _others))
def test_generated_devices_round_trip(dev: object) -> None:
    assert parse_device(format_device(dev)) == dev  # type: ignore[arg-type]


_SEED = (
    b"<domain type='kvm'><name>x</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>"
    b"<memory unit='MiB'>64</memory><currentMemory>1024</currentMemory><vcpu current='1'>2</vcpu>"
    b"<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><clock offset='utc'/>"
    b"<devices><disk type='file'><source file='/a'/><target dev='vda'/><boot order='1'/></disk>"
    b"<interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>"
    b"<graphics type='vnc' port='5900'/><video><model type='vga' vram='100'/></video></devices></domain>"
)


_INSERTS = [
    b"<", b">", b"'", b"&", b"-1", b"99999999999999999999", b"\x00", b"<!DOCTYPE x>", b"</devices>",
    b"unit='EiB'", b"\xff",
]  # fmt: skip


@st.composite
def _mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(_SEED)
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert"]))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        else:
            data[pos:pos] = draw(st.sampled_from(_INSERTS))
        if not data:
            break
    return bytes(data)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), _mutations()))
def test_fuzzed_bytes_raise_only_virt_errors(data: bytes) -> None:
    try:
        d = parse_domain(data)
    except VirtError:
        return
    # whatever parsed must format and parse back to the same model
    assert parse_domain(format_domain(d)) == d


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=200), _mutations().map(lambda b: b[b.find(b"<disk") :])))
def test_fuzzed_device_bytes_raise_only_virt_errors(data: bytes) -> None:
    try:
        dev = parse_device(data)
    except VirtError:
        return
    assert parse_device(format_device(dev)) == dev
