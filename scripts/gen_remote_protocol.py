#!/usr/bin/env python3
"""Generate virtcore/rpc/_remote_protocol.py: the facts of libvirt's RPC protocol.

Usage::

    python3 scripts/gen_remote_protocol.py [TARBALL] [-o OUT]

TARBALL is libvirt's release tarball (default: the 9.0.0 one the test data
fetch caches in ``~/.cache/virtcore/libvirt-9.0.0/``). The script reads the
protocol descriptions in it (``src/rpc/virnetprotocol.x``,
``src/rpc/virkeepaliveprotocol.x``, ``src/remote/remote_protocol.x``) with its
own parser of the XDR language subset they use, resolves the few constants
they take from libvirt's public headers, and writes plain tables: constants,
enums, type descriptions and procedures. No code of libvirt's is copied; the
tables are facts about the wire format (numbers, field orders, bounds).
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TARBALL = Path.home() / ".cache/virtcore/libvirt-9.0.0/libvirt_9.0.0.orig.tar.xz"
DEFAULT_OUT = ROOT / "virtcore/rpc/_remote_protocol.py"

PROTOCOL_FILES = (
    "src/rpc/virnetprotocol.x",
    "src/rpc/virkeepaliveprotocol.x",
    "src/remote/remote_protocol.x",
)
#: Headers that define the constants the .x files use but do not define.
HEADER_FILES = ("include/libvirt/libvirt-host.h", "include/libvirt/libvirt-common.h.in")

_TOKEN = re.compile(r"\s*(?:(0x[0-9a-fA-F]+|-?\d+)|([A-Za-z_]\w*)|(.))", re.S)

#: XDR base types: each a type description of its own.
_BASE = {
    "int": ("int",),
    "unsigned int": ("uint",),
    "unsigned": ("uint",),
    "hyper": ("hyper",),
    "unsigned hyper": ("uhyper",),
    "char": ("char",),
    "unsigned char": ("uchar",),
    "short": ("int",),
    "unsigned short": ("uint",),
    "bool": ("bool",),
    "float": ("float",),
    "double": ("double",),
}


class XParseError(Exception):
    """The .x text is outside the subset this parser knows."""


def strip_source(text: str) -> str:
    """Drop comments and ``%`` pass-through lines."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("%"))


def tokenize(text: str) -> list[str]:
    """The tokens of stripped .x text."""
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the pattern matches any character
            raise XParseError(f"cannot tokenize at {pos}")
        tokens.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    return tokens


class Parser:
    """A recursive-descent parser of the XDR subset of libvirt's .x files."""

    def __init__(self, tokens: list[str], constants: dict[str, int]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.constants = constants
        self.enums: dict[str, dict[str, int]] = {}
        self.types: dict[str, tuple[object, ...]] = {}

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expect: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise XParseError("unexpected end of input")
        if expect is not None and tok != expect:
            raise XParseError(f"expected {expect!r}, got {tok!r} at token {self.pos}")
        self.pos += 1
        return tok

    def value(self) -> int:
        tok = self.take()
        if re.fullmatch(r"0x[0-9a-fA-F]+|-?\d+", tok):
            return int(tok, 0)
        if tok in self.constants:
            return self.constants[tok]
        raise XParseError(f"unknown constant {tok!r}")

    def parse(self) -> None:
        while self.peek() is not None:
            kw = self.take()
            if kw == "const":
                name = self.take()
                self.take("=")
                self.constants[name] = self.value()
                self.take(";")
            elif kw == "enum":
                name = self.take()
                self.enums[name] = self.enum_body()
                self.types[name] = ("enum", name)
                self.take(";")
            elif kw == "struct":
                name = self.take()
                self.types[name] = self.struct_body()
                self.take(";")
            elif kw == "union":
                name = self.take()
                self.types[name] = self.union_body()
                self.take(";")
            elif kw == "typedef":
                decl = self.declaration()
                if decl is None:
                    raise XParseError("typedef void")
                self.types[decl[0]] = decl[1]
                self.take(";")
            else:
                raise XParseError(f"unexpected {kw!r} at token {self.pos}")

    def enum_body(self) -> dict[str, int]:
        members: dict[str, int] = {}
        self.take("{")
        while True:
            name = self.take()
            self.take("=")
            members[name] = self.constants[name] = self.value()
            if self.take() == "}":
                return members

    def struct_body(self) -> tuple[object, ...]:
        fields = []
        self.take("{")
        while self.peek() != "}":
            decl = self.declaration()
            if decl is not None:
                fields.append(decl)
            self.take(";")
        self.take("}")
        return ("struct", tuple(fields))

    def union_body(self) -> tuple[object, ...]:
        self.take("switch")
        self.take("(")
        disc = self.type_specifier()
        self.take()  # the discriminant's name
        self.take(")")
        self.take("{")
        arms: dict[int, object] = {}
        default: object = None
        while self.peek() != "}":
            label = self.take()
            if label == "case":
                values = [self.value()]
                self.take(":")
                while self.peek() == "case":
                    self.take()
                    values.append(self.value())
                    self.take(":")
                arm = self.declaration()
                for value in values:
                    arms[value] = arm
            elif label == "default":
                self.take(":")
                default = self.declaration() or ("void", ("void",))
            else:
                raise XParseError(f"unexpected {label!r} in union")
            self.take(";")
        self.take("}")
        return ("union", disc, tuple(sorted(arms.items())), default)

    def type_specifier(self) -> tuple[object, ...]:
        tok = self.take()
        if tok == "unsigned" and self.peek() in ("int", "hyper", "char", "short"):
            tok = "unsigned " + self.take()
        if tok in _BASE:
            return _BASE[tok]
        if tok in ("opaque", "string"):
            return (tok,)
        if tok in ("struct", "enum", "union"):
            tok = self.take()
        return ("ref", tok)

    def declaration(self) -> tuple[str, tuple[object, ...]] | None:
        if self.peek() == "void":
            self.take()
            return None
        spec = self.type_specifier()
        pointer = self.peek() == "*"
        if pointer:
            self.take()
        name = self.take()
        char = spec in (("char",), ("uchar",))
        if self.peek() == "[":
            self.take()
            size = self.value()
            self.take("]")
            if spec == ("opaque",):
                spec = ("fopaque", size)
            elif char:
                spec = ("fchars", size)
            else:
                spec = ("farray", spec, size)
        elif self.peek() == "<":
            self.take()
            bound = None if self.peek() == ">" else self.value()
            self.take(">")
            if spec == ("opaque",):
                spec = ("opaque", bound)
            elif spec == ("string",):
                spec = ("string", bound)
            elif char:
                spec = ("chars", bound)
            else:
                spec = ("array", spec, bound)
        elif char:  # a lone char travels as an int
            spec = ("int",) if spec == ("char",) else ("uint",)
        if pointer:
            spec = ("optional", spec)
        return name, spec


def header_constants(headers: list[str]) -> dict[str, int]:
    """``#define NAME (arith)`` and ``NAME = N`` enum members of libvirt's public headers."""
    constants: dict[str, int] = {}
    for text in headers:
        for name, expr in re.findall(r"#\s*define\s+(VIR_\w+_BUFLEN)\s+\(([\d\s+]+)\)", text):
            constants[name] = sum(int(part) for part in expr.split("+"))
        for name, value in re.findall(r"^\s*(VIR_TYPED_PARAM_[A-Z]+)\s*=\s*(\d+)", text, re.M):
            constants[name] = int(value)
    return constants


def procedures(
    enum: dict[str, int], prefix: str, types: dict[str, tuple[object, ...]], tprefix: str
) -> dict[str, tuple[int, str | None, str | None, str | None]]:
    """Each procedure's number and its args/ret/msg type names (``None`` when void)."""
    table = {}
    for const, number in enum.items():
        name = const.removeprefix(prefix)
        base = tprefix + name.lower()
        args, ret, msg = (base + s if base + s in types else None for s in ("_args", "_ret", "_msg"))
        table[name] = (number, args, ret, msg)
    return table


def generate(tarball: Path) -> str:
    """The text of the table module."""
    root = tarball.name.removesuffix(".orig.tar.xz").replace("_", "-")
    with tarfile.open(tarball) as tar:

        def read(member: str) -> str:
            f = tar.extractfile(f"{root}/{member}")
            if f is None:
                raise XParseError(f"{member} not in {tarball}")
            return f.read().decode()

        headers = [read(h) for h in HEADER_FILES]
        sources = {name: read(name) for name in PROTOCOL_FILES}
    constants = header_constants(headers)
    parser = Parser([], constants)
    for text in sources.values():
        parser.tokens = tokenize(strip_source(text))
        parser.pos = 0
        parser.parse()
    remote = procedures(parser.enums["remote_procedure"], "REMOTE_PROC_", parser.types, "remote_")
    keepalive = procedures(parser.enums["keepalive_procedure"], "KEEPALIVE_PROC_", parser.types, "")
    version = root.removeprefix("libvirt-")
    out = [
        f'"""libvirt {version}\'s RPC protocol as tables (generated: do not edit).',
        "",
        "Generated by::",
        "",
        f"    python3 scripts/gen_remote_protocol.py ~/.cache/virtcore/libvirt-{version}/{tarball.name}",
        "",
        "from " + ", ".join(PROTOCOL_FILES) + " (and the constants they take",
        "from " + ", ".join(HEADER_FILES) + ").",
        "Type descriptions are tuples read by :mod:`virtcore.rpc.xdr`.",
        '"""',
        "",
        "# fmt: off",
        "# ruff: noqa: E501",
        "",
        f"LIBVIRT_VERSION = {version!r}",
        "",
        "CONSTANTS: dict[str, int] = {",
        *(f"    {k!r}: {v!r}," for k, v in constants.items()),
        "}",
        "",
        "ENUMS: dict[str, dict[str, int]] = {",
        *(f"    {k!r}: {v!r}," for k, v in parser.enums.items()),
        "}",
        "",
        "TYPES: dict[str, tuple[object, ...]] = {",
        *(f"    {k!r}: {v!r}," for k, v in parser.types.items()),
        "}",
        "",
        "#: name: (number, args type, ret type, msg type), each type None when void.",
        "REMOTE_PROCEDURES: dict[str, tuple[int, str | None, str | None, str | None]] = {",
        *(f"    {k!r}: {v!r}," for k, v in remote.items()),
        "}",
        "",
        "KEEPALIVE_PROCEDURES: dict[str, tuple[int, str | None, str | None, str | None]] = {",
        *(f"    {k!r}: {v!r}," for k, v in keepalive.items()),
        "}",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the table module."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tarball", nargs="?", type=Path, default=DEFAULT_TARBALL)
    ap.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if OUT differs from what would be written")
    args = ap.parse_args(argv)
    text = generate(args.tarball)
    if args.check:
        same = args.out.read_text() == text
        print("up to date" if same else f"{args.out} differs from {args.tarball}")
        return 0 if same else 1
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
