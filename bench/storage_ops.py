"""The storage workload of the test drivers, written once for both sides of the comparison.

``measure_storage(api)`` runs pool and volume operations on the test driver's
``default-pool`` through an adapter (``VirtcoreStorage`` in bench_storage.py or
``LibvirtStorage`` in libvirt_side.py) and returns microseconds per operation,
best of several repeats. Like ops.py it must stay importable by Debian's
/usr/bin/python3 with only the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ops import best

POOL = "default-pool"
#: Volumes in the pool while ``list volumes`` is measured.
LIST_VOLUMES = 100

VOLUME_XML = """<volume>
  <name>{name}</name>
  <capacity unit='MiB'>16</capacity>
  <allocation unit='MiB'>0</allocation>
  <target><format type='raw'/></target>
</volume>"""


def volume_xml(name: str) -> str:
    return VOLUME_XML.format(name=name)


def measure_storage(api: Any, quick: bool = False) -> dict[str, float]:
    """Run the storage workload through ``api``; ``{operation: µs}``."""
    scale = 10 if quick else 1
    out: dict[str, float] = {}
    pool = api.pool(POOL)
    out["pool lookup"] = best(lambda: api.pool(POOL), 20000 // scale)
    out["pool info"] = best(lambda: api.pool_info(pool), 20000 // scale)
    out["pool xml_desc"] = best(lambda: api.pool_xml(pool), 5000 // scale)
    out["pool list"] = best(lambda: api.pools(), 20000 // scale)

    vol = api.create(pool, volume_xml("bench-vol"))
    out["vol lookup"] = best(lambda: api.volume(pool, "bench-vol"), 20000 // scale)
    out["vol info"] = best(lambda: api.vol_info(vol), 20000 // scale)
    out["vol xml_desc"] = best(lambda: api.vol_xml(vol), 5000 // scale)
    xml = volume_xml("bench-create")

    def create_delete() -> None:
        api.delete(api.create(pool, xml))

    out["vol create+delete"] = best(create_delete, 2000 // scale)
    extra = [api.create(pool, volume_xml(f"bench-list-{i}")) for i in range(LIST_VOLUMES - 1)]
    out[f"vol list {LIST_VOLUMES}"] = best(lambda: api.volumes(pool), 2000 // scale)
    for v in [vol, *extra]:
        api.delete(v)
    return out


def _setup(api: Any) -> dict[str, Any]:
    """The objects the operations of :func:`run_op` work on (as :func:`measure_storage` has them)."""
    pool = api.pool(POOL)
    return {"pool": pool, "vol": api.create(pool, volume_xml("bench-vol")), "xml": volume_xml("bench-create")}


def _create_delete(api: Any, s: dict[str, Any]) -> None:
    api.delete(api.create(s["pool"], s["xml"]))


#: Every operation of the table, by its row name, as a call on the objects of ``_setup``.
OPS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "pool lookup": lambda api, s: api.pool(POOL),
    "pool info": lambda api, s: api.pool_info(s["pool"]),
    "pool xml_desc": lambda api, s: api.pool_xml(s["pool"]),
    "pool list": lambda api, s: api.pools(),
    "vol lookup": lambda api, s: api.volume(s["pool"], "bench-vol"),
    "vol info": lambda api, s: api.vol_info(s["vol"]),
    "vol xml_desc": lambda api, s: api.vol_xml(s["vol"]),
    "vol create+delete": _create_delete,
    f"vol list {LIST_VOLUMES}": lambda api, s: api.volumes(s["pool"]),
}


def run_op(api: Any, op: str, number: int) -> None:
    """Set up, run ``op`` once (first-use costs), then ``number`` more times: the process an
    instruction count is taken of (the count of ``number`` 0 is subtracted: what is left is the
    operation's)."""
    s = _setup(api)
    if op == f"vol list {LIST_VOLUMES}":
        for i in range(LIST_VOLUMES - 1):
            api.create(s["pool"], volume_xml(f"bench-list-{i}"))
    fn = OPS[op]
    fn(api, s)
    for _ in range(number):
        fn(api, s)
