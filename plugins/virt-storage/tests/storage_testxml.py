"""XML of pools and volumes for virt-storage's tests (named apart: every test tree has a conftest)."""

from __future__ import annotations

from pathlib import Path


def dir_pool_xml(name: str, path: Path, *, mode: str | None = None) -> str:
    """A ``dir`` pool's XML."""
    perms = f"<permissions><mode>{mode}</mode></permissions>" if mode else ""
    return f"<pool type='dir'><name>{name}</name><target><path>{path}</path>{perms}</target></pool>"


def volume_xml(
    name: str, capacity: int, fmt: str = "qcow2", *, extra: str = "", allocation: int | None = None
) -> str:
    """A volume's XML (capacity in bytes)."""
    alloc = f"<allocation>{allocation}</allocation>" if allocation is not None else ""
    return (
        f"<volume><name>{name}</name><capacity>{capacity}</capacity>{alloc}"
        f"<target><format type='{fmt}'/></target>{extra}</volume>"
    )
