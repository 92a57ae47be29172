"""``virtcore serve`` answers node device, host interface and secret procedures, driven by Debian's virsh.

Each test starts its own ``virtcore serve`` of ``test:///default`` on unix sockets
of its own (tests/serve_support.py). Where libvirt's own test driver answers the
same question (``virsh -c test:///default``, in-process), its answer is the reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import VIRSH, Served, virsh

pytestmark = pytest.mark.skipif(VIRSH is None, reason="Debian's virsh (libvirt-clients) is not installed")

TEST = "test:///default"
UUID = "0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f"
SECRET_XML = f"""<secret ephemeral='no' private='no'>
  <uuid>{UUID}</uuid>
  <usage type='volume'><volume>/var/lib/virtcore/guest.img</volume></usage>
</secret>
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path, [TEST])
    yield server
    server.stop()


def _ok(uri: str, *args: str) -> str:
    r = virsh(uri, *args)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def test_nodedev_list_gives_the_test_nodes_devices(served: Served) -> None:
    uri = served.uri(TEST)
    assert _ok(uri, "nodedev-list").split() == ["computer", "scsi_host1", "scsi_host11", "scsi_host2"]
    assert _ok(uri, "nodedev-list", "--cap", "scsi_host").split() == [
        "scsi_host1",
        "scsi_host11",
        "scsi_host2",
    ]
    assert _ok(uri, "nodedev-list", "--cap", "pci").split() == []
    tree = _ok(uri, "nodedev-list", "--tree")
    assert tree.index("computer") < tree.index("scsi_host1") < tree.index("scsi_host11")


@pytest.mark.parametrize("name", ["computer", "scsi_host1", "scsi_host11"])
def test_nodedev_dumpxml_is_libvirts_test_drivers(served: Served, name: str) -> None:
    ours = _ok(served.uri(TEST), "nodedev-dumpxml", name)
    theirs = _ok(TEST, "nodedev-dumpxml", name)
    assert ours.rstrip("\n") == theirs.rstrip("\n")


def test_nodedev_dumpxml_ends_as_libvirts(served: Served) -> None:
    assert _ok(served.uri(TEST), "nodedev-dumpxml", "computer") == _ok(TEST, "nodedev-dumpxml", "computer")


def test_an_unknown_node_device_is_libvirts_error(served: Served) -> None:
    r = virsh(served.uri(TEST), "nodedev-dumpxml", "no-such-device")
    assert r.returncode != 0
    assert "no-such-device" in r.stderr
    assert "Node device not found" in r.stderr


def test_a_secret_lives_through_virsh(served: Served, tmp_path: Path) -> None:
    uri = served.uri(TEST)
    xml, value = tmp_path / "secret.xml", tmp_path / "value"
    xml.write_text(SECRET_XML)
    value.write_bytes(b"hunter2")
    assert _ok(uri, "secret-list").split() == []
    _ok(uri, "secret-define", str(xml))
    assert _ok(uri, "secret-list").split() == [UUID, "volume", "/var/lib/virtcore/guest.img"]
    assert f"<uuid>{UUID}</uuid>" in _ok(uri, "secret-dumpxml", UUID)
    _ok(uri, "secret-set-value", UUID, "--file", str(value), "--plain")
    assert _ok(uri, "secret-get-value", UUID, "--plain") == "hunter2"
    _ok(uri, "secret-undefine", UUID)
    assert _ok(uri, "secret-list").split() == []
    r = virsh(uri, "secret-dumpxml", UUID)
    assert r.returncode != 0
    assert "Secret not found" in r.stderr


def test_a_read_only_client_may_not_read_a_secrets_value(served: Served, tmp_path: Path) -> None:
    xml = tmp_path / "secret.xml"
    xml.write_text(SECRET_XML)
    _ok(served.uri(TEST), "secret-define", str(xml))
    _ok(served.uri(TEST), "secret-set-value", UUID, "--base64", "aHVudGVyMg==")
    ro = served.uri(TEST, read_only=True)
    assert UUID in _ok(ro, "secret-list")
    r = virsh(ro, "secret-get-value", UUID)
    assert r.returncode != 0
    assert "read only access prevents" in r.stderr


IFACE_XML = """<interface type='ethernet' name='vc-eth9'>
  <start mode='none'/>
  <mac address='52:54:00:12:34:56'/>
</interface>
"""


def test_iface_list_and_dumpxml_are_libvirts_test_drivers(served: Served) -> None:
    uri = served.uri(TEST)
    assert _ok(uri, "iface-list", "--all") == _ok(TEST, "iface-list", "--all")
    assert _ok(uri, "iface-list", "--inactive") == _ok(TEST, "iface-list", "--inactive")
    assert _ok(uri, "iface-dumpxml", "eth1") == _ok(TEST, "iface-dumpxml", "eth1")
    assert _ok(uri, "iface-name", "AA:BB:CC:DD:EE:FF").strip() == "eth1"
    assert _ok(uri, "iface-mac", "eth1").strip() == "aa:bb:cc:dd:ee:ff"


def test_an_interface_lives_through_virsh(served: Served, tmp_path: Path) -> None:
    uri = served.uri(TEST)
    xml = tmp_path / "iface.xml"
    xml.write_text(IFACE_XML)
    _ok(uri, "iface-define", str(xml))
    assert _ok(uri, "iface-list", "--inactive").split()[-3:] == ["vc-eth9", "inactive", "52:54:00:12:34:56"]
    assert "name='vc-eth9'" in _ok(uri, "iface-dumpxml", "vc-eth9")
    _ok(uri, "iface-start", "vc-eth9")
    assert "vc-eth9" in _ok(uri, "iface-list").split()
    r = virsh(uri, "iface-start", "vc-eth9")
    assert r.returncode != 0
    assert "Requested operation is not valid: interface 'vc-eth9' is active" in r.stderr
    # virsh 9.0's iface-destroy exits 1 after a destroy that worked (as against test:///default
    # in-process): no error, and the state tells.
    assert virsh(uri, "iface-destroy", "vc-eth9").stderr == ""
    assert _ok(uri, "iface-list", "--inactive").split()[-3:] == ["vc-eth9", "inactive", "52:54:00:12:34:56"]
    _ok(uri, "iface-undefine", "vc-eth9")
    r = virsh(uri, "iface-dumpxml", "vc-eth9")
    assert r.returncode != 0
    assert "Interface not found" in r.stderr and "vc-eth9" in r.stderr


def test_a_read_only_client_lists_interfaces_but_may_not_define_one(served: Served, tmp_path: Path) -> None:
    xml = tmp_path / "iface.xml"
    xml.write_text(IFACE_XML)
    ro = served.uri(TEST, read_only=True)
    assert "eth1" in _ok(ro, "iface-list", "--all")
    r = virsh(ro, "iface-define", str(xml))
    assert r.returncode != 0
    assert "read only access prevents" in r.stderr
