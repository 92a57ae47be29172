"""``nox -s docs`` installs everything the documentation build imports.

autodoc imports the modules the pages document, and the support matrix loads every
installed driver. Here those imports run in a fresh interpreter that refuses any module
from a distribution the docs session does not install (the project's distributions, their
dependencies, and what the session adds), so a missing one is named here rather than found
by a failing ``nox -s docs`` on a fresh checkout.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _docs_session_requirements() -> list[str]:
    """What the noxfile's ``docs`` session passes to ``_install_project`` (read, not run:
    the test environment need not have nox)."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    constants = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    (docs,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "docs"]
    found: list[str] = []
    for call in ast.walk(docs):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "_install_project":
            for arg in call.args[1:]:
                if isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
                    found.extend(constants[arg.value.id])
                elif isinstance(arg, ast.Constant):
                    found.append(arg.value)
    assert found, "the docs session installs nothing beside the project?"
    return found


def _closure(names: list[str]) -> set[str]:
    """These distributions and everything they require (without extras), as installed here."""
    seen: set[str] = set()
    todo = [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # (sphinx itself need not be installed to check the project's imports)
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return seen


def _documented_modules() -> list[str]:
    """The modules the pages' ``auto*`` directives import."""
    modules = set()
    for page in (ROOT / "docs").glob("*.rst"):
        for kind, target in re.findall(r"^\.\. auto(\w+):: (\S+)", page.read_text(), re.M):
            modules.add(target if kind == "module" else target.rsplit(".", 1)[0])
    return sorted(modules)


PROBE = textwrap.dedent(
    """
    import importlib, importlib.abc, importlib.metadata, json, re, sys

    allowed, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    owners = importlib.metadata.packages_distributions()

    class RefuseUninstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, [])}
            if dists and top not in sys.stdlib_module_names and not dists & set(allowed):
                raise ImportError(f"{name} (from {', '.join(sorted(dists))})")
            return None

    sys.meta_path.insert(0, RefuseUninstalled())
    failures = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            failures.append(f"{module} imports {exc}")
    for ep in importlib.metadata.entry_points(group="virtcore.drivers"):
        try:
            ep.load()
        except ImportError as exc:
            failures.append(f"driver {ep.name} ({ep.value}) imports {exc}")
    print(json.dumps(failures))
    """
)


def test_the_docs_session_installs_what_the_docs_import() -> None:
    project = [tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]]
    project += [
        tomllib.loads(p.read_text())["project"]["name"] for p in sorted(ROOT.glob("plugins/*/pyproject.toml"))
    ]
    extra = [Requirement(r).name for r in _docs_session_requirements()]
    allowed = sorted(_closure(project + extra))
    modules = _documented_modules()
    assert "virtcore.testing.conformance" in modules
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(allowed), json.dumps(modules)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    failures = json.loads(proc.stdout.splitlines()[-1])
    assert failures == [], f"the docs session ({', '.join(extra)}) lacks what these import: {failures}"
