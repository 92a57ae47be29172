"""Hostile and malformed input to the native converters: a named VirtError, never a Python error.

Every failure a user can cause must raise a :class:`~virtcore.errors.VirtError`;
a value written into a comma-separated device spec must not start a new parameter.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virt_xen.native import domxml_from_native, domxml_to_native, parse_config

from virtcore.errors import ConfigUnsupportedError, ConfSyntaxError, VirtError


def test_numbers_with_leading_zeros_are_decimal() -> None:
    assert parse_config("a = 01\nb = 0x1f\nc = 007\n") == {"a": 1, "b": 31, "c": 7}


def _domain(os_type: str, devices: str) -> str:
    kernel = "<kernel>/k</kernel>" if os_type == "xen" else ""
    return f"""<domain type='xen'><name>g</name><memory>131072</memory>
      <os><type>{os_type}</type>{kernel}</os><devices>{devices}</devices></domain>"""


def _pci(address: str) -> str:
    return f"<hostdev mode='subsystem' type='pci'><source><address {address}/></source></hostdev>"


@pytest.mark.parametrize(
    ("os_type", "devices", "match"),
    [
        ("hvm", _pci("bus='x' slot='0' function='0'"), "bus='x'"),
        ("hvm", _pci("bus='0x100' slot='0' function='0'"), "out of range"),
        ("hvm", "<graphics type='spice' tlsPort='x' autoport='no'/>", "tlsPort='x'"),
        ("hvm", "<graphics type='vnc' port='80' autoport='no'/>", "below 5900"),
        ("xen", "<graphics type='vnc' port='5' autoport='no'/>", "below 5900"),
        ("xen", "<controller type='usb' model='qusb2' ports='many'/>", "ports='many'"),
        ("xen", "<controller type='xenbus' maxEventChannels='-3'/>", "maxEventChannels='-3'"),
        ("xen", _pci("bus='1' device='z'").replace("'pci'", "'usb'"), "device='z'"),
    ],
)  # fmt: skip
def test_malformed_xml_numbers_are_named_errors(os_type: str, devices: str, match: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match=match):
        domxml_to_native("xen-xl", _domain(os_type, devices))


@pytest.mark.parametrize(
    "graphics",
    [
        "<graphics type='vnc' autoport='yes' passwd='a,vnclisten=0.0.0.0'/>",
        "<graphics type='vnc' autoport='yes' keymap='en,vncunused=0'/>",
        "<graphics type='sdl' display=':0,type=vnc'/>",
    ],
)
def test_a_comma_cannot_smuggle_vfb_parameters(graphics: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match="cannot contain ','"):
        domxml_to_native("xen-xl", _domain("xen", graphics))


def test_sxpr_vncdisplay_must_be_a_number() -> None:
    text = "(domain (name 'g') (image (linux (kernel '/k'))) (device (vfb (type vnc) (vncdisplay '/dev/x'))))"
    with pytest.raises(ConfSyntaxError, match="vncdisplay"):
        domxml_from_native("xen-sxpr", text)


# ---------------------------------------------------------------- generated configurations

_KEYS = (
    "type", "builder", "kernel", "bootloader", "memory", "maxmem", "vcpus", "maxvcpus", "cpus", "uuid",
    "localtime", "rtc_timeoffset", "tsc_mode", "hpet", "hap", "pae", "passthrough", "e820_host", "on_crash",
    "disk", "vif", "pci", "vfb", "serial", "parallel", "soundhw", "usbdevice", "usbctrl", "usbdev", "channel",
    "vnuma", "cpuid", "nestedhvm", "acpi_firmware", "max_event_channels", "spice", "spiceport", "vnc",
    "vncunused", "vncdisplay", "bios", "device_model_override",
)  # fmt: skip
_WORDS = (
    "", "0", "1", "-1", "hvm", "pv", "pvh", "x", "01", "5-2", "0-3,^1", "all", "/dev/vg/a", "phy:/dev/a",
    "tap:aio:/a", "rbd:p/i", "rbd:p/i:mon_host=h\\\\:1", "vdev=xvda", "target=/a,b", "xvda", "hda:cdrom", "w",
    "r", "!", "mac=00:16:3e:00:00:01", "bridge=br0.7", "rate=10MB/s", "rate=fast", "00:1b.0", "permissive=1",
    "type=sdl", "vncdisplay=2", "pty", "tcp:h:1,server", "udp:h:1@:2", "unix:/s", "sb16", "all", "tablet",
    "type=qusb,version=1,ports=4", "hostbus=1,hostaddr=2", "connection=pty,name=n", "pnode=0", "size=1024",
    "vcpus=0", "vdistances=10", "host,sse3=1", "ovmf", "native", "share_pt", "destroy", "99999999999",
)  # fmt: skip


def _value() -> st.SearchStrategy[str]:
    word = st.sampled_from(_WORDS)
    quoted = word.map(lambda w: '"' + w.replace('"', "") + '"')
    number = st.one_of(
        st.integers(min_value=-3, max_value=70000).map(str), st.sampled_from(["01", "0x1f", "-0"])
    )
    strings = st.lists(word, max_size=3).map(lambda ws: ", ".join(ws))
    flat = st.lists(quoted, max_size=3).map(lambda qs: "[ " + ", ".join(qs) + " ]")
    nested = st.lists(
        st.lists(quoted, max_size=4).map(lambda qs: "[ " + ", ".join(qs) + " ]"), max_size=3
    ).map(lambda ls: "[ " + ", ".join(ls) + " ]")
    return st.one_of(quoted, number, strings.map(lambda s: '"' + s + '"'), flat, nested)


_CONFIG = st.lists(st.tuples(st.sampled_from(_KEYS), _value()), max_size=8).map(
    lambda kv: 'name = "g"\n' + "".join(f"{k} = {v}\n" for k, v in dict(kv).items())
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=_CONFIG, fmt=st.sampled_from(["xen-xl", "xen-xm"]))
def test_any_config_converts_or_raises_a_virt_error(cfg: str, fmt: str) -> None:
    try:
        xml = domxml_from_native(fmt, cfg)
    except VirtError:
        return
    for out in ("xen-xl", "xen-xm"):
        try:
            back = domxml_to_native(out, xml)
        except VirtError:
            continue
        # what is written reads back
        domxml_from_native(out, back)
