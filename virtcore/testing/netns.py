"""A network namespace a test makes for itself: bridges, TAPs, dnsmasq and firewall rules go there.

Every test that creates network devices or rules runs them inside one of
these, so the host's own networking is never touched and no packet leaves
the namespace. Needs root, ``unshare``, ``nsenter`` and iproute2.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from virtcore.testing.support import wait_for

__all__ = ["NetNamespace", "netns_missing"]


def netns_missing() -> str | None:
    """Why this machine cannot make a test namespace (``None`` when it can): for ``skipif``."""
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


class NetNamespace:
    """A network namespace of the test's own: held by an ``unshare --net`` process, gone with it.

    :meth:`entered` moves the calling thread into it, so what that thread starts (QEMU)
    lives there; the host's namespace, devices and routes are never touched.
    """

    CLONE_NEWNET = 0x40000000

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"])
        mine = os.readlink("/proc/thread-self/ns/net")
        wait_for(lambda: os.readlink(f"/proc/{self.proc.pid}/ns/net") != mine, 10, "unshare --net")
        self.path = f"/proc/{self.proc.pid}/ns/net"

    def devices(self) -> set[str]:
        """The network devices of the namespace."""
        lines = Path(f"/proc/{self.proc.pid}/net/dev").read_text().splitlines()[2:]
        return {line.partition(":")[0].strip() for line in lines}

    def run(self, *argv: str) -> None:
        """Run a command inside the namespace."""
        subprocess.run(["nsenter", f"--net={self.path}", "--", *argv], check=True)

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """The calling thread in the namespace (its children too), and back afterwards."""
        libc = ctypes.CDLL(None, use_errno=True)
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        into = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(into, self.CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the test's network namespace")
            try:
                yield
            finally:
                if libc.setns(back, self.CLONE_NEWNET) != 0:
                    os.abort()  # never run the rest of the session in the wrong namespace
        finally:
            os.close(into)
            os.close(back)

    def close(self) -> None:
        """End the holder: the namespace and whatever is left in it go."""
        self.proc.kill()
        self.proc.wait()
