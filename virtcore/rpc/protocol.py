"""Programs and procedures of libvirt's RPC protocol, and whole messages of them.

A :class:`Program` is one RPC program (:data:`REMOTE`, ``0x20008086`` v1;
:data:`KEEPALIVE`, ``0x6b656570`` v1); its :class:`Procedure` s know their
numbers and their argument, return and event-message types, all from the
generated tables. The ``Program`` methods build and read whole messages::

    from virtcore.rpc.protocol import REMOTE
    wire = REMOTE.call("DOMAIN_LOOKUP_BY_NAME", serial=7, args={"name": "test"})
    header, payload = virtcore.rpc.message.unpack_message(wire)
    REMOTE.procedure(header.proc).decode_args(payload)   # {'name': 'test'}

Procedure names are libvirt's without the ``REMOTE_PROC_`` prefix
(``"CONNECT_OPEN"``, ``"DOMAIN_EVENT_CALLBACK_LIFECYCLE"``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from virtcore.errors import RPCError
from virtcore.rpc import xdr
from virtcore.rpc._remote_protocol import CONSTANTS, KEEPALIVE_PROCEDURES, REMOTE_PROCEDURES
from virtcore.rpc.message import Header, MessageStatus, MessageType, pack_message

__all__ = ["Procedure", "Program", "REMOTE", "KEEPALIVE"]


def _encode(type_name: str | None, value: Any, what: str) -> bytes:
    if type_name is None:
        if value is not None:
            raise RPCError(f"{what} takes no data")
        return b""
    return xdr.encode(type_name, value)


def _decode(type_name: str | None, payload: bytes, what: str) -> Any:
    if type_name is None:
        if payload:
            raise RPCError(f"{what} carries no data, got {len(payload)} bytes")
        return None
    return xdr.decode(type_name, payload)


class Procedure(NamedTuple):
    """One procedure: its name, number and the protocol types of its data (``None``: void)."""

    name: str
    number: int
    args: str | None
    ret: str | None
    message: str | None

    def encode_args(self, value: Any) -> bytes:
        """The payload of a call."""
        return _encode(self.args, value, f"{self.name} call")

    def decode_args(self, payload: bytes) -> Any:
        """The arguments of a call's payload."""
        return _decode(self.args, payload, f"{self.name} call")

    def encode_ret(self, value: Any) -> bytes:
        """The payload of a successful reply."""
        return _encode(self.ret, value, f"{self.name} reply")

    def decode_ret(self, payload: bytes) -> Any:
        """The return value of a successful reply's payload."""
        return _decode(self.ret, payload, f"{self.name} reply")

    def encode_message(self, value: Any) -> bytes:
        """The payload of an asynchronous message (an event)."""
        return _encode(self.message, value, f"{self.name} message")

    def decode_message(self, payload: bytes) -> Any:
        """The value of an asynchronous message's payload."""
        return _decode(self.message, payload, f"{self.name} message")


class Program:
    """An RPC program: its number, version and procedures."""

    def __init__(
        self,
        name: str,
        number: int,
        version: int,
        table: dict[str, tuple[int, str | None, str | None, str | None]],
    ) -> None:
        self.name = name
        self.number = number
        self.version = version
        self._by_name = {n: Procedure(n, *row) for n, row in table.items()}
        self._by_number = {p.number: p for p in self._by_name.values()}

    def __repr__(self) -> str:
        return f"<Program {self.name} {self.number:#x} v{self.version}>"

    def procedures(self) -> list[Procedure]:
        """Every procedure, by number."""
        return sorted(self._by_number.values(), key=lambda p: p.number)

    def procedure(self, key: str | int) -> Procedure:
        """A procedure by name (``"DOMAIN_CREATE"``) or number; an unknown one is an RPCError."""
        found = self._by_name.get(key) if isinstance(key, str) else self._by_number.get(key)
        if found is None:
            raise RPCError(f"unknown procedure {key!r} of program {self.name}")
        return found

    def owns(self, header: Header) -> bool:
        """Whether a message belongs to this program (number and version)."""
        return header.prog == self.number and header.vers == self.version

    def header(
        self, proc: str | int, serial: int, kind: MessageType, status: MessageStatus = MessageStatus.OK
    ) -> Header:
        """A header of this program."""
        return Header(self.number, self.version, self.procedure(proc).number, kind, serial, status)

    def call(self, proc: str | int, serial: int, args: Any = None) -> bytes:
        """A whole CALL message."""
        p = self.procedure(proc)
        return pack_message(self.header(p.number, serial, MessageType.CALL), p.encode_args(args))

    def reply(self, call: Header, ret: Any = None) -> bytes:
        """A whole successful REPLY message to a call."""
        return pack_message(call.reply(), self.procedure(call.proc).encode_ret(ret))

    def error_reply(self, call: Header, exc: BaseException) -> bytes:
        """A whole ERROR REPLY message to a call: libvirt's error structure of ``exc``."""
        from virtcore.rpc.errors import encode_error

        return pack_message(call.reply(MessageStatus.ERROR), encode_error(exc))

    def event(self, proc: str | int, value: Any, serial: int = 0) -> bytes:
        """A whole asynchronous MESSAGE (an event)."""
        p = self.procedure(proc)
        return pack_message(self.header(p.number, serial, MessageType.MESSAGE), p.encode_message(value))


#: The remote program: every driver entry point (``REMOTE_PROGRAM``).
REMOTE = Program(
    "remote", CONSTANTS["REMOTE_PROGRAM"], CONSTANTS["REMOTE_PROTOCOL_VERSION"], REMOTE_PROCEDURES
)
#: The keepalive program: PING and PONG, both asynchronous messages without data.
KEEPALIVE = Program(
    "keepalive", CONSTANTS["KEEPALIVE_PROGRAM"], CONSTANTS["KEEPALIVE_PROTOCOL_VERSION"], KEEPALIVE_PROCEDURES
)
