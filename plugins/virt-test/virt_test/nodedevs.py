"""The host devices of a test node, and their hooks, after libvirt's test driver.

``test:///default`` has libvirt's four: ``computer`` (``system``), the Fibre
Channel HBAs ``scsi_host1`` and ``scsi_host2`` (vport capable) under it, and the
vHBA ``scsi_host11`` under ``scsi_host1``; a node file has its ``<device>``
elements. Creating a device makes a vHBA as libvirt's test driver mocks it: a
copy of ``scsi_host11`` named ``scsi_host12`` carrying the new WWNs, under the
parent the XML names (which must exist and host vports). Only a device with
Fibre Channel WWNs can be destroyed.

Lookups fail as the test driver's do (``NO_NODE_DEVICE`` from the test
domain); creating fails as libvirt's node device code does (internal errors
from the node device domain).
"""

from __future__ import annotations

import _thread
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from virtcore import errors, hookimpl
from virtcore.errors import InternalError, NoNodeDeviceError
from virtcore.nodedev import NodeDeviceRef

if TYPE_CHECKING:
    from virt_test.node import Node
    from virtcore.xml.nodedev import NodeDeviceDef

__all__ = ["DEFAULT_DEVICES_XML", "NodeDevices", "TestNodeDevices"]

#: The devices of ``test:///default`` (libvirt's ``defaultConnXML``; the vport counts as its
#: test driver reports them, having no sysfs to read).
DEFAULT_DEVICES_XML = (
    """<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>""",
    *(
        f"""<device>
  <name>scsi_host{n}</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>{n}</host>
    <unique_id>{n - 1}</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000{wwn}</wwnn>
      <wwpn>1000000{wwn}</wwpn>
      <fabric_wwn>{fabric}</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>0</max_vports>
      <vports>0</vports>
    </capability>
  </capability>
</device>"""
        for n, wwn, fabric in ((1, "012341234", "2000000043214321"), (2, "056785678", "2000000087658765"))
    ),
    """<device>
  <name>scsi_host11</name>
  <parent>scsi_host1</parent>
  <capability type='scsi_host'>
    <host>11</host>
    <unique_id>10</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000034563456</wwnn>
      <wwpn>1000000034563456</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
  </capability>
</device>""",
)

#: The device a vHBA is copied from, and the name the copy gets (libvirt's mock).
_VHBA_TEMPLATE, _VHBA_NAME = "scsi_host11", "scsi_host12"


def _no_device(name: str) -> NoNodeDeviceError:
    return NoNodeDeviceError(f"no node device with matching name '{name}'", domain=errors.ErrorDomain.TEST)


def _internal(detail: str) -> InternalError:
    return InternalError(detail, domain=errors.ErrorDomain.NODEDEV)


class NodeDevices:
    """Every host device of a node, in the order they were added, under one lock."""

    def __init__(self, definitions: Iterable[NodeDeviceDef]) -> None:
        self.lock = _thread.RLock()
        self.devices: dict[str, NodeDeviceDef] = {}
        for d in definitions:
            if d.name is None:
                raise _internal("a node device has no <name>")
            self.devices[d.name] = d

    def get(self, name: str) -> NodeDeviceDef:
        """The device called ``name``; ``NoNodeDeviceError`` when none."""
        with self.lock:
            d = self.devices.get(name)
        if d is None:
            raise _no_device(name)
        return d

    def refs(self, cap: str | None) -> list[NodeDeviceRef]:
        """The devices (having capability ``cap``, when given)."""
        with self.lock:
            found = list(self.devices.values())
        return [_ref(d) for d in found if cap is None or d.has_cap(cap)]

    def create_vhba(self, xml: str) -> NodeDeviceRef:
        """A new vHBA from ``<device>`` XML, as libvirt's test driver mocks it."""
        from virtcore.xml.nodedev import parse_node_device  # saves the XML model on open

        try:
            wanted = parse_node_device(xml)
        except errors.XMLError as exc:
            if "no device capabilities" in str(exc):
                raise _internal(f"no device capabilities for '{wanted_name(xml)}'") from None
            raise
        fc = wanted.fc_host
        if fc is None or not fc.wwnn or not fc.wwpn:
            raise _internal("Device is not a fibre channel HBA")
        name = wanted.name or "new device"
        with self.lock:
            parent = self.devices.get(wanted.parent) if wanted.parent else None
            if parent is None:
                raise _internal(f"Could not find parent device for '{name}'")
            if not parent.has_cap("vports"):
                raise _internal(f"Parent device {parent.name} is not capable of vport operations")
            template = self.devices.get(_VHBA_TEMPLATE)
            if template is None:
                raise _internal(f"the test node has no '{_VHBA_TEMPLATE}' to mock a vHBA from")
            made = _vhba(template, fc.wwnn, fc.wwpn)
            self.devices[_VHBA_NAME] = made
        return NodeDeviceRef(_VHBA_NAME, wanted.parent)

    def destroy(self, name: str) -> None:
        """Remove the vHBA ``name``."""
        with self.lock:
            d = self.get(name)
            fc = d.fc_host
            if fc is None or not fc.wwnn or not fc.wwpn:
                raise _internal("Device is not a fibre channel HBA")
            if d.parent is None or d.parent not in self.devices:
                raise _internal(f"cannot find parent '{d.parent}' definition")
            del self.devices[name]


def wanted_name(xml: str) -> str:
    """The ``<name>`` a device document gives (libvirt's ``new device`` when none), for messages."""
    from virtcore.xml import secure_parse  # saves the XML parser on open

    el = secure_parse(xml).find("name")
    return el.text.strip() if el is not None and el.text else "new device"


def _ref(d: NodeDeviceDef) -> NodeDeviceRef:
    assert d.name is not None
    return NodeDeviceRef(d.name, d.parent)


def _vhba(template: NodeDeviceDef, wwnn: str, wwpn: str) -> NodeDeviceDef:
    """``template`` renamed to the vHBA name, with the new WWNs in its ``fc_host``."""
    from virtcore.xml.nodedev import node_device_from_element  # saves the XML model on open

    el = template.to_element()
    name = el.find("name")
    assert name is not None
    name.text = _VHBA_NAME
    fc = el.find("capability[@type='scsi_host']/capability[@type='fc_host']")
    assert fc is not None
    for tag, value in (("wwnn", wwnn), ("wwpn", wwpn)):
        child = fc.find(tag)
        assert child is not None
        child.text = value
    return node_device_from_element(el)


class TestNodeDevices:
    """The node device hook implementations over one node's devices."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self._node = node

    @functools.cached_property
    def devices(self) -> NodeDevices:
        """The node's devices, built when the first node device hook runs (opening never does)."""
        return self._node.node_devices

    @hookimpl
    def virt_connect_list_all_node_devices(self, cap: str | None) -> list[NodeDeviceRef]:
        return self.devices.refs(cap)

    @hookimpl
    def virt_node_device_lookup_by_name(self, name: str) -> NodeDeviceRef:
        return _ref(self.devices.get(name))

    @hookimpl
    def virt_node_device_get_xml_desc(self, name: str) -> str:
        return self.devices.get(name).to_xml()

    @hookimpl
    def virt_node_device_get_parent(self, name: str) -> str:
        return self.devices.get(name).parent or ""

    @hookimpl
    def virt_node_device_list_caps(self, name: str) -> list[str]:
        return list(self.devices.get(name).cap_types)

    @hookimpl
    def virt_node_device_create_xml(self, xml: str) -> NodeDeviceRef:
        ref = self.devices.create_vhba(xml)
        self._event(ref, "CREATED")
        return ref

    @hookimpl
    def virt_node_device_destroy(self, name: str) -> bool:
        ref = _ref(self.devices.get(name))
        self.devices.destroy(name)
        self._event(ref, "DELETED")
        return True

    def _event(self, ref: NodeDeviceRef, event: str) -> None:
        """Tell every connection of the node, where libvirt's test driver queues a device event
        (``event``: a ``NodeDeviceEventLifecycleType`` name)."""
        from virtcore.objevents import (
            NodeDeviceEventLifecycleType,
            NodeDeviceLifecycleEvent,
        )  # saves its enums and records on open

        self._node._send([NodeDeviceLifecycleEvent(ref, NodeDeviceEventLifecycleType[event])])
