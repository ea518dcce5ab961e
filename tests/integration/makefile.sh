#!/bin/bash
# The build itself: a user's CFLAGS adds to the flags the build needs
# instead of replacing them, objects are rebuilt when a header they
# include changes, and the fixture is built against the newest cached
# kernel by version (6.10 after 6.9).  Nothing is compiled (make -n).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

cmd=$(make -s -B -n CFLAGS=-O0 build/src/util/util.o)
for f in -O0 -Iinclude -std=gnu11 -Werror -MMD; do
	check "make CFLAGS=-O0 keeps $f" grep -q -- "$f" <<< "$cmd"
done
make -s build/src/util/util.o >/dev/null 2>&1
check "  ... and writes header dependencies (build/src/util/util.d)" grep -q "include/ktstr/common.h" build/src/util/util.d
check "an object is rebuilt when a header it includes changes" \
	grep -q "util.c" <<< "$(make -s -n -W include/ktstr/common.h build/src/util/util.o)"
check "  ... and not when an unrelated header changes" \
	[ -z "$(make -s -n -W include/ktstr/monitor.h build/src/util/util.o)" ]
for v in 6.9 6.10 6.2; do mkdir -p "$out/ktstr/kernels/$v"; touch "$out/ktstr/kernels/$v/vmlinux.h"; done
got=$(make -s XDG_CACHE_HOME="$out" print-VMLINUX_H)
check "VMLINUX_H is the newest kernel by version: ${got#$out/}" [ "$got" = "$out/ktstr/kernels/6.10/vmlinux.h" ]
tap_done
