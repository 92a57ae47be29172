"""Event registration of libvirt's API on a connection (the events side of virt-libvirt fills this in).

``virConnect``'s event methods delegate here with the connection first:
``virConnect.domainEventRegisterAny(dom, eventID, cb, opaque)`` is
``domainEventRegisterAny(conn, dom, eventID, cb, opaque)``. Until then each
raises ``libvirtError`` VIR_ERR_NO_SUPPORT naming the function.
"""

from __future__ import annotations

from typing import Any

from virt_libvirt.errors import raise_error
from virtcore.errors import NoSupportError


def domainEventRegisterAny(conn: Any, dom: Any, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
    """Register ``cb`` for events ``eventID`` of ``dom`` (None: every domain); the callback id."""
    raise_error(NoSupportError, "virConnectDomainEventRegisterAny")


def domainEventDeregisterAny(conn: Any, callbackID: int) -> int:  # noqa: N802, N803
    """Forget the callback ``callbackID``."""
    raise_error(NoSupportError, "virConnectDomainEventDeregisterAny")


def domainEventRegister(conn: Any, cb: Any, opaque: Any) -> int:  # noqa: N802
    """Register ``cb`` for lifecycle events of every domain (the legacy form)."""
    raise_error(NoSupportError, "virConnectDomainEventRegister")


def domainEventDeregister(conn: Any, cb: Any) -> int:  # noqa: N802
    """Forget a callback registered with :func:`domainEventRegister`."""
    raise_error(NoSupportError, "virConnectDomainEventDeregister")
