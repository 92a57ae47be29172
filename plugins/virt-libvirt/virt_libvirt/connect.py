"""``virConnect`` and the module functions that open one (``open``, ``openReadOnly``, ``openAuth``)."""

from __future__ import annotations

import os

import virtcore
from virt_libvirt.errors import raise_from
from virtcore.connection import Connection
from virtcore.errors import VirtError

#: libvirt's environment variable naming the URI ``open(None)`` uses.
DEFAULT_URI_ENV = "LIBVIRT_DEFAULT_URI"


class virConnect:  # noqa: N801 - libvirt-python's name
    """A connection to a hypervisor driver, as libvirt-python's ``virConnect``."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def close(self) -> int:
        """Close the connection; 0, as libvirt."""
        self._conn.close()
        return 0

    def getURI(self) -> str:  # noqa: N802
        """The URI the connection was opened with."""
        try:
            return self._conn.uri
        except VirtError as exc:
            raise_from(exc)


def _uri(name: str | None) -> str | None:
    if name is None:
        return os.environ.get(DEFAULT_URI_ENV) or None
    return name


def open(name: str | None = None) -> virConnect:  # noqa: A001 - libvirt's name
    """A read-write connection to ``name`` (None: ``$LIBVIRT_DEFAULT_URI``, then the default)."""
    try:
        return virConnect(virtcore.open(_uri(name)))
    except VirtError as exc:
        raise_from(exc)


def openReadOnly(name: str | None = None) -> virConnect:  # noqa: N802
    """A read-only connection to ``name``."""
    try:
        return virConnect(virtcore.open_read_only(_uri(name)))
    except VirtError as exc:
        raise_from(exc)
