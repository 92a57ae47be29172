"""The typed-parameter procedures on the wire, spoken raw to ``virtcore serve`` and to libvirtd.

What no polite client sends (libvirt's API always says it takes strings and
sends each parameter with the type it was given) is sent here as is, to both
daemons on a domain of the same XML: asking how many there are (``nparams``
0, a disk of NULL allowed), fewer than there are, more than the protocol
allows, an older client without ``VIR_TYPED_PARAM_STRING_OKAY`` (the string
parameters left out), a parameter of the wrong type or twice; then, the
domain running with an I/O thread, that thread's polling (and another's, and
0's). Both must answer alike, errors with the same code and words.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_support import Served
from virt_remote.daemons import Libvirtd

import virtcore
from virtcore.errors import VirtError
from virtcore.rpc.typedparams import STRING, UINT, ULLONG

GUEST = """<domain type='test'>
  <name>typed-wire</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/guest/typed.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:01'/><source network='default'/></interface>
  </devices>
</domain>
"""
#: VIR_TYPED_PARAM_STRING_OKAY, VIR_DOMAIN_AFFECT_CONFIG.
STRING_OKAY, CONFIG = 4, 2


def _param(field: str, kind: int, value: object) -> dict[str, Any]:
    return {"field": field, "value": (kind, value)}


def _calls(dom: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    blkio = {"dom": dom, "flags": STRING_OKAY}
    tune = {"dom": dom, "disk": "vda", "flags": STRING_OKAY}
    return {
        "blkio count": ("DOMAIN_GET_BLKIO_PARAMETERS", {**blkio, "nparams": 0}),
        "blkio all": ("DOMAIN_GET_BLKIO_PARAMETERS", {**blkio, "nparams": 6}),
        "blkio first two": ("DOMAIN_GET_BLKIO_PARAMETERS", {**blkio, "nparams": 2}),
        "blkio without strings": ("DOMAIN_GET_BLKIO_PARAMETERS", {**blkio, "nparams": 6, "flags": 0}),
        "blkio too many": ("DOMAIN_GET_BLKIO_PARAMETERS", {**blkio, "nparams": 17}),
        "blkio weight as ullong": (
            "DOMAIN_SET_BLKIO_PARAMETERS",
            {"dom": dom, "params": [_param("weight", ULLONG, 10)], "flags": CONFIG},
        ),
        "blkio weight twice": (
            "DOMAIN_SET_BLKIO_PARAMETERS",
            {"dom": dom, "params": [_param("weight", UINT, 10), _param("weight", UINT, 20)], "flags": 0},
        ),
        "numa count": ("DOMAIN_GET_NUMA_PARAMETERS", {"dom": dom, "nparams": 0, "flags": STRING_OKAY}),
        "numa without strings": ("DOMAIN_GET_NUMA_PARAMETERS", {"dom": dom, "nparams": 2, "flags": 0}),
        "iotune count of no disk": ("DOMAIN_GET_BLOCK_IO_TUNE", {**tune, "disk": None, "nparams": 0}),
        "iotune of no disk": ("DOMAIN_GET_BLOCK_IO_TUNE", {**tune, "disk": None, "nparams": 20}),
        "iotune all": ("DOMAIN_GET_BLOCK_IO_TUNE", {**tune, "nparams": 20}),
        "iotune group as uint": (
            "DOMAIN_SET_BLOCK_IO_TUNE",
            {"dom": dom, "disk": "vda", "params": [_param("group_name", UINT, 1)], "flags": 0},
        ),
        "iotune nothing": ("DOMAIN_SET_BLOCK_IO_TUNE", {"dom": dom, "disk": "vda", "params": [], "flags": 0}),
        "iftune count": (
            "DOMAIN_GET_INTERFACE_PARAMETERS",
            {"dom": dom, "device": "52:54:00:aa:bb:01", "nparams": 0, "flags": STRING_OKAY},
        ),
        "iftune first three": (
            "DOMAIN_GET_INTERFACE_PARAMETERS",
            {"dom": dom, "device": "52:54:00:aa:bb:01", "nparams": 3, "flags": STRING_OKAY},
        ),
        "iftune average as string": (
            "DOMAIN_SET_INTERFACE_PARAMETERS",
            {
                "dom": dom,
                "device": "52:54:00:aa:bb:01",
                "params": [_param("inbound.average", STRING, "1")],
                "flags": CONFIG,
            },
        ),
        "blkio nothing": ("DOMAIN_SET_BLKIO_PARAMETERS", {"dom": dom, "params": [], "flags": 0}),
        "numa nothing": ("DOMAIN_SET_NUMA_PARAMETERS", {"dom": dom, "params": [], "flags": 0}),
        "iftune nothing": (
            "DOMAIN_SET_INTERFACE_PARAMETERS",
            {"dom": dom, "device": "52:54:00:aa:bb:01", "params": [], "flags": 0},
        ),
        "iothread polling of none": (
            "DOMAIN_SET_IOTHREAD_PARAMS",
            {"dom": dom, "iothread_id": 1, "params": [], "flags": 1},
        ),
    }


def _running_calls(dom: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    def polling(iothread_id: int, *params: dict[str, Any], flags: int = 1) -> tuple[str, dict[str, Any]]:
        args = {"dom": dom, "iothread_id": iothread_id, "params": list(params), "flags": flags}
        return ("DOMAIN_SET_IOTHREAD_PARAMS", args)

    return {
        "iothread polling": polling(1, _param("poll_max_ns", ULLONG, 1000), _param("poll_grow", UINT, 2)),
        "iothread polling of another": polling(9, _param("poll_grow", UINT, 2)),
        "iothread polling of 0": polling(0, _param("poll_grow", UINT, 2)),
        "iothread grow as ullong": polling(1, _param("poll_grow", ULLONG, 2)),
        "iothread polling in config": polling(1, _param("poll_grow", UINT, 2), flags=2),
    }


def _answer(plugin: Any, procedure: str, args: dict[str, Any]) -> Any:
    try:
        reply = plugin._call(procedure, args)
    except VirtError as e:
        return ["error", int(e.code), str(e)]
    return None if reply is None else {k: reply[k] for k in ("params", "nparams")}


def _answers(uri: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(GUEST)
        try:
            (plugin,) = [p for p in conn._pm.get_plugins() if type(p).__name__ == "RemoteDriver"]
            calls = _calls(plugin._dom(dom.uuid))
            for name, (procedure, args) in calls.items():
                out[name] = _answer(plugin, procedure, args)
            dom.start()
            dom.add_iothread(1, live=True)
            for name, (procedure, args) in _running_calls(plugin._dom(dom.uuid)).items():
                out[name] = _answer(plugin, procedure, args)
        finally:
            if dom.is_active():
                dom.destroy()
            dom.undefine()
    return out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path, ["test:///default"], read_only_socket=False)
    yield server
    log = server.stop()
    assert "Traceback" not in log, log


def test_typed_parameters_on_the_wire_answer_as_libvirtd(served: Served, libvirtd: Libvirtd) -> None:
    theirs = _answers(libvirtd.uri())
    ours = _answers(served.uri("test:///default"))
    # libvirt's driver names its own function in a flags error (testDomainSetIOThreadParams) and
    # words it without "invalid argument: "; the server names the API's, with it (check_flags)
    flagged = "iothread polling in config"
    theirs_flags, ours_flags = theirs.pop(flagged), ours.pop(flagged)
    assert ours_flags[:2] == theirs_flags[:2] == ["error", 8]
    assert "unsupported flags (0x2) in function" in ours_flags[2] and "(0x2)" in theirs_flags[2]
    assert ours == theirs
    assert ours["blkio count"] == {"params": [], "nparams": 6}
    assert [p["field"] for p in ours["blkio first two"]["params"]] == ["weight", "device_weight"]
    assert [p["field"] for p in ours["blkio without strings"]["params"]] == ["weight"]
    assert ours["iotune count of no disk"] == {"params": [], "nparams": 20}
    assert (
        "invalid type 'ullong' for parameter 'weight', expected 'uint'" in ours["blkio weight as ullong"][2]
    )
