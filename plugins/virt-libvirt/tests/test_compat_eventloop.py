"""libvirt's event loop through virt-libvirt, side by side with Debian's python3-libvirt.

Each script below runs unchanged in a fresh interpreter under both ``libvirt``
modules (an event loop is registered once per process) and prints what it
saw as JSON; both must say the same. They pin the default loop's semantics
(ids, timeout -1 disabled and 0 on every iteration, handles, unknown ids),
how libvirt drives a user loop registered with ``virEventRegisterImpl``
(a disabled timer per connection with callbacks, armed when an event is
queued, the callback run only from the loop, the timer removed with the last
callback), and the errors of event registration.
"""

from __future__ import annotations

import sys
from typing import Any

from compat_peer import run_script

DEFAULT_LOOP = r"""
import json, os, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
out = {}
def err(f):
    try:
        return ["ok", f()]
    except libvirt.libvirtError as e:
        return ["libvirtError", e.get_error_code()]
out["no loop: add timeout"] = err(lambda: libvirt.virEventAddTimeout(0, lambda t, o: None, None))
out["register"] = libvirt.virEventRegisterDefaultImpl()
out["register again"] = libvirt.virEventRegisterDefaultImpl()
fired = []
every = libvirt.virEventAddTimeout(0, lambda t, o: fired.append(("every", t, o)), "a")
off = libvirt.virEventAddTimeout(-1, lambda t, o: fired.append(("off", t, o)), "b")
out["timer ids"] = [every, off]
for _ in range(3):
    out.setdefault("run", []).append(libvirt.virEventRunDefaultImpl())
out["after 3 iterations"] = [list(f) for f in fired]
fired.clear()
libvirt.virEventUpdateTimeout(off, 0)
libvirt.virEventRunDefaultImpl()
out["both enabled"] = sorted(f[0] for f in fired)
fired.clear()
libvirt.virEventUpdateTimeout(off, -1)
libvirt.virEventRunDefaultImpl()
out["disabled again"] = [f[0] for f in fired]
out["update unknown timer"] = err(lambda: libvirt.virEventUpdateTimeout(999, 0))
out["remove timer"] = libvirt.virEventRemoveTimeout(off)
out["remove it again"] = err(lambda: libvirt.virEventRemoveTimeout(off))
r, w = os.pipe()
seen = []
watch = libvirt.virEventAddHandle(r, libvirt.VIR_EVENT_HANDLE_READABLE,
                                  lambda wa, fd, ev, o: seen.append([wa == watch, fd == r, ev, o]), "h")
out["first watch id"] = watch
fired.clear()
os.write(w, b"x")
libvirt.virEventRunDefaultImpl()
out["readable"] = seen[:1]
os.read(r, 1)
libvirt.virEventUpdateHandle(watch, 0)
seen.clear()
os.write(w, b"y")
libvirt.virEventRunDefaultImpl()
out["not watched"] = seen
out["remove watch"] = libvirt.virEventRemoveHandle(watch)
out["remove unknown watch"] = err(lambda: libvirt.virEventRemoveHandle(watch))
def self_removing(t, o):
    fired.append("once")
    libvirt.virEventRemoveTimeout(t)
libvirt.virEventAddTimeout(0, self_removing, None)
fired.clear()
for _ in range(3):
    libvirt.virEventRunDefaultImpl()
out["removed from its own callback"] = fired.count("once")
print(json.dumps(out))
"""


USER_LOOP = r"""
import json, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
calls, timers = [], {}
def add_handle(fd, events, cb, opaque):
    calls.append(["addHandle", events]); return 1
def update_handle(watch, events): calls.append(["updateHandle", watch, events])
def remove_handle(watch): calls.append(["removeHandle", watch]); return 0
def add_timeout(timeout, cb, opaque):
    timers[len(timers) + 1] = (cb, opaque)
    calls.append(["addTimeout", timeout]); return len(timers)
def update_timeout(timer, timeout): calls.append(["updateTimeout", timer, timeout])
def remove_timeout(timer): calls.append(["removeTimeout", timer]); return 0
funcs = (add_handle, update_handle, remove_handle, add_timeout, update_timeout, remove_timeout)
libvirt.virEventRegisterImpl(*funcs)
out = {}
try:
    libvirt.virEventRegisterImpl(*funcs)
except RuntimeError as e:
    out["register twice"] = str(e)
conn = libvirt.open("test:///default")
dom = conn.lookupByName("test")
got = []
out["opened"] = list(calls); calls.clear()
def lifecycle(c, d, ev, detail, o):
    got.append([d.name(), ev, detail, o, c is conn])
cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "op")
out["callback id"] = cid
out["registered"] = list(calls); calls.clear()
dom.suspend()
out["an event queued"] = list(calls); calls.clear()
out["delivered before the loop ran"] = list(got)
cb, opaque = timers[1]
cb(1, opaque)
out["the loop ran the timer"] = list(calls); calls.clear()
out["delivered"] = list(got)
dom.resume()
cb(1, opaque)
calls.clear()
out["second"] = got[1:]
conn.domainEventDeregisterAny(cid)
out["deregistered"] = list(calls); calls.clear()
libvirt.virEventInvokeFreeCallback(opaque)
out["freed"] = True
print(json.dumps(out))
"""


REGISTRATION_ERRORS = r"""
import json, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
out = {}
def err(f):
    try:
        return ["ok", f()]
    except libvirt.libvirtError as e:
        return ["libvirtError", e.get_error_code(), e.get_error_domain(), e.get_error_message()]
conn = libvirt.open("test:///default")
cb = lambda *a: None
out["no event loop"] = err(lambda: conn.domainEventRegisterAny(None, 0, cb, None))
libvirt.virEventRegisterDefaultImpl()
out["id 27"] = err(lambda: conn.domainEventRegisterAny(None, 27, cb, None))[:2]
out["id -1"] = err(lambda: conn.domainEventRegisterAny(None, -1, cb, None))[:2]
out["lifecycle"] = err(lambda: conn.domainEventRegisterAny(None, 0, cb, None))
out["lifecycle again"] = err(lambda: conn.domainEventRegisterAny(None, 0, cb, None))
out["lifecycle of test"] = err(lambda: conn.domainEventRegisterAny(conn.lookupByName("test"), 0, cb, None))
out["every other id"] = [err(lambda i=i: conn.domainEventRegisterAny(None, i, cb, None))[0]
                         for i in range(1, 27)]
out["network"] = err(lambda: conn.networkEventRegisterAny(None, 0, cb, None))
out["pool"] = err(lambda: conn.storagePoolEventRegisterAny(None, 0, cb, None))
out["pool refresh"] = err(lambda: conn.storagePoolEventRegisterAny(None, 1, cb, None))
out["node device"] = err(lambda: conn.nodeDeviceEventRegisterAny(None, 0, cb, None))
out["deregister 999"] = err(lambda: conn.domainEventDeregisterAny(999))
out["deregister 1"] = err(lambda: conn.domainEventDeregisterAny(1))
out["deregister 1 again"] = err(lambda: conn.domainEventDeregisterAny(1))
try:
    conn.domainEventDeregisterAny(out["network"][1])
except KeyError:  # libvirt removed it; libvirt-python's dictionary of domain callbacks lacks it
    out["deregister the network's id as a domain's"] = "KeyError"
out["network deregistered with it"] = err(lambda: conn.networkEventDeregisterAny(out["network"][1]))[:2]
out["legacy, none registered"] = err(lambda: conn.domainEventDeregister(cb))
out["legacy register"] = err(lambda: conn.domainEventRegister(cb, None))
try:
    conn.domainEventDeregister(lambda *a: None)
except KeyError:
    out["legacy, another callback"] = "KeyError"
out["legacy deregister"] = err(lambda: conn.domainEventDeregister(cb))
out["close callback"] = err(lambda: conn.registerCloseCallback(cb, None))
out["close callback gone"] = err(lambda: conn.unregisterCloseCallback())
print(json.dumps(out))
"""


def test_the_default_loop_behaves_as_libvirts(side_by_side: Any) -> None:
    theirs, ours = side_by_side.run(DEFAULT_LOOP)
    assert ours == theirs
    # and the comparison is about something
    assert ours["after 3 iterations"] == [["every", 1, "a"]] * 3
    assert ours["both enabled"] == ["every", "off"] and ours["disabled again"] == ["every"]
    assert ours["readable"] == [[True, True, 1, "h"]] and ours["not watched"] == []
    assert ours["remove unknown watch"][0] == "libvirtError"


def test_a_user_loop_is_driven_as_libvirt_drives_it(side_by_side: Any) -> None:
    theirs, ours = side_by_side.run(USER_LOOP)
    assert ours == theirs
    assert ours["registered"] == [["addTimeout", -1]]
    assert ours["an event queued"] == [["updateTimeout", 1, 0]]
    assert ours["delivered before the loop ran"] == []
    assert ours["delivered"] == [["test", 3, 0, "op", True]]
    assert ours["deregistered"] == [["removeTimeout", 1]]


def test_registration_errors_are_libvirts(side_by_side: Any) -> None:
    theirs, ours = side_by_side.run(REGISTRATION_ERRORS)
    assert ours == theirs
    assert ours["no event loop"][:3] == ["libvirtError", 1, 0]  # INTERNAL_ERROR, as libvirt
    assert ours["lifecycle again"][1] == 8 and "already tracked" in ours["lifecycle again"][3]
    assert ours["every other id"] == ["ok"] * 26
    assert ours["deregister 999"][3] == "invalid argument: could not find event callback 999 for deletion"


def test_the_loop_is_thread_safe_and_wakes_up() -> None:
    """A timer armed from another thread wakes an iteration blocked in poll (virt-libvirt only:
    the wake-up is what libvirt's own loop does too, the order of threads is not comparable)."""
    script = r"""
import json, threading, libvirt
libvirt.virEventRegisterDefaultImpl()
fired = threading.Event()
def fire(t, o):
    fired.set()
    libvirt.virEventUpdateTimeout(t, -1)
timer = libvirt.virEventAddTimeout(-1, fire, None)
loop = threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in range(2)], daemon=True)
loop.start()
threading.Thread(target=lambda: libvirt.virEventUpdateTimeout(timer, 0)).start()
print(json.dumps({"fired": fired.wait(60)}))
"""
    assert run_script(sys.executable, script) == {"fired": True}
