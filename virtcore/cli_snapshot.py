"""The snapshot commands of the ``virtcore`` command line: virsh's ``snapshot-*``.

Registered with :func:`virtcore.cli.command` like every other command (this
module is listed in :data:`virtcore.cli.COMMAND_MODULES`). Output follows virsh:
the ``snapshot-list`` table (sorted by name unless ``--topological``) and its
``--tree``, ``Label:`` lines for ``snapshot-info``, and virsh's messages
(``Domain snapshot s1 created``).

A ``DOMAIN`` argument is a domain's id, UUID or name; a ``SNAPSHOT`` one a
snapshot's name (or ``--current`` for the current snapshot).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from virtcore.cli import DOMAIN, Arg, Context, arg, command, format_table
from virtcore.errors import InvalidArgError

if TYPE_CHECKING:
    from virtcore.connection import Domain
    from virtcore.snapshot import DomainSnapshot
    from virtcore.xml import SnapshotDef

__all__ = ["build_snapshot_xml", "tree_lines"]

_SNAPSHOT = arg("snapshot", nargs="?", metavar="SNAPSHOT", help="snapshot name")
_CURRENT = arg("--current", action="store_true", help="the current snapshot")
_SECURE = arg("--security-info", action="store_true", help="include security-sensitive information")

#: The creation flags ``snapshot-create`` and ``snapshot-create-as`` share (option, keyword, help).
_CREATE_FLAGS = (
    ("--halt", "halt", "stop the domain once the snapshot is taken"),
    ("--disk-only", "disk_only", "snapshot the disks only, no memory"),
    ("--reuse-external", "reuse_ext", "reuse the external files that exist already"),
    ("--quiesce", "quiesce", "freeze the guest's file systems first (guest agent)"),
    ("--atomic", "atomic", "all disks or none"),
    ("--live", "live", "keep the guest running while its memory is saved"),
    ("--no-metadata", "no_metadata", "take the snapshot without keeping its metadata"),
)


def _create_flags(ns: argparse.Namespace) -> dict[str, bool]:
    return {key: bool(getattr(ns, key)) for _, key, _ in _CREATE_FLAGS}


def _flag_args() -> list[Arg]:
    return [arg(flag, dest=key, action="store_true", help=text) for flag, key, text in _CREATE_FLAGS]


def _snapshot(ctx: Context, ns: argparse.Namespace, dom: Domain | None = None) -> DomainSnapshot:
    """The snapshot named on the command line (or ``--current``)."""
    dom = dom or ctx.domain(ns.domain)
    if ns.current and ns.snapshot:
        raise InvalidArgError("--current and a snapshot name are mutually exclusive")
    if ns.current or not ns.snapshot:
        if not ns.current:
            raise InvalidArgError("a snapshot name or --current is required")
        return dom.current_snapshot()
    return dom.lookup_snapshot(ns.snapshot)


def _definition(snap: DomainSnapshot) -> SnapshotDef:
    from virtcore.xml import parse_snapshot  # saves ~170 ms (lxml, the model) on commands reading no XML

    return parse_snapshot(snap.xml_desc(), redefine=True)


def _specs(text: str) -> list[tuple[str, str]]:
    """virsh's ``key=value,key=value`` (``,,`` is a literal comma); a bare first word is ``file``/``disk``."""
    parts = [p.replace("\0", ",") for p in text.replace(",,", "\0").split(",")]
    return [tuple(p.split("=", 1)) if "=" in p else ("", p) for p in parts]  # type: ignore[misc]


def build_snapshot_xml(
    name: str | None, description: str | None, memspec: str | None, diskspecs: Sequence[str]
) -> str:
    """The ``<domainsnapshot>`` document ``snapshot-create-as`` asks for (every value escaped).

    ``memspec``: ``[file=]PATH[,snapshot=MODE]``; each diskspec:
    ``DISK[,snapshot=MODE][,driver=FORMAT][,stype=file|block][,file=PATH]``, as virsh reads them.
    """
    from lxml import etree  # saves ~170 ms (lxml, the model) on commands reading no XML

    root = etree.Element("domainsnapshot")
    if name is not None:
        etree.SubElement(root, "name").text = name
    if description is not None:
        etree.SubElement(root, "description").text = description
    if memspec is not None:
        mem = etree.SubElement(root, "memory")
        for key, value in _specs(memspec):
            if key in ("", "file"):
                mem.set("file", value)
            elif key == "snapshot":
                mem.set("snapshot", value)
            else:
                raise InvalidArgError(f"unknown memspec key '{key}' (expected file or snapshot)")
    if diskspecs:
        disks = etree.SubElement(root, "disks")
        for spec in diskspecs:
            items = _specs(spec)
            if not items or items[0][0] != "" or not items[0][1]:
                raise InvalidArgError(f"diskspec '{spec}' must start with the disk's name")
            disk = etree.SubElement(disks, "disk", name=items[0][1])
            for key, value in items[1:]:
                if key == "snapshot":
                    disk.set("snapshot", value)
                elif key == "driver":
                    etree.SubElement(disk, "driver", type=value)
                elif key == "stype":
                    disk.set("type", value)
                elif key == "file":
                    etree.SubElement(
                        disk, "source", {"dev" if disk.get("type") == "block" else "file": value}
                    )
                else:
                    raise InvalidArgError(
                        f"unknown diskspec key '{key}' (expected snapshot, driver, stype, file)"
                    )
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode")


@command(
    "snapshot-create",
    DOMAIN,
    arg(
        "file", nargs="?", metavar="FILE", help="snapshot XML file ('-' for stdin); none: a default snapshot"
    ),
    arg(
        "--redefine", action="store_true", help="give back the metadata of a snapshot (from snapshot-dumpxml)"
    ),
    arg("--current", action="store_true", help="with --redefine: make it the current snapshot"),
    *_flag_args(),
)
def _snapshot_create(ctx: Context, ns: argparse.Namespace) -> None:
    """Take a snapshot of a domain from an XML file."""
    xml = None if ns.file is None else ctx.read_text(ns.file, "snapshot XML file")
    dom = ctx.domain(ns.domain)
    snap = dom.create_snapshot(xml, redefine=ns.redefine, current=ns.current, **_create_flags(ns))
    where = "" if ns.file is None else f" from '{ns.file}'"
    ctx.out(f"Domain snapshot {snap.name} created{where}")


@command(
    "snapshot-create-as",
    DOMAIN,
    arg("name", nargs="?", metavar="NAME", help="the snapshot's name (default: its creation time)"),
    arg("description", nargs="?", metavar="DESCRIPTION", help="the snapshot's description"),
    arg("--name", dest="name_opt", metavar="NAME", help="the snapshot's name"),
    arg("--description", dest="description_opt", metavar="TEXT", help="the snapshot's description"),
    arg("--print-xml", action="store_true", help="print the snapshot XML instead of taking it"),
    arg("--memspec", metavar="SPEC", help="memory: [file=]PATH[,snapshot=external]"),
    arg("--diskspec", action="append", default=[], metavar="SPEC",
        help="a disk: DISK[,snapshot=MODE][,driver=FORMAT][,stype=TYPE][,file=PATH] (repeatable)"),
    *_flag_args(),
)  # fmt: skip
def _snapshot_create_as(ctx: Context, ns: argparse.Namespace) -> None:
    """Take a snapshot of a domain from options."""
    if ns.name and ns.name_opt:
        raise InvalidArgError("the snapshot name is given twice (NAME and --name)")
    if ns.description and ns.description_opt:
        raise InvalidArgError("the description is given twice (DESCRIPTION and --description)")
    xml = build_snapshot_xml(
        ns.name or ns.name_opt, ns.description or ns.description_opt, ns.memspec, ns.diskspec
    )
    if ns.print_xml:
        ctx.out(xml, "", "")  # virsh prints the document, its newline and a blank line
        return
    snap = ctx.domain(ns.domain).create_snapshot(xml, **_create_flags(ns))
    ctx.out(f"Domain snapshot {snap.name} created")


def tree_lines(roots: Sequence[str], children: dict[str, list[str]]) -> list[str]:
    """virsh's ``--tree`` drawing of ``roots`` and their ``children`` (names in print order)."""
    lines: list[str] = []

    def walk(name: str, indent: str, root: bool, last: bool) -> None:
        lines.append(f"{indent}{'' if root else '+- '}{name}")
        if not root:
            indent += (" " if last else "|") + " "
        kids = children.get(name, [])
        if kids:
            lines.append(f"{indent}  |")
        for i, kid in enumerate(kids):
            walk(kid, indent + "  ", False, i == len(kids) - 1)
        if not kids and last:
            lines.append(indent)

    for name in roots:
        walk(name, "", True, True)
    return lines


def _when(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(seconds))


@command(
    "snapshot-list",
    DOMAIN,
    arg("--parent", action="store_true", help="add a column with each snapshot's parent"),
    arg("--roots", action="store_true", help="only snapshots without a parent"),
    arg("--leaves", action="store_true", help="only snapshots without children"),
    arg("--no-leaves", action="store_true", help="only snapshots with children"),
    arg("--metadata", action="store_true", help="only snapshots with metadata"),
    arg("--no-metadata", action="store_true", help="only snapshots without metadata"),
    arg("--inactive", action="store_true", help="only snapshots of a shut-off domain"),
    arg("--active", action="store_true", help="only snapshots with memory state"),
    arg("--disk-only", action="store_true", help="only disk-only snapshots"),
    arg("--internal", action="store_true", help="only internal snapshots"),
    arg("--external", action="store_true", help="only external snapshots"),
    arg("--tree", action="store_true", help="draw the snapshots as a tree"),
    arg("--name", action="store_true", help="print only names, one per line"),
    arg("--from", dest="from_", metavar="SNAPSHOT", help="only the children of this snapshot"),
    arg("--current", action="store_true", help="only the children of the current snapshot"),
    arg("--descendants", action="store_true", help="with --from or --current: all descendants"),
    arg("--topological", action="store_true", help="parents before children (not sorted by name)"),
)
def _snapshot_list(ctx: Context, ns: argparse.Namespace) -> None:
    """List a domain's snapshots."""
    for a, b in (("leaves", "no_leaves"), ("metadata", "no_metadata"), ("internal", "external")):
        if getattr(ns, a) and getattr(ns, b):
            raise InvalidArgError(
                f"--{a.replace('_', '-')} and --{b.replace('_', '-')} are mutually exclusive"
            )
    if ns.from_ and ns.current:
        raise InvalidArgError("--from and --current are mutually exclusive")
    if ns.roots and (ns.from_ or ns.current or ns.tree):
        raise InvalidArgError("--roots cannot be combined with --from, --current or --tree")
    if ns.tree and (ns.parent or ns.name):
        raise InvalidArgError("--tree cannot be combined with --parent or --name")
    if ns.descendants and not (ns.from_ or ns.current):
        raise InvalidArgError("--descendants needs --from or --current")
    dom = ctx.domain(ns.domain)
    leaves = True if ns.leaves else False if ns.no_leaves else None
    metadata = True if ns.metadata else False if ns.no_metadata else None
    states = [
        s for s, on in (("inactive", ns.inactive), ("active", ns.active), ("disk-only", ns.disk_only)) if on
    ]
    location = "internal" if ns.internal else "external" if ns.external else None
    start = dom.current_snapshot() if ns.current else dom.lookup_snapshot(ns.from_) if ns.from_ else None
    if start is not None:
        found = start.children(
            descendants=ns.descendants, leaves=leaves, metadata=metadata, states=states or None,
            location=location, topological=ns.topological,
        )  # fmt: skip
    else:
        found = dom.list_snapshots(
            roots=ns.roots, leaves=leaves, metadata=metadata, states=states or None, location=location,
            topological=ns.topological,
        )  # fmt: skip
    if not ns.topological:
        found.sort(key=lambda s: s.name)
    if ns.name:
        ctx.out(*(s.name for s in found), "")
        return
    defs = {s.name: _definition(s) for s in found}
    if ns.tree:
        names = set(defs) | ({start.name} if start is not None else set())
        children: dict[str, list[str]] = {}
        for name, d in defs.items():
            if d.parent_name in names:
                children.setdefault(d.parent_name, []).append(name)
        roots = (
            [start.name] if start is not None else [n for n, d in defs.items() if d.parent_name not in names]
        )
        ctx.out(*tree_lines(roots, children), "")
        return
    header = ["Name", "Creation Time", "State", *(["Parent"] if ns.parent else [])]
    rows = []
    for name, d in defs.items():
        row = [name, _when(d.creation_time), d.state or ""]
        if ns.parent:
            row.append(d.parent_name or "")
        rows.append(row)
    ctx.out(*format_table(header, rows), "")


@command(
    "snapshot-current",
    DOMAIN,
    arg("snapshot", nargs="?", metavar="SNAPSHOT", help="make this snapshot the current one"),
    arg("--name", action="store_true", help="print only the name"),
    _SECURE,
)
def _snapshot_current(ctx: Context, ns: argparse.Namespace) -> None:
    """Print (or, given a snapshot, set) a domain's current snapshot."""
    dom = ctx.domain(ns.domain)
    if ns.snapshot:
        if ns.name or ns.security_info:
            raise InvalidArgError("--name and --security-info are for printing, not with a snapshot to set")
        snap = dom.lookup_snapshot(ns.snapshot)
        dom.create_snapshot(snap.xml_desc(secure=True), redefine=True, current=True)
        ctx.out(f"Snapshot {snap.name} set as current")
        return
    current = dom.current_snapshot()
    if ns.name:
        ctx.out(current.name)
        return
    ctx.out(current.xml_desc(secure=ns.security_info).rstrip("\n"), "")


@command("snapshot-info", DOMAIN, _SNAPSHOT, _CURRENT)
def _snapshot_info(ctx: Context, ns: argparse.Namespace) -> None:
    """Print basic information about a snapshot."""
    dom = ctx.domain(ns.domain)
    snap = _snapshot(ctx, ns, dom)
    d = _definition(snap)
    external = d.memory_snapshot == "external" or any(disk.snapshot == "external" for disk in d.disks)
    rows = [
        ("Name:", snap.name),
        ("Domain:", dom.name),
        ("Current:", "yes" if snap.is_current() else "no"),
        ("State:", d.state or "-"),
        ("Location:", "external" if external else "internal"),
        ("Parent:", d.parent_name or "-"),
        ("Children:", str(len(snap.children()))),
        ("Descendants:", str(len(snap.children(descendants=True)))),
        ("Metadata:", "yes" if snap.has_metadata() else "no"),
    ]
    ctx.out(*(f"{label:<15} {value}" for label, value in rows), "")


@command("snapshot-dumpxml", DOMAIN, arg("snapshot", metavar="SNAPSHOT", help="snapshot name"), _SECURE)
def _snapshot_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a snapshot's XML description."""
    snap = ctx.domain(ns.domain).lookup_snapshot(ns.snapshot)
    ctx.out(snap.xml_desc(secure=ns.security_info).rstrip("\n"), "")


@command("snapshot-parent", DOMAIN, _SNAPSHOT, _CURRENT)
def _snapshot_parent(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the name of a snapshot's parent."""
    ctx.out(_snapshot(ctx, ns).parent().name)


@command(
    "snapshot-revert",
    DOMAIN,
    _SNAPSHOT,
    _CURRENT,
    arg("--running", action="store_true", help="leave the domain running"),
    arg("--paused", action="store_true", help="leave the domain paused"),
    arg("--force", action="store_true", help="revert even where it is risky"),
)
def _snapshot_revert(ctx: Context, ns: argparse.Namespace) -> None:
    """Revert a domain to a snapshot."""
    snap = _snapshot(ctx, ns)
    snap.revert(running=ns.running, paused=ns.paused, force=ns.force)
    ctx.out(f"Domain snapshot {snap.name} reverted", "")


@command(
    "snapshot-delete",
    DOMAIN,
    _SNAPSHOT,
    _CURRENT,
    arg("--children", action="store_true", help="also delete the snapshot's descendants"),
    arg("--children-only", action="store_true", help="delete only the snapshot's descendants"),
    arg("--metadata", action="store_true", help="delete only the metadata, leaving the data"),
)
def _snapshot_delete(ctx: Context, ns: argparse.Namespace) -> None:
    """Delete a snapshot (and/or its descendants); an external one's merge shows a progress bar on a
    terminal."""
    from virtcore.progressbar import ProgressBar

    snap = _snapshot(ctx, ns)
    bar = ProgressBar.on_terminal(ctx.stderr, f"Merging snapshot {snap.name}")
    try:
        snap.delete(
            children=ns.children,
            children_only=ns.children_only,
            metadata_only=ns.metadata,
            progress=bar.update if bar else None,
        )
    finally:
        if bar is not None:
            bar.finish()
    what = " children" if ns.children_only else ""
    ctx.out(f"Domain snapshot {snap.name}{what} deleted", "")
