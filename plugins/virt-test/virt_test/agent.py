"""The test driver's guest agent: what libvirt's test driver answers for the agent entry points.

libvirt's ``src/test/test_driver.c`` fakes a guest with two file systems
(``/`` and ``/boot``) that ``testDomainFSFreeze``/``Thaw`` freeze and thaw one
by one, a clock starting at 627319920 s that ``testDomainSetTime`` sets,
and passwords that ``testDomainSetUserPassword`` accepts for any user.
Addresses, the agent's source included, are answered for every source alike
by :mod:`virt_test.addresses`, as ``testDomainInterfaceAddresses`` does. The
generic agent command (``qemuAgentCommand``) and guest info are not offered,
as the test driver of python3-libvirt 9.0 does not offer them.

Compared with Debian's python3-libvirt in ``tests/test_agent_mock_vs_libvirt.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from virt_test.node import Node, TestDomain
from virtcore import errors, hookimpl, types
from virtcore.errors import OperationInvalidError
from virtcore.types import DomainState

if TYPE_CHECKING:
    from virtcore.types import ControlInfo

__all__ = ["TestAgent", "GuestState", "MOUNTPOINTS", "INITIAL_TIME"]

#: The file systems of the test driver's guest, in its order.
MOUNTPOINTS = ("/", "/boot")

#: The guest clock's start, seconds since the epoch (``testDomainObjPrivateAlloc``).
INITIAL_TIME = 627319920


class GuestState:
    """One domain's guest as the agent sees it: frozen mount points and the clock."""

    __slots__ = ("frozen", "nseconds", "seconds")

    def __init__(self) -> None:
        self.frozen: set[str] = set()
        self.seconds = INITIAL_TIME
        self.nseconds = 0


class TestAgent:
    """The agent hooks over one :class:`~virt_test.node.Node`."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self.node = node

    def _active(self, uuid: str) -> tuple[TestDomain, GuestState]:
        """The active domain and its guest state (call with the node's lock held)."""
        dom = self.node.get(uuid)
        if not dom.active:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        return dom, self.node.guests.setdefault(uuid, GuestState())

    def _running(self, uuid: str) -> GuestState:
        dom, guest = self._active(uuid)
        if dom.state != DomainState.RUNNING:  # libvirt's test driver: the clock needs a running guest
            raise OperationInvalidError(f"domain '{dom.name}' is not running", domain=errors.ErrorDomain.TEST)
        return guest

    def _mounts(self, mountpoints: list[str] | None) -> tuple[str, ...]:
        if mountpoints is None:
            return MOUNTPOINTS
        for m in mountpoints:
            if m not in MOUNTPOINTS:
                raise OperationInvalidError(f"mount point not found: {m}", domain=errors.ErrorDomain.TEST)
        return tuple(mountpoints)

    @hookimpl
    def virt_domain_fs_freeze(self, uuid: str, mountpoints: list[str] | None) -> int:
        """Freeze ``/`` and/or ``/boot``; how many were not frozen yet."""
        with self.node.lock:
            _, guest = self._active(uuid)
            wanted = set(self._mounts(mountpoints))
            count = len(wanted - guest.frozen)
            guest.frozen |= wanted
            return count

    @hookimpl
    def virt_domain_fs_thaw(self, uuid: str, mountpoints: list[str] | None) -> int:
        """Thaw ``/`` and/or ``/boot``; how many were frozen."""
        with self.node.lock:
            _, guest = self._active(uuid)
            wanted = set(self._mounts(mountpoints))
            count = len(wanted & guest.frozen)
            guest.frozen -= wanted
            return count

    @hookimpl
    def virt_domain_set_user_password(self, uuid: str, user: str, password: str, crypted: bool) -> bool:
        """Accepted for any user of an active domain (the test driver checks nothing more)."""
        with self.node.lock:
            self._active(uuid)
            return True

    @hookimpl
    def virt_domain_get_control_info(self, uuid: str) -> ControlInfo:
        """libvirt's test driver derives the control state from the fake clock's seconds: under
        10000 a job running for that long, under 30000 the monitor occupied for ``seconds - 10000``,
        under 60000 an error (reason ``seconds % 4``) for ``seconds - 30000``, otherwise OK."""
        with self.node.lock:
            _, guest = self._active(uuid)
            seconds = guest.seconds
        if 0 < seconds < 10000:
            return types.ControlInfo(types.ControlState.JOB, 0, seconds)
        if 10000 <= seconds < 30000:
            return types.ControlInfo(types.ControlState.OCCUPIED, 0, seconds - 10000)
        if 30000 <= seconds < 60000:
            reason = types.ControlErrorReason(seconds % 4)
            return types.ControlInfo(types.ControlState.ERROR, reason, seconds - 30000)
        return types.ControlInfo(types.ControlState.OK, 0, 0)

    @hookimpl
    def virt_domain_get_time(self, uuid: str) -> tuple[int, int]:
        """The fake guest clock."""
        with self.node.lock:
            guest = self._running(uuid)
            return guest.seconds, guest.nseconds

    @hookimpl
    def virt_domain_set_time(self, uuid: str, seconds: int | None, nseconds: int, sync: bool) -> bool:
        """Set the fake clock (a sync without a time sets it to 0, as libvirt's test driver does)."""
        with self.node.lock:
            guest = self._running(uuid)
            guest.seconds, guest.nseconds = (seconds or 0), nseconds
            return True
