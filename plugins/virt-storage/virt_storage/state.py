"""The pools of one layout, as files: definitions, status of active pools, autostart links.

The files are the truth, read afresh by every operation under the layout's
:meth:`~virtcore.hoststate.HostDirs.state_lock`, so what one process changes the next
operation of any other process sees. Every write is atomic
(:func:`virtcore.files.write_atomically`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import attrs

from virt_storage.paths import Layout
from virtcore.errors import NoStoragePoolError, VirtError
from virtcore.files import write_atomically
from virtcore.hoststate import DefinitionStore
from virtcore.xml.pool import PoolDef, parse_pool

__all__ = ["PoolRecord", "PoolStore"]


@attrs.frozen
class PoolRecord:
    """One pool: its persistent definition (if any) and its live definition (if active)."""

    config: PoolDef | None
    live: PoolDef | None
    autostart: bool

    @property
    def active(self) -> bool:
        """Whether the pool is running."""
        return self.live is not None

    @property
    def persistent(self) -> bool:
        """Whether the pool has a persistent definition."""
        return self.config is not None

    @property
    def current(self) -> PoolDef:
        """The definition in force: the live one when active, else the persistent one."""
        found = self.live or self.config
        assert found is not None  # a record has one or the other
        return found


#: The definitions parsed from the files' contents (definitions are immutable): every operation
#: reads the files afresh, but parses only what changed since.
_PARSED: dict[bytes, PoolDef] = {}
_PARSED_MAX = 256


def _read(path: Path) -> PoolDef | None:
    """The pool defined in ``path``, or None when it is gone or unreadable (a damaged file is skipped)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    found = _PARSED.get(data)
    if found is None:
        try:
            found = parse_pool(data)
        except VirtError:
            return None
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[data] = found
    return found


class PoolStore(DefinitionStore[Layout]):
    """Reads and writes the pool files of one :class:`~virt_storage.paths.Layout`."""

    what = "storage pool"

    def load(self) -> dict[str, PoolRecord]:
        """Every pool by name."""
        found = {}
        for name in self.names():
            config, live = _read(self._config(name)), _read(self._status(name))
            if config is None and live is None:
                continue
            found[name] = PoolRecord(config, live, self.autostart_link(name) and config is not None)
        return found

    def by_name(self, name: str) -> PoolRecord:
        """The pool called ``name``; ``NoStoragePoolError`` if none."""
        record = self.load().get(name) if "/" not in name and not name.startswith(".") else None
        if record is None:
            raise NoStoragePoolError(f"no storage pool with matching name '{name}'")
        return record

    def by_uuid(self, uuid: str) -> PoolRecord:
        """The pool with this canonical UUID; ``NoStoragePoolError`` if none."""
        for record in self.load().values():
            if record.current.uuid == uuid:
                return record
        raise NoStoragePoolError(f"no storage pool with matching uuid '{uuid}'")

    def save_config(self, pool: PoolDef) -> None:
        """Write ``pool`` as its persistent definition."""
        write_atomically(self._config(pool.name), pool.to_xml().encode() + b"\n")

    def save_status(self, pool: PoolDef) -> None:
        """Mark ``pool`` active with this live definition."""
        write_atomically(self._status(pool.name), pool.to_xml().encode() + b"\n", sync=False)

    def remove_status(self, name: str) -> None:
        """Mark ``name`` inactive."""
        with contextlib.suppress(FileNotFoundError):
            self._status(name).unlink()
