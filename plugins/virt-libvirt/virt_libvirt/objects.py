"""The host objects of libvirt's API: ``virNodeDevice``, ``virInterface``, ``virSecret``, ``virNWFilter``...

virtcore's drivers do not manage these yet: each class has libvirt-python's
methods, every one raising ``libvirtError`` VIR_ERR_NO_SUPPORT naming its C
function, and the connection's lookups of them do too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virt_libvirt._base import complete

if TYPE_CHECKING:
    from virt_libvirt.connect import virConnect


class _HostObject:
    """A host object of a connection."""

    __slots__ = ("__weakref__", "_conn", "_o")

    def __init__(self, conn: virConnect, _obj: Any) -> None:
        self._conn = conn
        self._o = _obj

    def connect(self) -> virConnect:
        """The connection the object was got from."""
        return self._conn

    def c_pointer(self) -> int:
        """An identifier of the underlying handle (libvirt-python: its C pointer)."""
        return id(self._o)


class virNodeDevice(_HostObject):  # noqa: N801 - libvirt-python's name
    """A host device, as libvirt-python's ``virNodeDevice``."""

    __slots__ = ()


class virInterface(_HostObject):  # noqa: N801 - libvirt-python's name
    """A host network interface, as libvirt-python's ``virInterface``."""

    __slots__ = ()


class virSecret(_HostObject):  # noqa: N801 - libvirt-python's name
    """A secret, as libvirt-python's ``virSecret``."""

    __slots__ = ()


class virNWFilter(_HostObject):  # noqa: N801 - libvirt-python's name
    """A network filter, as libvirt-python's ``virNWFilter``."""

    __slots__ = ()


class virNWFilterBinding(_HostObject):  # noqa: N801 - libvirt-python's name
    """A network filter binding, as libvirt-python's ``virNWFilterBinding``."""

    __slots__ = ()


for _cls in (virNodeDevice, virInterface, virSecret, virNWFilter, virNWFilterBinding):
    complete(_cls)
