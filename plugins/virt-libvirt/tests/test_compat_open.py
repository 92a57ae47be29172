"""Opening a connection through the ``libvirt`` module, and the error a bad URI gives."""

from __future__ import annotations

import libvirt
import pytest


def test_open_gives_a_virconnect_on_the_uri() -> None:
    conn = libvirt.open("test:///default")
    assert type(conn) is libvirt.virConnect
    assert conn.getURI() == "test:///default"
    assert conn.close() == 0


def test_a_uri_no_driver_serves_is_no_connect() -> None:
    with pytest.raises(libvirt.libvirtError) as caught:
        libvirt.open("nosuch:///x")
    assert caught.value.get_error_code() == 5  # VIR_ERR_NO_CONNECT
    assert "nosuch:///x" in caught.value.get_error_message()
