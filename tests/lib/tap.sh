# Minimal TAP helpers for the shell-level tests: each check prints
# "ok N - what" or "not ok N - what" with the evidence, and tap_done prints
# the plan.  Sourced by tests/integration/*.sh.
T_N=0 T_FAIL=0
ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_N - $*"; }
# check DESC COND-COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# expect_rc DESC WANT ACTUAL
expect_rc() { if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else not_ok "$1: exit $3, want $2"; fi; }
tap_done() { echo "1..$T_N"; [ $T_FAIL = 0 ]; }
