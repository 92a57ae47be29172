"""libvirt-python's ``libvirt`` module, backed by virtcore (installed by virt-libvirt in its place).

Existing code runs unchanged: ``libvirt.open(uri)`` gives a ``virConnect``,
failures raise ``libvirtError`` with libvirt's codes.
"""

from __future__ import annotations

from virt_libvirt._constants import *  # noqa: F403 - every VIR_* constant of libvirt's API
from virt_libvirt.connect import open, openReadOnly, virConnect  # noqa: A004 - libvirt's name
from virt_libvirt.errors import libvirtError, registerErrorHandler, virGetLastError, virResetLastError
from virt_libvirt.eventloop import (
    virEventAddHandle,
    virEventAddTimeout,
    virEventRegisterDefaultImpl,
    virEventRegisterImpl,
    virEventRemoveHandle,
    virEventRemoveTimeout,
    virEventRunDefaultImpl,
    virEventUpdateHandle,
    virEventUpdateTimeout,
)

__all__ = [
    "libvirtError",
    "open",
    "openReadOnly",
    "registerErrorHandler",
    "virConnect",
    "virEventAddHandle",
    "virEventAddTimeout",
    "virEventRegisterDefaultImpl",
    "virEventRegisterImpl",
    "virEventRemoveHandle",
    "virEventRemoveTimeout",
    "virEventRunDefaultImpl",
    "virEventUpdateHandle",
    "virEventUpdateTimeout",
    "virGetLastError",
    "virResetLastError",
]
