"""A libvirt-python script watching one guest's events: the default event loop in a thread,
lifecycle and reboot callbacks, then define, start, pause, resume, save, restore, reboot,
destroy, undefine.

Written against libvirt-python's API alone; test_compat_qemu_events.py runs it unchanged
through virt-libvirt on qemu:///embed. Arguments: URI, domain XML file, save image path,
serial console log; prints JSON: the events as the callbacks saw them, in order.
"""

import json
import sys
import threading
import time

import libvirt

MARKER = "VIRTCORE-GUEST-READY"


def console(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait(what, predicate, timeout=180):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


libvirt.virEventRegisterDefaultImpl()
loop = threading.Thread(target=run_loop, name="libvirt-loop", daemon=True)
loop.start()

uri, xml_file, image, log = sys.argv[1:5]
conn = libvirt.open(uri)
events = []
lock = threading.Lock()


def lifecycle(c, dom, event, detail, opaque):
    with lock:
        events.append(["lifecycle", dom.name(), event, detail, opaque, threading.current_thread() is loop])


def reboot(c, dom, opaque):
    with lock:
        events.append(["reboot", dom.name(), opaque, threading.current_thread() is loop])


def seen(*want):
    with lock:
        return any(e[: len(want)] == list(want) for e in events)


ids = [
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "any"),
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, reboot, "rb"),
]
with open(xml_file) as f:
    dom = conn.defineXML(f.read())
name = dom.name()
dom.create()
wait("the guest to boot", lambda: MARKER in console(log))
dom.suspend()
dom.resume()
dom.save(image)
conn.restore(image)
dom = conn.lookupByName(name)
wait(
    "STARTED after the restore",
    lambda: seen(
        "lifecycle", name, libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_RESTORED
    ),
)
dom.reboot()
wait("REBOOT", lambda: seen("reboot", name))
wait("the guest to boot again", lambda: console(log).count(MARKER) >= 2)
dom.destroy()
dom.undefine()
wait("UNDEFINED", lambda: seen("lifecycle", name, libvirt.VIR_DOMAIN_EVENT_UNDEFINED))
for i in ids:
    conn.domainEventDeregisterAny(i)
conn.close()
with lock:
    print(json.dumps(events))
