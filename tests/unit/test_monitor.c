/*
 * Unit tests of the monitor's pure parts: parsers fed text captured from a
 * kernel 7.2 guest (scheduler debug file, /proc/schedstat, sched_ext
 * events), the threshold evaluator with sustained windows (a violation
 * only after N consecutive samples, streaks reset by a good sample), the
 * evidence lines, result details and the JSON summary.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/monitor_internal.h"
#include "monitor/monitor_json.h"

/* Excerpt of /sys/kernel/debug/sched/debug, 7.2, fixture attached. */
static const char sched_debug_text[] =
	"Sched Debug Version: v0.11, 7.2.13+deb14-cloud-amd64 #1\n"
	"ktime                                   : 11159.279034\n"
	"jiffies                                 : 4294895012\n"
	"\n"
	"sysctl_sched\n"
	"  .sysctl_sched_base_slice                 : 2.100000\n"
	"\n"
	"cpu#0, 2299.998 MHz\n"
	"  .nr_running                    : 2\n"
	"  .nr_switches                   : 1586\n"
	"  .nr_uninterruptible            : 0\n"
	"  .curr->pid                     : 174\n"
	"  .clock                         : 11203.596673\n"
	"  .clock_task                    : 11203.596673\n"
	"\n"
	"cfs_rq[0]:/autogroup-1\n"
	"  .nr_queued                     : 0\n"
	"  .h_nr_runnable                 : 0\n"
	"\n"
	"rt_rq[0]:\n"
	"  .rt_nr_running                 : 0\n"
	"\n"
	"runnable tasks:\n"
	" S            task   PID       vruntime   eligible    deadline\n"
	">R             cat   174         0.000000   E           2.100000\n"
	"\n"
	"cpu#1, 2299.998 MHz\n"
	"  .nr_running                    : 1\n"
	"  .nr_switches                   : 1179\n"
	"  .clock                         : 11203.588988\n"
	"  .clock_task                    : 11203.588988\n"
	"\n"
	"cfs_rq[1]:/\n"
	"  .nr_running                    : 9\n"
	"  .clock                         : 1.0\n"
	"\n"
	"cpu#3, 2299.998 MHz\n"
	"  .nr_running                    : 0\n"
	"  .clock                         : 11203.600000\n";

static const char schedstat_text[] =
	"version 17\n"
	"timestamp 4294893032\n"
	"cpu0 0 0 0 0 0 0 1134591105 191661494 498\n"
	"domain0 MC 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	"cpu1 0 0 0 0 0 0 955305053 90883764 280\n"
	"domain0 MC 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

static const char events_text[] =
	"SCX_EV_SELECT_CPU_FALLBACK 0\n"
	"SCX_EV_DISPATCH_LOCAL_DSQ_OFFLINE 0\n"
	"SCX_EV_DISPATCH_KEEP_LAST 0\n"
	"SCX_EV_ENQ_SKIP_EXITING 8\n"
	"SCX_EV_REFILL_SLICE_DFL 12\n"
	"SCX_EV_BYPASS_DURATION 113595174\n";

static struct kt_mon_sample *sample_new(void)
{
	struct kt_mon_sample *s = malloc(sizeof(*s));

	assert_non_null(s);
	kt_mon_sample_init(s);
	return s;
}

static void test_parse_sched_debug(void **state)
{
	struct kt_mon_sample *s = sample_new();

	assert_int_equal(kt_mon_parse_sched_debug(sched_debug_text, s), 0);
	assert_int_equal(s->ncpu, 4);
	assert_int_equal(s->cpus[0].nr_running, 2);
	assert_true(s->cpus[0].clock_ms > 11203.596 && s->cpus[0].clock_ms < 11203.597);
	/* Fields inside cfs_rq blocks must not overwrite the CPU's. */
	assert_int_equal(s->cpus[1].nr_running, 1);
	assert_true(s->cpus[1].clock_ms > 11203.0);
	assert_int_equal(s->cpus[2].nr_running, -1);	/* not listed: unknown */
	assert_int_equal(s->cpus[3].nr_running, 0);
	assert_int_equal(s->cpus[0].local_dsq, -1);
	kt_mon_sample_init(s);
	assert_int_equal(kt_mon_parse_sched_debug("nothing here\n", s), -EINVAL);
	free(s);
}

static void test_parse_schedstat_events(void **state)
{
	struct kt_mon_sample *s = sample_new();
	int64_t v;

	assert_int_equal(kt_mon_parse_schedstat(schedstat_text, s), 0);
	assert_int_equal(s->ncpu, 2);
	assert_true(s->cpus[1].have_schedstat);
	assert_int_equal(s->cpus[0].cpu_time_ns, 1134591105ull);
	assert_int_equal(s->cpus[0].run_delay_ns, 191661494ull);
	assert_int_equal(s->cpus[1].pcount, 280);

	assert_int_equal(kt_mon_parse_events(events_text, s), 0);
	assert_int_equal(s->nevents, 6);
	assert_true(kt_mon_event(s, "SCX_EV_ENQ_SKIP_EXITING", &v));
	assert_int_equal(v, 8);
	assert_true(kt_mon_event(s, "SCX_EV_BYPASS_DURATION", &v));
	assert_int_equal(v, 113595174);
	assert_false(kt_mon_event(s, "SCX_EV_NOPE", &v));
	assert_int_equal(kt_mon_parse_events("", s), -EINVAL);
	free(s);
}

/* A synthetic sample: nr_running per CPU, clocks advancing unless frozen. */
static void mk(struct kt_mon_sample *s, double t, const long *nr, unsigned n, double clock,
	       int64_t fallback)
{
	kt_mon_sample_init(s);
	s->t_ms = t;
	s->ncpu = n;
	for (unsigned c = 0; c < n; c++) {
		s->cpus[c].nr_running = nr[c];
		s->cpus[c].clock_ms = clock;
	}
	s->scx_enabled = true;
	s->enable_seq = 1;
	s->nevents = 2;
	snprintf(s->events[0].name, sizeof(s->events[0].name), "SCX_EV_SELECT_CPU_FALLBACK");
	s->events[0].value = fallback;
	snprintf(s->events[1].name, sizeof(s->events[1].name), "SCX_EV_DISPATCH_KEEP_LAST");
	s->events[1].value = 0;
}

static void limits(struct kt_mon_limits *l, unsigned sustained)
{
	struct kt_assert a = { .sustained_samples = KT_SET(sustained),
			       .max_fallback_rate = KT_SET(100),
			       .max_imbalance_ratio = KT_SET(4) };

	kt_mon_limits_resolve(&a, l);
}

static void test_limits_defaults(void **state)
{
	struct kt_mon_limits l;

	kt_mon_limits_resolve(NULL, &l);
	assert_true(l.dsq_depth == 50);
	assert_true(l.stall);
	assert_int_equal(l.sustained, 5);
	assert_true(l.fallback_rate <= 0);
}

/*
 * The kernel-wide nr_running ratio is reported, never judged (even with
 * max_imbalance_ratio set): it cannot tell pinned-apart tasks from
 * misplaced ones.  Idle CPUs count as half a task in it.
 */
static void test_imbalance_observed_not_judged(void **state)
{
	static const long bad[] = { 0, 6, 0, 1 };
	struct kt_mon_eval e;
	struct kt_mon_limits l;
	struct kt_mon_sample *s = sample_new();
	double clock = 1000;
	unsigned i;

	limits(&l, 3);
	assert_int_equal(kt_mon_eval_init(&e, &l), 0);
	for (i = 0; i < 6; i++) {
		mk(s, 100.0 * i, bad, 4, clock += 100, 0);
		assert_int_equal(kt_mon_eval_feed(&e, s), 0);
	}
	assert_int_equal(e.nviol, 0);
	assert_true(e.max_imbalance == 12.0);
	kt_mon_eval_release(&e);
	free(s);
}

static void test_stall_per_cpu(void **state)
{
	static const long nr[] = { 1, 2 };
	struct kt_mon_eval e;
	struct kt_mon_limits l;
	struct kt_mon_sample *s = sample_new();
	unsigned i;

	limits(&l, 3);
	kt_mon_eval_init(&e, &l);
	for (i = 0; i < 4; i++) {
		mk(s, 100.0 * i, nr, 2, 500.0 + 100 * i, 0);
		s->cpus[1].clock_ms = 42.5;	/* CPU 1 frozen, runnable */
		kt_mon_eval_feed(&e, s);
	}
	/* Sample 0 has no predecessor; samples 1..3 are three stalled ones. */
	assert_int_equal(e.nviol, 1);
	assert_int_equal(e.viol[0].check, KT_MON_STALL);
	assert_non_null(strstr(e.viol[0].message, "CPU 1 stalled"));
	assert_non_null(strstr(e.viol[0].samples[2], "cpu1 clock 42.500ms unchanged"));
	assert_int_equal(e.stall_cpu_samples, 3);
	kt_mon_eval_release(&e);

	/* A frozen clock on an idle CPU is no stall. */
	kt_mon_eval_init(&e, &l);
	for (i = 0; i < 6; i++) {
		static const long idle[] = { 0, 0 };

		mk(s, 100.0 * i, idle, 2, 7.0, 0);
		kt_mon_eval_feed(&e, s);
	}
	assert_int_equal(e.nviol, 0);
	kt_mon_eval_release(&e);
	free(s);
}

static void test_fallback_rate_and_reset(void **state)
{
	static const long nr[] = { 1, 1 };
	struct kt_mon_eval e;
	struct kt_mon_limits l;
	struct kt_mon_sample *s = sample_new();
	int64_t fb = 0;
	unsigned i;

	limits(&l, 2);
	kt_mon_eval_init(&e, &l);
	/* 50 per 100 ms = 500/s > 100/s; a scheduler restart (enable_seq)
	 * in between must not count as a rate. */
	for (i = 0; i < 2; i++) {
		mk(s, 100.0 * i, nr, 2, 100.0 * i, fb += 50);
		kt_mon_eval_feed(&e, s);
	}
	assert_int_equal(e.nviol, 0);		/* one rate so far */
	mk(s, 200, nr, 2, 200, 0);
	s->enable_seq = 2;			/* counters reset: no rate, streak reset */
	kt_mon_eval_feed(&e, s);
	assert_int_equal(e.nviol, 0);
	mk(s, 300, nr, 2, 300, 50);
	s->enable_seq = 2;
	kt_mon_eval_feed(&e, s);
	mk(s, 400, nr, 2, 400, 100);
	s->enable_seq = 2;
	kt_mon_eval_feed(&e, s);
	assert_int_equal(e.nviol, 1);
	assert_int_equal(e.viol[0].check, KT_MON_FALLBACK);
	assert_string_equal(e.viol[0].message,
			    "select_cpu fallback rate 500/s > 100/s for 2 consecutive samples");
	assert_true(e.max_fallback_rate > 499 && e.max_fallback_rate < 501);
	/* Totals add deltas within one scheduler instance only: 50 + 50 + 50. */
	assert_int_equal(e.evt_total[0].value, 150);
	kt_mon_eval_release(&e);
	free(s);
}

static void test_check_and_json(void **state)
{
	static const long bad[] = { 9, 0 };
	struct kt_mon_eval e;
	struct kt_mon_limits l;
	struct kt_mon_sample *s = sample_new();
	struct kt_assert_result *res = kt_assert_result_new();
	struct kt_mon_sources src = { .sched_debug = "/sys/kernel/debug/sched/debug", .schedstat = true };
	json_t *j, *v;
	unsigned i;

	limits(&l, 2);
	kt_mon_eval_init(&e, &l);
	/* 1000 fallbacks per 100 ms: 10000/s against a limit of 100/s */
	for (i = 0; i < 3; i++) {
		mk(s, 1000.0 + 100 * i, bad, 2, 100.0 * i, 1000 * i);
		kt_mon_eval_feed(&e, s);
	}
	assert_int_equal(kt_mon_eval_check(&e, res), 0);
	assert_false(res->passed);
	assert_int_equal(res->n_details, 3);	/* finding, 2 samples */
	assert_string_equal(res->details[0],
		"monitor: select_cpu fallback rate 10000/s > 100/s for 2 consecutive samples (at 1200 ms)");
	assert_non_null(strstr(res->details[1],
			       "sample 1/2: t=1100ms nr_running=[9 0] ratio=18.00 fallback=10000/s"));

	j = kt_mon_eval_json(&e, 100, &src);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "samples")), 3);
	assert_true(json_real_value(json_object_get(j, "max_imbalance_ratio")) == 18.0);
	assert_null(json_object_get(json_object_get(j, "thresholds"), "max_imbalance_ratio"));
	assert_true(json_is_null(json_object_get(j, "max_local_dsq_depth")));
	v = json_array_get(json_object_get(j, "violations"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "check")), "fallback_rate");
	assert_int_equal(json_array_size(json_object_get(v, "samples")), 2);
	assert_true(json_is_null(json_object_get(json_object_get(j, "thresholds"), "max_keep_last_rate")));
	json_decref(j);
	kt_assert_result_free(res);
	kt_mon_eval_release(&e);
	free(s);
}

/* One sample with the given per-CPU run queues (-1: unknown). */
static void rq_sample(struct kt_mon_sample *s, double t_ms, const long *nr, unsigned ncpu)
{
	kt_mon_sample_init(s);
	s->t_ms = t_ms;
	s->ncpu = ncpu;
	for (unsigned c = 0; c < ncpu; c++)
		s->cpus[c].nr_running = nr[c];
}

/* The run-queue series: bounded at any length, averaging, unknowns, a
 * CPU that appears late, and its JSON on the caller's timeline. */
static void test_series(void **state)
{
	struct kt_mon_series ser = { 0 };
	struct kt_mon_sample *s = malloc(sizeof(*s));
	double at;
	json_t *j, *rows;
	size_t max_rows = 0;

	assert_non_null(s);
	/* 1000 samples at 100 ms: never more than 200 rows, never fewer than 100 */
	for (unsigned i = 0; i < 1000; i++) {
		long nr[2] = { i % 2 ? 3 : 1, -1 };

		rq_sample(s, 1000.0 + 100.0 * i, nr, 2);
		assert_int_equal(kt_mon_series_feed(&ser, s), 0);
		max_rows = kt_mon_series_rows(&ser) > max_rows ? kt_mon_series_rows(&ser) : max_rows;
		if (i >= 200)
			assert_true(kt_mon_series_rows(&ser) >= KT_MON_SERIES_MAX / 2);
	}
	assert_int_equal(max_rows, KT_MON_SERIES_MAX);
	/* 1000 samples = 125 rows of 8 */
	assert_int_equal(ser.per_row, 8);
	assert_int_equal(kt_mon_series_rows(&ser), 125);
	/* rows average 1 and 3 alternately: 2; CPU 1 was never known */
	assert_true(kt_mon_series_value(&ser, 7, 0, &at) == 2.0);
	assert_true(at == 1000.0 + 100.0 * 8 * 7);
	assert_true(kt_mon_series_value(&ser, 7, 1, NULL) < 0);

	j = kt_mon_series_json(&ser, 100, 500.0);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "period_ms")), 800);
	assert_int_equal(json_integer_value(json_object_get(j, "cpus")), 2);
	assert_true(json_real_value(json_object_get(j, "t0_ms")) == 500.0);
	rows = json_object_get(j, "nr_running");
	assert_int_equal(json_array_size(rows), 125);
	assert_int_equal(json_array_size(json_object_get(j, "at_ms")), 125);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 3), 0)), 2);
	assert_true(json_is_null(json_array_get(json_array_get(rows, 3), 1)));
	json_decref(j);
	kt_mon_series_release(&ser);

	/* a partial row counts; a CPU seen late is unknown before; quarters */
	{
		long a[1] = { 1 }, b[3] = { 2, 0, 1 }, c[3] = { 2, 1, 2 };

		memset(&ser, 0, sizeof(ser));
		rq_sample(s, 0, a, 1);
		kt_mon_series_feed(&ser, s);
		rq_sample(s, 100, b, 3);
		kt_mon_series_feed(&ser, s);
		rq_sample(s, 200, c, 3);
		kt_mon_series_feed(&ser, s);
		assert_int_equal(kt_mon_series_rows(&ser), 3);
		assert_true(kt_mon_series_value(&ser, 0, 2, NULL) < 0);
		assert_true(kt_mon_series_value(&ser, 2, 2, NULL) == 2.0);
		j = kt_mon_series_json(&ser, 100, 0);
		rows = json_object_get(j, "nr_running");
		assert_true(json_is_null(json_array_get(json_array_get(rows, 0), 1)));
		assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 1), 2)), 1);
		json_decref(j);
		kt_mon_series_release(&ser);
	}
	/* nothing fed: an empty series, not a crash */
	memset(&ser, 0, sizeof(ser));
	j = kt_mon_series_json(&ser, 100, 0);
	assert_int_equal(json_array_size(json_object_get(j, "nr_running")), 0);
	json_decref(j);
	free(s);
}

static void test_healthy_passes(void **state)
{
	static const long nr[] = { 2, 1, 2, 1 };
	struct kt_mon_eval e;
	struct kt_mon_limits l;
	struct kt_mon_sample *s = sample_new();
	struct kt_assert_result *res = kt_assert_result_new();

	kt_mon_limits_resolve(NULL, &l);
	kt_mon_eval_init(&e, &l);
	for (unsigned i = 0; i < 20; i++) {
		mk(s, 100.0 * i, nr, 4, 10.0 * i, 3 * i);
		s->cpus[2].local_dsq = 7;
		kt_mon_eval_feed(&e, s);
	}
	kt_mon_eval_check(&e, res);
	assert_true(res->passed);
	assert_int_equal(res->n_details, 0);	/* DSQ depth was exposed: no note */
	assert_int_equal(e.max_local_dsq, 7);
	kt_assert_result_free(res);
	kt_mon_eval_release(&e);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sched_debug),
		cmocka_unit_test(test_parse_schedstat_events),
		cmocka_unit_test(test_limits_defaults),
		cmocka_unit_test(test_imbalance_observed_not_judged),
		cmocka_unit_test(test_stall_per_cpu),
		cmocka_unit_test(test_fallback_rate_and_reset),
		cmocka_unit_test(test_check_and_json),
		cmocka_unit_test(test_healthy_passes),
		cmocka_unit_test(test_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
