"""Validation of domain XML: what the typed model does not cover, and schema checks.

* :func:`unmodelled` lists the elements and attributes of a parsed definition
  that the typed model does not represent. They are not lost (formatting keeps
  them verbatim), but code reading the model will not see them; ``strict=True``
  in :func:`~virtcore.xml.parse_domain` turns them into an error.
* :func:`validate` / :func:`validate_file` collect every problem of a document:
  parse and semantic errors, optionally the unmodelled parts, and, given a path
  to a RelaxNG schema (e.g. libvirt's ``domain.rng``), schema violations.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Union

from lxml import etree

from virtcore.errors import ReadFailedError, VirtError, XMLError
from virtcore.xml import _util as u
from virtcore.xml._parser import secure_parse

Element = etree._Element

__all__ = ["unmodelled", "validate", "validate_file", "check_strict"]

# A node of the "what the model types" table: (attributes, children); ANY means
# the whole subtree is represented (e.g. <metadata>, kept verbatim on purpose).
_Node = Union["tuple[frozenset[str], Mapping[str, _Node]]", str]
ANY = "*"


def _n(attrs: str = "", **children: _Node) -> _Node:
    return (frozenset(attrs.split()), children)


_LEAF = _n()
_SYSINFO_BLOCKS = ("bios", "system", "baseBoard", "chassis", "oemStrings")
#: Typed children of <hyperv>/<kvm> besides their state: attribute and extra attributes.
_STATE_EXTRA = {"spinlocks": {"retries"}, "vendor_id": {"value"}, "dirty-ring": {"size"}}
_CHAR = _n(
    "type",
    source=_n("path mode host service"),
    target=_n("type port name"),
)

_MODEL: _Node = _n(
    "type id",
    name=_LEAF,
    uuid=_LEAF,
    title=_LEAF,
    description=_LEAF,
    metadata=ANY,
    memory=_n("unit"),
    maxMemory=_n("unit slots"),
    cpu=_n(
        "mode match check",
        model=_n("fallback"),
        vendor=_LEAF,
        topology=_n("sockets dies clusters cores threads"),
        feature=_n("name policy"),
        numa=_n(cell=_n("id cpus memory unit memAccess")),
    ),
    currentMemory=_n("unit"),
    vcpu=_n("current placement cpuset"),
    bootloader=_LEAF,
    bootloader_args=_LEAF,
    os=_n(
        "firmware",
        type=_n("arch machine"),
        loader=_LEAF,
        nvram=_LEAF,
        kernel=_LEAF,
        initrd=_LEAF,
        cmdline=_LEAF,
        dtb=_LEAF,
        init=_LEAF,
        boot=_n("dev"),
    ),
    features="features",
    clock=_n("offset adjustment", timer=_n("name present tickpolicy")),
    on_poweroff=_LEAF,
    on_reboot=_LEAF,
    on_crash=_LEAF,
    iothreads=_LEAF,
    devices=_n(
        emulator=_LEAF,
        disk=_n(
            "type device",
            driver=_n("name type cache"),
            source=_n("file dev dir name volume protocol pool"),
            target=_n("dev bus"),
            readonly=_LEAF,
            shareable=_LEAF,
            boot=_n("order"),
            serial=_LEAF,
        ),
        interface=_n(
            "type",
            mac=_n("address"),
            source=_n("network bridge dev"),
            model=_n("type"),
            target=_n("dev"),
            link=_n("state"),
            boot=_n("order"),
        ),
        serial=_CHAR,
        console=_CHAR,
        parallel=_CHAR,
        channel=_CHAR,
        graphics=_n("type port autoport listen", listen=_n("type address")),
        input=_n("type bus"),
        video=_n(model=_n("type vram heads")),
        memballoon=_n("model"),
        controller=_n("type index model"),
    ),
)


def _mapped_nodes() -> dict[str, _Node]:
    from virtcore.xml import devices as domain

    nodes: dict[str, _Node] = {}
    for cls in domain._MappedDevice.__subclasses__():
        own: set[str] = set()
        subs: dict[str, set[str]] = {}
        for _field, sub, attr in cls._map:
            if sub is None:
                own.add(attr)
            else:
                subs.setdefault(sub, set()).add(attr)
        nodes[cls.tag] = (frozenset(own), {k: (frozenset(v), {}) for k, v in subs.items()})
    return nodes


_MAPPED_DONE: list[bool] = []


def _label(el: Element) -> str:
    name = u.local_tag(el)
    return f"{el.prefix}:{name}" if el.prefix else name


def _walk(el: Element, node: _Node, path: str, out: list[str]) -> None:
    if node == ANY:
        return
    if node == "features":
        # the feature names are modelled, and the content of <hyperv> and <kvm>;
        # the attributes and content of the others are not
        for f in el:
            if f.tag in ("hyperv", "kvm"):
                _walk_states(f, f"{path}/{f.tag}", out)
            elif isinstance(f.tag, str) and (f.attrib or len(f)):
                out.append(f"{path}/{_label(f)}")
        return
    assert isinstance(node, tuple)
    known_attrs, children = node
    for attr in el.attrib:
        name = attr.decode() if isinstance(attr, bytes) else attr
        if name not in known_attrs:
            out.append(f"{path}/@{name}")
    counts: dict[str, int] = {}
    for c in el:
        tag = c.tag
        if not isinstance(tag, str):
            continue
        counts[tag] = counts.get(tag, 0) + 1
        label = f"{path}/{_label(c)}"
        if path.endswith("devices"):
            label += f"[{counts[tag]}]"
        sub = children.get(tag)
        if sub is None:
            out.append(label)
        else:
            _walk(c, sub, label, out)


def _walk_states(el: Element, path: str, out: list[str]) -> None:
    """<hyperv>/<kvm>: children with a ``state`` (and their typed extra attributes)."""
    for attr in el.attrib:
        if attr != "mode" or el.tag != "hyperv":
            out.append(f"{path}/@{attr!s}")
    for c in el:
        if not isinstance(c.tag, str):
            continue
        label = f"{path}/{_label(c)}"
        known = _STATE_EXTRA.get(c.tag, set()) | {"state"}
        if c.get("state") is None and c.tag not in _STATE_EXTRA:
            out.append(label)
            continue
        for attr in c.attrib:
            if attr not in known:
                out.append(f"{label}/@{attr!s}")
        for sub in c:
            if isinstance(sub.tag, str):
                out.append(f"{label}/{_label(sub)}")


def unmodelled(d: object) -> list[str]:
    """Paths of the elements and attributes of ``d``'s source XML the typed model does not cover.

    ``d`` is a :class:`~virtcore.xml.DomainDef` parsed from XML (one built in
    Python has nothing unmodelled). Paths look like ``domain/cpu`` or
    ``domain/devices/disk[1]/address``; an element is reported once, not its content.
    """
    raw = getattr(d, "raw", None)
    if raw is None:
        return []
    out: list[str] = []
    if not _MAPPED_DONE:
        _MAPPED_DONE.append(True)
        assert isinstance(_MODEL, tuple)
        devices = _MODEL[1]["devices"]
        assert isinstance(devices, tuple)
        devices[1].update(_mapped_nodes())  # type: ignore[attr-defined]
        from virtcore.xml import elements as el
        from virtcore.xml._spec import spec_node

        _MODEL[1].update(  # type: ignore[attr-defined]
            memoryBacking=spec_node(el.MemoryBacking),
            numatune=spec_node(el.NumaTune),
            cputune=spec_node(el.CPUTune),
            memtune=spec_node(el.MemTune),
            blkiotune=spec_node(el.BlkioTune),
            iothreadids=spec_node(el.IOThreadIds),
            sysinfo=(
                spec_node(el.SysInfo)[0],
                {**spec_node(el.SysInfo)[1], **dict.fromkeys(_SYSINFO_BLOCKS, spec_node(el.SysInfoBlock))},
            ),
            seclabel=spec_node(el.SecLabel),
        )
        # every device types its <address> and <alias>
        info = {"address": spec_node(el.Address), "alias": _n("name")}
        for kind, node in list(devices[1].items()):
            if kind != "emulator" and isinstance(node, tuple):
                devices[1][kind] = (node[0], {**node[1], **info})  # type: ignore[index]
    _walk(raw, _MODEL, "domain", out)
    return out


def check_strict(d: object) -> None:
    """Raise :class:`XMLError` when ``d`` has parts the typed model does not cover."""
    found = unmodelled(d)
    if found:
        shown = ", ".join(found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        raise XMLError(f"elements or attributes not modelled by virtcore: {shown}{more}")


@functools.lru_cache(maxsize=8)
def _schema(path: str) -> etree.RelaxNG:
    try:
        tree = etree.parse(path, etree.XMLParser(no_network=True, resolve_entities=False))
        return etree.RelaxNG(tree)
    except OSError as exc:
        raise ReadFailedError(f"schema '{path}': {exc.strerror or exc}") from None
    except (etree.XMLSyntaxError, etree.RelaxNGParseError) as exc:
        raise XMLError(f"invalid RelaxNG schema '{path}': {exc}") from None


def validate(text: str | bytes, schema: str | None = None, *, strict: bool = False) -> list[str]:
    """Every problem of a domain XML document, as messages; an empty list means valid.

    :param schema: path to a RelaxNG schema (libvirt's ``domain.rng``) to check against.
    :param strict: also report elements and attributes the typed model does not cover.
    :raises ReadFailedError, XMLError: the schema cannot be read or compiled.
    """
    from virtcore.xml.domain import domain_from_element

    problems: list[str] = []
    try:
        root = secure_parse(text)
    except XMLError as exc:
        return [str(exc)]
    if schema is not None:
        rng = _schema(os.path.abspath(schema))
        if not rng.validate(root):
            for err in rng.error_log:
                problems.append(f"schema: line {err.line}: {err.message}")
    try:
        d = domain_from_element(root)
    except VirtError as exc:
        problems.append(str(exc))
        return problems
    if strict:
        problems.extend(f"not modelled (kept verbatim): {p}" for p in unmodelled(d))
    return problems


def validate_file(path: str, schema: str | None = None, *, strict: bool = False) -> list[str]:
    """:func:`validate` the domain XML in file ``path``.

    :raises ReadFailedError: the file (or the schema) cannot be read.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(64 * 1024 * 1024)
    except OSError as exc:
        raise ReadFailedError(f"'{path}': {exc.strerror or exc}") from None
    return validate(data, schema, strict=strict)
