"""libvirt's typed parameter lists (``remote_typed_param<>``) to and from plain dicts.

On the wire a typed parameter is ``{"field": name, "value": (type, value)}``
with libvirt's ``VIR_TYPED_PARAM_*`` type numbers; :func:`to_wire` chooses
the type from the Python value (``bool``, ``int`` by range, ``float``,
``str``) unless ``types`` names one per field.
"""

from __future__ import annotations

from typing import Any

from virtcore.errors import RPCError
from virtcore.rpc._remote_protocol import CONSTANTS

__all__ = ["INT", "UINT", "LLONG", "ULLONG", "DOUBLE", "BOOLEAN", "STRING", "to_wire", "from_wire"]

INT: int = CONSTANTS["VIR_TYPED_PARAM_INT"]
UINT: int = CONSTANTS["VIR_TYPED_PARAM_UINT"]
LLONG: int = CONSTANTS["VIR_TYPED_PARAM_LLONG"]
ULLONG: int = CONSTANTS["VIR_TYPED_PARAM_ULLONG"]
DOUBLE: int = CONSTANTS["VIR_TYPED_PARAM_DOUBLE"]
BOOLEAN: int = CONSTANTS["VIR_TYPED_PARAM_BOOLEAN"]
STRING: int = CONSTANTS["VIR_TYPED_PARAM_STRING"]


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
