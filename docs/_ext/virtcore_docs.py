"""Sphinx extension for virtcore's docs: pages generated from the installed code at build time.

Directives:

``.. virtcore-support-matrix::``
    Renders which operations each installed driver implements, marking
    mutating and read-only operations: read from the plugin classes the
    driver declares, without opening a connection (the same as ``virtcore
    drivers``); a driver declaring none is opened read-only on its default
    URI. URIs to ask instead (what a driver serves on one connection) come
    from ``$VIRTCORE_DOCS_URIS`` (comma-separated).
``.. virtcore-cli-reference::``
    Every registered ``virtcore`` command with its ``--help`` text.

Also turns section titles in module docstrings into rubrics, since autodoc
cannot nest sections inside a directive.
"""

from __future__ import annotations

import os
import re
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


def _rubric_titles(app: Sphinx, what: str, name: str, obj: object, options: Any, lines: list[str]) -> None:
    """``Title`` + ``=====`` in a docstring becomes ``.. rubric:: Title``."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if (
            i + 1 < len(lines)
            and lines[i].strip()
            and _UNDERLINE.match(lines[i + 1])
            and len(lines[i + 1].strip()) >= len(lines[i].strip())
        ):
            out += [f".. rubric:: {lines[i].strip()}", ""]
            i += 2
            continue
        out.append(lines[i])
        i += 1
    lines[:] = out


def _list_table(header: list[str], rows: list[list[str]], widths: list[int] | None = None) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1"]
    if widths:
        out.append("   :widths: " + " ".join(str(w) for w in widths))
    out.append("")
    for row in [header, *rows]:
        out.append(f"   * - {row[0] or ' '}")
        out += [f"     - {cell or ' '}" for cell in row[1:]]
    out.append("")
    return out


class SupportMatrix(SphinxDirective):
    """Render the operations each installed driver implements."""

    def run(self) -> list[nodes.Node]:
        from virtcore.cli import probe_drivers
        from virtcore.connection import OPERATIONS

        support = {s.scheme: s for s in probe_drivers()}
        for uri in filter(None, (u.strip() for u in os.environ.get("VIRTCORE_DOCS_URIS", "").split(","))):
            for s in probe_drivers(uri):
                support[s.scheme] = s
        drivers = [support[k] for k in sorted(support)]
        total = len(OPERATIONS)
        lines = [
            f"Built with {len(drivers)} installed driver(s); {total} operations in the contract.",
            "",
        ]
        lines += _list_table(
            ["Driver (URI scheme)", "Distribution", "Version", "Read from", "Operations"],
            [
                [
                    f"``{d.scheme}``",
                    d.distribution or "?",
                    d.version or "?",
                    (f"``{d.uri}``" if d.uri else d.source) or d.note or "not probed",
                    f"{len(d.operations)} of {total}" if d.operations is not None else "unknown",
                ]
                for d in drivers
            ],
        )
        rows = []
        for op in sorted(OPERATIONS):
            cells = [
                f":func:`{op} <virtcore.hookspecs.virt_{op}>`",
                "mutating" if OPERATIONS[op] else "read-only",
            ]
            for d in drivers:
                by = d.served_by(op)
                cells.append("?" if d.operations is None else ("--" if by is None else _via(by)))
            rows.append(cells)
        lines += _list_table(
            ["Operation (hook ``virt_<name>``)", "Kind", *(f"``{d.scheme}``" for d in drivers)], rows
        )
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source="<virtcore-support-matrix>"), container)
        return [container]


def _via(by: str) -> str:
    """A matrix cell: ``yes``, or which secondary driver serves the operation."""
    return by if by == "yes" else f"via ``{by}``"


class CliReference(SphinxDirective):
    """Render ``virtcore --help`` and every command's ``--help``."""

    def run(self) -> list[nodes.Node]:
        import argparse

        from virtcore.cli import COMMANDS, build_parser

        parser = build_parser()
        lines = ["Synopsis", "--------", "", ".. code-block:: text", ""]
        lines += ["   " + line for line in _help(parser).splitlines()] + [""]
        lines += ["Commands", "--------", ""]
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name in sorted(COMMANDS):
            target: argparse.ArgumentParser = parser
            choices = sub.choices
            for part in name.split():
                target = choices[part]
                inner = [a for a in target._actions if isinstance(a, argparse._SubParsersAction)]
                choices = inner[0].choices if inner else {}
            lines += [f"virtcore {name}", "~" * (len(name) + 9), "", ".. code-block:: text", ""]
            lines += ["   " + line for line in _help(target).splitlines()] + [""]
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source="<virtcore-cli-reference>"), container)
        return container.children


def _help(parser: Any) -> str:
    os.environ.setdefault("COLUMNS", "90")
    text: str = parser.format_help()
    return text.rstrip()


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _rubric_titles)
    app.add_directive("virtcore-support-matrix", SupportMatrix)
    app.add_directive("virtcore-cli-reference", CliReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
