"""virt-storage: virtcore's host storage driver (libvirt's storage driver, for every hypervisor).

It serves ``storage:///...`` URIs, and the connections of hypervisor drivers
that name it in ``describe_driver(..., secondary=("storage",))``:
``qemu:///embed?root=D`` gets ``storage:///embed?root=D``, ``qemu:///system``
and ``xen:///system`` both get ``storage:///system``, so they see the same
pools. Pool types ``dir`` and ``fs`` (:mod:`virt_storage.backends`); file
volumes through ``qemu-img`` (:mod:`virt_storage.volumes`,
:mod:`virt_storage.qemuimg`); state under the URI (:mod:`virt_storage.paths`).
"""

from __future__ import annotations

from virt_storage.driver import StorageDriver
from virt_storage.paths import layout_for
from virt_storage.state import PoolStore
from virtcore.drivers import describe_driver
from virtcore.hoststate import shared_store
from virtcore.uri import URI

__all__ = ["StorageDriver", "driver", "open_connection", "__version__"]

__version__ = "0.1.0"


def open_connection(uri: URI, read_only: bool) -> list[object]:
    """The storage driver's objects for ``uri``; autostart pools start on the first open after boot.

    :raises NoConnectError: a URI it does not serve (``storage:///system`` by a non-root user).
    """
    store = shared_store(layout_for(uri), PoolStore)
    driver_ = StorageDriver(store)
    if not read_only:
        with store.lock.held():
            first = store.first_open()
        if first:
            driver_.autostart_all()
    return [driver_]


driver = describe_driver(open_connection, plugin_classes=[StorageDriver])
