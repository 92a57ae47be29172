"""XDR (RFC 4506) encoding and decoding driven by the protocol tables.

Every named type of libvirt's protocol is described once, as a tuple in
:data:`virtcore.rpc._remote_protocol.TYPES`; this module compiles each
description on first use into a packer and an unpacker. Python values:

=====================  ===========================================================
XDR                    Python
=====================  ===========================================================
int, hyper, enum, ...  ``int`` (range-checked when packing)
bool                   ``bool``
float, double          ``float``
string<N>              ``str`` (UTF-8)
opaque[N], opaque<N>   ``bytes``
char[N], char<N>       ``bytes`` (each char travels as a 4-byte int, as rpcgen does)
T[N], T<N>             ``list``
T *                    ``None`` or the value
struct                 ``dict`` of field name to value
union                  ``(discriminant, value)``
=====================  ===========================================================

Decoding is hostile-input safe: every length is checked against the
declared bound and against the bytes actually there before anything is
allocated, and any malformation raises :class:`virtcore.errors.RPCError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from virtcore.errors import RPCError
from virtcore.rpc._remote_protocol import TYPES

__all__ = ["encode", "decode", "decode_from", "codec"]

#: Packs a value, appending its bytes to the list.
Packer = Callable[[Any, list[bytes]], None]
#: Unpacks a value from (buffer, offset), giving (value, new offset).
Unpacker = Callable[[bytes | memoryview, int], tuple[Any, int]]

_I = struct.Struct(">i")
_U = struct.Struct(">I")
_Q = struct.Struct(">q")
_UQ = struct.Struct(">Q")
_F = struct.Struct(">f")
_D = struct.Struct(">d")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")

_compiled: dict[str, tuple[Packer, Unpacker]] = {}


def encode(type_name: str, value: Any) -> bytes:
    """The XDR bytes of ``value`` as the protocol's type ``type_name``."""
    out: list[bytes] = []
    codec(type_name)[0](value, out)
    return b"".join(out)


def decode(type_name: str, data: bytes | memoryview) -> Any:
    """The value of type ``type_name`` that is exactly ``data`` (trailing bytes are an error)."""
    value, end = decode_from(type_name, data, 0)
    if end != len(data):
        raise RPCError(f"{len(data) - end} trailing bytes after {type_name}")
    return value


def decode_from(type_name: str, data: bytes | memoryview, offset: int) -> tuple[Any, int]:
    """The value of type ``type_name`` at ``offset`` in ``data``, and the offset after it."""
    try:
        return codec(type_name)[1](data, offset)
    except struct.error:
        raise RPCError(f"truncated {type_name}: {len(data) - offset} bytes") from None


def codec(type_name: str) -> tuple[Packer, Unpacker]:
    """The (packer, unpacker) pair of a named type, compiled on first use."""
    try:
        return _compiled[type_name]
    except KeyError:
        pass
    if type_name not in TYPES:
        raise RPCError(f"no such protocol type: {type_name}")
    # A placeholder that forwards, so that recursive types compile.
    _compiled[type_name] = (
        lambda v, out: _compiled[type_name][0](v, out),
        lambda b, o: _compiled[type_name][1](b, o),
    )
    pair = _compile(TYPES[type_name], type_name)
    _compiled[type_name] = pair
    return pair


def _scalar(st: struct.Struct, kind: str, lo: float, hi: float) -> tuple[Packer, Unpacker]:
    size = st.size
    pack = st.pack
    unpack_from = st.unpack_from

    def packer(v: Any, out: list[bytes]) -> None:
        if not isinstance(v, int) or not lo <= v <= hi:
            raise RPCError(f"{v!r} is not an XDR {kind}")
        out.append(pack(v))

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        return unpack_from(b, o)[0], o + size

    return packer, unpacker


def _floating(st: struct.Struct) -> tuple[Packer, Unpacker]:
    size = st.size

    def packer(v: Any, out: list[bytes]) -> None:
        if not isinstance(v, int | float):
            raise RPCError(f"{v!r} is not an XDR floating-point number")
        out.append(st.pack(v))

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        return st.unpack_from(b, o)[0], o + size

    return packer, unpacker


def _bool() -> tuple[Packer, Unpacker]:
    def packer(v: Any, out: list[bytes]) -> None:
        out.append(_I.pack(1 if v else 0))

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        v = _I.unpack_from(b, o)[0]
        if v not in (0, 1):
            raise RPCError(f"XDR bool of value {v}")
        return v == 1, o + 4

    return packer, unpacker


def _length(b: bytes | memoryview, o: int, bound: int | None, unit: int, what: str) -> tuple[int, int]:
    """A length word at o, checked against the bound and against the bytes left (``unit`` each)."""
    n = _U.unpack_from(b, o)[0]
    o += 4
    if bound is not None and n > bound:
        raise RPCError(f"{what} of length {n} exceeds its bound {bound}")
    if n * unit > len(b) - o:
        raise RPCError(f"{what} of length {n} runs past the end of the message")
    return n, o


def _opaque(bound: int | None, fixed: int | None, name: str) -> tuple[Packer, Unpacker]:
    def packer(v: Any, out: list[bytes]) -> None:
        if not isinstance(v, bytes | bytearray | memoryview):
            raise RPCError(f"{name}: {type(v).__name__} is not bytes")
        n = len(v)
        if fixed is not None:
            if n != fixed:
                raise RPCError(f"{name}: {n} bytes, not {fixed}")
        else:
            if bound is not None and n > bound:
                raise RPCError(f"{name}: {n} bytes exceed its bound {bound}")
            out.append(_U.pack(n))
        out.append(bytes(v))
        out.append(_PAD[n & 3])

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        if fixed is None:
            n, o = _length(b, o, bound, 1, name)
        else:
            n = fixed
            if n > len(b) - o:
                raise RPCError(f"{name}: truncated")
        return bytes(b[o : o + n]), o + n + (-n & 3)

    return packer, unpacker


def _string(bound: int | None, name: str) -> tuple[Packer, Unpacker]:
    opack, ounpack = _opaque(bound, None, name)

    def packer(v: Any, out: list[bytes]) -> None:
        if not isinstance(v, str):
            raise RPCError(f"{name}: {type(v).__name__} is not a string")
        opack(v.encode(), out)

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        raw, o = ounpack(b, o)
        try:
            return raw.decode(), o
        except UnicodeDecodeError:
            raise RPCError(f"{name}: string is not UTF-8") from None

    return packer, unpacker


def _chars(bound: int | None, fixed: int | None, name: str) -> tuple[Packer, Unpacker]:
    def packer(v: Any, out: list[bytes]) -> None:
        if not isinstance(v, bytes | bytearray):
            raise RPCError(f"{name}: {type(v).__name__} is not bytes")
        n = len(v)
        if fixed is not None:
            if n > fixed:
                raise RPCError(f"{name}: {n} chars, more than {fixed}")
            v = bytes(v) + b"\0" * (fixed - n)
        else:
            if bound is not None and n > bound:
                raise RPCError(f"{name}: {n} chars exceed its bound {bound}")
            out.append(_U.pack(n))
        out.append(struct.pack(f">{len(v)}i", *(c - 256 if c > 127 else c for c in v)))

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        if fixed is None:
            n, o = _length(b, o, bound, 4, name)
        else:
            n = fixed
        ints = struct.unpack_from(f">{n}i", b, o)
        return bytes(c & 0xFF for c in ints), o + 4 * n

    return packer, unpacker


def _array(
    elem: tuple[Packer, Unpacker], bound: int | None, fixed: int | None, name: str
) -> tuple[Packer, Unpacker]:
    epack, eunpack = elem

    def packer(v: Any, out: list[bytes]) -> None:
        if not isinstance(v, list | tuple):
            raise RPCError(f"{name}: {type(v).__name__} is not a list")
        n = len(v)
        if fixed is not None:
            if n != fixed:
                raise RPCError(f"{name}: {n} elements, not {fixed}")
        else:
            if bound is not None and n > bound:
                raise RPCError(f"{name}: {n} elements exceed its bound {bound}")
            out.append(_U.pack(n))
        for item in v:
            epack(item, out)

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        if fixed is None:
            n, o = _length(b, o, bound, 4, name)  # every XDR item is at least 4 bytes
        else:
            n = fixed
        items = []
        for _ in range(n):
            item, o = eunpack(b, o)
            items.append(item)
        return items, o

    return packer, unpacker


def _optional(elem: tuple[Packer, Unpacker]) -> tuple[Packer, Unpacker]:
    epack, eunpack = elem
    present = _U.pack(1)
    absent = _U.pack(0)

    def packer(v: Any, out: list[bytes]) -> None:
        if v is None:
            out.append(absent)
        else:
            out.append(present)
            epack(v, out)

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        flag = _U.unpack_from(b, o)[0]
        if flag == 0:
            return None, o + 4
        if flag != 1:
            raise RPCError(f"optional-data flag of value {flag}")
        return eunpack(b, o + 4)

    return packer, unpacker


def _struct(fields: list[tuple[str, tuple[Packer, Unpacker]]], name: str) -> tuple[Packer, Unpacker]:
    packers = [(f, p) for f, (p, _) in fields]
    unpackers = [(f, u) for f, (_, u) in fields]

    def packer(v: Any, out: list[bytes]) -> None:
        try:
            for f, p in packers:
                p(v[f], out)
        except KeyError as exc:
            raise RPCError(f"{name}: no field {exc.args[0]!r}") from None
        except TypeError:
            raise RPCError(f"{name}: {type(v).__name__} is not a struct") from None

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        value = {}
        for f, u in unpackers:
            value[f], o = u(b, o)
        return value, o

    return packer, unpacker


def _union(
    disc: tuple[Packer, Unpacker],
    arms: dict[int, tuple[Packer, Unpacker] | None],
    default: tuple[Packer, Unpacker] | bool | None,
    name: str,
) -> tuple[Packer, Unpacker]:
    dpack, dunpack = disc

    def arm(d: int) -> tuple[Packer, Unpacker] | None:
        if d in arms:
            return arms[d]
        if default is False:
            raise RPCError(f"{name}: no arm for discriminant {d}")
        return default  # type: ignore[return-value]

    def packer(v: Any, out: list[bytes]) -> None:
        if not isinstance(v, tuple) or len(v) != 2:
            raise RPCError(f"{name}: a union is a (discriminant, value) pair, not {v!r}")
        dpack(v[0], out)
        a = arm(v[0])
        if a is not None:
            a[0](v[1], out)

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        d, o = dunpack(b, o)
        a = arm(d)
        if a is None:
            return (d, None), o
        value, o = a[1](b, o)
        return (d, value), o

    return packer, unpacker


def _void() -> tuple[Packer, Unpacker]:
    def packer(v: Any, out: list[bytes]) -> None:
        return None

    def unpacker(b: bytes | memoryview, o: int) -> tuple[Any, int]:
        return None, o

    return packer, unpacker


_SCALARS: dict[str, tuple[Packer, Unpacker]] = {
    "int": _scalar(_I, "int", -(2**31), 2**31 - 1),
    "uint": _scalar(_U, "unsigned int", 0, 2**32 - 1),
    "hyper": _scalar(_Q, "hyper", -(2**63), 2**63 - 1),
    "uhyper": _scalar(_UQ, "unsigned hyper", 0, 2**64 - 1),
    "float": _floating(_F),
    "double": _floating(_D),
    "bool": _bool(),
    "void": _void(),
}


def _compile(spec: tuple[Any, ...], name: str) -> tuple[Packer, Unpacker]:
    kind = spec[0]
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "enum":
        return _SCALARS["int"]
    if kind == "ref":
        return codec(spec[1])
    if kind == "string":
        return _string(spec[1], name)
    if kind == "opaque":
        return _opaque(spec[1], None, name)
    if kind == "fopaque":
        return _opaque(None, spec[1], name)
    if kind == "chars":
        return _chars(spec[1], None, name)
    if kind == "fchars":
        return _chars(None, spec[1], name)
    if kind == "array":
        return _array(_compile(spec[1], name), spec[2], None, name)
    if kind == "farray":
        return _array(_compile(spec[1], name), None, spec[2], name)
    if kind == "optional":
        return _optional(_compile(spec[1], name))
    if kind == "struct":
        return _struct([(f, _compile(s, f"{name}.{f}")) for f, s in spec[1]], name)
    if kind == "union":
        arms = {d: None if a is None else _compile(a[1], f"{name}.{a[0]}") for d, a in spec[2]}
        default: tuple[Packer, Unpacker] | bool | None = False
        if spec[3] is not None:
            default = _compile(spec[3][1], name)
        return _union(_compile(spec[1], name), arms, default, name)
    raise RPCError(f"unknown XDR type description {spec!r}")  # pragma: no cover - generated tables
