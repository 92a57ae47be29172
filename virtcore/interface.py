"""Host network interfaces: the public handles over the interface hooks.

A *host interface* is a network interface of the host itself (``eth0``, a
bridge, a bond, a VLAN) as the host's network configuration describes it in
libvirt's ``<interface>`` XML (not a guest's ``<interface>`` device). An
interface is defined (its configuration is kept) and active or not (it is
up). libvirt: ``virInterface``.

A connection whose drivers offer no host interfaces raises ``NoSupportError``
naming the operation.

::

    eth = conn.lookup_interface("eth1")
    print(eth.mac, eth.is_active(), eth.xml_desc())
    br = conn.define_interface(bridge_xml); br.start()
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

__all__ = ["InterfaceRef", "InterfaceAPI", "Interface"]


class InterfaceRef(NamedTuple):
    """What a driver answers to an interface lookup: its name and MAC address (as defined; ``""``: none)."""

    name: str
    mac: str


def _name_arg(value: object, what: str = "interface name") -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgError(f"{what} must be a non-empty string, not {value!r}")
    return value


class InterfaceAPI:
    """The host interface half of :class:`virtcore.Connection` (its methods, mixed in)."""

    _ops: "Table"

    def list_interfaces(self, active: bool | None = None) -> "list[Interface]":
        """Host interfaces: all (``None``), only active (``True``) or only inactive (``False``)."""
        spec = hookspecs.virt_connect_list_all_interfaces
        refs = self._ops[spec](active=active)
        return [Interface(self, r) for r in refs] if refs is not None else declined(spec)

    def lookup_interface(self, name: str) -> "Interface":
        """The interface called ``name``; ``NoInterfaceError`` if there is none."""
        spec = hookspecs.virt_interface_lookup_by_name
        r = self._ops[spec](name=_name_arg(name))
        return Interface(self, r) if r is not None else declined(spec)

    def lookup_interface_by_mac(self, mac: str) -> "Interface":
        """The interface with MAC address ``mac`` (any case); ``NoInterfaceError`` if none."""
        spec = hookspecs.virt_interface_lookup_by_mac_string
        r = self._ops[spec](mac=_name_arg(mac, "MAC address").lower())
        return Interface(self, r) if r is not None else declined(spec)

    def define_interface(self, xml: str) -> "Interface":
        """Define (or redefine) a host interface from ``<interface>`` XML; a new one is inactive."""
        spec = hookspecs.virt_interface_define_xml
        r = self._ops[spec](xml=xml_arg(xml, "interface XML"))
        return Interface(self, r) if r is not None else declined(spec)


class Interface:
    """A handle on one host interface of a connection. Get one from a lookup or a define."""

    __slots__ = ("_conn", "mac", "name")

    def __init__(self, conn: InterfaceAPI, ref: InterfaceRef) -> None:
        self._conn = conn
        #: The interface's name (``eth1``).
        self.name: str = ref.name
        #: Its MAC address as its definition writes it (``""``: it has none, as a bridge may not).
        self.mac: str = ref.mac

    def __repr__(self) -> str:
        return f"<virtcore.Interface {self.name!r} {self.mac}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interface) and other._conn is self._conn and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def connection(self) -> InterfaceAPI:
        """The connection this handle belongs to."""
        return self._conn

    def _done(self, r: bool | None, spec: Callable[..., object]) -> None:
        if r is None:
            declined(spec)

    def xml_desc(self, inactive: bool = False) -> str:
        """The interface's XML (``inactive``: its configuration rather than its live state)."""
        spec = hookspecs.virt_interface_get_xml_desc
        r = self._conn._ops[spec](name=self.name, inactive=bool(inactive))
        return r if r is not None else declined(spec)

    def is_active(self) -> bool:
        """Whether the interface is up."""
        spec = hookspecs.virt_interface_is_active
        r = self._conn._ops[spec](name=self.name)
        return r if r is not None else declined(spec)

    def start(self) -> None:
        """Bring the interface up; ``OperationInvalidError`` if it is up."""
        spec = hookspecs.virt_interface_create
        self._done(self._conn._ops[spec](name=self.name), spec)

    def destroy(self) -> None:
        """Bring the interface down; ``OperationInvalidError`` if it is down."""
        spec = hookspecs.virt_interface_destroy
        self._done(self._conn._ops[spec](name=self.name), spec)

    def undefine(self) -> None:
        """Remove the interface's configuration."""
        spec = hookspecs.virt_interface_undefine
        self._done(self._conn._ops[spec](name=self.name), spec)
