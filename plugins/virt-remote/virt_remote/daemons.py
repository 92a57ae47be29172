"""Real daemons in a temporary directory, for tests and benches: Debian's libvirtd and OpenSSH's sshd.

Neither touches the host's own state. :class:`Libvirtd` runs as root in a
network and mount namespace of its own: ``/run`` is a fresh tmpfs, ``/etc``
and ``/var`` are overlays whose writes land in the temporary directory (its
``/etc/libvirt/qemu.conf``, with cgroups off since ``/sys/fs/cgroup`` is
the host's, and a ``libvirt-qemu`` user in its own ``/etc/passwd``, which
Debian's QEMU driver needs to start), and its sockets
are in the temporary directory, named by its own ``libvirtd.conf``
(``unix_sock_dir``, ``auth_unix_rw = "none"``). :class:`Sshd` listens on
127.0.0.1 on a free port with a generated host key, lets in one generated
client key, and reads only its own configuration (``-f``), in a mount
namespace whose ``/run`` holds the privilege-separation directory it needs.

Both need root, ``unshare`` and the Debian packages (``libvirt-daemon``,
``openssh-server``); :func:`libvirtd_missing` and :func:`sshd_missing` say
what is missing, for ``skipif``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["Libvirtd", "Sshd", "free_port", "libvirtd_missing", "sshd_missing"]

LIBVIRTD = "/usr/sbin/libvirtd"
SSHD = "/usr/sbin/sshd"
_START_TIMEOUT = 60.0

#: Runs in the daemon's new mount namespace: fresh /run, overlays on /etc and /var, then exec.
_LIBVIRTD_SETUP = r"""set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/libvirt
for d in etc var; do
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$1/$d-upper,workdir=$1/$d-work" "/$d"
done
shift
exec "$@"
"""

_SSHD_SETUP = r"""set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
if [ -n "$1" ]; then mkdir /run/libvirt; mount --bind "$1" /run/libvirt; fi
shift
exec "$@"
"""


def _common_missing(*tools: str) -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("unshare", *tools):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


def libvirtd_missing() -> str | None:
    """Why :class:`Libvirtd` cannot run here (``None`` when it can)."""
    if not os.access(LIBVIRTD, os.X_OK):
        return f"needs {LIBVIRTD} (Debian's libvirt-daemon)"
    return _common_missing()


def sshd_missing() -> str | None:
    """Why :class:`Sshd` cannot run here (``None`` when it can)."""
    if not os.access(SSHD, os.X_OK):
        return f"needs {SSHD} (openssh-server)"
    return _common_missing("ssh", "ssh-keygen")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while not ready():
        if proc.poll() is not None:
            said = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{what} exited with status {proc.returncode} before it was ready\n{said}")
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"{what} not ready after {_START_TIMEOUT:.0f}s")
        time.sleep(0.05)


class Libvirtd:
    """Debian's libvirtd, contained (see the module's docstring); a context manager.

    :attr:`socket` and :attr:`socket_ro` are its read-write and read-only sockets:
    ``test+unix:///default?socket=`` + :attr:`socket` reaches its test driver.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.sockets = self.root / "sock"
        self.socket = self.sockets / "libvirt-sock"
        self.socket_ro = self.sockets / "libvirt-sock-ro"
        self.log = self.root / "libvirtd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _prepare(self) -> Path:
        overlay = self.root / "overlay"
        for d in ("etc-upper/libvirt", "etc-work", "var-upper", "var-work"):
            (overlay / d).mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(parents=True, exist_ok=True)
        conf = self.root / "libvirtd.conf"
        conf.write_text(
            f'unix_sock_dir = "{self.sockets}"\n'
            'unix_sock_rw_perms = "0700"\n'
            'unix_sock_ro_perms = "0700"\n'
            'auth_unix_rw = "none"\n'
            'auth_unix_ro = "none"\n'
            f'log_outputs = "3:file:{self.log}"\n'
            "keepalive_interval = 5\n"
        )
        upper = overlay / "etc-upper"
        # Debian's QEMU driver resolves its compiled-in user before reading qemu.conf.
        passwd = Path("/etc/passwd").read_text()
        group = Path("/etc/group").read_text()
        if not any(line.startswith("libvirt-qemu:") for line in passwd.splitlines()):
            passwd += "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n"
        if not any(line.startswith("libvirt-qemu:") for line in group.splitlines()):
            group += "libvirt-qemu:x:64055:\n"
        if not any(line.startswith("kvm:") for line in group.splitlines()):
            group += "kvm:x:64056:\n"
        (upper / "passwd").write_text(passwd)
        (upper / "group").write_text(group)
        (upper / "libvirt" / "qemu.conf").write_text(
            'user = "root"\ngroup = "root"\nstdio_handler = "file"\nsecurity_driver = "none"\n'
            # no cgroups: /sys/fs/cgroup is the host's, and libvirt would leave a machine/ partition there
            "cgroup_controllers = [ ]\n"
        )
        return conf

    def start(self) -> Libvirtd:
        """Start it and wait until its socket answers.

        :raises RuntimeError: it exited or did not come up (with the end of its log).
        """
        conf = self._prepare()
        self.proc = subprocess.Popen(
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                _LIBVIRTD_SETUP,
                "sh",
                str(self.root / "overlay"),
                LIBVIRTD,
                "--config",
                str(conf),
                "--pid-file",
                str(self.root / "libvirtd.pid"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _accepts_unix(self.socket), self.proc, "libvirtd", self.log)
        return self

    def uri(self, driver: str = "test", path: str = "/default") -> str:
        """``DRIVER+unix://PATH?socket=SOCKET`` for this daemon."""
        return f"{driver}+unix://{path}?socket={self.socket}"

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL), and every process left in its network namespace.

        libvirt's guests outlive their daemon by design: a QEMU it started and a
        test did not destroy would run on, so whatever shares the daemon's
        namespace is killed too, and the namespaces go with the last of them.
        """
        left = _namespace_mates(self.proc)
        _stop(self.proc)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> Libvirtd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _namespace_mates(proc: subprocess.Popen[bytes] | None) -> list[int]:
    """The other processes in ``proc``'s network namespace (none when it has exited)."""
    if proc is None or proc.poll() is not None:
        return []
    try:
        ns = os.readlink(f"/proc/{proc.pid}/ns/net")
    except OSError:
        return []
    if ns == os.readlink("/proc/self/ns/net"):
        return []  # never the host's namespace
    mates = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != proc.pid:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{entry}/ns/net") == ns:
                    mates.append(int(entry))
    return mates


def _accepts_unix(path: Path) -> bool:
    if not path.exists():
        return False
    with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def _accepts_tcp(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Sshd:
    """OpenSSH's sshd on 127.0.0.1, letting root in with one generated key; a context manager.

    :attr:`port`, :attr:`client_key` (the private key to give ``keyfile=``) and
    :attr:`known_hosts` (a file naming its host key, for verified connections).
    """

    def __init__(self, root: Path, libvirt_run: Path | None = None) -> None:
        self.root = Path(root)
        #: A directory its sessions see as ``/run/libvirt`` (a :class:`Libvirtd`'s sockets), so
        #: that ``virt-ssh-helper`` at the far end finds the daemon where libvirt looks for it.
        self.libvirt_run = libvirt_run
        self.port = 0
        self.host_key = self.root / "host_ed25519"
        self.client_key = self.root / "client_ed25519"
        self.known_hosts = self.root / "known_hosts"
        #: An ``ssh`` that trusts :attr:`known_hosts` (for ``command=``): host keys verified,
        #: and nothing written into the user's own ``~/.ssh/known_hosts``.
        self.ssh_wrapper = self.root / "ssh"
        self.log = self.root / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Sshd:
        """Generate the keys and the configuration, start it and wait until it listens."""
        self.root.mkdir(parents=True, exist_ok=True)
        for key in (self.host_key, self.client_key):
            if not key.exists():
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key.name, "-f", str(key)],
                    check=True,
                    stdin=subprocess.DEVNULL,
                )
        authorized = self.root / "authorized_keys"
        authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        authorized.chmod(0o600)
        self.port = free_port()
        host_pub = Path(f"{self.host_key}.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        self.ssh_wrapper.write_text(
            "#!/bin/sh\n"
            f'exec ssh -o UserKnownHostsFile="{self.known_hosts}" -o StrictHostKeyChecking=yes "$@"\n'
        )
        self.ssh_wrapper.chmod(0o755)
        config = self.root / "sshd_config"
        config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.host_key}\n"
            f"AuthorizedKeysFile {authorized}\n"
            f"PidFile {self.root / 'sshd.pid'}\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "X11Forwarding no\n"
            "AllowTcpForwarding no\n"
            "PrintMotd no\n"
            "MaxStartups 100:30:200\n"
            "MaxSessions 100\n"
            "LogLevel ERROR\n"
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "--",
                    "sh",
                    "-c",
                    _SSHD_SETUP,
                    "sh",
                    str(self.libvirt_run or ""),
                    SSHD,
                    "-D",
                    "-e",
                    "-f",
                    str(config),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        _wait(lambda: _accepts_tcp(self.port), self.proc, "sshd", self.log)
        return self

    def stop(self) -> None:
        """Stop it; sessions it started end with it."""
        _stop(self.proc)

    def __enter__(self) -> Sshd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
