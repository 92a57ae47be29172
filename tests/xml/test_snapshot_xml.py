"""The domain snapshot model on its own: names, modes, defaults, the embedded definition."""

from __future__ import annotations

import pytest

from virtcore.errors import XMLError
from virtcore.xml import parse_snapshot, unmodelled, validate
from virtcore.xml.snapshot import SnapshotDef, check_snapshot_name

DOMAIN = (
    "<domain type='test'><name>vm</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
    "<memory>1024</memory><os><type>hvm</type></os></domain>"
)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("a/b", "cannot contain '/'"),
        ("-rf", "leading '-'"),
        ("..", "not allowed"),
        ("a\nb", "newline, NUL"),
        ("a\0b", "newline, NUL"),
        ("  ", "no name"),
    ],
)
def test_bad_snapshot_names_are_refused_naming_them(name: str, match: str) -> None:
    with pytest.raises(XMLError, match=match):
        check_snapshot_name(name)
    with pytest.raises(XMLError, match=match):
        SnapshotDef(name=name)


def test_a_name_with_a_newline_in_xml_is_refused() -> None:
    with pytest.raises(XMLError, match="newline"):
        parse_snapshot("<domainsnapshot><name>a&#10;b</name></domainsnapshot>")


@pytest.mark.parametrize(
    ("xml", "match"),
    [
        ("<domainsnapshot><memory snapshot='sideways'/></domainsnapshot>", "memory snapshot mode"),
        (
            "<domainsnapshot><disks><disk name='vda' snapshot='maybe'/></disks></domainsnapshot>",
            "disk snapshot",
        ),
        ("<domainsnapshot><disks><disk snapshot='no'/></disks></domainsnapshot>", "name"),
        ("<domainsnapshot><memory snapshot='internal' file='/m'/></domainsnapshot>", "snapshot='external'"),
        ("<domainsnapshot><memory file='relative'/></domainsnapshot>", "absolute"),
        (
            "<domainsnapshot><disks><disk name='vda' snapshot='internal'><source file='/x'/></disk>"
            "</disks></domainsnapshot>",
            "only allowed with snapshot='external'",
        ),
        ("<domain/>", "expecting <domainsnapshot>"),
    ],
)
def test_invalid_snapshot_xml_is_an_xml_error(xml: str, match: str) -> None:
    with pytest.raises(XMLError, match=match):
        parse_snapshot(xml, redefine=False)


def test_new_snapshot_drops_what_a_driver_writes_and_redefine_keeps_it() -> None:
    xml = (
        "<domainsnapshot><name>s</name><state>paused</state><parent><name>p</name></parent>"
        f"<creationTime>5</creationTime>{DOMAIN}<active>1</active><cookie><x/></cookie></domainsnapshot>"
    )
    new = parse_snapshot(xml)
    assert (new.state, new.parent, new.creation_time, new.domain_xml, new.active, new.cookie_xml) == (
        (None,) * 6
    )
    kept = parse_snapshot(xml, redefine=True)
    assert (kept.state, kept.parent_name, kept.creation_time, kept.is_current) == ("paused", "p", 5, True)
    assert kept.domain is not None and kept.domain.name == "vm"
    assert kept.cookie_xml == "<cookie><x/></cookie>"
    assert parse_snapshot(kept.to_xml(), redefine=True) == kept


def test_redefine_needs_a_name_and_a_creation_time() -> None:
    with pytest.raises(XMLError, match="needs a <name>"):
        parse_snapshot("<domainsnapshot><creationTime>1</creationTime></domainsnapshot>", redefine=True)
    with pytest.raises(XMLError, match="missing creationTime"):
        parse_snapshot("<domainsnapshot><name>s</name></domainsnapshot>", redefine=True)


def test_taken_snapshot_is_named_by_its_time_and_embeds_the_domain() -> None:
    s = parse_snapshot("<domainsnapshot/>").as_taken(1700000000).with_domain(DOMAIN, DOMAIN)
    assert (s.name, s.creation_time, s.domain_uuid) == (
        "1700000000",
        1700000000,
        "6695eb01-f6a4-8304-79aa-97f2502e193f",
    )
    text = s.to_xml()
    assert text.index("<creationTime>") < text.index("<domain ") < text.index("<inactiveDomain ")
    again = parse_snapshot(text, redefine=True)
    assert again.domain is not None and again.inactive_domain_xml is not None
    assert validate(text, strict=True) == []
    with pytest.raises(XMLError, match="expected a <domain>"):
        s.with_domain("<network/>")


def test_external_disk_defaults() -> None:
    s = parse_snapshot(
        "<domainsnapshot><disks><disk name='vda'><source file='/o.qcow2'/><driver type='qcow2'/></disk>"
        "<disk name='vdb'><driver/><source/></disk></disks></domainsnapshot>"
    )
    vda, vdb = s.disks
    assert (vda.snapshot, vda.type, vda.file, vda.driver and vda.driver.type) == (
        "external", "file", "/o.qcow2", "qcow2",
    )  # fmt: skip
    assert (vdb.snapshot, vdb.source, vdb.driver) == (None, None, None)


def test_unknown_content_is_kept_and_reported() -> None:
    xml = (
        "<domainsnapshot xmlns:x='urn:x'><name>s</name><x:note>keep me</x:note>"
        "<disks><disk name='vda' snapshot='internal' future='yes'/></disks></domainsnapshot>"
    )
    s = parse_snapshot(xml)
    assert unmodelled(s) == ["domainsnapshot/x:note", "domainsnapshot/disks/disk/@future"]
    text = s.to_xml()
    assert "keep me" in text and 'future="yes"' in text
    assert parse_snapshot(text) == s
    with pytest.raises(XMLError, match="does not cover"):
        parse_snapshot(xml, strict=True)
