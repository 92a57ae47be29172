"""``virDomain``'s tunables: block I/O, disk throttling, NUMA, I/O threads, vCPU and emulator pinning.

libvirt-python's shapes over :class:`virtcore.tunables.DomainTunablesAPI`: typed
parameters as dicts (a name the domain lacks: ``LookupError``, as libvirt-python
learns the names from the getter first), CPU maps as tuples of flags, one per host
CPU of the node's CPU map (``virNodeGetCPUMap``). The ``VIR_DOMAIN_AFFECT_*`` flags
pick the definition, as libvirt's; other flags are refused under the driver's function
name, as libvirt 9.0's test driver checks them. The typed-parameter methods
(``blkioParameters``, ``setBlockIoTune``...) are derived from their rows of
:data:`virtcore.rpc.tunables.TUNABLES`, with libvirt-python's names and arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from virt_libvirt import _constants as lv
from virt_libvirt.errors import check_flags, check_nonzero, raise_from, refuse_live_and_config
from virtcore.errors import NoSupportError, VirtError
from virtcore.rpc.tunables import TUNABLES, Side, Tunable

if TYPE_CHECKING:
    import virtcore

__all__ = ["DomainTunables"]

_AFFECT = lv.VIR_DOMAIN_AFFECT_LIVE | lv.VIR_DOMAIN_AFFECT_CONFIG


def _affect(flags: int, side: Side | None = None) -> dict[str, bool]:
    """``live``/``config`` from the flags; both at once refused as libvirt's ``virDomainObjGetOneDef``.

    Only the keywords ``side`` takes, when given (the I/O threads' polling: ``live``).
    """
    refuse_live_and_config(flags)
    if side is not None:
        return side.affect_of(flags)
    return {
        "live": bool(flags & lv.VIR_DOMAIN_AFFECT_LIVE),
        "config": bool(flags & lv.VIR_DOMAIN_AFFECT_CONFIG),
    }


def _only_known(params: object, known: dict[str, Any] | None) -> dict[str, Any]:
    """``params`` when every name is one the getter gave (if any); else ``LookupError``, as libvirt-python."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, not {type(params).__name__}")
    for name in params:
        if known is not None and name not in known:
            raise LookupError(f'Attribute name "{name}" could not be recognized')
    return params


class DomainTunables:
    """The tunables of ``virDomain`` (mixed in; the typed-parameter ones are set on it below)."""

    __slots__ = ()
    _o: virtcore.Domain
    _conn: Any  # the virConnect

    def _width(self, fallback: int) -> int:
        """How many host CPUs a CPU map has: the node's CPU map when the driver has one."""
        try:
            return len(self._conn._conn.cpu_map())
        except NoSupportError:
            return fallback
        except VirtError as exc:
            raise_from(exc)

    def _fit(self, cpumap: tuple[bool, ...], width: int) -> tuple[bool, ...]:
        return cpumap[:width] + (False,) * (width - len(cpumap))

    def _map_arg(self, cpumap: object) -> tuple[bool, ...]:
        if not isinstance(cpumap, tuple):
            raise TypeError(f"cpumap must be a tuple of bools, not {type(cpumap).__name__}")
        return self._fit(tuple(bool(x) for x in cpumap), self._width(len(cpumap)))

    def ioThreadInfo(self, flags: int = 0) -> list[tuple[int, list[bool]]]:  # noqa: N802
        """``[(iothread id, [one flag per host CPU it may run on])]``."""
        check_flags(flags, _AFFECT, "virDomainGetIOThreadInfo", self)
        try:
            found = self._o.iothread_info(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        if not found:
            return []
        width = self._width(len(found[0][1]))
        return [(i, list(self._fit(m, width))) for i, m in found]

    def addIOThread(self, iothread_id: int, flags: int = 0) -> int:  # noqa: N802
        """Add I/O thread ``iothread_id`` to the definition the flags pick; 0."""
        check_flags(flags, _AFFECT, "virDomainAddIOThread", self)
        try:
            self._o.add_iothread(iothread_id, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def delIOThread(self, iothread_id: int, flags: int = 0) -> int:  # noqa: N802
        """Remove I/O thread ``iothread_id`` from the definition the flags pick; 0."""
        check_nonzero(iothread_id, "iothread_id", "virDomainDelIOThread")  # libvirt's API layer
        check_flags(flags, _AFFECT, "virDomainDelIOThread", self)
        try:
            self._o.del_iothread(iothread_id, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def pinIOThread(self, iothread_val: int, cpumap: Sequence[bool], flags: int = 0) -> int:  # noqa: N802
        """Pin I/O thread ``iothread_val`` to the host CPUs set in ``cpumap``; 0."""
        cpus = self._map_arg(cpumap)
        check_flags(flags, _AFFECT, "virDomainPinIOThread", self)
        try:
            self._o.pin_iothread(iothread_val, cpus, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0

    def vcpuPinInfo(self, flags: int = 0) -> list[tuple[bool, ...]]:  # noqa: N802
        """Per vCPU (as many as ``info()`` counts), one flag per host CPU it may run on."""
        try:
            count = self._o.info().nr_virt_cpu
            maps = self._o.vcpu_pin_info(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        width = self._width(len(maps[0]) if maps else 0)
        maps = [self._fit(m, width) for m in maps[:count]]
        return maps + [(False,) * width] * (count - len(maps))

    def pinVcpu(self, vcpu: int, cpumap: Sequence[bool]) -> int:  # noqa: N802
        """Pin an online vCPU of the running domain to the host CPUs set in ``cpumap``; 0."""
        return self.pinVcpuFlags(vcpu, cpumap, 0)

    def pinVcpuFlags(self, vcpu: int, cpumap: Sequence[bool], flags: int = 0) -> int:  # noqa: N802
        """:meth:`pinVcpu` (libvirt 9.0's test driver takes no flags); 0."""
        cpus = self._map_arg(cpumap)
        check_flags(flags, 0, "virDomainPinVcpuFlags", self)
        try:
            self._o.pin_vcpu(vcpu, cpus)
        except VirtError as exc:
            raise_from(exc)
        return 0

    def emulatorPinInfo(self, flags: int = 0) -> tuple[bool, ...]:  # noqa: N802
        """One flag per host CPU the emulator threads may run on."""
        check_flags(flags, _AFFECT, "virDomainGetEmulatorPinInfo", self)
        try:
            cpus = self._o.emulator_pin_info(**_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return self._fit(cpus, self._width(len(cpus)))

    def pinEmulator(self, cpumap: Sequence[bool], flags: int = 0) -> int:  # noqa: N802
        """Pin the emulator threads to the host CPUs set in ``cpumap``; 0."""
        cpus = self._map_arg(cpumap)
        check_flags(flags, _AFFECT, "virDomainPinEmulator", self)
        try:
            self._o.pin_emulator(cpus, **_affect(flags))
        except VirtError as exc:
            raise_from(exc)
        return 0


# -- the typed-parameter tunables, derived from virtcore.rpc.tunables.TUNABLES -------------------------


def _get(self: DomainTunables, row: Tunable, subject: tuple[Any, ...], flags: int) -> dict[str, Any]:
    """libvirt-python's getter of ``row``: the definition the flags pick, as a dict."""
    side = row.getter
    assert side is not None
    check_flags(flags, side.flags, side.function, self)
    if row.subject is not None and not isinstance(subject[0], row.subject.kind):
        what = f"{row.subject.python} must be a {row.subject.kind.__name__}"
        raise TypeError(f"{what}, not {type(subject[0]).__name__}")
    try:
        return getattr(self._o, side.method)(*subject, **_affect(flags, side))  # type: ignore[no-any-return]
    except VirtError as exc:
        raise_from(exc)


def _set(self: DomainTunables, row: Tunable, subject: tuple[Any, ...], params: object, flags: int) -> int:
    """libvirt-python's setter of ``row``, asking the getter first as it does (its errors come first); 0."""
    known = _get(self, row, subject, flags) if row.getter is not None else None
    side = row.setter
    check_flags(flags, side.flags, side.function, self)
    try:
        getattr(self._o, side.method)(*subject, _only_known(params, known), **_affect(flags, side))
    except VirtError as exc:
        raise_from(exc)
    return 0


def _template(row: Tunable, side: Side) -> Callable[..., Any]:
    """``side``'s method, its argument for the subject (if any) still called ``subject``."""
    if side is row.setter and row.subject is None:

        def set_(self: DomainTunables, params: object, flags: int = 0) -> int:
            return _set(self, row, (), params, flags)

        return set_
    if side is row.setter:

        def set_of(self: DomainTunables, subject: Any, params: object, flags: int = 0) -> int:
            return _set(self, row, (subject,), params, flags)

        return set_of
    if row.subject is None:

        def get(self: DomainTunables, flags: int = 0) -> dict[str, Any]:
            return _get(self, row, (), flags)

        return get

    def get_of(self: DomainTunables, subject: Any, flags: int = 0) -> dict[str, Any]:
        return _get(self, row, (subject,), flags)

    return get_of


def _method(row: Tunable, side: Side) -> Callable[..., Any]:
    """libvirt-python's method for ``side``, its arguments named as libvirt-python names them."""
    method = _template(row, side)
    names = method.__code__.co_varnames
    if row.subject is not None:  # "subject" becomes libvirt-python's name for it
        names = (names[0], row.subject.python, *names[2:])
        method.__annotations__[row.subject.python] = method.__annotations__.pop("subject")
    method.__code__ = method.__code__.replace(co_name=side.python, co_varnames=names)
    method.__name__ = side.python
    method.__qualname__ = f"DomainTunables.{side.python}"
    what = ", ".join(f"``{name}``" for name in list(row.schema)[:3])
    method.__doc__ = f"``{side.function}`` ({what}...) over ``Domain.{side.method}``."
    return method


for _row in TUNABLES:
    for _side in (_row.getter, _row.setter):
        if _side is not None:
            setattr(DomainTunables, _side.python, _method(_row, _side))
