"""format_domain writes text directly; it must equal the lxml tree path byte for byte.

The tree path (``domain_to_element`` + indent + serialize) is the reference: the
text path replays its steps with cached fragments, so any drift is a bug.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree
from test_corpus import ACCEPTED, CORPUS
from test_properties import domains

from virtcore.errors import XMLError
from virtcore.xml import (
    CPU,
    OS,
    Clock,
    Disk,
    DomainDef,
    Interface,
    Timer,
    domain_to_element,
    format_domain,
    parse_device,
    parse_domain,
)
from virtcore.xml._textfmt import _format_text


def tree_text(d: DomainDef, domain_id: int | None = None) -> str:
    el = domain_to_element(d, domain_id=domain_id)
    etree.indent(el, space="  ")
    return etree.tostring(el, encoding="unicode") + "\n"


def variants(d: DomainDef) -> list[DomainDef]:
    return [
        d,
        attrs.evolve(d, memory=d.memory + 1024, current_memory=d.memory),
        attrs.evolve(d, title="t&<x>\"'", description=None, bootloader="b", max_memory=None),
        attrs.evolve(
            d, max_memory=8 << 20, max_memory_slots=4, vcpu=d.vcpu + 2, current_vcpus=1, cpuset="0-1"
        ),
        attrs.evolve(d, cpu=None, devices=tuple(reversed(d.devices)), emulator=None),
        attrs.evolve(
            d, cpu=CPU(mode="host-passthrough"), os=OS(type="hvm"), clock=Clock(timers=(Timer("rtc"),))
        ),
        attrs.evolve(d, devices=(), uuid="00000000-0000-0000-0000-000000000001", name='n"x&y<z'),
        # a name holds no control character (virtcore.limits); text fields may
        attrs.evolve(d, title="a\tb", description="c\td\re"),
        attrs.evolve(d, features=("acpi",)),
        attrs.evolve(d, features=()),
    ]


@pytest.mark.parametrize("name", ACCEPTED)
def test_text_path_equals_tree_path_on_corpus(name: str) -> None:
    d0 = parse_domain((CORPUS / name).read_bytes())
    for d in variants(d0):
        for domain_id in (None, 3):
            assert format_domain(d, domain_id=domain_id) == tree_text(d, domain_id)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domains())
def test_text_path_equals_tree_path_on_generated(d: DomainDef) -> None:
    assert format_domain(d) == tree_text(d)
    back = parse_domain(format_domain(d))
    for v in variants(back):
        assert format_domain(v) == tree_text(v)


def test_typical_domain_takes_the_text_path() -> None:
    d = parse_domain((CORPUS / "qemuxml2argv-9.0.0" / "minimal.xml").read_bytes())
    assert _format_text(d, None) == tree_text(d)


def test_unmodelled_attribute_on_memory_falls_back_to_the_tree() -> None:
    xml = (CORPUS / "qemuxmlconf" / "machine-core-on.xml").read_bytes()
    d = parse_domain(xml)
    assert _format_text(d, None) is None  # the text path declares it cannot write this one
    d2 = attrs.evolve(d, memory=4096, current_memory=2048)
    text = format_domain(d2)
    assert 'dumpCore="on"' in text and ">4096</memory>" in text
    assert text == tree_text(d2)


def test_caches_follow_every_change() -> None:
    d = parse_domain((CORPUS / "qemuxml2argv-9.0.0" / "minimal.xml").read_bytes())
    first = format_domain(d)
    # the same device objects, new domain fields: device text reused, domain text new
    d2 = attrs.evolve(d, current_memory=1024, name="renamed")
    text2 = format_domain(d2)
    assert "<name>renamed</name>" in text2 and '<currentMemory unit="KiB">1024</currentMemory>' in text2
    assert format_domain(d) == first  # the original is untouched
    # a changed device: its new text, the others unchanged
    disk = next(x for x in d.devices if isinstance(x, Disk))
    d3 = attrs.evolve(
        d2, devices=tuple(attrs.evolve(x, readonly=True) if x is disk else x for x in d.devices)
    )
    text3 = format_domain(d3)
    assert text3.count("<readonly/>") == text2.count("<readonly/>") + 1
    assert text3 == tree_text(d3)
    # an attached device appears; back to the old tuple, the old text comes back
    nic = parse_device(
        "<interface type='network'><mac address='52:54:00:00:00:09'/><source network='x'/></interface>"
    )
    assert isinstance(nic, Interface)
    d4 = attrs.evolve(d2, devices=(*d2.devices, nic))
    assert "52:54:00:00:00:09" in format_domain(d4)
    assert format_domain(attrs.evolve(d4, devices=d2.devices)) == text2
    # emulator changes with the same devices tuple
    d5 = attrs.evolve(d2, emulator="/opt/qemu")
    assert "<emulator>/opt/qemu</emulator>" in format_domain(d5) and format_domain(d5) == tree_text(d5)


@pytest.mark.parametrize("field", ["description", "title"])
def test_a_value_xml_cannot_hold_is_an_xml_error_naming_the_domain(field: str) -> None:
    """A definition built in Python with a control character: XMLError, not lxml's ValueError."""
    d = parse_domain((CORPUS / "qemuxml2argv-9.0.0" / "minimal.xml").read_bytes())
    with pytest.raises(XMLError, match="domain 'QEMUGuest1' cannot be written as XML"):
        format_domain(attrs.evolve(d, **{field: "bad\x01char"}))


def test_corpus_dir_exists() -> None:
    assert Path(CORPUS).is_dir()


def test_text_path_with_typed_tuning_and_features() -> None:
    from test_elements import TUNED

    d = parse_domain(TUNED)
    # unchanged hyperv/kvm: the kept <features> text is exact, so the text path serves it
    assert _format_text(d, None) == tree_text(d)
    assert d.cputune is not None and d.hyperv is not None and d.memory_backing is not None
    for v in (
        *variants(d),
        attrs.evolve(d, cputune=attrs.evolve(d.cputune, shares=7), iothreads=None, seclabels=()),
        attrs.evolve(d, hyperv=attrs.evolve(d.hyperv, states=(("relaxed", False),)), kvm=None),
        attrs.evolve(d, memory_backing=None, numatune=None, sysinfo=(), iothreadids=None),
        attrs.evolve(d, devices=tuple(attrs.evolve(x, address=None, alias="a") for x in d.devices)),
    ):
        assert format_domain(v) == tree_text(v)


def test_fragment_cache_is_a_declared_field_outside_equality() -> None:
    """The per-object text cache is an attrs field (no write onto a frozen instance after
    construction) that neither equality, hashing nor repr sees, and evolve starts afresh."""
    d = parse_domain((CORPUS / "qemuxml2argv-9.0.0" / "minimal.xml").read_bytes())
    disk = next(x for x in d.devices if isinstance(x, Disk))
    for cls in (type(disk), OS, Clock, CPU):
        field = attrs.fields_dict(cls)["_frag"]
        assert (field.init, field.eq, field.hash, field.repr) == (False, False, False, False)
    twin = attrs.evolve(disk)
    assert not disk._frag and not twin._frag
    format_domain(d)
    assert disk._frag and disk._frag[0].startswith("<disk")
    assert not twin._frag  # a separate cache: evolve never shares it
    assert twin == disk and hash(twin) == hash(disk) and repr(twin) == repr(disk)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        disk._frag = []  # type: ignore[misc]


def test_text_path_steers_without_exceptions() -> None:
    """The text path says up front what it cannot write: no try/except and no raise in it."""
    import ast

    from virtcore.xml import _textfmt, _util

    tree = ast.parse(Path(_textfmt.__file__).read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Try | ast.Raise)]
    assert not hasattr(_util, "Slow")
    assert _util.esc_text("a\x01b") is None and _util.esc_attr("\ufffe") is None
    assert _util.plain_name("ns:tag") is None and _util.plain_name("acpi") == "acpi"
    assert _util.leaf_text("title", "x", (), (("a", "\x02"),)) is None


def test_unwritable_value_is_declared_not_raised() -> None:
    d = parse_domain((CORPUS / "qemuxml2argv-9.0.0" / "minimal.xml").read_bytes())
    assert _format_text(d, None) is not None
    bad = attrs.evolve(d, description="bad\x01text")
    assert _format_text(bad, None) is None  # declared: only the tree path is exact
    odd = attrs.evolve(d, features=("acpi", "not a name"))
    assert _format_text(odd, None) is None
    renamed = attrs.evolve(d, description="café & <co>")
    assert _format_text(renamed, None) == tree_text(renamed)


def test_each_leaf_description_drives_both_formatters() -> None:
    """Every top-level leaf is described once (domain.HEAD_LEAVES/TAIL_LEAVES): changing or
    dropping its field shows in the text path exactly as in the tree path."""
    from virtcore.xml._textfmt import _OPTIONAL_LEAVES
    from virtcore.xml.domain import HEAD_LEAVES, TAIL_LEAVES

    d = parse_domain((CORPUS / "qemuxml2argv-9.0.0" / "minimal.xml").read_bytes())
    new_values: dict[str, object] = {
        "name": "renamed", "uuid": "c7a5fdbd-edaf-9455-926a-d65c16db1809", "title": "T & t",
        "description": "<d>", "memory": d.memory * 2, "current_memory": d.memory,
        "vcpu": 3, "max_memory": d.memory * 4, "iothreads": 2, "bootloader": "/bin/bl",
        "bootloader_args": "-q", "on_poweroff": "restart", "on_reboot": "destroy",
        "on_crash": "preserve",
    }  # fmt: skip
    leaves = HEAD_LEAVES + TAIL_LEAVES
    assert {leaf.field for leaf in leaves} == set(new_values)
    for leaf in leaves:
        changed = attrs.evolve(d, **{leaf.field: new_values[leaf.field]})
        text = _format_text(changed, None)
        assert text is not None and text == tree_text(changed), leaf.tag
        assert f">{u_esc(new_values[leaf.field])}</{leaf.tag}>" in text, leaf.tag
    for leaf in _OPTIONAL_LEAVES:
        present = attrs.evolve(d, **{leaf.field: new_values[leaf.field]})
        dropped = attrs.evolve(present, **{leaf.field: None})
        text = _format_text(dropped, None)
        assert text is not None and f"<{leaf.tag}" not in text and text == tree_text(dropped)
    assert {leaf.tag for leaf in _OPTIONAL_LEAVES} == {
        "title", "description", "maxMemory", "iothreads", "bootloader", "bootloader_args"
    }  # fmt: skip


def u_esc(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_generated_layout_key_follows_every_described_field() -> None:
    """The text path's layout key and fragment list come from the descriptions (leaves,
    domain.PARTS): each flag is its part's absence, over the corpus."""
    from virtcore.xml._textfmt import _KEY_FIELDS, _OPTIONAL_LEAVES, _absent, _described_parts
    from virtcore.xml.domain import PARTS, REPLACED_PARTS

    assert (
        *(leaf.field for leaf in _OPTIONAL_LEAVES),
        *(p.field for p in REPLACED_PARTS if not p.many),
        "features",
        *(p.field for p in REPLACED_PARTS if p.many),
    ) == _KEY_FIELDS
    seen: set[tuple[bool, ...]] = set()
    for name in ACCEPTED:
        d = parse_domain((CORPUS / name).read_bytes())
        expected = tuple(getattr(d, field) in (None, ()) for field in _KEY_FIELDS)
        assert _absent(d) == expected, name
        parts = [p for p in _described_parts(d) if p is not None]
        held = [x for part in PARTS for x in part.items(d)]
        assert sorted(map(id, parts)) == sorted(map(id, held)), name
        assert len(parts) == len(held), name
        seen.add(expected)
    assert len(seen) > 10  # many layouts, not one repeated


_PARTED = """<domain type='kvm'>
  <name>p</name>
  <memory unit='MiB'>256</memory>
  <memtune><hard_limit unit='MiB'>512</hard_limit></memtune>
  <sysinfo type='smbios'><bios><entry name='vendor'>v</entry></bios></sysinfo>
  <os><type>hvm</type><boot dev='hd'/></os>
  <cpu mode='host-model'><topology sockets='1' cores='2' threads='1'/></cpu>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>
  <devices/>
  <seclabel type='dynamic' model='selinux'/>
</domain>
"""


def test_every_described_part_takes_the_text_path_as_it_comes_and_goes() -> None:
    """domain.PARTS drives both formatters: each part dropped, restored, changed, the
    same template formatting definitions of changing layouts in turn."""
    from virtcore.xml.domain import PARTS, REPLACED_PARTS

    d = parse_domain(_PARTED)
    assert {p.tag for p in PARTS} >= {"os", "clock", "cpu", "memtune", "sysinfo", "seclabel"}
    seen = []
    for _ in range(2):  # twice: layouts already planned, and the last one remembered
        for part in REPLACED_PARTS:
            gone = attrs.evolve(d, **{part.field: () if part.many else None})
            for v in (gone, d, gone):
                text = _format_text(v, None)
                assert text == tree_text(v), part.tag
                seen.append(text)
            assert f"<{part.tag}" not in seen[-1]
    changed = attrs.evolve(
        d,
        os=attrs.evolve(d.os, boot=("network", "hd")),
        clock=attrs.evolve(d.clock, offset="localtime"),
        cpu=attrs.evolve(d.cpu, cores=4),  # type: ignore[misc]
    )
    text = _format_text(changed, None)
    assert text == tree_text(changed)
    assert '<boot dev="network"/>\n    <boot dev="hd"/>' in text
    assert '<clock offset="localtime">' in text and 'cores="4"' in text
