"""``python -m virt_qemu.demo [--root DIR]``: boot a real guest through virtcore and walk its lifecycle.

Everything goes through virtcore's public API on ``qemu:///embed?root=DIR``:
define, start, the guest's marker on its serial console, suspend, resume,
info, save, restore, shutdown (ACPI power button), undefine. Each step is
printed with its duration. The guest is the test guest of
:mod:`virt_qemu.testguest` (the host's cloud kernel + a busybox initramfs)
under TCG with 128 MiB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import virtcore
from virt_qemu import console_log, testguest
from virtcore.types import DomainState

_T = TypeVar("_T")


@contextmanager
def _step(what: str) -> Iterator[None]:
    t = time.perf_counter()
    print(f"  {what:<44}", end="", flush=True)
    yield
    dt = time.perf_counter() - t
    print(f"{dt * 1000:9.1f} ms", flush=True)


def _timed(what: str, fn: Callable[[], _T]) -> _T:
    with _step(what):
        return fn()


def run(root: Path) -> int:
    """The demo proper; returns the exit status."""
    uri = f"qemu:///embed?root={root}"
    print(f"virt-qemu demo on {uri}")
    kernel = testguest.find_kernel()
    initrd = _timed("build the guest's initramfs (cached)", lambda: testguest.build_initramfs(kernel))
    name = "demo-guest"
    serial = root / "demo-console.log"
    xml = testguest.guest_domain_xml(name, kernel, initrd, serial_log=serial)
    conn = _timed("open the connection", lambda: virtcore.open(uri))
    with conn:
        events: list[str] = []
        conn.on_domain_event(lambda dom, ev, detail: events.append(f"{ev.name}({detail})"))
        try:
            old = conn.lookup_domain(name)
            if old.is_active():
                old.destroy()
            old.undefine()
        except virtcore.errors.NoDomainError:
            pass
        serial.unlink(missing_ok=True)
        print(f"  hypervisor: {conn.get_type()} {conn.get_version()}, host {conn.hostname()}")
        dom = _timed("define", lambda: conn.define_domain(xml))
        _timed("start (launch paused, configure, cont)", dom.start)
        print(f"  -> state {dom.state()[0].name}, id {dom.id}, console {console_log(dom)}")
        _timed("wait for the guest's marker on its console", lambda: testguest.wait_marker(serial))
        marker = next(ln for ln in testguest.read(serial).splitlines() if testguest.MARKER in ln)
        print(f"  -> console says: {marker!r}")
        _timed("suspend", dom.suspend)
        print(f"  -> state {dom.state()[0].name}")
        _timed("resume", dom.resume)
        info = _timed("info", dom.info)
        print(
            f"  -> {info.state.name}, {info.memory // 1024} MiB of {info.max_memory // 1024} MiB, "
            f"{info.nr_virt_cpu} vCPU, {info.cpu_time / 1e9:.2f} s CPU"
        )
        testguest.wait_for(lambda: testguest.last_tick(serial) >= 1, 15, "a tick")
        image = root / "demo-guest.save"
        _timed("save (migrate to a file)", lambda: dom.save(image))
        tick = testguest.last_tick(serial)
        print(
            f"  -> state {dom.state()[0].name}, image {image.stat().st_size // (1024 * 1024)} MiB, "
            f"last tick {tick}"
        )
        _timed("restore (incoming migration)", lambda: conn.restore_domain(image))
        _timed(
            "guest keeps counting where it stopped",
            lambda: testguest.wait_for(lambda: testguest.last_tick(serial) > tick, 15, "the ticks to go on"),
        )
        print(
            f"  -> ticks {tick} -> {testguest.last_tick(serial)}, "
            f"boots: {testguest.read(serial).count(testguest.MARKER)}"
        )
        _timed("shutdown (ACPI power button)", dom.shutdown)
        _timed(
            "wait until the guest powered itself off",
            lambda: testguest.wait_for(lambda: dom.state()[0] == DomainState.SHUTOFF, 60, "power off"),
        )
        print(f"  -> state {dom.state()[0].name} ({dom.state()[1]!r})")
        _timed("undefine", dom.undefine)
        image.unlink(missing_ok=True)
        time.sleep(0.05)
        print(f"  events: {', '.join(events)}")
    print("done")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m virt_qemu.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", help="embed root (default: a temporary directory, removed afterwards)")
    args = p.parse_args(argv)
    try:
        if args.root:
            root = Path(args.root).resolve()
            root.mkdir(parents=True, exist_ok=True)
            return run(root)
        with tempfile.TemporaryDirectory(prefix="virt-qemu-demo-") as tmp:
            return run(Path(tmp))
    except virtcore.VirtError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
