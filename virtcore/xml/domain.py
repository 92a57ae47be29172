"""libvirt domain XML: :class:`DomainDef` (``<domain>``), parsed and formatted with lxml.

>>> from virtcore.xml import format_domain
>>> d = parse_domain("<domain type='test'><name>vm</name><memory unit='MiB'>512</memory>"
...                  "<os><type>hvm</type></os></domain>")
>>> d.memory, d.current_memory, d.vcpu
(524288, 524288, 1)
>>> d2 = attrs.evolve(d, vcpu=2, current_vcpus=2)
>>> "<vcpu" in format_domain(d2)
True

Every object parsed from XML remembers its element (``raw``, excluded from
equality); formatting overlays the typed fields onto a copy of it, so anything
the model does not know (unknown elements and attributes, ``<metadata>``,
driver namespaces) survives parse -> format verbatim and in place.

The parts live by area: :mod:`virtcore.xml.guest` (os, clock, cpu),
:mod:`virtcore.xml.devices`, :mod:`virtcore.xml.elements` (tuning, sysinfo,
security labels, hypervisor features, addresses). :func:`domain_to_element` (the
tree) is the reference that :func:`virtcore.xml.format_domain`'s text
(:mod:`virtcore.xml._textfmt`) must equal byte for byte.
"""

from __future__ import annotations

import builtins
import functools
import uuid as _uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

import attrs
from lxml import etree

from virtcore import limits
from virtcore.errors import NoNameError, XMLError
from virtcore.xml import _util as u
from virtcore.xml._base import Element, _raw
from virtcore.xml._coverage import ANY, FEATURES, LEAF, Node, merge, node, uncovered
from virtcore.xml._layout import _DOMAIN_ORDER
from virtcore.xml._lazy import _el
from virtcore.xml._parser import error_domain_named, secure_parse
from virtcore.xml._spec import SpecElement
from virtcore.xml._spec import unmodelled as spec_unmodelled
from virtcore.xml.devices import (
    DEVICE_TYPES,
    Channel,
    Console,
    Controller,
    Device,
    Disk,
    Graphics,
    Input,
    Interface,
    MemBalloon,
    Serial,
    Video,
    _check_duplicate_targets,
    device_from_element,
)
from virtcore.xml.guest import CPU, OS, Clock

if TYPE_CHECKING:
    from virtcore.xml.elements import (
        BlkioTune,
        CPUTune,
        HyperV,
        IOThreadIds,
        KVMFeatures,
        MemoryBacking,
        MemTune,
        NumaTune,
        SecLabel,
        SysInfo,
    )

__all__ = [
    "DomainDef",
    "parse_domain",
    "domain_from_element",
    "domain_to_element",
    "parse_device",
    "format_device",
    "DOMAIN_TYPES",
    "unmodelled",
    "check_strict",
    "model_tree",
    "LIFECYCLE_ACTIONS",
]

#: Hypervisor types libvirt knows (``virDomainVirtType``).
DOMAIN_TYPES = frozenset(
    {
        "none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware",
        "hyperv", "vbox", "phyp", "parallels", "bhyve", "vz", "ch", "hvf",
    }
)  # fmt: skip
#: Values of on_poweroff / on_reboot / on_crash.
LIFECYCLE_ACTIONS = frozenset(
    {"destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart"}
)


# ============================================================================ domain

_D = TypeVar("_D", bound=Device)


@attrs.frozen
class DomainDef:
    """A domain definition (``<domain>``), immutable: change it with :func:`attrs.evolve`.

    Sizes are in KiB. ``devices`` holds every device in document order;
    ``emulator`` is ``<devices><emulator>``. ``features`` are the names of the
    children of ``<features>``; ``hyperv`` and ``kvm`` type the content of
    ``<hyperv>`` and ``<kvm>`` when those are among them (the content of the
    other features is kept from the source XML). ``memory_backing``,
    ``numatune``, ``cputune``, ``memtune``, ``blkiotune``, ``iothreadids`` are
    the elements of those names (``None`` when absent); ``iothreads`` is
    ``<iothreads>``; ``sysinfo`` and ``seclabels`` every ``<sysinfo>`` and
    ``<seclabel>`` in order.
    """

    type: str
    name: str
    uuid: str = attrs.field(factory=lambda: str(_uuid.uuid4()))
    memory: int = 0
    current_memory: int | None = None
    vcpu: int = 1
    current_vcpus: int | None = None
    os: OS = attrs.field(factory=OS)
    max_memory: int | None = None
    max_memory_slots: int | None = None
    vcpu_placement: str | None = "static"
    cpuset: str | None = None
    cpu: CPU | None = None
    title: str | None = None
    description: str | None = None
    features: tuple[str, ...] = ()
    clock: Clock = attrs.field(factory=Clock)
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    bootloader: str | None = None
    bootloader_args: str | None = None
    emulator: str | None = None
    devices: tuple[Device, ...] = ()
    memory_backing: MemoryBacking | None = None
    numatune: NumaTune | None = None
    cputune: CPUTune | None = None
    memtune: MemTune | None = None
    blkiotune: BlkioTune | None = None
    iothreads: int | None = None
    iothreadids: IOThreadIds | None = None
    sysinfo: tuple[SysInfo, ...] = ()
    seclabels: tuple[SecLabel, ...] = ()
    hyperv: HyperV | None = None
    kvm: KVMFeatures | None = None
    raw: Element | None = _raw
    #: format_domain's texts of this object by domain id (a copy made by attrs.evolve starts empty)
    _xml_cache: dict[int | None, str] = attrs.field(factory=dict, init=False, eq=False, repr=False)
    # The text template of ``raw`` for the fast formatting path, shared by every copy
    # attrs.evolve makes (it is an init field): ``[raw, template]`` once computed.
    _fmt: list[object] = attrs.field(factory=list, eq=False, repr=False, kw_only=True, alias="_fmt")

    def __attrs_post_init__(self) -> None:
        if not self.current_memory:  # None or 0: libvirt's "the balloon holds all of memory"
            object.__setattr__(self, "current_memory", self.memory)
        if self.current_vcpus is None:
            object.__setattr__(self, "current_vcpus", self.vcpu)

    def _of(self, cls: builtins.type[_D]) -> tuple[_D, ...]:
        return tuple(d for d in self.devices if isinstance(d, cls))

    @property
    def disks(self) -> tuple[Disk, ...]:
        """The ``<disk>`` devices."""
        return self._of(Disk)

    @property
    def interfaces(self) -> tuple[Interface, ...]:
        """The ``<interface>`` devices."""
        return self._of(Interface)

    @property
    def serials(self) -> tuple[Serial, ...]:
        """The ``<serial>`` devices."""
        return self._of(Serial)

    @property
    def consoles(self) -> tuple[Console, ...]:
        """The ``<console>`` devices."""
        return self._of(Console)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The ``<channel>`` devices."""
        return self._of(Channel)

    @property
    def graphics(self) -> tuple[Graphics, ...]:
        """The ``<graphics>`` devices."""
        return self._of(Graphics)

    @property
    def inputs(self) -> tuple[Input, ...]:
        """The ``<input>`` devices."""
        return self._of(Input)

    @property
    def videos(self) -> tuple[Video, ...]:
        """The ``<video>`` devices."""
        return self._of(Video)

    @property
    def controllers(self) -> tuple[Controller, ...]:
        """The ``<controller>`` devices."""
        return self._of(Controller)

    @property
    def memballoon(self) -> MemBalloon | None:
        """The ``<memballoon>``, if any."""
        found: tuple[MemBalloon, ...] = self._of(MemBalloon)
        return found[0] if found else None

    @property
    def metadata(self) -> str | None:
        """``<metadata>`` serialized verbatim (it is always kept as written)."""
        if self.raw is None:
            return None
        md = u.find(self.raw, "metadata")
        return None if md is None else etree.tostring(md, encoding="unicode", with_tail=False)


def _text(el: Element) -> str:
    return el.text or ""


def domain_from_element(el: Element) -> DomainDef:
    """Build a :class:`DomainDef` from a ``<domain>`` element (e.g. inside a node file).

    :raises XMLError: when the element is not a valid domain definition.
    """
    if el.tag != "domain":
        raise XMLError(f"expected a <domain> element, not <{u.local_tag(el)}>")
    type_ = el.get("type")
    if not type_:
        raise XMLError("missing domain type attribute in <domain>")
    if type_ not in DOMAIN_TYPES:
        raise XMLError(f"invalid domain type '{type_}' in <domain>")
    name = uuid = title = description = bootloader = bootloader_args = emulator = None
    memory = current_memory = max_memory = max_memory_slots = None
    cpuset = None
    vcpu_placement: str | None = "static"  # libvirt's default, which its formatter always writes
    vcpu = 1
    current_vcpus = None
    features: tuple[str, ...] = ()
    actions: dict[str, str] = {}
    devices: list[Device] = []
    kwargs: dict[str, object] = {}
    for c in el:
        tag = c.tag
        if tag == "name":
            name = _text(c).strip()
        elif tag == "uuid":
            uuid = u.canonical_uuid(_text(c))
        elif tag == "memory":
            memory = u.parse_memory(c, "<memory>")
        elif tag == "currentMemory":
            current_memory = u.parse_memory(c, "<currentMemory>")
        elif tag == "maxMemory":
            max_memory = u.parse_memory(c, "<maxMemory>")
            max_memory_slots = u.opt_uint(c, "slots", "<maxMemory>")
        elif tag == "vcpu":
            vcpu = u.parse_uint(c.text, "<vcpu>")
            vcpu_placement = c.get("placement", "static")
            cpuset = c.get("cpuset")
            cur = c.get("current")
            if cur is not None:
                current_vcpus = u.parse_uint(cur, "<vcpu> attribute 'current'")
        elif tag in PARTS_BY_TAG:
            part = PARTS_BY_TAG[tag]
            field = part.field
            if part.many:
                kwargs[field] = (*cast("tuple[object, ...]", kwargs.get(field, ())), part.parse(c))
            elif field not in kwargs:  # the first one, as libvirt reads it
                kwargs[field] = part.parse(c)
        elif tag == "devices":
            for d in c:
                if d.tag == "emulator":
                    emulator = _text(d).strip()
                elif isinstance(d.tag, str):
                    devices.append(device_from_element(d))
        elif tag == "features":
            features = tuple(u.local_tag(f) for f in c if isinstance(f.tag, str))
            if "hyperv" in features or "kvm" in features:
                for f in c:
                    if f.tag == "hyperv" and "hyperv" not in kwargs:
                        kwargs["hyperv"] = _el().HyperV.from_element(f)
                    elif f.tag == "kvm" and "kvm" not in kwargs:
                        kwargs["kvm"] = _el().KVMFeatures.from_element(f)
        elif tag in ("on_poweroff", "on_reboot", "on_crash"):
            action = _text(c).strip()
            if action not in LIFECYCLE_ACTIONS:
                raise XMLError(f"invalid {tag} value '{action}' in <{tag}>")
            actions[tag] = action
        elif tag == "title":
            title = _text(c)
        elif tag == "description":
            description = _text(c)
        elif tag == "bootloader":
            bootloader = _text(c)
        elif tag == "bootloader_args":
            bootloader_args = _text(c)
        elif tag == "iothreads" and "iothreads" not in kwargs:
            kwargs["iothreads"] = u.parse_uint(c.text, "<iothreads>")
    if not name:
        raise NoNameError("<domain>: a domain needs a <name>", domain=error_domain_named("DOMAIN"))
    if "os" not in kwargs:
        if bootloader is not None or type_ == "xen":
            kwargs["os"] = OS(type="xen" if bootloader is not None else "hvm")
        else:
            raise XMLError("an os <type> must be specified in <os>")
    if current_memory == 0:
        current_memory = None  # libvirt reads an empty balloon as "all of <memory>"
    if not memory:
        cpu = cast("CPU | None", kwargs.get("cpu"))
        numa_memory = 0 if cpu is None else sum(cell.memory for cell in cpu.numa)
        if numa_memory:
            memory = numa_memory
        elif memory is None:
            raise XMLError("missing <memory> in <domain>: the memory size must be specified")
    limits.check_definition(
        name=name,
        memory=memory,
        current_memory=memory if current_memory is None else current_memory,
        vcpu=vcpu,
        current_vcpus=vcpu if current_vcpus is None else current_vcpus,
        max_memory=max_memory,
    )
    _check_duplicate_targets(devices)
    if uuid is not None:
        kwargs["uuid"] = uuid
    return DomainDef(
        type=type_,
        name=name,
        memory=memory,
        current_memory=current_memory,
        vcpu=vcpu,
        current_vcpus=current_vcpus,
        max_memory=max_memory,
        max_memory_slots=max_memory_slots,
        vcpu_placement=vcpu_placement,
        cpuset=cpuset,
        title=title,
        description=description,
        features=features,
        on_poweroff=actions.get("on_poweroff", "destroy"),
        on_reboot=actions.get("on_reboot", "restart"),
        on_crash=actions.get("on_crash", "destroy"),
        bootloader=bootloader,
        bootloader_args=bootloader_args,
        emulator=emulator,
        devices=tuple(devices),
        raw=el,
        **kwargs,  # type: ignore[arg-type]
    )


@attrs.frozen
class Part:
    """A top-level element of ``<domain>`` typed by a described class (``<os>``, ``<cpu>``, ...).

    Parsing, both formatters (the tree in :func:`domain_to_element`, the text in
    :mod:`virtcore.xml._textfmt`) and the coverage tree go through :data:`PARTS`.
    """

    #: the element's name
    tag: str
    #: the DomainDef field holding it
    field: str
    #: the class describing it (in :mod:`virtcore.xml.guest`, else :mod:`virtcore.xml.elements`)
    class_name: str
    #: the field holds every such element (a tuple); otherwise the first one (or ``None``)
    many: bool = False
    #: always present (``<os>``, ``<clock>``): written in place of the first source element of
    #: the tag, the others dropped. The other parts replace every source element of the tag.
    fixed: bool = False

    def cls(self) -> builtins.type[SpecElement]:
        """The describing class (``elements`` is imported on first use)."""
        found = _GUEST_CLASSES.get(self.class_name)
        return found if found is not None else cast("type[SpecElement]", getattr(_el(), self.class_name))

    def parse(self, el: Element) -> SpecElement:
        """Parse one element of the part."""
        return cast("SpecElement", self.cls().from_element(el))

    def items(self, d: DomainDef) -> tuple[SpecElement, ...]:
        """The objects ``d`` holds for the part (none when absent)."""
        value = getattr(d, self.field)
        if value is None:
            return ()
        if self.many:
            return cast("tuple[SpecElement, ...]", value)
        return (value,)


_GUEST_CLASSES: dict[str, builtins.type[SpecElement]] = {"OS": OS, "Clock": Clock, "CPU": CPU}

#: The described top-level parts. The fixed ones first; the others in the order the
#: formatters place them (after the leaves of HEAD_LEAVES, before TAIL_LEAVES).
PARTS: tuple[Part, ...] = (
    Part("os", "os", "OS", fixed=True),
    Part("clock", "clock", "Clock", fixed=True),
    Part("cpu", "cpu", "CPU"),
    Part("memoryBacking", "memory_backing", "MemoryBacking"),
    Part("numatune", "numatune", "NumaTune"),
    Part("cputune", "cputune", "CPUTune"),
    Part("memtune", "memtune", "MemTune"),
    Part("blkiotune", "blkiotune", "BlkioTune"),
    Part("iothreadids", "iothreadids", "IOThreadIds"),
    Part("sysinfo", "sysinfo", "SysInfo", many=True),
    Part("seclabel", "seclabels", "SecLabel", many=True),
)
#: The parts by tag (what the parser dispatches on).
PARTS_BY_TAG: dict[str, Part] = {part.tag: part for part in PARTS}
#: The parts written in place of their first source element.
FIXED_PARTS = tuple(part for part in PARTS if part.fixed)
_FIXED_BY_TAG: dict[str, Part] = {part.tag: part for part in FIXED_PARTS}
#: The parts replacing every source element of their tag.
REPLACED_PARTS = tuple(part for part in PARTS if not part.fixed)


@attrs.frozen
class Leaf:
    """A top-level leaf element of ``<domain>`` written from one :class:`DomainDef` field.

    Both formatters (the tree in :func:`domain_to_element`, the text in
    :mod:`virtcore.xml._textfmt`) are driven by these descriptions.
    """

    #: the element's name
    tag: str
    #: the DomainDef field holding its text; ``None`` there leaves the element out
    field: str
    #: attributes written from the model, in libvirt's order: a constant, or a function of
    #: the definition (``None`` leaves the attribute out)
    attributes: tuple[tuple[str, str | Callable[[DomainDef], object]], ...] = ()
    #: the text, when it is not the field's value as is
    text: Callable[[DomainDef], object] | None = None
    #: the other fields ``text`` and ``attributes`` read (the text path remembers its
    #: last output until one of them, or ``field``, changes)
    reads: tuple[str, ...] = ()

    def value(self, d: DomainDef) -> object:
        """The element's text (``None``: no element)."""
        return getattr(d, self.field) if self.text is None else self.text(d)

    def attr_values(self, d: DomainDef) -> tuple[tuple[str, object], ...]:
        """The attributes' values for ``d``, in order."""
        return tuple((k, v if type(v) is str else v(d)) for k, v in self.attributes)  # type: ignore[operator]


def _current_memory(d: DomainDef) -> object:
    return d.current_memory if d.current_memory is not None else d.memory


def _current_vcpus(d: DomainDef) -> object:
    cur = d.current_vcpus if d.current_vcpus is not None else d.vcpu
    return cur if cur != d.vcpu else None


def _get(field: str) -> Callable[[DomainDef], object]:
    return lambda d: getattr(d, field)


#: The leaves before ``<cpu>`` and the tuning elements, in the order formatting places them.
HEAD_LEAVES: tuple[Leaf, ...] = (
    Leaf("name", "name"),
    Leaf("uuid", "uuid"),
    Leaf("title", "title"),
    Leaf("description", "description"),
    Leaf("memory", "memory", (("unit", "KiB"),)),
    Leaf("currentMemory", "current_memory", (("unit", "KiB"),), _current_memory, ("memory",)),
    Leaf(
        "vcpu",
        "vcpu",
        (("current", _current_vcpus), ("placement", _get("vcpu_placement")), ("cpuset", _get("cpuset"))),
        reads=("current_vcpus", "vcpu_placement", "cpuset"),
    ),
    Leaf(
        "maxMemory",
        "max_memory",
        (("unit", "KiB"), ("slots", _get("max_memory_slots"))),
        reads=("max_memory_slots",),
    ),
)
#: The leaves after them.
TAIL_LEAVES: tuple[Leaf, ...] = (
    Leaf("iothreads", "iothreads"),
    Leaf("bootloader", "bootloader"),
    Leaf("bootloader_args", "bootloader_args"),
    Leaf("on_poweroff", "on_poweroff"),
    Leaf("on_reboot", "on_reboot"),
    Leaf("on_crash", "on_crash"),
)
_SIMPLE = frozenset(leaf.tag for leaf in HEAD_LEAVES + TAIL_LEAVES)


def _check_writable(d: DomainDef) -> None:
    """Refuse to format a definition that :func:`domain_from_element` would not read back."""
    limits.check_definition(
        name=d.name,
        memory=d.memory,
        current_memory=d.current_memory,
        vcpu=d.vcpu,
        current_vcpus=d.current_vcpus,
        max_memory=d.max_memory,
    )


def domain_to_element(d: DomainDef, *, domain_id: int | None = None) -> Element:
    """Format a :class:`DomainDef` as a ``<domain>`` lxml element.

    :raises XMLError: when the definition holds a value the model could not read back
        (see :mod:`virtcore.limits`) or that XML cannot hold (a control character, NUL).
    """
    _check_writable(d)
    try:
        return _domain_element(d, domain_id)
    except ValueError as exc:  # lxml refuses a string XML cannot hold
        raise XMLError(f"domain '{d.name}' cannot be written as XML: {exc}") from None


def _domain_element(d: DomainDef, domain_id: int | None) -> Element:
    raw = d.raw
    el = etree.Element("domain", nsmap=cast("dict[str, str]", raw.nsmap) if raw is not None else None)
    el.set("type", d.type)
    if domain_id is not None:
        el.set("id", str(domain_id))
    done: set[object] = set()
    devs = None
    if raw is not None:
        for key, value in raw.attrib.items():
            if key != "type" and key != "id":
                el.set(key, value)
        for c in raw:
            tag = c.tag
            part = _FIXED_BY_TAG.get(tag)  # type: ignore[call-overload]
            if part is not None:
                if tag not in done:
                    el.append(getattr(d, part.field).to_element())
                    done.add(tag)
            elif tag == "devices":
                if devs is None:
                    devs = etree.SubElement(el, "devices")
                    devs.attrib.update(c.attrib)
            else:
                el.append(u.dup(c))
    order = _DOMAIN_ORDER
    for part in FIXED_PARTS:
        if part.tag not in done:
            u.insert_ordered(el, getattr(d, part.field).to_element(), order)
    if devs is None:
        devs = etree.Element("devices")
        u.insert_ordered(el, devs, order)
    index: dict[str, Element] = {}
    for c in el:
        tag = c.tag
        if tag in _SIMPLE and tag not in index:
            index[tag] = c

    def put(tag: str, text: str | None) -> Element | None:
        found = index.get(tag)
        if text is None:
            if found is not None:
                el.remove(found)
            return None
        if found is None:
            found = index[tag] = etree.Element(tag)
            u.insert_ordered(el, found, order)
        found.text = text
        return found

    def put_leaf(leaf: Leaf) -> None:
        value = leaf.value(d)
        found = put(leaf.tag, None if value is None else str(value))
        if found is not None:
            for key, attr in leaf.attr_values(d):
                u.set_attr(found, key, cast("str | int | None", attr))

    for leaf in HEAD_LEAVES:
        put_leaf(leaf)
    for part in REPLACED_PARTS:
        items = part.items(d)
        if items:
            u.replace_children(el, part.tag, [x.to_element() for x in items], order)
        else:
            u.remove(el, part.tag)
    for leaf in TAIL_LEAVES:
        put_leaf(leaf)
    feats = u.find(el, "features")
    if d.features or feats is not None:
        if feats is None:
            feats = u.child(el, "features", order)
        have = [u.local_tag(f) for f in feats]
        if have != list(d.features):
            existing = {u.local_tag(f): f for f in feats}
            for f in list(feats):
                feats.remove(f)
            for name in d.features:
                feats.append(existing.get(name, etree.Element(name)))
        if not len(feats) and not d.features:
            el.remove(feats)
        for typed in (d.hyperv, d.kvm):
            if typed is not None:
                old_el = u.find(feats, typed._tag)
                if old_el is not None:
                    new_el = typed.to_element()
                    new_el.tail = old_el.tail
                    feats.replace(old_el, new_el)
    if d.emulator is not None:
        etree.SubElement(devs, "emulator").text = d.emulator
    for dev in d.devices:
        devs.append(dev.to_element())
    return el


def _serialize(el: Element) -> str:
    etree.indent(el, space="  ")
    return etree.tostring(el, encoding="unicode") + "\n"


#: What <domain> itself types; its parts describe themselves (see :func:`model_tree`).
_DOMAIN_COVERS = node(
    "type id",
    name=LEAF,
    uuid=LEAF,
    title=LEAF,
    description=LEAF,
    metadata=ANY,
    memory=node("unit"),
    maxMemory=node("unit slots"),
    currentMemory=node("unit"),
    vcpu=node("current placement cpuset"),
    bootloader=LEAF,
    bootloader_args=LEAF,
    features=FEATURES,
    on_poweroff=LEAF,
    on_reboot=LEAF,
    on_crash=LEAF,
    iothreads=LEAF,
)


@functools.cache
def model_tree() -> Node:
    """The tree of what the typed model covers of ``<domain>``, assembled from every class's own node."""
    devices = {cls.tag: cls.covered() for cls in DEVICE_TYPES}
    parts = {part.tag: part.cls().covered() for part in PARTS}
    return merge(_DOMAIN_COVERS, devices=merge(node(emulator=LEAF), **devices), **parts)


def unmodelled(d: DomainDef | SpecElement) -> list[str]:
    """Paths of the elements and attributes of ``d``'s source XML the typed model does not cover.

    ``d`` is a :class:`DomainDef` parsed from XML, or any other model parsed from XML
    (pool, volume, network, snapshot: :func:`virtcore.xml._spec.unmodelled`); one
    built in Python has nothing unmodelled. Paths look like ``domain/cpu`` or
    ``domain/devices/disk[1]/address``; an element is reported once, not its content.
    """
    if not isinstance(d, DomainDef):
        return spec_unmodelled(d)
    if d.raw is None:
        return []
    return uncovered(d.raw, model_tree(), "domain")


def check_strict(d: DomainDef) -> None:
    """Raise :class:`XMLError` when ``d`` has parts the typed model does not cover."""
    found = unmodelled(d)
    if found:
        shown = ", ".join(found[:10])
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        raise XMLError(f"elements or attributes not modelled by virtcore: {shown}{more}")


def parse_domain(text: str | bytes, *, strict: bool = False) -> DomainDef:
    """Parse libvirt domain XML with the hardened parser.

    :param strict: also refuse elements and attributes the typed model does not
        cover (by default they are kept verbatim; see :func:`virtcore.xml.unmodelled`).
    :raises XMLError: the document is malformed or hostile, or not a valid
        domain; the message names the offending element.
    """
    d = domain_from_element(secure_parse(text, api="DOMAIN"))
    if strict:
        check_strict(d)
    return d


def parse_device(text: str | bytes) -> Device:
    """Parse one device element (``<disk>``, ``<interface>``, ...), e.g. for attach/detach.

    :raises XMLError: malformed, hostile or invalid XML.
    """
    el = secure_parse(text)
    if el.tag in ("domain", "devices", "emulator"):
        raise XMLError(f"expected a device element, not <{el.tag}>")
    return device_from_element(el)


def format_device(dev: Device) -> str:
    """Format one device model as XML."""
    return _serialize(dev.to_element())
