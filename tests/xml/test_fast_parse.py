"""The fast path of small volume documents (virtcore.xml._fast) reads what the full parser reads.

Over libvirt's storagevolxml2xmlin corpus and hostile inputs: whenever the fast path takes a
document its volume equals the full parser's (values, formatted text, nothing unmodelled);
whatever the full parser refuses the fast path leaves to it; and ``parse_volume`` answers
exactly as the full parser (same volume, or the same error).
"""

from __future__ import annotations

import attrs
import pytest
from libvirt_testdata import require

from virtcore.errors import VirtError
from virtcore.xml import VolumeDef, format_volume, parse_volume, unmodelled
from virtcore.xml._fast import MAX_FAST, fast_parse
from virtcore.xml._parser import secure_parse
from virtcore.xml.volume import volume_from_element

VOLS_IN = require() / "storagevolxml2xmlin"
CORPUS = sorted(p.name for p in VOLS_IN.glob("*.xml"))

BASE = """<volume>
  <name>{name}</name>
  <capacity unit='MiB'>16</capacity>
  <allocation unit='MiB'>0</allocation>
  <target><format type='raw'/></target>
</volume>"""


def _full(text: str) -> VolumeDef | tuple[type[VirtError], str]:
    """The full parser's volume (no capacity required, as for a clone), or its error."""
    try:
        return volume_from_element(secure_parse(text, api="STORAGE"), require_capacity=False)
    except VirtError as exc:
        return type(exc), str(exc)


def _same(text: str) -> VolumeDef | None:
    """Check the fast path against the full parser on ``text``; the fast path's volume or None."""
    fast = fast_parse(VolumeDef, text)
    full = _full(text)
    if fast is not None:
        assert isinstance(full, VolumeDef), f"the fast path took what the full parser refuses: {full}"
        assert fast == full
        assert unmodelled(full) == []
        assert format_volume(attrs.evolve(fast, src=text)) == format_volume(full)  # as parse_volume leaves it
    # and parse_volume (fast path inside) answers as the full parser
    try:
        got: VolumeDef | tuple[type[VirtError], str] = parse_volume(text, require_capacity=False)
    except VirtError as exc:
        got = (type(exc), str(exc))
    assert got == full
    if isinstance(got, VolumeDef):
        assert isinstance(full, VolumeDef)
        assert format_volume(got) == format_volume(full)
    return fast


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_both_paths_agree(name: str) -> None:
    _same((VOLS_IN / name).read_text())


def test_fast_path_takes_plain_corpus_documents() -> None:
    # the corpus documents without repeated or unknown content are plain: the fast path must take them
    taken = [name for name in CORPUS if fast_parse(VolumeDef, (VOLS_IN / name).read_text()) is not None]
    assert len(taken) >= 12 and {"vol-file.xml", "vol-qcow2-nocapacity.xml"} <= set(taken)


@pytest.mark.parametrize(
    "text",
    [
        BASE.format(name="a"),
        BASE.format(name="a").replace("'", '"'),
        "<volume type='block'><name>b</name><capacity>1</capacity></volume>",
        "<volume><name> c </name><capacity unit = 'G' >1</capacity ></volume>\n\n",
        "<volume><name>d</name><capacity>0</capacity><target/><backingStore><path>/b</path></backingStore></volume>",
        "<volume><name>e</name><key>/x/e</key><capacity unit='KiB'>4</capacity>"
        "<target><path>/x/e</path><format type='qcow2'/><permissions><mode>0600</mode>"
        "<owner>107</owner><group>-1</group></permissions><compat>1.1</compat>"
        "<features><lazy_refcounts/></features><nocow/></target>"
        "<backingStore><path>/x/base</path><format type='raw'/></backingStore></volume>",
    ],
)
def test_plain_documents_take_the_fast_path(text: str) -> None:
    assert _same(text) is not None


HOSTILE = [
    # not XML the fast path reads: comments, CDATA, entities, DTDs, PIs, namespaces
    "<volume><!-- c --><name>a</name><capacity>1</capacity></volume>",
    "<volume><name><![CDATA[a]]></name><capacity>1</capacity></volume>",
    "<volume><name>a&amp;b</name><capacity>1</capacity></volume>",
    "<volume><name>a&#47;b</name><capacity>1</capacity></volume>",
    '<!DOCTYPE volume [<!ENTITY e "x">]><volume><name>&e;</name><capacity>1</capacity></volume>',
    "<?xml version='1.0'?><volume><name>a</name><capacity>1</capacity></volume>",
    "<volume><?pi x?><name>a</name><capacity>1</capacity></volume>",
    "<volume xmlns='urn:x'><name>a</name><capacity>1</capacity></volume>",
    "<v:volume xmlns:v='urn:x'><v:name>a</v:name><v:capacity>1</v:capacity></v:volume>",
    "<volume><name xml:lang='en'>a</name><capacity>1</capacity></volume>",
    # characters the parser normalizes or refuses
    "<volume><name>a\r</name><capacity>1</capacity></volume>",
    "<volume><name>a\x01</name><capacity>1</capacity></volume>",
    "<volume><name>a\x00</name><capacity>1</capacity></volume>",
    "<volume><name>é</name><capacity>1</capacity></volume>",
    "<volume type='fi\tle'><name>a</name><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity unit='M\niB'>1</capacity></volume>",
    "<volume><name>a>b</name><capacity>1</capacity></volume>",
    # malformed
    "<volume><name>a</name><capacity>1</capacity>",
    "<volume><name>a</name><capacity>1</capacity></volume><volume/>",
    "<volume><name>a</name><capacity>1</capacity></volume>junk",
    " <volume><name>a</name><capacity>1</capacity></volume>",
    "<volume><name>a</nam><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity unit='M'unit='G'>1</capacity></volume>",
    "<volume><name>a</name><capacity unit='M' unit='G'>1</capacity></volume>",
    "<volume><name>a</name><capacity unit=M>1</capacity></volume>",
    "<volume><name>a</name><capacity unit='M>1</capacity></volume>",
    "<volume type='file'type='block'><name>a</name><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity>1</capacity></ volume>",
    "< volume><name>a</name><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity>1</capacity></volume >",
    "<volume/>",
    "",
    "<>",
    # unknown, repeated, out-of-order or mixed content (the full parser keeps or refuses it)
    "<volume foo='1'><name>a</name><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity>1</capacity><foo/></volume>",
    "<volume><name>a</name><name>b</name><capacity>1</capacity></volume>",
    "<volume><capacity>1</capacity><name>a</name></volume>",
    "<volume>text<name>a</name><capacity>1</capacity></volume>",
    "<volume><name>a<b/></name><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity>1</capacity><target><features><foo/></features></target></volume>",
    "<volume><name>a</name><capacity>1</capacity><source><device path='/d'/></source></volume>",
    "<pool><name>a</name></pool>",
    # values the model refuses
    "<volume><name>a/b</name><capacity>1</capacity></volume>",
    "<volume><name>..</name><capacity>1</capacity></volume>",
    "<volume><name>-a</name><capacity>1</capacity></volume>",
    "<volume><name></name><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity unit='parsec'>1</capacity></volume>",
    "<volume><name>a</name><capacity>-1</capacity></volume>",
    "<volume><name>a</name><capacity unit='EiB'>16</capacity></volume>",
    "<volume><name>a</name><capacity>99999999999999999999999</capacity></volume>",
    "<volume type='floppy'><name>a</name><capacity>1</capacity></volume>",
    "<volume><name>a</name><capacity>1</capacity><target><format type='zip'/></target></volume>",
    "<volume><name>a</name><capacity>1</capacity><target><path>-x</path></target></volume>",
    "<volume><name>a</name><capacity>1</capacity><target><compat>1;x</compat></target></volume>",
    "<volume><name>a</name><capacity>1</capacity><backingStore><path>rel</path></backingStore></volume>",
    "<volume><name>a</name><capacity>1</capacity><target><permissions><mode>999</mode></permissions>"
    "</target></volume>",
    "<volume><name>a</name><capacity>1</capacity><target><permissions></permissions></target></volume>",
    # too long for the fast path (the full parser still reads it)
    BASE.format(name="a" * MAX_FAST),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_inputs_agree(text: str) -> None:
    _same(text)


def test_hostile_inputs_the_full_parser_refuses_never_take_the_fast_path() -> None:
    refused = [t for t in HOSTILE if not isinstance(_full(t), VolumeDef)]
    assert len(refused) > 30  # the list above holds that many refused documents
    assert [t for t in refused if fast_parse(VolumeDef, t) is not None] == []
