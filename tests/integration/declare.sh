#!/bin/bash
# Test declarations that cannot run are refused at start-up, naming the
# test, before anything boots: a topology whose LLCs do not split over its
# NUMA nodes, and min > max constraints.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
B=$(dirname "${KTSTR:-./build/ktstr}")
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
build() {   # NAME DECL...
	printf '#include <ktstr/ktstr.h>\nKTSTR_TEST(fine, .llcs = 2) { return kt_scenario_steady(ctx); }\n%s\n' "$2" > "$out/$1.c"
	cc -std=gnu11 -D_GNU_SOURCE -Iinclude -o "$out/$1" "$out/$1.c" "$B/libktstr_main.a" "$B/libktstr.a" \
		-lbpf -lelf -lz -ljansson -lpthread -lm
}
build uneven 'KTSTR_TEST(uneven_numa, .numa_nodes = 2, .llcs = 3) { return kt_scenario_steady(ctx); }'
"$out/uneven" --list > /dev/null 2> "$out/err"; expect_rc "llcs not a multiple of numa_nodes" 64 $?
check "  ... names the test: $(cat "$out/err")" grep -q "uneven_numa.*llcs (3) is not a multiple of numa_nodes (2)" "$out/err"
build minmax 'KTSTR_TEST(bad_range, .min_llcs = 4, .max_llcs = 2) { return kt_scenario_steady(ctx); }'
"$out/minmax" > /dev/null 2> "$out/err"; expect_rc "min_llcs > max_llcs" 64 $?
check "  ... names the test: $(cat "$out/err")" grep -q "bad_range.*min_llcs (4) > max_llcs (2)" "$out/err"
build two 'KTSTR_TEST(second, .llcs = 1) { return kt_scenario_steady(ctx); }
KTSTR_TEST(third, .llcs = 1) { return kt_scenario_steady(ctx); }
KTSTR_TEST(needs_two, .llcs = 2, .min_llcs = 2) { return kt_scenario_steady(ctx); }'
check "several tests per file register: $("$out/two" --list | awk '{print $1}' | tr '\n' ' ')" \
	[ "$("$out/two" --list | awk '{print $1}' | tr '\n' ' ')" = "fine second third needs_two " ]
"$out/two" --topology 5x 2>/dev/null; expect_rc "bad --topology override" 64 $?
"$out/two" no-such-test 2>/dev/null; expect_rc "a filter matching nothing" 64 $?
"$out/two" --topology 1n1l2c1t --list > "$out/l"
check "a --topology below a test's min_llcs makes it a skip" grep -q "^needs_two .*(would skip: needs at least 2 LLCs)" "$out/l"
check "  ... and not the others" grep -q "^fine  *1n1l2c1t  *EEVDF$" "$out/l"

# --- no silent green --------------------------------------------------------
build typo 'KTSTR_SCHEDULER(TYPO, .name = "typo", .binary = "scx_no_such_sched");
KTSTR_TEST(uses_typo, .scheduler = &TYPO) { return kt_scenario_steady(ctx); }'
"$out/typo" uses_typo > "$out/o" 2> "$out/err"; expect_rc "a scheduler binary that is not there fails the run" 66 $?
check "  ... in one line naming test and binary: $(cat "$out/err")" \
	[ "$(wc -l < "$out/err")" = 1 -a -n "$(grep "test uses_typo: scheduler binary 'scx_no_such_sched' not found" "$out/err")" ]
check "  ... before anything boots (no verdict lines)" [ ! -s "$out/o" ]
"$out/typo" fine --topology 1n1l1c1t --list > /dev/null 2>&1; expect_rc "  ... but not a run that does not select that test" 0 $?
check "--list shows the scheduler and that it is missing" grep -q "^uses_typo .* scx_no_such_sched (not found)" <("$out/typo" --list)
"$out/typo" uses_typo --skip-missing-scheduler --tap > "$out/o" 2> "$out/err"; rc=$?
check "--skip-missing-scheduler makes it a SKIP" grep -q "^ok 1 - uses_typo # SKIP scheduler binary 'scx_no_such_sched' not found" "$out/o"
expect_rc "  ... and a run where every test skipped exits non-zero" 77 $rc
check "  ... saying so" grep -q "every test was skipped" "$out/err"
KTSTR_SKIP_MISSING=1 "$out/typo" uses_typo > /dev/null 2>&1; expect_rc "KTSTR_SKIP_MISSING=1 does the same" 77 $?
KTSTR_SCHEDULER=/nonexistent/scx "$out/typo" uses_typo 2> "$out/err" >/dev/null; expect_rc "a \$KTSTR_SCHEDULER that is not there" 66 $?
check "  ... named: $(cat "$out/err")" grep -q "'/nonexistent/scx' (from \$KTSTR_SCHEDULER)" "$out/err"
"$out/two" needs_two --topology 1n1l2c1t > /dev/null 2> "$out/err"; expect_rc "a topology under which every selected test skips" 77 $?
: > "$out/file"	# a path under a regular file cannot be created, even by root
"$out/two" fine --json "$out/file/dir" > "$out/o" 2> "$out/err"; expect_rc "--json into a directory that cannot be made" 73 $?
check "  ... before booting, naming it: $(cat "$out/err")" \
	[ ! -s "$out/o" -a -n "$(grep "cannot write --json $out/file/dir: Not a directory" "$out/err")" ]
"$out/two" fine --junit "$out/file/j.xml" > "$out/o" 2>&1; expect_rc "--junit into a path that cannot exist" 73 $?
tap_done
