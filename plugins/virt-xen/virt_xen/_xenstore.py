"""XenStore access through pyxs: what a running domain looks like in the store."""

from __future__ import annotations

import os
import threading
from typing import Any

import attrs

__all__ = ["XenStore", "StoreDomain", "DEFAULT_SOCKET", "DOM0_UUID"]

#: xenstored's Unix socket (C and OCaml daemons alike).
DEFAULT_SOCKET = "/run/xenstored/socket"
_SOCKETS = (DEFAULT_SOCKET, "/var/run/xenstored/socket")
#: Domain-0's UUID as Xen reports it.
DOM0_UUID = "00000000-0000-0000-0000-000000000000"


@attrs.frozen
class StoreDomain:
    """A running domain as XenStore describes it (``/local/domain/ID``)."""

    domid: int
    name: str
    uuid: str


class XenStore:
    """A thread-safe pyxs client; every read returns ``None`` for a missing path."""

    def __init__(self, client: Any, socket_path: str = DEFAULT_SOCKET) -> None:
        self._client = client
        self._lock = threading.Lock()
        #: The socket this client talks to (a watcher opens its own connection to it).
        self.socket_path = socket_path

    @classmethod
    def connect(cls, socket_path: str | None = None) -> XenStore | None:
        """Connect to xenstored's socket; ``None`` when it is absent or refuses us."""
        from pyxs import Client  # saves ~10 ms of importing virt_xen: only a host with xenstored connects

        candidates = [socket_path] if socket_path else list(_SOCKETS)
        for path in candidates:
            if not path or not os.path.exists(path):
                continue
            try:
                client = Client(unix_socket_path=path)
                client.connect()
            except Exception:  # pyxs raises ConnectionError / PyXSError / OSError variants
                continue
            return cls(client, path)
        return None

    def close(self) -> None:
        """Close the connection (idempotent, never raises)."""
        with self._lock:
            try:
                self._client.close()
            except Exception:
                pass

    def read(self, path: str) -> str | None:
        """The value at ``path``, or ``None``."""
        with self._lock:
            try:
                value = self._client.read(path.encode())
            except Exception:
                return None
        return bytes(value).decode("utf-8", "replace")

    def ls(self, path: str) -> list[str]:
        """The children of ``path`` (empty when it does not exist)."""
        with self._lock:
            try:
                names = self._client.list(path.encode())
            except Exception:
                return []
        return [bytes(n).decode("utf-8", "replace") for n in names]

    def domain(self, domid: int) -> StoreDomain | None:
        """The running domain ``domid`` (``None`` when XenStore has no such domain)."""
        name = self.read(f"/local/domain/{domid}/name")
        if name is None:
            return None
        if domid == 0:
            return StoreDomain(0, name, DOM0_UUID)
        vm = self.read(f"/local/domain/{domid}/vm") or ""
        uuid = vm.rsplit("/", 1)[-1][:36].lower()
        if len(uuid) != 36:
            return None
        return StoreDomain(domid, name, uuid)

    def domains(self) -> list[StoreDomain]:
        """Every running domain, by ascending id."""
        out = []
        for entry in self.ls("/local/domain"):
            if not entry.isdigit():
                continue
            d = self.domain(int(entry))
            if d is not None:
                out.append(d)
        return sorted(out, key=lambda d: d.domid)

    def memory(self, domid: int) -> tuple[int | None, int | None]:
        """``(static-max, target)`` of the domain's memory in KiB (``None`` when unknown)."""

        def num(path: str) -> int | None:
            v = self.read(path)
            return int(v) if v is not None and v.strip().isdigit() else None

        return num(f"/local/domain/{domid}/memory/static-max"), num(f"/local/domain/{domid}/memory/target")

    def online_vcpus(self, domid: int) -> int | None:
        """How many vCPUs the domain has online (``cpu/N/availability``)."""
        cpus = [c for c in self.ls(f"/local/domain/{domid}/cpu") if c.isdigit()]
        if not cpus:
            return None
        return sum(1 for c in cpus if self.read(f"/local/domain/{domid}/cpu/{c}/availability") == "online")
