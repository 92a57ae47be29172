"""The node and domain calls of the last session through ``virtcore serve``, as python3-libvirt sees them.

One script runs under Debian's python3-libvirt on libvirt's own test driver
(``test:///default`` in-process) and through ``virtcore serve`` (virt-test
behind it): free memory, NUMA cells (and a cell out of range), a CPU
baseline, control info, memory tunables (libvirt's client asks how many
there are first, with ``VIR_TYPED_PARAM_STRING_OKAY``), the balloon's stats
period, ``isUpdated``, reset, NMI, and a save image's XML (and a missing
file's error). Both must answer alike, errors with libvirt's code and words.
The one deliberate difference is the security model, which the server
answers empty (see ``virtcore.server.domains``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_support import SYSTEM_PYTHON, Served, has_python3_libvirt

pytestmark = pytest.mark.skipif(not has_python3_libvirt(), reason="Debian's python3-libvirt is not installed")

TEST = "test:///default"

SCRIPT = r"""
import json, sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open(sys.argv[1])
image = sys.argv[2]
out = {}

def record(name, call):
    try:
        out[name] = call()
    except libvirt.libvirtError as e:
        out[name] = ["error", e.get_error_code(), e.get_error_message()]

dom = conn.lookupByName("test")
record("free", conn.getFreeMemory)
record("cells", lambda: conn.getCellsFreeMemory(0, 8))
record("cell 1", lambda: conn.getCellsFreeMemory(1, 1))
record("cell 9", lambda: conn.getCellsFreeMemory(9, 1))
record("security model", conn.getSecurityModel)
cpu = "<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor></cpu>"
record("baseline", lambda: conn.baselineCPU([cpu, cpu], 0))
record("baseline of nothing", lambda: conn.baselineCPU(["<cpu><arch>x86_64</arch></cpu>"], 0))
record("control", dom.controlInfo)
record("memtune", lambda: dom.memoryParameters(0))
record("set memtune", lambda: dom.setMemoryParameters({"hard_limit": 1 << 20, "soft_limit": 1 << 19}, 0))
record("memtune after", lambda: dom.memoryParameters(0))
record("stats period", lambda: dom.setMemoryStatsPeriod(5, libvirt.VIR_DOMAIN_AFFECT_LIVE))
record("negative stats period", lambda: dom.setMemoryStatsPeriod(-1, 0))
record("updated", dom.isUpdated)
record("reset", lambda: dom.reset(0))
record("nmi", lambda: dom.injectNMI(0))
dom.save(image)
record("saved xml names it", lambda: "<name>test</name>" in conn.saveImageGetXMLDesc(image, 0))
record("missing image", lambda: conn.saveImageGetXMLDesc(image + ".missing", 0))
conn.restore(image)
record("state", dom.state)
print(json.dumps(out))
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    sockets = tmp_path / "s"
    sockets.mkdir()
    server = Served(sockets, [TEST])
    yield server
    log = server.stop()
    assert "Traceback" not in log, log


def _run(uri: str, image: Path) -> Any:
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", SCRIPT, uri, str(image)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.replace(str(image), "IMAGE"))


def test_node_and_domain_calls_through_virtcore_serve_answer_as_libvirts(
    served: Served, tmp_path: Path
) -> None:
    libvirts = _run(TEST, tmp_path / "theirs.img")
    ours = _run(served.uri(TEST), tmp_path / "ours.img")
    assert libvirts.pop("security model") == ["testSecurity", ""]
    assert ours.pop("security model") == ["", ""]
    assert ours == libvirts
    # and the comparison is about something
    assert ours["cells"] == [2097152, 4194304]
    assert ours["cell 9"] == ["error", 8, "invalid argument: Range exceeds available cells"]
    assert ours["memtune after"]["hard_limit"] == 1 << 20
    assert ours["missing image"][:2] == ["error", 38]  # VIR_ERR_SYSTEM_ERROR, naming the file
    assert ours["saved xml names it"] is True and ours["state"] == [1, 3]  # RUNNING, RESTORED
