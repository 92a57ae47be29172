"""One snapshot scenario, played on libvirt's test driver and on virt-test, step by step.

Each step is a label and a call on an adapter; its outcome is ``["ok", value]``
(plain JSON values) or ``["err", code]`` (the libvirt error number).
``test_snapshot_vs_libvirt.py`` plays it here with virtcore and, in a subprocess
of Debian's ``/usr/bin/python3``, with python3-libvirt (``python3
snapshot_scenario.py`` prints the outcomes as JSON), and compares.

libvirt lists snapshots in hash order, so listings are compared sorted. This
file must run under a Python without virtcore: it imports neither virtcore nor
libvirt at module level.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import libvirt_peer
from libvirt_peer import Outcome, plain

GUEST = (
    "<domain type='test'><name>{name}</name><memory>1024</memory><os><type>hvm</type></os>{devices}</domain>"
)
DISK = (
    "<devices><disk type='file' device='disk'><source file='/guest/{name}.img'/>"
    "<target dev='vda'/></disk></devices>"
)


def guest_xml(name: str, disk: bool = True) -> str:
    """A small test guest (with one file disk ``vda``)."""
    return GUEST.format(name=name, devices=DISK.format(name=name) if disk else "")


def snap_xml(name: str | None = None, description: str | None = None, extra: str = "") -> str:
    """A ``<domainsnapshot>`` document."""
    parts = [
        f"<name>{name}</name>" if name else "",
        f"<description>{description}</description>" if description else "",
    ]
    return f"<domainsnapshot>{''.join(parts)}{extra}</domainsnapshot>"


def fields(xml: str) -> dict[str, Any]:
    """The fields of a snapshot's XML that matter (either quote style)."""

    def one(pattern: str) -> str | None:
        m = re.search(pattern, xml, re.S)
        return m.group(1) if m else None

    return {
        "name": one(r"<name>([^<]*)</name>"),
        "description": one(r"<description>([^<]*)</description>"),
        "state": one(r"<state>([^<]*)</state>"),
        "parent": one(r"<parent>\s*<name>([^<]*)</name>"),
        "memory": one(r"<memory snapshot=.(\w+)."),
        "disks": re.findall(r"<disk name=.([^'\"]+). snapshot=.(\w+).", xml),
        "domain": one(r"<domain type=.test.>\s*<name>([^<]*)</name>"),
        "has_time": bool(re.search(r"<creationTime>\d+</creationTime>", xml)),
    }


class LibvirtSide:
    """The scenario's vocabulary over python3-libvirt."""

    def __init__(self, uri: str = "test:///default") -> None:
        import libvirt

        libvirt.registerErrorHandler(lambda *a: None, None)
        self.lv = libvirt
        self.conn = libvirt.open(uri)

    def error_code(self, exc: BaseException) -> int | None:
        return exc.get_error_code() if isinstance(exc, self.lv.libvirtError) else None

    def dom(self, name: str) -> Any:
        return self.conn.lookupByName(name)

    def define(self, xml: str) -> str:
        return str(self.conn.defineXML(xml).name())

    def create_transient(self, xml: str) -> str:
        return str(self.conn.createXML(xml, 0).name())

    def do(self, dom: str, op: str) -> None:
        d = self.dom(dom)
        {"start": d.create, "destroy": d.destroy, "suspend": d.suspend, "resume": d.resume}[op]()

    def state(self, dom: str) -> list[int]:
        return [int(x) for x in self.dom(dom).state()]

    def undefine(self, dom: str, snapshots_metadata: bool = False) -> None:
        flag = self.lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA if snapshots_metadata else 0
        self.dom(dom).undefineFlags(flag)

    def snap(self, dom: str, xml: str, **flags: bool) -> str:
        bits = 0
        for name, on in flags.items():
            if on:
                bits |= getattr(self.lv, "VIR_DOMAIN_SNAPSHOT_CREATE_" + name.upper())
        return str(self.dom(dom).snapshotCreateXML(xml, bits).getName())

    def names(self, dom: str, **filters: Any) -> list[str]:
        bits = 0
        for name, on in filters.items():
            if on is True:
                bits |= getattr(self.lv, "VIR_DOMAIN_SNAPSHOT_LIST_" + name.upper())
            elif on is False:
                bits |= getattr(self.lv, "VIR_DOMAIN_SNAPSHOT_LIST_NO_" + name.upper())
        return sorted(s.getName() for s in self.dom(dom).listAllSnapshots(bits))

    def children(self, dom: str, snap: str, descendants: bool = False) -> list[str]:
        bits = self.lv.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS if descendants else 0
        return sorted(s.getName() for s in self.dom(dom).snapshotLookupByName(snap).listAllChildren(bits))

    def current(self, dom: str) -> str:
        return str(self.dom(dom).snapshotCurrent().getName())

    def has_current(self, dom: str) -> bool:
        return bool(self.dom(dom).hasCurrentSnapshot())

    def is_current(self, dom: str, snap: str) -> bool:
        return bool(self.dom(dom).snapshotLookupByName(snap).isCurrent())

    def parent(self, dom: str, snap: str) -> str:
        return str(self.dom(dom).snapshotLookupByName(snap).getParent().getName())

    def xml(self, dom: str, snap: str) -> dict[str, Any]:
        return fields(self.dom(dom).snapshotLookupByName(snap).getXMLDesc())

    def revert(self, dom: str, snap: str, **flags: bool) -> None:
        bits = 0
        for name, on in flags.items():
            if on:
                bits |= getattr(self.lv, "VIR_DOMAIN_SNAPSHOT_REVERT_" + name.upper())
        d = self.dom(dom)
        d.revertToSnapshot(d.snapshotLookupByName(snap), bits)

    def delete(self, dom: str, snap: str, **flags: bool) -> None:
        bits = 0
        for name, on in flags.items():
            if on:
                bits |= getattr(self.lv, "VIR_DOMAIN_SNAPSHOT_DELETE_" + name.upper())
        self.dom(dom).snapshotLookupByName(snap).delete(bits)


class VirtcoreSide:
    """The same vocabulary over virtcore (``test:///default`` reset first)."""

    def __init__(self, uri: str = "test:///default") -> None:
        import virt_test

        import virtcore

        virt_test.reset_default_node()
        self.conn = virtcore.open(uri)
        self.virtcore = virtcore

    def error_code(self, exc: BaseException) -> int | None:
        return int(exc.code) if isinstance(exc, self.virtcore.VirtError) else None

    def dom(self, name: str) -> Any:
        return self.conn.lookup_domain(name)

    def define(self, xml: str) -> str:
        return str(self.conn.define_domain(xml).name)

    def create_transient(self, xml: str) -> str:
        return str(self.conn.create_domain(xml).name)

    def do(self, dom: str, op: str) -> None:
        getattr(self.dom(dom), op)()

    def state(self, dom: str) -> list[int]:
        return [int(x) for x in self.dom(dom).state()]

    def undefine(self, dom: str, snapshots_metadata: bool = False) -> None:
        self.dom(dom).undefine(snapshots_metadata=snapshots_metadata)

    def snap(self, dom: str, xml: str, **flags: bool) -> str:
        return str(self.dom(dom).create_snapshot(xml, **flags).name)

    def names(self, dom: str, **filters: Any) -> list[str]:
        states = [k.replace("_", "-") for k in ("active", "inactive", "disk_only") if filters.pop(k, False)]
        location = next((k for k in ("internal", "external") if filters.pop(k, False)), None)
        found = self.dom(dom).list_snapshots(states=states or None, location=location, **filters)
        return sorted(s.name for s in found)

    def children(self, dom: str, snap: str, descendants: bool = False) -> list[str]:
        return sorted(s.name for s in self.dom(dom).lookup_snapshot(snap).children(descendants=descendants))

    def current(self, dom: str) -> str:
        return str(self.dom(dom).current_snapshot().name)

    def has_current(self, dom: str) -> bool:
        return bool(self.dom(dom).has_current_snapshot())

    def is_current(self, dom: str, snap: str) -> bool:
        return bool(self.dom(dom).lookup_snapshot(snap).is_current())

    def parent(self, dom: str, snap: str) -> str:
        return str(self.dom(dom).lookup_snapshot(snap).parent().name)

    def xml(self, dom: str, snap: str) -> dict[str, Any]:
        return fields(self.dom(dom).lookup_snapshot(snap).xml_desc())

    def revert(self, dom: str, snap: str, **flags: bool) -> None:
        self.dom(dom).lookup_snapshot(snap).revert(**flags)

    def delete(self, dom: str, snap: str, **flags: bool) -> None:
        self.dom(dom).lookup_snapshot(snap).delete(**flags)


Side = Any


def steps(s: Side) -> list[tuple[str, Callable[[], object]]]:
    """The scenario: ``(label, call)`` in order. Calls run lazily, one after the other."""
    return [
        ("no current snapshot yet", lambda: s.has_current("test")),
        ("current without snapshots", lambda: s.current("test")),
        ("s1 of the running test", lambda: s.snap("test", snap_xml("s1", "first"))),
        ("s1 again", lambda: s.snap("test", snap_xml("s1"))),
        ("s1's XML", lambda: s.xml("test", "s1")),
        ("s1 is current", lambda: s.is_current("test", "s1")),
        ("s1 has no parent", lambda: s.parent("test", "s1")),
        ("s2 after s1", lambda: s.snap("test", snap_xml("s2"))),
        ("s2's parent", lambda: s.parent("test", "s2")),
        ("s1 is no longer current", lambda: s.is_current("test", "s1")),
        ("current is s2", lambda: s.current("test")),
        ("unknown snapshot", lambda: s.xml("test", "nope")),
        ("quiesce and live are accepted", lambda: s.snap("test", snap_xml("s3"), quiesce=True, live=True)),
        ("current flag without redefine", lambda: s.snap("test", snap_xml("s4"), current=True)),
        ("no_metadata is refused", lambda: s.snap("test", snap_xml("s4"), no_metadata=True)),
        ("a disk the domain lacks", lambda: s.snap("test", snap_xml("s4", extra=_disks("vdz")))),
        ("pause test", lambda: s.do("test", "suspend")),
        ("p1 of the paused test", lambda: s.snap("test", snap_xml("p1"))),
        ("p1's XML", lambda: s.xml("test", "p1")),
        ("all snapshots", lambda: s.names("test")),
        ("roots", lambda: s.names("test", roots=True)),
        ("leaves", lambda: s.names("test", leaves=True)),
        ("not leaves", lambda: s.names("test", leaves=False)),
        ("active ones", lambda: s.names("test", active=True)),
        ("inactive ones", lambda: s.names("test", inactive=True)),
        ("internal ones", lambda: s.names("test", internal=True)),
        ("external ones", lambda: s.names("test", external=True)),
        ("children of s1", lambda: s.children("test", "s1")),
        ("descendants of s1", lambda: s.children("test", "s1", descendants=True)),
        ("destroy test", lambda: s.do("test", "destroy")),
        ("off of the stopped test", lambda: s.snap("test", snap_xml("off"))),
        ("off's XML", lambda: s.xml("test", "off")),
        ("inactive ones now", lambda: s.names("test", inactive=True)),
        ("running and paused together", lambda: s.revert("test", "s1", running=True, paused=True)),
        ("revert to s1", lambda: s.revert("test", "s1")),
        ("state after s1", lambda: s.state("test")),
        ("current after revert", lambda: s.current("test")),
        ("revert to p1", lambda: s.revert("test", "p1")),
        ("state after p1", lambda: s.state("test")),
        ("revert to s2 running", lambda: s.revert("test", "s2", running=True)),
        ("revert to p1 running", lambda: s.revert("test", "s1", paused=True)),
        ("state after s1 paused", lambda: s.state("test")),
        ("revert to off", lambda: s.revert("test", "off")),
        ("state after off", lambda: s.state("test")),
        ("halt", lambda: s.snap("test", snap_xml("h"), halt=True)),
        ("state after halt on a stopped domain", lambda: s.state("test")),
        ("undefine with snapshots", lambda: s.undefine("test")),
        ("delete a missing snapshot", lambda: s.delete("test", "nope")),
        ("delete s2 (children move up)", lambda: s.delete("test", "s2")),
        ("s3's parent after", lambda: s.parent("test", "s3")),
        ("delete s3's subtree but s3", lambda: s.delete("test", "s3", children_only=True)),
        ("after children_only", lambda: s.names("test")),
        ("off went with s3's subtree", lambda: s.delete("test", "off")),
        ("current after children_only", lambda: s.current("test")),
        ("delete s1 with children", lambda: s.delete("test", "s1", children=True)),
        ("nothing left", lambda: s.names("test")),
        ("no current left", lambda: s.has_current("test")),
        ("define g", lambda: s.define(guest_xml("g"))),
        ("g0 of the stopped g", lambda: s.snap("g", snap_xml("g0"))),
        ("g0's XML", lambda: s.xml("g", "g0")),
        ("start g", lambda: s.do("g", "start")),
        ("halt g", lambda: s.snap("g", snap_xml("g1"), halt=True)),
        ("g after halt", lambda: s.state("g")),
        ("g1's XML", lambda: s.xml("g", "g1")),
        ("undefine g with snapshots", lambda: s.undefine("g")),
        ("undefine g with snapshot metadata", lambda: s.undefine("g", snapshots_metadata=True)),
        ("g is gone", lambda: s.state("g")),
        ("transient t", lambda: s.create_transient(guest_xml("t", disk=False))),
        ("halt a transient domain", lambda: s.snap("t", snap_xml("t1"), halt=True)),
        ("t1 of t", lambda: s.snap("t", snap_xml("t1"))),
        ("t's snapshots", lambda: s.names("t")),
        ("o2 of the stopped test", lambda: s.snap("test", snap_xml("o2"))),
        ("revert to the inactive o2 running", lambda: s.revert("test", "o2", running=True)),
        ("state after o2 running", lambda: s.state("test")),
        ("revert to o2 while running", lambda: s.revert("test", "o2", paused=True)),
        ("a disk-only snapshot", lambda: s.snap("test", snap_xml("d1"), disk_only=True)),
        ("delete o2, metadata only", lambda: s.delete("test", "o2", metadata_only=True)),
        ("a snapshot named with a slash", lambda: s.snap("test", snap_xml("a/b"))),
        ("a snapshot named with a leading dash", lambda: s.snap("test", snap_xml("-x"))),
        ("test's snapshots at the end", lambda: s.names("test")),
    ]


def _disks(*names: str) -> str:
    return "<disks>" + "".join(f"<disk name='{n}' snapshot='internal'/>" for n in names) + "</disks>"


def _record(value: object) -> object:
    """A step's value as recorded: a snapshot's fields (its disks as lists) too."""
    if isinstance(value, dict):
        return {k: [list(x) for x in v] if k == "disks" else v for k, v in value.items()}
    return plain(value)


def play(side: Side) -> list[tuple[str, Outcome]]:
    """Run every step (:func:`libvirt_peer.play`)."""
    return libvirt_peer.play(side, steps(side), _record)


class _Keeping:
    """A libvirt domain whose snapshot handles are never freed (kept in ``kept``)."""

    def __init__(self, dom: Any, kept: list[Any]) -> None:
        self._dom, self._kept = dom, kept
        kept.append(dom)

    def listAllSnapshots(self, flags: int = 0) -> list[Any]:  # noqa: N802 - libvirt's name
        found = self._dom.listAllSnapshots(flags)
        self._kept.extend(found)
        return list(found)

    def snapshotLookupByName(self, name: str) -> Any:  # noqa: N802 - libvirt's name
        snap = self._dom.snapshotLookupByName(name)
        self._kept.append(snap)
        return snap


def node_snapshots(side: Side, dom: str) -> list[list[Any]]:
    """``[name, current, parent, state]`` of each snapshot of ``dom`` (a node file's domain), by name."""
    found = []
    for name in side.names(dom):
        meta = side.xml(dom, name)
        found.append([name, side.is_current(dom, name), meta["parent"], meta["state"]])
    return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["node"]:
        # libvirt 9.0's test driver aborts (a double free) when a snapshot it loaded from a node file
        # is freed: keep every handle alive, print, and leave without freeing anything
        libvirt_side = LibvirtSide(sys.argv[2])
        kept: list[Any] = []
        real_dom = libvirt_side.dom
        libvirt_side.dom = lambda name: _Keeping(real_dom(name), kept)  # type: ignore[method-assign]
        print(json.dumps(node_snapshots(libvirt_side, sys.argv[3])), flush=True)
        os._exit(0)
    else:
        print(json.dumps(play(LibvirtSide())))
