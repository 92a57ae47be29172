"""The ``virtcore`` host device, host interface and secret commands, in-process against ``test:///default``.

Where virsh (Debian's libvirt-clients) is installed, each command's output is
compared with virsh's own on libvirt's test driver, command sequences included.
(virsh 9.0's ``nodedev-list`` fails on the test driver, and libvirt's test driver
has no secrets: those commands are checked on their own.)
"""

from __future__ import annotations

import base64
import shlex
from pathlib import Path

import pytest
from cli_support import Run, virsh

pytestmark = pytest.mark.usefixtures("fresh_default")

SAME_AS_VIRSH = [
    ["iface-list"],
    ["iface-list --all"],
    ["iface-list --inactive"],
    ["iface-dumpxml eth1"],
    ["iface-dumpxml aa:bb:cc:dd:ee:ff"],
    ["iface-mac eth1", "iface-name aa:bb:cc:dd:ee:ff"],
    ["iface-destroy eth1", "iface-list --all", "iface-start eth1", "iface-list"],
    ["nodedev-dumpxml computer"],
    ["nodedev-dumpxml scsi_host1"],
    ["nodedev-dumpxml scsi_host11"],
]


@pytest.mark.parametrize("commands", SAME_AS_VIRSH, ids=["; ".join(c) for c in SAME_AS_VIRSH])
def test_output_is_virshs(run: Run, commands: list[str]) -> None:
    expected = virsh(*commands)
    ours = ""
    for line in commands:
        status, out, err = run(*shlex.split(line))
        assert (status, err) == (0, ""), line
        ours += out
    assert ours == expected


def test_iface_define_start_destroy_undefine_is_virshs(run: Run, tmp_path: Path) -> None:
    xml = tmp_path / "eth9.xml"
    xml.write_text("<interface type='ethernet' name='eth9'><mac address='aa:bb:cc:00:00:09'/></interface>")
    commands = [
        f"iface-define {xml}",
        "iface-list --all",
        "iface-start eth9",
        "iface-destroy eth9",
        "iface-undefine eth9",
    ]
    expected = virsh(*commands)
    assert "".join(run(*shlex.split(c))[1] for c in commands) == expected
    status, _, err = run("iface-dumpxml", "eth9")
    assert status == 1 and "no interface with matching name 'eth9'" in err


def test_nodedev_list_create_destroy(run: Run, tmp_path: Path) -> None:
    assert run("nodedev-list") == (0, "computer\nscsi_host1\nscsi_host11\nscsi_host2\n\n", "")
    assert run("nodedev-list", "--cap", "vports,system")[1] == "computer\nscsi_host1\nscsi_host2\n\n"
    assert run("nodedev-list", "--cap", "pci")[1] == "\n"
    vhba = tmp_path / "vhba.xml"
    vhba.write_text(
        "<device><parent>scsi_host2</parent><capability type='scsi_host'><capability type='fc_host'>"
        "<wwnn>2000000012340001</wwnn><wwpn>1000000012340001</wwpn></capability></capability></device>"
    )
    assert run("nodedev-create", str(vhba))[:2] == (0, f"Node device scsi_host12 created from {vhba}\n\n")
    assert "<wwnn>2000000012340001</wwnn>" in run("nodedev-dumpxml", "scsi_host12")[1]
    assert run("nodedev-destroy", "scsi_host12")[:2] == (0, "Destroyed node device 'scsi_host12'\n\n")
    status, _, err = run("nodedev-dumpxml", "scsi_host12")
    assert status == 1 and "Node device not found: no node device with matching name 'scsi_host12'" in err


def test_secret_commands_round_trip_a_value(run: Run, tmp_path: Path) -> None:
    uuid = "11111111-2222-3333-4444-000000000001"
    xml = tmp_path / "s.xml"
    xml.write_text(
        f"<secret ephemeral='no' private='no'><uuid>{uuid}</uuid>"
        "<usage type='volume'><volume>/a.img</volume></usage></secret>"
    )
    assert run("secret-define", str(xml))[:2] == (0, f"Secret {uuid} created\n\n")
    assert run("secret-list")[1].splitlines()[2].split() == [uuid, "volume", "/a.img"]
    value = b"\x00s3cret\xff"
    assert run("secret-set-value", uuid, base64.b64encode(value).decode())[:2] == (0, "Secret value set\n\n")
    assert run("secret-get-value", uuid)[1] == base64.b64encode(value).decode() + "\n\n"
    raw = tmp_path / "value"
    raw.write_bytes(b"plain text pw")
    assert run("secret-set-value", uuid, "--file", str(raw), "--plain")[0] == 0
    assert run("secret-get-value", uuid, "--plain")[1] == "plain text pw\n"
    assert "<volume>/a.img</volume>" in run("secret-dumpxml", uuid)[1]
    status, _, err = run("secret-set-value", uuid, "not base64!")
    assert status == 1 and "not base64" in err
    status, _, err = run("secret-get-value", uuid, read_only=True)
    assert status == 1 and "read only" in err
    assert run("secret-undefine", uuid)[:2] == (0, f"Secret {uuid} deleted\n\n")
    status, _, err = run("secret-get-value", uuid)
    assert status == 1 and f"no secret with matching uuid '{uuid}'" in err


def _on_a_terminal(argv: list[str], answers: list[str], timeout: float = 60.0) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its controlling terminal; type each answer after a prompt."""
    import os
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, on the terminal
        os.execv(argv[0], argv)
    seen, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal: it is done
                    break
                if not chunk:
                    break
                seen += chunk
                if pending and seen.rstrip().endswith(b":"):
                    os.write(fd, pending.pop(0).encode() + b"\n")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_a_node_files_login_is_asked_on_the_terminal_as_virsh_asks(tmp_path: Path) -> None:
    import shutil
    import sys

    node = tmp_path / "auth-node.xml"
    node.write_text("<node><auth><user password='s3cret'>admin</user></auth></node>")
    exe = shutil.which("virtcore", path=str(Path(sys.executable).parent))
    assert exe is not None
    status, text = _on_a_terminal([exe, "-c", f"test://{node}", "list", "--all"], ["admin", "s3cret"])
    assert status == 0, text
    assert "Enter username for localhost:" in text and "Enter admin's password for localhost:" in text
    assert "s3cret" not in text  # the password is not echoed
    assert " Id   Name   State" in text
    status, text = _on_a_terminal([exe, "-c", f"test://{node}", "list"], ["admin", "wrong"])
    assert status == 1 and "authentication failed, see test XML for the correct username/password" in text


def test_without_a_terminal_the_login_is_missing(run: Run, tmp_path: Path) -> None:
    node = tmp_path / "auth-node.xml"
    node.write_text("<node><auth><user password='s3cret'>admin</user></auth></node>")
    status, _, err = run("list", uri=f"test://{node}")
    assert status == 1 and "Missing authentication credentials" in err
