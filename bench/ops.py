"""The per-operation workload, written once for both sides of the comparison.

``measure(api)`` runs every operation through an adapter (:class:`VirtcoreAPI`
or the libvirt one in libvirt_side.py) and returns microseconds per
operation, best of several repeats. The module must stay importable by
Debian's /usr/bin/python3 with only the standard library (the libvirt side
runs there).
"""

from __future__ import annotations

import timeit
import uuid
from collections.abc import Callable
from typing import Any

DOMAIN_XML = """<domain type='test'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/{name}.img'/><target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
  </devices>
</domain>"""

LIST_SIZES = (1, 1000, 10000)


def domain_xml(name: str) -> str:
    return DOMAIN_XML.format(name=name, uuid=uuid.uuid5(uuid.NAMESPACE_DNS, name))


def best(fn: Callable[[], Any], number: int, repeat: int = 5) -> float:
    """Microseconds per call of ``fn``, the best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def measure(api: Any, quick: bool = False) -> dict[str, float]:
    """Run the workload through ``api``; ``{operation: µs}``."""
    scale = 10 if quick else 1
    out: dict[str, float] = {}
    dom = api.lookup("test")
    out["lookup"] = best(lambda: api.lookup("test"), 20000 // scale)
    out["info"] = best(lambda: api.info(dom), 20000 // scale)
    out["state"] = best(lambda: api.state(dom), 20000 // scale)
    out["xml_desc"] = best(lambda: api.xml_desc(dom), 5000 // scale)

    xml = domain_xml("bench-define")

    def define_undefine() -> None:
        api.undefine(api.define(xml))

    out["define+undefine"] = best(define_undefine, 2000 // scale)

    spare = api.define(domain_xml("bench-spare"))

    def start_destroy() -> None:
        api.start(spare)
        api.destroy(spare)

    out["start+destroy"] = best(start_destroy, 5000 // scale)

    def suspend_resume() -> None:
        api.suspend(dom)
        api.resume(dom)

    out["suspend+resume"] = best(suspend_resume, 5000 // scale)
    api.undefine(spare)

    defined = 1  # domain "test"
    for size in LIST_SIZES:
        while defined < size:
            api.define(domain_xml(f"bench-list-{defined}"))
            defined += 1
        number = max(3, 20000 // size // scale)
        out[f"list {size}"] = best(lambda: api.list_all(), number, repeat=3)
    return out
