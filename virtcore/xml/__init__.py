"""libvirt XML for virtcore: the domain model, the hardened parser, validation.

Import it explicitly (``from virtcore.xml import parse_domain``); ``import
virtcore`` does not load lxml.

* :func:`parse_domain` / :func:`format_domain`: domain XML <-> :class:`DomainDef`
  (frozen attrs classes; change them with :func:`attrs.evolve`).
* :func:`parse_device` / :func:`format_device`: one device element, for attach/detach.
* :func:`parse_pool` / :func:`format_pool` and :func:`parse_volume` / :func:`format_volume`:
  storage pool and volume XML <-> :class:`PoolDef` / :class:`VolumeDef` (their
  ``<permissions>``: :class:`Permissions`; also
  ``.to_xml()``); :func:`pool_from_element` / :func:`volume_from_element` read an element
  of a larger document (a test driver's node file); :func:`unmodelled` lists what they
  keep verbatim. Loaded on first use.
* :func:`parse_network` / :func:`format_network`: virtual network XML <-> :class:`NetworkDef`
  (also ``.to_xml()``; :func:`network_from_element`). Loaded on first use.
* :func:`parse_snapshot` / :func:`format_snapshot`: domain snapshot XML <-> :class:`SnapshotDef`
  (also ``.to_xml()``; :func:`snapshot_from_element`). Loaded on first use.
* :func:`parse_node_device`, :func:`parse_interface`, :func:`parse_secret` (and their
  ``format_*``, ``*_from_element``): host device (``<device>``), host
  interface (``<interface>``) and secret (``<secret>``) XML <-> :class:`NodeDeviceDef`,
  :class:`InterfaceDef`, :class:`SecretDef`. Loaded on first use.
* :func:`secure_parse`: the hardened parser (no DTDs, no entities, no network,
  size, element/attribute count and depth limits) for any other untrusted XML.

* :func:`validate` / :func:`validate_file`: every problem of a document
  (optionally against a RelaxNG schema such as libvirt's ``domain.rng``).

The model lives by area: :mod:`virtcore.xml.domain` (``<domain>``),
:mod:`virtcore.xml.guest` (os, clock, cpu), :mod:`virtcore.xml.devices`, and
:mod:`virtcore.xml.elements` (tuning, memory backing, system information, security
labels, Hyper-V/KVM feature details, device addresses).
Whatever a model does not type is kept and written back unchanged; :func:`unmodelled`
lists it, for a domain as for a pool, volume, network or snapshot, and
``parse_*(..., strict=True)`` refuses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.xml._parser import MAX_DEPTH, MAX_XML_BYTES, MAX_XML_NODES, parser_report, secure_parse
from virtcore.xml._textfmt import format_domain
from virtcore.xml.devices import (
    Audio,
    Channel,
    CharDevice,
    Console,
    Controller,
    Device,
    Disk,
    Filesystem,
    GenericDevice,
    Graphics,
    Hostdev,
    Input,
    Interface,
    Iommu,
    MemBalloon,
    MemoryDevice,
    Panic,
    Parallel,
    Redirdev,
    Rng,
    Serial,
    Shmem,
    Sound,
    Tpm,
    Video,
    Vsock,
    Watchdog,
    device_from_element,
    device_to_element,
)
from virtcore.xml.domain import (
    DomainDef,
    domain_from_element,
    domain_to_element,
    format_device,
    parse_device,
    parse_domain,
)
from virtcore.xml.guest import CPU, OS, Clock, CPUFeature, NumaCell, Timer
from virtcore.xml.validate import unmodelled, validate, validate_file

if TYPE_CHECKING:
    # virtcore.xml.elements, re-exported; at run time imported on first access (below)
    from virtcore.xml._storagecommon import Permissions
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
    from virtcore.xml.interface import (
        InterfaceDef,
        format_interface,
        interface_from_element,
        parse_interface,
    )
    from virtcore.xml.network import (
        NetworkDef,
        format_network,
        network_from_element,
        parse_network,
    )
    from virtcore.xml.nodedev import (
        NodeDeviceDef,
        format_node_device,
        node_device_from_element,
        parse_node_device,
    )
    from virtcore.xml.pool import PoolDef, format_pool, parse_pool, pool_from_element
    from virtcore.xml.secret import (
        SecretDef,
        format_secret,
        parse_secret,
        secret_from_element,
    )
    from virtcore.xml.snapshot import (
        SnapshotDef,
        format_snapshot,
        parse_snapshot,
        snapshot_from_element,
    )
    from virtcore.xml.volume import (
        VolumeDef,
        format_volume,
        parse_volume,
        volume_from_element,
    )


#: The names of the storage and network models, by module, imported on first access.
_STORAGE = {
    "virtcore.xml.network": (
        "NetworkDef",
        "parse_network",
        "format_network",
        "network_from_element",
    ),
    "virtcore.xml.snapshot": (
        "SnapshotDef",
        "parse_snapshot",
        "format_snapshot",
        "snapshot_from_element",
    ),
    "virtcore.xml.nodedev": (
        "NodeDeviceDef",
        "parse_node_device",
        "format_node_device",
        "node_device_from_element",
    ),
    "virtcore.xml.interface": (
        "InterfaceDef",
        "parse_interface",
        "format_interface",
        "interface_from_element",
    ),
    "virtcore.xml.secret": (
        "SecretDef",
        "parse_secret",
        "format_secret",
        "secret_from_element",
    ),
    "virtcore.xml._storagecommon": ("Permissions",),
    "virtcore.xml.pool": ("PoolDef", "parse_pool", "format_pool", "pool_from_element"),
    "virtcore.xml.volume": ("VolumeDef", "parse_volume", "format_volume", "volume_from_element"),
}
_LAZY = {name: module for module, names in _STORAGE.items() for name in names}


def __getattr__(name: str) -> Any:
    """The names of :mod:`virtcore.xml.elements`, the storage and network models, loaded on use (PEP 562)."""
    if name not in __all__:  # every other name of __all__ is bound at import
        raise AttributeError(f"module 'virtcore.xml' has no attribute '{name}'")
    module = _LAZY.get(name)
    if module is not None:  # deferred: a domain-only user never loads the storage models
        import importlib

        value = getattr(importlib.import_module(module), name)
    else:
        from virtcore.xml import elements  # deferred: keeps ~20 attrs classes out of the import

        value = getattr(elements, name)
    globals()[name] = value
    return value


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
    "OS",
    "Audio",
    "CPUFeature",
    "Channel",
    "CharDevice",
    "Clock",
    "Console",
    "Controller",
    "Device",
    "Disk",
    "DomainDef",
    "Filesystem",
    "GenericDevice",
    "Graphics",
    "Hostdev",
    "Input",
    "Interface",
    "Iommu",
    "MAX_DEPTH",
    "MAX_XML_BYTES",
    "MAX_XML_NODES",
    "MemBalloon",
    "MemoryDevice",
    "NumaCell",
    "Panic",
    "Parallel",
    "Redirdev",
    "Rng",
    "Serial",
    "Shmem",
    "Sound",
    "Timer",
    "Tpm",
    "Video",
    "Vsock",
    "Watchdog",
    "device_from_element",
    "device_to_element",
    "domain_from_element",
    "domain_to_element",
    "format_device",
    "format_domain",
    "parse_device",
    "parse_domain",
    "NetworkDef",
    "format_network",
    "network_from_element",
    "parse_network",
    "Permissions",
    "PoolDef",
    "VolumeDef",
    "format_pool",
    "format_volume",
    "parse_pool",
    "parse_volume",
    "pool_from_element",
    "volume_from_element",
    "SnapshotDef",
    "format_snapshot",
    "parse_snapshot",
    "snapshot_from_element",
    "NodeDeviceDef",
    "format_node_device",
    "node_device_from_element",
    "parse_node_device",
    "InterfaceDef",
    "format_interface",
    "interface_from_element",
    "parse_interface",
    "SecretDef",
    "format_secret",
    "parse_secret",
    "secret_from_element",
    "parser_report",
    "secure_parse",
    "unmodelled",
    "validate",
    "validate_file",
]
