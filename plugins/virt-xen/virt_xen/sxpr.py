"""Import of xend's S-expressions (``xen-sxpr``) as libvirt domain XML.

xend (Xen's toolstack before xl) described domains as S-expressions::

    (domain (domid 6) (name 'pvtest') (memory 420) (vcpus 2) (uuid '596a...')
      (image (linux (kernel '/boot/vmlinuz') (args 'root=/dev/xvda1')))
      (device (vbd (dev 'xvda') (uname 'file:/root/some.img') (mode 'w'))))

:func:`parse_sxpr` reads the syntax; :func:`sxpr_to_domain_xml` gives the
domain XML libvirt's old xend driver would have (by meaning).
"""

from __future__ import annotations

from lxml import etree

from virt_xen._cfgsyntax import ConfSyntaxError
from virt_xen._xmspecs import TAP_FORMATS, parse_chardev, vif_rate_kb
from virtcore.errors import ConfigUnsupportedError
from virtcore.xml import format_domain, parse_domain

__all__ = ["Sxpr", "parse_sxpr", "sxpr_to_domain_xml"]

#: A node: an atom (str) or a list of nodes.
Sxpr = str | list["Sxpr"]

_MAX = 1024 * 1024
_E = etree._Element


def parse_sxpr(text: str | bytes) -> Sxpr:
    """Parse one S-expression (``\\``-newline continuations allowed).

    :raises ConfSyntaxError: unbalanced parentheses, an unterminated string, trailing data.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfSyntaxError("the S-expression is not valid UTF-8") from None
    if len(text) > _MAX:
        raise ConfSyntaxError(f"the S-expression is larger than {_MAX} bytes")
    s = text.replace("\\\n", "")
    i = 0
    stack: list[list[Sxpr]] = [[]]
    while i < len(s):
        c = s[i]
        if c.isspace():
            i += 1
        elif c == "(":
            stack.append([])
            i += 1
        elif c == ")":
            if len(stack) == 1:
                raise ConfSyntaxError(f"unbalanced ')' at offset {i}")
            done = stack.pop()
            stack[-1].append(done)
            i += 1
            if len(stack) == 1:
                break  # like xend's readers, stop after the first complete expression
        elif c in "'\"":
            j = i + 1
            buf = []
            while j < len(s) and s[j] != c:
                if s[j] == "\\" and j + 1 < len(s):
                    j += 1
                buf.append(s[j])
                j += 1
            if j >= len(s):
                raise ConfSyntaxError(f"unterminated string at offset {i}")
            stack[-1].append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < len(s) and not s[j].isspace() and s[j] not in "()":
                j += 1
            stack[-1].append(s[i:j])
            i = j
    if len(stack) != 1 and not stack[0]:
        # xend-era writers sometimes lost the final parentheses; close what is open
        while len(stack) > 1:
            done = stack.pop()
            stack[-1].append(done)
    top = stack[0]
    if len(top) != 1:
        raise ConfSyntaxError("expected exactly one S-expression")
    return top[0]


def _get(node: Sxpr | None, key: str) -> Sxpr | None:
    """The first child list ``(key ...)`` of ``node``."""
    if isinstance(node, list):
        for child in node[1:]:
            if isinstance(child, list) and child and child[0] == key:
                return child
    return None


def _all(node: Sxpr | None, key: str) -> list[list[Sxpr]]:
    if not isinstance(node, list):
        return []
    return [c for c in node[1:] if isinstance(c, list) and c and c[0] == key]


def _val(node: Sxpr | None, key: str) -> str | None:
    """The atom of ``(key atom)`` in ``node``."""
    found = _get(node, key)
    if isinstance(found, list) and len(found) >= 2 and isinstance(found[1], str):
        return found[1]
    return None


def _num(node: Sxpr | None, key: str) -> int | None:
    v = _val(node, key)
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        raise ConfSyntaxError(f"S-expression value {key} is not a number: {v!r}") from None


def _sub(parent: _E, tag: str, text: str | None = None, **attrs: str | None) -> _E:
    e = etree.SubElement(parent, tag)
    for k, v in attrs.items():
        if v is not None:
            e.set(k, v)
    if text is not None:
        e.text = text
    return e


def _uuid(raw: str) -> str:
    h = raw.replace("-", "").lower()
    if len(h) != 32:
        raise ConfSyntaxError(f"malformed uuid {raw!r}")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _root_args(img: Sxpr | None) -> str | None:
    """The kernel command line of an image: ``root=ROOT ARGS``."""
    root_arg = _val(img, "root")
    args = _val(img, "args")
    return " ".join(x for x in (f"root={root_arg}" if root_arg else None, args) if x) or None


def _disk(devices: _E, vbd: Sxpr, hvm: bool, kind: str) -> None:
    """A ``(vbd ...)``/``(tap ...)``/``(tap2 ...)`` device, as libvirt's xend driver read it.

    The ``uname`` must name a driver (``phy:``, ``file:``, ``tap:aio:``...); only an
    HVM CD-ROM may have none. The bus follows the device name alone.
    """
    dev = _val(vbd, "dev")
    if not dev:
        raise ConfSyntaxError("domain information incomplete, vbd has no dev")
    uname = _val(vbd, "uname")
    mode = _val(vbd, "mode") or ""
    dev = dev.removeprefix("ioemu:")
    device = "disk"
    if ":" in dev:
        dev, _, suffix = dev.rpartition(":")
        device = "cdrom" if suffix == "cdrom" else "disk"
    disk = etree.SubElement(devices, "disk", type="file", device=device)
    drv_name = drv_type = path = None
    if uname:
        drv_name, colon, path = uname.partition(":")
        if not colon:
            raise ConfSyntaxError(f"cannot parse vbd filename '{uname}' of {dev}, missing driver name")
        if kind == "tap2" and drv_name == "tap":
            drv_name = "tap2"
        if drv_name in ("tap", "tap2"):
            sub, colon, path = path.partition(":")
            if not colon or sub not in TAP_FORMATS:
                raise ConfSyntaxError(f"unknown driver type '{sub}' in vbd filename '{uname}' of {dev}")
            drv_type = TAP_FORMATS[sub]
        elif drv_name == "phy":
            disk.set("type", "block")
    elif not (hvm and device == "cdrom"):
        raise ConfSyntaxError(f"domain information incomplete, vbd {dev} has no src")
    _sub(disk, "driver", name=drv_name, type=drv_type)
    if path:
        _sub(disk, "source", **{"dev" if disk.get("type") == "block" else "file": path})
    bus = "xen" if dev.startswith("xvd") else "scsi" if dev.startswith("sd") else "ide"
    _sub(disk, "target", dev=dev, bus=bus)
    if "r" in mode:
        _sub(disk, "readonly")
    if "!" in mode:
        _sub(disk, "shareable")


def _vfb_graphics(devices: _E, node: Sxpr | None, domid: int | None = None) -> None:
    gtype = _val(node, "type")
    if gtype is None:
        gtype = "vnc" if _val(node, "vnc") == "1" else "sdl" if _val(node, "sdl") == "1" else None
    if gtype == "vnc":
        g = _sub(devices, "graphics", type="vnc")
        display = _num(node, "vncdisplay")
        unused = _val(node, "vncunused")
        if display is not None and unused != "1":
            if display < 0:
                raise ConfSyntaxError(f"S-expression value vncdisplay is negative: {display}")
            g.set("port", str(5900 + display))
            g.set("autoport", "no")
        elif unused is None and domid is not None and domid > 0:
            # xend gave a running domain without vncunused the display of its id
            g.set("port", str(5900 + domid))
            g.set("autoport", "no")
        else:
            g.set("port", "-1")
            g.set("autoport", "yes")
        listen = _val(node, "vnclisten")
        if listen:
            g.set("listen", listen)
        if _val(node, "vncpasswd"):
            g.set("passwd", _val(node, "vncpasswd") or "")
        if _val(node, "keymap"):
            g.set("keymap", _val(node, "keymap") or "")
    elif gtype == "sdl":
        g = _sub(devices, "graphics", type="sdl")
        if _val(node, "display"):
            g.set("display", _val(node, "display") or "")
        if _val(node, "xauthority"):
            g.set("xauth", _val(node, "xauthority") or "")


def _chardev(devices: _E, tag: str, spec: str, port: int) -> None:
    parse_chardev(spec, devices, tag, port)


def sxpr_to_domain_xml(text: str | bytes) -> str:
    """Domain XML for a xend ``(domain ...)`` S-expression.

    :raises ConfSyntaxError: the text is not a valid S-expression.
    :raises XMLError, ConfigUnsupportedError: it does not describe a valid domain.
    """
    root = parse_sxpr(text)
    if not isinstance(root, list) or not root or root[0] not in ("domain", "vm"):
        raise ConfSyntaxError("expected a (domain ...) or (vm ...) S-expression")
    name = _val(root, "name")
    if not name:
        raise ConfSyntaxError("the domain has no (name ...)")
    image = _get(root, "image")
    hvm_img = _get(image, "hvm") if image is not None else None
    linux_img = _get(image, "linux") if image is not None else None
    hvm = hvm_img is not None
    img = hvm_img if hvm else linux_img
    dom = etree.Element("domain", type="xen")
    domid = _num(root, "domid")
    _sub(dom, "name", name)
    uuid = _val(root, "uuid")
    if uuid:
        _sub(dom, "uuid", _uuid(uuid))
    memory = _num(root, "memory") or 0
    maxmem = _num(root, "maxmem") or memory
    _sub(dom, "memory", str(max(maxmem, memory) * 1024), unit="KiB")
    _sub(dom, "currentMemory", str(memory * 1024), unit="KiB")
    vcpus = _num(root, "vcpus") or 1
    v = _sub(dom, "vcpu", str(vcpus))
    avail = _num(root, "vcpu_avail")
    if avail is not None:
        online = bin(avail & ((1 << vcpus) - 1)).count("1")
        if 0 < online < vcpus:
            v.set("current", str(online))
    cpus = _val(root, "cpus")
    if cpus:
        v.set("cpuset", cpus)
    bootloader = _val(root, "bootloader")
    if bootloader and not hvm:
        _sub(dom, "bootloader", bootloader)
        args = _val(root, "bootloader_args")
        if args:
            _sub(dom, "bootloader_args", args)
    os_ = _sub(dom, "os")
    if hvm:
        _sub(os_, "type", "hvm")
        # the loader is (loader ...), else the (kernel ...) of older xend; with a loader
        # named, a different kernel is a direct kernel boot
        loader = _val(img, "loader")
        kernel = _val(img, "kernel")
        if not loader and not kernel:
            raise ConfSyntaxError("domain information incomplete, missing HVM loader")
        _sub(os_, "loader", loader or kernel)
        if loader and kernel and kernel != loader:
            _sub(os_, "kernel", kernel)
            if _val(img, "ramdisk"):
                _sub(os_, "initrd", _val(img, "ramdisk"))
            cmd = _root_args(img)
            if cmd:
                _sub(os_, "cmdline", cmd)
        else:
            # boot devices only without a direct kernel; a/c/d/n, others skipped
            for letter in (_val(img, "boot") or "")[:4]:
                dev = {"a": "fd", "c": "hd", "d": "cdrom", "n": "network"}.get(letter)
                if dev:
                    _sub(os_, "boot", dev=dev)
    else:
        _sub(os_, "type", "linux")
        if not (img is not None and _val(img, "kernel")) and bootloader is None:
            raise ConfSyntaxError("domain information incomplete, missing kernel & bootloader")
        if img is not None:
            if _val(img, "kernel"):
                _sub(os_, "kernel", _val(img, "kernel"))
            if _val(img, "ramdisk"):
                _sub(os_, "initrd", _val(img, "ramdisk"))
            cmd = _root_args(img)
            if cmd:
                _sub(os_, "cmdline", cmd)
    if hvm:
        feats = _sub(dom, "features")
        for f in ("acpi", "apic", "pae"):
            if _val(img, f) == "1":
                _sub(feats, f)
        if _val(img, "hap") is not None:
            _sub(feats, "hap", state="on" if _val(img, "hap") == "1" else "off")
        if len(feats) == 0:
            dom.remove(feats)
    localtime = _val(img, "localtime") if img is not None else None
    localtime = localtime or _val(root, "localtime")
    clock = _sub(dom, "clock", offset="localtime" if localtime == "1" else "utc")
    if hvm and _val(img, "hpet") is not None:
        _sub(clock, "timer", name="hpet", present="yes" if _val(img, "hpet") == "1" else "no")
    for key, default in (("on_poweroff", "destroy"), ("on_reboot", "restart"), ("on_crash", "restart")):
        _sub(dom, key, _val(root, key) or default)
    devices = _sub(dom, "devices")
    if hvm and _val(img, "device_model"):
        _sub(devices, "emulator", _val(img, "device_model"))
    if hvm:
        for key, letter_dev in (("fda", "fda"), ("fdb", "fdb")):
            path = _val(img, key)
            if path:
                fd = _sub(devices, "disk", type="file", device="floppy")
                _sub(fd, "source", file=path)
                _sub(fd, "target", dev=letter_dev, bus="fdc")
    for devnode in _all(root, "device"):
        for child in devnode[1:]:
            if not isinstance(child, list) or not child:
                continue
            kind = child[0]
            if kind in ("vbd", "tap", "tap2"):
                _disk(devices, child, hvm, kind)
            elif kind == "vif":
                iface = etree.SubElement(devices, "interface")
                bridge = _val(child, "bridge")
                iface.set("type", "bridge" if bridge else "ethernet")
                if _val(child, "mac"):
                    _sub(iface, "mac", address=_val(child, "mac"))
                if bridge:
                    _sub(iface, "source", bridge=bridge)
                if _val(child, "ip"):
                    _sub(iface, "ip", address=_val(child, "ip"))
                if _val(child, "script"):
                    _sub(iface, "script", path=_val(child, "script"))
                if _val(child, "vifname"):
                    _sub(iface, "target", dev=_val(child, "vifname"))
                elif domid is not None and domid > 0:
                    # a running domain's backend device is named by xend's convention
                    _sub(iface, "target", dev=f"vif{domid}.{len(devices.findall('interface')) - 1}")
                model = _val(child, "model")
                if model:
                    _sub(iface, "model", type=model)
                elif _val(child, "type") == "netfront":
                    _sub(iface, "model", type="netfront")
                rate = _val(child, "rate")
                if rate:
                    bw = _sub(iface, "bandwidth")
                    _sub(bw, "outbound", average=str(vif_rate_kb(rate)))
            elif kind == "vfb":
                _vfb_graphics(devices, child, domid)
            elif kind == "pci":
                for pdev in _all(child, "dev"):
                    hd = _sub(devices, "hostdev", mode="subsystem", type="pci", managed="no")
                    src = _sub(hd, "source")
                    try:
                        _sub(src, "address",
                             domain=f"0x{int(_val(pdev, 'domain') or '0', 16):04x}",
                             bus=f"0x{int(_val(pdev, 'bus') or '0', 16):02x}",
                             slot=f"0x{int(_val(pdev, 'slot') or '0', 16):02x}",
                             function=f"0x{int(_val(pdev, 'func') or '0', 16):x}")  # fmt: skip
                    except ValueError:
                        raise ConfSyntaxError("malformed (pci (dev ...)) address") from None
    if hvm:
        cdrom = _val(img, "cdrom")
        taken = {t.get("dev") for t in devices.iter("target")}
        if cdrom and "hdc" not in taken:
            cd = _sub(devices, "disk", type="file", device="cdrom")
            _sub(cd, "source", file=cdrom)
            _sub(cd, "target", dev="hdc", bus="ide")
            _sub(cd, "readonly")
        serial_node = _get(img, "serial")
        if isinstance(serial_node, list) and len(serial_node) >= 2:
            specs = serial_node[1] if isinstance(serial_node[1], list) else [serial_node[1]]
            for port, spec in enumerate(s for s in specs if isinstance(s, str)):
                if spec != "none":
                    _chardev(devices, "serial", spec, port)
        parallel = _val(img, "parallel")
        if parallel and parallel != "none":
            _chardev(devices, "parallel", parallel, 0)
        usbdev = _val(img, "usbdevice")
        if usbdev in ("mouse", "tablet"):
            _sub(devices, "input", type=usbdev, bus="usb")
        sound = _val(img, "soundhw")
        if sound:
            models = ["sb16", "es1370"] if sound == "all" else sound.split(",")
            for model in models:
                if not model:
                    raise ConfigUnsupportedError(f"soundhw {sound!r} is not supported")
                _sub(devices, "sound", model=model)
        if _val(img, "vnc") == "1" or _val(img, "sdl") == "1":
            _vfb_graphics(devices, img, domid)
    else:
        if (img is not None and not _all(root, "device")) or img is not None:
            has_vfb = any(
                isinstance(c, list) and c and c[0] == "vfb" for dv in _all(root, "device") for c in dv[1:]
            )
            if not has_vfb and (_val(img, "vnc") == "1" or _val(img, "sdl") == "1"):
                _vfb_graphics(devices, img, domid)
        con = _sub(devices, "console", type="pty")
        _sub(con, "target", type="xen", port="0")
    parsed = parse_domain(etree.tostring(dom, encoding="unicode"))
    return format_domain(parsed, domain_id=domid if domid is not None and domid >= 0 else None)
