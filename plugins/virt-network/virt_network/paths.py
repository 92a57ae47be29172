"""Where a ``network://`` URI keeps its state, and the lock that serializes its writers.

The layout every secondary driver shares (:mod:`virtcore.hoststate`), in the
``network`` scheme:

* ``network:///embed?root=DIR``: ``DIR/network/etc`` (definitions) and
  ``DIR/network/run`` (running networks' status, dnsmasq's files), so a
  ``qemu:///embed?root=DIR`` connection and its networks share one root.
* ``network:///session``: the user's XDG directories (definitions only: starting
  a network needs root).
* ``network:///system``: ``/etc/virtcore/network`` and ``/run/virtcore/network``
  (root only).

Definitions are ``etc/NAME.xml``; autostart is a link ``etc/autostart/NAME.xml``;
a running network has ``run/NAME.xml`` (its live definition) and ``run/NAME.json``
(what start made on the host, written *before* making it, so that whatever a
killed process left behind can be found and removed). Every change happens
under the layout's :meth:`~virtcore.hoststate.HostDirs.state_lock`, an ``flock``
on ``run/network.lock``.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from virtcore.hoststate import HostDirs, host_dirs
from virtcore.uri import URI

__all__ = ["Layout", "layout_for"]


@attrs.frozen
class Layout(HostDirs):
    """The network driver's directories, with the files of dnsmasq in them."""

    @property
    def dnsmasq(self) -> Path:
        """dnsmasq's configuration, hosts, lease and pid files of the running networks."""
        return self.run / "dnsmasq"

    @property
    def can_run(self) -> bool:
        """Whether networks of this layout may be started: the host's devices need root."""
        return self.kind != "session" and os.geteuid() == 0

    def ensure(self, run_mode: int = 0o711) -> None:
        """Create the directories (the run directory 0711: dnsmasq's user passes through it)."""
        super().ensure(run_mode)


def layout_for(uri: URI) -> Layout:
    """The directories for ``uri`` (``network:///system?root=D`` keeps them under ``D``, as embed does).

    :raises NoConnectError: a URI this driver does not serve, or ``network:///system``
        for a non-root user (see :func:`virtcore.hoststate.host_dirs`).
    """
    return host_dirs(uri, "network", Layout)
