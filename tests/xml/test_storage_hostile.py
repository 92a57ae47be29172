"""Hostile storage pool and volume XML fails fast with an XMLError (or another VirtError), never
anything else: entities, DTDs, huge documents and numbers, bad units, names that escape a directory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virtcore.errors import VirtError, XMLError
from virtcore.xml import MAX_DEPTH, MAX_XML_BYTES, parse_pool, parse_volume

POOL = "<pool type='dir'><name>{name}</name><target><path>/p</path></target></pool>"
VOLUME = "<volume><name>{name}</name><capacity>1</capacity></volume>"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
"""
XXE = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">\n'


@pytest.mark.parametrize(
    "doc",
    [
        BILLION_LAUGHS + POOL.format(name="&lol4;"),
        XXE + POOL.format(name="&xxe;"),
        EXTERNAL_DTD + POOL.format(name="x"),
        POOL.format(name="&undeclared;"),
    ],
    ids=["billion-laughs", "xxe", "external-dtd", "undeclared-entity"],
)
def test_pool_entities_and_dtds_are_refused(doc: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_pool(doc)
    assert "root:" not in str(info.value)  # /etc/passwd never leaks into the message


@pytest.mark.parametrize(
    "doc",
    [
        BILLION_LAUGHS + VOLUME.format(name="&lol4;"),
        XXE + VOLUME.format(name="&xxe;"),
        EXTERNAL_DTD + VOLUME.format(name="x"),
        XXE + VOLUME.format(name="v").replace("<capacity>1", "<capacity>&xxe;"),
    ],
    ids=["billion-laughs", "xxe", "external-dtd", "xxe-in-capacity"],
)
def test_volume_entities_and_dtds_are_refused(doc: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_volume(doc)
    assert "root:" not in str(info.value)


def test_oversized_and_deep_documents_are_refused() -> None:
    huge = VOLUME.format(name="v").replace("</volume>", "<key>" + "k" * MAX_XML_BYTES + "</key></volume>")
    with pytest.raises(XMLError, match="exceeds the limit"):
        parse_volume(huge)
    deep = POOL.format(name="p").replace(
        "</pool>", "<a>" * (MAX_DEPTH + 5) + "</a>" * (MAX_DEPTH + 5) + "</pool>"
    )
    with pytest.raises(XMLError):
        parse_pool(deep)


@pytest.mark.parametrize(
    "size",
    ["9" * 400, "18446744073709551616", "-0", "+-1", "1e9", "١٢", "1_000", "0b1", " ", "1 2"],
)
def test_huge_and_odd_numbers_are_xml_errors(size: str) -> None:
    doc = VOLUME.format(name="v").replace("<capacity>1</capacity>", f"<capacity>{size}</capacity>")
    if size == "-0":  # libvirt's strtoull takes it: zero
        assert parse_volume(doc).capacity == 0
        return
    with pytest.raises(XMLError, match="<capacity>"):
        parse_volume(doc)


@pytest.mark.parametrize("unit", ["", "KiBi", "kibibytes", "K B", "MiB;", "iB", "\u0415iB", "bytes\n"])
def test_bad_units_are_refused(unit: str) -> None:
    doc = f"<volume><name>v</name><capacity unit='{unit}'>1</capacity></volume>"
    with pytest.raises(XMLError, match="unknown unit"):
        parse_volume(doc)


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "/abs", "..", ".", "x\x00y", ""])
def test_names_that_would_escape_a_directory_are_refused(name: str) -> None:
    for template, parse in ((POOL, parse_pool), (VOLUME, parse_volume)):
        with pytest.raises(XMLError):
            parse(template.format(name=name))


def test_pool_numbers_out_of_range() -> None:
    with pytest.raises(XMLError, match="<available>"):
        parse_pool(
            POOL.format(name="p").replace("</name>", "</name><available>99999999999999999999999</available>")
        )
    with pytest.raises(XMLError, match="freeExtent"):
        parse_pool(
            "<pool type='disk'><name>d</name><source><device path='/dev/a'>"
            "<freeExtent start='-1' end='2'/></device></source><target><path>/dev</path></target></pool>"
        )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_a_volume_fails_only_with_virt_errors(text: str) -> None:
    for doc in (
        text,
        VOLUME.format(name=text),
        f"<volume><name>v</name><capacity unit='{text}'>1</capacity></volume>",
    ):
        try:
            parse_volume(doc)
        except VirtError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_a_pool_fails_only_with_virt_errors(text: str) -> None:
    for doc in (text, POOL.format(name=text), POOL.format(name="p").replace("/p<", f"{text}<")):
        try:
            parse_pool(doc).to_xml()
        except VirtError:
            pass
