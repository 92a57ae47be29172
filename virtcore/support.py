"""What a driver supports, read from the plugin classes it declares, without opening a connection.

Apart from :mod:`virtcore.drivers` because it needs :data:`virtcore.connection.OPERATIONS`,
and the connection needs driver discovery: neither imports the other's user.
"""

from __future__ import annotations

from collections.abc import Iterable

from virtcore.connection import OPERATIONS
from virtcore.drivers import _HOOK_PREFIX, hook_names

__all__ = ["static_operations"]


def static_operations(classes: Iterable[type]) -> frozenset[str]:
    """Operations (hook names without ``virt_``) some of ``classes`` implement.

    What a driver supports, read from its declared plugin classes without
    opening a connection; internal hooks (connect open/close, events) are not
    operations.
    """
    names = set()
    for cls in classes:
        names |= {n[len(_HOOK_PREFIX) :] for n in hook_names(cls)}
    return frozenset(n for n in names if n in OPERATIONS)
