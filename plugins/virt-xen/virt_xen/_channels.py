"""The Xen driver's channels: each is a plugin object registered into the connection.

* :class:`XenStoreChannel` answers lookups and state of *running* domains from
  XenStore (fast, read-only, works without the toolstack) and declines (returns
  ``None``) for anything else: it is ``tryfirst`` for lookups.
* :class:`ToolstackChannel` runs ``xl`` for the lifecycle of running domains,
  their live state, memory and vCPUs; it declines for inactive domains.
* :class:`HypercallChannel` answers ``info()`` and ``state()`` of live domains with one
  Xen hypercall through ``/dev/xen/privcmd`` (no xl process); it is ``tryfirst`` and
  declines (for good, on this connection) when privcmd fails.
* :class:`HypervisorChannel` answers host questions from ``xl info``.
* :class:`DefinitionsChannel` keeps persistent definitions (xl has none) and
  answers for inactive domains; it is ``trylast`` so it speaks when the others
  declined, and raises ``NoDomainError`` when nobody knows the domain.

They share one :class:`XenContext` (the URI's directories, the xl runner, the
XenStore client and the ``emit`` callable).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from lxml import etree

from virt_xen._cfgsyntax import format_config
from virt_xen._devices import parse_attachable, with_device, without_device, xl_attach_args, xl_detach_args
from virt_xen._privcmd import HvDomain, Privcmd, PrivcmdError
from virt_xen._store import ConfigStore
from virt_xen._volumes import Resolve, for_checking, paths_in_use, resolve_volume_disks
from virt_xen._xenstore import DOM0_UUID, StoreDomain, XenStore
from virt_xen._xl import Xl, XlDomain
from virt_xen.native import domain_to_xl
from virtcore import hookimpl
from virtcore.errors import (
    InvalidArgError,
    NoDomainError,
    OperationFailedError,
    OperationInvalidError,
    SystemError_,
    VirtError,
)
from virtcore.files import create_temporary
from virtcore.types import (
    DefinedDetail,
    DomainEvent,
    DomainEventType,
    DomainInfo,
    DomainRef,
    DomainState,
    NodeInfo,
    PausedReason,
    ResumedDetail,
    RunningReason,
    ShutoffReason,
    StartedDetail,
    StoppedDetail,
    SuspendedDetail,
    UndefinedDetail,
)
from virtcore.uri import URI
from virtcore.xml import Disk, DomainDef, format_domain, parse_device, parse_domain

__all__ = [
    "XenContext",
    "XenStoreChannel",
    "HypercallChannel",
    "ToolstackChannel",
    "HypervisorChannel",
    "DefinitionsChannel",
    "SAVE_MAGIC",
]

#: Seconds to wait for a guest to be able to suspend (its kernel must be up) before a save.
SUSPEND_READY_TIMEOUT = 90.0
#: Seconds to wait for a guest to act on a reboot request, then for its new domain.
REBOOT_ACK_TIMEOUT = 30.0
REBOOT_RETURN_TIMEOUT = 60.0


def _wait(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` for at most ``timeout`` seconds; whether it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


#: Where dom0's kernel lists Xen backend devices (blkback's vbd-DOMID-DEVID/statistics).
SYSFS_XEN_BACKEND = Path("/sys/bus/xen-backend/devices")
#: dom0's network interfaces (netback's vifDOMID.DEVID).
SYSFS_NET = Path("/sys/class/net")

#: Trailer magic of a virtcore Xen save image: xl's image, then our JSON, its length, this.
SAVE_MAGIC = b"VirtcoreXenSave1"
_LEN = struct.Struct(">Q")


@attrs.define
class XenContext:
    """What the channels of one connection share."""

    uri: URI
    read_only: bool
    store: ConfigStore
    xl: Xl | None
    xs: XenStore | None
    #: The hypercall channel when privcmd answers (fast live flags for the toolstack too).
    hv: HypercallChannel | None = None
    emit: Callable[[DomainEvent], None] = attrs.field(default=lambda e: None)
    #: The connection's ``resolve_volume(pool, volume) -> path`` (volume disks), once open.
    resolve_volume: Resolve | None = None
    lock: threading.RLock = attrs.field(factory=threading.RLock)
    #: Running domains (not Domain-0) as this connection last saw them, by UUID: kept up to
    #: date by our own operations (under :attr:`lock`) so that the XenStore watcher
    #: reports only what changed behind our back.
    known: dict[str, StoreDomain] = attrs.field(factory=dict)

    # -- what we changed ourselves -------------------------------------------------

    def note_running(self, d: StoreDomain) -> None:
        """We started ``d`` (call with :attr:`lock` held)."""
        self.known[d.uuid] = d

    def note_gone(self, uuid: str) -> None:
        """We stopped the domain (call with :attr:`lock` held)."""
        self.known.pop(uuid, None)

    def mark_stopped(self, uuid: str, reason: ShutoffReason, domid: int | None = None) -> None:
        """Record that the domain stopped: a transient one is forgotten, a persistent one
        keeps ``reason``. With ``domid``, only when the status still speaks of that run."""
        st = self.store.status(uuid)
        if domid is not None and st.get("domid") not in (None, domid):
            return
        if self.store.get(uuid) is None:
            self.store.drop_status(uuid)  # transient: gone
        else:
            self.store.set_status(
                uuid, shutoff_reason=int(reason), domid=None, xml=None, paused_reason=None,
                running_reason=None, shutdown_requested=None,
            )  # fmt: skip

    # -- who is running ------------------------------------------------------

    def running(self) -> list[StoreDomain]:
        """Every running domain (XenStore when reachable, else ``xl list -l``)."""
        if self.xs is not None:
            return self.xs.domains()
        if self.xl is not None:
            out = []
            for entry in self.xl.domains_long():
                try:
                    c_info = entry["config"]["c_info"]
                    out.append(
                        StoreDomain(int(entry["domid"]), str(c_info["name"]), str(c_info["uuid"]).lower())
                    )
                except (KeyError, TypeError, ValueError):
                    continue
            return out
        return []

    def running_by_uuid(self, uuid: str) -> StoreDomain | None:
        """The running domain with this UUID, if any."""
        for d in self.running():
            if d.uuid == uuid:
                return d
        return None

    def name_of(self, uuid: str) -> str:
        """A name for messages: the running domain's, the definition's, or the UUID."""
        r = self.running_by_uuid(uuid)
        if r is not None:
            return r.name
        found = self.store.get(uuid)
        return found[0].name if found else uuid

    def ref(self, d: StoreDomain) -> DomainRef:
        """The :class:`DomainRef` of a running domain."""
        return DomainRef(d.name, d.uuid, d.domid)

    def event(self, ref: DomainRef, event: DomainEventType, detail: int) -> None:
        """Report a lifecycle event (never raises)."""
        try:
            self.emit(DomainEvent(ref, event, int(detail)))
        except Exception:
            pass

    def live_def(self, uuid: str) -> DomainDef | None:
        """The definition a running domain was started from (status file, else persistent)."""
        st = self.store.status(uuid)
        xml = st.get("xml")
        if isinstance(xml, str):
            try:
                return parse_domain(xml)
            except VirtError:
                pass
        found = self.store.get(uuid)
        return found[0] if found else None


def _state_with_reason(ctx: XenContext, uuid: str, state: DomainState) -> tuple[DomainState, int]:
    """``state()`` of a live domain: the hypervisor's state with the reason we recorded."""
    st = ctx.store.status(uuid)
    if state == DomainState.PAUSED:
        return state, int(st.get("paused_reason", PausedReason.UNKNOWN))
    if state == DomainState.RUNNING:
        return state, int(st.get("running_reason", RunningReason.UNKNOWN))
    return state, 0


def _info_of(
    ctx: XenContext, domid: int, sched: DomainState, mem_kib: int, vcpus: int, cpu: int
) -> DomainInfo:
    """``info()`` of a live domain: memory target and static maximum from XenStore when it
    has them (what set_memory changes), else what the hypervisor reports."""
    static_max, target = ctx.xs.memory(domid) if ctx.xs is not None else (None, None)
    mem = target if target is not None else mem_kib
    return DomainInfo(sched, static_max or mem, mem, vcpus, cpu)


def _need_xl(ctx: XenContext) -> Xl:
    if ctx.xl is None:
        raise OperationFailedError("the Xen toolstack (xl) is not accessible on this connection")
    return ctx.xl


def _not_running(ctx: XenContext, uuid: str) -> OperationInvalidError:
    return OperationInvalidError(f"domain '{ctx.name_of(uuid)}' is not running")


# ============================================================================ XenStore


class XenStoreChannel:
    """Fast read-only answers about running domains, straight from XenStore."""

    def __init__(self, ctx: XenContext) -> None:
        self.ctx = ctx
        assert ctx.xs is not None
        self.xs: XenStore = ctx.xs

    @hookimpl
    def virt_connect_close(self) -> None:
        self.xs.close()

    @hookimpl(tryfirst=True)
    def virt_domain_lookup_by_id(self, id: int) -> DomainRef | None:  # noqa: A002
        d = self.xs.domain(id)
        return self.ctx.ref(d) if d is not None else None

    @hookimpl(tryfirst=True)
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef | None:
        for d in self.xs.domains():
            if d.name == name:
                return self.ctx.ref(d)
        return None

    @hookimpl(tryfirst=True)
    def virt_domain_lookup_by_uuid(self, uuid: str) -> DomainRef | None:
        for d in self.xs.domains():
            if d.uuid == uuid:
                return self.ctx.ref(d)
        return None

    @hookimpl(trylast=True)
    def virt_domain_get_info(self, uuid: str) -> DomainInfo | None:
        """Used when the toolstack channel is absent: memory and vCPUs from XenStore."""
        d = self.ctx.running_by_uuid(uuid)
        if d is None:
            return None
        static_max, target = self.xs.memory(d.domid)
        vcpus = self.xs.online_vcpus(d.domid) or 1
        return DomainInfo(DomainState.RUNNING, static_max or target or 0, target or 0, vcpus, 0)

    @hookimpl(trylast=True)
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int] | None:
        """XenStore does not know about pausing: a running domain is RUNNING here."""
        if self.ctx.running_by_uuid(uuid) is None:
            return None
        return DomainState.RUNNING, int(RunningReason.UNKNOWN)

    # -- statistics: the backends' counters in dom0's sysfs (what libvirt's xen driver read) ----

    def _running_or_fail(self, uuid: str) -> StoreDomain:
        d = self.ctx.running_by_uuid(uuid)
        if d is None:
            if self.ctx.store.get(uuid) is None:
                raise NoDomainError(f"no domain with matching uuid '{uuid}'")
            raise _not_running(self.ctx, uuid)
        return d

    @hookimpl
    def virt_domain_block_stats(self, uuid: str, device: str) -> tuple[int, int, int, int, int] | None:
        """blkback's ``statistics/`` of the vbd whose ``dev`` is ``device`` (sectors are 512 bytes)."""
        d = self._running_or_fail(uuid)
        base = f"/local/domain/0/backend/vbd/{d.domid}"
        for devid in self.xs.ls(base):
            if self.xs.read(f"{base}/{devid}/dev") != device:
                continue
            stats = SYSFS_XEN_BACKEND / f"vbd-{d.domid}-{devid}" / "statistics"
            v = {k: _sysfs_int(stats / k) for k in ("rd_req", "rd_sect", "wr_req", "wr_sect", "oo_req")}
            if v["rd_req"] is None:
                raise OperationFailedError(f"no statistics for disk {device} of domain '{d.name}' in {stats}")
            return (v["rd_req"], (v["rd_sect"] or 0) * 512, v["wr_req"] or 0, (v["wr_sect"] or 0) * 512,
                    v["oo_req"] or 0)  # fmt: skip
        raise InvalidArgError(f"invalid path, '{device}' is not a known disk of domain '{d.name}'")

    @hookimpl
    def virt_domain_interface_stats(
        self, uuid: str, device: str
    ) -> tuple[int, int, int, int, int, int, int, int] | None:
        """The counters of netback's ``vifDOMID.DEVID`` in dom0, seen from the guest (rx and tx
        swapped, as libvirt reports them)."""
        d = self._running_or_fail(uuid)
        base = f"/local/domain/0/backend/vif/{d.domid}"
        for devid in self.xs.ls(base):
            ifname = self.xs.read(f"{base}/{devid}/vifname") or f"vif{d.domid}.{devid}"
            mac = (self.xs.read(f"{base}/{devid}/mac") or "").lower()
            if device not in (ifname, f"vif{d.domid}.{devid}") and device.lower() != mac:
                continue
            st = SYSFS_NET / ifname / "statistics"
            names = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                     "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")  # fmt: skip
            v = [_sysfs_int(st / n) for n in names]
            if any(x is None for x in v):
                raise OperationFailedError(
                    f"no statistics for interface {device} of domain '{d.name}' in {st}"
                )
            n = [x or 0 for x in v]
            return (n[4], n[5], n[6], n[7], n[0], n[1], n[2], n[3])
        raise InvalidArgError(f"invalid path, '{device}' is not a known interface of domain '{d.name}'")


def _sysfs_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ============================================================================ hypercalls


class HypercallChannel:
    """``info()`` and ``state()`` of live domains straight from the hypervisor
    (``XEN_SYSCTL_getdomaininfolist`` through privcmd, see :mod:`virt_xen._privcmd`).

    ``tryfirst``: asked before the toolstack. It declines domains the hypervisor does not
    list (inactive or dying ones: the other channels answer) and domains that have shut
    down but not been torn down yet: what they become (gone, rebooted, preserved) is the
    toolstack's to say, and answering SHUTDOWN from the hypervisor in that window raced
    with it. Once a hypercall fails it disables itself for the connection and declines
    everything.
    """

    def __init__(self, ctx: XenContext, privcmd: Privcmd) -> None:
        self.ctx = ctx
        self.privcmd: Privcmd | None = privcmd
        #: How many info()/state() calls this channel answered (the rest it declined).
        self.answered = 0

    def domain(self, uuid: str) -> HvDomain | None:
        """The live domain with this UUID as Xen reports it; ``None`` when unknown or disabled."""
        pc = self.privcmd
        if pc is None:
            return None
        try:
            found = pc.domain_by_uuid(uuid)
        except PrivcmdError:
            self.disable()
            return None
        if found is not None and found.shutdown_reason is not None:
            return None  # shut down, not yet torn down: the toolstack answers
        return found

    def disable(self) -> None:
        """Stop using privcmd on this connection (the toolstack answers from now on)."""
        pc, self.privcmd = self.privcmd, None
        if pc is not None:
            pc.close()

    @hookimpl
    def virt_connect_close(self) -> None:
        self.disable()

    @hookimpl(tryfirst=True)
    def virt_domain_get_info(self, uuid: str) -> DomainInfo | None:
        h = self.domain(uuid)
        if h is None:
            return None
        self.answered += 1
        return _info_of(self.ctx, h.domid, h.sched_state, h.memory_kib, h.online_vcpus, h.cpu_time_ns)

    @hookimpl(tryfirst=True)
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int] | None:
        h = self.domain(uuid)
        if h is None:
            return None
        self.answered += 1
        return _state_with_reason(self.ctx, uuid, h.state)


# ============================================================================ toolstack


class ToolstackChannel:
    """The lifecycle of running domains through ``xl``."""

    def __init__(self, ctx: XenContext) -> None:
        self.ctx = ctx
        self.xl = _need_xl(ctx)

    # -- helpers -------------------------------------------------------------

    def _active(self, uuid: str) -> StoreDomain | None:
        return self.ctx.running_by_uuid(uuid)

    def _xl_dom(self, d: StoreDomain) -> XlDomain | None:
        try:
            found = self.xl.domains(d.domid)
        except NoDomainError:
            return None
        return found[0] if found else None

    def _live_state(self, d: StoreDomain) -> DomainState | None:
        """The domain's lifecycle state: from the hypercall channel when it answers, else xl."""
        if self.ctx.hv is not None:
            h = self.ctx.hv.domain(d.uuid)
            if h is not None and h.domid == d.domid:
                return h.state
        x = self._xl_dom(d)
        return x.state if x is not None else None

    def _require_active(self, uuid: str) -> StoreDomain:
        d = self._active(uuid)
        if d is None:
            if self.ctx.store.get(uuid) is None and not self.ctx.store.status(uuid):
                raise NoDomainError(f"no domain with matching uuid '{uuid}'")
            raise _not_running(self.ctx, uuid)
        if d.domid == 0:
            raise OperationInvalidError("Domain-0 cannot be managed this way")
        return d

    def _boot(self, d: DomainDef, xml: str, *, paused: bool = False) -> StoreDomain:
        if self.ctx.running_by_uuid(d.uuid) is not None:
            raise OperationInvalidError(f"domain '{d.name}' is already running")
        for r in self.ctx.running():
            if r.name == d.name:
                raise OperationFailedError(f"domain '{d.name}' is already running with uuid {r.uuid}")
        runnable, volumes = resolve_volume_disks(d, self.ctx.resolve_volume)  # xl knows no pools
        cfg = format_config(domain_to_xl(runnable))
        run_dir = self.ctx.store.run_dir
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            fd, cfg_path = tempfile.mkstemp(prefix=f"{d.name}.", suffix=".cfg", dir=run_dir)
            with os.fdopen(fd, "w") as f:
                f.write(cfg)
        except OSError as exc:
            raise SystemError_(f"cannot write the xl config of '{d.name}' in {run_dir}: {exc}") from None
        try:
            self.xl.run("create", *(["-p"] if paused else []), cfg_path, what=f"xl create of '{d.name}'")
        finally:
            try:
                os.unlink(cfg_path)
            except OSError:
                pass
        started = self.ctx.running_by_uuid(d.uuid)
        if started is None:
            raise OperationFailedError(f"domain '{d.name}' did not appear after xl create")
        self.ctx.note_running(started)
        self.ctx.store.set_status(
            d.uuid,
            name=d.name,
            xml=xml,
            domid=started.domid,
            running_reason=int(RunningReason.BOOTED),
            paused_reason=int(PausedReason.USER) if paused else None,
            shutoff_reason=None,
            shutdown_requested=None,
            volumes=volumes or None,
        )
        return started

    @hookimpl
    def virt_domain_users_of_path(self, path: str) -> list[str]:
        """The running domains whose live XML uses ``path`` (volume disks as resolved at start)."""
        real = os.path.realpath(path)
        users = []
        for r in self.ctx.running():
            st = self.ctx.store.status(r.uuid)
            xml = st.get("xml")
            if r.domid == 0 or not isinstance(xml, str) or st.get("domid") not in (None, r.domid):
                continue
            volumes = st.get("volumes")
            if real in paths_in_use(xml, volumes if isinstance(volumes, dict) else {}):
                users.append(r.name)
        return sorted(users)

    # -- lifecycle -------------------------------------------------------------

    @hookimpl
    def virt_domain_create(self, uuid: str) -> bool | None:
        with self.ctx.lock:
            found = self.ctx.store.get(uuid)
            if found is None:
                if self._active(uuid) is not None:
                    raise OperationInvalidError(f"domain '{self.ctx.name_of(uuid)}' is already running")
                return None
            d, xml = found
            started = self._boot(d, xml)
        self.ctx.event(self.ctx.ref(started), DomainEventType.STARTED, StartedDetail.BOOTED)
        return True

    @hookimpl
    def virt_domain_create_xml(self, xml: str) -> DomainRef | None:
        d = parse_domain(xml)
        with self.ctx.lock:
            existing = self.ctx.store.get(d.uuid)
            by_name = self.ctx.store.by_name(d.name)
            if by_name is not None and by_name[0].uuid != d.uuid:
                raise OperationFailedError(f"domain '{d.name}' already exists with uuid {by_name[0].uuid}")
            if existing is not None and existing[0].name != d.name:
                raise OperationFailedError(f"domain '{existing[0].name}' already exists with uuid {d.uuid}")
            started = self._boot(d, format_domain(d))
        ref = self.ctx.ref(started)
        self.ctx.event(ref, DomainEventType.STARTED, StartedDetail.BOOTED)
        return ref

    def _simple(self, uuid: str, verb: str, *extra: str) -> StoreDomain:
        d = self._require_active(uuid)
        self.xl.run(verb, *extra, str(d.domid), what=f"xl {verb} of '{d.name}'")
        return d

    @hookimpl
    def virt_domain_suspend(self, uuid: str) -> bool | None:
        with self.ctx.lock:
            d = self._require_active(uuid)
            if self._live_state(d) == DomainState.PAUSED:
                raise OperationInvalidError(f"domain '{d.name}' is already paused")
            self._simple(uuid, "pause")
            self.ctx.store.set_status(uuid, paused_reason=int(PausedReason.USER))
        self.ctx.event(self.ctx.ref(d), DomainEventType.SUSPENDED, SuspendedDetail.PAUSED)
        return True

    @hookimpl
    def virt_domain_resume(self, uuid: str) -> bool | None:
        with self.ctx.lock:
            d = self._require_active(uuid)
            if self._live_state(d) != DomainState.PAUSED:
                raise OperationInvalidError(f"domain '{d.name}' is not paused")
            self._simple(uuid, "unpause")
            self.ctx.store.set_status(uuid, paused_reason=None, running_reason=int(RunningReason.UNPAUSED))
        self.ctx.event(self.ctx.ref(d), DomainEventType.RESUMED, ResumedDetail.UNPAUSED)
        return True

    @hookimpl
    def virt_domain_shutdown(self, uuid: str) -> bool | None:
        with self.ctx.lock:
            self._require_active(uuid)
            self.ctx.store.set_status(uuid, shutdown_requested=True)
            self._simple(uuid, "shutdown")
        return True

    @hookimpl
    def virt_domain_reboot(self, uuid: str) -> bool | None:
        with self.ctx.lock:
            d = self._simple(uuid, "reboot")
        # Xen reboots a guest by destroying its domain and creating a new one (new id);
        # when the guest acts on the request, return once the new domain is there, so
        # the domain is never seen missing after reboot() returns.
        if _wait(lambda: self.ctx.xs is not None and self.ctx.xs.domain(d.domid) is None, REBOOT_ACK_TIMEOUT):
            _wait(lambda: self.ctx.running_by_uuid(uuid) is not None, REBOOT_RETURN_TIMEOUT)
        return True

    @hookimpl
    def virt_domain_destroy(self, uuid: str) -> bool | None:
        with self.ctx.lock:
            d = self._require_active(uuid)
            self.xl.run("destroy", str(d.domid), what=f"xl destroy of '{d.name}'")
            self._stopped(uuid, ShutoffReason.DESTROYED)
        self.ctx.event(DomainRef(d.name, d.uuid, -1), DomainEventType.STOPPED, StoppedDetail.DESTROYED)
        return True

    def _stopped(self, uuid: str, reason: ShutoffReason) -> None:
        self.ctx.note_gone(uuid)
        self.ctx.mark_stopped(uuid, reason)

    # -- save / restore --------------------------------------------------------

    def _wait_suspend_ready(self, d: StoreDomain) -> None:
        """A PV guest saves only once its kernel listens for suspend requests (it then
        sets ``control/feature-suspend`` in XenStore); wait for that, bounded."""
        xs = self.ctx.xs
        if xs is None:
            return
        path = f"/local/domain/{d.domid}/control/feature-suspend"
        if not _wait(lambda: xs.read(path) == "1", SUSPEND_READY_TIMEOUT):
            raise OperationFailedError(
                f"domain '{d.name}' does not answer suspend requests "
                f"(no {path} after {SUSPEND_READY_TIMEOUT:.0f}s)"
            )

    @hookimpl
    def virt_domain_save(self, uuid: str, path: str, running: bool, paused: bool) -> bool | None:
        """``xl save`` into a file that also records the definition and the state to restore
        into (paused when the guest was, unless ``running``; always paused with ``paused``):
        libxl's driver refuses both flags, this driver keeps them as the QEMU one does."""
        target = Path(path)
        with self.ctx.lock:
            d = self._require_active(uuid)
            if not target.parent.is_dir():
                raise SystemError_(
                    f"cannot save domain '{d.name}' to {path}: no such directory {target.parent}"
                )
            x = self._xl_dom(d)
            was_paused = x is not None and x.state == DomainState.PAUSED
            restore_paused = paused or (was_paused and not running)
            if was_paused:
                # a paused guest cannot suspend itself: let it run for the save, restore it paused
                self.xl.run("unpause", str(d.domid), what=f"xl unpause of '{d.name}' for saving")
            self._wait_suspend_ready(d)
            live = self.ctx.live_def(uuid)
            xml = format_domain(live) if live is not None else ""
            fd, tmp = create_temporary(target, suffix=".partial")
            os.close(fd)
            try:
                self.xl.run("save", str(d.domid), tmp, what=f"xl save of '{d.name}' to {path}")
                record = {"uuid": uuid, "name": d.name, "paused": restore_paused, "xml": xml}
                meta = json.dumps(record).encode()
                with open(os.open(tmp, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC), "ab") as f:
                    f.write(meta)
                    f.write(_LEN.pack(len(meta)))
                    f.write(SAVE_MAGIC)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            except OSError as exc:
                raise SystemError_(
                    f"cannot save domain '{d.name}' to {path}: {exc.strerror or exc}"
                ) from None
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            self._stopped(uuid, ShutoffReason.SAVED)
        self.ctx.event(DomainRef(d.name, d.uuid, -1), DomainEventType.STOPPED, StoppedDetail.SAVED)
        return True

    @hookimpl
    def virt_domain_restore(self, path: str, running: bool, paused: bool) -> DomainRef | None:
        """``xl restore`` (``-p`` to stay paused): into the state the file records, or the
        one ``running`` / ``paused`` chooses (libxl's driver knows only ``paused``)."""
        meta = read_save_meta(path)
        uuid = str(meta.get("uuid", ""))
        name = str(meta.get("name", ""))
        paused = paused or (bool(meta.get("paused")) and not running)
        with self.ctx.lock:
            if self.ctx.running_by_uuid(uuid) is not None:
                raise OperationInvalidError(f"domain '{name}' is already running")
            self.xl.run(
                "restore", *(["-p"] if paused else []), path, what=f"xl restore of '{name}' from {path}"
            )
            d = self.ctx.running_by_uuid(uuid)
            if d is None:
                raise OperationFailedError(f"domain '{name}' did not appear after xl restore of {path}")
            self.ctx.note_running(d)
            self.ctx.store.set_status(
                uuid,
                name=d.name,
                xml=meta.get("xml") or None,
                domid=d.domid,
                running_reason=int(RunningReason.RESTORED),
                paused_reason=int(PausedReason.SAVE) if paused else None,
                shutoff_reason=None,
                shutdown_requested=None,
            )
        ref = self.ctx.ref(d)
        self.ctx.event(ref, DomainEventType.STARTED, StartedDetail.RESTORED)
        return ref

    # -- state and resources -----------------------------------------------------

    @hookimpl
    def virt_domain_get_info(self, uuid: str) -> DomainInfo | None:
        d = self._active(uuid)
        if d is None:
            return None
        x = self._xl_dom(d)
        if x is None:
            return None
        # the scheduler's view (BLOCKED: every vCPU waits for an event), as xl list shows it;
        # state() keeps the lifecycle state (RUNNING and why), as libvirt's libxl driver does
        return _info_of(self.ctx, d.domid, x.sched_state, x.memory_mib * 1024, x.vcpus, x.cpu_time_ns)

    @hookimpl
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int] | None:
        d = self._active(uuid)
        if d is None:
            return None
        x = self._xl_dom(d)
        if x is None:
            return None
        return _state_with_reason(self.ctx, uuid, x.state)

    @hookimpl
    def virt_domain_get_xml_desc(self, uuid: str, inactive: bool) -> str | None:
        if inactive:
            return None
        d = self._active(uuid)
        if d is None:
            return None
        live = self.ctx.live_def(uuid)
        if live is None:
            if d.domid == 0:
                return format_domain(
                    DomainDef(type="xen", name=d.name, uuid=DOM0_UUID, memory=1), domain_id=0
                )
            return None
        return format_domain(live, domain_id=d.domid)

    @hookimpl
    def virt_domain_set_memory(self, uuid: str, memory: int) -> bool | None:
        d = self._active(uuid)
        if d is None:
            return None
        live = self.ctx.live_def(uuid)
        static_max, _ = self.ctx.xs.memory(d.domid) if self.ctx.xs is not None else (None, None)
        maximum = static_max or (live.memory if live is not None else None)
        if maximum is not None and memory > maximum:
            raise InvalidArgError(f"cannot set memory higher than max memory ({memory} > {maximum} KiB)")
        self.xl.run("mem-set", str(d.domid), f"{memory}k", what=f"xl mem-set of '{d.name}'")
        if live is not None:
            self.ctx.store.set_status(uuid, xml=format_domain(attrs.evolve(live, current_memory=memory)))
        return True

    @hookimpl
    def virt_domain_set_vcpus(self, uuid: str, count: int) -> bool | None:
        d = self._active(uuid)
        if d is None:
            return None
        live = self.ctx.live_def(uuid)
        maximum = live.vcpu if live is not None else None
        if maximum is not None and count > maximum:
            raise InvalidArgError(
                f"requested cpu amount exceeds maximum supported amount ({count} > {maximum})"
            )
        self.xl.run("vcpu-set", str(d.domid), str(count), what=f"xl vcpu-set of '{d.name}'")
        if live is not None:
            self.ctx.store.set_status(uuid, xml=format_domain(attrs.evolve(live, current_vcpus=count)))
        return True

    # -- devices -------------------------------------------------------------------

    def _live_for_devices(self, uuid: str) -> tuple[StoreDomain, DomainDef] | None:
        d = self._active(uuid)
        if d is None:
            return None
        if d.domid == 0:
            raise OperationInvalidError("Domain-0 cannot be managed this way")
        live = self.ctx.live_def(uuid)
        if live is None:
            raise OperationFailedError(
                f"domain '{d.name}' was not started by virtcore: its devices are unknown here"
            )
        return d, live

    @hookimpl
    def virt_domain_attach_device(self, uuid: str, xml: str) -> bool | None:
        """Hot-plug a disk (``xl block-attach``) or interface (``xl network-attach``)."""
        dev = parse_attachable(xml)
        with self.ctx.lock:
            found = self._live_for_devices(uuid)
            if found is None:
                return None  # inactive: the definitions channel adds it to the definition
            d, live = found
            new = with_device(live, dev)
            volumes: dict[str, str] = {}
            if isinstance(dev, Disk) and dev.type == "volume":  # xl gets the file it resolves to
                runnable, resolved = resolve_volume_disks(new, self.ctx.resolve_volume)
                plugged = next(x for x in runnable.disks if x.target_dev == dev.target_dev)
                volumes = {dev.target_dev: resolved[dev.target_dev]}
                args = xl_attach_args(runnable, plugged, d.domid)
            else:
                args = xl_attach_args(new, dev, d.domid)
            self.xl.run(*args, what=f"xl {args[0]} of '{d.name}'")
            known = self.ctx.store.status(uuid).get("volumes")
            self.ctx.store.set_status(
                uuid,
                xml=format_domain(new),
                volumes={**(known if isinstance(known, dict) else {}), **volumes} or None,
            )
        return True

    @hookimpl
    def virt_domain_detach_device(self, uuid: str, xml: str) -> bool | None:
        """Unplug a disk (``xl block-detach``, by target) or interface (``xl network-detach``, by MAC)."""
        dev = parse_device(xml)
        with self.ctx.lock:
            found = self._live_for_devices(uuid)
            if found is None:
                return None
            d, live = found
            new, target = without_device(live, dev)
            args = xl_detach_args(target, d.domid)
            try:
                self.xl.run(*args, what=f"xl {args[0]} of '{d.name}'")
            except OperationFailedError:
                if args[0] != "block-detach":
                    raise
                # xl's default is a safe remove, which gives up when the guest does not release
                # the disk; libvirt's libxl driver (libxl_device_disk_remove) then forces it: so do we
                self.xl.run("block-detach", "-f", *args[1:], what=f"xl block-detach -f of '{d.name}'")
            self.ctx.store.set_status(uuid, xml=format_domain(new))
        return True


def read_save_meta(path: str) -> dict[str, Any]:
    """The metadata trailer of a save image written by :meth:`ToolstackChannel.virt_domain_save`.

    :raises SystemError_: the file cannot be read.
    :raises InvalidArgError: the file is not such an image.
    """
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            tail = len(SAVE_MAGIC) + _LEN.size
            if size < tail:
                raise InvalidArgError(f"{path} is not a Xen save image of virtcore")
            f.seek(size - tail)
            raw = f.read(tail)
            if raw[_LEN.size :] != SAVE_MAGIC:
                raise InvalidArgError(f"{path} is not a Xen save image of virtcore")
            (length,) = _LEN.unpack(raw[: _LEN.size])
            if length > min(size - tail, 16 * 1024 * 1024):
                raise InvalidArgError(f"{path} has a corrupt save image trailer")
            f.seek(size - tail - length)
            meta = json.loads(f.read(length))
    except OSError as exc:
        raise SystemError_(f"cannot read save image {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise InvalidArgError(f"{path} has a corrupt save image trailer") from None
    if not isinstance(meta, dict) or not meta.get("uuid"):
        raise InvalidArgError(f"{path} has a corrupt save image trailer")
    return meta


# ============================================================================ hypervisor info


class HypervisorChannel:
    """Host facts: ``xl info`` (physinfo) behind type, version, node info and capabilities."""

    def __init__(self, ctx: XenContext) -> None:
        self.ctx = ctx
        self._info: dict[str, str] | None = None

    def info(self) -> dict[str, str]:
        """``xl info``, read once per connection; ``/sys/hypervisor`` without the toolstack."""
        if self._info is None:
            if self.ctx.xl is not None:
                self._info = self.ctx.xl.info()
            else:
                self._info = _sys_hypervisor_info()
        return self._info

    @hookimpl
    def virt_connect_get_type(self) -> str | None:
        return "Xen"

    @hookimpl
    def virt_connect_get_version(self) -> int | None:
        i = self.info()
        try:
            major, minor = int(i["xen_major"]), int(i["xen_minor"])
        except (KeyError, ValueError):
            raise OperationFailedError("cannot read the Xen version") from None
        extra = i.get("xen_extra", "").lstrip(".").split("-")[0].split("+")[0]
        micro = int(extra) if extra.isdigit() else 0
        return major * 1_000_000 + minor * 1_000 + micro

    @hookimpl
    def virt_connect_get_hostname(self) -> str | None:
        return self.info().get("host") or socket.gethostname()

    @hookimpl
    def virt_node_get_info(self) -> NodeInfo | None:
        return node_info_from_xl(self.info())

    @hookimpl
    def virt_connect_get_capabilities(self) -> str | None:
        return capabilities_from_xl(self.info())


def _sys_hypervisor_info() -> dict[str, str]:
    def rd(p: str) -> str:
        try:
            return Path(p).read_text().strip()
        except OSError:
            return ""

    info = {
        "xen_major": rd("/sys/hypervisor/version/major"),
        "xen_minor": rd("/sys/hypervisor/version/minor"),
        "xen_extra": rd("/sys/hypervisor/version/extra"),
        "xen_caps": rd("/sys/hypervisor/properties/capabilities"),
        "host": socket.gethostname(),
        "nr_cpus": str(os.cpu_count() or 1),
    }
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["total_memory"] = str(int(line.split()[1]) // 1024)
    except (OSError, ValueError, IndexError):
        pass
    return info


def node_info_from_xl(i: dict[str, str]) -> NodeInfo:
    """A :class:`NodeInfo` from ``xl info`` fields (memory is MiB there, KiB here)."""

    def num(key: str, default: int) -> int:
        try:
            return int(i.get(key, "").split()[0])
        except (ValueError, IndexError):
            return default

    cpus = num("nr_cpus", 1)
    nodes = max(num("nr_nodes", 1), 1)
    cores = max(num("cores_per_socket", 1), 1)
    threads = max(num("threads_per_core", 1), 1)
    sockets = max(cpus // (nodes * cores * threads), 1)
    mhz = num("cpu_mhz", 0)
    machine = i.get("machine", "x86_64")
    return NodeInfo(machine, num("total_memory", 0) * 1024, cpus, mhz, nodes, sockets, cores, threads)


def capabilities_from_xl(i: dict[str, str]) -> str:
    """libvirt capabilities XML from ``xl info`` (``xen_caps`` lists the guest ABIs)."""
    arch = {"x86_64": "x86_64", "i686": "i686", "aarch64": "aarch64"}.get(
        i.get("machine", "x86_64"), "x86_64"
    )
    caps = etree.Element("capabilities")
    host = etree.SubElement(caps, "host")
    cpu = etree.SubElement(host, "cpu")
    etree.SubElement(cpu, "arch").text = arch
    topo = node_info_from_xl(i)
    etree.SubElement(cpu, "topology", sockets=str(topo.sockets), dies="1", clusters="1",
                     cores=str(topo.cores), threads=str(topo.threads))  # fmt: skip
    mig = etree.SubElement(host, "migration_features")
    etree.SubElement(mig, "live")
    xen_caps = i.get("xen_caps", "").split()
    seen: set[tuple[str, str]] = set()
    for cap in xen_caps or ["xen-3.0-x86_64"]:
        parts = cap.split("-")
        if len(parts) < 3:
            continue
        kind, carch = parts[0], parts[2]
        carch = {"x86_32": "i686", "x86_32p": "i686", "x86_64": "x86_64"}.get(carch, carch)
        guests = [("xen", "xenpv")] if kind == "xen" else [("hvm", "xenfv")] if kind == "hvm" else []
        if kind == "xen" and carch == "x86_64":
            guests.append(("xenpvh", "xenpvh"))
        for os_type, machine in guests:
            if (os_type, carch) in seen:
                continue
            seen.add((os_type, carch))
            if os_type == "xenpvh":
                continue  # libvirt's schema has no os_type for PVH; it is a machine of "xen"
            g = etree.SubElement(caps, "guest")
            etree.SubElement(g, "os_type").text = os_type
            a = etree.SubElement(g, "arch", name=carch)
            etree.SubElement(a, "wordsize").text = "64" if carch == "x86_64" else "32"
            etree.SubElement(a, "emulator").text = "/usr/lib/xen-4.17/bin/qemu-system-i386"
            etree.SubElement(a, "machine").text = machine
            if os_type == "xen" and carch == "x86_64":
                etree.SubElement(a, "machine").text = "xenpvh"
            etree.SubElement(a, "domain", type="xen")
    return etree.tostring(caps, encoding="unicode", pretty_print=True)


# ============================================================================ definitions


class DefinitionsChannel:
    """Persistent definitions (domain XML files) and everything about inactive domains."""

    def __init__(self, ctx: XenContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    def _inactive_ref(self, d: DomainDef) -> DomainRef:
        return DomainRef(d.name, d.uuid, -1)

    def _def(self, uuid: str) -> tuple[DomainDef, str]:
        found = self.store.get(uuid)
        if found is None:
            raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        return found

    # -- discovery ---------------------------------------------------------------

    @hookimpl(trylast=True)
    def virt_connect_list_all_domains(self, active: bool | None) -> list[DomainRef] | None:
        running = self.ctx.running()
        run_uuids = {r.uuid for r in running}
        out: list[DomainRef] = []
        if active is not False:
            out.extend(self.ctx.ref(r) for r in running)
        if active is not True:
            for d, _ in self.store.definitions().values():
                if d.uuid not in run_uuids:
                    out.append(self._inactive_ref(d))
        return out

    @hookimpl(trylast=True)
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef | None:
        for r in self.ctx.running():
            if r.name == name:
                return self.ctx.ref(r)
        found = self.store.by_name(name)
        if found is None:
            raise NoDomainError(f"no domain with matching name '{name}'")
        return self._inactive_ref(found[0])

    @hookimpl(trylast=True)
    def virt_domain_lookup_by_uuid(self, uuid: str) -> DomainRef | None:
        r = self.ctx.running_by_uuid(uuid)
        if r is not None:
            return self.ctx.ref(r)
        found = self.store.get(uuid)
        if found is None:
            raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        return self._inactive_ref(found[0])

    @hookimpl(trylast=True)
    def virt_domain_lookup_by_id(self, id: int) -> DomainRef | None:  # noqa: A002
        for r in self.ctx.running():
            if r.domid == id:
                return self.ctx.ref(r)
        raise NoDomainError(f"no domain with matching id {id}")

    @hookimpl
    def virt_domain_is_persistent(self, uuid: str) -> bool | None:
        if self.store.get(uuid) is not None:
            return True
        if self.ctx.running_by_uuid(uuid) is not None:
            return False
        raise NoDomainError(f"no domain with matching uuid '{uuid}'")

    # -- definitions ---------------------------------------------------------------

    @hookimpl
    def virt_domain_define_xml(self, xml: str) -> DomainRef | None:
        d = parse_domain(xml)
        if d.type != "xen":
            raise OperationFailedError(
                f"domain '{d.name}' has type '{d.type}'; the Xen driver needs type='xen'"
            )
        domain_to_xl(for_checking(d))  # refuse what xl cannot run now, not at start time
        with self.ctx.lock:
            by_name = self.store.by_name(d.name)
            if by_name is not None and by_name[0].uuid != d.uuid:
                raise OperationFailedError(f"domain '{d.name}' already exists with uuid {by_name[0].uuid}")
            same = self.store.get(d.uuid)
            if same is not None and same[0].name != d.name and self.ctx.running_by_uuid(d.uuid) is not None:
                raise OperationFailedError(f"domain '{same[0].name}' is already defined with uuid {d.uuid}")
            for r in self.ctx.running():
                if r.name == d.name and r.uuid != d.uuid:
                    raise OperationFailedError(f"domain '{d.name}' already exists with uuid {r.uuid}")
            text = format_domain(d)
            self.store.save(d, text, old_name=same[0].name if same is not None else None)
        now = self.ctx.running_by_uuid(d.uuid)
        ref = self.ctx.ref(now) if now is not None else self._inactive_ref(d)
        detail = DefinedDetail.UPDATED if same is not None else DefinedDetail.ADDED
        self.ctx.event(ref, DomainEventType.DEFINED, detail)
        return ref

    @hookimpl
    def virt_domain_undefine(self, uuid: str) -> bool | None:
        with self.ctx.lock:
            found = self.store.get(uuid)
            if found is None:
                if self.ctx.running_by_uuid(uuid) is not None:
                    raise OperationInvalidError(
                        f"cannot undefine transient domain '{self.ctx.name_of(uuid)}'"
                    )
                raise NoDomainError(f"no domain with matching uuid '{uuid}'")
            d = found[0]
            self.store.remove(d.name)
            running = self.ctx.running_by_uuid(uuid)
            if running is None:
                self.store.drop_status(uuid)
        self.ctx.event(self._inactive_ref(d), DomainEventType.UNDEFINED, UndefinedDetail.REMOVED)
        return True

    @hookimpl
    def virt_domain_get_autostart(self, uuid: str) -> bool | None:
        found = self.store.get(uuid)
        if found is None:
            if self.ctx.running_by_uuid(uuid) is not None:
                return False
            raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        return self.store.autostart(found[0].name)

    @hookimpl
    def virt_domain_set_autostart(self, uuid: str, autostart: bool) -> bool | None:
        found = self.store.get(uuid)
        if found is None:
            if self.ctx.running_by_uuid(uuid) is not None:
                raise OperationInvalidError("cannot set autostart for transient domain")
            raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        self.store.set_autostart(found[0].name, autostart)
        return True

    # -- inactive domains (the other channels declined) ---------------------------------

    def _shutoff_reason(self, uuid: str) -> int:
        st = self.store.status(uuid)
        if "shutoff_reason" in st:
            return int(st["shutoff_reason"])
        if st.get("domid") is not None:
            # it was running through us and is gone: the guest powered off
            return int(ShutoffReason.SHUTDOWN)
        return int(ShutoffReason.UNKNOWN)

    @hookimpl(trylast=True)
    def virt_domain_get_info(self, uuid: str) -> DomainInfo | None:
        d, _ = self._def(uuid)
        return DomainInfo(
            DomainState.SHUTOFF, d.memory, d.current_memory or d.memory, d.current_vcpus or d.vcpu, 0
        )

    @hookimpl(trylast=True)
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int] | None:
        self._def(uuid)
        return DomainState.SHUTOFF, self._shutoff_reason(uuid)

    @hookimpl(trylast=True)
    def virt_domain_get_xml_desc(self, uuid: str, inactive: bool) -> str | None:
        return self._def(uuid)[1]

    def _redefine(self, d: DomainDef) -> None:
        self.store.save(d, format_domain(d))

    @hookimpl(trylast=True)
    def virt_domain_set_memory(self, uuid: str, memory: int) -> bool | None:
        d, _ = self._def(uuid)
        if memory > d.memory:
            raise InvalidArgError(f"cannot set memory higher than max memory ({memory} > {d.memory} KiB)")
        self._redefine(attrs.evolve(d, current_memory=memory))
        return True

    @hookimpl(trylast=True)
    def virt_domain_set_max_memory(self, uuid: str, memory: int) -> bool | None:
        if self.ctx.running_by_uuid(uuid) is not None:
            raise OperationInvalidError("cannot change the maximum memory of a running Xen domain")
        d, _ = self._def(uuid)
        cur = min(d.current_memory or d.memory, memory)
        self._redefine(attrs.evolve(d, memory=memory, current_memory=cur))
        return True

    @hookimpl(trylast=True)
    def virt_domain_set_vcpus(self, uuid: str, count: int) -> bool | None:
        d, _ = self._def(uuid)
        if count > d.vcpu:
            raise InvalidArgError(
                f"requested cpu amount exceeds maximum supported amount ({count} > {d.vcpu})"
            )
        self._redefine(attrs.evolve(d, current_vcpus=count))
        return True

    # -- devices of inactive domains (the toolstack declined) ----------------------------

    @hookimpl(trylast=True)
    def virt_domain_attach_device(self, uuid: str, xml: str) -> bool | None:
        d, _ = self._def(uuid)
        new = with_device(d, parse_attachable(xml))
        domain_to_xl(for_checking(new))  # refuse what xl could not start
        self._redefine(new)
        return True

    @hookimpl(trylast=True)
    def virt_domain_detach_device(self, uuid: str, xml: str) -> bool | None:
        d, _ = self._def(uuid)
        new, _removed = without_device(d, parse_device(xml))
        self._redefine(new)
        return True
