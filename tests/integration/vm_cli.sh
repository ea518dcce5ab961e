#!/bin/bash
# The VM path end to end through the CLI: topologies seen from inside the
# guest match the spec, and every fault class gives its one-line error,
# its exit code, and leaves no QEMU process or run directory behind.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KTSTR:-./build/ktstr}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
# run directories go to a private TMPDIR, so other runs on this machine
# (their QEMUs, their run directories) do not count as ours left behind
mkdir -p "$out/tmp"; export TMPDIR=$out/tmp

leftovers() {
	pgrep -f "qemu-system-x86_64.*$out/tmp/ktstr-run-" >/dev/null && return 0
	ls -d "$out"/tmp/ktstr-run-* >/dev/null 2>&1 && return 0
	return 1
}

# --- topology: what the guest's sysfs says == what the spec says --------
for spec in 1n1l2c1t 1n2l2c1t 1n2l2c2t 2n4l1c1t; do
	want=$($K topo $spec | sed -E 's/, [0-9]+ KiB//')
	got=$($K vm --topology $spec -- /init topo --host 2>"$out/err" | sed -E 's/, [0-9]+ KiB//')
	if [ "$want" = "$got" ]; then
		ok "topology $spec: guest sysfs matches the spec"
	else
		not_ok "topology $spec: guest sysfs differs"
		diff <(echo "$want") <(echo "$got") | sed 's/^/# /'; sed 's/^/# /' "$out/err"
	fi
done
# raw sysfs, not only our own reader: LLC sharing and SMT siblings
got=$($K vm --topology 1n2l2c2t -- sh -c 'cat /sys/devices/system/cpu/cpu[0-7]/cache/index3/shared_cpu_list | sort -u | tr "\n" " "; cat /sys/devices/system/cpu/cpu2/topology/thread_siblings_list')
check "1n2l2c2t raw sysfs: LLCs 0-3 and 4-7, cpu2 siblings 2-3 (got: $(echo $got))" [ "$(echo $got)" = "0-3 4-7 2-3" ]
got=$($K vm --topology 2n4l1c1t -- sh -c 'cat /sys/devices/system/node/node1/cpulist /sys/devices/system/node/node0/distance')
check "2n4l1c1t raw sysfs: node1 = 2-3, distances 10 20 (got: $(echo $got))" [ "$(echo $got)" = "2-3 10 20" ]

# --- command status and output ---------------------------------------------
o=$($K vm -- sh -c 'echo hello-from-guest; exit 7'); rc=$?
expect_rc "command's own exit status comes back" 7 $rc
check "command output is streamed" [ "$o" = "hello-from-guest" ]
$K vm -- no-such-command 2>"$out/err"; rc=$?
expect_rc "command not found in the guest" 127 $rc
check "  ... says so in one line" grep -q "no-such-command: command not found in the guest" "$out/err"
echo '#!/bin/sh
echo included-ok' > "$out/hello.sh"; chmod +x "$out/hello.sh"
o=$($K vm --include "$out/hello.sh" -- hello.sh)
check "--include puts a file on the guest's PATH" [ "$o" = "included-ok" ]

# an interactive shell on the guest console: type a command, then exit
# (typed once the guest's shell is up: a boot on a loaded host can take long)
(for i in $(seq 400); do grep -q "ktstr guest shell" "$out/shell.txt" 2>/dev/null && break; sleep 0.2; done
 sleep 1; echo 'grep -c ^processor /proc/cpuinfo'; sleep 2; echo exit) |
	timeout 90 $K shell --topology 1n2l2c1t > "$out/shell.txt" 2>&1
expect_rc "ktstr shell powers off on exit" 0 "${PIPESTATUS[1]}"
check "ktstr shell runs what is typed on its console (4 CPUs)" grep -qx 4 <(tr -d '\r' < "$out/shell.txt")

# --- bad input: exit 64, one line ----------------------------------------------
for bad in 0n1l1c1t 1n3l 2n3l2c1t abc no-such-preset; do
	$K vm --topology $bad -- true 2>"$out/err"; rc=$?
	expect_rc "topology '$bad' rejected" 64 $rc
	check "  ... with one line naming it: $(head -1 "$out/err")" [ "$(wc -l < "$out/err")" = 1 -a -n "$(grep -F "$bad" "$out/err")" ]
done
$K vm --kernel /nonexistent/bzImage -- true 2>"$out/err"; rc=$?
expect_rc "missing kernel path" 64 $rc
$K vm --kernel /etc/passwd -- true 2>"$out/err"; rc=$?
expect_rc "a file that is not a kernel" 64 $rc
check "  ... says it is not a kernel" grep -q "not a kernel image" "$out/err"
mkdir -p "$out/k"; cp "$($K kernel path)" "$out/k/vmlinux"; grep -v SCHED_CLASS_EXT "$(dirname "$($K kernel path)")/config" > "$out/k/config"
$K vm --kernel "$out/k" -- true 2>"$out/err"; rc=$?
expect_rc "a kernel without sched_ext is refused" 64 $rc
check "  ... naming the option" grep -q "CONFIG_SCHED_CLASS_EXT" "$out/err"
XDG_CACHE_HOME=$out/empty HOME=$out/empty KTSTR_KERNEL= $K vm -- true 2>"$out/err"; rc=$?
expect_rc "no kernel anywhere" 69 $rc
check "  ... says how to get one" grep -q "ktstr kernel fetch" "$out/err"
$K vm --memory 12x -- true 2>/dev/null; expect_rc "bad --memory" 64 $?
$K vm 2>/dev/null; expect_rc "no command" 64 $?
$K frobnicate 2>/dev/null; expect_rc "unknown subcommand" 64 $?

# --- environment and guest failures ----------------------------------------------
$K vm --accel warp -- true 2>/dev/null; expect_rc "bad --accel" 64 $?
if $K vm --dry-run | grep -q "'tcg,thread=single'"; then
	# auto chose TCG: KVM is not usable here, so asking for it must fail clearly
	$K vm --accel kvm -- true 2>"$out/err"; rc=$?
	expect_rc "--accel kvm where KVM cannot run the kernel" 69 $rc
	check "  ... saying so: $(cat "$out/err")" grep -q "KVM requested but not usable" "$out/err"
fi
KTSTR_QEMU=/nonexistent/qemu $K vm -- true 2>"$out/err"; rc=$?
expect_rc "QEMU missing" 69 $rc
check "  ... says which binary" grep -q "/nonexistent/qemu" "$out/err"
$K vm --memory 900000 -- true 2>"$out/err"; rc=$?
expect_rc "QEMU failing to start (900 GB of memory)" 69 $rc
check "  ... with QEMU's reason: $(head -1 "$out/err")" grep -q "QEMU failed" "$out/err"
$K vm -- sh -c 'echo c > /proc/sysrq-trigger' 2>"$out/err"; rc=$?
expect_rc "guest kernel panic" 70 $rc
check "  ... reported with the console tail" grep -q "panicked" "$out/err"
$K vm --timeout 3 -- sleep 60 2>"$out/err"; rc=$?
expect_rc "hung guest killed at --timeout" 70 $rc
check "  ... says it timed out" grep -q "timed out after 3 s" "$out/err"
$K vm -- sleep 60 2>"$out/err" & pid=$!
sleep 2; kill -INT $pid; wait $pid; rc=$?
expect_rc "SIGINT stops the VM" 130 $rc
$K vm -- sleep 60 2>"$out/err" & pid=$!
sleep 2; kill -TERM $pid; wait $pid; rc=$?
expect_rc "SIGTERM stops the VM" 143 $rc
sleep 0.5
no_leftovers() { ! leftovers; }
check "nothing left behind (no QEMU, no run dir)" no_leftovers
tap_done
