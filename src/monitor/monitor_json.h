/*
 * JSON form of the monitor's summary for the runner's result files.
 * Internal to libktstr so the public headers stay free of jansson; no I/O.
 */
#ifndef KTSTR_MONITOR_JSON_H
#define KTSTR_MONITOR_JSON_H

#include <jansson.h>
#include <ktstr/monitor.h>

#include "monitor/monitor_internal.h"

/*
 * {"period_ms", "samples", "duration_ms", "cpus",
 *  "sources": {"sched_debug": path|null, "schedstat", "scx_events", "local_dsq_depth"},
 *  "thresholds": {"max_imbalance_ratio", "max_local_dsq_depth", "fail_on_stall",
 *                 "sustained_samples", "max_fallback_rate", "max_keep_last_rate"} (null = off),
 *  "max_imbalance_ratio", "max_nr_running", "max_local_dsq_depth" (null = not exposed),
 *  "stall_cpu_samples", "max_fallback_rate", "max_keep_last_rate",
 *  "run_delay_ms", "events": {NAME: increase while monitored},
 *  "violations": [{"check", "at_ms", "message", "samples": [..]}]}
 * New reference, NULL on ENOMEM.
 */
json_t *kt_monitor_summary_json(struct kt_monitor *m);
json_t *kt_mon_eval_json(const struct kt_mon_eval *e, unsigned period_ms,
			 const struct kt_mon_sources *src);
/*
 * The per-CPU run queues over the run (at most KT_MON_SERIES_MAX rows):
 * {"t0_ms", "period_ms" (of a row), "cpus", "at_ms": [row start...],
 *  "nr_running": [[cpu0, cpu1, ...] per row, mean runnable tasks, null =
 *  unknown]}, times on the caller's timeline: timeline_now_ms is what that
 * timeline reads now.  New reference, NULL on ENOMEM.
 */
json_t *kt_monitor_series_json(struct kt_monitor *m, double timeline_now_ms);
json_t *kt_mon_series_json(const struct kt_mon_series *s, unsigned period_ms, double shift_ms);
/* The newest sample as one line (for smoke tools and debugging); malloc'd. */
char *kt_monitor_last_line(struct kt_monitor *m);

#endif
