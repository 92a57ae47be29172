"""Domain operations harnesses call (scheduler, managed save, ...): libvirt's test driver vs virt-test.

Each step is a label and a call on an adapter; its outcome is ``["ok", value]``
(plain JSON values) or ``["err", code]`` (the libvirt error number).
``test_domainops_vs_libvirt.py`` plays it here with virtcore and, in a
subprocess of Debian's ``/usr/bin/python3``, with python3-libvirt
(``python3 domainops_scenario.py`` prints the outcomes as JSON), and compares.

This file must run under a Python without virtcore: it imports neither
virtcore nor libvirt at module level.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Outcome = list[Any]

DESCRIPTION, TITLE, ELEMENT = 0, 1, 2  # virDomainMetadataType
LIVE, CONFIG = 1, 2  # VIR_DOMAIN_AFFECT_*
APP = "http://app.example/"


class LibvirtSide:
    """The scenario's vocabulary over python3-libvirt, on ``test:///default``'s domain ``test``."""

    def __init__(self) -> None:
        import libvirt  # only under Debian's python3

        libvirt.registerErrorHandler(lambda *_: None, None)
        self.lv = libvirt
        self.dom = libvirt.open("test:///default").lookupByName("test")

    def code(self, exc: BaseException) -> int | None:
        return exc.get_error_code() if isinstance(exc, self.lv.libvirtError) else None

    def state(self) -> list[int]:
        return list(self.dom.state())

    def sched_type(self) -> list[Any]:
        return list(self.dom.schedulerType())

    def sched_params(self) -> dict[str, int]:
        return dict(self.dom.schedulerParameters())

    def set_sched(self, params: dict[str, int]) -> None:
        self.dom.setSchedulerParameters(params)

    def managed_save(self) -> None:
        self.dom.managedSave(0)

    def has_managed_save(self) -> bool:
        return bool(self.dom.hasManagedSaveImage(0))

    def managed_save_remove(self) -> None:
        self.dom.managedSaveRemove(0)

    def start(self) -> None:
        self.dom.create()

    def undefine(self) -> None:
        self.dom.undefine()

    def hostname(self) -> str:
        return str(self.dom.hostname(0))

    def destroy(self) -> None:
        self.dom.destroy()

    def memory_stats(self) -> dict[str, int]:
        return dict(self.dom.memoryStats())

    def vcpus(self) -> list[Any]:
        info, maps = self.dom.vcpus()
        return [[[n, st, cpu] for n, st, _time, cpu in info], [list(m) for m in maps]]

    def cpu_stats(self, total: bool) -> list[dict[str, int]]:
        return list(self.dom.getCPUStats(total))

    def screenshot(self, screen: int) -> list[Any]:
        stream = self.dom.connect().newStream(0)
        mime = self.dom.screenshot(stream, screen, 0)
        chunks: list[bytes] = []
        stream.recvAll(lambda _s, data, _o: chunks.append(data) or 0, None)
        stream.finish()
        return [mime, b"".join(chunks)[:8].hex()]

    def metadata(self, kind: int, uri: str | None, flags: int = 0) -> str:
        return str(self.dom.metadata(kind, uri, flags))

    def set_metadata(
        self, kind: int, text: str | None, key: str | None, uri: str | None, flags: int = 0
    ) -> None:
        self.dom.setMetadata(kind, text, key, uri, flags)


class VirtcoreSide:
    """The same vocabulary over virtcore."""

    def __init__(self) -> None:
        import virtcore

        self.dom = virtcore.open("test:///default").lookup_domain("test")

    def code(self, exc: BaseException) -> int | None:
        from virtcore.errors import VirtError

        return int(exc.code) if isinstance(exc, VirtError) else None

    def state(self) -> list[int]:
        return [int(x) for x in self.dom.state()]

    def sched_type(self) -> list[Any]:
        return list(self.dom.scheduler_type())

    def sched_params(self) -> dict[str, int]:
        return self.dom.scheduler_parameters()

    def set_sched(self, params: dict[str, int]) -> None:
        self.dom.set_scheduler_parameters(params)

    def managed_save(self) -> None:
        self.dom.managed_save()

    def has_managed_save(self) -> bool:
        return self.dom.has_managed_save_image()

    def managed_save_remove(self) -> None:
        self.dom.managed_save_remove()

    def start(self) -> None:
        self.dom.start()

    def undefine(self) -> None:
        self.dom.undefine()

    def hostname(self) -> str:
        return self.dom.hostname()

    def destroy(self) -> None:
        self.dom.destroy()

    def memory_stats(self) -> dict[str, int]:
        return self.dom.memory_stats()

    def vcpus(self) -> list[Any]:
        info, maps = self.dom.vcpus()
        return [[[v.number, v.state, v.cpu] for v in info], [list(m) for m in maps]]

    def cpu_stats(self, total: bool) -> list[dict[str, int]]:
        return self.dom.cpu_stats(total)

    def screenshot(self, screen: int) -> list[Any]:
        import io

        out = io.BytesIO()
        mime = self.dom.screenshot(out, screen)
        return [mime, out.getvalue()[:8].hex()]

    def metadata(self, kind: int, uri: str | None, flags: int = 0) -> str:
        return self.dom.metadata(kind, uri, live=bool(flags & 1), config=bool(flags & 2))

    def set_metadata(
        self, kind: int, text: str | None, key: str | None, uri: str | None, flags: int = 0
    ) -> None:
        self.dom.set_metadata(kind, text, key, uri, live=bool(flags & 1), config=bool(flags & 2))


def step(side: Any, call: Callable[[], Any]) -> Outcome:
    """Run ``call``: ``["ok", value]`` or ``["err", code]``."""
    try:
        return ["ok", call()]
    except Exception as exc:
        code = side.code(exc)
        if code is None:
            raise
        return ["err", code]


def play(side: Any) -> list[tuple[str, Outcome]]:
    """The scenario's steps and their outcomes on ``side``."""
    s = side
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("scheduler type", s.sched_type),
        ("scheduler parameters", s.sched_params),
        ("set the weight", lambda: s.set_sched({"weight": 100})),
        ("weight after", s.sched_params),
        ("host name", s.hostname),
        ("managed save image at first", s.has_managed_save),
        ("managed save", s.managed_save),
        ("state after", s.state),
        ("managed save image after", s.has_managed_save),
        ("managed save again", s.managed_save),
        ("host name when shut off", s.hostname),
        ("undefine with an image", s.undefine),
        ("start from the image", s.start),
        ("state after the start", s.state),
        ("image after the start", s.has_managed_save),
        ("managed save to remove", s.managed_save),
        ("remove the image", s.managed_save_remove),
        ("image after removing", s.has_managed_save),
        ("remove it again", s.managed_save_remove),
        ("start afresh", s.start),
        ("memory statistics", s.memory_stats),
        ("vCPUs (times vary)", s.vcpus),
        ("CPU totals", lambda: s.cpu_stats(True)),
        ("CPU per host CPU", lambda: s.cpu_stats(False)),
        ("screenshot", lambda: s.screenshot(0)),
        ("screenshot of screen 5", lambda: s.screenshot(5)),
        ("no description yet", lambda: s.metadata(DESCRIPTION, None)),
        ("set the description", lambda: s.set_metadata(DESCRIPTION, "hello", None, None)),
        ("the description", lambda: s.metadata(DESCRIPTION, None)),
        ("a title with a newline", lambda: s.set_metadata(TITLE, "a\nb", None, None)),
        ("set the title (current: live)", lambda: s.set_metadata(TITLE, "T", None, None)),
        ("the persistent title", lambda: s.metadata(TITLE, None, CONFIG)),
        ("the live title", lambda: s.metadata(TITLE, None, LIVE)),
        ("set the persistent title", lambda: s.set_metadata(TITLE, "P", None, None, CONFIG)),
        ("the persistent title now", lambda: s.metadata(TITLE, None, CONFIG)),
        ("set an element", lambda: s.set_metadata(ELEMENT, "<foo a='1'><bar>x</bar></foo>", "app", APP)),
        ("the element", lambda: s.metadata(ELEMENT, APP)),
        ("replace the element", lambda: s.set_metadata(ELEMENT, "<baz/>", "app2", APP)),
        ("the new element", lambda: s.metadata(ELEMENT, APP)),
        ("another namespace", lambda: s.metadata(ELEMENT, "http://other.example/")),
        ("an element without uri", lambda: s.metadata(ELEMENT, None)),
        ("set an element without key", lambda: s.set_metadata(ELEMENT, "<foo/>", None, APP)),
        ("set a broken element", lambda: s.set_metadata(ELEMENT, "<foo", "k", APP)),
        ("a description with a uri", lambda: s.set_metadata(DESCRIPTION, "x", "k", APP)),
        ("an unknown kind", lambda: s.metadata(7, None)),
        ("remove the element", lambda: s.set_metadata(ELEMENT, None, None, APP)),
        ("the element is gone", lambda: s.metadata(ELEMENT, APP)),
        ("an empty description", lambda: s.set_metadata(DESCRIPTION, "", None, None)),
        ("the description is gone", lambda: s.metadata(DESCRIPTION, None)),
        ("stop for the last steps", s.destroy),
        ("live title of a stopped domain", lambda: s.metadata(TITLE, None, LIVE)),
        ("set a live title on it", lambda: s.set_metadata(TITLE, "x", None, None, LIVE)),
        ("its title now (persistent)", lambda: s.metadata(TITLE, None)),
        ("screenshot of a stopped domain", lambda: s.screenshot(0)),
        ("memory statistics of a stopped domain", s.memory_stats),
        ("vCPUs of a stopped domain", s.vcpus),
        ("CPU totals of a stopped domain", lambda: s.cpu_stats(True)),
    ]
    return [(label, step(s, call)) for label, call in steps]


if __name__ == "__main__":
    print(json.dumps(play(LibvirtSide())))
