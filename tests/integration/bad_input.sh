#!/bin/bash
# Malformed input, measured: every case below must fail with its exit code
# and a one-line message that names what was wrong, before anything boots
# (QEMU, where reached, is a script that fails), and leave nothing behind: no
# processes, no run directories, no cgroups, no half-written cache files.
# Runs in the sanitizer lane too (KTSTR=build-san/ktstr; make check-san).
#   tests/integration/bad_input.sh          check every case and README.md's table
#   tests/integration/bad_input.sh --table  print the table README.md holds
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KTSTR:-./build/ktstr}
B=$(dirname "$K")
# --table: only the table, on the original stdout
if [ "${1:-}" = --table ]; then exec 3>&1 > /dev/null; else exec 3>&1; fi
T=$(mktemp -d /tmp/ktstr-bad-XXXXXX)
cleanup() { mountpoint -q "$T/full" 2>/dev/null && umount "$T/full"; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/tmp" "$T/cache"
: > "$T/file"
kernel=$($K kernel path 2>/dev/null)
# a private temp dir and cache: nothing here may touch other runs' files
export TMPDIR=$T/tmp XDG_CACHE_HOME=$T/cache
unset KTSTR_KERNEL KTSTR_SCHEDULER KTSTR_SKIP_MISSING KTSTR_BUSYBOX
cg_before=$(ls -d /sys/fs/cgroup/ktstr-* /sys/fs/cgroup/*/ktstr-* 2>/dev/null | sort)
table=()

# A test suite with declaration faults, built like a user would (the
# sanitizer lane builds it with the sanitizers too).
suite() {   # NAME DECL
	printf '#include <ktstr/ktstr.h>\nKTSTR_TEST(fine) { return kt_scenario_steady(ctx); }\n%s\n' "$2" > "$T/$1.c"
	cc -std=gnu11 -D_GNU_SOURCE -Iinclude ${KT_SAN_CFLAGS:-} -o "$T/$1" "$T/$1.c" \
		"$B/libktstr_main.a" "$B/libktstr.a" -lbpf -lelf -lz -ljansson -lpthread -lm
}
suite uneven 'KTSTR_TEST(uneven_numa, .numa_nodes = 2, .llcs = 3) { return kt_scenario_steady(ctx); }'
suite minmax 'KTSTR_TEST(bad_range, .min_cpus = 8, .max_cpus = 4) { return kt_scenario_steady(ctx); }'
suite typo 'KTSTR_SCHEDULER(TYPO, .name = "typo", .binary = "scx_typo");
KTSTR_TEST(uses_typo, .scheduler = &TYPO) { return kt_scenario_steady(ctx); }'
suite smt 'KTSTR_TEST(needs_smt, .requires_smt = true) { return kt_scenario_steady(ctx); }'
suite neg 'KTSTR_TEST(negative, .duration_s = -1) { return kt_scenario_steady(ctx); }'

# bad WHAT RC PATTERN -- CMD...: CMD must exit RC, its first stderr line
# matching PATTERN (grep -E); the row goes into the table.
bad() {
	local what=$1 want=$2 pat=$3 rc msg
	shift 4
	"$@" > "$T/out" 2> "$T/err"; rc=$?
	msg=$(grep -v '^(see `ktstr' "$T/err" | head -1)
	if [ "$rc" = "$want" ] && grep -qE -- "$pat" <<< "$msg"; then
		ok "$what: exit $rc, $msg"
	else
		not_ok "$what: exit $rc (want $want), message: ${msg:-none} (want /$pat/)"
		sed 's/^/# /' "$T/err" | head -5
	fi
	if grep -q 'Sanitizer\|runtime error' "$T/err"; then
		not_ok "  ... the sanitizers found something"; sed 's/^/# /' "$T/err" | head -20
	fi
	local cmd="" a
	for a in "$@"; do cmd+="${cmd:+ }${a:-''}"; done
	cmd=${cmd//$T/\$T}; cmd=${cmd//$kernel/\$KERNEL}; cmd=${cmd//$K/ktstr}; cmd=${cmd//|/\\|}
	msg=${msg//$T/\$T}; msg=${msg//$kernel/\$KERNEL}; msg=${msg//|/\\|}
	msg=$(sed -E 's/ktstr-run-[A-Za-z0-9]{6}/ktstr-run-XXXXXX/g' <<< "$msg")
	table+=("| $what | \`$cmd\` | $msg | $rc |")
}

# --- topology strings --------------------------------------------------------
bad "topology, truncated" 64 "bad topology '1n2l'" -- $K topo 1n2l
bad "topology, a zero count" 64 "at least 1" -- $K topo 0n1l1c1t
bad "topology, LLCs not split over nodes" 64 "cannot be split evenly" -- $K topo 2n3l1c1t
bad "topology, trailing garbage" 64 "expected NnLlCcTt" -- $K topo 1n1l1c1t5
bad "topology, too many CPUs" 64 "exceeds the limit" -- $K topo 1n99999l1c1t
bad "topology, unknown preset" 64 "unknown preset" -- $K topo banana
bad "topology, empty" 64 "empty" -- $K topo ""
bad "topology of a VM command" 64 "bad topology '1x'" -- $K vm --topology 1x -- true
# --- paths ---------------------------------------------------------------------
bad "kernel path that does not exist" 64 "/nonexistent" -- $K vm --kernel /nonexistent/vmlinuz -- true
bad "a kernel that is not a kernel (text)" 64 "not a kernel" -- $K vm --kernel /etc/passwd -- true
bad "a kernel that is not a kernel (an ELF program)" 64 "not a kernel" -- $K vm --kernel /bin/true -- true
bad "\$KTSTR_KERNEL that is not a kernel" 64 "not a kernel" -- env KTSTR_KERNEL=/etc/passwd $K vm -- true
bad "--include of a missing file" 64 "cannot include /nonexistent" -- $K vm --kernel "$kernel" --include /nonexistent -- true
bad "--json under a regular file" 73 "cannot write --json" -- $K run steady --json "$T/file/x.json"
bad "--json into a missing directory" 73 "No such file or directory" -- $K run steady --json /nonexistent/dir/x.json
# --- options and their values --------------------------------------------------
bad "unknown command" 64 "unknown command 'frobnicate'" -- $K frobnicate
bad "unknown option" 64 "unrecognized option" -- $K run steady --bogus
bad "option without its value" 64 "requires an argument" -- $K run steady --sched-name
bad "--memory not a number" 64 "bad --memory '12x'" -- $K vm --memory 12x -- true
bad "--memory too small" 64 "at least 128" -- $K vm --memory 64 -- true
bad "--timeout 0" 64 "bad --timeout '0'" -- $K vm --timeout 0 -- true
bad "--accel unknown" 64 "bad --accel 'warp'" -- $K vm --accel warp -- true
bad "vm without a command" 64 "no command given" -- $K vm
bad "run without a scenario" 64 "no scenario named" -- $K run
bad "unknown scenario" 64 "unknown scenario 'no_such'" -- $K run no_such
bad "--duration negative" 64 "bad --duration '-1'" -- $K run steady --duration -1
bad "--duration not a number" 64 "bad --duration 'abc'" -- $K run steady --duration abc
bad "--workers 0" 64 "bad --workers '0'" -- $K run steady --workers 0
bad "--work-type unknown" 64 "bad --work-type 'Sleepy'" -- $K run steady --work-type Sleepy
bad "--flags unknown name, empty items" 64 "no scenario knows flag 'nope'" -- $K run steady --flags nope,,
bad "--flags empty item" 64 "empty item" -- $K run steady --flags ,
bad "--check mistyped name" 64 "unknown check 'max_gapms' \(did you mean 'max_gap_ms'\?\)" -- $K run steady --check max_gapms=5
bad "--check without a value" 64 "expected NAME=NUMBER" -- $K run steady --check max_gap_ms
bad "--check switch out of range" 64 "isolation takes 0 or 1" -- $K run steady --check isolation=3
bad "kernel subcommand unknown" 64 "expected fetch, build, list or path" -- $K kernel frob
bad "kernel build of a missing source" 64 "kernel build: /nonexistent/linux" -- $K kernel build /nonexistent/linux
bad "kernel build with two sources" 64 "one source at most" -- $K kernel build /a /b
bad "kernel build --jobs 0" 64 "--jobs wants a number 1..1024" -- $K kernel build --jobs 0
bad "cleanup option unknown" 64 "unknown argument '--bogus'" -- $K cleanup --bogus
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
	bad "cleanup without cgroup v2" 69 "needs cgroup v2" -- $K cleanup
	bad "--host without cgroup v2" 69 "needs cgroup v2" -- $K run steady --host
fi
# --- scheduler arguments ---------------------------------------------------------
bad "--scheduler that does not exist" 66 "scheduler binary /nonexistent/scx" -- $K run steady --scheduler /nonexistent/scx
bad "--scheduler that is not executable" 66 "Permission denied" -- $K run steady --scheduler "$T/file"
# --- test declarations and the test binary's options -----------------------------
bad "llcs not a multiple of numa_nodes" 64 "uneven_numa.*llcs \(3\) is not a multiple of numa_nodes \(2\)" -- "$T/uneven" --list
bad "min_cpus > max_cpus" 64 "bad_range.*min_cpus \(8\) > max_cpus \(4\)" -- "$T/minmax"
bad "negative duration" 64 "negative: negative duration" -- "$T/neg"
bad "a declared scheduler binary that is missing" 66 "test uses_typo: scheduler binary 'scx_typo' not found" -- "$T/typo" uses_typo
bad "\$KTSTR_SCHEDULER that is missing" 66 "from \\\$KTSTR_SCHEDULER" -- env KTSTR_SCHEDULER=/nonexistent/scx "$T/typo" uses_typo
bad "every selected test skipped" 77 "every test was skipped" -- "$T/smt" needs_smt --topology 1n1l2c1t
bad "a filter matching nothing" 64 "no test matches" -- "$T/smt" no_such_test
bad "--jobs 0" 64 "bad --jobs '0'" -- "$T/smt" --jobs 0
bad "--duration 0 (test binary)" 64 "bad --duration '0'" -- "$T/smt" --duration 0
bad "--topology override malformed" 64 "bad topology '5x'" -- "$T/smt" --topology 5x
bad "--junit under a regular file" 73 "cannot write --junit" -- "$T/smt" fine --junit "$T/file/j.xml"
# --- the host environment ----------------------------------------------------------
bad "QEMU that is not there" 69 "/nonexistent/qemu" -- \
	env KTSTR_QEMU=/nonexistent/qemu $K vm --kernel "$kernel" --accel tcg -- true
bad "busybox that is not there" 69 "busybox not found" -- \
	env KTSTR_BUSYBOX=/nonexistent/busybox $K vm --kernel "$kernel" --accel tcg -- true
bad "a dynamically linked busybox" 69 "dynamically linked" -- \
	env KTSTR_BUSYBOX=/bin/ls $K vm --kernel "$kernel" --accel tcg -- true
bad "an unwritable cache dir" 69 "cannot write the initramfs in .*/file/ktstr/initramfs" -- \
	env XDG_CACHE_HOME="$T/file" $K vm --kernel "$kernel" --accel tcg -- true
# a corrupt initramfs cache: rebuilt before QEMU (here one that answers
# -version and fails to start) would boot it
printf '#!/bin/sh\n[ "$1" = -version ] && echo "QEMU emulator version 7.2.0" && exit 0\nexit 1\n' > "$T/qemu"
chmod +x "$T/qemu"
env KTSTR_QEMU="$T/qemu" $K vm --kernel "$kernel" --accel tcg -- true > /dev/null 2>&1
for a in "$T"/cache/ktstr/initramfs/base-*.cpio; do echo "not an archive" > "$a"; done
bad "a corrupt initramfs cache (a QEMU that fails)" 69 "QEMU failed" -- \
	env KTSTR_QEMU="$T/qemu" $K vm --kernel "$kernel" --accel tcg -- true
check "  ... the corrupt archive was rebuilt, not booted" \
	[ "$(head -c 6 "$T"/cache/ktstr/initramfs/base-*.cpio 2>/dev/null | head -c 6)" = 070701 ]
# a full temporary directory: the per-run initrd cannot be written
mkdir -p "$T/full"
if mount -t tmpfs -o size=256k tmpfs "$T/full" 2>/dev/null; then
	dd if=/dev/zero of="$T/full/fill" bs=4k count=64 2>/dev/null
	bad "a full temporary directory" 69 "No space left on device" -- \
		env TMPDIR="$T/full" KTSTR_QEMU="$T/qemu" $K vm --kernel "$kernel" --accel tcg -- true
	check "  ... and nothing of the run is left in it" [ "$(ls "$T/full")" = fill ]
	umount "$T/full"
else
	ok "# SKIP a full temporary directory: cannot mount a small tmpfs here"
fi

# --- PID 1 of a container is not a ktstr guest ----------------------------------------
if unshare -Urmpf --mount-proc true 2>/dev/null; then
	o=$(unshare -Urmpf --mount-proc $K topo 1n1l2c1t 2>&1); rc=$?
	check "ktstr as a container's PID 1 runs its command, not the guest init (exit $rc)" \
		[ $rc = 0 -a -n "$(grep -E '^1n1l2c1t: 2 CPUs' <<< "$o")" ]
	o=$(unshare -Urmpf --mount-proc "$T/smt" --list 2>&1); rc=$?
	check "  ... and so does a test binary (exit $rc)" [ $rc = 0 -a -n "$(grep '^needs_smt' <<< "$o")" ]
else
	ok "# SKIP PID 1 in a container: unshare is not permitted here"
fi

# --- nothing left behind -------------------------------------------------------------
check "no process of these runs is left" [ -z "$(pgrep -f "$T" | grep -v "^$$\$")" ]
check "no run directory is left in \$TMPDIR" [ -z "$(ls "$T/tmp")" ]
check "no half-written cache file is left" [ -z "$(ls "$T"/cache/ktstr/initramfs 2>/dev/null | grep -E '\.tmp\.|\.strip\.')" ]
check "no cgroup is left" [ "$(ls -d /sys/fs/cgroup/ktstr-* /sys/fs/cgroup/*/ktstr-* 2>/dev/null | sort)" = "$cg_before" ]
check "at least 30 malformed inputs tried (${#table[@]})" [ ${#table[@]} -ge 30 ]

# --- README.md's table is this table ---------------------------------------------------
render() {
	echo "| input | command | message | exit |"
	echo "|---|---|---|---|"
	printf '%s\n' "${table[@]}"
}
if [ "${1:-}" = --table ]; then
	render >&3
	exit 0
fi
sed -n '/^<!-- bad-input:begin/,/^<!-- bad-input:end/p' README.md | sed '1d;$d' > "$T/readme"
if render | diff -u "$T/readme" - > "$T/diff"; then
	ok "README.md's bad-input table matches what the suite measured"
else
	not_ok "README.md's bad-input table is out of date (tests/integration/bad_input.sh --table)"
	sed 's/^/# /' "$T/diff" | head -20
fi
tap_done
