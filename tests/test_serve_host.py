"""``virtcore serve`` answers node device and secret procedures, driven by Debian's virsh.

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
