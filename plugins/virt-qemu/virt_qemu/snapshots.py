"""Domain snapshots of real QEMU guests: internal snapshots inside qcow2 images, and the hooks.

A snapshot of a running (or paused) guest is QEMU's ``snapshot-save`` job: the
guest is paused, every qcow2 disk gets a snapshot tagged with the snapshot's
name, and the memory and device state go into the first of them; ``snapshot-load``
reverts it, ``snapshot-delete`` deletes it. A guest without a qcow2 disk to hold
its memory has it migrated into a file the driver keeps beside the tree, and a
revert starts the guest afresh from it. A snapshot of a shut-off guest is
``qemu-img snapshot -c/-a/-d`` on each image (the image named as ``json:`` after
``--``, so nothing a user wrote is ever read as an option). The tree persists
in ``config/snapshots`` (:mod:`virt_qemu.snapshottree`), recorded before the disks
are touched and committed after: a snapshot whose process died mid-way is
rolled back by the next process that looks (or kept, if it was committed).

Raw disks cannot hold an internal snapshot (libvirt's error: ``ConfigUnsupportedError``
naming the disk, before anything is written). External snapshots (``disk_only``,
external disks, a memory file: overlays on the images) are taken, reverted and merged
back by :mod:`virt_qemu.snapshotexternal`, under the same lock and record.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from virt_qemu.connection import Part
from virt_qemu.hoststate import Dom, domain_event, wait_migration
from virt_qemu.launching import ImageLoadError
from virt_qemu.saving import test_hold
from virt_qemu.snapshotdisks import (
    Layer,
    block_nodes,
    disk_images,
    disk_plan,
    hardware_changed,
    nodes_or_none,
    qemu_img_snapshot,
    run_job,
    tags,
    wait_job,
)
from virt_qemu.snapshotexternal import External
from virt_qemu.snapshottree import Ahead, SnapshotTree, TreeFiles
from virtcore import hookimpl
from virtcore.errors import (
    ConfigUnsupportedError,
    ErrorDomain,
    InternalError,
    InvalidArgError,
    NoDomainSnapshotError,
    OperationFailedError,
    OperationInvalidError,
    OperationTimeoutError,
    SnapshotRevertRiskyError,
    SystemError_,
    VirtError,
)
from virtcore.files import create_temporary
from virtcore.snapshot import SnapshotRef
from virtcore.types import (
    DomainEventType,
    DomainState,
    PausedReason,
    RunningReason,
    StartedDetail,
    SuspendedDetail,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from virt_qemu.monitor import Monitor
    from virt_qemu.overlays import Progress
    from virtcore.xml import DomainDef, SnapshotDef
    from virtcore.xml.snapshot import SnapshotDisk

__all__ = ["Snapshots"]

_QEMU = ErrorDomain.QEMU
#: The ``<state>`` a snapshot records for each live domain state.
_STATE_NAME = {DomainState.RUNNING: "running", DomainState.PAUSED: "paused"}
_FLAG_NO_METADATA = 0x4


class Snapshots(Part):
    """The snapshot hooks of the QEMU driver."""

    @property
    def files(self) -> TreeFiles:
        """The tree files of this connection's URI."""
        return TreeFiles(self.host.layout.config)

    # -- reading ------------------------------------------------------------------------

    def _tree(self, uuid: str) -> tuple[Dom, SnapshotTree]:
        h = self.host
        h.sync()
        dom = h.get(uuid)
        files = self.files
        if not self.session.read_only and files.recorded(uuid) is not None:
            self._recover(dom)
        return dom, files.read(uuid)

    def _refs(self, dom: Dom, names: list[str]) -> list[SnapshotRef]:
        return [SnapshotRef(n, dom.uuid) for n in names]

    @hookimpl
    def virt_domain_list_all_snapshots(
        self, uuid: str, roots: bool, leaves: bool | None, metadata: bool | None,
        states: frozenset[str] | None, location: str | None, topological: bool,
    ) -> list[SnapshotRef]:  # fmt: skip
        """The domain's snapshots (oldest first; ``topological``: depth first), filtered."""
        dom, tree = self._tree(uuid)
        if roots:
            names = tree.children(None)
        elif topological:
            names = list(tree.descendants(None))
        else:
            names = list(tree.snaps)
        return self._refs(dom, [n for n in names if tree.matches(n, leaves, metadata, states, location)])

    @hookimpl
    def virt_domain_snapshot_list_all_children(
        self, uuid: str, name: str, descendants: bool, leaves: bool | None, metadata: bool | None,
        states: frozenset[str] | None, location: str | None, topological: bool,
    ) -> list[SnapshotRef]:  # fmt: skip
        """The children (or all descendants) of snapshot ``name``, filtered."""
        dom, tree = self._tree(uuid)
        tree.find(name)
        names = list(tree.descendants(name)) if descendants else tree.children(name)
        if not topological:
            order = list(tree.snaps)
            names.sort(key=order.index)
        return self._refs(dom, [n for n in names if tree.matches(n, leaves, metadata, states, location)])

    @hookimpl
    def virt_domain_snapshot_lookup_by_name(self, uuid: str, name: str) -> SnapshotRef:
        """Snapshot ``name`` of the domain."""
        dom, tree = self._tree(uuid)
        tree.find(name)
        return SnapshotRef(name, dom.uuid)

    @hookimpl
    def virt_domain_has_current_snapshot(self, uuid: str) -> bool:
        """Whether the domain has a current snapshot."""
        return self._tree(uuid)[1].current is not None

    @hookimpl
    def virt_domain_snapshot_current(self, uuid: str) -> SnapshotRef:
        """The current snapshot."""
        dom, tree = self._tree(uuid)
        if tree.current is None:
            raise NoDomainSnapshotError("the domain does not have a current snapshot", domain=_QEMU)
        return SnapshotRef(tree.current, dom.uuid)

    @hookimpl
    def virt_domain_snapshot_get_parent(self, uuid: str, name: str) -> SnapshotRef:
        """The parent of snapshot ``name``."""
        dom, tree = self._tree(uuid)
        parent = tree.find(name).parent_name
        if parent is None:
            raise NoDomainSnapshotError(f"snapshot '{name}' does not have a parent", domain=_QEMU)
        return SnapshotRef(parent, dom.uuid)

    @hookimpl
    def virt_domain_snapshot_get_xml_desc(self, uuid: str, name: str) -> str:
        """Snapshot ``name``'s metadata, with the definition it was taken of."""
        import attrs

        snap = self._tree(uuid)[1].find(name)
        return attrs.evolve(snap, active=None).to_xml()

    @hookimpl
    def virt_domain_snapshot_is_current(self, uuid: str, name: str) -> bool:
        """Whether ``name`` is the current snapshot."""
        tree = self._tree(uuid)[1]
        tree.find(name)
        return tree.current == name

    @hookimpl
    def virt_domain_snapshot_has_metadata(self, uuid: str, name: str) -> bool:
        """True: every snapshot of this driver has its metadata."""
        self._tree(uuid)[1].find(name)
        return True

    # -- taking ---------------------------------------------------------------------------

    @hookimpl
    def virt_domain_snapshot_create_xml(
        self, uuid: str, xml: str, disk_only: bool, quiesce: bool, live: bool, redefine: bool,
        current: bool, no_metadata: bool, halt: bool, reuse_ext: bool,
    ) -> SnapshotRef:  # fmt: skip
        """Take a snapshot, or redefine one: internal (``snapshot-save`` or ``qemu-img snapshot -c``)
        or external (overlays, :mod:`virt_qemu.snapshotexternal`; ``disk_only``, external disks or
        memory in a file).

        ``atomic`` needs nothing here: an internal snapshot is one QEMU job over all disks,
        an external one a single ``transaction``. ``live``: a full external snapshot's guest
        runs on while its memory is copied (internal ones pause it).
        """
        from virtcore.xml import parse_snapshot

        if no_metadata:
            raise InvalidArgError(
                f"unsupported flags ({_FLAG_NO_METADATA:#x}) in function qemuDomainSnapshotCreateXML",
                domain=_QEMU,
            )
        if reuse_ext:
            raise ConfigUnsupportedError("reusing existing external snapshot files is not supported")
        if quiesce and not disk_only:
            raise ConfigUnsupportedError("quiesce requires disk-only snapshots")
        definition = parse_snapshot(xml, redefine=redefine)
        h = self.host
        h.sync()
        dom = h.get(uuid)
        with dom.job, self.files.lock(uuid).held():
            h.sync()
            h.still_known(dom)
            self._settle(dom)
            tree = self.files.read(uuid)
            if redefine:
                name = self._redefine(dom, tree, definition, current)
            else:
                if halt and dom.config is None:
                    raise OperationInvalidError("cannot halt after transient domain snapshot", domain=_QEMU)
                name = self._take(dom, tree, definition, disk_only=disk_only, quiesce=quiesce, live=live)
                if halt and dom.active:
                    h.stopping.stop_process(dom, "from-snapshot")
        return SnapshotRef(name, uuid)

    def _take(
        self, dom: Dom, tree: SnapshotTree, definition: SnapshotDef, *, disk_only: bool = False,
        quiesce: bool = False, live: bool = True,
    ) -> str:  # fmt: skip
        import attrs

        from virtcore.xml import format_domain

        h = self.host
        definition = definition.as_taken(int(time.time()))
        name = definition.name
        assert name is not None
        if name in tree.snaps:
            raise OperationFailedError(f"domain moment {name} already exists", domain=ErrorDomain.DOMAIN)
        active = dom.active
        memory_file = definition.memory_snapshot == "external"
        if memory_file and (disk_only or not active):
            raise ConfigUnsupportedError(
                f"snapshot '{name}': memory state cannot be saved with offline or disk-only snapshot"
            )
        if memory_file and definition.memory_file is None:
            kept = self.files.memory(dom.uuid, name)
            kept.parent.mkdir(mode=0o700, exist_ok=True)
            definition = attrs.evolve(definition, memory_file=str(kept))
        live_def = dom.definition
        disks, images, layers = disk_plan(live_def, definition, name, external=disk_only or memory_file)
        if memory_file and definition.memory_file is not None:
            from virt_qemu.overlays import check_path

            check_path(definition.memory_file, f"memory file of snapshot '{name}'")
            if os.path.lexists(definition.memory_file):
                raise ConfigUnsupportedError(
                    f"snapshot '{name}': memory file '{definition.memory_file}' already exists"
                )
        if layers and active and not (disk_only or memory_file):
            raise ConfigUnsupportedError(
                f"snapshot '{name}': external disks of a running domain need disk_only or a memory file"
            )
        if layers:
            return self._take_external(dom, tree, definition, disks, layers, disk_only, quiesce, live)
        if quiesce:
            raise ConfigUnsupportedError("quiesce requires disk-only snapshots")
        state = _STATE_NAME.get(dom.state, "running") if active else "shutoff"
        inactive = None
        if active and dom.config is not None and format_domain(dom.config) != format_domain(live_def):
            inactive = format_domain(dom.config)
        definition = attrs.evolve(
            definition,
            state=state,
            memory_snapshot="internal" if active else "no",
            disks=disks,
            parent=None,
        ).with_domain(format_domain(live_def), inactive)
        if tree.current is not None:
            definition = _with_parent(definition, tree.current)
        record: dict[str, Any] = {"name": name, "images": images, "live": active, "resume": False}
        if active and not images:  # no image to hold the memory: the driver keeps it
            mon = h.monitor_of(dom)
            record.update(
                resume=dom.state == DomainState.RUNNING, memory=str(self.files.memory(dom.uuid, name))
            )
            self.files.record(dom.uuid, record)
            try:
                self._pause(dom, mon)
                test_hold("snapshot-paused")
                self._save_memory(dom, mon, self.files.memory(dom.uuid, name))
            except BaseException:
                self._roll_back(dom, record)
                raise
        elif active:
            mon = h.monitor_of(dom)
            nodes = block_nodes(mon, images, dom)
            record.update(nodes=nodes, resume=dom.state == DomainState.RUNNING)
            self.files.record(dom.uuid, record)
            try:
                self._pause(dom, mon)
                test_hold("snapshot-paused")
                run_job(mon, "snapshot-save", {"tag": name, "vmstate": nodes[0], "devices": nodes},
                        f"cannot take snapshot '{name}' of domain '{dom.name}'")  # fmt: skip
            except BaseException:
                self._roll_back(dom, record)
                raise
        else:
            self.files.record(dom.uuid, record)
            done: list[str] = []
            try:
                for path in images:
                    qemu_img_snapshot("-c", name, path)
                    done.append(path)
            except BaseException:
                self._roll_back(dom, dict(record, images=done))
                raise
        test_hold("snapshot-taken")
        tree.snaps[name] = definition
        tree.current = name
        try:
            self.files.write(dom.uuid, tree)
        except BaseException:
            self._roll_back(dom, record)
            raise
        test_hold("snapshot-committed")
        self._settle(dom)
        return name

    def _take_external(
        self, dom: Dom, tree: SnapshotTree, definition: SnapshotDef, disks: tuple[SnapshotDisk, ...],
        layers: list[Layer], disk_only: bool, quiesce: bool, live: bool,
    ) -> str:  # fmt: skip
        import attrs

        from virtcore.xml import format_domain

        name = definition.name
        assert name is not None
        active = dom.active
        if disk_only:  # as libvirt: the state of a shut-off domain's is "shutoff"
            state = "disk-snapshot" if active else "shutoff"
        else:
            state = _STATE_NAME.get(dom.state, "running") if active else "shutoff"
        inactive = None
        d = dom.definition
        if active and dom.config is not None and format_domain(dom.config) != format_domain(d):
            inactive = format_domain(dom.config)
        memory = definition.memory_snapshot == "external"
        definition = attrs.evolve(
            definition,
            state=state,
            memory_snapshot="external" if memory else "no",
            memory_file=definition.memory_file if memory else None,
            disks=disks,
            parent=None,
        ).with_domain(format_domain(d), inactive)
        if tree.current is not None:
            definition = _with_parent(definition, tree.current)
        External(self).take(dom, tree, definition, layers, quiesce=quiesce, live=live)
        self._settle(dom)
        return name

    def _save_memory(self, dom: Dom, mon: Monitor, target: Path) -> None:
        """Migrate the paused guest's memory into ``target`` (through a temporary renamed over it)."""
        try:
            target.parent.mkdir(mode=0o700, exist_ok=True)
            fd, tmp = create_temporary(target, suffix=".partial")
        except OSError as exc:
            raise SystemError_(f"cannot create '{target}': {exc.strerror}") from None
        ok = False
        try:
            mon.cmd("migrate-set-parameters", {"max-bandwidth": 2**53})
            mon.send_fd(fd, "virtcore-snapshot")
            mon.cmd("migrate", {"uri": "fd:virtcore-snapshot"})
            if wait_migration(mon) != "completed":
                err = mon.cmd("query-migrate", timeout=10).get("error-desc", "migration failed")
                raise OperationFailedError(
                    f"cannot save the memory of domain '{dom.name}' to {target}: {err}"
                )
            os.fsync(fd)
            os.replace(tmp, target)
            ok = True
        except OperationTimeoutError:
            with contextlib.suppress(VirtError):
                mon.cmd("migrate_cancel")
            raise
        except OSError as exc:
            raise SystemError_(f"cannot write '{target}': {exc.strerror}") from None
        finally:
            os.close(fd)
            if not ok:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _redefine(self, dom: Dom, tree: SnapshotTree, definition: SnapshotDef, current: bool) -> str:
        name = definition.name
        assert name is not None
        if definition.domain is None:
            raise InternalError("missing domain in snapshot", domain=ErrorDomain.DOMAIN_SNAPSHOT)
        if definition.domain_uuid != dom.uuid:
            raise InvalidArgError(
                f"definition for snapshot {name} must use uuid {dom.uuid}", domain=ErrorDomain.DOMAIN
            )
        parent = definition.parent_name
        if parent is not None:
            if parent not in tree.snaps:
                raise InvalidArgError(
                    f"parent {parent} for moment {name} not found", domain=ErrorDomain.DOMAIN
                )
            if parent == name or parent in tree.descendants(name):
                raise InvalidArgError(
                    f"parent {parent} would create cycle to {name}", domain=ErrorDomain.DOMAIN
                )
        import attrs

        tree.snaps[name] = attrs.evolve(definition, active=None)
        if current:
            tree.current = name
        self.files.write(dom.uuid, tree)
        return name

    def _pause(self, dom: Dom, mon: Monitor) -> None:
        """Pause a running guest for a snapshot job (QEMU would, but this process must know it)."""
        h = self.host
        if dom.state == DomainState.RUNNING:
            with h.runstates.run_state_held(dom):
                h.runstates.own(dom, mon, "stop", "STOP")
                h.runstates.transition(dom, DomainState.PAUSED, PausedReason.SNAPSHOT)

    def _resume(self, dom: Dom, reason: RunningReason) -> None:
        h = self.host
        if dom.state == DomainState.PAUSED and dom.monitor is not None:
            with h.runstates.run_state_held(dom):
                h.runstates.own(dom, dom.monitor, "cont", "RESUME")
                h.runstates.transition(dom, DomainState.RUNNING, reason)

    # -- interrupted snapshots --------------------------------------------------------------

    def _roll_back(self, dom: Dom, record: dict[str, Any]) -> None:
        """Undo what ``record`` announced (tags on the disks), resume the guest, drop the record.

        Best effort: what cannot be undone now stays recorded for the next look.
        """
        name = record.get("name")
        clean = True
        if record.get("memory") and isinstance(name, str):
            self.files.drop_memory(dom.uuid, name)
        elif isinstance(name, str):
            if record.get("live") and dom.active and dom.monitor is not None:
                mon = dom.monitor
                try:
                    wait_job(mon)
                    run_job(mon, "snapshot-delete", {"tag": name, "devices": list(record.get("nodes", []))},
                            f"cannot roll back snapshot '{name}'")  # fmt: skip
                except VirtError:
                    clean = False
            elif dom.active:  # the images are QEMU's: a process with its monitor rolls back
                clean = False
            else:  # off (or stopped meanwhile): the images are free for qemu-img
                for path in record.get("images", []):
                    try:
                        if name in tags(str(path)):
                            qemu_img_snapshot("-d", name, str(path))
                    except VirtError:
                        clean = False
        if record.get("resume"):
            with contextlib.suppress(VirtError):
                self._resume(dom, RunningReason.SAVE_CANCELED)
        if clean:
            self.files.settle(dom.uuid)

    def _settle(self, dom: Dom) -> None:
        """Finish a record left behind (the caller holds the tree lock): keep what was committed."""
        files = self.files
        record = files.recorded(dom.uuid)
        if record is None:
            files.drop_prepared(dom.uuid)  # a tree written ahead by a process killed before its rename
            return
        if record.get("op") is not None:
            External(self).settle(dom, record)
            return
        committed = record.get("name") in files.read(dom.uuid).snaps
        if committed:
            if record.get("resume"):
                with contextlib.suppress(VirtError):
                    self._resume(dom, RunningReason.FROM_SNAPSHOT)
            files.settle(dom.uuid)
        else:
            self._roll_back(dom, record)

    def _recover(self, dom: Dom) -> None:
        """Settle a snapshot whose process died (found while reading); skipped while its taker lives."""
        lock = self.files.lock(dom.uuid)
        with dom.job:
            try:
                if not lock.try_acquire():
                    return
            except OSError:
                return
            try:
                self.host.sync(force=True)
                self._settle(dom)
            finally:
                lock.release()

    # -- reverting ----------------------------------------------------------------------------

    @hookimpl
    def virt_domain_revert_to_snapshot(
        self, uuid: str, name: str, running: bool, paused: bool, force: bool
    ) -> bool:
        """Bring the disks, the definition and (for a running snapshot) the memory back to ``name``."""
        h = self.host
        h.sync()
        dom = h.get(uuid)
        with dom.job, self.files.lock(uuid).held():
            h.sync()
            h.still_known(dom)
            self._settle(dom)
            tree = self.files.read(uuid)
            snap = tree.find(name)
            recorded = snap.domain
            live_snapshot = snap.state in _STATE_NAME.values()
            if not force:
                if recorded is None:
                    raise SnapshotRevertRiskyError(
                        f"snapshot '{name}' lacks domain '{dom.name}' rollback info", domain=_QEMU
                    )
                if dom.active and live_snapshot and hardware_changed(_as_running(snap, recorded), dom.live):
                    raise SnapshotRevertRiskyError(
                        f"the memory or devices of domain '{dom.name}' "
                        f"changed since snapshot '{name}' (the guest must be restarted)",
                        domain=_QEMU,
                    )
                if dom.active and not live_snapshot and (running or paused):
                    raise SnapshotRevertRiskyError(
                        "must respawn guest to start inactive snapshot", domain=_QEMU
                    )
            if dom.config is None and not live_snapshot and not (running or paused):
                raise OperationInvalidError(
                    "transient domain needs to request run or pause to revert to inactive snapshot",
                    domain=_QEMU,
                )
            if tree.is_external(name):
                External(self).revert(dom, tree, snap, running=running, paused=paused)
                return True
            images = disk_images(snap, recorded)
            end_paused = not running and (snap.state == "paused" or paused)
            if live_snapshot:
                self._revert_live(dom, snap, name, images, end_paused)
                self._restore_config(dom, snap)
            else:
                if dom.active:
                    h.stopping.stop_process(dom, "from-snapshot")
                for path in images:
                    qemu_img_snapshot("-a", name, path)
                self._restore_config(dom, snap)
                if running or paused:
                    self._launch(dom, h.config_of(dom), paused=paused)
            if tree.current != name:
                tree.current = name
                self.files.write(uuid, tree)
        return True

    def _restore_config(self, dom: Dom, snap: SnapshotDef) -> None:
        from virtcore.xml import format_domain

        d = snap.inactive_domain or snap.domain
        if d is None or dom.config is None or format_domain(d) == format_domain(dom.config):
            return
        self.host.save_config(dom, d)

    def _launch(self, dom: Dom, d: DomainDef, *, paused: bool) -> None:
        h = self.host
        self.launcher.launch(dom, d, paused=paused, reason=RunningReason.FROM_SNAPSHOT)
        if paused:
            dom.reason = PausedReason.FROM_SNAPSHOT
        h.emit(domain_event(dom.ref, DomainEventType.STARTED, StartedDetail.FROM_SNAPSHOT))
        if paused:
            h.emit(domain_event(dom.ref, DomainEventType.SUSPENDED, SuspendedDetail.FROM_SNAPSHOT))

    def _revert_live(
        self, dom: Dom, snap: SnapshotDef, name: str, images: list[str], end_paused: bool
    ) -> None:
        """``snapshot-load`` into the guest (started paused from the recorded definition if it is off)."""
        h = self.host
        if dom.active and hardware_changed(snap.domain, dom.live):  # forced (else refused): respawn
            h.stopping.stop_process(dom, "from-snapshot")
        memory = self.files.memory(dom.uuid, name)
        if memory.exists():
            self._revert_memory_file(dom, snap, memory, end_paused)
            return
        started = False
        if not dom.active:
            d = snap.domain
            assert d is not None  # a live snapshot of this driver records it
            self.launcher.launch(dom, d, paused=True, reason=RunningReason.FROM_SNAPSHOT)
            started = True
        mon = h.monitor_of(dom)
        was = dom.state
        self._pause(dom, mon)
        nodes = block_nodes(mon, images, dom)
        run_job(mon, "snapshot-load", {"tag": name, "vmstate": nodes[0], "devices": nodes},
                f"cannot revert domain '{dom.name}' to snapshot '{name}'")  # fmt: skip
        if started:
            h.emit(domain_event(dom.ref, DomainEventType.STARTED, StartedDetail.FROM_SNAPSHOT))
        if end_paused:
            with h.runstates.run_state_held(dom):
                dom.reason = PausedReason.FROM_SNAPSHOT
                h.write_status(dom)
            if started or was == DomainState.RUNNING:
                h.emit(domain_event(dom.ref, DomainEventType.SUSPENDED, SuspendedDetail.FROM_SNAPSHOT))
        else:
            self._resume(dom, RunningReason.FROM_SNAPSHOT)

    def _revert_memory_file(self, dom: Dom, snap: SnapshotDef, memory: Path, end_paused: bool) -> None:
        """Start the recorded definition afresh from the memory the driver kept (stopping it first)."""
        h = self.host
        d = snap.domain
        assert d is not None  # a live snapshot of this driver records it
        if dom.active:
            h.stopping.stop_process(dom, "from-snapshot")
        try:
            fd = os.open(memory, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise SystemError_(f"cannot read snapshot memory '{memory}': {exc.strerror}") from None
        try:
            self.launcher.launch(
                dom, d, paused=False, reason=RunningReason.FROM_SNAPSHOT, incoming=(fd, end_paused)
            )
        except ImageLoadError as exc:
            raise OperationFailedError(f"cannot load snapshot memory '{memory}': {exc.detail}") from None
        finally:
            os.close(fd)
        h.emit(domain_event(dom.ref, DomainEventType.STARTED, StartedDetail.FROM_SNAPSHOT))
        if end_paused:
            dom.reason = PausedReason.FROM_SNAPSHOT
            h.emit(domain_event(dom.ref, DomainEventType.SUSPENDED, SuspendedDetail.FROM_SNAPSHOT))

    # -- deleting --------------------------------------------------------------------------------

    @hookimpl
    def virt_domain_snapshot_delete(
        self, uuid: str, name: str, children: bool, children_only: bool, metadata_only: bool,
        progress: Progress | None,
    ) -> bool:  # fmt: skip
        """Delete ``name`` and/or its descendants: their tags in the images (internal) or their
        overlays merged back (external, ``progress`` called as the merge runs), then their metadata."""
        h = self.host
        h.sync()
        dom = h.get(uuid)
        with dom.job, self.files.lock(uuid).held():
            h.sync()
            self._settle(dom)
            tree = self.files.read(uuid)
            tree.find(name)
            doomed = list(tree.descendants(name)) if children or children_only else []
            if not children_only:
                doomed.append(name)
            for victim in doomed:
                current = name if children_only else None
                if metadata_only:
                    _forget(tree, victim, current)
                    self.files.write(uuid, tree)
                elif tree.is_external(victim):  # merged: the files go once nothing names them
                    ext = External(self)
                    forget = functools.partial(_forget, victim=victim, current=current)
                    files = ext.delete(dom, tree, victim, progress, forget)
                    ext.remove_files(dom, tree, files)
                    self.files.settle(uuid)
                else:
                    tree = self._delete_internal(dom, tree, victim, current)
        return True

    def _delete_internal(
        self, dom: Dom, tree: SnapshotTree, victim: str, current: str | None
    ) -> SnapshotTree:
        """Delete internal snapshot ``victim`` (``current``: the one current after, if it was), its
        tree without it written (and synced) ahead while QEMU or ``qemu-img`` deletes it; that tree."""
        after = tree.copy()
        was_current = after.current == victim
        after.forget(victim)
        if was_current and current is not None:
            after.current = current
        if not after.snaps and not after.overlays:  # no tree file left: nothing to write ahead
            self._delete_data(dom, tree.snaps[victim], victim)
            self.files.write(dom.uuid, after)
            return after
        ahead = Ahead(self.files.prepare, dom.uuid, "tree", after.to_bytes())
        try:
            self._delete_data(dom, tree.snaps[victim], victim, ahead)
            prepared = ahead.result()
        except BaseException:
            self.files.drop_prepared(dom.uuid)
            raise
        self.files.install(dom.uuid, prepared)
        self.files.sync()
        return after

    def _delete_data(
        self, dom: Dom, snap: SnapshotDef, name: str, meanwhile: Callable[[], None] | None = None
    ) -> None:
        """Delete internal snapshot ``name``'s tags (QEMU's job, or ``qemu-img``) and memory file;
        ``meanwhile`` is called while QEMU deletes them, or before."""
        if meanwhile is not None and not dom.active:
            meanwhile()
        self.files.drop_memory(dom.uuid, name)
        images = disk_images(snap, snap.domain)
        if not images:
            return
        if dom.active:
            mon = self.host.monitor_of(dom)
            found = list(zip(images, nodes_or_none(mon, images), strict=True))
            present = [p for p, n in found if n is not None]
            nodes = [n for _, n in found if n is not None]
            if nodes:
                run_job(mon, "snapshot-delete", {"tag": name, "devices": nodes},
                        f"cannot delete snapshot '{name}' of domain '{dom.name}'", meanwhile)  # fmt: skip
            elif meanwhile is not None:
                meanwhile()
            images = [p for p in images if p not in present]
        for path in images:
            if name in tags(path):
                qemu_img_snapshot("-d", name, path)


def _as_running(snap: SnapshotDef, recorded: DomainDef) -> DomainDef:
    """The definition ``snap`` recorded, with the images its external disks run on since (the
    overlays that replace them on a revert are no change of hardware)."""
    from virt_qemu.snapshotexternal import point_disks, recorded_layers

    layers = recorded_layers(snap)
    return point_disks(recorded, {x.target: (x.overlay, "qcow2") for x in layers}) if layers else recorded


def _forget(tree: SnapshotTree, victim: str, current: str | None) -> None:
    """Drop ``victim`` from ``tree`` (its children move to its parent); ``current``: the snapshot
    current after it, if it was (else its parent)."""
    was_current = tree.current == victim
    tree.forget(victim)
    if was_current and current is not None:
        tree.current = current


def _with_parent(definition: SnapshotDef, parent: str) -> SnapshotDef:
    """``definition`` taken after snapshot ``parent``."""
    import attrs

    from virtcore.xml.snapshot import SnapshotParent

    return attrs.evolve(definition, parent=SnapshotParent(name=parent))
