"""The registry of the remote program's procedures the server answers, and the wire handles.

One function per procedure, registered with :func:`handler` under the
procedure's name (``"DOMAIN_GET_INFO"``) by :mod:`virtcore.server.calls`
(derived from the table :data:`virtcore.rpc.calls.CALLS`),
:mod:`virtcore.server.domains` (the connection and domains),
:mod:`virtcore.server.objects` (storage, networks, snapshots),
:mod:`virtcore.server.host` (node devices, host interfaces, secrets) and
:mod:`virtcore.server.stats` (bulk statistics). A handler takes the session and the decoded arguments
(a dict) and returns the reply's value (a dict, or ``None`` for a void
reply); a :class:`~virtcore.errors.VirtError` it raises goes back to the
client as libvirt's error structure. Flags a handler does not know are
refused as libvirt's drivers refuse them (``VIR_ERR_INVALID_ARG``,
"unsupported flags").
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from virtcore.errors import InvalidArgError
from virtcore.rpc.message import Header
from virtcore.rpc.protocol import REMOTE

if TYPE_CHECKING:
    from virtcore.connection import Domain
    from virtcore.server.daemon import Session

__all__ = [
    "HANDLERS",
    "Handler",
    "handler",
    "wire_domain",
    "domain_of",
    "check_flags",
    "api_arg_error",
    "is_ordered",
]

#: ``VIR_DOMAIN_EVENT_ID_LIFECYCLE``.
EVENT_ID_LIFECYCLE = 0
#: ``VIR_TYPED_PARAM_STRING_OKAY`` etc. are not features we gate on; these are the
#: ``virDrvFeature`` numbers this server answers yes to: PROGRAM_KEEPALIVE (10),
#: REMOTE_EVENT_CALLBACK (14), REMOTE_CLOSE_CALLBACK (15), TYPED_PARAM_STRING (9).
SUPPORTED_FEATURES = frozenset({9, 10, 14, 15})
#: ``VIR_DRV_FEATURE_PROGRAM_KEEPALIVE``: a client asking about it speaks the keepalive program.
FEATURE_PROGRAM_KEEPALIVE = 10
#: libvirt version reported to clients (``virConnectGetLibVersion``): the protocol's, 9.0.0.
LIB_VERSION = 9_000_000
#: ``REMOTE_AUTH_NONE``.
AUTH_NONE = 0


class Handler(NamedTuple):
    """A procedure's implementation; ``inline`` ones run on the event loop (no driver call)."""

    fn: Callable[[Session, Any], Any]
    inline: bool


#: Procedure name -> its handler.
HANDLERS: dict[str, Handler] = {}
#: Procedures answered before the next message is read (the session's state changes).
_ORDERED = frozenset(
    REMOTE.procedure(n).number
    for n in ("AUTH_LIST", "CONNECT_OPEN", "CONNECT_CLOSE", "CONNECT_SUPPORTS_FEATURE", "CONNECT_GET_URI")
)


def is_ordered(header: Header) -> bool:
    """Whether a call must be answered before the session reads on (open, close, auth)."""
    return REMOTE.owns(header) and header.proc in _ORDERED


def handler(
    *names: str, inline: bool = False
) -> Callable[[Callable[[Session, Any], Any]], Callable[[Session, Any], Any]]:
    """Register the decorated function for the procedures ``names``."""

    def register(fn: Callable[[Session, Any], Any]) -> Callable[[Session, Any], Any]:
        for name in names:
            REMOTE.procedure(name)  # a typo is an error at import
            if name in HANDLERS:
                raise ValueError(f"procedure {name} has two handlers")
            HANDLERS[name] = Handler(fn, inline)
        return fn

    return register


def check_flags(flags: int, allowed: int, what: str) -> int:
    """``flags``, or libvirt's error for bits this server does not implement."""
    if flags & ~allowed:
        raise InvalidArgError(f"unsupported flags (0x{flags & ~allowed:x}) in function {what}")
    return flags


def api_arg_error(words: str) -> InvalidArgError:
    """``INVALID_ARG`` in exactly ``words``, as libvirt's API checks its arguments.

    ``virCheckNonNullArg`` and its kin report ``"params in virDomainSetBlkioParameters must
    not be NULL"`` without the ``"invalid argument: "`` other such errors start with.
    """
    exc = InvalidArgError(words)
    exc.args = (words,)
    return exc


def uuid_bytes(uuid: str) -> bytes:
    """The 16 bytes of a UUID string."""
    return uuidlib.UUID(uuid).bytes


def uuid_str(raw: bytes) -> str:
    """The canonical string of 16 UUID bytes."""
    return str(uuidlib.UUID(bytes=raw))


def wire_domain(dom: Domain, dom_id: int | None = None) -> dict[str, Any]:
    """``remote_nonnull_domain`` of a domain (its id asked of the driver unless given)."""
    return {"name": dom.name, "uuid": uuid_bytes(dom.uuid), "id": dom.id if dom_id is None else dom_id}


def domain_of(session: Session, wire: dict[str, Any]) -> Domain:
    """The domain a ``remote_nonnull_domain`` names (by UUID, as libvirt's daemon finds it)."""
    return session.connection().lookup_domain_by_uuid(uuid_str(wire["uuid"]))
