"""A tiny, fast-booting test guest: the host's Debian cloud kernel plus a busybox initramfs.

The initramfs's ``/init`` mounts the pseudo file systems, loads the few kernel
modules it needs (the ACPI button and evdev, so the power button reaches
user space; virtio for the balloon and disks), prints :data:`MARKER` on the
serial console and then, depending on ``vc.mode=`` on the kernel command line:

* ``ticker`` (default): prints ``vc-tick N`` every second and powers off when
  the ACPI power button is pressed;
* ``idle``: prints nothing more and ignores the power button;
* ``panic``: crashes the kernel a second after the marker (for ``<panic>`` devices);
* ``disk``: runs the first virtio disk (``/dev/vda``) as a shell script, so a test's
  image on a disk decides what the guest does (see :func:`disk_script_image`);
* ``net``: asks for a DHCP lease on ``eth0`` (busybox ``udhcpc`` with
  :data:`DHCP_SCRIPT`, retrying until it gets one), prints ``vc-net ADDRESS/PREFIX``
  (:data:`NET_MARK`) on the serial console once the address is set, then ticks.

With ``agent=True`` (:func:`build_initramfs`, :func:`guest_domain_xml`) the image also
carries Debian's ``qemu-guest-agent`` (``/usr/sbin/qemu-ga`` and the libraries ``ldd``
lists for it), the ``virtio_console`` module, an ``/etc/passwd`` and ``/etc/shadow``
with the users of :data:`AGENT_USERS`, and an ``/etc/os-release``; its init starts
the agent on the ``org.qemu.guest_agent.0`` port and gives ``eth0`` the address of
``vc.ip=ADDR/PREFIX`` when the command line has one. Other guests stay as small as
without it.

The image is built once and cached by the hash of its contents.

>>> kernel = find_kernel()                       # doctest: +SKIP
>>> initrd = build_initramfs()                   # doctest: +SKIP
>>> xml = guest_domain_xml("demo", kernel, initrd, serial_log="/tmp/demo.log")  # doctest: +SKIP
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from virtcore.errors import OperationFailedError, OperationTimeoutError

__all__ = [
    "MARKER",
    "TICK",
    "NET_MARK",
    "DHCP_SCRIPT",
    "MODULES",
    "AGENT_MODULES",
    "AGENT_USERS",
    "AGENT_PORT",
    "find_agent",
    "find_kernel",
    "find_busybox",
    "init_script",
    "build_initramfs",
    "guest_domain_xml",
    "disk_script_image",
    "default_cache_dir",
    "wait_for",
    "wait_marker",
    "last_tick",
    "read",
    "conformance_template",
]

#: Printed once on the serial console when the guest's userspace is up.
MARKER = "VIRTCORE-GUEST-READY"
#: Prefix of the ticker lines (``vc-tick 1``, ``vc-tick 2``...).
TICK = "vc-tick"
#: Printed by ``vc.mode=net`` once eth0 has its lease: ``vc-net 192.168.150.23/24``.
NET_MARK = "vc-net"

#: The script busybox ``udhcpc`` runs on lease events (``/etc/udhcpc.script``): it sets the
#: address and the default route, and says so on the console.
DHCP_SCRIPT = f"""#!/bin/busybox sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${{router%% *}}" dev "$interface"
    echo "{NET_MARK} $ip/$mask" > /dev/console ;;
esac
exit 0
"""

#: Kernel modules (relative to /lib/modules/VERSION/kernel), in load order.
MODULES = (
    "drivers/acpi/button.ko",
    "drivers/input/evdev.ko",
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/virtio/virtio_balloon.ko",
    "drivers/block/virtio_blk.ko",
    "net/core/failover.ko",
    "drivers/net/net_failover.ko",
    "drivers/net/virtio_net.ko",
    "drivers/misc/pvpanic/pvpanic.ko",
    "drivers/misc/pvpanic/pvpanic-mmio.ko",
)

#: What the agent needs besides :data:`MODULES`: the virtio-serial port driver.
AGENT_MODULES = ("drivers/char/virtio_console.ko",)

#: The guest agent's virtio-serial port name (libvirt's and QEMU's).
AGENT_PORT = "org.qemu.guest_agent.0"

#: Users of the agent guest's ``/etc/passwd`` (no password set: ``*`` in ``/etc/shadow``).
AGENT_USERS = ("root", "vcuser")

#: ``/etc/os-release`` of the agent guest (what ``guest-get-osinfo`` reports).
_OS_RELEASE = """NAME="virtcore test guest"
ID=virtcore-testguest
VERSION_ID=1
VERSION="1 (busybox)"
PRETTY_NAME="virtcore test guest 1"
"""

#: ``chpasswd`` for the agent guest (busybox has none; ``guest-set-user-password`` runs it):
#: ``USER:PASSWORD`` lines on stdin, ``-e`` when PASSWORD is already a crypt(3) hash.
_CHPASSWD = """#!/bin/busybox sh
enc=0
[ "$1" = -e ] && enc=1
while IFS= read -r line; do
  u=${line%%:*}
  p=${line#*:}
  if [ $enc = 1 ]; then h=$p; else h=$(printf '%s\\n' "$p" | mkpasswd -m sha512) || exit 1; fi
  awk -F: -v OFS=: -v u="$u" -v h="$h" '$1 == u { $2 = h; f = 1 } { print } END { exit !f }' \\
    /etc/shadow > /etc/shadow.new && mv /etc/shadow.new /etc/shadow || {
    rm -f /etc/shadow.new; echo "chpasswd: unknown user $u" >&2; exit 1; }
done
"""

_KERNEL_GLOBS = ("/boot/vmlinuz-*-cloud-amd64", "/boot/vmlinuz-*")


def find_kernel() -> Path:
    """The newest Debian cloud kernel in /boot (any vmlinuz when there is none).

    :raises OperationFailedError: no kernel is installed (install
        ``linux-image-cloud-amd64``).
    """
    for pattern in _KERNEL_GLOBS:
        found = sorted(glob.glob(pattern), key=_version_key)
        readable = [p for p in found if os.access(p, os.R_OK)]
        if readable:
            return Path(readable[-1])
    raise OperationFailedError("no guest kernel in /boot (install linux-image-cloud-amd64)")


def _version_key(path: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", os.path.basename(path))]


def find_busybox() -> Path:
    """A statically linked busybox (``busybox-static``).

    :raises OperationFailedError: none is installed.
    """
    for cand in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox") or ""):
        if cand and os.access(cand, os.X_OK):
            return Path(cand)
    raise OperationFailedError("busybox is not installed (install busybox-static)")


def find_agent() -> Path:
    """Debian's guest agent, ``/usr/sbin/qemu-ga``.

    :raises OperationFailedError: it is not installed (install ``qemu-guest-agent``).
    """
    path = Path("/usr/sbin/qemu-ga")
    if not os.access(path, os.X_OK):
        raise OperationFailedError("the guest agent is not installed (install qemu-guest-agent)")
    return path


def _shared_libraries(binary: Path) -> list[Path]:
    """The shared libraries ``ldd`` lists for ``binary``, the dynamic loader included.

    :raises OperationFailedError: ``ldd`` fails or a library is not found.
    """
    import subprocess

    try:
        out = subprocess.run(
            ["ldd", "--", str(binary)], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise OperationFailedError(f"cannot list the libraries of {binary}: {exc}") from None
    libs: list[Path] = []
    for line in out.splitlines():
        if "not found" in line:
            raise OperationFailedError(f"{binary} needs a library that is missing: {line.strip()}")
        path = next((w for w in line.split() if w.startswith("/")), None)
        if path is not None:
            libs.append(Path(path))
    return libs


def _kernel_release(kernel: Path) -> str:
    name = kernel.name
    return name[len("vmlinuz-") :] if name.startswith("vmlinuz-") else name


def _agent_lines() -> str:
    """Init lines starting the guest agent on its port (udev's ``/dev/virtio-ports`` link made by hand)."""
    return f"""hostname vcguest
export PATH=/bin:/usr/sbin
for a in $(cat /proc/cmdline); do
  case "$a" in
    vc.ip=*) ip addr add "${{a#vc.ip=}}" dev eth0 ;;
  esac
done
for p in /sys/class/virtio-ports/*; do
  [ "$(cat "$p/name" 2>/dev/null)" = {AGENT_PORT} ] || continue
  mkdir -p /dev/virtio-ports /var/run
  ln -sf "/dev/${{p##*/}}" /dev/virtio-ports/{AGENT_PORT}
  /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/{AGENT_PORT} -f /tmp/qemu-ga.pid -t /tmp -d
done
"""


def init_script(modules: tuple[str, ...], agent: bool = False) -> str:
    """The guest's ``/init`` (busybox sh), loading ``modules`` (file names in /lib/modules);
    with ``agent``, starting the guest agent (see the module's docstring)."""
    mods = " ".join(os.path.basename(m) for m in modules)
    return f"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin
for m in {mods}; do insmod /lib/modules/$m 2>/dev/null; done
for n in /sys/class/net/*; do ip link set "${{n##*/}}" up 2>/dev/null; done
{_agent_lines() if agent else ""}mode=ticker
marker={MARKER}
for a in $(cat /proc/cmdline); do
  case "$a" in
    vc.mode=*) mode="${{a#vc.mode=}}" ;;
  esac
done
buttons=""
if [ "$mode" != idle ]; then
  for d in /sys/class/input/input*; do
    [ "$(cat "$d/name" 2>/dev/null)" = "Power Button" ] || continue
    for e in "$d"/event*; do
      [ -e "$e" ] || continue
      n=${{e##*/}}
      buttons="$buttons $n"
      # The reader opens the device, then says so: a press is queued for it from then on.
      ( exec 3</dev/input/$n; : > /tmp/button-$n
        dd bs=24 count=1 of=/dev/null <&3 2>/dev/null
        echo vc-powerdown; sync; poweroff -f ) &
    done
  done
fi
# The marker promises that a power button press is no longer lost.
for n in $buttons; do
  while [ ! -e /tmp/button-$n ]; do usleep 20000; done
done
echo "$marker mode=$mode"
if [ "$mode" = panic ]; then
  sleep 1
  echo c > /proc/sysrq-trigger
fi
if [ "$mode" = disk ]; then
  sh /dev/vda
  while :; do sleep 3600; done
fi
if [ "$mode" = idle ]; then
  while :; do sleep 3600; done
fi
if [ "$mode" = net ]; then
  udhcpc -i eth0 -s /etc/udhcpc.script -b -t 3 -T 1 -A 1 >/dev/null 2>&1
fi
i=0
while :; do
  i=$((i+1))
  echo "{TICK} $i cpus=$(cat /sys/devices/system/cpu/present)"
  sleep 1
done
"""


class _Cpio:
    """A writer for the ``newc`` cpio format the kernel unpacks as an initramfs."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"") -> None:
        encoded = name.encode() + b"\0"
        header = "070701" + "".join(
            f"{v:08x}" for v in (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        )
        self.ino += 1
        self.buf.write(header.encode("ascii") + encoded)
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self) -> None:
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        self.buf.write(b"\0" * (-self.buf.tell() % 512))
        return self.buf.getvalue()


def default_cache_dir() -> Path:
    """Where built images are cached: ``$XDG_CACHE_HOME/virtcore/testguest``."""
    from virtcore import xdg

    return xdg.cache_home() / "virtcore" / "testguest"


def build_initramfs(
    kernel: Path | None = None,
    cache_dir: Path | str | None = None,
    busybox: Path | None = None,
    *,
    agent: bool = False,
) -> Path:
    """Build (or reuse) the test initramfs for ``kernel``; return its path.

    ``agent``: with the guest agent (see the module's docstring).

    The file name carries the SHA-256 of the image, computed from its inputs
    (the init script, busybox and the module files), so a changed input gives a
    new image and an unchanged one is reused without rebuilding.

    :raises OperationFailedError: busybox or the kernel modules are missing.
    """
    kernel = kernel or find_kernel()
    busybox = busybox or find_busybox()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    moddir = Path("/lib/modules") / _kernel_release(kernel) / "kernel"
    wanted = MODULES + (AGENT_MODULES if agent else ())
    mods = tuple(m for m in wanted if (moddir / m).exists())
    script = init_script(mods, agent).encode()
    try:
        bb = busybox.read_bytes()
        mod_data = [(os.path.basename(m), (moddir / m).read_bytes()) for m in mods]
        extra = _agent_files() if agent else []
    except OSError as exc:
        raise OperationFailedError(f"cannot read test guest inputs: {exc}") from None
    digest = hashlib.sha256(script)
    digest.update(hashlib.sha256(DHCP_SCRIPT.encode()).digest())
    digest.update(hashlib.sha256(bb).digest())
    for name, data in mod_data:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    for name, data, _mode in extra:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    target = cache / f"initramfs-{digest.hexdigest()[:24]}.cpio"
    if target.exists():
        return target
    archive = _Cpio()
    for d in ("bin", "dev", "etc", "proc", "sys", "tmp", "lib", "lib/modules"):
        archive.directory(d)
    archive.file("bin/busybox", bb, 0o755)
    archive.file("etc/udhcpc.script", DHCP_SCRIPT.encode(), 0o755)
    archive.file("init", script, 0o755)
    for name, data in mod_data:
        archive.file(f"lib/modules/{name}", data)
    made = {"bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"}
    for name, data, mode in extra:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in made:
                archive.directory(d)
                made.add(d)
        archive.file(name, data, mode)
    image = archive.finish()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=".initramfs-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(image)
        os.replace(tmp, target)
    except OSError as exc:
        raise OperationFailedError(f"cannot write the test initramfs to {cache}: {exc}") from None
    return target


def _agent_files() -> list[tuple[str, bytes, int]]:
    """``(path in the image, content, mode)`` of what the guest agent needs (see the module's docstring).

    :raises OperationFailedError: the agent or one of its libraries is missing.
    :raises OSError: one cannot be read.
    """
    qga = find_agent()
    files = [("usr/sbin/qemu-ga", qga.read_bytes(), 0o755)]
    for lib in _shared_libraries(qga):
        files.append((str(lib).lstrip("/"), lib.read_bytes(), 0o755))
    passwd = "".join(
        f"{u}:x:{i and 1000 + i}:{i and 1000 + i}:{u}:/tmp:/bin/sh\n" for i, u in enumerate(AGENT_USERS)
    )
    shadow = "".join(f"{u}:*:19000:0:99999:7:::\n" for u in AGENT_USERS)
    files += [
        ("etc/passwd", passwd.encode(), 0o644),
        ("etc/group", b"root:x:0:\n", 0o644),
        ("etc/shadow", shadow.encode(), 0o600),
        ("etc/os-release", _OS_RELEASE.encode(), 0o644),
        ("usr/sbin/chpasswd", _CHPASSWD.encode(), 0o755),
    ]
    return files


def disk_script_image(script: str, size: int = 1 << 20) -> bytes:
    """A raw disk image of ``size`` bytes that ``vc.mode=disk`` runs: ``script``, ``exit``, zeros.

    :raises ValueError: the script does not fit.
    """
    data = (script.rstrip("\n") + "\nexit 0\n").encode()
    if len(data) > size:
        raise ValueError(f"the script ({len(data)} bytes) does not fit in {size} bytes")
    return data + b"\0" * (size - len(data))


def guest_domain_xml(
    name: str,
    kernel: Path | str,
    initrd: Path | str,
    *,
    serial_log: Path | str | None = None,
    memory_mib: int = 128,
    vcpus: int = 1,
    mode: str = "ticker",
    uuid: str | None = None,
    extra_devices: str = "",
    domain_type: str = "qemu",
    agent: bool = False,
    guest_ip: str | None = None,
) -> str:
    """libvirt domain XML for a test guest (direct kernel boot, serial console to a file).

    ``agent``: with the guest agent's channel (boot an ``agent=True`` initramfs);
    ``guest_ip``: ``ADDR/PREFIX`` the agent guest's init gives ``eth0``.
    """
    serial = (
        f"<serial type='file'><source path={quoteattr(str(serial_log))}/><target port='0'/></serial>"
        if serial_log is not None
        else "<serial type='pty'><target port='0'/></serial>"
    )
    uuid_el = f"<uuid>{escape(uuid)}</uuid>" if uuid else ""
    cmdline = f"console=ttyS0 quiet panic=-1 vc.mode={mode}"
    if guest_ip is not None:
        if not re.fullmatch(r"[0-9a-fA-F.:]+/[0-9]{1,3}", guest_ip):
            raise ValueError(f"guest_ip must be ADDR/PREFIX, not {guest_ip!r}")
        cmdline += f" vc.ip={guest_ip}"
    if agent:
        extra_devices = (
            f"<channel type='unix'><target type='virtio' name='{AGENT_PORT}'/></channel>\n    "
            + extra_devices
        )
    return f"""<domain type={quoteattr(domain_type)}>
  <name>{escape(name)}</name>
  {uuid_el}
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>{vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{escape(str(kernel))}</kernel>
    <initrd>{escape(str(initrd))}</initrd>
    <cmdline>{escape(cmdline)}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    {serial}
    <memballoon model='virtio'/>
    {extra_devices}
  </devices>
</domain>
"""


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 20 ms until true.

    :raises OperationTimeoutError: naming ``what`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise OperationTimeoutError(f"waiting {timeout:g} s for {what}")
        time.sleep(0.02)


def read(path: Path) -> str:
    """The file's text (the console log so far), empty when it does not exist yet."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_marker(log: Path, count: int = 1, timeout: float = 60.0) -> None:
    """Wait until the guest printed :data:`MARKER` ``count`` times on the console ``log``."""
    wait_for(lambda: read(log).count(MARKER) >= count, timeout, f"{count} guest marker(s) in {log}")


def last_tick(log: Path) -> int:
    """The last ``vc-tick N`` the guest printed (0 before the first).

    Only whole lines count: the console may be read while QEMU is still writing
    one (``vc-tick `` without its number yet, or ``vc-tick 1`` of ``vc-tick 12``).
    """
    lines = read(log).split("\n")[:-1]  # the part after the last newline is not a whole line yet
    ticks = [int(line.split()[1]) for line in lines if line.startswith(TICK + " ") and len(line.split()) > 1]
    return ticks[-1] if ticks else 0


def conformance_template(serial_dir: str | None = None) -> str:
    """A domain template for ``tests/conformance --domain-template``: ``{name}``/``{uuid}`` placeholders.

    Two vCPUs defined, one active, and 256 MiB with 128 MiB current, like the
    suite's default template, so memory and vCPU tests have room to move.
    """
    kernel = find_kernel()
    initrd = build_initramfs(kernel)
    xml = guest_domain_xml("{name}", kernel, initrd, memory_mib=256, uuid="{uuid}", vcpus=2)
    xml = xml.replace("<vcpu>2</vcpu>", "<vcpu current='1'>2</vcpu>")
    return xml.replace("<vcpu current", "<currentMemory unit='MiB'>128</currentMemory>\n  <vcpu current", 1)


def main(argv: list[str] | None = None) -> int:
    """``python -m virt_qemu.testguest [--template FILE]``: build the guest, print its paths."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m virt_qemu.testguest", description=main.__doc__)
    p.add_argument("--template", help="also write a conformance domain template to FILE")
    args = p.parse_args(argv)
    kernel = find_kernel()
    print(f"kernel  {kernel}")
    print(f"initrd  {build_initramfs(kernel)}")
    if args.template:
        Path(args.template).write_text(conformance_template())
        print(f"template {args.template}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
