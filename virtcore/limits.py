"""What a domain definition may hold: one set of rules for every driver.

The XML model applies these rules when it reads a definition (so every
driver's define, and every loader, refuses the same things with
``XMLError``), when it writes one (so nothing is written that the loader
would refuse), and the API's setters apply them to their arguments (with
``InvalidArgError``, before any driver sees the value).

The rules follow libvirt's: a name is non-empty, has no ``/`` and no control
character (libvirt refuses a newline); memory is at least 1 KiB and its size in
bytes fits an unsigned 64-bit integer; the vCPU count is between 1 and
:data:`MAX_VCPUS` and the current count is at most the maximum.

This module imports nothing heavy: the core's setters use it without lxml.
"""

from __future__ import annotations

from virtcore.errors import InvalidArgError, VirtError, XMLError

__all__ = [
    "MAX_MEMORY_KIB",
    "MAX_VCPUS",
    "MAX_CLOCK_ADJUSTMENT",
    "UINT_MAX",
    "ULLONG_MAX",
    "MEMORY_PARAM_UNLIMITED",
    "MAX_CPUMAP_CPUS",
    "LLONG_MIN",
    "LLONG_MAX",
    "check_name",
    "check_memory",
    "check_vcpus",
    "check_definition",
]

#: Largest unsigned int / unsigned long long / long long (libvirt's C types for numbers).
UINT_MAX = 2**32 - 1
ULLONG_MAX = 2**64 - 1
LLONG_MAX = 2**63 - 1
#: libvirt's ``VIR_DOMAIN_MEMORY_PARAM_UNLIMITED``: a memory tunable that is not set (KiB).
MEMORY_PARAM_UNLIMITED = 9007199254740991
#: libvirt's ``VIR_DOMAIN_CPUMASK_LEN``: the host CPUs (or NUMA nodes) a CPU map or node set may name.
MAX_CPUMAP_CPUS = 16384
LLONG_MIN = -(2**63)
#: Largest memory size, in KiB: libvirt keeps sizes so that their bytes fit an unsigned long long.
MAX_MEMORY_KIB = ULLONG_MAX // 1024
#: Most vCPUs a definition may hold (libvirt's limit for any hypervisor).
MAX_VCPUS = 16384
#: Largest ``<clock adjustment>`` either way, in seconds: the span from the epoch to the
#: end of year 9999, so that the guest's clock stays a date a hypervisor can be given.
MAX_CLOCK_ADJUSTMENT = 253402300799


def _control_char(text: str) -> str | None:
    """The first control character (C0, DEL, C1) of ``text``, else ``None``.

    libvirt refuses a newline in a name; a name is also a file name and a
    command-line value, so none of them is allowed. Read with str methods, not
    a regular expression: compiling one cost every cold open ~0.2M instructions.
    """
    if text.isprintable():  # every control character is unprintable: the common case ends here
        return None
    return next((c for c in text if c < " " or "\x7f" <= c <= "\x9f"), None)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_name(name: object, *, error: type[VirtError] = InvalidArgError, where: str = "name") -> str:
    """``name`` when it is a valid domain name, else ``error`` naming it.

    :raises VirtError: (``error``) for a non-string, an empty name, a ``/`` or a control character.
    """
    if not isinstance(name, str):
        raise error(f"domain name must be a string, not {type(name).__name__} in {where}")
    if not name.strip():
        raise error(f"domain name must not be empty in {where}")
    if "/" in name:
        raise error(f"name '{name}' cannot contain '/' in {where}")
    bad = _control_char(name)
    if bad is not None:
        raise error(f"name {name!r} cannot contain control character {bad!r} in {where}")
    return name


def check_memory(kib: object, *, error: type[VirtError] = InvalidArgError, where: str = "memory") -> int:
    """``kib`` when it is a memory size a definition may hold (1 .. :data:`MAX_MEMORY_KIB` KiB).

    :raises VirtError: (``error``) naming ``where`` and the value otherwise.
    """
    if not _is_int(kib):
        raise error(f"{where} must be an integer number of KiB, not {kib!r}")
    assert isinstance(kib, int)
    if kib < 1:
        raise error(f"{where} must be at least 1 KiB, not {kib}")
    if kib > MAX_MEMORY_KIB:
        raise error(f"{where} of {kib} KiB is too large: the limit is {MAX_MEMORY_KIB} KiB")
    return kib


def check_vcpus(count: object, *, error: type[VirtError] = InvalidArgError, where: str = "vcpu count") -> int:
    """``count`` when it is a vCPU count a definition may hold (1 .. :data:`MAX_VCPUS`).

    :raises VirtError: (``error``) naming ``where`` and the value otherwise.
    """
    if not _is_int(count):
        raise error(f"{where} must be an integer, not {count!r}")
    assert isinstance(count, int)
    if not 1 <= count <= MAX_VCPUS:
        raise error(f"{where} {count} is out of range: it must be between 1 and {MAX_VCPUS}")
    return count


def check_definition(
    *,
    name: object,
    memory: object,
    current_memory: object,
    vcpu: object,
    current_vcpus: object,
    max_memory: object = None,
    error: type[VirtError] = XMLError,
) -> None:
    """Check the values every definition holds against the rules above, together.

    :raises VirtError: (``error``, ``XMLError`` by default) naming the first value
        that breaks a rule and the element that holds it.
    """
    if (  # the common case, in one expression: formatting calls this every time
        type(memory) is int
        and type(current_memory) is int
        and type(vcpu) is int
        and type(current_vcpus) is int
        and 0 < current_memory <= memory <= MAX_MEMORY_KIB
        and 0 < current_vcpus <= vcpu <= MAX_VCPUS
        and (max_memory is None or (type(max_memory) is int and 0 < max_memory <= MAX_MEMORY_KIB))
        and type(name) is str
        and name.isprintable()
        and "/" not in name
        and not name.isspace()
        and name
    ):
        return
    check_name(name, error=error, where="<name>")
    mem = check_memory(memory, error=error, where="<memory>")
    cur = check_memory(current_memory, error=error, where="<currentMemory>")
    if cur > mem:
        raise error(f"currentMemory {cur} KiB is above memory {mem} KiB in <currentMemory>")
    if max_memory is not None:
        check_memory(max_memory, error=error, where="<maxMemory>")
    top = check_vcpus(vcpu, error=error, where="<vcpu>")
    now = check_vcpus(current_vcpus, error=error, where="<vcpu> attribute 'current'")
    if now > top:
        raise error(f"current vcpus count {now} must be between 1 and <vcpu> {top} in <vcpu>")
