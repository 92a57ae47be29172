"""The last error kept per connection (virConnGetLastError), beyond what python_idioms compares.

libvirt copies the error of every failing call on a connection, or on an object got from
it, into that connection (``virDispatchError(conn)``); python_idioms.py compares the common
cases with python3-libvirt. Here: the objects further away from the connection, the calls
virtcore does not support, and that nothing else is touched on the way.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import libvirt
import pytest

SNAPSHOT = "<domainsnapshot><name>s1</name></domainsnapshot>"


@pytest.fixture
def conn() -> Any:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open("test:///default")
    yield c
    c.close()
    libvirt.registerErrorHandler(None, None)


def _code(c: Any) -> list[int]:
    return list(c.virConnGetLastError()[:2])


def test_an_error_of_an_object_got_from_the_connection_is_the_connections(conn: Any) -> None:
    dom = conn.lookupByName("test")
    snap = dom.snapshotCreateXML(SNAPSHOT, 0)
    with pytest.raises(libvirt.libvirtError):
        snap.delete(1 << 20)  # a snapshot's: two objects away from the connection
    assert _code(conn) == [libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_FROM_TEST]
    with pytest.raises(libvirt.libvirtError):
        dom.migrate(None, 0)  # a call virtcore does not support
    assert _code(conn) == [libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_FROM_DOMAIN]
    conn.virConnResetLastError()
    assert conn.virConnGetLastError() == (0, 0, None, 0, None, None, None, 0, 0)


def test_a_failure_outside_the_connection_leaves_it_alone(conn: Any) -> None:
    with pytest.raises(libvirt.libvirtError):
        libvirt.open("test:///no/such/node.xml")  # no connection: the thread's last error only
    assert libvirt.virGetLastError()[0] == libvirt.VIR_ERR_XML_ERROR
    assert _code(conn) == [0, 0]


def test_looking_for_the_connection_touches_no_callers_frame(conn: Any) -> None:
    class Caller:
        def call(self) -> dict[str, Any]:
            seen = locals()  # the frame's snapshot of its variables: ours to keep
            try:
                conn.lookupByName("no-such-domain")
            except libvirt.libvirtError:
                pass
            return seen

    assert "self" in Caller().call()
    assert _code(conn) == [libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_FROM_TEST]


def test_a_failed_call_keeps_nothing_alive() -> None:
    c = libvirt.open("test:///default")
    dom = c.lookupByName("test")
    with pytest.raises(libvirt.libvirtError):
        dom.create()  # already running
    gone = weakref.ref(dom)
    del dom
    assert c.close() == 0  # no handle holds it: the failure left no reference behind
    gc.collect()
    assert gone() is None
