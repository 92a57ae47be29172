"""Helpers shared by the tests that run inside a real Xen dom0."""

from __future__ import annotations

import os
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path

import pytest

TEMPLATE = (Path(__file__).parent / "conformance-template.xml").read_text()
CONSOLE_LOGS = Path("/var/log/xen/console")


def guest_xml(name: str, uuid: str | None = None) -> str:
    """Domain XML of the tiny PV guest (kernel and initramfs baked into dom0)."""
    xml = TEMPLATE.replace("{name}", name).replace("{uuid}", uuid or str(uuidlib.uuid4()))
    kernel = os.environ.get("XENHOST_GUEST_KERNEL", "/guest/vmlinuz")
    initrd = os.environ.get("XENHOST_GUEST_INITRD", "/guest/initrd")
    return xml.replace("/guest/vmlinuz", kernel).replace("/guest/initrd", initrd)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def console_log(name: str) -> str:
    """What the guest wrote on its console (xenconsoled logs it)."""
    try:
        return (CONSOLE_LOGS / f"guest-{name}.log").read_text(errors="replace")
    except OSError:
        return ""
