"""The host's memory and CPU commands of the ``virtcore`` command line: virsh's ``freecell`` and
``cpu-baseline``.

Registered with :func:`virtcore.cli.command` (this module is listed in
:data:`virtcore.cli.COMMAND_MODULES`). Output follows virsh: ``freecell``
prints ``Total: N KiB`` (``--cellno N``: ``N: M KiB``; ``--all``: one
``%5d: %10d KiB`` line per NUMA cell, a rule and the total), taking the
driver's amounts as bytes as virsh does; ``cpu-baseline`` prints the baseline
``<cpu>`` document.
"""

from __future__ import annotations

import argparse

from virtcore.cli import Context, arg, command
from virtcore.errors import InvalidArgError

__all__: list[str] = []

#: More cells than any host has: ``freecell --all`` asks for all of them at once.
_MAX_CELLS = 4096


@command(
    "freecell",
    arg("cellno", nargs="?", type=int, metavar="CELL", help="the NUMA cell to report (as --cellno)"),
    arg("--cellno", dest="cell_opt", type=int, metavar="CELL", help="the NUMA cell to report"),
    arg("--all", action="store_true", help="every NUMA cell and their total"),
)
def _freecell(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the host's free memory: in total, of one NUMA cell, or of every cell."""
    if ns.cellno is not None and ns.cell_opt is not None:
        raise InvalidArgError("give the cell once, as CELL or as --cellno")
    cell = ns.cellno if ns.cellno is not None else ns.cell_opt
    if ns.all and cell is not None:
        raise InvalidArgError("Options --all and --cellno are mutually exclusive")
    conn = ctx.conn
    if cell is not None:
        (free,) = conn.cells_free_memory(cell, 1)
        ctx.out(f"{cell}: {free // 1024} KiB", "")
        return
    if not ns.all:
        ctx.out(f"Total: {conn.free_memory() // 1024} KiB", "")
        return
    try:
        cells = conn.cells_free_memory(0, _MAX_CELLS)
    except InvalidArgError:
        cells = []  # a host without NUMA cells (libvirt's test driver on a node file): virsh lists none
    rows = [f"{i:5d}: {free // 1024:10d} KiB" for i, free in enumerate(cells)]
    ctx.out(*rows, "-" * 20, f"{'Total:':<6} {sum(cells) // 1024:10d} KiB", "")


@command(
    "cpu-baseline",
    arg("file", metavar="FILE", help="a file of one or more <cpu> elements (or capabilities documents)"),
    arg("--features", action="store_true", help="list every feature of the baseline model"),
)
def _cpu_baseline(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the CPU definition every CPU described in FILE can run."""
    from lxml import etree

    from virtcore.xml._parser import secure_parse

    text = ctx.read_text(ns.file, "CPU description file")
    # virsh takes every <cpu> of the file, inside any wrapper element (capabilities, domain XML...)
    root = secure_parse(f"<cpus>{text}</cpus>" if not text.lstrip().startswith("<?xml") else text)
    cpus = [etree.tostring(el, encoding="unicode") for el in root.iter("cpu")]
    if not cpus:
        raise InvalidArgError(f"no <cpu> element found in {ns.file}")
    ctx.out(ctx.conn.baseline_cpu(cpus, expand_features=ns.features).rstrip("\n"), "")
