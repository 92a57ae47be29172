"""libvirt secret XML: :class:`SecretDef` (``<secret>``), described with ``typed(...)``.

>>> s = parse_secret("<secret ephemeral='no' private='yes'><usage type='ceph'>"
...                  "<name>client.admin</name></usage></secret>")
>>> s.private, s.usage_type, s.usage_id
(True, 'ceph', 'client.admin')

Parsing, formatting and the coverage report (:func:`virtcore.xml.unmodelled`) come from the
declarations. :func:`parse_secret` applies libvirt's ``virSecretDefParse`` rules: a
missing ``<uuid>`` is generated, a usage names what it is for (``<volume>`` for
``volume``, ``<target>`` for ``iscsi``, ``<name>`` for ``ceph``, ``tls`` and ``vtpm``),
and a usage without it is refused. The value of a secret is never in its XML.
"""

from __future__ import annotations

import uuid as _uuid
from typing import ClassVar

import attrs

from virtcore.errors import XMLError
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import Node
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import (
    YESNO,
    SpecElement,
    check_covered,
    format_xml,
    one_of,
    spec_node,
    typed,
)
from virtcore.xml._storagecommon import UUID
from virtcore.xml._util import canonical_uuid

__all__ = [
    "SECRET_USAGE_TYPES",
    "SecretDef",
    "SecretUsage",
    "format_secret",
    "parse_secret",
    "secret_from_element",
]

#: ``<usage type=...>``, in the order of libvirt's ``virSecretUsageType`` (``none`` is 0).
SECRET_USAGE_TYPES = ("none", "volume", "ceph", "iscsi", "tls", "vtpm")

#: The child of ``<usage>`` that names the usage, per type (and what libvirt calls it in errors).
_USAGE_ID = {"volume": ("volume", "volume path"), "ceph": ("name", "Ceph name"),
             "iscsi": ("target", "iSCSI target"), "tls": ("name", "TLS name"),
             "vtpm": ("name", "vTPM name")}  # fmt: skip


@attrs.frozen
class SecretUsage(SpecElement):
    """``<usage type>``: what the secret is for, and the id of that use (:attr:`id`)."""

    _tag: ClassVar[str] = "usage"
    _order = ("volume", "name", "target")
    type: str | None = typed("attr", "type", conv=one_of(SECRET_USAGE_TYPES, "secret usage type"))
    volume: str | None = typed("ctext", "volume")
    name: str | None = typed("ctext", "name", strip=False)
    target: str | None = typed("ctext", "target")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @property
    def id(self) -> str:
        """The usage id: the volume's path, the iSCSI target, or the Ceph/TLS/vTPM name (``""``: none)."""
        if self.type is None or self.type not in _USAGE_ID:
            return ""
        return getattr(self, _USAGE_ID[self.type][0]) or ""


@attrs.frozen
class SecretDef(SpecElement):
    """A secret's definition (``<secret>``), immutable: change it with :func:`attrs.evolve`.

    ``ephemeral``: kept in memory only; ``private``: its value cannot be read back through
    the API. ``uuid`` is generated when not given.
    """

    _tag: ClassVar[str] = "secret"
    _order = ("uuid", "description", "usage")
    ephemeral: bool | None = typed("attr", "ephemeral", conv=YESNO)
    private: bool | None = typed("attr", "private", conv=YESNO)
    uuid: str | None = typed("ctext", "uuid", conv=UUID)
    description: str | None = typed("ctext", "description", strip=False)
    usage: SecretUsage | None = typed("one", "usage", cls=SecretUsage, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        _complete(self)

    @classmethod
    def covered(cls) -> Node:
        """What the model types of ``<secret>`` (all of libvirt's schema)."""
        return spec_node(cls)

    @property
    def usage_type(self) -> str:
        """The usage type (``"none"`` when the secret has no ``<usage>``)."""
        return "none" if self.usage is None or self.usage.type is None else self.usage.type

    @property
    def usage_id(self) -> str:
        """The usage id (``""``: usage ``none``)."""
        return "" if self.usage is None else self.usage.id

    def to_xml(self) -> str:
        """The secret as XML text (see :func:`format_secret`)."""
        return format_secret(self)


def _complete(s: SecretDef) -> None:
    """libvirt's checks and defaults (in place: ``s`` is new)."""
    object.__setattr__(
        s, "uuid", str(_uuid.uuid4()) if s.uuid is None else canonical_uuid(s.uuid, "secret <uuid>")
    )
    if s.description is not None and "\0" in s.description:
        raise XMLError(f"secret '{s.uuid}': <description> cannot contain NUL")
    usage = s.usage
    if usage is None:
        return
    if usage.type is None:
        raise XMLError(f"secret '{s.uuid}': unknown secret usage type (no type)")
    if usage.type in _USAGE_ID:
        child, what = _USAGE_ID[usage.type]
        value = getattr(usage, child)
        if value is None or not value.strip():
            raise XMLError(f"secret '{s.uuid}': {usage.type} usage specified, but {what} is missing")
        if "\0" in value:
            raise XMLError(f"secret '{s.uuid}': the {what} cannot contain NUL")


def secret_from_element(el: Element) -> SecretDef:
    """Parse a ``<secret>`` element, applying libvirt's parse-time checks and defaults."""
    if el.tag != "secret":
        raise XMLError(f"unexpected root element <{el.tag}>, expecting <secret>")
    secret: SecretDef = SecretDef.from_element(el)
    return secret


def parse_secret(text: str | bytes, *, strict: bool = False) -> SecretDef:
    """Parse secret XML (with the hardened parser) into a :class:`SecretDef`.

    :param strict: also refuse elements and attributes the typed model does not cover.
    :raises XMLError: malformed or hostile XML, a bad UUID or usage, a usage missing its id.
    """
    s = secret_from_element(secure_parse(text, api="SECRET"))
    if strict:
        check_covered(s, f"secret '{s.uuid}'")
    return s


def format_secret(s: SecretDef) -> str:
    """``s`` as secret XML text, indented and quoted like libvirt's."""
    return format_xml(s, f"secret '{s.uuid}'", single_quotes=True)
