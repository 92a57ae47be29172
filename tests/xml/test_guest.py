"""<os>, <clock> and <cpu>: one declarative description each (virtcore.xml.guest).

Parsing, both formatters and the coverage report all come from the ``typed(...)``
fields; these tests pin what those descriptions say, on real XML.
"""

from __future__ import annotations

import attrs
import pytest
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import (
    CPU,
    OS,
    Clock,
    CPUFeature,
    NumaCell,
    Timer,
    format_domain,
    parse_domain,
    unmodelled,
)
from virtcore.xml._spec import ULONG, spec_covers, typed
from virtcore.xml._textfmt import _format_text
from virtcore.xml.domain import _serialize, domain_to_element, model_tree

GUEST = """<domain type='kvm'>
  <name>g</name>
  <memory unit='MiB'>512</memory>
  <os firmware='efi'>
    <type arch='x86_64' machine='q35'> hvm </type>
    <loader readonly='yes' type='pflash'/>
    <kernel>/boot/vmlinuz</kernel>
    <cmdline>  console=ttyS0  </cmdline>
    <boot dev='hd'/>
    <boot dev='cdrom'/>
    <bootmenu enable='yes' timeout='3000'/>
    <smbios mode='sysinfo'/>
  </os>
  <cpu mode='custom' match='exact' check='partial'>
    <model fallback='forbid'>Skylake-Client</model>
    <vendor>Intel</vendor>
    <topology sockets='1' dies='1' clusters='1' cores='2' threads='1'/>
    <feature policy='require' name='vmx'/>
    <feature policy='disable' name='hle'/>
    <numa>
      <cell id='0' cpus='0' memory='256' unit='MiB' memAccess='shared'/>
      <cell id='1' cpus='1' memory='262144'/>
      <interconnects><latency initiator='0' target='1' type='access' value='5'/></interconnects>
    </numa>
  </cpu>
  <clock offset='variable' adjustment='reset' basis='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='hpet' present='no'/>
  </clock>
</domain>
"""

_GUEST_CLASSES = (OS, Timer, Clock, CPUFeature, NumaCell, CPU)


def _both(d: object) -> str:
    """The text of ``d`` from the tree path, after checking the text path writes the same."""
    tree = _serialize(domain_to_element(d))  # type: ignore[arg-type]
    text = _format_text(d, None)  # type: ignore[arg-type]
    assert text is None or text == tree
    assert format_domain(d) == tree  # type: ignore[arg-type]
    return tree


def test_every_field_is_read() -> None:
    d = parse_domain(GUEST)
    assert d.os == OS(
        type="hvm",
        arch="x86_64",
        machine="q35",
        firmware="efi",
        loader_type="pflash",
        kernel="/boot/vmlinuz",
        cmdline="  console=ttyS0  ",
        boot=("hd", "cdrom"),
        bootmenu_enable=True,
        bootmenu_timeout=3000,
    )
    assert d.clock == Clock(
        offset="variable",
        timers=(Timer("rtc", tickpolicy="catchup"), Timer("hpet", present=False)),
        adjustment=None,
    )
    assert d.cpu == CPU(
        mode="custom",
        match="exact",
        check="partial",
        model="Skylake-Client",
        model_fallback="forbid",
        vendor="Intel",
        sockets=1,
        dies=1,
        clusters=1,
        cores=2,
        threads=1,
        features=(CPUFeature("vmx", "require"), CPUFeature("hle", "disable")),
        numa=(NumaCell(0, "0", 262144, "shared"), NumaCell(1, "1", 262144)),
    )


def test_unchanged_parts_are_written_as_read() -> None:
    d = parse_domain(GUEST)
    text = _both(d)
    for kept in (
        '<type arch="x86_64" machine="q35"> hvm </type>',
        '<loader readonly="yes" type="pflash"/>',
        "<cmdline>  console=ttyS0  </cmdline>",
        '<bootmenu enable="yes" timeout="3000"/>',
        '<smbios mode="sysinfo"/>',
        '<cell id="0" cpus="0" memory="256" unit="MiB" memAccess="shared"/>',
        '<clock offset="variable" adjustment="reset" basis="utc">',
        "<interconnects>",
    ):
        assert kept in text
    assert parse_domain(text) == d


def test_the_descriptions_are_the_coverage() -> None:
    for cls in _GUEST_CLASSES:
        assert "_covers" not in vars(cls), cls.__name__
        assert cls.covered() == spec_covers(cls._spec)
    tree = model_tree()
    assert isinstance(tree, tuple)
    assert (tree[1]["os"], tree[1]["clock"], tree[1]["cpu"]) == (OS.covered(), Clock.covered(), CPU.covered())
    # what no field describes is reported, nothing else
    assert unmodelled(parse_domain(GUEST)) == [
        "domain/os/loader/@readonly",
        "domain/os/smbios",
        "domain/cpu/numa/interconnects",
        "domain/clock/@basis",
    ]


def test_changed_values_are_written_and_emptied_children_go() -> None:
    d = parse_domain(GUEST)
    os_ = attrs.evolve(d.os, kernel=None, cmdline="quiet", boot=("network",), bootmenu_timeout=None)
    cpu = attrs.evolve(
        d.cpu,  # type: ignore[misc]
        model=None,
        model_fallback=None,
        sockets=None,
        dies=None,
        clusters=None,
        cores=None,
        threads=None,
        numa=(NumaCell(0, "0-1", 1024),),
    )
    d2 = attrs.evolve(d, os=os_, cpu=cpu, clock=attrs.evolve(d.clock, adjustment=-30))
    root = etree.fromstring(_both(d2).encode())
    assert root.find("os/kernel") is None
    assert root.findtext("os/cmdline") == "quiet"
    assert [b.get("dev") for b in root.iterfind("os/boot")] == ["network"]
    assert root.find("os/bootmenu").attrib == {"enable": "yes"}  # type: ignore[union-attr]
    assert root.find("os/loader").attrib == {"readonly": "yes", "type": "pflash"}  # type: ignore[union-attr]
    assert root.find("cpu/model") is None and root.find("cpu/topology") is None
    assert [dict(c.attrib) for c in root.iterfind("cpu/numa/cell")] == [
        {"id": "0", "cpus": "0-1", "memory": "1024", "unit": "KiB"}
    ]
    assert root.find("cpu/numa/interconnects") is not None  # unknown content stays
    assert root.find("clock").get("adjustment") == "-30"  # type: ignore[union-attr]
    back = parse_domain(etree.tostring(root))
    assert (back.os, back.cpu, back.clock) == (d2.os, d2.cpu, d2.clock)


def test_no_cells_left_drop_an_emptied_numa() -> None:
    d = parse_domain(GUEST.replace("<interconnects>", "<!--").replace("</interconnects>", "-->"))
    d2 = attrs.evolve(d, cpu=attrs.evolve(d.cpu, numa=()))  # type: ignore[misc]
    assert "<numa" not in _both(d2)


def test_parts_built_in_python_follow_libvirts_order() -> None:
    d = parse_domain(
        "<domain type='kvm'><name>g</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    cpu = CPU(
        mode="custom",
        model="qemu64",
        cores=2,
        vendor="AMD",
        features=(CPUFeature("svm", "require"),),
        numa=(NumaCell(0, "0-1", 1024, "private"),),
    )
    os_ = OS(type="hvm", boot=("hd",), cmdline="console=ttyS0", kernel="/k", bootmenu_enable=False)
    clock = Clock(offset="utc", timers=(Timer("pit", tickpolicy="delay"),))
    text = _both(attrs.evolve(d, cpu=cpu, os=os_, clock=clock))
    root = etree.fromstring(text.encode())
    assert [c.tag for c in root.find("cpu")] == ["model", "vendor", "topology", "feature", "numa"]  # type: ignore[union-attr]
    assert '<feature policy="require" name="svm"/>' in text
    assert '<cell id="0" cpus="0-1" memory="1024" unit="KiB" memAccess="private"/>' in text
    assert [c.tag for c in root.find("os")] == ["type", "kernel", "cmdline", "boot", "bootmenu"]  # type: ignore[union-attr]
    assert '<timer name="pit" tickpolicy="delay"/>' in text
    back = parse_domain(text)
    assert (back.cpu, back.os, back.clock) == (cpu, os_, clock)


@pytest.mark.parametrize(
    ("fragment", "words"),
    [
        ("<os><type>hvm</type><bootmenu enable='yes' timeout='65536'/></os>", "boot menu timeout '65536'"),
        ("<os><type>hvm</type><bootmenu timeout='soon'/></os>", "<os><bootmenu> attribute 'timeout'"),
        ("<os><type>hvm</type><bootmenu enable='maybe'/></os>", "<os><bootmenu> attribute 'enable'"),
        ("<os><type>hvm</type><boot/></os>", "missing attribute 'dev' in <os><boot>"),
        ("<os><type> </type></os>", "missing <type> in <os>"),
        ("<os><type>hvm</type></os><clock><timer/></clock>", "missing attribute 'name' in <timer>"),
        ("<os><type>hvm</type></os><clock><timer name=''/></clock>", "<timer> attribute 'name'"),
        ("<os><type>hvm</type></os><clock adjustment='1e9'/>", "<clock> attribute 'adjustment'"),
        ("<os><type>hvm</type></os><cpu><feature policy='require'/></cpu>", "attribute 'name' in <feature>"),
        ("<os><type>hvm</type></os><cpu><topology cores='0x2'/></cpu>", "<cpu><topology> attribute 'cores'"),
        (
            "<os><type>hvm</type></os><cpu><numa>"
            "<cell id='0' cpus='0' memory='1' memAccess='all'/></numa></cpu>",
            "unknown value 'all' in <cell> attribute 'memAccess'",
        ),
        (
            "<os><type>hvm</type></os><cpu><numa><cell id='0' cpus='0' memory='1' unit='lots'/></numa></cpu>",
            "<cell> attribute 'memory'",
        ),
    ],
)
def test_invalid_values_are_refused_naming_the_place(fragment: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_domain(f"<domain type='kvm'><name>g</name><memory>1024</memory>{fragment}</domain>")
    assert words in str(info.value)


@attrs.frozen
class MaxPhysCPU(CPU):
    """A <cpu> typing one more attribute, the way any of these classes grows."""

    maxphysaddr_bits: int | None = typed("cattr", "maxphysaddr", "bits", conv=ULONG)


def test_a_field_added_to_a_guest_class_is_picked_up_everywhere() -> None:
    el = etree.fromstring("<cpu><maxphysaddr mode='emulate' bits='42'/><model>qemu64</model></cpu>")
    cpu = MaxPhysCPU.from_element(el)
    assert (cpu.model, cpu.maxphysaddr_bits) == ("qemu64", 42)
    out = attrs.evolve(cpu, maxphysaddr_bits=39).to_element()
    assert out.find("maxphysaddr").attrib == {"mode": "emulate", "bits": "39"}  # type: ignore[union-attr]
    assert "bits" in MaxPhysCPU.covered()[1]["maxphysaddr"][0]  # type: ignore[index]
    assert "maxphysaddr" not in CPU.covered()[1]  # type: ignore[index]


def test_the_first_of_repeated_parts_is_read_and_written_in_their_place() -> None:
    """As libvirt reads ``./cpu[1]``: a second <os>/<clock>/<cpu> is not the model."""
    d = parse_domain(
        "<domain type='kvm'><name>g</name><memory>1024</memory>"
        "<os><type>hvm</type></os><os><type>xen</type></os>"
        "<cpu mode='host-model'/><cpu mode='host-passthrough'/>"
        "<clock offset='utc'/><clock offset='localtime'/></domain>"
    )
    assert (d.os.type, d.cpu.mode if d.cpu else None, d.clock.offset) == ("hvm", "host-model", "utc")
    root = etree.fromstring(_both(d).encode())
    assert [(c.tag, dict(c.attrib)) for c in root if c.tag in ("os", "cpu", "clock")] == [
        ("os", {}),
        ("cpu", {"mode": "host-model"}),
        ("clock", {"offset": "utc"}),
    ]
    assert parse_domain(etree.tostring(root)) == d
