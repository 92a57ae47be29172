"""Direct Xen hypercalls through dom0's ``/dev/xen/privcmd``: domain information without xl.

Only what the hypervisor channel needs: ``XEN_SYSCTL_getdomaininfolist`` (one hypercall
lists every domain with its flags, pages, CPU time and vCPUs) and ``xen_version``.
The layouts are those of Xen 4.17's public headers (``sysctl.h`` interface version
0x15, ``struct xen_domctl_getdomaininfo``) on x86-64; the hypervisor refuses a call
made with another interface version (``EACCES``), and :meth:`Privcmd.open` refuses
hypervisors other than 4.17, so a wrong layout is never read.

Hypercall arguments must be memory the kernel lets Xen touch: like libxencall, the
buffers are pages mmap'ed from ``/dev/xen/hypercall`` (Linux 4.18+); where that device
is missing, ordinary page-aligned anonymous memory (which a PV dom0's kernel passes
through) is used instead.
"""

from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import struct
import threading
import uuid as uuidlib

import attrs

from virt_xen._xl import sched_state_from_flags, state_from_flags
from virtcore.types import DomainState

__all__ = ["Privcmd", "HvDomain", "PrivcmdError", "PRIVCMD_PATHS"]

#: Where the privcmd device lives (the second on old /proc/xen setups).
PRIVCMD_PATHS = ("/dev/xen/privcmd", "/proc/xen/privcmd")
#: The hypercall buffer device of Linux >= 4.18.
HYPERCALL_BUF_DEV = "/dev/xen/hypercall"

# linux/include/uapi/xen/privcmd.h: struct privcmd_hypercall { u64 op; u64 arg[5]; },
# IOCTL_PRIVCMD_HYPERCALL = _IOC(_IOC_NONE, 'P', 0, sizeof(struct privcmd_hypercall))
_HYPERCALL = struct.Struct("=6Q")
IOCTL_PRIVCMD_HYPERCALL = (0 << 30) | (_HYPERCALL.size << 16) | (ord("P") << 8) | 0

# xen/include/public/xen.h
HYPERVISOR_XEN_VERSION = 17
HYPERVISOR_SYSCTL = 35
XENVER_VERSION = 0
#: The hypervisor release whose layouts this module encodes.
SUPPORTED_XEN = (4, 17)

# xen/include/public/sysctl.h (4.17): struct xen_sysctl { u32 cmd; u32 interface_version;
# union (8-aligned, 128 bytes) u; }, u.getdomaininfolist = { domid_t first_domain;
# u32 max_domains; u64 buffer; u32 num_domains; }
XEN_SYSCTL_INTERFACE_VERSION = 0x15
XEN_SYSCTL_GETDOMAININFOLIST = 6
_SYSCTL_SIZE = 136
_SYSCTL_HEAD = struct.Struct("=II")  # cmd, interface_version at 0
_GDIL_IN = struct.Struct("=H2xIQ")  # at 8: first_domain, max_domains, buffer
_GDIL_NUM = struct.Struct("=I")  # at 24: num_domains

# xen/include/public/domctl.h (4.17): struct xen_domctl_getdomaininfo, 112 bytes on x86-64:
# domain u16, pad u16, flags u32, tot_pages, max_pages, outstanding_pages, shr_pages,
# paged_pages, shared_info_frame, cpu_time (u64 each), nr_online_vcpus, max_vcpu_id,
# ssidref (u32 each), handle[16], cpupool u32, gpaddr_bits u8, pad[7], arch_config (8)
_DOMINFO = struct.Struct("=H2xI7QIII16sI16x")
assert _DOMINFO.size == 112
DOMINF_DYING = 1 << 0
DOMINF_HVM = 1 << 1
DOMINF_SHUTDOWN = 1 << 2
DOMINF_PAUSED = 1 << 3
DOMINF_BLOCKED = 1 << 4
DOMINF_RUNNING = 1 << 5
DOMINF_SHUTDOWN_SHIFT = 16
DOMINF_SHUTDOWN_MASK = 0xFF

_PAGE = mmap.PAGESIZE
_BUF_PAGES = 4
_INFO_OFFSET = 256  # the domain records follow the sysctl struct in the same buffer
_PER_CALL = (_BUF_PAGES * _PAGE - _INFO_OFFSET) // _DOMINFO.size
_KIB_PER_PAGE = 4  # x86 pages
_REASON_LETTERS = "-rscw"  # poweroff reboot suspend crash watchdog
# as xl list prints the shutdown reason


def _reason_letter(reason: int | None) -> str:
    if reason is None or reason >= len(_REASON_LETTERS):
        return "-"
    return _REASON_LETTERS[reason]


class PrivcmdError(Exception):
    """A hypercall failed or its answer made no sense (the caller declines)."""


@attrs.frozen
class HvDomain:
    """One domain as the hypervisor reports it (``xen_domctl_getdomaininfo``)."""

    domid: int
    flags: int
    tot_pages: int
    max_pages: int
    cpu_time_ns: int
    online_vcpus: int
    uuid: str

    @property
    def dying(self) -> bool:
        """Xen is tearing the domain down."""
        return bool(self.flags & DOMINF_DYING)

    @property
    def shutdown_reason(self) -> int | None:
        """Xen's ``SHUTDOWN_*`` code once the guest has shut down, else ``None``."""
        if not self.flags & DOMINF_SHUTDOWN:
            return None
        return (self.flags >> DOMINF_SHUTDOWN_SHIFT) & DOMINF_SHUTDOWN_MASK

    @property
    def xl_flags(self) -> str:
        """The state column ``xl list`` would print (``r-----``, ``-b----``, ``--p---``...)."""
        f = self.flags
        reason = self.shutdown_reason
        return "".join(
            (
                "r" if f & DOMINF_RUNNING else "-",
                "b" if f & DOMINF_BLOCKED else "-",
                "p" if f & DOMINF_PAUSED else "-",
                "s" if reason is not None else "-",
                _reason_letter(reason),
                "d" if f & DOMINF_DYING else "-",
            )
        )

    @property
    def state(self) -> DomainState:
        """The lifecycle state, as :func:`virt_xen._xl.state_from_flags` reads ``xl list``."""
        return state_from_flags(self.xl_flags)

    @property
    def sched_state(self) -> DomainState:
        """The scheduler's view (BLOCKED for an idle guest), as ``xl list`` shows it."""
        return sched_state_from_flags(self.xl_flags)

    @property
    def memory_kib(self) -> int:
        """The memory the domain holds now (``tot_pages``)."""
        return self.tot_pages * _KIB_PER_PAGE

    @property
    def max_memory_kib(self) -> int:
        """The most memory the hypervisor lets the domain hold (``max_pages``)."""
        return self.max_pages * _KIB_PER_PAGE


class Privcmd:
    """An open ``/dev/xen/privcmd`` with a hypercall buffer; thread-safe."""

    def __init__(self, fd: int, buf: mmap.mmap, buffer_kind: str = "anonymous") -> None:
        self._fd = fd
        #: Where the hypercall buffer lives: :data:`HYPERCALL_BUF_DEV` or ``"anonymous"``.
        self.buffer_kind = buffer_kind
        self._buf = buf
        self._anchor: ctypes.c_char | None = ctypes.c_char.from_buffer(buf)
        self._addr = ctypes.addressof(self._anchor)
        self._lock = threading.Lock()
        self.calls = 0

    @classmethod
    def open(cls, *, anonymous: bool = False) -> Privcmd | None:
        """privcmd with a working hypercall buffer on a Xen this module speaks, else ``None``
        (no privcmd, not permitted, another Xen release, or a failing probe).
        ``anonymous`` skips the hypercall buffer device (tests of the fallback)."""
        fd = -1
        for p in PRIVCMD_PATHS:
            try:
                fd = os.open(p, os.O_RDWR | os.O_CLOEXEC)
                break
            except OSError:
                continue
        if fd < 0:
            return None
        try:
            buf, kind = _hypercall_buffer(anonymous)
        except OSError:
            os.close(fd)
            return None
        pc = cls(fd, buf, kind)
        try:
            ver = pc.hypercall(HYPERVISOR_XEN_VERSION, XENVER_VERSION, 0)
            if (ver >> 16, ver & 0xFFFF) != SUPPORTED_XEN:
                raise PrivcmdError(f"Xen {ver >> 16}.{ver & 0xFFFF}")
            pc.domains()  # the probe: interface version accepted, Domain-0 listed
        except PrivcmdError:
            pc.close()
            return None
        return pc

    def close(self) -> None:
        """Release the buffer and the device (idempotent)."""
        with self._lock:
            if self._fd < 0:
                return
            self._anchor = None
            try:
                self._buf.close()
            except (BufferError, ValueError):
                pass
            os.close(self._fd)
            self._fd = -1

    def hypercall(self, op: int, *args: int) -> int:
        """Issue hypercall ``op`` with up to five arguments; its (non-negative) result.

        :raises PrivcmdError: the kernel or Xen refused it.
        """
        if self._fd < 0:
            raise PrivcmdError("privcmd is closed")
        a = list(args) + [0] * (5 - len(args))
        req = bytearray(_HYPERCALL.pack(op, *a))
        try:
            ret = fcntl.ioctl(self._fd, IOCTL_PRIVCMD_HYPERCALL, req, True)
        except OSError as exc:
            raise PrivcmdError(f"hypercall {op}: {exc.strerror or exc}") from None
        self.calls += 1
        return int(ret)

    def domains(self) -> list[HvDomain]:
        """Every domain the hypervisor knows, by id (``XEN_SYSCTL_getdomaininfolist``).

        :raises PrivcmdError: the hypercall failed or answered nonsense.
        """
        out: list[HvDomain] = []
        first = 0
        with self._lock:
            while True:
                batch = self._getdomaininfolist(first)
                out += batch
                if len(batch) < _PER_CALL:
                    break
                first = batch[-1].domid + 1
        if not out or out[0].domid != 0:
            raise PrivcmdError("getdomaininfolist did not list Domain-0")
        return out

    def _getdomaininfolist(self, first: int) -> list[HvDomain]:
        b = self._buf
        b[:_SYSCTL_SIZE] = bytes(_SYSCTL_SIZE)
        _SYSCTL_HEAD.pack_into(b, 0, XEN_SYSCTL_GETDOMAININFOLIST, XEN_SYSCTL_INTERFACE_VERSION)
        _GDIL_IN.pack_into(b, 8, first, _PER_CALL, self._addr + _INFO_OFFSET)
        self.hypercall(HYPERVISOR_SYSCTL, self._addr)
        (num,) = _GDIL_NUM.unpack_from(b, 24)
        if num > _PER_CALL:
            raise PrivcmdError(f"getdomaininfolist returned {num} domains for {_PER_CALL} slots")
        out = []
        last = first - 1
        for i in range(num):
            rec = _DOMINFO.unpack_from(b, _INFO_OFFSET + i * _DOMINFO.size)
            domid, flags, tot, maxp = rec[0], rec[1], rec[2], rec[3]
            cpu, vcpus, handle = rec[8], rec[9], rec[12]
            if domid <= last:
                raise PrivcmdError("getdomaininfolist returned domains out of order")
            last = domid
            out.append(HvDomain(domid, flags, tot, maxp, cpu, vcpus, str(uuidlib.UUID(bytes=handle))))
        return out

    def domain_by_uuid(self, uuid: str) -> HvDomain | None:
        """The live (not dying) domain with this UUID, the newest when there are several
        (a rebooting guest), else ``None``.

        :raises PrivcmdError: the hypercall failed.
        """
        uuid = uuid.lower()
        found = [d for d in self.domains() if d.uuid == uuid and not d.dying]
        return found[-1] if found else None


def _hypercall_buffer(anonymous: bool) -> tuple[mmap.mmap, str]:
    """Pages Xen may read and write on our behalf, and where they come from."""
    size = _BUF_PAGES * _PAGE
    try:
        if anonymous:
            raise FileNotFoundError(HYPERCALL_BUF_DEV)
        fd = os.open(HYPERCALL_BUF_DEV, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        buf = mmap.mmap(-1, size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, mmap.PROT_READ | mmap.PROT_WRITE)
        buf[:] = bytes(size)  # fault every page in
        return buf, "anonymous"
    try:
        return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE), HYPERCALL_BUF_DEV
    finally:
        os.close(fd)
