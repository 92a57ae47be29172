"""Domain checkpoints, on libvirt's test driver and on virt-test, step by step.

Each step's outcome is ``["ok", value]`` or ``["err", code]``. XML is compared as a
canonical tree with the times (names and creation times made of the clock) blanked.
``test_checkpoint_vs_libvirt.py`` plays it with virtcore here and, through Debian's
``/usr/bin/python3`` and python3-libvirt, there (``python3 checkpoint_scenario.py``).

This file must run under a Python without virtcore: it imports neither virtcore nor
libvirt at module level.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from hostobject_scenario import canonical

Outcome = list[Any]


def _untimed(value: Any) -> Any:
    """``value`` with every ten-digit number (a time) replaced by ``T``."""
    return json.loads(re.sub(r"\b\d{10}\b", "T", json.dumps(value)))


class LibvirtSide:
    """The vocabulary over python3-libvirt, on ``test:///default``'s ``test``."""

    def __init__(self) -> None:
        import libvirt  # only under Debian's python3

        libvirt.registerErrorHandler(lambda *_: None, None)
        self.lv = libvirt
        self.dom = libvirt.open("test:///default").lookupByName("test")

    def code(self, exc: BaseException) -> int | None:
        return exc.get_error_code() if isinstance(exc, self.lv.libvirtError) else None

    def create(self, xml: str) -> str:
        return str(self.dom.checkpointCreateXML(xml).getName())

    def names(self) -> list[str]:
        return sorted(c.getName() for c in self.dom.listAllCheckpoints())  # libvirt lists in hash order

    def xml(self, name: str, no_domain: bool) -> Any:
        flags = self.lv.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN if no_domain else 0
        return canonical(self.dom.checkpointLookupByName(name).getXMLDesc(flags))

    def parent(self, name: str) -> str:
        return str(self.dom.checkpointLookupByName(name).getParent().getName())

    def delete(self, name: str, children: bool = False) -> None:
        flags = self.lv.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN if children else 0
        self.dom.checkpointLookupByName(name).delete(flags)

    def destroy(self) -> None:
        self.dom.destroy()


class VirtcoreSide:
    """The same vocabulary over virtcore."""

    def __init__(self) -> None:
        import virtcore

        self.dom = virtcore.open("test:///default").lookup_domain("test")

    def code(self, exc: BaseException) -> int | None:
        from virtcore.errors import VirtError

        return int(exc.code) if isinstance(exc, VirtError) else None

    def create(self, xml: str) -> str:
        return self.dom.create_checkpoint(xml).name

    def names(self) -> list[str]:
        return sorted(c.name for c in self.dom.list_checkpoints())

    def xml(self, name: str, no_domain: bool) -> Any:
        return canonical(self.dom.lookup_checkpoint(name).xml_desc(no_domain=no_domain))

    def parent(self, name: str) -> str:
        return self.dom.lookup_checkpoint(name).parent().name

    def delete(self, name: str, children: bool = False) -> None:
        self.dom.lookup_checkpoint(name).delete(children=children)

    def destroy(self) -> None:
        self.dom.destroy()


def step(side: Any, call: Callable[[], Any]) -> Outcome:
    """Run ``call``: ``["ok", value]`` (times blanked) or ``["err", code]``."""
    try:
        return ["ok", _untimed(call())]
    except Exception as exc:
        code = side.code(exc)
        if code is None:
            raise
        return ["err", code]


def play(side: Any) -> list[tuple[str, Outcome]]:
    """The scenario's steps and their outcomes on ``side``."""
    s = side
    first: list[str] = []

    def create_first() -> str:
        first.append(s.create("<domaincheckpoint/>"))
        return first[0]

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("no checkpoints", s.names),
        ("create <domaincheckpoint/>", create_first),
        ("its XML", lambda: s.xml(first[0], False)),
        ("a named one with a description", lambda: s.create(
            "<domaincheckpoint><name>c2</name><description>two</description></domaincheckpoint>")),
        ("its XML without the domain", lambda: s.xml("c2", True)),
        ("its parent", lambda: s.parent("c2")),
        ("the first has no parent", lambda: s.parent(first[0])),
        ("the same name again", lambda: s.create("<domaincheckpoint><name>c2</name></domaincheckpoint>")),
        ("a missing one", lambda: s.xml("nope", True)),
        ("a snapshot document", lambda: s.create("<domainsnapshot/>")),
        ("a disk the domain lacks", lambda: s.create(
            "<domaincheckpoint><name>c4</name><disks><disk name='vdz'/></disks></domaincheckpoint>")),
        ("a disk without a bitmap", lambda: s.create(
            "<domaincheckpoint><name>c3</name><disks><disk name='vda' checkpoint='no'/></disks>"
            "</domaincheckpoint>")),
        ("c3 without the domain", lambda: s.xml("c3", True)),
        ("delete the first", lambda: s.delete(first[0])),
        ("names after", s.names),
        ("c2 has no parent now", lambda: s.parent("c2")),
        ("c3's parent", lambda: s.parent("c3")),
        ("delete c2 and its children", lambda: s.delete("c2", children=True)),
        ("none left", s.names),
        ("delete a deleted one", lambda: s.delete("c2")),
        ("stop the domain", s.destroy),
        ("a checkpoint of a stopped domain", lambda: s.create(
            "<domaincheckpoint><name>c5</name></domaincheckpoint>")),
    ]  # fmt: skip
    return [(label, step(s, call)) for label, call in steps]


if __name__ == "__main__":
    print(json.dumps(play(LibvirtSide())))
