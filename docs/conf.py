"""Sphinx configuration for virtcore's documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` with virtcore and
its drivers installed (the support matrix is generated from what is installed).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # the checkout's virtcore, even when not installed

import virtcore  # noqa: E402

project = "virtcore"
author = "the virtcore authors"
copyright = "virtcore authors; LGPL-2.1-or-later"  # noqa: A001 - Sphinx's name
release = virtcore.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "virtcore_docs",
]

exclude_patterns = ["_build", "examples/**/__pycache__"]
html_theme = "alabaster"
html_title = f"virtcore {release}"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "signature"
autoclass_content = "class"
nitpicky = False
default_role = "code"


def _builtin_type_is_not_a_field(app: object, doctree: object) -> None:
    """``type`` in a signature is the builtin: keep Sphinx from linking it to a field named ``type``.

    (Its fuzzy search would pick among ``StorageVolInfo.type``, ``Header.type``... and warn.)
    """
    from docutils import nodes
    from sphinx.addnodes import pending_xref

    for ref in list(doctree.findall(pending_xref)):  # type: ignore[attr-defined]
        if ref.get("refdomain") == "py" and ref.get("reftarget") == "type" and ref.get("reftype") == "class":
            ref.replace_self(nodes.Text("type"))


def setup(app: object) -> None:
    app.connect("doctree-read", _builtin_type_is_not_a_field)  # type: ignore[attr-defined]
