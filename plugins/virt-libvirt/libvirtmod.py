"""libvirt-python's private C module ``libvirtmod``, as far as code outside libvirt-python reaches into it.

libvirt-python's ``libvirt`` module calls its C bindings here by their C
names (``libvirtmod.virDomainGetInfo``). virt-libvirt's ``libvirt`` module
needs none of them; this module answers every C name of libvirt's API: the
ones with a ``libvirt`` module function of their own (the event loop, the
last error) are that function, the rest raise ``libvirtError``
VIR_ERR_NO_SUPPORT saying to use the ``libvirt`` module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from virt_libvirt import errors, eventloop
from virt_libvirt._base import unsupported
from virt_libvirt._table import C_FUNCTIONS

#: C names whose binding is a function of the ``libvirt`` module.
_SAME: dict[str, Callable[..., Any]] = {
    "virRegisterErrorHandler": errors.registerErrorHandler,
    "virGetLastError": errors.virGetLastError,
    "virResetLastError": errors.virResetLastError,
    "virGetLastErrorCode": errors.virGetLastErrorCode,
    "virGetLastErrorDomain": errors.virGetLastErrorDomain,
    "virGetLastErrorMessage": errors.virGetLastErrorMessage,
    "virInitialize": errors.virInitialize,
}
_NAMES = frozenset(C_FUNCTIONS) | {"virRegisterErrorHandler", "virConnectListDomainsID"}


def __getattr__(name: str) -> Callable[..., Any]:
    if name in _SAME:
        return _SAME[name]
    if name.startswith("virEvent") and hasattr(eventloop, name):
        fn: Callable[..., Any] = getattr(eventloop, name)
        return fn
    if name in _NAMES:
        missing: Callable[..., Any] = unsupported(f"{name} (libvirtmod's C binding: use the libvirt module)")
        return missing
    raise AttributeError(f"module 'libvirtmod' has no attribute {name!r}")
