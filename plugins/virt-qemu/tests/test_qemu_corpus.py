"""libvirt's qemuxmlconf corpus: every input we claim to support starts in QEMU 7.2.

For each ``NAME.xml`` with an x86_64 expectation (``NAME.x86_64-*.args`` or
``.err``):

* translate it with :func:`virt_qemu.argv.build_argv` (TCG; host resources
  such as disk images, block devices, kernels and socket paths remapped into a
  temporary directory, since the corpus names files of libvirt's test host);
* a ``ConfigUnsupportedError`` (or a model ``XMLError``) is an xfail naming
  the element: a visible gap, not a failure;
* otherwise QEMU 7.2 must start from our argv (``-S``, QMP ``query-status``,
  ``quit``), and the argv must mean what libvirt's ``.args`` means: the same
  memory, vCPU count, machine type and the same disk/NIC/serial/balloon/rng
  devices.

Runs sequentially (~0.1 s per case). ``VIRT_QEMU_CORPUS_SUMMARY=FILE`` writes
the counts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Literal, overload

import pytest
from libvirt_testdata import require
from lxml import etree
from virt_qemu import testguest
from virt_qemu.argv import LaunchSpec, build_argv, hugetlbfs_mounts, launch_env, qemu_commandline

from virtcore.errors import ConfigUnsupportedError, VirtError, XMLError
from virtcore.xml import parse_domain

QEMU = shutil.which("qemu-system-x86_64")
pytestmark = pytest.mark.skipif(QEMU is None, reason="qemu-system-x86 is not installed")
CORPUS = require("qemuxmlconf")


def _cases() -> list[str]:
    names = []
    for xml in sorted(CORPUS.glob("*.xml")):
        if xml.name.count(".") != 1:
            continue
        stem = xml.stem
        if any(CORPUS.glob(f"{stem}.x86_64-*.args")) or any(CORPUS.glob(f"{stem}.x86_64-*.err")):
            names.append(stem)
    return names


#: Devices whose presence and count must match libvirt's argv.
KEY_DEVICES = {
    "virtio-blk-pci", "ide-hd", "ide-cd", "scsi-hd", "scsi-cd", "floppy", "usb-storage",
    "virtio-net-pci", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet", "vmxnet3",
    "isa-serial", "isa-debugcon", "virtio-balloon-pci", "virtio-rng-pci",
    "usb-tablet", "usb-mouse", "usb-kbd",
    "virtio-keyboard-pci", "virtio-mouse-pci", "virtio-tablet-pci", "virtconsole",
    "pc-dimm", "nvdimm", "virtio-mem-pci", "virtio-pmem-pci",
}  # fmt: skip

_results: Counter[str] = Counter()


@overload
def _libvirt_args(stem: str) -> list[str] | None: ...
@overload
def _libvirt_args(stem: str, with_env: Literal[True]) -> tuple[list[str], dict[str, str]] | None: ...
def _libvirt_args(stem: str, with_env: bool = False) -> object:
    files = sorted(CORPUS.glob(f"{stem}.x86_64-latest.args")) or sorted(CORPUS.glob(f"{stem}.x86_64-*.args"))
    if not files:
        return None
    text = files[0].read_text().replace("\\\n", " ")
    words = shlex.split(text)
    env: dict[str, str] = {}
    while words and "=" in words[0] and not words[0].startswith("/"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return (words, env) if with_env else words


def _meaning(argv: list[str]) -> dict[str, object]:
    mem = smp = machine = None
    devices: Counter[str] = Counter()
    numa: list[str] = []
    it = iter(argv[1:])
    for a in it:
        if a in ("-m", "-smp", "-machine", "-device", "-numa"):
            v = next(it, "")
            if a == "-numa":
                numa.append(v)
            elif a == "-m":
                m = re.search(r"(?:size=)?(\d+)([kKmMgG]?)", v)
                if m:
                    mult = {"k": 1, "m": 1024, "g": 1024 * 1024, "": 1024}[m.group(2).lower()]
                    mem = int(m.group(1)) * mult
            elif a == "-smp":
                smp = v.split(",")[0]
            elif a == "-machine":
                machine = v.split(",")[0]
            else:
                drv = json.loads(v)["driver"] if v.startswith("{") else v.split(",")[0]
                if drv in KEY_DEVICES:
                    devices[drv] += 1
    return {
        "memory": mem, "smp": smp, "machine": machine, "devices": dict(sorted(devices.items())),
        "numa": sorted(numa),
    }  # fmt: skip


def _remap(xml: str, tmp: Path, kernel: Path, initrd: Path) -> str:
    """Point every host resource of the corpus XML at something that exists here."""
    root = etree.fromstring(xml.encode())
    n = 0

    def fresh(suffix: str, size: int = 1 << 20) -> str:
        nonlocal n
        n += 1
        p = tmp / f"r{n}{suffix}"
        with open(p, "wb") as fh:
            fh.truncate(size)
        return str(p)

    for disk in root.iter("disk"):
        src = disk.find("source")
        if disk.get("type") == "block":
            disk.set("type", "file")
            if src is not None and src.get("dev") is not None:
                src.set("file", src.attrib.pop("dev"))
        if src is not None and src.get("file"):
            drv = disk.find("driver")
            fmt = drv.get("type") if drv is not None else "raw"
            path = fresh(".img")
            if fmt == "qcow2":
                os.unlink(path)
                subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "1M"], check=True)
            src.set("file", path)
    os_el = root.find("os")
    if os_el is not None:
        for tag, real in (("kernel", kernel), ("initrd", initrd)):
            el = os_el.find(tag)
            if el is not None:
                el.text = str(real)
        for tag in ("dtb",):
            el = os_el.find(tag)
            if el is not None:
                el.text = fresh(".bin", 4096)
    for kind in ("serial", "console", "channel", "parallel"):
        for el in root.iter(kind):
            src = el.find("source")
            if el.get("type") == "dev" and src is not None:
                master, slave = os.openpty()  # a real terminal for QEMU's tty back end
                _ptys.extend((master, slave))
                src.set("path", os.ttyname(slave))
            elif src is not None and src.get("path"):
                src.set("path", str(tmp / f"chr{n}-{kind}"))
                n += 1
            log = el.find("log")
            if log is not None and log.get("file"):
                log.set("file", str(tmp / f"log{n}"))
                n += 1
    for src in root.iter("source"):
        parent = src.getparent()
        if parent is None or parent.tag not in ("serial", "console", "channel", "parallel"):
            continue
        if parent.get("type") == "unix" and src.get("mode") == "connect":
            _listeners.append(_listen_unix(Path(src.get("path", ""))))
        if parent.get("type") == "tcp" and src.get("mode", "connect") == "connect":
            lsock = socket.socket()
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(1)
            _listeners.append(lsock)
            src.set("host", "127.0.0.1")
            src.set("service", str(lsock.getsockname()[1]))
    for mdev in root.iter("memory"):
        path_el = mdev.find("source/path")
        size_el = mdev.find("target/size")
        if path_el is not None and size_el is not None:
            scale = {"kib": 1024, "k": 1024, "mib": 1 << 20, "m": 1 << 20, "gib": 1 << 30, "g": 1 << 30}
            size = int(size_el.text or "0") * scale[size_el.get("unit", "KiB").lower()]
            path_el.text = fresh(".mem", size)
    for g in root.iter("graphics"):
        if g.get("listen"):
            g.set("listen", "127.0.0.1")
        for lst in g.iter("listen"):
            if lst.get("address"):
                lst.set("address", "127.0.0.1")
        for lst in g.iter("listen"):
            if lst.get("socket"):
                lst.set("socket", str(tmp / f"vnc{n}.sock"))
                n += 1
    return etree.tostring(root, encoding="unicode")


_listeners: list[socket.socket] = []
_ptys: list[int] = []


def _listen_unix(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.listen(1)
    return s


def _start_qemu(argv: list[str], tmp: Path, env: dict[str, str] | None = None) -> tuple[bool, str]:
    qmp = b'{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n{"execute":"quit"}\n'
    if any(a.startswith("stdio,") for a in argv):
        return _start_qemu_qmp_socket(argv, tmp, qmp, env)
    cmd = [*argv, "-qmp", "stdio"]
    try:
        proc = subprocess.run(
            cmd, input=qmp, capture_output=True, timeout=60, cwd=tmp, env={**os.environ, **(env or {})}
        )
    except subprocess.TimeoutExpired:
        return False, "QEMU did not answer within 60 s"
    ok = b'"status": "prelaunch"' in proc.stdout or b'"status": "paused"' in proc.stdout
    return ok, proc.stderr.decode(errors="replace").strip()[-600:]


def _start_qemu_qmp_socket(
    argv: list[str], tmp: Path, qmp: bytes, env: dict[str, str] | None
) -> tuple[bool, str]:
    """Like :func:`_start_qemu` when the guest itself uses QEMU's stdio: QMP on a unix socket."""
    path = tmp / "qmp.sock"
    err = tmp / "qemu.err"
    with open(err, "wb") as errfh:
        proc = subprocess.Popen(
            [*argv, "-qmp", f"unix:{path},server=on,wait=on"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=errfh, cwd=tmp, env={**os.environ, **(env or {})},
        )  # fmt: skip
    out = b""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(60)
            for _ in range(600):
                try:
                    s.connect(str(path))
                    break
                except OSError:
                    if proc.poll() is not None:
                        break
                    time.sleep(0.05)
            else:
                return False, "QEMU's QMP socket never appeared"
            if proc.poll() is None:
                s.sendall(qmp)
                try:
                    while chunk := s.recv(65536):
                        out += chunk
                except ConnectionResetError:
                    # QEMU may close the socket with our last command unread when it quits;
                    # the answers before that were already received.
                    pass
        proc.wait(timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        proc.kill()
        proc.wait(timeout=10)
        return False, f"QMP over a socket failed: {exc}"
    ok = b'"status": "prelaunch"' in out or b'"status": "paused"' in out
    return ok, err.read_text(errors="replace").strip()[-600:]


@pytest.mark.parametrize("stem", _cases())
def test_corpus_case(stem: str, tmp_path: Path, corpus_guest: tuple[Path, Path]) -> None:
    xml = (CORPUS / f"{stem}.xml").read_text()
    libvirt_refuses = not list(CORPUS.glob(f"{stem}.x86_64-*.args"))
    try:
        d = parse_domain(_remap(xml, tmp_path, *corpus_guest))
        if d.type not in ("qemu", "kvm"):
            raise ConfigUnsupportedError(f"domain type '{d.type}'")
        machine = d.os.machine or "pc"
        argv = build_argv(
            d, emulator=QEMU or "", machine=machine,
            spec=LaunchSpec(
                pidfile=str(tmp_path / "pid"), daemonize=False, serial_log=str(tmp_path / "console"),
                hugetlbfs=hugetlbfs_mounts(), memory_dir=str(tmp_path),
            ),
        )  # fmt: skip
        extra_args, extra_env = qemu_commandline(d)[0], launch_env(d)
    except (ConfigUnsupportedError, XMLError) as exc:
        if libvirt_refuses:
            _results["refused-like-libvirt"] += 1
            return
        _results["unsupported"] += 1
        if "physical address space of TCG" in str(exc) or "hugetlbfs is not mounted" in str(exc):
            # This host cannot run it (TCG's address space, no hugepages), but the translation
            # can still be checked: for a KVM host with hugetlbfs (argv only, nothing is run)
            # it must mean what libvirt's does.
            host_argv = build_argv(
                d, emulator=QEMU or "", machine=d.os.machine or "pc",
                spec=LaunchSpec(pidfile=str(tmp_path / "pid"), daemonize=False, accel="kvm", hugetlbfs=None),
            )  # fmt: skip
            lv = _libvirt_args(stem)
            assert lv is not None
            ours, theirs = _meaning(host_argv), _meaning(lv)
            assert ours == {**theirs, "machine": ours["machine"]}, (ours, theirs)
            _results["host-cannot-run-same-meaning"] += 1
        pytest.xfail(f"{stem}: {exc}")
    except VirtError as exc:
        _results["unsupported"] += 1
        pytest.xfail(f"{stem}: {exc}")
    # <qemu:commandline> is passed through verbatim; the corpus passes arguments QEMU
    # refuses ('-unknown', a bogus image name), so QEMU is started without them and the
    # passthrough itself is compared with libvirt's.
    if extra_args:
        assert argv[-len(extra_args) :] == extra_args
        argv = argv[: -len(extra_args)]
    try:
        ok, err = _start_qemu(argv, tmp_path, extra_env)
    finally:
        while _listeners:
            _listeners.pop().close()
        while _ptys:
            os.close(_ptys.pop())
    if libvirt_refuses:
        _results["accepted-though-libvirt-refuses"] += 1
        pytest.xfail(
            f"{stem}: libvirt refuses this input; we translate it (QEMU {'starts' if ok else 'fails'})"
        )
    if not ok:
        _results["qemu-refused"] += 1
    assert ok, f"QEMU 7.2 refused our argv for {stem}: {err}\n{shlex.join(argv)}"
    lv = _libvirt_args(stem)
    assert lv is not None
    if extra_args or extra_env:
        lv_args, lv_env = _libvirt_args(stem, with_env=True) or ([], {})
        n = len(extra_args)
        assert any(lv_args[i : i + n] == extra_args for i in range(len(lv_args))), (extra_args, lv_args)
        assert {k: v for k, v in lv_env.items() if k in extra_env} == extra_env, (extra_env, lv_env)
    ours, theirs = _meaning(argv), _meaning(lv)
    machine_ok = theirs["machine"] in (ours["machine"], None) or str(theirs["machine"]).startswith(
        str(ours["machine"])
    )
    if (
        ours["devices"] != theirs["devices"]
        or ours["memory"] != theirs["memory"]
        or ours["smp"] != theirs["smp"]
        or ours["numa"] != theirs["numa"]
        or not machine_ok
    ):
        _results["started-differs"] += 1
    else:
        _results["started-same-meaning"] += 1
    assert ours["memory"] == theirs["memory"], (ours, theirs)
    assert ours["smp"] == theirs["smp"], (ours, theirs)
    assert machine_ok, (ours, theirs)
    assert ours["devices"] == theirs["devices"], (ours, theirs)
    assert ours["numa"] == theirs["numa"], (ours, theirs)


@pytest.fixture(scope="session")
def corpus_guest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    kernel = testguest.find_kernel()
    return kernel, testguest.build_initramfs(kernel, cache_dir=tmp_path_factory.mktemp("corpus-initramfs"))


def teardown_module() -> None:
    out = os.environ.get("VIRT_QEMU_CORPUS_SUMMARY")
    if out and _results:
        Path(out).write_text(json.dumps(dict(_results), indent=1) + "\n")
