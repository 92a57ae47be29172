"""The one table of the object events the remote program carries: networks, pools, node devices, secrets.

libvirt gives each object kind besides domains its own pair of procedures to
register and deregister a callback (``CONNECT_NETWORK_EVENT_REGISTER_ANY``
``{eventID, net}`` answering ``{callbackID}``; ``..._DEREGISTER_ANY``
``{callbackID}``) and one MESSAGE procedure per event id
(``NETWORK_EVENT_LIFECYCLE`` ``{callbackID, net, event, detail}``). Each kind
is described here once, as an :class:`ObjectEvents`; the server
(:mod:`virtcore.server.objevents`) and the remote driver (``virt_remote.driver``)
derive their ends from it. Kinds are :class:`virtcore.objevents.ObjectKind`'s
values (``"network"``...), so that this module imports nothing.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["OBJECT_EVENTS", "ObjectEvents", "by_message"]


class ObjectEvents(NamedTuple):
    """One object kind's events on the wire."""

    #: :class:`virtcore.objevents.ObjectKind`'s value.
    kind: str
    #: The procedures' infix: ``CONNECT_<prefix>_EVENT_REGISTER_ANY``.
    prefix: str
    #: The field of the registration's optional object and of every message's object.
    field: str
    #: The MESSAGE procedure of each event id, in the ids' order (``VIR_<KIND>_EVENT_ID_*``).
    messages: tuple[str, ...]

    @property
    def register(self) -> str:
        """The procedure that registers a callback."""
        return f"CONNECT_{self.prefix}_EVENT_REGISTER_ANY"

    @property
    def deregister(self) -> str:
        """The procedure that drops one."""
        return f"CONNECT_{self.prefix}_EVENT_DEREGISTER_ANY"

    @property
    def words(self) -> str:
        """The kind as libvirt's messages name it (``"storage pool"``)."""
        return self.kind.replace("_", " ")


#: Every kind, as libvirt 9.0's remote_protocol.x has them.
OBJECT_EVENTS: tuple[ObjectEvents, ...] = (
    ObjectEvents("network", "NETWORK", "net", ("NETWORK_EVENT_LIFECYCLE",)),
    ObjectEvents(
        "storage_pool", "STORAGE_POOL", "pool", ("STORAGE_POOL_EVENT_LIFECYCLE", "STORAGE_POOL_EVENT_REFRESH")
    ),
    ObjectEvents(
        "node_device", "NODE_DEVICE", "dev", ("NODE_DEVICE_EVENT_LIFECYCLE", "NODE_DEVICE_EVENT_UPDATE")
    ),
    ObjectEvents("secret", "SECRET", "secret", ("SECRET_EVENT_LIFECYCLE", "SECRET_EVENT_VALUE_CHANGED")),
)

_MESSAGES: dict[str, tuple[ObjectEvents, int]] = {
    name: (events, event_id) for events in OBJECT_EVENTS for event_id, name in enumerate(events.messages)
}


def by_message(procedure: str) -> tuple[ObjectEvents, int] | None:
    """The kind and event id a MESSAGE procedure carries (``None``: no object event's)."""
    return _MESSAGES.get(procedure)
