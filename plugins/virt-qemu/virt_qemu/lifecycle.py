"""Running domains' lifecycle: create, start, suspend, resume, shutdown, reboot, reset, NMI, destroy.

Starting itself (launching QEMU, configuring it over QMP) is
:class:`virt_qemu.launching.Launcher`'s, which the host also uses for autostart and
the ``on_crash`` / ``on_poweroff`` restart policies.
"""

from __future__ import annotations

import contextlib
import threading
import time

from virt_qemu.connection import Part
from virt_qemu.hoststate import Dom, domain_event
from virtcore import hookimpl
from virtcore.errors import OperationInvalidError, VirtError
from virtcore.types import DomainEventType, DomainRef, DomainState, PausedReason, RunningReason, StartedDetail
from virtcore.xml import parse_domain

__all__ = ["BOOT_GRACE", "Lifecycle"]

#: Seconds after a start during which an ACPI power button press is repeated (see _power_button).
BOOT_GRACE = 20.0


class Lifecycle(Part):
    """The hooks that start, pause and stop domains."""

    @hookimpl
    def virt_domain_create_xml(self, xml: str) -> DomainRef:
        """Start a transient domain (``virDomainCreateXML``)."""
        h = self.host
        d = parse_domain(xml)
        h.validate(d)
        h.sync()
        dom = h.claim(d)
        with dom.job:
            if dom.active:
                raise OperationInvalidError(f"domain '{d.name}' is already active")
            try:
                self.launcher.launch(dom, d, paused=False, reason=RunningReason.BOOTED)
            except BaseException:
                h.unclaim(dom)
                raise
        h.emit(domain_event(dom.ref, DomainEventType.STARTED, StartedDetail.BOOTED))
        return dom.ref

    @hookimpl
    def virt_domain_create(self, uuid: str) -> bool:
        """Launch QEMU paused, configure it, ``cont``."""
        self.launcher.start(uuid)
        return True

    @hookimpl
    def virt_domain_suspend(self, uuid: str) -> bool:
        """QMP ``stop``."""
        h = self.host
        dom = h.require_active(uuid)
        with dom.job, h.runstates.run_state_held(dom):
            h.runstates.refresh_run_state(dom)  # another process may have paused or resumed it a moment ago
            if dom.state == DomainState.PAUSED:
                raise OperationInvalidError(f"domain '{dom.name}' is already paused")
            if dom.state != DomainState.RUNNING:
                raise OperationInvalidError(f"domain '{dom.name}' is not running")
            h.runstates.own(dom, h.monitor_of(dom), "stop", "STOP")
            h.runstates.transition(dom, DomainState.PAUSED, PausedReason.USER)
        return True

    @hookimpl
    def virt_domain_resume(self, uuid: str) -> bool:
        """QMP ``cont``."""
        h = self.host
        dom = h.require_active(uuid)
        with dom.job, h.runstates.run_state_held(dom):
            h.runstates.refresh_run_state(dom)
            if dom.state != DomainState.PAUSED:
                raise OperationInvalidError(f"domain '{dom.name}' is not paused")
            h.runstates.own(dom, h.monitor_of(dom), "cont", "RESUME")
            h.runstates.transition(dom, DomainState.RUNNING, RunningReason.UNPAUSED)
        return True

    @hookimpl
    def virt_domain_shutdown(self, uuid: str) -> bool:
        """Press the ACPI power button; the guest powers off when it wants."""
        with self.host.active_job(uuid) as dom:
            self._power_button(dom)
        return True

    @hookimpl
    def virt_domain_reboot(self, uuid: str) -> bool:
        """ACPI power button, then reset instead of stopping (libvirt's "fake reboot")."""
        h = self.host
        with h.active_job(uuid) as dom:
            with contextlib.suppress(OSError):
                (h.run_dir(uuid) / "fake-reboot").touch()
            self._power_button(dom)
        return True

    @hookimpl
    def virt_domain_reset(self, uuid: str) -> bool:
        """QMP ``system_reset``; a reboot asked for before is not faked any more (as libvirt)."""
        h = self.host
        with h.active_job(uuid) as dom:
            with contextlib.suppress(OSError):
                (h.run_dir(uuid) / "fake-reboot").unlink()
            h.monitor_of(dom).cmd("system_reset")
        return True

    @hookimpl
    def virt_domain_inject_nmi(self, uuid: str) -> bool:
        """QMP ``inject-nmi``."""
        h = self.host
        with h.active_job(uuid) as dom:
            h.monitor_of(dom).cmd("inject-nmi")
        return True

    def _power_button(self, dom: Dom) -> None:
        """Press the ACPI power button; during early boot, keep pressing until the guest reacts.

        A guest that has not loaded its ACPI button driver yet loses the press
        (the kernel clears pending ACPI events when it enables ACPI). Within
        :data:`BOOT_GRACE` seconds of the start, the press is repeated every
        second until the guest shuts down, the domain stops, or the grace ends.
        """
        mon = self.host.monitor_of(dom)
        dom.powerdown_seen.clear()
        mon.cmd("system_powerdown")
        age = time.monotonic() - dom.started_at
        if age >= BOOT_GRACE:
            return
        token = dom.token

        def repeat() -> None:
            while time.monotonic() - dom.started_at < BOOT_GRACE + 1:
                if dom.powerdown_seen.wait(1.0) or dom.token != token or dom.monitor is not mon:
                    return
                try:
                    mon.cmd("system_powerdown", timeout=5)
                except VirtError:
                    return

        threading.Thread(target=repeat, name="virt-qemu-powerdown", daemon=True).start()

    @hookimpl
    def virt_domain_destroy(self, uuid: str) -> bool:
        """SIGTERM, then SIGKILL, QEMU."""
        h = self.host
        dom = h.get(uuid)
        with dom.job:
            if not dom.active:
                raise OperationInvalidError(f"domain '{dom.name}' is not running")
            h.stopping.stop_process(dom, "destroyed")
        return True
