"""The tunables' table (virtcore.rpc.tunables.TUNABLES) against the hookspecs, the protocol and each layer.

Behaviour is pinned where it shows: on the wire against libvirtd by
plugins/virt-remote/tests/test_remote_typed_params.py and test_remote_conformance.py,
through libvirt-python by plugins/virt-libvirt/tests/test_compat_tunables.py (its names
against Debian's libvirt-python: test_compat_tunables_table.py). These tests make a wrong
row fail at its description, and a tunable hook no row describes fail by name.
"""

from __future__ import annotations

import inspect
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pluggy._decorators import varnames

from virtcore import Domain, hookspecs
from virtcore.rpc._remote_protocol import CONSTANTS, TYPES
from virtcore.rpc.protocol import REMOTE
from virtcore.rpc.tunables import TUNABLES, TYPED_PARAM_STRING_OKAY, Side, Tunable

API_XML = Path("/usr/share/libvirt/api/libvirt-api.xml")

SIDES = [(row, side) for row in TUNABLES for side in (row.getter, row.setter) if side is not None]
IDS = [side.hook for _, side in SIDES]

#: The typed-parameter hooks no row describes, and why. A new tunable hook gets a row or a line here.
NOT_A_ROW: dict[str, str] = {
    **dict.fromkeys(
        ("virt_domain_get_memory_parameters", "virt_domain_set_memory_parameters"),
        "no definition to pick (no live/config), and the wire pair answers its own way: the "
        "count the domain has, every value an unsigned long long (virtcore/server/domains.py)",
    ),
    **dict.fromkeys(
        ("virt_domain_get_scheduler_parameters", "virt_domain_set_scheduler_parameters"),
        "no definition to pick, and not carried over the wire yet (tests/test_rpc_calls.py's NOT_CARRIED)",
    ),
}


def _typed_parameter_hooks() -> set[str]:
    """Every hookspec of a typed-parameter tunable: a ``virt_domain_set_*`` taking ``params``, its getter."""
    found = set()
    for name in hookspecs.HOOKS:
        if (
            name.startswith("virt_domain_set_")
            and "params" in inspect.signature(getattr(hookspecs, name)).parameters
        ):
            found.add(name)
            getter = name.replace("_set_", "_get_", 1)
            if getter in hookspecs.HOOKS:
                found.add(getter)
    return found


def _fields(type_name: str | None) -> dict[str, tuple[object, ...]]:
    if type_name is None:
        return {}
    kind, body = TYPES[type_name]
    assert kind == "struct", type_name
    return dict(body)


def _undescribed(rows: tuple[Tunable, ...]) -> list[str]:
    """The typed-parameter hooks no row of ``rows`` describes and NOT_A_ROW does not explain."""
    described = {side.hook for row in rows for side in (row.getter, row.setter) if side is not None}
    return sorted(_typed_parameter_hooks() - described - set(NOT_A_ROW))


def test_every_typed_parameter_hook_has_a_row_or_is_a_listed_exception() -> None:
    missing = _undescribed(TUNABLES)
    assert not missing, (
        f"typed-parameter hooks no row of TUNABLES describes and NOT_A_ROW does not explain: {missing}"
    )
    described = {side.hook for _, side in SIDES}
    stale = sorted(h for h in NOT_A_ROW if h not in _typed_parameter_hooks() or h in described)
    assert not stale, f"NOT_A_ROW lists hooks that are gone or have a row now: {stale}"
    assert described <= _typed_parameter_hooks(), "a row names a hook the rule above does not see"


def test_a_tunable_hook_whose_row_is_missing_is_named() -> None:
    rows = tuple(row for row in TUNABLES if row.setter.hook != "virt_domain_set_block_io_tune")
    assert _undescribed(rows) == ["virt_domain_get_block_io_tune", "virt_domain_set_block_io_tune"]


@pytest.mark.parametrize(("row", "side"), SIDES, ids=IDS)
def test_a_side_names_a_hookspec_with_its_parameters(row: Tunable, side: Side) -> None:
    params = list(inspect.signature(getattr(hookspecs, side.hook)).parameters)
    assert params == ["uuid", *row.hook_params(side)]


@pytest.mark.parametrize(("row", "side"), SIDES, ids=IDS)
def test_a_side_names_the_domain_method_with_the_hooks_parameters(row: Tunable, side: Side) -> None:
    params = list(inspect.signature(getattr(Domain, side.method)).parameters)
    assert params == ["self", *row.hook_params(side)]


@pytest.mark.parametrize(("row", "side"), SIDES, ids=IDS)
def test_a_side_matches_its_procedure_its_number_and_the_protocols_limit(row: Tunable, side: Side) -> None:
    proc = REMOTE.procedure(side.procedure)
    assert proc.number == CONSTANTS[f"REMOTE_PROC_{side.procedure}"]
    args, ret = _fields(proc.args), _fields(proc.ret)
    subject = [] if row.subject is None else [row.subject.name]
    if side is row.setter:
        assert list(args) == ["dom", *subject, "params", "flags"]
        assert ret == {}
        params = args["params"]
    else:
        assert list(args) == ["dom", *subject, "nparams", "flags"]
        assert list(ret) == ["params", "nparams"]
        params = ret["params"]
    assert params == ("array", ("ref", "remote_typed_param"), CONSTANTS[row.limit])


@pytest.mark.parametrize(("row", "side"), SIDES, ids=IDS)
def test_a_side_takes_the_affect_flags_its_hook_has_and_getters_take_strings(
    row: Tunable, side: Side
) -> None:
    assert side.flags & TYPED_PARAM_STRING_OKAY == (TYPED_PARAM_STRING_OKAY if side is row.getter else 0)
    assert side.flags_of(dict.fromkeys(side.affect, True)) == side.flags & ~TYPED_PARAM_STRING_OKAY
    assert side.affect_of(side.flags) == dict.fromkeys(side.affect, True)


def test_every_row_fits_the_protocol_and_its_schema_is_libvirts_types() -> None:
    for row in TUNABLES:
        assert 0 < len(row.schema) <= CONSTANTS[row.limit]
        assert set(row.schema.values()) <= {"int", "uint", "ullong", "string"}


@pytest.mark.skipif(not API_XML.exists(), reason="libvirt-dev's libvirt-api.xml is not installed")
@pytest.mark.parametrize(("row", "side"), SIDES, ids=IDS)
def test_a_side_names_libvirts_function(row: Tunable, side: Side) -> None:
    functions = {f.get("name") for f in ET.parse(API_XML).getroot().iter("function")}
    assert side.function in functions


def test_the_remote_driver_and_the_server_implement_every_side() -> None:
    from virt_remote.driver import RemoteDriver

    from virtcore.server import daemon  # noqa: F401 - registers the handlers
    from virtcore.server.registry import HANDLERS

    for row, side in SIDES:
        impl = getattr(RemoteDriver, side.hook)
        assert varnames(impl)[0] == ("uuid", *row.hook_params(side)), side.hook
        assert f"``{side.procedure}``" in (impl.__doc__ or ""), side.hook
        assert side.procedure in HANDLERS
