"""The network hooks of the test driver, over a node's :class:`~virt_test.networks.Networks`.

libvirt's test driver serves networks itself (no secondary driver): each
``test:///`` connection gets a :class:`TestNetworks` beside its
:class:`~virt_test.TestDriver`, both over the same node, so networks are
shared exactly as domains are (``test:///default``: per process; a node
file: per connection).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from virtcore import hookimpl

if TYPE_CHECKING:
    from virt_test.networks import Networks
    from virt_test.node import Node
    from virtcore.network import NetworkDHCPLease, NetworkRef, NetworkSection, NetworkUpdateCommand

__all__ = ["TestNetworks"]


class TestNetworks:
    """The network hook implementations over one node's networks."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self._node = node

    def _event(self, ref: NetworkRef, event: str) -> None:
        """Tell every connection of the node, where libvirt's test driver queues a network event
        (``event``: a ``NetworkEventLifecycleType`` name)."""
        from virtcore.objevents import (
            NetworkEventLifecycleType,
            NetworkLifecycleEvent,
        )  # saves its enums and records on open

        self._node._send([NetworkLifecycleEvent(ref, NetworkEventLifecycleType[event])])

    @functools.cached_property
    def networks(self) -> Networks:
        """The node's networks, built when the first network hook runs (opening never does)."""
        return self._node.networks

    @hookimpl
    def virt_connect_list_all_networks(self, active: bool | None) -> list[NetworkRef]:
        return self.networks.list_refs(active)

    @hookimpl
    def virt_network_lookup_by_name(self, name: str) -> NetworkRef:
        return self.networks.lookup_name(name)

    @hookimpl
    def virt_network_lookup_by_uuid(self, uuid: str) -> NetworkRef:
        return self.networks.lookup_uuid(uuid)

    @hookimpl
    def virt_network_define_xml(self, xml: str) -> NetworkRef:
        from virtcore.xml import parse_network  # saves ~170 ms on open: lxml and the XML model

        ref = self.networks.define(parse_network(xml))
        self._event(ref, "DEFINED")
        return ref

    @hookimpl
    def virt_network_create_xml(self, xml: str) -> NetworkRef:
        from virtcore.xml import parse_network  # saves ~170 ms on open: lxml and the XML model

        ref = self.networks.create_transient(parse_network(xml))
        self._event(ref, "STARTED")
        return ref

    @hookimpl
    def virt_network_create(self, uuid: str) -> bool:
        ref = self.networks.lookup_uuid(uuid)
        self.networks.start(uuid)
        self._event(ref, "STARTED")
        return True

    @hookimpl
    def virt_network_destroy(self, uuid: str) -> bool:
        ref = self.networks.lookup_uuid(uuid)
        self.networks.destroy(uuid)
        self._event(ref, "STOPPED")
        return True

    @hookimpl
    def virt_network_undefine(self, uuid: str) -> bool:
        ref = self.networks.lookup_uuid(uuid)
        self.networks.undefine(uuid)
        self._event(ref, "UNDEFINED")
        return True

    @hookimpl
    def virt_network_update(
        self,
        uuid: str,
        command: NetworkUpdateCommand,
        section: NetworkSection,
        parent_index: int,
        xml: str,
        live: bool,
        config: bool,
    ) -> bool:
        self.networks.update(uuid, command, section, parent_index, xml, live=live, config=config)
        return True

    @hookimpl
    def virt_network_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        return self.networks.xml(uuid, inactive=inactive)

    @hookimpl
    def virt_network_get_autostart(self, uuid: str) -> bool:
        with self.networks.lock:
            return self.networks.get(uuid).autostart

    @hookimpl
    def virt_network_set_autostart(self, uuid: str, autostart: bool) -> bool:
        self.networks.set_autostart(uuid, autostart)
        return True

    @hookimpl
    def virt_network_is_active(self, uuid: str) -> bool:
        with self.networks.lock:
            return self.networks.get(uuid).active

    @hookimpl
    def virt_network_is_persistent(self, uuid: str) -> bool:
        with self.networks.lock:
            return self.networks.get(uuid).persistent

    @hookimpl
    def virt_network_get_bridge_name(self, uuid: str) -> str:
        return self.networks.bridge_name(uuid)

    @hookimpl
    def virt_network_get_dhcp_leases(self, uuid: str, mac: str | None) -> list[NetworkDHCPLease]:
        with self.networks.lock:
            self.networks.get(uuid)  # an unknown network is NoNetworkError, not an empty list
        return []  # no DHCP server in the mock: nothing was ever handed out
