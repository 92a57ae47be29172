"""Boot real Xen 4.17 under QEMU (TCG) and run the virt-xen integration tests and the
conformance suite inside its dom0; assert from their junit reports that they ran and passed.
The storage half of the conformance suite runs as a suite of its own ("storage"), through
``xen:///system``'s secondary storage driver and real qemu-img: every test of it must have
passed, not xfailed for want of storage.

The harness is ``xenhost/run.sh`` (downloads cached under ``~/.cache/virtcore-xen``).
It needs root-free but networked tools: qemu-system-x86_64, apt-get download, dpkg -x,
cpio, pip. Marked ``slow``; deselect with ``-m 'not slow'``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
HARNESS = HERE / "xenhost" / "run.sh"

_MISSING = [t for t in ("qemu-system-x86_64", "apt-get", "dpkg", "cpio", "zcat") if shutil.which(t) is None]


def _suite_counts(junit: Path) -> dict[str, int]:
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites:
        for k in totals:
            totals[k] += int(s.get(k, "0"))
    return totals


@pytest.fixture(scope="module")
def xen_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if _MISSING:
        pytest.fail(f"the Xen harness needs {', '.join(_MISSING)} on PATH")
    work = tmp_path_factory.mktemp("xenhost")
    env = dict(os.environ, XENHOST_WORK=str(work))
    proc = subprocess.run(
        ["bash", str(HARNESS), str(REPO)], env=env, capture_output=True, text=True, timeout=1620
    )
    print(proc.stdout[-4000:])
    assert proc.returncode == 0, (
        f"harness failed (rc={proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return work / "share"


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["storage", "xen", "conformance"])
def test_suite_passes_in_dom0(xen_run: Path, suite: str) -> None:
    junit = xen_run / f"junit-{suite}.xml"
    log = xen_run / f"pytest-{suite}.log"
    assert junit.exists(), (
        f"dom0 produced no junit report for {suite}; console:\n"
        + ((xen_run.parent / "console.log").read_text(errors="replace")[-3000:])
    )
    text = log.read_text(errors="replace")
    print(f"--- {suite} (inside dom0) ---\n" + "\n".join(text.splitlines()[-25:]))
    counts = _suite_counts(junit)
    assert counts["tests"] > 0, f"no {suite} tests ran inside dom0"
    assert counts["failures"] == 0 and counts["errors"] == 0, text[-6000:]
    assert (xen_run / f"rc-{suite}").read_text().strip() == "0", text[-6000:]


@pytest.mark.slow
def test_storage_conformance_passes_on_xen_in_dom0(xen_run: Path) -> None:
    from virtcore.testing.storage_conformance import StorageConformance

    wanted = {n for n in dir(StorageConformance) if n.startswith("test_")}
    cases = [
        case
        for case in ET.parse(xen_run / "junit-storage.xml").getroot().iter("testcase")
        if "xen:///system" in case.get("name", "")
    ]
    missing = wanted - {case.get("name", "").split("[")[0] for case in cases}
    assert not missing, (
        f"storage conformance tests that did not run on xen:///system in dom0: {sorted(missing)}"
    )
    not_passed = [
        case.get("name") for case in cases if any(c.tag in ("skipped", "failure", "error") for c in case)
    ]
    assert not not_passed, f"storage conformance tests that did not pass on xen:///system: {not_passed}"
