"""libvirt's own network XML: every input parses, means libvirt's output, round-trips, validates.

For each input of networkxml2xmlin/ (libvirt's networkxml2xmltest):

1. it parses, and the typed model covers all of it (``<metadata>`` is kept verbatim on purpose);
2. parse -> format -> parse is a fixed point (same model, same text);
3. the formatted XML validates against libvirt's network.rng;
4. where networkxml2xmlout/ has libvirt's output, ours means the same: the model of our
   formatted text equals the model of libvirt's (the defaults libvirt's parser fills in,
   such as STP and the forward interface list, are filled in by ours too);
5. the inputs libvirt's test expects to fail (they have no output) fail here too, with an
   XMLError naming the problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from libvirt_testdata import LOCK, require
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import NetworkDef, parse_network, unmodelled, validate

CORPUS = require()
NETS_IN = CORPUS / "networkxml2xmlin"
NETS_OUT = CORPUS / "networkxml2xmlout"

NETS = sorted(p.name for p in NETS_IN.glob("*.xml"))
OUTS = sorted(p.name for p in NETS_OUT.glob("*.xml"))

#: The inputs libvirt's networkxml2xmltest expects to be refused, and what ours says.
REFUSED = {
    "hostdev-duplicate.xml": "PCI address 0000:03:00.3 is listed more than once",
    "passthrough-duplicate.xml": "interface dev 'eth3' is listed more than once",
    "open-network-with-forward-dev.xml": "not allowed with forward mode='open'",
    "routed-network-no-dns-extra-elements.xml": "DNS is disabled",
}
ACCEPTED = [n for n in NETS if n not in REFUSED]

#: Outputs we do not match yet, with the missing feature.
XFAIL: dict[str, str] = {}


def _net(name: str, folder: Path = NETS_IN) -> NetworkDef:
    return parse_network((folder / name).read_bytes())


def test_corpus_is_there_and_locked() -> None:
    assert len(NETS) >= 47 and len(OUTS) >= 43
    locked = LOCK.read_text()
    for name in NETS:
        assert f"\tnetworkxml2xmlin/{name}\t" in locked
    for name in OUTS:
        assert f"\tnetworkxml2xmlout/{name}\t" in locked
    for schema in ("network.rng", "networkcommon.rng", "basictypes.rng"):
        assert f"\tschemas/{schema}\t" in locked
    # every input without an output is one libvirt refuses, and we know which
    assert set(NETS) - set(OUTS) == set(REFUSED)


@pytest.mark.parametrize("name", ACCEPTED)
def test_network_parses_and_is_covered(name: str) -> None:
    n = _net(name)
    assert n.name and n.uuid
    assert unmodelled(n) == []


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_network_libvirt_refuses_is_refused(name: str) -> None:
    with pytest.raises(XMLError, match=REFUSED[name]):
        _net(name)


@pytest.mark.parametrize("name", ACCEPTED)
def test_network_round_trip_is_a_fixed_point(name: str) -> None:
    n = _net(name)
    text = n.to_xml()
    n2 = parse_network(text)
    assert n2 == n
    assert n2.to_xml() == text


@pytest.fixture(scope="module")
def network_rng() -> etree.RelaxNG:
    """libvirt's network.rng."""
    return etree.RelaxNG(etree.parse(str(require("schemas", "network.rng"))))


@pytest.mark.parametrize("name", ACCEPTED)
def test_formatted_network_validates_against_network_rng(name: str, network_rng: etree.RelaxNG) -> None:
    doc = etree.fromstring(_net(name).to_xml().encode())
    assert network_rng.validate(doc), str(network_rng.error_log.last_error)


@pytest.mark.parametrize("name", ["nat-network.xml", "openvswitch-net.xml", "dnsmasq-options.xml"])
def test_validate_reads_network_documents_with_the_network_model(name: str) -> None:
    rng = str(require("schemas", "network.rng"))
    assert validate((NETS_IN / name).read_bytes(), rng, strict=True) == []


def test_validate_reports_what_the_network_model_refuses() -> None:
    problems = validate((NETS_IN / "passthrough-duplicate.xml").read_bytes())
    assert any("'eth3' is listed more than once" in p for p in problems)


def _cases(names: list[str], xfail: dict[str, str]) -> list[object]:
    return [
        pytest.param(n, marks=pytest.mark.xfail(reason=xfail[n], strict=True)) if n in xfail else n
        for n in names
    ]


@pytest.mark.parametrize("name", _cases(OUTS, XFAIL))
def test_network_output_means_libvirts(name: str) -> None:
    ours = parse_network(_net(name).to_xml())
    assert ours == _net(name, NETS_OUT)


def test_libvirts_defaults_are_filled_in() -> None:
    """What libvirt's parser adds shows in our model and our text (nat-network.xml)."""
    n = _net("nat-network.xml")
    assert n.forward is not None and n.forward.mode == "nat"
    assert [i.dev for i in n.forward.interfaces] == ["eth1"]
    assert n.bridge is not None and (n.bridge.stp, n.bridge.delay) == (True, 0)
    text = n.to_xml()
    assert '<interface dev="eth1"/>' in text and 'stp="on"' in text and 'delay="0"' in text
    netboot = _net("netboot-network.xml")
    assert netboot.mode == "nat"  # <forward/> without a mode
    assert netboot.bridge is not None and (netboot.bridge.stp, netboot.bridge.delay) == (False, 1)
