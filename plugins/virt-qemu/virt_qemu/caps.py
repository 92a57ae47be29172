"""QEMU capabilities: find ``qemu-system-*`` binaries, probe each once, cache the result.

A probe starts the binary with ``-machine none`` under TCG (never KVM, which
may hang) and asks over QMP on stdio for its target, machine types, CPU
models, CPU features and accelerators. Results are cached as JSON under the connection's
cache directory, keyed by the binary's identity (path, size, mtime, inode),
so a changed binary is probed again and an unchanged one never is.

Whether KVM *truly* works is a separate question: on nested setups /dev/kvm
opens fine but running a vCPU hangs. :func:`kvm_works` answers it by running
a one-instruction guest (``hlt``) through the KVM ioctls in a child process
bounded by a timeout; the answer is cached per boot.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import attrs

from virtcore.errors import OperationFailedError, OperationTimeoutError

__all__ = [
    "Machine",
    "BinaryCaps",
    "ARCH_BY_SUFFIX",
    "find_binaries",
    "probe_binary",
    "CapsCache",
    "kvm_works",
    "host_arch",
    "capabilities_xml",
    "SECURITY_MODEL",
    "SECURITY_DOI",
]

#: The security driver virt-qemu runs guests under: none (it labels no guest), as libvirt's QEMU
#: driver with ``security_driver = "none"`` reports it (its no-op driver's model and DOI).
SECURITY_MODEL = "none"
SECURITY_DOI = "0"

#: ``qemu-system-SUFFIX`` -> libvirt's architecture name.
ARCH_BY_SUFFIX = {
    "x86_64": "x86_64",
    "i386": "i686",
    "aarch64": "aarch64",
    "arm": "armv7l",
    "ppc64": "ppc64",
    "ppc": "ppc",
    "riscv64": "riscv64",
    "riscv32": "riscv32",
    "s390x": "s390x",
    "mips": "mips",
    "mipsel": "mipsel",
    "mips64": "mips64",
    "mips64el": "mips64el",
    "sparc": "sparc",
    "sparc64": "sparc64",
    "loongarch64": "loongarch64",
}
_WORDSIZE = {"i686": 32, "armv7l": 32, "ppc": 32, "riscv32": 32, "mips": 32, "mipsel": 32, "sparc": 32}
_SEARCH_DIRS = ("/usr/bin", "/usr/local/bin", "/usr/libexec", "/bin")
PROBE_TIMEOUT = 15.0
KVM_TIMEOUT = 3.0
_CACHE_FORMAT = 3


@attrs.frozen
class Machine:
    """A machine type of a binary (``pc-i440fx-7.2``, alias ``pc``)."""

    name: str
    alias: str | None = None
    max_cpus: int = 1
    default: bool = False
    deprecated: bool = False


@attrs.frozen
class BinaryCaps:
    """What one ``qemu-system-*`` binary can do."""

    path: str
    arch: str
    version: int
    machines: tuple[Machine, ...]
    cpu_models: tuple[str, ...]
    accelerators: tuple[str, ...]
    #: The CPUID features ``-cpu`` takes as ``NAME=on|off``, in QEMU's spelling (a static
    #: expansion of the ``max`` model: its boolean properties). Empty: not known.
    cpu_features: tuple[str, ...] = ()

    def resolve_machine(self, name: str | None) -> Machine | None:
        """The machine called ``name`` or aliased so (the default one for ``None``)."""
        for m in self.machines:
            if name is None and m.default:
                return m
            if name is not None and (m.name == name or m.alias == name):
                return m
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (for the cache)."""
        return {
            "path": self.path,
            "arch": self.arch,
            "version": self.version,
            "machines": [attrs.asdict(m) for m in self.machines],
            "cpu_models": list(self.cpu_models),
            "accelerators": list(self.accelerators),
            "cpu_features": list(self.cpu_features),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BinaryCaps:
        """The inverse of :meth:`to_json`."""
        return cls(
            path=str(data["path"]),
            arch=str(data["arch"]),
            version=int(data["version"]),
            machines=tuple(Machine(**m) for m in data["machines"]),
            cpu_models=tuple(str(c) for c in data["cpu_models"]),
            accelerators=tuple(str(a) for a in data["accelerators"]),
            cpu_features=tuple(str(f) for f in data["cpu_features"]),
        )


def host_arch() -> str:
    """The host's architecture in libvirt's spelling."""
    m = platform.machine()
    return {"amd64": "x86_64", "i386": "i686", "i586": "i686", "arm64": "aarch64"}.get(m, m)


_found: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}


def find_binaries(extra_dirs: tuple[str, ...] = ()) -> dict[str, str]:
    """``{libvirt arch: path}`` of the ``qemu-system-*`` binaries on this host.

    Remembered per process (and ``$PATH``); a binary that disappears is noticed
    when it is probed or launched.
    """
    key = (os.environ.get("PATH", ""), extra_dirs)
    hit = _found.get(key)
    if hit is not None and all(os.path.exists(p) for p in hit.values()):
        return dict(hit)
    found = _scan_binaries(extra_dirs)
    _found[key] = found
    return dict(found)


def _scan_binaries(extra_dirs: tuple[str, ...]) -> dict[str, str]:
    dirs = list(extra_dirs) + os.environ.get("PATH", "").split(os.pathsep) + list(_SEARCH_DIRS)
    found: dict[str, str] = {}
    seen: set[str] = set()
    for d in dirs:
        if not d or d in seen:
            continue
        seen.add(d)
        for path in sorted(glob.glob(os.path.join(d, "qemu-system-*"))):
            suffix = os.path.basename(path)[len("qemu-system-") :]
            arch = ARCH_BY_SUFFIX.get(suffix)
            if arch and arch not in found and os.access(path, os.X_OK):
                found[arch] = path
    return found


def binary_for_arch(arch: str) -> str | None:
    """The emulator for ``arch`` (x86_64 also runs i686 guests)."""
    bins = find_binaries()
    if arch in bins:
        return bins[arch]
    if arch == "i686" and "x86_64" in bins:
        return bins["x86_64"]
    return None


class _StdioQMP:
    """A minimal synchronous QMP client over a child's stdio, for probing only."""

    def __init__(self, proc: subprocess.Popen[bytes], deadline: float) -> None:
        self.proc = proc
        self.deadline = deadline
        self.buf = b""
        assert proc.stdout is not None
        self.fd = proc.stdout.fileno()
        os.set_blocking(self.fd, False)

    def _line(self) -> dict[str, Any]:
        import select

        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise OperationTimeoutError("probing QEMU capabilities")
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise OperationFailedError("QEMU exited while probing its capabilities")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        obj: dict[str, Any] = json.loads(line)
        return obj

    def greeting(self) -> dict[str, Any]:
        return self._line()

    def cmd(self, name: str, args: dict[str, Any] | None = None) -> Any:
        msg: dict[str, Any] = {"execute": name}
        if args:
            msg["arguments"] = args
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            reply = self._line()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise OperationFailedError(f"QEMU probe {name}: {reply['error'].get('desc')}")


def probe_binary(path: str, timeout: float = PROBE_TIMEOUT) -> BinaryCaps:
    """Start ``path`` once with ``-machine none`` (TCG) and ask it what it supports.

    :raises OperationFailedError: the binary failed or answered nonsense.
    :raises OperationTimeoutError: it did not answer within ``timeout``.
    """
    argv = [
        path, "-S", "-no-user-config", "-nodefaults", "-nographic",
        "-machine", "none,accel=tcg", "-qmp", "stdio",
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise OperationFailedError(f"cannot run {path}: {exc}") from None
    try:
        q = _StdioQMP(proc, time.monotonic() + timeout)
        hello = q.greeting()
        ver = hello["QMP"]["version"]["qemu"]
        version = int(ver["major"]) * 1_000_000 + int(ver["minor"]) * 1_000 + int(ver["micro"])
        q.cmd("qmp_capabilities")
        target = q.cmd("query-target")["arch"]
        machines = []
        for m in q.cmd("query-machines"):
            if m["name"] == "none":
                continue
            machines.append(
                Machine(
                    name=m["name"],
                    alias=m.get("alias"),
                    max_cpus=int(m.get("cpu-max", 1)),
                    default=bool(m.get("is-default", False)),
                    deprecated=bool(m.get("deprecated", False)),
                )
            )
        try:
            cpus = sorted(c["name"] for c in q.cmd("query-cpu-definitions"))
        except OperationFailedError:
            cpus = []
        features = _cpu_features(q)
        accels = sorted(
            t["name"].removesuffix("-accel")
            for t in q.cmd("qom-list-types", {"implements": "accel", "abstract": False})
        )
        with contextlib.suppress(OSError, OperationFailedError, OperationTimeoutError):
            q.cmd("quit")
    except (KeyError, TypeError, ValueError) as exc:
        raise OperationFailedError(f"unexpected QMP answer while probing {path}: {exc}") from None
    finally:
        _reap(proc)
    arch = ARCH_BY_SUFFIX.get(target, target)
    machines.sort(key=lambda m: m.name)
    return BinaryCaps(
        path=path, arch=arch, version=version, machines=tuple(machines),
        cpu_models=tuple(cpus), accelerators=tuple(accels), cpu_features=features,
    )  # fmt: skip


def _cpu_features(q: _StdioQMP) -> tuple[str, ...]:
    """The CPU feature names of the probed binary (empty when it cannot expand CPU models)."""
    try:
        model = q.cmd("query-cpu-model-expansion", {"type": "static", "model": {"name": "max"}})["model"]
    except OperationFailedError:
        return ()
    props = model.get("props", {})
    return tuple(sorted(k for k, v in props.items() if isinstance(v, bool)))


def _reap(proc: subprocess.Popen[bytes], grace: float = 2.0) -> None:
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)


def _identity(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return "unknown"


def _write_json_atomic(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class CapsCache:
    """Probed capabilities of the host's binaries, cached on disk under ``cache_dir``."""

    def __init__(self, cache_dir: Path) -> None:
        self.dir = cache_dir / "capabilities"
        self._mem: dict[str, tuple[list[int], BinaryCaps]] = {}
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._kvm: bool | None = None

    def _file(self, path: str) -> Path:
        return self.dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", path.strip("/")) + ".json")

    def get(self, path: str) -> BinaryCaps:
        """The capabilities of the binary at ``path``, probing it only when it changed."""
        ident = _identity(path)
        if ident is None:
            raise OperationFailedError(f"emulator {path!r} does not exist")
        with self._lock:
            plock = self._locks.setdefault(path, threading.Lock())
        with plock:
            hit = self._mem.get(path)
            if hit is not None and hit[0] == ident:
                return hit[1]
            f = self._file(path)
            try:
                data = json.loads(f.read_text())
                if data.get("format") == _CACHE_FORMAT and data.get("identity") == ident:
                    caps = BinaryCaps.from_json(data["caps"])
                    self._mem[path] = (ident, caps)
                    return caps
            except (OSError, ValueError, KeyError, TypeError):
                pass
            caps = probe_binary(path)
            with contextlib.suppress(OSError):
                _write_json_atomic(f, {"format": _CACHE_FORMAT, "identity": ident, "caps": caps.to_json()})
            self._mem[path] = (ident, caps)
            return caps

    def all(self) -> list[BinaryCaps]:
        """Capabilities of every binary found, probed in parallel (a failing binary is skipped)."""
        from concurrent.futures import ThreadPoolExecutor

        paths = [p for _arch, p in sorted(find_binaries().items())]

        def one(path: str) -> BinaryCaps | None:
            try:
                return self.get_unlocked(path)
            except (OperationFailedError, OperationTimeoutError):
                return None

        with ThreadPoolExecutor(max_workers=max(1, len(paths))) as pool:
            return [c for c in pool.map(one, paths) if c is not None]

    def get_unlocked(self, path: str) -> BinaryCaps:
        """:meth:`get` without the cache-wide lock (probes of different binaries run at once)."""
        ident = _identity(path)
        if ident is None:
            raise OperationFailedError(f"emulator {path!r} does not exist")
        hit = self._mem.get(path)
        if hit is not None and hit[0] == ident:
            return hit[1]
        return self.get(path)

    def kvm(self) -> bool:
        """Whether KVM truly runs guests here (cached per boot on disk)."""
        if self._kvm is not None:
            return self._kvm
        key = [_boot_id(), _identity("/dev/kvm")]
        f = self.dir / "kvm.json"
        try:
            data = json.loads(f.read_text())
            if data.get("key") == key:
                self._kvm = bool(data["works"])
                return self._kvm
        except (OSError, ValueError, KeyError, TypeError):
            pass
        works = kvm_works()
        with contextlib.suppress(OSError):
            _write_json_atomic(f, {"key": key, "works": works})
        self._kvm = works
        return works


# A child process runs this: a 64-bit guest (long mode, 2 MiB pages) that
# zeroes 16 MiB and halts. Exit 0 when KVM_RUN ends with KVM_EXIT_HLT within
# the time budget. Nested KVM that "hangs" is in fact pathologically slow on
# guest page faults (~150 us each): the budget catches it.
_KVM_PROBE = r"""
import ctypes, fcntl, mmap, os, signal, struct, sys, time
budget = float(sys.argv[1])
signal.signal(signal.SIGALRM, lambda *_: os._exit(4))
fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
if fcntl.ioctl(fd, 0xAE00) != 12: sys.exit(2)
vm = fcntl.ioctl(fd, 0xAE01, 0)
size_mem = 0x1200000
mem = mmap.mmap(-1, size_mem)
code = bytes.fromhex("48c7c70000200048c7c10000200031c0f348abf4")
mem[0x1000:0x1000 + len(code)] = code
struct.pack_into("Q", mem, 0x2000, 0x3000 | 3)
struct.pack_into("Q", mem, 0x3000, 0x4000 | 3)
for i in range(512):
    struct.pack_into("Q", mem, 0x4000 + 8 * i, (i << 21) | 0x83)
addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
fcntl.ioctl(vm, 0x4020AE46, struct.pack("IIQQQ", 0, 0, 0, size_mem, addr))
vcpu = fcntl.ioctl(vm, 0xAE41, 0)
size = fcntl.ioctl(fd, 0xAE04)
run = mmap.mmap(vcpu, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
sregs = bytearray(312)
fcntl.ioctl(vcpu, 0x8138AE83, sregs, True)
def seg(off, sel, typ, l, db):
    struct.pack_into("QIHBBBBBBBBBB", sregs, off, 0, 0xFFFFFFFF, sel, typ, 1, 0, db, 1, l, 1, 0, 0, 0)
seg(0, 8, 11, 1, 0)
for i in (1, 2, 3, 4, 5):
    seg(24 * i, 16, 3, 0, 1)
struct.pack_into("QQQQQQ", sregs, 224, 0x80050033, 0, 0x2000, 0x20, 0, 0x500)
fcntl.ioctl(vcpu, 0x4138AE84, bytes(sregs))
regs = bytearray(144)
struct.pack_into("Q", regs, 48, 0x8000)
struct.pack_into("Q", regs, 128, 0x1000)
struct.pack_into("Q", regs, 136, 2)
fcntl.ioctl(vcpu, 0x4090AE82, bytes(regs))
t = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, budget)  # a vCPU slower than the budget is interrupted
fcntl.ioctl(vcpu, 0xAE80, 0)
signal.setitimer(signal.ITIMER_REAL, 0)
took = time.monotonic() - t
if struct.unpack_from("I", run, 8)[0] != 5: sys.exit(3)
sys.exit(0 if took < budget else 4)
"""
#: Seconds a healthy KVM needs at most to fault in 16 MiB of guest memory
#: (native: ~10 ms; the nested setup this guards against: ~0.6 s).
KVM_SPEED_BUDGET = 0.25


def kvm_works(timeout: float = KVM_TIMEOUT) -> bool:
    """Whether a vCPU really runs guests under KVM here, found out within ``timeout`` seconds.

    A 64-bit probe guest must fault in 16 MiB within :data:`KVM_SPEED_BUDGET`.

    Never hangs: the probe runs in a child process that is killed (and left
    for the system to reap) when it does not answer in time.
    """
    if not os.path.exists("/dev/kvm") or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _KVM_PROBE, str(KVM_SPEED_BUDGET)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=True, start_new_session=True,
        )  # fmt: skip
    except OSError:
        return False
    # The probe decides itself within its budget; waiting much longer only confirms "too slow".
    timeout = min(timeout, KVM_SPEED_BUDGET + 0.5)
    try:
        return proc.wait(timeout) == 0
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            proc.kill()
        # Reap it in the background: a vCPU stuck in the kernel may take a while to die.
        threading.Thread(target=_wait_quietly, args=(proc,), daemon=True).start()
        return False


def _wait_quietly(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(Exception):
        proc.wait(60)


def _host_uuid() -> str | None:
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            raw = Path(p).read_text().strip()
        except OSError:
            continue
        if re.fullmatch(r"[0-9a-f]{32}", raw):
            return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return None


def capabilities_xml(binaries: list[BinaryCaps], kvm: bool) -> str:
    """libvirt's capabilities document for these binaries (valid against capability.rng)."""
    harch = host_arch()
    out = ["<capabilities>", "  <host>"]
    hu = _host_uuid()
    if hu:
        out.append(f"    <uuid>{hu}</uuid>")
    out.append(f"    <cpu>\n      <arch>{escape(harch)}</arch>")
    cpus = os.cpu_count() or 1
    out.append(f"      <topology sockets='1' dies='1' cores='{cpus}' threads='1'/>")
    out.append("    </cpu>")
    out.append("    <migration_features>\n      <live/>\n      <uri_transports>")
    out.append(
        "        <uri_transport>tcp</uri_transport>\n      </uri_transports>\n    </migration_features>"
    )
    out.append(f"    <secmodel>\n      <model>{SECURITY_MODEL}</model>")
    out.append(f"      <doi>{SECURITY_DOI}</doi>\n    </secmodel>")
    out.append("  </host>")
    for caps in binaries:
        arches = [caps.arch] + (["i686"] if caps.arch == "x86_64" else [])
        for arch in arches:
            out.append("  <guest>\n    <os_type>hvm</os_type>")
            out.append(f"    <arch name={quoteattr(arch)}>")
            out.append(f"      <wordsize>{_WORDSIZE.get(arch, 64)}</wordsize>")
            out.append(f"      <emulator>{escape(caps.path)}</emulator>")
            machine_lines = []
            for m in caps.machines:
                attrs_ = f" maxCpus='{m.max_cpus}'"
                if m.deprecated:
                    attrs_ += " deprecated='yes'"
                machine_lines.append(f"      <machine{attrs_}>{escape(m.name)}</machine>")
                if m.alias:
                    machine_lines.append(
                        f"      <machine canonical={quoteattr(m.name)}{attrs_}>{escape(m.alias)}</machine>"
                    )
            out.extend(machine_lines)
            out.append("      <domain type='qemu'/>")
            if kvm and "kvm" in caps.accelerators and arch in (harch, "i686" if harch == "x86_64" else harch):
                out.append("      <domain type='kvm'/>")
            out.append("    </arch>")
            if arch in ("x86_64", "i686"):
                out.append("    <features>")
                if arch == "i686":
                    out.append("      <pae/>\n      <nonpae/>")
                out.append("      <acpi default='on' toggle='yes'/>\n      <apic default='on' toggle='no'/>")
                out.append("    </features>")
            out.append("  </guest>")
    out.append("</capabilities>\n")
    return "\n".join(out)


def hostname() -> str:
    """The host's name (fully qualified when the resolver knows it)."""
    return socket.gethostname()
