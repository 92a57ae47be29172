"""External snapshots of QEMU guests: overlays taken, reverted to and merged back.

Taking one freezes each chosen disk's current image (its *base*) under a new
qcow2 overlay (:mod:`virt_qemu.overlays`): made with ``qemu-img`` and, for a
running guest, switched to in one QMP ``transaction`` for all disks; a full
snapshot first migrates the guest's memory and device state into the memory
file. The definition's ``<source>`` then names the overlay (as libvirt), and the
snapshot's ``<disks>`` record it.

Reverting (which libvirt refuses) puts a fresh overlay on each base: the
snapshot's own overlay made anew when no later snapshot sits on it, else a new
``OVERLAY-N`` beside it, so no image a later snapshot depends on is written.
A full snapshot's guest is started from its memory file on those overlays; the
overlay left behind, if nothing depends on it, is removed.

Deleting merges each overlay back into its base (``block-commit`` while the
guest runs: an active commit with ``job-complete`` for the top layer; else
``qemu-img commit`` and ``rebase -u``), progress reported, and removes it only
once the commit has completed. A base that another branch (a revert) also sits
on keeps its overlays: the snapshot's metadata goes, its images stay.

Every step is recorded first (:meth:`virt_qemu.snapshottree.TreeFiles.record`):
a process killed mid-way leaves a record the next one finishes (a switch QEMU
made or a commit started is carried through) or rolls back (overlays no
definition names are removed). Taking one writes the new tree and definition
(synced, beside their places) while ``qemu-img`` makes the overlays, so its
commit is two renames and their directories synced at once. A revert makes its fresh
overlays while the guest runs on, then records its commit point; only after it
is the guest stopped, and a process killed after it has the revert carried
through (the guest started on the overlays) by the next one.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from virt_qemu.hoststate import Dom
from virt_qemu.launching import ImageLoadError
from virt_qemu.overlays import (
    Progress,
    add_overlay_node,
    blocks_using,
    commit_live,
    commit_offline,
    create_overlay,
    delete_nodes,
    format_nodes,
    formats_of,
    node_name,
    overlay_node,
    rebase_unsafe,
    stands_alone,
    switch_live,
    top_nodes,
    virtual_size,
)
from virt_qemu.qmpjob import JobRefusedError
from virt_qemu.saving import test_hold
from virt_qemu.snapshotdisks import Layer, disk_images, nodes_or_none
from virt_qemu.snapshottree import Ahead, Overlay, SnapshotTree
from virtcore.errors import (
    ConfigUnsupportedError,
    ErrorDomain,
    OperationFailedError,
    SystemError_,
    VirtError,
)
from virtcore.types import (
    DomainEventType,
    DomainState,
    PausedReason,
    RunningReason,
    StartedDetail,
    SuspendedDetail,
)

if TYPE_CHECKING:
    from virt_qemu.connection import Session
    from virt_qemu.host import Host
    from virt_qemu.launching import Launcher
    from virt_qemu.monitor import Monitor
    from virt_qemu.snapshottree import TreeFiles
    from virtcore.xml import DomainDef, SnapshotDef

__all__ = ["External", "Steps", "point_disks", "recorded_layers"]

_QEMU = ErrorDomain.QEMU


def point_disks(d: DomainDef, tops: dict[str, tuple[str, str]]) -> DomainDef:
    """``d`` with disk ``target``'s source and format set to ``tops[target]`` (path, format)."""
    import attrs

    from virtcore.xml import Disk

    devices = []
    for dev in d.devices:
        if isinstance(dev, Disk) and dev.target_dev in tops:
            path, fmt = tops[dev.target_dev]
            dev = attrs.evolve(dev, source=path, driver_type=fmt)
        devices.append(dev)
    return attrs.evolve(d, devices=tuple(devices), raw=d.raw)


def recorded_layers(snap: SnapshotDef) -> list[Layer]:
    """The layers of an external snapshot: each external disk's base (in the definition it
    recorded) and its overlay."""
    d = snap.domain
    if d is None:
        return []
    bases = {x.target_dev: (x.source, x.driver_type or "raw") for x in d.disks if x.source}
    out = []
    for disk in snap.disks:
        if disk.snapshot == "external" and disk.file and disk.name in bases:
            base, fmt = bases[disk.name]
            out.append(Layer(disk.name, base, fmt, disk.file))
    return out


def _chosen(
    d: DomainDef, tops: dict[str, tuple[str, str]], only_from: set[str] | None
) -> dict[str, tuple[str, str]]:
    """The entries of ``tops`` for disks of ``d`` (whose source is in ``only_from``, when given)."""
    now = _tops(d)
    return {t: v for t, v in tops.items() if t in now and (only_from is None or now[t] in only_from)}


def _add(tree: SnapshotTree, definition: SnapshotDef, layers: list[Layer]) -> None:
    """Put ``definition`` (the current snapshot now) and its overlays into ``tree``."""
    name = definition.name
    assert name is not None
    tree.snaps[name] = definition
    tree.current = name
    for x in layers:
        tree.overlays[x.overlay] = Overlay(x.base, x.fmt)


class _Prepared(NamedTuple):
    """What :meth:`External._prepare` wrote ahead of a snapshot's commit."""

    #: the tree's temporary (None: the tree is empty, its file is removed)
    tree: str | None
    #: the persistent definition it was made from, the one to install and its temporary
    old: DomainDef | None
    new: DomainDef | None
    config: str | None


@functools.cache
def _syncer() -> concurrent.futures.ThreadPoolExecutor:
    """The thread that syncs one directory while the caller syncs another: started once (a
    thread started for each sync costs more than the sync it overlaps on a loaded host)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="virt-qemu-sync")


def _tops(d: DomainDef | None) -> dict[str, str]:
    return {} if d is None else {x.target_dev: x.source for x in d.disks if x.source}


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Steps(Protocol):
    """What external snapshots use of the snapshot hooks' part (:class:`virt_qemu.snapshots.Snapshots`):
    its connection and the steps internal snapshots take too."""

    session: Session

    @property
    def host(self) -> Host:
        """The host of the connection's URI."""

    @property
    def files(self) -> TreeFiles:
        """The snapshot tree files."""

    @property
    def launcher(self) -> Launcher:
        """What starts QEMU."""

    def _pause(self, dom: Dom, mon: Monitor) -> None: ...
    def _resume(self, dom: Dom, reason: RunningReason) -> None: ...
    def _save_memory(self, dom: Dom, mon: Monitor, target: Path) -> None: ...
    def _launch(self, dom: Dom, d: DomainDef, *, paused: bool) -> None: ...


class External:
    """External snapshots for the snapshot hooks (:class:`virt_qemu.snapshots.Snapshots`)."""

    def __init__(self, part: Steps) -> None:
        self.part = part
        self.host = part.host
        self.files = part.files

    # -- taking -----------------------------------------------------------------------------

    def take(
        self, dom: Dom, tree: SnapshotTree, definition: SnapshotDef, layers: list[Layer], *,
        quiesce: bool, live: bool,
    ) -> None:  # fmt: skip
        """Freeze ``layers`` under their overlays (and the memory into ``definition``'s memory
        file when it has one), then commit ``definition`` to the tree and the definitions."""
        name = definition.name
        assert name is not None
        memory = definition.memory_file if definition.memory_snapshot == "external" else None
        record: dict[str, Any] = {
            "op": "external", "name": name, "overlays": [x.overlay for x in layers],
            "live": dom.active, "resume": dom.state == DomainState.RUNNING, "memory": memory,
            "snapshot": definition.to_xml(),
        }  # fmt: skip
        self.files.record(dom.uuid, record)
        try:
            # the disks' top nodes are asked for, and the new tree and definition written (and
            # synced), while qemu-img makes the overlays
            mon = self.host.monitor_of(dom) if dom.active else None
            asked = None if mon is None else mon.submit("query-block")
            ahead = Ahead(self._prepare, dom, tree, definition, layers)
            for x in layers:
                create_overlay(x.overlay, x.base, x.fmt, virtual_size(x.base, x.fmt))
            if mon is not None and asked is not None:
                tops = top_nodes(mon.answer(asked), [x.base for x in layers])
                self._switch(dom, layers, tops, quiesce=quiesce, live=live, memory=memory, meanwhile=ahead)
        except BaseException:
            self.roll_back(dom, record)
            raise
        test_hold("snapshot-taken")
        self._install(dom, tree, definition, layers, self._prepared(dom, ahead))
        test_hold("snapshot-committed")
        self.files.settle(dom.uuid)
        if record["resume"]:
            self.part._resume(dom, RunningReason.FROM_SNAPSHOT)

    def _switch(
        self, dom: Dom, layers: list[Layer], tops: list[str], *, quiesce: bool, live: bool,
        memory: str | None, meanwhile: Callable[[], None],
    ) -> None:  # fmt: skip
        """Put the overlays on top of their disks in QEMU (after saving the memory, freezing the
        guest's filesystems, if asked); ``meanwhile`` is called while QEMU works."""
        h = self.host
        mon = h.monitor_of(dom)
        nodes: list[str] = []
        try:
            if memory is None and not quiesce:  # nothing in between: added and switched in one trip
                made = [overlay_node(x.overlay) for x in layers]
                nodes = [n for n, _ in made]
                switch_live(mon, list(zip(tops, nodes, strict=True)), [a for _, a in made], meanwhile)
                return
            meanwhile()
            for x in layers:
                nodes.append(add_overlay_node(mon, x.overlay))
            if memory is not None:
                if not live:
                    self.part._pause(dom, mon)
                self._save_memory(dom, mon, memory, live)
            frozen = self._freeze(dom) if quiesce else False
            try:
                switch_live(mon, list(zip(tops, nodes, strict=True)))
            finally:
                if frozen:
                    self._thaw(dom)
        except BaseException:
            delete_nodes(mon, nodes)
            raise

    def _save_memory(self, dom: Dom, mon: Monitor, memory: str, live: bool) -> None:
        """Migrate the guest's memory into ``memory`` (running on while it copies when ``live``);
        the guest is paused when it returns (QEMU pauses it to finish a live migration)."""
        h = self.host
        if dom.state == DomainState.RUNNING:  # live: QEMU stops the guest itself at the end
            with h.runstates.run_state_held(dom):
                h.runstates.transition(dom, DomainState.PAUSED, PausedReason.SNAPSHOT)
        target = Path(memory)
        try:
            self.part._save_memory(dom, mon, target)
        except BaseException:
            _unlink(memory)
            raise

    def _freeze(self, dom: Dom) -> bool:
        from virt_qemu.agent import Agent

        Agent(self.part.session).virt_domain_fs_freeze(dom.uuid, None)
        return True

    def _thaw(self, dom: Dom) -> None:
        from virt_qemu.agent import Agent

        with contextlib.suppress(VirtError):
            Agent(self.part.session).virt_domain_fs_thaw(dom.uuid, None)

    def _commit(self, dom: Dom, tree: SnapshotTree, definition: SnapshotDef, layers: list[Layer]) -> None:
        """Write the snapshot into the tree, then the definitions naming the overlays."""
        _add(tree, definition, layers)
        self.files.write(dom.uuid, tree)
        self._point(dom, {x.target: (x.overlay, "qcow2") for x in layers}, {x.base for x in layers})

    def _prepare(
        self, dom: Dom, tree: SnapshotTree, definition: SnapshotDef, layers: list[Layer]
    ) -> _Prepared:
        """Write (synced, not yet in place) the tree with the snapshot and the persistent
        definition naming its overlays: what :meth:`_install` renames into place."""
        after = tree.copy()
        _add(after, definition, layers)
        config = dom.config
        new = None
        if config is not None:
            pick = _chosen(config, {x.target: (x.overlay, "qcow2") for x in layers}, {x.base for x in layers})
            if pick:
                new = point_disks(config, pick)
        return self._write_ahead(dom, after, new)

    def _write_ahead(self, dom: Dom, after: SnapshotTree, new: DomainDef | None) -> _Prepared:
        """Write (synced, not yet in place) the tree ``after`` (none when it is empty) and the
        persistent definition ``new`` (None: it stays), for :meth:`_put_in_place` at the change's
        commit point."""
        from virtcore.xml import format_domain

        tree_tmp = (
            None
            if not after.snaps and not after.overlays
            else self.files.prepare(dom.uuid, "tree", after.to_bytes())
        )
        try:
            config_tmp = (
                None if new is None else self.files.prepare(dom.uuid, "config", format_domain(new).encode())
            )
        except BaseException:
            if tree_tmp is not None:
                _unlink(tree_tmp)
            raise
        return _Prepared(tree_tmp, dom.config, new, config_tmp)

    def _install(
        self, dom: Dom, tree: SnapshotTree, definition: SnapshotDef, layers: list[Layer],
        prepared: _Prepared | None,
    ) -> None:  # fmt: skip
        """Commit what :meth:`_prepare` wrote: rename the tree and the definition into place (then
        sync their directories), and point the live definition at the overlays."""
        _add(tree, definition, layers)
        tops = {x.target: (x.overlay, "qcow2") for x in layers}
        bases = {x.base for x in layers}
        self._point_live(dom, tops, bases)
        if not self._put_in_place(dom, prepared):  # changed meanwhile: the usual writes
            self._point_config(dom, tops, bases)
            self.files.write(dom.uuid, tree)

    def _prepared(self, dom: Dom, ahead: Ahead[_Prepared]) -> _Prepared | None:
        """What ``ahead`` wrote; None if it failed (past the commit point: the usual writes follow)."""
        try:
            return ahead.result()
        except VirtError:
            self.files.drop_prepared(dom.uuid)
            return None

    def _put_in_place(self, dom: Dom, prepared: _Prepared | None) -> bool:
        """Rename what :meth:`_write_ahead` wrote into place, then make both renames durable
        (their directories synced at once, one by :func:`_syncer`). False when nothing was
        written ahead, or the persistent definition changed since or needed no change (what was
        written for it is dropped): the caller then writes the definition and the tree the
        usual way."""
        from virtcore.files import sync_directory

        if prepared is None:
            return False
        if prepared.tree is None:  # the tree is empty: its file goes
            self.files.remove(dom.uuid)
        else:
            self.files.install(dom.uuid, prepared.tree)
        if prepared.config is None or prepared.new is None or dom.config is not prepared.old:
            self.files.drop_prepared(dom.uuid)
            return False
        self.host.save_config(dom, prepared.new, prepared.config)
        other = _syncer().submit(self.files.sync)  # both directories synced at once
        sync_directory(self.host.layout.config)
        other.result()
        return True

    def _point(self, dom: Dom, tops: dict[str, tuple[str, str]], only_from: set[str] | None = None) -> None:
        """Make the live and persistent definitions name ``tops`` (each disk whose source is in
        ``only_from``, when given: a definition changed meanwhile is left alone)."""
        self._point_live(dom, tops, only_from)
        self._point_config(dom, tops, only_from)

    def _point_live(self, dom: Dom, tops: dict[str, tuple[str, str]], only_from: set[str] | None) -> None:
        h = self.host
        if dom.live is not None:
            with h.runstates.run_state_held(dom):
                pick = _chosen(dom.live, tops, only_from)
                if pick:
                    dom.live = point_disks(dom.live, pick)
                    h.write_status(dom)

    def _point_config(self, dom: Dom, tops: dict[str, tuple[str, str]], only_from: set[str] | None) -> None:
        if dom.config is not None:
            pick = _chosen(dom.config, tops, only_from)
            if pick:
                self.host.save_config(dom, point_disks(dom.config, pick))

    # -- an interrupted snapshot --------------------------------------------------------------

    def roll_back(self, dom: Dom, record: dict[str, Any]) -> None:
        """Undo a snapshot that was not switched to: its overlay nodes and files, the memory file,
        what was written ahead for its commit."""
        self.files.drop_prepared(dom.uuid)
        if dom.active and record.get("live"):  # the overlay nodes a dead process added
            with contextlib.suppress(VirtError):
                mon = self.host.monitor_of(dom)
                found = format_nodes(mon)
                nodes = [found.get(os.path.realpath(str(p)), "") for p in record.get("overlays", [])]
                delete_nodes(mon, [n for n in nodes if n.startswith("vcsnap-")])
        for path in record.get("overlays", []):
            _unlink(str(path))
        if record.get("memory"):
            _unlink(str(record["memory"]))
        if record.get("resume"):
            with contextlib.suppress(VirtError):
                self.part._resume(dom, RunningReason.SAVE_CANCELED)
        self.files.settle(dom.uuid)

    def settle(self, dom: Dom, record: dict[str, Any]) -> None:
        """Finish what a dead process recorded (the tree lock is held)."""
        self.files.drop_prepared(dom.uuid)
        op = record.get("op")
        if op == "delete":
            tree = self.files.read(dom.uuid)
            name = record.get("name")
            doomed = [str(p) for p in record.get("remove", [])]
            if isinstance(name, str) and name in tree.snaps:
                doomed = self.delete(dom, tree, name, None, functools.partial(SnapshotTree.forget, name=name))
            self.remove_files(dom, tree, doomed)
            self.files.settle(dom.uuid)
            return
        if op == "revert":
            tree = self.files.read(dom.uuid)
            name = record.get("name")
            snap = tree.snaps.get(name) if isinstance(name, str) else None
            if record.get("committed") and snap is not None:
                self._finish_revert(dom, tree, snap, record)
                return
            for tmp in record.get("temporaries", {}):
                _unlink(str(tmp))
            self.files.settle(dom.uuid)
            return
        from virtcore.xml import parse_snapshot

        tree = self.files.read(dom.uuid)
        name = record.get("name")
        snap = tree.snaps.get(name) if isinstance(name, str) else None
        switched = snap is not None
        if snap is None and record.get("live") and dom.active:
            # QEMU made the switch if its disks now sit on the overlays: carry it through
            overlays = [str(p) for p in record.get("overlays", [])]
            mon = self.host.monitor_of(dom)
            switched = bool(overlays) and all(n is not None for n in nodes_or_none(mon, overlays))
            if switched:
                snap = parse_snapshot(str(record["snapshot"]), redefine=True)
        if not switched or snap is None:
            self.roll_back(dom, record)
            return
        layers = [x for x in recorded_layers(snap) if x.overlay in record.get("overlays", [])]
        self._commit(dom, tree, snap, layers)
        self.files.settle(dom.uuid)
        if record.get("resume"):
            with contextlib.suppress(VirtError):
                self.part._resume(dom, RunningReason.FROM_SNAPSHOT)

    # -- reverting ----------------------------------------------------------------------------

    def revert(self, dom: Dom, tree: SnapshotTree, snap: SnapshotDef, *, running: bool, paused: bool) -> None:
        """Start the domain's disks afresh on the snapshot's bases (and its memory, for a full one).

        Recorded first, then committed (:meth:`_finish_revert`) once the fresh overlays exist:
        a process killed before that leaves the guest and the tree as they were, after it the
        next process carries the revert through."""
        name = snap.name
        assert name is not None
        layers = recorded_layers(snap)
        recorded = snap.domain
        if recorded is None or not layers:
            raise ConfigUnsupportedError(f"snapshot '{name}' records no external disk to revert to")
        memory = snap.memory_file if snap.memory_snapshot == "external" else None
        if memory is not None and not os.path.exists(memory):
            raise OperationFailedError(f"the memory file '{memory}' of snapshot '{name}' is gone")
        for x in layers:
            if not os.path.exists(x.base):
                raise OperationFailedError(f"the image '{x.base}' of snapshot '{name}' is gone")
        before = _tops(dom.config) | _tops(dom.live)
        new: dict[str, str] = {}
        temporaries: dict[str, str] = {}
        for x in layers:
            final = x.overlay
            if tree.dependents(x.overlay):  # a later snapshot sits on it: a new overlay beside it
                n = 1
                while os.path.lexists(f"{x.overlay}-{n}") or f"{x.overlay}-{n}" in tree.overlays:
                    n += 1
                final = f"{x.overlay}-{n}"
            new[x.target] = final
            temporaries[f"{final}.{os.getpid()}.partial"] = final
        record: dict[str, Any] = {"op": "revert", "name": name, "temporaries": temporaries}
        self.files.record(dom.uuid, record)
        partial = {final: tmp for tmp, final in temporaries.items()}
        after, config = self._reverted(dom, tree, snap, new, before)
        doomed = [p for p in tree.overlays if p not in after.overlays]
        try:  # the guest runs on meanwhile: nothing is changed yet
            for x in layers:
                create_overlay(partial[new[x.target]], x.base, x.fmt, virtual_size(x.base, x.fmt))
        except BaseException:
            for tmp in temporaries:
                _unlink(tmp)
            self.files.settle(dom.uuid)
            raise
        test_hold("snapshot-revert-prepared")
        launch: dict[str, Any] | None = None
        if memory is not None:
            launch = {"memory": memory, "paused": not running and (snap.state == "paused" or paused)}
        elif running or paused:
            launch = {"paused": paused}
        record.update(
            committed=True, new=new, doomed=doomed, launch=launch, pid=dom.pid if dom.active else None
        )
        self.files.record(dom.uuid, record)  # the commit point: from here on it is carried through
        test_hold("snapshot-revert-committed")
        # the tree and definition after it are written (synced) while QEMU exits
        self._finish_revert(dom, tree, snap, record, Ahead(self._write_ahead, dom, after, config))

    def _reverted(
        self, dom: Dom, tree: SnapshotTree, snap: SnapshotDef, new: dict[str, str], before: dict[str, str]
    ) -> tuple[SnapshotTree, DomainDef | None]:
        """The tree after a revert to ``snap`` whose disks run on ``new`` (target -> fresh overlay;
        ``before``: the images they ran on): the fresh overlays in, the overlays left behind that
        nothing depends on out, ``snap`` current; and the persistent definition after it (None
        for a transient domain)."""
        after = tree.copy()
        bases = {x.target: x for x in recorded_layers(snap)}
        for target, final in new.items():
            after.overlays[final] = Overlay(bases[target].base, bases[target].fmt)
        for p in set(before.values()):
            if p in after.overlays and p not in new.values() and not after.dependents(p):
                del after.overlays[p]
        after.current = snap.name
        recorded = snap.domain
        assert recorded is not None
        tops = {t: (p, "qcow2") for t, p in new.items()}
        config = None if dom.config is None else point_disks(snap.inactive_domain or recorded, tops)
        return after, config

    def _finish_revert(
        self, dom: Dom, tree: SnapshotTree, snap: SnapshotDef, record: dict[str, Any],
        ahead: Ahead[_Prepared] | None = None,
    ) -> None:  # fmt: skip
        """Carry a committed revert to ``snap`` through (again, if its process died: each step
        sees whether it was done): stop the guest, put the fresh overlays in place, write the tree
        and the definition naming them (``ahead``: written while QEMU exits, renamed into place),
        remove the discarded overlays, start the guest."""
        h = self.host
        name = snap.name
        recorded = snap.domain
        assert name is not None and recorded is not None
        new = {str(t): str(p) for t, p in dict(record.get("new", {})).items()}
        launch = record.get("launch")
        started = dom.active and dom.pid != record.get("pid")  # started on the overlays already
        if dom.active and not started:
            h.stopping.stop_process(dom, "from-snapshot", ahead)
        for tmp, final in dict(record.get("temporaries", {})).items():
            if os.path.exists(tmp):
                os.replace(tmp, final)
        bases = {x.target: x for x in recorded_layers(snap)}
        for target, final in new.items():
            tree.overlays[final] = Overlay(bases[target].base, bases[target].fmt)
        tops = {t: (p, "qcow2") for t, p in new.items()}
        doomed = [str(p) for p in record.get("doomed", [])]
        for p in doomed:
            tree.overlays.pop(p, None)
        tree.current = name
        if ahead is None or not self._put_in_place(dom, self._prepared(dom, ahead)):
            if dom.config is not None:
                h.save_config(dom, point_disks(snap.inactive_domain or recorded, tops))
            self.files.write(dom.uuid, tree)
        test_hold("snapshot-revert-written")
        for p in doomed:
            _unlink(p)
        try:
            if not started and isinstance(launch, dict):
                start = point_disks(recorded, tops)
                if launch.get("memory") is not None:
                    self._start_from(dom, start, str(launch["memory"]), bool(launch.get("paused")))
                else:
                    self.part._launch(dom, start, paused=bool(launch.get("paused")))
        finally:  # a start that failed is not tried again: the revert itself is done
            self.files.settle(dom.uuid)

    def _start_from(self, dom: Dom, d: DomainDef, memory: str, end_paused: bool) -> None:
        h = self.host
        try:
            fd = os.open(memory, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise SystemError_(f"cannot read snapshot memory '{memory}': {exc.strerror}") from None
        try:
            self.part.launcher.launch(
                dom, d, paused=False, reason=RunningReason.FROM_SNAPSHOT, incoming=(fd, end_paused)
            )
        except ImageLoadError as exc:
            raise OperationFailedError(f"cannot load snapshot memory '{memory}': {exc.detail}") from None
        finally:
            os.close(fd)
        from virt_qemu.hoststate import domain_event

        h.emit(domain_event(dom.ref, DomainEventType.STARTED, StartedDetail.FROM_SNAPSHOT))
        if end_paused:
            dom.reason = PausedReason.FROM_SNAPSHOT
            h.emit(domain_event(dom.ref, DomainEventType.SUSPENDED, SuspendedDetail.FROM_SNAPSHOT))

    # -- deleting -----------------------------------------------------------------------------

    def delete(
        self, dom: Dom, tree: SnapshotTree, name: str, progress: Progress | None,
        forget: Callable[[SnapshotTree], None],
    ) -> list[str]:  # fmt: skip
        """Merge each overlay of snapshot ``name`` back into its base, then write the tree with
        ``forget`` applied (it drops the snapshot) and the definitions naming the bases; ``tree``
        is updated to match. The files to remove now that nothing names them: the merged
        overlays, its memory file.

        The tree and the persistent definition after it are written (synced) in a thread while
        the merges run, and renamed into place once they are done. What is recorded first lets
        the next process finish a delete whose process died: a merge done (or a pivot QEMU made)
        is not redone, the files are removed once the tree is written.
        """
        snap = tree.snaps[name]
        layers = [
            x for x in recorded_layers(snap)
            if x.overlay in tree.overlays and os.path.exists(x.overlay)  # else a revert discarded it
            and tree.dependents(x.base) == [x.overlay]  # else another branch sits on the base too
        ]  # fmt: skip
        doomed = [x.overlay for x in layers]
        for other, s in tree.snaps.items():  # an internal snapshot inside an overlay would go with it
            inside = set(disk_images(s, s.domain)) & set(doomed)
            if inside:
                raise ConfigUnsupportedError(
                    f"cannot merge snapshot '{name}' back: internal snapshot '{other}' lives in its "
                    f"overlay '{sorted(inside)[0]}' (delete that one first)"
                )
        if snap.memory_snapshot == "external" and snap.memory_file:
            doomed.append(snap.memory_file)
        self.files.record(dom.uuid, {"op": "delete", "name": name, "remove": doomed})
        tops = {x.target: (x.base, x.fmt) for x in layers}
        merged = {x.overlay for x in layers}
        after = tree.copy()
        for x in layers:
            self._unlayer(after, x)
        forget(after)
        config = None
        if dom.config is not None and _chosen(dom.config, tops, merged):
            config = point_disks(dom.config, _chosen(dom.config, tops, merged))
        ahead = Ahead(self._write_ahead, dom, after, config)
        try:
            for x in layers:
                what = f"cannot merge snapshot '{name}' of disk {x.target}"
                self._merge(dom, tree, x, progress, what, ahead)
                test_hold("snapshot-merged")
                self._unlayer(tree, x)
        except BaseException:
            self.files.drop_prepared(dom.uuid)
            raise
        forget(tree)
        self._point_live(dom, tops, merged)
        if not self._put_in_place(dom, self._prepared(dom, ahead)):  # changed meanwhile: the usual writes
            self._point_config(dom, tops, merged)
            self.files.write(dom.uuid, tree)
        return doomed

    def _unlayer(self, tree: SnapshotTree, x: Layer) -> None:
        """``tree`` once ``x``'s overlay is merged into its base: the layers above it sit on the
        base, the snapshots that recorded the overlay name the base."""
        for p in tree.dependents(x.overlay):
            tree.overlays[p] = Overlay(x.base, x.fmt)
        del tree.overlays[x.overlay]
        self._rename_in_tree(tree, x)

    def remove_files(self, dom: Dom, tree: SnapshotTree, paths: list[str]) -> None:
        """Remove files a delete left behind (the tree is written): none the tree or a definition names."""
        named = set(tree.overlays) | set(_tops(dom.config).values()) | set(_tops(dom.live).values())
        for path in paths:
            if path not in named:
                _unlink(path)

    def _merge(
        self, dom: Dom, tree: SnapshotTree, x: Layer, progress: Progress | None, what: str,
        meanwhile: Callable[[], None],
    ) -> None:  # fmt: skip
        """Merge ``x``'s overlay into its base (unless that was done); ``meanwhile`` is called
        while QEMU merges it, or before."""
        if dom.active:
            mon = self.host.monitor_of(dom)
            if not tree.dependents(x.overlay) and stands_alone(x.base, x.fmt):
                # the disk's top layer over an image with none below: QEMU needs no name but the
                # overlay's (this driver gave it) to merge it into the bottom of the chain
                node = node_name(x.overlay)
                try:
                    commit_live(
                        mon, node, node, None, True, progress, what,
                        then=[("blockdev-del", {"node-name": node})], meanwhile=meanwhile,
                    )  # fmt: skip
                    return
                except JobRefusedError:  # not named so (an older overlay), or not on top: ask QEMU
                    pass
            named, blocks = mon.cmds([("query-named-block-nodes", {"flat": True}), ("query-block", None)])
            nodes = formats_of(named)
            top = nodes.get(os.path.realpath(x.overlay))
            base = nodes.get(os.path.realpath(x.base))
            used = blocks_using(blocks, x.overlay)
            if used is not None:
                device, active = used
                if top is None or base is None:
                    raise OperationFailedError(
                        f"{what}: QEMU has no block node for '{x.overlay}' or '{x.base}'"
                    )
                # a node this driver added stays in QEMU until deleted: in the same trip
                drop: list[tuple[str, dict[str, Any] | None]] = (
                    [("blockdev-del", {"node-name": top})] if top.startswith("vcsnap-") else []
                )
                commit_live(mon, device, top, base, active, progress, what, then=drop, meanwhile=meanwhile)
                return
            if base is not None:  # QEMU runs on the base without it: merged and pivoted already
                if top is not None and top.startswith("vcsnap-"):
                    delete_nodes(mon, [top])
                return
        meanwhile()
        if _tops(dom.config).get(x.target) == x.base:
            return  # the definition runs on the base: merged already, by a process that died since
        commit_offline(x.overlay, x.base, progress)
        for upper in tree.dependents(x.overlay):
            if os.path.exists(upper):
                rebase_unsafe(upper, x.base, x.fmt)

    def _rename_in_tree(self, tree: SnapshotTree, x: Layer) -> None:
        """Snapshots that recorded ``x.overlay`` as a disk's image now find it merged into the base."""
        from virtcore.xml import format_domain

        for n, s in list(tree.snaps.items()):
            changed = s
            for tag in ("domain", "inactive"):
                d = s.domain if tag == "domain" else s.inactive_domain
                if d is None or _tops(d).get(x.target) != x.overlay:
                    continue
                fixed = format_domain(point_disks(d, {x.target: (x.base, x.fmt)}))
                if tag == "domain":
                    changed = changed.with_domain(fixed, _inner(changed))
                else:
                    changed = changed.with_domain(changed.domain_xml, fixed)
            tree.snaps[n] = changed


def _inner(s: SnapshotDef) -> str | None:
    """The ``<inactiveDomain>`` of ``s`` as a ``<domain>`` document."""
    from virtcore.xml import format_domain

    d = s.inactive_domain
    return None if d is None else format_domain(d)
