#!/bin/bash
# The gauntlet through the CLI and a test binary: --list expands without
# booting, constraints and --presets/--max-cpus narrow, shards are disjoint
# and their union is the full list, two real shards (one VM each) merge
# into one JUnit/TAP/JSON/HTML set and the merge refuses overlaps and gaps;
# `ktstr compare` exits 1 on a regression and 0 without one.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KTSTR:-./build/ktstr}
B=$(dirname "$K")
SUITE=$B/tests/integration/sched_faults
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

# ---- expansion, without a VM
$K gauntlet --list > "$out/all.txt" 2> "$out/err"; expect_rc "ktstr gauntlet --list" 0 $?
n_sc=$($K list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "every scenario x 24 presets ($(wc -l < "$out/all.txt") variants)" \
	[ "$(wc -l < "$out/all.txt")" = $((n_sc * 24)) ]
check "  ... named test/preset/profile" grep -qx $'steady/tiny-2llc/default\t1n2l2c1t\t~[0-9]*s' "$out/all.txt"
$K gauntlet steady --presets tiny-2llc,smt-2llc --scheduler "$B/scx_fixture" \
	--flag 'slice1ms=--slice-us 1000' --vs-eevdf --list > "$out/l.txt" 2>/dev/null
check "--presets, --flag profiles and --vs-eevdf: 2 x (2 + 1) variants" [ "$(wc -l < "$out/l.txt")" = 6 ]
check "  ... with the EEVDF twin" grep -q "^steady/smt-2llc/eevdf" "$out/l.txt"
$K gauntlet steady --max-cpus 8 --list > "$out/l.txt" 2>/dev/null
check "--max-cpus 8 keeps the 3 presets of at most 8 CPUs" [ "$(wc -l < "$out/l.txt")" = 3 ]
K1=$(ls -d ~/.cache/ktstr/kernels/*/ 2>/dev/null | head -1)
if [ -n "$K1" ]; then
	$K gauntlet steady --presets tiny-2llc --kernel "$K1" --kernel "$K1" --list > "$out/l.txt" 2>/dev/null
	check "a repeated --kernel is a dimension: 2 variants, named by kernel" \
		[ "$(cut -f1 "$out/l.txt" | sed 's|.*/||' | sort -u | wc -l)" = 2 ]
fi
$K gauntlet --presets nope --list 2> "$out/err"; expect_rc "an unknown preset" 64 $?
check "  ... named: $(cat "$out/err")" grep -q "unknown preset 'nope'" "$out/err"
$K gauntlet no_such --list 2>/dev/null; expect_rc "an unknown scenario" 64 $?
$K gauntlet --shard 3/2 --list 2>/dev/null; expect_rc "a shard beyond N" 64 $?

# test binaries: their declarations' flags and constraints shape the variants
# (topology constraints are covered by tests/unit/test_gauntlet.c)
"$SUITE" --gauntlet --list fixture_passes_catalog_smt > "$out/l.txt" 2>"$out/err"
expect_rc "a test binary's --gauntlet --list" 0 $?
check "  ... 24 presets for a test without constraints" [ "$(wc -l < "$out/l.txt")" = 24 ]
"$SUITE" --gauntlet --list fixture_flag_profiles > "$out/l.txt" 2>/dev/null
check "excluded_flags leave 2 of 4 profiles: 48 variants" [ "$(wc -l < "$out/l.txt")" = 48 ]
lacks() { ! grep -q "$1" "$2"; }
check "  ... none with slice20ms" lacks slice20ms "$out/l.txt"

# a missing scheduler binary is bad input (66) unless a skip is asked for
KTSTR_SCHEDULER=/nonexistent "$SUITE" --gauntlet --presets tiny-2llc fixture_flag_profiles \
	> /dev/null 2> "$out/err"
expect_rc "--gauntlet with the scheduler binary missing" 66 $?
KTSTR_SCHEDULER=/nonexistent "$SUITE" --gauntlet --presets tiny-2llc fixture_flag_profiles \
	--skip-missing-scheduler --no-runs-dir > "$out/o.txt" 2> "$out/err"
expect_rc "  ... with --skip-missing-scheduler: nothing ran, which is not a pass" 77 $?
check "  ... two SKIPs, nothing booted" grep -q "^0 passed, 0 failed, 2 skipped" "$out/o.txt"

# a declaration no preset can satisfy is refused by name, as without --gauntlet
printf '#include <ktstr/ktstr.h>\nKTSTR_TEST(bad_range, .min_llcs = 4, .max_llcs = 2) { return kt_scenario_steady(ctx); }\n' > "$out/minmax.c"
cc -std=gnu11 -D_GNU_SOURCE -Iinclude -o "$out/minmax" "$out/minmax.c" "$B/libktstr_main.a" "$B/libktstr.a" \
	-lbpf -lelf -lz -ljansson -lpthread -lm
"$out/minmax" --gauntlet --list > /dev/null 2> "$out/err"; expect_rc "--gauntlet with min_llcs > max_llcs" 64 $?
check "  ... naming the test: $(cat "$out/err")" grep -q "test bad_range (.*): min_llcs (4) > max_llcs (2)" "$out/err"

# ---- shards: disjoint, complete, stable
for n in 1 3 5; do
	: > "$out/union"
	for k in $(seq 1 $n); do
		$K gauntlet --shard $k/$n --list 2>/dev/null | cut -f1 >> "$out/union"
	done
	check "$n shards: union = the full list, each variant once" \
		cmp -s <(sort "$out/union") <(cut -f1 "$out/all.txt" | sort)
done
check "the same split twice" cmp -s <($K gauntlet --shard 2/3 --list 2>/dev/null) \
	<($K gauntlet --shard 2/3 --list 2>/dev/null)

# ---- budget: every configuration bucket in at most half the estimated time
full=$(awk -F'\t' '{ sub("~", "", $3); sub("s", "", $3); s += $3 } END { print s }' "$out/all.txt")
$K gauntlet --list --budget $((full / 2)) > "$out/b.txt" 2> "$out/err"
check "--budget $((full / 2)) (half of ~${full}s): $(head -1 "$out/err")" \
	grep -qE ' ([0-9]+) of \1 configuration buckets covered' "$out/err"
chosen=$(awk -F'\t' '{ sub("~", "", $3); sub("s", "", $3); s += $3 } END { print s }' "$out/b.txt")
check "  ... choosing ~${chosen}s of variants, at most the budget" [ "$chosen" -le $((full / 2)) ]
$K gauntlet --list --budget 30 > /dev/null 2> "$out/err"
check "a budget too small names what it gave up" grep -q "^  not covered: " "$out/err"

# ---- two real shards, merged
$K gauntlet steady --presets tiny-1llc,tiny-2llc --list 2>/dev/null > "$out/expect.txt"
# (the verdicts are not the point here: on a loaded host a fairness check
# may fail, so PASS and FAIL both count as having run)
for k in 1 2; do
	$K gauntlet steady --presets tiny-1llc,tiny-2llc --shard $k/2 --duration 1 \
		--runs-dir "$out/shard$k" --junit "$out/shard$k/junit.xml" > "$out/s$k.txt" 2>&1
	rc=$?
	check "shard $k/2 ran its one variant (exit $rc): $(grep -E '^(PASS|FAIL|ERROR)' "$out/s$k.txt")" \
		[ "$(grep -cE '^(PASS|FAIL) ' "$out/s$k.txt")" = 1 -a $rc -le 1 ]
done
check "each shard kept its result in a runs directory keyed by kernel/scheduler/preset/profile" \
	[ "$(find "$out"/shard1 "$out"/shard2 -path '*/EEVDF/tiny-*/default/steady.r1.json' | wc -l)" = 2 ]
validate() {   # FILE: against the result schema
	/usr/bin/python3 - "$1" <<'PY'
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open("docs/result-schema.json")))
PY
}
f=$(find "$out/shard1" -name 'steady.r1.json' | head -1)
check "a gauntlet result validates against the schema, variant and commit included" validate "$f"
check "  ... with the commit it was built from" grep -q "\"commit\": \"$(cat "$B/commit")\"" "$f"
$K report merge --expect "$out/expect.txt" "$out/merged" "$out/shard1" "$out/shard2" > "$out/m.txt" 2>&1
rc=$?
check "report merge of the two shards (exit $rc; 1 if one failed): $(cat "$out/m.txt")" \
	[ $rc -le 1 -a -s "$out/merged/junit.xml" ]
check "  ... JUnit validates" xmllint --noout --schema tests/data/junit.xsd "$out/merged/junit.xml"
check "  ... with both variants" [ "$(grep -c '<testcase ' "$out/merged/junit.xml")" = 2 ]
prove --exec cat "$out/merged/results.tap" > "$out/prove.txt" 2>&1
check "  ... TAP accepted by prove, 2 tests" grep -q "Tests=2" "$out/prove.txt"
check "  ... two JSON results" [ "$(ls "$out/merged/json" | wc -l)" = 2 ]
check "  ... an HTML page" grep -q "<table class=\"matrix\">" "$out/merged/index.html"
$K report merge "$out/m2" "$out/shard1" "$out/shard1" 2> "$out/err"
expect_rc "merging a shard twice (overlap)" 64 $?
check "  ... named: $(head -1 "$out/err")" grep -q "shards must not overlap" "$out/err"
$K report merge --expect "$out/expect.txt" "$out/m3" "$out/shard1" 2> "$out/err"
expect_rc "a missing shard (gap)" 64 $?
check "  ... named" grep -q "was run by no shard" "$out/err"

# ---- compare: the same run is no regression; a worse one is
$K compare "$out/shard1" "$out/shard1" > "$out/c.txt"; expect_rc "a run against itself" 0 $?
mkdir -p "$out/worse"
for f in $(find "$out/shard1" -name 'steady.r1.json'); do
	for r in 1 2 3; do
		/usr/bin/python3 - "$f" "$out/worse/w$r.json" "$out/base$r.json" $r <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); r = int(sys.argv[4])
s = d["guest"]["result"]["stats"]
s["spread_pct"] = 2.0 + 0.1 * r
json.dump(d, open(sys.argv[3], "w"))
s["spread_pct"] = 9.0 + 0.1 * r
json.dump(d, open(sys.argv[2], "w"))
PY
	done
done
mkdir -p "$out/base" && mv "$out"/base?.json "$out/base/"
$K compare "$out/base" "$out/worse" > "$out/c.txt"; expect_rc "a tripled spread over 3 repeats" 1 $?
check "  ... reported as a spread regression" grep -q "^REGRESSION.*spread_pct" "$out/c.txt"
$K compare "$out/worse" "$out/base" > "$out/c.txt"; expect_rc "the other way round" 0 $?
check "  ... an improvement" grep -q "^improvement.*spread_pct" "$out/c.txt"
tap_done
