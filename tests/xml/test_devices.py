"""The devices are described once: what each description drives, pinned on real elements.

Every device class declares its typed fields with ``typed(...)``; parsing (generated from the
description), the tree formatter, the text formatter and the coverage report all come from
there. These tests pin the parts of the description language the devices need (an attribute
chosen by the element's type, an enum, an implied default, a value with two places, a child
picked by an attribute) and that a device built in Python is written as text from its
description without building a tree.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import (
    Address,
    Channel,
    Disk,
    DomainDef,
    Graphics,
    Interface,
    Serial,
    domain_to_element,
    format_domain,
    parse_domain,
    secure_parse,
    unmodelled,
)
from virtcore.xml._spec import F
from virtcore.xml._textfmt import _format_text
from virtcore.xml.devices import DEVICE_TYPES, Device

BASE = "<domain type='test'><name>vm</name><memory>1024</memory><os><type>hvm</type></os>{}</domain>"


def _domain(devices: str = "") -> DomainDef:
    return parse_domain(BASE.format(f"<devices>{devices}</devices>" if devices else ""))


def _tree_text(d: DomainDef) -> str:
    el = domain_to_element(d)
    etree.indent(el, space="  ")
    return etree.tostring(el, encoding="unicode") + "\n"


def test_no_device_class_parses_formats_or_covers_by_hand() -> None:
    for cls in DEVICE_TYPES:
        for name in ("from_element", "to_element", "_overlay", "_covers"):
            assert name not in vars(cls), f"{cls.__name__}.{name} is a second description"
        assert cls._typed, cls.__name__


def test_the_source_attribute_follows_the_disk_type() -> None:
    disk = Disk.from_element(
        secure_parse("<disk type='file'><source file='/a.img'/><target dev='vda'/></disk>")
    )
    assert (disk.type, disk.device, disk.source) == ("file", "disk", "/a.img")
    block = attrs.evolve(disk, type="block", source="/dev/sdb").to_element()
    src = block.find("source")
    assert src is not None and dict(src.attrib) == {"dev": "/dev/sdb"}  # the file attribute is gone
    net = Disk.from_element(
        secure_parse("<disk type='network'><source protocol='nbd' name='vol'/><target dev='vdb'/></disk>")
    )
    assert (net.source, net.source_protocol, net.source_pool) == ("vol", "nbd", None)


def test_implied_values_are_written_back() -> None:
    disk = Disk.from_element(secure_parse("<disk><target dev='vda'/></disk>"))
    assert (disk.type, disk.device) == ("file", "disk")
    assert dict(disk.to_element().attrib) == {"type": "file", "device": "disk"}


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        (
            "<disk type='floppy'><target dev='fda'/></disk>",
            "unknown disk type 'floppy' in <disk> attribute 'type'",
        ),
        ("<disk device='tape'><target dev='st0'/></disk>", "unknown disk device 'tape'"),
        ("<disk><target bus='ide'/></disk>", "missing attribute 'dev' in <disk><target>"),
        ("<disk><target dev=''/></disk>", "missing attribute 'dev' in <disk><target>"),
        ("<disk><target dev='vda'/><boot/></disk>", "missing attribute 'order' in <disk><boot>"),
        ("<disk><target dev='vda'/><boot order='x'/></disk>", "<disk><boot> attribute 'order'"),
        ("<disk><target dev='vda'/><boot order='1' loadparm='toolongvalue'/></disk>", "between 1 and 8"),
        ("<interface/>", "missing attribute 'type' in <interface>"),
        (
            "<interface type='network'/>",
            "No <source> 'network' attribute specified with <interface type='network'/>",
        ),
        ("<interface type='bridge'><source bridge=''/></interface>", "No <source> 'bridge' attribute"),
        ("<interface type='user'><mac address='01:00:00:00:00:01'/></interface>", "multicast"),
        ("<controller type='pci' index='-1'/>", "<controller> attribute 'index'"),
        ("<graphics type='vnc'><listen/></graphics>", "missing listen type"),
        ("<graphics type='vnc' port='70000'/>", "<graphics> attribute 'port'"),
        ("<memballoon/>", "missing attribute 'model' in <memballoon>"),
    ],
)
def test_invalid_devices_are_refused_naming_the_place(xml: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        _domain(xml)
    assert words in str(info.value)


def test_libvirts_relations_between_fields_are_applied_once_parsed() -> None:
    d = _domain(
        "<interface type='user'/>"
        "<serial type='tcp'><source host='h' service='4555'/></serial>"
        "<graphics type='vnc' autoport='yes'/>"
    )
    iface, serial, graphics = d.devices
    assert isinstance(iface, Interface) and iface.mac is not None and iface.mac.startswith("52:54:00:")
    assert isinstance(serial, Serial)
    assert (serial.source_mode, serial.source_host, serial.source_service) == ("connect", "h", "4555")
    assert isinstance(graphics, Graphics) and (graphics.port, graphics.autoport) == (-1, True)
    assert unmodelled(d) == []
    # nothing of it is lost on the way back
    assert parse_domain(format_domain(d)) == d


def test_the_listen_address_has_two_places_kept_in_step() -> None:
    src = "<graphics type='vnc' port='5901'><listen type='address' address='127.0.0.1'/></graphics>"
    g = Graphics.from_element(secure_parse(src))
    assert g.listen == "127.0.0.1"
    el = attrs.evolve(g, listen="0.0.0.0").to_element()
    assert el.get("listen") is None  # the element never had the attribute: the child holds it
    lst = el.find("listen")
    assert lst is not None and dict(lst.attrib) == {"type": "address", "address": "0.0.0.0"}
    both = Graphics.from_element(secure_parse(src.replace("port='5901'", "port='5901' listen='127.0.0.1'")))
    el = attrs.evolve(both, listen="::1").to_element()
    lst = el.find("listen")
    assert el.get("listen") == "::1" and lst is not None and lst.get("address") == "::1"
    # with a UNIX socket there is no listen address
    sock = Graphics.from_element(secure_parse(src.replace("port='5901'", "socket='/run/vnc.sock'")))
    assert sock.listen is None


def test_coverage_comes_from_the_description() -> None:
    d = _domain(
        "<channel type='unix'><source mode='bind' path='/s' extra='1'/>"
        "<target type='virtio' name='n'/></channel>"
    )
    assert unmodelled(d) == ["domain/devices/channel[1]/source/@extra"]
    assert parse_domain(format_domain(d)) == d


def _sample(f: F) -> Any:
    """A value field ``f`` accepts, found through its own converter (nothing per class)."""
    if f.kind == "flag":
        return True
    if f.kind == "one" and f.cls is not None:  # a nested element: one filled the same way
        return f.cls(**{g.name: _sample(g) for g in f.cls._spec})
    for text in ("a&b<c>\"'d", "7", "yes", "52:54:00:00:00:07"):
        try:
            return f.parse(text, "sample")
        except XMLError:
            continue
    raise AssertionError(f"no sample for {f.name}")


def _filled(cls: type[Device]) -> Device:
    fields = attrs.fields_dict(cls)  # type: ignore[arg-type]
    values = {f.name: _sample(f) for f in cls._typed if fields[f.name].default is None}
    return cls(**values, alias="ua-x&y", address=Address(type="pci", bus=0, slot=3))  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", DEVICE_TYPES, ids=lambda c: c.tag)
def test_a_device_built_in_python_is_written_from_its_description(
    cls: type[Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = _filled(cls)
    d = attrs.evolve(_domain(), devices=(dev, attrs.evolve(dev, alias=None, address=None)))
    expected = _tree_text(attrs.evolve(d, devices=tuple(attrs.evolve(x) for x in d.devices)))

    def no_tree(self: Device) -> etree._Element:
        raise AssertionError("a tree was built for a device built in Python")

    monkeypatch.setattr(cls, "to_element", no_tree)
    text = _format_text(d, None)
    monkeypatch.undo()
    assert text == expected
    assert dev._frag and dev._frag[0] in text


@pytest.mark.parametrize("parsed", [False, True])
def test_a_value_xml_cannot_hold_leaves_the_device_to_the_tree(parsed: bool) -> None:
    chan = Channel(type="pty", target_name="org.qemu.guest_agent.0")
    if parsed:
        chan = _domain('<channel type="pty"><target name="x"/></channel>').devices[0]  # type: ignore[assignment]
    d = attrs.evolve(_domain(), devices=(attrs.evolve(chan, target_name="bad\x01name"),))
    assert _format_text(d, None) is None  # declared, not raised
    with pytest.raises(XMLError, match="domain 'vm'"):
        format_domain(d)


def test_disk_iotune_holds_every_block_iotune_parameter_in_libvirts_order() -> None:
    from virtcore.tunables import BLOCK_IOTUNE_PARAMETERS
    from virtcore.xml.devices import DiskIoTune

    assert DiskIoTune._order == tuple(BLOCK_IOTUNE_PARAMETERS)
    assert {f.name for f in DiskIoTune._spec} == set(BLOCK_IOTUNE_PARAMETERS)
