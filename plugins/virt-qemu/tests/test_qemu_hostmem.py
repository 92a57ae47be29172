"""The host's free memory per NUMA node (``hostmem.py``): on sysfs and meminfo trees made here, on this host.

No guest is started.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from virt_qemu import hostmem

import virtcore
from virtcore.errors import InvalidArgError, OperationFailedError


def _node(root: Path, n: int, free_kib: int) -> None:
    d = root / f"node{n}"
    d.mkdir(parents=True)
    (d / "meminfo").write_text(
        f"Node {n} MemTotal:       12150996 kB\n"
        f"Node {n} MemFree:        {free_kib} kB\n"
        f"Node {n} MemUsed:         1 kB\n"
    )


def test_cells_are_the_sysfs_nodes(tmp_path: Path) -> None:
    nodes = tmp_path / "node"
    _node(nodes, 0, 1000)
    _node(nodes, 1, 2000)
    _node(nodes, 3, 4000)  # node 2 missing: a hole in the numbering has nothing free
    (nodes / "has_cpu").write_text("0-3\n")
    assert hostmem.cells_free(0, 10, nodes) == [1000 * 1024, 2000 * 1024, 0, 4000 * 1024]
    assert hostmem.cells_free(1, 1, nodes) == [2000 * 1024]
    assert hostmem.cells_free(3, 5, nodes) == [4000 * 1024]
    assert hostmem.free_memory(nodes) == 7000 * 1024
    with pytest.raises(InvalidArgError, match=r"start cell 4 out of range \(0-3\)"):
        hostmem.cells_free(4, 1, nodes)


def test_a_host_without_nodes_is_one_cell_of_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemFree:        22537544 kB\n")
    missing = tmp_path / "no-such-dir"
    assert hostmem.free_memory(missing, meminfo) == 22537544 * 1024
    assert hostmem.cells_free(0, 3, missing, meminfo) == [22537544 * 1024]
    with pytest.raises(InvalidArgError):
        hostmem.cells_free(1, 1, missing, meminfo)
    meminfo.write_text("MemTotal: 1 kB\n")
    with pytest.raises(OperationFailedError, match="no MemFree"):
        hostmem.free_memory(missing, meminfo)


def test_the_driver_answers_from_this_host(tmp_path: Path) -> None:
    with virtcore.open(f"qemu:///embed?root={tmp_path}") as conn:
        # free memory moves between two reads: the cells are this host's, each with some free
        cells = conn.cells_free_memory(0, 1024)
        assert (
            len(cells) == len(hostmem.cells_free(0, 1024)) and all(c >= 0 for c in cells) and sum(cells) > 0
        )
        with pytest.raises(InvalidArgError):
            conn.cells_free_memory(len(cells), 1)
        assert conn.free_memory() > 0
        assert conn.security_model() == ("none", "0")
        # the capabilities say the same
        assert (
            "<secmodel>\n      <model>none</model>\n      <doi>0</doi>\n    </secmodel>"
            in conn.capabilities_xml()
        )
