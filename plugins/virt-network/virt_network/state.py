"""The networks of one layout, as files: definitions, live definitions, autostart links, host records.

The files are the truth, read afresh by every operation, so what one process
changes the next operation of any other process sees; changes happen under the
layout's :meth:`~virtcore.hoststate.HostDirs.state_lock`. Every write is atomic
(:func:`virtcore.files.write_atomically`).

A network's :class:`~virt_network.host.HostRecord` (``run/NAME.json``) is written
before start makes anything on the host and removed after destroy removed it all;
its live definition (``run/NAME.xml``) is written last, when the network runs.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import attrs

from virt_network.host import HostRecord
from virt_network.paths import Layout
from virtcore.errors import ErrorDomain, NoNetworkError, VirtError
from virtcore.files import write_atomically
from virtcore.hoststate import DefinitionStore
from virtcore.xml import NetworkDef, parse_network

__all__ = ["NetworkRecord", "NetworkStore"]

_NET = ErrorDomain.NETWORK


@attrs.frozen
class NetworkRecord:
    """One network: its persistent definition, live definition (when running) and host record."""

    config: NetworkDef | None
    live: NetworkDef | None
    autostart: bool
    host: HostRecord | None

    @property
    def active(self) -> bool:
        """Whether the network was started and not destroyed (see :meth:`NetworkStore.alive`)."""
        return self.live is not None

    @property
    def persistent(self) -> bool:
        """Whether the network has a persistent definition."""
        return self.config is not None

    @property
    def current(self) -> NetworkDef:
        """The definition in force: the live one when running, else the persistent one."""
        found = self.live or self.config
        assert found is not None  # a record has one or the other
        return found


def _read(path: Path) -> NetworkDef | None:
    """The network defined in ``path``, or None when it is gone or unreadable (damaged: skipped)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        return parse_network(data)
    except VirtError:
        return None


def _read_host(path: Path) -> HostRecord | None:
    try:
        return HostRecord.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None


class NetworkStore(DefinitionStore[Layout]):
    """Reads and writes the network files of one :class:`~virt_network.paths.Layout`.

    Beside the definitions (:class:`~virtcore.hoststate.DefinitionStore`), a
    network's host record is ``run/NAME.json``.
    """

    what = "network"
    suffixes = (".xml", ".json")

    def _host(self, name: str) -> Path:
        return self.layout.run / f"{name}.json"

    def load(self) -> dict[str, NetworkRecord]:
        """Every network by name (with a host record left by an interrupted start, too)."""
        found = {}
        for name in self.names():
            config, live, host = (
                _read(self._config(name)),
                _read(self._status(name)),
                _read_host(self._host(name)),
            )
            if config is None and live is None and host is None:
                continue
            found[name] = NetworkRecord(config, live, self.autostart_link(name) and config is not None, host)
        return found

    def networks(self) -> dict[str, NetworkRecord]:
        """The networks that have a definition (a lone host record is a leftover, not a network)."""
        return {n: r for n, r in self.load().items() if r.config is not None or r.live is not None}

    def by_name(self, name: str) -> NetworkRecord:
        """The network called ``name``; ``NoNetworkError`` if none."""
        record = self.networks().get(name) if "/" not in name and not name.startswith(".") else None
        if record is None:
            raise NoNetworkError(f"no network with matching name '{name}'", domain=_NET)
        return record

    def by_uuid(self, uuid: str) -> NetworkRecord:
        """The network with this canonical UUID; ``NoNetworkError`` if none."""
        for record in self.networks().values():
            if record.current.uuid == uuid:
                return record
        raise NoNetworkError(f"no network with matching uuid '{uuid}'", domain=_NET)

    def save_config(self, net: NetworkDef) -> None:
        """Write ``net`` as its persistent definition."""
        write_atomically(self._config(net.name), net.to_xml().encode() + b"\n")

    def save_live(self, net: NetworkDef) -> None:
        """Mark ``net`` running with this live definition."""
        write_atomically(self._status(net.name), net.to_xml().encode() + b"\n", sync=False)

    def save_host(self, name: str, host: HostRecord) -> None:
        """Record what start makes on the host for ``name`` (before making it)."""
        write_atomically(self._host(name), json.dumps(host.to_json()).encode() + b"\n", sync=False)

    def remove_live(self, name: str) -> None:
        """Mark ``name`` not running and forget its host record (everything in it is gone)."""
        for path in (self._status(name), self._host(name)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
