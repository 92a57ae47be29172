"""What libvirt's post-parse fills into a domain definition the test driver reads.

libvirt's parser gives an ``<os><type>`` without ``arch`` the driver's default
architecture: the test driver's is i686 (``defArch``), whatever the host. Its
common post-parse (every driver's):

- makes a ``<loader>`` path without type a ``rom``;
- boots an HVM guest from ``hd`` when neither ``<os><boot>`` nor a device's
  ``<boot order>`` says where;
- makes a console without target a serial console, and an HVM guest's first
  console an alias of its first serial port (adding the port, or the console,
  that is missing);
- gives a disk without bus the one its target name implies (``hd*`` ide, ``sd*``
  scsi, ``vd*`` virtio, ``xvd*`` xen, ``ubd*`` uml, a floppy fdc, else ide) and,
  without ``<address>``, its drive address on its bus (refusing a target name it
  cannot number); adds the ide/fdc/scsi/sata controllers those addresses name;
- says ``autoport='no'`` for a VNC or SPICE display given a port;
- writes a guest CPU model's mode, match and fallback (custom, exact, allow);
- gives a guest with graphics but no video card one, and the first card
  ``primary='yes'``, the test driver's model (cirrus; xen for a xen guest) and
  the model's video memory.

(``<vcpu placement>``'s default is the XML model's own: a definition built in
Python has it too.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from virtcore.errors import XMLError

if TYPE_CHECKING:
    from virtcore.xml import CPU, CharDevice, Device, DomainDef

#: The architecture libvirt 9.0's test driver gives a guest whose ``<os><type>`` names none.
DEFAULT_ARCH = "i686"
#: The video memory (KiB) libvirt gives a card of these models that says none.
VIDEO_RAM = {"cirrus": 16384, "vga": 16384, "vmvga": 16384, "bochs": 16384, "xen": 4096, "qxl": 65536}
#: The serial target types a stub console can stand for (libvirt's, and none).
_CONSOLE_SERIALS = (None, "isa-serial", "spapr-vio-serial", "system-serial", "sclp-serial")


def with_driver_defaults(definition: DomainDef) -> DomainDef:
    """``definition`` with what libvirt's test driver fills in when the XML leaves it out."""
    os_ = definition.os
    if os_.arch is None:
        os_ = attrs.evolve(os_, arch=DEFAULT_ARCH)
    if os_.loader is not None and os_.loader_type is None:
        os_ = attrs.evolve(os_, loader_type="rom")
    if os_.type == "hvm" and not os_.boot and not _device_boot_order(definition):
        os_ = attrs.evolve(os_, boot=("hd",))
    cpu = _cpu(definition)
    devices = list(definition.devices)
    _disks(devices)
    _console_targets(devices)
    if os_.type == "hvm":
        _console_compat(devices)
    _video(devices, os_.type)
    _autoport(devices)
    if os_ is definition.os and cpu is definition.cpu and devices == list(definition.devices):
        return definition
    return attrs.evolve(definition, os=os_, cpu=cpu, devices=tuple(devices))


def _device_boot_order(definition: DomainDef) -> bool:
    return any(getattr(dev, "boot_order", None) for dev in definition.devices)


def _source(chr_: CharDevice) -> dict[str, Any]:
    """A character device's host side, to give another."""
    return {
        "type": chr_.type,
        "source_mode": chr_.source_mode,
        "source_path": chr_.source_path,
        "source_host": chr_.source_host,
        "source_service": chr_.source_service,
    }


#: Disk target name prefixes, and the bus each implies (libvirt's order of trying them).
_DISK_PREFIXES = (
    ("fd", "fdc"),
    ("hd", "ide"),
    ("vd", "virtio"),
    ("sd", "scsi"),
    ("xvd", "xen"),
    ("ubd", "uml"),
)
#: Disk buses whose disks sit on a controller of the bus's name: units per bus, buses per controller,
#: in the order libvirt adds the controllers.
_DRIVE_BUSES = {"scsi": (7, 1), "fdc": (2, 1), "ide": (2, 2), "sata": (6, 1)}


def disk_index(name: str) -> int | None:
    """The disk number a target name gives (``hda`` 0, ``sdb`` 1, ``vdaa`` 26, ``sda1`` 0), as
    libvirt's ``virDiskNameToIndex``; ``None`` for a name it cannot number."""
    rest = next((name[len(p) :] for p, _ in _DISK_PREFIXES if name.startswith(p)), None)
    if rest is None:
        return None
    letters = len(rest) - len(rest.lstrip("abcdefghijklmnopqrstuvwxyz"))
    if not rest[letters:].isdigit() and rest[letters:] != "":
        return None
    index = 0
    for i, ch in enumerate(rest[:letters]):
        index = (index + (1 if i else 0)) * 26 + ord(ch) - ord("a")
    return index


def _disk_bus(device: str, target: str) -> str:
    if device == "floppy":
        return "fdc"
    return next((bus for prefix, bus in _DISK_PREFIXES[1:] if target.startswith(prefix)), "ide")


def _disks(devices: list[Device]) -> None:
    """Each disk's bus and drive address, and the controllers the addresses name."""
    from virtcore.xml import Address, Controller, Disk  # saves ~170 ms on open, with the model

    for i, dev in enumerate(devices):
        if not isinstance(dev, Disk):
            continue
        bus = dev.target_bus or _disk_bus(dev.device, dev.target_dev)
        address = dev.address
        if address is None:
            index = disk_index(dev.target_dev)
            if index is None:
                raise XMLError(f"Unknown disk name '{dev.target_dev}' and no address specified")
            if bus in _DRIVE_BUSES:
                units, buses = _DRIVE_BUSES[bus]
                per_controller = units * buses
                address = Address(
                    type="drive",
                    controller=index // per_controller,
                    bus=(index % per_controller) // units,
                    target=0,
                    unit=index % units,
                )
        if bus != dev.target_bus or address is not dev.address:
            devices[i] = attrs.evolve(dev, target_bus=bus, address=address)
    for bus in _DRIVE_BUSES:
        numbers = [
            d.address.controller or 0
            for d in devices
            if isinstance(d, Disk)
            and d.target_bus == bus
            and d.address is not None
            and d.address.type == "drive"
        ]
        have = {d.index or 0 for d in devices if isinstance(d, Controller) and d.type == bus}
        for index in range(max(numbers, default=-1) + 1):
            if index not in have:
                last = max(
                    (n for n, d in enumerate(devices) if isinstance(d, (Controller, Disk))),
                    default=len(devices) - 1,
                )
                devices.insert(last + 1, Controller(type=bus, index=index))


def _console_targets(devices: list[Device]) -> None:
    """A console without target is a serial console, on the port after the last one given."""
    from virtcore.xml import Console  # saves ~170 ms on open, with the model

    ports = [d.target_port for d in devices if isinstance(d, Console) and d.target_port is not None]
    port = max(ports, default=-1)
    for i, dev in enumerate(devices):
        if isinstance(dev, Console) and dev.target_type is None:
            if dev.target_port is None:
                port += 1
            devices[i] = attrs.evolve(
                dev, target_type="serial", target_port=port if dev.target_port is None else dev.target_port
            )


def _console_compat(devices: list[Device]) -> None:
    """libvirt's console back-compat: the first console of an HVM guest is its first serial port."""
    from virtcore.xml import Console, Serial  # saves ~170 ms on open, with the model

    consoles = [i for i, d in enumerate(devices) if isinstance(d, Console)]
    serials = [i for i, d in enumerate(devices) if isinstance(d, Serial)]
    first = devices[consoles[0]] if consoles else None
    if isinstance(first, Console) and first.target_type == "serial":
        if not serials:
            devices.insert(consoles[0], Serial(**_source(first), target_port=0))
            devices[consoles[0] + 1] = attrs.evolve(first, target_port=0)
            return
        serial = devices[serials[0]]
        assert isinstance(serial, Serial)
        port = serial.target_port or 0
        devices[consoles[0]] = attrs.evolve(first, **_source(serial), target_port=port)
    elif serials:
        serial = devices[serials[0]]
        assert isinstance(serial, Serial)
        if serial.target_type in _CONSOLE_SERIALS:
            stub = Console(**_source(serial), target_type="serial", target_port=serial.target_port or 0)
            devices.insert(consoles[0] if consoles else serials[0] + 1, stub)


def _video(devices: list[Device], os_type: str) -> None:
    """The implicit video card of a guest with graphics; the first card primary, with model and memory."""
    from virtcore.xml import Graphics, Video  # saves ~170 ms on open, with the model

    videos = [i for i, d in enumerate(devices) if isinstance(d, Video)]
    if not videos:
        if not any(isinstance(d, Graphics) for d in devices):
            return
        devices.append(Video())
        videos = [len(devices) - 1]
    for n, i in enumerate(videos):
        video = devices[i]
        assert isinstance(video, Video)
        if video.model == "none":
            continue
        model = video.model or ("xen" if os_type in ("xen", "linux") else "cirrus")
        vram = video.vram if video.vram is not None else VIDEO_RAM.get(model)
        heads = video.heads if video.heads is not None else 1
        primary = True if n == 0 else video.primary
        devices[i] = attrs.evolve(video, model=model, vram=vram, heads=heads, primary=primary)


def _autoport(devices: list[Device]) -> None:
    """A VNC or SPICE display given a port says ``autoport='no'``, as libvirt writes it."""
    from virtcore.xml import Graphics  # saves ~170 ms on open, with the model

    for i, dev in enumerate(devices):
        if isinstance(dev, Graphics) and dev.type in ("vnc", "spice") and dev.autoport is None and dev.port:
            devices[i] = attrs.evolve(dev, autoport=False)


def _cpu(definition: DomainDef) -> CPU | None:
    """A guest CPU with a model as libvirt writes it: its mode (custom unless said), a custom
    CPU's ``match`` (exact unless said) and the model's ``fallback`` (allow unless said)."""
    cpu = definition.cpu
    if cpu is None or cpu.model is None:
        return cpu
    mode = cpu.mode or "custom"
    match = (cpu.match or "exact") if mode == "custom" else cpu.match
    fallback = cpu.model_fallback or "allow"
    if (mode, match, fallback) == (cpu.mode, cpu.match, cpu.model_fallback):
        return cpu
    return attrs.evolve(cpu, mode=mode, match=match, model_fallback=fallback)
