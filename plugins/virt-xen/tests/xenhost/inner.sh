#!/bin/sh
# Runs inside dom0 (from dom0-init.sh): the project's tests against the real Xen toolstack
# and XenStore. Results go to the host share: junit XML and pytest output per suite.
OUT=/mnt/host
cd /src || exit 2
export PYTHONDONTWRITEBYTECODE=1 XENHOST_GUEST_KERNEL=/guest/vmlinuz XENHOST_GUEST_INITRD=/guest/initrd
run_suite() {  # NAME TIMEOUT PYTEST-ARGS...
    name=$1; tmo=$2; shift 2
    echo "XENHOST-SUITE $name start [$(cut -d' ' -f1 /proc/uptime)]"
    timeout "$tmo" python3 -m pytest -p no:cacheprovider -q -rfEx --junitxml="$OUT/junit-$name.xml" "$@" \
        > "$OUT/pytest-$name.log" 2>&1
    rc=$?
    tail -n 15 "$OUT/pytest-$name.log"
    echo "XENHOST-SUITE $name rc=$rc [$(cut -d' ' -f1 /proc/uptime)]"
    echo "$rc" > "$OUT/rc-$name"
}
# storage first (short, and its result stands on its own): the storage half of the conformance
# suite (every test of it names storage or a volume) on xen:///system's secondary storage
# driver, and the dom0 storage tests
STORAGE_DOM0=plugins/virt-xen/tests/dom0/test_xen_storage_dom0.py
if [ -d tests/conformance ]; then
    run_suite storage 300 tests/conformance "$STORAGE_DOM0" --driver-uri xen:///system -k "storage or volume" \
        --domain-template plugins/virt-xen/tests/dom0/conformance-template.xml
fi
run_suite xen 600 plugins/virt-xen/tests/dom0 --ignore="$STORAGE_DOM0"
if [ -d tests/conformance ]; then
    run_suite conformance 420 tests/conformance --driver-uri xen:///system -k "not storage and not volume" \
        --domain-template plugins/virt-xen/tests/dom0/conformance-template.xml
fi
