"""virt-qemu: virtcore's QEMU driver (real QEMU guests over QMP).

URIs: ``qemu:///embed?root=DIR`` (everything under DIR), ``qemu:///session``
(the user's XDG directories), ``qemu:///system`` (root; /etc, /run, /var).

>>> import virtcore
>>> with virtcore.open("qemu:///embed?root=/tmp/vc") as conn:   # doctest: +SKIP
...     dom = conn.define_domain(xml)
...     dom.start()

Guests are QEMU processes daemonized with their QMP sockets in a runtime
directory; a new process opening the same URI reattaches to them, and a QEMU
that dies is reported SHUTOFF (CRASHED). See :mod:`virt_qemu.host` for the shared
state, and the modules of :data:`PARTS` for the operations.

Only a read-write connection starts autostart domains or holds monitor
connections; read-only ones follow guests through their status files.
Lifecycle events of changes made by other processes may be coalesced but are
never invented, and end on the real state; a process's own changes are
always delivered, once and in order (the README's "Events across processes").
"""

from __future__ import annotations

from pathlib import Path

from virt_qemu.addresses import Addresses
from virt_qemu.agent import Agent
from virt_qemu.connection import Part, QemuConnection, Session
from virt_qemu.definitions import Definitions
from virt_qemu.devices import Devices
from virt_qemu.lifecycle import Lifecycle
from virt_qemu.resources import Resources
from virt_qemu.saving import Saving
from virt_qemu.snapshots import Snapshots
from virtcore.drivers import describe_driver
from virtcore.uri import URI

__all__ = ["open_connection", "PARTS", "console_log", "__version__"]

__version__ = "0.1.0"

#: The plugin classes serving a connection, one per concern (the README's "Where an operation
#: goes"): each implements its hooks itself, on the connection's shared host.
PARTS: tuple[type[Part], ...] = (
    QemuConnection,
    Definitions,
    Lifecycle,
    Saving,
    Snapshots,
    Resources,
    Devices,
    Addresses,
    Agent,
)


def open_connection(uri: URI, read_only: bool) -> list[object]:
    """Entry point (``virtcore.drivers``: ``qemu``): the driver objects for ``uri`` (one per
    concern, sharing one :class:`~virt_qemu.connection.Session`)."""
    from virt_qemu.paths import layout_for

    layout = layout_for(uri)  # validates the URI before anything is created
    session = Session(layout)
    return [part(session) for part in PARTS]


def console_log(domain: object) -> Path:
    """The file receiving the serial console of a ``qemu://`` domain (a :class:`virtcore.Domain`).

    :raises NoSupportError: the domain does not belong to a QEMU connection.
    """
    from virtcore.connection import Domain
    from virtcore.errors import NoSupportError

    if not isinstance(domain, Domain):
        raise NoSupportError("console_log needs a virtcore.Domain")
    for plugin in domain.connection.driver_objects():
        if isinstance(plugin, QemuConnection) and plugin.session.current is not None:
            h = plugin.host
            return h.console_log(h.get(domain.uuid))
    raise NoSupportError("console_log: the domain's connection is not a QEMU connection")


# What ``virtcore drivers`` and the docs show, without opening a connection (opening
# one creates directories, so the driver declares no default URI). Storage pools and
# volumes come from the host's storage driver (``storage:///...``, same path and root)
# when it is installed, virtual networks from the host's network driver (``network:///...``)
# likewise: the core opens them by scheme, nothing here imports them.
#: The ``virtcore.drivers`` entry point (``qemu = "virt_qemu:driver"``).
driver = describe_driver(open_connection, plugin_classes=PARTS, secondary=("storage", "network"))
