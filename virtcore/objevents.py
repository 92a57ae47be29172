"""Events of networks, storage pools, node devices and secrets: libvirt's ids, detail codes and records.

libvirt numbers the events of each object kind apart (``VIR_NETWORK_EVENT_ID_*``,
``VIR_STORAGE_POOL_EVENT_ID_*``, ``VIR_NODE_DEVICE_EVENT_ID_*``,
``VIR_SECRET_EVENT_ID_*``); each kind's lifecycle event carries an event code
of that kind's ``*EventLifecycleType`` and a detail (always 0 in libvirt 9.0),
its other event carries nothing but the object. A driver reports one by
calling the ``emit`` it got in ``virt_connect_open`` with a record of this
module, as it does a domain event; users receive them with
``Connection.on_object_event(kind, event_id, callback)``.

Every record is described once, in :data:`_RECORDS`: its :class:`ObjectKind`
and its event id. Numbers are libvirt 9.0's (``libvirt-network.h``,
``libvirt-storage.h``, ``libvirt-nodedev.h``, ``libvirt-secret.h``; libvirt
9.0 has no network metadata event: ``VIR_NETWORK_EVENT_ID_LAST`` is 1).
Nothing on the cold path imports this module.
"""

# No ``from __future__ import annotations``: typing.NamedTuple compiles string annotations.

import enum
from typing import NamedTuple, TypeAlias

from virtcore._networktypes import NetworkRef
from virtcore._storagetypes import StoragePoolRef
from virtcore.nodedev import NodeDeviceRef
from virtcore.secret import SecretRef

__all__ = [
    "ObjectKind",
    "NetworkEventID",
    "NetworkEventLifecycleType",
    "StoragePoolEventID",
    "StoragePoolEventLifecycleType",
    "NodeDeviceEventID",
    "NodeDeviceEventLifecycleType",
    "SecretEventID",
    "SecretEventLifecycleType",
    "NetworkLifecycleEvent",
    "StoragePoolLifecycleEvent",
    "StoragePoolRefreshEvent",
    "NodeDeviceLifecycleEvent",
    "NodeDeviceUpdateEvent",
    "SecretLifecycleEvent",
    "SecretValueChangedEvent",
    "AnyObjectEvent",
    "event_ids",
    "event_key",
]


class ObjectKind(enum.Enum):
    """The kinds of objects besides domains that have events."""

    NETWORK = "network"
    STORAGE_POOL = "storage_pool"
    NODE_DEVICE = "node_device"
    SECRET = "secret"


class NetworkEventID(enum.IntEnum):
    """``virNetworkEventID``."""

    LIFECYCLE = 0


class NetworkEventLifecycleType(enum.IntEnum):
    """``virNetworkEventLifecycleType``."""

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    STOPPED = 3


class StoragePoolEventID(enum.IntEnum):
    """``virStoragePoolEventID``."""

    LIFECYCLE = 0
    REFRESH = 1


class StoragePoolEventLifecycleType(enum.IntEnum):
    """``virStoragePoolEventLifecycleType``."""

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    STOPPED = 3
    CREATED = 4
    DELETED = 5


class NodeDeviceEventID(enum.IntEnum):
    """``virNodeDeviceEventID``."""

    LIFECYCLE = 0
    UPDATE = 1


class NodeDeviceEventLifecycleType(enum.IntEnum):
    """``virNodeDeviceEventLifecycleType``."""

    CREATED = 0
    DELETED = 1
    DEFINED = 2
    UNDEFINED = 3


class SecretEventID(enum.IntEnum):
    """``virSecretEventID``."""

    LIFECYCLE = 0
    VALUE_CHANGED = 1


class SecretEventLifecycleType(enum.IntEnum):
    """``virSecretEventLifecycleType``."""

    DEFINED = 0
    UNDEFINED = 1


class NetworkLifecycleEvent(NamedTuple):
    """A network was defined, undefined, started or stopped (:class:`NetworkEventLifecycleType`)."""

    network: NetworkRef
    event: int
    detail: int = 0


class StoragePoolLifecycleEvent(NamedTuple):
    """A pool was defined, undefined, started, stopped, built or deleted
    (:class:`StoragePoolEventLifecycleType`)."""

    pool: StoragePoolRef
    event: int
    detail: int = 0


class StoragePoolRefreshEvent(NamedTuple):
    """A pool's volumes were refreshed (or a volume's contents changed under it)."""

    pool: StoragePoolRef


class NodeDeviceLifecycleEvent(NamedTuple):
    """A node device was created, deleted, defined or undefined (:class:`NodeDeviceEventLifecycleType`)."""

    device: NodeDeviceRef
    event: int
    detail: int = 0


class NodeDeviceUpdateEvent(NamedTuple):
    """A node device's description changed."""

    device: NodeDeviceRef


class SecretLifecycleEvent(NamedTuple):
    """A secret was defined or undefined (:class:`SecretEventLifecycleType`)."""

    secret: SecretRef
    event: int
    detail: int = 0


class SecretValueChangedEvent(NamedTuple):
    """A secret's value was set."""

    secret: SecretRef


#: Every record of this module.
AnyObjectEvent: TypeAlias = (
    NetworkLifecycleEvent
    | StoragePoolLifecycleEvent
    | StoragePoolRefreshEvent
    | NodeDeviceLifecycleEvent
    | NodeDeviceUpdateEvent
    | SecretLifecycleEvent
    | SecretValueChangedEvent
)

#: The one description of each record: the kind of object it is about, and its event id.
_RECORDS: dict[type, tuple[ObjectKind, int]] = {
    NetworkLifecycleEvent: (ObjectKind.NETWORK, NetworkEventID.LIFECYCLE),
    StoragePoolLifecycleEvent: (ObjectKind.STORAGE_POOL, StoragePoolEventID.LIFECYCLE),
    StoragePoolRefreshEvent: (ObjectKind.STORAGE_POOL, StoragePoolEventID.REFRESH),
    NodeDeviceLifecycleEvent: (ObjectKind.NODE_DEVICE, NodeDeviceEventID.LIFECYCLE),
    NodeDeviceUpdateEvent: (ObjectKind.NODE_DEVICE, NodeDeviceEventID.UPDATE),
    SecretLifecycleEvent: (ObjectKind.SECRET, SecretEventID.LIFECYCLE),
    SecretValueChangedEvent: (ObjectKind.SECRET, SecretEventID.VALUE_CHANGED),
}

#: Each kind's event ids: what a registration may name.
_IDS: dict[ObjectKind, type[enum.IntEnum]] = {
    ObjectKind.NETWORK: NetworkEventID,
    ObjectKind.STORAGE_POOL: StoragePoolEventID,
    ObjectKind.NODE_DEVICE: NodeDeviceEventID,
    ObjectKind.SECRET: SecretEventID,
}


def event_ids(kind: ObjectKind) -> type[enum.IntEnum]:
    """The enum of ``kind``'s event ids (``VIR_<KIND>_EVENT_ID_*``)."""
    return _IDS[kind]


def event_key(event: object) -> tuple[ObjectKind, int] | None:
    """The kind and event id of a record of this module (``None`` for anything else)."""
    return _RECORDS.get(type(event))
