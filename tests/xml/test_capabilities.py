"""Capabilities XML model: what drivers format validates against libvirt's capability.rng."""

from __future__ import annotations

import pytest
from libvirt_testdata import MISSING, find, require
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml.capabilities import (
    Capabilities,
    Guest,
    GuestDomain,
    Host,
    HostCell,
    HostCPU,
    format_capabilities,
    parse_capabilities,
)

SAMPLES = (
    sorted(p.name for p in samples.glob("*.xml")) if (samples := find("capabilityschema")) else [MISSING]
)


def _full() -> Capabilities:
    return Capabilities(
        host=Host(
            uuid="a25c794c-34ad-11b2-a85c-b030533115b8",
            cpu=HostCPU(
                arch="x86_64",
                model="Haswell",
                vendor="Intel",
                sockets=1,
                dies=1,
                cores=2,
                threads=2,
                features=("vmx", "ds"),
                flags=("pae",),
                pages=(4, 2048),
            ),
            cells=(HostCell(id=0, cpus=(0, 1), memory=1048576), HostCell(id=1, cpus=(2, 3), memory=1048576)),
            power_management=("suspend_mem",),
            live_migration=True,
            migration_transports=("tcp",),
        ),
        guests=(
            Guest(
                os_type="hvm",
                arch="x86_64",
                wordsize=64,
                emulator="/usr/bin/qemu-system-x86_64",
                machines=("pc-i440fx-7.2", "q35"),
                domains=(GuestDomain("qemu"), GuestDomain("kvm", emulator="/usr/bin/qemu-kvm")),
                features=("acpi", "apic", "cpuselection", "deviceboot", "disksnapshot"),
            ),
            Guest(os_type="xen", arch="i686", wordsize=32, domains=(GuestDomain("xen"),), features=("pae",)),
        ),
    )


def test_full_model_validates_and_round_trips(capability_rng: etree.RelaxNG) -> None:
    caps = _full()
    text = format_capabilities(caps)
    assert capability_rng.validate(etree.fromstring(text.encode())), str(capability_rng.error_log.last_error)
    assert parse_capabilities(text) == caps


def test_minimal_model_validates(capability_rng: etree.RelaxNG) -> None:
    caps = Capabilities(host=Host(cpu=HostCPU(arch="i686")))
    assert capability_rng.validate(etree.fromstring(format_capabilities(caps).encode()))


@pytest.mark.parametrize("name", SAMPLES)
def test_libvirt_samples_parse_and_reformat_validly(name: str, capability_rng: etree.RelaxNG) -> None:
    caps = parse_capabilities(require("capabilityschema", name).read_bytes())
    assert caps.host.cpu.arch
    text = format_capabilities(caps)
    assert capability_rng.validate(etree.fromstring(text.encode())), str(capability_rng.error_log.last_error)
    assert parse_capabilities(text) == caps


def test_invalid_capabilities() -> None:
    with pytest.raises(XMLError, match="needs sockets"):
        format_capabilities(Capabilities(host=Host(cpu=HostCPU(arch="x86_64", sockets=1))))
    with pytest.raises(XMLError, match="at least one <domain>"):
        format_capabilities(
            Capabilities(host=Host(cpu=HostCPU(arch="x86_64")), guests=(Guest("hvm", "x86_64", 64, ()),))
        )
    with pytest.raises(XMLError, match="<capabilities>"):
        parse_capabilities("<domain/>")
    with pytest.raises(XMLError, match="<arch>"):
        parse_capabilities("<capabilities><host><cpu/></host></capabilities>")
