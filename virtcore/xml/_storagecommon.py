"""What the storage pool and volume XML share: value converters, permissions, names, paths.

The pool model (:mod:`virtcore.xml.pool`) and the volume model
(:mod:`virtcore.xml.volume`) both describe ``<permissions>``, absolute paths and
object names the same way; this module holds those descriptions once.
"""

from __future__ import annotations

import re
from typing import ClassVar

import attrs

from virtcore import limits
from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._spec import Fmt, Parse, SpecElement, typed

__all__ = [
    "ID",
    "MODE",
    "PATH",
    "PORT",
    "UUID",
    "Permissions",
    "check_name",
    "check_word",
    "sanitize_path",
]


def _p_uuid(text: str, where: str) -> str:
    return u.canonical_uuid(text, where)


#: A UUID, canonicalized (lowercase, dashed); anything else is an XMLError.
UUID: tuple[Parse, Fmt] = (_p_uuid, str)


def _p_mode(text: str, where: str) -> int:
    if not re.fullmatch(r"\s*[0-7]+\s*", text, re.ASCII):
        raise XMLError(f"malformed octal mode '{text}' in {where}")
    value = int(text, 8)
    if value & ~0o777:
        raise XMLError(f"malformed octal mode '{text}' in {where}: must be at most 0777")
    return value


def _f_mode(value: int) -> str:
    return f"0{value:o}"


#: A permission mode: octal text, at most ``0777``; written as libvirt does (``0%o``).
MODE: tuple[Parse, Fmt] = (_p_mode, _f_mode)


def _p_id(text: str, where: str) -> int | None:
    value = u.parse_int(text, where, minimum=-1, maximum=limits.UINT_MAX)
    # -1, and (uid_t)-1 written unsigned, mean "not set" to libvirt
    return None if value in (-1, limits.UINT_MAX) else value


#: A user or group id (decimal); ``-1`` and ``4294967295`` mean unset (``None``).
ID: tuple[Parse, Fmt] = (_p_id, str)


def _p_port(text: str, where: str) -> int:
    return u.parse_uint(text, where, maximum=65535)


#: A TCP port number.
PORT: tuple[Parse, Fmt] = (_p_port, str)


def sanitize_path(path: str) -> str:
    """``path`` as libvirt's virFileSanitizePath leaves it: runs of ``/`` collapsed, no trailing ``/``.

    A leading ``//`` (exactly two) is kept, as POSIX gives it a meaning of its own.
    """
    keep = "//" if path.startswith("//") and not path.startswith("///") else ""
    body = re.sub("/+", "/", path[len(keep) :])
    if len(keep + body) > 1 and body.endswith("/"):
        body = body[:-1]
    return keep + body


def _p_path(text: str, where: str) -> str:
    return sanitize_path(text)


#: A path, sanitized as libvirt does on parsing (``///a//b/`` is ``/a/b``).
PATH: tuple[Parse, Fmt] = (_p_path, str)


def check_name(name: object, what: str, *, file_name: bool = False) -> str:
    """``name`` when it can name a pool or volume, else :class:`XMLError` naming it.

    Names become file names (a pool's configuration file, a volume's image), so they
    must be non-empty text without ``/``, newlines or NUL, and not ``.`` or ``..``.
    With ``file_name`` (a volume, whose name is its file's name and reaches tools such
    as ``qemu-img``) it may not start with ``-`` either.
    """
    if not isinstance(name, str) or not name.strip():
        raise XMLError(f"{what} has no name")
    if "/" in name:
        raise XMLError(f"{what} name '{name}' cannot contain '/'")
    if "\n" in name or "\0" in name:
        raise XMLError(f"{what} name {name!r} cannot contain a newline or NUL")
    if name in (".", ".."):
        raise XMLError(f"{what} name '{name}' is not allowed")
    if file_name and name.startswith("-"):
        raise XMLError(f"{what} name '{name}' cannot start with '-'")
    return name


def check_word(value: str | None, what: str, *, path: bool = False) -> None:
    """Refuse (:class:`XMLError` naming ``what``) a value that tools could take for an option.

    ``value`` (when set) must be non-empty printable text without blanks that does not
    start with ``-``; with ``path``, an absolute path. Host names, device paths, volume
    group names and the like reach command lines (mount, vgcreate, iscsiadm ...).
    """
    if value is None:
        return
    if not value or not value.isprintable() or any(ch.isspace() for ch in value):
        raise XMLError(f"invalid {what} {value!r}: expected printable text without blanks")
    if value.startswith("-"):
        raise XMLError(f"invalid {what} '{value}': it cannot start with '-'")
    if path and not value.startswith("/"):
        raise XMLError(f"invalid {what} '{value}': expected an absolute path")


@attrs.frozen
class Permissions(SpecElement):
    """``<permissions>``: ``mode`` (an int, e.g. ``0o700``), ``owner``/``group`` ids, SELinux ``label``.

    ``owner`` and ``group`` are ``None`` when unset (``-1`` in the XML).
    """

    _tag: ClassVar[str] = "permissions"
    _order = ("mode", "owner", "group", "label")
    mode: int | None = typed("ctext", "mode", conv=MODE)
    owner: int | None = typed("ctext", "owner", conv=ID)
    group: int | None = typed("ctext", "group", conv=ID)
    label: str | None = typed("ctext", "label")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG
