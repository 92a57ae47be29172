"""A libvirt connection lives as long as something holds it, as libvirt-python's does."""

from __future__ import annotations

import gc

import libvirt


def test_a_dropped_connection_closes_and_the_default_state_starts_afresh() -> None:
    # libvirt-python's own tests do this: open in setUp, `self.conn = None` in tearDown, and
    # expect libvirt's defaults in the next test.
    conn = libvirt.open("test:///default")
    conn.lookupByName("test").destroy()
    conn = None
    gc.collect()
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
