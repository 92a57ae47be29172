"""Launching QEMU: from a domain definition to a configured, running (or paused) process.

A :class:`Launcher` works for one :class:`~virt_qemu.host.Host`: it resolves the
emulator, accelerator and machine, prepares the runtime directory and the
pre-bound QMP sockets, runs QEMU ``-S -daemonize`` with the argv of
:mod:`virt_qemu.argv`, connects its monitor while QEMU initializes, configures
it (incoming migration, pty paths, balloon) and ``cont``. The host hands it
autostart and the restart policies (:class:`~virt_qemu.host.Starter`); the
parts call :meth:`Launcher.start` and :meth:`Launcher.launch`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from virt_qemu import argv as argvmod
from virt_qemu.affinity import apply_vcpu_pins
from virt_qemu.caps import BinaryCaps, binary_for_arch, host_arch
from virt_qemu.host import Host
from virt_qemu.hoststate import (
    MONITOR_SLOTS,
    SAVE_TIMEOUT,
    START_TIMEOUT,
    Dom,
    channel_states,
    domain_event,
)
from virt_qemu.inuse import record_volumes
from virt_qemu.netifaces import attach_taps, name_taps, resolve_bridges
from virt_qemu.paths import FileLock
from virt_qemu.process import (
    bind_listen,
    cmdline_has,
    connect_unix,
    free_vnc_port,
    kill_painfully,
    log_tail,
    wait_child,
)
from virt_qemu.volumes import Resolve, ResolvedVolume, resolve_volumes
from virtcore.errors import (
    ConfigUnsupportedError,
    OperationFailedError,
    OperationInvalidError,
    OperationTimeoutError,
    SystemError_,
    VirtError,
)
from virtcore.events import AgentLifecycleReason
from virtcore.network import BridgeResolver
from virtcore.types import DomainEventType, DomainState, PausedReason, RunningReason, StartedDetail
from virtcore.xml import Channel, DomainDef, Interface, Serial

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor

__all__ = ["ImageLoadError", "LOAD_FAILED", "Launcher"]

log = logging.getLogger("virt_qemu")

LOAD_FAILED = "QEMU could not load it and exited (its migration stream is corrupt or truncated)"


class ImageLoadError(OperationFailedError):
    """QEMU started for a restore could not load the saved state (the image's fault)."""


@attrs.define
class _Launch:
    proc: subprocess.Popen[bytes]
    pid: int


class Launcher:
    """Starts QEMU for the domains of one host (see the module)."""

    def __init__(
        self, host: Host, resolve_volume: Resolve | None = None, resolve_network: BridgeResolver | None = None
    ) -> None:
        self.host = host
        #: The connection's ``resolve_volume`` (volume disks); ``None``: it has none.
        self.resolve_volume = resolve_volume
        #: The connection's ``resolve_network`` (``type='network'`` NICs); ``None``: it has none.
        self.resolve_network = resolve_network

    def autostart(self) -> None:
        """Start autostart domains once per host boot (the first process after boot does it)."""
        try:
            boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        except OSError:
            return
        marker = self.host.layout.run / "autostarted"
        lock = FileLock(self.host.layout.run / "autostart.lock")
        if not lock.try_acquire():
            return
        try:
            try:
                if marker.read_text().strip() == boot:
                    return
            except OSError:
                pass
            with contextlib.suppress(OSError):
                marker.write_text(boot)
            for entry in sorted(os.listdir(self.host.layout.config / "autostart")):
                dom = self.host.doms.get(entry)
                if dom is not None and not dom.active:
                    try:
                        self.start(dom.uuid)
                    except VirtError as exc:
                        log.warning("autostart of %s failed: %s", dom.name, exc)
        except OSError:
            pass
        finally:
            lock.release()

    def _emulator_caps(self, d: DomainDef) -> BinaryCaps:
        arch = d.os.arch or host_arch()
        emulator = d.emulator or binary_for_arch(arch)
        if emulator is None:
            raise ConfigUnsupportedError(
                f"no emulator for architecture '{arch}' (install qemu-system-{arch})"
            )
        caps = self.host.caps.get(emulator)
        if caps.arch != arch and not (arch == "i686" and caps.arch == "x86_64"):
            raise ConfigUnsupportedError(f"emulator {emulator} does not support architecture '{arch}'")
        return caps

    def _accel(self, d: DomainDef, caps: BinaryCaps) -> str:
        if d.type == "qemu":
            return "tcg"
        if "kvm" not in caps.accelerators or not self.host.caps.kvm():
            raise ConfigUnsupportedError(
                "domain type 'kvm' needs working KVM, and KVM does not work on this host "
                "(missing, inaccessible, or too slow to run guests); use type 'qemu'"
            )
        return "kvm"

    def _next_id(self) -> int:
        with FileLock(self.host.layout.run / "ids.lock").held():
            path = self.host.layout.run / "next-id"
            try:
                n = int(path.read_text())
            except (OSError, ValueError):
                n = 1
            try:
                path.write_text(str(n + 1))
            except OSError as exc:
                raise SystemError_(f"cannot write {path}: {exc.strerror}") from None
            return n

    def start(self, uuid: str, *, paused: bool = False) -> None:
        """Start a defined, inactive domain (``virDomainCreate``)."""
        self.host.sync()
        dom = self.host.get(uuid)
        with dom.job:
            self.host.sync()  # another process may have started, stopped or undefined it since the lookup
            if dom.active:
                raise OperationInvalidError(f"domain '{dom.name}' is already running")
            config = self.host.config_of(dom)
            self.launch(dom, config, paused=paused, reason=RunningReason.BOOTED)
        self.host.emit(domain_event(dom.ref, DomainEventType.STARTED, StartedDetail.BOOTED))

    def launch(
        self,
        dom: Dom,
        d: DomainDef,
        *,
        paused: bool,
        reason: int,
        incoming: tuple[int, bool] | None = None,
    ) -> None:
        """Launch QEMU for ``d``: paused at first, configured, then ``cont`` (unless ``paused``).

        ``incoming`` is ``(fd, was_paused)`` of a save image to restore from.
        """
        caps = self._emulator_caps(d)
        accel = self._accel(d, caps)
        machine = caps.resolve_machine(d.os.machine)
        if machine is None:
            raise ConfigUnsupportedError(f"machine type '{d.os.machine}' is not supported by {caps.path}")
        if any(i.type == "ethernet" and not i.target_dev for i in d.interfaces):
            # Name the tap ourselves (libvirt's vnetN) so the live XML and the stats can find it.
            devs = []
            n = 0
            for dev in d.devices:
                if isinstance(dev, Interface) and dev.type == "ethernet" and not dev.target_dev:
                    dev = attrs.evolve(dev, target_dev=f"vc{dom.uuid[:8]}n{n}")
                    n += 1
                devs.append(dev)
            d = attrs.evolve(d, devices=tuple(devs), raw=d.raw)
        made_paths: list[str] = []  # channel sockets we make (and pass to QEMU by fd)
        if any(isinstance(c, Channel) and c.type == "unix" and not c.source_path for c in d.devices):
            # The live XML names the socket QEMU serves (see argv.channel_socket).
            rd_text = str(self.host.run_dir(dom.uuid))
            devs = []
            for c in d.devices:
                if isinstance(c, Channel) and c.type == "unix" and not c.source_path:
                    c = attrs.evolve(c, source_path=argvmod.channel_socket(rd_text, c), source_mode="bind")
                    made_paths.append(c.source_path or "")
                devs.append(c)
            d = attrs.evolve(d, devices=tuple(devs), raw=d.raw)
        if d.os.machine is None or d.os.arch is None or d.emulator is None:
            os_ = attrs.evolve(d.os, machine=d.os.machine or machine.name, arch=d.os.arch or caps.arch)
            d = attrs.evolve(d, os=os_, emulator=d.emulator or caps.path, raw=d.raw)
        volumes = resolve_volumes(d, self.resolve_volume)  # before anything is created
        bridges = resolve_bridges(d, self.resolve_network)  # likewise: the networks must be active
        rd = self.host.run_dir(dom.uuid)
        lock = self.host.dom_lock(dom.uuid)
        with lock.held():
            if (rd / "status.xml").exists():
                raise OperationInvalidError(f"domain '{dom.name}' is already running (in another process)")
            shutil.rmtree(rd, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.host.layout.run / f"{dom.uuid}.last")
            try:
                rd.mkdir(mode=0o700)
            except OSError as exc:
                raise SystemError_(f"cannot create runtime directory {rd}: {exc.strerror}") from None
            try:
                record_volumes(rd, volumes)  # before QEMU opens them: storage asks who uses what
            except BaseException:
                shutil.rmtree(rd, ignore_errors=True)
                raise
            socks: list[socket.socket] = []
            channels: dict[str, int] = {}
            try:
                for i in range(MONITOR_SLOTS):
                    socks.append(bind_listen(rd / f"mon{i}.sock"))
                for path in made_paths:
                    socks.append(bind_listen(Path(path)))
                    channels[path] = socks[-1].fileno()
            except OSError as exc:
                for s in socks:
                    s.close()
                shutil.rmtree(rd, ignore_errors=True)
                raise SystemError_(
                    f"cannot create the monitor sockets of domain '{dom.name}' in {rd}: {exc.strerror}"
                ) from None
            slot = FileLock(rd / "mon0.lock")
            slot.try_acquire()
            try:
                with (
                    FileLock(self.host.layout.run / "taps.lock").held()
                    if bridges
                    else contextlib.nullcontext()
                ):
                    d = name_taps(d, bridges)  # the names stay taken once QEMU has made the TAPs
                    launch = self._spawn(dom, d, socks, machine.name, accel, incoming, volumes, channels)
            except BaseException:
                slot.release()
                shutil.rmtree(rd, ignore_errors=True)
                raise
            finally:
                for s in socks:
                    s.close()
            dom.pid = launch.pid
            dom.slot = slot
            try:
                attach_taps(d)  # QEMU waits paused: the NICs are on their bridges before the vCPUs run
                live = self._configure(dom, d, paused=paused, incoming=incoming)
            except BaseException:
                pid = dom.pid
                self.host.monitors.detach_monitor(dom)
                if pid is not None:
                    kill_painfully(pid, signal.SIGKILL)
                dom.pid = None
                shutil.rmtree(rd, ignore_errors=True)
                raise
        dom.started_at = time.monotonic()
        with self.host.lock:
            dom.id = self._next_id()
            dom.live = live
            dom.balloon_kib = live.current_memory or live.memory
            self.host.rename(dom, live.name)
            dom.set_ref()
            if paused or (incoming is not None and incoming[1]):
                dom.state, dom.reason = DomainState.PAUSED, PausedReason.USER
            else:
                dom.state, dom.reason = DomainState.RUNNING, reason
        self.host.write_status(dom)
        self.host.bump()
        self.host.events.agent_event(dom, AgentLifecycleReason.DOMAIN_STARTED)

    def _spawn(
        self,
        dom: Dom,
        d: DomainDef,
        socks: list[socket.socket],
        machine: str,
        accel: str,
        incoming: tuple[int, bool] | None,
        volumes: Mapping[str, ResolvedVolume],
        channels: Mapping[str, int],
    ) -> _Launch:
        """Run QEMU; ``socks``: the listening monitor sockets, then the channel sockets
        (``channels``: their fds by path)."""
        rd = self.host.run_dir(dom.uuid)
        pass_fds = [s.fileno() for s in socks]
        fds = tuple(fd for fd in pass_fds if fd not in channels.values())
        inc = None
        if incoming is not None:
            pass_fds.append(incoming[0])
            inc = f"fd:{incoming[0]}"
        console = self.host.layout.log / f"{dom.uuid}-console.log"
        caps = self._emulator_caps(d)
        spec = argvmod.LaunchSpec(
            pidfile=str(rd / "pid"),
            monitor_fds=fds,
            accel=accel,
            incoming=inc,
            serial_log=str(console),
            vnc_port=free_vnc_port() if d.graphics else None,
            hugetlbfs=argvmod.hugetlbfs_mounts(),
            cpu_models=caps.cpu_models or None,  # none probed: the grammar only
            cpu_features=caps.cpu_features or None,
            volumes=volumes,
            channel_fds=channels,
        )
        argv = argvmod.build_argv(d, emulator=d.emulator or "qemu", machine=machine, spec=spec)
        extra_env = argvmod.launch_env(d)  # TZ of <clock offset='timezone'>, <qemu:env>
        logpath = self.host.layout.log / f"{dom.uuid}.log"
        try:
            logfd = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise SystemError_(f"cannot open log file {logpath}: {exc.strerror}") from None
        try:
            try:
                start_off = os.lseek(logfd, 0, os.SEEK_END)
                os.write(logfd, f"{time.strftime('%Y-%m-%d %H:%M:%S')} starting {d.name!r}\n".encode())
                # Connect our end of slot 0 now: the kernel queues it until QEMU accepts.
                client = connect_unix(rd / "mon0.sock")
            except OSError as exc:
                raise SystemError_(f"cannot prepare the start of domain '{d.name}': {exc.strerror}") from None
            try:
                proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=logfd, stderr=logfd, pass_fds=pass_fds,
                    close_fds=True, start_new_session=True, cwd="/",
                    env={**os.environ, **extra_env} if extra_env else None,
                )  # fmt: skip
            except OSError as exc:
                client.close()
                raise OperationFailedError(f"cannot run {argv[0]}: {exc.strerror}") from None
            mon_fut = self._connect_async(dom, client)
            rc = wait_child(proc, START_TIMEOUT)
            if rc != 0:
                mon_fut.cancel()
                self.host.monitors.detach_monitor(dom)
                with contextlib.suppress(OSError):
                    pid = int((rd / "pid").read_text())
                    if cmdline_has(pid, dom.uuid):
                        kill_painfully(pid, signal.SIGKILL)
                msg = log_tail(logpath, start_off)
                raise OperationFailedError(f"QEMU failed to start domain '{d.name}': {msg}")
            try:
                pid = int((rd / "pid").read_text())
            except (OSError, ValueError):
                if incoming is not None:  # QEMU removes its pidfile when it exits
                    raise ImageLoadError(LOAD_FAILED) from None
                raise OperationFailedError(f"QEMU started '{d.name}' but wrote no pidfile") from None
            dom.pid = pid
            try:
                mon_fut.result(START_TIMEOUT)
            except TimeoutError:
                kill_painfully(pid, signal.SIGKILL)
                raise OperationTimeoutError(f"the monitor of domain '{d.name}' did not answer") from None
            except VirtError:
                kill_painfully(pid, signal.SIGKILL)
                if incoming is not None:
                    raise ImageLoadError(LOAD_FAILED) from None
                raise
            with contextlib.suppress(OSError):
                dom.stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
            return _Launch(proc=proc, pid=pid)
        finally:
            os.close(logfd)

    def _connect_async(self, dom: Dom, client: socket.socket) -> Any:
        import asyncio

        dom.token += 1
        token = dom.token
        from virt_qemu.monitor import Monitor

        mon = Monitor(
            self.host.loop,
            lambda name, data: self.host.events.on_event(dom, token, name, data),
            f"qemu-{dom.uuid[:8]}",
        )
        dom.monitor = mon
        return asyncio.run_coroutine_threadsafe(mon._connect(client), self.host.loop.loop)

    def _configure(
        self, dom: Dom, d: DomainDef, *, paused: bool, incoming: tuple[int, bool] | None
    ) -> DomainDef:
        mon = dom.monitor
        if mon is None:
            raise OperationFailedError(f"lost the monitor of domain '{d.name}' while starting it")
        if incoming is not None:
            from virt_qemu.monitor import MonitorClosedError

            deadline = time.monotonic() + SAVE_TIMEOUT
            delay = 0.001
            while True:
                try:
                    st = mon.cmd("query-migrate", timeout=10).get("status", "")
                except MonitorClosedError:
                    raise ImageLoadError(LOAD_FAILED) from None
                if st == "completed":
                    break
                if st in ("failed", "cancelled"):
                    raise ImageLoadError(f"QEMU refused it (incoming migration {st})")
                if time.monotonic() > deadline:
                    raise OperationTimeoutError(f"restoring domain '{d.name}'")
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        live = d
        if any(s.type == "pty" for s in d.devices if isinstance(s, Serial)):
            live = self._pty_paths(mon, d)
        live = channel_states(mon, live)  # before the guest runs (closed, or as a restored guest had them)
        cur = d.current_memory or d.memory
        if cur < d.memory:
            with contextlib.suppress(OperationFailedError):
                mon.cmd("balloon", {"value": cur * 1024}, timeout=10)
        apply_vcpu_pins(mon, d)  # before the guest runs, as libvirt's QEMU driver pins them
        if not paused and not (incoming is not None and incoming[1]):
            self.host.runstates.own(dom, mon, "cont", "RESUME", timeout=10)
        return live

    def _pty_paths(self, mon: Monitor, d: DomainDef) -> DomainDef:
        chardevs = {c["label"]: c["filename"] for c in mon.cmd("query-chardev", timeout=5)}
        devices = []
        port = 0
        for dev in d.devices:
            if isinstance(dev, Serial):
                p = dev.target_port if dev.target_port is not None else port
                port += 1
                fn = chardevs.get(f"charserial{p}", "")
                if dev.type == "pty" and fn.startswith("pty:"):
                    dev = attrs.evolve(dev, source_path=fn[4:])
            devices.append(dev)
        return attrs.evolve(d, devices=tuple(devices), raw=d.raw)
