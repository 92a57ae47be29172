"""virt-xen: virtcore's Xen driver (``xen:///system``), one connection over several channels.

>>> import virtcore
>>> with virtcore.open("xen:///system") as conn:          # doctest: +SKIP
...     print([d.name for d in conn.list_domains()])

Each channel is its own plugin object in the connection's pluggy manager
(see :mod:`virt_xen._channels`): XenStore (fast read-only lookups of running
domains, through pyxs), direct hypercalls (``info()`` and ``state()`` of live
domains through ``/dev/xen/privcmd``, no xl process; left out where privcmd is not
accessible or Xen is not 4.17), the ``xl`` toolstack (lifecycle), hypervisor info
(``xl info``) and persistent definitions (domain XML files: xl has no
"defined" domains). A channel that cannot answer declines and the next one
answers. A read-only connection needs only XenStore: where ``xl`` is not
accessible (an unprivileged user), lookups and listing still work.

URIs: ``xen:///system`` (definitions in ``/etc/virtcore/xen``, runtime state in
``/run/virtcore/xen``), ``xen:///`` (the same). Query parameters:
``root=DIR`` keeps everything under DIR (tests, embedding); ``xl=PATH`` names the
xl binary; ``xenstore=PATH`` xenstored's socket; ``hypercalls=0`` leaves out the
hypercall channel (``info()``/``state()`` through xl alone).

Events: besides the events of operations done through the connection, a XenStore watch
(``@introduceDomain`` / ``@releaseDomain``, one background thread per connection, stopped
on close) reports domains started or stopped behind its back, with the shutdown reason
(poweroff, crash, save) that ``xl``'s monitor logged (see :mod:`virt_xen._events`).

Devices: disks and interfaces attach and detach live (``xl block-attach`` /
``network-attach``) or in the persistent definition of an inactive domain; block and
interface statistics come from the backends' counters in dom0's sysfs. ``info()``
reports BLOCKED when Xen says every vCPU of the domain waits (an idle guest, ``-b----`` in
``xl list``);
``state()`` keeps the lifecycle state, RUNNING.

Native formats: :mod:`virt_xen.native` (``xen-xl``, ``xen-xm``, ``xen-sxpr``), offered as
the driver's ``domain_xml_to_native`` / ``domain_xml_from_native`` operations by
:class:`NativeFormats`, which needs no connection (``virtcore domxml-to-native`` without a
URI uses it too).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from virt_xen._channels import (
    DefinitionsChannel,
    HypercallChannel,
    HypervisorChannel,
    ToolstackChannel,
    XenContext,
    XenStoreChannel,
)
from virt_xen._events import DomainWatcher
from virt_xen._privcmd import Privcmd
from virt_xen._store import ConfigStore
from virt_xen._xenstore import XenStore
from virt_xen._xl import Xl, find_xl
from virt_xen.native import FORMATS, domxml_from_native, domxml_to_native
from virtcore import hookimpl
from virtcore.drivers import describe_driver
from virtcore.errors import NoConnectError
from virtcore.types import DomainEvent
from virtcore.uri import URI

__all__ = [
    "open_connection",
    "NativeFormats",
    "FORMATS",
    "domxml_to_native",
    "domxml_from_native",
    "SYSTEM_CONFIG_DIR",
    "SYSTEM_RUN_DIR",
]

__version__ = "0.1.0"

#: Where ``xen:///system`` keeps persistent definitions.
SYSTEM_CONFIG_DIR = Path("/etc/virtcore/xen")
#: Where ``xen:///system`` keeps runtime status.
SYSTEM_RUN_DIR = Path("/run/virtcore/xen")


def _toolstack_accessible(xl_path: str | None, explicit: bool) -> bool:
    if not xl_path or not os.access(xl_path, os.X_OK):
        return False
    if explicit:
        return True
    # xl talks to the hypervisor through privcmd: root (or a granted user) only
    return any(os.access(p, os.R_OK | os.W_OK) for p in ("/dev/xen/privcmd", "/proc/xen/privcmd"))


class NativeFormats:
    """The native config formats (``xen-xl``, ``xen-xm``; ``xen-sxpr`` read only).

    Connection independent: every connection gets one, and the core makes one
    without a connection for offline conversion.
    """

    @hookimpl
    def virt_connect_domain_xml_to_native(self, native_format: str, xml: str) -> str | None:
        """``xl.cfg`` or ``xm`` text for the domain XML; ``None`` for a format that is not Xen's."""
        if native_format not in FORMATS:
            return None
        return domxml_to_native(native_format, xml)

    @hookimpl
    def virt_connect_domain_xml_from_native(self, native_format: str, config: str) -> str | None:
        """Domain XML for a Xen config; ``None`` for a format that is not Xen's."""
        if native_format not in FORMATS:
            return None
        return domxml_from_native(native_format, config)


class _Opener:
    """Receives ``emit`` at connect time and hands it to the shared context; starts and
    stops the XenStore watcher that reports changes made behind the connection's back."""

    def __init__(self, ctx: XenContext) -> None:
        self.ctx = ctx
        self.watcher: DomainWatcher | None = None

    @hookimpl
    def virt_connect_open(
        self,
        uri: URI,
        read_only: bool,
        emit: Callable[[DomainEvent], None],
        resolve_volume: Callable[[str, str], str],
    ) -> None:
        self.ctx.emit = emit
        self.ctx.resolve_volume = resolve_volume
        xs = self.ctx.xs
        if xs is None:
            return
        with self.ctx.lock:
            self.ctx.known = {d.uuid: d for d in xs.domains() if d.domid != 0}
        watcher = DomainWatcher(self.ctx)
        if watcher.start(xs.socket_path):
            self.watcher = watcher

    @hookimpl
    def virt_connect_close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None


def open_connection(uri: URI, read_only: bool) -> list[object]:
    """Entry point (``virtcore.drivers``: ``xen``): the channels serving ``uri``.

    :raises NoConnectError: the URI is not one this driver serves, or neither
        XenStore nor the toolstack is reachable.
    """
    if uri.host not in (None, "", "localhost") or uri.transport not in (None, "unix"):
        raise NoConnectError(f"URI {uri.text!r} (virt-xen manages the local host only)")
    if uri.path not in ("", "/", "/system"):
        raise NoConnectError(f"URI {uri.text!r} (virt-xen serves xen:///system)")
    root = uri.params.get("root")
    if root:
        base = Path(root)
        store = ConfigStore(base / "etc", base / "run")
    else:
        store = ConfigStore(SYSTEM_CONFIG_DIR, SYSTEM_RUN_DIR)
    explicit_xl = uri.params.get("xl")
    xl_path = find_xl(explicit_xl)
    xl = Xl(xl_path) if xl_path and _toolstack_accessible(xl_path, bool(explicit_xl)) else None
    xs = XenStore.connect(uri.params.get("xenstore"))
    if xl is None and xs is None:
        raise NoConnectError(
            f"URI {uri.text!r} (neither the xl toolstack nor XenStore is accessible: is this a Xen dom0?)"
        )
    if xl is None and not read_only:
        if xs is not None:
            xs.close()
        raise NoConnectError(
            f"URI {uri.text!r} (the xl toolstack is not accessible; open the connection read-only "
            "to use XenStore alone)"
        )
    ctx = XenContext(uri=uri, read_only=read_only, store=store, xl=xl, xs=xs)
    # Registration order matters within a priority class: among plain hooks the last
    # registered is asked first; among trylast hooks the *first* registered is. So:
    # XenStore before definitions (its trylast fallbacks come before the definitions').
    objects: list[object] = [_Opener(ctx), NativeFormats()]
    if xs is not None:
        objects.append(XenStoreChannel(ctx))
    objects += [DefinitionsChannel(ctx), HypervisorChannel(ctx)]
    if xl is not None:
        objects.append(ToolstackChannel(ctx))
    # direct hypercalls for info()/state() (tryfirst, so asked before the toolstack);
    # absent when privcmd is not accessible or the hypervisor is not one it speaks
    privcmd = None if uri.params.get("hypercalls") == "0" else Privcmd.open()
    if privcmd is not None:
        ctx.hv = HypercallChannel(ctx, privcmd)
        objects.append(ctx.hv)
    return objects


# Every channel a connection may get (which ones it gets depends on the host): what
# ``virtcore drivers`` and the docs show, without opening a connection. Storage pools
# and volumes come from the host's storage driver (``storage:///system``) when it is
# installed, and virtual networks from its network driver (``network:///system``) likewise:
# the core opens them by scheme, nothing here imports them.
#: The ``virtcore.drivers`` entry point (``xen = "virt_xen:driver"``).
driver = describe_driver(
    open_connection,
    plugin_classes=[
        _Opener,
        NativeFormats,
        XenStoreChannel,
        DefinitionsChannel,
        HypervisorChannel,
        ToolstackChannel,
        HypercallChannel,
    ],
    secondary=("storage", "network"),
)
