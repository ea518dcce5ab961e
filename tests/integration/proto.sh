#!/bin/bash
# The request as emitted, against docs/request-schema.json: the one the
# guest of `ktstr vm` finds in its initramfs (cmd mode), the ones kept in
# the result documents of `ktstr run` (a scenario with a scheduler), of a
# test binary (a test with a flag profile) and of `ktstr run --host`; the
# schema is not a rubber stamp (another version, a stray field, a field
# of another mode, a cmd without argv all fail it) and its checks are the
# result schema's.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KTSTR:-./build/ktstr}
B=$(dirname "$K")
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

# valid FILE [KEY]: the request in FILE (or its KEY) against the schema
valid() {
	/usr/bin/python3 - "$@" <<'PY'
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
req = doc[sys.argv[2]] if len(sys.argv) > 2 else doc
jsonschema.validate(req, json.load(open("docs/request-schema.json")))
PY
}
rejects() { ! valid "$@" 2>/dev/null; }
show() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(d.get(sys.argv[2], d) if len(sys.argv) > 2 else d, sort_keys=True))' "$@"; }

# cmd mode: what the guest itself was given
$K vm -- cat /ktstr/request.json > "$out/cmd.json" 2> "$out/err"; rc=$?
expect_rc "ktstr vm -- cat /ktstr/request.json" 0 $rc
check "  ... the cmd request validates: $(cat "$out/cmd.json")" valid "$out/cmd.json"
check "  ... it carries the protocol version" grep -q '"version":1' "$out/cmd.json"

# scenario mode, with a scheduler (args after --), a work type and a check
$K run steady --duration 1 --work-type Bursty --check max_gap_ms=1500 --scheduler "$B/scx_fixture" \
	--sched-name fixture --json "$out/run.json" -- --slice-us 2000 > "$out/run.txt" 2>&1
check "ktstr run kept a result document ($(head -1 "$out/run.txt"))" [ -s "$out/run.json" ]
check "  ... its scenario request validates: $(show "$out/run.json" request)" valid "$out/run.json" request
check "  ... naming the scheduler where the guest finds it, with its arguments" \
	grep -q '"binary": "/include/scx_fixture", "ops": "fixture", "args": \["--slice-us", "2000"\]' \
	<(/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["request"]["scheduler"]; print(json.dumps({k: s[k] for k in ("binary", "ops", "args")}))' "$out/run.json")

# test mode, under a flag profile of a declared scheduler
SUITE=$B/tests/integration/sched_faults
"$SUITE" fixture_flag_profiles/slice1ms --json "$out/t" > "$out/t.txt" 2>&1
f=$(ls "$out"/t/*.json 2>/dev/null | head -1)
check "a test binary kept a result document ($(head -1 "$out/t.txt"))" [ -n "$f" ]
check "  ... its test request validates: $(show "$f" request)" valid "$f" request
check "  ... with the profile's flag and arguments" \
	grep -q '"flags": \["slice1ms"\]' <(show "$f" request)

# --host (the request goes to a forked child, the result comes back versioned)
$K vm -- sh -c '/init run steady --host --duration 1 --json /tmp/h.json >/tmp/h.txt 2>&1; cat /tmp/h.json' \
	> "$out/host.json" 2> "$out/err"
check "ktstr run --host (in a VM) kept a result whose request validates" valid "$out/host.json" request
check "  ... and whose guest part carries the protocol version" \
	grep -q '"version": 1' <(show "$out/host.json" guest)

# the schema is not a rubber stamp
mutate() {   # OUT PYTHON-STATEMENT-ON-r: a changed copy of the scenario request
	/usr/bin/python3 - "$out/run.json" "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["request"]
exec(sys.argv[3])
json.dump(r, open(sys.argv[2], "w"))
PY
}
mutate "$out/v2.json" 'r["version"] = 2'
check "a request of another version fails the schema" rejects "$out/v2.json"
mutate "$out/stray.json" 'r["colour"] = "blue"'
check "a request with an unknown field fails the schema" rejects "$out/stray.json"
mutate "$out/argv.json" 'r["argv"] = ["true"]'
check "a scenario request with a cmd field fails the schema" rejects "$out/argv.json"
mutate "$out/noname.json" 'del r["scenario"]'
check "a scenario request without its scenario fails the schema" rejects "$out/noname.json"
mutate "$out/sched.json" 'r["scheduler"]["nice"] = 1'
check "a scheduler with an unknown field fails the schema" rejects "$out/sched.json"
echo '{"version": 1, "mode": "cmd", "argv": []}' > "$out/empty.json"
check "a cmd request with an empty argv fails the schema" rejects "$out/empty.json"
echo '{"version": 1, "mode": "shell"}' > "$out/shell.json"
check "the shell request (as kt_request_emit writes it) validates" valid "$out/shell.json"
check "the request schema's checks are the result schema's" /usr/bin/python3 -c '
import json
a = json.load(open("docs/request-schema.json"))["definitions"]["checks"]
b = json.load(open("docs/result-schema.json"))["definitions"]["checks"]
assert a == b'
tap_done
