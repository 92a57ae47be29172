"""One storage scenario, played on libvirt's test driver and on virt-test, step by step.

Each step is a label and a call on an adapter; its outcome is ``["ok", value]``
(plain JSON values: names, info lists, booleans) or ``["err", code]`` (the
libvirt error number). ``test_storage_vs_libvirt.py`` plays it here with virtcore
and, in a subprocess of Debian's ``/usr/bin/python3``, with python3-libvirt
(``python3 storage_scenario.py`` prints the outcomes as JSON), and compares.
``python3 storage_scenario.py nodes DIR`` prints instead what libvirt's node
files in ``DIR`` hold (:func:`node_file_pools`).

This file must run under a Python without virtcore: it imports neither
virtcore nor libvirt at module level.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import libvirt_peer
from libvirt_peer import Outcome

VOL = "<volume><name>{name}</name><capacity>{cap}</capacity>{alloc}</volume>"
POOL = "<pool type='dir'><name>{name}</name>{uuid}<target><path>{path}</path></target></pool>"
OTHER_UUID = "11111111-2222-3333-4444-555555555555"


def vol_xml(name: str, cap: int | None, alloc: int | None = None) -> str:
    """Volume XML (no ``<capacity>`` when ``cap`` is None; allocation defaults to capacity)."""
    xml = VOL.format(name=name, cap=cap, alloc="" if alloc is None else f"<allocation>{alloc}</allocation>")
    return xml if cap is not None else xml.replace(f"<capacity>{cap}</capacity>", "")


def pool_xml(name: str, path: str, uuid: str | None = None) -> str:
    """Directory pool XML."""
    return POOL.format(name=name, path=path, uuid="" if uuid is None else f"<uuid>{uuid}</uuid>")


class LibvirtSide:
    """The scenario's vocabulary over python3-libvirt."""

    def __init__(self) -> None:
        import libvirt

        libvirt.registerErrorHandler(lambda *a: None, None)
        self.lv = libvirt
        self.conn = libvirt.open("test:///default")

    def error_code(self, exc: BaseException) -> int | None:
        return exc.get_error_code() if isinstance(exc, self.lv.libvirtError) else None

    def pool(self, name: str) -> Any:
        return self.conn.storagePoolLookupByName(name)

    def pool_by_uuid(self, uuid: str) -> Any:
        return self.conn.storagePoolLookupByUUIDString(uuid)

    def pool_ident(self, name: str) -> list[str]:
        p = self.pool(name)
        return [p.name(), p.UUIDString()]

    def pool_info(self, name: str) -> list[int]:
        return list(self.pool(name).info())

    def pool_flags(self, name: str) -> list[bool]:
        p = self.pool(name)
        return [bool(p.isActive()), bool(p.isPersistent()), bool(p.autostart())]

    def pool_names(self, active: bool | None) -> list[str]:
        flags = {
            None: 0,
            True: self.lv.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
            False: self.lv.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE,
        }[active]
        return sorted(p.name() for p in self.conn.listAllStoragePools(flags))

    def pool_do(self, name: str, op: str) -> None:
        p = self.pool(name)
        {
            "start": p.create,
            "build": p.build,
            "destroy": p.destroy,
            "delete": p.delete,
            "undefine": p.undefine,
            "refresh": p.refresh,
        }[op]()

    def set_autostart(self, name: str, value: bool) -> None:
        self.pool(name).setAutostart(int(value))

    def define(self, xml: str) -> str:
        return str(self.conn.storagePoolDefineXML(xml).name())

    def create(self, xml: str) -> str:
        return str(self.conn.storagePoolCreateXML(xml).name())

    def vol_names(self, pool: str) -> list[str]:
        return sorted(v.name() for v in self.pool(pool).listAllVolumes())

    def vol_create(self, pool: str, xml: str) -> list[Any]:
        v = self.pool(pool).createXML(xml)
        return [v.name(), v.key(), v.path(), list(v.info())]

    def vol_clone(self, pool: str, xml: str, source: str) -> list[Any]:
        p = self.pool(pool)
        v = p.createXMLFrom(xml, p.storageVolLookupByName(source))
        return [v.name(), v.key(), v.path(), list(v.info())]

    def vol(self, pool: str, name: str) -> Any:
        return self.pool(pool).storageVolLookupByName(name)

    def vol_info(self, pool: str, name: str) -> list[int]:
        return list(self.vol(pool, name).info())

    def vol_by_key(self, key: str) -> str:
        return str(self.conn.storageVolLookupByKey(key).name())

    def vol_by_path(self, path: str) -> str:
        return str(self.conn.storageVolLookupByPath(path).name())

    def vol_delete(self, pool: str, name: str) -> None:
        self.vol(pool, name).delete()

    def vol_resize(self, pool: str, name: str, capacity: int) -> None:
        self.vol(pool, name).resize(capacity)

    def vol_wipe(self, pool: str, name: str) -> None:
        self.vol(pool, name).wipe()

    def held_vol_info(self, pool: str, name: str) -> Callable[[], list[int]]:
        """Look the volume up now; the returned call asks its info later (a handle kept across changes)."""
        v = self.vol(pool, name)
        return lambda: list(v.info())


class VirtcoreSide:
    """The same vocabulary over virtcore (``test:///default``, reset first)."""

    def __init__(self) -> None:
        import virt_test

        import virtcore

        virt_test.reset_default_node()
        self.conn = virtcore.open("test:///default")
        self.virtcore = virtcore

    def error_code(self, exc: BaseException) -> int | None:
        return int(exc.code) if isinstance(exc, self.virtcore.VirtError) else None

    def pool(self, name: str) -> Any:
        return self.conn.lookup_storage_pool(name)

    def pool_by_uuid(self, uuid: str) -> Any:
        return self.conn.lookup_storage_pool_by_uuid(uuid)

    def pool_ident(self, name: str) -> list[str]:
        p = self.pool(name)
        return [p.name, p.uuid]

    def pool_info(self, name: str) -> list[int]:
        return [int(x) for x in self.pool(name).info()]

    def pool_flags(self, name: str) -> list[bool]:
        p = self.pool(name)
        return [p.is_active(), p.is_persistent(), p.autostart]

    def pool_names(self, active: bool | None) -> list[str]:
        return sorted(p.name for p in self.conn.list_storage_pools(active))

    def pool_do(self, name: str, op: str) -> None:
        p = self.pool(name)
        {
            "start": p.start,
            "build": p.build,
            "destroy": p.destroy,
            "delete": p.delete,
            "undefine": p.undefine,
            "refresh": p.refresh,
        }[op]()

    def set_autostart(self, name: str, value: bool) -> None:
        self.pool(name).autostart = value

    def define(self, xml: str) -> str:
        return str(self.conn.define_storage_pool(xml).name)

    def create(self, xml: str) -> str:
        return str(self.conn.create_storage_pool(xml).name)

    def vol_names(self, pool: str) -> list[str]:
        return sorted(v.name for v in self.pool(pool).list_volumes())

    def vol_create(self, pool: str, xml: str) -> list[Any]:
        v = self.pool(pool).create_volume(xml)
        return [v.name, v.key, v.path, [int(x) for x in v.info()]]

    def vol_clone(self, pool: str, xml: str, source: str) -> list[Any]:
        p = self.pool(pool)
        v = p.create_volume_from(xml, p.lookup_volume(source))
        return [v.name, v.key, v.path, [int(x) for x in v.info()]]

    def vol(self, pool: str, name: str) -> Any:
        return self.pool(pool).lookup_volume(name)

    def vol_info(self, pool: str, name: str) -> list[int]:
        return [int(x) for x in self.vol(pool, name).info()]

    def vol_by_key(self, key: str) -> str:
        return str(self.conn.lookup_storage_volume_by_key(key).name)

    def vol_by_path(self, path: str) -> str:
        return str(self.conn.lookup_storage_volume_by_path(path).name)

    def vol_delete(self, pool: str, name: str) -> None:
        self.vol(pool, name).delete()

    def vol_resize(self, pool: str, name: str, capacity: int) -> None:
        self.vol(pool, name).resize(capacity)

    def vol_wipe(self, pool: str, name: str) -> None:
        self.vol(pool, name).wipe()

    def held_vol_info(self, pool: str, name: str) -> Callable[[], list[int]]:
        """Look the volume up now; the returned call asks its info later (a handle kept across changes)."""
        v = self.vol(pool, name)
        return lambda: [int(x) for x in v.info()]


Side = Any
DP = "default-pool"
MISSING_UUID = "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4567"


def steps(s: Side) -> list[tuple[str, Callable[[], object]]]:
    """The scenario: ``(label, call)`` in order. Calls run lazily, one after the other."""
    held: dict[str, Callable[[], list[int]]] = {}

    def hold(label: str, pool: str, name: str) -> None:
        held[label] = s.held_vol_info(pool, name)

    return [
        # the default pool
        ("default pool", lambda: s.pool_ident(DP)),
        ("default pool info", lambda: s.pool_info(DP)),
        ("default pool flags", lambda: s.pool_flags(DP)),
        ("default pool volumes", lambda: s.vol_names(DP)),
        ("all pools", lambda: s.pool_names(None)),
        ("lookup unknown pool", lambda: s.pool("nope")),
        ("lookup unknown pool uuid", lambda: s.pool_by_uuid(MISSING_UUID)),
        ("start an active pool", lambda: s.pool_do(DP, "start")),
        ("build an active pool", lambda: s.pool_do(DP, "build")),
        ("delete an active pool", lambda: s.pool_do(DP, "delete")),
        ("undefine an active pool", lambda: s.pool_do(DP, "undefine")),
        ("refresh", lambda: s.pool_do(DP, "refresh")),
        # volumes and the space they take
        ("create a volume", lambda: s.vol_create(DP, vol_xml("a.img", 1000000, 50000))),
        ("pool info after create", lambda: s.pool_info(DP)),
        ("create it again", lambda: s.vol_create(DP, vol_xml("a.img", 1000000, 50000))),
        ("more than the free space", lambda: s.vol_create(DP, vol_xml("big", 200 * 10**9))),
        ("sparse and large", lambda: s.vol_create(DP, vol_xml("sparse", 200 * 10**9, 0))),
        ("allocation above capacity", lambda: s.vol_create(DP, vol_xml("odd", 5, 9))),
        ("no capacity", lambda: s.vol_create(DP, vol_xml("nocap", None))),
        ("pool info after the refusals", lambda: s.pool_info(DP)),
        ("clone", lambda: s.vol_clone(DP, vol_xml("clone", 10, 5), "a.img")),
        ("pool info after clone", lambda: s.pool_info(DP)),
        ("volume names", lambda: s.vol_names(DP)),
        ("lookup unknown volume", lambda: s.vol(DP, "nope")),
        ("lookup unknown key", lambda: s.vol_by_key("nope")),
        ("lookup unknown path", lambda: s.vol_by_path("/nope")),
        ("lookup by key", lambda: s.vol_by_key("/default-pool/a.img")),
        ("lookup by path", lambda: s.vol_by_path("/default-pool/clone")),
        ("resize", lambda: s.vol_resize(DP, "a.img", 2000000)),
        ("wipe", lambda: s.vol_wipe(DP, "a.img")),
        # a second pool, defined then started
        ("define", lambda: s.define(pool_xml("p2", "/srv/p2"))),
        ("defined pool info", lambda: s.pool_info("p2")),
        ("defined pool flags", lambda: s.pool_flags("p2")),
        ("define the same target", lambda: s.define(pool_xml("p3", "/srv/p2"))),
        ("define the default pool's target", lambda: s.define(pool_xml("p4", "/default-pool"))),
        ("define the same name, another uuid", lambda: s.define(pool_xml("p2", "/srv/p2", OTHER_UUID))),
        ("volume in an inactive pool", lambda: s.vol_create("p2", vol_xml("x", 1))),
        ("destroy an inactive pool", lambda: s.pool_do("p2", "destroy")),
        ("refresh an inactive pool", lambda: s.pool_do("p2", "refresh")),
        ("build", lambda: s.pool_do("p2", "build")),
        ("start", lambda: s.pool_do("p2", "start")),
        ("started pool flags", lambda: s.pool_flags("p2")),
        ("autostart", lambda: s.set_autostart("p2", True)),
        ("autostart set", lambda: s.pool_flags("p2")),
        ("volume in p2", lambda: s.vol_create("p2", vol_xml("v", 1 << 30, 0))),
        ("pools active", lambda: s.pool_names(True)),
        # a transient pool
        ("create transient", lambda: s.create(pool_xml("t", "/srv/t"))),
        ("transient flags", lambda: s.pool_flags("t")),
        ("transient info", lambda: s.pool_info("t")),
        ("autostart a transient pool", lambda: s.set_autostart("t", True)),
        ("undefine an active transient pool", lambda: s.pool_do("t", "undefine")),
        ("volume in t", lambda: s.vol_create("t", vol_xml("tv", 100))),
        ("destroy transient", lambda: s.pool_do("t", "destroy")),
        ("transient gone", lambda: s.pool("t")),
        ("its volume's key gone", lambda: s.vol_by_key("/srv/t/tv")),
        # the default pool stopped: its volumes stay, out of reach
        ("hold a volume", lambda: hold("a", DP, "a.img")),
        ("destroy the default pool", lambda: s.pool_do(DP, "destroy")),
        ("stopped pool info", lambda: s.pool_info(DP)),
        ("pools inactive", lambda: s.pool_names(False)),
        ("volumes of a stopped pool", lambda: s.vol_names(DP)),
        ("volume of a stopped pool", lambda: s.vol(DP, "a.img")),
        ("held volume of a stopped pool", lambda: held["a"]()),
        ("key of a stopped pool's volume", lambda: s.vol_by_key("/default-pool/a.img")),
        ("build stopped", lambda: s.pool_do(DP, "build")),
        ("delete stopped", lambda: s.pool_do(DP, "delete")),
        ("start again", lambda: s.pool_do(DP, "start")),
        ("volumes kept", lambda: s.vol_names(DP)),
        ("pool info kept", lambda: s.pool_info(DP)),
        # deleting volumes, undefining pools
        ("delete a volume", lambda: s.vol_delete(DP, "a.img")),
        ("held deleted volume", lambda: held["a"]()),
        ("pool info after delete", lambda: s.pool_info(DP)),
        ("clone a deleted volume", lambda: s.vol_clone(DP, vol_xml("w", 1), "a.img")),
        ("destroy p2", lambda: s.pool_do("p2", "destroy")),
        ("undefine p2", lambda: s.pool_do("p2", "undefine")),
        ("p2 gone", lambda: s.pool("p2")),
        # bad XML
        ("malformed pool XML", lambda: s.define("<pool>")),
        ("unknown pool type", lambda: s.define("<pool type='foo'><name>f</name></pool>")),
        ("pool without a target", lambda: s.define("<pool type='dir'><name>f</name></pool>")),
        ("malformed volume XML", lambda: s.vol_create(DP, "<volume>")),
        # names that would leave the pool's directory (last: libvirt's test driver takes them)
        ("volume name with a slash", lambda: s.vol_create(DP, vol_xml("a/b", 1))),
        ("volume name ..", lambda: s.vol_create(DP, vol_xml("..", 1))),
        ("volume name with a leading dash", lambda: s.vol_create(DP, vol_xml("-x", 1))),
    ]


def play(side: Side) -> list[tuple[str, Outcome]]:
    """Run every step (:func:`libvirt_peer.play`): handles and ``None`` are recorded as ``None``."""
    return libvirt_peer.play(side, steps(side))


#: libvirt's test-driver node files that hold pools.
NODE_FILES = ("testnode.xml", "testnodeinline.xml")


def node_file_pools(pools: Callable[[str], list[list[Any]]], directory: str) -> dict[str, list[list[Any]]]:
    """What each of :data:`NODE_FILES` holds: per pool, its identity, info and volumes.

    ``pools(uri)`` answers ``[[name, uuid, info, [active, persistent], volumes]...]``.
    """
    return {name: sorted(pools(f"test://{directory}/{name}")) for name in NODE_FILES}


def libvirt_pools(uri: str) -> list[list[Any]]:
    """:func:`node_file_pools`' answer through python3-libvirt."""
    import libvirt

    conn = libvirt.open(uri)
    found = []
    for p in conn.listAllStoragePools():
        vols = sorted([v.name(), v.key(), v.path(), list(v.info())] for v in p.listAllVolumes())
        found.append(
            [p.name(), p.UUIDString(), list(p.info()), [bool(p.isActive()), bool(p.isPersistent())], vols]
        )
    conn.close()
    return found


def virtcore_pools(uri: str) -> list[list[Any]]:
    """:func:`node_file_pools`' answer through virtcore."""
    import virtcore

    with virtcore.open(uri) as conn:
        found = []
        for p in conn.list_storage_pools():
            vols = sorted([v.name, v.key, v.path, [int(x) for x in v.info()]] for v in p.list_volumes())
            info = [int(x) for x in p.info()]
            found.append([p.name, p.uuid, info, [p.is_active(), p.is_persistent()], vols])
        return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["nodes"]:
        json.dump(node_file_pools(libvirt_pools, sys.argv[2]), sys.stdout)
    else:
        json.dump(play(LibvirtSide()), sys.stdout)
