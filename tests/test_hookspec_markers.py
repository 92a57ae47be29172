"""virtcore's hook markers write exactly what pluggy's markers for ``virtcore`` write.

:data:`virtcore.hookspec` and :data:`virtcore.hookimpl` are virtcore's own so
that ``import virtcore`` need not import pluggy; pluggy still reads what they
leave on a function. Each test compares the attribute for every combination of
options with pluggy's own marker's, so a pluggy release that changes the shape
fails here rather than silently losing an option.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

import pluggy
import pytest

import virtcore
from virtcore import hookspecs


def _function() -> Callable[..., None]:
    def virt_domain_get_info(uuid: str) -> None: ...

    return virt_domain_get_info


def _marks(marker: Callable[..., Any], options: dict[str, Any], attr: str) -> list[object]:
    """What ``marker`` leaves under ``attr``, used bare (no options) and as ``marker(**options)``."""
    direct, factory = _function(), _function()
    marker(direct, **options)
    marker(**options)(factory)
    return [getattr(direct, attr, "missing"), getattr(factory, attr, "missing")]


IMPL_OPTIONS = [
    dict(zip(("hookwrapper", "optionalhook", "tryfirst", "trylast", "wrapper"), flags, strict=True))
    | {"specname": specname}
    for flags in itertools.product((False, True), repeat=5)
    for specname in (None, "virt_domain_get_info")
]

SPEC_OPTIONS = [
    {"firstresult": first, "historic": historic, "warn_on_impl": warn, "warn_on_impl_args": warn_args}
    for first, historic in itertools.product((False, True), repeat=2)
    if not (first and historic)
    for warn in (None, DeprecationWarning("old"))
    for warn_args in (None, {"uuid": DeprecationWarning("uuid")})
]


@pytest.mark.parametrize("options", IMPL_OPTIONS)
def test_hookimpl_writes_what_pluggy_s_marker_writes(options: dict[str, Any]) -> None:
    attr = hookspecs.PROJECT + "_impl"
    ours = _marks(virtcore.hookimpl, options, attr)
    assert ours == _marks(pluggy.HookimplMarker(hookspecs.PROJECT), options, attr)
    assert ours[0] is not ours[1] and ours[0] == options  # a dict of its own per function


def test_hookimpl_bare_writes_what_pluggy_s_bare_marker_writes() -> None:
    attr = hookspecs.PROJECT + "_impl"
    ours, theirs = virtcore.hookimpl(_function()), pluggy.HookimplMarker(hookspecs.PROJECT)(_function())
    assert getattr(ours, attr) == getattr(theirs, attr)
    assert virtcore.hookimpl(tryfirst=True)(ours) is ours


@pytest.mark.parametrize("options", SPEC_OPTIONS)
def test_hookspec_writes_what_pluggy_s_marker_writes(options: dict[str, Any]) -> None:
    attr = hookspecs.PROJECT + "_spec"
    assert _marks(hookspecs.hookspec, options, attr) == _marks(
        pluggy.HookspecMarker(hookspecs.PROJECT), options, attr
    )


def test_a_historic_firstresult_spec_is_refused_as_pluggy_refuses_it() -> None:
    refused = []
    for marker in (hookspecs.hookspec, pluggy.HookspecMarker(hookspecs.PROJECT)):
        with pytest.raises(ValueError) as info:
            marker(firstresult=True, historic=True)(_function())
        refused.append(str(info.value))
    assert refused[0] == refused[1]


def test_pluggy_reads_our_marks_as_its_own() -> None:
    # A manager built from pluggy's markers and one from ours call the same implementations.
    class Spec:
        @hookspecs.hookspec(firstresult=True)
        def virt_domain_get_info(self, uuid: str) -> None: ...

    class Driver:
        @virtcore.hookimpl(trylast=True)
        def virt_domain_get_info(self, uuid: str) -> str:
            return "ours:" + uuid

    class ThirdParty:
        @pluggy.HookimplMarker("virtcore")
        def virt_domain_get_info(self, uuid: str) -> str:
            return "pluggy's:" + uuid

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(Spec)
    pm.register(Driver())
    pm.register(ThirdParty())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pm.hook.virt_domain_get_info(uuid="u") == "pluggy's:u"
    (impl, _) = sorted(pm.hook.virt_domain_get_info.get_hookimpls(), key=lambda i: not i.trylast)
    assert impl.trylast and isinstance(impl.plugin, Driver)
