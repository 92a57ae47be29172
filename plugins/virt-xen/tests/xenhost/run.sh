#!/bin/bash
# The whole harness: fetch (cached), build the images, boot Xen 4.17 + the Debian PV dom0
# under QEMU TCG, let dom0 run the project's tests (inner.sh) and collect the results from
# the 9p share in $WORK/share: junit-<suite>.xml, pytest-<suite>.log, rc-<suite>.
# usage: run.sh [REPO_ROOT]   env: VIRTCORE_XEN_CACHE, XENHOST_WORK, XENHOST_TIMEOUT (s)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "${1:-$HERE/../../../..}" && pwd)
WORK=${XENHOST_WORK:-/tmp/virtcore-xenhost}
mkdir -p "$WORK"
T0=$(date +%s)
"$HERE/build.sh" "$REPO"
T1=$(date +%s)
# -cpu Westmere: no SMAP (TCG + SMAP crashes a PV dom0). Xen options skip the PV
# Meltdown/L1TF mitigations, pointless and slow under TCG. -no-reboot: a crash exits.
XENARGS="console=com1 com1=115200,8n1 dom0_mem=2048M,max:2048M dom0_max_vcpus=2 smap=0 xpti=false pv-l1tf=false"
DOM0ARGS="console=hvc0 earlyprintk=xen rdinit=/init quiet"
BUDGET=${XENHOST_TIMEOUT:-1500}
# Xen's SMP bring-up under TCG on a loaded host has been seen to stall forever (IPI wait in
# mtrr_aps_sync_end): when dom0 is not up in XENHOST_BOOT_TIMEOUT seconds, boot again.
BOOT_TIMEOUT=${XENHOST_BOOT_TIMEOUT:-240}
boot() {  # boot once within $1 seconds; rc 200: no dom0 in BOOT_TIMEOUT
    rm -rf "$WORK/share"; mkdir -p "$WORK/share"
    [ -n "${XENHOST_DEBUG_SCRIPT:-}" ] && install -m 755 "$XENHOST_DEBUG_SCRIPT" "$WORK/share/debug.sh"
    timeout "$1" qemu-system-x86_64 -accel tcg,thread=multi -machine pc -cpu Westmere \
        -m 4096 -smp 2 -display none -serial stdio -monitor none -no-reboot -nodefaults \
        -kernel "$WORK/xen.elf" -append "$XENARGS" \
        -initrd "$WORK/vmlinuz-dom0 $DOM0ARGS,$WORK/dom0-initrd.cpio.gz" \
        -virtfs "local,path=$WORK/share,mount_tag=host0,security_model=none" \
        </dev/null > "$WORK/console.log" 2>&1 &
    local pid=$! t=0
    while kill -0 "$pid" 2>/dev/null; do
        grep -q 'XENHOST-MARK.*DOM0-READY' "$WORK/console.log" && { wait "$pid"; return $?; }
        if [ "$t" -ge "$BOOT_TIMEOUT" ]; then
            kill "$pid"; wait "$pid"; return 200
        fi
        sleep 2; t=$((t + 2))
    done
    wait "$pid"
}
set +e
for attempt in 1 2; do
    left=$((BUDGET - ($(date +%s) - T1)))
    [ "$left" -gt 60 ] || { QRC=124; break; }
    boot "$left"; QRC=$?
    [ "$QRC" = 200 ] || break
    cp "$WORK/console.log" "$WORK/console-stalled-$attempt.log"
    echo "XENHOST boot attempt $attempt: no dom0 after ${BOOT_TIMEOUT}s, retrying" | tee -a "$WORK/boot-retries.log"
done
set -e
T2=$(date +%s)
echo "XENHOST qemu-rc=$QRC build=$((T1-T0))s boot+tests=$((T2-T1))s" | tee -a "$WORK/console.log"
grep -E 'XENHOST-(MARK|SUITE)' "$WORK/console.log" || true
exit $QRC
