"""The libvirt_qemu module: every function of libvirt's QEMU API, the agent command through virtcore."""

from __future__ import annotations

import libvirt
import libvirt_qemu
import pytest


def test_every_function_of_libvirt_pythons_libvirt_qemu_is_there(side_by_side) -> None:
    code = (
        "import json, libvirt_qemu\n"
        "print(json.dumps(sorted(n for n in dir(libvirt_qemu) if n.startswith('qemu'))))\n"
    )
    theirs, ours = side_by_side.run(code)
    assert "qemuAgentCommand" in theirs and ours == theirs


def test_the_monitor_passthrough_is_no_support_naming_it(virt_uri: str) -> None:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        dom = libvirt.open(virt_uri).lookupByName("test")
        with pytest.raises(libvirt.libvirtError) as caught:
            libvirt_qemu.qemuMonitorCommand(dom, '{"execute": "query-status"}', 0)
        assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
        assert "virDomainQemuMonitorCommand" in str(caught.value)
        with pytest.raises(libvirt.libvirtError) as caught:
            libvirt_qemu.qemuAgentCommand(dom, '{"execute": "guest-ping"}', 0, 0)
        assert caught.value.get_error_code() == libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED
        with pytest.raises(libvirt.libvirtError) as caught:
            libvirt_qemu.qemuAgentCommand(dom, '{"execute": "guest-ping"}', -1, 1)
        assert caught.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    finally:
        libvirt.registerErrorHandler(None, None)
