"""libvirt XML for virtcore: the domain model, the hardened parser, validation.

Import it explicitly (``from virtcore.xml import parse_domain``); ``import
virtcore`` does not load lxml.

* :func:`parse_domain` / :func:`format_domain`: domain XML <-> :class:`DomainDef`
  (frozen attrs classes; change them with :func:`attrs.evolve`).
* :func:`parse_device` / :func:`format_device`: one device element, for attach/detach.
* :func:`secure_parse`: the hardened parser (no DTDs, no entities, no network,
  size, element/attribute count and depth limits) for any other untrusted XML.

* :func:`validate` / :func:`validate_file`: every problem of a document
  (optionally against a RelaxNG schema such as libvirt's ``domain.rng``).

Tuning, memory backing, system information, security labels, Hyper-V/KVM feature
details and device addresses are typed too (:mod:`virtcore.xml.elements`).
Whatever the model does not type is kept and written back unchanged;
:func:`unmodelled` lists it and ``parse_domain(..., strict=True)`` refuses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.xml._parser import MAX_DEPTH, MAX_XML_BYTES, MAX_XML_NODES, secure_parse
from virtcore.xml.domain import (
    CPU,
    OS,
    Audio,
    Channel,
    CharDevice,
    Clock,
    Console,
    Controller,
    CPUFeature,
    Device,
    DomainDef,
    Filesystem,
    GenericDevice,
    Graphics,
    Hostdev,
    Input,
    Interface,
    Iommu,
    MemBalloon,
    MemoryDevice,
    NumaCell,
    Panic,
    Parallel,
    Redirdev,
    Rng,
    Serial,
    Shmem,
    Sound,
    Timer,
    Tpm,
    Video,
    Vsock,
    Watchdog,
    device_from_element,
    device_to_element,
    domain_from_element,
    domain_to_element,
    format_device,
    format_domain,
    parse_device,
    parse_domain,
)
from virtcore.xml.domain import Disk as Disk
from virtcore.xml.validate import unmodelled, validate, validate_file

if TYPE_CHECKING:
    from virtcore.xml.elements import (
        Address,
        BlkioDevice,
        BlkioTune,
        CPUTune,
        HugePage,
        HyperV,
        IOThread,
        IOThreadIds,
        IOThreadPin,
        KVMFeatures,
        MemNode,
        MemoryBacking,
        MemTune,
        NumaTune,
        SecLabel,
        SysInfo,
        SysInfoBlock,
        SysInfoEntry,
        VcpuPin,
    )

#: Names of virtcore.xml.elements, imported on first access (PEP 562) to keep
#: ``import virtcore.xml`` cheap.
_LAZY = frozenset(
    {
        "Address",
        "BlkioDevice",
        "BlkioTune",
        "CPUTune",
        "HugePage",
        "HyperV",
        "IOThread",
        "IOThreadIds",
        "IOThreadPin",
        "KVMFeatures",
        "MemNode",
        "MemoryBacking",
        "MemTune",
        "NumaTune",
        "SecLabel",
        "SysInfo",
        "SysInfoBlock",
        "SysInfoEntry",
        "VcpuPin",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from virtcore.xml import elements

        value = getattr(elements, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'virtcore.xml' has no attribute '{name}'")


__all__ = [
    "Address",
    "BlkioDevice",
    "BlkioTune",
    "CPUTune",
    "HugePage",
    "HyperV",
    "IOThread",
    "IOThreadIds",
    "IOThreadPin",
    "KVMFeatures",
    "MemNode",
    "MemoryBacking",
    "MemTune",
    "NumaTune",
    "SecLabel",
    "SysInfo",
    "SysInfoBlock",
    "SysInfoEntry",
    "VcpuPin",
    "CPU",
    "Audio",
    "CPUFeature",
    "Filesystem",
    "Hostdev",
    "Iommu",
    "MemoryDevice",
    "NumaCell",
    "Panic",
    "Redirdev",
    "Rng",
    "Shmem",
    "Sound",
    "Tpm",
    "Vsock",
    "Watchdog",
    "MAX_DEPTH",
    "MAX_XML_BYTES",
    "MAX_XML_NODES",
    "OS",
    "Channel",
    "CharDevice",
    "Clock",
    "Console",
    "Controller",
    "Device",
    "Disk",
    "DomainDef",
    "GenericDevice",
    "Graphics",
    "Input",
    "Interface",
    "MemBalloon",
    "Parallel",
    "Serial",
    "Timer",
    "Video",
    "device_from_element",
    "device_to_element",
    "domain_from_element",
    "domain_to_element",
    "format_device",
    "format_domain",
    "parse_device",
    "parse_domain",
    "secure_parse",
    "unmodelled",
    "validate",
    "validate_file",
]
