/*
 * Internals of the monitor shared by its files and its unit tests: the
 * sample record, the pure parsers (text in, struct out) and the threshold
 * evaluator that turns a stream of samples into findings.  Nothing here
 * reads files except kt_mon_sample_take; nothing prints.
 */
#ifndef KTSTR_MONITOR_INTERNAL_H
#define KTSTR_MONITOR_INTERNAL_H

#include <ktstr/check.h>
#include <ktstr/monitor.h>
#include <stdint.h>

#include "util/util.h"

#define KT_MON_MAX_CPUS 512
#define KT_MON_MAX_EVENTS 32
#define KT_MON_RING 64			/* recent samples kept for evidence */
#define KT_MON_MAX_VIOLATIONS 16

struct kt_mon_cpu {
	long nr_running;		/* -1: unknown */
	double clock_ms;		/* rq clock; < 0: unknown */
	long local_dsq;			/* local DSQ depth; -1: not exposed */
	bool have_schedstat;
	uint64_t cpu_time_ns;		/* schedstat rq_cpu_time */
	uint64_t run_delay_ns;		/* schedstat run_delay */
	uint64_t pcount;		/* schedstat timeslices run */
};

struct kt_mon_event {
	char name[48];
	int64_t value;
};

struct kt_mon_sample {
	double t_ms;			/* guest uptime */
	unsigned ncpu;
	struct kt_mon_cpu cpus[KT_MON_MAX_CPUS];
	bool scx_enabled;
	uint64_t enable_seq;
	unsigned nevents;		/* 0 when sched_ext exposes none */
	struct kt_mon_event events[KT_MON_MAX_EVENTS];
};

/* Mark every CPU unknown. */
void kt_mon_sample_init(struct kt_mon_sample *s);

/*
 * Pure parsers.  Each fills the matching fields of s->cpus / s->events
 * and raises s->ncpu to cover the CPUs it saw.  0, or -EINVAL when the
 * text has none of the expected content.
 */
/* /sys/kernel/debug/sched/debug or /proc/sched_debug: "cpu#N" blocks with
 * ".nr_running" and ".clock" (ms).  Kernel 7.2 prints no per-CPU local
 * DSQ depth there (nor anywhere else outside the error dump), so
 * local_dsq stays -1 and the depth check reports "not exposed". */
int kt_mon_parse_sched_debug(const char *text, struct kt_mon_sample *s);
/* /proc/schedstat "cpuN a b c d e f cpu_time run_delay pcount". */
int kt_mon_parse_schedstat(const char *text, struct kt_mon_sample *s);
/* /sys/kernel/sched_ext/root/events: "NAME VALUE" lines. */
int kt_mon_parse_events(const char *text, struct kt_mon_sample *s);
/* Value of a named event, false when absent. */
bool kt_mon_event(const struct kt_mon_sample *s, const char *name, int64_t *v);

/* Where samples come from on this kernel (found once at start). */
struct kt_mon_sources {
	const char *sched_debug;	/* path or NULL */
	bool schedstat;
	bool scx;			/* /sys/kernel/sched_ext exists */
};
void kt_mon_sources_probe(struct kt_mon_sources *src);
/* Read one sample from the live system. 0 or -errno. */
int kt_mon_sample_take(const struct kt_mon_sources *src, struct kt_mon_sample *s);

/* ---- thresholds over a stream of samples ------------------------------ */

enum kt_mon_check {
	KT_MON_DSQ_DEPTH,
	KT_MON_STALL,
	KT_MON_FALLBACK,
	KT_MON_KEEP_LAST,
	KT_MON_NCHECKS,
};
const char *kt_mon_check_name(enum kt_mon_check c);

struct kt_mon_violation {
	enum kt_mon_check check;
	double at_ms;
	char *message;			/* "local DSQ depth 60 > 50 for 5 consecutive samples" */
	char **samples;			/* the sustained window, one line per sample */
	size_t nsamples;
};

/* Thresholds resolved from a kt_assert (<= 0 means off). */
struct kt_mon_limits {
	double dsq_depth;
	bool stall;
	unsigned sustained;
	double fallback_rate;
	double keep_last_rate;
};
void kt_mon_limits_resolve(const struct kt_assert *a, struct kt_mon_limits *l);

struct kt_mon_eval {
	struct kt_mon_limits lim;
	struct kt_mon_sample *ring;	/* KT_MON_RING recent samples */
	size_t nsamples;		/* total fed */
	unsigned streak[KT_MON_NCHECKS];
	unsigned stall_streak[KT_MON_MAX_CPUS];
	struct kt_mon_violation viol[KT_MON_MAX_VIOLATIONS];
	size_t nviol;
	/* aggregate for the summary */
	double first_ms, last_ms;
	unsigned ncpu;
	double max_imbalance;
	long max_nr_running;
	long max_local_dsq;		/* -1: never exposed */
	unsigned stall_cpu_samples;	/* (CPU, sample) pairs that looked stalled */
	double max_fallback_rate, max_keep_last_rate;
	bool saw_events;
	unsigned nevt;
	struct kt_mon_event evt_total[KT_MON_MAX_EVENTS];	/* sums of deltas */
	uint64_t run_delay_total_ns;
};

int kt_mon_eval_init(struct kt_mon_eval *e, const struct kt_mon_limits *lim);
void kt_mon_eval_release(struct kt_mon_eval *e);
/* Feed the next sample; 0 or -ENOMEM. */
int kt_mon_eval_feed(struct kt_mon_eval *e, const struct kt_mon_sample *s);
/* Append failures/notes to res. */
int kt_mon_eval_check(const struct kt_mon_eval *e, struct kt_assert_result *res);
/* One-line text of a sample (nr_running per CPU, clocks, events). */
char *kt_mon_sample_line(const struct kt_mon_sample *s, const struct kt_mon_sample *prev);
/* The most recent sample, or NULL. */
const struct kt_mon_sample *kt_mon_eval_last(const struct kt_mon_eval *e, size_t back);

/* ---- the per-CPU run-queue series kept for the result -------------------- */

/*
 * nr_running of every CPU over the run, bounded: a row averages per_row
 * consecutive samples, and when KT_MON_SERIES_MAX rows are full, each pair
 * of rows merges into one and per_row doubles, so a run of any length keeps
 * between half and all of KT_MON_SERIES_MAX rows.  Unknown values (-1) are
 * left out of the averages; a row with none stays -1.
 */
#define KT_MON_SERIES_MAX 200

struct kt_mon_series {
	unsigned ncpu;			/* CPUs any sample covered */
	unsigned per_row;		/* samples a complete row averages (0: unset) */
	size_t n;			/* complete rows */
	double at_ms[KT_MON_SERIES_MAX];	/* each row's first sample's t_ms */
	float *rows;			/* KT_MON_SERIES_MAX x KT_MON_MAX_CPUS */
	/* the row being filled */
	unsigned pending;		/* samples in it */
	double pending_at_ms;
	double sum[KT_MON_MAX_CPUS];
	unsigned cnt[KT_MON_MAX_CPUS];
};

/* Add one sample; 0 or -ENOMEM (the series then stays as it was). */
int kt_mon_series_feed(struct kt_mon_series *s, const struct kt_mon_sample *x);
void kt_mon_series_release(struct kt_mon_series *s);
/* Rows including the partial one; value of row i for cpu c. */
size_t kt_mon_series_rows(const struct kt_mon_series *s);
double kt_mon_series_value(const struct kt_mon_series *s, size_t row, unsigned cpu,
			   double *at_ms);

#endif
