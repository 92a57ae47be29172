"""Running Xen's ``xl`` toolstack: bounded subprocess calls, errors as ``VirtError``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import attrs

from virtcore.errors import (
    NoDomainError,
    OperationFailedError,
    OperationTimeoutError,
    SystemError_,
)
from virtcore.types import DomainState

__all__ = ["Xl", "XlDomain", "parse_xl_list", "parse_xl_info", "parse_xl_list_json", "DEFAULT_XL"]

#: Where Debian (and most distributions) keep xl.
DEFAULT_XL = "/usr/lib/xen-4.17/bin/xl"
_SEARCH = (DEFAULT_XL, "/usr/sbin/xl", "/usr/lib/xen/bin/xl", "/usr/local/sbin/xl")

#: Seconds an xl command may take before it is abandoned (domain creation under
#: TCG takes several seconds; a save writes the guest's whole memory).
DEFAULT_TIMEOUT = 180.0


@attrs.frozen
class XlDomain:
    """One line of ``xl list``: a domain the hypervisor knows."""

    name: str
    domid: int
    memory_mib: int
    vcpus: int
    state: DomainState
    flags: str
    cpu_time_ns: int

    @property
    def shutdown_reason(self) -> int | None:
        """Xen's shutdown reason code when the domain has shut down (see :func:`reason_from_flags`)."""
        return reason_from_flags(self.flags)

    @property
    def sched_state(self) -> DomainState:
        """The state as the scheduler sees it: :attr:`state`, except that a running domain
        all of whose vCPUs wait for an event (``-b----``: idle) is BLOCKED."""
        return sched_state_from_flags(self.flags)


def find_xl(explicit: str | None = None) -> str | None:
    """The path of ``xl``: ``explicit`` when given, else a known location or ``$PATH``."""
    if explicit:
        return explicit
    for p in _SEARCH:
        if os.access(p, os.X_OK):
            return p
    return shutil.which("xl")


def state_from_flags(flags: str) -> DomainState:
    """Map ``xl list``'s state column (``r-----``, ``--p---``...) to a :class:`DomainState`."""
    f = flags.ljust(6, "-")
    if f[4] == "c":
        return DomainState.CRASHED
    if f[3] == "s":
        return DomainState.SHUTDOWN
    if f[5] == "d":
        return DomainState.SHUTDOWN
    if f[2] == "p":
        return DomainState.PAUSED
    # "r" running and "b" blocked (idle, waiting for an event) are both RUNNING,
    # as in libvirt's libxl driver
    return DomainState.RUNNING


#: Xen's shutdown reason codes (``SHUTDOWN_*`` in xen/include/public/sched.h), as
#: ``xl list`` shows them in the fifth column of its state (``-rscw``: poweroff shows ``-``).
REASON_POWEROFF, REASON_REBOOT, REASON_SUSPEND, REASON_CRASH, REASON_WATCHDOG, REASON_SOFT_RESET = range(6)
_REASON_LETTERS = {"-": REASON_POWEROFF, "r": REASON_REBOOT, "s": REASON_SUSPEND, "c": REASON_CRASH,
                   "w": REASON_WATCHDOG}  # fmt: skip


def reason_from_flags(flags: str) -> int | None:
    """The shutdown reason code in ``xl list``'s state column, ``None`` unless it has shut down."""
    f = flags.ljust(6, "-")
    if f[3] != "s":
        return None
    return _REASON_LETTERS.get(f[4])


def sched_state_from_flags(flags: str) -> DomainState:
    """:func:`state_from_flags`, but BLOCKED for a running domain whose vCPUs are all blocked
    (``b`` without ``r``): Xen's own word for an idle guest waiting for an event."""
    state = state_from_flags(flags)
    f = flags.ljust(6, "-")
    if state == DomainState.RUNNING and f[1] == "b" and f[0] != "r":
        return DomainState.BLOCKED
    return state


def parse_xl_list(text: str) -> list[XlDomain]:
    """Parse the table ``xl list`` prints (``Name ID Mem VCPUs State Time(s)``)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[0] == "Name":
            continue
        # names cannot contain whitespace in xl; the last five columns are fixed
        name = " ".join(parts[:-5])
        try:
            domid, mem, vcpus = int(parts[-5]), int(parts[-4]), int(parts[-3])
            seconds = float(parts[-1])
        except ValueError:
            continue
        flags = parts[-2]
        out.append(XlDomain(name, domid, mem, vcpus, state_from_flags(flags), flags, int(seconds * 1e9)))
    return out


def parse_xl_info(text: str) -> dict[str, str]:
    """Parse ``xl info``'s ``key : value`` lines."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def parse_xl_list_json(text: str) -> list[dict[str, Any]]:
    """Parse ``xl list -l``'s JSON (a list of ``{"domid":..., "config": {...}}``).

    :raises OperationFailedError: the text is not the JSON xl prints.
    """
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise OperationFailedError(f"cannot parse 'xl list -l' output: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise OperationFailedError("cannot parse 'xl list -l' output: not a list of domains")
    return data


class Xl:
    """The ``xl`` command line tool, run with a time limit; failures become ``VirtError``."""

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    def run(self, *args: str, timeout: float | None = None, what: str | None = None) -> str:
        """Run ``xl ARGS`` and return its standard output.

        :raises OperationFailedError: xl failed (the message carries xl's own).
        :raises NoDomainError: xl says the domain does not exist.
        :raises OperationTimeoutError: xl did not finish in time.
        :raises SystemError_: xl cannot be run at all.
        """
        cmd = [self.path, *args]
        label = what or "xl " + " ".join(args)
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=self.timeout if timeout is None else timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OperationTimeoutError(f"{label} did not finish in {self.timeout:.0f}s") from None
        except OSError as exc:
            raise SystemError_(f"cannot run {self.path}: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            msg = _xl_message(proc.stderr) or _xl_message(proc.stdout) or f"exit status {proc.returncode}"
            low = msg.lower()
            if "invalid domain identifier" in low or ("domain" in low and "does not exist" in low):
                raise NoDomainError(f"{label}: {msg}")
            raise OperationFailedError(f"{label}: {msg}")
        return proc.stdout

    def info(self) -> dict[str, str]:
        """``xl info`` as a dict."""
        return parse_xl_info(self.run("info"))

    def domains(self, domid: int | None = None) -> list[XlDomain]:
        """``xl list [DOMID]``."""
        return parse_xl_list(self.run("list", *([] if domid is None else [str(domid)])))

    def domains_long(self) -> list[dict[str, Any]]:
        """``xl list -l``: every domain's configuration as libxl JSON."""
        return parse_xl_list_json(self.run("list", "-l"))


def _xl_message(text: str) -> str:
    """The meaningful part of xl's stderr: libxl error lines, else the last non-empty line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    errors = [ln for ln in lines if "error" in ln.lower() or "fail" in ln.lower()]
    chosen = errors[-2:] if errors else lines[-1:]
    return "; ".join(chosen)[:2000]
