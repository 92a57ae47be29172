"""The driver contract documents itself: every hookspec says what it takes, gives and raises.

The hook reference in docs/ is generated from these docstrings, and drivers
are written against them, so a hook without them is a hole in the contract.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import pytest

import virtcore
from virtcore import hookspecs

#: Parameters every domain hook takes by convention (documented once, in the module docstring).
CONVENTIONAL_PARAMS = {"uuid"}
#: Hooks whose libvirt counterpart is not a driver-table entry of the same name.
NOT_A_DRIVER_ENTRY = {
    "virt_domain_event",  # libvirt delivers events through domainEventRegisterAny
    "virt_domain_get_io_thread_stats",  # one group of connectGetAllDomainStats
}
#: Hooks with no libvirt counterpart at all: their docstring says "libvirt: no driver entry".
NO_LIBVIRT_ENTRY = {"virt_domain_users_of_path"}  # libvirt's storage driver never asks who uses a volume


def _specs() -> list[tuple[str, Callable[..., object]]]:
    found = []
    for name, fn in vars(hookspecs).items():
        if name.startswith("virt_") and callable(fn):
            found.append((name, fn))
    return sorted(found)


SPECS = _specs()


def _snake(libvirt_name: str) -> str:
    """``domainLookupByUUID`` -> ``domain_lookup_by_uuid``, ``domainGetXMLDesc`` -> ...."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", libvirt_name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def test_there_are_hookspecs_and_each_is_a_pluggy_spec() -> None:
    assert len(SPECS) >= 30
    for name, fn in SPECS:
        assert hasattr(fn, f"{hookspecs.PROJECT}_spec"), f"{name} is not marked with @hookspec"


@pytest.mark.parametrize(("name", "fn"), SPECS, ids=[n for n, _ in SPECS])
def test_hookspec_names_its_libvirt_entry_point(name: str, fn: Callable[..., object]) -> None:
    doc = inspect.getdoc(fn) or ""
    if name in NO_LIBVIRT_ENTRY:
        assert "libvirt: no driver entry" in doc, f"{name}: docstring lacks 'libvirt: no driver entry'"
        return
    m = re.search(r"libvirt: (?:the )?``(\w+)``", doc)
    assert m, f"{name}: docstring lacks 'libvirt: ``entryPoint``'"
    if name not in NOT_A_DRIVER_ENTRY:
        assert "virt_" + _snake(m.group(1)) == name, f"{name} documents libvirt's {m.group(1)}"


@pytest.mark.parametrize(("name", "fn"), SPECS, ids=[n for n, _ in SPECS])
def test_hookspec_is_tagged_mutating_or_read_only_safe(name: str, fn: Callable[..., object]) -> None:
    mutating = getattr(fn, hookspecs.MUTATING_ATTR, None)
    assert isinstance(mutating, bool), f"{name} has no {hookspecs.MUTATING_ATTR} tag"
    doc = inspect.getdoc(fn) or ""
    says_mutating = "Mutating." in doc
    says_safe = "Read-only safe" in doc
    assert says_mutating != says_safe, f"{name}: say 'Mutating.' or 'Read-only safe'"
    assert says_mutating == mutating, f"{name}: docstring and {hookspecs.MUTATING_ATTR} disagree"


@pytest.mark.parametrize(("name", "fn"), SPECS, ids=[n for n, _ in SPECS])
def test_hookspec_documents_params_and_result_or_errors(name: str, fn: Callable[..., object]) -> None:
    doc = inspect.getdoc(fn) or ""
    summary = doc.splitlines()[0] if doc else ""
    assert summary.strip(), f"{name} has no docstring"
    for param in inspect.signature(fn).parameters:
        if param in CONVENTIONAL_PARAMS:
            continue
        assert f":param {param}:" in doc or f"``{param}``" in doc, f"{name}: parameter {param!r} undocumented"
    assert ":returns:" in doc or ":raises" in doc, f"{name}: no ':returns:' or ':raises'"


def test_operations_table_follows_the_tags() -> None:
    for name, fn in SPECS:
        op = name.removeprefix("virt_")
        if op in virtcore.OPERATIONS:
            assert virtcore.OPERATIONS[op] is getattr(fn, hookspecs.MUTATING_ATTR)
