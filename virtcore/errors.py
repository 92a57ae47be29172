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

import enum
from typing import ClassVar

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
    "DomainExistsError",
    "OperationDeniedError",
    "NoDomainError",
    "OperationInvalidError",
    "ConfigUnsupportedError",
    "OperationTimeoutError",
    "ArgumentUnsupportedError",
    "SystemError_",
    "AuthFailedError",
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
    "InvalidDomainSnapshotError",
    "NoDomainSnapshotError",
    "SnapshotRevertRiskyError",
    "AgentUnresponsiveError",
    "AgentUnsyncedError",
    "AgentCommandTimeoutError",
    "AgentCommandFailedError",
    "error_for_code",
]


class ErrorNumber(enum.IntEnum):
    """libvirt's ``virErrorNumber`` (``VIR_ERR_*``), the values as in virterror.h."""

    OK = 0
    INTERNAL_ERROR = 1
    NO_MEMORY = 2
    NO_SUPPORT = 3
    UNKNOWN_HOST = 4
    NO_CONNECT = 5
    INVALID_CONN = 6
    INVALID_DOMAIN = 7
    INVALID_ARG = 8
    OPERATION_FAILED = 9
    GET_FAILED = 10
    POST_FAILED = 11
    HTTP_ERROR = 12
    SEXPR_SERIAL = 13
    NO_XEN = 14
    XEN_CALL = 15
    OS_TYPE = 16
    NO_KERNEL = 17
    NO_ROOT = 18
    NO_SOURCE = 19
    NO_TARGET = 20
    NO_NAME = 21
    NO_OS = 22
    NO_DEVICE = 23
    NO_XENSTORE = 24
    DRIVER_FULL = 25
    CALL_FAILED = 26
    XML_ERROR = 27
    DOM_EXIST = 28
    OPERATION_DENIED = 29
    OPEN_FAILED = 30
    READ_FAILED = 31
    PARSE_FAILED = 32
    CONF_SYNTAX = 33
    WRITE_FAILED = 34
    XML_DETAIL = 35
    INVALID_NETWORK = 36
    NETWORK_EXIST = 37
    SYSTEM_ERROR = 38
    RPC = 39
    GNUTLS_ERROR = 40
    WAR_NO_NETWORK = 41
    NO_DOMAIN = 42
    NO_NETWORK = 43
    INVALID_MAC = 44
    AUTH_FAILED = 45
    INVALID_STORAGE_POOL = 46
    INVALID_STORAGE_VOL = 47
    WAR_NO_STORAGE = 48
    NO_STORAGE_POOL = 49
    NO_STORAGE_VOL = 50
    WAR_NO_NODE = 51
    INVALID_NODE_DEVICE = 52
    NO_NODE_DEVICE = 53
    NO_SECURITY_MODEL = 54
    OPERATION_INVALID = 55
    WAR_NO_INTERFACE = 56
    NO_INTERFACE = 57
    INVALID_INTERFACE = 58
    MULTIPLE_INTERFACES = 59
    WAR_NO_NWFILTER = 60
    INVALID_NWFILTER = 61
    NO_NWFILTER = 62
    BUILD_FIREWALL = 63
    WAR_NO_SECRET = 64
    INVALID_SECRET = 65
    NO_SECRET = 66
    CONFIG_UNSUPPORTED = 67
    OPERATION_TIMEOUT = 68
    MIGRATE_PERSIST_FAILED = 69
    HOOK_SCRIPT_FAILED = 70
    INVALID_DOMAIN_SNAPSHOT = 71
    NO_DOMAIN_SNAPSHOT = 72
    INVALID_STREAM = 73
    ARGUMENT_UNSUPPORTED = 74
    STORAGE_PROBE_FAILED = 75
    STORAGE_POOL_BUILT = 76
    SNAPSHOT_REVERT_RISKY = 77
    OPERATION_ABORTED = 78
    AUTH_CANCELLED = 79
    NO_DOMAIN_METADATA = 80
    MIGRATE_UNSAFE = 81
    OVERFLOW = 82
    BLOCK_COPY_ACTIVE = 83
    OPERATION_UNSUPPORTED = 84
    SSH = 85
    AGENT_UNRESPONSIVE = 86
    RESOURCE_BUSY = 87
    ACCESS_DENIED = 88
    DBUS_SERVICE = 89
    STORAGE_VOL_EXIST = 90
    CPU_INCOMPATIBLE = 91
    XML_INVALID_SCHEMA = 92
    MIGRATE_FINISH_OK = 93
    AUTH_UNAVAILABLE = 94
    NO_SERVER = 95
    NO_CLIENT = 96
    AGENT_UNSYNCED = 97
    LIBSSH = 98
    DEVICE_MISSING = 99
    INVALID_NWFILTER_BINDING = 100
    NO_NWFILTER_BINDING = 101
    INVALID_DOMAIN_CHECKPOINT = 102
    NO_DOMAIN_CHECKPOINT = 103
    NO_DOMAIN_BACKUP = 104
    INVALID_NETWORK_PORT = 105
    NETWORK_PORT_EXIST = 106
    NO_NETWORK_PORT = 107
    NO_HOSTNAME = 108
    CHECKPOINT_INCONSISTENT = 109
    MULTIPLE_DOMAINS = 110
    NO_NETWORK_METADATA = 111
    AGENT_COMMAND_TIMEOUT = 112
    AGENT_COMMAND_FAILED = 113


class ErrorDomain(enum.IntEnum):
    """libvirt's ``virErrorDomain`` (``VIR_FROM_*``): which subsystem raised an error."""

    NONE = 0
    XEN = 1
    XEND = 2
    XENSTORE = 3
    SEXPR = 4
    XML = 5
    DOM = 6
    RPC = 7
    PROXY = 8
    CONF = 9
    QEMU = 10
    NET = 11
    TEST = 12
    REMOTE = 13
    OPENVZ = 14
    XENXM = 15
    STATS_LINUX = 16
    LXC = 17
    STORAGE = 18
    NETWORK = 19
    DOMAIN = 20
    UML = 21
    NODEDEV = 22
    XEN_INOTIFY = 23
    SECURITY = 24
    VBOX = 25
    INTERFACE = 26
    ONE = 27
    ESX = 28
    PHYP = 29
    SECRET = 30
    CPU = 31
    XENAPI = 32
    NWFILTER = 33
    HOOK = 34
    DOMAIN_SNAPSHOT = 35
    AUDIT = 36
    SYSINFO = 37
    STREAMS = 38
    VMWARE = 39
    EVENT = 40
    LIBXL = 41
    LOCKING = 42
    HYPERV = 43
    CAPABILITIES = 44
    URI = 45
    AUTH = 46
    DBUS = 47
    PARALLELS = 48
    DEVICE = 49
    SSH = 50
    LOCKSPACE = 51
    INITCTL = 52
    IDENTITY = 53
    CGROUP = 54
    ACCESS = 55
    SYSTEMD = 56
    BHYVE = 57
    CRYPTO = 58
    FIREWALL = 59
    POLKIT = 60
    THREAD = 61
    ADMIN = 62
    LOGGING = 63
    XENXL = 64
    PERF = 65
    LIBSSH = 66
    RESCTRL = 67
    FIREWALLD = 68
    DOMAIN_CHECKPOINT = 69
    TPM = 70
    BPF = 71
    CH = 72


class VirtError(Exception):
    """Base of every error virtcore raises on purpose.

    ``VirtError(detail)`` formats the message from the class's libvirt
    template; ``domain`` says which subsystem raised it (default: the class's
    own). ``str(exc)`` is the full message, ``exc.detail`` the detail alone.
    """

    code: ClassVar[ErrorNumber] = ErrorNumber.INTERNAL_ERROR
    #: libvirt's message with a detail (``%s``) and without one.
    template: ClassVar[str] = "internal error: %s"
    bare: ClassVar[str] = "internal error"
    default_domain: ClassVar[ErrorDomain] = ErrorDomain.NONE

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
    return cls(detail, domain=ErrorDomain(domain))


class InternalError(VirtError):
    """An internal failure (``VIR_ERR_INTERNAL_ERROR``)."""


class NoSupportError(VirtError):
    """No driver of this connection implements the operation (``VIR_ERR_NO_SUPPORT``)."""

    code = ErrorNumber.NO_SUPPORT
    template = "this function is not supported by the connection driver: %s"
    bare = "this function is not supported by the connection driver"


class NoConnectError(VirtError):
    """No installed driver accepts the URI (``VIR_ERR_NO_CONNECT``)."""

    code = ErrorNumber.NO_CONNECT
    template = "no connection driver available for %s"
    bare = "no connection driver available"


class InvalidConnError(VirtError):
    """The connection is closed or otherwise unusable (``VIR_ERR_INVALID_CONN``)."""

    code = ErrorNumber.INVALID_CONN
    template = "invalid connection pointer in %s"
    bare = "invalid connection pointer"


class InvalidArgError(VirtError):
    """An argument is malformed or out of range (``VIR_ERR_INVALID_ARG``)."""

    code = ErrorNumber.INVALID_ARG
    template = "invalid argument: %s"
    bare = "invalid argument"


class OperationFailedError(VirtError):
    """The operation was tried and failed (``VIR_ERR_OPERATION_FAILED``)."""

    code = ErrorNumber.OPERATION_FAILED
    template = "operation failed: %s"
    bare = "operation failed"


class XMLError(VirtError):
    """XML is not well formed, hostile, or not a valid description (``VIR_ERR_XML_ERROR``)."""

    code = ErrorNumber.XML_ERROR
    template = "XML error: %s"
    bare = "XML description is invalid or not well formed"
    default_domain = ErrorDomain.XML


class DomainExistsError(VirtError):
    """A domain with that name or UUID exists already (``VIR_ERR_DOM_EXIST``)."""

    code = ErrorNumber.DOM_EXIST
    template = "domain %s exists already"
    bare = "domain exists already"
    default_domain = ErrorDomain.DOMAIN


class OperationDeniedError(VirtError):
    """Refused, e.g. a mutating call on a read-only connection (``VIR_ERR_OPERATION_DENIED``)."""

    code = ErrorNumber.OPERATION_DENIED
    template = "operation forbidden: %s"
    bare = "operation forbidden for read only access"


class NoDomainError(VirtError):
    """No domain matches the name, UUID or id (``VIR_ERR_NO_DOMAIN``)."""

    code = ErrorNumber.NO_DOMAIN
    template = "Domain not found: %s"
    bare = "Domain not found"
    default_domain = ErrorDomain.DOMAIN


class OperationInvalidError(VirtError):
    """The operation is not valid in the domain's current state (``VIR_ERR_OPERATION_INVALID``)."""

    code = ErrorNumber.OPERATION_INVALID
    template = "Requested operation is not valid: %s"
    bare = "Requested operation is not valid"
    default_domain = ErrorDomain.DOMAIN


class ConfigUnsupportedError(VirtError):
    """The configuration is valid XML but this driver cannot honour it (``VIR_ERR_CONFIG_UNSUPPORTED``)."""

    code = ErrorNumber.CONFIG_UNSUPPORTED
    template = "unsupported configuration: %s"
    bare = "unsupported configuration"


class OperationTimeoutError(VirtError):
    """The operation did not finish in time (``VIR_ERR_OPERATION_TIMEOUT``)."""

    code = ErrorNumber.OPERATION_TIMEOUT
    template = "Timed out during operation: %s"
    bare = "Timed out during operation"


class ArgumentUnsupportedError(VirtError):
    """A flag or argument the driver does not support (``VIR_ERR_ARGUMENT_UNSUPPORTED``)."""

    code = ErrorNumber.ARGUMENT_UNSUPPORTED
    template = "argument unsupported: %s"
    bare = "argument unsupported"


class SystemError_(VirtError):  # noqa: N801, N818 - libvirt's SYSTEM_ERROR; the _ avoids the builtin
    """An OS-level failure: a file, a process, a socket (``VIR_ERR_SYSTEM_ERROR``)."""

    code = ErrorNumber.SYSTEM_ERROR
    template = "%s"
    bare = "system error"


class ConfSyntaxError(VirtError):
    """A native configuration file does not parse (``VIR_ERR_CONF_SYNTAX``)."""

    code = ErrorNumber.CONF_SYNTAX
    template = "configuration file syntax error: %s"
    bare = "configuration file syntax error"


class ReadFailedError(VirtError):
    """A file could not be read (``VIR_ERR_READ_FAILED``)."""

    code = ErrorNumber.READ_FAILED
    template = "failed to read: %s"
    bare = "failed to read"


class AuthFailedError(VirtError):
    """Authentication failed (``VIR_ERR_AUTH_FAILED``)."""

    code = ErrorNumber.AUTH_FAILED
    template = "authentication failed: %s"
    bare = "authentication failed"


class InvalidStoragePoolError(VirtError):
    """A storage pool handle or reference is not usable (``VIR_ERR_INVALID_STORAGE_POOL``)."""

    code = ErrorNumber.INVALID_STORAGE_POOL
    template = "invalid storage pool pointer in %s"
    bare = "invalid storage pool pointer in"
    default_domain = ErrorDomain.STORAGE


class InvalidStorageVolError(VirtError):
    """A storage volume handle or reference is not usable (``VIR_ERR_INVALID_STORAGE_VOL``)."""

    code = ErrorNumber.INVALID_STORAGE_VOL
    template = "invalid storage volume pointer in %s"
    bare = "invalid storage volume pointer in"
    default_domain = ErrorDomain.STORAGE


class NoStoragePoolError(VirtError):
    """No storage pool matches the name, UUID or volume (``VIR_ERR_NO_STORAGE_POOL``)."""

    code = ErrorNumber.NO_STORAGE_POOL
    template = "Storage pool not found: %s"
    bare = "Storage pool not found"
    default_domain = ErrorDomain.STORAGE


class NoStorageVolError(VirtError):
    """No storage volume matches the name, key or path (``VIR_ERR_NO_STORAGE_VOL``)."""

    code = ErrorNumber.NO_STORAGE_VOL
    template = "Storage volume not found: %s"
    bare = "Storage volume not found"
    default_domain = ErrorDomain.STORAGE


class StorageVolExistError(VirtError):
    """A volume with that name exists already in the pool (``VIR_ERR_STORAGE_VOL_EXIST``)."""

    code = ErrorNumber.STORAGE_VOL_EXIST
    template = "storage volume '%s' exists already"
    bare = "this storage volume exists already"
    default_domain = ErrorDomain.STORAGE


class StorageProbeFailedError(VirtError):
    """Probing a pool's source failed: not what it claims to be (``VIR_ERR_STORAGE_PROBE_FAILED``)."""

    code = ErrorNumber.STORAGE_PROBE_FAILED
    template = "Storage pool probe failed: %s"
    bare = "Storage pool probe failed"
    default_domain = ErrorDomain.STORAGE


class StoragePoolBuiltError(VirtError):
    """Building a pool whose source already holds data, without overwrite (``VIR_ERR_STORAGE_POOL_BUILT``)."""

    code = ErrorNumber.STORAGE_POOL_BUILT
    template = "Storage pool already built: %s"
    bare = "Storage pool already built"
    default_domain = ErrorDomain.STORAGE


class ResourceBusyError(VirtError):
    """The object is in use, e.g. a volume a running domain uses (``VIR_ERR_RESOURCE_BUSY``)."""

    code = ErrorNumber.RESOURCE_BUSY
    template = "resource busy: %s"
    bare = "resource busy"


class OperationAbortedError(VirtError):
    """The operation was cancelled, e.g. an upload aborted by its caller (``VIR_ERR_OPERATION_ABORTED``)."""

    code = ErrorNumber.OPERATION_ABORTED
    template = "operation aborted: %s"
    bare = "operation aborted"


class InvalidNetworkError(VirtError):
    """A network handle or reference is not usable (``VIR_ERR_INVALID_NETWORK``)."""

    code = ErrorNumber.INVALID_NETWORK
    template = "invalid network pointer in %s"
    bare = "invalid network pointer in"
    default_domain = ErrorDomain.NETWORK


class NetworkExistError(VirtError):
    """A network with that name or UUID exists already (``VIR_ERR_NETWORK_EXIST``)."""

    code = ErrorNumber.NETWORK_EXIST
    template = "network %s exists already"
    bare = "this network exists already"
    default_domain = ErrorDomain.NETWORK


class NoNetworkError(VirtError):
    """No network matches the name or UUID (``VIR_ERR_NO_NETWORK``)."""

    code = ErrorNumber.NO_NETWORK
    template = "Network not found: %s"
    bare = "Network not found"
    default_domain = ErrorDomain.NETWORK


class InvalidDomainSnapshotError(VirtError):
    """An invalid snapshot handle, e.g. one of another domain (``VIR_ERR_INVALID_DOMAIN_SNAPSHOT``)."""

    code = ErrorNumber.INVALID_DOMAIN_SNAPSHOT
    template = "Invalid snapshot: %s"
    bare = "Invalid snapshot"
    default_domain = ErrorDomain.DOMAIN_SNAPSHOT


class NoDomainSnapshotError(VirtError):
    """No snapshot of the domain matches (``VIR_ERR_NO_DOMAIN_SNAPSHOT``): a name, a current one, a parent."""

    code = ErrorNumber.NO_DOMAIN_SNAPSHOT
    template = "Domain snapshot not found: %s"
    bare = "Domain snapshot not found"
    default_domain = ErrorDomain.DOMAIN_SNAPSHOT


class SnapshotRevertRiskyError(VirtError):
    """A revert that needs ``force``: it would respawn the guest (``VIR_ERR_SNAPSHOT_REVERT_RISKY``)."""

    code = ErrorNumber.SNAPSHOT_REVERT_RISKY
    template = "revert requires force: %s"
    bare = "revert requires force"
    default_domain = ErrorDomain.DOMAIN_SNAPSHOT


class AgentUnresponsiveError(VirtError):
    """No guest agent: not configured, not connected or silent (``VIR_ERR_AGENT_UNRESPONSIVE``)."""

    code = ErrorNumber.AGENT_UNRESPONSIVE
    template = "Guest agent is not responding: %s"
    bare = "Guest agent is not responding"
    default_domain = ErrorDomain.QEMU


class AgentUnsyncedError(VirtError):
    """The guest agent answered ``guest-sync`` with another id (``VIR_ERR_AGENT_UNSYNCED``)."""

    code = ErrorNumber.AGENT_UNSYNCED
    template = "guest agent replied with wrong id to guest-sync command: %s"
    bare = "guest agent replied with wrong id to guest-sync command"
    default_domain = ErrorDomain.QEMU


class AgentCommandTimeoutError(VirtError):
    """A guest agent command got no answer in time (``VIR_ERR_AGENT_COMMAND_TIMEOUT``)."""

    code = ErrorNumber.AGENT_COMMAND_TIMEOUT
    template = "guest agent timed out: %s"
    bare = "guest agent timed out"
    default_domain = ErrorDomain.QEMU


class AgentCommandFailedError(VirtError):
    """The guest agent refused or failed a command (``VIR_ERR_AGENT_COMMAND_FAILED``)."""

    code = ErrorNumber.AGENT_COMMAND_FAILED
    template = "guest agent command failed: %s"
    bare = "guest agent command failed"
    default_domain = ErrorDomain.QEMU


#: Each code's class, from the public list above: a new error class is one class and one
#: ``__all__`` line. The first class listed for a code wins (VirtError itself never does).
_BY_CODE: dict[int, type[VirtError]] = {}
for _name in reversed(__all__):
    _cls = globals().get(_name)  # error_for_code, below, is not a class
    if isinstance(_cls, type) and issubclass(_cls, VirtError) and _cls is not VirtError:
        _BY_CODE[_cls.code] = _cls
del _name, _cls


def error_for_code(code: int) -> type[VirtError]:
    """The most specific :class:`VirtError` subclass for a libvirt error number."""
    return _BY_CODE.get(code, VirtError)
