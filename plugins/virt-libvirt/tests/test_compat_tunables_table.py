"""virt-libvirt's tunables, derived from virtcore.rpc.tunables.TUNABLES, named as libvirt-python names them.

Their behaviour is pinned by test_compat_tunables.py; here each row's methods are held
against Debian's libvirt-python: the same names, the same parameters in the same order
(keyword callers depend on them), the same defaults.
"""

from __future__ import annotations

import libvirt

from virtcore.rpc.tunables import TUNABLES

METHODS = [side.python for row in TUNABLES for side in (row.getter, row.setter) if side is not None]

#: Each method's parameters and defaults, as JSON.
SIGNATURES = """
import inspect, json, sys, libvirt
out = {}
for name in sys.argv[1:]:
    params = inspect.signature(getattr(libvirt.virDomain, name)).parameters.values()
    out[name] = [[p.name, None if p.default is inspect.Parameter.empty else p.default] for p in params]
print(json.dumps(out))
"""


def test_every_row_gives_libvirt_pythons_methods_with_its_parameters(side_by_side) -> None:
    theirs, ours = side_by_side.run(SIGNATURES, *METHODS)
    assert sorted(theirs) == sorted(METHODS)
    assert ours == theirs


def test_the_derived_methods_are_virdomains_and_say_what_they_call() -> None:
    for row in TUNABLES:
        for side in (row.getter, row.setter):
            if side is None:
                continue
            method = getattr(libvirt.virDomain, side.python)
            assert method.__name__ == side.python
            assert side.function in (method.__doc__ or "") and side.method in (method.__doc__ or "")
