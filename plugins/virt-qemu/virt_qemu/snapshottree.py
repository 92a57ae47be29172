"""Where a domain's snapshot tree lives: ``config/snapshots/UUID.xml``, and the record of one in the making.

The tree file holds libvirt's snapshot metadata (``<domainsnapshot>`` with its
parent, state and the definition it was taken of), oldest first, in a
``<snapshots current='NAME'>`` root; every change rewrites it atomically, so a
process that opens the URI later reads the same tree.

The memory of a running guest's snapshot goes into its first qcow2 image; a guest
without one has it kept here, in ``UUID/NAME.vmstate`` (QEMU's migration stream), as has
a full external snapshot that names no memory file. The tree file also lists the overlay
images external snapshots (and reverts to them) made, each with the image it sits on
(``<overlay file backing format>``): the driver merges or removes no other file.

A snapshot is *recorded, then committed*: ``UUID.pending`` (JSON: its name and
what was written where) is written before QEMU or ``qemu-img`` touch a disk,
and removed once the tree file names the snapshot. Both happen under
``UUID.lock``; whoever takes that lock and finds a record left behind knows its
writer died, and rolls the snapshot back unless the tree already has it
(:meth:`virt_qemu.snapshots.Snapshots` recovery), so an interrupted snapshot is
either complete or absent, never listed half made. A change may be written
ahead (``.UUID.commit-*``, synced) and renamed into place at its commit point;
what was written ahead and not renamed goes with the record.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from virt_qemu.paths import FileLock
from virtcore.errors import ErrorDomain, NoDomainSnapshotError, SystemError_, XMLError
from virtcore.files import sync_directory, write_atomically, write_temporary

if TYPE_CHECKING:
    from virtcore.xml import SnapshotDef

__all__ = ["Ahead", "Overlay", "SnapshotTree", "TreeFiles", "not_found"]

_T = TypeVar("_T")


def not_found(name: str) -> NoDomainSnapshotError:
    """libvirt's error for a snapshot name a domain does not have."""
    return NoDomainSnapshotError(f"no domain snapshot with matching name '{name}'", domain=ErrorDomain.QEMU)


class Overlay(NamedTuple):
    """An overlay image this driver made (an external snapshot's, or a revert's): what it sits on."""

    backing: str
    #: the backing image's format
    fmt: str


class SnapshotTree:
    """A domain's snapshots by name (oldest first; each definition names its parent), the current
    one, and the overlay images the driver made for external snapshots (path -> :class:`Overlay`):
    only those are ever merged or removed by it."""

    def __init__(self) -> None:
        self.snaps: dict[str, SnapshotDef] = {}
        self.current: str | None = None
        self.overlays: dict[str, Overlay] = {}

    def dependents(self, path: str) -> list[str]:
        """The driver's overlays sitting directly on image ``path``."""
        return [p for p, o in self.overlays.items() if o.backing == path]

    def __len__(self) -> int:
        return len(self.snaps)

    def find(self, name: str) -> SnapshotDef:
        """Snapshot ``name``.

        :raises NoDomainSnapshotError: there is none.
        """
        snap = self.snaps.get(name)
        if snap is None:
            raise not_found(name)
        return snap

    def children(self, name: str | None) -> list[str]:
        """The names of ``name``'s children (``None``: the roots), oldest first."""
        return [n for n, s in self.snaps.items() if s.parent_name == name]

    def descendants(self, name: str | None) -> Iterator[str]:
        """``name``'s subtree below it, each parent before its children (newest sibling first, as libvirt)."""
        for child in reversed(self.children(name)):
            yield child
            yield from self.descendants(child)

    def set_parent(self, name: str, parent: str | None) -> None:
        """Make ``parent`` the parent of ``name``."""
        import attrs

        from virtcore.xml.snapshot import SnapshotParent

        snap = self.snaps[name]
        self.snaps[name] = attrs.evolve(snap, parent=None if parent is None else SnapshotParent(name=parent))

    def forget(self, name: str) -> None:
        """Drop ``name``, its children moving to its parent ("current" too, if it was)."""
        for child in self.children(name):
            self.set_parent(child, self.snaps[name].parent_name)
        self.remove(name)

    def remove(self, name: str) -> None:
        """Drop ``name``; "current" passes to its parent."""
        snap = self.snaps.pop(name)
        if self.current == name:
            self.current = snap.parent_name

    def is_external(self, name: str) -> bool:
        """Whether any part of ``name`` lives outside the domain's images."""
        d = self.snaps[name]
        return d.memory_snapshot == "external" or any(disk.snapshot == "external" for disk in d.disks)

    def matches(
        self, name: str, leaves: bool | None, metadata: bool | None, states: frozenset[str] | None,
        location: str | None,
    ) -> bool:  # fmt: skip
        """Whether ``name`` passes libvirt's listing filters."""
        if leaves is not None and (not self.children(name)) != leaves:
            return False
        if metadata is False:  # every snapshot listed here has its metadata
            return False
        if states is not None:
            state = self.snaps[name].state
            kind = "inactive" if state == "shutoff" else "disk-only" if state == "disk-snapshot" else "active"
            if kind not in states:
                return False
        return location is None or self.is_external(name) == (location == "external")

    def copy(self) -> SnapshotTree:
        """A tree of the same snapshots and overlays, changed independently of this one."""
        other = SnapshotTree()
        other.snaps = dict(self.snaps)
        other.current = self.current
        other.overlays = dict(self.overlays)
        return other

    def to_bytes(self) -> bytes:
        """The tree file's content."""
        from xml.sax.saxutils import quoteattr

        cur = "" if self.current is None else f" current={quoteattr(self.current)}"
        body = "".join(s.to_xml() for s in self.snaps.values())
        body += "".join(
            f"<overlay file={quoteattr(p)} backing={quoteattr(o.backing)} format={quoteattr(o.fmt)}/>\n"
            for p, o in self.overlays.items()
        )
        return f"<snapshots{cur}>\n{body}</snapshots>\n".encode()

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> SnapshotTree:
        """Read a tree file (``origin`` names it in errors).

        :raises XMLError: it is not one.
        """
        from virtcore.xml._parser import secure_parse
        from virtcore.xml.snapshot import snapshot_from_element

        root = secure_parse(data)
        if root.tag != "snapshots":
            raise XMLError(f"snapshot tree '{origin}': expected <snapshots>, found <{root.tag}>")
        tree = cls()
        for el in root.findall("domainsnapshot"):
            snap = snapshot_from_element(el, redefine=True)
            assert snap.name is not None  # redefine requires it
            tree.snaps[snap.name] = snap
        for el in root.findall("overlay"):
            path, backing, fmt = el.get("file"), el.get("backing"), el.get("format")
            if not path or not backing or fmt not in ("qcow2", "raw"):
                raise XMLError(f"snapshot tree '{origin}': an <overlay> needs file, backing and format")
            tree.overlays[path] = Overlay(backing, fmt)
        cur = root.get("current")
        tree.current = cur if cur in tree.snaps else None
        return tree


class Ahead(Generic[_T]):
    """``fn(*args)`` run once, on the caller's thread, while QEMU or ``qemu-img`` works: the
    object is handed (as ``meanwhile``) to what starts that work and then waits for it, which
    calls it in between; :meth:`result` runs it if nobody did, and returns what it returned or
    raises what it raised. No thread is started: on a loaded host starting one costs more than
    the writes it would overlap."""

    def __init__(self, fn: Callable[..., _T], *args: Any) -> None:
        self._fn: Callable[..., _T] | None = fn
        self._args = args
        self._value: _T | None = None
        self._error: BaseException | None = None

    def __call__(self) -> None:
        """Run ``fn`` unless it ran; its error is kept for :meth:`result`."""
        fn, self._fn = self._fn, None
        if fn is None:
            return
        try:
            self._value = fn(*self._args)
        except BaseException as exc:  # raised by result(), on the caller's terms
            self._error = exc

    def result(self) -> _T:
        """What ``fn`` returned (run now if it was not), or its exception raised here."""
        self()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


class TreeFiles:
    """The files of the snapshot trees of one URI (``config/snapshots``)."""

    def __init__(self, config: Path) -> None:
        self.dir = config / "snapshots"

    def _ensure(self) -> None:
        try:
            self.dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise SystemError_(f"cannot create '{self.dir}': {exc.strerror}") from None

    def path(self, uuid: str) -> Path:
        """The tree file of domain ``uuid``."""
        return self.dir / f"{uuid}.xml"

    def lock(self, uuid: str) -> FileLock:
        """The lock held while the tree of ``uuid`` changes (and the disks' snapshots with it)."""
        self._ensure()
        return FileLock(self.dir / f"{uuid}.lock")

    def read(self, uuid: str) -> SnapshotTree:
        """Domain ``uuid``'s tree (empty when it has none)."""
        path = self.path(uuid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return SnapshotTree()
        except OSError as exc:
            raise SystemError_(f"cannot read snapshot tree '{path}': {exc.strerror}") from None
        return SnapshotTree.from_bytes(data, str(path))

    def write(self, uuid: str, tree: SnapshotTree) -> None:
        """Replace the tree of ``uuid`` atomically (the file goes when the tree is empty)."""
        self._ensure()
        if not tree.snaps and not tree.overlays:
            self.remove(uuid)
            return
        write_atomically(self.path(uuid), tree.to_bytes())

    # -- a change written ahead (synced) and renamed into place at its commit point --------

    def prepare(self, uuid: str, what: str, data: bytes) -> str:
        """A synced temporary holding ``data`` for the next change of ``uuid``'s tree (``what``:
        ``tree``, or ``config`` for the definition beside it); renamed into place at the change's
        commit point, else removed by :meth:`drop_prepared`."""
        self._ensure()
        return write_temporary(self.dir / f"{uuid}.commit-{what}", data)

    def install(self, uuid: str, prepared: str) -> None:
        """Rename the prepared tree ``prepared`` over the tree of ``uuid`` (:meth:`sync` makes it durable)."""
        try:
            os.replace(prepared, self.path(uuid))
        except OSError as exc:
            raise SystemError_(f"cannot write snapshot tree '{self.path(uuid)}': {exc.strerror}") from None

    def sync(self) -> None:
        """Make the renames in the trees' directory durable."""
        sync_directory(self.dir)

    def drop_prepared(self, uuid: str) -> None:
        """Remove what :meth:`prepare` wrote for ``uuid`` and was not installed."""
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.dir):
                if entry.name.startswith(f".{uuid}.commit-"):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    def remove(self, uuid: str) -> None:
        """Forget the tree of ``uuid`` and the memory files only it named."""
        try:
            os.unlink(self.path(uuid))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SystemError_(f"cannot remove snapshot tree '{self.path(uuid)}': {exc.strerror}") from None
        shutil.rmtree(self.dir / uuid, ignore_errors=True)

    def memory(self, uuid: str, name: str) -> Path:
        """Where the driver keeps snapshot ``name``'s memory (a guest without a qcow2 disk to hold it)."""
        return self.dir / uuid / f"{name}.vmstate"

    def drop_memory(self, uuid: str, name: str) -> None:
        """Delete snapshot ``name``'s memory file and any temporary of it an interrupted save left."""
        path = self.memory(uuid, name)
        with contextlib.suppress(OSError):
            for entry in os.scandir(path.parent):
                if entry.name.startswith(f".{path.name}.") and entry.name.endswith(".partial"):
                    os.unlink(entry.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    # -- the record of a snapshot in the making -----------------------------------------

    def _pending(self, uuid: str) -> Path:
        return self.dir / f"{uuid}.pending"

    def record(self, uuid: str, what: dict[str, Any]) -> None:
        """Note what is about to be written (before anything is).

        Not synced: it guards against the managing process dying, which loses nothing the
        kernel has; after a host crash an unrecorded tag left in an image is only unused.
        """
        write_atomically(self._pending(uuid), json.dumps(what).encode(), sync=False)

    def recorded(self, uuid: str) -> dict[str, Any] | None:
        """The record left for ``uuid`` (the caller holds its lock), or None."""
        try:
            value = json.loads(self._pending(uuid).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable: nothing to roll back but the record itself
        return value if isinstance(value, dict) else {}

    def settle(self, uuid: str) -> None:
        """Drop the record: what it announced is committed or rolled back."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._pending(uuid))
