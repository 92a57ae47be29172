"""``qemu-img``: the argv for creating, converting and resizing images, built from the models, and probing.

The argv builders are pure functions of the parsed :class:`~virtcore.xml.VolumeDef`
(and of paths the driver computed), mirroring libvirt's
``virStorageBackendCreateQemuImgCmdFromVol``: ``create -f FMT [-b BACKING] [-o
OPTS] PATH SIZEK`` or ``convert -f INFMT -O FMT [-o OPTS] INPUT PATH``, with the
``-o`` options in libvirt's order (``backing_fmt``, ``preallocation``, ``nocow``,
``compat``, ``cluster_size``, ``lazy_refcounts``, ``extended_l2``).

No user string ever becomes an option: formats come from a fixed table, sizes
and cluster sizes are integers, ``compat`` is ``N.N`` (the model checks it), and
every path is absolute (so it can neither start with ``-`` nor be read by
``qemu-img`` as a ``json:`` or protocol name).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Sequence

import attrs

from virtcore.errors import ConfigUnsupportedError, ErrorDomain, InvalidArgError, OperationFailedError
from virtcore.xml.volume import VolumeDef

__all__ = [
    "CREATABLE_FORMATS",
    "ImageInfo",
    "convert_argv",
    "create_argv",
    "info",
    "qemu_img_format",
    "resize_argv",
    "run",
]

STORAGE = ErrorDomain.STORAGE

#: libvirt's volume format -> qemu-img's driver name, for the formats qemu-img can write.
CREATABLE_FORMATS: dict[str, str] = {
    "raw": "raw",
    "iso": "raw",  # an ISO image is raw bytes to qemu-img, as libvirt passes it
    "qcow2": "qcow2",
    "qcow": "qcow",
    "qed": "qed",
    "vmdk": "vmdk",
    "vdi": "vdi",
    "vpc": "vpc",
    "vhd": "vpc",
}
#: Formats qemu-img reads but cannot create: valid as a conversion's input only.
_READ_ONLY_FORMATS: dict[str, str] = {"bochs": "bochs", "cloop": "cloop", "dmg": "dmg"}
#: qemu-img's driver name -> libvirt's format name (what probing reports).
_FROM_QEMU: dict[str, str] = {
    "raw": "raw",
    "qcow2": "qcow2",
    "qcow": "qcow",
    "qed": "qed",
    "vmdk": "vmdk",
    "vdi": "vdi",
    "vpc": "vpc",
    "vhdx": "vhdx",
    "bochs": "bochs",
    "cloop": "cloop",
    "dmg": "dmg",
    "luks": "luks",
    "parallels": "ploop",
}


def qemu_img_format(fmt: str | None, what: str, *, reading: bool = False) -> str:
    """qemu-img's name for libvirt's volume format ``fmt`` (``None``: raw).

    :raises ConfigUnsupportedError: a format qemu-img cannot write (or read, with ``reading``).
    """
    fmt = fmt or "raw"
    name = CREATABLE_FORMATS.get(fmt) or (_READ_ONLY_FORMATS.get(fmt) if reading else None)
    if name is None:
        if fmt == "luks":
            raise ConfigUnsupportedError(
                f"volume encryption (luks format) of {what} is not supported", domain=STORAGE
            )
        raise ConfigUnsupportedError(
            f"volume format '{fmt}' of {what} is not supported by qemu-img", domain=STORAGE
        )
    return name


def _absolute(path: str, what: str) -> str:
    if not path.startswith("/") or "\0" in path:
        raise InvalidArgError(f"{what} must be an absolute path, not {path!r}")
    return path


def _what(vol: VolumeDef) -> str:
    return f"storage volume '{vol.name}'"


def _options(
    vol: VolumeDef, fmt: str, *, backing_format: str | None, prealloc: bool, size_kib: int
) -> list[str]:
    """The ``-o`` options, in libvirt's order."""
    what = _what(vol)
    target = vol.target
    opts: list[str] = []
    if target is not None and target.encryption is not None:
        raise ConfigUnsupportedError(
            f"volume encryption ({target.encryption.format}) of {what} is not supported", domain=STORAGE
        )
    if backing_format is not None:
        opts.append(
            "backing_fmt=" + qemu_img_format(backing_format, f"the backing store of {what}", reading=True)
        )
    if prealloc:
        if fmt != "qcow2":
            raise ConfigUnsupportedError(
                f"metadata preallocation of {what} needs the qcow2 format", domain=STORAGE
            )
        allocation_kib = -(-(vol.allocation or 0) // 1024)
        opts.append("preallocation=" + ("metadata" if size_kib > allocation_kib else "falloc"))
    if target is not None and target.nocow:
        opts.append("nocow=on")
    compat = target.compat if target is not None else None
    lazy = target is not None and target.lazy_refcounts
    extended_l2 = target is not None and target.features is not None and target.features.extended_l2
    cluster_size = target.cluster_size if target is not None else None
    if fmt == "qcow2":
        compat = compat or "1.1"  # libvirt's default: qcow2 v3
        if compat == "0.10" and (lazy or extended_l2):
            raise ConfigUnsupportedError(
                f"qcow2 features of {what} need compat 1.1, not 0.10", domain=STORAGE
            )
        opts.append("compat=" + compat)
        if cluster_size is not None:
            opts.append(f"cluster_size={int(cluster_size)}")
        if lazy:
            opts.append("lazy_refcounts=on")
        if extended_l2:
            opts.append("extended_l2=on")
    elif compat is not None or lazy or extended_l2 or cluster_size is not None:
        raise ConfigUnsupportedError(
            f"qcow2 options of {what} need the qcow2 format, not {fmt}", domain=STORAGE
        )
    return ["-o", ",".join(opts)] if opts else []


def create_argv(
    vol: VolumeDef,
    path: str,
    *,
    backing_path: str | None = None,
    backing_format: str | None = None,
    prealloc_metadata: bool = False,
) -> list[str]:
    """``create`` argv (after the tool's name) making ``vol`` at ``path``.

    ``backing_path``/``backing_format``: the backing store (default: ``vol``'s
    ``<backingStore>``). The size is the capacity in KiB rounded up, left out
    when there is none (an overlay takes its backing file's size).
    """
    what = _what(vol)
    target_fmt = vol.target.format if vol.target is not None else None
    fmt = qemu_img_format(target_fmt, what)
    if backing_path is None and vol.backing_store is not None:
        backing_path = vol.backing_store.path
        backing_format = backing_format or vol.backing_store.format
    if backing_path is not None and fmt == "raw":
        raise ConfigUnsupportedError(f"a raw volume cannot have a backing store ({what})", domain=STORAGE)
    if vol.capacity is None and backing_path is None:
        raise InvalidArgError(f"{what} has no capacity and no backing store to take it from")
    size_kib = -(-(vol.capacity or 0) // 1024)
    argv = ["create", "-f", fmt]
    if backing_path is not None:
        argv += ["-b", _absolute(backing_path, f"the backing store of {what}")]
    argv += _options(
        vol,
        fmt,
        backing_format=(backing_format or "raw") if backing_path is not None else None,
        prealloc=prealloc_metadata,
        size_kib=size_kib,
    )
    argv.append(_absolute(path, f"the path of {what}"))
    if vol.capacity is not None:
        argv.append(f"{size_kib}K")
    return argv


def convert_argv(
    vol: VolumeDef,
    path: str,
    input_path: str,
    input_format: str | None,
    *,
    prealloc_metadata: bool = False,
    input_encryption: str | None = None,
) -> list[str]:
    """``convert`` argv copying the image at ``input_path`` (``input_format``) into ``vol`` at ``path``.

    ``input_encryption``: the source's ``<encryption format=...>``, if it is encrypted.
    """
    what = _what(vol)
    if input_encryption is not None:
        raise ConfigUnsupportedError(
            f"copying an encrypted ({input_encryption}) volume into {what} is not supported", domain=STORAGE
        )
    if vol.backing_store is not None:
        raise ConfigUnsupportedError(f"a copy cannot have a backing store ({what})", domain=STORAGE)
    fmt = qemu_img_format(vol.target.format if vol.target is not None else None, what)
    in_fmt = qemu_img_format(input_format, f"the volume copied into {what}", reading=True)
    return [
        "convert",
        "-f",
        in_fmt,
        "-O",
        fmt,
        *_options(
            vol,
            fmt,
            backing_format=None,
            prealloc=prealloc_metadata,
            size_kib=-(-(vol.capacity or 0) // 1024),
        ),
        _absolute(input_path, f"the source of {what}"),
        _absolute(path, f"the path of {what}"),
    ]


def resize_argv(path: str, fmt: str | None, capacity: int, *, shrink: bool, allocate: bool) -> list[str]:
    """``resize`` argv setting the image at ``path`` to ``capacity`` bytes."""
    argv = ["resize", "-f", qemu_img_format(fmt, f"the volume {path}", reading=True)]
    if allocate:
        argv.append("--preallocation=falloc")
    if shrink:
        argv.append("--shrink")
    return [*argv, _absolute(path, "a volume's path"), str(int(capacity))]


@functools.cache
def _tool_on(path: str | None) -> str | None:
    return shutil.which("qemu-img", path=path)


def tool() -> str:
    """The absolute path of ``qemu-img`` on ``$PATH`` (looked up once per value of ``$PATH``).

    :raises OperationFailedError: it is not installed.
    """
    found = _tool_on(os.environ.get("PATH"))
    if found is None:
        raise OperationFailedError("qemu-img is not installed (Debian: qemu-utils)")
    return found


def run(argv: Sequence[str], what: str) -> str:
    """Run ``qemu-img`` with ``argv``; its standard output.

    :raises OperationFailedError: it failed; the message names ``what`` and includes qemu-img's.
    """
    try:
        proc = subprocess.run(
            [tool(), *argv],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError as exc:
        raise OperationFailedError(f"{what}: cannot run qemu-img: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split()) or f"exit status {proc.returncode}"
        raise OperationFailedError(f"{what}: qemu-img failed: {detail}")
    return proc.stdout


@attrs.frozen
class ImageInfo:
    """What ``qemu-img info`` reports of an image (bytes; formats by libvirt's names)."""

    format: str
    capacity: int
    allocation: int
    #: The backing chain below this image: ``(path, format)`` from the nearest down.
    backing_chain: tuple[tuple[str, str | None], ...] = ()

    @property
    def backing(self) -> tuple[str, str | None] | None:
        """The immediate backing file and its format, if any."""
        return self.backing_chain[0] if self.backing_chain else None


def _entry(data: object, path: str) -> dict[str, object]:
    if not isinstance(data, dict):
        raise OperationFailedError(f"qemu-img info of {path}: unexpected output")
    return data


def info(path: str, what: str) -> ImageInfo:
    """Probe the image at ``path`` (``qemu-img info --output=json --backing-chain``).

    A broken backing chain still reports the image itself.

    :raises OperationFailedError: not an image qemu-img can open.
    """
    base = ["info", "--output=json", "-U"]
    try:
        data = json.loads(run([*base, "--backing-chain", _absolute(path, what)], what))
    except OperationFailedError:
        data = json.loads(run([*base, _absolute(path, what)], what))
    except ValueError:
        raise OperationFailedError(f"{what}: qemu-img info printed no JSON") from None
    chain = [_entry(d, path) for d in data] if isinstance(data, list) else [_entry(data, path)]
    top = chain[0]
    backing: list[tuple[str, str | None]] = []
    below = chain[1:]
    if below:
        for child in below:
            backing.append((str(child.get("filename")), _libvirt_format(child.get("format"))))
    else:
        name = top.get("full-backing-filename") or top.get("backing-filename")
        if isinstance(name, str):
            backing.append((name, _libvirt_format(top.get("backing-filename-format"))))
    return ImageInfo(
        format=_libvirt_format(top.get("format")) or "raw",
        capacity=_int(top.get("virtual-size")),
        allocation=_int(top.get("actual-size")),
        backing_chain=tuple(backing),
    )


def _libvirt_format(name: object) -> str | None:
    return _FROM_QEMU.get(name, str(name)) if isinstance(name, str) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
