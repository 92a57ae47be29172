"""Where a ``storage://`` URI keeps its state, and the lock that serializes its writers.

The layout every secondary driver shares (:mod:`virtcore.hoststate`), in the
``storage`` scheme: ``storage:///embed?root=DIR`` keeps ``DIR/storage/etc`` (pool
definitions) and ``DIR/storage/run`` (active pools' status), so a
``qemu:///embed?root=DIR`` connection and its storage share one root;
``storage:///session`` the user's XDG directories; ``storage:///system``
``/etc/virtcore/storage`` and ``/run/virtcore/storage`` (root only).

Definitions are ``etc/NAME.xml``; autostart is a link ``etc/autostart/NAME.xml``
to it; an active pool has a status file ``run/NAME.xml``. Every change happens
under the layout's :meth:`~virtcore.hoststate.HostDirs.state_lock`, an ``flock``
on ``run/storage.lock``.
"""

from __future__ import annotations

from virtcore.hoststate import HostDirs, host_dirs
from virtcore.uri import URI

__all__ = ["Layout", "layout_for"]

#: The storage driver's directories: the shared layout as is.
Layout = HostDirs


def layout_for(uri: URI) -> Layout:
    """The directories for ``uri`` (``storage:///system?root=D`` keeps them under ``D``, as embed does).

    :raises NoConnectError: a URI this driver does not serve, or ``storage:///system``
        for a non-root user (see :func:`virtcore.hoststate.host_dirs`).
    """
    return host_dirs(uri, "storage", Layout)
