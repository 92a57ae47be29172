"""Driver discovery: entry points in the ``virtcore.drivers`` group, through stevedore.

An entry point's name is the URI scheme it serves (``test``, ``qemu``,
``xen``); its target is a callable ``open_connection(uri, read_only)``
returning the plugin objects for one connection. Entry points are read once
per process and each driver is imported only when a URI first needs it, so
opening ``test:///default`` never imports the QEMU driver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from virtcore.errors import NoConnectError, OperationFailedError

if TYPE_CHECKING:
    from virtcore.uri import URI

__all__ = ["NAMESPACE", "DriverFactory", "InstalledDriver", "load_driver", "installed_drivers"]

#: The entry-point group drivers register in.
NAMESPACE = "virtcore.drivers"

#: What an entry point names: called once per connection.
DriverFactory = Callable[["URI", bool], Sequence[object]]

_lock = threading.Lock()
_loaded: dict[str, DriverFactory] = {}


class InstalledDriver(NamedTuple):
    """An installed driver distribution, as ``virtcore drivers`` lists it."""

    scheme: str
    target: str
    distribution: str | None
    version: str | None


def _entry_points() -> list[object]:
    from stevedore import ExtensionManager

    # list_entry_points reads stevedore's on-disk cache and memoizes it per
    # process; nothing is imported.
    manager: ExtensionManager[object] = ExtensionManager.make_test_instance([], namespace=NAMESPACE)
    return list(manager.list_entry_points())


def load_driver(scheme: str, uri_text: str) -> DriverFactory:
    """The factory serving ``scheme``, imported on first use and kept for the process.

    :raises NoConnectError: no installed driver serves the scheme.
    :raises OperationFailedError: the driver is installed but fails to import.
    """
    factory = _loaded.get(scheme)
    if factory is not None:
        return factory
    with _lock:
        factory = _loaded.get(scheme)
        if factory is not None:
            return factory
        matches = [ep for ep in _entry_points() if getattr(ep, "name", None) == scheme]
        if not matches:
            raise NoConnectError(f"URI {uri_text!r} (no driver is installed for {scheme!r})")
        ep = matches[0]
        try:
            loaded: DriverFactory = ep.load()  # type: ignore[attr-defined]
        except Exception as exc:  # a broken plugin must not take the process down
            raise OperationFailedError(
                f"driver {scheme!r} ({ep.value}) failed to load: {exc}"  # type: ignore[attr-defined]
            ) from exc
        if not callable(loaded):
            raise OperationFailedError(f"driver {scheme!r} entry point {ep.value} is not callable")  # type: ignore[attr-defined]
        factory = loaded
        _loaded[scheme] = factory
        return factory


def installed_drivers() -> list[InstalledDriver]:
    """Every driver the ``virtcore.drivers`` entry points declare, without importing them.

    The distribution that ships each one is read from the installed metadata
    (stevedore's cached entry points do not carry it).
    """
    import importlib.metadata

    dists: dict[tuple[str, str], tuple[str, str]] = {}
    for meta_ep in importlib.metadata.entry_points(group=NAMESPACE):
        if meta_ep.dist is not None:
            dists[(meta_ep.name, meta_ep.value)] = (meta_ep.dist.name, meta_ep.dist.version)
    found = []
    for ep in _entry_points():
        name, value = ep.name, ep.value  # type: ignore[attr-defined]
        dist_name, dist_version = dists.get((name, value), (None, None))
        found.append(InstalledDriver(scheme=name, target=value, distribution=dist_name, version=dist_version))
    return sorted(found, key=lambda d: d.scheme)
