# ktstr build.  `make` builds libktstr (static + shared), the ktstr CLI,
# the fixture scheduler (when a kernel's vmlinux.h is cached) and the tests.
# `make check` runs every test; `make install PREFIX=...` installs.

CC       ?= gcc
BPF_CC   ?= clang-19
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
O        := build

WARN     := -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
            -Wno-unused-parameter -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -fPIC -D_GNU_SOURCE -Iinclude -Isrc \
            $(shell pkg-config --cflags libbpf jansson 2>/dev/null)
# libm is linked statically: the few functions used cost far less than
# shipping its 900 KB shared object in every guest initramfs.
LDLIBS   := -lelf -lz -ljansson -lpthread -Wl,--push-state,-Bstatic -lm -Wl,--pop-state
# Programs that run as the guest's init (ktstr itself, the test suites) are
# static PIEs: the guest then needs no shared libraries or dynamic loader,
# which makes the initramfs 1.2 MB smaller and each boot ~0.1 s faster.
STATIC   := -static-pie -lbpf -lelf -lz -lzstd -ljansson -lpthread -lm

CACHE_HOME := $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)
VMLINUX_H  ?= $(lastword $(sort $(wildcard $(CACHE_HOME)/ktstr/kernels/*/vmlinux.h)))

# MODULES="util topology" restricts the library to some modules (for
# building one module's tests while others are being changed).
MODULES  ?= $(notdir $(wildcard src/*))
LIB_SRC  := $(filter-out src/cli/% src/main/%,$(foreach m,$(MODULES),$(wildcard src/$(m)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/%.o)
CLI_SRC  := $(wildcard src/cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(O)/%.o)
MAIN_OBJ := $(O)/src/main/test_main.o
HDRS     := $(wildcard include/ktstr/*.h src/*/*.h)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
ITEST_SRC := $(wildcard tests/integration/*.c)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(O)/tests/integration/%)
EX_SRC   := $(wildcard examples/*.c)
EX_BIN   := $(EX_SRC:examples/%.c=$(O)/examples/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(O)/bench/%)

FIXTURE  := $(if $(VMLINUX_H),$(O)/scx_fixture)

.PHONY: all lib cli tests fixture check check-unit install clean
all: lib cli $(FIXTURE) tests

lib: $(O)/libktstr.a $(O)/libktstr.so $(O)/libktstr_main.a
cli: $(O)/ktstr
tests: $(UNIT_BIN) $(ITEST_BIN) $(EX_BIN) $(BENCH_BIN)
fixture: $(O)/scx_fixture

$(O)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

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

$(O)/libktstr.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libktstr.so.0 -o $@ $^ $(LDLIBS)

$(O)/libktstr_main.a: $(MAIN_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Programs link everything statically so the guest needs nothing else.
LINK = $(CC) $(CFLAGS) -o $@ $(filter %.o %.c,$^) $(O)/libktstr_main.a $(O)/libktstr.a $(STATIC)

$(O)/ktstr: $(CLI_OBJ) $(O)/libktstr.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(O)/libktstr.a $(STATIC)

$(O)/tests/unit/%: tests/unit/%.c $(O)/libktstr.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(O)/libktstr.a $(LDLIBS) -lcmocka

# Integration suites find the fixture scheduler next to themselves.
$(O)/tests/integration/%: tests/integration/%.c $(O)/libktstr.a $(O)/libktstr_main.a $(HDRS) $(FIXTURE)
	@mkdir -p $(dir $@)
	$(LINK)
	$(if $(FIXTURE),cp $(FIXTURE) $(dir $@))

$(O)/examples/%: examples/%.c $(O)/libktstr.a $(O)/libktstr_main.a $(HDRS)
	@mkdir -p $(dir $@)
	$(LINK)

$(O)/bench/%: bench/%.c $(O)/libktstr.a $(O)/libktstr_main.a $(HDRS)
	@mkdir -p $(dir $@)
	$(LINK)

# The fixture scheduler: BPF object compiled against the cached kernel's BTF.
$(O)/sched/vmlinux.h: $(VMLINUX_H)
	@mkdir -p $(dir $@)
	cp $< $@

$(O)/sched/fixture.bpf.o: sched/fixture/fixture.bpf.c sched/fixture/fixture.h $(O)/sched/vmlinux.h
	$(BPF_CC) -target bpf -O2 -g -D__TARGET_ARCH_x86 -I$(O)/sched -Isched/fixture \
		-Wall -Werror -c -o $@ $<

$(O)/sched/embed.o: sched/fixture/embed.S $(O)/sched/fixture.bpf.o
	$(CC) -c -DFIXTURE_BPF_OBJ_PATH='"$(O)/sched/fixture.bpf.o"' -o $@ $<

$(O)/scx_fixture: sched/fixture/fixture.c sched/fixture/fixture.h $(O)/sched/embed.o
	$(CC) $(CFLAGS) -Isched/fixture -o $@ $< $(O)/sched/embed.o -lbpf -lelf -lz

check: all
	./tests/run

check-unit: $(UNIT_BIN)
	./tests/run --unit

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/ktstr $(DESTDIR)$(PREFIX)/libexec/ktstr
	install -m 755 $(O)/ktstr $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(O)/libktstr.a $(O)/libktstr_main.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(O)/libktstr.so $(DESTDIR)$(PREFIX)/lib/libktstr.so.0
	ln -sf libktstr.so.0 $(DESTDIR)$(PREFIX)/lib/libktstr.so
	install -m 644 include/ktstr/*.h $(DESTDIR)$(PREFIX)/include/ktstr/
	install -m 755 scripts/kernel-fetch $(DESTDIR)$(PREFIX)/libexec/ktstr/
	$(if $(FIXTURE),install -m 755 $(O)/scx_fixture $(DESTDIR)$(PREFIX)/libexec/ktstr/)
	sed -e 's|@PREFIX@|$(PREFIX)|g' ktstr.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ktstr.pc

clean:
	rm -rf $(O)
