#!/bin/bash
# The library's contract with its users, checked on the built objects:
# libktstr.so exports exactly what the public headers declare (nothing
# internal, nothing missing), the library's modules neither read the
# environment nor print (only the runner and the CLI do), and struct
# kt_ctx shows test code the guide's fields, not ktstr's own.  Nothing boots.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
B=$(dirname "${KTSTR:-build/ktstr}")
T=$(mktemp -d /tmp/ktstr-library-XXXXXX); trap 'rm -rf "$T"' EXIT
CFLAGS_PUB="-std=gnu11 -D_GNU_SOURCE -Iinclude $(pkg-config --cflags libbpf jansson 2>/dev/null)"

# What the public headers declare: functions (as GCC sees them, -aux-info)
# and the variables marked KT_API.
for h in include/ktstr/*.h; do echo "#include <ktstr/$(basename "$h")>"; done > "$T/all.c"
cc $CFLAGS_PUB -fsyntax-only -aux-info "$T/aux" "$T/all.c"
sed -nE 's|^/\* include/ktstr/[a-z_]+\.h:[0-9]+:[A-Z]+ \*/ extern [^(]*[ *]([A-Za-z_][A-Za-z0-9_]*) \(.*|\1|p' \
	"$T/aux" | sort -u > "$T/public"
sed -nE 's/^KT_API extern [^;]*[ *]([A-Za-z_][A-Za-z0-9_]*)(\[\])?;.*/\1/p' include/ktstr/*.h >> "$T/public"
sort -u -o "$T/public" "$T/public"
check "the public headers declare an API ($(wc -l < "$T/public") names)" [ "$(wc -l < "$T/public")" -gt 100 ]

nm -D --defined-only "$B/libktstr.so" 2>/dev/null | awk '$2 ~ /^[TDBRWVi]$/ {print $3}' | sort -u > "$T/exported"
check "$B/libktstr.so exports symbols ($(wc -l < "$T/exported"))" [ -s "$T/exported" ]
comm -13 "$T/public" "$T/exported" > "$T/extra"
check "  ... none that the public headers do not declare ($(wc -l < "$T/extra") extra)" [ ! -s "$T/extra" ]
head -5 "$T/extra" | sed 's/^/#   /'
comm -23 "$T/public" "$T/exported" > "$T/missing"
check "  ... and exports everything they declare ($(wc -l < "$T/missing") missing)" [ ! -s "$T/missing" ]
head -5 "$T/missing" | sed 's/^/#   /'

# The modules below the runner and the CLI (src/guest, PID 1's own, talks
# to the console on purpose).
LIB_DIRS="vm cgroup scenario check topology monitor sched workload util report"
objs=()
for d in $LIB_DIRS; do objs+=("$B"/src/$d/*.o); done
check "the library's objects are built (${#objs[@]})" [ -e "${objs[0]}" ]
env_users=$(for o in "${objs[@]}"; do nm -u "$o" | grep -qwE 'getenv|secure_getenv' && echo "${o#$B/}"; done | xargs)
check "no library module reads the environment${env_users:+: $env_users}" [ -z "$env_users" ]
printers=$(for o in "${objs[@]}"; do
	nm -u "$o" | grep -qwE 'stdout|stderr|printf|vprintf|puts|putchar|perror|dprintf|vdprintf|psignal|warn|warnx|err|errx' &&
		echo "${o#$B/}"
done | xargs)
check "no library module prints (stdout, stderr, printf, perror, dprintf...)${printers:+: $printers}" [ -z "$printers" ]

# struct kt_ctx: the guide's fields and the accessors compile, ktstr's own fields do not.
cat > "$T/guide.c" <<'C'
#include <ktstr/ktstr.h>
struct kt_assert_result *body(struct kt_ctx *ctx);
struct kt_assert_result *body(struct kt_ctx *ctx)
{
	kt_timeline_add(kt_ctx_timeline(ctx), "%u workers, %d", ctx->workers_per_cgroup,
			(int)ctx->sched_pid);
	if (kt_ctx_abort_reason(ctx) || ctx->wait_for_map_write || ctx->settle_ms)
		return kt_ctx_fail(ctx, "aborted");
	kt_ctx_sleep(ctx, ctx->duration_ms);
	(void)ctx->cgroups; (void)ctx->topo; (void)ctx->work_type_override;
	return kt_collect_all(NULL, &ctx->assert);
}
C
check "a body using the guide's Ctx fields and the accessors compiles" \
	cc $CFLAGS_PUB -Wall -Werror -c -o /dev/null "$T/guide.c" 2> "$T/cc.err"
grep -m 3 'error:' "$T/cc.err" | sed 's/^/#   /'
for f in timeline flags sched_alive abort_reason on_abort watch; do
	printf '#include <ktstr/ktstr.h>\nvoid *f(struct kt_ctx *c);\nvoid *f(struct kt_ctx *c) { return (void *)&c->%s; }\n' \
		"$f" > "$T/inner.c"
	check "  ... and one reaching ctx->$f does not" \
		bash -c "! cc $CFLAGS_PUB -c -o /dev/null '$T/inner.c' 2>/dev/null"
done
tap_done
