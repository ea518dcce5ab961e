#!/bin/bash
# The scenario catalog through the CLI: every canned scenario passes under
# the kernel's own scheduler (EEVDF) on 1n2l2c1t and its result document
# validates against docs/result-schema.json; bad requests fail clearly;
# TAP output is accepted by prove and JUnit output by a schema check.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KTSTR:-./build/ktstr}
B=$(dirname "$K")
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
validate() {   # FILE: against the result schema
	/usr/bin/python3 - "$1" <<'PY'
import json, sys, jsonschema
schema = json.load(open("docs/result-schema.json"))
jsonschema.validate(json.load(open(sys.argv[1])), schema)
PY
}

names=$($K list --json | /usr/bin/python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(sys.stdin)))')
check "ktstr list --json lists 26 scenarios" [ "$(echo $names | wc -w)" = 26 ]
for n in $names; do
	$K run "$n" --topology 1n2l2c1t --duration 1.5 --json "$out/$n.json" > "$out/$n.txt" 2>&1; rc=$?
	if [ $rc = 0 ]; then ok "scenario $n passes under EEVDF: $(head -1 "$out/$n.txt")"
	else not_ok "scenario $n under EEVDF (exit $rc)"; sed 's/^/# /' "$out/$n.txt" | head -30; fi
	if validate "$out/$n.json" 2>"$out/err"; then ok "  ... $n's result validates against the schema"
	else not_ok "  ... $n's result does not validate"; tail -3 "$out/err" | sed 's/^/# /'; fi
done
# the schema is not a rubber stamp
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["verdict"]="maybe"; json.dump(d, open(sys.argv[2],"w"))' "$out/steady.json" "$out/bad.json"
rejects() { ! validate "$1" 2>/dev/null; }
check "a document with a bad verdict fails the schema" rejects "$out/bad.json"
# the time series: one progress series per worker, one run-queue column per CPU, bounded
series() {   # FILE: steady's series have the shape the report draws from
	/usr/bin/python3 - "$1" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["guest"]
ws, s = g["workers"], g["monitor"]["series"]
assert len(ws) == g["result"]["stats"]["workers"], (len(ws), g["result"]["stats"]["workers"])
for w in ws:
    pts = w["samples"]
    assert 2 <= len(pts) <= 201, (w["name"], len(pts))
    assert all(a[0] <= b[0] and a[1] <= b[1] and a[2] <= b[2] for a, b in zip(pts, pts[1:])), w["name"]
    assert pts[-1][1] > 0 and pts[-1][2] > 0, w["name"]
rows = s["nr_running"]
assert 2 <= len(rows) <= 200 and len(s["at_ms"]) == len(rows)
assert all(len(r) == s["cpus"] for r in rows) and s["cpus"] == 4, s["cpus"]
assert any(v for r in rows for v in r if v), "no CPU ever had a runnable task"
end = g["timings"]["setup_ms"] + g["timings"]["run_ms"]
assert 0 <= s["t0_ms"] <= end and all(0 <= p[0] <= end for w in ws for p in w["samples"])
PY
}
check "steady's result has a progress series per worker and a run-queue series per CPU" series "$out/steady.json"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["guest"]["monitor"]["series"]; s["nr_running"]*=201; json.dump(d, open(sys.argv[2],"w"))' "$out/steady.json" "$out/bad.json"
check "  ... a run-queue series over 200 rows fails the schema" rejects "$out/bad.json"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["guest"]["workers"][0]["samples"][0]=[1, 2]; json.dump(d, open(sys.argv[2],"w"))' "$out/steady.json" "$out/bad.json"
check "  ... so does a progress sample without its CPU time" rejects "$out/bad.json"

$K run no_such_scenario 2>"$out/err"; expect_rc "unknown scenario" 64 $?
check "  ... named in one line" grep -q "unknown scenario 'no_such_scenario'" "$out/err"
$K run steady --work-type Sleepy 2>/dev/null; expect_rc "unknown work type" 64 $?
$K run steady --scheduler /nonexistent/scx 2>/dev/null; expect_rc "missing scheduler binary" 66 $?
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
	$K run steady --host 2>"$out/err"; expect_rc "--host without cgroup v2" 69 $?
	check "  ... says so: $(cat "$out/err")" grep -q "cgroup v2" "$out/err"
fi
# bare metal: inside a VM (which has cgroup v2) `ktstr run --host` runs in place
o=$($K vm -- /init run steady --host --duration 1 2>&1); rc=$?
expect_rc "ktstr run --host where cgroup v2 exists" 0 $rc
check "  ... PASS on the host: $(echo "$o" | head -1)" grep -q "^PASS  steady \[host\]" <<< "$o"
o=$($K vm -- sh -c 'mkdir /sys/fs/cgroup/ktstr-99999 /sys/fs/cgroup/ktstr-99999/cg_0 && /init cleanup && ls /sys/fs/cgroup | grep -c ktstr-' 2>&1)
check "ktstr cleanup removes a dead run's cgroups ($(echo $o))" [ "$(echo $o)" = "removed 1 stale cgroup 0" ]

# a scheduler that is not a scheduler: a clear verdict, not a hang
$K run steady --duration 1 --scheduler /bin/true > "$out/t.txt" 2>&1; rc=$?
expect_rc "a binary that never attaches fails the run" 1 $rc
check "  ... saying it exited before attaching" grep -q "before attaching" "$out/t.txt"
# invalid ops inside a test: a clean failure naming the op
"$B/examples/my_tests" --list >/dev/null 2>&1 || true

# TAP and JUnit from a real failing run (a scheduler override that attaches
# nothing makes the expect_detail test fail for real)
SUITE=$B/tests/integration/sched_faults
KTSTR_SCHEDULER=/bin/true "$SUITE" fault_scheduler_fails_to_start --tap --junit "$out/j.xml" > "$out/t.tap" 2>/dev/null
check "TAP: the failure is reported as 'not ok'" grep -q "^not ok 1 - fault_scheduler_fails_to_start" "$out/t.tap"
prove --exec cat "$out/t.tap" > "$out/prove.txt" 2>&1
check "TAP is accepted by prove (1 test, 1 failed)" grep -q "Failed 1/1 subtests" "$out/prove.txt"
check "JUnit validates against the JUnit schema" xmllint --noout --schema tests/data/junit.xsd "$out/j.xml"
check "  ... with the failure in it" grep -q "<failure message=" "$out/j.xml"
# CI sees what a terminal sees: the reason, the report and the timeline
check "TAP's YAML block parses and carries the details, the timeline and the report" /usr/bin/python3 - "$out/t.tap" <<'PY'
import sys, yaml
tap = open(sys.argv[1]).read()
block = tap.split("  ---\n", 1)[1].split("  ...\n", 1)[0]
d = yaml.safe_load("\n".join(l[2:] for l in block.splitlines()))
assert any("before attaching" in x for x in d["details"]), d
assert any("scheduler" in x and "starting" in x for x in d["timeline"]), d
assert d["output"].startswith("FAIL  fault_scheduler_fails_to_start"), d
PY
check "  ... and so does JUnit's failure body" grep -q "before attaching" "$out/j.xml"
check "  ... timeline included" grep -q "timeline:" "$out/j.xml"
tap_done
