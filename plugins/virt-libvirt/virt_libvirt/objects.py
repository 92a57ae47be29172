"""The host objects of libvirt's API: ``virNodeDevice``, ``virInterface``, ``virSecret``, ``virNWFilter``...

Node devices, host interfaces and secrets map onto virtcore's
:class:`~virtcore.NodeDevice`, :class:`~virtcore.Interface` and
:class:`~virtcore.Secret`; the connection's lookups and listings of them are
:class:`HostObjectsAPI`, mixed into ``virConnect``. Network filters and their
bindings virtcore does not manage: every method of theirs raises
``libvirtError`` VIR_ERR_NO_SUPPORT naming its C function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from virt_libvirt import _constants as lv
from virt_libvirt._base import Handle, complete, passes, uuid_bytes, uuid_string
from virt_libvirt.errors import check_flags, raise_from
from virtcore.errors import VirtError

if TYPE_CHECKING:
    import virtcore
    from virt_libvirt.connect import virConnect

#: ``VIR_CONNECT_LIST_NODE_DEVICES_CAP_*``: the capability name it selects.
_CAPS = {
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM: "system",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV: "pci",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV: "usb_device",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE: "usb",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET: "net",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST: "scsi_host",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET: "scsi_target",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI: "scsi",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE: "storage",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST: "fc_host",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPORTS: "vports",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_GENERIC: "scsi_generic",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_DRM: "drm",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES: "mdev_types",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV: "mdev",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_CCW_DEV: "ccw",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_CSS_DEV: "css",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_VDPA: "vdpa",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_CARD: "ap_card",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_QUEUE: "ap_queue",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_AP_MATRIX: "ap_matrix",
    lv.VIR_CONNECT_LIST_NODE_DEVICES_CAP_VPD: "vpd",
}
_NODEDEV_FILTERS = (
    sum(_CAPS) | lv.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE | lv.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE
)
_IFACE_FILTERS = lv.VIR_CONNECT_LIST_INTERFACES_ACTIVE | lv.VIR_CONNECT_LIST_INTERFACES_INACTIVE
_SECRET_FILTERS = (
    lv.VIR_CONNECT_LIST_SECRETS_EPHEMERAL
    | lv.VIR_CONNECT_LIST_SECRETS_NO_EPHEMERAL
    | lv.VIR_CONNECT_LIST_SECRETS_PRIVATE
    | lv.VIR_CONNECT_LIST_SECRETS_NO_PRIVATE
)


class virNodeDevice(Handle):  # noqa: N801 - libvirt-python's name
    """A host device, as libvirt-python's ``virNodeDevice``."""

    __slots__ = ()
    _o: virtcore.NodeDevice

    def name(self) -> str:
        """The device's name (``scsi_host1``)."""
        return self._o.name

    def parent(self) -> str | None:
        """The parent device's name (None for the root, ``computer``)."""
        try:
            return self._o.parent
        except VirtError as exc:
            raise_from(exc)

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<device>`` XML."""
        check_flags(flags, 0, "virNodeDeviceGetXMLDesc", self)
        try:
            return self._o.xml_desc()
        except VirtError as exc:
            raise_from(exc)

    def listCaps(self) -> list[str]:  # noqa: N802
        """The device's capability names."""
        try:
            return self._o.capabilities()
        except VirtError as exc:
            raise_from(exc)

    def numOfCaps(self) -> int:  # noqa: N802
        """How many capabilities the device has."""
        return len(self.listCaps())

    def destroy(self) -> int:
        """Destroy the (virtual) device; 0."""
        try:
            self._o.destroy()
        except VirtError as exc:
            raise_from(exc)
        return 0


class virInterface(Handle):  # noqa: N801 - libvirt-python's name
    """A host network interface, as libvirt-python's ``virInterface``."""

    __slots__ = ()
    _o: virtcore.Interface

    def name(self) -> str:
        """The interface's name (``eth1``)."""
        return self._o.name

    def MACString(self) -> str:  # noqa: N802
        """Its MAC address."""
        return self._o.mac

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<interface>`` XML (``VIR_INTERFACE_XML_INACTIVE``: the definition)."""
        check_flags(flags, lv.VIR_INTERFACE_XML_INACTIVE, "virInterfaceGetXMLDesc", self)
        try:
            return self._o.xml_desc(inactive=bool(flags & lv.VIR_INTERFACE_XML_INACTIVE))
        except VirtError as exc:
            raise_from(exc)

    def isActive(self) -> int:  # noqa: N802
        """1 while the interface is up."""
        try:
            return int(self._o.is_active())
        except VirtError as exc:
            raise_from(exc)

    def create(self, flags: int = 0) -> int:
        """Bring the interface up; 0."""
        check_flags(flags, 0, "virInterfaceCreate", self)
        try:
            self._o.start()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def destroy(self, flags: int = 0) -> int:
        """Bring the interface down; 0."""
        check_flags(flags, 0, "virInterfaceDestroy", self)
        try:
            self._o.destroy()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def undefine(self) -> int:
        """Remove the interface's definition; 0."""
        try:
            self._o.undefine()
        except VirtError as exc:
            raise_from(exc)
        return 0


class virSecret(Handle):  # noqa: N801 - libvirt-python's name
    """A secret, as libvirt-python's ``virSecret``."""

    __slots__ = ()
    _o: virtcore.Secret

    def UUIDString(self) -> str:  # noqa: N802
        """The UUID, canonical string."""
        return self._o.uuid

    def UUID(self) -> bytes:  # noqa: N802
        """The UUID, 16 raw bytes."""
        return uuid_bytes(self._o.uuid)

    def usageType(self) -> int:  # noqa: N802
        """``VIR_SECRET_USAGE_TYPE_*``."""
        return int(self._o.usage_type)

    def usageID(self) -> str | None:  # noqa: N802
        """The usage's id (a volume's path, a Ceph user...); None for usage ``none``."""
        return self._o.usage_id or None

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<secret>`` XML."""
        check_flags(flags, 0, "virSecretGetXMLDesc", self)
        try:
            return self._o.xml_desc()
        except VirtError as exc:
            raise_from(exc)

    def setValue(self, value: bytes, flags: int = 0) -> int:  # noqa: N802
        """Set the secret's value; 0."""
        check_flags(flags, 0, "virSecretSetValue", self)
        try:
            self._o.set_value(value)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def value(self, flags: int = 0) -> bytes:
        """The secret's value."""
        check_flags(flags, 0, "virSecretGetValue", self)
        try:
            return self._o.value()
        except VirtError as exc:
            raise_from(exc)

    def undefine(self) -> int:
        """Remove the secret; 0."""
        try:
            self._o.undefine()
        except VirtError as exc:
            raise_from(exc)
        return 0


class virNWFilter(Handle):  # noqa: N801 - libvirt-python's name
    """A network filter, as libvirt-python's ``virNWFilter`` (virtcore has none)."""

    __slots__ = ()


class virNWFilterBinding(Handle):  # noqa: N801 - libvirt-python's name
    """A network filter binding, as libvirt-python's ``virNWFilterBinding`` (virtcore has none)."""

    __slots__ = ()


for _cls in (virNodeDevice, virInterface, virSecret, virNWFilter, virNWFilterBinding):
    complete(_cls)


def _secret_kept(secret: virtcore.Secret, flags: int) -> bool:
    import xml.etree.ElementTree as ET  # only a filtered listing reads the secrets' XML

    root = ET.fromstring(secret.xml_desc())
    ephemeral, private = root.get("ephemeral") == "yes", root.get("private") == "yes"
    return passes(
        flags,
        lv.VIR_CONNECT_LIST_SECRETS_EPHEMERAL,
        lv.VIR_CONNECT_LIST_SECRETS_NO_EPHEMERAL,
        lambda: ephemeral,
    ) and passes(
        flags, lv.VIR_CONNECT_LIST_SECRETS_PRIVATE, lv.VIR_CONNECT_LIST_SECRETS_NO_PRIVATE, lambda: private
    )


class HostObjectsAPI:
    """``virConnect``'s lookups and listings of node devices, interfaces and secrets (mixed in)."""

    __slots__ = ()
    _conn: virtcore.Connection

    @property
    def _handles_conn(self) -> virConnect:
        """The ``virConnect`` the handles made here hold (this class is only mixed into it)."""
        return cast("virConnect", self)

    # -- node devices ---------------------------------------------------------------

    def nodeDeviceLookupByName(self, name: str) -> virNodeDevice:  # noqa: N802
        """The host device called ``name``."""
        try:
            return virNodeDevice(self._handles_conn, self._conn.lookup_node_device(name))
        except VirtError as exc:
            raise_from(exc)

    def nodeDeviceCreateXML(self, xmlDesc: str, flags: int = 0) -> virNodeDevice:  # noqa: N802, N803
        """Create a (virtual) device from ``<device>`` XML."""
        check_flags(flags, lv.VIR_NODE_DEVICE_CREATE_XML_VALIDATE, "virNodeDeviceCreateXML", self)
        try:
            return virNodeDevice(self._handles_conn, self._conn.create_node_device(xmlDesc))
        except VirtError as exc:
            raise_from(exc)

    def listAllDevices(self, flags: int = 0) -> list[virNodeDevice]:  # noqa: N802
        """The host's devices, filtered by ``VIR_CONNECT_LIST_NODE_DEVICES_CAP_*`` flags."""
        check_flags(flags, _NODEDEV_FILTERS, "virConnectListAllNodeDevices", self)
        caps = [name for bit, name in _CAPS.items() if flags & bit]
        try:
            if not caps:
                return [virNodeDevice(self._handles_conn, d) for d in self._conn.list_node_devices()]
            seen: dict[str, virtcore.NodeDevice] = {}
            for cap in caps:
                for d in self._conn.list_node_devices(cap):
                    seen.setdefault(d.name, d)
            return [virNodeDevice(self._handles_conn, d) for d in seen.values()]
        except VirtError as exc:
            raise_from(exc)

    def listDevices(self, cap: str | None = None, flags: int = 0) -> list[str]:  # noqa: N802
        """The names of the host's devices (with ``cap``: those having it)."""
        check_flags(flags, 0, "virNodeListDevices", self)
        try:
            return [d.name for d in self._conn.list_node_devices(cap)]
        except VirtError as exc:
            raise_from(exc)

    def numOfDevices(self, cap: str | None = None, flags: int = 0) -> int:  # noqa: N802
        """How many devices :meth:`listDevices` would name."""
        return len(self.listDevices(cap, flags))

    # -- host interfaces -------------------------------------------------------------

    def interfaceLookupByName(self, name: str) -> virInterface:  # noqa: N802
        """The host interface called ``name``."""
        try:
            return virInterface(self._handles_conn, self._conn.lookup_interface(name))
        except VirtError as exc:
            raise_from(exc)

    def interfaceLookupByMACString(self, macstr: str) -> virInterface:  # noqa: N802
        """The host interface with this MAC address."""
        try:
            return virInterface(self._handles_conn, self._conn.lookup_interface_by_mac(macstr))
        except VirtError as exc:
            raise_from(exc)

    def interfaceDefineXML(self, xml: str, flags: int = 0) -> virInterface:  # noqa: N802
        """Define a host interface from ``<interface>`` XML."""
        check_flags(flags, lv.VIR_INTERFACE_DEFINE_VALIDATE, "virInterfaceDefineXML", self)
        try:
            return virInterface(self._handles_conn, self._conn.define_interface(xml))
        except VirtError as exc:
            raise_from(exc)

    def listAllInterfaces(self, flags: int = 0) -> list[virInterface]:  # noqa: N802
        """The host interfaces, filtered by ``VIR_CONNECT_LIST_INTERFACES_*``."""
        check_flags(flags, _IFACE_FILTERS, "virConnectListAllInterfaces", self)
        active, inactive = lv.VIR_CONNECT_LIST_INTERFACES_ACTIVE, lv.VIR_CONNECT_LIST_INTERFACES_INACTIVE
        try:
            ifaces = self._conn.list_interfaces()
            return [
                virInterface(self._handles_conn, i)
                for i in ifaces
                if passes(flags, active, inactive, i.is_active)
            ]
        except VirtError as exc:
            raise_from(exc)

    def listInterfaces(self) -> list[str]:  # noqa: N802
        """The names of the active host interfaces."""
        try:
            return [i.name for i in self._conn.list_interfaces(active=True)]
        except VirtError as exc:
            raise_from(exc)

    def listDefinedInterfaces(self) -> list[str]:  # noqa: N802
        """The names of the inactive host interfaces."""
        try:
            return [i.name for i in self._conn.list_interfaces(active=False)]
        except VirtError as exc:
            raise_from(exc)

    def numOfInterfaces(self) -> int:  # noqa: N802
        """How many host interfaces are active."""
        return len(self.listInterfaces())

    def numOfDefinedInterfaces(self) -> int:  # noqa: N802
        """How many host interfaces are inactive."""
        return len(self.listDefinedInterfaces())

    # -- secrets -----------------------------------------------------------------------

    def secretLookupByUUIDString(self, uuidstr: str) -> virSecret:  # noqa: N802
        """The secret with this UUID string."""
        try:
            return virSecret(self._handles_conn, self._conn.lookup_secret_by_uuid(uuidstr))
        except VirtError as exc:
            raise_from(exc)

    def secretLookupByUUID(self, uuid: bytes) -> virSecret:  # noqa: N802
        """The secret with these 16 UUID bytes."""
        return self.secretLookupByUUIDString(uuid_string(uuid))

    def secretLookupByUsage(self, usageType: int, usageID: str) -> virSecret:  # noqa: N802, N803
        """The secret of that usage (``VIR_SECRET_USAGE_TYPE_*`` and its id)."""
        try:
            return virSecret(self._handles_conn, self._conn.lookup_secret_by_usage(usageType, usageID))
        except VirtError as exc:
            raise_from(exc)

    def secretDefineXML(self, xml: str, flags: int = 0) -> virSecret:  # noqa: N802
        """Define (or redefine) a secret from ``<secret>`` XML."""
        check_flags(flags, lv.VIR_SECRET_DEFINE_VALIDATE, "virSecretDefineXML", self)
        try:
            return virSecret(self._handles_conn, self._conn.define_secret(xml))
        except VirtError as exc:
            raise_from(exc)

    def listAllSecrets(self, flags: int = 0) -> list[virSecret]:  # noqa: N802
        """Every secret, filtered by ``VIR_CONNECT_LIST_SECRETS_[NO_]EPHEMERAL`` / ``[NO_]PRIVATE``."""
        check_flags(flags, _SECRET_FILTERS, "virConnectListAllSecrets", self)
        try:
            secrets = self._conn.list_secrets()
            if flags:
                secrets = [s for s in secrets if _secret_kept(s, flags)]
            return [virSecret(self._handles_conn, s) for s in secrets]
        except VirtError as exc:
            raise_from(exc)

    def listSecrets(self) -> list[str]:  # noqa: N802
        """The UUID strings of every secret."""
        try:
            return [s.uuid for s in self._conn.list_secrets()]
        except VirtError as exc:
            raise_from(exc)

    def numOfSecrets(self) -> int:  # noqa: N802
        """How many secrets there are."""
        return len(self.listSecrets())
