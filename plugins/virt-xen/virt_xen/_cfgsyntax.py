"""The syntax shared by xl.cfg and xm config files: ``key = value`` lines.

A value is a string (``"..."`` or ``'...'``), a number, or a list ``[ v, v ]``
that may span lines; ``#`` starts a comment. Parsing gives an ordered dict;
formatting writes libvirt's layout (one key per line, lists on one line).
"""

from __future__ import annotations

import re
from typing import Any

from virtcore.errors import ConfigUnsupportedError, ConfSyntaxError

__all__ = ["Value", "ConfSyntaxError", "parse_config", "format_config"]

#: A setting: a string, a number, or a (possibly nested) list of them.
Value = str | int | list[Any]


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUM = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)")

#: Largest config accepted: real ones are a few KiB.
MAX_CONFIG_BYTES = 1024 * 1024


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1

    def err(self, msg: str) -> ConfSyntaxError:
        return ConfSyntaxError(f"{msg} at line {self.line}")

    def skip(self, newlines: bool) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "#":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            elif c == "\n":
                if not newlines:
                    return
                self.line += 1
                self.i += 1
            elif c in " \t\r;":
                self.i += 1
            elif c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
                self.line += 1
            else:
                return

    def string(self) -> str:
        s = self.s
        q = s[self.i]
        if s.startswith(q * 3, self.i):
            end = s.find(q * 3, self.i + 3)
            if end < 0:
                raise self.err("unterminated triple-quoted string")
            val = s[self.i + 3 : end]
            self.line += val.count("\n")
            self.i = end + 3
            return val
        out: list[str] = []
        self.i += 1
        while True:
            if self.i >= len(s) or s[self.i] == "\n":
                raise self.err("unterminated string")
            c = s[self.i]
            if c == q:
                self.i += 1
                return "".join(out)
            if c == "\\" and self.i + 1 < len(s):
                nxt = s[self.i + 1]
                out.append({"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}.get(nxt, "\\" + nxt))
                self.i += 2
                continue
            out.append(c)
            self.i += 1

    def scalar(self) -> str | int:
        s = self.s
        if self.i >= len(s):
            raise self.err("expected a value")
        c = s[self.i]
        if c in "\"'":
            return self.string()
        m = _NUM.match(s, self.i)
        if m:
            self.i = m.end()
            # decimal (leading zeros allowed, as C's strtol reads them) or 0x hexadecimal
            return int(m.group(0), 16 if m.group(1)[:2].lower() == "0x" else 10)
        raise self.err(f"expected a string or a number, found {c!r}")

    def value(self) -> Value:
        if self.i < len(self.s) and self.s[self.i] == "[":
            self.i += 1
            items: list[Any] = []
            while True:
                self.skip(newlines=True)
                if self.i >= len(self.s):
                    raise self.err("unterminated list")
                if self.s[self.i] == "]":
                    self.i += 1
                    return items
                items.append(self.value())
                self.skip(newlines=True)
                if self.i < len(self.s) and self.s[self.i] == ",":
                    self.i += 1
                elif self.i < len(self.s) and self.s[self.i] != "]":
                    raise self.err("expected ',' or ']' in a list")
        return self.scalar()

    def parse(self) -> dict[str, Value]:
        out: dict[str, Value] = {}
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.s):
                return out
            m = _KEY.match(self.s, self.i)
            if not m:
                raise self.err(f"expected a setting name, found {self.s[self.i]!r}")
            key = m.group(0)
            self.i = m.end()
            self.skip(newlines=False)
            if self.i >= len(self.s) or self.s[self.i] != "=":
                raise self.err(f"expected '=' after {key!r}")
            self.i += 1
            self.skip(newlines=False)
            out[key] = self.value()
            self.skip(newlines=False)
            if self.i < len(self.s) and self.s[self.i] != "\n":
                raise self.err(f"unexpected {self.s[self.i]!r} after the value of {key!r}")


def parse_config(text: str | bytes) -> dict[str, Value]:
    """Parse xl/xm config text into an ordered ``{key: value}``.

    :raises ConfSyntaxError: the text does not parse (the message names the line).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfSyntaxError("the configuration is not valid UTF-8") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfSyntaxError(f"the configuration is larger than {MAX_CONFIG_BYTES} bytes")
    return _Parser(text).parse()


def _quote(v: Value) -> str:
    if isinstance(v, list):
        return "[ " + ", ".join(_quote(x) for x in v) + " ]"
    if isinstance(v, int):
        return str(v)
    if "\n" in v:
        if '"""' in v:
            raise ConfigUnsupportedError('a value with both newlines and \'"""\' cannot be written')
        return '"""' + v + '"""'
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_config(items: dict[str, Value]) -> str:
    """Write ``items`` in xl/xm syntax, one setting per line, in order."""
    lines = []
    for key, value in items.items():
        lines.append(f"{key} = {_quote(value)}")
    return "\n".join(lines) + "\n"
