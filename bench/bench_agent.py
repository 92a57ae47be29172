"""The guest agent's cost on a real TCG guest (128 MiB, qemu-guest-agent in the test initramfs).

Boots one agent guest on ``qemu:///embed`` and times, through virtcore's public
API: the boot until the agent first answers, then each agent operation
(median and max of ``--rounds`` calls). One guest at a time.

Usage: python bench/bench_agent.py [--rounds N] [--root DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from virt_qemu import testguest

import virtcore
from virtcore.errors import AgentUnresponsiveError


def main() -> int:
    """Run the bench and print one row per operation (milliseconds)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--root", help="embed root (default: a temporary directory)")
    ns = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="vc-agent-bench-") as tmp:
        root = Path(ns.root or tmp)
        kernel = testguest.find_kernel()
        initrd = testguest.build_initramfs(kernel, agent=True)
        log = root / "serial.log"
        nic = "<interface type='user'><model type='virtio'/></interface>"
        xml = testguest.guest_domain_xml(
            "agentbench", kernel, initrd, serial_log=log, mode="idle", agent=True,
            guest_ip="10.0.2.15/24", extra_devices=nic,
        )  # fmt: skip
        with virtcore.open(f"qemu:///embed?root={root / 'root'}") as conn:
            dom = conn.define_domain(xml)
            t0 = time.perf_counter()
            dom.start()
            try:
                while True:
                    try:
                        dom.agent.ping(timeout=5)
                        break
                    except AgentUnresponsiveError:
                        time.sleep(0.05)
                print(f"start until the agent answers: {(time.perf_counter() - t0) * 1000:.0f} ms")
                ops: list[tuple[str, Callable[[], object]]] = [
                    ("agent.ping()", lambda: dom.agent.ping()),
                    ("agent.exec(['true'])", lambda: dom.agent.exec(["true"])),
                    ("agent.file_read('/etc/os-release')", lambda: dom.agent.file_read("/etc/os-release")),
                    ("agent.guest_info()", lambda: dom.agent.guest_info()),
                    ("interface_addresses('agent')", lambda: dom.interface_addresses("agent")),
                    ("state() (no agent involved)", lambda: dom.state()),
                ]
                print(f"{'operation':40} {'median ms':>10} {'max ms':>10}")
                for name, fn in ops:
                    times = []
                    for _ in range(ns.rounds):
                        t = time.perf_counter()
                        fn()
                        times.append((time.perf_counter() - t) * 1000)
                    print(f"{name:40} {statistics.median(times):10.2f} {max(times):10.2f}")
            finally:
                dom.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
