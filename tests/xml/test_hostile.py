"""The hardened parser: hostile documents fail fast with XMLError."""

from __future__ import annotations

import tracemalloc

import pytest

from virtcore.errors import XMLError
from virtcore.xml import MAX_DEPTH, MAX_XML_BYTES, parse_domain, secure_parse

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<domain type='test'><name>&lol9;</name><memory>1</memory><os><type>hvm</type></os></domain>
"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE domain [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<domain type='test'><name>&xxe;</name><memory>1</memory><os><type>hvm</type></os></domain>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE domain SYSTEM "http://127.0.0.1:9/evil.dtd">
<domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os></domain>
"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<domain type='test'><name>x</name></domain>
"""

UNDECLARED_ENTITY = b"<domain type='test'><name>&undeclared;</name></domain>"


@pytest.mark.parametrize(
    "doc",
    [BILLION_LAUGHS, XXE_FILE, EXTERNAL_DTD, PARAMETER_ENTITY, UNDECLARED_ENTITY],
    ids=["billion-laughs", "xxe-file", "external-dtd", "parameter-entity", "undeclared-entity"],
)
def test_entities_and_dtds_are_refused(doc: bytes) -> None:
    with pytest.raises(XMLError):
        parse_domain(doc)
    with pytest.raises(XMLError):
        secure_parse(doc.decode())


def test_xxe_never_leaks_file_contents() -> None:
    with pytest.raises(XMLError) as info:
        parse_domain(XXE_FILE)
    assert "root:" not in str(info.value)


def test_huge_document_fails_fast_with_bounded_memory() -> None:
    body = b"<domain type='test'><name>x</name><description>" + b"a" * (100 * 1024 * 1024) + b"</description>"
    tracemalloc.start()
    try:
        with pytest.raises(XMLError) as info:
            parse_domain(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "exceeds the limit" in str(info.value)
    assert peak < 10 * 1024 * 1024  # nothing close to the document's size was allocated


def test_large_document_under_the_limit_is_parsed() -> None:
    chunk = b"<x>" + b"a" * 1000 + b"</x>"
    n = (MAX_XML_BYTES - 1000) // len(chunk)
    doc = (
        b"<domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os><metadata>"
        + chunk * n
        + b"</metadata></domain>"
    )
    assert MAX_XML_BYTES - 2000 < len(doc) <= MAX_XML_BYTES
    assert parse_domain(doc).name == "x"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 100_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    doc = (
        b"<domain type='test'><name>x</name><metadata>"
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</metadata></domain>"
    )
    with pytest.raises(XMLError) as info:
        parse_domain(doc)
    assert "depth" in str(info.value) or "deeper" in str(info.value)


def test_moderate_nesting_is_fine() -> None:
    doc = (
        b"<domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os><metadata>"
        + b"<a>" * 50
        + b"</a>" * 50
        + b"</metadata></domain>"
    )
    assert parse_domain(doc).name == "x"


@pytest.mark.parametrize(
    "doc",
    [
        b"",
        b"   ",
        b"<",
        b"<domain",
        b"\xff\xfe\x00<",
        b"<a></b>",
        b"not xml at all",
        b"<?xml version='1.0'?>",
    ],
)
def test_malformed_documents(doc: bytes) -> None:
    with pytest.raises(XMLError):
        secure_parse(doc)
