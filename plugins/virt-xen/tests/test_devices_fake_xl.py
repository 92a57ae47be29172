"""Attaching and detaching devices against the fake ``xl`` of test_driver_fake_xl: the xl
command lines for a running domain, the persistent definition of an inactive one, errors.
Real hot-plug through Xen's backends is exercised in dom0/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_driver_fake_xl import xml

import virtcore
from virtcore.errors import ConfigUnsupportedError, OperationFailedError, XMLError
from virtcore.xml import parse_domain

DISK = (
    "<disk type='file' device='disk'><driver name='phy'/><source file='/img/data.raw'/>"
    "<target dev='xvdb'/></disk>"
)
NIC = (
    "<interface type='ethernet'><mac address='00:16:3e:12:34:56'/>"
    "<script path='/etc/xen/scripts/vif-x'/></interface>"
)


def xl_calls(fake: Path) -> list[list[str]]:
    p = fake.parent / "state.json.devices"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def test_attach_to_a_running_domain_runs_xl_and_updates_the_live_definition(
    conn: virtcore.Connection, fake: Path
) -> None:
    dom = conn.define_domain(xml("d1"))
    dom.start()
    dom.attach_device(DISK)
    dom.attach_device(NIC)
    calls = xl_calls(fake)
    assert calls[0][:2] == ["block-attach", "1"]
    assert (
        "vdev=xvdb" in calls[0][2]
        and "target=/img/data.raw" in calls[0][2]
        and "backendtype=phy" in calls[0][2]
    )
    assert calls[1][:2] == ["network-attach", "1"]
    assert "mac=00:16:3e:12:34:56" in calls[1] and "script=/etc/xen/scripts/vif-x" in calls[1]
    live = parse_domain(dom.xml_desc())
    assert [d.target_dev for d in live.disks] == ["xvdb"] and [i.mac for i in live.interfaces] == [
        "00:16:3e:12:34:56"
    ]
    assert parse_domain(dom.xml_desc(inactive=True)).disks == ()  # live only, as libvirt's attachDevice
    with pytest.raises(OperationFailedError, match="xvdb"):
        dom.attach_device(DISK)
    dom.detach_device("<disk type='file'><target dev='xvdb'/></disk>")
    dom.detach_device("<interface type='ethernet'><mac address='00:16:3e:12:34:56'/></interface>")
    assert xl_calls(fake)[2:] == [["block-detach", "1", "xvdb"], ["network-detach", "1", "00:16:3e:12:34:56"]]
    live = parse_domain(dom.xml_desc())
    assert live.disks == () and live.interfaces == ()
    with pytest.raises(OperationFailedError, match="device not found"):
        dom.detach_device("<disk type='file'><target dev='xvdb'/></disk>")


def test_attach_to_an_inactive_domain_changes_the_definition(conn: virtcore.Connection, fake: Path) -> None:
    dom = conn.define_domain(xml("d2"))
    dom.attach_device(DISK)
    dom.attach_device("<interface type='bridge'><source bridge='xenbr0'/></interface>")
    d = parse_domain(dom.xml_desc())
    assert [x.target_dev for x in d.disks] == ["xvdb"]
    (mac,) = [i.mac for i in d.interfaces]
    assert mac is not None and mac.startswith("00:16:3e:")  # a MAC is chosen, as xl would
    assert xl_calls(fake) == []
    dom.start()
    cfg = (fake.parent / "state.json.lastcfg").read_text()
    assert "vdev=xvdb" in cfg and f"mac={mac}" in cfg and "bridge=xenbr0" in cfg
    dom.destroy()
    dom.detach_device(f"<interface type='bridge'><mac address='{mac}'/><source bridge='xenbr0'/></interface>")
    assert parse_domain(dom.xml_desc()).interfaces == ()


def test_attach_errors_are_virterrors(conn: virtcore.Connection) -> None:
    dom = conn.define_domain(xml("d3"))
    with pytest.raises(XMLError):
        dom.attach_device("<disk")
    with pytest.raises(ConfigUnsupportedError, match="sound"):
        dom.attach_device("<sound model='ich6'/>")
    with pytest.raises(OperationFailedError, match="device not found"):
        dom.detach_device("<disk type='file'><target dev='xvdz'/></disk>")
