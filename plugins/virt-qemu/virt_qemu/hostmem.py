"""The host's free memory as Linux reports it: per NUMA node from sysfs, else ``/proc/meminfo``.

What libvirt's ``virHostMemGetCellsFree`` and ``virHostMemGetFreeMemory`` read:
each ``/sys/devices/system/node/nodeN/meminfo``'s ``MemFree`` (a host without
NUMA nodes in sysfs is one cell, 0, with ``/proc/meminfo``'s ``MemFree``). In bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

from virtcore.errors import InvalidArgError, OperationFailedError

__all__ = ["cells_free", "free_memory"]

NODE_DIR = Path("/sys/devices/system/node")
MEMINFO = Path("/proc/meminfo")
_NODE = re.compile(r"node(\d+)")


def _mem_free(text: str, origin: str) -> int:
    """The ``MemFree: N kB`` of a meminfo text (``Node 0 MemFree:`` too), in bytes."""
    for line in text.splitlines():
        fields = line.split()
        if "MemFree:" in fields:
            at = fields.index("MemFree:")
            try:
                return int(fields[at + 1]) * 1024
            except (IndexError, ValueError):
                break
    raise OperationFailedError(f"no MemFree in {origin}")


def _nodes(node_dir: Path) -> list[int]:
    try:
        names = [p.name for p in node_dir.iterdir()]
    except OSError:
        return []
    return sorted(int(m.group(1)) for n in names if (m := _NODE.fullmatch(n)))


def _node_free(node_dir: Path, node: int) -> int:
    path = node_dir / f"node{node}" / "meminfo"
    try:
        return _mem_free(path.read_text(), str(path))
    except OSError:
        return 0  # a hole in the node numbering: no memory there


def cells_free(
    start_cell: int, max_cells: int, node_dir: Path = NODE_DIR, meminfo: Path = MEMINFO
) -> list[int]:
    """Free bytes of NUMA cells ``start_cell``... (at most ``max_cells``, up to the last node)."""
    nodes = _nodes(node_dir)
    last = nodes[-1] if nodes else 0
    if start_cell > last:
        raise InvalidArgError(f"start cell {start_cell} out of range (0-{last})")
    if not nodes:
        return [free_memory(node_dir, meminfo)]
    return [_node_free(node_dir, n) for n in range(start_cell, min(last, start_cell + max_cells - 1) + 1)]


def free_memory(node_dir: Path = NODE_DIR, meminfo: Path = MEMINFO) -> int:
    """The host's free bytes: its NUMA nodes' summed, else ``/proc/meminfo``'s."""
    nodes = _nodes(node_dir)
    if nodes:
        return sum(_node_free(node_dir, n) for n in nodes)
    try:
        return _mem_free(meminfo.read_text(), str(meminfo))
    except OSError as exc:
        raise OperationFailedError(f"cannot read {meminfo}: {exc.strerror}") from None
