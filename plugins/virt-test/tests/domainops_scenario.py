"""Domain operations harnesses call (scheduler, managed save, host name): libvirt's test driver vs virt-test.

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
    ]
    return [(label, step(s, call)) for label, call in steps]


if __name__ == "__main__":
    print(json.dumps(play(LibvirtSide())))
