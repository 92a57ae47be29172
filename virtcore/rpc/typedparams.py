"""libvirt's typed parameter lists (``remote_typed_param<>``) to and from plain dicts.

On the wire a typed parameter is ``{"field": name, "value": (type, value)}``
with libvirt's ``VIR_TYPED_PARAM_*`` type numbers; :func:`to_wire` chooses
the type from the Python value (``bool``, ``int`` by range, ``float``,
``str``) unless ``types`` names one per field. A call whose parameters
libvirt types by name (``weight`` a ``uint``...) describes them once as a
schema of libvirt's type names; :func:`types_of` gives the sender its wire
types, :func:`checked_from_wire` holds the receiver to them as libvirt's
``virTypedParamsValidate`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from virtcore import errors
from virtcore.errors import InvalidArgError, RPCError
from virtcore.rpc._remote_protocol import CONSTANTS

__all__ = [
    "INT",
    "UINT",
    "LLONG",
    "ULLONG",
    "DOUBLE",
    "BOOLEAN",
    "STRING",
    "TYPE_NAMES",
    "to_wire",
    "from_wire",
    "types_of",
    "checked_from_wire",
]

INT: int = CONSTANTS["VIR_TYPED_PARAM_INT"]
UINT: int = CONSTANTS["VIR_TYPED_PARAM_UINT"]
LLONG: int = CONSTANTS["VIR_TYPED_PARAM_LLONG"]
ULLONG: int = CONSTANTS["VIR_TYPED_PARAM_ULLONG"]
DOUBLE: int = CONSTANTS["VIR_TYPED_PARAM_DOUBLE"]
BOOLEAN: int = CONSTANTS["VIR_TYPED_PARAM_BOOLEAN"]
STRING: int = CONSTANTS["VIR_TYPED_PARAM_STRING"]
#: libvirt's name of each type (``virTypedParameterTypeToString``), by its number.
TYPE_NAMES: dict[int, str] = {
    INT: "int",
    UINT: "uint",
    LLONG: "llong",
    ULLONG: "ullong",
    DOUBLE: "double",
    BOOLEAN: "boolean",
    STRING: "string",
}
_BY_NAME = {name: number for number, name in TYPE_NAMES.items()}


def _kind(value: object) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        if 0 <= value < 2**32:
            return UINT
        if -(2**31) <= value < 0:
            return INT
        return ULLONG if value >= 0 else LLONG
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    raise RPCError(f"no typed parameter type for {type(value).__name__}")


def to_wire(params: dict[str, Any], types: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """The wire form of ``{field: value}``."""
    out = []
    for field, value in params.items():
        kind = (types or {}).get(field) or _kind(value)
        out.append({"field": field, "value": (kind, int(value) if kind == BOOLEAN else value)})
    return out


def from_wire(params: list[dict[str, Any]]) -> dict[str, Any]:
    """``{field: value}`` of the wire form (booleans as ``bool``)."""
    out: dict[str, Any] = {}
    for p in params:
        kind, value = p["value"]
        out[p["field"]] = bool(value) if kind == BOOLEAN else value
    return out


def types_of(schema: Mapping[str, str]) -> dict[str, int]:
    """The wire type of each field of ``schema`` (field -> libvirt's type name, ``"uint"``...)."""
    return {field: _BY_NAME[name] for field, name in schema.items()}


def checked_from_wire(params: list[dict[str, Any]], schema: Mapping[str, str]) -> dict[str, Any]:
    """:func:`from_wire`, refusing what libvirt's ``virTypedParamsValidate`` refuses.

    A field given twice, or a field of ``schema`` sent as another type, is ``INVALID_ARG``
    in libvirt's words. A field ``schema`` lacks is passed on: the core refuses it by name.
    """
    seen: set[str] = set()
    for p in params:
        field, (kind, _) = p["field"], p["value"]
        if field in seen:
            raise InvalidArgError(
                f"parameter '{field}' occurs multiple times", domain=errors.ErrorDomain.NONE
            )
        seen.add(field)
        expected = schema.get(field)
        if expected is not None and kind != _BY_NAME[expected]:
            raise InvalidArgError(
                f"invalid type '{TYPE_NAMES.get(kind, '')}' for parameter '{field}', expected '{expected}'",
                domain=errors.ErrorDomain.NONE,
            )
    return from_wire(params)
