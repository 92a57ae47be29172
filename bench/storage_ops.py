"""The storage workload of the test drivers, written once for both sides of the comparison.

``measure_storage(api)`` runs pool and volume operations on the test driver's
``default-pool`` through an adapter (``VirtcoreStorage`` in bench_storage.py or
``LibvirtStorage`` in libvirt_side.py) and returns microseconds per operation,
best of several repeats. Like ops.py it must stay importable by Debian's
/usr/bin/python3 with only the standard library.
"""

from __future__ import annotations

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
