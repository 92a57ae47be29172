"""A QEMU host's QMP events: routed off the loop thread to the worker, and the guest's own.

:meth:`Events.on_event` runs on the monitors' event loop and never blocks: it hands
run-state changes to :class:`~virt_qemu.runstates.RunStates` and guest events (I/O
errors, block jobs, channels opened or closed) to the worker thread.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import attrs

from virt_qemu import argv as argvmod
from virt_qemu import guestevents
from virt_qemu.hoststate import AGENT_PORT, EOF, SAVE_TIMEOUT, Dom, HostState, agent_channel
from virt_qemu.runstates import RunStates
from virtcore.errors import VirtError
from virtcore.events import AgentLifecycleEvent, AgentLifecycleReason, AgentLifecycleState
from virtcore.types import DomainState, PausedReason
from virtcore.xml import Channel

log = logging.getLogger("virt_qemu")


class Events:
    """The QMP events of this process's monitors, and the libvirt events they become."""

    def __init__(self, host: HostState, runstates: RunStates) -> None:
        self.host = host
        self.runstates = runstates

    def on_event(self, dom: Dom, token: int, name: str, data: dict[str, Any]) -> None:
        """On the loop thread: never block; hand the work to the worker thread."""
        if name in guestevents.QMP_EVENTS:  # in QEMU's order, before the lifecycle they may cause
            self.host.work.put(lambda: self._guest_event(dom, token, name, data))
        if name == "DEVICE_DELETED":
            ev = dom.deleted.get(str(data.get("device", "")))
            if ev is not None:
                ev.set()
            return
        if name == "BALLOON_CHANGE":
            with contextlib.suppress(KeyError, ValueError, TypeError):
                dom.balloon_kib = int(data["actual"]) // 1024
            return
        if name == "VSERPORT_CHANGE":
            port, opened = str(data.get("id", "")), bool(data.get("open"))
            self.host.work.put(lambda: self._port_changed(dom, token, port, opened))
            return
        if name in ("STOP", "RESUME"):
            if not dom.reconcile_queued:  # a burst of them needs one look at QEMU's status
                dom.reconcile_queued = True
                self.host.work.put(lambda: self.runstates.reconcile(dom, token))
        elif name in ("SHUTDOWN", EOF, "GUEST_PANICKED"):
            self.host.work.put(lambda: self.runstates.handle(dom, token, name, data))

    def _guest_event(self, dom: Dom, token: int, name: str, data: dict[str, Any]) -> None:
        """On the worker, after a QMP event of :data:`guestevents.QMP_EVENTS`: emit its records."""
        if token != dom.token or not dom.active:
            return
        starting = dom.state == DomainState.PAUSED and dom.reason == PausedReason.STARTING_UP
        recs = guestevents.records(
            dom.ref,
            dom.live,
            name,
            data,
            starting_up=starting,
            disk=lambda dev, node: self._disk_of(dom, dev, node),
        )
        for rec in recs:
            self.host.emit(rec)

    def _disk_of(self, dom: Dom, device: str, node: str) -> tuple[str, str]:
        """The ``(source, alias)`` of the disk QEMU calls ``device`` (its qdev id) or ``node``
        (the node name at its top); ``("", "")`` when none is known, as libvirt reports it."""
        alias = device
        if not alias and node.startswith("hp-") and node.endswith("-format"):
            alias = node[3 : -len("-format")]  # a hot-plugged disk's node (virt_qemu.devices)
        elif not alias and node and dom.monitor is not None:
            try:
                for b in dom.monitor.cmd("query-block", timeout=5):
                    qdev = str(b.get("qdev", ""))
                    if (b.get("inserted") or {}).get("node-name") == node and qdev.startswith(
                        "/machine/peripheral/"
                    ):
                        alias = qdev.split("/")[3]
                        break
            except VirtError as exc:
                log.debug("cannot tell which disk node %s is: %s", node, exc)
        d = dom.live
        if alias and d is not None:
            for i, disk in enumerate(d.disks):
                if argvmod.disk_alias(disk, i) == alias:
                    return disk.source or "", alias
        return "", ""

    def agent_event(self, dom: Dom, reason: int) -> None:
        """Emit AGENT_LIFECYCLE for the guest agent's channel as the live XML has it (none: no event)."""
        chan = agent_channel(dom.live) if dom.live is not None else None
        state = {"connected": AgentLifecycleState.CONNECTED, "disconnected": AgentLifecycleState.DISCONNECTED}
        if chan is not None and chan.target_state in state:
            self.host.emit(AgentLifecycleEvent(dom.ref, state[chan.target_state], reason))

    def _port_changed(self, dom: Dom, token: int, port: str, opened: bool) -> None:
        """On the worker, after ``VSERPORT_CHANGE``: the guest opened or closed a channel
        (``channelN``); the live XML's ``<target state=...>`` says so."""
        if not dom.job.acquire(timeout=SAVE_TIMEOUT):
            return
        try:
            d = dom.live
            if token != dom.token or not dom.active or d is None or not port.startswith("channel"):
                return
            state = "connected" if opened else "disconnected"
            devices, n = [], 0
            agent_changed = False
            for dev in d.devices:
                if isinstance(dev, Channel):
                    if f"channel{n}" == port and dev.target_state != state:
                        dev = attrs.evolve(dev, target_state=state)
                        agent_changed = dev.target_type == "virtio" and dev.target_name == AGENT_PORT
                    n += 1
                devices.append(dev)
            dom.live = attrs.evolve(d, devices=tuple(devices), raw=d.raw)
            self.host.write_status(dom)
            self.host.bump()
        finally:
            dom.job.release()
        if agent_changed:
            self.agent_event(dom, AgentLifecycleReason.CHANNEL)
