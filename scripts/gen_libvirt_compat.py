#!/usr/bin/env python3
"""Generate virt-libvirt's tables from libvirt's API description (Debian's libvirt-dev ships it).

    python3 scripts/gen_libvirt_compat.py [--api-dir /usr/share/libvirt/api] [--check]

Writes ``plugins/virt-libvirt/virt_libvirt/_constants.py`` (every ``VIR_*`` enum
constant of ``libvirt-api.xml`` with libvirt's value, and the typed-parameter
name macros), ``_qemu_constants.py`` (the same for ``libvirt-qemu-api.xml``) and
``_table.py`` (every public function of the API: the class and method name
libvirt-python gives it). ``--check`` writes nothing and exits 1 when a file
differs from what it would write (the test suite runs it that way).

The naming follows libvirt-python's rules (its generator.py and
tests/test_api_coverage.py): ``virDomainGetInfo`` is ``virDomain.info``,
``virConnectListAllDomains`` is ``virConnect.listAllDomains``,
``virStorageVolLookupByName`` is ``virStoragePool.storageVolLookupByName``...
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "plugins" / "virt-libvirt" / "virt_libvirt"

#: The classes of the libvirt module, longest prefix first when matching a C name.
CLASSES = (
    "virConnect",
    "virDomain",
    "virDomainCheckpoint",
    "virDomainSnapshot",
    "virInterface",
    "virNWFilter",
    "virNWFilterBinding",
    "virNetwork",
    "virNetworkPort",
    "virNodeDevice",
    "virSecret",
    "virStoragePool",
    "virStorageVol",
    "virStream",
)

#: The value libvirt-python gives an enum defined as another enum of an earlier file.
_TYPED_PARAM = {
    "VIR_TYPED_PARAM_INT": 1,
    "VIR_TYPED_PARAM_UINT": 2,
    "VIR_TYPED_PARAM_LLONG": 3,
    "VIR_TYPED_PARAM_ULLONG": 4,
    "VIR_TYPED_PARAM_DOUBLE": 5,
    "VIR_TYPED_PARAM_BOOLEAN": 6,
}

#: C functions that are callback types, internal helpers or freed by the binding itself.
_NOT_FUNCTIONS = {
    "virConnectAuthCallbackPtr",
    "virConnectCloseFunc",
    "virStreamSinkFunc",
    "virStreamSourceFunc",
    "virStreamEventCallback",
    "virEventHandleCallback",
    "virEventTimeoutCallback",
    "virFreeCallback",
    "virStreamSinkHoleFunc",
    "virStreamSourceHoleFunc",
    "virStreamSourceSkipFunc",
}
_FREED_BY_BINDING = (
    "virTypedParams",
    "virNetworkDHCPLeaseFree",
    "virDomainStatsRecordListFree",
    "virDomainFSInfoFree",
    "virDomainIOThreadInfoFree",
    "virDomainInterfaceFree",
)
#: Method names that re-home an object's creation or lookup onto its parent.
_PARENT_CALLS = {
    "CreateXML",
    "CreateLinux",
    "CreateXMLWithFiles",
    "DefineXML",
    "CreateXMLFrom",
    "LookupByUUID",
    "LookupByUUIDString",
    "LookupByID",
    "LookupByName",
    "LookupByKey",
    "LookupByPath",
    "LookupByMACString",
    "LookupByUsage",
    "LookupByVolume",
    "LookupByTargetPath",
    "LookupSCSIHostByWWN",
    "LookupByPortDev",
    "Restore",
    "RestoreFlags",
    "RestoreParams",
    "SaveImageDefineXML",
    "SaveImageGetXMLDesc",
    "DefineXMLFlags",
    "CreateXMLFlags",
}
_ERROR_INTERNALS = {
    "CopyLastError",
    "DefaultErrorFunc",
    "ErrorFunc",
    "FreeError",
    "SaveLastError",
    "ResetError",
}
_KEEP_GET = {"virConnect", "virDomainCheckpoint", "virDomainSnapshot", "libvirt"}
#: Module functions libvirt-python keeps the ``vir`` prefix of.
_VIR_PREFIXED = {"GetLastError", "GetLastErrorMessage", "GetLastErrorCode", "GetLastErrorDomain"}
_VIR_PREFIXED |= {"ResetLastError", "Initialize"}
_RENAMED = {
    "ListDomains": "ListDomainsID",
    "ListAllNodeDevices": "ListAllDevices",
    "ListNodeDevices": "ListDevices",
}
_UPPER = {"iD": "ID", "uUID": "UUID", "uUIDString": "UUIDString", "oSType": "OSType", "xMLDesc": "XMLDesc"}
_UPPER["mACString"] = "MACString"
_UPPER["fDAssociate"] = "FDAssociate"


def _enums(
    tree: ET.ElementTree, files: set[str], extern: dict[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """``{type: {name: value}}`` of the exported enums, references resolved, ``_LAST`` sentinels dropped.

    ``extern``: values of another API's enums the references may name (the QEMU API names libvirt's).
    """
    exported = {e.get("symbol") for e in tree.iterfind("files/file/exports[@type='enum']")}
    raw: dict[str, dict[str, str]] = {}
    for e in tree.iterfind("symbols/enum"):
        if e.get("file") in files and e.get("name") in exported:
            raw.setdefault(e.get("type", ""), {})[e.get("name", "")] = e.get("value", "")
    flat = {n: v for d in raw.values() for n, v in d.items()}
    flat.update({n: str(v) for n, v in (extern or {}).items()})
    out: dict[str, dict[str, int]] = {}
    for typ, members in raw.items():
        resolved = {}
        for name, value in members.items():
            seen = value
            while not _is_int(seen):
                seen = str(_TYPED_PARAM[seen]) if seen in _TYPED_PARAM else flat[seen]
            resolved[name] = int(seen, 0)
        items = sorted(resolved.items(), key=lambda kv: (kv[1], kv[0]))
        if items[-1][0].endswith("_LAST"):
            items.pop()
        out[typ] = dict(items)
    return out


def _is_int(text: str) -> bool:
    try:
        int(text, 0)
    except ValueError:
        return False
    return True


def _macros(tree: ET.ElementTree) -> list[tuple[str, str]]:
    """The string macros (typed parameter and identity names), in the file's order."""
    macros = tree.iterfind("symbols/macro")
    return [(m.get("name", ""), m.get("string", "")) for m in macros if m.get("string")]


#: The error domain libvirt reports a function's failures in, by the source module defining it.
_MODULE_DOMAIN = {
    "libvirt-domain": "VIR_FROM_DOMAIN",
    "libvirt-domain-checkpoint": "VIR_FROM_DOMAIN_CHECKPOINT",
    "libvirt-domain-snapshot": "VIR_FROM_DOMAIN_SNAPSHOT",
    "libvirt-interface": "VIR_FROM_INTERFACE",
    "libvirt-network": "VIR_FROM_NETWORK",
    "libvirt-nodedev": "VIR_FROM_NODEDEV",
    "libvirt-nwfilter": "VIR_FROM_NWFILTER",
    "libvirt-secret": "VIR_FROM_SECRET",
    "libvirt-storage": "VIR_FROM_STORAGE",
    "libvirt-stream": "VIR_FROM_STREAMS",
    "virevent": "VIR_FROM_EVENT",
}


def _error_domains(tree: ET.ElementTree) -> dict[str, str]:
    """``{C function: VIR_FROM_* name}`` for the functions not reported in VIR_FROM_NONE."""
    return {
        f.get("name", ""): _MODULE_DOMAIN[f.get("module", "")]
        for f in tree.iterfind("symbols/function")
        if f.get("module") in _MODULE_DOMAIN
    }


def _functions(tree: ET.ElementTree) -> list[str]:
    return sorted(e.get("symbol", "") for e in tree.iterfind("files/file/exports[@type='function']"))


def python_name(cname: str) -> tuple[str, str] | None:
    """``(class or "libvirt", method)`` libvirt-python gives the C function, None when it has none."""
    name = cname
    if name.startswith("virNode") and not name.startswith("virNodeDevice"):
        name = "virConnect" + name[7:]
    if name.startswith("virConn") and not name.startswith("virConnect"):
        name = "virConnect" + name[7:]
    if name.startswith(_FREED_BY_BINDING) or name in _NOT_FUNCTIONS:
        return None
    if name.startswith("virDomainListGetStats"):
        name = "virConnectDomainListGetStats"
    for prefix in ("virConnectDomainEvent", "virConnectNetworkEvent", "virConnectStoragePoolEvent"):
        if name.startswith(prefix) and name.endswith("Callback"):
            return None
    for prefix in ("virConnectNodeDeviceEvent", "virConnectSecretEvent"):
        if name.startswith(prefix) and name.endswith("Callback"):
            return None
    if name.startswith("virEvent"):
        return None if name.endswith("Func") else ("libvirt", name)
    klass, func = "libvirt", name[3:]
    for candidate in CLASSES:
        if name.startswith(candidate) and (klass == "libvirt" or len(candidate) > len(klass)):
            klass, func = candidate, name[len(candidate) :]
    return _fixup(klass, func)


def _fixup(klass: str, func: str) -> tuple[str, str] | None:
    if func in ("Ref", "Free", "New", "GetConnect", "GetDomain", "GetNetwork"):
        if klass == "virStream" and func == "New":
            klass, func = "virConnect", "NewStream"
        else:
            return None
    if klass == "libvirt":
        if func in _ERROR_INTERNALS:
            return None
        if func in _VIR_PREFIXED:
            func = "vir" + func
        elif func == "SetErrorFunc":
            func = "RegisterErrorHandler"
    elif klass == "virConnect":
        if func in ("CopyLastError", "SetErrorFunc"):
            return None
        if func in ("GetLastError", "ResetLastError"):
            func = "virConn" + func
    if func.startswith("Get") and klass not in _KEEP_GET and func not in ("GetCPUStats", "GetTime"):
        func = func[3:]
    if func in _PARENT_CALLS:
        if klass != "virDomain":
            func = klass[3:] + func
        if klass in ("virDomainCheckpoint", "virDomainSnapshot"):
            klass, func = "virDomain", func[6:]
        elif klass == "virStorageVol" and func in ("StorageVolCreateXMLFrom", "StorageVolCreateXML"):
            klass, func = "virStoragePool", func[10:]
        elif klass == "virNetworkPort":
            klass, func = "virNetwork", func[7:]
        elif func == "StoragePoolLookupByVolume":
            klass = "virStorageVol"
        elif func == "StorageVolLookupByName":
            klass = "virStoragePool"
        else:
            klass = "virConnect"
    if klass == "virConnect" and func in ("Open", "OpenAuth", "OpenReadOnly"):
        klass = "libvirt"
    func = _RENAMED.get(func, func)
    if func.startswith("Change"):
        klass = "virConnect"
    if klass == "virDomainSnapshot" and func in ("Current", "ListNames", "Num"):
        klass, func = "virDomain", "snapshot" + func
    func = func[:1].lower() + func[1:]
    if func.startswith("nWFilter"):
        func = "nwfilter" + func[8:]
    if func.startswith(("fSFreeze", "fSThaw", "fSInfo")):
        func = "fs" + func[2:]
    if func.startswith("iOThreadInfo"):
        func = "ioThreadInfo"
    if klass == "virNetwork":
        func = func.replace("dHCP", "DHCP")
    return klass, _UPPER.get(func, func)


def qemu_name(cname: str) -> str:
    """libvirt_qemu's function for a C function: ``virDomainQemuMonitorCommand`` is ``qemuMonitorCommand``."""
    for prefix in ("virDomainQemu", "virConnectDomainQemu"):
        if cname.startswith(prefix):
            return "qemu" + cname[len(prefix) :]
    raise ValueError(f"no libvirt_qemu name for {cname}")


HEADER = '''"""{what} (generated: do not edit).

Made by ``python3 scripts/gen_libvirt_compat.py`` from libvirt {version}'s ``{source}``.
"""
'''


def constants_file(
    tree: ET.ElementTree,
    files: set[str],
    what: str,
    source: str,
    version: str,
    extern: dict[str, int] | None = None,
) -> str:
    lines = [HEADER.format(what=what, source=source, version=version)]
    for typ, members in sorted(_enums(tree, files, extern).items()):
        lines.append(f"# {typ}")
        lines.extend(f"{name} = {value}" for name, value in members.items())
        lines.append("")
    macros = _macros(tree)
    if macros:
        lines.append("# typed parameter and identity names")
        lines.extend(f'{name} = "{value}"' for name, value in macros)
    return "\n".join(lines).rstrip("\n") + "\n"


def table_file(api: ET.ElementTree, qemu: ET.ElementTree, version: str) -> str:
    methods: dict[str, dict[str, str]] = {}
    for cname in _functions(api):
        mapped = python_name(cname)
        if mapped is not None:
            methods.setdefault(mapped[0], {})[mapped[1]] = cname
    what = "libvirt's functions by libvirt-python's names"
    out = [HEADER.format(what=what, source="libvirt-api.xml", version=version)]
    major, minor, micro = (int(n) for n in version.split("."))
    out.append("#: The version of libvirt's API described (``getVersion()``).")
    out.append(f"VERSION = {major * 1000000 + minor * 1000 + micro}")
    out.append("")
    out.append("#: ``{class: {method: C function}}``; ``libvirt`` holds the module's functions.")
    out.append("METHODS: dict[str, dict[str, str]] = {")
    for klass in sorted(methods):
        out.append(f'    "{klass}": {{')
        out.extend(f'        "{m}": "{c}",' for m, c in sorted(methods[klass].items()))
        out.append("    },")
    out.append("}")
    out.append("")
    out.append("#: libvirt_qemu's module functions: ``{function: C function}``.")
    out.append("QEMU_FUNCTIONS: dict[str, str] = {")
    out.extend(f'    "{qemu_name(c)}": "{c}",' for c in _functions(qemu) if not c.endswith("Callback"))
    out.append("}")
    out.append("")
    out.append("#: The error domain (``VIR_FROM_*``) of each C function not reported in VIR_FROM_NONE.")
    out.append("ERROR_DOMAIN: dict[str, str] = {")
    out.extend(f'    "{c}": "{d}",' for c, d in sorted(_error_domains(api).items()))
    out.append("}")
    out.append("")
    out.append("#: Every C function of the API (libvirtmod's bindings carry these names).")
    out.append("C_FUNCTIONS: tuple[str, ...] = (")
    out.extend(f'    "{c}",' for c in _functions(api))
    out.append(")")
    return "\n".join(out) + "\n"


def _version(tree: ET.ElementTree) -> str:
    for m in tree.iterfind("symbols/macro"):
        if m.get("name") == "LIBVIR_VERSION_NUMBER":
            n = int(m.get("raw", "0"))
            return f"{n // 1000000}.{n // 1000 % 1000}.{n % 1000}"
    return "unknown"


def generate(api_dir: Path) -> dict[Path, str]:
    """The generated files' text by path."""
    api = ET.parse(api_dir / "libvirt-api.xml")
    qemu = ET.parse(api_dir / "libvirt-qemu-api.xml")
    version = _version(api)
    lib_files = {f.get("name", "") for f in api.iterfind("files/file")} | {"virerror", "virterror"}
    return {
        OUT / "_constants.py": constants_file(
            api,
            lib_files,
            "Every VIR_* constant of libvirt's API with libvirt's value",
            "libvirt-api.xml",
            version,
        ),
        OUT / "_qemu_constants.py": constants_file(
            qemu,
            {"libvirt-qemu"},
            "Every VIR_* constant of libvirt's QEMU API",
            "libvirt-qemu-api.xml",
            version,
            {n: v for d in _enums(api, lib_files).values() for n, v in d.items()},
        ),
        OUT / "_table.py": table_file(api, qemu, version),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-dir", type=Path, default=Path("/usr/share/libvirt/api"))
    parser.add_argument("--check", action="store_true", help="compare instead of writing; 1 when stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generate(args.api_dir).items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
    for path in stale:
        print(f"stale: {path.relative_to(ROOT)} (run python3 scripts/gen_libvirt_compat.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
