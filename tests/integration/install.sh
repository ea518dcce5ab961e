#!/bin/bash
# The README's recipe at a non-default PREFIX: `make install PREFIX=...`,
# a suite linked dynamically with pkg-config, run on the host (it must find
# libktstr.so.0 without LD_LIBRARY_PATH) and in a VM (the guest's library
# closure follows the binary's RUNPATH, or the host's LD_LIBRARY_PATH for
# a binary without one).  Also the static recipe.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
KTSTR=${KTSTR:-build/ktstr}
T=$(mktemp -d /tmp/ktstr-install-XXXXXX); trap 'rm -rf "$T"' EXIT
P=$T/opt/kt
make -s install PREFIX="$P" > "$T/install.log" 2>&1
expect_rc "make install PREFIX=$P" 0 $?
export PKG_CONFIG_PATH=$P/lib/pkgconfig
cc -o "$T/dyn_tests" examples/my_tests.c $(pkg-config --cflags --libs ktstr) 2> "$T/cc.err"
expect_rc "dynamic link with pkg-config" 0 $?
check "  ... the binary carries its library directory (RUNPATH)" \
	grep -q "$P/lib" <(readelf -d "$T/dyn_tests" 2>/dev/null | grep -E 'RUNPATH|RPATH')
"$T/dyn_tests" --list > "$T/list" 2> "$T/err"
expect_rc "  ... runs on the host without LD_LIBRARY_PATH" 0 $?
sed 's/^/# /' "$T/err" | head -3
cc -static-pie -o "$T/static_tests" examples/my_tests.c $(pkg-config --static --cflags --libs ktstr) 2> "$T/cc.err"
expect_rc "static link with pkg-config --static" 0 $?
# A binary without RUNPATH finds libktstr.so.0 through LD_LIBRARY_PATH only:
# included in a VM, its library closure must follow the same search path
# (ktstr reads the variable and hands it to the library).  The library sits
# under /tmp on purpose: the guest's init must not hide it with a tmpfs (a
# clean clone in /tmp failed this way).
L=$(mktemp -d /tmp/ktstr-ldpath-XXXXXX); trap 'rm -rf "$T" "$L"' EXIT
cp "$P/lib/libktstr.so.0" "$L/"
cc -o "$T/norpath_tests" examples/my_tests.c -I"$P/include" -D_GNU_SOURCE -L"$P/lib" \
	-lktstr_main -lktstr 2> "$T/cc.err"
expect_rc "link without RUNPATH" 0 $?
LD_LIBRARY_PATH=$L "$KTSTR" vm --include "$T/norpath_tests" -- /include/norpath_tests --list \
	> "$T/norpath" 2>&1; rc=$?
expect_rc "  ... runs in the guest with LD_LIBRARY_PATH on the host" 0 $rc
check "  ... and lists its tests there" grep -q steady_tight_gaps "$T/norpath"
[ $rc = 0 ] || sed 's/^/# /' "$T/norpath" | tail -10

# the installed kernel build configures with the installed fragment (on a
# stand-in tree whose configuration step fails: nothing is built)
check "installed: the kconfig fragment and the source fetcher" \
	test -r "$P/share/ktstr/ktstr.config" -a -x "$P/libexec/ktstr/kernel-source"
mkdir -p "$T/linux" && printf 'VERSION = 6\nPATCHLEVEL = 12\nallnoconfig:\n\texit 1\n' > "$T/linux/Makefile"
XDG_CACHE_HOME=$T/cache "$P/bin/ktstr" kernel build "$T/linux" > "$T/kb.out" 2> "$T/err"
expect_rc "  ... installed ktstr kernel build gets to configuring" 69 $?
check "  ... with the installed fragment" grep -q "allnoconfig + $P/share/ktstr/ktstr.config" "$T/kb.out"
# one VM: /init is the dynamic binary, so libktstr.so.0 must be in the guest
"$T/dyn_tests" steady_tight_gaps --duration 1 > "$T/run" 2>&1; rc=$?
expect_rc "  ... and its test passes in a VM (the guest finds libktstr.so.0)" 0 $rc
[ $rc = 0 ] || sed 's/^/# /' "$T/run" | tail -15
tap_done
