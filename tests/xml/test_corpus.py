"""libvirt's own domain XML corpus: every input parses, round-trips and validates.

Three checks per input of qemuxmlconf/, qemuxml2argv-9.0.0/, genericxml2xml-in/,
domainschema/, xlconfig/ and xmconfig/:

1. it parses (or, for the inputs libvirt itself rejects at parse time, it is
   refused with an XMLError naming the problem);
2. parse -> format -> parse is a fixed point (same model, same text);
3. the formatted XML validates against libvirt's schemas/domain.rng.

genericxml2xml-out/ gives libvirt's expected output where it differs from the
input: ours must mean the same (equal models).
"""

from __future__ import annotations

import attrs
import pytest
from libvirt_testdata import require
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import DomainDef, Interface, Video, format_domain, parse_domain

CORPUS = require()

DIRS = ("qemuxmlconf", "qemuxml2argv-9.0.0", "genericxml2xml-in", "domainschema", "xlconfig", "xmconfig")

#: Inputs libvirt refuses while parsing, and the words our XMLError must contain.
REJECTED = {
    "qemuxmlconf/boot-menu-enable-with-timeout-invalid.xml": "boot menu timeout",
    "qemuxml2argv-9.0.0/boot-menu-enable-with-timeout-invalid.xml": "boot menu timeout",
    "qemuxmlconf/hugepages-memaccess-invalid.xml": "memAccess",
    "qemuxml2argv-9.0.0/hugepages-memaccess-invalid.xml": "memAccess",
    "qemuxmlconf/machine-loadparm-s390-char-invalid.xml": "invalid loadparm",
    "qemuxml2argv-9.0.0/machine-loadparm-s390-char-invalid.xml": "invalid loadparm",
    "qemuxmlconf/machine-loadparm-s390-len-invalid.xml": "between 1 and 8",
    "qemuxml2argv-9.0.0/machine-loadparm-s390-len-invalid.xml": "between 1 and 8",
    "qemuxml2argv-9.0.0/minimal-no-memory.xml": "missing <memory>",
    "genericxml2xml-in/graphics-listen-network-invalid.xml": "'network' attribute",
    "genericxml2xml-in/name-slash-fail.xml": "cannot contain '/'",
    # memory 0 (libvirt: "Memory size must be specified via <memory> or in the <numa>
    # configuration"); the schema allows it, libvirt's parser does not
    "domainschema/domain-openvz-simple.xml": "<memory> must be at least 1 KiB",
}

#: Cases that do not pass yet, with the missing feature.
XFAIL_MEANING = {
    "disk-hyperv-physical.xml": "os arch and default <boot dev='hd'> filled from driver capabilities",
    "disk-hyperv-virtual.xml": "os arch and default <boot dev='hd'> filled from driver capabilities",
    "chardev-unix.xml": "implicit ccid/usb controllers and unix chardev mode defaults",
}


def _inputs() -> list[str]:
    found = []
    for d in DIRS:
        files = sorted((CORPUS / d).glob("*.xml"))
        if not files:
            raise RuntimeError(f"no XML inputs in {CORPUS / d}")
        found.extend(f"{d}/{f.name}" for f in files)
    return found


INPUTS = _inputs()
ACCEPTED = [name for name in INPUTS if name not in REJECTED]
OUTPUTS = sorted(p.name for p in (CORPUS / "genericxml2xml-out").glob("*.xml"))


def _read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_corpus_is_complete() -> None:
    assert len(INPUTS) > 600
    assert set(REJECTED) <= set(INPUTS)


@pytest.mark.parametrize("name", ACCEPTED)
def test_parses(name: str) -> None:
    d = parse_domain(_read(name))
    assert isinstance(d, DomainDef) and d.name


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_like_libvirt(name: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_domain(_read(name))
    assert REJECTED[name] in str(info.value)


@pytest.mark.parametrize("name", ACCEPTED)
def test_round_trip_is_a_fixed_point(name: str) -> None:
    d = parse_domain(_read(name))
    text = format_domain(d)
    d2 = parse_domain(text)
    assert d2 == d
    assert format_domain(d2) == text


@pytest.mark.parametrize("name", ACCEPTED)
def test_formatted_xml_validates_against_domain_rng(name: str, domain_rng: etree.RelaxNG) -> None:
    text = format_domain(parse_domain(_read(name)))
    doc = etree.fromstring(text.encode())
    assert domain_rng.validate(doc), str(domain_rng.error_log.last_error)


def _meaning(d: DomainDef, source: bytes) -> DomainDef:
    """``d`` with generated values (MACs the input did not give; the first video card's
    ``primary='yes'``, which libvirt's post-parse sets and virt-test's does) blanked."""
    root = etree.fromstring(source)
    given = [
        (el.find("mac").get("address") if el.find("mac") is not None else None)  # type: ignore[union-attr]
        for el in root.iterfind("devices/interface")
    ]
    devices = []
    ifaces = iter(given)
    for dev in d.devices:
        if isinstance(dev, Interface):
            mac = next(ifaces, None)
            if mac is None or mac.replace(":", "").strip("0") == "":
                dev = attrs.evolve(dev, mac=None)
        elif isinstance(dev, Video):
            dev = attrs.evolve(dev, primary=None)
        devices.append(dev)
    return attrs.evolve(d, devices=tuple(devices))


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=XFAIL_MEANING[n], strict=True))
        if n in XFAIL_MEANING
        else n
        for n in OUTPUTS
    ],
)
def test_generic_output_means_the_same(name: str) -> None:
    source = _read(f"genericxml2xml-in/{name}")
    expected = _read(f"genericxml2xml-out/{name}")
    ours = parse_domain(format_domain(parse_domain(source)))
    assert _meaning(ours, source) == _meaning(parse_domain(expected), source)
