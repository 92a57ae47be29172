"""libvirt-python's error side: :class:`libvirtError`, the last error of the thread, the error handler.

libvirt keeps the last error per thread and hands every error to the
registered handler (or prints it on stderr when there is none); libvirt-python's
``libvirtError`` reads that last error when it is built. Here a
:class:`~virtcore.errors.VirtError` becomes both: :func:`raise_from` records
it as the thread's last error, reports it, and raises ``libvirtError``.
"""

from __future__ import annotations

import sys
from _thread import _local
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from virtcore.errors import VirtError

#: libvirt's error tuple: (code, domain, message, level, str1, str2, str3, int1, int2).
ErrorTuple = tuple[int, int, str, int, "str | None", "str | None", "str | None", int, int]

#: virErrorLevel VIR_ERR_ERROR: every error virtcore raises is one.
_LEVEL_ERROR = 2


class _LastError(_local):
    err: ErrorTuple | None = None


_last = _LastError()
#: The handler registered with :func:`registerErrorHandler` and its context; None: print on stderr.
_handler: list[Any] = [None, None]


class libvirtError(Exception):  # noqa: N801 - libvirt-python's name
    """An error of libvirt's API: the thread's last error when it was raised (``.err``)."""

    def __init__(self, defmsg: str) -> None:
        err = _last.err
        super().__init__(defmsg if err is None else err[2])
        self.err: ErrorTuple | None = err

    def get_error_code(self) -> int | None:
        """libvirt's ``virErrorNumber`` of the error (``VIR_ERR_*``)."""
        return None if self.err is None else self.err[0]

    def get_error_domain(self) -> int | None:
        """libvirt's ``virErrorDomain``: the subsystem that raised it (``VIR_FROM_*``)."""
        return None if self.err is None else self.err[1]

    def get_error_message(self) -> str | None:
        """The full message."""
        return None if self.err is None else self.err[2]

    def get_error_level(self) -> int | None:
        """libvirt's ``virErrorLevel`` (``VIR_ERR_ERROR``)."""
        return None if self.err is None else self.err[3]

    def get_str1(self) -> str | None:
        """libvirt's extra string 1: the message template of the code."""
        return None if self.err is None else self.err[4]

    def get_str2(self) -> str | None:
        """libvirt's extra string 2: the detail."""
        return None if self.err is None else self.err[5]

    def get_str3(self) -> str | None:
        """libvirt's extra string 3."""
        return None if self.err is None else self.err[6]

    def get_int1(self) -> int | None:
        """libvirt's extra number 1."""
        return None if self.err is None else self.err[7]

    def get_int2(self) -> int | None:
        """libvirt's extra number 2."""
        return None if self.err is None else self.err[8]


def error_tuple(exc: VirtError) -> ErrorTuple:
    """libvirt's error tuple for a virtcore error."""
    return (int(exc.code), int(exc.domain), exc.message, _LEVEL_ERROR, exc.bare, exc.detail, None, -1, -1)


def report(err: ErrorTuple) -> None:
    """Make ``err`` the thread's last error and hand it to the handler (stderr without one)."""
    _last.err = err
    func, ctx = _handler
    if func is None:
        sys.stderr.write(f"libvirt: error : {err[2]}\n")
    else:
        func(ctx, err)


def raise_from(exc: VirtError) -> NoReturn:
    """Raise ``libvirtError`` for a virtcore error, as libvirt reports it."""
    report(error_tuple(exc))
    raise libvirtError(exc.message) from exc


def raise_error(cls: type[VirtError], detail: str | None) -> NoReturn:
    """Raise ``libvirtError`` for a virtcore error class and detail."""
    raise_from(cls(detail))


def registerErrorHandler(f: Callable[[Any, ErrorTuple], object] | None, ctx: object) -> int:  # noqa: N802
    """Send every error to ``f(ctx, err)`` instead of stderr (None: stderr again); 1, as libvirt."""
    if f is not None and not callable(f):
        raise RuntimeError("Parameter d must be callable")
    _handler[0], _handler[1] = f, ctx
    return 1


def virGetLastError() -> ErrorTuple | None:  # noqa: N802
    """The calling thread's last error, or None."""
    return _last.err


def virResetLastError() -> None:  # noqa: N802
    """Forget the calling thread's last error."""
    _last.err = None
