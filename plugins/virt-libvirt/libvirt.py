"""libvirt-python's ``libvirt`` module, backed by virtcore (installed by virt-libvirt in its place).

Existing code runs unchanged: ``libvirt.open(uri)`` gives a ``virConnect``,
failures raise ``libvirtError`` with libvirt's codes, every ``VIR_*``
constant of libvirt's API is here with libvirt's value, and every function
of libvirt's API is a method or function with libvirt-python's name (those
virtcore's drivers lack raise ``libvirtError`` VIR_ERR_NO_SUPPORT naming it).
"""

from collections.abc import Callable as _Callable
from typing import Any as _Any
from typing import TypeVar as _TypeVar

import libvirtmod
from virt_libvirt import eventloop as _eventloop
from virt_libvirt._base import unsupported as _unsupported
from virt_libvirt._constants import *  # noqa: F403 - every VIR_* constant of libvirt's API
from virt_libvirt._table import METHODS as _METHODS
from virt_libvirt.connect import getVersion, open, openAuth, openReadOnly, virConnect  # noqa: A004
from virt_libvirt.domain import virDomain
from virt_libvirt.errors import (
    libvirtError,
    registerErrorHandler,
    virGetLastError,
    virGetLastErrorCode,
    virGetLastErrorDomain,
    virGetLastErrorMessage,
    virInitialize,
    virResetLastError,
)
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
from virt_libvirt.network import virNetwork, virNetworkPort
from virt_libvirt.objects import virInterface, virNodeDevice, virNWFilter, virNWFilterBinding, virSecret
from virt_libvirt.snapshot import virDomainCheckpoint, virDomainSnapshot
from virt_libvirt.storage import virStoragePool, virStorageVol
from virt_libvirt.stream import virStream

# libvirt-python's type aliases, which code written against it (its tests' eventmock) names.
_T = _TypeVar("_T")
_EventCB = _Callable[[int, int, int, _T], None]
_EventAddHandleFunc = _Callable[[int, int, _EventCB, _T], int]  # type: ignore[type-arg]
_EventUpdateHandleFunc = _Callable[[int, int], None]
_EventRemoveHandleFunc = _Callable[[int], int]
_TimerCB = _Callable[[int, _T], None]
_EventAddTimeoutFunc = _Callable[[int, _TimerCB, _T], int]  # type: ignore[type-arg]
_EventUpdateTimeoutFunc = _Callable[[int, int], None]
_EventRemoveTimeoutFunc = _Callable[[int], int]
_DomainCB = _Callable[[virConnect, virDomain, int, int, _T], int | None]
_BlkioParameter = dict[str, _Any]
_MemoryParameter = dict[str, _Any]
_SchedParameter = dict[str, _Any]
_TypedParameter = dict[str, _Any]

#: libvirt-python's pure-Python helper for event loops (the events side provides it).
virEventInvokeFreeCallback = getattr(  # noqa: N816 - libvirt-python's name
    _eventloop, "virEventInvokeFreeCallback", _unsupported("virEventInvokeFreeCallback")
)

# Shown as libvirt-python's are (``libvirt.libvirtError: ...`` in a traceback, ``<libvirt.virDomain ...>``).
for _cls in (
    libvirtError,
    virConnect,
    virDomain,
    virDomainCheckpoint,
    virDomainSnapshot,
    virInterface,
    virNWFilter,
    virNWFilterBinding,
    virNetwork,
    virNetworkPort,
    virNodeDevice,
    virSecret,
    virStoragePool,
    virStorageVol,
    virStream,
):
    _cls.__module__ = "libvirt"

for _name, _cname in _METHODS["libvirt"].items():
    if _name not in globals():
        globals()[_name] = _unsupported(_cname)

__all__ = [
    "getVersion",
    "libvirtError",
    "libvirtmod",
    "open",
    "openAuth",
    "openReadOnly",
    "registerErrorHandler",
    "virConnect",
    "virDomain",
    "virDomainCheckpoint",
    "virDomainSnapshot",
    "virEventAddHandle",
    "virEventAddTimeout",
    "virEventInvokeFreeCallback",
    "virEventRegisterDefaultImpl",
    "virEventRegisterImpl",
    "virEventRemoveHandle",
    "virEventRemoveTimeout",
    "virEventRunDefaultImpl",
    "virEventUpdateHandle",
    "virEventUpdateTimeout",
    "virGetLastError",
    "virGetLastErrorCode",
    "virGetLastErrorDomain",
    "virGetLastErrorMessage",
    "virInitialize",
    "virInterface",
    "virNWFilter",
    "virNWFilterBinding",
    "virNetwork",
    "virNetworkPort",
    "virNodeDevice",
    "virResetLastError",
    "virSecret",
    "virStoragePool",
    "virStorageVol",
    "virStream",
]
