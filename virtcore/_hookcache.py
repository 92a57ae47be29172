"""The hook cache: what pluggy accepted of each driver class, so a later open need not import pluggy.

Importing pluggy (``inspect``, its ``TypedDict`` configuration) and building its
manager cost a fresh process more than the rest of ``virtcore.open``. Most
connections are the common case: every hook has at most one implementation,
a plain method of the plugin's class with no option set. For those the
connection binds the methods itself (the direct calls it makes anyway).

What makes that safe is pluggy's own validation, recorded here: when pluggy
has registered a plugin (:func:`remember`), the plugin's class, the hooks it
implements and the argument names pluggy read are written to
``$XDG_CACHE_HOME/virtcore/hooks-ENV.txt``, keyed like the discovery cache by
the installed distributions (:func:`virtcore._drivercache.environment_key`),
and per class by the path, modification time and size of the source of every
module along its MRO (an edited editable install is a new class). A class
not recorded, recorded under another key, an instance holding a marked
function of its own, a class whose hooks or their arguments are not the
recorded ones (a module edited after this process imported it), or two
implementations of one hook make :func:`bind` answer ``None``: the caller
then uses pluggy, which validates as ever.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MethodType
from typing import Any

from virtcore import _drivercache, hookspecs
from virtcore.drivers import discovery_key, hook_names, static_lookup

__all__ = ["Binding", "bind", "cache_file", "remember", "spec_args"]

_HEADER = "virtcore-hooks-cache 1"
_IMPL_ATTR = hookspecs.PROJECT + "_impl"

#: One bound implementation: ``(plugin, callable, argument names pluggy passes)``.
Binding = tuple[object, Callable[..., Any], tuple[str, ...]]


def cache_file() -> str:
    """The hook cache of this Python environment (see :func:`virtcore._drivercache.environment_file`)."""
    return _drivercache.environment_file("hooks")


#: :func:`spec_args` of the hooks asked so far: a cold open asks each hook twice (:func:`bind`
#: and the connection's dispatch table); reading each once saves ~0.4M instructions.
_spec_args: dict[str, tuple[str, ...]] = {}


def spec_args(hook: str) -> tuple[str, ...]:
    """The argument names of ``hook``'s specification, as pluggy reads them (those without a default)."""
    args = _spec_args.get(hook)
    if args is None:
        spec = getattr(hookspecs, hook)
        code = spec.__code__
        args = code.co_varnames[: code.co_argcount]
        defaults = spec.__defaults__
        args = _spec_args[hook] = args[: len(args) - len(defaults)] if defaults else args
    return args


def _class_key(cls: type) -> str | None:
    """``module:qualname`` of a class importable by that name, else ``None`` (a local class)."""
    if "<locals>" in cls.__qualname__:
        return None
    return f"{cls.__module__}:{cls.__qualname__}"


def _sources(cls: type, stats: dict[str, str | None]) -> list[str] | None:
    """``PATH|MTIME_NS|SIZE`` of the source of every module along ``cls``'s MRO, else ``None``."""
    found: list[str] = []
    for klass in cls.__mro__:
        name = klass.__module__
        if name == "builtins":
            continue
        if name not in stats:
            path = getattr(sys.modules.get(name), "__file__", None)
            try:
                st = os.stat(path) if isinstance(path, str) else None
            except OSError:
                st = None
            stats[name] = f"{path}|{st.st_mtime_ns}|{st.st_size}" if st else None
        source = stats[name]
        if source is None:
            return None
        if source not in found:
            found.append(source)
    return found


def _own_marks(plugin: object) -> bool:
    """Whether ``plugin``'s own ``__dict__`` holds something marked (pluggy would register it)."""
    own = getattr(plugin, "__dict__", None)
    if not isinstance(own, dict):
        return True  # slots or an odd __dict__: leave it to pluggy
    return any(getattr(v, _IMPL_ATTR, None) is not None for v in own.values())


def _read() -> tuple[tuple[str, ...], dict[str, list[str]]]:
    """The environment key, and the rows cached under it by class key."""
    key = discovery_key()
    rows = _drivercache.read_rows(cache_file(), _HEADER, key) or []
    return key, {row[0]: row for row in rows if len(row) >= 3}


def _field(hooks: Iterable[tuple[str, tuple[str, ...]]]) -> str:
    """``HOOK:ARG,ARG;HOOK:...``: how a row records a class's hooks and their arguments, by hook name."""
    return ";".join(f"{hook}:{','.join(args)}" for hook, args in sorted(hooks))


def bind(plugins: Sequence[tuple[object, frozenset[str]]], *more: object) -> dict[str, Binding] | None:
    """Each hook's one implementation among ``plugins`` (each with its :func:`hook_names`, as the
    caller checked it) and ``more``, bound, if pluggy accepted them all before.

    ``None`` when any plugin is outside what the cache records (see the module's docstring).
    """
    _, rows = _read()
    stats: dict[str, str | None] = {}
    table: dict[str, Binding] = {}
    for plugin, names in [*plugins, *((p, hook_names(p)) for p in more)]:
        cls = type(plugin)
        row = rows.get(_class_key(cls) or "")
        if row is None or _own_marks(plugin) or _sources(cls, stats) != row[2:]:
            return None
        found: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {}
        lookup = static_lookup(plugin)
        for hook in names:  # names are the contract's hooks (hook_names checked them)
            fn = lookup(hook)
            if fn is None or hook in table:
                return None
            args = _method_args(fn)
            spec = spec_args(hook)
            for arg in args:
                if arg not in spec:
                    return None  # pluggy refuses it: never what it accepted
            found[hook] = (fn, args)
        # The class this process imported must be the one recorded (a module edited after its
        # import, and recorded by another process, is not): its hooks and their arguments, compared
        # as the row writes them (one format, written and read by _field).
        if row[1] != _field((hook, args) for hook, (_, args) in found.items()):
            return None
        for hook, (method, args) in found.items():
            table[hook] = (plugin, MethodType(method, plugin), args)
    return table


def _method_args(fn: Any) -> tuple[str, ...]:
    """The argument names pluggy passes to method ``fn`` of an instance: no ``self``, none defaulted."""
    code = fn.__code__
    args: tuple[str, ...] = code.co_varnames[1 : code.co_argcount]
    defaults = fn.__defaults__
    return args[: len(args) - len(defaults)] if defaults else args


def remember(accepted: Mapping[object, Mapping[str, tuple[str, ...]] | None]) -> None:
    """Record what pluggy accepted: ``{plugin: {hook: argument names}}`` (``None``: not the common case)."""
    key, rows = _read()
    stats: dict[str, str | None] = {}
    changed = False
    for plugin, hooks in accepted.items():
        cls = type(plugin)
        class_key = _class_key(cls)
        sources = _sources(cls, stats)
        if hooks is None or class_key is None or sources is None or _own_marks(plugin):
            continue
        row = [class_key, _field(hooks.items()), *sources]
        if rows.get(class_key) != row:
            rows[class_key] = row
            changed = True
    if changed:
        _drivercache.write_rows(cache_file(), _HEADER, key, rows.values())
