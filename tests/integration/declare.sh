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
check "a --topology below a test's min_llcs makes it a skip" grep -q "^needs_two .*(would skip)" "$out/l"
check "  ... and not the others" grep -q "^fine  *1n1l2c1t$" "$out/l"
tap_done
