"""Capability probing, its cache keyed by binary identity, the bounded KVM probe, capabilities XML."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from libvirt_testdata import require
from lxml import etree
from virt_qemu import caps

from virtcore.errors import OperationFailedError

QEMU = shutil.which("qemu-system-x86_64")

pytestmark = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86 is not installed")


def test_probe_reads_the_binary() -> None:
    assert QEMU is not None
    c = caps.probe_binary(QEMU)
    assert c.arch == "x86_64" and c.version >= 7_000_000
    pc = c.resolve_machine("pc")
    assert pc is not None and pc.name.startswith("pc-i440fx-") and pc.alias == "pc"
    assert c.resolve_machine(None) is not None  # the default machine
    assert c.resolve_machine("no-such-machine") is None
    assert "tcg" in c.accelerators
    assert "qemu64" in c.cpu_models
    # the CPUID features -cpu takes, not the CPU's other properties
    assert {"pcid", "lahf-lm", "sse4.2", "vmx-entry-load-bndcfgs"} <= set(c.cpu_features)
    assert not {"model-id", "start-powered-off", "enforce", "realized"} & set(c.cpu_features)


def test_cache_is_keyed_by_binary_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "qemu-system-x86_64"
    binary.write_bytes(b"pretend QEMU")
    probes: list[str] = []
    canned = caps.BinaryCaps(
        path=str(binary), arch="x86_64", version=7_002_000,
        machines=(caps.Machine("pc-i440fx-7.2", "pc", 255, True),), cpu_models=("qemu64",),
        accelerators=("tcg",),
    )  # fmt: skip

    def counting(path: str, timeout: float = caps.PROBE_TIMEOUT) -> caps.BinaryCaps:
        probes.append(path)
        return canned

    monkeypatch.setattr(caps, "probe_binary", counting)
    first = caps.CapsCache(tmp_path / "cache").get(str(binary))
    again = caps.CapsCache(tmp_path / "cache").get(str(binary))  # a new process: read from disk
    assert probes == [str(binary)] and again == first == canned
    os.utime(binary, (time.time() + 10, time.time() + 10))  # the binary changed (e.g. upgraded)
    caps.CapsCache(tmp_path / "cache").get(str(binary))
    assert len(probes) == 2
    with pytest.raises(OperationFailedError, match="does not exist"):
        caps.CapsCache(tmp_path / "cache").get(str(tmp_path / "gone"))


def test_a_broken_binary_fails_cleanly(tmp_path: Path) -> None:
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(OperationFailedError):
        caps.probe_binary(str(fake), timeout=10)


def test_kvm_probe_is_bounded() -> None:
    t = time.monotonic()
    works = caps.kvm_works()
    assert isinstance(works, bool)
    assert time.monotonic() - t < caps.KVM_TIMEOUT + 1


def test_capabilities_xml_validates_against_libvirts_schema(tmp_path: Path) -> None:
    cache = caps.CapsCache(tmp_path)
    binaries = cache.all()
    assert any(b.arch == "x86_64" for b in binaries)
    rng = etree.RelaxNG(etree.parse(str(require("schemas", "capability.rng"))))
    for kvm in (False, True):
        doc = etree.fromstring(caps.capabilities_xml(binaries, kvm).encode())
        assert rng.validate(doc), rng.error_log
        arch = doc.find("guest/arch[@name='x86_64']")
        assert arch is not None
        types = [d.get("type") for d in arch.findall("domain")]
        assert types == (["qemu", "kvm"] if kvm else ["qemu"])
        assert arch.find("machine[@canonical]") is not None
