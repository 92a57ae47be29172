#!/bin/sh
# PID 1 of the harness's dom0: bring up the Xen toolstack (xenstored, xen-init-dom0,
# xenconsoled), mount the host's share (9p, tag host0) at /mnt/host, run /inner.sh
# (the project's tests) with a time limit, then power off. Every wait is bounded.
export PATH=/usr/lib/xen-4.17/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
export HOME=/root
mark() { echo "XENHOST-MARK [$(cut -d' ' -f1 /proc/uptime)] $*"; }
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /run
# what udev would add: the block hotplug script's lock loop stats /dev/stdin
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
# /tmp holds save images (a guest's whole memory each): give it most of dom0's RAM
mount -t tmpfs -o size=1400m,mode=1777 tmpfs /tmp
mkdir -p /run/xen /run/xenstored /run/lock /var/log/xen/console
hostname dom0
ifconfig lo 127.0.0.1 up 2>/dev/null
for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-blkback xen-netback loop \
         netfs fscache 9pnet virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci 9pnet_virtio 9p; do
    insmod /modules/$m.ko 2>/dev/null || mark "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen || mark "mount xenfs failed"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host0 /mnt/host || mark "9p mount failed"
xenstored --pid-file /run/xenstored.pid
i=0; while ! xenstore-read -s / >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mark "xenstored answering after $i polls"
xen-init-dom0 >/dev/null
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
mark DOM0-READY
# a debugging hook: a script dropped into the share runs instead of the tests
if [ -x /mnt/host/debug.sh ]; then
    timeout ${XENHOST_INNER_TIMEOUT:-1380} /mnt/host/debug.sh > /mnt/host/debug.log 2>&1
else
    timeout ${XENHOST_INNER_TIMEOUT:-1380} /inner.sh
fi
mark "INNER-RC=$?"
xl list
sync
umount /mnt/host 2>/dev/null
mark POWEROFF
poweroff -f
