"""The ``virtcore`` network commands (``net-*``), in-process against ``test:///default``.

Where virsh (Debian's libvirt-clients) is installed, each command's output is
compared with virsh's own on libvirt's test driver, command sequences
included (``virsh "a; b"`` runs them in one process, as these tests run ours
on one ``test:///default``). Error output differs by design: virsh prints
two ``error:`` lines, virtcore one.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from cli_support import Run, virsh

from virtcore.cli_network import UPDATE_SECTIONS, lease_row
from virtcore.network import IPAddrType, NetworkDHCPLease, NetworkSection

pytestmark = pytest.mark.usefixtures("fresh_default")

DEFAULT_UUID = "dd8fe884-6c02-601e-7551-cca97df1c5df"


H1 = "\"<host mac='52:54:00:00:00:01' ip='192.168.122.10'/>\""
H1B = "\"<host mac='52:54:00:00:00:01' ip='192.168.122.11'/>\""
H2 = "\"<host mac='52:54:00:00:00:02' ip='192.168.122.12'/>\""

#: Command sequences whose output virtcore prints exactly as virsh does.
SAME_AS_VIRSH = [
    ["net-list"],
    ["net-list --all"],
    ["net-list --inactive"],
    ["net-list --name"],
    ["net-list --uuid"],
    ["net-info default"],
    [f"net-info {DEFAULT_UUID}"],
    ["net-uuid default"],
    [f"net-name {DEFAULT_UUID}"],
    ["net-dumpxml default"],
    ["net-destroy default", "net-list --all", "net-info default", "net-start default", "net-list"],
    [
        f"net-update default add ip-dhcp-host {H1}",
        f"net-update default modify ip-dhcp-host {H1B} --live",
        f"net-update default delete ip-dhcp-host {H1B} --current",
        "net-destroy default",
        f"net-update default add-first ip-dhcp-host {H2}",
    ],
    ["net-autostart default", "net-list", "net-info default", "net-autostart --disable default", "net-list"],
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


def test_net_define_create_messages_name_the_file(run: Run, tmp_path: Path) -> None:
    lab = tmp_path / "lab.xml"
    lab.write_text(
        "<network><name>lab</name><bridge name='vcbr1'/><ip address='10.1.0.1' prefix='24'/></network>"
    )
    assert run("net-define", str(lab))[:2] == (0, f"Network lab defined from {lab}\n\n")
    assert run("net-start", "lab")[:2] == (0, "Network lab started\n\n")
    assert run("net-info", "lab")[1].splitlines()[-2] == "Bridge:         vcbr1"
    assert run("net-destroy", "lab")[0] == 0 and run("net-undefine", "lab")[0] == 0
    assert run("net-create", str(lab))[:2] == (0, f"Network lab created from {lab}\n\n")
    assert run("net-list", "--all", "--name")[1] == "default\nlab\n\n"
    missing = tmp_path / "nope.xml"
    status, out, err = run("net-define", str(missing))
    assert status == 1 and out == ""
    assert err == f"error: failed to read: network XML file '{missing}': No such file or directory\n"
    status, _, err = run("net-create", str(missing))
    assert status == 1 and f"'{missing}'" in err


def test_state_errors_are_one_line_naming_the_network(run: Run) -> None:
    assert run("net-start", "default") == (
        1,
        "",
        "error: Requested operation is not valid: Network 'default' is already running\n",
    )
    assert run("net-destroy", "default")[:2] == (0, "Network default destroyed\n\n")
    assert run("net-destroy", "default")[2] == (
        "error: Requested operation is not valid: network 'default' is not active\n"
    )
    assert run("net-undefine", "default")[:2] == (0, "Network default has been undefined\n\n")
    status, _, err = run("net-info", "default")
    assert status == 1
    assert err == "error: Network not found: no network with matching name 'default'\n"


def test_net_undefine_of_an_active_network_leaves_it_running_transient(run: Run) -> None:
    assert run("net-undefine", "default")[:2] == (0, "Network default has been undefined\n\n")
    _, out, _ = run("net-list", "--all")
    assert out.splitlines()[2].split() == ["default", "active", "no", "no"]
    _, _, err = run("net-autostart", "default")
    assert err == "error: Requested operation is not valid: cannot set autostart for transient network\n"


def test_read_only_refuses_changes(run: Run) -> None:
    status, _, err = run("net-destroy", "default", read_only=True)
    assert status == 1 and err.startswith("error: operation forbidden")
    assert run("net-list", read_only=True)[1].splitlines()[2].split() == ["default", "active", "no", "yes"]


def test_net_dhcp_leases_prints_virshs_table(run: Run) -> None:
    # libvirt's test driver has no leases (virsh: not supported); the mock answers an empty table
    status, out, _ = run("net-dhcp-leases", "default")
    assert status == 0
    header = "Expiry Time   MAC address   Protocol   IP address   Hostname   Client ID or DUID"
    assert out.splitlines()[0].split() == header.split()
    assert out.splitlines()[2:] == [""]
    status, _, err = run("net-dhcp-leases", "default", "--mac", "zz")
    assert status == 1 and err == "error: invalid argument: malformed MAC address 'zz'\n"


def test_a_lease_row_is_virshs() -> None:
    lease = NetworkDHCPLease(
        "virbr0", 0, IPAddrType.IPV4, "52:54:00:00:00:01", None, "192.168.122.10", 24, None, None
    )
    row = lease_row(lease)
    assert row[1:] == ["52:54:00:00:00:01", "ipv4", "192.168.122.10/24", "-", "-"]
    assert len(row[0]) == len("1970-01-01 00:00:00")
    six = lease._replace(type=IPAddrType.IPV6, mac=None, iaid="1", ipaddr="fd00::5", prefix=64, hostname="g")
    assert lease_row(six)[1:] == ["-", "ipv6", "fd00::5/64", "g", "-"]


def test_net_update_refuses_unknown_words_before_the_driver(run: Run) -> None:
    status, _, err = run("net-update", "default", "append", "ip-dhcp-host", "<host/>")
    assert status == 1 and "unknown net-update command 'append'" in err
    status, _, err = run("net-update", "default", "add", "dhcp", "<host/>")
    assert status == 1 and "unknown net-update section 'dhcp'" in err
    status, _, err = run("net-update", "default", "add", "ip-dhcp-host", "<host/>", "--current", "--live")
    assert status == 1 and "--current cannot be combined" in err
    assert UPDATE_SECTIONS["ip-dhcp-host"] == NetworkSection.IP_DHCP_HOST
    assert UPDATE_SECTIONS["dns-srv"] == NetworkSection.DNS_SRV


def test_net_list_takes_one_of_name_and_uuid_as_virsh_does(run: Run) -> None:
    status, out, err = run("net-list", "--uuid", "--name")
    assert (status, out) == (1, "")
    assert (
        err
        == "error: invalid argument: Only one argument from --table, --name and --uuid may be specified.\n"
    )


def test_net_dumpxml_inactive_prints_the_persistent_definition(run: Run) -> None:
    # libvirt's test driver refuses the flag; the contract gives the persistent definition
    status, out, _ = run("net-dumpxml", "--inactive", "default")
    assert status == 0 and out == run("net-dumpxml", "default")[1]
    assert "<bridge name='virbr0' stp='on' delay='0'/>" in out


def test_net_update_reads_the_element_from_a_file_and_shows_in_dumpxml(run: Run, tmp_path: Path) -> None:
    element = tmp_path / "host.xml"
    element.write_text("<host mac='52:54:00:00:00:09' name='web' ip='192.168.122.50'/>")
    assert run("net-update", "default", "add", "ip-dhcp-host", str(element), "--config")[:2] == (
        0,
        "Updated network default persistent config\n",
    )
    assert "192.168.122.50" not in run("net-dumpxml", "default")[1]  # the running network is unchanged
    assert 'name="web"' in run("net-dumpxml", "--inactive", "default")[1]
    status, _, err = run("net-update", "default", "add", "ip-dhcp-host", str(element), "--config")
    assert status == 1 and "there is an existing dhcp host entry in network 'default'" in err
    status, _, err = run("net-update", "default", "add", "dns-host", "<host ip='192.168.122.5'/>")
    assert status == 1 and err.startswith("error: argument unsupported: can't update 'dns-host' section")
