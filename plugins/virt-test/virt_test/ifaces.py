"""The host interfaces of a test node, and their hooks, after libvirt's test driver.

``test:///default`` has libvirt's ``eth1`` (active); a node file has its
``<interface>`` elements, every one active as the test driver loads them.
Defining an interface whose name exists replaces its definition and keeps its
state; a new one is inactive. Undefining removes it whatever its state.
Starting an active or stopping an inactive interface is
``OPERATION_INVALID``; an unknown name or MAC is ``NO_INTERFACE``, from the
test domain, as libvirt's test driver says them.
"""

from __future__ import annotations

import _thread
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from virtcore import errors, hookimpl
from virtcore.errors import NoInterfaceError, OperationInvalidError
from virtcore.interface import InterfaceRef

if TYPE_CHECKING:
    from virt_test.node import Node
    from virtcore.xml.interface import InterfaceDef

__all__ = ["DEFAULT_INTERFACE_XML", "HostInterfaces", "TestInterfaces"]

#: The host interface of ``test:///default`` (libvirt's ``defaultConnXML``, in the order
#: libvirt's formatter writes it back).
DEFAULT_INTERFACE_XML = """<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mtu size='1492'/>
  <protocol family='ipv4'>
    <ip address='192.168.0.5' prefix='24'/>
    <route gateway='192.168.0.1'/>
  </protocol>
  <mac address='aa:bb:cc:dd:ee:ff'/>
</interface>"""


class _Iface:
    """One interface: its definition and whether it is up."""

    __slots__ = ("active", "definition")

    def __init__(self, definition: InterfaceDef, active: bool) -> None:
        self.definition = definition
        self.active = active

    @property
    def ref(self) -> InterfaceRef:
        d = self.definition
        assert d.name is not None
        return InterfaceRef(d.name, d.mac or "")


def _no_interface(what: str, value: str) -> NoInterfaceError:
    return NoInterfaceError(f"no interface with matching {what} '{value}'", domain=errors.ErrorDomain.TEST)


class HostInterfaces:
    """Every host interface of a node, in the order they were defined, under one lock."""

    def __init__(self, loaded: Iterable[InterfaceDef]) -> None:
        self.lock = _thread.RLock()
        self.ifaces: dict[str, _Iface] = {}
        for d in loaded:
            assert d.name is not None
            self.ifaces[d.name] = _Iface(d, active=True)

    def get(self, name: str) -> _Iface:
        """The interface called ``name`` (call with the lock held); ``NoInterfaceError`` when none."""
        iface = self.ifaces.get(name)
        if iface is None:
            raise _no_interface("name", name)
        return iface

    def refs(self, active: bool | None) -> list[InterfaceRef]:
        """The interfaces (only active or inactive ones, when ``active`` says)."""
        with self.lock:
            return [i.ref for i in self.ifaces.values() if active is None or i.active == active]

    def lookup_name(self, name: str) -> InterfaceRef:
        """The interface called ``name``."""
        with self.lock:
            return self.get(name).ref

    def lookup_mac(self, mac: str) -> InterfaceRef:
        """The first interface with MAC address ``mac`` (lowercase)."""
        with self.lock:
            for i in self.ifaces.values():
                if (i.definition.mac or "").lower() == mac:
                    return i.ref
        raise _no_interface("mac", mac)

    def xml(self, name: str) -> str:
        """The interface's XML."""
        with self.lock:
            definition = self.get(name).definition
        return definition.to_xml()

    def is_active(self, name: str) -> bool:
        """Whether the interface is up."""
        with self.lock:
            return self.get(name).active

    def define(self, definition: InterfaceDef) -> InterfaceRef:
        """Add ``definition`` (inactive), or replace the definition of the interface of its name."""
        assert definition.name is not None
        with self.lock:
            old = self.ifaces.get(definition.name)
            if old is None:
                self.ifaces[definition.name] = old = _Iface(definition, active=False)
            else:
                old.definition = definition
            return old.ref

    def undefine(self, name: str) -> None:
        """Forget the interface."""
        with self.lock:
            self.get(name)
            del self.ifaces[name]

    def set_active(self, name: str, active: bool) -> None:
        """Bring the interface up (``active``) or down; ``OperationInvalidError`` when it already is."""
        with self.lock:
            iface = self.get(name)
            if iface.active == active:
                state = "active" if active else "not active"
                raise OperationInvalidError(f"interface '{name}' is {state}", domain=errors.ErrorDomain.TEST)
            iface.active = active


class TestInterfaces:
    """The host interface hook implementations over one node's interfaces."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self._node = node

    @functools.cached_property
    def ifaces(self) -> HostInterfaces:
        """The node's interfaces, built when the first interface hook runs (opening never does)."""
        return self._node.host_interfaces

    @hookimpl
    def virt_connect_list_all_interfaces(self, active: bool | None) -> list[InterfaceRef]:
        return self.ifaces.refs(active)

    @hookimpl
    def virt_interface_lookup_by_name(self, name: str) -> InterfaceRef:
        return self.ifaces.lookup_name(name)

    @hookimpl
    def virt_interface_lookup_by_mac_string(self, mac: str) -> InterfaceRef:
        return self.ifaces.lookup_mac(mac)

    @hookimpl
    def virt_interface_get_xml_desc(self, name: str, inactive: bool) -> str:
        return self.ifaces.xml(name)  # the test driver keeps one definition: both are it

    @hookimpl
    def virt_interface_is_active(self, name: str) -> bool:
        return self.ifaces.is_active(name)

    @hookimpl
    def virt_interface_define_xml(self, xml: str) -> InterfaceRef:
        from virtcore.xml.interface import parse_interface  # saves the XML model on open

        return self.ifaces.define(parse_interface(xml))

    @hookimpl
    def virt_interface_undefine(self, name: str) -> bool:
        self.ifaces.undefine(name)
        return True

    @hookimpl
    def virt_interface_create(self, name: str) -> bool:
        self.ifaces.set_active(name, True)
        return True

    @hookimpl
    def virt_interface_destroy(self, name: str) -> bool:
        self.ifaces.set_active(name, False)
        return True
