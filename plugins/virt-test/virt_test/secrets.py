"""The secrets of a test node, and their hooks, after libvirt's secret driver.

libvirt's test driver has no secrets of its own (``test:///default`` through
libvirt answers them ``NO_SUPPORT``); virt-test keeps them in memory, per node,
with the rules of libvirt's secret driver (``src/secret/secret_driver.c``,
``src/conf/virsecretobj.c``), so that code handling secrets can be tested:

* A definition whose UUID exists replaces that secret's definition and keeps
  its value, unless it changes the usage (``"a secret with UUID u is already
  defined for use with id"``) or makes a private secret public (``"cannot change
  private flag on existing secret"``): internal errors, as libvirt's.
* A new secret whose usage another secret has is refused the same way.
* A private secret's value cannot be read (``INVALID_SECRET`` ``"secret is
  private"``); a secret with no value yet is ``NO_SECRET`` (``"secret 'u' does not
  have a value"``).

Nothing is ever written to disk: every secret here is as good as ephemeral.
"""

from __future__ import annotations

import _thread
import functools
from typing import TYPE_CHECKING

from virtcore import errors, hookimpl
from virtcore.errors import InternalError, InvalidSecretError, NoSecretError
from virtcore.secret import SecretRef, SecretUsageType

if TYPE_CHECKING:
    from virt_test.node import Node
    from virtcore.xml.secret import SecretDef

__all__ = ["Secrets", "TestSecrets"]


class _Secret:
    """One secret: its definition and value (``None``: not set)."""

    __slots__ = ("definition", "value")

    def __init__(self, definition: SecretDef) -> None:
        self.definition = definition
        self.value: bytes | None = None

    @property
    def ref(self) -> SecretRef:
        d = self.definition
        assert d.uuid is not None
        return SecretRef(d.uuid, SecretUsageType[d.usage_type.upper()], d.usage_id)


def _internal(detail: str) -> InternalError:
    return InternalError(detail, domain=errors.ErrorDomain.SECRET)


class Secrets:
    """Every secret of a node, in the order they were defined, under one lock."""

    def __init__(self) -> None:
        self.lock = _thread.RLock()
        self.secrets: dict[str, _Secret] = {}  # by uuid

    def get(self, uuid: str) -> _Secret:
        """The secret with ``uuid`` (call with the lock held); ``NoSecretError`` when none."""
        s = self.secrets.get(uuid)
        if s is None:
            raise NoSecretError(f"no secret with matching uuid '{uuid}'")
        return s

    def refs(self) -> list[SecretRef]:
        """Every secret."""
        with self.lock:
            return [s.ref for s in self.secrets.values()]

    def lookup_uuid(self, uuid: str) -> SecretRef:
        """The secret with ``uuid``."""
        with self.lock:
            return self.get(uuid).ref

    def lookup_usage(self, usage_type: SecretUsageType, usage_id: str) -> SecretRef:
        """The secret of that usage."""
        with self.lock:
            found = self._by_usage(usage_type, usage_id)
            if found is None:
                raise NoSecretError(f"no secret with matching usage '{usage_id}'")
            return found.ref

    def _by_usage(self, usage_type: SecretUsageType, usage_id: str) -> _Secret | None:
        for s in self.secrets.values():
            ref = s.ref
            if ref.usage_type == usage_type and ref.usage_id == usage_id:
                return s
        return None

    def define(self, definition: SecretDef) -> SecretRef:
        """Add ``definition``, or replace the definition of the secret with its UUID (keeping the value)."""
        assert definition.uuid is not None
        with self.lock:
            old = self.secrets.get(definition.uuid)
            if old is not None:
                if old.definition.usage_id != definition.usage_id:
                    raise _internal(
                        f"a secret with UUID {definition.uuid} is already defined for use with "
                        f"{old.definition.usage_id}"
                    )
                if old.definition.private and not definition.private:
                    raise _internal("cannot change private flag on existing secret")
                old.definition = definition
                return old.ref
            kind = SecretUsageType[definition.usage_type.upper()]
            other = None if kind == SecretUsageType.NONE else self._by_usage(kind, definition.usage_id)
            if other is not None:
                raise _internal(
                    f"a secret with UUID {other.ref.uuid} already defined for use with {definition.usage_id}"
                )
            new = _Secret(definition)
            self.secrets[definition.uuid] = new
            return new.ref

    def xml(self, uuid: str) -> str:
        """The secret's XML."""
        with self.lock:
            definition = self.get(uuid).definition
        return definition.to_xml()

    def set_value(self, uuid: str, value: bytes) -> None:
        """Set the secret's value."""
        with self.lock:
            self.get(uuid).value = bytes(value)

    def value(self, uuid: str) -> bytes:
        """The secret's value (refused for a private secret)."""
        with self.lock:
            s = self.get(uuid)
            if s.definition.private:
                raise InvalidSecretError("secret is private")
            if s.value is None:
                raise NoSecretError(f"secret '{uuid}' does not have a value")
            return s.value

    def undefine(self, uuid: str) -> None:
        """Forget the secret and its value."""
        with self.lock:
            self.get(uuid)
            del self.secrets[uuid]


class TestSecrets:
    """The secret hook implementations over one node's secrets."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self._node = node

    @functools.cached_property
    def secrets(self) -> Secrets:
        """The node's secrets, made when the first secret hook runs."""
        return self._node.secrets

    @hookimpl
    def virt_connect_list_all_secrets(self) -> list[SecretRef]:
        return self.secrets.refs()

    @hookimpl
    def virt_secret_lookup_by_uuid(self, uuid: str) -> SecretRef:
        return self.secrets.lookup_uuid(uuid)

    @hookimpl
    def virt_secret_lookup_by_usage(self, usage_type: SecretUsageType, usage_id: str) -> SecretRef:
        return self.secrets.lookup_usage(usage_type, usage_id)

    @hookimpl
    def virt_secret_define_xml(self, xml: str) -> SecretRef:
        from virtcore.xml.secret import parse_secret  # saves the XML model on open

        return self.secrets.define(parse_secret(xml))

    @hookimpl
    def virt_secret_get_xml_desc(self, uuid: str) -> str:
        return self.secrets.xml(uuid)

    @hookimpl
    def virt_secret_set_value(self, uuid: str, value: bytes) -> bool:
        self.secrets.set_value(uuid, value)
        return True

    @hookimpl
    def virt_secret_get_value(self, uuid: str) -> bytes:
        return self.secrets.value(uuid)

    @hookimpl
    def virt_secret_undefine(self, uuid: str) -> bool:
        self.secrets.undefine(uuid)
        return True
