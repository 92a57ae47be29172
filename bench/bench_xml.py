"""Bench: virtcore.xml parse/format of a typical and of a large (200 devices) domain.

Then the peak memory of parse + format for documents at the parser's limits (as many
bytes, or as many elements/attributes, as it accepts), measured in a fresh
interpreter with ``ru_maxrss`` (libxml2's allocations included), as a ratio to the
document's size.

Side by side with libvirt-python's ``defineXML`` and ``XMLDesc`` on libvirt's
test driver when Debian's ``/usr/bin/python3`` can ``import libvirt`` (that side
runs in a subprocess). Times are the best of N repeats, in µs per operation.

    python bench/bench_xml.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from typing import TypeVar

SYSTEM_PYTHON = "/usr/bin/python3"
T = TypeVar("T")

TYPICAL = """<domain type='test'>
  <name>bench</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e1940</uuid>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>524288</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/><pae/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/images/bench.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/var/lib/images/install.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' port='-1' autoport='yes'/>
    <video><model type='cirrus' vram='16384' heads='1'/></video>
    <memballoon model='virtio'/>
  </devices>
</domain>
"""


def _large() -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    disks = []
    for i in range(100):
        dev = "vd" + letters[i // 26] + letters[i % 26]
        disks.append(
            f"    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            f"<source file='/images/d{i}.img'/><target dev='{dev}' bus='virtio'/></disk>"
        )
    nics = [
        f"    <interface type='network'><mac address='52:54:00:00:{i // 256:02x}:{i % 256:02x}'/>"
        f"<source network='default'/><model type='virtio'/></interface>"
        for i in range(100)
    ]
    body = "\n".join(disks + nics)
    return (
        TYPICAL.replace("<name>bench</name>", "<name>bench-large</name>")
        .replace(
            "<uuid>6695eb01-f6a4-8304-79aa-97f2502e1940</uuid>",
            "<uuid>6695eb01-f6a4-8304-79aa-97f2502e1941</uuid>",
        )
        .replace(
            "  <devices>\n",
            "  <devices>\n" + body + "\n",
        )
        .replace(
            """    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/images/bench.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
""",
            "",
        )
    )


LARGE = _large()


def best_us(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Best of ``repeat`` runs of ``number`` calls, in µs per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def best_us_each(
    make: Callable[[int], list[T]], fn: Callable[[T], object], number: int, repeat: int = 5
) -> float:
    """Best of ``repeat`` runs of ``fn`` over ``number`` objects from ``make`` (untimed), µs per call."""
    best = float("inf")
    for _ in range(repeat):
        objs = make(number)
        start = time.perf_counter()
        for obj in objs:
            fn(obj)
        best = min(best, time.perf_counter() - start)
    return best / number * 1e6


def ours() -> dict[str, float]:
    """virtcore.xml's figures.

    * ``format``: the XML of a definition just changed with ``attrs.evolve`` (a new
      ``currentMemory`` each time, as after ``set_memory``): nothing cached for it, but its
      unchanged parts (devices, os, clock) are the objects formatted before;
    * ``evolve + format``: the same including the ``attrs.evolve`` call;
    * ``format cold``: the first format of a definition fresh from ``parse_domain``;
    * ``format cached``: formatting the same object again.
    """
    import attrs

    from virtcore.xml import DomainDef, format_domain, parse_domain

    results: dict[str, float] = {}
    for label, xml, n in (("typical", TYPICAL, 2000), ("large", LARGE, 200)):
        d = parse_domain(xml)
        format_domain(d)
        mem = iter(range(10**9))

        def parse(xml: str = xml) -> DomainDef:
            return parse_domain(xml)

        def changed(k: int, d: DomainDef = d) -> list[DomainDef]:
            return [attrs.evolve(d, current_memory=d.memory - 1024 - i) for i in range(k)]

        def fresh(k: int, xml: str = xml) -> list[DomainDef]:
            return [parse_domain(xml) for _ in range(k)]

        def evolve_format(d: DomainDef = d, mem: Iterator[int] = mem) -> str:
            return format_domain(attrs.evolve(d, current_memory=d.memory - next(mem)))

        def again(d: DomainDef = d) -> str:
            return format_domain(d)

        results[f"parse {label}"] = best_us(parse, max(n // 5, 10))
        results[f"format {label}"] = best_us_each(changed, format_domain, n)
        results[f"evolve+format {label}"] = best_us(evolve_format, n)
        results[f"format cold {label}"] = best_us_each(fresh, format_domain, max(n // 10, 10))
        results[f"format cached {label}"] = best_us(again, n * 10)
    return results


_LIBVIRT_SIDE = r"""
import json, sys, timeit
import libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open("test:///default")
docs = json.loads(sys.stdin.read())
out = {}
def best(fn, n):
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6
for label, xml, n in (("typical", docs["typical"], 2000), ("large", docs["large"], 40)):
    dom = conn.defineXML(xml)
    out["define " + label] = best(lambda: conn.defineXML(xml), n)
    out["xmldesc " + label] = best(lambda: dom.XMLDesc(), n)
    dom.undefine()
print(json.dumps(out))
"""


def libvirt_side() -> dict[str, float] | None:
    """libvirt-python's figures, or None when it is not importable by /usr/bin/python3."""
    if not os.path.exists(SYSTEM_PYTHON):
        return None
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        return None
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", _LIBVIRT_SIDE],
        input=json.dumps({"typical": TYPICAL, "large": LARGE}),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout)
    return result


_PEAK_SIDE = r"""
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
    format_domain(parse_domain(data))
    outcome = "ok"
except XMLError as exc:
    outcome = "refused: " + str(exc)[:60]
print(json.dumps([outcome, (hwm() - before) * 1024]))
"""


def limit_documents() -> dict[str, bytes]:
    """Documents at the parser's limits: bytes of text, devices, tiny elements, attributes."""
    from virtcore.xml import MAX_XML_BYTES
    from virtcore.xml._parser import MAX_XML_NODES

    head = (
        "<domain type='kvm'><name>big</name><memory unit='KiB'>65536</memory>"
        "<os><type arch='x86_64'>hvm</type></os>"
    )
    disk = (
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='/images/d{i}.img'/><target dev='vd{i}' bus='virtio'/></disk>"
    )
    nodes = MAX_XML_NODES - 100

    def doc(top: str, devices: str, size: int) -> bytes:
        tail = f"<devices>{devices}</devices></domain>"
        pad = max(size - len(head) - len(top) - len(tail) - 45, 0)
        half = pad // 2  # libxml2 refuses one text node over 10 MB
        text = f"<title>{'t' * half}</title><description>{'x' * (pad - half)}</description>"
        return f"{head}{text}{top}{tail}".encode()

    room = MAX_XML_BYTES - 2 * 1024 * 1024  # what indentation adds must fit too
    return {
        "10 MB of text": doc("", "", MAX_XML_BYTES - 1000),
        "most devices": doc("", "".join(disk.format(i=i) for i in range(nodes // 11)), room),
        "most elements": doc("<metadata><m xmlns='urn:x'>" + "<a/>" * nodes + "</m></metadata>", "", room),
        "most attributes": doc(
            "<metadata><m xmlns='urn:x' " + " ".join(f"a{i:07d}=''" for i in range(nodes)) + "/></metadata>",
            "",
            room,
        ),
        "10 MB of <a/>": doc(
            "<metadata><m xmlns='urn:x'>" + "<a/>" * (MAX_XML_BYTES // 4 - 100) + "</m></metadata>", "", 0
        ),
    }


def peak_memory() -> list[tuple[str, int, str, int]]:
    """``(document, bytes, outcome, peak bytes)`` of parse + format, each in a fresh interpreter."""
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "doc.xml")
        for label, data in limit_documents().items():
            with open(path, "wb") as fh:
                fh.write(data)
            proc = subprocess.run(
                [sys.executable, "-c", _PEAK_SIDE, path], capture_output=True, timeout=600, check=True
            )
            outcome, peak = json.loads(proc.stdout)
            rows.append((label, len(data), str(outcome), int(peak)))
    return rows


def main() -> None:
    """Measure and print the tables."""
    mine = ours()
    theirs = libvirt_side()
    rows = []
    for label in ("typical", "large"):
        for op, their_op in (
            ("parse", "define"),
            ("format", "xmldesc"),
            ("evolve+format", "xmldesc"),
            ("format cold", "xmldesc"),
            ("format cached", "xmldesc"),
        ):
            ref = None if theirs is None else theirs.get(f"{their_op} {label}")
            rows.append((f"{op} {label}", mine[f"{op} {label}"], f"{their_op} {label}", ref))
    print(
        f"{'virtcore.xml':<26}{'µs/op':>10}   {'libvirt-python (test driver)':<30}{'µs/op':>10}{'ratio':>8}"
    )
    for name, value, ref_name, ref in rows:
        if ref is None:
            print(f"{name:<26}{value:>10.1f}   {'(libvirt not importable)':<30}{'':>10}{'':>8}")
        else:
            print(f"{name:<26}{value:>10.1f}   {ref_name:<30}{ref:>10.1f}{value / ref:>7.2f}x")
    from virtcore.xml import parse_domain

    n_typ, n_large = len(parse_domain(TYPICAL).devices), len(parse_domain(LARGE).devices)
    print(
        f"(typical: {len(TYPICAL)} bytes, {n_typ} devices; large: {len(LARGE)} bytes, {n_large} devices; "
        "ratio < 1 means virtcore is faster. 'format': XML of a definition just changed by attrs.evolve "
        "(new currentMemory; its unchanged devices/os/clock reuse their cached text); 'evolve+format' "
        "includes the evolve; 'format cold': first format after parse_domain; 'format cached': "
        "the same object again)"
    )
    print()
    print(f"{'peak memory: parse + format':<28}{'bytes':>10}{'peak MB':>10}{'ratio':>8}   outcome")
    for label, size, outcome, peak in peak_memory():
        print(f"{label:<28}{size:>10}{peak / 2**20:>10.1f}{peak / size:>7.1f}x   {outcome}")
    print("(ratio: peak resident memory over the document's size; the bound is 20x)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
