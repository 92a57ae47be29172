"""What every class of the ``libvirt`` module shares: UUID spellings, the handle classes' common
methods, and the functions virtcore lacks.

Every function of libvirt's API is a method with libvirt-python's name
(:data:`virt_libvirt._table.METHODS`, generated from libvirt's API
description). A class defines the ones virtcore does; :func:`complete` gives
it the rest, each raising ``libvirtError`` VIR_ERR_NO_SUPPORT naming the C
function: a missing entry point means "unsupported", as in libvirt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from virt_libvirt import _constants
from virt_libvirt._table import ERROR_DOMAIN, METHODS
from virt_libvirt.errors import raise_error, raise_from
from virtcore.errors import VirtError

if TYPE_CHECKING:
    from virt_libvirt.connect import virConnect


def uuid_bytes(uuid: str) -> bytes:
    """The 16 raw bytes of a canonical UUID string (what ``UUID()`` returns)."""
    return bytes.fromhex(uuid.replace("-", ""))


def uuid_string(raw: bytes) -> str:
    """The canonical string of 16 raw UUID bytes (what ``lookupByUUID`` takes)."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != 16:
        from virtcore.errors import InvalidArgError

        raise_error(InvalidArgError, f"a UUID is 16 bytes, not {raw!r}")
    h = bytes(raw).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unsupported(cname: str) -> Callable[..., NoReturn]:
    """A function raising ``libvirtError`` VIR_ERR_NO_SUPPORT naming ``cname`` (in its libvirt domain)."""
    domain: int = getattr(_constants, ERROR_DOMAIN.get(cname, "VIR_FROM_NONE"))

    def call(*args: Any, **kwargs: Any) -> NoReturn:
        from virtcore.errors import NoSupportError

        raise_error(NoSupportError, cname, domain)

    call.__name__ = cname
    call.__doc__ = f"libvirt's {cname}: not supported by virtcore's drivers (VIR_ERR_NO_SUPPORT)."
    return call


def unsupported_method(cname: str) -> Callable[..., NoReturn]:
    """:func:`unsupported` as a method: its ``self`` is the object the error is about (its
    connection keeps it as its last error, see :func:`virt_libvirt.errors.report`)."""
    refuse = unsupported(cname)

    def call(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
        refuse()

    call.__name__, call.__doc__ = refuse.__name__, refuse.__doc__
    return call


def complete(cls: type, klass: str | None = None) -> None:
    """Give ``cls`` every method of libvirt's class ``klass`` (default: its name) it does not define."""
    for method, cname in METHODS[klass or cls.__name__].items():
        if not hasattr(cls, method):
            setattr(cls, method, unsupported_method(cname))


def passes(flags: int, yes: int, no: int, value: Callable[[], bool]) -> bool:
    """Whether an object passes one ``yes``/``no`` pair of list filter flags (neither set: it does)."""
    if not flags & (yes | no):
        return True
    return bool(flags & (yes if value() else no))


class Handle:
    """A handle on one virtcore object got from a connection (``virDomain``, ``virStorageVol``...).

    It holds its connection, as libvirt-python's handles hold a reference on theirs: the
    connection stays open while a handle got from it lives.
    """

    __slots__ = ("__weakref__", "_conn", "_o")

    def __init__(self, conn: virConnect, _obj: Any) -> None:
        self._conn = conn
        self._o = _obj
        conn._hold(self)

    def connect(self) -> virConnect:
        """The connection the object was got from."""
        return self._conn

    def c_pointer(self) -> int:
        """An identifier of the underlying handle (libvirt-python: its C pointer)."""
        return id(self._o)


class Named(Handle):
    """A handle on an object with a name and a UUID."""

    __slots__ = ()

    def name(self) -> str:
        """The object's name."""
        name: str = self._o.name
        return name

    def UUIDString(self) -> str:  # noqa: N802
        """The UUID, canonical string."""
        uuid: str = self._o.uuid
        return uuid

    def UUID(self) -> bytes:  # noqa: N802
        """The UUID, 16 raw bytes."""
        return uuid_bytes(self._o.uuid)


class Persistent(Named):
    """A handle on an object that is active or not, persistent or not, and may autostart
    (domains, storage pools, networks)."""

    __slots__ = ()

    def isActive(self) -> int:  # noqa: N802
        """1 while the object is active (a domain: running or paused), else 0."""
        try:
            return int(self._o.is_active())
        except VirtError as exc:
            raise_from(exc)

    def isPersistent(self) -> int:  # noqa: N802
        """1 when the object has a persistent definition."""
        try:
            return int(self._o.is_persistent())
        except VirtError as exc:
            raise_from(exc)

    def autostart(self) -> int:
        """1 when the object starts with the host."""
        try:
            return int(self._o.autostart)
        except VirtError as exc:
            raise_from(exc)

    def setAutostart(self, autostart: int) -> int:  # noqa: N802
        """Start the object with the host (or not); 0."""
        try:
            self._o.autostart = bool(autostart)
        except VirtError as exc:
            raise_from(exc)
        return 0
