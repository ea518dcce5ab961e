/*
 * The scheduler under test: how a test declares it (binary, arguments,
 * flags that expand into profiles, kernel args, sysctls, check overrides)
 * and the lifecycle in the guest (start, wait until sched_ext reports it
 * enabled, watch it, stop it, explain how it died).  Knows nothing about
 * scenarios.
 */
#ifndef KTSTR_SCHED_H
#define KTSTR_SCHED_H

#include <ktstr/check.h>
#include <ktstr/common.h>
#include <ktstr/topology.h>
#include <sys/types.h>

#define KT_SCHED_MAX_ARGS 16
#define KT_SCHED_MAX_FLAGS 12

/* A named flag: extra scheduler arguments, possibly requiring other flags. */
struct kt_sched_flag {
	const char *name;
	const char *args[KT_SCHED_MAX_ARGS];
	const char *requires[4];
};

struct kt_scheduler {
	const char *name;			/* what /sys/kernel/sched_ext/root/ops shows */
	const char *binary;			/* path, name next to the test binary, or $KTSTR_SCHEDULER */
	const char *sched_args[KT_SCHED_MAX_ARGS];
	struct kt_topo_spec topology;		/* default topology for its tests (0 = unset) */
	struct kt_assert assert;		/* check overrides for its tests */
	struct kt_sched_flag flags[KT_SCHED_MAX_FLAGS];
	const char *kargs;			/* extra kernel command line */
	const char *sysctls[8];			/* "kernel.foo=1" applied in the guest */
	unsigned attach_timeout_ms;		/* 0 -> 30000 (a loaded TCG host can take 10 s) */
};

/* Declare a scheduler for tests: KTSTR_SCHEDULER(MY_SCHED, .name = ..., .binary = ...). */
#define KTSTR_SCHEDULER(sym, ...) const struct kt_scheduler sym = { __VA_ARGS__ }

/* ---- lifecycle in the guest --------------------------------------------- */

/* A running scheduler under test. */
struct kt_sched_run;

/*
 * Start `binary` with args (NULL-terminated), stdout/stderr captured, and
 * wait (bounded by attach_timeout_ms, 0 -> 30000) until
 * /sys/kernel/sched_ext/state is "enabled" and root/ops is set (and equals
 * expect_ops when non-NULL).  On failure returns -errno with *err a
 * one-line diagnosis ("scheduler did not attach within 10 s: <stderr tail>
 * / <kernel message>", "scheduler exited with status 1 before attaching:
 * <verifier message>").
 */
KT_API int kt_sched_start(const char *binary, const char *const *args, const char *expect_ops,
			  unsigned attach_timeout_ms, struct kt_sched_run **out, char **err);
KT_API pid_t kt_sched_pid(const struct kt_sched_run *r);
/* Healthy: process alive and sched_ext still enabled with its ops.
 * Otherwise false and *why (malloc'd, e.g. "scheduler ejected: runnable
 * task stall (kworker/0:1[25] failed to run for 3.1s)"). */
KT_API bool kt_sched_alive(struct kt_sched_run *r, char **why);
/* Stop it (SIGTERM, bounded wait, SIGKILL) and wait for sched_ext to go
 * back to "disabled". */
KT_API int kt_sched_stop(struct kt_sched_run *r);
/* The same when the verdict is already certain: SIGTERM, and if sched_ext
 * is still on after grace_ms, the kernel is told to disable the BPF
 * scheduler itself (sysrq S; *forced says so), so that stalled workers run
 * and report at once instead of after the scheduler's or the kernel
 * watchdog's timeout. */
KT_API int kt_sched_stop_now(struct kt_sched_run *r, unsigned grace_ms, bool *forced);

/* What is known about how the scheduler ended, for the verdict. */
struct kt_sched_diag {
	bool died;			/* ejected or exited during the run */
	double died_at_ms;		/* guest uptime (CLOCK_BOOTTIME) when first seen
					 * dead: within one kt_sched_alive poll of it */
	char *reason;			/* kernel's reason line */
	char *exit_report;		/* the scheduler's own exit message */
	char *dump;			/* sched_ext debug dump, when captured */
	char *output_tail;		/* last lines of its stdout/stderr */
	int exit_status;		/* wait status when it exited, else -1 */
	double kernel_log_ms;		/* printk time of the kernel's disable line, 0 if
					 * none; the kernel's own clock, which can differ
					 * from uptime by tens of ms under TCG */
};
/* Fill *d (caller releases with kt_sched_diag_release). */
KT_API int kt_sched_diagnose(struct kt_sched_run *r, struct kt_sched_diag *d);
KT_API void kt_sched_diag_release(struct kt_sched_diag *d);
/*
 * Multi-line malloc'd text of a diagnosis for the verdict: a headline
 * ("scheduler ejected at 19073 ms: runnable task stall"), then the kernel's
 * lines, the scheduler's exit report, its output tail and the dump (each
 * section only when present).  NULL on ENOMEM.
 */
KT_API char *kt_sched_diag_format(const struct kt_sched_diag *d);
/* Path of the file capturing the scheduler's stdout+stderr. */
KT_API const char *kt_sched_output_path(const struct kt_sched_run *r);
KT_API void kt_sched_run_free(struct kt_sched_run *r);	/* stops it if still running */
KT_DEFINE_FREEP(kt_sched_run)

#endif
