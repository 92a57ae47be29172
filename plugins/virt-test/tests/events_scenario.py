"""The domain events of one scenario on libvirt's test driver (run by Debian's python3-libvirt).

``test_events_vs_libvirt.py`` plays the same steps on virt-test with virtcore's API
and compares every step's events: lifecycle ones as ``[domain, id, event, detail]``
(the id the event's domain carries), metadata changes as ``[domain, "metadata",
type, nsuri]``. Run as a script, this prints ``{step: [event, ...]}`` as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading

#: A persistent domain of the scenario (the test driver needs little XML).
DOMAIN_XML = """<domain type='test'>
  <name>ev1</name>
  <uuid>7d6b2a3e-1c1f-4a44-9f3e-52f1e5a8a001</uuid>
  <memory>131072</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>"""

#: A transient one.
TRANSIENT_XML = DOMAIN_XML.replace("ev1", "ev2").replace("a001", "a002")

#: The default domain: suspended and resumed after each step, its RESUMED event marks the step's end.
BARRIER = "test"

#: The steps, in order: (label, operation); the operations are named the same on both sides.
STEPS = (
    ("define", "define"),
    ("define again", "define"),
    ("start", "create"),
    ("suspend", "suspend"),
    ("resume", "resume"),
    ("save", "save"),
    ("restore", "restore"),
    ("shutdown", "shutdown"),
    ("start again", "create"),
    ("reboot", "reboot"),
    ("set the description", "metadata"),
    ("destroy", "destroy"),
    ("undefine", "undefine"),
    ("create transient", "create_transient"),
    ("destroy transient", "destroy_transient"),
)


def main() -> None:
    import libvirt

    libvirt.virEventRegisterDefaultImpl()

    def loop() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    conn = libvirt.open("test:///default")
    got: list[list[object]] = []
    barrier = threading.Event()

    def lifecycle(c: object, d: libvirt.virDomain, event: int, detail: int, opaque: object) -> None:
        if d.name() == BARRIER:
            if event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
                barrier.set()
            return
        got.append([d.name(), d.ID(), event, detail])

    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)

    def metadata(c: object, d: libvirt.virDomain, mtype: int, nsuri: object, opaque: object) -> None:
        got.append([d.name(), "metadata", mtype, nsuri])

    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, metadata, None)
    save = os.path.join(tempfile.mkdtemp(), "ev1.save")
    out: dict[str, list[list[object]]] = {}
    for label, op in STEPS:
        got.clear()
        if op == "define":
            conn.defineXML(DOMAIN_XML)
        elif op == "create_transient":
            conn.createXML(TRANSIENT_XML, 0)
        elif op == "destroy_transient":
            conn.lookupByName("ev2").destroy()
        elif op == "save":
            conn.lookupByName("ev1").save(save)
        elif op == "restore":
            conn.restore(save)
        elif op == "metadata":
            conn.lookupByName("ev1").setMetadata(
                libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "hello", None, None, 0
            )
        else:
            getattr(conn.lookupByName("ev1"), op)()
        # Events arrive in order on the loop's thread: once the barrier domain's RESUMED
        # (queued after the step's) is in, the step's are too.
        barrier.clear()
        conn.lookupByName(BARRIER).suspend()
        conn.lookupByName(BARRIER).resume()
        if not barrier.wait(60):
            raise SystemExit("the barrier event never came")
        out[label] = list(got)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
