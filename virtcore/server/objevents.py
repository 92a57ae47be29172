"""The object events' procedures: networks', storage pools', node devices' and secrets' callbacks.

Derived from :data:`virtcore.rpc.objevents.OBJECT_EVENTS`: for each kind, its
``CONNECT_<KIND>_EVENT_REGISTER_ANY`` subscribes the session with
``Connection.on_object_event`` (for one object when the call names one: by
UUID, a node device by name, as libvirt tells them apart) and its
``..._DEREGISTER_ANY`` drops the subscription; every event goes to the client
as that kind's MESSAGE of the event id, with libvirt's fields. Errors are
libvirtd's (``remote_daemon_dispatch.c``): an unknown event id or callback is
``VIR_ERR_INTERNAL_ERROR`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virtcore.errors import InternalError
from virtcore.rpc.objevents import OBJECT_EVENTS, ObjectEvents
from virtcore.server.host import wire_device, wire_secret
from virtcore.server.objects import wire_net, wire_pool
from virtcore.server.registry import handler, uuid_str

if TYPE_CHECKING:
    from virtcore.connection import Connection
    from virtcore.server.daemon import EventBody, Session

__all__: list[str] = []

#: Each kind's wire handle of the object an event is about.
_WIRE: dict[str, Callable[[Any], dict[str, Any]]] = {
    "network": wire_net,
    "storage_pool": wire_pool,
    "node_device": wire_device,
    "secret": wire_secret,
}


def _identity(kind: str, obj_or_wire: Any) -> str:
    """What tells a kind's objects apart: a node device's name, any other's UUID."""
    if kind == "node_device":
        return str(obj_or_wire["name"] if isinstance(obj_or_wire, dict) else obj_or_wire.name)
    if isinstance(obj_or_wire, dict):
        return uuid_str(obj_or_wire["uuid"])
    return str(obj_or_wire.uuid)


def _fields(events: ObjectEvents, obj: Any, record: Any) -> dict[str, Any]:
    """A MESSAGE's fields but ``callbackID``: the object, and a lifecycle event's code and detail."""
    fields: dict[str, Any] = {events.field: _WIRE[events.kind](obj)}
    if hasattr(record, "event"):
        fields["event"] = int(record.event)
        fields["detail"] = int(record.detail)
    return fields


def _register(events: ObjectEvents) -> Callable[[Session, dict[str, Any]], dict[str, Any]]:
    def register(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        event_id = args["eventID"]
        if not 0 <= event_id < len(events.messages):
            raise InternalError(f"unsupported {events.words} event ID {event_id}")
        named = args[events.field]
        only = None if named is None else _identity(events.kind, named)
        procedure = events.messages[event_id]

        def listen(conn: Connection, send: Callable[[str, EventBody], None]) -> int:
            def relay(obj: Any, record: Any) -> None:
                if only is None or _identity(events.kind, obj) == only:
                    send(procedure, _fields(events, obj, record))

            return conn.on_object_event(events.kind, event_id, relay)

        return {"callbackID": session.add_callback(events.words, listen)}

    register.__doc__ = f"{events.register}: the session hears the {events.words} events of an id."
    return register


def _deregister(events: ObjectEvents) -> Callable[[Session, dict[str, Any]], None]:
    def deregister(session: Session, args: dict[str, Any]) -> None:
        session.remove_callback(events.words, args["callbackID"])

    deregister.__doc__ = f"{events.deregister}: the session stops hearing one callback's events."
    return deregister


for _events in OBJECT_EVENTS:
    handler(_events.register, inline=True)(_register(_events))
    handler(_events.deregister, inline=True)(_deregister(_events))
