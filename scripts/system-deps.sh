#!/usr/bin/env bash
# Installs the Debian 12 packages virtcore's demo and test suite use, when missing.
#   qemu-system-x86, qemu-utils   real QEMU guests (virt-qemu), and Xen booted under QEMU (virt-xen tests)
#   linux-image-cloud-amd64       the kernel the test guests boot
#   busybox-static, cpio          the test guests' initramfs
#   qemu-guest-agent              the guest agent (qemu-ga and its libraries) in the agent test guest's initramfs
#   iproute2                      tap networking in the QEMU tests
#   python3-libvirt               libvirt's own test driver, for the side-by-side bench and storage tests (Debian's python3),
#                                 and the host-object, auth, domain-ops and checkpoint side-by-side tests
#   libvirt-clients               virsh on libvirt's test driver, beside the net-*, iface-* and nodedev-* commands' output
#   libvirt-dev                   libvirt's API description (libvirt-api.xml): virt-libvirt's generated constants and method table are checked against it
#   python3-libxml2               libxml2's bindings, which libvirt-python's dominfo.py and domstart.py examples import (virt-libvirt's tests run them)
#   python3-venv                  to create the project's virtualenv
#   e2fsprogs, mount, util-linux  fs storage pools (virt-storage): mkfs, mount/losetup, blkid
#   dnsmasq-base, nftables        virtual networks (virt-network): DHCP/DNS and firewall rules
set -euo pipefail
PACKAGES=(qemu-system-x86 qemu-utils linux-image-cloud-amd64 busybox-static cpio iproute2 python3-libvirt python3-venv
          libvirt-clients libvirt-dev python3-libxml2 zstd xz-utils e2fsprogs mount util-linux
          dnsmasq-base nftables qemu-guest-agent)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
