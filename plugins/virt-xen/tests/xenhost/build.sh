#!/bin/bash
# Build the images the harness boots, from the cache fetch.sh filled:
#   $WORK/xen.elf             the hypervisor, uncompressed (QEMU's multiboot loader wants the ELF)
#   $WORK/vmlinuz-dom0        Debian's generic kernel (CONFIG_XEN_DOM0)
#   $WORK/dom0-initrd.cpio.gz base image (busybox, Xen toolstack, python3.11, Python deps, qemu-img,
#                             tiny PV guest payload; cached in $CACHE keyed on its inputs)
#                             + the project layer (virtcore, virt-test, virt-xen, virt-storage wheels
#                             unpacked; tests; the dom0 init) rebuilt on every run.
# usage: build.sh REPO_ROOT
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "${1:?usage: build.sh REPO_ROOT}" && pwd)
CACHE=${VIRTCORE_XEN_CACHE:-$HOME/.cache/virtcore-xen}
WORK=${XENHOST_WORK:-/tmp/virtcore-xenhost}
SYS=$CACHE/sysroot
eval "$("$HERE/fetch.sh" | grep -E '^(KVER|GUEST_KERNEL)=')"
XENBIN=/usr/lib/xen-4.17/bin
SITE=/usr/local/lib/python3.11/dist-packages
mkdir -p "$WORK"
export LD_LIBRARY_PATH=$SYS/usr/lib/x86_64-linux-gnu:$SYS/lib/x86_64-linux-gnu

zcat "$SYS/boot/xen-4.17-amd64.gz" > "$WORK/xen.elf"
cp "$SYS/boot/vmlinuz-$KVER" "$WORK/vmlinuz-dom0"

# copy_libs ROOT FILE...: the shared libraries FILEs need, from the sysroot when it has them,
# else from the host (same Debian release), at the path the loader will look for them.
copy_libs() {
    local root=$1; shift
    local f l dst
    for f in "$@"; do
        ldd "$f" 2>/dev/null | awk '/=> not found/ {print "MISSING " $1; next} {for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}'
    done | sort -u | while read -r l; do
        case "$l" in MISSING*) echo "build.sh: library not found: ${l#MISSING }" >&2; exit 3;; esac
        dst=${l#"$SYS"}
        [ -e "$root$dst" ] && continue
        mkdir -p "$root$(dirname "$dst")"; cp -L "$l" "$root$dst"
    done
}

# ---------------- base image (cached) ----------------
BASE_KEY=$( (cat "$HERE/build.sh"; echo "$KVER $GUEST_KERNEL"; ls "$CACHE/wheels" "$CACHE/debs") | sha256sum | cut -c1-16)
BASE=$CACHE/dom0-base-$BASE_KEY.cpio.gz
if [ ! -e "$BASE" ]; then
    # tiny PV guest: busybox, prints a marker, powers off / reboots when Xen asks
    G=$WORK/guest-root; rm -rf "$G"; mkdir -p "$G"/{bin,sbin,proc,sys,dev}
    cp "$SYS/bin/busybox" "$G/bin/busybox"
    for a in sh echo cat sleep mount uname; do ln -s busybox "$G/bin/$a"; done
    # Linux's xenbus shutdown watch runs /sbin/poweroff or /sbin/reboot (orderly_poweroff)
    printf '#!/bin/sh\n/bin/busybox poweroff -f\n' > "$G/sbin/poweroff"
    printf '#!/bin/sh\n/bin/busybox reboot -f\n' > "$G/sbin/reboot"
    chmod +x "$G/sbin/poweroff" "$G/sbin/reboot"
    cat > "$G/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
echo "GUEST-MARKER: up, kernel $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime)"
# what udev does in a real guest: bring vCPUs the toolstack hot-plugs online
while true; do
    for f in /sys/devices/system/cpu/cpu*/online; do
        [ "$(cat $f 2>/dev/null)" = 0 ] && echo 1 > $f && echo "GUEST-CPU-ONLINE $f"
    done
    sleep 1
done
EOF
    chmod +x "$G/init"

    R=$WORK/dom0-base; rm -rf "$R"
    mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,root,guest,modules,mnt/host}
    mkdir -p "$R"/var/lib/xen "$R"/var/lib/xenstored "$R"/var/log/xen/console
    ln -s /run "$R/var/run"; ln -s /run/lock "$R/var/lock"
    cp "$SYS/bin/busybox" "$R/bin/busybox"
    for a in $("$R/bin/busybox" --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
    # usrmerge layout, as on the host: /lib and /lib64 point into /usr
    mkdir -p "$R/usr/lib/x86_64-linux-gnu" "$R/usr/lib64"
    ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
    # Xen userspace
    BINS="$XENBIN/xl $XENBIN/xenstored $XENBIN/xenconsoled $XENBIN/xen-init-dom0 $XENBIN/libxl-save-helper
          $XENBIN/xenstore-control $XENBIN/xenconsole /usr/bin/xenstore"
    for b in $BINS; do mkdir -p "$R$(dirname "$b")"; cp -a "$SYS$b" "$R$b"; done
    for a in read write ls list rm exists chmod watch; do ln -sf xenstore "$R/usr/bin/xenstore-$a"; done
    copy_libs "$R" $(for b in $BINS; do echo "$SYS$b"; done)
    # the hotplug scripts libxl runs for disks (/etc/xen/scripts/block) are bash, lock with flock
    # and parse coreutils' stat and util-linux' losetup output (busybox has no bash or flock;
    # its stat -c %D differs and the lock loop never ends): the host's, same Debian release
    cp -L /bin/bash "$R/usr/bin/bash"; ln -s /usr/bin/bash "$R/bin/bash"
    for b in /usr/bin/flock /usr/bin/stat /usr/sbin/losetup; do  # replacing busybox's links
        rm -f "$R/bin/$(basename "$b")"; cp -L "$b" "$R/bin/$(basename "$b")"
    done
    copy_libs "$R" /bin/bash /usr/bin/flock /usr/bin/stat /usr/sbin/losetup
    # qemu-img (Debian's qemu-utils, from the host: same release): virt-storage makes, copies
    # and resizes the volumes of xen:///system's storage driver with it
    command -v qemu-img >/dev/null || { echo "build.sh: qemu-img missing (apt-get install qemu-utils)" >&2; exit 4; }
    cp -L "$(command -v qemu-img)" "$R/usr/bin/qemu-img"
    copy_libs "$R" "$R/usr/bin/qemu-img"
    # xl calls pthread_cancel -> glibc dlopen()s libgcc_s at run time (invisible to ldd)
    cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$R/usr/lib/x86_64-linux-gnu/"
    cp -a "$SYS/etc/xen" "$R/etc/"
    echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"; echo 'root:x:0:' > "$R/etc/group"
    echo 'hosts: files' > "$R/etc/nsswitch.conf"; echo '127.0.0.1 localhost dom0' > "$R/etc/hosts"
    echo dom0 > "$R/etc/hostname"
    # dom0 kernel modules: Xen backends and virtio-9p (the share with the host)
    KM=$SYS/lib/modules/$KVER/kernel
    for m in drivers/xen/xen-privcmd.ko drivers/xen/xenfs/xenfs.ko drivers/xen/xen-evtchn.ko \
             drivers/xen/xen-gntdev.ko drivers/xen/xen-gntalloc.ko drivers/block/xen-blkback/xen-blkback.ko \
             drivers/net/xen-netback/xen-netback.ko drivers/block/loop.ko \
             fs/netfs/netfs.ko fs/fscache/fscache.ko net/9p/9pnet.ko drivers/virtio/virtio_ring.ko \
             drivers/virtio/virtio.ko drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko \
             drivers/virtio/virtio_pci.ko net/9p/9pnet_virtio.ko fs/9p/9p.ko; do
        cp "$KM/$m" "$R/modules/"
    done
    # PV guest payload (kernel + initramfs), used by the tests' domain XML
    cp "$GUEST_KERNEL" "$R/guest/vmlinuz"
    (cd "$G" && find . | cpio -o -H newc --quiet | gzip -1) > "$R/guest/initrd"
    # Debian's python3.11 with its standard library (no test suite, no tkinter/idle)
    cp "$SYS/usr/bin/python3.11" "$R/usr/bin/"; ln -s python3.11 "$R/usr/bin/python3"
    tar -C "$SYS/usr/lib" --exclude=python3.11/test --exclude=python3.11/idlelib --exclude=python3.11/tkinter \
        --exclude=python3.11/ensurepip --exclude=python3.11/lib2to3 --exclude=python3.11/pydoc_data \
        --exclude='__pycache__' -cf - python3.11 | tar -C "$R/usr/lib" -xf -
    copy_libs "$R" "$SYS/usr/bin/python3.11" "$SYS"/usr/lib/python3.11/lib-dynload/*.so
    # Python dependencies: wheels are zip files; unpacking one is installing it (dist-info included)
    mkdir -p "$R$SITE"
    for w in "$CACHE"/wheels/*.whl; do python3 -m zipfile -e "$w" "$R$SITE"; done
    # binary wheels (lxml) link system libraries manylinux allows them to assume (librt, libm...)
    copy_libs "$R" $(find "$R$SITE" -name '*.so*' -type f)
    (cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$BASE.tmp"
    mv "$BASE.tmp" "$BASE"
fi

# ---------------- project layer (every run) ----------------
P=$WORK/dom0-project; rm -rf "$P" "$WORK/wheels"; mkdir -p "$P$SITE" "$P/src" "$WORK/wheels"
# (build isolation fetches hatchling from the index unless it is installed already)
ISO=; python3 -c 'import hatchling' 2>/dev/null && ISO=--no-build-isolation
for d in "$REPO" "$REPO/plugins/virt-test" "$REPO/plugins/virt-xen" "$REPO/plugins/virt-storage"; do
    python3 -m pip wheel -q --disable-pip-version-check --no-deps $ISO -w "$WORK/wheels" "$d" >/dev/null
done
for w in "$WORK"/wheels/*.whl; do python3 -m zipfile -e "$w" "$P$SITE"; done
# the test trees, laid out as in the repository so conftest files and rootdir config apply
cp "$REPO/pyproject.toml" "$REPO/conftest.py" "$P/src/"
cp -r "$REPO/tests" "$P/src/tests"
mkdir -p "$P/src/plugins/virt-xen"
cp -r "$REPO/plugins/virt-xen/tests" "$P/src/plugins/virt-xen/tests"
rm -rf "$P/src/plugins/virt-xen/tests/xenhost/work"
mkdir -p "$P/src/bench"; cp "$REPO/bench/bench_xen.py" "$P/src/bench/" 2>/dev/null || true
# libvirt's schemas, where the conformance suite looks for them (../shared from /src), from
# wherever the host's tests find libvirt's test data (tests/libvirt_testdata.py)
DATA=$(python3 "$REPO/tests/libvirt_testdata.py" where 2>/dev/null) || DATA=
if [ -n "$DATA" ] && [ -d "$DATA/schemas" ]; then
    mkdir -p "$P/shared/conformance/libvirt"
    cp -r "$DATA/schemas" "$P/shared/conformance/libvirt/"
fi
find "$P/src" -name __pycache__ -prune -exec rm -rf {} +
cp "$HERE/dom0-init.sh" "$P/init"; chmod +x "$P/init"
cp "$HERE/inner.sh" "$P/inner.sh"; chmod +x "$P/inner.sh"
(cd "$P" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/dom0-project.cpio.gz"
# ---------------- libvirt layer (XENHOST_WITH_LIBVIRT=1, for the bench; cached) ----------------
# libvirtd with its libxl driver and python3-libvirt, from the host (same Debian release).
LAYERS=
if [ "${XENHOST_WITH_LIBVIRT:-0}" = 1 ]; then
    LVD=/usr/lib/x86_64-linux-gnu/libvirt
    LVMOD=/usr/lib/python3/dist-packages/libvirtmod.cpython-311-x86_64-linux-gnu.so
    for f in /usr/sbin/libvirtd $LVD/connection-driver/libvirt_driver_libxl.so $LVMOD; do
        [ -e "$f" ] || { echo "build.sh: $f missing (apt-get install libvirt-daemon-driver-xen python3-libvirt)" >&2; exit 4; }
    done
    LV_KEY=$( (cat "$HERE/build.sh"; ls -l /usr/sbin/libvirtd $LVD/connection-driver/libvirt_driver_libxl.so $LVMOD) | sha256sum | cut -c1-16)
    LVL=$CACHE/dom0-libvirt-$LV_KEY.cpio.gz
    if [ ! -e "$LVL" ]; then
        L=$WORK/dom0-libvirt; rm -rf "$L"; mkdir -p "$L$SITE" "$L/etc" "$L/usr/share" "$L/var/lib/libvirt/libxl" \
            "$L/var/log/libvirt/libxl" "$L/var/cache/libvirt"
        for f in /usr/sbin/libvirtd $LVD/connection-driver/libvirt_driver_libxl.so; do
            mkdir -p "$L$(dirname "$f")"; cp -L "$f" "$L$f"
        done
        cp -L "$LVMOD" /usr/lib/python3/dist-packages/libvirt.py "$L$SITE/"
        copy_libs "$L" /usr/sbin/libvirtd $LVD/connection-driver/libvirt_driver_libxl.so "$LVMOD"
        for d in /etc/libvirt /usr/share/libvirt; do if [ -d "$d" ]; then cp -a "$d" "$L$(dirname "$d")/"; fi; done
        (cd "$L" && find . | cpio -o -H newc --quiet | gzip -1) > "$LVL.tmp"
        mv "$LVL.tmp" "$LVL"
    fi
    LAYERS=$LVL
fi

# Linux unpacks concatenated cpio archives in order: base, libvirt (optional), the project.
cat "$BASE" $LAYERS "$WORK/dom0-project.cpio.gz" > "$WORK/dom0-initrd.cpio.gz"
ls -la "$WORK/dom0-initrd.cpio.gz" | awk '{print "dom0 initramfs:", $5, "bytes"}'
