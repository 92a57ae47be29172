"""virt-remote: virtcore's remote driver (libvirt's RPC protocol to a libvirt daemon).

:mod:`virt_remote.options` reads a remote URI as libvirt does,
:mod:`virt_remote.transport` opens the byte stream it names (a unix socket, the
system ``ssh``, a command, TCP/TLS), and :mod:`virt_remote.daemons` starts real
daemons (libvirtd, sshd) in a temporary directory for tests and benches.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
