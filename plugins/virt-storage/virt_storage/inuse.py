"""Volumes in use: asking the connection's hypervisor driver before a volume's data goes.

The storage driver knows no domains. The core hands every driver of a
connection ``users_of_path`` (:func:`virtcore.hookspecs.virt_connect_open`),
which asks the hypervisor driver(s) which active domains use a path. A
:class:`Users` keeps it for one connection and turns a non-empty answer into
``ResourceBusyError`` naming the volume, its pool and the domains. Without a
hypervisor driver (a bare ``storage:///`` connection) nothing is known to use
anything, as in libvirt.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from virtcore.errors import ErrorDomain, ResourceBusyError

__all__ = ["Users"]

#: ``users_of_path(path) -> [domain name, ...]``, as the core hands it to ``virt_connect_open``.
UsersOfPath = Callable[[str], list[str]]


def _nobody(path: str) -> list[str]:
    return []


class Users:
    """Who uses a volume, on one connection: refuses to let a used volume's data change or go."""

    def __init__(self) -> None:
        self._ask: UsersOfPath = _nobody

    def attach(self, users_of_path: UsersOfPath | None) -> None:
        """Keep the connection's ``users_of_path`` (``None``: nobody uses anything)."""
        self._ask = users_of_path or _nobody

    def check(self, pool: str, volumes: Iterable[tuple[str, str]], doing: str) -> None:
        """Refuse ``doing`` when an active domain uses one of ``volumes`` (``(name, path)`` pairs).

        :raises ResourceBusyError: naming the first volume in use, its pool and every
            domain using it.
        """
        for name, path in volumes:
            users = self._ask(os.path.realpath(path))
            if users:
                who = ", ".join(f"'{u}'" for u in users)
                plural = "s" if len(users) > 1 else ""
                raise ResourceBusyError(
                    f"cannot {doing}: storage volume '{name}' of pool '{pool}' is in use by running"
                    f" domain{plural} {who}",
                    domain=ErrorDomain.STORAGE,
                )
