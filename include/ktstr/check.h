/*
 * Checks over worker telemetry: the layered Assert record (every field
 * distinguishes "unset" from a value), the per-cgroup assertion, aggregate
 * stats and result merging.  Knows nothing about how reports were produced.
 */
#ifndef KTSTR_CHECK_H
#define KTSTR_CHECK_H

#include <ktstr/common.h>
#include <ktstr/cpuset.h>
#include <ktstr/workload.h>

/* An optional threshold: .set == false means "not configured here". */
struct kt_opt {
	bool set;
	double v;
};
#define KT_SET(x) ((struct kt_opt){ .set = true, .v = (double)(x) })
#define KT_UNSET ((struct kt_opt){ 0 })

/*
 * Worker checks (apply to WorkerReports) and monitor thresholds (apply to
 * the periodic samples of the monitor module).  Booleans are kt_opt with
 * v != 0 meaning "enabled".
 */
struct kt_assert {
	/* worker checks */
	struct kt_opt not_starved;		/* every worker made progress */
	struct kt_opt isolation;		/* workers ran only inside their cpuset */
	struct kt_opt max_gap_ms;		/* longest no-progress stretch */
	struct kt_opt max_spread_pct;		/* (max-min)/mean of per-worker rate, % */
	struct kt_opt max_throughput_cv;	/* coefficient of variation of rates */
	struct kt_opt min_work_rate;		/* work units per CPU-second, each worker */
	struct kt_opt max_p99_wake_latency_ns;
	struct kt_opt max_wake_latency_cv;
	struct kt_opt min_iteration_rate;	/* iterations per wall second, each worker */
	struct kt_opt max_migration_ratio;	/* migrations per iteration */
	struct kt_opt min_cpu_share_pct;	/* CPU time / wall time, each worker, % */
	/* placement, sampled from the workers while they run */
	struct kt_opt work_conservation;	/* no worker waits while a CPU it may use idles */
	struct kt_opt max_imbalance_ratio;	/* max/min runnable workers per CPU they may use */
	struct kt_opt llc_locality;		/* each worker stays in one LLC (off by default) */
	/* monitor thresholds */
	struct kt_opt max_local_dsq_depth;
	struct kt_opt fail_on_stall;		/* runnable tasks but rq clock stuck */
	struct kt_opt sustained_samples;	/* consecutive samples before a violation */
	struct kt_opt max_fallback_rate;	/* scx fallback events per second */
	struct kt_opt max_keep_last_rate;	/* scx keep-last events per second */
};

/*
 * Defaults: not_starved, isolation, gap 2000 ms, spread 15 %, work
 * conservation on, imbalance 4.0, and the monitor defaults (local DSQ
 * depth 50, stall on, sustained 5 samples).
 */
KT_API struct kt_assert kt_assert_default_checks(void);
/* Layering: a field set in `over` wins over `base`. */
KT_API struct kt_assert kt_assert_merge(const struct kt_assert *base, const struct kt_assert *over);
/* True when any worker check beyond not_starved is set. */
KT_API bool kt_assert_has_worker_checks(const struct kt_assert *a);

/* CPUs tracked by kt_stats.cpus_mask (the topology parser's ceiling). */
#define KT_STATS_CPU_WORDS 8

/* Distinct cgroups kt_stats tells apart (by name hash); past that it counts. */
#define KT_STATS_MAX_CGROUPS 64

/* Aggregated numbers of one assertion; merged worst-of / sums. */
struct kt_stats {
	unsigned workers;
	unsigned cgroups;		/* distinct cgroups (several spawns may share one) */
	uint64_t cgroup_ids[KT_STATS_MAX_CGROUPS];	/* name hashes, merged as a union */
	unsigned cpus_used;		/* distinct CPUs any worker ran on */
	uint64_t cpus_mask[KT_STATS_CPU_WORDS];	/* which ones (merged as a union) */
	double spread_pct;		/* worst among the groups whose spread was judged */
	unsigned spread_judged;		/* how many groups' spread was judged */
	double spread_unjudged_pct;	/* worst among the others (no limit, too little CPU) */
	double throughput_cv;		/* worst */
	double worst_gap_ms;		/* worst */
	char worst_gap_worker[96];	/* "cg_0/worker 3 (tid 412)" */
	int worst_gap_cpu;
	uint64_t migrations;		/* sum */
	uint64_t iterations;		/* sum */
	uint64_t work_units;		/* sum */
	double p99_wake_latency_ns;	/* worst */
	double wake_latency_cv;		/* worst */
	uint64_t run_delay_ns;		/* sum of schedstat run delay */
	uint64_t cpu_time_ns;		/* sum */
	uint64_t wall_time_ns;		/* max */
};

struct kt_assert_result {
	bool passed;
	bool skipped;
	char *skip_reason;		/* malloc'd, when skipped */
	char **details;			/* malloc'd human-readable lines */
	size_t n_details;
	struct kt_stats stats;
};

KT_API struct kt_assert_result *kt_assert_result_new(void);
KT_API void kt_assert_result_free(struct kt_assert_result *r);
KT_DEFINE_FREEP(kt_assert_result)
/* Add a failure detail (printf-style); marks the result failed. */
KT_API void kt_assert_result_fail(struct kt_assert_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same, placed before every detail already there: for a root cause
 * (the scheduler's own reason) found after its symptoms. */
KT_API void kt_assert_result_fail_first(struct kt_assert_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Add an informational line; does not change the verdict. */
KT_API void kt_assert_result_note(struct kt_assert_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
KT_API void kt_assert_result_skip(struct kt_assert_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* dst := dst merged with src: failed if either failed, details appended
 * (deep copies), stats worst-of / summed.  Skipped only if both are skipped;
 * otherwise a skipped side's reason becomes a "skipped: ..." note.  A fresh
 * kt_assert_result_new() is the identity, so results can be folded into one.
 * 0 or -ENOMEM (dst unchanged). */
KT_API int kt_assert_result_merge(struct kt_assert_result *dst, const struct kt_assert_result *src);

/* Check one cgroup's reports.  cpuset may be NULL (no isolation check). */
KT_API struct kt_assert_result *kt_assert_cgroup(const struct kt_assert *a,
						 const struct kt_worker_report *reports, size_t n,
						 const struct kt_cpuset *cpuset);
/* Only the not-starved check (the guide's fallback). */
KT_API struct kt_assert_result *kt_assert_not_starved(const struct kt_worker_report *reports,
						      size_t n);

/*
 * One-line malloc'd summary of a result's stats for humans, e.g.
 * "workers 8, cpus 4, spread 3.1 %, worst gap 12 ms, migrations 40,
 * p99 wake 180 us".  NULL on ENOMEM.
 */
KT_API char *kt_assert_result_summary(const struct kt_assert_result *r);

/*
 * For negative tests: consumes `r` and returns a result that passes only
 * when `r` failed with a detail containing `needle` (the right diagnosis,
 * not just any failure).  The original details are kept as notes.
 */
KT_API struct kt_assert_result *kt_assert_expect_failure(struct kt_assert_result *r,
							 const char *needle);

/*
 * Placement over samples of the running workers (kt_wc_*).  The scenario
 * layer samples each worker's schedstat run delay, current CPU, state and
 * allowed CPUs, and every CPU's idle time, about every 100 ms:
 *   work_conservation    a worker waited >= 40 % of a 1 s stretch (twice
 *                        sustained_samples windows, sliding) while a CPU
 *                        it may use was idle >= 50 % of it, in two
 *                        stretches in a row
 *   max_imbalance_ratio  max/min runnable workers per CPU, over the CPUs
 *                        the workers may use, judged only when there are
 *                        more runnable workers than such CPUs; an idle CPU
 *                        counts as half a task (idle beside 2 waiting: 4)
 * The imbalance fails after sustained_samples consecutive windows.
 *   llc_locality         (for tests that ask for it) a worker seen in
 *                        another LLC than at its previous sample in more
 *                        than 25 % of its samples (and more than 3 times)
 */
struct kt_wc_task {
	pid_t tid;
	const char *label;		/* "cg_0/worker 1 (tid 412)" */
	uint64_t run_delay_ns;		/* cumulative (schedstat) */
	int cpu;			/* CPU it runs or is queued on; -1 unknown */
	int llc;			/* that CPU's LLC; -1 unknown */
	bool runnable;			/* state R when sampled */
	const struct kt_cpuset *allowed;	/* NULL: unknown, not judged */
};
struct kt_wc;
KT_API struct kt_wc *kt_wc_new(const struct kt_assert *a);	/* NULL on ENOMEM */
KT_API void kt_wc_free(struct kt_wc *w);
KT_DEFINE_FREEP(kt_wc)
/* One sample: t_ms on one clock, idle_ns[c] cumulative idle time of CPU c.
 * Tasks are matched to the previous sample by tid.  0 or -errno. */
KT_API int kt_wc_feed(struct kt_wc *w, double t_ms, const struct kt_wc_task *tasks, size_t n,
		      const uint64_t *idle_ns, unsigned ncpu);
/* Is a finding certain already? */
KT_API bool kt_wc_violated(const struct kt_wc *w);
/* Worst imbalance ratio seen in any window (0: never judged). */
KT_API double kt_wc_max_imbalance(const struct kt_wc *w);
/* Add the findings (once) to res.  0 or -ENOMEM. */
KT_API int kt_wc_check(struct kt_wc *w, struct kt_assert_result *res);

/* Percentile (0..100) of samples, nearest-rank; 0 when n == 0. */
KT_API double kt_stats_percentile(const uint64_t *samples, size_t n, double pct);

#endif
