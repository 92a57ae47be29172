"""Helpers of the ``virtcore serve`` tests: a server process on sockets of its own, and virsh."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

SYSTEM_PYTHON = "/usr/bin/python3"
VIRSH = shutil.which("virsh")


def has_python3_libvirt() -> bool:
    """Whether Debian's python3-libvirt is importable by the system interpreter."""
    return os.path.exists(SYSTEM_PYTHON) and (
        subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True).returncode == 0
    )


class Served:
    """A ``virtcore serve`` process: its sockets and log; stop() ends it and checks it cleaned up."""

    def __init__(
        self,
        tmp: Path,
        uris: Sequence[str],
        *,
        read_only_socket: bool = True,
        aliases: dict[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.dir = tmp
        self.sock = tmp / "rw.sock"
        self.ro_sock = tmp / "ro.sock"
        self.log = tmp / "serve.log"
        argv = [sys.executable, "-m", "virtcore", "serve", "--listen", f"unix:{self.sock}"]
        if read_only_socket:
            argv += ["--listen-ro", f"unix:{self.ro_sock}"]
        for uri in uris:
            argv += ["--uri", uri]
        for name, target in (aliases or {}).items():
            argv += ["--alias", f"{name}={target}"]
        argv += list(extra)
        env = {k: v for k, v in os.environ.items() if k != "VIRTCORE_DEFAULT_URI"}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        wanted = [self.sock] + ([self.ro_sock] if read_only_socket else [])
        while not all(p.exists() for p in wanted):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"virtcore serve did not start: {self.log.read_text()}")
            time.sleep(0.05)

    def uri(self, driver_uri: str, *, read_only: bool = False) -> str:
        """The libvirt client URI of ``driver_uri`` (``test:///default``) through our socket."""
        scheme, rest = driver_uri.split(":", 1)
        return f"{scheme}+unix:{rest}?socket={self.ro_sock if read_only else self.sock}"

    def stop(self) -> str:
        """Stop the server (SIGTERM) and give its log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text()


@contextlib.contextmanager
def serving(tmp: Path, uris: Sequence[str]) -> Iterator[Served]:
    """A :class:`Served` for the test's length; its log must show no traceback when it stops."""
    server = Served(tmp, uris)
    try:
        yield server
    finally:
        log = server.stop()
    assert "Traceback" not in log, log


def run_python3_libvirt(script: str, *args: str) -> Any:
    """What ``script`` prints as JSON when Debian's python3-libvirt runs it with ``args``."""
    result = subprocess.run([SYSTEM_PYTHON, "-c", script, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def virsh(uri: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run Debian's virsh against ``uri``."""
    assert VIRSH is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIBVIRT_", "VIRSH_"))}
    return subprocess.run(
        [VIRSH, "-q", "-c", uri, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
