"""The import graph: no cycles in the core or within a plugin, and no arrow from the core into a plugin.

Read from the source, not from ``sys.modules``: every ``import`` statement of
every ``.py`` file of a package, at module level and inside functions, is
an arrow (imports under ``if TYPE_CHECKING:`` never run, so they draw no
arrow for cycles; they still may not name a plugin from the core). Importing
``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``; those implicit
arrows are not drawn, or every package would be a cycle with its modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Each package: its import name and its directory.
PACKAGES = {
    "virtcore": ROOT / "virtcore",
    "virt_test": ROOT / "plugins" / "virt-test" / "virt_test",
    "virt_qemu": ROOT / "plugins" / "virt-qemu" / "virt_qemu",
    "virt_xen": ROOT / "plugins" / "virt-xen" / "virt_xen",
    "virt_storage": ROOT / "plugins" / "virt-storage" / "virt_storage",
    "virt_network": ROOT / "plugins" / "virt-network" / "virt_network",
    "virt_libvirt": ROOT / "plugins" / "virt-libvirt" / "virt_libvirt",
    "virt_remote": ROOT / "plugins" / "virt-remote" / "virt_remote",
}
PLUGINS = sorted(set(PACKAGES) - {"virtcore"})


def modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name)."""
    base = PACKAGES[package]
    found = {}
    for path in sorted(base.rglob("*.py")):
        parts = [package, *path.relative_to(base).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(module: str, path: Path) -> Iterator[tuple[str, bool]]:
    """``(dotted name, runs)`` for each name an import in ``path`` may load.

    ``from a import b`` yields ``a.b``, a module or an attribute of module
    ``a`` (see :func:`graph`); ``runs`` is False under ``if TYPE_CHECKING:``.
    """
    is_package = path.name == "__init__.py"
    package_parts = module.split(".") if is_package else module.split(".")[:-1]

    def walk(node: ast.AST, runs: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, False)
            for child in node.orelse:
                yield from walk(child, runs)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, runs
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            for alias in node.names:
                yield f"{base}.{alias.name}", runs
        for child in ast.iter_child_nodes(node):
            yield from walk(child, runs)

    yield from walk(ast.parse(path.read_text(), str(path)), True)


def graph(package: str) -> dict[str, set[str]]:
    """Arrows between the modules of ``package`` that run (an import of a name picks its module)."""
    mods = modules(package)
    arrows: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        for name, runs in imported_names(module, path):
            if runs and name in mods and name != module:
                arrows[module].add(name)
    # ``from pkg import name`` where name is an attribute, not a module, is an
    # arrow to pkg; ``from pkg import sub`` is an arrow to pkg.sub only.
    for module, path in mods.items():
        for name, runs in imported_names(module, path):
            if runs and name not in mods and name.rpartition(".")[0] in mods:
                parent = name.rpartition(".")[0]
                if parent != module:
                    arrows[module].add(parent)
    return arrows


def cycles(arrows: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(arrows[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(arrows):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_walker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n    from .c import thing\n")
    (pkg / "b.py").write_text("import pkg.a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    PACKAGES["pkg"] = pkg
    try:
        arrows = graph("pkg")
    finally:
        del PACKAGES["pkg"]
    assert arrows == {"pkg": set(), "pkg.a": {"pkg.b", "pkg.c"}, "pkg.b": {"pkg.a"}, "pkg.c": set()}
    assert cycles(arrows) == [["pkg.a", "pkg.b"]]


def test_the_core_arrows_are_read() -> None:
    # A cycle test over a graph read wrong would pass vacuously: pin some arrows.
    arrows = graph("virtcore")
    assert {"virtcore.drivers", "virtcore.errors", "virtcore.uri"} <= arrows["virtcore.connection"]
    assert "virtcore.drivers" in arrows["virtcore.cli"]  # a function-level import
    assert "virtcore.xml.domain" in arrows["virtcore.xml.validate"]


def test_no_cycles_in_the_xml_model() -> None:
    assert cycles(graph("virtcore")) == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_no_cycles_within_a_plugin(plugin: str) -> None:
    assert cycles(graph(plugin)) == []


def test_the_core_never_imports_a_plugin() -> None:
    offending = [
        f"{module} imports {name}"
        for module, path in modules("virtcore").items()
        for name, _ in imported_names(module, path)
        if name.split(".")[0] in PLUGINS
    ]
    assert offending == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_test_helper_of_stevedore_in_production_code(package: str) -> None:
    # stevedore's make_test_instance builds managers for tests; discovery goes
    # through virtcore.drivers (its cache, else stevedore's entry-point cache).
    used = [
        f"{module}:{node.lineno}"
        for module, path in modules(package).items()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if (isinstance(node, ast.Attribute) and node.attr == "make_test_instance")
        or (isinstance(node, ast.Name) and node.id == "make_test_instance")
        or (isinstance(node, ast.alias) and node.name == "make_test_instance")
    ]
    assert used == []
