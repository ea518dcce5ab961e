/*
 * Declaring tests: KTSTR_TEST(name, .llcs = 2, ...) { body } registers a
 * test in the "kt_tests" linker section; libktstr_main supplies main(),
 * which lists, selects and runs them, each in its own VM with its declared
 * topology (the binary re-runs itself inside as the guest's init).
 *
 * Zero means "unset": defaults are resolved at run time (1 node, 1 LLC,
 * 2 cores, 1 thread; 2 s; 2 workers per cgroup).
 */
#ifndef KTSTR_TEST_H
#define KTSTR_TEST_H

#include <ktstr/check.h>
#include <ktstr/common.h>
#include <ktstr/scenario.h>
#include <ktstr/sched.h>

typedef struct kt_assert_result *(*kt_test_fn)(struct kt_ctx *ctx);

struct kt_test_def {
	const char *name;
	const char *file;
	int line;
	kt_test_fn fn;
	/* topology */
	unsigned numa_nodes, llcs, cores, threads;
	unsigned memory_mb;
	/* run */
	const struct kt_scheduler *scheduler;	/* NULL: the kernel's default (EEVDF) */
	double duration_s;
	unsigned workers_per_cgroup;
	unsigned settle_ms;
	unsigned timeout_s;			/* whole-VM watchdog; 0 -> 60 + 4 x duration */
	struct kt_assert assert;		/* overrides: .assert = { .max_gap_ms = KT_SET(500) } */
	const char *required_flags[KT_SCHED_MAX_FLAGS];
	const char *excluded_flags[KT_SCHED_MAX_FLAGS];
	/* constraints on --topology overrides and on the presets --gauntlet
	 * expands a test over (0 = none) */
	unsigned min_llcs, max_llcs, min_cpus, max_cpus, min_numa_nodes, max_numa_nodes;
	bool requires_smt;
	bool host_only;				/* run on this machine, not in a VM */
	bool expect_err;			/* passes only if the body's result fails */
	const char *expect_detail;		/* and (implies expect_err) a failure detail,
						 * monitor and scheduler findings included,
						 * contains this text */
};

#define KT_TEST_SECTION "kt_tests"

#define KT_TEST_REGISTER_(fnname, defname, ptrname, tname, ...)                           \
	static struct kt_assert_result *fnname(struct kt_ctx *ctx);                         \
	static const struct kt_test_def defname = {                                          \
		.name = #tname, .file = __FILE__, .line = __LINE__, .fn = fnname, __VA_ARGS__ \
	};                                                                                   \
	static const struct kt_test_def *const ptrname                                       \
		__attribute__((used, section(KT_TEST_SECTION), aligned(sizeof(void *)))) = &defname; \
	static struct kt_assert_result *fnname(struct kt_ctx *ctx __attribute__((unused)))

#define KT_TEST_REGISTER(n, tname, ...)                                                    \
	KT_TEST_REGISTER_(KT_CONCAT(kt_test_fn_, n), KT_CONCAT(kt_test_def_, n),            \
			  KT_CONCAT(kt_test_ptr_, n), tname, __VA_ARGS__)

/* KTSTR_TEST(name, designated initializers...) { return <struct kt_assert_result *>; } */
#define KTSTR_TEST(tname, ...) KT_TEST_REGISTER(__COUNTER__, tname, __VA_ARGS__)

/* The test binary's entry point (called by libktstr_main's main()). */
KT_API int kt_test_main(int argc, char **argv, const struct kt_test_def *const *begin,
			const struct kt_test_def *const *end);

#endif
