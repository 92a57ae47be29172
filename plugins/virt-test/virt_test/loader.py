"""Building nodes: libvirt's default node, and node files (``test:///PATH/node.xml``).

A node file's root is ``<node>``; its children are ``<domain>``, ``<network>``,
``<interface>``, ``<pool>`` and ``<device>`` elements, each inline or
``file="..."`` relative to the node file, plus ``<cpu>`` and ``<memory>``
(KiB) describing the host, and ``<auth>`` with ``<user password="...">name</user>``
entries: a connection must then log in as one of them (see
:meth:`virt_test.TestDriver.virt_connect_open`). A ``<pool>`` may hold ``<volume>`` children (each
inline or ``file=``); its pools are active and persistent, hold 100 GiB, and
their volumes get ``<pool target>/<name>`` as path and key unless their XML
says otherwise. Its networks are active and persistent. Domains may carry the test namespace
(``xmlns:test="http://libvirt.org/schemas/domain/test/1.0"``):
``<test:runstate>N</test:runstate>`` (a ``DomainState`` number; default
running), ``<test:transient/>``, ``<test:hasmanagedsave/>`` and
``<test:domainsnapshot>`` (a snapshot's metadata, inline as the element's
children or ``file=`` a ``<domainsnapshot>`` document; ``<active>1</active>``
marks the current one), as libvirt's test driver reads them.
"""

from __future__ import annotations

import os
from typing import Any

from virt_test.ifaces import DEFAULT_INTERFACE_XML
from virt_test.node import Node, NumaCell, PendingDef
from virt_test.nodedevs import DEFAULT_DEVICES_XML
from virt_test.pending import PendingNetwork, PendingPool
from virtcore.errors import ParserReportError, ReadFailedError, VirtError, XMLDetailError, XMLError
from virtcore.types import DomainState, NodeInfo

__all__ = [
    "TEST_NS",
    "DEFAULT_NODE_XML",
    "DEFAULT_NODE_INFO",
    "DEFAULT_CELLS",
    "default_node",
    "load_node_file",
    "node_from_xml",
]

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
_MAX_NODE_FILE = 16 * 1024 * 1024

#: libvirt's node info for ``test:///default`` (``defaultNodeInfo``).
DEFAULT_NODE_INFO = NodeInfo(
    model="i686", memory=3 * 1024 * 1024, cpus=16, mhz=1400, nodes=2, sockets=2, cores=2, threads=2
)

#: libvirt's NUMA cells of ``test:///default``: cell ``i`` has CPUs ``8i..8i+7``, ``(i + 1) * 2`` GiB of
#: memory and ``i + 1`` GiB free. A node file gives none (libvirt 9.0 reads no cells from it).
DEFAULT_CELLS = tuple(
    NumaCell(cpu_ids=tuple(range(8 * i, 8 * i + 8)), memory=(i + 1) * 2048 * 1024, free=(i + 1) * 1024 * 1024)
    for i in range(2)
)

#: The domain of ``test:///default`` as libvirt's test driver shows it: its parser's defaults
#: (``placement='static'``, ``arch='i686'``, ``<boot dev='hd'/>``), the PCI addresses of
#: libvirt's ``defaultConnXML``, and the host-side NIC name a start gives (``testnet0``).
DEFAULT_DOMAIN_XML = """\
<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
"""

#: What the hot paths need of that domain, so that opening ``test:///default``
#: parses no XML (a test checks these against the parsed XML).
DEFAULT_DOMAIN = PendingDef(
    xml=DEFAULT_DOMAIN_XML,
    name="test",
    uuid="6695eb01-f6a4-8304-79aa-97f2502e193f",
    memory=8388608,
    current_memory=2097152,
    vcpu=2,
    current_vcpus=2,
)

#: The storage pool of ``test:///default`` (libvirt's ``defaultConnXML``).
DEFAULT_POOL_XML = """\
<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
"""

#: What opening ``test:///default`` needs of that pool, unparsed (a test checks it against the XML).
DEFAULT_POOL = PendingPool(
    xml=DEFAULT_POOL_XML,
    name="default-pool",
    uuid="dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566",
    target="/default-pool",
)

#: The network of ``test:///default`` (libvirt's ``defaultConnXML``).
DEFAULT_NETWORK_XML = """\
<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
"""

#: What opening ``test:///default`` needs of that network, unparsed (a test checks it against libvirt's).
DEFAULT_NETWORK = PendingNetwork(
    xml=DEFAULT_NETWORK_XML,
    name="default",
    uuid="dd8fe884-6c02-601e-7551-cca97df1c5df",
    bridge_name="virbr0",
)

#: The contents of ``test:///default`` as a node file (write it out for a private copy).
DEFAULT_NODE_XML = (
    "<node>\n"
    + DEFAULT_DOMAIN_XML
    + DEFAULT_NETWORK_XML
    + DEFAULT_POOL_XML
    + DEFAULT_INTERFACE_XML
    + "\n"
    + "\n".join(DEFAULT_DEVICES_XML)
    + """
<cpu>
  <mhz>1400</mhz>
  <model>i686</model>
  <nodes>2</nodes>
  <sockets>2</sockets>
  <cores>2</cores>
  <threads>2</threads>
</cpu>
<memory>3145728</memory>
</node>
"""
)


def default_node() -> Node:
    """A fresh node with libvirt's default contents (domain ``test`` running as id 1, ``default-pool``,
    network ``default``, host interface ``eth1``, devices ``computer`` and three SCSI hosts)."""
    node = Node(
        node_info=DEFAULT_NODE_INFO,
        cells=DEFAULT_CELLS,
        pools=[DEFAULT_POOL],
        networks=[DEFAULT_NETWORK],
        devices=DEFAULT_DEVICES_XML,
        interfaces=[DEFAULT_INTERFACE_XML],
    )
    node.add_loaded(DEFAULT_DOMAIN, running=DomainState.RUNNING, transient=False, managed_save=False)
    return node


def load_node_file(path: str) -> Node:
    """Read a node file; an ``XMLError`` naming the file when it is bad, as libvirt's test driver says.

    A file it cannot open (missing, unreadable) is VIR_ERR_XML_ERROR "failed to parse xml
    document" and one that is not well formed (a directory reads as an empty one) libvirt's
    parser report (:class:`~virtcore.errors.ParserReportError`), both in VIR_FROM_TEST.
    """
    from virtcore.errors import ErrorDomain  # saves ~18M instructions of import on test:///default

    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_NODE_FILE + 1)
    except IsADirectoryError:
        data = b""  # libxml2 opens it and reads nothing
    except OSError:
        raise XMLError(f"failed to parse xml document '{path}'", domain=ErrorDomain.TEST) from None
    if len(data) > _MAX_NODE_FILE:
        raise XMLError(f"node file '{path}' is larger than {_MAX_NODE_FILE} bytes")
    return node_from_xml(data, base_dir=os.path.dirname(path), origin=path)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_NODE_FILE + 1)
    except OSError as exc:
        raise ReadFailedError(f"{path}: {exc.strerror}") from None
    if len(data) > _MAX_NODE_FILE:
        raise XMLError(f"node file '{path}' is larger than {_MAX_NODE_FILE} bytes")
    return data


def _int(el: Any, what: str, origin: str) -> int:
    try:
        value = int((el.text or "").strip())
    except ValueError:
        raise XMLError(f"invalid <{what}> value {el.text!r} in {origin}") from None
    if value < 0:
        raise XMLError(f"negative <{what}> value in {origin}")
    return value


def _node_info(root: Any, origin: str) -> NodeInfo:
    info = dict(DEFAULT_NODE_INFO._asdict())
    cpu = root.find("cpu")
    if cpu is not None:
        for key in ("mhz", "nodes", "sockets", "cores", "threads"):
            el = cpu.find(key)
            if el is not None:
                info[key] = _int(el, f"cpu/{key}", origin)
        model = cpu.find("model")
        if model is not None and model.text:
            info["model"] = model.text.strip()
        total = info["nodes"] * info["sockets"] * info["cores"] * info["threads"]
        active = cpu.find("active")
        info["cpus"] = min(total, _int(active, "cpu/active", origin)) if active is not None else total
    memory = root.find("memory")
    if memory is not None:
        info["memory"] = _int(memory, "memory", origin)
    return NodeInfo(**info)


def node_from_xml(text: str | bytes, *, base_dir: str | None, origin: str) -> Node:
    """Build a node from node XML; ``file=`` references resolve against ``base_dir``."""
    from virt_test.postparse import with_driver_defaults  # saves ~170 ms on open, with the model
    from virtcore.xml import domain_from_element, secure_parse  # saves ~170 ms on test:///default (no XML)

    try:
        root = secure_parse(text)
    except XMLDetailError as exc:
        if exc.position is None:
            raise XMLError(f"node file '{origin}': {exc.detail}") from None
        from virtcore.errors import ErrorDomain  # saves ~18M instructions of import, as above
        from virtcore.xml import parser_report  # saves ~170 ms, as above (only a file not well formed)

        data = text.encode() if isinstance(text, str) else text
        raise ParserReportError(parser_report(data, origin, exc.position), domain=ErrorDomain.TEST) from None
    except XMLError as exc:
        raise XMLError(f"node file '{origin}': {exc.detail}") from None
    if root.tag != "node":
        raise XMLError(f"node file '{origin}': root element is <{root.tag}>, expected <node>")
    from lxml import etree  # saves ~170 ms on test:///default, as above

    node = Node(node_info=_node_info(root, origin))
    for child in root:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        tag = child.tag
        if tag in ("cpu", "memory"):
            continue
        if tag == "auth":
            node.auths += _auth_users(child, origin)
            continue
        if tag not in ("domain", "network", "interface", "pool", "device"):
            raise XMLError(f"node file '{origin}': unexpected element <{tag}>")
        element = _resolve(child, base_dir, origin)
        if tag == "pool":
            _add_pool(node, child, element, base_dir, origin)
            continue
        if tag == "network":
            _add_network(node, element, origin)
            continue
        if tag in ("device", "interface"):
            text = etree.tostring(element, encoding="unicode", with_tail=False)
            _check_host_object(tag, text, origin)
            node.add_host_xml(tag, text)
            continue
        running, transient, managed_save, snapshots = _test_namespace(element, base_dir, origin)
        try:
            definition = with_driver_defaults(domain_from_element(element))
        except XMLError as exc:
            raise XMLError(f"node file '{origin}': {exc.detail}") from None
        node.add_loaded(definition, running=running, transient=transient, managed_save=managed_save)
        if snapshots:
            from virt_test.snapshots import Snapshots  # saves ~1 ms: only node files with snapshots

            Snapshots(node).load(definition.uuid, snapshots, origin)
    return node


def _auth_users(auth: Any, origin: str) -> tuple[tuple[str, str | None], ...]:
    """The ``<user password=...>name</user>``s of an ``<auth>``, as libvirt's test driver reads them."""
    users = []
    for user in auth.findall("user"):
        name = (user.text or "").strip()
        if not name:
            raise XMLError(f"node file '{origin}': missing username in /node/auth/user field")
        users.append((name, user.get("password")))
    return tuple(users)


def _check_host_object(tag: str, text: str, origin: str) -> None:
    """Refuse a node file whose ``<device>`` or ``<interface>`` libvirt's parser would refuse."""
    from virtcore.xml.interface import parse_interface  # saves ~170 ms, as in node_from_xml
    from virtcore.xml.nodedev import parse_node_device  # saves ~170 ms, as in node_from_xml

    try:
        (parse_node_device if tag == "device" else parse_interface)(text)
    except VirtError as exc:
        raise XMLError(f"node file '{origin}': {exc.detail}") from None


def _add_network(node: Node, element: Any, origin: str) -> None:
    """Add the network ``element``: active and persistent, as libvirt's test driver loads it."""
    from virtcore.xml import network_from_element  # saves ~170 ms, as in node_from_xml

    try:
        node.networks.add_loaded(network_from_element(element))
    except VirtError as exc:
        raise XMLError(f"node file '{origin}': {exc.detail}") from None


def _add_pool(node: Node, child: Any, element: Any, base_dir: str | None, origin: str) -> None:
    """Add the pool ``element`` (``child`` as the node file has it) with ``child``'s volumes."""
    from virtcore.xml import pool_from_element, volume_from_element  # saves ~170 ms, as in node_from_xml

    for vol in element.findall("volume"):  # an inline pool's volumes are its children
        element.remove(vol)
    try:
        pool = pool_from_element(element)
        volumes = [
            volume_from_element(_resolve(vol, base_dir, origin), pool=pool) for vol in child.findall("volume")
        ]
        node.storage.add_loaded(pool, volumes)
    except XMLError as exc:
        raise XMLError(f"node file '{origin}': {exc.detail}") from None


def _resolve(child: Any, base_dir: str | None, origin: str) -> Any:
    import copy  # saves ~1 ms of a cold open (copy, weakref): only node files are resolved

    from virtcore.xml import secure_parse  # saves ~170 ms, as in node_from_xml (its only caller)

    ref = child.get("file")
    if ref is None:
        return copy.deepcopy(child)
    if base_dir is None:
        raise XMLError(f"{origin}: file= references need a node file")
    path = ref if os.path.isabs(ref) else os.path.join(base_dir, ref)
    try:
        element = secure_parse(_read(path))
    except XMLError as exc:
        raise XMLError(f"{path} (referenced from '{origin}'): {exc.detail}") from None
    if element.tag != child.tag:
        raise XMLError(f"{path}: root element is <{element.tag}>, expected <{child.tag}>")
    return element


def _test_namespace(
    element: Any, base_dir: str | None, origin: str
) -> tuple[DomainState, bool, bool, list[Any]]:
    """Read and strip the ``test:`` elements of a domain (its snapshots: ``<domainsnapshot>`` elements)."""
    running = DomainState.RUNNING
    transient = managed_save = False
    snapshots: list[Any] = []
    for el in list(element):
        if not isinstance(el.tag, str) or not el.tag.startswith("{" + TEST_NS + "}"):
            continue
        local = el.tag.split("}", 1)[1]
        if local == "runstate":
            value = _int(el, "test:runstate", origin)
            try:
                running = DomainState(value)
            except ValueError:
                raise XMLError(f"{origin}: invalid <test:runstate> {value}") from None
        elif local == "transient":
            transient = True
        elif local == "hasmanagedsave":
            managed_save = True
        elif local == "domainsnapshot":
            el.tag = "domainsnapshot"  # inline: the element is the snapshot; file=: its document
            snapshots.append(_resolve(el, base_dir, origin))
        element.remove(el)
    return running, transient, managed_save, snapshots
