"""The libvirt side of the bench: run by Debian's /usr/bin/python3 with python3-libvirt.

Prints one JSON object ``{operation: µs}`` (``--storage``: the pool and volume workload of
storage_ops.py); exits 3 when libvirt is not importable.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import libvirt
except ImportError:
    sys.exit(3)

from ops import measure
from storage_ops import measure_storage, run_op


class LibvirtAPI:
    def __init__(self) -> None:
        libvirt.registerErrorHandler(lambda *a: None, None)
        self.conn = libvirt.open("test:///default")

    def lookup(self, name):
        return self.conn.lookupByName(name)

    def info(self, dom):
        return dom.info()

    def state(self, dom):
        return dom.state()

    def xml_desc(self, dom):
        return dom.XMLDesc()

    def define(self, xml):
        return self.conn.defineXML(xml)

    def undefine(self, dom):
        dom.undefine()

    def start(self, dom):
        dom.create()

    def destroy(self, dom):
        dom.destroy()

    def suspend(self, dom):
        dom.suspend()

    def resume(self, dom):
        dom.resume()

    def list_all(self):
        return self.conn.listAllDomains()


class LibvirtStorage:
    """The storage workload's adapter (storage_ops.py) over libvirt's test driver."""

    def __init__(self) -> None:
        libvirt.registerErrorHandler(lambda *a: None, None)
        self.conn = libvirt.open("test:///default")

    def pool(self, name):
        return self.conn.storagePoolLookupByName(name)

    def pool_info(self, pool):
        return pool.info()

    def pool_xml(self, pool):
        return pool.XMLDesc()

    def pools(self):
        return self.conn.listAllStoragePools()

    def volume(self, pool, name):
        return pool.storageVolLookupByName(name)

    def vol_info(self, vol):
        return vol.info()

    def vol_xml(self, vol):
        return vol.XMLDesc()

    def create(self, pool, xml):
        return pool.createXML(xml)

    def delete(self, vol):
        vol.delete()

    def volumes(self, pool):
        return pool.listAllVolumes()


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    if "--storage-op" in sys.argv:  # --storage-op OP NUMBER: a process to count instructions of
        at = sys.argv.index("--storage-op")
        run_op(LibvirtStorage(), sys.argv[at + 1], int(sys.argv[at + 2]))
    elif "--storage" in sys.argv:
        print(json.dumps(measure_storage(LibvirtStorage(), quick=quick)))
    else:
        print(json.dumps(measure(LibvirtAPI(), quick=quick)))
