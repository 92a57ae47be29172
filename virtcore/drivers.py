"""Driver discovery: entry points in the ``virtcore.drivers`` group, through stevedore.

An entry point's name is the URI scheme it serves (``test``, ``qemu``,
``xen``); its target is called ``target(uri, read_only)`` and returns the
plugin objects for one connection. Entry points are read once per process
(from the discovery cache when it is current, see :mod:`virtcore._drivercache`)
and each driver is imported only when a URI first needs it, so opening
``test:///default`` never imports the QEMU driver.

A driver's entry point follows :class:`DriverEntryPoint`: what
:func:`describe_driver` returns, a factory that also declares the classes of
the objects it can return (so what it supports is known without opening a
connection, see :func:`static_operations`) and, optionally,
a URI that is cheap and safe to open for probing. A plain callable still
works as an entry point; it just declares nothing. :func:`hook_names` checks every plugin
against the contract: a ``virt_*`` method that matches no hook is an error,
never a silently unsupported operation.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple would compile each string
# annotation (a ForwardRef per field); a cold open then compiles nothing (~8M instructions).
import _thread  # not threading: saves ~1 ms of a cold open (threading's own import)
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import FunctionType, ModuleType
from typing import TYPE_CHECKING, NamedTuple, Protocol, final

from virtcore import _drivercache, hookspecs, xdg
from virtcore.errors import InvalidArgError, NoConnectError, OperationFailedError
from virtcore.uri import is_driver_name

if TYPE_CHECKING:
    from virtcore.uri import URI

__all__ = [
    "NAMESPACE",
    "DescribedDriver",
    "DriverEntryPoint",
    "DriverFactory",
    "InstalledDriver",
    "describe_driver",
    "discovery_key",
    "declared_plugin_classes",
    "declared_default_uri",
    "declared_secondary",
    "hook_names",
    "installed_drivers",
    "load_driver",
    "static_function",
    "static_lookup",
]

#: The entry-point group drivers register in.
NAMESPACE = "virtcore.drivers"

#: What an entry point names, at the least: called once per connection.
DriverFactory = Callable[["URI", bool], Sequence[object]]


class DriverEntryPoint(Protocol):
    """What a driver's ``virtcore.drivers`` entry point names: a factory that describes itself.

    :func:`describe_driver` builds one from the driver's ``open_connection``.
    """

    @property
    def plugin_classes(self) -> tuple[type, ...]:
        """The classes of every object the factory may return (all channels)."""

    @property
    def default_uri(self) -> str | None:
        """A URI that is cheap and side-effect free to open read-only, if there is one."""

    @property
    def secondary(self) -> tuple[str, ...]:
        """Schemes of the secondary drivers (``"storage"``...) this driver's connections also get."""

    def __call__(self, uri: "URI", read_only: bool) -> Sequence[object]:
        """The plugin objects serving ``uri`` for one connection."""


_HOOK_PREFIX = "virt_"
#: pluggy's ``HookimplMarker`` stores its options under ``<project>_impl``.
_IMPL_ATTR = hookspecs.PROJECT + "_impl"

_lock = _thread.allocate_lock()
_loaded: dict[str, DriverFactory] = {}


class InstalledDriver(NamedTuple):
    """An installed driver distribution, as ``virtcore drivers`` lists it."""

    scheme: str
    target: str
    distribution: str | None
    version: str | None


class _Found:
    """A discovered entry point; ``metadata_dir`` is where its distribution's metadata lives.

    A plain class, not a NamedTuple: nothing reads it as a tuple, and building a
    NamedTuple cost every cold ``import virtcore`` ~0.5M instructions.
    """

    __slots__ = ("distribution", "metadata_dir", "scheme", "target", "version")

    def __init__(
        self,
        scheme: str,
        target: str,
        distribution: str | None,
        version: str | None,
        metadata_dir: str | None,
    ) -> None:
        self.scheme = scheme
        self.target = target
        self.distribution = distribution
        self.version = version
        self.metadata_dir = metadata_dir


#: The process's view of the installed drivers, and whether stevedore gave it (else the cache).
_found: list[_Found] | None = None
_found_by_stevedore = False
#: The environment key ``_found`` was discovered under.
_found_key: tuple[str, ...] | None = None


def discovery_key() -> tuple[str, ...]:
    """The environment key (:func:`virtcore._drivercache.environment_key`) of the drivers this
    process discovered, else the current one.

    Saves computing the key twice on a cold open (~2M instructions): the hook cache is keyed alike.
    """
    if _found is not None and _found_key is not None:
        return _found_key
    return _drivercache.environment_key()


def _discover(*, bypass_cache: bool = False) -> list[_Found]:
    """The installed drivers: from the discovery cache when it is current, else through stevedore."""
    global _found, _found_by_stevedore, _found_key
    if _found is not None and (_found_by_stevedore or not bypass_cache):
        return _found
    key = _drivercache.environment_key()
    cached = None if bypass_cache else _drivercache.read(key)
    if cached is not None:
        _found, _found_key = [_Found(*entry) for entry in cached], key
        return _found
    found = _stevedore_entry_points()
    cacheable = [
        _drivercache.CachedEntry(f.scheme, f.target, f.distribution, f.version, f.metadata_dir)
        for f in found
        if f.distribution and f.version and f.metadata_dir
    ]
    if len(cacheable) == len(found):  # else some entry could never be checked: stay uncached
        _drivercache.write(key, cacheable)
    _found, _found_by_stevedore, _found_key = found, True, key
    return found


def _stevedore_entry_points() -> list[_Found]:
    """Every ``virtcore.drivers`` entry point as stevedore discovers it, with its distribution.

    stevedore's cached entry points do not carry the distribution: that is
    read from the installed metadata.
    """
    # Imported here: the discovery cache exists so that a warm process never
    # pays for these two (~40% of a cold ``virtcore.open`` without the cache).
    import importlib.metadata

    from stevedore import _cache

    # stevedore's module-level cache takes $XDG_CACHE_HOME as it is, and a
    # relative value would put it under the working directory: give it the
    # directory the XDG spec means instead.
    stevedore_cache = _cache.Cache(os.path.join(xdg.cache_dir(), "python-entrypoints"))
    dists: dict[tuple[str, str], tuple[str, str, str | None]] = {}
    for meta_ep in importlib.metadata.entry_points(group=NAMESPACE):
        dist = meta_ep.dist
        if dist is not None:
            where = getattr(dist, "_path", None)  # a PathDistribution's metadata directory
            metadata_dir = os.fspath(where) if isinstance(where, os.PathLike) else None
            dists[(meta_ep.name, meta_ep.value)] = (dist.name, dist.version, metadata_dir)
    found = []
    for ep in stevedore_cache.get_group_all(NAMESPACE):
        dist_name, dist_version, metadata_dir = dists.get((ep.name, ep.value), (None, None, None))
        found.append(_Found(ep.name, ep.value, dist_name, dist_version, metadata_dir))
    return found


def _still_declared(found: _Found) -> bool:
    """Whether a cached entry's distribution still declares it (its ``entry_points.txt``)."""
    if found.metadata_dir is None:
        return False
    return _drivercache.declares(found.metadata_dir, found.scheme, found.target, NAMESPACE)


def _resolve(target: str) -> object:
    """Import ``module[:attr.attr]`` (an entry point's target, extras ignored) and return the object."""
    module_name, _, attrs = target.split("[", 1)[0].strip().partition(":")
    name = module_name.strip()
    # __import__ and sys.modules, as importlib.import_module does for an absolute name: importing
    # importlib's package for it cost every cold open ~0.3M instructions.
    __import__(name)
    obj: object = sys.modules[name]
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def _lookup(scheme: str) -> _Found | None:
    """The entry point serving ``scheme``; a cached one only if its distribution still declares it."""
    for found in _discover():
        if found.scheme == scheme:
            if _found_by_stevedore or _still_declared(found):
                return found
            break
    if _found_by_stevedore:
        return None
    # Not cached, or the cache disagrees with the distribution: stevedore decides.
    return next((f for f in _discover(bypass_cache=True) if f.scheme == scheme), None)


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
        found = _lookup(scheme)
        if found is None:
            raise NoConnectError(f"URI {uri_text!r} (no driver is installed for {scheme!r})")
        try:
            loaded = _resolve(found.target)
        except Exception as exc:  # a broken plugin must not take the process down
            raise OperationFailedError(f"driver {scheme!r} ({found.target}) failed to load: {exc}") from exc
        if not callable(loaded):
            raise OperationFailedError(f"driver {scheme!r} entry point {found.target} is not callable")
        factory = loaded
        _loaded[scheme] = factory
        return factory


def installed_drivers() -> list[InstalledDriver]:
    """Every driver the ``virtcore.drivers`` entry points declare, without importing them."""
    found = _discover()
    if not _found_by_stevedore and not all(map(_still_declared, found)):
        found = _discover(bypass_cache=True)
    listed = [InstalledDriver(f.scheme, f.target, f.distribution, f.version) for f in found]
    return sorted(listed, key=lambda d: d.scheme)


# ---------------------------------------------------------------------------
# What a driver declares, and checking plugins against the contract
# ---------------------------------------------------------------------------


@final
class DescribedDriver:
    """A driver's entry point as :func:`describe_driver` returns it (a :class:`DriverEntryPoint`)."""

    __slots__ = ("_default_uri", "_factory", "_plugin_classes", "_secondary")

    def __init__(
        self,
        factory: DriverFactory,
        plugin_classes: tuple[type, ...],
        default_uri: str | None,
        secondary: tuple[str, ...] = (),
    ) -> None:
        self._factory = factory
        self._plugin_classes = plugin_classes
        self._default_uri = default_uri
        self._secondary = secondary

    @property
    def plugin_classes(self) -> tuple[type, ...]:
        """The classes of every object the factory may return."""
        return self._plugin_classes

    @property
    def default_uri(self) -> str | None:
        """The URI to probe the driver with, if it declared one."""
        return self._default_uri

    @property
    def secondary(self) -> tuple[str, ...]:
        """The secondary drivers' schemes this driver's connections also get."""
        return self._secondary

    def __call__(self, uri: "URI", read_only: bool) -> Sequence[object]:
        """Open: the plugin objects of ``factory`` for this connection."""
        return self._factory(uri, read_only)

    def __repr__(self) -> str:
        return f"DescribedDriver({getattr(self._factory, '__qualname__', self._factory)!r})"


def describe_driver(
    factory: DriverFactory,
    *,
    plugin_classes: Iterable[type],
    default_uri: str | None = None,
    secondary: Iterable[str] = (),
) -> DriverEntryPoint:
    """The entry point of a driver whose ``factory`` returns objects of ``plugin_classes``.

    Name the result in the distribution's ``virtcore.drivers`` entry point
    (``test = "virt_test:driver"`` for ``driver = describe_driver(...)`` at
    the end of the module, once the classes exist). ``plugin_classes`` are
    the classes of every object the factory may return (all channels, even
    ones only some connections get): ``virtcore drivers`` and the
    documentation's support matrix derive the driver's operations from their
    ``@hookimpl`` methods without opening a connection. ``default_uri`` is a
    URI that is cheap and side-effect free to open (read-only), if there is
    one.

    ``secondary`` names *secondary drivers* by the scheme they serve
    (``"storage"``): libvirt's shape, where one storage (network, node device)
    driver serves every hypervisor connection of a host. Each connection to
    this driver also opens each named one, if installed, with the same URI
    in its scheme (``qemu:///embed?root=D`` gives ``storage:///embed?root=D``)
    and registers its objects *before* this driver's, so this driver's own
    implementations answer first. One not installed, or declining the URI
    (``NoConnectError``), leaves its operations unsupported.

    :raises OperationFailedError: a class has a ``virt_*`` method that is not a
        hook of the contract, or is not marked ``@hookimpl``.
    :raises InvalidArgError: ``plugin_classes`` holds something else than classes,
        or ``default_uri`` is not a non-empty string.
    """
    classes = tuple(plugin_classes)
    for cls in classes:
        if not isinstance(cls, type):
            raise InvalidArgError(f"describe_driver: plugin_classes must hold classes, not {cls!r}")
        hook_names(cls)
    if default_uri is not None and not (isinstance(default_uri, str) and default_uri):
        raise InvalidArgError(f"describe_driver: default_uri must be a non-empty string, not {default_uri!r}")
    schemes = tuple(secondary)
    if isinstance(secondary, str) or not all(isinstance(x, str) and is_driver_name(x) for x in schemes):
        raise InvalidArgError(f"describe_driver: secondary must list URI schemes, not {secondary!r}")
    return DescribedDriver(factory, classes, default_uri, schemes)


def declared_plugin_classes(factory: DriverFactory) -> tuple[type, ...] | None:
    """The plugin classes an entry point declares (a :class:`DriverEntryPoint`), or ``None``."""
    declared = getattr(factory, "plugin_classes", None)
    if isinstance(declared, tuple) and all(isinstance(c, type) for c in declared):
        return declared
    return None


def declared_secondary(factory: DriverFactory) -> tuple[str, ...]:
    """The secondary drivers' schemes an entry point declares (a :class:`DriverEntryPoint`)."""
    declared = getattr(factory, "secondary", ())
    return declared if isinstance(declared, tuple) and all(isinstance(x, str) for x in declared) else ()


def declared_default_uri(factory: DriverFactory) -> str | None:
    """The probing URI an entry point declares (a :class:`DriverEntryPoint`), if any."""
    declared = getattr(factory, "default_uri", None)
    return declared if isinstance(declared, str) and declared else None


def static_function(obj: object, name: str) -> FunctionType | None:
    """The plain function ``inspect.getattr_static(obj, name)`` finds, or ``None`` if it finds no such thing.

    Read the quick way for what plugins and hookspec modules are made of: a
    module's own function, a function in the class dictionaries along a
    class's MRO (or along an instance's class, when the instance's own
    ``__dict__`` does not hold the name). Anything else answers ``None``, and
    the caller takes inspect's general path. Saves ~12M instructions of a
    cold open: pluggy and :func:`hook_names` read every hookspec and every
    plugin attribute statically, and inspect's lookup is general and slow.
    """
    return static_lookup(obj)(name)


def static_lookup(obj: object) -> Callable[[str], FunctionType | None]:
    """:func:`static_function` for ``obj``, its namespaces read once: for looking up many names.

    A plugin's every hook is looked up this way when a connection opens; reading
    the instance's and classes' dictionaries once saves ~1M instructions of a cold open.
    """
    own: dict[str, object] | None = None
    if type(obj) is ModuleType:
        namespaces: tuple[Mapping[str, object], ...] = (obj.__dict__,)
    else:
        if not isinstance(obj, type):
            try:
                found = object.__getattribute__(obj, "__dict__")
            except AttributeError:
                found = None
            if not isinstance(found, dict):
                return _nothing  # slots or an odd __dict__: inspect decides
            own = found
        namespaces = tuple(klass.__dict__ for klass in (obj if isinstance(obj, type) else type(obj)).__mro__)

    def lookup(name: str) -> FunctionType | None:
        if own is not None and name in own:
            return None  # an instance's own attribute: inspect decides
        for namespace in namespaces:
            if name in namespace:
                value = namespace[name]
                return value if type(value) is FunctionType else None
        return None

    return lookup


def _nothing(name: str) -> None:
    """The :func:`static_lookup` of an object whose attributes only inspect can read."""
    return None


def hook_names(plugin: object) -> frozenset[str]:
    """The hooks (``virt_*`` names) that ``plugin``, an object or a class, implements.

    Read statically: no attribute is evaluated, so properties are not run.

    :raises OperationFailedError: a ``virt_*`` method matches no hook of
        :mod:`virtcore.hookspecs` (a misspelling: the message suggests the
        closest hook), or is named like a hook but not marked ``@hookimpl``.
    """
    cls = plugin if isinstance(plugin, type) else type(plugin)
    found = set()
    lookup = static_lookup(plugin)
    for name in dir(plugin):
        if not name.startswith(_HOOK_PREFIX):
            continue
        value = lookup(name)
        if value is None:
            import inspect  # saves ~20M instructions of a cold open: only for a non-function hook

            value = inspect.getattr_static(plugin, name)
        fn = getattr(value, "__func__", value)
        if not callable(fn):
            continue
        if name not in hookspecs.HOOKS:
            import difflib  # only for a misspelled hook: keeps difflib out of every open

            close = difflib.get_close_matches(name, list(hookspecs.HOOKS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise OperationFailedError(
                f"plugin {cls.__name__}: method {name} matches no hook of the virtcore "
                f"contract (virtcore.hookspecs){hint}"
            )
        if getattr(fn, _IMPL_ATTR, None) is None:
            raise OperationFailedError(
                f"plugin {cls.__name__}: method {name} is named like a hook but is not "
                "marked @virtcore.hookimpl"
            )
        found.add(name)
    return frozenset(found)


def static_operations(classes: Iterable[type]) -> frozenset[str]:
    """Operations (hook names without ``virt_``) some of ``classes`` implement.

    What a driver supports, read from its declared plugin classes without
    opening a connection; internal hooks (connect open/close, events) are not
    operations.
    """
    names = set()
    for cls in classes:
        names |= {n[len(_HOOK_PREFIX) :] for n in hook_names(cls)}
    return frozenset(n for n in names if n in hookspecs.OPERATIONS)
