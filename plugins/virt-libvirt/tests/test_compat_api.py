"""The libvirt module's names and classes are libvirt-python's, and what virtcore lacks says so."""

from __future__ import annotations

import libvirt
import libvirtmod
import pytest

#: Every public callable of the module and of each class, as JSON (typing helpers left out).
NAMES = """
import json, libvirt
out = {}
for name in dir(libvirt):
    thing = getattr(libvirt, name)
    if name.startswith("_") or isinstance(thing, (int, str)) or getattr(thing, "__module__", "") == "typing":
        continue
    if isinstance(thing, type):
        out[name] = sorted(m for m in dir(thing) if not m.startswith("_") and callable(getattr(thing, m)))
    elif callable(thing):
        out.setdefault("libvirt", []).append(name)
print(json.dumps(out))
"""


def test_every_class_and_method_of_libvirt_python_is_there(side_by_side) -> None:
    theirs, ours = side_by_side.run(NAMES)
    # Debian's module re-exports two classes of its imports (typing.Any, types.TracebackType).
    theirs.pop("Any", None)
    theirs.pop("TracebackType", None)
    assert sum(len(v) for v in theirs.values()) > 450
    assert ours == theirs


def test_objects_have_libvirts_types() -> None:
    conn = libvirt.open("test:///default")
    dom = conn.lookupByName("test")
    assert type(conn) is libvirt.virConnect and type(dom) is libvirt.virDomain
    assert isinstance(conn.listAllDomains()[0], libvirt.virDomain)
    assert type(conn.storagePoolLookupByName("default-pool")) is libvirt.virStoragePool
    assert type(conn.networkLookupByName("default")) is libvirt.virNetwork
    assert type(conn.newStream()) is libvirt.virStream
    assert dom.connect() is conn
    assert libvirt.virDomain.__module__ == "libvirt" and libvirt.libvirtError.__module__ == "libvirt"


def test_a_function_virtcore_lacks_is_no_support_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    dom = libvirt.open("test:///default").lookupByName("test")
    with pytest.raises(libvirt.libvirtError) as caught:
        dom.blockCommit("vda", None, None, 0, 0)
    err = caught.value
    assert err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
    assert err.get_error_domain() == libvirt.VIR_FROM_DOMAIN
    assert (
        err.get_error_message()
        == "this function is not supported by the connection driver: virDomainBlockCommit"
    )
    assert err.get_error_level() == libvirt.VIR_ERR_ERROR
    assert err.get_str2() == "virDomainBlockCommit"
    # Without a handler, libvirt prints every error on stderr.
    assert capsys.readouterr().err == (
        "libvirt: Domain Config error : this function is not supported by the connection driver: "
        "virDomainBlockCommit\n"
    )


def test_libvirtmod_answers_every_c_binding() -> None:
    assert libvirtmod.virGetLastError is libvirt.virGetLastError
    assert callable(libvirtmod.virDomainGetInfo) and callable(libvirtmod.virConnectListDomainsID)
    with pytest.raises(AttributeError):
        libvirtmod.virNoSuchFunction  # noqa: B018
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        with pytest.raises(libvirt.libvirtError) as caught:
            libvirtmod.virDomainGetInfo(None)
        assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
        assert "virDomainGetInfo" in str(caught.value)
    finally:
        libvirt.registerErrorHandler(None, None)


def test_debians_python_still_imports_debians_libvirt() -> None:
    """The other suites' side-by-side peers run /usr/bin/python3 with this process's environment."""
    import os
    import subprocess

    from compat_peer import SYSTEM_PYTHON, debian_libvirt_missing

    if debian_libvirt_missing():
        pytest.skip(debian_libvirt_missing() or "")
    out = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import libvirt; print(libvirt.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert out.stdout.strip() == "/usr/lib/python3/dist-packages/libvirt.py"
