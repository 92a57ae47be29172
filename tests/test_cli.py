"""The ``virtcore`` command line, run in-process (``main(argv)``) and as a real process.

Most tests use ``test:///default``, whose state is shared by the whole
process: the ``fresh_default`` fixture resets it before and after each test
that changes it. Node-file URIs give every connection (so every ``main()``
call) a private copy of the file's node.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import DEFAULT, Run
from libvirt_testdata import require
from lxml import etree

import virtcore
from virtcore import cli
from virtcore.cli import parse_size

pytestmark = pytest.mark.usefixtures("fresh_default")

ROOT = Path(__file__).resolve().parents[1]
TEST_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"


def domain_xml(name: str, memory_kib: int = 131072, vcpus: int = 1) -> str:
    return (
        f"<domain type='test'><name>{name}</name>"
        f"<memory unit='KiB'>{memory_kib}</memory><vcpu>{vcpus}</vcpu>"
        "<os><type>hvm</type></os></domain>"
    )


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def assert_one_line_error(status: int, out: str, err: str, expected: str) -> None:
    assert status == 1
    assert out == ""
    assert err == f"error: {expected}\n"


# ---------------------------------------------------------------------------
# list
# ---------------------------------------------------------------------------


def test_list_prints_virsh_table(run: Run, fresh_default: None) -> None:
    status, out, err = run("list")
    assert (status, err) == (0, "")
    assert out == " Id   Name   State\n----------------------\n 1    test   running\n\n"


def test_list_all_shows_inactive_with_dash_id_after_active_sorted_by_name(
    run: Run, fresh_default: None, tmp_path: Path
) -> None:
    for name in ("zeta", "alpha"):
        assert run("define", write(tmp_path, f"{name}.xml", domain_xml(name)))[0] == 0
    status, out, _ = run("list", "--all")
    assert status == 0
    assert out.splitlines() == [
        " Id   Name    State",
        "------------------------",
        " 1    test    running",
        " -    alpha   shut off",
        " -    zeta    shut off",
        "",
    ]
    assert run("list")[1].splitlines()[2:] == [" 1    test   running", ""]
    assert run("list", "--inactive")[1].splitlines()[2:] == [
        " -    alpha   shut off",
        " -    zeta    shut off",
        "",
    ]
    assert run("list", "--all", "--name")[1] == "test\nalpha\nzeta\n"


def test_list_orders_active_domains_by_id(run: Run, fresh_default: None, tmp_path: Path) -> None:
    assert run("create", write(tmp_path, "b.xml", domain_xml("b")))[0] == 0  # id 2
    assert run("create", write(tmp_path, "a.xml", domain_xml("a")))[0] == 0  # id 3
    assert run("suspend", "a")[0] == 0
    lines = run("list")[1].splitlines()
    assert lines[2:] == [" 1    test   running", " 2    b      running", " 3    a      paused", ""]


@pytest.fixture
def testnode_uri() -> str:
    """``test://`` on libvirt's own examples/xml/test/testnode.xml."""
    return "test://" + str(require("testdriver", "testnode.xml"))


def test_list_on_node_file(run: Run, testnode_uri: str) -> None:
    status, out, _ = run("list", "--all", uri=testnode_uri)
    assert status == 0
    names = [line.split()[1] for line in out.splitlines()[2:] if line.strip()]
    assert sorted(names) == ["fc4", "fc5", "fv0"]
    assert all(line.endswith("running") for line in out.splitlines()[2:] if line.strip())


# ---------------------------------------------------------------------------
# Inspecting domains
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["test", "1", TEST_UUID, TEST_UUID.upper(), TEST_UUID.replace("-", "")])
def test_domain_argument_accepts_name_id_and_uuid(run: Run, ref: str) -> None:
    status, out, err = run("domname", ref)
    assert (status, out, err) == (0, "test\n\n", "")


def test_numeric_name_still_resolves_by_name(run: Run, fresh_default: None, tmp_path: Path) -> None:
    assert run("define", write(tmp_path, "n.xml", domain_xml("42")))[0] == 0
    assert run("domuuid", "42")[0] == 0
    assert run("domid", "42")[1] == "-\n\n"


def test_unknown_domain_is_one_line_error(run: Run) -> None:
    assert_one_line_error(*run("dominfo", "nosuch"), "Domain not found: nosuch")
    assert_one_line_error(*run("domstate", "99"), "Domain not found: 99")
    assert_one_line_error(
        *run("start", "00000000-0000-0000-0000-000000000000"),
        "Domain not found: 00000000-0000-0000-0000-000000000000",
    )


def test_dominfo(run: Run, fresh_default: None) -> None:
    status, out, _ = run("dominfo", "test")
    assert status == 0
    fields = dict(line.split(":", 1) for line in out.splitlines() if line)
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["Id"] == "1"
    assert fields["Name"] == "test"
    assert fields["UUID"] == TEST_UUID
    assert fields["OS Type"] == "hvm"
    assert fields["State"] == "running"
    assert fields["CPU(s)"] == "2"
    assert fields["Max memory"] == "8388608 KiB"
    assert fields["Used memory"] == "2097152 KiB"
    assert fields["Persistent"] == "yes"
    assert fields["Autostart"] == "disable"
    assert out.startswith("Id:             1\nName:           test\n")


class _BadXmlDriver:
    """Finds one running domain whose XML is not well formed."""

    @virtcore.hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> virtcore.DomainRef:
        return virtcore.DomainRef(name, TEST_UUID, 3)

    @virtcore.hookimpl
    def virt_domain_lookup_by_uuid(self, uuid: str) -> virtcore.DomainRef:
        return virtcore.DomainRef("broken", uuid, 3)

    @virtcore.hookimpl
    def virt_domain_get_info(self, uuid: str) -> virtcore.DomainInfo:
        return virtcore.DomainInfo(virtcore.DomainState.RUNNING, 1024, 1024, 1, 0)

    @virtcore.hookimpl
    def virt_domain_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        return "<domain><name>broken</name>"


def test_dominfo_reports_malformed_driver_xml_naming_the_domain(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from virtcore import drivers

    monkeypatch.setitem(drivers._loaded, "badxml", lambda uri, ro: [_BadXmlDriver()])
    status, out, err = run("dominfo", "broken", uri="badxml:///")
    assert out == ""
    assert status == 1
    assert err.startswith("error: XML error: driver returned malformed XML for domain 'broken': ")


def test_dominfo_of_inactive_domain(run: Run, fresh_default: None, tmp_path: Path) -> None:
    run("define", write(tmp_path, "d.xml", domain_xml("idle", memory_kib=262144, vcpus=3)))
    out = run("dominfo", "idle")[1]
    assert "Id:             -\n" in out
    assert "State:          shut off\n" in out
    assert "CPU(s):         3\n" in out
    assert "Max memory:     262144 KiB\n" in out
    assert "CPU time" not in out


def test_domstate_and_reasons_follow_the_lifecycle(run: Run, fresh_default: None) -> None:
    assert run("domstate", "test") == (0, "running\n\n", "")
    assert run("domstate", "--reason", "test")[1] == "running (unknown)\n\n"  # virsh says so too
    assert run("suspend", "test") == (0, "Domain 'test' suspended\n\n", "")
    assert run("domstate", "--reason", "test")[1] == "paused (user)\n\n"
    assert run("resume", "test") == (0, "Domain 'test' resumed\n\n", "")
    assert run("domstate", "--reason", "test")[1] == "running (unpaused)\n\n"
    assert run("destroy", "1") == (0, "Domain 'test' destroyed\n\n", "")
    assert run("domstate", "--reason", "test")[1] == "shut off (destroyed)\n\n"
    assert run("start", "test") == (0, "Domain 'test' started\n\n", "")
    assert run("domid", "test")[1] == "2\n\n"  # a fresh id, as libvirt allocates
    assert run("reboot", "test") == (0, "Domain 'test' is being rebooted\n\n", "")
    assert run("domstate", "test")[1] == "running\n\n"
    assert run("shutdown", TEST_UUID) == (0, "Domain 'test' is being shutdown\n\n", "")
    assert run("domstate", "--reason", "test")[1] == "shut off (shutdown)\n\n"


def test_reset_and_inject_nmi_answer_as_virsh(run: Run, fresh_default: None) -> None:
    assert run("reset", "test") == (0, "Domain 'test' was reset\n\n", "")
    assert run("inject-nmi", "test") == (0, "\n", "")
    assert run("domstate", "--reason", "test")[1] == "running (unknown)\n\n"
    run("destroy", "test")
    for cmd in ("reset", "inject-nmi"):
        status, out, err = run(cmd, "test")
        assert (status, out) == (1, "")
        assert err.startswith("error: Requested operation is not valid: ") and "test" in err


def test_save_image_dumpxml_prints_the_saved_domain(run: Run, fresh_default: None, tmp_path: Path) -> None:
    image = tmp_path / "test.save"
    assert run("save", "test", str(image))[0] == 0
    status, out, err = run("save-image-dumpxml", str(image))
    assert (status, err) == (0, "")
    assert out.startswith("<domain ") and "<name>test</name>" in out and out.endswith("</domain>\n")
    status, out, err = run("save-image-dumpxml", str(tmp_path / "missing.save"))
    assert (status, out) == (1, "") and "missing.save" in err


def test_dommemstat_period_sets_the_balloon_stats_period(run: Run, fresh_default: None) -> None:
    assert run("dommemstat", "test", "--period", "5", "--live") == (0, "\n", "")
    assert '<stats period="5"/>' in run("dumpxml", "test")[1]
    assert run("dommemstat", "test", "--period", "0") == (0, "\n", "")
    assert "<stats " not in run("dumpxml", "test")[1]
    status, out, err = run("dommemstat", "test", "--period", "-1")
    assert (status, out) == (1, "") and err.startswith("error: invalid argument: ")
    status, _, err = run("dommemstat", "test", "--period", "5", "--live", "--config")
    assert status == 1 and "mutually exclusive" in err
    status, out, _ = run("dommemstat", "test")
    assert status == 0 and out.startswith("actual ")


def test_invalid_transition_is_one_line_error(run: Run, fresh_default: None) -> None:
    status, out, err = run("resume", "test")
    assert (status, out) == (1, "")
    assert err == "error: internal error: domain 'test' not paused\n"  # libvirt 9.0 test driver's words
    run("destroy", "test")
    status, _, err = run("suspend", "test")
    assert (status, err) == (1, "error: internal error: domain 'test' not running\n")
    status, _, err = run("reboot", "test")
    assert (status, err) == (1, "error: Requested operation is not valid: domain 'test' is not running\n")


def test_dumpxml_live_and_inactive(run: Run) -> None:
    status, out, _ = run("dumpxml", "test")
    assert status == 0
    root = etree.fromstring(out.encode())
    assert root.tag == "domain"
    assert root.findtext("name") == "test"
    assert root.findtext("uuid") == TEST_UUID
    assert root.get("id") == "1"
    inactive = etree.fromstring(run("dumpxml", "--inactive", "test")[1].encode())
    assert inactive.get("id") is None
    assert inactive.findtext("name") == "test"


# ---------------------------------------------------------------------------
# Defining, creating, saving
# ---------------------------------------------------------------------------


def test_define_start_undefine(run: Run, fresh_default: None, tmp_path: Path) -> None:
    path = write(tmp_path, "web.xml", domain_xml("web"))
    assert run("define", path) == (0, f"Domain 'web' defined from {path}\n\n", "")
    assert run("domstate", "web")[1] == "shut off\n\n"
    assert run("start", "web")[0] == 0
    assert run("domid", "web")[1] == "2\n\n"
    assert run("undefine", "web") == (0, "Domain 'web' has been undefined\n\n", "")
    # Still running, now transient; it disappears when it stops.
    assert run("domstate", "web")[1] == "running\n\n"
    assert "Persistent:     no\n" in run("dominfo", "web")[1]
    run("destroy", "web")
    assert_one_line_error(*run("domstate", "web"), "Domain not found: web")


def test_define_from_stdin(run: Run, fresh_default: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(domain_xml("piped")))
    assert run("define", "-")[1] == "Domain 'piped' defined from -\n\n"
    assert run("domstate", "piped")[1] == "shut off\n\n"


def test_create_makes_a_transient_running_domain(run: Run, fresh_default: None, tmp_path: Path) -> None:
    path = write(tmp_path, "t.xml", domain_xml("temp"))
    assert run("create", path) == (0, f"Domain 'temp' created from {path}\n\n", "")
    assert run("domstate", "--reason", "temp")[1] == "running (booted)\n\n"
    assert "Persistent:     no\n" in run("dominfo", "temp")[1]
    run("destroy", "temp")
    assert run("list", "--all", "--name")[1] == "test\n"


def test_define_errors_name_the_file(run: Run, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.xml")
    assert_one_line_error(
        *run("define", missing), f"failed to read: domain XML file '{missing}': No such file or directory"
    )
    status, out, err = run("define", str(tmp_path))  # a directory
    assert status == 1 and err.startswith(f"error: failed to read: domain XML file '{tmp_path}'")
    status, out, err = run("define", write(tmp_path, "bad.xml", "<domain><name>x</name>"))
    assert (status, out) == (1, "")
    assert err.startswith("error: XML error: ") and err.count("\n") == 1
    latin = tmp_path / "latin.xml"
    latin.write_bytes(b"<domain><name>\xe9</name></domain>")
    assert_one_line_error(
        *run("create", str(latin)), f"XML error: domain XML file '{latin}' is not valid UTF-8"
    )


def test_define_of_an_endless_file_reads_no_more_than_the_limit(tmp_path: Path) -> None:
    """/dev/zero never ends: the CLI must stop at the XML size limit, not read until memory runs out
    (the process is capped at 1 GiB of address space, so reading everything would fail)."""
    from virtcore.xml import MAX_XML_BYTES

    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTCORE_")}
    cap = "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)); "
    cap += "sys.argv = ['virtcore', *sys.argv[1:]]; runpy.run_module('virtcore', run_name='__main__')"
    for cmd in ("define", "create", "attach-device test"):
        p = subprocess.run(
            [sys.executable, "-c", cap, "-c", DEFAULT, *cmd.split(), "/dev/zero"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        kind = "device" if cmd.startswith("attach") else "domain"
        message = f"{kind} XML file '/dev/zero' is larger than the limit of {MAX_XML_BYTES} bytes"
        assert (p.returncode, p.stdout, p.stderr) == (1, "", f"error: XML error: {message}\n")


def test_define_of_a_too_big_file_names_it(run: Run, tmp_path: Path) -> None:
    from virtcore.xml import MAX_XML_BYTES

    head = "<domain type='test'><name>big</name><memory>1024</memory><description>"
    tail = "</description><os><type>hvm</type></os></domain>"
    big = tmp_path / "big.xml"
    big.write_text(head + "x" * (MAX_XML_BYTES + 1 - len(head) - len(tail)) + tail)
    assert big.stat().st_size == MAX_XML_BYTES + 1
    assert_one_line_error(
        *run("define", str(big)),
        f"XML error: domain XML file '{big}' is larger than the limit of {MAX_XML_BYTES} bytes",
    )
    assert run("list", "--all", "--name")[1] == "test\n"


def test_define_from_too_big_stdin_is_refused(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    from virtcore.xml import MAX_XML_BYTES

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b" " * (MAX_XML_BYTES + 1))))
    assert_one_line_error(
        *run("define", "-"),
        f"XML error: domain XML file on standard input is larger than the limit of {MAX_XML_BYTES} bytes",
    )


def test_hostile_xml_is_refused(run: Run, tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<domain type='test'><name>&b;</name><memory>1024</memory></domain>"
    )
    status, out, err = run("define", write(tmp_path, "bomb.xml", bomb))
    assert (status, out) == (1, "")
    assert err.startswith("error: XML error: ")
    assert run("list", "--all", "--name")[1] == "test\n"


def test_save_and_restore(run: Run, fresh_default: None, tmp_path: Path) -> None:
    image = str(tmp_path / "test.save")
    assert run("save", "test", image) == (0, f"Domain 'test' saved to {image}\n\n", "")
    assert os.path.getsize(image) > 0
    assert run("domstate", "--reason", "test")[1] == "shut off (saved)\n\n"
    assert run("restore", image) == (0, f"Domain restored from {image}\n\n", "")
    assert run("domstate", "--reason", "test")[1] == "running (restored)\n\n"


def test_save_and_restore_take_running_and_paused(run: Run, fresh_default: None, tmp_path: Path) -> None:
    image = str(tmp_path / "test.save")
    status, out, err = run("save", "test", image, "--running", "--paused")
    assert (status, out) == (1, "")
    assert err == "error: invalid argument: running and paused are mutually exclusive\n"
    # the test driver, as libvirt's, saves and restores only in the state the guest was in
    status, out, err = run("save", "test", image, "--paused")
    assert (status, out) == (1, "") and "saving a domain into a chosen state" in err
    assert run("save", "test", image)[0] == 0
    status, out, err = run("restore", image, "--running")
    assert (status, out) == (1, "") and "restoring a domain into a chosen state" in err
    assert run("domstate", "test")[1] == "shut off\n\n"


def test_restore_errors(run: Run, tmp_path: Path) -> None:
    status, out, err = run("restore", str(tmp_path / "nothing.save"))
    assert (status, out) == (1, "") and err.startswith("error: ") and err.count("\n") == 1
    status, out, err = run("restore", write(tmp_path, "junk.save", "not a save image"))
    assert (status, out) == (1, "") and err.startswith("error: ") and err.count("\n") == 1


# ---------------------------------------------------------------------------
# Resources and devices
# ---------------------------------------------------------------------------


def test_setmem_with_units(run: Run, fresh_default: None) -> None:
    assert run("setmem", "test", "1G") == (0, "", "")
    assert "Used memory:    1048576 KiB\n" in run("dominfo", "test")[1]
    assert run("setmem", "test", "524288") == (0, "", "")
    assert "Used memory:    524288 KiB\n" in run("dominfo", "test")[1]
    status, _, err = run("setmem", "test", "9G")
    assert status == 1 and err.startswith("error: invalid argument: ") and "max memory" in err
    assert_one_line_error(
        *run("setmem", "test", "lots"),
        "invalid argument: invalid size 'lots': expected a number of KiB or a number with a unit (512M, 2G)",
    )


def test_memtune_shows_and_changes_the_limits(run: Run, fresh_default: None) -> None:
    shown = "hard_limit     : unlimited\nsoft_limit     : unlimited\nswap_hard_limit: unlimited\n"
    assert run("memtune", "test") == (0, shown, "")
    assert run("memtune", "test", "--hard-limit", "1G", "--soft-limit", "512M") == (0, "", "")
    shown = "hard_limit     : 1048576\nsoft_limit     : 524288\nswap_hard_limit: unlimited\n"
    assert run("memtune", "test") == (0, shown, "")
    status, _, err = run("memtune", "test", "--swap-hard-limit", "1M")
    assert status == 1 and "swap_hard_limit" in err and err.count("\n") == 1
    assert run("memtune", "test")[1] == shown


def test_setmaxmem(run: Run, fresh_default: None, tmp_path: Path) -> None:
    run("define", write(tmp_path, "m.xml", domain_xml("m", memory_kib=131072)))
    assert run("setmaxmem", "m", "256M")[0] == 0
    assert "Max memory:     262144 KiB\n" in run("dominfo", "m")[1]


@pytest.mark.parametrize(
    ("text", "kib"),
    [("1", 1), ("2048", 2048), ("1k", 1), ("1KiB", 1), ("512M", 524288), ("2G", 2097152), ("1GiB", 1048576),
     ("1T", 1073741824), ("1000KB", 977), ("1b", 1), ("1025b", 2), ("1MB", 977)],
)  # fmt: skip
def test_parse_size(text: str, kib: int) -> None:
    assert parse_size(text) == kib


@pytest.mark.parametrize("text", ["", "0", "-5", "1.5G", "1X", "G", "0b"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(virtcore.errors.InvalidArgError):
        parse_size(text)


def test_setvcpus(run: Run, fresh_default: None) -> None:
    assert run("setvcpus", "test", "1") == (0, "", "")
    assert "CPU(s):         1\n" in run("dominfo", "test")[1]
    assert_one_line_error(
        *run("setvcpus", "test", "9"),
        "invalid argument: requested cpu amount exceeds maximum supported amount (9 > 2)",
    )
    assert_one_line_error(
        *run("setvcpus", "test", "0"),
        "invalid argument: vCPU count COUNT must be a positive integer, not '0'",
    )
    assert_one_line_error(  # names the argument, not just "expected a positive integer"
        *run("setvcpus", "test", "abc"),
        "invalid argument: vCPU count COUNT must be a positive integer, not 'abc'",
    )


def test_autostart(run: Run, fresh_default: None, tmp_path: Path) -> None:
    assert run("autostart", "test") == (0, "Domain 'test' marked as autostarted\n\n", "")
    assert "Autostart:      enable\n" in run("dominfo", "test")[1]
    assert run("autostart", "--disable", "test") == (0, "Domain 'test' unmarked as autostarted\n\n", "")
    assert "Autostart:      disable\n" in run("dominfo", "test")[1]
    run("create", write(tmp_path, "t.xml", domain_xml("transient")))
    status, _, err = run("autostart", "transient")
    assert status == 1 and err.startswith("error: Requested operation is not valid: ")


def test_attach_and_detach_device(run: Run, fresh_default: None, tmp_path: Path) -> None:
    disk = write(
        tmp_path,
        "disk.xml",
        "<disk type='file' device='disk'><source file='/guest/extra.img'/>"
        "<target dev='vdb' bus='virtio'/></disk>",
    )
    assert run("attach-device", "test", disk) == (0, "Device attached successfully\n\n", "")
    targets = [
        t.get("dev")
        for t in etree.fromstring(run("dumpxml", "test")[1].encode()).iterfind("devices/disk/target")
    ]
    assert "vdb" in targets
    assert run("detach-device", "test", disk) == (0, "Device detached successfully\n\n", "")
    targets = [
        t.get("dev")
        for t in etree.fromstring(run("dumpxml", "test")[1].encode()).iterfind("devices/disk/target")
    ]
    assert "vdb" not in targets
    status, out, err = run("detach-device", "test", disk)
    assert (status, out) == (1, "") and err.startswith("error: ")


# ---------------------------------------------------------------------------
# Host and connection
# ---------------------------------------------------------------------------


def test_nodeinfo_default(run: Run) -> None:
    assert run("nodeinfo") == (
        0,
        "CPU model:           i686\n"
        "CPU(s):              16\n"
        "CPU frequency:       1400 MHz\n"
        "CPU socket(s):       2\n"
        "Core(s) per socket:  2\n"
        "Thread(s) per core:  2\n"
        "NUMA cell(s):        2\n"
        "Memory size:         3145728 KiB\n",
        "",
    )


def test_nodeinfo_node_file(run: Run, testnode_uri: str) -> None:
    out = run("nodeinfo", uri=testnode_uri)[1]
    assert "CPU model:           i986\n" in out
    assert "CPU frequency:       6000 MHz\n" in out
    assert "Memory size:         8192000 KiB\n" in out


def test_capabilities_is_xml(run: Run) -> None:
    status, out, _ = run("capabilities")
    assert status == 0
    root = etree.fromstring(out.encode())
    assert root.tag == "capabilities"
    assert root.find("host") is not None


def test_hostname_uri_version(run: Run) -> None:
    assert run("hostname") == (0, socket.gethostname() + "\n", "")
    assert run("uri") == (0, "test:///default\n", "")
    status, out, _ = run("version")
    assert status == 0
    assert out.splitlines() == [
        f"Using library: virtcore {virtcore.__version__}",
        f"Using API: TEST {virtcore.__version__}",
        "Running hypervisor: TEST 0.0.2",
    ]


def test_uri_from_environment(run: Run, monkeypatch: pytest.MonkeyPatch, testnode_uri: str) -> None:
    monkeypatch.setenv("VIRTCORE_DEFAULT_URI", testnode_uri)
    assert run("uri", uri=None) == (0, testnode_uri + "\n", "")
    # -c wins over the environment
    assert run("uri", uri=DEFAULT) == (0, DEFAULT + "\n", "")


def test_no_uri_is_a_clear_error(run: Run) -> None:
    assert_one_line_error(
        *run("list", uri=None),
        "invalid argument: no connection URI: give one with -c URI or set $VIRTCORE_DEFAULT_URI "
        "(e.g. test:///default)",
    )


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("not a uri", "error: invalid argument: malformed URI 'not a uri'"),
        ("nodriver:///x", "error: no connection driver available for "),
        ("test:///", "error: invalid argument: testOpen: supply a path or use test:///default"),
        ("test:///nonexistent/node.xml", "error: "),
    ],
)
def test_bad_uris(run: Run, uri: str, expected: str) -> None:
    status, out, err = run("list", uri=uri)
    assert (status, out) == (1, "")
    assert err.startswith(expected)
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_read_only_refuses_mutations_but_reads(run: Run, fresh_default: None) -> None:
    assert_one_line_error(
        *run("destroy", "test", read_only=True),
        "operation forbidden: read only access prevents domain_destroy",
    )
    assert run("domstate", "test", read_only=True) == (0, "running\n\n", "")
    assert run("list", read_only=True)[0] == 0


# ---------------------------------------------------------------------------
# drivers
# ---------------------------------------------------------------------------


def test_drivers_lists_test_driver_support_honestly(run: Run) -> None:
    status, out, err = run("drivers", uri=None)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    test_row = next(line for line in lines if line.split()[:1] == ["test"])
    assert "virt-test" in test_row
    with virtcore.open_read_only(DEFAULT) as conn:
        supported = conn.supported_operations()
    assert f"{len(supported)} of {len(virtcore.OPERATIONS)}" in test_row
    header = next(line for line in lines if line.split()[:2] == ["Operation", "Kind"])
    col = header.split().index("test")
    rows = {line.split()[0]: line.split() for line in lines[lines.index(header) + 2 :] if line.strip()}
    assert set(rows) == set(virtcore.OPERATIONS)
    for op, mutating in virtcore.OPERATIONS.items():
        assert rows[op][1] == ("mutating" if mutating else "read-only")
        assert rows[op][col] == ("yes" if op in supported else "no")


class _PartialDriver:
    """A driver implementing two hooks only: the matrix must say 'no' for the rest."""

    @virtcore.hookimpl
    def virt_connect_get_type(self) -> str:
        return "PARTIAL"

    @virtcore.hookimpl
    def virt_node_get_info(self) -> virtcore.NodeInfo:
        return virtcore.NodeInfo("x", 1024, 1, 1, 1, 1, 1, 1)


class _PartialEntryPoint:
    """An entry point declaring a default URI but no plugin classes: ``drivers`` probes it."""

    default_uri = "partial:///"

    def __call__(self, uri: object, read_only: bool) -> list[object]:
        return [_PartialDriver()]


_partial_factory = _PartialEntryPoint()


def _no_default_factory(uri: object, read_only: bool) -> list[object]:
    return [_PartialDriver()]


@pytest.fixture
def extra_drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two fake installed drivers: one declaring a default URI, one without."""
    from virtcore import drivers

    real = drivers.installed_drivers()
    fakes = [
        drivers.InstalledDriver("partial", "fake:partial", "fake-partial", "9.9"),
        drivers.InstalledDriver("nodefault", "fake:nodefault", "fake-nodefault", "1.0"),
    ]
    monkeypatch.setattr(drivers, "installed_drivers", lambda: sorted(real + fakes, key=lambda d: d.scheme))
    monkeypatch.setitem(drivers._loaded, "partial", _partial_factory)
    monkeypatch.setitem(drivers._loaded, "nodefault", _no_default_factory)


def test_drivers_marks_unsupported_and_unknown(run: Run, extra_drivers: None) -> None:
    status, out, _ = run("drivers", uri=None)
    assert status == 0
    lines = out.splitlines()
    partial = next(line for line in lines if line.startswith(" partial "))
    assert partial.split() == [
        "partial",
        "fake-partial",
        "9.9",
        "2",
        "of",
        str(len(virtcore.OPERATIONS)),
        "partial:///",
    ]
    nodefault = next(line for line in lines if line.startswith(" nodefault "))
    assert nodefault.split()[3:] == ["?", "-"]
    assert "nodefault: declares no plugin classes and no default URI; probe with -c URI" in lines
    header = next(line for line in lines if line.split()[:2] == ["Operation", "Kind"])
    cols = header.split()
    rows = {line.split()[0]: line.split() for line in lines[lines.index(header) + 2 :] if line.strip()}
    p, n = cols.index("partial"), cols.index("nodefault")
    assert rows["connect_get_type"][p] == "yes"
    assert rows["node_get_info"][p] == "yes"
    assert rows["domain_suspend"][p] == "no"
    assert {r[n] for r in rows.values()} == {"?"}


class _FakeStorage:
    """A storage driver's plugin class: two pool hooks and one the qemu driver also has."""

    @virtcore.hookimpl
    def virt_storage_pool_lookup_by_name(self, name: str) -> None:
        return None

    @virtcore.hookimpl
    def virt_connect_list_all_storage_pools(self, active: bool | None) -> None:
        return None

    @virtcore.hookimpl
    def virt_connect_get_hostname(self) -> str:
        return "storage-host"


def test_drivers_shows_storage_operations_of_qemu_and_xen_as_served_by_the_storage_driver(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """qemu and xen name ``storage`` as a secondary driver: its operations show as served by
    it when it is installed, and as unsupported when it is not; their own stay 'yes'."""
    from virtcore import drivers
    from virtcore.drivers import describe_driver

    def matrix() -> tuple[list[str], dict[str, list[str]], list[str]]:
        status, out, err = run("drivers", uri=None)
        assert (status, err) == (0, "")
        lines = out.splitlines()
        header = next(line for line in lines if line.split()[:2] == ["Operation", "Kind"])
        rows = {line.split()[0]: line.split() for line in lines[lines.index(header) + 2 :] if line.strip()}
        return header.split(), rows, lines

    real = [d for d in drivers.installed_drivers() if d.scheme != "storage"]
    monkeypatch.setattr(drivers, "installed_drivers", lambda: real)
    monkeypatch.delitem(drivers._loaded, "storage", raising=False)
    real_lookup = drivers._lookup  # whatever is installed here, the storage driver is not
    monkeypatch.setattr(
        drivers, "_lookup", lambda scheme: None if scheme == "storage" else real_lookup(scheme)
    )
    cols, rows, _ = matrix()
    for d in ("qemu", "xen"):
        assert rows["storage_pool_lookup_by_name"][cols.index(d)] == "no"
        assert rows["domain_suspend"][cols.index(d)] == "yes"

    fake = drivers.InstalledDriver("storage", "fake:storage", "fake-storage", "0.1")
    monkeypatch.setattr(drivers, "installed_drivers", lambda: sorted([*real, fake], key=lambda d: d.scheme))
    monkeypatch.setitem(
        drivers._loaded,
        "storage",
        describe_driver(lambda uri, ro: [_FakeStorage()], plugin_classes=[_FakeStorage]),
    )
    cols, rows, lines = matrix()
    for d in ("qemu", "xen"):
        c = cols.index(d)
        assert rows["storage_pool_lookup_by_name"][c] == "storage"
        assert rows["connect_list_all_storage_pools"][c] == "storage"
        assert rows["storage_vol_create_xml"][c] == "no"  # the storage driver does not have it either
        assert rows["connect_get_hostname"][c] == "yes"  # its own answers first
        served = sum(1 for r in rows.values() if r[c] in ("yes", "storage", "network"))
        row = next(line for line in lines if line.split()[:1] == [d])
        assert row.split()[3:6] == [str(served), "of", str(len(virtcore.OPERATIONS))]
    assert rows["storage_pool_lookup_by_name"][cols.index("test")] != "storage"  # test names none
    assert rows["storage_pool_lookup_by_name"][cols.index("storage")] == "yes"

    # Asking a connection: the same attribution, from the objects that serve it.
    status, out, err = run("drivers", uri=f"qemu:///embed?root={tmp_path / 'qemu'}")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["Operation", "Kind"])
    rows = {line.split()[0]: line.split() for line in lines[lines.index(header) + 2 :] if line.strip()}
    assert rows["storage_pool_lookup_by_name"][2] == "storage"
    assert rows["connect_get_hostname"][2] == "yes"
    assert rows["storage_vol_create_xml"][2] == "no"


def test_drivers_with_connection_lists_only_that_driver(run: Run, extra_drivers: None) -> None:
    status, out, _ = run("drivers", "--kind", "mutating", uri="partial:///")
    assert status == 0
    lines = out.splitlines()
    assert lines[2].split()[:2] == ["partial", "fake-partial"]
    header = next(line for line in lines if line.split()[:2] == ["Operation", "Kind"])
    assert header.split() == ["Operation", "Kind", "partial"]
    rows = [line.split() for line in lines[lines.index(header) + 2 :] if line.strip()]
    assert {r[0] for r in rows} == {op for op, m in virtcore.OPERATIONS.items() if m}
    assert {r[2] for r in rows} == {"no"}


def test_drivers_shows_qemu_and_xen_support_without_opening_a_connection(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The matrix comes from the drivers' plugin classes: real rows for qemu and xen,
    which have no default URI, and no connection opened for any driver."""
    opened: list[str] = []
    real_init = virtcore.Connection.__init__

    def spy(self: virtcore.Connection, uri: str, read_only: bool = False) -> None:
        opened.append(str(uri))
        real_init(self, uri, read_only)

    monkeypatch.setattr(virtcore.Connection, "__init__", spy)
    status, out, err = run("drivers", uri=None)
    assert (status, err, opened) == (0, "", [])
    lines = out.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["Operation", "Kind"])
    cols = header.split()
    rows = {line.split()[0]: line.split() for line in lines[lines.index(header) + 2 :] if line.strip()}
    served = {"yes", "storage", "network"}  # the driver's own, or its secondary drivers' when installed
    shown = {d: {op for op, r in rows.items() if r[cols.index(d)] in served} for d in ("qemu", "xen", "test")}
    for d in ("qemu", "xen", "test"):
        row = next(line for line in lines if line.split()[:1] == [d])
        assert row.split()[3:] == [
            str(len(shown[d])),
            "of",
            str(len(virtcore.OPERATIONS)),
            "plugin",
            "classes",
        ]
        assert {rows[op][cols.index(d)] for op in rows} <= {*served, "no"}  # never '?'
    monkeypatch.setattr(virtcore.Connection, "__init__", real_init)
    # What real connections serve agrees with it.
    with virtcore.open_read_only("test:///default") as conn:
        assert shown["test"] == conn.supported_operations()
    with virtcore.open(f"qemu:///embed?root={tmp_path / 'qemu'}") as conn:
        assert shown["qemu"] == conn.supported_operations()
    # A xen host without XenStore or hypercalls gets a subset of the channels.
    xl = tmp_path / "xl"
    xl.write_text("#!/bin/sh\nexit 1\n")
    xl.chmod(0o755)
    uri = f"xen:///system?root={tmp_path / 'xen'}&xl={xl}&xenstore={tmp_path / 'none'}&hypercalls=0"
    with virtcore.open(uri) as conn:
        assert conn.supported_operations() <= shown["xen"]
        assert {"domain_suspend", "domain_define_xml", "domain_lookup_by_name"} <= conn.supported_operations()


# ---------------------------------------------------------------------------
# Usage errors, interrupts, bugs
# ---------------------------------------------------------------------------


def test_usage_errors_are_one_line_exit_1(run: Run) -> None:
    assert_one_line_error(*run("frobnicate"), "unknown command: 'frobnicate' (see 'virtcore --help')")
    assert_one_line_error(*run(uri=None), "virtcore: a command is required (see 'virtcore --help')")
    status, out, err = run("dominfo")
    assert (status, out) == (1, "") and err.count("\n") == 1 and "DOMAIN" in err
    status, out, err = run("list", "--bogus")
    assert (status, out) == (1, "") and "--bogus" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--bogus"], "unknown option: '--bogus' (see 'virtcore --help')"),
        (["-x"], "unknown option: '-x' (see 'virtcore --help')"),
        (["--bogus=3"], "unknown option: '--bogus=3' (see 'virtcore --help')"),
        (["--bogus", "list"], "unknown option: '--bogus' (see 'virtcore --help')"),
        (["--bogus", "--worse"], "unknown options: '--bogus', '--worse' (see 'virtcore --help')"),
        (["list", "--bogus"], "unknown option: '--bogus' (see 'virtcore list --help')"),
        (["list", "extra"], "unexpected argument: 'extra' (see 'virtcore list --help')"),
        (["dominfo", "test", "more"], "unexpected argument: 'more' (see 'virtcore dominfo --help')"),
        ([], "virtcore: a command is required (see 'virtcore --help')"),
        (["-r"], "virtcore: a command is required (see 'virtcore --help')"),
    ],
)
def test_usage_errors_say_what_is_wrong(run: Run, argv: list[str], expected: str) -> None:
    """An unknown option is reported as such, not as a missing command (issue 8, item 16)."""
    assert_one_line_error(*run(*argv, uri=None), expected)


def test_help_and_version(run: Run) -> None:
    status, out, _ = run("--help", uri=None)
    assert status == 0
    for name in ("list", "dominfo", "drivers", "attach-device", "save", "restore"):
        assert f"    {name} " in out
    assert run("--version", uri=None) == (0, f"virtcore {virtcore.__version__}\n", "")
    status, out, _ = run("list", "--help", uri=None)
    assert status == 0 and "--all" in out


def test_keyboard_interrupt_exits_130(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: object, active: bool | None = None) -> list[virtcore.Domain]:
        raise KeyboardInterrupt

    monkeypatch.setattr(virtcore.Connection, "list_domains", interrupted)
    assert run("list") == (130, "", "error: interrupted\n")


def test_unexpected_exception_is_one_line_unless_debugging(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object) -> str:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(virtcore.Connection, "hostname", broken)
    assert_one_line_error(
        *run("hostname"),
        "internal error: RuntimeError: boom second line (set VIRTCORE_DEBUG=1 for a traceback)",
    )
    monkeypatch.setenv("VIRTCORE_DEBUG", "1")
    status, _, err = run("hostname")
    assert status == 1 and "Traceback" in err and err.endswith("(set VIRTCORE_DEBUG=1 for a traceback)\n")


def test_connection_is_closed_after_the_command(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[virtcore.Connection] = []
    real_open = virtcore.open

    def tracking_open(uri: str | None = None) -> virtcore.Connection:
        conn = real_open(uri)
        opened.append(conn)
        return conn

    monkeypatch.setattr(virtcore, "open", tracking_open)
    run("dominfo", "nosuch")
    run("uri")
    assert len(opened) == 2 and all(c.closed for c in opened)


# ---------------------------------------------------------------------------
# Registering commands
# ---------------------------------------------------------------------------


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the registry to register into, dropped after the test.

    The command modules are imported first: imported during the test, they
    would register into the copy only, and never again.
    """
    cli._load_command_modules()
    monkeypatch.setattr(cli, "COMMANDS", dict(cli.COMMANDS))
    monkeypatch.setattr(cli, "GROUP_HELP", dict(cli.GROUP_HELP))


def test_registering_a_grouped_command(run: Run, scratch_registry: None) -> None:
    @cli.command("demo greet", cli.DOMAIN, cli.arg("--loud", action="store_true"), group_help="demo things")
    def _greet(ctx: cli.Context, ns: argparse.Namespace) -> int:
        """Greet a domain."""
        dom = ctx.domain(ns.domain)
        ctx.out(f"hello {dom.name}" + ("!" if ns.loud else ""))
        return 3

    assert run("demo", "greet", "--loud", "1") == (3, "hello test!\n", "")
    status, out, _ = run("demo", "--help", uri=None)
    assert status == 0 and "greet" in out and "Greet a domain." in out
    assert_one_line_error(
        *run("demo", uri=None), "virtcore demo: a command is required (see 'virtcore demo --help')"
    )
    assert_one_line_error(
        *run("demo", "nope", uri=None), "unknown command: 'nope' (see 'virtcore demo --help')"
    )
    with pytest.raises(ValueError, match="registered twice"):
        cli.command("demo greet")(_greet)
    with pytest.raises(ValueError, match="clashes"):
        cli.command("demo")(_greet)
    with pytest.raises(ValueError, match="clashes"):
        cli.command("list sub")(_greet)


def test_commands_without_connection_need_no_uri(run: Run, scratch_registry: None) -> None:
    @cli.command("offline")
    def _offline(ctx: cli.Context, ns: argparse.Namespace) -> None:
        """Needs no connection."""
        ctx.out("ok")

    assert run("offline", uri=None) == (0, "ok\n", "")


# ---------------------------------------------------------------------------
# As a real process
# ---------------------------------------------------------------------------


def _virtcore(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTCORE_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "virtcore", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        check=False,
    )


def test_subprocess_list() -> None:
    p = _virtcore("-c", DEFAULT, "list")
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout == " Id   Name   State\n----------------------\n 1    test   running\n\n"


def test_subprocess_error_has_no_traceback() -> None:
    p = _virtcore("-c", DEFAULT, "domstate", "nosuch")
    assert (p.returncode, p.stdout, p.stderr) == (1, "", "error: Domain not found: nosuch\n")
    p = _virtcore("-c", "bogus uri", "list")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_subprocess_default_uri_from_environment() -> None:
    p = _virtcore("nodeinfo", env={"VIRTCORE_DEFAULT_URI": DEFAULT})
    assert p.returncode == 0 and "CPU model:           i686\n" in p.stdout


def test_importing_the_cli_does_not_import_lxml() -> None:
    code = "import sys, virtcore.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'lxml'))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert p.stdout == "[]\n"


# ---------------------------------------------------------------------------
# native config formats: through the connection, or offline through the drivers' converters
# ---------------------------------------------------------------------------

XL_CONFIG = 'name = "native"\nmemory = 256\nvcpus = 2\n'


def test_native_commands_work_offline_without_opening_a_connection(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_connection(*_: object, **__: object) -> None:
        raise AssertionError("the offline conversion opened a connection")

    monkeypatch.setattr(virtcore, "open", no_connection)
    monkeypatch.setattr(virtcore, "open_read_only", no_connection)
    status, xml, err = run("domxml-from-native", "xen-xl", write(tmp_path, "g.cfg", XL_CONFIG), uri=None)
    assert (status, err) == (0, "")
    root = etree.fromstring(xml.encode())
    assert root.findtext("name") == "native"
    assert root.findtext("vcpu") == "2"
    status, cfg, err = run("domxml-to-native", "xen-xl", write(tmp_path, "g.xml", xml), uri=None)
    assert (status, err) == (0, "")
    assert 'name = "native"' in cfg.splitlines()
    assert "vcpus = 2" in cfg.splitlines()


def test_native_command_with_an_unknown_format_names_it(run: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "g.xml", domain_xml("g"))
    assert_one_line_error(
        *run("domxml-to-native", "vmware-vmx", path, uri=None),
        "invalid argument: unsupported config type 'vmware-vmx' (no installed driver converts it)",
    )


def test_native_commands_with_a_uri_ask_that_connection(run: Run, tmp_path: Path) -> None:
    # like virsh: the test driver has no native formats (libvirt's neither)
    path = write(tmp_path, "g.cfg", XL_CONFIG)
    assert_one_line_error(
        *run("domxml-from-native", "xen-xl", path),
        "this function is not supported by the connection driver: connect_domain_xml_from_native",
    )


# ---------------------------------------------------------------------------
# Building only the parser a run needs
# ---------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", DEFAULT, "list", "--all"],
        ["-r", "--connect", DEFAULT, "dominfo", "1"],
        ["domxml", "validate", "--strict", "f.xml"],
        ["vol-create-as", "default-pool", "a.img", "1G", "--format", "qcow2"],
        ["pool-list", "--all", "--details"],
        ["drivers", "--kind", "mutating"],
    ],
)
def test_a_run_builds_only_its_command_and_parses_the_same(argv: list[str]) -> None:
    small = cli.build_parser(argv)
    command = next(w for w in argv if w in cli.COMMANDS or w == "domxml")
    assert _subcommands(small) == {command}
    assert vars(cli.parse_command_line(small, argv)) == vars(cli.parse_command_line(cli.build_parser(), argv))


@pytest.mark.parametrize("argv", [[], ["--help"], ["nosuch"], ["-cURI", "list"], ["-r"], ["-c"]])
def test_anything_else_builds_every_command(argv: list[str]) -> None:
    assert _subcommands(cli.build_parser(argv)) == _subcommands(cli.build_parser())
    assert {"list", "pool-list", "vol-upload", "domxml"} <= _subcommands(cli.build_parser(argv))
