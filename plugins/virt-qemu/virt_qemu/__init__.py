"""virt-qemu: virtcore's QEMU driver (real QEMU guests over QMP).

URIs: ``qemu:///embed?root=DIR`` (everything under DIR), ``qemu:///session``
(the user's XDG directories), ``qemu:///system`` (root; /etc, /run, /var).

>>> import virtcore
>>> with virtcore.open("qemu:///embed?root=/tmp/vc") as conn:   # doctest: +SKIP
...     dom = conn.define_domain(xml)
...     dom.start()

Guests are QEMU processes daemonized with their QMP sockets in a runtime
directory; a new process opening the same URI reattaches to them, and a QEMU
that dies is reported SHUTOFF (CRASHED). See :mod:`virt_qemu.host`.

Only a read-write connection starts autostart domains or holds monitor
connections; read-only ones follow guests through their status files.
Lifecycle events of changes made by other processes may be coalesced but are
never invented, and end on the real state; a process's own changes are
always delivered, once and in order (the README's "Events across processes").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from virtcore import hookimpl
from virtcore.drivers import describe_driver
from virtcore.errors import NoDomainError
from virtcore.types import DomainEvent, DomainInfo, DomainRef, DomainState, NodeInfo
from virtcore.uri import URI

__all__ = ["open_connection", "QemuDriver", "console_log", "__version__"]

__version__ = "0.1.0"


def open_connection(uri: URI, read_only: bool) -> list[object]:
    """Entry point (``virtcore.drivers``: ``qemu``): the driver object for ``uri``."""
    from virt_qemu.paths import layout_for

    layout = layout_for(uri)  # validates the URI before anything is created
    return [QemuDriver(layout)]


class QemuDriver:
    """The hook implementations of one ``qemu://`` connection (state is shared per process)."""

    def __init__(self, layout: object) -> None:
        from virt_qemu.paths import Layout

        assert isinstance(layout, Layout)
        self._layout = layout
        self._host: object | None = None
        self._emit: Callable[[DomainEvent], None] | None = None
        self._read_only = True

    @property
    def host(self):  # type: ignore[no-untyped-def]
        """The shared :class:`virt_qemu.host.Host` (internal API)."""
        return self._host

    # -- connection -----------------------------------------------------------------

    @hookimpl
    def virt_connect_open(self, uri: URI, read_only: bool, emit: Callable[[DomainEvent], None]) -> None:
        """Attach to the URI's state (reattaching to running guests).

        A read-write connection takes monitor connections to running guests and
        starts autostart domains once per host boot; a read-only one does neither.
        """
        from virt_qemu.host import get_host

        h = get_host(self._layout)
        self._host = h
        self._emit = emit
        self._read_only = read_only
        h.emitters.append(emit)
        self._bind(h)
        h.open_client(read_only)  # on failure the core closes us (virt_connect_close)

    def _bind(self, h: object) -> None:
        from virt_qemu.host import Host

        assert isinstance(h, Host)
        self._h: Host = h
        self._doms = h.doms

    @hookimpl
    def virt_connect_close(self) -> None:
        """Detach; guests keep running."""
        h = getattr(self, "_h", None)
        if h is None:
            return
        if self._emit is not None:
            try:
                h.emitters.remove(self._emit)
            except ValueError:
                pass
        del self._h
        h.close_client(self._read_only)
        h.release()
        self._host = None

    @hookimpl
    def virt_connect_get_type(self) -> str:
        """``"QEMU"``."""
        return "QEMU"

    @hookimpl
    def virt_connect_get_version(self) -> int:
        """The version of the host architecture's QEMU binary."""
        from virt_qemu.caps import binary_for_arch, host_arch

        path = binary_for_arch(host_arch())
        if path is None:
            return 0
        return int(self._h.caps.get(path).version)

    @hookimpl
    def virt_connect_get_hostname(self) -> str:
        """The host's name."""
        from virt_qemu.caps import hostname

        return hostname()

    @hookimpl
    def virt_connect_get_capabilities(self) -> str:
        """libvirt capabilities XML from the probed binaries."""
        from concurrent.futures import ThreadPoolExecutor

        from virt_qemu.caps import capabilities_xml

        caps = self._h.caps
        with ThreadPoolExecutor(max_workers=1) as pool:  # the KVM probe overlaps the binary probes
            kvm = pool.submit(caps.kvm)
            binaries = caps.all()
            return capabilities_xml(binaries, kvm.result())

    @hookimpl
    def virt_node_get_info(self) -> NodeInfo:
        """The host's CPUs and memory."""
        return self._h.node_info()

    # -- discovery -------------------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_domains(self, active: bool | None) -> list[DomainRef]:
        """Every domain under this URI's directories."""
        return self._h.list_refs(active)

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        """The domain called ``name``."""
        return self._h.by_name_get(name).ref

    @hookimpl
    def virt_domain_lookup_by_uuid(self, uuid: str) -> DomainRef:
        """The domain with this UUID."""
        return self._h.get(uuid).ref

    @hookimpl
    def virt_domain_lookup_by_id(self, id: int) -> DomainRef:  # noqa: A002 - libvirt's name
        """The active domain with this id."""
        h = self._h
        h.sync()
        for dom in list(h.doms.values()):
            if dom.active and dom.id == id:
                return dom.ref
        raise NoDomainError(f"no domain with matching id {id}")

    @hookimpl
    def virt_domain_is_persistent(self, uuid: str) -> bool:
        """Whether a persistent definition exists."""
        return self._h.is_persistent(uuid)

    # -- lifecycle -----------------------------------------------------------------------

    @hookimpl
    def virt_domain_define_xml(self, xml: str) -> DomainRef:
        """Write the persistent definition (atomically)."""
        return self._h.define(xml)

    @hookimpl
    def virt_domain_create_xml(self, xml: str) -> DomainRef:
        """Start a transient domain."""
        return self._h.create(xml)

    @hookimpl
    def virt_domain_undefine(self, uuid: str) -> bool:
        """Remove the persistent definition."""
        self._h.undefine(uuid)
        return True

    @hookimpl
    def virt_domain_create(self, uuid: str) -> bool:
        """Launch QEMU paused, configure it, ``cont``."""
        self._h.start(uuid)
        return True

    @hookimpl
    def virt_domain_suspend(self, uuid: str) -> bool:
        """QMP ``stop``."""
        self._h.suspend(uuid)
        return True

    @hookimpl
    def virt_domain_resume(self, uuid: str) -> bool:
        """QMP ``cont``."""
        self._h.resume(uuid)
        return True

    @hookimpl
    def virt_domain_shutdown(self, uuid: str) -> bool:
        """Press the ACPI power button; the guest powers off when it wants."""
        self._h.shutdown(uuid)
        return True

    @hookimpl
    def virt_domain_reboot(self, uuid: str) -> bool:
        """ACPI power button, then reset instead of stopping (libvirt's "fake reboot")."""
        self._h.reboot(uuid)
        return True

    @hookimpl
    def virt_domain_destroy(self, uuid: str) -> bool:
        """SIGTERM, then SIGKILL, QEMU."""
        self._h.destroy(uuid)
        return True

    @hookimpl
    def virt_domain_save(self, uuid: str, path: str) -> bool:
        """Migrate the paused guest to ``path`` (after a header holding its XML)."""
        self._h.save(uuid, path)
        return True

    @hookimpl
    def virt_domain_restore(self, path: str) -> DomainRef:
        """Start QEMU with an incoming migration from the save file."""
        return self._h.restore(path)

    # -- state and resources ---------------------------------------------------------------

    @hookimpl
    def virt_domain_get_info(self, uuid: str) -> DomainInfo:
        """State, memory (balloon), vCPUs, CPU time of the QEMU process."""
        return self._h.info(uuid)

    @hookimpl
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int]:
        """``(state, reason)`` from memory (kept current by QMP events, or by the shared
        generation and ``status.xml`` in a process with only read-only connections)."""
        dom = self._h.current(uuid)
        return dom.state, dom.reason

    @hookimpl
    def virt_domain_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        """The live or persistent XML."""
        return self._h.xml_desc(uuid, inactive)

    @hookimpl
    def virt_domain_set_memory(self, uuid: str, memory: int) -> bool:
        """Balloon target (live) or currentMemory (inactive)."""
        self._h.set_memory(uuid, memory)
        return True

    @hookimpl
    def virt_domain_set_max_memory(self, uuid: str, memory: int) -> bool:
        """Maximum memory of an inactive domain."""
        self._h.set_max_memory(uuid, memory)
        return True

    @hookimpl
    def virt_domain_set_vcpus(self, uuid: str, count: int) -> bool:
        """Current vCPUs of an inactive domain."""
        self._h.set_vcpus(uuid, count)
        return True

    @hookimpl
    def virt_domain_get_autostart(self, uuid: str) -> bool:
        """Whether the autostart mark exists."""
        return self._h.autostart(uuid)

    @hookimpl
    def virt_domain_set_autostart(self, uuid: str, autostart: bool) -> bool:
        """Create or remove the autostart mark."""
        self._h.set_autostart(uuid, autostart)
        return True

    @hookimpl
    def virt_domain_attach_device(self, uuid: str, xml: str) -> bool:
        """Hot-plug (active) or add to the definition (inactive) a disk or interface."""
        self._h.attach(uuid, xml)
        return True

    @hookimpl
    def virt_domain_detach_device(self, uuid: str, xml: str) -> bool:
        """Hot-unplug (waits for the guest) or remove from the definition."""
        self._h.detach(uuid, xml)
        return True

    @hookimpl
    def virt_domain_block_stats(self, uuid: str, device: str) -> tuple[int, int, int, int, int]:
        """QMP ``query-blockstats`` for the disk with target ``device``."""
        return self._h.block_stats(uuid, device)

    @hookimpl
    def virt_domain_interface_stats(
        self, uuid: str, device: str
    ) -> tuple[int, int, int, int, int, int, int, int]:
        """Host-side counters of a tap interface."""
        return self._h.interface_stats(uuid, device)


def console_log(domain: object) -> Path:
    """The file receiving the serial console of a ``qemu://`` domain (a :class:`virtcore.Domain`).

    :raises NoSupportError: the domain does not belong to a QEMU connection.
    """
    from virtcore.connection import Domain
    from virtcore.errors import NoSupportError

    if not isinstance(domain, Domain):
        raise NoSupportError("console_log needs a virtcore.Domain")
    for plugin in domain.connection.driver_objects():
        if isinstance(plugin, QemuDriver) and getattr(plugin, "_h", None) is not None:
            h = plugin._h
            return h.console_log(h.get(domain.uuid))
    raise NoSupportError("console_log: the domain's connection is not a QEMU connection")


# What ``virtcore drivers`` and the docs show, without opening a connection (opening
# one creates directories, so the driver declares no default URI).
#: The ``virtcore.drivers`` entry point (``qemu = "virt_qemu:driver"``).
driver = describe_driver(open_connection, plugin_classes=[QemuDriver])
