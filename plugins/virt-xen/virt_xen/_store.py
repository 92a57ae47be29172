"""What the driver keeps on disk: persistent definitions, autostart marks, runtime status.

xl has no "defined but not running" domains, so, as libvirt's libxl driver does,
persistent definitions are domain XML files (``NAME.xml``) in the config
directory (``/etc/virtcore/xen``, or ``ROOT/etc`` for ``xen:///system?root=ROOT``),
with autostart marks in its ``autostart/`` subdirectory. Runtime status (the live
XML and why a domain is in its state: libxl does not record reasons) is a JSON
file per UUID in the runtime directory (``/run/virtcore/xen`` or ``ROOT/run``).
Every write is atomic: temporary file, fsync, rename.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

from virtcore.errors import SystemError_, VirtError
from virtcore.files import write_atomically
from virtcore.xml import DomainDef, parse_domain

__all__ = ["ConfigStore", "atomic_write"]


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically (:func:`virtcore.files.write_atomically`), making its folder.

    :raises SystemError_: the file cannot be written (the message names it).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SystemError_(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    write_atomically(path, data, mode=mode)


class ConfigStore:
    """Persistent definitions and runtime status of one ``xen://`` root."""

    def __init__(self, config_dir: Path, run_dir: Path) -> None:
        self.config_dir = config_dir
        self.run_dir = run_dir
        self.autostart_dir = config_dir / "autostart"
        self._lock = threading.Lock()
        self._cache_key: tuple[int, int] | None = None
        self._cache: dict[str, tuple[DomainDef, str]] = {}

    # -- definitions -------------------------------------------------------

    def _scan(self) -> dict[str, tuple[DomainDef, str]]:
        """uuid -> (definition, its XML text); re-read when the directory changes."""
        try:
            st = self.config_dir.stat()
        except OSError:
            return {}
        key = (st.st_mtime_ns, st.st_ino)
        with self._lock:
            if key == self._cache_key:
                return self._cache
        found: dict[str, tuple[DomainDef, str]] = {}
        try:
            entries = sorted(self.config_dir.glob("*.xml"))
        except OSError:
            entries = []
        for path in entries:
            try:
                text = path.read_text(encoding="utf-8")
                d = parse_domain(text)
            except (OSError, UnicodeDecodeError, VirtError):
                continue  # a broken file must not hide the others
            found[d.uuid] = (d, text)
        with self._lock:
            self._cache_key, self._cache = key, found
        return found

    def definitions(self) -> dict[str, tuple[DomainDef, str]]:
        """Every persistent definition, by UUID."""
        return self._scan()

    def get(self, uuid: str) -> tuple[DomainDef, str] | None:
        """The persistent definition with this UUID, if any."""
        return self._scan().get(uuid)

    def by_name(self, name: str) -> tuple[DomainDef, str] | None:
        """The persistent definition called ``name``, if any."""
        for d, text in self._scan().values():
            if d.name == name:
                return d, text
        return None

    def save(self, d: DomainDef, xml: str, old_name: str | None = None) -> None:
        """Write the definition (``NAME.xml``), replacing an older one."""
        atomic_write(self.config_dir / f"{d.name}.xml", xml.encode("utf-8"))
        if old_name and old_name != d.name:
            self.remove(old_name)

    def remove(self, name: str) -> None:
        """Delete the definition and autostart mark of ``name``."""
        for p in (self.config_dir / f"{name}.xml", self.autostart_dir / name):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SystemError_(f"cannot remove {p}: {exc.strerror or exc}") from None

    def autostart(self, name: str) -> bool:
        """Whether ``name`` is marked to start with the host."""
        return (self.autostart_dir / name).exists()

    def set_autostart(self, name: str, on: bool) -> None:
        """Mark or unmark ``name`` for autostart."""
        path = self.autostart_dir / name
        if on:
            atomic_write(path, f"{self.config_dir / (name + '.xml')}\n".encode(), 0o644)
        else:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SystemError_(f"cannot remove {path}: {exc.strerror or exc}") from None

    # -- runtime status ----------------------------------------------------

    def status(self, uuid: str) -> dict[str, Any]:
        """The runtime status record of ``uuid`` (empty when there is none)."""
        try:
            data = json.loads((self.run_dir / f"{uuid}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def set_status(self, uuid: str, **fields: Any) -> dict[str, Any]:
        """Update fields of the status record (``None`` removes a field) and return it."""
        with self._lock:
            data = self.status(uuid)
            for k, v in fields.items():
                if v is None:
                    data.pop(k, None)
                else:
                    data[k] = v
            atomic_write(self.run_dir / f"{uuid}.json", json.dumps(data, sort_keys=True).encode())
            return data

    def drop_status(self, uuid: str) -> None:
        """Forget the runtime status of ``uuid``."""
        with contextlib.suppress(OSError):
            (self.run_dir / f"{uuid}.json").unlink()

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every runtime status record, by UUID."""
        out: dict[str, dict[str, Any]] = {}
        try:
            paths = list(self.run_dir.glob("*.json"))
        except OSError:
            return out
        for p in paths:
            s = self.status(p.stem)
            if s:
                out[p.stem] = s
        return out
