"""Device hot-plug and statistics for the test driver.

Devices are matched the way libvirt matches them: disks by target device
(``vda``), interfaces by MAC address (or target device name), other devices
by their whole formatted XML.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import attrs

from virt_test.addresses import host_ifnames
from virtcore import errors
from virtcore.errors import InvalidArgError, OperationFailedError, OperationInvalidError
from virtcore.xml import Disk, Interface, format_device, parse_device

if TYPE_CHECKING:
    from virt_test.node import Node, TestDomain

__all__ = ["attach", "detach", "block_info", "block_stats", "interface_stats"]


def _key(dev: Any) -> tuple[str, str]:
    if isinstance(dev, Disk) and dev.target_dev:
        return ("disk", dev.target_dev)
    if isinstance(dev, Interface) and dev.mac:
        return ("interface", dev.mac.lower())
    return (type(dev).__name__, format_device(dev))


def _describe(key: tuple[str, str]) -> str:
    kind, ident = key
    if kind == "disk":
        return f"disk with target '{ident}'"
    if kind == "interface":
        return f"interface with MAC '{ident}'"
    return f"<{kind.lower()}> device"


def attach(node: Node, uuid: str, xml: str) -> None:
    """Add the device to the live definition (active) or the persistent one (inactive)."""
    device = parse_device(xml)
    key = _key(device)
    with node.lock:
        dom = node.get(uuid)
        d = dom.definition()
        if any(_key(existing) == key for existing in d.devices):
            raise OperationFailedError(f"{_describe(key)} already exists in domain '{dom.name}'")
        node._replace_def(dom, attrs.evolve(d, devices=(*d.devices, device)))


def detach(node: Node, uuid: str, xml: str) -> None:
    """Remove the device matching ``xml``; ``OperationFailedError`` when none matches."""
    key = _key(parse_device(xml))
    with node.lock:
        dom = node.get(uuid)
        d = dom.definition()
        kept = tuple(dev for dev in d.devices if _key(dev) != key)
        if len(kept) == len(d.devices):
            raise OperationFailedError(f"device not found: no {_describe(key)} in domain '{dom.name}'")
        node._replace_def(dom, attrs.evolve(d, devices=kept))


def _running(node: Node, uuid: str) -> TestDomain:
    dom = node.get(uuid)
    if not dom.active:
        raise OperationInvalidError(f"domain '{dom.name}' is not running")
    return dom


def _uptime_us(dom: TestDomain) -> int:
    return int((time.monotonic() - dom.started_at) * 1e6)


def block_stats(node: Node, uuid: str, device: str) -> tuple[int, int, int, int, int]:
    """Counters that grow with the domain's uptime, as libvirt's test driver reports them."""
    with node.lock:
        dom = _running(node, uuid)
        if not any(disk.target_dev == device or disk.source == device for disk in dom.definition().disks):
            raise InvalidArgError(
                f"invalid path: {device} not assigned to domain '{dom.name}'", domain=errors.ErrorDomain.TEST
            )
        base = _uptime_us(dom)
    return (base // 10, base // 10 * 4096, base // 20, base // 20 * 4096, 0)


#: What libvirt's test driver answers for every disk's ``(capacity, allocation, physical)``: it has no images.
TEST_BLOCK_INFO = (1099506450432, 1099511627776, 1099511627776)


def block_info(node: Node, uuid: str, device: str) -> tuple[int, int, int]:
    """A disk's sizes, as libvirt's test driver reports them (running or not): :data:`TEST_BLOCK_INFO`."""
    with node.lock:
        dom = node.get(uuid)
        disk = next((d for d in dom.definition().disks if device in (d.target_dev, d.source)), None)
    if disk is None:
        raise InvalidArgError(f"invalid path {device} not assigned to domain")
    if not disk.source:
        raise InvalidArgError(f"disk '{device}' does not currently have a source assigned")
    return TEST_BLOCK_INFO


def interface_stats(node: Node, uuid: str, device: str) -> tuple[int, int, int, int, int, int, int, int]:
    """Counters that grow with the domain's uptime, as libvirt's test driver reports them."""
    with node.lock:
        dom = _running(node, uuid)
        wanted = device.lower()
        nics = dom.definition().interfaces
        # the host-side names domifaddr shows (testnetN) count, as in libvirt's test driver
        if device not in host_ifnames(nics) and not any((nic.mac or "").lower() == wanted for nic in nics):
            raise InvalidArgError(  # libvirt's virDomainNetFind, in its domain code
                f"invalid path, '{device}' is not a known interface of domain '{dom.name}'",
                domain=errors.ErrorDomain.DOMAIN,
            )
        base = _uptime_us(dom)
    return (base // 10, base // 1000, 0, 0, base // 20, base // 2000, 0, 0)
