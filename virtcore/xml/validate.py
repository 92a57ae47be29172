"""Validation of domain, storage pool, storage volume, network and domain snapshot XML: what the
typed model does not cover, and schema checks.

* :func:`unmodelled` lists the elements and attributes of a parsed definition
  that the typed model does not represent. They are not lost (formatting keeps
  them verbatim), but code reading the model will not see them; ``strict=True``
  in :func:`~virtcore.xml.parse_domain` turns them into an error.
* :func:`validate` / :func:`validate_file` collect every problem of a document:
  parse and semantic errors, optionally the unmodelled parts, and, given a path
  to a RelaxNG schema (libvirt's ``domain.rng``, ``storagepool.rng``, ``storagevol.rng``,
  ``network.rng``),
  schema violations. The document's root element picks the model: ``<pool>`` is read by
  :mod:`virtcore.xml.pool`, ``<volume>`` by :mod:`virtcore.xml.volume`, ``<network>`` by
  :mod:`virtcore.xml.network`, ``<domainsnapshot>`` by :mod:`virtcore.xml.snapshot`, ``<device>``
  (a host device) by :mod:`virtcore.xml.nodedev`, ``<interface>`` (a host interface) by
  :mod:`virtcore.xml.interface`, ``<secret>`` by :mod:`virtcore.xml.secret`, anything else
  as a domain.
"""

from __future__ import annotations

import functools
import os

from lxml import etree

from virtcore.errors import ReadFailedError, VirtError, XMLError
from virtcore.xml._parser import secure_parse
from virtcore.xml.domain import check_strict, domain_from_element, unmodelled

Element = etree._Element

__all__ = ["unmodelled", "validate", "validate_file", "check_strict"]


@functools.lru_cache(maxsize=8)
def _schema(path: str) -> etree.RelaxNG:
    try:
        tree = etree.parse(path, etree.XMLParser(no_network=True, resolve_entities=False))
        return etree.RelaxNG(tree)
    except OSError as exc:
        raise ReadFailedError(f"schema '{path}': {exc.strerror or exc}") from None
    except (etree.XMLSyntaxError, etree.RelaxNGParseError) as exc:
        raise XMLError(f"invalid RelaxNG schema '{path}': {exc}") from None


#: Documents read by the host object models: root tag -> (module, parser, coverage lister).
_HOST_OBJECTS = {
    "device": ("virtcore.xml.nodedev", "node_device_from_element", "unmodelled_node_device"),
    "interface": ("virtcore.xml.interface", "interface_from_element", "unmodelled_interface"),
    "secret": ("virtcore.xml.secret", "secret_from_element", "unmodelled_secret"),
}


def _model_problems(root: Element, strict: bool) -> list[str]:
    """The model's complaints about ``root`` (the model chosen by its tag), and with ``strict``
    what it does not cover."""
    found: list[str]
    if root.tag == "domainsnapshot":
        # deferred: the snapshot model loads only for snapshot documents
        from virtcore.xml.snapshot import snapshot_from_element, unmodelled_snapshot

        found = unmodelled_snapshot(
            snapshot_from_element(root, redefine=root.find("creationTime") is not None)
        )
    elif root.tag == "network":
        # deferred: the network model loads only for network documents
        from virtcore.xml.network import network_from_element, unmodelled_network

        found = unmodelled_network(network_from_element(root))
    elif root.tag in _HOST_OBJECTS:
        import importlib  # deferred: these models load only for their documents

        module, reader, lister = _HOST_OBJECTS[root.tag]
        mod = importlib.import_module(module)
        found = getattr(mod, lister)(getattr(mod, reader)(root))
    elif root.tag in ("pool", "volume"):
        # deferred: the storage models load only for storage documents
        if root.tag == "pool":
            from virtcore.xml.pool import pool_from_element, unmodelled_pool

            found = unmodelled_pool(pool_from_element(root))
        else:
            from virtcore.xml.volume import unmodelled_volume, volume_from_element

            found = unmodelled_volume(volume_from_element(root))
    else:
        found = unmodelled(domain_from_element(root))
    return [f"not modelled (kept verbatim): {p}" for p in found] if strict else []


def validate(text: str | bytes, schema: str | None = None, *, strict: bool = False) -> list[str]:
    """Every problem of a domain, storage pool, storage volume, network or snapshot XML document, as messages;
    an empty list means valid.

    :param schema: path to a RelaxNG schema to check against (libvirt's ``domain.rng``,
        ``storagepool.rng``, ``storagevol.rng``, ``network.rng`` or ``domainsnapshot.rng``).
    :param strict: also report elements and attributes the typed model does not cover.
    :raises ReadFailedError, XMLError: the schema cannot be read or compiled.
    """
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
        problems.extend(_model_problems(root, strict))
    except VirtError as exc:
        problems.append(str(exc))
    return problems


def validate_file(path: str, schema: str | None = None, *, strict: bool = False) -> list[str]:
    """:func:`validate` the domain, pool, volume or network XML in file ``path``.

    :raises ReadFailedError: the file (or the schema) cannot be read.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(64 * 1024 * 1024)
    except OSError as exc:
        raise ReadFailedError(f"'{path}': {exc.strerror or exc}") from None
    return validate(data, schema, strict=strict)
