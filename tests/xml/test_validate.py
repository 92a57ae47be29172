"""Unmodelled-element reporting, strict parsing, validate()/validate_file() and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from libvirt_testdata import require

from virtcore.errors import ReadFailedError, XMLError
from virtcore.xml import parse_domain, unmodelled, validate, validate_file

PLAIN = """<domain type='kvm'>
  <name>plain</name>
  <memory unit='MiB'>512</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='/a.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>"""

UNKNOWN = PLAIN.replace(
    "<features><acpi/></features>",
    "<features><acpi/><smm state='on'/></features><resource><partition>/machine</partition></resource>",
).replace("<source file='/a.img'/>", "<source file='/a.img' startupPolicy='optional'/><wwn>0x5000</wwn>")


def test_plain_domain_is_fully_modelled() -> None:
    assert unmodelled(parse_domain(PLAIN)) == []
    assert parse_domain(PLAIN, strict=True).name == "plain"


def test_unmodelled_parts_are_reported_and_kept() -> None:
    d = parse_domain(UNKNOWN)
    assert unmodelled(d) == [
        "domain/features/smm",
        "domain/resource",
        "domain/devices/disk[1]/source/@startupPolicy",
        "domain/devices/disk[1]/wwn",
    ]
    with pytest.raises(XMLError, match="not modelled by virtcore: domain/features/smm"):
        parse_domain(UNKNOWN, strict=True)


@pytest.fixture
def rng() -> str:
    """libvirt's domain.rng."""
    return str(require("schemas", "domain.rng"))


def test_validate_collects_problems() -> None:
    assert validate(PLAIN) == []
    assert len(validate(UNKNOWN, strict=True)) == 4
    assert validate("<domain type='kvm'><name>x</name><os><type>hvm</type></os></domain>") == [
        "XML error: missing <memory> in <domain>: the memory size must be specified"
    ]
    assert validate("<domain")[0].startswith("XML error: malformed document")


def test_validate_against_libvirts_schema(rng: str) -> None:
    assert validate(PLAIN, rng) == []
    bad_schema = validate(PLAIN.replace("<vcpu placement='static'>1</vcpu>", "<vcpu>1</vcpu><bogus/>"), rng)
    assert any(p.startswith("schema: ") for p in bad_schema)


def test_validate_file(tmp_path: Path) -> None:
    f = tmp_path / "d.xml"
    f.write_text(PLAIN.replace("<name>plain</name>", "<name>a/b</name>"))
    assert validate_file(str(f)) == ["XML error: name 'a/b' cannot contain '/' in <name>"]
    with pytest.raises(ReadFailedError, match="nosuch"):
        validate_file(str(tmp_path / "nosuch.xml"))
    with pytest.raises(ReadFailedError):
        validate_file(str(f), str(tmp_path / "missing.rng"))


def _cli(*argv: str) -> tuple[int, str, str]:
    import sys

    from virtcore.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = main(list(argv))
    finally:
        sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def test_cli_domxml_validate(tmp_path: Path, rng: str) -> None:
    good = tmp_path / "good.xml"
    good.write_text(PLAIN)
    status, out, _ = _cli("domxml", "validate", str(good), "--schema", rng)
    assert (status, out.strip()) == (0, f"{good} validates")
    status, out, _ = _cli("domxml", "validate", "--strict", str(tmp_path / "unknown.xml"))
    assert status == 1
    unknown = tmp_path / "unknown.xml"
    unknown.write_text(UNKNOWN)
    status, out, _ = _cli("domxml", "validate", "--strict", str(unknown))
    assert status == 1 and "not modelled (kept verbatim): domain/resource" in out
    bad = tmp_path / "bad.xml"
    bad.write_text("<domain type='kvm'><name>x</name><uuid>nope</uuid></domain>")
    status, out, _ = _cli("domxml", "validate", str(bad))
    assert status == 1 and "invalid UUID 'nope' in <uuid>" in out
