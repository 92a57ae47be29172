"""Errors raised by virtcore and its drivers.

Every failure a user can cause is a :class:`VirtError`. Like libvirt's
``virError`` it carries a numeric :attr:`~VirtError.code` (``virErrorNumber``)
and :attr:`~VirtError.domain` (``virErrorDomain``, the subsystem that raised
it), so code written against libvirt's numbers keeps working::

    try:
        conn.lookup_domain("nosuch")
    except virtcore.errors.NoDomainError as exc:
        assert exc.code == ErrorNumber.NO_DOMAIN      # 42
        print(exc)                                    # Domain not found: nosuch

Subclasses exist for the common codes; :func:`error_for_code` maps any code
to the most specific class. Messages follow libvirt's templates
(``"Domain not found: %s"``), with the detail naming the thing concerned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from virtcore._errorcodes import ErrorDomain, ErrorNumber

__all__ = [
    "ErrorNumber",
    "ErrorDomain",
    "VirtError",
    "InternalError",
    "NoSupportError",
    "NoConnectError",
    "InvalidConnError",
    "InvalidArgError",
    "OperationFailedError",
    "XMLError",
    "XMLDetailError",
    "ParserReportError",
    "NoNameError",
    "DomainExistsError",
    "OperationDeniedError",
    "NoDomainError",
    "OperationInvalidError",
    "ConfigUnsupportedError",
    "OperationTimeoutError",
    "ArgumentUnsupportedError",
    "SystemError_",
    "AuthFailedError",
    "AuthUnavailableError",
    "OperationUnsupportedError",
    "ReadFailedError",
    "ConfSyntaxError",
    "InvalidStoragePoolError",
    "InvalidStorageVolError",
    "NoStoragePoolError",
    "NoStorageVolError",
    "StorageVolExistError",
    "StorageProbeFailedError",
    "StoragePoolBuiltError",
    "ResourceBusyError",
    "OperationAbortedError",
    "InvalidNetworkError",
    "NetworkExistError",
    "NoNetworkError",
    "NoNodeDeviceError",
    "NoInterfaceError",
    "InvalidSecretError",
    "NoSecretError",
    "InvalidDomainSnapshotError",
    "NoDomainMetadataError",
    "NoDomainCheckpointError",
    "NoDomainSnapshotError",
    "SnapshotRevertRiskyError",
    "AgentUnresponsiveError",
    "AgentUnsyncedError",
    "AgentCommandTimeoutError",
    "AgentCommandFailedError",
    "RPCError",
    "error_for_code",
]


def __getattr__(name: str) -> object:
    # ErrorNumber and ErrorDomain live in a module imported on first use: building them is
    # ~18M instructions, a fifth of a cold ``import virtcore`` (tests/test_cold_path.py).
    if name in ("ErrorNumber", "ErrorDomain"):
        from virtcore import _errorcodes  # saves ~18M instructions of import: the two enums

        return getattr(_errorcodes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_M = TypeVar("_M")


class _Member(Generic[_M]):
    """A class attribute naming a member of ErrorNumber or ErrorDomain; reading it gives the member.

    The error classes name their code and domain this way, so that defining
    them does not build the enums (see :func:`__getattr__`).
    """

    __slots__ = ("_enum", "_name")

    def __init__(self, enum_name: str, name: str) -> None:
        self._enum = enum_name
        self._name = name

    def __get__(self, obj: object, owner: type | None = None) -> _M:
        from virtcore import _errorcodes  # saves ~18M instructions of import: the two enums

        member: _M = getattr(getattr(_errorcodes, self._enum), self._name)
        return member


def _code(name: str) -> _Member[ErrorNumber]:
    """The class attribute ``code``: ``ErrorNumber.<name>``."""
    return _Member("ErrorNumber", name)


def _domain(name: str) -> _Member[ErrorDomain]:
    """The class attribute ``default_domain``: ``ErrorDomain.<name>``."""
    return _Member("ErrorDomain", name)


class VirtError(Exception):
    """Base of every error virtcore raises on purpose.

    ``VirtError(detail)`` formats the message from the class's libvirt
    template; ``domain`` says which subsystem raised it (default: the class's
    own). ``str(exc)`` is the full message, ``exc.detail`` the detail alone.
    """

    code: ClassVar[_Member[ErrorNumber]] = _code("INTERNAL_ERROR")
    #: libvirt's message with a detail (``%s``) and without one.
    template: ClassVar[str] = "internal error: %s"
    bare: ClassVar[str] = "internal error"
    default_domain: ClassVar[_Member[ErrorDomain]] = _domain("NONE")

    def __init__(self, detail: str | None = None, *, domain: ErrorDomain | None = None) -> None:
        self.detail = detail
        self.domain: ErrorDomain = self.default_domain if domain is None else domain
        message = self.bare if detail is None else self.template % detail
        super().__init__(message)

    @property
    def message(self) -> str:
        """The full message, as libvirt's ``get_error_message()`` gives it."""
        return str(self.args[0])

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.detail, int(self.domain)))


def _rebuild(cls: type[VirtError], detail: str | None, domain: int) -> VirtError:
    from virtcore._errorcodes import ErrorDomain  # saves ~18M instructions of import: the two enums

    return cls(detail, domain=ErrorDomain(domain))


class InternalError(VirtError):
    """An internal failure (``VIR_ERR_INTERNAL_ERROR``)."""


class NoSupportError(VirtError):
    """No driver of this connection implements the operation (``VIR_ERR_NO_SUPPORT``)."""

    code = _code("NO_SUPPORT")
    template = "this function is not supported by the connection driver: %s"
    bare = "this function is not supported by the connection driver"


class NoConnectError(VirtError):
    """No installed driver accepts the URI (``VIR_ERR_NO_CONNECT``)."""

    code = _code("NO_CONNECT")
    template = "no connection driver available for %s"
    bare = "no connection driver available"


class InvalidConnError(VirtError):
    """The connection is closed or otherwise unusable (``VIR_ERR_INVALID_CONN``)."""

    code = _code("INVALID_CONN")
    template = "invalid connection pointer in %s"
    bare = "invalid connection pointer"


class InvalidArgError(VirtError):
    """An argument is malformed or out of range (``VIR_ERR_INVALID_ARG``)."""

    code = _code("INVALID_ARG")
    template = "invalid argument: %s"
    bare = "invalid argument"


class OperationFailedError(VirtError):
    """The operation was tried and failed (``VIR_ERR_OPERATION_FAILED``)."""

    code = _code("OPERATION_FAILED")
    template = "operation failed: %s"
    bare = "operation failed"


class XMLError(VirtError):
    """XML is not well formed, hostile, or not a valid description (``VIR_ERR_XML_ERROR``)."""

    code = _code("XML_ERROR")
    template = "XML error: %s"
    bare = "XML description is invalid or not well formed"
    default_domain = _domain("XML")


class NoNameError(XMLError):
    """The description has no name (``VIR_ERR_NO_NAME``), as libvirt's domain and network parsers say.

    An ``XMLError`` all the same: the document is not a valid description.
    """

    code = _code("NO_NAME")
    template = "missing name information in %s"
    bare = "missing name information"


class XMLDetailError(XMLError):
    """The XML parser refused the document: it is not well formed (``VIR_ERR_XML_DETAIL``).

    libvirt reports its parser's failures this way, in the error domain of the
    object described (``VIR_FROM_DOMAIN`` for a domain's XML); an ``XMLError``
    all the same.
    """

    code = _code("XML_DETAIL")
    #: Where the parser stopped, when it said: ``(line, column, its message)`` (1-based, as libxml2's).
    position: tuple[int, int, str] | None = None


class ParserReportError(XMLDetailError):
    """libvirt's own report of a file its XML parser refused (``VIR_ERR_XML_DETAIL``), quoted whole.

    libvirt's template for the code is a bare ``%s``: the detail is the report,
    ``FILE:LINE: REASON``, the offending line and a caret under the column
    (see :func:`virtcore.xml.parser_report`), as its test driver says of a node file.
    """

    template = "%s"
    bare = "parser error"


class DomainExistsError(VirtError):
    """A domain with that name or UUID exists already (``VIR_ERR_DOM_EXIST``)."""

    code = _code("DOM_EXIST")
    template = "domain %s exists already"
    bare = "domain exists already"
    default_domain = _domain("DOMAIN")


class OperationDeniedError(VirtError):
    """Refused, e.g. a mutating call on a read-only connection (``VIR_ERR_OPERATION_DENIED``)."""

    code = _code("OPERATION_DENIED")
    template = "operation forbidden: %s"
    bare = "operation forbidden for read only access"


class NoDomainError(VirtError):
    """No domain matches the name, UUID or id (``VIR_ERR_NO_DOMAIN``)."""

    code = _code("NO_DOMAIN")
    template = "Domain not found: %s"
    bare = "Domain not found"
    default_domain = _domain("DOMAIN")


class OperationInvalidError(VirtError):
    """The operation is not valid in the domain's current state (``VIR_ERR_OPERATION_INVALID``)."""

    code = _code("OPERATION_INVALID")
    template = "Requested operation is not valid: %s"
    bare = "Requested operation is not valid"
    default_domain = _domain("DOMAIN")


class ConfigUnsupportedError(VirtError):
    """The configuration is valid XML but this driver cannot honour it (``VIR_ERR_CONFIG_UNSUPPORTED``)."""

    code = _code("CONFIG_UNSUPPORTED")
    template = "unsupported configuration: %s"
    bare = "unsupported configuration"


class OperationTimeoutError(VirtError):
    """The operation did not finish in time (``VIR_ERR_OPERATION_TIMEOUT``)."""

    code = _code("OPERATION_TIMEOUT")
    template = "Timed out during operation: %s"
    bare = "Timed out during operation"


class ArgumentUnsupportedError(VirtError):
    """A flag or argument the driver does not support (``VIR_ERR_ARGUMENT_UNSUPPORTED``)."""

    code = _code("ARGUMENT_UNSUPPORTED")
    template = "argument unsupported: %s"
    bare = "argument unsupported"


class SystemError_(VirtError):  # noqa: N801, N818 - libvirt's SYSTEM_ERROR; the _ avoids the builtin
    """An OS-level failure: a file, a process, a socket (``VIR_ERR_SYSTEM_ERROR``)."""

    code = _code("SYSTEM_ERROR")
    template = "%s"
    bare = "system error"


class ConfSyntaxError(VirtError):
    """A native configuration file does not parse (``VIR_ERR_CONF_SYNTAX``)."""

    code = _code("CONF_SYNTAX")
    template = "configuration file syntax error: %s"
    bare = "configuration file syntax error"


class ReadFailedError(VirtError):
    """A file could not be read (``VIR_ERR_READ_FAILED``)."""

    code = _code("READ_FAILED")
    template = "failed to read: %s"
    bare = "failed to read"


class AuthFailedError(VirtError):
    """Authentication failed (``VIR_ERR_AUTH_FAILED``)."""

    code = _code("AUTH_FAILED")
    template = "authentication failed: %s"
    bare = "authentication failed"


class AuthUnavailableError(VirtError):
    """No authentication method both sides support (``VIR_ERR_AUTH_UNAVAILABLE``)."""

    code = _code("AUTH_UNAVAILABLE")
    template = "authentication unavailable: %s"
    bare = "authentication unavailable"


class OperationUnsupportedError(VirtError):
    """The operation is not supported in this configuration (``VIR_ERR_OPERATION_UNSUPPORTED``)."""

    code = _code("OPERATION_UNSUPPORTED")
    template = "Operation not supported: %s"
    bare = "Operation not supported"


class InvalidStoragePoolError(VirtError):
    """A storage pool handle or reference is not usable (``VIR_ERR_INVALID_STORAGE_POOL``)."""

    code = _code("INVALID_STORAGE_POOL")
    template = "invalid storage pool pointer in %s"
    bare = "invalid storage pool pointer in"
    default_domain = _domain("STORAGE")


class InvalidStorageVolError(VirtError):
    """A storage volume handle or reference is not usable (``VIR_ERR_INVALID_STORAGE_VOL``)."""

    code = _code("INVALID_STORAGE_VOL")
    template = "invalid storage volume pointer in %s"
    bare = "invalid storage volume pointer in"
    default_domain = _domain("STORAGE")


class NoStoragePoolError(VirtError):
    """No storage pool matches the name, UUID or volume (``VIR_ERR_NO_STORAGE_POOL``)."""

    code = _code("NO_STORAGE_POOL")
    template = "Storage pool not found: %s"
    bare = "Storage pool not found"
    default_domain = _domain("STORAGE")


class NoStorageVolError(VirtError):
    """No storage volume matches the name, key or path (``VIR_ERR_NO_STORAGE_VOL``)."""

    code = _code("NO_STORAGE_VOL")
    template = "Storage volume not found: %s"
    bare = "Storage volume not found"
    default_domain = _domain("STORAGE")


class StorageVolExistError(VirtError):
    """A volume with that name exists already in the pool (``VIR_ERR_STORAGE_VOL_EXIST``)."""

    code = _code("STORAGE_VOL_EXIST")
    template = "storage volume '%s' exists already"
    bare = "this storage volume exists already"
    default_domain = _domain("STORAGE")


class StorageProbeFailedError(VirtError):
    """Probing a pool's source failed: not what it claims to be (``VIR_ERR_STORAGE_PROBE_FAILED``)."""

    code = _code("STORAGE_PROBE_FAILED")
    template = "Storage pool probe failed: %s"
    bare = "Storage pool probe failed"
    default_domain = _domain("STORAGE")


class StoragePoolBuiltError(VirtError):
    """Building a pool whose source already holds data, without overwrite (``VIR_ERR_STORAGE_POOL_BUILT``)."""

    code = _code("STORAGE_POOL_BUILT")
    template = "Storage pool already built: %s"
    bare = "Storage pool already built"
    default_domain = _domain("STORAGE")


class ResourceBusyError(VirtError):
    """The object is in use, e.g. a volume a running domain uses (``VIR_ERR_RESOURCE_BUSY``)."""

    code = _code("RESOURCE_BUSY")
    template = "resource busy: %s"
    bare = "resource busy"


class OperationAbortedError(VirtError):
    """The operation was cancelled, e.g. an upload aborted by its caller (``VIR_ERR_OPERATION_ABORTED``)."""

    code = _code("OPERATION_ABORTED")
    template = "operation aborted: %s"
    bare = "operation aborted"


class InvalidNetworkError(VirtError):
    """A network handle or reference is not usable (``VIR_ERR_INVALID_NETWORK``)."""

    code = _code("INVALID_NETWORK")
    template = "invalid network pointer in %s"
    bare = "invalid network pointer in"
    default_domain = _domain("NETWORK")


class NetworkExistError(VirtError):
    """A network with that name or UUID exists already (``VIR_ERR_NETWORK_EXIST``)."""

    code = _code("NETWORK_EXIST")
    template = "network %s exists already"
    bare = "this network exists already"
    default_domain = _domain("NETWORK")


class NoNetworkError(VirtError):
    """No network matches the name or UUID (``VIR_ERR_NO_NETWORK``)."""

    code = _code("NO_NETWORK")
    template = "Network not found: %s"
    bare = "Network not found"
    default_domain = _domain("NETWORK")


class NoNodeDeviceError(VirtError):
    """No host device matches the name (``VIR_ERR_NO_NODE_DEVICE``)."""

    code = _code("NO_NODE_DEVICE")
    template = "Node device not found: %s"
    bare = "Node device not found"
    default_domain = _domain("NODEDEV")


class NoInterfaceError(VirtError):
    """No host interface matches the name or MAC address (``VIR_ERR_NO_INTERFACE``)."""

    code = _code("NO_INTERFACE")
    template = "Interface not found: %s"
    bare = "Interface not found"
    default_domain = _domain("INTERFACE")


class InvalidSecretError(VirtError):
    """A secret that cannot be used so: private, or clashing with another (``VIR_ERR_INVALID_SECRET``)."""

    code = _code("INVALID_SECRET")
    template = "Invalid secret: %s"
    bare = "Invalid secret"
    default_domain = _domain("SECRET")


class NoSecretError(VirtError):
    """No secret matches the UUID or usage, or it has no value (``VIR_ERR_NO_SECRET``)."""

    code = _code("NO_SECRET")
    template = "Secret not found: %s"
    bare = "Secret not found"
    default_domain = _domain("SECRET")


class NoDomainMetadataError(VirtError):
    """The domain has no metadata of the kind asked (``VIR_ERR_NO_DOMAIN_METADATA``)."""

    code = _code("NO_DOMAIN_METADATA")
    template = "metadata not found: %s"
    bare = "metadata not found"
    default_domain = _domain("DOMAIN")


class NoDomainCheckpointError(VirtError):
    """No checkpoint of the domain matches (``VIR_ERR_NO_DOMAIN_CHECKPOINT``): a name, a parent."""

    code = _code("NO_DOMAIN_CHECKPOINT")
    template = "Domain checkpoint not found: %s"
    bare = "Domain checkpoint not found"
    default_domain = _domain("DOMAIN_CHECKPOINT")


class InvalidDomainSnapshotError(VirtError):
    """An invalid snapshot handle, e.g. one of another domain (``VIR_ERR_INVALID_DOMAIN_SNAPSHOT``)."""

    code = _code("INVALID_DOMAIN_SNAPSHOT")
    template = "Invalid snapshot: %s"
    bare = "Invalid snapshot"
    default_domain = _domain("DOMAIN_SNAPSHOT")


class NoDomainSnapshotError(VirtError):
    """No snapshot of the domain matches (``VIR_ERR_NO_DOMAIN_SNAPSHOT``): a name, a current one, a parent."""

    code = _code("NO_DOMAIN_SNAPSHOT")
    template = "Domain snapshot not found: %s"
    bare = "Domain snapshot not found"
    default_domain = _domain("DOMAIN_SNAPSHOT")


class SnapshotRevertRiskyError(VirtError):
    """A revert that needs ``force``: it would respawn the guest (``VIR_ERR_SNAPSHOT_REVERT_RISKY``)."""

    code = _code("SNAPSHOT_REVERT_RISKY")
    template = "revert requires force: %s"
    bare = "revert requires force"
    default_domain = _domain("DOMAIN_SNAPSHOT")


class AgentUnresponsiveError(VirtError):
    """No guest agent: not configured, not connected or silent (``VIR_ERR_AGENT_UNRESPONSIVE``)."""

    code = _code("AGENT_UNRESPONSIVE")
    template = "Guest agent is not responding: %s"
    bare = "Guest agent is not responding"
    default_domain = _domain("QEMU")


class AgentUnsyncedError(VirtError):
    """The guest agent answered ``guest-sync`` with another id (``VIR_ERR_AGENT_UNSYNCED``)."""

    code = _code("AGENT_UNSYNCED")
    template = "guest agent replied with wrong id to guest-sync command: %s"
    bare = "guest agent replied with wrong id to guest-sync command"
    default_domain = _domain("QEMU")


class AgentCommandTimeoutError(VirtError):
    """A guest agent command got no answer in time (``VIR_ERR_AGENT_COMMAND_TIMEOUT``)."""

    code = _code("AGENT_COMMAND_TIMEOUT")
    template = "guest agent timed out: %s"
    bare = "guest agent timed out"
    default_domain = _domain("QEMU")


class AgentCommandFailedError(VirtError):
    """The guest agent refused or failed a command (``VIR_ERR_AGENT_COMMAND_FAILED``)."""

    code = _code("AGENT_COMMAND_FAILED")
    template = "guest agent command failed: %s"
    bare = "guest agent command failed"
    default_domain = _domain("QEMU")


class RPCError(VirtError):
    """libvirt's RPC protocol was broken: garbage, a hostile length, a lost peer (``VIR_ERR_RPC``)."""

    code = _code("RPC")
    template = "%s"
    bare = "RPC error"
    default_domain = _domain("RPC")


#: Each code's class, from the public list above: a new error class is one class and one
#: ``__all__`` line. The first class listed for a code wins (VirtError itself never does).
#: Built on the first call (reading the codes builds ErrorNumber).
_BY_CODE: dict[int, type[VirtError]] = {}


def error_for_code(code: int) -> type[VirtError]:
    """The most specific :class:`VirtError` subclass for a libvirt error number."""
    if not _BY_CODE:
        for name in reversed(__all__):
            cls = globals().get(name)  # error_for_code, and the enums, are not error classes
            if isinstance(cls, type) and issubclass(cls, VirtError) and cls is not VirtError:
                _BY_CODE[cls.code] = cls
    return _BY_CODE.get(code, VirtError)
