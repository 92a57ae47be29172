"""virt-remote: virtcore's remote driver (libvirt's RPC protocol to a libvirt daemon).

Every URI naming a transport or a host comes here (the core routes it, as
libvirt does): ``test+unix:///default?socket=PATH``,
``qemu+ssh://root@host/system?keyfile=KEY``, ``qemu+tls://host/system``,
``qemu+ext:///system?command=PROGRAM``. :mod:`virt_remote.options` reads the
URI as libvirt does, :mod:`virt_remote.transport` opens the byte stream,
:mod:`virt_remote.client` speaks the protocol (asyncio, usable directly for
many hosts at once), :mod:`virt_remote.driver` maps the core's hooks to its
procedures, and :mod:`virt_remote.daemons` starts real daemons (libvirtd,
sshd) in a temporary directory for tests and benches.
"""

from __future__ import annotations

from virt_remote import client as _client
from virt_remote import loop
from virt_remote.client import RemoteClient
from virt_remote.driver import RemoteDriver
from virt_remote.options import parse_options
from virtcore.drivers import describe_driver
from virtcore.uri import URI

__all__ = ["RemoteClient", "RemoteDriver", "driver", "open_connection", "set_keepalive", "__version__"]

__version__ = "0.1.0"

_keepalive: tuple[float, int] = (_client.KEEPALIVE_INTERVAL, _client.KEEPALIVE_COUNT)


def set_keepalive(interval: float, count: int) -> None:
    """libvirt's ``virConnectSetKeepAlive`` for the connections opened from now on (process-wide).

    A ping after each ``interval`` seconds without a word from the daemon; after
    ``count`` unanswered pings the connection is dead and every call on it fails
    with ``RPCError``. ``interval <= 0`` turns keepalive off.
    """
    global _keepalive
    _keepalive = (float(interval), int(count))


def open_connection(uri: URI, read_only: bool) -> list[object]:
    """Connect to the daemon ``uri`` names and open its URI there.

    :raises InvalidArgError: a URI libvirt would refuse (see :mod:`virt_remote.options`).
    :raises SystemError_: the daemon cannot be reached.
    :raises VirtError: what the daemon answered (``NO_CONNECT`` for a URI it does not serve).
    """
    opts = parse_options(uri, read_only)
    holder: list[RemoteDriver] = []

    def on_event(proc: object, value: object) -> None:
        if holder:
            holder[0].on_event(proc, value)  # type: ignore[arg-type]

    remote = loop.run(RemoteClient.open(opts, keepalive=_keepalive, on_event=on_event, direct_reads=True))
    plugin = RemoteDriver(opts, remote)
    holder.append(plugin)
    return [plugin]


driver = describe_driver(open_connection, plugin_classes=[RemoteDriver])
