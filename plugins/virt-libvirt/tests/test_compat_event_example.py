"""libvirt-python 9.0.0's ``examples/event-test.py``, unchanged, through virt-libvirt, beside python3-libvirt.

The example (fetched from PyPI at test time, :mod:`libvirt_python_sdist`) runs
as a program under both ``libvirt`` modules with each of its three event
loops (its own poll loop through ``virEventRegisterImpl``, libvirt's default
loop, ``libvirtaio``); the output and exit status must be the same. On
test:///default that is libvirt's: every domain, network, pool and node
device registration succeeds, then the test driver has no secret events
(VIR_ERR_NO_SUPPORT) and the program stops.

So that its callbacks see events, a driver script imports the same file as a
module (unchanged, not run as ``__main__``), starts the example's loop of
each kind, registers the example's own callbacks and changes a domain of
test:///default; what the callbacks print must again match python3-libvirt's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from compat_peer import SYSTEM_PYTHON, clean_env, debian_libvirt_missing
from libvirt_python_sdist import require

LOOPS = ("poll", "native", "asyncio")


def run(python: str, *argv: str) -> tuple[int, str, str]:
    out = subprocess.run(
        [python, *argv], capture_output=True, text=True, timeout=300, env=clean_env(), cwd="/"
    )
    last = out.stderr.strip().splitlines()[-1:] or [""]
    return out.returncode, out.stdout, last[0]


def both(*argv: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    why = debian_libvirt_missing()
    if why is not None:
        pytest.skip(why)
    return run(SYSTEM_PYTHON, *argv), run(sys.executable, *argv)


@pytest.mark.parametrize("loop", LOOPS)
def test_event_test_runs_as_on_libvirt_python(loop: str) -> None:
    example = require() / "examples" / "event-test.py"
    theirs, ours = both(str(example), "--loop", loop, "--timeout", "1", "test:///default")
    assert ours == theirs
    assert ours[1].startswith(f"Using uri 'test:///default' and event loop '{loop}'")
    assert ours[2].endswith("not supported by the connection driver: virConnectSecretEventRegisterAny")


#: Imports event-test.py as a module, starts its loop of argv[2], registers its callbacks (both the
#: legacy form and domainEventRegisterAny for every id), then changes domains of test:///default;
#: the domain 'test' suspended and resumed after the others marks the end.
DRIVER = r"""
import importlib.util, sys, threading
spec = importlib.util.spec_from_file_location("event_test", sys.argv[1])
ex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ex)
import libvirt
{"poll": ex.virEventLoopPollStart, "native": ex.virEventLoopNativeStart,
 "asyncio": ex.virEventLoopAIOStart}[sys.argv[2]]()
conn = libvirt.open("test:///default")
done = threading.Event()
def barrier(c, d, event, detail, opaque):
    if d.name() == "test" and event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
        done.set()
conn.domainEventRegister(ex.myDomainEventCallback, 1)
ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, ex.myDomainEventCallback, 2)]
for name, cb in (("REBOOT", "myDomainEventRebootCallback"), ("RTC_CHANGE", "myDomainEventRTCChangeCallback"),
                 ("AGENT_LIFECYCLE", "myDomainEventAgentLifecycleCallback"),
                 ("DEVICE_ADDED", "myDomainEventDeviceAddedCallback")):
    eid = getattr(libvirt, "VIR_DOMAIN_EVENT_ID_" + name)
    ids.append(conn.domainEventRegisterAny(None, eid, getattr(ex, cb), None))
test = conn.lookupByName("test")
ids.append(conn.domainEventRegisterAny(test, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, barrier, None))
xml = "<domain type='test'><name>ev1</name><memory>131072</memory><os><type>hvm</type></os></domain>"
dom = conn.defineXML(xml)
dom.create()
dom.suspend()
dom.resume()
dom.destroy()
dom.undefine()
conn.createXML(xml.replace("ev1", "ev2"), 0).destroy()
test.suspend()
test.resume()
if not done.wait(60):
    sys.exit("the events never came")
conn.domainEventDeregister(ex.myDomainEventCallback)
for i in ids:
    conn.domainEventDeregisterAny(i)
sys.stdout.flush()
"""


@pytest.mark.parametrize("loop", LOOPS)
def test_event_test_callbacks_print_what_libvirt_python_prints(loop: str, tmp_path: Path) -> None:
    example = require() / "examples" / "event-test.py"
    driver = tmp_path / "drive_event_test.py"
    driver.write_text(DRIVER)
    if loop == "asyncio":
        # libvirt-python's own libvirtaio never wakes its loop for a timer armed from another
        # thread (here: the main thread changing domains while the loop runs in its own), so
        # under python3-libvirt the events never come; ours must print what its poll loop prints.
        theirs = both(str(driver), str(example), "poll")[0]
        ours = run(sys.executable, str(driver), str(example), loop)
    else:
        theirs, ours = both(str(driver), str(example), loop)
    assert ours == theirs
    lines = ours[1].splitlines()
    assert "myDomainEventCallback1 EVENT: Domain ev1(-1) Defined Added" in lines
    assert "myDomainEventCallback2 EVENT: Domain ev1(-1) Stopped Destroyed" in lines
    assert lines[-2:] == [
        "myDomainEventCallback1 EVENT: Domain test(1) Resumed Unpaused",
        "myDomainEventCallback2 EVENT: Domain test(1) Resumed Unpaused",
    ]
