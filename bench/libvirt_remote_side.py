"""python3-libvirt's side of the remote bench: Debian's /usr/bin/python3, libvirt's own remote driver.

Usage: libvirt_remote_side.py URI [--quick]; prints one JSON object ``{operation: µs}``;
exits 3 when libvirt is not importable.
"""

from __future__ import annotations

import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import libvirt
except ImportError:
    sys.exit(3)

from remote_ops import measure_remote


class LibvirtRemote:
    def __init__(self, uri: str) -> None:
        libvirt.registerErrorHandler(lambda *a: None, None)
        libvirt.virEventRegisterDefaultImpl()
        threading.Thread(target=self._events, daemon=True).start()
        self.conn = libvirt.open(uri)

    @staticmethod
    def _events() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    def lookup(self, name):
        return self.conn.lookupByName(name)

    def info(self, dom):
        return dom.info()

    def xml_desc(self, dom):
        return dom.XMLDesc()

    def define(self, xml):
        return self.conn.defineXML(xml)

    def undefine(self, dom):
        dom.undefine()

    def list_all(self):
        return self.conn.listAllDomains()

    def suspend(self, dom):
        dom.suspend()

    def resume(self, dom):
        dom.resume()

    def on_lifecycle(self, callback):
        self.conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda c, d, event, detail, o: callback(event), None
        )


if __name__ == "__main__":
    api = LibvirtRemote(sys.argv[1])
    print(json.dumps(measure_remote(api, "--quick" in sys.argv)))
