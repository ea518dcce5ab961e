#!/bin/bash
# The topology guard end to end, the fast part (the full engine x vendor x
# spec matrix is scripts/topo-matrix): a guest whose machine differs from
# its spec ends with exit 69 naming the difference instead of running; a
# topology the QEMU cannot boot is refused before boot with the fix; an
# AMD-vendor guest gets its declared LLCs; and, when QEMU 10 has been
# fetched, a multi-LLC VM boots on it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KTSTR:-./build/ktstr}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

# the spec the guest holds itself to can be overridden (the last wins), which
# makes the guest's real 2 LLCs a mismatch
$K vm --topology 1n2l2c1t --kargs ktstr.topo=1n1l4c1t -- true 2>"$out/err"; rc=$?
expect_rc "a guest whose LLCs differ from the spec is an environment error" 69 $rc
check "  ... naming what differs, the vendor and the QEMU" \
	grep -q "topology: LLCs: the guest has 2 (0-1 | 2-3), 1n1l4c1t has 1 (0-3) (guest CPU vendor .*); booted with QEMU" "$out/err"
$K run steady --topology 1n2l2c1t --kargs ktstr.topo=1n2l1c2t --duration 1 >"$out/run" 2>&1; rc=$?
expect_rc "ktstr run: a wrong machine is not a test verdict" 69 $rc
check "  ... reported as ERROR, not PASS or FAIL" grep -q "^ERROR steady" "$out/run"
check "  ... naming the SMT difference" grep -q "SMT sibling groups" "$out/run"

# AMD vendor under TCG: no TOPOEXT, so the LLC is the package; one socket per LLC
o=$(KTSTR_CPU=EPYC-Milan $K vm --accel tcg --topology 1n2l2c2t -- sh -c \
	'cat /sys/devices/system/cpu/cpu[0-7]/cache/index3/shared_cpu_list | sort -u | tr "\n" " "' 2>"$out/err"); rc=$?
expect_rc "AMD-vendor guest boots its topology verified" 0 $rc
check "  ... with LLCs 0-3 and 4-7 (got: $o)" [ "$o" = "0-3 4-7 " ]

# 16 CPUs under TCG: booted with one, init brings up the rest, then the whole
# check (sysfs and sched domains) runs on the machine so built
KTSTR_TIMING=1 $K vm --accel tcg --topology 2n4l4c1t -- cat /sys/devices/system/cpu/online \
	>"$out/late" 2>&1; rc=$?
expect_rc "16-CPU TCG guest: one CPU at boot, init onlines the rest, topology verified" 0 $rc
check "  ... all 16 online" grep -qx "0-15" "$out/late"
check "  ... brought up by init" grep -q "of which bringing up CPUs [0-9.]* ms" "$out/late"
KTSTR_TIMING=1 $K vm --accel tcg --topology 2n4l4c1t --kargs maxcpus=16 -- true >"$out/all" 2>&1
rc=$?
expect_rc "  ... the user's maxcpus= boots them all at once instead" 0 $rc
check "  ... and init brings up none" bash -c "! grep -q 'bringing up CPUs' '$out/all'"
# a CPU that never appears (the kernel told to use 15) is a wrong machine, not a verdict
$K vm --accel tcg --topology 2n4l4c1t --kargs "nr_cpus=15" -- true 2>"$out/err"; rc=$?
expect_rc "a CPU missing from a late-onlined guest is an environment error" 69 $rc
check "  ... naming the CPUs" grep -q "topology: CPUs: the guest has 15 online" "$out/err"

q=$(command -v qemu-system-x86_64)
ver=$($q -version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "${ver:-0}" -lt 9 ]; then
	$K vm --topology max-cpu -- true 2>"$out/err"; rc=$?
	expect_rc "max-cpu on QEMU $ver under TCG: refused" 69 $rc
	check "  ... before boot, with the reason and the fix" grep -q "x2APIC.*QEMU >= 9.0.*KTSTR_QEMU" "$out/err"
	$K topo --list > "$out/list"
	check "topo --list: max-cpu cannot boot here, and says why" \
		grep -qE "^max-cpu +1n14l9c2t +252 CPUs +cannot" "$out/list"
	check "topo --list: tiny-2llc boots, with a time estimate" grep -qE "^tiny-2llc .* ~[0-9]+ s" "$out/list"
fi

q10=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/ktstr/qemu/*/qemu-system-x86_64 2>/dev/null | sort -V | tail -1)
if [ -n "$q10" ]; then
	KTSTR_QEMU=$q10 $K vm --accel tcg --topology 2n4l2c1t -- true 2>"$out/err"; rc=$?
	expect_rc "QEMU from scripts/qemu-fetch: 2n4l2c1t (Intel) boots verified" 0 $rc
	[ $rc = 0 ] || sed 's/^/# /' "$out/err"
	# The x2APIC rule on a 2-CPU machine whose second CPU has APIC ID 256:
	# the guest brings it up only with interrupt remapping (which ktstr adds
	# when a topology's APIC IDs pass 254); without it, "invalid APIC ID".
	mkdir -p "$out/ir/bin" "$out/ir/proc" "$out/ir/sys"
	cp "$(command -v busybox)" "$out/ir/bin/busybox"
	printf '#!/bin/busybox sh\n/bin/busybox mount -t sysfs s /sys\n/bin/busybox cat /sys/devices/system/cpu/online\n/bin/busybox poweroff -f\n' > "$out/ir/init"
	chmod +x "$out/ir/init"
	(cd "$out/ir" && find . | cpio -o -H newc 2>/dev/null) > "$out/mini.cpio"
	kern=$($K kernel path)
	x2() { timeout 120 "$q10" -M q35 -accel tcg,thread=single -cpu max,vendor=GenuineIntel \
		-smp 1,maxcpus=400,sockets=2,cores=200,threads=1 \
		-device max-x86_64-cpu,socket-id=1,core-id=0,thread-id=0 "$@" -m 512 -nodefaults \
		-no-reboot -display none -kernel "$kern" -initrd "$out/mini.cpio" -serial stdio \
		-append "console=ttyS0 quiet panic=-1 rdinit=/init nokaslr tsc=reliable" 2>/dev/null |
		tr -d '\r' | grep -E '^0(-1)?$'; }
	o=$(x2 -device intel-iommu,intremap=on,eim=on)
	check "APIC ID 256 with interrupt remapping: both CPUs online (got: $o)" [ "$o" = "0-1" ]
	o=$(x2)
	check "  ... and without it only CPU 0 (got: $o), which is why ktstr adds it" [ "$o" = "0" ]
	KTSTR_QEMU=$q10 $K topo --list > "$out/list"
	check "topo --list with that QEMU: max-cpu boots (x2APIC under TCG)" \
		grep -qE "^max-cpu +1n14l9c2t +252 CPUs +~[0-9]+ s" "$out/list"
else
	ok "QEMU 10 boot # SKIP no fetched QEMU (scripts/qemu-fetch)"
fi
tap_done
