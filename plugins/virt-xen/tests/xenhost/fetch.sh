#!/bin/bash
# Download (once) everything the Xen-in-QEMU harness needs into the cache, without
# installing anything on the host:
#   $CACHE/debs     Debian packages fetched with `apt-get download`
#   $CACHE/sysroot  those packages unpacked with `dpkg -x` (Xen hypervisor + toolstack,
#                   the generic dom0 kernel, Debian's python3.11)
#   $CACHE/wheels   cp311 manylinux wheels of the Python dependencies (from PyPI)
# Re-running is cheap: each step is skipped when its stamp file exists.
set -euo pipefail
CACHE=${VIRTCORE_XEN_CACHE:-$HOME/.cache/virtcore-xen}
mkdir -p "$CACHE/debs"

# The dom0 kernel: Debian's generic kernel of the same ABI as the host's cloud kernel
# (the cloud kernel lacks CONFIG_XEN_DOM0 but is fine as the PV guest kernel).
GUEST_KERNEL=${GUEST_KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)}
[ -n "$GUEST_KERNEL" ] || { echo "fetch.sh: no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)" >&2; exit 2; }
KABI=$(basename "$GUEST_KERNEL" | sed -e 's/^vmlinuz-//' -e 's/-cloud-amd64$//')
KVER=$KABI-amd64

DEBS="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
      libxenmisc4.17 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1
      libxengnttab1 libxenhypfs1 libxenstore4 libxentoollog1 libxentoolcore1 libyajl2
      python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libexpat1 busybox-static
      linux-image-$KVER"

STAMP=$CACHE/sysroot.$KVER.stamp
if [ ! -e "$STAMP" ]; then
    (cd "$CACHE/debs" && for p in $DEBS; do
        ls "${p}"_*.deb >/dev/null 2>&1 || timeout 600 apt-get download -q "$p" >/dev/null
    done)
    rm -rf "$CACHE/sysroot"; mkdir -p "$CACHE/sysroot"
    for p in $DEBS; do
        f=$(ls "$CACHE/debs/${p}"_*.deb | sort -V | tail -n1)
        dpkg -x "$f" "$CACHE/sysroot"
    done
    touch "$STAMP"
fi

WSTAMP=$CACHE/wheels.stamp
if [ ! -e "$WSTAMP" ]; then
    rm -rf "$CACHE/wheels"; mkdir -p "$CACHE/wheels"
    timeout 600 python3 -m pip download -q --disable-pip-version-check --dest "$CACHE/wheels" \
        --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        "pluggy>=1.5" "stevedore>=5.1" "lxml>=5.0" "attrs>=23.1" "pytest>=7" "pyxs>=0.4.1"
    touch "$WSTAMP"
fi
echo "KVER=$KVER"
echo "GUEST_KERNEL=$GUEST_KERNEL"
