"""libvirt node device XML: :class:`NodeDeviceDef` (``<device>``), described with ``typed(...)``.

>>> d = parse_node_device("<device><name>scsi_host1</name><parent>computer</parent>"
...                       "<capability type='scsi_host'><host>1</host><unique_id>0</unique_id>"
...                       "<capability type='fc_host'><wwnn>2000000012341234</wwnn>"
...                       "<wwpn>1000000012341234</wwpn></capability></capability></device>")
>>> d.name, d.parent, d.cap_types, d.fc_host.wwnn
('scsi_host1', 'computer', ('scsi_host',), '2000000012341234')

The device's identity (name, sysfs path, device nodes, parent, driver) and each
capability's ``type`` are typed; so are what SCSI hosts are asked for (host number,
unique id, the nested ``fc_host`` WWNs and ``vport_ops`` counts: what creating a virtual
HBA needs). The rest of a capability's content (a PCI device's bus and slot, a disk's
size...) differs per type and is kept verbatim, as written: its element counts as
represented in the coverage report (:func:`virtcore.xml.unmodelled`).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from virtcore.errors import XMLError
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import ANY, Node, merge
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import (
    INT,
    UINT,
    SpecElement,
    check_covered,
    format_xml,
    one_of,
    spec_node,
    typed,
)

__all__ = [
    "NodeDeviceDef",
    "NodeDevCap",
    "NodeDevNode",
    "NodeDevSubCap",
    "format_node_device",
    "node_device_from_element",
    "parse_node_device",
]

#: The capability types of libvirt's ``virNodeDevCapType``, as ``<capability type=...>`` writes them
#: (``fc_host``, ``vport_ops`` and the PCI/CSS/AP sub-capabilities nest inside another).
CAP_TYPES = (
    "system", "pci", "usb_device", "usb", "net", "scsi_host", "scsi_target", "scsi", "storage",
    "fc_host", "vports", "scsi_generic", "drm", "mdev_types", "mdev", "ccw", "css", "vdpa",
    "ap_card", "ap_queue", "ap_matrix", "vpd", "ccwgroup",
)  # fmt: skip


@attrs.frozen
class NodeDevNode(SpecElement):
    """``<devnode type>path</devnode>``: a device node (``dev``) or a link to it (``link``)."""

    _tag: ClassVar[str] = "devnode"
    type: str | None = typed("attr", "type", conv=one_of(("dev", "link"), "devnode type"))
    path: str | None = typed("text")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class NodeDevSubCap(SpecElement):
    """A capability nested in another (``<capability type='fc_host'>`` in a ``scsi_host``...).

    The Fibre Channel names and vport counts of a SCSI host are typed; other nested
    capabilities keep their content verbatim.
    """

    _tag: ClassVar[str] = "capability"
    type: str | None = typed("attr", "type")
    wwnn: str | None = typed("ctext", "wwnn")
    wwpn: str | None = typed("ctext", "wwpn")
    fabric_wwn: str | None = typed("ctext", "fabric_wwn")
    max_vports: int | None = typed("ctext", "max_vports", conv=UINT)
    vports: int | None = typed("ctext", "vports", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def covered(cls) -> Node:
        """The whole element: what is not typed is kept verbatim."""
        return ANY


@attrs.frozen
class NodeDevCap(SpecElement):
    """``<capability type>``: one capability of the device; a SCSI host's numbers and nested
    capabilities are typed, other content is kept verbatim."""

    _tag: ClassVar[str] = "capability"
    type: str | None = typed("attr", "type", conv=one_of(CAP_TYPES, "capability type"))
    host: int | None = typed("ctext", "host", conv=UINT)
    unique_id: int | None = typed("ctext", "unique_id", conv=INT)
    caps: tuple[NodeDevSubCap, ...] = typed("many", "capability", cls=NodeDevSubCap, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def covered(cls) -> Node:
        """The whole element: what is not typed is kept verbatim."""
        return ANY

    def sub(self, cap_type: str) -> NodeDevSubCap | None:
        """The nested capability of that type, if any."""
        return next((c for c in self.caps if c.type == cap_type), None)


@attrs.frozen
class NodeDriver(SpecElement):
    """``<driver><name>``: the host driver bound to the device."""

    _tag: ClassVar[str] = "driver"
    name: str | None = typed("ctext", "name")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class NodeDeviceDef(SpecElement):
    """A host device (``<device>``), immutable: change it with :func:`attrs.evolve`."""

    _tag: ClassVar[str] = "device"
    _order = ("name", "path", "devnode", "parent", "driver", "capability")
    name: str | None = typed("ctext", "name")
    path: str | None = typed("ctext", "path")
    devnodes: tuple[NodeDevNode, ...] = typed("many", "devnode", cls=NodeDevNode, default=())
    parent: str | None = typed("ctext", "parent")
    driver: NodeDriver | None = typed("one", "driver", cls=NodeDriver, default=None)
    caps: tuple[NodeDevCap, ...] = typed("many", "capability", cls=NodeDevCap, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if not self.caps:
            raise XMLError(f"no device capabilities for '{self.name}'")
        for cap in self.caps:
            if cap.type is None:
                raise XMLError(f"device '{self.name}': missing capability type")

    @classmethod
    def covered(cls) -> Node:
        """What the model types of ``<device>``; capabilities' content is kept verbatim."""
        return merge(spec_node(cls), capability=ANY)

    @property
    def cap_types(self) -> tuple[str, ...]:
        """The top-level capability types, in order (what ``nodeDeviceListCaps`` answers)."""
        return tuple(c.type for c in self.caps if c.type is not None)

    def cap(self, cap_type: str) -> NodeDevCap | None:
        """The top-level capability of that type, if any."""
        return next((c for c in self.caps if c.type == cap_type), None)

    @property
    def fc_host(self) -> NodeDevSubCap | None:
        """The ``fc_host`` capability of the device's ``scsi_host`` (a Fibre Channel HBA), if any."""
        host = self.cap("scsi_host")
        return None if host is None else host.sub("fc_host")

    def has_cap(self, cap_type: str) -> bool:
        """Whether the device has the capability, at the top or (``fc_host``, ``vports``) in its SCSI host,
        as libvirt matches a listing's capability filter."""
        if cap_type in self.cap_types:
            return True
        host = self.cap("scsi_host")
        if host is None:
            return False
        if cap_type == "fc_host":
            return host.sub("fc_host") is not None
        if cap_type == "vports":
            return host.sub("vport_ops") is not None
        return False

    def to_xml(self) -> str:
        """The device as XML text (see :func:`format_node_device`)."""
        return format_node_device(self)


def node_device_from_element(el: Element) -> NodeDeviceDef:
    """Parse a ``<device>`` element."""
    if el.tag != "device":
        raise XMLError(f"unexpected root element <{el.tag}>, expecting <device>")
    dev: NodeDeviceDef = NodeDeviceDef.from_element(el)
    return dev


def parse_node_device(text: str | bytes, *, strict: bool = False) -> NodeDeviceDef:
    """Parse node device XML (with the hardened parser) into a :class:`NodeDeviceDef`.

    :param strict: also refuse elements and attributes the typed model does not represent.
    :raises XMLError: malformed or hostile XML, no capability, an unknown capability type.
    """
    d = node_device_from_element(secure_parse(text, api="NODEDEV"))
    if strict:
        check_covered(d, f"node device '{d.name}'")
    return d


def format_node_device(d: NodeDeviceDef) -> str:
    """``d`` as node device XML text, indented and quoted like libvirt's."""
    return format_xml(d, f"node device '{d.name}'", single_quotes=True)
