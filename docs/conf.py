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
