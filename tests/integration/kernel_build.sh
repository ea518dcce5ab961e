#!/bin/bash
# `ktstr kernel build` up to the point where the long build would start,
# on a stand-in kernel tree: its Makefile answers allnoconfig/olddefconfig
# by writing a .config (with or without sched_ext) into O= and records
# every target it is asked for.  Checks the refusal (exit 65, one line,
# before any build target), the command line's errors, and that the
# source directory is never written to.  The real build of Debian's 6.12
# is a README command, not part of the suite (20+ minutes on 2 cores).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
K=${KTSTR:-./build/ktstr}
T=$(mktemp -d /tmp/ktstr-kbuild-XXXXXX); trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache

tree=$T/linux
mkdir -p "$tree"
# The stand-in: a .config holding the fragment's lines except those
# named in $DROP, and a log of the targets make was asked for.
cat > "$tree/Makefile" <<'MK'
VERSION = 6
PATCHLEVEL = 12
SUBLEVEL = 95
EXTRAVERSION =
allnoconfig:
	@mkdir -p $(O); echo allnoconfig >> $(O)/../targets
	@grep -E '^(CONFIG_|# CONFIG_.* is not set)' $(subst KCONFIG_ALLCONFIG=,,$(KCONFIG_ALLCONFIG)) \
		| grep -vE '^($(DROP))=' > $(O)/.config
	@[ -z "$(DROP)" ] || echo '# $(DROP) is not set' >> $(O)/.config
olddefconfig:
	@echo olddefconfig >> $(O)/../targets
vmlinux bzImage:
	@echo $@ >> $(O)/../targets; exit 1
MK
before=$(ls -lR --time-style=full-iso "$tree" | md5sum)

"$K" kernel build "$tree" -j1 > "$T/out" 2> "$T/err" </dev/null
# (no DROP: every line holds, so make is asked to build; the stand-in fails there)
rc=$?
check "a tree whose .config holds the fragment gets as far as building" \
	grep -qx vmlinux "$T/cache/ktstr/kbuild/"*/targets
expect_rc "  ... and a failed build is a host-side failure" 69 $rc
check "  ... reported on one line naming the log" \
	bash -c "[ \$(wc -l < '$T/err') = 1 ] && grep -q 'make vmlinux bzImage failed (log: ' '$T/err'"

rm -rf "$T/cache/ktstr/kbuild"
DROP=CONFIG_SCHED_CLASS_EXT "$K" kernel build "$tree" -j1 > "$T/out" 2> "$T/err" </dev/null
rc=$?
expect_rc "a tree whose .config lacks sched_ext is refused" 65 $rc
check "  ... on one line naming the option and what the .config has" \
	bash -c "[ \$(wc -l < '$T/err') = 1 ] && grep -q 'CONFIG_SCHED_CLASS_EXT=y (the .config has: # CONFIG_SCHED_CLASS_EXT is not set)' '$T/err'"
check "  ... after olddefconfig and before any build target" \
	bash -c "[ \"\$(tr '\n' ' ' < $T/cache/ktstr/kbuild/*/targets)\" = 'allnoconfig olddefconfig ' ]"
check "  ... and nothing is cached as built" bash -c "[ ! -d '$T/cache/ktstr/kernels-built' ] || [ -z \"\$(ls '$T/cache/ktstr/kernels-built')\" ]"
check "the source tree is never written to" \
	bash -c "[ \"\$(ls -lR --time-style=full-iso '$tree' | md5sum)\" = '$before' ]"

printf 'CONFIG_A=y\nnot an option\n' > "$T/bad.config"
"$K" kernel build "$tree" --fragment "$T/bad.config" > /dev/null 2> "$T/err"
expect_rc "a malformed fragment is a usage error" 64 $?
check "  ... naming the line" grep -q "malformed fragment line 'not an option'" "$T/err"
"$K" kernel build "$tree" "$tree" > /dev/null 2>&1
expect_rc "two sources are a usage error" 64 $?
"$K" kernel build "$tree" --jobs 0 > /dev/null 2>&1
expect_rc "--jobs 0 is a usage error" 64 $?
"$K" kernel build "$T/none" > /dev/null 2> "$T/err"
expect_rc "a missing source is a usage error" 64 $?
check "  ... naming it" grep -q "$T/none" "$T/err"
"$K" kernel build --help > "$T/out"
expect_rc "--help" 0 $?
check "  ... documents the refusal's exit code" grep -q 'exit 65' "$T/out"
# The source fetcher on a fresh machine: no private package list yet, so
# apt-cache fails until `apt-get update` has run.  Stand-in apt tools whose
# suite holds no such package: the fetcher must say so on one line (exit
# 69), not stop silently at its first lookup.
mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 100\n' > "$T/bin/apt-cache"
printf '#!/bin/sh\nexit 0\n' > "$T/bin/apt-get"
chmod +x "$T/bin/apt-cache" "$T/bin/apt-get"
for s in kernel-source:'no package linux-source-6.12 in Debian bookworm-backports' \
	 qemu-fetch:'no qemu-system-x86 in bookworm-backports'; do
	PATH=$T/bin:$PATH scripts/${s%%:*} > /dev/null 2> "$T/err"
	rc=$?
	expect_rc "scripts/${s%%:*} on a fresh cache with the package missing fails as host-side" 69 $rc
	check "  ... saying why in one error line (after its progress line)" \
		bash -c "[ \$(grep -c '^ktstr:' '$T/err') = 1 ] && grep -q '^ktstr: .*${s#*:}' '$T/err'"
done
tap_done
