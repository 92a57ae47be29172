"""Host (node) devices: the public handles over the node device hooks.

A *node device* is a piece of the host's hardware as the driver enumerates it:
the computer itself (``system``), PCI and USB devices, network cards, SCSI
hosts and their targets, disks... Each has a unique ``name``
(``pci_0000_00_1f_2``), usually a ``parent`` (the device it hangs from) and
one or more *capabilities* (``pci``, ``scsi_host``...), libvirt's
``virNodeDevCapType`` names (:data:`NODE_DEVICE_CAPS`). A virtual HBA (a
``scsi_host`` with an ``fc_host`` capability) can be created from XML and
destroyed; every other device is the host's.

A connection whose drivers offer no node devices raises ``NoSupportError``
naming the operation.

::

    for dev in conn.list_node_devices("scsi_host"):
        print(dev.name, dev.parent, dev.capabilities())
    print(conn.lookup_node_device("computer").xml_desc())
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple would compile each string
# annotation (a ForwardRef per field); a cold open then compiles nothing (~8M instructions).
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from virtcore import hookspecs
from virtcore._dispatch import declined, xml_arg
from virtcore.errors import InvalidArgError

if TYPE_CHECKING:
    from virtcore._dispatch import Table

__all__ = ["NODE_DEVICE_CAPS", "NodeDeviceRef", "NodeDeviceAPI", "NodeDevice"]

#: libvirt's capability names, in the order of its ``VIR_CONNECT_LIST_NODE_DEVICES_CAP_*`` bits
#: (bit *i* of that flag set is ``NODE_DEVICE_CAPS[i]``). ``fc_host`` and ``vports`` are
#: capabilities a ``scsi_host`` nests; filtering by them finds those hosts.
NODE_DEVICE_CAPS: tuple[str, ...] = (
    "system", "pci", "usb_device", "usb", "net", "scsi_host", "scsi_target", "scsi", "storage",
    "fc_host", "vports", "scsi_generic", "drm", "mdev_types", "mdev", "ccw", "css", "vdpa",
    "ap_card", "ap_queue", "ap_matrix", "vpd",
)  # fmt: skip


class NodeDeviceRef(NamedTuple):
    """What a driver answers to a node device lookup: its name and its parent's (``None``: a root)."""

    name: str
    parent: str | None


def _name_arg(value: object, what: str = "node device name") -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _cap_arg(cap: object) -> str | None:
    if cap is None:
        return None
    if not isinstance(cap, str) or not cap:
        raise InvalidArgError(f"node device capability must be a non-empty string, not {cap!r}")
    return cap  # a name libvirt does not know matches no device, as in libvirt


class NodeDeviceAPI:
    """The node device half of :class:`virtcore.Connection` (its methods, mixed in)."""

    _ops: "Table"

    def list_node_devices(self, cap: str | None = None) -> "list[NodeDevice]":
        """The host's devices; with ``cap``, only those having that capability (:data:`NODE_DEVICE_CAPS`).

        A capability name no device has (or libvirt does not know) gives ``[]``, as in libvirt.
        """
        spec = hookspecs.virt_connect_list_all_node_devices
        refs = self._ops[spec](cap=_cap_arg(cap))
        return [NodeDevice(self, r) for r in refs] if refs is not None else declined(spec)

    def lookup_node_device(self, name: str) -> "NodeDevice":
        """The device called ``name``; ``NoNodeDeviceError`` if there is none."""
        spec = hookspecs.virt_node_device_lookup_by_name
        r = self._ops[spec](name=_name_arg(name))
        return NodeDevice(self, r) if r is not None else declined(spec)

    def create_node_device(self, xml: str) -> "NodeDevice":
        """Create a device from ``<device>`` XML (a virtual HBA: a ``scsi_host`` with ``fc_host``)."""
        spec = hookspecs.virt_node_device_create_xml
        r = self._ops[spec](xml=xml_arg(xml, "node device XML"))
        return NodeDevice(self, r) if r is not None else declined(spec)


class NodeDevice:
    """A handle on one host device of a connection. Get one from a lookup or a listing."""

    __slots__ = ("_conn", "_parent", "name")

    def __init__(self, conn: NodeDeviceAPI, ref: NodeDeviceRef) -> None:
        self._conn = conn
        #: The device's name (``scsi_host1``).
        self.name: str = ref.name
        self._parent = ref.parent

    def __repr__(self) -> str:
        return f"<virtcore.NodeDevice {self.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NodeDevice) and other._conn is self._conn and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def connection(self) -> NodeDeviceAPI:
        """The connection this handle belongs to."""
        return self._conn

    @property
    def parent(self) -> str | None:
        """The parent device's name (``None``: the device is a root, as ``computer``)."""
        if self._parent is not None:
            return self._parent
        spec = hookspecs.virt_node_device_get_parent
        r = self._conn._ops[spec](name=self.name)
        return (r or None) if r is not None else declined(spec)

    def xml_desc(self) -> str:
        """The device's ``<device>`` XML."""
        spec = hookspecs.virt_node_device_get_xml_desc
        r = self._conn._ops[spec](name=self.name)
        return r if r is not None else declined(spec)

    def capabilities(self) -> list[str]:
        """The device's capability names (``['scsi_host']``), in its XML's order."""
        spec = hookspecs.virt_node_device_list_caps
        r = self._conn._ops[spec](name=self.name)
        return r if r is not None else declined(spec)

    def destroy(self) -> None:
        """Destroy a device created with :meth:`NodeDeviceAPI.create_node_device` (a virtual HBA)."""
        spec = hookspecs.virt_node_device_destroy
        self._done(self._conn._ops[spec](name=self.name), spec)

    def _done(self, r: bool | None, spec: Callable[..., object]) -> None:
        if r is None:
            declined(spec)
