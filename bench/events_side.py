"""Event latency through a ``libvirt`` module on test:///default: run as is under either one.

libvirt's default event loop runs in a thread, as libvirt-python programs run it; a
lifecycle callback notes when it runs. Each sample suspends (or resumes) the domain
``test`` and waits for its callback: the time from the call to the callback, the
operation included, and the operation alone with no callback registered. Prints
``{measure: median µs}`` as JSON. bench_compat.py runs it under Debian's
python3-libvirt and under virt-libvirt's ``libvirt``.

Usage: python bench/events_side.py [--quick]
"""

import json
import statistics
import sys
import threading
import time

import libvirt


def main() -> None:
    n = 200 if "--quick" in sys.argv else 2000
    libvirt.virEventRegisterDefaultImpl()

    def loop() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    conn = libvirt.open("test:///default")
    dom = conn.lookupByName("test")
    clock = time.perf_counter_ns

    alone = []
    for _ in range(n):
        t0 = clock()
        dom.suspend()
        dom.resume()
        alone.append((clock() - t0) / 2)

    arrived = threading.Event()
    stamp = [0]

    def cb(c, d, event, detail, opaque):
        stamp[0] = clock()
        arrived.set()

    cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
    delivered = []
    for i in range(2 * n):
        arrived.clear()
        t0 = clock()
        if i % 2 == 0:
            dom.suspend()
        else:
            dom.resume()
        if not arrived.wait(10):
            raise SystemExit("an event never arrived")
        delivered.append(stamp[0] - t0)
    conn.domainEventDeregisterAny(cid)
    conn.close()
    print(
        json.dumps(
            {
                "op alone (suspend or resume)": statistics.median(alone) / 1000,
                "op + its event delivered": statistics.median(delivered) / 1000,
            }
        )
    )


if __name__ == "__main__":
    main()
