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
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from virtcore.errors import VirtError

#: libvirt's error tuple: (code, domain, message, level, str1, str2, str3, int1, int2).
ErrorTuple = tuple[int, int, str, int, "str | None", "str | None", "str | None", int, int]

#: virErrorLevel VIR_ERR_ERROR: every error virtcore raises is one.
_LEVEL_ERROR = 2
#: virErrorNumber VIR_ERR_INVALID_ARG: what an unknown flag bit is.
_INVALID_ARG = 8
_FROM_DOMAIN = 20
#: VIR_DOMAIN_AFFECT_LIVE and VIR_DOMAIN_AFFECT_CONFIG.
_AFFECT_LIVE, _AFFECT_CONFIG = 1, 2


class _LastError(_local):
    #: What virGetLastError() gives: the thread's last error.
    err: ErrorTuple | None = None
    #: The error reported for the failure being raised, taken by the next libvirtError built.
    fresh: ErrorTuple | None = None


_last = _LastError()
#: The handler registered with :func:`registerErrorHandler` and its context; None: print on stderr.
_handler: list[Any] = [None, None]


class libvirtError(Exception):  # noqa: N801 - libvirt-python's name
    """An error of libvirt's API: the error reported for the failing call (``.err``), if any.

    libvirt-python builds it from the thread's last error, which libvirt clears when
    every call starts; here an error reported is given to the next ``libvirtError``
    built and to no later one (a ``libvirtError("...")`` raised for a failure libvirt
    did not report carries ``err`` None, as with libvirt-python).
    """

    def __init__(self, defmsg: str) -> None:
        err = _last.fresh
        _last.fresh = None
        super().__init__(defmsg if err is None else err[2])
        self.err: ErrorTuple | None = err
        self._virtcore_error: BaseException | None = None

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


#: libvirt's names of its error domains (``VIR_FROM_*`` by value), as its default handler prints them.
DOMAIN_NAMES = (
    "", "Xen Driver", "Xen Daemon", "Xen Store", "S-Expression", "XML Util", "Domain", "XML-RPC",
    "Proxy Daemon", "Config File", "QEMU Driver", "Network", "Test Driver", "Remote Driver",
    "OpenVZ Driver", "Xen XM Driver", "Linux Statistics", "LXC Driver", "Storage Driver",
    "Network Driver", "Domain Config", "User Mode Linux Driver", "Node Device Driver",
    "Xen Inotify Driver", "Security Driver", "VirtualBox Driver", "Network Interface Driver",
    "Open Nebula Driver", "ESX Driver", "Power Hypervisor Driver", "Secrets Driver", "CPU Driver",
    "XenAPI Driver", "Network Filter Driver", "Lifecycle Hook", "Domain Snapshot", "Audit Utils",
    "Sysinfo Utils", "I/O Stream Utils", "VMware Driver", "Event Loop", "Xen Light Driver",
    "Lock Driver", "Hyper-V Driver", "Capabilities Utils", "URI Utils", "Authentication Utils",
    "DBus Utils", "Parallels Cloud Server", "Device Config", "SSH transport layer", "Lock Space",
    "Init control", "Identity", "Cgroup", "Access Manager", "Systemd", "Bhyve", "Crypto", "Firewall",
    "Polkit", "Thread jobs", "Admin Interface", "Log Manager", "Xen XL Config", "Perf",
    "Libssh transport layer", "Resource control", "FirewallD", "Domain Checkpoint", "TPM", "BPF",
    "Cloud-Hypervisor Driver",
)  # fmt: skip


def error_tuple(exc: VirtError, domain: int | None = None) -> ErrorTuple:
    """libvirt's error tuple for a virtcore error (``domain``: the ``VIR_FROM_*`` to report it in)."""
    str1 = exc.bare if exc.detail is None else exc.template
    dom = int(exc.domain) if domain is None else domain
    return (int(exc.code), dom, exc.message, _LEVEL_ERROR, str1, exc.detail, None, -1, -1)


def report(err: ErrorTuple) -> None:
    """Make ``err`` the thread's last error and hand it to the handler (stderr without one, as libvirt).

    It also becomes the last error of the connection whose call failed, as libvirt's
    ``virDispatchError(conn)`` copies it there (:func:`_dispatch_to_connection`).
    """
    _last.err = _last.fresh = err
    _dispatch_to_connection(err, sys._getframe(1))
    func, ctx = _handler
    if func is None:
        name = DOMAIN_NAMES[err[1]] if 0 <= err[1] < len(DOMAIN_NAMES) else "Unknown"
        end = "" if err[2].endswith("\n") else "\n"
        sys.stderr.write(f"libvirt: {name} error : {err[2]}{end}")
    else:
        func(ctx, err)


#: How many frames above :func:`report` the call on a ``libvirt`` object may be.
_API_DEPTH = 16
#: Before Python 3.13 (PEP 667), reading a running frame's ``f_locals`` leaves a snapshot of
#: its locals on the frame: one holding the error being handled would keep the frame, and the
#: handle and connection it holds, alive until the garbage collector runs.
_SNAPSHOTS = sys.version_info < (3, 13)


def _dispatch_to_connection(err: ErrorTuple, frame: FrameType | None) -> None:
    """Keep ``err`` as its connection's last error (``virConnGetLastError``), if a ``libvirt`` object's
    method is failing: the innermost caller whose ``self`` is a ``virConnect``, or a handle got from
    one (``virDomain``...), a snapshot or a stream (``connect()``). Only a failure pays for the look:
    a call that succeeds costs nothing more.
    """
    for _, owner in _methods(frame, leave_at_caller=False):
        conn = _connection_of(owner)
        if conn is not None:
            conn._last_error = err
            return


def _methods(frame: FrameType | None, *, leave_at_caller: bool) -> Iterator[tuple[FrameType, object]]:
    """From ``frame`` outwards (at most :data:`_API_DEPTH` frames), those running a method of this
    package, with its ``self``; ``leave_at_caller``: stop at the first frame that is not ours."""
    for _ in range(_API_DEPTH):
        if frame is None:
            return
        if _ours(frame):
            if frame.f_code.co_varnames[:1] == ("self",):
                local = frame.f_locals
                owner = local.get("self")
                if _SNAPSHOTS:
                    local.clear()  # the snapshot only: the frame's own variables are untouched
                yield frame, owner
        elif leave_at_caller:
            return
        frame = frame.f_back


def _ours(frame: FrameType) -> bool:
    """Whether ``frame`` runs this package's code (no caller's frame is ever looked into)."""
    module = frame.f_globals.get("__name__", "")
    return isinstance(module, str) and module.startswith("virt_libvirt.")


def _connection_of(owner: object) -> Any:
    """The ``virConnect`` of ``owner`` (a ``virConnect``, or an object with ``connect()``), else None."""
    if hasattr(owner, "_last_error"):
        return owner
    connect = getattr(owner, "connect", None)
    return connect() if callable(connect) else None


def raise_tuple(err: ErrorTuple, cause: BaseException | None = None) -> NoReturn:
    """Report ``err`` and raise it as ``libvirtError``; it stays the thread's last error.

    (libvirt also clears the last error when any API call starts; here only
    :func:`virResetLastError` and the next error replace it.)
    """
    report(err)
    exc = libvirtError(err[2])
    exc._virtcore_error = cause  # for debuggers; not chained, so tracebacks look like libvirt-python's
    try:
        raise exc from None
    finally:
        # The traceback holds this frame: without this, frame and error keep each other (and the
        # caller's handles, so its connection) alive until the garbage collector runs.
        del exc


def raise_from(exc: VirtError, domain: int | None = None) -> NoReturn:
    """Raise ``libvirtError`` for a virtcore error, as libvirt reports it."""
    if exc.detail is not None and exc.detail.startswith(_READ_ONLY):
        err = _read_only_refusal(exc, sys._getframe(1))
        if err is not None:
            raise_tuple(err, exc)
    raise_tuple(error_tuple(exc, domain), exc)


#: How virtcore words a call a read-only connection refuses (naming its own operation).
_READ_ONLY = "read only access prevents "


def _read_only_refusal(exc: VirtError, frame: FrameType | None) -> ErrorTuple | None:
    """libvirt's words for a call a read-only connection refuses: its API layer names the C
    function called (``virDomainSetMemory``, not virtcore's ``domain_set_memory``) and reports
    it in that function's error domain. The function is the libvirt-python method being run:
    the outermost of this package's frames whose ``self`` is one of libvirt's objects."""
    from virtcore.errors import OperationDeniedError

    if not isinstance(exc, OperationDeniedError):
        return None
    from virt_libvirt import _constants
    from virt_libvirt._table import ERROR_DOMAIN, METHODS

    function = None
    for method, owner in _methods(frame, leave_at_caller=True):
        for klass in type(owner).__mro__:
            found = METHODS.get(klass.__name__, {}).get(method.f_code.co_name)
            if found is not None:
                function = found
                break
    if function is None:
        return None
    domain: int = getattr(_constants, ERROR_DOMAIN.get(function, "VIR_FROM_NONE"))
    return error_tuple(OperationDeniedError(_READ_ONLY + function), domain)


def raise_error(cls: type[VirtError], detail: str | None, domain: int | None = None) -> NoReturn:
    """Raise ``libvirtError`` for a virtcore error class and detail."""
    raise_from(cls(detail), domain)


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
    _last.err = _last.fresh = None


#: libvirt's drivers refuse unknown flags themselves (virCheckFlags), in their own function and
#: error domain: by the connection's type, the prefix replacing ``vir`` and the ``VIR_FROM_*``.
_FLAG_CHECKERS = {"TEST": ("test", 12), "QEMU": ("qemu", 10)}


def check_flags(flags: int, allowed: int, function: str, owner: object) -> int:
    """``flags`` when ``function`` knows every bit; else ``libvirtError`` VIR_ERR_INVALID_ARG, as libvirt.

    ``owner`` (the ``virConnect`` or handle called; required, so that every refusal names its
    driver) names the driver that refuses them, as libvirt's does: ``"unsupported flags (0x1) in
    function testDomainDestroyFlags"`` in VIR_FROM_TEST; on a driver without its own checker
    (see :data:`_FLAG_CHECKERS`), the API's own name in VIR_FROM_NONE. ``function`` is the API
    whose driver entry point checks them (``virConnectGetAllDomainStats`` for
    ``virDomainListGetStats``, as libvirt's API layer hands both to one driver call).
    """
    if flags & ~allowed:
        if not isinstance(flags, int) or isinstance(flags, bool):
            raise TypeError(f"{function}: flags must be an int, not {type(flags).__name__}")
        where, domain = _driver_function(owner, function)
        message = f"unsupported flags (0x{flags & ~allowed:x}) in function {where}"
        raise_tuple((_INVALID_ARG, domain, message, _LEVEL_ERROR, where, "flags", None, 0, 0))
    return flags


def refuse_live_and_config(flags: int) -> None:
    """``VIR_DOMAIN_AFFECT_LIVE`` with ``CONFIG``: libvirt's VIR_ERR_INVALID_ARG in VIR_FROM_DOMAIN.

    The message is libvirt's own (``virReportInvalidArg`` has no "invalid argument:" prefix).
    """
    both = _AFFECT_LIVE | _AFFECT_CONFIG
    if flags & both == both:
        message = "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive"
        raise_tuple((_INVALID_ARG, _FROM_DOMAIN, message, _LEVEL_ERROR, None, None, None, 0, 0))


def _driver_function(owner: object, function: str) -> tuple[str, int]:
    """The driver's name for API ``function`` and its error domain (see :data:`_FLAG_CHECKERS`)."""
    if not function.startswith("vir"):
        return function, 0
    from virtcore.errors import VirtError  # at run time; the module-level import is for typing only

    conn: Any = owner.connect() if hasattr(owner, "connect") else owner
    try:
        kind = conn._conn.get_type()
    except (VirtError, AttributeError):
        return function, 0
    prefix, domain = _FLAG_CHECKERS.get(kind, ("vir", 0))
    return prefix + function[3:], domain


def check_nonzero(value: int, name: str, function: str) -> None:
    """Refuse a zero ``value`` as libvirt's API layer does: VIR_ERR_INVALID_ARG in VIR_FROM_DOMAIN."""
    if value == 0:
        message = f"{name} in {function} must not be zero"
        raise_tuple((_INVALID_ARG, _FROM_DOMAIN, message, _LEVEL_ERROR, function, name, None, 0, 0))


def check_exclusive(flags: int, first: tuple[int, str], second: tuple[int, str], function: str) -> None:
    """Refuse two flags together as libvirt's API layer does (VIR_EXCLUSIVE_FLAGS): VIR_ERR_INVALID_ARG
    in VIR_FROM_DOMAIN, ``"Flags 'VIR_A' and 'VIR_B' are mutually exclusive"``; each is ``(bit, name)``."""
    if flags & first[0] and flags & second[0]:
        message = f"Flags '{first[1]}' and '{second[1]}' are mutually exclusive"
        raise_tuple((_INVALID_ARG, _FROM_DOMAIN, message, _LEVEL_ERROR, function, "flags", None, 0, 0))


def virGetLastErrorCode() -> int:  # noqa: N802
    """The code of the calling thread's last error (0, VIR_ERR_OK, when none)."""
    err = _last.err
    return 0 if err is None else err[0]


def virGetLastErrorDomain() -> int:  # noqa: N802
    """The domain of the calling thread's last error (0, VIR_FROM_NONE, when none)."""
    err = _last.err
    return 0 if err is None else err[1]


def virGetLastErrorMessage() -> str:  # noqa: N802
    """The message of the calling thread's last error (``"no error"`` when none, as libvirt)."""
    err = _last.err
    return "no error" if err is None else err[2]


def virInitialize() -> int:  # noqa: N802
    """Nothing to set up (libvirt: initialise the library); 0."""
    return 0
