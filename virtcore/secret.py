"""Secrets: the public handles over the secret hooks.

A *secret* is a value (a passphrase, a key: bytes) the host keeps for guests
and storage, described by libvirt's ``<secret>`` XML: a UUID, whether it is
``ephemeral`` (never written to disk) and ``private`` (its value cannot be
read back through the API), and a *usage* saying what it is for (a volume's
path, a Ceph or iSCSI user, a TLS or vTPM name), by which it can be looked
up. libvirt: ``virSecret``.

A connection whose drivers offer no secrets raises ``NoSupportError`` naming
the operation.

::

    s = conn.define_secret("<secret ephemeral='no' private='no'>"
                           "<usage type='volume'><volume>/var/lib/a.img</volume></usage></secret>")
    s.set_value(b"hunter2")
    assert conn.lookup_secret_by_usage(SecretUsageType.VOLUME, "/var/lib/a.img").value() == b"hunter2"
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple would compile each string
# annotation (a ForwardRef per field); a cold open then compiles nothing (~8M instructions).
import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from virtcore import hookspecs
from virtcore._dispatch import canonical_uuid, declined, xml_arg
from virtcore.errors import InvalidArgError

if TYPE_CHECKING:
    from virtcore._dispatch import Table

__all__ = ["MAX_SECRET_VALUE", "SecretUsageType", "SecretRef", "SecretAPI", "Secret"]

#: The largest value a secret holds, in bytes (libvirt's RPC limit for a secret value).
MAX_SECRET_VALUE = 65536


class SecretUsageType(enum.IntEnum):
    """``virSecretUsageType``: what a secret is for (its ``<usage type=...>``)."""

    NONE = 0
    VOLUME = 1
    CEPH = 2
    ISCSI = 3
    TLS = 4
    VTPM = 5


class SecretRef(NamedTuple):
    """What a driver answers to a secret lookup: its canonical UUID and its usage (type and id)."""

    uuid: str
    usage_type: SecretUsageType
    #: The volume's path, or the Ceph/iSCSI/TLS/vTPM usage name (``""``: usage ``none``).
    usage_id: str


def _usage_type_arg(value: object) -> SecretUsageType:
    if isinstance(value, str):
        try:
            return SecretUsageType[value.upper()]
        except KeyError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            return SecretUsageType(value)
        except ValueError:
            pass
    raise InvalidArgError(f"unknown secret usage type {value!r} (volume, ceph, iscsi, tls or vtpm)")


def _value_arg(value: object) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidArgError(f"secret value must be bytes, not {type(value).__name__}")
    data = bytes(value)
    if len(data) > MAX_SECRET_VALUE:
        raise InvalidArgError(f"secret value of {len(data)} bytes is larger than {MAX_SECRET_VALUE} bytes")
    return data


class SecretAPI:
    """The secret half of :class:`virtcore.Connection` (its methods, mixed in)."""

    _ops: "Table"

    def list_secrets(self) -> "list[Secret]":
        """Every secret of the host."""
        spec = hookspecs.virt_connect_list_all_secrets
        refs = self._ops[spec]()
        return [Secret(self, r) for r in refs] if refs is not None else declined(spec)

    def lookup_secret_by_uuid(self, uuid: str) -> "Secret":
        """The secret with this UUID (any common spelling, or 16 bytes); ``NoSecretError`` if none."""
        spec = hookspecs.virt_secret_lookup_by_uuid
        r = self._ops[spec](uuid=canonical_uuid(uuid, "SECRET"))
        return Secret(self, r) if r is not None else declined(spec)

    def lookup_secret_by_usage(self, usage_type: SecretUsageType | str | int, usage_id: str) -> "Secret":
        """The secret of that usage (a volume's path, a Ceph user's name...); ``NoSecretError`` if none."""
        kind = _usage_type_arg(usage_type)
        if not isinstance(usage_id, str) or not usage_id:
            raise InvalidArgError(f"secret usage id must be a non-empty string, not {usage_id!r}")
        spec = hookspecs.virt_secret_lookup_by_usage
        r = self._ops[spec](usage_type=kind, usage_id=usage_id)
        return Secret(self, r) if r is not None else declined(spec)

    def define_secret(self, xml: str) -> "Secret":
        """Define (or redefine, by UUID) a secret from ``<secret>`` XML; it has no value until set."""
        spec = hookspecs.virt_secret_define_xml
        r = self._ops[spec](xml=xml_arg(xml, "secret XML"))
        return Secret(self, r) if r is not None else declined(spec)


class Secret:
    """A handle on one secret of a connection. Get one from a lookup or a define."""

    __slots__ = ("_conn", "usage_id", "usage_type", "uuid")

    def __init__(self, conn: SecretAPI, ref: SecretRef) -> None:
        self._conn = conn
        #: The canonical UUID string.
        self.uuid: str = ref.uuid
        #: What the secret is for.
        self.usage_type: SecretUsageType = ref.usage_type
        #: The volume's path or the usage's name (``""``: usage ``none``).
        self.usage_id: str = ref.usage_id

    def __repr__(self) -> str:
        return f"<virtcore.Secret {self.uuid} {self.usage_type.name.lower()} {self.usage_id!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._conn is self._conn and other.uuid == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    @property
    def connection(self) -> SecretAPI:
        """The connection this handle belongs to."""
        return self._conn

    def _done(self, r: bool | None, spec: Callable[..., object]) -> None:
        if r is None:
            declined(spec)

    def xml_desc(self) -> str:
        """The secret's ``<secret>`` XML (never its value)."""
        spec = hookspecs.virt_secret_get_xml_desc
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def set_value(self, value: bytes | str) -> None:
        """Set the secret's value (``str`` is stored as UTF-8); at most :data:`MAX_SECRET_VALUE` bytes."""
        spec = hookspecs.virt_secret_set_value
        self._done(self._conn._ops[spec](uuid=self.uuid, value=_value_arg(value)), spec)

    def value(self) -> bytes:
        """The secret's value.

        :raises NoSecretError: it has none yet.
        :raises InvalidSecretError: the secret is private.
        :raises OperationDeniedError: on a read-only connection.
        """
        spec = hookspecs.virt_secret_get_value
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def undefine(self) -> None:
        """Remove the secret and its value."""
        spec = hookspecs.virt_secret_undefine
        self._done(self._conn._ops[spec](uuid=self.uuid), spec)
