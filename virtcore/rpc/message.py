"""Framing of libvirt's RPC messages: the length word, the header, the cap.

On the wire every message is::

    length (4 bytes, big-endian, counts itself) | header (24 bytes) | payload

:func:`pack_message` builds one; :class:`FrameReader` cuts a byte stream
into messages, refusing a length below the header's or above
:data:`MESSAGE_MAX` *before* buffering the body, so a hostile peer cannot
make a reader allocate more than one capped message. :func:`read_message`
is the same over an :class:`asyncio.StreamReader`.
"""

from __future__ import annotations

import asyncio
import enum
import struct
from typing import NamedTuple

from virtcore.errors import RPCError
from virtcore.rpc._remote_protocol import CONSTANTS

__all__ = [
    "MESSAGE_MAX",
    "HEADER_SIZE",
    "LENGTH_SIZE",
    "STRING_MAX",
    "MessageType",
    "MessageStatus",
    "Header",
    "pack_message",
    "unpack_message",
    "FrameReader",
    "read_message",
]

#: The largest message, length word included (``VIR_NET_MESSAGE_MAX``).
MESSAGE_MAX: int = CONSTANTS["VIR_NET_MESSAGE_MAX"]
#: Bytes of the header after the length word (``VIR_NET_MESSAGE_HEADER_MAX``).
HEADER_SIZE: int = CONSTANTS["VIR_NET_MESSAGE_HEADER_MAX"]
#: Bytes of the length word (``VIR_NET_MESSAGE_LEN_MAX``).
LENGTH_SIZE: int = CONSTANTS["VIR_NET_MESSAGE_LEN_MAX"]
#: The longest string (``VIR_NET_MESSAGE_STRING_MAX``).
STRING_MAX: int = CONSTANTS["VIR_NET_MESSAGE_STRING_MAX"]

_LEN = struct.Struct(">I")
_HEADER = struct.Struct(">IIiiIi")
_FRAME = struct.Struct(">IIIiiIi")


class MessageType(enum.IntEnum):
    """``virNetMessageType``: what a message is."""

    CALL = 0
    REPLY = 1
    MESSAGE = 2
    STREAM = 3
    CALL_WITH_FDS = 4
    REPLY_WITH_FDS = 5
    STREAM_HOLE = 6


class MessageStatus(enum.IntEnum):
    """``virNetMessageStatus``: OK, ERROR (the payload is a ``remote_error``), CONTINUE (streams)."""

    OK = 0
    ERROR = 1
    CONTINUE = 2


class Header(NamedTuple):
    """``virNetMessageHeader``: program, version, procedure, type, serial, status."""

    prog: int
    vers: int
    proc: int
    type: MessageType
    serial: int
    status: MessageStatus

    def reply(self, status: MessageStatus = MessageStatus.OK) -> Header:
        """The header of the reply to this call (same program, procedure and serial)."""
        kind = MessageType.REPLY_WITH_FDS if self.type == MessageType.CALL_WITH_FDS else MessageType.REPLY
        return self._replace(type=kind, status=status)


def pack_message(header: Header, payload: bytes = b"") -> bytes:
    """One whole message: length word, header and the (already XDR-encoded) payload."""
    total = LENGTH_SIZE + HEADER_SIZE + len(payload)
    if total > MESSAGE_MAX:
        raise RPCError(f"message of {total} bytes is larger than the maximum {MESSAGE_MAX}")
    return _FRAME.pack(total, *header) + payload


def _header(frame: bytes | memoryview) -> Header:
    prog, vers, proc, kind, serial, status = _HEADER.unpack_from(frame, 0)
    try:
        return Header(prog, vers, proc, MessageType(kind), serial, MessageStatus(status))
    except ValueError:
        raise RPCError(f"message header with unknown type {kind} or status {status}") from None


def _check_length(length: int) -> None:
    if length < LENGTH_SIZE + HEADER_SIZE:
        raise RPCError(f"packet of {length} bytes is too small for a message header")
    if length > MESSAGE_MAX:
        raise RPCError(f"packet of {length} bytes is too large, the maximum is {MESSAGE_MAX}")


def unpack_message(data: bytes | memoryview) -> tuple[Header, bytes]:
    """The header and payload of one whole message (length word included)."""
    if len(data) < LENGTH_SIZE:
        raise RPCError(f"packet of {len(data)} bytes has no length word")
    (length,) = _LEN.unpack_from(data, 0)
    _check_length(length)
    if length != len(data):
        raise RPCError(f"packet says {length} bytes but has {len(data)}")
    body = memoryview(data)[LENGTH_SIZE:]
    return _header(body), bytes(body[HEADER_SIZE:])


class FrameReader:
    """Cuts a byte stream into messages: ``feed(bytes)`` gives the whole ones received so far.

    At most one message (capped at :data:`MESSAGE_MAX`) is buffered; a
    length out of bounds or an unknown header raises :class:`RPCError`, and
    the reader is then unusable (the stream has lost its framing).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need: int | None = None
        self._broken: RPCError | None = None

    @property
    def pending(self) -> int:
        """Bytes received of a message not yet whole."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[Header, bytes]]:
        """Take received bytes; give the (header, payload) of each message now complete."""
        if self._broken is not None:
            raise self._broken
        self._buf += data
        out = []
        try:
            while True:
                if self._need is None:
                    if len(self._buf) < LENGTH_SIZE:
                        break
                    (length,) = _LEN.unpack_from(self._buf, 0)
                    _check_length(length)
                    self._need = length
                if len(self._buf) < self._need:
                    break
                frame = bytes(self._buf[LENGTH_SIZE : self._need])
                del self._buf[: self._need]
                header = _header(frame)
                payload = frame[HEADER_SIZE:]
                self._need = None
                out.append((header, payload))
        except RPCError as exc:
            self._broken = exc
            self._buf.clear()
            raise
        return out


async def read_message(reader: asyncio.StreamReader) -> tuple[Header, bytes] | None:
    """The next message from an asyncio stream; ``None`` at a clean end of stream (between messages).

    A stream ending inside a message, a length out of bounds or an unknown
    header raises :class:`RPCError`.
    """
    try:
        word = await reader.readexactly(LENGTH_SIZE)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise RPCError("connection closed inside a message length word") from None
    (length,) = _LEN.unpack(word)
    _check_length(length)
    try:
        body = await reader.readexactly(length - LENGTH_SIZE)
    except asyncio.IncompleteReadError as exc:
        raise RPCError(
            f"connection closed after {len(exc.partial)} of {length - LENGTH_SIZE} bytes of a message"
        ) from None
    return _header(body), body[HEADER_SIZE:]
