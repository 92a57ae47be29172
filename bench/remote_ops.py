"""The remote bench's workload, one description for both sides (virtcore's remote driver, python3-libvirt).

Runs under virtcore's interpreter and under Debian's /usr/bin/python3, so it
imports neither library: each side passes an adapter with ``lookup``, ``info``,
``xml_desc``, ``define``, ``undefine``, ``list_all``, ``suspend``, ``resume``
and ``on_lifecycle(callback)`` (the callback gets the event's number).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

DOMAIN_XML = """<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>
<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>"""

#: ``VIR_DOMAIN_EVENT_SUSPENDED``, ``_RESUMED``.
SUSPENDED, RESUMED = 3, 4


def _per_call(fn: Any, n: int) -> float:
    """µs per call of ``fn()``, best of three batches of ``n`` (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def measure_remote(api: Any, quick: bool) -> dict[str, float]:
    """µs per operation over the daemon's socket; ``list 1000`` lists the 1000 ``bench-`` domains there."""
    n = 50 if quick else 300
    dom = api.lookup("test")
    out = {
        "lookup": _per_call(lambda: api.lookup("test"), n),
        "info": _per_call(lambda: api.info(dom), n),
        "xml_desc": _per_call(lambda: api.xml_desc(dom), n),
        "list 1000": _per_call(api.list_all, 3 if quick else 10),
    }

    def define_undefine() -> None:
        api.undefine(
            api.define(DOMAIN_XML.format(name=f"bench-du-{uuid.uuid4().hex[:12]}", uuid=uuid.uuid4()))
        )

    out["define+undefine"] = _per_call(define_undefine, n // 5)
    got = threading.Event()
    wanted = [SUSPENDED]

    def seen(event: int) -> None:
        if event == wanted[0]:
            got.set()

    api.on_lifecycle(seen)
    latencies = []
    for _ in range(n // 5):
        for action, event in ((api.suspend, SUSPENDED), (api.resume, RESUMED)):
            got.clear()
            wanted[0] = event
            start = time.perf_counter()
            action(dom)
            if not got.wait(30):
                raise RuntimeError("no lifecycle event within 30 s")
            latencies.append((time.perf_counter() - start) * 1e6)
    latencies.sort()
    out["event latency"] = latencies[len(latencies) // 2]
    return out
