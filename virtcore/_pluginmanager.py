"""pluggy's plugin manager for a connection, and what a registration proved about each plugin class.

Imported only when pluggy is needed (see :mod:`virtcore._hookcache`): on the
first open of a set of driver classes, for plugins outside the common case,
for :meth:`virtcore.Connection.register_plugin`, and for the offline format
converters.
"""

from __future__ import annotations

from types import MethodType, ModuleType
from typing import Any, cast

import pluggy
from pluggy._hooks import normalize_hookimpl_opts

from virtcore import hookspecs
from virtcore._dispatch import PREFIX
from virtcore.drivers import static_function
from virtcore.errors import OperationFailedError

__all__ = ["Manager", "new_manager", "register", "common_case_hooks"]


class Manager(pluggy.PluginManager):
    """pluggy's manager, reading only names that can be virtcore hooks, and plain functions the quick way.

    Saves ~0.7 ms per open (a third of registering): pluggy otherwise inspects
    every attribute, and half of a driver's are Python's dunders. A ``virt_*``
    name that is a plain function (:func:`~virtcore.drivers.static_function`)
    has its marker read directly, as pluggy would read it; anything else goes
    through pluggy's own reading.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """Skip dunders (never a hook), read plain ``virt_*`` functions directly, else pluggy's reading."""
        if name.startswith("__"):
            return None
        if name.startswith(PREFIX) and (fn := static_function(plugin, name)) is not None:
            return cast("pluggy.HookimplOpts | None", _marker(fn, _IMPL_OPTS))
        return super().parse_hookimpl_opts(plugin, name)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """pluggy's registration, binding plain ``virt_*`` functions the quick way.

        Saves ~7M instructions of a cold open: pluggy binds every implementation
        through ``inspect.getattr_static`` (twice per hook of an instance). The
        steps and checks stay pluggy's: its names, its :class:`pluggy.HookImpl`,
        its ``_verify_hook`` on every implementation before anything is
        registered. A plugin holding a hook that is not a plain function
        (:func:`~virtcore.drivers.static_function`), or a name pluggy refuses or
        blocks, takes pluggy's own path.
        """
        if plugin is None:
            return super().register(plugin, name)
        plugin_name = name or self.get_canonical_name(plugin)
        if plugin_name in self._name2plugin or plugin in self._name2plugin.values():
            return super().register(plugin, name)  # pluggy's answer: blocked (None) or ValueError
        bound = not isinstance(plugin, (type, ModuleType))
        found: list[tuple[str, pluggy.HookImpl, bool]] = []
        for attr in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            fn = static_function(plugin, attr)
            if fn is None:
                return super().register(plugin, name)
            normalize_hookimpl_opts(opts)
            impl = pluggy.HookImpl(plugin, plugin_name, MethodType(fn, plugin) if bound else fn, opts)
            hook_name = opts.get("specname") or attr
            hook: pluggy.HookCaller | None = getattr(self.hook, hook_name, None)
            verified = hook is not None and hook.has_spec()
            if hook is not None and verified:
                self._verify_hook(hook, impl)
            found.append((hook_name, impl, verified))
        self._name2plugin[plugin_name] = plugin
        for hook_name, impl, verified in found:
            hook = getattr(self.hook, hook_name, None)
            if hook is None:
                hook = pluggy.HookCaller(hook_name, self._hookexec)
                setattr(self.hook, hook_name, hook)
            elif not verified and hook.has_spec():
                self._verify_hook(hook, impl)  # a spec an earlier historic replay added
            hook._maybe_apply_history(impl)
            hook._add_hookimpl(impl)
        return plugin_name

    def parse_hookspec_opts(
        self, module_or_class: ModuleType | type, name: str
    ) -> pluggy.HookspecOpts | None:
        """Only ``virt_*`` names of :mod:`virtcore.hookspecs` are hook specifications."""
        if not name.startswith(PREFIX):
            return None
        if (fn := static_function(module_or_class, name)) is not None:
            return cast("pluggy.HookspecOpts | None", _marker(fn, _SPEC_OPTS))
        return super().parse_hookspec_opts(module_or_class, name)


#: Where the markers keep their options on a function.
_IMPL_OPTS, _SPEC_OPTS = hookspecs.PROJECT + "_impl", hookspecs.PROJECT + "_spec"


def _marker(fn: object, attr: str) -> dict[str, Any] | None:
    """The options a marker left on ``fn`` under ``attr`` (a dict), else ``None``, as pluggy reads."""
    opts = getattr(fn, attr, None)
    return opts if isinstance(opts, dict) else None


def new_manager() -> pluggy.PluginManager:
    """A plugin manager knowing virtcore's hook specifications, and no plugin yet."""
    pm = Manager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def register(pm: pluggy.PluginManager, plugin: object, name: str | None, driver: str) -> None:
    """Register a checked ``plugin``; pluggy's validation errors become VirtErrors, and leave nothing."""
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        raise OperationFailedError(
            f"driver {driver!r} plugin {type(plugin).__name__}: {' '.join(str(exc).split())}"
        ) from None


def common_case_hooks(pm: pluggy.PluginManager, plugin: object) -> dict[str, tuple[str, ...]] | None:
    """``{hook: argument names}`` pluggy registered for ``plugin``, if all of it is the common case.

    The common case: an instance whose every implementation is a plain function
    of its class, named as its hook (no ``specname``), with no option set (no
    wrapper, ``tryfirst``, ``trylast``, ``optionalhook``), of a hook with a
    specification that is neither historic nor warns. ``None`` otherwise.
    """
    if isinstance(plugin, (type, ModuleType)):
        return None
    found: dict[str, tuple[str, ...]] = {}
    for caller in pm.get_hookcallers(plugin) or ():
        spec = caller.spec
        if spec is None or spec.opts.get("historic") or spec.warn_on_impl or spec.warn_on_impl_args:
            return None
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            plain = not (impl.wrapper or impl.hookwrapper or impl.tryfirst or impl.trylast)
            if not plain or impl.optionalhook or impl.opts.get("specname") is not None:
                return None
            fn = static_function(plugin, caller.name)
            if fn is None or getattr(impl.function, "__func__", None) is not fn or caller.name in found:
                return None
            found[caller.name] = tuple(impl.argnames)
    return found
