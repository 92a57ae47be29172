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


@pytest.mark.parametrize("name", ["-o", "--help", "-"])
def test_volume_names_that_look_like_options_are_refused(name: str) -> None:
    with pytest.raises(XMLError, match="cannot start with '-'"):
        parse_volume(VOLUME.format(name=name))
    assert parse_volume(VOLUME.format(name="a-b")).name == "a-b"


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


NETFS = (
    "<pool type='netfs'><name>n</name><source><host name='{host}'/><dir path='{dir}'/></source>"
    "<target><path>{target}</path></target></pool>"
)


@pytest.mark.parametrize(
    ("host", "dir_", "target", "words"),
    [
        ("-oProxyCommand=x", "/e", "/m", "host name '-oProxyCommand=x': it cannot start with '-'"),
        ("a b", "/e", "/m", "expected printable text without blanks"),
        ("h/../x", "/e", "/m", "invalid storage pool source host name"),
        ("h", "-o", "/m", "source dir path '-o'"),
        ("h", "/e", "relative/dir", "target path 'relative/dir' is not absolute"),
    ],
)
def test_values_that_reach_command_lines_are_refused(host: str, dir_: str, target: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_pool(NETFS.format(host=host, dir=dir_, target=target))
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("<device path='--force'/>", "device path '--force'"),
        ("<device path='/dev/a'/><name>-vg</name>", "source name '-vg'"),
    ],
)
def test_logical_sources_that_look_like_options_are_refused(source: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_pool(f"<pool type='logical'><name>vg</name><source>{source}</source></pool>")
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("adapter", "words"),
    [
        ("type='fc_host' wwnn='20000000c9831b4b'", "needs both 'wwnn' and 'wwpn'"),
        ("type='fc_host' wwnn='xyz' wwpn='10000000c9831b4b'", "malformed wwnn 'xyz'"),
        ("name='../../devices'", "invalid storage pool adapter name '../../devices'"),
        ("type='usb_host' name='host0'", "unknown storage pool adapter type 'usb_host'"),
        ("type='fc_host' parent='../x' wwnn='20000000c9831b4b' wwpn='10000000c9831b4b'", "adapter parent"),
    ],
)
def test_bad_scsi_adapters_are_refused(adapter: str, words: str) -> None:
    doc = (
        f"<pool type='scsi'><name>s</name><source><adapter {adapter}/></source>"
        "<target><path>/dev/disk/by-path</path></target></pool>"
    )
    with pytest.raises(XMLError) as info:
        parse_pool(doc)
    assert words in str(info.value)


def _encrypted(inner: str, fmt: str = "luks") -> str:
    encryption = f"<encryption format='{fmt}'>{inner}</encryption>"
    return f"<volume><name>v</name><capacity>1</capacity><target>{encryption}</target></volume>"


@pytest.mark.parametrize(
    ("inner", "fmt", "words"),
    [
        (
            "<cipher name='aes,preallocation=full' size='256' mode='xts'/>",
            "luks",
            "invalid cipher algorithm 'aes,preallocation=full'",
        ),
        ("<ivgen name='plain64' hash='-sha'/>", "luks", "ivgen algorithm '-sha'"),
        ("", "rot13", "unknown volume encryption format type 'rot13'"),
        ("<secret type='passphrase'/>", "luks", "needs a 'uuid' or a 'usage'"),
        ("<secret type='key' usage='u'/>", "luks", "secret type 'key'"),
        ("<secret type='passphrase' uuid='xyz'/>", "luks", "invalid UUID 'xyz'"),
    ],
)
def test_bad_encryption_is_refused(inner: str, fmt: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_volume(_encrypted(inner, fmt))
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("<target><path>-o</path></target>", "invalid volume target path '-o'"),
        ("<backingStore><path>base.img</path></backingStore>", "path 'base.img' is not absolute"),
        ("<backingStore><path>--help</path></backingStore>", "invalid volume backing store path '--help'"),
    ],
)
def test_volume_paths_that_look_like_options_are_refused(body: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_volume(f"<volume><name>v</name><capacity>1</capacity>{body}</volume>")
    assert words in str(info.value)
