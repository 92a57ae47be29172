"""libvirt's event loop: the default implementation and ``virEventRegisterImpl`` (events side: to come).

The ``libvirt`` module's ``virEvent*`` functions are these. Until then each
raises ``libvirtError`` VIR_ERR_NO_SUPPORT naming the function.
"""

from __future__ import annotations

from typing import Any

from virt_libvirt.errors import raise_error
from virtcore.errors import NoSupportError


def virEventRegisterDefaultImpl() -> int:  # noqa: N802
    """Register libvirt's default event loop implementation."""
    raise_error(NoSupportError, "virEventRegisterDefaultImpl")


def virEventRunDefaultImpl() -> int:  # noqa: N802
    """Run one iteration of the default event loop."""
    raise_error(NoSupportError, "virEventRunDefaultImpl")


def virEventRegisterImpl(  # noqa: N802
    addHandle: Any,  # noqa: N803
    updateHandle: Any,  # noqa: N803
    removeHandle: Any,  # noqa: N803
    addTimeout: Any,  # noqa: N803
    updateTimeout: Any,  # noqa: N803
    removeTimeout: Any,  # noqa: N803
) -> None:
    """Register a user event loop's six callbacks."""
    raise_error(NoSupportError, "virEventRegisterImpl")


def virEventAddHandle(fd: int, events: int, cb: Any, opaque: Any) -> int:  # noqa: N802
    """Watch ``fd`` for ``events``; the watch id."""
    raise_error(NoSupportError, "virEventAddHandle")


def virEventUpdateHandle(watch: int, events: int) -> None:  # noqa: N802
    """Change the events a watch waits for."""
    raise_error(NoSupportError, "virEventUpdateHandle")


def virEventRemoveHandle(watch: int) -> int:  # noqa: N802
    """Stop a watch."""
    raise_error(NoSupportError, "virEventRemoveHandle")


def virEventAddTimeout(timeout: int, cb: Any, opaque: Any) -> int:  # noqa: N802
    """A timer firing every ``timeout`` ms (-1: disabled); the timer id."""
    raise_error(NoSupportError, "virEventAddTimeout")


def virEventUpdateTimeout(timer: int, timeout: int) -> None:  # noqa: N802
    """Change a timer's period."""
    raise_error(NoSupportError, "virEventUpdateTimeout")


def virEventRemoveTimeout(timer: int) -> int:  # noqa: N802
    """Remove a timer."""
    raise_error(NoSupportError, "virEventRemoveTimeout")
