"""``freecell``, ``domcontrol`` and ``cpu-baseline`` in-process, compared with virsh on the test driver.

Where virsh (Debian's libvirt-clients) is installed, each command sequence's
output is virsh's own on the same URI (``test:///default``, or libvirt's
``testnode.xml``, whose node has no NUMA cells).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from cli_support import DEFAULT, Run, virsh
from libvirt_testdata import require

pytestmark = pytest.mark.usefixtures("fresh_default")

CPU = "<cpu><arch>x86_64</arch><model>Westmere</model><vendor>Intel</vendor></cpu>"

SAME_AS_VIRSH = [
    ["freecell"],
    ["freecell --all"],
    ["freecell 1", "freecell --cellno 0"],
    ["domcontrol test"],
    # libvirt's test driver derives the control state from the guest clock
    ["domtime test --time 5", "domcontrol test", "domtime test --time 12000", "domcontrol test"],
    ["domtime test --time 30002", "domcontrol test", "domtime test --time 30000", "domcontrol test"],
    ["domtime test --time 30003", "domcontrol test", "domtime test --time 30001", "domcontrol test"],
    ["cpu-baseline {cpu}"],
]


def _same(run: Run, commands: list[str], uri: str) -> None:
    expected = virsh(*commands, uri=uri)
    ours = ""
    for line in commands:
        status, out, err = run(*shlex.split(line), uri=uri)
        assert (status, err) == (0, ""), line
        ours += out
    assert ours == expected


@pytest.mark.parametrize("commands", SAME_AS_VIRSH, ids=["; ".join(c) for c in SAME_AS_VIRSH])
def test_output_is_virshs(run: Run, tmp_path: Path, commands: list[str]) -> None:
    cpu = tmp_path / "cpu.xml"
    cpu.write_text(CPU + "\n" + CPU + "\n", encoding="utf-8")
    _same(run, [c.format(cpu=cpu) for c in commands], DEFAULT)


def test_a_node_file_has_no_cells(run: Run) -> None:
    uri = f"test://{require('testdriver') / 'testnode.xml'}"
    _same(run, ["freecell --all"], uri)
    status, out, err = run("freecell", "--cellno", "0", uri=uri)
    assert (status, out) == (1, "") and "Range exceeds available cells" in err


def test_errors_name_what_is_wrong(run: Run, tmp_path: Path) -> None:
    status, out, err = run("freecell", "--cellno", "2")
    assert (status, out, err) == (1, "", "error: invalid argument: Range exceeds available cells\n")
    status, _, err = run("freecell", "--all", "--cellno", "1")
    assert status == 1 and "mutually exclusive" in err
    status, _, err = run("domcontrol", "test", uri=f"test://{require('testdriver') / 'testnode.xml'}")
    assert (status, err) == (1, "error: Domain not found: test\n")
    no_model = tmp_path / "nomodel.xml"
    no_model.write_text("<cpu><arch>i686</arch></cpu>", encoding="utf-8")
    status, _, err = run("cpu-baseline", str(no_model))
    assert status == 1 and "Missing CPU model name" in err
    empty = tmp_path / "empty.xml"
    empty.write_text("<domain/>", encoding="utf-8")
    status, _, err = run("cpu-baseline", str(empty))
    assert status == 1 and str(empty) in err


def test_domcontrol_of_a_shut_off_domain_is_refused(run: Run) -> None:
    assert run("destroy", "test")[0] == 0
    status, out, err = run("domcontrol", "test")
    assert (status, out) == (1, "") and "not running" in err
