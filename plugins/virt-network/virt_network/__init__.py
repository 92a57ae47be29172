"""virt-network: virtcore's host network driver (libvirt's network driver, for every hypervisor).

It serves ``network:///...`` URIs, and the connections of hypervisor drivers
that name it in ``describe_driver(..., secondary=("network",))``:
``qemu:///embed?root=D`` gets ``network:///embed?root=D``, ``qemu:///system``
and ``xen:///system`` both get ``network:///system``, so they see the same
networks. A network is a Linux bridge with its addresses, a dnsmasq for DHCP
and DNS (:mod:`virt_network.dnsmasq`) and an nftables table for its forward
mode (:mod:`virt_network.nft`), made and removed by :mod:`virt_network.host`;
definitions and state live under the URI (:mod:`virt_network.paths`,
:mod:`virt_network.state`).
"""

from __future__ import annotations

from virt_network.driver import NetworkDriver
from virt_network.paths import layout_for
from virt_network.state import NetworkStore
from virtcore.drivers import describe_driver
from virtcore.hoststate import shared_store
from virtcore.uri import URI

__all__ = ["NetworkDriver", "driver", "open_connection", "__version__"]

__version__ = "0.1.0"


def open_connection(uri: URI, read_only: bool) -> list[object]:
    """The network driver's objects for ``uri``; autostart networks start on the first open after boot.

    :raises NoConnectError: a URI it does not serve (``network:///system`` by a non-root user).
    """
    store = shared_store(layout_for(uri), NetworkStore)
    driver_ = NetworkDriver(store)
    if not read_only and store.layout.can_run:
        with store.lock.held():
            driver_.reap()
            first = store.first_open()
        if first:
            driver_.autostart_all()
    return [driver_]


driver = describe_driver(open_connection, plugin_classes=[NetworkDriver])
