"""The shape of virtcore.xml: no import cycles, no arrow out of the core, coverage derived."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import virtcore.xml
from virtcore.xml import Disk, parse_domain, unmodelled
from virtcore.xml._spec import F
from virtcore.xml.devices import DEVICE_TYPES
from virtcore.xml.domain import model_tree

XML_DIR = Path(virtcore.xml.__file__).parent


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at module level or inside a function."""
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import):
            yield from (a.name for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module:
            yield n.module
            # ``from virtcore.xml import elements`` imports a module too
            yield from (f"{n.module}.{a.name}" for a in n.names)


def _graph() -> dict[str, set[str]]:
    modules = {
        "virtcore.xml" if p.stem == "__init__" else f"virtcore.xml.{p.stem}": p for p in XML_DIR.glob("*.py")
    }
    return {name: {m for m in _imports(p) if m in modules and m != name} for name, p in modules.items()}


def test_the_graph_sees_the_package() -> None:
    graph = _graph()
    assert "virtcore.xml.devices" in graph["virtcore.xml.domain"]
    assert "virtcore.xml.domain" in graph["virtcore.xml.validate"]


def test_no_import_cycles_in_the_xml_package() -> None:
    graph = _graph()
    graph.pop("virtcore.xml")  # the package re-exports its modules; none of them imports it
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            pytest.fail("import cycle: " + " -> ".join([*stack[stack.index(name) :], name]))
        if name in done:
            return
        for dep in sorted(graph.get(name, ())):
            visit(dep, [*stack, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_xml_package_imports_no_driver_and_no_core_above_it() -> None:
    allowed = ("virtcore.xml", "virtcore.errors", "virtcore.limits")
    for path in XML_DIR.glob("*.py"):
        for module in _imports(path):
            assert not module.startswith("virt_"), f"{path.name} imports driver module {module}"
            if module.startswith("virtcore."):
                assert module.startswith(allowed), f"{path.name} imports {module}"


def test_every_typed_device_class_is_in_the_coverage_tree() -> None:
    tree = model_tree()
    assert isinstance(tree, tuple)
    devices = tree[1]["devices"]
    assert isinstance(devices, tuple)
    assert set(devices[1]) == {cls.tag for cls in DEVICE_TYPES} | {"emulator"}


DISK_WITH_EXTRA = """<domain type='test'><name>vm</name><memory>1024</memory><os><type>hvm</type></os>
<devices><disk type='file' device='disk' foo='1'><source file='/a.img'/><target dev='vda'/>
<bar/></disk></devices></domain>"""


def test_coverage_is_derived_from_the_class_description(monkeypatch: pytest.MonkeyPatch) -> None:
    d = parse_domain(DISK_WITH_EXTRA)
    assert unmodelled(d) == ["domain/devices/disk[1]/@foo", "domain/devices/disk[1]/bar"]
    # a class whose description types one more attribute and child is covered without touching any table
    monkeypatch.setattr(Disk, "_typed", (*Disk._typed, F("foo", "attr", "foo"), F("bar", "flag", "bar")))
    model_tree.cache_clear()
    try:
        assert unmodelled(d) == []
    finally:
        monkeypatch.undo()
        model_tree.cache_clear()
    assert unmodelled(d) == ["domain/devices/disk[1]/@foo", "domain/devices/disk[1]/bar"]


def test_the_text_formatter_builds_no_code_from_strings() -> None:
    """Its functions derived from the descriptions are closures and attrgetters, not eval'd text."""
    for path in (XML_DIR / "_textfmt.py",):
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                assert n.func.id not in ("eval", "exec", "compile"), (
                    f"{path.name}:{n.lineno} calls {n.func.id}"
                )


def test_guest_parts_have_one_description() -> None:
    """<os>, <clock>, <cpu> are described by their typed fields alone (no _covers beside them)."""
    from virtcore.xml.domain import PARTS

    for part in PARTS:
        cls = part.cls()
        assert not hasattr(cls, "_covers"), part.tag
        assert cls._spec, part.tag
