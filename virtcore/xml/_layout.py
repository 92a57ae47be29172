"""libvirt's output order of the children of each element, used when a child has to be created."""

from __future__ import annotations

_DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "defaultiothread", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
    "on_crash", "on_lockfailure", "pm", "perf", "devices", "seclabel", "keywrap", "launchSecurity",
)  # fmt: skip
_OS_ORDER = (
    "type", "firmware", "loader", "nvram", "init", "initarg", "initenv", "initdir", "inituser",
    "initgroup", "kernel", "initrd", "cmdline", "shim", "dtb", "root", "acpi", "boot", "bootmenu",
    "smbios", "bios",
)  # fmt: skip
_DISK_ORDER = (
    "driver", "auth", "source", "backingStore", "backenddomain", "geometry", "blockio", "target",
    "iotune", "throttlefilters", "boot", "readonly", "shareable", "transient", "serial", "wwn",
    "vendor", "product", "encryption", "alias", "address",
)  # fmt: skip
_IFACE_ORDER = (
    "mac", "source", "vlan", "virtualport", "ip", "route", "script", "downscript", "backenddomain",
    "target", "guest", "model", "driver", "backend", "filterref", "tune", "teaming", "link", "mtu",
    "bandwidth", "coalesce", "rom", "boot", "alias", "address",
)  # fmt: skip
_CHAR_ORDER = ("source", "protocol", "log", "target", "alias", "address")
_GRAPHICS_ORDER = ("listen", "channel", "image", "streaming", "clipboard", "mouse", "filetransfer", "gl")
_VIDEO_ORDER = ("driver", "model", "alias", "address")
_CLOCK_ORDER = ("timer",)
_CPU_ORDER = ("model", "vendor", "topology", "cache", "maxphysaddr", "feature", "numa")
