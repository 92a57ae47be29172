"""A libvirt connection lives as long as something holds it, as libvirt-python's does."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import libvirt
import pytest
from virt_test import reset_default_node


@pytest.fixture(autouse=True)
def fresh_default() -> Iterator[None]:
    """A test:///default no connection of another test holds (a leaked one would keep its state)."""
    reset_default_node()
    yield
    reset_default_node()


def test_a_dropped_connection_closes_and_the_default_state_starts_afresh() -> None:
    # libvirt-python's own tests do this: open in setUp, `self.conn = None` in tearDown, and
    # expect libvirt's defaults in the next test.
    conn = libvirt.open("test:///default")
    core = conn._conn
    conn.lookupByName("test").destroy()
    conn = None
    gc.collect()
    assert core.closed
    again = libvirt.open("test:///default")
    assert again.lookupByName("test").isActive() == 1
    again.close()


def test_a_domain_handle_keeps_its_connection_open() -> None:
    conn = libvirt.open("test:///default")
    dom = conn.lookupByName("test")
    conn = None
    gc.collect()
    dom.suspend()  # its connection is still open: libvirt's handles hold a reference to it
    assert dom.info()[0] == libvirt.VIR_DOMAIN_PAUSED
    other = libvirt.open("test:///default")
    assert other.lookupByName("test").info()[0] == libvirt.VIR_DOMAIN_PAUSED  # the same state
    dom.resume()
    other.close()


def test_a_failed_call_leaves_no_handle_holding_the_connection() -> None:
    # libvirt-python's libvirtError is freed with the `except` block that caught it; ours must not
    # sit in a reference cycle with the frames of its traceback until the collector runs, or
    # close() would report the dropped handle as still holding the connection.
    gc.disable()
    try:
        ro = libvirt.openReadOnly("test:///default")
        with pytest.raises(libvirt.libvirtError) as caught:
            ro.lookupByName("test").destroy()
        assert caught.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
        del caught
        assert ro.close() == 0
    finally:
        gc.enable()
