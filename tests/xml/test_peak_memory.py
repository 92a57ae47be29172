"""Peak memory of parse + format stays a small multiple of the document.

libxml2 spends over a hundred bytes on every element and attribute, so the number of
them is bounded (``MAX_XML_NODES``) as well as the bytes (``MAX_XML_BYTES``). Each
measurement runs in a fresh interpreter and reads its peak resident size (Linux's
``VmHWM``, reset just before reading the document, which counts too), so libxml2's
allocations are seen (tracemalloc would not see them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import virtcore
from virtcore.errors import XMLError
from virtcore.xml import MAX_XML_BYTES, MAX_XML_NODES, format_domain, parse_domain
from virtcore.xml._parser import count_nodes

#: Peak resident memory allowed for parse + format, as a multiple of the document's size.
BOUND = 20

HEAD = (
    "<domain type='kvm'><name>big</name><memory unit='KiB'>65536</memory>"
    "<os><type arch='x86_64'>hvm</type></os>"
)
DISK = (
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "<source file='/images/d{i}.img'/><target dev='vd{i}' bus='virtio'/></disk>"
)

_MEASURE = r"""
import gc, json, sys
from virtcore.errors import XMLError
from virtcore.xml import format_domain, parse_domain
def hwm():
    # the peak resident size (kB); ru_maxrss would include the parent's, inherited through exec
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
gc.collect()
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak to the current size
before = hwm()  # the document itself counts
with open(sys.argv[1], "rb") as fh:
    data = fh.read()
try:
    out = format_domain(parse_domain(data))
    result = {"ok": True, "out": len(out)}
except XMLError as exc:
    result = {"ok": False, "error": str(exc)}
after = hwm()
result["peak"] = (after - before) * 1024
print(json.dumps(result))
"""


def _document(shape: str, nodes: int, size: int) -> bytes:
    """A domain of about ``size`` bytes, ``nodes`` of them elements/attributes of ``shape``."""
    if shape == "devices":
        top, devices = "", "".join(DISK.format(i=i) for i in range(nodes // 11))
    elif shape == "elements":
        top, devices = "<metadata><m xmlns='urn:x'>" + "<a/>" * nodes + "</m></metadata>", ""
    elif shape == "attributes":
        attrs = " ".join(f"a{i:07d}=''" for i in range(nodes))
        top, devices = f"<metadata><m xmlns='urn:x' {attrs}/></metadata>", ""
    else:
        top, devices = "", ""
    tail = f"<devices>{devices}</devices></domain>"
    pad = max(size - len(HEAD) - len(top) - len(tail) - len("<description></description><title></title>"), 0)
    # libxml2 refuses a single text node over 10 MB: the padding goes in two
    half = pad // 2
    text = f"<title>{'t' * half}</title><description>{'x' * (pad - half)}</description>"
    return (HEAD + text + top + tail).encode()


def _measure(tmp_path: Path, doc: bytes) -> dict[str, object]:
    path = tmp_path / "doc.xml"
    path.write_bytes(doc)
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=600, check=True
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.mark.timeout(900)
@pytest.mark.parametrize("shape", ["text", "devices", "elements", "attributes"])
def test_documents_at_the_byte_limit(tmp_path: Path, shape: str) -> None:
    """As many elements or attributes as fit in MAX_XML_BYTES: refused, or parsed within the bound."""
    unit = {"text": 1, "devices": len(DISK) // 11 + 1, "elements": 4, "attributes": 12}[shape]
    doc = _document(shape, (MAX_XML_BYTES - 2000) // unit if shape != "text" else 0, MAX_XML_BYTES - 1000)
    assert MAX_XML_BYTES - 2000 < len(doc) <= MAX_XML_BYTES
    result = _measure(tmp_path, doc)
    if not result["ok"]:
        assert "more than the limit" in str(result["error"])
        assert int(str(result["peak"])) < 50 * 1024 * 1024  # refused before libxml2 built anything
    else:
        assert int(str(result["peak"])) <= BOUND * len(doc), result


@pytest.mark.timeout(900)
@pytest.mark.parametrize("shape", ["devices", "elements", "attributes"])
def test_documents_at_the_node_limit_are_parsed_within_the_bound(tmp_path: Path, shape: str) -> None:
    # room left for the indentation format_domain adds (its output must stay readable too)
    doc = _document(shape, MAX_XML_NODES - 100, MAX_XML_BYTES - 2 * 1024 * 1024)
    assert MAX_XML_NODES - 200 < count_nodes(doc) <= MAX_XML_NODES
    result = _measure(tmp_path, doc)
    assert result["ok"], result
    assert int(str(result["peak"])) <= BOUND * len(doc), result


def test_too_many_nodes_is_refused_naming_the_limit() -> None:
    doc = _document("elements", MAX_XML_NODES + 1, 0)
    with pytest.raises(XMLError, match=f"more than the limit of {MAX_XML_NODES}"):
        parse_domain(doc)


def test_a_definition_whose_text_would_be_unreadable_is_not_written(tmp_path: Path) -> None:
    """Indentation makes compact input larger: define refuses it instead of writing it."""
    root = tmp_path / "root"
    root.mkdir()
    # 0.8 MB of <a/>: 2 MB once indented, which no longer fits beside the padding
    doc = _document("elements", MAX_XML_NODES - 100, MAX_XML_BYTES - 500_000)
    assert len(doc) <= MAX_XML_BYTES and count_nodes(doc) <= MAX_XML_NODES
    with pytest.raises(XMLError, match=r"the XML of domain 'big' of \d+ bytes exceeds the limit"):
        format_domain(parse_domain(doc))
    with virtcore.open(f"qemu:///embed?root={root}") as conn:
        with pytest.raises(XMLError, match="exceeds the limit"):
            conn.define_domain(doc.decode())
        assert conn.list_domains() == []
    assert not [p for p in root.rglob("*") if p.is_file() and "big" in p.read_text(errors="replace")]
