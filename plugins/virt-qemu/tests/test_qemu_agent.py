"""The guest agent with real QEMU guests (TCG) running Debian's qemu-guest-agent.

The test guest's initramfs is built with the agent (``build_initramfs(agent=True)``)
and the guest XML gets the ``org.qemu.guest_agent.0`` channel
(``guest_domain_xml(agent=True)``). The guest's file systems are all RAM-backed
(its one virtio disk is not mounted), so ``fs_freeze`` finds nothing to freeze:
it answers 0, and thawing answers 0 as well. Its busybox has no utmp, so it
reports no users.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from virt_qemu import argv as argvmod
from virt_qemu import testguest

import virtcore
from virtcore.errors import (
    AgentCommandFailedError,
    AgentCommandTimeoutError,
    AgentUnresponsiveError,
    ArgumentUnsupportedError,
    ConfigUnsupportedError,
    ErrorNumber,
    OperationInvalidError,
    VirtError,
)
from virtcore.network import InterfaceAddress, IPAddrType
from virtcore.xml import parse_domain

pytestmark = pytest.mark.timeout(300)

GUEST_IP = "10.0.2.15"
GUEST_MAC = "52:54:00:ab:cd:ef"
NIC = f"<interface type='user'><mac address='{GUEST_MAC}'/><model type='virtio'/></interface>"
DISK = (
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{path}'/>"
    "<target dev='vda' bus='virtio'/><serial>vc-agent-disk</serial></disk>"
)


@pytest.fixture(scope="module")
def agent_initrd(guest_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test initramfs with qemu-ga, its libraries and the virtio console module."""
    return testguest.build_initramfs(
        guest_files[0], cache_dir=tmp_path_factory.mktemp("agent-initramfs"), agent=True
    )


def _boot(conn: virtcore.Connection, xml: str, log: Path) -> virtcore.Domain:
    dom = conn.define_domain(xml)
    dom.start()
    testguest.wait_marker(log, timeout=180)
    return dom


def _wait_agent(dom: virtcore.Domain) -> None:
    def up() -> bool:
        try:
            dom.agent.ping(timeout=5)
        except AgentUnresponsiveError:
            return False
        return True

    testguest.wait_for(up, 120, "the guest agent to answer")


@pytest.fixture(scope="module")
def agent_guest(
    guest_files: tuple[Path, Path], agent_initrd: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[virtcore.Domain]:
    """One running guest with the agent, shared by the tests that leave the agent working (they
    come last in this module, so that no other guest of it runs meanwhile)."""
    tmp = tmp_path_factory.mktemp("agent-guest")
    (tmp / "root").mkdir()
    log = tmp / "serial.log"
    disk = tmp / "disk.raw"
    disk.write_bytes(b"\0" * (1 << 20))
    xml = testguest.guest_domain_xml(
        "agentguest", guest_files[0], agent_initrd, serial_log=log, mode="idle",
        agent=True, guest_ip=f"{GUEST_IP}/24", extra_devices=NIC + DISK.format(path=disk),
    )  # fmt: skip
    conn = virtcore.open(f"qemu:///embed?root={tmp / 'root'}")
    try:
        dom = _boot(conn, xml, log)
        _wait_agent(dom)
        yield dom
    finally:
        for d in conn.list_domains(active=True):
            d.destroy()
        conn.close()


# -- the channel, without a guest ------------------------------------------------------


def _argv(xml: str) -> list[str]:
    spec = argvmod.LaunchSpec(pidfile="/run/vc/dom/pid")
    return argvmod.build_argv(parse_domain(xml), emulator="qemu-system-x86_64", machine="pc", spec=spec)


def test_agent_channel_is_a_virtserialport_on_a_socket_in_the_runtime_dir() -> None:
    xml = testguest.guest_domain_xml("g", "/k", "/i", agent=True)
    argv = _argv(xml)
    assert "socket,id=charchannel0,path=/run/vc/dom/org.qemu.guest_agent.0,server=on,wait=off" in argv
    ports = [json.loads(a) for a in argv if a.startswith("{") and "virtserialport" in a]
    assert ports == [
        {"driver": "virtserialport", "bus": "virtio-serial0.0", "chardev": "charchannel0",
         "id": "channel0", "name": "org.qemu.guest_agent.0"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ("<channel type='unix'><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>",
         "target type='guestfwd'"),
        ("<channel type='unix'><target type='virtio' name='../escape'/></channel>", "plain file name"),
        ("<channel type='unix'><target type='virtio'/></channel>", "plain file name"),
    ],
)  # fmt: skip
def test_channels_qemu_cannot_serve_are_refused_by_name(channel: str, message: str) -> None:
    xml = testguest.guest_domain_xml("g", "/k", "/i", extra_devices=channel)
    with pytest.raises(ConfigUnsupportedError, match=re.escape(message)):
        _argv(xml)


def test_agent_of_a_shut_off_domain_is_operation_invalid(
    conn: virtcore.Connection, guest_xml: Callable[..., str]
) -> None:
    dom = conn.define_domain(guest_xml("off", agent=True))
    with pytest.raises(OperationInvalidError, match="'off' is not running"):
        dom.agent.ping()
    with pytest.raises(OperationInvalidError):
        dom.agent.fs_freeze()
    with pytest.raises(OperationInvalidError):
        dom.interface_addresses("agent")


# -- without an agent, and with a hung one -----------------------------------------------


def test_absent_agent_is_unresponsive(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    # the channel is there, but the (ordinary) test initramfs runs no agent
    log = tmp_path / "absent.log"
    dom = _boot(conn, guest_xml("absent", agent=True, serial_log=log, mode="idle"), log)
    with pytest.raises(AgentUnresponsiveError) as exc:
        dom.agent.ping(timeout=3)
    assert exc.value.code == ErrorNumber.AGENT_UNRESPONSIVE == 86
    assert "not connected in domain 'absent'" in str(exc.value)  # the guest never opened its port
    ch = parse_domain(dom.xml_desc()).channels[0]
    assert ch.target_state == "disconnected"
    with pytest.raises(AgentUnresponsiveError):
        dom.interface_addresses("agent")
    assert dom.state()[0] == virtcore.DomainState.RUNNING


def test_domain_without_agent_channel(
    conn: virtcore.Connection, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    log = tmp_path / "plain.log"
    dom = _boot(conn, guest_xml("plain", serial_log=log, mode="idle"), log)
    with pytest.raises(AgentUnresponsiveError, match="not configured for domain 'plain'"):
        dom.agent.ping()
    dom.suspend()
    with pytest.raises(OperationInvalidError, match="paused"):
        dom.agent.ping()


def test_hung_agent_times_out_and_never_blocks_the_domain(
    conn: virtcore.Connection, guest_files: tuple[Path, Path], agent_initrd: Path, tmp_path: Path
) -> None:
    log = tmp_path / "hung.log"
    xml = testguest.guest_domain_xml(
        "hung", guest_files[0], agent_initrd, serial_log=log, mode="idle", agent=True
    )
    dom = _boot(conn, xml, log)
    _wait_agent(dom)
    outcome: list[VirtError] = []
    started = threading.Event()

    def hung_call() -> None:
        # The program stops the agent that runs it: guest-exec or one of the guest-exec-status
        # polls that follow never gets an answer, whatever the interleaving. A background
        # job wakes the agent up again 40 s later (well after this call gave up).
        started.set()
        script = "(sleep 40; kill -CONT $PPID) </dev/null >/dev/null 2>&1 & kill -STOP $PPID"
        try:
            dom.agent.exec(["sh", "-c", script], timeout=20)
        except VirtError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=hung_call)
    worker.start()
    started.wait()
    try:
        # while the agent call waits, the domain answers and obeys
        assert dom.state()[0] == virtcore.DomainState.RUNNING
        dom.suspend()
        assert dom.state()[0] == virtcore.DomainState.PAUSED
        dom.resume()
        assert dom.state()[0] == virtcore.DomainState.RUNNING
        assert worker.is_alive()  # the agent call is still waiting
    finally:
        worker.join()
    assert len(outcome) == 1 and isinstance(outcome[0], AgentCommandTimeoutError)
    assert outcome[0].code == ErrorNumber.AGENT_COMMAND_TIMEOUT == 112
    # the next call resynchronises first, and the silent agent makes that fail cleanly
    with pytest.raises(AgentUnresponsiveError, match="did not resynchronise"):
        dom.agent.ping(timeout=2)
    # Once the agent runs again, it answers the stale commands queued meanwhile (the exec
    # status, the failed resyncs): the next resynchronisation skips them, and we are back.
    _wait_agent(dom)
    assert dom.agent.exec(["echo", "back"]) == (0, b"back\n", b"")
    assert json.loads(dom.agent.command('{"execute": "guest-get-host-name"}'))["return"] == {
        "host-name": "vcguest"
    }


# -- a guest with the agent --------------------------------------------------------------


def test_live_xml_names_the_socket_and_says_the_agent_is_connected(agent_guest: virtcore.Domain) -> None:
    ch = next(
        c for c in parse_domain(agent_guest.xml_desc()).channels if c.target_name == testguest.AGENT_PORT
    )
    assert ch.type == "unix" and ch.source_mode == "bind"
    assert ch.source_path is not None and Path(ch.source_path).is_socket()
    assert ch.target_state == "connected"
    # another process sees the state too (status.xml follows the VSERPORT_CHANGE events)
    code = (
        "import virtcore, sys\n"
        "with virtcore.open_read_only(sys.argv[1]) as c:\n"
        "    print(c.lookup_domain(sys.argv[2]).xml_desc())\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, agent_guest.connection.uri, agent_guest.name],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert parse_domain(other.stdout).channels[0].target_state == "connected"
    # the persistent definition keeps what the user wrote
    persistent = parse_domain(agent_guest.xml_desc(inactive=True)).channels[0]
    assert persistent.source_path is None and persistent.target_state is None


def test_ping_exec_and_files(agent_guest: virtcore.Domain) -> None:
    a = agent_guest.agent
    a.ping()
    code, out, err = a.exec(["uname", "-a"])
    assert code == 0 and err == b""
    assert out.startswith(b"Linux vcguest ") and b"x86_64" in out
    code, out, err = a.exec(["sh", "-c", "cat; echo oops >&2; exit 3"], input=b"from the host\n")
    assert (code, out, err) == (3, b"from the host\n", b"oops\n")
    assert a.file_read("/etc/os-release").startswith(b'NAME="virtcore test guest"')
    payload = bytes(range(256)) * 300
    a.file_write("/tmp/from-host.bin", payload)
    assert a.file_read("/tmp/from-host.bin") == payload
    assert a.exec(["md5sum", "/tmp/from-host.bin"])[1].split()[0].decode() == hashlib.md5(payload).hexdigest()
    with pytest.raises(AgentCommandFailedError, match="guest-file-open"):
        a.file_read("/no/such/file")


def test_generic_command_and_its_errors(agent_guest: virtcore.Domain) -> None:
    reply = json.loads(agent_guest.agent.command('{"execute": "guest-info"}', timeout=10))
    names = {c["name"] for c in reply["return"]["supported_commands"]}
    assert {"guest-exec", "guest-set-user-password", "guest-network-get-interfaces"} <= names
    with pytest.raises(AgentCommandFailedError) as exc:
        agent_guest.agent.command('{"execute": "guest-no-such-command"}')
    assert exc.value.code == ErrorNumber.AGENT_COMMAND_FAILED
    agent_guest.agent.ping()  # the channel is still in step


def test_guest_info_has_libvirts_keys(agent_guest: virtcore.Domain) -> None:
    info = agent_guest.agent.guest_info()
    assert info["os.id"] == "virtcore-testguest"
    assert info["os.pretty-name"] == "virtcore test guest 1"
    assert info["os.machine"] == "x86_64"
    assert info["hostname"] == "vcguest"
    assert info["timezone.name"] == "UTC" and info["timezone.offset"] == 0
    names = {info[f"if.{i}.name"] for i in range(int(info["if.count"]))}
    assert names == {"lo", "eth0"}
    disks = {info[f"disk.{i}.name"]: i for i in range(int(info["disk.count"]))}
    assert "/dev/vda" in disks
    vda = disks["/dev/vda"]
    assert info[f"disk.{vda}.partition"] is False and info[f"disk.{vda}.dependency.count"] == 0
    only_os = agent_guest.agent.guest_info(virtcore.agent.GuestInfoTypes.OS)
    assert only_os and all(k.startswith("os.") for k in only_os)


def test_interface_addresses_from_the_agent(agent_guest: virtcore.Domain) -> None:
    found = {i.name: i for i in agent_guest.interface_addresses("agent")}
    assert set(found) == {"lo", "eth0"}
    assert found["eth0"].hwaddr == GUEST_MAC
    assert InterfaceAddress(IPAddrType.IPV4, GUEST_IP, 24) in found["eth0"].addrs
    assert InterfaceAddress(IPAddrType.IPV4, "127.0.0.1", 8) in found["lo"].addrs


def test_freeze_and_thaw_of_a_guest_without_mounted_disks(agent_guest: virtcore.Domain) -> None:
    # RAM-backed file systems only: nothing to freeze, the agent says so and stays thawed
    status = '{"execute": "guest-fsfreeze-status"}'
    assert agent_guest.agent.fs_freeze() == 0
    assert json.loads(agent_guest.agent.command(status))["return"] == "thawed"
    assert agent_guest.agent.fs_thaw() == 0
    with pytest.raises(ArgumentUnsupportedError, match="mountpoints"):  # qemu-ga thaws all it froze
        agent_guest.agent.fs_thaw(["/tmp"])
    assert agent_guest.agent.fs_freeze(["/tmp"]) == 0  # a mount point of no real file system
    assert json.loads(agent_guest.agent.command(status))["return"] == "thawed"


def test_quiesced_disk_only_snapshot_freezes_through_the_agent_and_thaws(
    agent_guest: virtcore.Domain,
) -> None:
    image = Path(str(parse_domain(agent_guest.xml_desc()).disks[0].source))
    snap = agent_guest.create_snapshot(
        "<domainsnapshot><name>quiet</name></domainsnapshot>", disk_only=True, quiesce=True
    )
    overlay = image.with_suffix(".quiet")
    assert overlay.exists() and parse_domain(agent_guest.xml_desc()).disks[0].source == str(overlay)
    status = '{"execute": "guest-fsfreeze-status"}'
    assert json.loads(agent_guest.agent.command(status))["return"] == "thawed"  # thawed after the switch
    snap.delete()  # merged back: the guest runs on its raw image again
    assert not overlay.exists() and parse_domain(agent_guest.xml_desc()).disks[0].source == str(image)
    agent_guest.agent.ping()


def test_set_user_password_reaches_etc_shadow(agent_guest: virtcore.Domain) -> None:
    a = agent_guest.agent
    secret = "s3cret with spaces; $(not run)"
    a.set_user_password("vcuser", secret)
    shadow = a.file_read("/etc/shadow").decode()
    entry = next(line for line in shadow.splitlines() if line.startswith("vcuser:"))
    hashed = entry.split(":")[1]
    assert hashed.startswith("$6$") and secret not in shadow
    # the hash is of that password: the guest's own crypt agrees
    salt = hashed.split("$")[2]
    code, out, _ = a.exec(["mkpasswd", "-m", "sha512", "-S", salt], input=secret.encode() + b"\n")
    assert code == 0 and out.decode().strip() == hashed
    a.set_user_password("vcuser", "$6$abc$precomputed", crypted=True)
    assert "vcuser:$6$abc$precomputed:" in a.file_read("/etc/shadow").decode()
    with pytest.raises(AgentCommandFailedError):
        a.set_user_password("nosuchuser", "x")
    assert "root:*:" in a.file_read("/etc/shadow").decode()  # the others are untouched


def test_one_process_at_a_time_holds_a_guests_agent(agent_guest: virtcore.Domain) -> None:
    agent_guest.agent.ping()  # this process holds the agent connection now
    code = (
        "import sys, virtcore\n"
        "from virtcore.errors import VirtError\n"
        "with virtcore.open(sys.argv[1]) as c:\n"
        "    try:\n"
        "        c.lookup_domain(sys.argv[2]).agent.ping(timeout=5)\n"
        "    except VirtError as e:\n"
        "        print(int(e.code), e)\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, agent_guest.connection.uri, agent_guest.name],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert other.stdout.startswith("86 ")
    assert "in use by another process" in other.stdout
    agent_guest.agent.ping()  # and ours still works


def test_cli_guestinfo_and_agent_command_print_as_virsh(
    agent_guest: virtcore.Domain, capsys: pytest.CaptureFixture[str]
) -> None:
    from virtcore.cli import main

    uri, name = agent_guest.connection.uri, agent_guest.name
    capsys.readouterr()
    assert main(["-c", uri, "guestinfo", name, "--os", "--hostname"]) == 0
    out = capsys.readouterr().out
    assert "os.id               : virtcore-testguest\n" in out
    assert "hostname            : vcguest\n" in out and "timezone" not in out
    assert main(["-c", uri, "qemu-agent-command", name, '{"execute":"guest-ping"}']) == 0
    assert capsys.readouterr().out == '{"return":{}}\n'
    cmd = '{"execute": "guest-get-host-name"}'
    assert main(["-c", uri, "qemu-agent-command", name, cmd, "--pretty", "--timeout", "10"]) == 0
    assert capsys.readouterr().out == '{\n  "return": {\n    "host-name": "vcguest"\n  }\n}\n'
    assert main(["-c", uri, "domfsfreeze", name]) == 0
    assert capsys.readouterr().out == "Froze 0 filesystem(s)\n\n"
    assert main(["-c", uri, "domfsthaw", name]) == 0
    assert capsys.readouterr().out == "Thawed 0 filesystem(s)\n\n"
