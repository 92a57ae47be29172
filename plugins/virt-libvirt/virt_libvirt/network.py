"""``virNetwork`` (and ``virNetworkPort``) over virtcore's network API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virt_libvirt import _constants as lv
from virt_libvirt._base import Persistent, complete
from virt_libvirt.errors import check_flags, raise_from
from virtcore.errors import VirtError

if TYPE_CHECKING:
    import virtcore
    from virt_libvirt.connect import virConnect

_UPDATE_FLAGS = lv.VIR_NETWORK_UPDATE_AFFECT_LIVE | lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG


class virNetwork(Persistent):  # noqa: N801 - libvirt-python's name
    """A virtual network, as libvirt-python's ``virNetwork``."""

    __slots__ = ()
    _o: virtcore.Network

    def XMLDesc(self, flags: int = 0) -> str:  # noqa: N802
        """The ``<network>`` XML (``VIR_NETWORK_XML_INACTIVE``: the persistent definition)."""
        check_flags(flags, lv.VIR_NETWORK_XML_INACTIVE, "virNetworkGetXMLDesc", self)
        try:
            return self._o.xml_desc(inactive=bool(flags & lv.VIR_NETWORK_XML_INACTIVE))
        except VirtError as exc:
            raise_from(exc)

    def bridgeName(self) -> str:  # noqa: N802
        """The host bridge's name."""
        try:
            return self._o.bridge_name
        except VirtError as exc:
            raise_from(exc)

    def _do(self, action: Callable[[], None]) -> int:
        try:
            action()
        except VirtError as exc:
            raise_from(exc)
        return 0

    def create(self) -> int:
        """Start the network; 0."""
        return self._do(self._o.start)

    def destroy(self) -> int:
        """Stop the network; 0."""
        return self._do(self._o.destroy)

    def undefine(self) -> int:
        """Remove the persistent definition; 0."""
        return self._do(self._o.undefine)

    def update(self, command: int, section: int, parentIndex: int, xml: str, flags: int = 0) -> int:  # noqa: N803
        """Add, modify or delete one element of ``section`` (``VIR_NETWORK_UPDATE_AFFECT_*``); 0."""
        check_flags(flags, _UPDATE_FLAGS, "virNetworkUpdate", self)
        live = bool(flags & lv.VIR_NETWORK_UPDATE_AFFECT_LIVE)
        config = bool(flags & lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG)
        return self._do(
            lambda: self._o.update(command, section, xml, parent_index=parentIndex, live=live, config=config)  # type: ignore[arg-type]
        )

    def DHCPLeases(self, mac: str | None = None, flags: int = 0) -> list[dict[str, Any]]:  # noqa: N802
        """The network's DHCP leases (only ``mac``'s, when given), as dictionaries of libvirt's fields."""
        check_flags(flags, 0, "virNetworkGetDHCPLeases", self)
        try:
            leases = self._o.dhcp_leases(mac)
        except VirtError as exc:
            raise_from(exc)
        return [
            {
                "iface": x.iface,
                "expirytime": x.expirytime,
                "type": int(x.type),
                "mac": x.mac,
                "iaid": x.iaid,
                "ipaddr": x.ipaddr,
                "prefix": x.prefix,
                "hostname": x.hostname,
                "clientid": x.clientid,
            }
            for x in leases
        ]


complete(virNetwork)


class virNetworkPort:  # noqa: N801 - libvirt-python's name
    """A port of a virtual network, as libvirt-python's ``virNetworkPort`` (virtcore has none)."""

    __slots__ = ("__weakref__", "_net", "_p")

    def __init__(self, net: virNetwork, _obj: Any) -> None:
        self._net = net
        self._p = _obj

    def network(self) -> virNetwork:
        """The network the port is on."""
        return self._net

    def connect(self) -> virConnect:
        """The connection of its network."""
        return self._net.connect()

    def c_pointer(self) -> int:
        """An identifier of the underlying handle (libvirt-python: its C pointer)."""
        return id(self._p)


complete(virNetworkPort)
