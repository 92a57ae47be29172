"""libvirt's error structure (``remote_error``) to and from :class:`~virtcore.errors.VirtError`.

A server answers a failed call with an ERROR reply whose payload is a
``remote_error``: code, domain, message, level (and fields libvirt no
longer fills). :func:`encode_error` makes that payload of any exception
(a :class:`VirtError` keeps its code, domain and message; anything else is
an internal error); :func:`decode_error` gives back the most specific
``VirtError`` subclass for the code, whose ``str()`` is the server's message
word for word, whose ``code``/``domain`` are the server's numbers and whose
``level`` is the server's level.
"""

from __future__ import annotations

from typing import Any

from virtcore.errors import InternalError, VirtError, error_for_code
from virtcore.rpc import xdr

__all__ = ["ERROR_LEVEL", "error_to_wire", "error_from_wire", "encode_error", "decode_error"]

#: ``VIR_ERR_ERROR``: the level of every error virtcore raises.
ERROR_LEVEL = 2

_unknown_code_classes: dict[int, type[VirtError]] = {}


def error_to_wire(exc: BaseException) -> dict[str, Any]:
    """The ``remote_error`` structure (a dict) of an exception."""
    if not isinstance(exc, VirtError):
        exc = InternalError(f"{type(exc).__name__}: {exc}")
    return {
        "code": int(exc.code),
        "domain": int(exc.domain),
        "message": exc.message,
        "level": int(getattr(exc, "level", ERROR_LEVEL)),
        "dom": None,
        "str1": exc.message,
        "str2": None,
        "str3": None,
        "int1": -1,
        "int2": -1,
        "net": None,
    }


def _class_for(code: int) -> type[VirtError]:
    cls = error_for_code(code)
    if int(cls.code) == code:
        return cls
    if code not in _unknown_code_classes:
        from virtcore._errorcodes import ErrorNumber  # the enums, for the code's name

        try:
            name = ErrorNumber(code).name
        except ValueError:
            name = f"CODE_{code}"
        # A code without a class of its own (or unknown to this libvirt version): a class
        # whose ``code`` is the server's number.
        member: object = ErrorNumber(code) if name in ErrorNumber.__members__ else code
        _unknown_code_classes[code] = type(
            f"RemoteError_{name}", (VirtError,), {"code": member, "__doc__": f"libvirt error {code}."}
        )
    return _unknown_code_classes[code]


def error_from_wire(err: dict[str, Any]) -> VirtError:
    """The :class:`VirtError` a ``remote_error`` structure (a dict) describes."""
    from virtcore._errorcodes import ErrorDomain  # the enums, for the domain

    cls = _class_for(int(err["code"]))
    message = err.get("message")
    if message is None:
        message = cls.bare
    prefix, _, suffix = cls.template.partition("%s")
    detail: str | None = message
    if message.startswith(prefix) and message.endswith(suffix) and len(message) >= len(prefix) + len(suffix):
        detail = message[len(prefix) : len(message) - len(suffix)]
    exc = cls(detail)
    exc.args = (message,)  # the server's words exactly, whatever our template says
    try:
        exc.domain = ErrorDomain(err["domain"])
    except ValueError:
        exc.domain = err["domain"]
    exc.level = int(err["level"])  # type: ignore[attr-defined]
    return exc


def encode_error(exc: BaseException) -> bytes:
    """The XDR payload (``remote_error``) of an ERROR reply for ``exc``."""
    return xdr.encode("remote_error", error_to_wire(exc))


def decode_error(payload: bytes) -> VirtError:
    """The :class:`VirtError` of an ERROR reply's payload."""
    return error_from_wire(xdr.decode("remote_error", payload))
