"""libvirt's own node device, host interface and secret XML: each input parses, round-trips, validates.

For each input of nodedevschemadata/, interfaceschemadata/ and secretxml2xmlin/
(libvirt's nodedevxml2xmltest, interfacexml2xmltest and secretxml2xmltest inputs):

1. it parses and the model represents all of it (a node device capability's content is
   kept verbatim on purpose: it differs per type);
2. parse -> format -> parse is a fixed point (same model, same text);
3. the formatted XML validates against libvirt's schema (nodedev.rng, interface.rng,
   secret.rng) exactly when the input does (the ``-invalid`` node devices do not);
4. the typed values are the ones the documents hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from libvirt_testdata import LOCK, require
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import (
    parse_interface,
    parse_node_device,
    parse_secret,
    unmodelled_interface,
    unmodelled_node_device,
    unmodelled_secret,
    validate,
)

CORPUS = require()

#: folder -> (schema, parser, coverage lister)
KINDS: dict[str, tuple[str, Callable[[bytes], Any], Callable[[Any], list[str]]]] = {
    "nodedevschemadata": ("nodedev.rng", parse_node_device, unmodelled_node_device),
    "interfaceschemadata": ("interface.rng", parse_interface, unmodelled_interface),
    "secretxml2xmlin": ("secret.rng", parse_secret, unmodelled_secret),
}
CASES = [(folder, p.name) for folder in KINDS for p in sorted((CORPUS / folder).glob("*.xml"))]
IDS = [f"{folder}/{name}" for folder, name in CASES]


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.RelaxNG]:
    """libvirt's three schemas, compiled once."""
    return {f: etree.RelaxNG(etree.parse(str(require("schemas", s)))) for f, (s, _, _) in KINDS.items()}


def test_corpus_is_there_and_locked() -> None:
    counts = {folder: sum(1 for f, _ in CASES if f == folder) for folder in KINDS}
    assert counts["nodedevschemadata"] >= 50 and counts["interfaceschemadata"] >= 19
    assert counts["secretxml2xmlin"] >= 7
    locked = LOCK.read_text()
    for folder, name in CASES:
        assert f"\t{folder}/{name}\t" in locked
    for schema, _, _ in KINDS.values():
        assert f"\tschemas/{schema}\t" in locked


@pytest.mark.parametrize(("folder", "name"), CASES, ids=IDS)
def test_parses_round_trips_and_is_covered(folder: str, name: str) -> None:
    _, parse, lister = KINDS[folder]
    model = parse((CORPUS / folder / name).read_bytes())
    assert lister(model) == []
    text = model.to_xml()
    again = parse(text)
    assert again == model
    assert again.to_xml() == text


@pytest.mark.parametrize(("folder", "name"), CASES, ids=IDS)
def test_formatted_xml_validates_as_the_input_does(
    folder: str, name: str, schemas: dict[str, etree.RelaxNG]
) -> None:
    _, parse, _ = KINDS[folder]
    path = CORPUS / folder / name
    rng = schemas[folder]
    source_valid = rng.validate(etree.parse(str(path)))
    assert source_valid == ("-invalid" not in name)
    ours = rng.validate(etree.fromstring(parse(path.read_bytes()).to_xml().encode()))
    assert ours == source_valid, str(rng.error_log.last_error)


def test_validate_reads_each_kind_with_its_model() -> None:
    for folder, (schema, _, _) in KINDS.items():
        first = sorted((CORPUS / folder).glob("*.xml"))[0]
        assert validate(first.read_bytes(), str(require("schemas", schema)), strict=True) == []
    problems = validate(b"<secret><usage type='volume'/></secret>")
    assert any("volume usage specified, but volume path is missing" in p for p in problems)


def test_typed_values_are_the_documents() -> None:
    dev = parse_node_device((CORPUS / "nodedevschemadata" / "hba_vport_ops.xml").read_bytes())
    assert (dev.name, dev.parent, dev.cap_types) == ("scsi_host12", "pci_0000_06_00_1", ("scsi_host",))
    host = dev.cap("scsi_host")
    assert host is not None and (host.host, host.unique_id) == (12, 12)
    assert dev.fc_host is not None and (dev.fc_host.wwnn, dev.fc_host.wwpn) == (
        "2000f4e9d4eb02c9",
        "2001f4e9d4eb02c9",
    )
    assert dev.has_cap("fc_host") and dev.has_cap("vports") and not dev.has_cap("pci")
    iface = parse_interface((CORPUS / "interfaceschemadata" / "bridge-bond.xml").read_bytes())
    assert iface.type == "bridge" and iface.bridge is not None
    member = iface.bridge.interfaces[1]
    assert member.type == "bond" and member.bond is not None and len(member.bond.interfaces) == 2
    vlan = parse_interface((CORPUS / "interfaceschemadata" / "vlan.xml").read_bytes())
    assert vlan.vlan is not None and (vlan.vlan.tag, vlan.vlan.device) == (42, "eth0")
    secret = parse_secret((CORPUS / "secretxml2xmlin" / "usage-iscsi.xml").read_bytes())
    assert (secret.private, secret.ephemeral, secret.usage_type, secret.usage_id) == (
        True,
        False,
        "iscsi",
        "iscsitarget",
    )


@pytest.mark.parametrize(
    ("parse", "doc", "match"),
    [
        (
            parse_secret,
            "<secret><usage type='ceph'/></secret>",
            "ceph usage specified, but Ceph name is missing",
        ),
        (parse_secret, "<secret><usage type='bogus'/></secret>", "secret usage type"),
        (parse_secret, "<secret><uuid>nope</uuid></secret>", "uuid"),
        (parse_interface, "<interface name='eth0'/>", "misses the type attribute"),
        (parse_interface, "<interface type='ethernet'/>", "interface name is missing"),
        (parse_interface, "<interface type='ethernet' name='-rf'/>", "not allowed"),
        (parse_interface, "<interface type='ethernet' name='a/b'/>", "cannot contain '/'"),
        (
            parse_interface,
            "<interface type='vlan' name='v'><vlan><interface name='e'/></vlan></interface>",
            "tag",
        ),
        (parse_interface, "<interface type='bridge' name='br0'/>", "misses the bridge element"),
        (parse_node_device, "<device><name>x</name></device>", "no device capabilities"),
        (parse_node_device, "<device><name>x</name><capability type='nope'/></device>", "capability type"),
        (parse_node_device, "<domain/>", "expecting <device>"),
    ],
)
def test_what_libvirt_refuses_is_refused(parse: Callable[[str], Any], doc: str, match: str) -> None:
    with pytest.raises(XMLError, match=match):
        parse(doc)


def test_models_built_in_python_write_valid_xml(schemas: dict[str, etree.RelaxNG]) -> None:
    from virtcore.xml.interface import IfaceDhcp, IfaceProtocol, InterfaceDef
    from virtcore.xml.secret import SecretDef, SecretUsage

    iface = InterfaceDef(
        type="ethernet",
        name="eth9",
        mac="AA:BB:CC:00:00:01",
        start_mode="onboot",
        protocols=(IfaceProtocol(family="ipv4", dhcp=IfaceDhcp()),),
    )
    assert iface.mac == "AA:BB:CC:00:00:01"  # kept as written, as libvirt keeps it
    assert schemas["interfaceschemadata"].validate(etree.fromstring(iface.to_xml().encode()))
    assert parse_interface(iface.to_xml()) == iface
    secret = SecretDef(ephemeral=False, private=True, usage=SecretUsage(type="volume", volume="/a.img"))
    assert secret.uuid is not None and len(secret.uuid) == 36
    assert schemas["secretxml2xmlin"].validate(etree.fromstring(secret.to_xml().encode()))
    assert parse_secret(secret.to_xml()) == secret


def test_unknown_content_is_kept_and_listed() -> None:
    secret = parse_secret("<secret><extra a='1'/></secret>")
    assert unmodelled_secret(secret) == ["secret/extra"]
    assert "<extra a=" in secret.to_xml()
    with pytest.raises(XMLError, match="does not cover"):
        parse_secret("<secret><extra/></secret>", strict=True)
