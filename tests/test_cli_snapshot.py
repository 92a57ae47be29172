"""The ``virtcore`` snapshot commands (``snapshot-*``), in-process against ``test:///default``.

Where virsh (Debian's libvirt-clients) is installed, each command sequence's
output is compared with virsh's own on libvirt's test driver, run in one virsh
process as these tests run ours on one ``test:///default``. Creation times
differ between the two runs, so times (and snapshot names made of them) are
replaced by a placeholder on both sides, and trailing blanks are ignored
(virsh pads an empty last column). Error output differs by design.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cli_support import Run, virsh

from virtcore.cli_snapshot import build_snapshot_xml, tree_lines
from virtcore.xml import parse_snapshot

pytestmark = pytest.mark.usefixtures("fresh_default")


def _normal(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", "<time>", text)
    text = re.sub(r"\b1\d{9}\b", "<epoch>", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


#: Command sequences whose output virtcore prints as virsh does (times aside).
SAME_AS_VIRSH = [
    ["snapshot-list test"],
    ["snapshot-create-as test s1 'the first'", "snapshot-create-as test --name s2", "snapshot-list test"],
    [
        "snapshot-create-as test a", "snapshot-create-as test b", "snapshot-create-as test c",
        "snapshot-revert test a", "snapshot-create-as test d", "snapshot-create-as test e",
        "snapshot-revert test b", "snapshot-create-as test f",
        "snapshot-list test --tree", "snapshot-list test --tree --from a",
        "snapshot-list test --parent --leaves", "snapshot-list test --roots",
        "snapshot-list test --no-leaves --name", "snapshot-list test --topological",
        "snapshot-list test --from b", "snapshot-list test --from a --descendants --name",
        "snapshot-info test --current", "snapshot-info test a", "snapshot-current test --name",
        "snapshot-parent test c", "snapshot-current test d", "snapshot-current test --name",
        "snapshot-delete test b", "snapshot-list test --parent", "snapshot-delete test a --children-only",
        "snapshot-list test --tree", "snapshot-delete test --current", "snapshot-list test",
    ],
    ["snapshot-create-as test", "snapshot-list test --name"],
    [
        "destroy test", "snapshot-create-as test off", "snapshot-list test --inactive",
        "snapshot-list test --active", "snapshot-list test --internal --name",
        "snapshot-list test --external", "start test", "snapshot-create-as test on --halt",
        "domstate test --reason", "snapshot-revert test on", "domstate test --reason",
        "snapshot-revert test off", "domstate test --reason",
        "snapshot-info test on", "snapshot-delete test off --children", "snapshot-list test",
    ],
    ["snapshot-create-as test x --print-xml", "snapshot-list test --name"],
]  # fmt: skip


@pytest.mark.parametrize("commands", SAME_AS_VIRSH, ids=["; ".join(c)[:80] for c in SAME_AS_VIRSH])
def test_output_is_virshs(run: Run, commands: list[str]) -> None:
    expected = virsh(*commands)
    ours = ""
    for line in commands:
        status, out, err = run(*shlex.split(line))
        assert (status, err) == (0, ""), line
        ours += out
    assert _normal(ours) == _normal(expected)


def test_snapshot_create_from_a_file_and_dumpxml(run: Run, tmp_path: Path) -> None:
    f = tmp_path / "s.xml"
    f.write_text("<domainsnapshot><name>f1</name><description>from a file</description></domainsnapshot>")
    assert run("snapshot-create", "test", str(f))[:2] == (0, f"Domain snapshot f1 created from '{f}'\n")
    status, out, _ = run("snapshot-dumpxml", "test", "f1")
    s = parse_snapshot(out, redefine=True)
    assert (status, s.name, s.description, s.state) == (0, "f1", "from a file", "running")
    assert s.domain is not None and s.domain.name == "test"
    # what snapshot-dumpxml prints redefines the snapshot (e.g. after deleting its metadata)
    dumped = tmp_path / "dumped.xml"
    dumped.write_text(out)
    assert run("snapshot-delete", "test", "f1")[:2] == (0, "Domain snapshot f1 deleted\n\n")
    assert run("snapshot-create", "test", str(dumped), "--redefine", "--current")[0] == 0
    assert run("snapshot-current", "test", "--name")[1] == "f1\n"
    assert run("snapshot-create", "test")[0] == 0  # no file: a default snapshot


def test_snapshot_create_as_builds_escaped_xml_with_specs(run: Run) -> None:
    xml = build_snapshot_xml(
        "s<1>", "a & b", "/var/m.save,snapshot=external", ["vda,snapshot=external,driver=qcow2,file=/o,,1"]
    )
    s = parse_snapshot(xml)
    assert (s.name, s.description, s.memory_snapshot, s.memory_file) == (
        "s<1>",
        "a & b",
        "external",
        "/var/m.save",
    )
    (disk,) = s.disks
    assert (disk.name, disk.snapshot, disk.file, disk.driver and disk.driver.type) == (
        "vda",
        "external",
        "/o,1",
        "qcow2",
    )
    status, _, err = run("snapshot-create-as", "test", "--diskspec", "vda,colour=red")
    assert status == 1 and "unknown diskspec key 'colour'" in err


def test_disk_only_and_external_listing(run: Run) -> None:
    assert run("snapshot-create-as", "test", "d", "--disk-only")[:2] == (0, "Domain snapshot d created\n")
    assert run("snapshot-list", "test", "--external", "--name")[1] == "d\n\n"
    assert run("snapshot-list", "test", "--disk-only", "--name")[1] == "d\n\n"
    info = run("snapshot-info", "test", "d")[1]
    assert "Location:       external" in info and "State:          disk-snapshot" in info


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["snapshot-create-as", "test", "a/b"], "error: XML error: snapshot name 'a/b' cannot contain '/'\n"),
        (["snapshot-create-as", "test", "--", "-rf"], "error: XML error: snapshot name '-rf' is not allowed"),
        (["snapshot-create-as", "test", "a\nb"], "cannot contain a newline, NUL or other control character"),
        (
            ["snapshot-delete", "test", "nope"],
            "error: Domain snapshot not found: no domain snapshot with matching",
        ),
        (["snapshot-revert", "test", "nope"], "no domain snapshot with matching name 'nope'"),
        (
            ["snapshot-current", "test"],
            "error: Domain snapshot not found: the domain does not have a current",
        ),
        (["snapshot-info", "test"], "a snapshot name or --current is required"),
        (
            ["snapshot-list", "test", "--leaves", "--no-leaves"],
            "--leaves and --no-leaves are mutually exclusive",
        ),
        (["snapshot-create-as", "nosuch"], "error: Domain not found: nosuch\n"),
    ],
)
def test_bad_input_is_one_named_error(run: Run, argv: list[str], message: str) -> None:
    status, out, err = run(*argv)
    assert (status, out) == (1, "")
    assert message in err and err.count("\n") == 1
    assert run("snapshot-list", "test", "--name")[1] == "\n"  # nothing was taken


def test_revert_flags_and_the_parent_of_a_root(run: Run) -> None:
    run("snapshot-create-as", "test", "s")
    status, _, err = run("snapshot-revert", "test", "s", "--running", "--paused")
    assert status == 1 and "mutually exclusive" in err
    assert run("snapshot-revert", "test", "--current", "--paused")[:2] == (
        0,
        "Domain snapshot s reverted\n\n",
    )
    assert run("domstate", "test", "--reason")[1] == "paused (from snapshot)\n\n"
    status, _, err = run("snapshot-parent", "test", "s")
    assert status == 1 and "snapshot 's' does not have a parent" in err


def test_undefine_with_snapshots_needs_the_metadata_flag(run: Run) -> None:
    run("snapshot-create-as", "test", "s")
    run("destroy", "test")
    status, _, err = run("undefine", "test")
    assert status == 1 and "cannot delete inactive domain with 1 snapshots" in err
    assert run("undefine", "test", "--snapshots-metadata")[:2] == (0, "Domain 'test' has been undefined\n\n")


def test_read_only_lists_but_does_not_take(run: Run) -> None:
    run("snapshot-create-as", "test", "s")
    assert run("snapshot-list", "test", "--name", read_only=True)[1] == "s\n\n"
    status, _, err = run("snapshot-create-as", "test", "t", read_only=True)
    assert status == 1 and "operation forbidden" in err


def test_tree_lines_draw_virshs_tree() -> None:
    assert tree_lines(["a"], {"a": ["b", "d"], "b": ["c"]}) == [
        "a", "  |", "  +- b", "  |   |", "  |   +- c", "  |     ", "  +- d", "    ",
    ]  # fmt: skip
