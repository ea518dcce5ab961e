# ktstr build.  `make` builds libktstr (static + shared), the ktstr CLI,
# the fixture scheduler (when a kernel's vmlinux.h is cached) and the tests.
# `make check` runs every test; `make install PREFIX=...` installs.

CC       ?= gcc
BPF_CC   ?= clang-19
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
O        ?= build

WARN     := -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
            -Wno-unused-parameter -Werror
# CFLAGS is the user's (optimisation, debug, sanitizers: `make CFLAGS=-O0`);
# what the build cannot do without lives in KT_CFLAGS, so overriding
# CFLAGS never drops the include paths, the language standard or -Werror.
# Symbols are hidden unless a public header marks them KT_API: libktstr.so
# exports the public API and nothing else (`make check-exports`).
CFLAGS   ?= -O2 -g
KT_CFLAGS := -std=gnu11 $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE -Iinclude -Isrc \
            -MMD -MP $(shell pkg-config --cflags libbpf jansson 2>/dev/null)
ALL_CFLAGS = $(KT_CFLAGS) $(CFLAGS)
# libm is linked statically: the few functions used cost far less than
# shipping its 900 KB shared object in every guest initramfs.
LDLIBS   := -lelf -lz -ljansson -lpthread -Wl,--push-state,-Bstatic -lm -Wl,--pop-state
# Programs that run as the guest's init (ktstr itself, the test suites) are
# static PIEs: the guest then needs no shared libraries or dynamic loader,
# which makes the initramfs 1.2 MB smaller and each boot ~0.1 s faster.
STATIC   := -static-pie -lbpf -lelf -lz -lzstd -ljansson -lpthread -lm

CACHE_HOME := $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)
# The newest cached kernel by version (sort -V: 6.10 comes after 6.9).
VMLINUX_H  ?= $(shell ls -d $(CACHE_HOME)/ktstr/kernels/*/vmlinux.h 2>/dev/null | sort -V | tail -n 1)

# MODULES="util topology" restricts the library to some modules (for
# building one module's tests while others are being changed).
MODULES  ?= $(notdir $(wildcard src/*))
LIB_SRC  := $(filter-out src/cli/% src/main/%,$(foreach m,$(MODULES),$(wildcard src/$(m)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o)
CLI_SRC  := $(wildcard src/cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(O)/%.o)
MAIN_OBJ := $(O)/src/main/test_main.o

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
ITEST_SRC := $(wildcard tests/integration/*.c)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(O)/tests/integration/%)
EX_SRC   := $(wildcard examples/*.c)
EX_BIN   := $(EX_SRC:examples/%.c=$(O)/examples/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(O)/bench/%)

FIXTURE  := $(if $(VMLINUX_H),$(O)/scx_fixture)

.PHONY: all lib cli tests fixture check check-unit check-lib check-san san san-bins analyze install clean print-%
all: lib cli $(FIXTURE) tests

lib: $(O)/libktstr.a $(O)/libktstr.so $(O)/libktstr_main.a
cli: $(O)/ktstr
tests: $(UNIT_BIN) $(ITEST_BIN) $(EX_BIN) $(BENCH_BIN)
fixture: $(O)/scx_fixture

# Objects depend on the headers they include (-MMD -MP writes .d files)
# and on this file, whose flags they were built with.
$(O)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The commit the binaries come from keys the gauntlet's runs directory.  The
# stamp file is rewritten only when the commit changes, so only that one
# object rebuilds then.
GIT_COMMIT := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
$(shell mkdir -p $(O); [ "$$(cat $(O)/commit 2>/dev/null)" = "$(GIT_COMMIT)" ] || echo "$(GIT_COMMIT)" > $(O)/commit)
$(O)/src/runner/gauntlet_run.o: $(O)/commit
$(O)/src/runner/gauntlet_run.o: CFLAGS += -DKT_GIT_COMMIT='"$(GIT_COMMIT)"'

$(O)/libktstr.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# --exclude-libs: the static libm linked in stays private too.
$(O)/libktstr.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libktstr.so.0 -Wl,--exclude-libs,ALL -o $@ $^ $(LDLIBS)

$(O)/libktstr_main.a: $(MAIN_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Programs link everything statically so the guest needs nothing else.
LINK = $(CC) $(ALL_CFLAGS) -o $@ $(filter %.o %.c,$^) $(O)/libktstr_main.a $(O)/libktstr.a $(STATIC)

$(O)/ktstr: $(CLI_OBJ) $(O)/libktstr.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(O)/libktstr.a $(STATIC)

$(O)/tests/unit/%: tests/unit/%.c $(O)/libktstr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libktstr.a $(LDLIBS) -lcmocka

# Integration suites find the fixture scheduler next to themselves.
$(O)/tests/integration/%: tests/integration/%.c $(O)/libktstr.a $(O)/libktstr_main.a $(FIXTURE)
	@mkdir -p $(dir $@)
	$(LINK)
	$(if $(FIXTURE),cp $(FIXTURE) $(dir $@))

$(O)/examples/%: examples/%.c $(O)/libktstr.a $(O)/libktstr_main.a
	@mkdir -p $(dir $@)
	$(LINK)

$(O)/bench/%: bench/%.c $(O)/libktstr.a $(O)/libktstr_main.a
	@mkdir -p $(dir $@)
	$(LINK)

# The fixture scheduler: BPF object compiled against the cached kernel's BTF.
$(O)/sched/vmlinux.h: $(VMLINUX_H)
	@mkdir -p $(dir $@)
	cp $< $@

$(O)/sched/fixture.bpf.o: sched/fixture/fixture.bpf.c sched/fixture/fixture.h sched/fixture/compat.bpf.h $(O)/sched/vmlinux.h
	$(BPF_CC) -target bpf -O2 -g -D__TARGET_ARCH_x86 -I$(O)/sched -Isched/fixture \
		-Wall -Werror -c -o $@ $<

$(O)/sched/embed.o: sched/fixture/embed.S $(O)/sched/fixture.bpf.o
	$(CC) -c -DFIXTURE_BPF_OBJ_PATH='"$(O)/sched/fixture.bpf.o"' -o $@ $<

$(O)/scx_fixture: sched/fixture/fixture.c sched/fixture/fixture.h $(O)/sched/embed.o
	$(CC) $(ALL_CFLAGS) -Isched/fixture -o $@ $< $(O)/sched/embed.o -lbpf -lelf -lz

# The sanitizer lane: the unit tests and the ktstr CLI built with ASan and
# UBSan in build-san/ (dynamically linked: the sanitizers' runtimes cannot
# be linked statically), run over every host-side bad-input case.
SAN_DIR    := build-san
# (-O1 with the sanitizers changes GCC's value ranges enough to raise
# -Wformat-truncation where -O2 proves the output fits: checked there.)
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all -Wno-format-truncation
san:
	$(MAKE) O=$(SAN_DIR) CFLAGS='$(SAN_CFLAGS)' \
		STATIC='-lbpf -lelf -lz -lzstd -ljansson -lpthread -lm' san-bins
san-bins: $(O)/ktstr $(UNIT_BIN) $(O)/libktstr_main.a

# gcc -fanalyzer over the library (not part of check: ~2 min, and GCC 12's
# analyzer reports false positives).  What it reports and why it is not a
# bug, as of this writing:
#  - "use of uninitialized value" in kt_freep for KT_AUTOFREE variables
#    (validate.c check_affinity, launch.c kt_vm_run, initramfs.c, ...):
#    every such variable is initialised at its declaration; GCC 12 does not
#    model __attribute__((cleanup)) on paths that return early.
#  - "leak" of a pointer just stored into a growable array that a caller's
#    struct owns (cgroup/group.c remember, vm/cpio.c kt_strlist_add,
#    scenario/ctx.c kt_timeline_add and kt_scen_watch, scenario/helpers.c
#    kt_scen_list_append): the array is freed with its owner; the analyzer
#    loses track of stores through a realloc'd pointer.
#  - "dereference of NULL 's'" in monitor/eval.c imbalance(): its callers
#    pass the sample being fed, never NULL; the path mixes it up with the
#    previous sample, which may be NULL and is checked.
# Found and fixed: memcpy from NULL for 0 bytes (util.c kt_buf_append) and
# qsort of a NULL array (initramfs.c prune_cache).
analyze:
	@for f in $(LIB_SRC); do \
		$(CC) $(filter-out -MMD -MP,$(KT_CFLAGS)) -O1 -fanalyzer -Wno-analyzer-too-complex -Wno-error \
			-c -o /dev/null $$f 2>&1 | grep -E 'warning:' ; \
	done; true

check: all san
	./tests/run

check-san: san
	SAN_BUILD=$(SAN_DIR) ./tests/run --san

check-unit: $(UNIT_BIN)
	./tests/run --unit

# The library's contract (also in check, with the other integration tests):
# libktstr.so exports exactly the public headers' API, no library module
# reads the environment or prints, struct kt_ctx keeps ktstr's fields private.
check-lib: lib
	KTSTR=$(O)/ktstr ./tests/integration/library.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/ktstr $(DESTDIR)$(PREFIX)/libexec/ktstr \
		$(DESTDIR)$(PREFIX)/share/ktstr
	install -m 755 $(O)/ktstr $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(O)/libktstr.a $(O)/libktstr_main.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(O)/libktstr.so $(DESTDIR)$(PREFIX)/lib/libktstr.so.0
	ln -sf libktstr.so.0 $(DESTDIR)$(PREFIX)/lib/libktstr.so
	install -m 644 include/ktstr/*.h $(DESTDIR)$(PREFIX)/include/ktstr/
	install -m 755 scripts/kernel-fetch scripts/kernel-source scripts/qemu-fetch \
		$(DESTDIR)$(PREFIX)/libexec/ktstr/
	install -m 644 kernel/ktstr.config $(DESTDIR)$(PREFIX)/share/ktstr/
	$(if $(FIXTURE),install -m 755 $(O)/scx_fixture $(DESTDIR)$(PREFIX)/libexec/ktstr/)
	sed -e 's|@PREFIX@|$(PREFIX)|g' ktstr.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ktstr.pc

clean:
	rm -rf $(O) $(SAN_DIR)

# `make print-VMLINUX_H`: a variable's value, for scripts and tests.
print-%:
	@echo '$($*)'

-include $(shell find $(O) -name '*.d' 2>/dev/null)
