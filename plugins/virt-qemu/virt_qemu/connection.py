"""One ``qemu://`` connection: its link to the shared :class:`~virt_qemu.host.Host`, and the
hooks of the connection itself (open, close, host facts) and of finding domains.

A connection is served by several plugin objects, one per concern (see the
README's "Where an operation goes"); they are all :class:`Part` subclasses
sharing one :class:`Session`, which holds the process-wide host while the
connection is open.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from virt_qemu.caps import binary_for_arch, capabilities_xml, host_arch, hostname
from virt_qemu.host import Host, get_host
from virt_qemu.inuse import paths_in_use
from virt_qemu.launching import Launcher
from virt_qemu.paths import Layout
from virt_qemu.volumes import Resolve
from virtcore import hookimpl
from virtcore.errors import InvalidConnError, NoDomainError
from virtcore.events import AnyDomainEvent
from virtcore.network import BridgeResolver
from virtcore.types import DomainRef
from virtcore.uri import URI

__all__ = ["Part", "QemuConnection", "Session"]


class Session:
    """What the parts of one connection share: its layout and, while open, the host."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.read_only = True
        self.emit: Callable[[AnyDomainEvent], None] | None = None
        #: The shared host of this connection's URI while the connection is open, else None
        #: (the parts use :attr:`Part.host`).
        self.current: Host | None = None
        #: This connection's ``resolve_volume(pool, volume) -> path`` (its storage), while open.
        self.resolve_volume: Resolve | None = None
        #: This connection's ``resolve_network(name) -> bridge`` (its networks), while open.
        self.resolve_network: BridgeResolver | None = None
        #: The launcher this connection lent the host for autostart and restarts, while open.
        self.starter: Launcher | None = None

    def open(
        self,
        read_only: bool,
        emit: Callable[[AnyDomainEvent], None],
        resolve_volume: Resolve | None = None,
        resolve_network: BridgeResolver | None = None,
    ) -> None:
        """Take a reference to the host and register as a client of it."""
        h = get_host(self.layout)
        self.current = h
        self.emit = emit
        self.read_only = read_only
        self.resolve_volume = resolve_volume
        self.resolve_network = resolve_network
        self.starter = Launcher(h, resolve_volume, resolve_network)
        h.emitters.append(emit)
        h.open_client(read_only, self.starter)  # on failure the core closes us

    def close(self) -> None:
        """Undo :meth:`open` (idempotent); guests keep running."""
        h, self.current = self.current, None
        self.resolve_volume = None
        self.resolve_network = None
        if h is None:
            return
        if self.emit is not None:
            try:
                h.emitters.remove(self.emit)
            except ValueError:
                pass
        h.close_client(self.read_only, self.starter)
        self.starter = None
        h.release()


class Part:
    """Base of the plugin objects serving one connection: each implements the hooks of one concern."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def host(self) -> Host:
        """The shared host of the connection's URI (internal API).

        :raises InvalidConnError: the connection is not open (or is closed).
        """
        h = self.session.current
        if h is None:
            raise InvalidConnError(f"the qemu connection to {self.session.layout.key} is not open")
        return h

    @property
    def launcher(self) -> Launcher:
        """What starts QEMU for the host's domains."""
        return Launcher(self.host, self.session.resolve_volume, self.session.resolve_network)


class QemuConnection(Part):
    """The connection's own hooks (open, close, hypervisor facts) and domain discovery."""

    # trylast: the secondary (storage, network) drivers are open before autostart resolves
    # volume disks and networks.
    @hookimpl(trylast=True)
    def virt_connect_open(
        self,
        uri: URI,
        read_only: bool,
        emit: Callable[[AnyDomainEvent], None],
        resolve_volume: Resolve,
        resolve_network: BridgeResolver,
    ) -> None:
        """Attach to the URI's state (reattaching to running guests).

        A read-write connection takes monitor connections to running guests and
        starts autostart domains once per host boot; a read-only one does neither.
        ``resolve_volume`` and ``resolve_network`` are kept for this connection:
        they resolve the disks of ``type='volume'`` and the bridges of the
        ``<interface type='network'>`` of the domains it starts.
        """
        self.session.open(read_only, emit, resolve_volume, resolve_network)

    @hookimpl
    def virt_connect_close(self) -> None:
        """Detach; guests keep running."""
        self.session.close()

    @hookimpl
    def virt_domain_users_of_path(self, path: str) -> list[str]:
        """The running domains (of every process sharing the state) using ``path`` (see inuse)."""
        h = self.host
        h.sync()
        with h.lock:
            running = [(d.name, d.uuid, d.live) for d in h.doms.values() if d.active and d.live is not None]
        real = os.path.realpath(path)
        return sorted(
            name
            for name, uuid, live in running
            if live is not None and real in paths_in_use(live, h.run_dir(uuid))
        )

    @hookimpl
    def virt_connect_get_type(self) -> str:
        """``"QEMU"``."""
        return "QEMU"

    @hookimpl
    def virt_connect_get_version(self) -> int:
        """The version of the host architecture's QEMU binary."""
        path = binary_for_arch(host_arch())
        if path is None:
            return 0
        return int(self.host.caps.get(path).version)

    @hookimpl
    def virt_connect_get_hostname(self) -> str:
        """The host's name."""
        return hostname()

    @hookimpl
    def virt_connect_get_capabilities(self) -> str:
        """libvirt capabilities XML from the probed binaries."""
        # Imported here: concurrent.futures costs an open of qemu:// ~7 ms when nothing else needs it.
        from concurrent.futures import ThreadPoolExecutor

        caps = self.host.caps
        with ThreadPoolExecutor(max_workers=1) as pool:  # the KVM probe overlaps the binary probes
            kvm = pool.submit(caps.kvm)
            binaries = caps.all()
            return capabilities_xml(binaries, kvm.result())

    # -- discovery -------------------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_domains(self, active: bool | None) -> list[DomainRef]:
        """Every domain under this URI's directories."""
        return self.host.list_refs(active)

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        """The domain called ``name``."""
        return self.host.by_name_get(name).ref

    @hookimpl
    def virt_domain_lookup_by_uuid(self, uuid: str) -> DomainRef:
        """The domain with this UUID."""
        return self.host.get(uuid).ref

    @hookimpl
    def virt_domain_lookup_by_id(self, id: int) -> DomainRef:  # noqa: A002 - libvirt's name
        """The active domain with this id."""
        h = self.host
        h.sync()
        for dom in list(h.doms.values()):
            if dom.active and dom.id == id:
                return dom.ref
        raise NoDomainError(f"no domain with matching id {id}")
