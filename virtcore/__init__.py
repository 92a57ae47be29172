"""virtcore: one typed Python API over pluggable hypervisor drivers, in libvirt's image.

>>> import virtcore
>>> with virtcore.open("test:///default") as conn:
...     dom = conn.lookup_domain("test")
...     dom.info().state
<DomainState.RUNNING: 1>

Drivers are separate distributions found through the ``virtcore.drivers``
entry points; :mod:`virtcore.hookspecs` is their contract and
:data:`hookimpl` marks their implementations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virtcore import errors
from virtcore.checkpoint import DomainCheckpoint
from virtcore.connection import (
    OPERATIONS,
    Connection,
    Domain,
    EventCallback,
    iter_operations,
    open,  # noqa: A004 - libvirt's name, as virtcore.open(uri)
    open_read_only,
)
from virtcore.errors import VirtError
from virtcore.hookspecs import hookimpl
from virtcore.interface import Interface
from virtcore.network import Network
from virtcore.nodedev import NodeDevice
from virtcore.secret import Secret, SecretUsageType
from virtcore.snapshot import DomainSnapshot, SnapshotRef
from virtcore.storage import StoragePool, StorageVolume
from virtcore.types import (
    DomainInfo,
    DomainRef,
    DomainState,
    NodeInfo,
)
from virtcore.uri import URI

if TYPE_CHECKING:
    from virtcore.network import (
        DomainInterface,
        InterfaceAddress,
        InterfaceAddressSource,
        IPAddrType,
        NetworkDHCPLease,
        NetworkSection,
        NetworkUpdateCommand,
    )
    from virtcore.storage import StoragePoolInfo, StoragePoolState, StorageVolInfo, StorageVolType
    from virtcore.types import DomainEvent, DomainEventType

__version__ = "0.1.0"

__all__ = [
    "OPERATIONS",
    "URI",
    "Connection",
    "Domain",
    "DomainCheckpoint",
    "DomainEvent",
    "DomainEventType",
    "DomainInfo",
    "DomainRef",
    "DomainSnapshot",
    "DomainState",
    "EventCallback",
    "DomainInterface",
    "Interface",
    "InterfaceAddress",
    "InterfaceAddressSource",
    "IPAddrType",
    "Network",
    "NetworkDHCPLease",
    "NetworkSection",
    "NetworkUpdateCommand",
    "NodeDevice",
    "NodeInfo",
    "Secret",
    "SecretUsageType",
    "SnapshotRef",
    "StoragePool",
    "StoragePoolInfo",
    "StoragePoolState",
    "StorageVolInfo",
    "StorageVolType",
    "StorageVolume",
    "VirtError",
    "errors",
    "hookimpl",
    "iter_operations",
    "open",
    "open_read_only",
]


def __getattr__(name: str) -> object:
    # The public names not bound above are virtcore.storage's and virtcore.network's records and
    # enums, and the lifecycle event's, built on first use.
    if name in __all__:
        from virtcore import network, storage, types  # saves ~13M instructions: records built on first use

        for module in (types, network, storage):
            if name in module.__all__:
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
