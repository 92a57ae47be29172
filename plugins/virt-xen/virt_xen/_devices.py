"""Attaching and detaching disks and network interfaces: definitions and ``xl`` arguments.

Pure helpers shared by the toolstack channel (live domains: ``xl block-attach`` /
``block-detach``, ``xl network-attach`` / ``network-detach``) and the definitions
channel (persistent definitions of inactive domains).
"""

from __future__ import annotations

import random

import attrs
from lxml import etree

from virt_xen.native import device_xl_spec
from virtcore.errors import ConfigUnsupportedError, OperationFailedError
from virtcore.xml import (
    Device,
    Disk,
    DomainDef,
    Interface,
    format_domain,
    parse_device,
    parse_domain,
    secure_parse,
)

__all__ = [
    "parse_attachable",
    "with_device",
    "without_device",
    "find_device",
    "xl_attach_args",
    "xl_detach_args",
]


def _random_mac() -> str:
    # Xen's OUI, as xl and libvirt use for generated addresses
    a, b, c = random.randrange(128), random.randrange(256), random.randrange(256)
    return f"00:16:3e:{a:02x}:{b:02x}:{c:02x}"


def parse_attachable(xml: str) -> Device:
    """Parse a device to attach: a ``<disk>`` or an ``<interface>`` (given a MAC if it has none).

    :raises XMLError: malformed XML.
    :raises ConfigUnsupportedError: another kind of device.
    """
    dev = parse_device(xml)
    if isinstance(dev, Interface) and (dev.raw is None or dev.raw.find("mac") is None):
        # the core's model picks a QEMU-style address; a Xen NIC gets one of Xen's
        dev = parse_device(_add_mac(xml, _random_mac()))
    if not isinstance(dev, (Disk, Interface)):
        raise ConfigUnsupportedError(
            f"attaching <{dev.tag}> devices is not supported by Xen (disk and interface are)"
        )
    return dev


def _add_mac(xml: str, mac: str) -> str:
    el = secure_parse(xml)
    m = etree.Element("mac", address=mac)
    el.insert(0, m)
    return etree.tostring(el, encoding="unicode")


def find_device(d: DomainDef, dev: Device) -> int | None:
    """Index in ``d.devices`` of the device ``dev`` names (disk: by target; interface: by MAC)."""
    for i, x in enumerate(d.devices):
        if isinstance(dev, Disk) and isinstance(x, Disk) and x.target_dev == dev.target_dev:
            return i
        if (
            isinstance(dev, Interface)
            and isinstance(x, Interface)
            and (dev.mac is None or (x.mac or "").lower() == dev.mac.lower())
            and (dev.target_dev is None or dev.target_dev == x.target_dev)
        ):
            return i
    return None


def _reparse(d: DomainDef) -> DomainDef:
    # the native converter reads the element tree: format and parse again so it is current
    return parse_domain(format_domain(d))


def with_device(d: DomainDef, dev: Device) -> DomainDef:
    """``d`` with ``dev`` added.

    :raises OperationFailedError: the target (disk) or MAC (interface) is in use.
    """
    if isinstance(dev, Disk) and any(x.target_dev == dev.target_dev for x in d.disks):
        raise OperationFailedError(f"target {dev.target_dev} already exists in domain '{d.name}'")
    if isinstance(dev, Interface) and any(
        (x.mac or "").lower() == (dev.mac or "").lower() for x in d.interfaces
    ):
        raise OperationFailedError(f"an interface with MAC {dev.mac} already exists in domain '{d.name}'")
    return _reparse(attrs.evolve(d, devices=(*d.devices, dev), raw=d.raw))


def without_device(d: DomainDef, dev: Device) -> tuple[DomainDef, Device]:
    """``d`` without the device ``dev`` names, and that device as defined.

    :raises OperationFailedError: no device matches (``"device not found"``).
    """
    idx = find_device(d, dev)
    if idx is None:
        what = f"disk {dev.target_dev}" if isinstance(dev, Disk) else f"interface {getattr(dev, 'mac', None)}"
        raise OperationFailedError(f"device not found: no {what} in domain '{d.name}'")
    found = d.devices[idx]
    return _reparse(attrs.evolve(d, devices=d.devices[:idx] + d.devices[idx + 1 :], raw=d.raw)), found


def xl_attach_args(d: DomainDef, dev: Device, domid: int) -> list[str]:
    """The ``xl`` command line that hot-plugs ``dev`` into the running domain ``domid``."""
    spec = device_xl_spec(d, dev)
    if isinstance(dev, Disk):
        return ["block-attach", str(domid), spec]
    return ["network-attach", str(domid), *[p for p in spec.split(",") if p]]


def xl_detach_args(dev: Device, domid: int) -> list[str]:
    """The ``xl`` command line that unplugs the (defined) device ``dev`` from domain ``domid``."""
    if isinstance(dev, Disk):
        return ["block-detach", str(domid), dev.target_dev]
    assert isinstance(dev, Interface)
    if not dev.mac:
        raise OperationFailedError("cannot detach an interface without a MAC address from a Xen domain")
    return ["network-detach", str(domid), dev.mac]
