"""The dispatch table's typing and the names every public handle module shares.

A connection's dispatch table maps each operation's hookspec function to
what answers it (see :mod:`virtcore.connection`). The handle modules
(:mod:`virtcore.connection` for domains, :mod:`virtcore.storage` for pools
and volumes) index it with hookspec functions, so mypy checks every call
against the hookspec's signature.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, Protocol, TypeVar

from virtcore import hookspecs
from virtcore.errors import InvalidArgError, NoSupportError, XMLError

__all__ = [
    "OPERATIONS",
    "PREFIX",
    "SPECS",
    "Answers",
    "Table",
    "canonical_uuid",
    "declined",
    "path_arg",
    "xml_arg",
]

#: What every hook's name starts with.
PREFIX = "virt_"

#: Every operation name (hook name without ``virt_``) mapped to whether it mutates
#: (:data:`virtcore.hookspecs.OPERATIONS`).
OPERATIONS: dict[str, bool] = hookspecs.OPERATIONS

#: The dispatch table's keys: every operation's hookspec function (the one source of its
#: signature), mapped to the operation's name.
SPECS: dict[Callable[..., object], str] = {getattr(hookspecs, PREFIX + op): op for op in OPERATIONS}

_P = ParamSpec("_P")
_R = TypeVar("_R")

if TYPE_CHECKING:
    from virtcore._errorcodes import ErrorDomain

    class Table(Protocol):
        """The dispatch table as the type checker sees it: indexed by a hookspec function, it
        gives a callable of that hookspec's signature, so a misspelled operation, argument or
        result type is a type error. At run time it is a plain dict (no extra call)."""

        def __getitem__(self, spec: Callable[_P, _R], /) -> Callable[_P, _R]: ...

else:
    Table = dict

#: What the dispatch table is built as (and is, at run time).
Answers = dict[Callable[..., object], Callable[..., Any]]


def declined(spec: Callable[..., object]) -> NoReturn:
    """Every channel returned ``None`` for ``spec``'s operation."""
    raise NoSupportError(f"{SPECS[spec]} (every driver channel declined)")


# -- arguments every handle checks the same way -------------------------------


def xml_arg(xml: object, what: str = "domain XML") -> str:
    """An XML document argument as text (``str``, or UTF-8 ``bytes``)."""
    if isinstance(xml, bytes):
        try:
            return xml.decode("utf-8")
        except UnicodeDecodeError:
            raise XMLError(f"{what} is not valid UTF-8") from None
    if not isinstance(xml, str):
        raise InvalidArgError(f"{what} must be a string, not {type(xml).__name__}")
    return xml


def path_arg(path: object) -> str:
    """A file path argument as text; anything else is :class:`InvalidArgError` naming it."""
    if isinstance(path, (str, os.PathLike)):
        text = os.fspath(path)
        if isinstance(text, str) and text and "\0" not in text:
            return text
        raise InvalidArgError(f"path must be a non-empty file name without NUL bytes, not {text!r}")
    raise InvalidArgError(f"path must be a file name (str or os.PathLike), not {type(path).__name__}")


def canonical_uuid(text: str, api: str = "NONE") -> str:
    """The canonical lowercase 36-character form of a UUID given in any common spelling (or 16 bytes).

    ``api`` names the ``ErrorDomain`` of the API that takes it: libvirt's API layer refuses a
    malformed UUID in its object's domain (``VIR_FROM_DOMAIN`` for virDomainLookupByUUIDString).
    """
    if isinstance(text, str):
        s = text.strip().lower()
        if len(s) == 36 and s[8] == s[13] == s[18] == s[23] == "-":
            return s
    elif not (isinstance(text, (bytes, bytearray)) and len(text) == 16):
        raise InvalidArgError(f"UUID must be a string, not {type(text).__name__}", domain=_api_domain(api))
    import uuid  # saves ~4 ms of import on open: only a raw or non-canonical UUID is parsed

    if not isinstance(text, str):
        return str(uuid.UUID(bytes=bytes(text)))
    try:
        return str(uuid.UUID(s))
    except ValueError:
        raise InvalidArgError(f"malformed UUID {text!r}", domain=_api_domain(api)) from None


def _api_domain(name: str) -> ErrorDomain:
    from virtcore._errorcodes import ErrorDomain  # saves ~18M instructions of import: the two enums

    return ErrorDomain[name]
