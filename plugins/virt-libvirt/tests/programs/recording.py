"""What every consumer program shares: record each call's value or error under a key, print them.

The programs next to this module import it (a script's directory is first on
``sys.path``); it runs as they do, under Debian's ``/usr/bin/python3`` with
python3-libvirt and under this virtualenv with virt-libvirt, so it imports only
``libvirt`` and the standard library, and records a value the same way on both
sides.
"""

import json

import libvirt

#: key -> what the call recorded under it gave; :func:`dump` prints it.
out = {}


def shape(v):
    """What a value looks like, for numbers that move (CPU time, free memory, counters...)."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [shape(x) for x in v]
    return type(v).__name__


def plain(v):
    """``v`` as JSON can hold it: a libvirt object as ``["object", class, name]``, bytes as hex."""
    if isinstance(v, bytes):
        return ["bytes", v.hex()]
    if hasattr(v, "getName"):  # snapshots and checkpoints
        return ["object", type(v).__name__, v.getName()]
    if callable(getattr(v, "name", None)):  # domains, networks, pools, volumes, devices...
        return ["object", type(v).__name__, v.name()]
    return v


def rec(key, fn):
    """Record ``fn()``'s value, or the libvirt error it raised as ``["error", code, domain]``."""
    try:
        out[key] = plain(fn())
    except libvirt.libvirtError as e:
        out[key] = ["error", e.get_error_code(), e.get_error_domain()]


def rec_failure(key, fn):
    """Record the error ``fn()`` raised as ``["error", code, domain, message]``, or ``["ok"]``."""
    try:
        fn()
        out[key] = ["ok"]
    except libvirt.libvirtError as e:
        out[key] = ["error", e.get_error_code(), e.get_error_domain(), e.get_error_message()]


def dump():
    """Print everything recorded, as JSON with sorted keys."""
    print(json.dumps(out, indent=1, sort_keys=True))
