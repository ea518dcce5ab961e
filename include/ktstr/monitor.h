/*
 * The monitor: while a test runs, a background thread samples per-CPU
 * scheduler state (runqueue length and rq clock from the scheduler debug
 * file, run delay from /proc/schedstat, sched_ext's event counters, local
 * DSQ depth where the kernel exposes it) about every period_ms and checks
 * the monitor thresholds of struct kt_assert over a sustained-samples
 * window.  Knows nothing about workers; never prints.
 *
 * Thresholds (unset fields take kt_assert_default_checks()'s values; a
 * value <= 0 turns a check off).  The kernel-wide nr_running imbalance is
 * sampled and reported, not judged: it cannot tell tasks pinned apart on
 * purpose from misplaced ones, and under sched_ext a task waiting in a
 * shared DSQ counts on the CPU it last ran on; the placement checks of
 * check.h (kt_wc_*) judge among the CPUs each worker may use.
 *   max_imbalance_ratio  max/max(min,1) of per-CPU nr_running
 *   max_local_dsq_depth  any CPU's local DSQ depth (only where exposed)
 *   fail_on_stall        a CPU with runnable tasks whose rq clock did not
 *                        advance since the previous sample
 *   max_fallback_rate    SCX_EV_SELECT_CPU_FALLBACK per second
 *   max_keep_last_rate   SCX_EV_DISPATCH_KEEP_LAST per second
 *   sustained_samples    a check fails only after this many consecutive
 *                        violating samples
 */
#ifndef KTSTR_MONITOR_H
#define KTSTR_MONITOR_H

#include <ktstr/check.h>
#include <ktstr/common.h>

struct kt_monitor;

/* Start sampling every period_ms (0 -> 100).  thresholds may be NULL
 * (defaults).  0 or -errno (-ENOENT when no per-CPU source is readable). */
KT_API int kt_monitor_start(const struct kt_assert *thresholds, unsigned period_ms,
			    struct kt_monitor **out);
/* Stop the thread (idempotent); samples and findings stay for check/summary. */
KT_API int kt_monitor_stop(struct kt_monitor *m);
KT_API void kt_monitor_free(struct kt_monitor *m);	/* stops it if running */
KT_DEFINE_FREEP(kt_monitor)

/* Is a failure already certain?  True once a threshold was violated for
 * the sustained window; *why (optional, malloc'd) says which. Thread-safe. */
KT_API bool kt_monitor_violation(struct kt_monitor *m, char **why);

/* Add the findings to res: one failure per violation, with the samples
 * that showed it; notes for checks the kernel gave no data for.  0 or
 * -ENOMEM. */
KT_API int kt_monitor_check(struct kt_monitor *m, struct kt_assert_result *res);

/* Number of samples taken so far. */
KT_API size_t kt_monitor_nsamples(struct kt_monitor *m);

/* kt_monitor_summary_json(m) (jansson json_t *) is in src/monitor/monitor_json.h. */

#endif
