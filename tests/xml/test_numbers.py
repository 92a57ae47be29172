"""Hostile numbers: every number the model reads is refused with an XMLError naming it.

Three sources of numeric fields, none of them a hand-written list of fields:

* the declarative descriptions (``_spec`` of every typed element, the ``typed`` unsigned
  fields of every device), walked from the domain's typed top-level elements down;
* libvirt's corpus: every attribute or text whose value is an integer in every
  document where it appears, mutated in the first document that has it;
* the two reported crashes (``<rng><rate bytes='x'>``, a huge ``<clock adjustment>``)
  through real drivers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libvirt_testdata import MISSING, find, require
from lxml import etree

import virtcore
from virtcore import limits
from virtcore.errors import ErrorNumber, XMLError
from virtcore.xml import devices as dom_model
from virtcore.xml import domain as dom_domain
from virtcore.xml import elements, format_domain, parse_domain
from virtcore.xml._spec import INT, UINT, UINT32, ULONG, F, SpecElement, described

#: libvirt's data (../shared or fetched), or None when there is none: the corpus tests then skip.
CORPUS = find()
DIRS = ("qemuxmlconf", "qemuxml2argv-9.0.0", "genericxml2xml-in", "domainschema", "xlconfig", "xmconfig")

BASE = (
    "<domain type='kvm'><name>n</name><memory unit='KiB'>65536</memory>"
    "<os><type arch='x86_64'>hvm</type></os>{top}<devices>{devices}</devices></domain>"
)

#: Strings no numeric field may accept, whatever its type.
HOSTILE = ["x", "1e999", "", " ", "1.5", "1_000", "\u0663", "0x", "--1", str(10**400)]
#: ... and for unsigned / signed fields in particular.
HOSTILE_UINT = [*HOSTILE, "-1", str(2**64)]
HOSTILE_INT = [*HOSTILE, str(2**63), str(-(2**63) - 1)]

_NUMERIC_KINDS = {"attr", "cattr", "ctext", "text", "kib", "akib"}


def _is_numeric(f: F) -> bool:
    if f.kind in ("kib", "akib"):
        return True
    return f.kind in _NUMERIC_KINDS and (f.parse, f.fmt) in (UINT, INT)


def _walk(
    cls: type[SpecElement], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], F, type[SpecElement]]]:
    for f in cls._spec:
        if f.kind in ("many", "one"):
            assert f.cls is not None
            yield from _walk(f.cls, (*path, f.xml))
        elif _is_numeric(f):
            yield path, f, cls


def _spec_fields() -> list[tuple[tuple[str, ...], F, type[SpecElement]]]:
    roots: list[tuple[tuple[str, ...], type[SpecElement]]] = [
        ((part.tag,), part.cls()) for part in dom_domain.PARTS
    ]
    roots += [(("features", "hyperv"), elements.HyperV), (("features", "kvm"), elements.KVMFeatures)]
    roots.append((("devices", "rng", "address"), elements.Address))
    found = []
    for path, cls in roots:
        found.extend(_walk(cls, path))
    return found


def _mapped_fields() -> list[tuple[type[dom_model.Device], str, str | None, str]]:
    """The unsigned fields of the devices described by ``typed`` attribute fields."""
    found = []
    for cls in dom_model.DEVICE_TYPES:
        for f in described(cls):
            if (f.parse, f.fmt) in (UINT32, ULONG) and f.kind in ("attr", "cattr"):
                found.append((cls, f.name, (f.sub and f.xml) or None, f.sub or f.xml))
    return found


SPEC_FIELDS = _spec_fields()
MAPPED_FIELDS = _mapped_fields()


def _spec_id(item: tuple[tuple[str, ...], F, type[SpecElement]]) -> str:
    path, f, _ = item
    return "/".join(path) + f":{f.kind}:{f.xml}{'@' + f.sub if f.sub else ''}"


def _spec_doc(path: tuple[str, ...], f: F, value: str) -> tuple[str, str]:
    """A domain with ``value`` in field ``f`` of the element at ``path``; and the word naming it."""
    leaf = etree.Element(path[-1])
    if path[-1] == "address":
        leaf.set("type", "pci")
    if f.kind == "attr":
        leaf.set(f.xml, value)
        needle = f"'{f.xml}'"
    elif f.kind == "akib":
        leaf.set(f.xml, value)
        leaf.set("unit", "KiB")
        needle = f"'{f.xml}'"
    elif f.kind == "text":
        leaf.text = value
        needle = f"<{path[-1]}>"
    elif f.kind == "cattr":
        c = etree.SubElement(leaf, f.xml)
        c.set(f.sub, value)
        if path[-2:] == ("features", "hyperv") or path[-2:] == ("features", "kvm"):
            c.set("state", "on")
        needle = f"'{f.sub}'"
    else:  # ctext, kib
        etree.SubElement(leaf, f.xml).text = value
        needle = f"<{f.xml}>"
    el = leaf
    for tag in reversed(path[:-1]):
        parent = etree.Element(tag)
        if tag == "rng":
            parent.set("model", "virtio")
        parent.append(el)
        el = parent
    text = etree.tostring(el, encoding="unicode")
    if path[0] == "devices":
        return BASE.format(top="", devices=text[len("<devices>") : -len("</devices>")]), needle
    return BASE.format(top=text, devices=""), needle


def _mapped_doc(cls: type[dom_model.Device], sub: str | None, attr: str, value: str) -> str:
    el = etree.Element(cls.tag)
    for f in described(cls):
        if f.required is True:
            (el if f.kind == "attr" else etree.SubElement(el, f.xml)).set(f.sub or f.xml, "virtio")
    target = el if sub is None else (el.find(sub) if el.find(sub) is not None else etree.SubElement(el, sub))
    assert target is not None
    target.set(attr, value)
    return BASE.format(top="", devices=etree.tostring(el, encoding="unicode"))


def test_the_tables_name_numeric_fields() -> None:
    # the derivation finds what it should (and so these tests are not vacuous)
    ids = {_spec_id(x) for x in SPEC_FIELDS}
    assert "cputune:ctext:quota" in ids
    assert "devices/rng/address:attr:slot" in ids
    assert len(SPEC_FIELDS) > 30
    assert ("rng", "bytes") in {(c.tag, a) for c, _f, _s, a in MAPPED_FIELDS}
    assert ("disk", "order") in {(c.tag, a) for c, _f, _s, a in MAPPED_FIELDS}


@pytest.mark.parametrize("item", SPEC_FIELDS, ids=_spec_id)
def test_spec_fields_refuse_hostile_numbers(item: tuple[tuple[str, ...], F, type[SpecElement]]) -> None:
    path, f, cls = item
    good, _ = _spec_doc(path, f, "7")
    d = parse_domain(good)  # a plain number is read, and reads back the same
    assert parse_domain(format_domain(d)) == d
    signed = (f.parse, f.fmt) == INT
    for value in HOSTILE_INT if signed else HOSTILE_UINT:
        doc, needle = _spec_doc(path, f, value)
        if not value.strip() and f.kind in ("text", "ctext"):
            # blank text reads as absent (libvirt's virXPath* number readers do the same)
            parse_domain(doc)
            continue
        with pytest.raises(XMLError) as info:
            parse_domain(doc)
        message = str(info.value)
        assert info.value.code == ErrorNumber.XML_ERROR
        assert needle in message, (value, message)
        assert f"<{cls._tag}>" in message or f"<{path[-1]}>" in message, (value, message)


@pytest.mark.parametrize("item", MAPPED_FIELDS, ids=lambda x: f"{x[0].tag}:{x[2] or ''}@{x[3]}")
def test_mapped_device_fields_refuse_hostile_numbers(
    item: tuple[type[dom_model.Device], str, str | None, str],
) -> None:
    cls, field, sub, attr = item
    d = parse_domain(_mapped_doc(cls, sub, attr, "7"))
    assert getattr(d.devices[0], field) == 7
    assert parse_domain(format_domain(d)) == d
    f = next(f for f in described(cls) if f.name == field)
    hostile = [*HOSTILE_UINT, str(limits.UINT_MAX + 1)] if (f.parse, f.fmt) == UINT32 else HOSTILE_UINT
    for value in hostile:
        with pytest.raises(XMLError) as info:
            parse_domain(_mapped_doc(cls, sub, attr, value))
        message = str(info.value)
        assert f"'{attr}'" in message and f"<{cls.tag}>" in message, (value, message)
        if sub is not None:
            assert f"<{sub}>" in message


# ---------------------------------------------------------------------------- the corpus

_NUMBER = re.compile(r"-?[0-9]+|0x[0-9a-fA-F]+")


def _corpus_numbers() -> list[tuple[str, str, str | None]]:
    """``(document, element xpath, attribute or None for text)``: one per numeric location."""
    values: dict[tuple[str, str | None], set[str]] = {}
    first: dict[tuple[str, str | None], tuple[str, str]] = {}
    if CORPUS is None:
        return []
    for d in DIRS:
        for path in sorted((CORPUS / d).glob("*.xml")):
            try:
                root = parse_domain(path.read_bytes()).raw
            except XMLError:
                continue
            assert root is not None
            tree = root.getroottree()
            for el in root.iter():
                if not isinstance(el.tag, str):
                    continue
                xpath = tree.getpath(el)
                generic = re.sub(r"\[\d+\]", "", xpath)
                found = [(a, v) for a, v in el.attrib.items()]
                if el.text and el.text.strip() and not len(el):
                    found.append((None, el.text.strip()))  # type: ignore[arg-type]
                for attr, value in found:
                    key = (generic, attr)
                    values.setdefault(key, set()).add(value)
                    first.setdefault(key, (f"{d}/{path.name}", xpath))
    return [
        (first[key][0], first[key][1], key[1])
        for key in sorted(values, key=str)
        if all(_NUMBER.fullmatch(v) for v in values[key])
    ]


CORPUS_NUMBERS = _corpus_numbers()


def test_the_corpus_has_numbers() -> None:
    require()
    assert len(CORPUS_NUMBERS) > 100


@pytest.mark.parametrize(
    ("doc", "xpath", "attr"),
    CORPUS_NUMBERS or [(MISSING, "", None)],
    ids=[f"{x}@{a or 'text'}" for _, x, a in CORPUS_NUMBERS] or [MISSING],
)
def test_corpus_numbers_are_refused_or_kept(doc: str, xpath: str, attr: str | None) -> None:
    """A hostile value where libvirt has a number: an XMLError naming it, or kept and read back."""
    source = (require() / doc).read_bytes()
    tag = re.sub(r"\[\d+\]", "", xpath.rsplit("/", 1)[1])
    for value in [*HOSTILE, "-1", str(2**64), str(2**63)]:
        root = parse_domain(source).raw
        assert root is not None
        tree = etree.ElementTree(etree.fromstring(etree.tostring(root)))
        el = tree.xpath(xpath)[0]  # type: ignore[index]
        if attr is None:
            el.text = value
        else:
            el.set(attr, value)
        text = etree.tostring(tree)
        try:
            d = parse_domain(text)
        except XMLError as exc:
            message = str(exc)
            assert f"<{tag}>" in message or f"<{tag} " in message, (value, message)
            if attr is not None:
                assert f"'{attr}'" in message or attr in message, (value, message)
            continue
        # accepted: then it is written back and read again
        again = parse_domain(format_domain(d))
        assert format_domain(again) == format_domain(d)


# ---------------------------------------------------------------------------- through drivers


def _rng_xml(domain_type: str, rate: str) -> str:
    return (
        f"<domain type='{domain_type}'><name>rng</name><memory unit='KiB'>65536</memory>"
        "<os><type arch='x86_64'>hvm</type></os><devices>"
        f"<rng model='virtio'><backend model='random'>/dev/urandom</backend>{rate}</rng>"
        "</devices></domain>"
    )


def _clock_xml(domain_type: str, adjustment: str, name: str = "clock") -> str:
    return (
        f"<domain type='{domain_type}'><name>{name}</name><memory unit='KiB'>65536</memory>"
        "<os><type arch='x86_64'>hvm</type></os>"
        f"<clock offset='variable' adjustment='{adjustment}' basis='utc'/></domain>"
    )


@pytest.fixture(params=["test", "qemu"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[virtcore.Connection, str]]:
    """A connection to an empty node of each driver, and its domain type."""
    if request.param == "test":
        node = tmp_path / "node.xml"
        node.write_text("<node></node>")
        uri, kind = f"test://{node}", "test"
    else:
        root = tmp_path / "root"
        root.mkdir()
        uri, kind = f"qemu:///embed?root={root}", "qemu"
    with virtcore.open(uri) as conn:
        yield conn, kind


@pytest.mark.parametrize(
    ("rate", "needle"),
    [
        ("<rate bytes='x'/>", "'bytes'"),
        ("<rate bytes='1024' period='-5'/>", "'period'"),
        (f"<rate bytes='{2**64}'/>", "'bytes'"),
    ],
)
def test_rng_rate_hostile_numbers_are_xml_errors(
    driver: tuple[virtcore.Connection, str], rate: str, needle: str
) -> None:
    conn, kind = driver
    with pytest.raises(XMLError) as info:
        conn.define_domain(_rng_xml(kind, rate))
    assert "<rng><rate>" in str(info.value) and needle in str(info.value)
    assert conn.list_domains() == []


def test_rng_rate_is_typed_and_used(driver: tuple[virtcore.Connection, str]) -> None:
    conn, kind = driver
    dom = conn.define_domain(_rng_xml(kind, "<rate bytes='1024' period='2000'/>"))
    (rng,) = [d for d in parse_domain(dom.xml_desc()).devices if isinstance(d, dom_model.Rng)]
    assert (rng.rate_bytes, rng.rate_period) == (1024, 2000)


@pytest.mark.parametrize(
    "adjustment",
    [str(10**30), str(-(10**400)), str(limits.MAX_CLOCK_ADJUSTMENT + 1), "1e9", "soon"],
)
def test_clock_adjustment_hostile_numbers_are_xml_errors(
    driver: tuple[virtcore.Connection, str], adjustment: str
) -> None:
    conn, kind = driver
    with pytest.raises(XMLError) as info:
        conn.define_domain(_clock_xml(kind, adjustment))
    assert "<clock> attribute 'adjustment'" in str(info.value)
    assert conn.list_domains() == []


def test_clock_adjustment_at_the_limit_is_accepted(driver: tuple[virtcore.Connection, str]) -> None:
    conn, kind = driver
    for value in (limits.MAX_CLOCK_ADJUSTMENT, -limits.MAX_CLOCK_ADJUSTMENT):
        dom = conn.define_domain(_clock_xml(kind, str(value), name=f"clock{value}"))
        assert parse_domain(dom.xml_desc()).clock.adjustment == value


_XML_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Co", "Cn")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(item=st.sampled_from(SPEC_FIELDS), value=_XML_TEXT | st.integers().map(str))
def test_fuzz_spec_fields_never_raise_anything_but_xml_error(
    item: tuple[tuple[str, ...], F, type[SpecElement]], value: str
) -> None:
    path, f, _ = item
    doc, _needle = _spec_doc(path, f, value)
    try:
        d = parse_domain(doc)
    except XMLError:
        return
    assert parse_domain(format_domain(d)) == d


@settings(max_examples=300, deadline=None)
@given(value=_XML_TEXT | st.integers().map(str), rate=st.booleans())
def test_fuzz_rng_rate_and_clock_adjustment(value: str, rate: bool) -> None:
    text = escape(value, {"'": "&apos;"})
    doc = _rng_xml("kvm", f"<rate bytes='{text}'/>") if rate else _clock_xml("kvm", text)
    try:
        d = parse_domain(doc)
    except XMLError:
        return
    assert parse_domain(format_domain(d)) == d
