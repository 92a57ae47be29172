"""The one table of the domains' typed-parameter tunables, every layer's names for each.

(The rows are NamedTuples, as :mod:`virtcore.rpc.calls`' are: ``import libvirt`` reads this
table, and attrs would add 25-36 ms to that import.)

A tunable (block I/O, NUMA, disk throttling, interface rates, I/O thread
polling) is a getter and a setter of libvirt's typed parameters, each known
by five names: its remote procedure, libvirt's C function (whose name its
flags errors carry), its hookspec, the :class:`virtcore.Domain` method and
libvirt-python's ``virDomain`` method. One :class:`Tunable` row holds them,
with the parameters' names and types (the schemas of :mod:`virtcore.tunables`),
the protocol's most parameters in one message and the flags each side takes.
Three users are derived from the rows, as :mod:`virtcore.rpc.calls` derives
plain calls:

* the server's handlers (:mod:`virtcore.server.tunables`): a ``GET`` asked
  how many there are (``nparams`` 0) or for the first ``nparams``, string
  ones only for a client that says ``VIR_TYPED_PARAM_STRING_OKAY``; a
  ``SET`` checked against the schema as ``virTypedParamsValidate``;
* the remote driver's hook implementations (``virt_remote.driver``): the
  count first, then that many, as libvirt's API asks;
* virt-libvirt's wrappers (``virt_libvirt.tunables``): libvirt-python's
  methods, its setters asking the getter first for the names it knows.

To add a tunable: its hookspecs, its ``Domain`` methods and its schema in
:mod:`virtcore.tunables`, the drivers' hook implementations, then one row
here. tests/test_tunables_table.py holds every row against the hookspecs, the
protocol, ``Domain`` and libvirt's API, and fails for a tunable hook no row
describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from virtcore import tunables

__all__ = [
    "TUNABLES",
    "Tunable",
    "Side",
    "Subject",
    "AFFECT_LIVE",
    "AFFECT_CONFIG",
    "TYPED_PARAM_STRING_OKAY",
]

#: ``VIR_DOMAIN_AFFECT_LIVE``, ``VIR_DOMAIN_AFFECT_CONFIG``: which definition a call reads or changes.
AFFECT_LIVE, AFFECT_CONFIG = 1, 2
#: ``VIR_TYPED_PARAM_STRING_OKAY``: the caller takes string parameters.
TYPED_PARAM_STRING_OKAY = 4
_AFFECT = AFFECT_LIVE | AFFECT_CONFIG
_GET = _AFFECT | TYPED_PARAM_STRING_OKAY
_AFFECT_NAMES = ((AFFECT_LIVE, "live"), (AFFECT_CONFIG, "config"))


class Side(NamedTuple):
    """A tunable's getter or setter, by each layer's name for it."""

    #: The remote procedure (``DOMAIN_GET_BLKIO_PARAMETERS``).
    procedure: str
    #: libvirt's C function, which its flags and argument errors name.
    function: str
    #: The hookspec (``virt_domain_get_blkio_parameters``).
    hook: str
    #: The :class:`virtcore.Domain` method (``blkio_parameters``).
    method: str
    #: libvirt-python's ``virDomain`` method (``blkioParameters``).
    python: str
    #: The flags it takes; their ``VIR_DOMAIN_AFFECT_*`` bits are the hook's ``live``/``config``.
    flags: int

    @property
    def affect(self) -> tuple[str, ...]:
        """The hook's and the method's keywords for the definition: ``live``, ``config`` or both."""
        return tuple(name for bit, name in _AFFECT_NAMES if self.flags & bit)

    def affect_of(self, flags: int) -> dict[str, bool]:
        """Those keywords as ``flags`` set them."""
        return {name: bool(flags & bit) for bit, name in _AFFECT_NAMES if self.flags & bit}

    def flags_of(self, affect: Mapping[str, object]) -> int:
        """The ``VIR_DOMAIN_AFFECT_*`` flags of the keywords in ``affect`` that are true."""
        return sum(bit for bit, name in _AFFECT_NAMES if self.flags & bit and affect.get(name))


class Subject(NamedTuple):
    """What in the domain a tunable belongs to (a disk, an interface, an I/O thread)."""

    #: The hook's, the method's and the procedure's argument (``disk``).
    name: str
    #: libvirt-python's argument (``iothread_val`` for ``iothread_id``).
    python: str
    #: The type libvirt-python insists on before the call (``object``: the core checks it).
    kind: type = object


class Tunable(NamedTuple):
    """One typed-parameter tunable: its schema, the protocol's limit, its two sides."""

    #: The parameters' names and libvirt's types (``"uint"``, ``"string"``...), in libvirt's order.
    schema: Mapping[str, tunables.Kind]
    #: The protocol's most parameters in one message (``REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX``).
    limit: str
    setter: Side
    #: ``None``: libvirt has no getter (the I/O threads' polling is read from bulk statistics).
    getter: Side | None = None
    subject: Subject | None = None
    #: The getter refuses ``LIVE`` with ``CONFIG`` even when only asked how many there are.
    exclusive_count: bool = False
    #: The setter's API checks ``nparams > 0`` before ``params != NULL`` (``virDomainSetBlockIoTune``).
    count_first: bool = False

    def hook_params(self, side: Side) -> tuple[str, ...]:
        """The parameters of ``side``'s hookspec, in order (after the domain's ``uuid``)."""
        subject = () if self.subject is None else (self.subject.name,)
        params = ("params",) if side is self.setter else ()
        return (*subject, *params, *side.affect)


def _pair(
    name: str,
    camel: str,
    schema: Mapping[str, tunables.Kind],
    limit: str,
    *,
    subject: Subject | None = None,
    exclusive_count: bool = False,
    count_first: bool = False,
) -> Tunable:
    """The tunable ``name`` (``blkio_parameters``) with a getter and a setter named by convention.

    ``camel`` is libvirt's name for it (``BlkioParameters``): its procedures are
    ``DOMAIN_GET_``/``DOMAIN_SET_`` and ``name`` upper-cased, its functions ``virDomainGet``/
    ``virDomainSet`` and ``camel``, its hooks ``virt_domain_get_``/``virt_domain_set_`` and
    ``name``, its methods ``name`` and ``set_`` + ``name`` in the core, ``blkioParameters`` and
    ``setBlkioParameters`` in libvirt-python.
    """
    getter = Side(
        f"DOMAIN_GET_{name.upper()}",
        f"virDomainGet{camel}",
        f"virt_domain_get_{name}",
        name,
        camel[0].lower() + camel[1:],
        _GET,
    )
    setter = Side(
        f"DOMAIN_SET_{name.upper()}",
        f"virDomainSet{camel}",
        f"virt_domain_set_{name}",
        f"set_{name}",
        f"set{camel}",
        _AFFECT,
    )
    return Tunable(schema, limit, setter, getter, subject, exclusive_count, count_first)


#: The domains' typed-parameter tunables; tests/test_tunables_table.py checks every name.
TUNABLES: tuple[Tunable, ...] = (
    _pair(
        "blkio_parameters",
        "BlkioParameters",
        tunables.BLKIO_PARAMETERS,
        "REMOTE_DOMAIN_BLKIO_PARAMETERS_MAX",
        exclusive_count=True,
    ),
    _pair(
        "numa_parameters",
        "NumaParameters",
        tunables.NUMA_PARAMETERS,
        "REMOTE_DOMAIN_NUMA_PARAMETERS_MAX",
    ),
    _pair(
        "block_io_tune",
        "BlockIoTune",
        tunables.BLOCK_IOTUNE_PARAMETERS,
        "REMOTE_DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX",
        subject=Subject("disk", "disk", str),
        exclusive_count=True,
        count_first=True,
    ),
    _pair(
        "interface_parameters",
        "InterfaceParameters",
        tunables.INTERFACE_PARAMETERS,
        "REMOTE_DOMAIN_INTERFACE_PARAMETERS_MAX",
        subject=Subject("device", "device", str),
    ),
    Tunable(
        tunables.IOTHREAD_PARAMETERS,
        "REMOTE_DOMAIN_IOTHREAD_PARAMS_MAX",
        setter=Side(
            "DOMAIN_SET_IOTHREAD_PARAMS",
            "virDomainSetIOThreadParams",
            "virt_domain_set_io_thread_params",
            "set_iothread_params",
            "setIOThreadParams",
            AFFECT_LIVE,  # the polling lives in the running domain
        ),
        subject=Subject("iothread_id", "iothread_val"),
    ),
)
