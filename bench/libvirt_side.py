"""The libvirt side of the bench: run by Debian's /usr/bin/python3 with python3-libvirt.

Prints one JSON object ``{operation: µs}``; exits 3 when libvirt is not importable.
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


if __name__ == "__main__":
    print(json.dumps(measure(LibvirtAPI(), quick="--quick" in sys.argv)))
