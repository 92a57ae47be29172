"""virt-test's guest agent against libvirt's own test driver, side by side.

The same steps run on ``test:///default`` with virtcore here and with Debian's
python3-libvirt in ``/usr/bin/python3``: file system freeze and thaw (the test
driver's ``/`` and ``/boot``), passwords, the guest clock, the agent's interface
addresses, and the errors of a paused or stopped domain. Every outcome must be
the same. (python3-libvirt 9.0's test driver has no guest info and no
``qemuAgentCommand``: both give NO_SUPPORT here too.)
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import virt_test

import virtcore
from virtcore.errors import VirtError

SYSTEM_PYTHON = "/usr/bin/python3"

TWO_XML = (
    "<domain type='test'><name>two</name><memory>1024</memory><os><type>hvm</type></os><devices>"
    "<interface type='user'><mac address='52:54:00:11:22:33'/></interface>"
    "<interface type='network'><source network='default'/><mac address='52:54:00:11:22:34'/></interface>"
    "</devices></domain>"
)

#: The libvirt side: the same steps, printed as JSON ``[[label, outcome], ...]``.
LIBVIRT_SCENARIO = textwrap.dedent(
    """
    import json, libvirt
    libvirt.registerErrorHandler(lambda *a: None, None)
    out = []
    def step(label, f):
        try:
            out.append([label, ["ok", f()]])
        except libvirt.libvirtError as e:
            out.append([label, ["err", e.get_error_code()]])
    def addrs(d):
        r = d.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
        return sorted([n, v["hwaddr"], [[a["type"], a["addr"], a["prefix"]] for a in v["addrs"]]]
                      for n, v in r.items())
    c = libvirt.open("test:///default")
    d = c.lookupByName("test")
    step("freeze /", lambda: d.fsFreeze(["/"]))
    step("freeze / again", lambda: d.fsFreeze(["/"]))
    step("freeze all", lambda: d.fsFreeze())
    step("freeze unknown", lambda: d.fsFreeze(["/nope"]))
    step("thaw /boot", lambda: d.fsThaw(["/boot"]))
    step("thaw all", lambda: d.fsThaw())
    step("thaw all again", lambda: d.fsThaw())
    step("agent addresses", lambda: addrs(d))
    step("set password", lambda: d.setUserPassword("root", "secret", 0) * 0 or None)
    step("set crypted password", lambda: d.setUserPassword("root", "$6$x$y", 1) * 0 or None)
    step("clock", lambda: sorted(d.getTime().items()))
    step("set clock", lambda: d.setTime({"seconds": 1000, "nseconds": 5}) * 0 or None)
    step("clock after set", lambda: sorted(d.getTime().items()))
    step("sync clock", lambda: d.setTime(None, libvirt.VIR_DOMAIN_TIME_SYNC) * 0 or None)
    step("clock after sync", lambda: sorted(d.getTime().items()))
    step("guest info", lambda: d.guestInfo(0, 0))
    d.suspend()
    step("paused clock", lambda: sorted(d.getTime().items()))
    step("paused freeze", lambda: d.fsFreeze())
    step("paused thaw", lambda: d.fsThaw())
    step("paused addresses", lambda: addrs(d))
    d.resume()
    two = c.defineXML(TWO_XML)
    two.create()
    step("two's addresses", lambda: addrs(two))
    d.destroy()
    step("stopped password", lambda: d.setUserPassword("root", "x", 0))
    step("stopped freeze", lambda: d.fsFreeze())
    step("stopped addresses", lambda: addrs(d))
    step("stopped clock", lambda: d.getTime())
    print(json.dumps(out))
    """
)


def _virtcore_scenario(conn: virtcore.Connection) -> list[list[Any]]:
    out: list[list[Any]] = []

    def step(label: str, f: Callable[[], object]) -> None:
        try:
            out.append([label, ["ok", f()]])
        except VirtError as e:
            out.append([label, ["err", int(e.code)]])

    def addrs(d: virtcore.Domain) -> list[Any]:
        return sorted(
            [i.name, i.hwaddr, [[int(a.type), a.addr, a.prefix] for a in i.addrs]]
            for i in d.interface_addresses("agent")
        )

    def clock(d: virtcore.Domain) -> list[Any]:
        s, ns = d.agent.get_time()
        return [["nseconds", ns], ["seconds", s]]

    d = conn.lookup_domain("test")
    a = d.agent
    step("freeze /", lambda: a.fs_freeze(["/"]))
    step("freeze / again", lambda: a.fs_freeze(["/"]))
    step("freeze all", lambda: a.fs_freeze())
    step("freeze unknown", lambda: a.fs_freeze(["/nope"]))
    step("thaw /boot", lambda: a.fs_thaw(["/boot"]))
    step("thaw all", lambda: a.fs_thaw())
    step("thaw all again", lambda: a.fs_thaw())
    step("agent addresses", lambda: addrs(d))
    step("set password", lambda: a.set_user_password("root", "secret"))
    step("set crypted password", lambda: a.set_user_password("root", "$6$x$y", crypted=True))
    step("clock", lambda: clock(d))
    step("set clock", lambda: a.set_time(1000, 5))
    step("clock after set", lambda: clock(d))
    step("sync clock", lambda: a.set_time(sync=True))
    step("clock after sync", lambda: clock(d))
    step("guest info", lambda: a.guest_info())
    d.suspend()
    step("paused clock", lambda: clock(d))
    step("paused freeze", lambda: a.fs_freeze())
    step("paused thaw", lambda: a.fs_thaw())
    step("paused addresses", lambda: addrs(d))
    d.resume()
    two = conn.define_domain(TWO_XML)
    two.start()
    step("two's addresses", lambda: addrs(two))
    d.destroy()
    step("stopped password", lambda: a.set_user_password("root", "x"))
    step("stopped freeze", lambda: a.fs_freeze())
    step("stopped addresses", lambda: addrs(d))
    step("stopped clock", lambda: a.get_time())
    return out


@pytest.fixture
def fresh_default() -> Iterator[virtcore.Connection]:
    virt_test.reset_default_node()
    conn = virtcore.open("test:///default")
    try:
        yield conn
    finally:
        conn.close()
        virt_test.reset_default_node()


def _libvirt_outcomes() -> list[list[Any]]:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip("no /usr/bin/python3 (Debian's python3-libvirt) to compare with")
    script = f"TWO_XML = {TWO_XML!r}\n" + LIBVIRT_SCENARIO
    r = subprocess.run([SYSTEM_PYTHON, "-c", script], capture_output=True, text=True, timeout=60)
    if r.returncode != 0 and "No module named 'libvirt'" in r.stderr:
        pytest.skip("python3-libvirt is not installed: nothing to compare with")
    assert r.returncode == 0, r.stderr
    out: list[list[Any]] = json.loads(r.stdout)
    return out


def test_agent_steps_answer_as_libvirts_test_driver(fresh_default: virtcore.Connection) -> None:
    theirs = _libvirt_outcomes()
    ours = json.loads(json.dumps(_virtcore_scenario(fresh_default)))
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    for (label, mine), (_, libvirts) in zip(ours, theirs, strict=True):
        assert mine == libvirts, label


def test_agent_arguments_are_checked_before_any_driver(fresh_default: virtcore.Connection) -> None:
    a = fresh_default.lookup_domain("test").agent
    bad: list[Callable[[], object]] = [
        lambda: a.command("not json"),
        lambda: a.command('{"no": "execute"}'),
        lambda: a.command('{"execute": "guest-ping"}', timeout=0),
        lambda: a.exec([]),
        lambda: a.exec("uname -a"),  # type: ignore[arg-type]
        lambda: a.file_read("relative/path"),
        lambda: a.set_user_password("bad:user", "x"),
        lambda: a.fs_freeze("/"),  # type: ignore[arg-type]
        lambda: a.guest_info(1 << 12),
        lambda: a.set_time(),
        lambda: a.set_time(5, nseconds=1_000_000_000),
    ]
    for f in bad:
        with pytest.raises(virtcore.errors.InvalidArgError):
            f()


def test_read_only_connection_refuses_the_agent() -> None:
    with virtcore.open_read_only("test:///default") as ro:
        d = ro.lookup_domain("test")
        with pytest.raises(virtcore.errors.OperationDeniedError):
            d.agent.fs_freeze()
        with pytest.raises(virtcore.errors.OperationDeniedError):
            d.interface_addresses("agent")
