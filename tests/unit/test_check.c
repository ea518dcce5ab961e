/*
 * Unit tests of the check module: Assert defaults and layering, every
 * worker check passing and failing on synthetic reports with exact
 * numbers, result merging, the summary line and the JSON forms.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <ktstr/check.h>
#include "check/check_json.h"

#define NS_PER_S 1000000000ull

/* A healthy worker: ran 2 s on the CPU, `units` work units. */
static struct kt_worker_report worker(const char *group, unsigned index, uint64_t units)
{
	struct kt_worker_report r = {
		.tid = (pid_t)(100 + index),
		.index = index,
		.work_kind = KT_WORK_CPU_SPIN,
		.work_units = units,
		.iterations = units,
		.cpu_time_ns = 2 * NS_PER_S,
		.wall_time_ns = 2 * NS_PER_S,
		.max_gap_ms = 5,
		.max_gap_cpu = 0,
		.end = KT_END_COMPLETED,
		.completed = true,
	};

	snprintf(r.group, sizeof(r.group), "%s", group);
	return r;
}

static struct kt_cpuset *cpus(const char *list)
{
	struct kt_cpuset *s = NULL;

	assert_int_equal(kt_cpuset_parse(list, &s, NULL), 0);
	return s;
}

static bool has_detail(const struct kt_assert_result *r, const char *needle)
{
	for (size_t i = 0; i < r->n_details; i++) {
		if (strstr(r->details[i], needle))
			return true;
	}
	return false;
}

/* Prints the details on a miss so a failure shows what was produced. */
static void assert_detail(const struct kt_assert_result *r, const char *needle)
{
	if (!has_detail(r, needle)) {
		for (size_t i = 0; i < r->n_details; i++)
			print_message("detail[%zu]: %s\n", i, r->details[i]);
		fail_msg("no detail contains \"%s\"", needle);
	}
}

static void test_defaults(void **state)
{
	struct kt_assert a = kt_assert_default_checks();

	assert_true(a.not_starved.set && a.not_starved.v != 0);
	assert_true(a.isolation.set && a.isolation.v != 0);
	assert_true(a.max_gap_ms.set);
	assert_true(a.max_gap_ms.v == 2000);
	assert_true(a.max_spread_pct.set);
	assert_true(a.max_spread_pct.v == 15);
	/* placement: on by default (judged among the CPUs each worker may use) */
	assert_true(a.work_conservation.set && a.work_conservation.v != 0);
	assert_true(a.max_imbalance_ratio.set && a.max_imbalance_ratio.v == 4);
	assert_true(a.max_local_dsq_depth.set && a.max_local_dsq_depth.v == 50);
	assert_true(a.fail_on_stall.set && a.fail_on_stall.v != 0);
	assert_true(a.sustained_samples.set && a.sustained_samples.v == 5);
	assert_false(a.max_throughput_cv.set);
	assert_false(a.min_work_rate.set);
	assert_false(a.max_p99_wake_latency_ns.set);
	assert_false(a.max_wake_latency_cv.set);
	assert_false(a.min_iteration_rate.set);
	assert_false(a.max_migration_ratio.set);
	assert_false(a.max_fallback_rate.set);
	assert_false(a.max_keep_last_rate.set);
}

static void test_merge_layering(void **state)
{
	const struct kt_assert base = kt_assert_default_checks();
	const struct kt_assert over = {
		.max_spread_pct = KT_SET(30),
		.isolation = KT_SET(0),		/* explicitly off is still "set" */
		.max_throughput_cv = KT_SET(0.2),
	};
	struct kt_assert m = kt_assert_merge(&base, &over);

	assert_true(m.max_spread_pct.set && m.max_spread_pct.v == 30);
	assert_true(m.isolation.set && m.isolation.v == 0);
	assert_true(m.max_throughput_cv.set && m.max_throughput_cv.v == 0.2);
	/* base kept where over is unset */
	assert_true(m.max_gap_ms.set && m.max_gap_ms.v == 2000);
	assert_true(m.not_starved.set && m.not_starved.v == 1);
	assert_true(m.sustained_samples.set && m.sustained_samples.v == 5);
	/* unset in both stays unset */
	assert_false(m.min_work_rate.set);
	assert_false(m.max_keep_last_rate.set);
	/* inputs untouched */
	assert_true(base.max_spread_pct.v == 15 && base.isolation.v == 1);

	/* three layers: the last set wins */
	const struct kt_assert top = { .max_spread_pct = KT_SET(50) };
	struct kt_assert m2 = kt_assert_merge(&m, &top);

	assert_true(m2.max_spread_pct.v == 50);
	assert_true(m2.max_throughput_cv.v == 0.2);
}

static void test_has_worker_checks(void **state)
{
	struct kt_assert d = kt_assert_default_checks();
	struct kt_assert only_starved = { .not_starved = KT_SET(1) };
	struct kt_assert iso_off = { .not_starved = KT_SET(1), .isolation = KT_SET(0) };
	struct kt_assert monitor = { .max_imbalance_ratio = KT_SET(2), .fail_on_stall = KT_SET(1) };
	struct kt_assert rate = { .min_work_rate = KT_SET(10) };

	assert_true(kt_assert_has_worker_checks(&d));
	assert_false(kt_assert_has_worker_checks(&only_starved));
	assert_false(kt_assert_has_worker_checks(&iso_off));
	assert_false(kt_assert_has_worker_checks(&monitor));
	assert_true(kt_assert_has_worker_checks(&rate));
}

/* The same workers pass the given checks (e.g. once a limit is relaxed). */
static void assert_cgroup_passes(const struct kt_assert *a, struct kt_worker_report *w, size_t n)
{
	struct kt_assert_result *r = kt_assert_cgroup(a, w, n, NULL);

	assert_true(r->passed);
	kt_assert_result_free(r);
}

static void test_not_starved(void **state)
{
	struct kt_worker_report w[5] = {
		worker("cg_0", 0, 100), worker("cg_0", 1, 100), worker("cg_0", 2, 100),
		worker("cg_0", 3, 100), worker("cg_0", 4, 100),
	};
	struct kt_assert_result *r = kt_assert_not_starved(w, 5);

	assert_non_null(r);
	assert_true(r->passed);
	assert_false(r->skipped);
	assert_int_equal(r->n_details, 0);
	kt_assert_result_free(r);

	w[1].work_units = 0;
	w[2].end = KT_END_TIMED_OUT;
	w[3].end = KT_END_SIGNALED;
	w[3].term_signal = 9;
	w[4].end = KT_END_EXITED;
	w[4].exit_code = 3;
	r = kt_assert_not_starved(w, 5);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 4);
	assert_detail(r, "cg_0: worker 1 (tid 101) made no progress (0 work units in 2.00 s)");
	assert_detail(r, "cg_0: worker 2 (tid 102) did not report by the deadline");
	assert_detail(r, "cg_0: worker 3 (tid 103) was killed by signal 9 (SIGKILL)");
	assert_detail(r, "cg_0: worker 4 (tid 104) exited on its own with code 3");
	kt_assert_result_free(r);

	/* the not_starved check is off when unset in the Assert */
	struct kt_assert none = { 0 };

	assert_cgroup_passes(&none, w, 5);
}

static void test_no_workers_skipped(void **state)
{
	struct kt_assert a = kt_assert_default_checks();
	struct kt_assert_result *r = kt_assert_cgroup(&a, NULL, 0, NULL);

	assert_non_null(r);
	assert_true(r->skipped);
	assert_true(r->passed);
	assert_string_equal(r->skip_reason, "no workers");
	assert_int_equal(r->stats.cgroups, 1);
	kt_assert_result_free(r);
}

/* Rates 100, 100, 70 units/s: mean 90, spread 30/90 = 33.3 %,
 * population stddev sqrt(200) = 14.14, cv 0.157. */
/* Shares of a tiny amount of CPU time are not compared. */
static void test_spread_needs_cpu_time(void **state)
{
	struct kt_worker_report w[2] = { worker("cg_0", 0, 100), worker("cg_0", 1, 100) };
	struct kt_assert a = { .max_spread_pct = KT_SET(15) };
	struct kt_assert_result *r;

	w[0].cpu_time_ns = 160000000;	/* 8 % and 6 % of 2 s */
	w[1].cpu_time_ns = 120000000;
	r = kt_assert_cgroup(&a, w, 2, NULL);
	assert_true(r->passed);
	assert_true(r->stats.spread_unjudged_pct > 15);
	assert_int_equal(r->stats.spread_judged, 0);
	assert_int_equal(r->n_details, 1);
	assert_non_null(strstr(r->details[0], "not judged"));
	kt_assert_result_free(r);
	w[0].cpu_time_ns = 1600000000;	/* 80 % and 60 %: judged, fails */
	w[1].cpu_time_ns = 1200000000;
	r = kt_assert_cgroup(&a, w, 2, NULL);
	assert_false(r->passed);
	kt_assert_result_free(r);
}

/* Merged results count the union of the CPUs, not the largest group's. */
static void test_merge_cpus_union(void **state)
{
	struct kt_worker_report a = worker("cg_0", 0, 100), b = worker("cg_1", 0, 100);
	struct kt_assert none = { 0 };
	struct kt_assert_result *all = kt_assert_result_new(), *ra, *rb;

	a.cpus_used = cpus("0");
	b.cpus_used = cpus("1-2");
	ra = kt_assert_cgroup(&none, &a, 1, NULL);
	rb = kt_assert_cgroup(&none, &b, 1, NULL);
	assert_int_equal(kt_assert_result_merge(all, ra), 0);
	assert_int_equal(kt_assert_result_merge(all, rb), 0);
	assert_int_equal(all->stats.cpus_used, 3);
	assert_int_equal(kt_assert_result_merge(all, ra), 0);	/* same CPUs again: still 3 */
	assert_int_equal(all->stats.cpus_used, 3);
	kt_assert_result_free(ra);
	kt_assert_result_free(rb);
	kt_assert_result_free(all);
	kt_cpuset_free(a.cpus_used);
	kt_cpuset_free(b.cpus_used);
}

static void test_min_cpu_share(void **state)
{
	struct kt_worker_report w[2] = { worker("cg_0", 0, 100), worker("cg_0", 1, 100) };
	struct kt_assert a = { .min_cpu_share_pct = KT_SET(60) };
	struct kt_assert_result *r;

	w[1].cpu_time_ns = NS_PER_S / 2;	/* 0.5 s of CPU in 2 s: 25 % */
	r = kt_assert_cgroup(&a, w, 2, NULL);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 1);
	assert_detail(r, "cg_0: worker 1 (tid 101) got 25 % of a CPU (minimum 60 %)");
	kt_assert_result_free(r);
	a.min_cpu_share_pct = KT_SET(20);
	assert_cgroup_passes(&a, w, 2);
}

static void test_spread_and_cv(void **state)
{
	struct kt_worker_report w[3] = {
		worker("cg_0", 0, 200), worker("cg_0", 1, 200), worker("cg_0", 2, 140),
	};
	struct kt_assert a = { .max_spread_pct = KT_SET(15) };
	struct kt_assert_result *r;

	/* CPU shares 100 %, 100 %, 70 % over 2 s: spread = 30 / 90 */
	w[2].cpu_time_ns = 14 * NS_PER_S / 10;
	r = kt_assert_cgroup(&a, w, 3, NULL);

	assert_false(r->passed);
	assert_float_equal(r->stats.spread_pct, 100.0 / 3.0, 1e-9);
	assert_float_equal(r->stats.throughput_cv, 14.142135623730951 / 90.0, 1e-9);
	assert_int_equal(r->n_details, 1);
	assert_detail(r, "cg_0: spread 33.3 % (limit 15 %) over 3 workers: "
			 "least served worker 2 (tid 102) got 70 % of a CPU, "
			 "most served worker 0 (tid 100) 100 %");
	kt_assert_result_free(r);

	a.max_spread_pct = KT_SET(35);
	r = kt_assert_cgroup(&a, w, 3, NULL);
	assert_true(r->passed);
	assert_int_equal(r->n_details, 0);
	kt_assert_result_free(r);

	struct kt_assert cv = { .max_throughput_cv = KT_SET(0.1) };

	r = kt_assert_cgroup(&cv, w, 3, NULL);
	assert_false(r->passed);
	assert_detail(r, "cg_0: throughput cv 0.157 (limit 0.1) over 3 workers, mean 90 units/s");
	kt_assert_result_free(r);
	cv.max_throughput_cv = KT_SET(0.2);
	assert_cgroup_passes(&cv, w, 3);

	/* stats are filled even when no check asks for them */
	struct kt_assert none = { 0 };

	r = kt_assert_cgroup(&none, w, 3, NULL);
	assert_true(r->passed);
	assert_float_equal(r->stats.spread_unjudged_pct, 100.0 / 3.0, 1e-9);
	assert_int_equal(r->stats.spread_judged, 0);
	kt_assert_result_free(r);
}

static void test_isolation(void **state)
{
	struct kt_worker_report w[3] = {
		worker("cg_1", 0, 100), worker("cg_1", 1, 100), worker("cg_1", 2, 100),
	};
	struct kt_cpuset *allowed = cpus("0-3");
	struct kt_assert a = { .isolation = KT_SET(1) };
	struct kt_assert_result *r;

	w[0].cpus_used = cpus("0-1");
	w[1].cpus_used = cpus("3");
	w[2].cpus_used = cpus("0-1,4-5,7");

	r = kt_assert_cgroup(&a, w, 2, allowed);
	assert_true(r->passed);
	kt_assert_result_free(r);

	r = kt_assert_cgroup(&a, w, 3, allowed);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 1);
	assert_string_equal(r->details[0],
			    "cg_1: worker 2 (tid 102) ran on CPUs 4-5,7 outside its cpuset 0-3");
	/* distinct CPUs over the group: 0,1,3,4,5,7 */
	assert_int_equal(r->stats.cpus_used, 6);
	kt_assert_result_free(r);

	/* without a cpuset there is nothing to be isolated in */
	assert_cgroup_passes(&a, w, 3);

	/* switched off explicitly */
	a.isolation = KT_SET(0);
	r = kt_assert_cgroup(&a, w, 3, allowed);
	assert_true(r->passed);
	kt_assert_result_free(r);

	kt_cpuset_free(allowed);
	for (size_t i = 0; i < 3; i++)
		kt_cpuset_free(w[i].cpus_used);
}

static void test_gap(void **state)
{
	struct kt_worker_report w[4] = {
		worker("cg_1", 0, 100), worker("cg_1", 1, 100), worker("cg_1", 2, 100),
		worker("cg_1", 3, 100),
	};
	struct kt_assert a = { .max_gap_ms = KT_SET(2000) };
	struct kt_assert_result *r;

	w[3].tid = 412;
	w[3].max_gap_ms = 2412;
	w[3].max_gap_cpu = 2;
	w[3].max_gap_at_ns = 1300000000ull;
	w[1].max_gap_ms = 2000;	/* exactly at the limit passes */
	w[1].max_gap_cpu = 1;

	r = kt_assert_cgroup(&a, w, 4, NULL);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 1);
	assert_string_equal(r->details[0],
			    "cg_1: worker 3 (tid 412) stuck 2412 ms on CPU 2 at +1.30 s (limit 2000 ms)");
	assert_float_equal(r->stats.worst_gap_ms, 2412, 1e-9);
	assert_string_equal(r->stats.worst_gap_worker, "cg_1/worker 3 (tid 412)");
	assert_int_equal(r->stats.worst_gap_cpu, 2);
	kt_assert_result_free(r);

	a.max_gap_ms = KT_SET(2500);
	assert_cgroup_passes(&a, w, 4);
}

static void test_rates_and_migrations(void **state)
{
	struct kt_worker_report w[2] = { worker("cg_0", 0, 2000), worker("cg_0", 1, 3000) };
	struct kt_assert_result *r;

	/* worker 0: 2000 units / 2 CPU-s = 1000 per CPU-second */
	struct kt_assert wr = { .min_work_rate = KT_SET(1000) };

	assert_cgroup_passes(&wr, w, 2);
	wr.min_work_rate = KT_SET(1500);
	r = kt_assert_cgroup(&wr, w, 2, NULL);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 1);
	assert_detail(r, "cg_0: worker 0 (tid 100) did 1000 work units per CPU-second (minimum 1500;");
	kt_assert_result_free(r);

	/* iterations / wall s: 100 and 150 per second */
	w[0].iterations = 200;
	w[1].iterations = 300;
	struct kt_assert ir = { .min_iteration_rate = KT_SET(120) };

	r = kt_assert_cgroup(&ir, w, 2, NULL);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 1);
	assert_detail(r, "cg_0: worker 0 (tid 100) ran 100 iterations/s (minimum 120;");
	kt_assert_result_free(r);

	/* 200 migrations over 500 iterations = 0.4 */
	w[0].migration_count = 150;
	w[1].migration_count = 50;
	struct kt_assert mr = { .max_migration_ratio = KT_SET(0.25) };

	r = kt_assert_cgroup(&mr, w, 2, NULL);
	assert_false(r->passed);
	assert_detail(r, "cg_0: migration ratio 0.4 (200 migrations / 500 iterations, limit 0.25)");
	kt_assert_result_free(r);
	mr.max_migration_ratio = KT_SET(0.5);
	assert_cgroup_passes(&mr, w, 2);
}

static void test_stats_sums(void **state)
{
	struct kt_worker_report w[2] = { worker("cg_0", 0, 10), worker("cg_0", 1, 20) };
	struct kt_assert none = { 0 };

	w[0].cpus_used = cpus("0-1");
	w[1].cpus_used = cpus("1-2");
	w[0].migration_count = 3;
	w[1].migration_count = 4;
	w[0].sched_run_delay_ns = 1000;
	w[1].sched_run_delay_ns = 500;
	w[1].cpu_time_ns = 1 * NS_PER_S;
	w[1].wall_time_ns = 3 * NS_PER_S;

	struct kt_assert_result *r = kt_assert_cgroup(&none, w, 2, NULL);

	assert_int_equal(r->stats.workers, 2);
	assert_int_equal(r->stats.cgroups, 1);
	assert_int_equal(r->stats.cpus_used, 3);
	assert_int_equal(r->stats.migrations, 7);
	assert_int_equal(r->stats.iterations, 30);
	assert_int_equal(r->stats.work_units, 30);
	assert_int_equal(r->stats.run_delay_ns, 1500);
	assert_int_equal(r->stats.cpu_time_ns, 3 * NS_PER_S);
	assert_int_equal(r->stats.wall_time_ns, 3 * NS_PER_S);
	assert_float_equal(r->stats.worst_gap_ms, 5, 1e-9);
	assert_int_equal(r->stats.p99_wake_latency_ns, 0);
	kt_assert_result_free(r);
	kt_cpuset_free(w[0].cpus_used);
	kt_cpuset_free(w[1].cpus_used);
}

static void test_percentile(void **state)
{
	const uint64_t s[] = { 5, 1, 3, 2, 4 };
	uint64_t h[100];

	assert_float_equal(kt_stats_percentile(s, 5, 50), 3, 0);
	assert_float_equal(kt_stats_percentile(s, 5, 0), 1, 0);
	assert_float_equal(kt_stats_percentile(s, 5, 20), 1, 0);
	assert_float_equal(kt_stats_percentile(s, 5, 21), 2, 0);
	assert_float_equal(kt_stats_percentile(s, 5, 100), 5, 0);
	assert_float_equal(kt_stats_percentile(s, 0, 99), 0, 0);
	for (size_t i = 0; i < 100; i++)
		h[i] = 100 - i;	/* 100 .. 1, unsorted on purpose */
	assert_float_equal(kt_stats_percentile(h, 100, 99), 99, 0);
	assert_float_equal(kt_stats_percentile(h, 100, 99.5), 100, 0);
	assert_float_equal(kt_stats_percentile(h, 100, 90), 90, 0);
	/* the input is not reordered */
	assert_int_equal(h[0], 100);
}

static void test_wake_latency(void **state)
{
	struct kt_worker_report w[2] = { worker("cg_2", 0, 100), worker("cg_2", 1, 100) };
	struct kt_assert a = { .max_p99_wake_latency_ns = KT_SET(50000) };
	struct kt_assert_result *r;

	/* no samples: the check does not apply */
	r = kt_assert_cgroup(&a, w, 2, NULL);
	assert_true(r->passed);
	assert_int_equal(r->stats.p99_wake_latency_ns, 0);
	assert_detail(r, "no wake samples");
	kt_assert_result_free(r);

	/* 1..100 us pooled over two workers: p99 = 99 us */
	for (unsigned i = 0; i < 50; i++) {
		w[0].wake_samples_ns[i] = (i + 1) * 1000ull;
		w[1].wake_samples_ns[i] = (i + 51) * 1000ull;
	}
	w[0].wake_samples_n = w[1].wake_samples_n = 50;
	r = kt_assert_cgroup(&a, w, 2, NULL);
	assert_false(r->passed);
	assert_float_equal(r->stats.p99_wake_latency_ns, 99000, 0);
	assert_detail(r, "cg_2: p99 wake latency 99 us (limit 50 us) over 100 samples");
	kt_assert_result_free(r);

	a.max_p99_wake_latency_ns = KT_SET(100000);
	assert_cgroup_passes(&a, w, 2);

	/* cv of 1..100: mean 50.5, population sd 28.866 -> 0.5716 */
	struct kt_assert cv = { .max_wake_latency_cv = KT_SET(0.5) };

	r = kt_assert_cgroup(&cv, w, 2, NULL);
	assert_false(r->passed);
	assert_float_equal(r->stats.wake_latency_cv, 28.86607004772212 / 50.5, 1e-9);
	assert_detail(r, "cg_2: wake latency cv 0.572 (limit 0.5) over 100 samples, mean 50.5 us");
	kt_assert_result_free(r);
}

static struct kt_assert_result *result_with(bool pass, const char *detail)
{
	struct kt_assert_result *r = kt_assert_result_new();

	assert_non_null(r);
	r->stats.cgroups = 1;
	r->stats.cgroup_ids[0] = (uint64_t)(uintptr_t)detail;	/* one cgroup per detail */
	if (pass)
		kt_assert_result_note(r, "%s", detail);
	else
		kt_assert_result_fail(r, "%s", detail);
	return r;
}

/* A root cause found late still leads the details. */
static void test_fail_first(void **state)
{
	struct kt_assert_result *r = kt_assert_result_new();

	kt_assert_result_fail(r, "cg_0: worker 0 (tid 9) stuck 2100 ms");
	kt_assert_result_note(r, "spread not judged");
	kt_assert_result_fail_first(r, "scheduler ejected: runnable task stall");
	assert_false(r->passed);
	assert_int_equal(r->n_details, 3);
	assert_string_equal(r->details[0], "scheduler ejected: runnable task stall");
	assert_string_equal(r->details[1], "cg_0: worker 0 (tid 9) stuck 2100 ms");
	kt_assert_result_free(r);
}

static void test_result_merge_verdicts(void **state)
{
	struct kt_assert_result *f = result_with(false, "cg_0 bad");
	struct kt_assert_result *p = result_with(true, "cg_1 fine");

	assert_int_equal(kt_assert_result_merge(f, p), 0);
	kt_assert_result_free(p);	/* details were deep-copied */
	assert_false(f->passed);
	assert_int_equal(f->n_details, 2);
	assert_string_equal(f->details[0], "cg_0 bad");
	assert_string_equal(f->details[1], "cg_1 fine");
	assert_int_equal(f->stats.cgroups, 2);
	kt_assert_result_free(f);

	/* pass + fail also fails (order does not matter) */
	p = result_with(true, "ok");
	f = result_with(false, "bad");
	assert_int_equal(kt_assert_result_merge(p, f), 0);
	assert_false(p->passed);
	kt_assert_result_free(p);
	kt_assert_result_free(f);

	/* skipped + pass = pass, not skipped, reason kept as a note */
	struct kt_assert a = kt_assert_default_checks();
	struct kt_assert_result *s = kt_assert_cgroup(&a, NULL, 0, NULL);

	p = result_with(true, "ok");
	assert_int_equal(kt_assert_result_merge(p, s), 0);
	assert_true(p->passed);
	assert_false(p->skipped);
	assert_detail(p, "skipped: no workers");
	assert_int_equal(p->stats.cgroups, 2);
	kt_assert_result_free(p);

	/* skipped + skipped stays skipped; a fresh result is the identity */
	struct kt_assert_result *acc = kt_assert_result_new();
	struct kt_assert_result *s2 = kt_assert_cgroup(&a, NULL, 0, NULL);

	assert_int_equal(kt_assert_result_merge(acc, s), 0);
	assert_true(acc->skipped);
	assert_int_equal(kt_assert_result_merge(acc, s2), 0);
	assert_true(acc->skipped);
	assert_true(acc->passed);
	assert_string_equal(acc->skip_reason, "no workers");
	/* two results without workers carry no cgroup name to tell them apart */
	assert_int_equal(acc->stats.cgroups, 1);
	kt_assert_result_free(acc);
	kt_assert_result_free(s);
	kt_assert_result_free(s2);
}

static void test_result_merge_stats(void **state)
{
	struct kt_assert_result *a = kt_assert_result_new(), *b = kt_assert_result_new();

	a->stats = (struct kt_stats){
		.workers = 2, .cgroups = 1, .cgroup_ids = { 11 }, .cpus_used = 4, .spread_pct = 10,
		.spread_judged = 1, .spread_unjudged_pct = 50, .throughput_cv = 0.3,
		.worst_gap_ms = 50, .worst_gap_worker = "cg_0/worker 1 (tid 11)", .worst_gap_cpu = 1,
		.migrations = 5, .iterations = 100, .work_units = 1000, .p99_wake_latency_ns = 9000,
		.wake_latency_cv = 0.1, .run_delay_ns = 7, .cpu_time_ns = 20, .wall_time_ns = 30,
	};
	b->stats = (struct kt_stats){
		.workers = 3, .cgroups = 1, .cgroup_ids = { 22 }, .cpus_used = 2, .spread_pct = 20,
		.spread_judged = 1, .throughput_cv = 0.2,
		.worst_gap_ms = 80, .worst_gap_worker = "cg_1/worker 0 (tid 20)", .worst_gap_cpu = 3,
		.migrations = 6, .iterations = 50, .work_units = 500, .p99_wake_latency_ns = 4000,
		.wake_latency_cv = 0.4, .run_delay_ns = 3, .cpu_time_ns = 10, .wall_time_ns = 40,
	};
	assert_int_equal(kt_assert_result_merge(a, b), 0);
	assert_int_equal(a->stats.workers, 5);
	assert_int_equal(a->stats.cgroups, 2);
	assert_int_equal(a->stats.cpus_used, 4);
	assert_float_equal(a->stats.spread_pct, 20, 0);
	assert_int_equal(a->stats.spread_judged, 2);
	assert_float_equal(a->stats.spread_unjudged_pct, 50, 0);
	assert_float_equal(a->stats.throughput_cv, 0.3, 0);
	assert_float_equal(a->stats.worst_gap_ms, 80, 0);
	assert_string_equal(a->stats.worst_gap_worker, "cg_1/worker 0 (tid 20)");
	assert_int_equal(a->stats.worst_gap_cpu, 3);
	assert_int_equal(a->stats.migrations, 11);
	assert_int_equal(a->stats.iterations, 150);
	assert_int_equal(a->stats.work_units, 1500);
	assert_float_equal(a->stats.p99_wake_latency_ns, 9000, 0);
	assert_float_equal(a->stats.wake_latency_cv, 0.4, 0);
	assert_int_equal(a->stats.run_delay_ns, 10);
	assert_int_equal(a->stats.cpu_time_ns, 30);
	assert_int_equal(a->stats.wall_time_ns, 40);
	assert_true(a->passed);
	/* a second spawn of a cgroup already counted adds workers, not a cgroup */
	b->stats.cgroup_ids[0] = 11;
	assert_int_equal(kt_assert_result_merge(a, b), 0);
	assert_int_equal(a->stats.cgroups, 2);
	assert_int_equal(a->stats.workers, 8);
	kt_assert_result_free(a);
	kt_assert_result_free(b);
}

static void test_summary(void **state)
{
	struct kt_assert_result *r = kt_assert_result_new();

	r->stats = (struct kt_stats){
		.workers = 8, .cgroups = 1, .cpus_used = 4, .spread_pct = 3.14, .spread_judged = 1,
		.worst_gap_ms = 12.4, .migrations = 40, .p99_wake_latency_ns = 180000,
	};
	char *s = kt_assert_result_summary(r);

	assert_string_equal(s, "workers 8, cpus 4, spread 3.1 %, worst gap 12 ms, migrations 40, "
			       "p99 wake 180 us");
	free(s);

	/* no wake samples: no meaningless "p99 wake 0 ns" */
	r->stats.p99_wake_latency_ns = 0;
	s = kt_assert_result_summary(r);
	assert_string_equal(s, "workers 8, cpus 4, spread 3.1 %, worst gap 12 ms, migrations 40");
	free(s);

	r->stats.p99_wake_latency_ns = 2400000;
	r->stats.cgroups = 3;
	s = kt_assert_result_summary(r);
	assert_string_equal(s, "cgroups 3, workers 8, cpus 4, spread 3.1 %, worst gap 12 ms, "
			       "migrations 40, p99 wake 2.4 ms");
	free(s);

	/* a spread nobody judged is shown as such */
	r->stats.spread_judged = 0;
	r->stats.spread_unjudged_pct = 134.3;
	s = kt_assert_result_summary(r);
	assert_string_equal(s, "cgroups 3, workers 8, cpus 4, spread 134.3 % (not judged), worst gap "
			       "12 ms, migrations 40, p99 wake 2.4 ms");
	free(s);
	kt_assert_result_free(r);
}

static void test_assert_json_round_trip(void **state)
{
	const struct kt_assert over = {
		.min_work_rate = KT_SET(1234.5),
		.isolation = KT_SET(0),
		.max_p99_wake_latency_ns = KT_SET(5000000),
	};
	struct kt_assert base = kt_assert_default_checks();
	struct kt_assert a = kt_assert_merge(&base, &over), back;
	json_t *j = kt_assert_to_json(&a);

	assert_non_null(j);
	/* only set fields, booleans as booleans, integral values as integers */
	assert_int_equal(json_object_size(j), 11);	/* 9 defaults + 2 new */
	assert_true(json_is_false(json_object_get(j, "isolation")));
	assert_true(json_is_true(json_object_get(j, "not_starved")));
	assert_true(json_is_integer(json_object_get(j, "max_gap_ms")));
	assert_int_equal(json_integer_value(json_object_get(j, "max_gap_ms")), 2000);
	assert_null(json_object_get(j, "max_throughput_cv"));

	char *text = json_dumps(j, JSON_COMPACT);
	json_t *parsed = json_loads(text, 0, NULL);

	assert_non_null(parsed);
	assert_int_equal(kt_assert_from_json(parsed, &back), 0);
	assert_memory_equal(&a, &back, sizeof(a));
	free(text);
	json_decref(parsed);
	json_decref(j);

	/* unknown key or wrong type: -EINVAL, output untouched */
	struct kt_assert untouched = kt_assert_default_checks();

	back = untouched;
	j = json_pack("{s:i, s:i}", "max_gap_ms", 10, "max_gap_sec", 1);
	assert_int_equal(kt_assert_from_json(j, &back), -EINVAL);
	assert_memory_equal(&back, &untouched, sizeof(back));
	json_decref(j);
	j = json_pack("{s:s}", "max_gap_ms", "2000");
	assert_int_equal(kt_assert_from_json(j, &back), -EINVAL);
	json_decref(j);
	j = json_pack("{s:i}", "isolation", 2);	/* a switch takes 0/1 or a boolean */
	assert_int_equal(kt_assert_from_json(j, &back), -EINVAL);
	json_decref(j);
	j = json_pack("[i]", 1);
	assert_int_equal(kt_assert_from_json(j, &back), -EINVAL);
	json_decref(j);
	assert_memory_equal(&back, &untouched, sizeof(back));

	/* 0/1 for a switch, as typed on a command line */
	j = json_pack("{s:i}", "isolation", 0);
	assert_int_equal(kt_assert_from_json(j, &back), 0);
	assert_true(back.isolation.set && back.isolation.v == 0);
	json_decref(j);
	back = untouched;

	/* empty object: nothing set */
	j = json_object();
	assert_int_equal(kt_assert_from_json(j, &back), 0);
	assert_false(back.not_starved.set || back.max_gap_ms.set);
	json_decref(j);
}

static void test_result_json(void **state)
{
	struct kt_worker_report w[2] = { worker("cg_0", 0, 100), worker("cg_0", 1, 0) };
	struct kt_assert_result *r = kt_assert_not_starved(w, 2);
	json_t *j = kt_assert_result_to_json(r);

	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "passed")));
	assert_true(json_is_false(json_object_get(j, "skipped")));
	assert_null(json_object_get(j, "skip_reason"));
	assert_int_equal(json_array_size(json_object_get(j, "details")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "details"), 0)),
			    r->details[0]);
	json_t *st = json_object_get(j, "stats");

	assert_int_equal(json_integer_value(json_object_get(st, "workers")), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "work_units")), 100);
	assert_string_equal(json_string_value(json_object_get(st, "worst_gap_worker")),
			    "cg_0/worker 0 (tid 100)");
	assert_non_null(json_string_value(json_object_get(j, "summary")));
	json_decref(j);
	kt_assert_result_free(r);

	r = kt_assert_not_starved(NULL, 0);
	j = kt_assert_result_to_json(r);
	assert_true(json_is_true(json_object_get(j, "skipped")));
	assert_string_equal(json_string_value(json_object_get(j, "skip_reason")), "no workers");
	json_decref(j);
	kt_assert_result_free(r);
}


/* ---- placement (kt_wc) ----------------------------------------------- */

/* Feed `windows` 100 ms windows: task i waits wait_ms[i] per window, is on
 * cpu[i] (runnable), CPU c idles idle_ms[c] per window. */
static void wc_run(struct kt_wc *w, unsigned windows, size_t n, const double *wait_ms,
		   const int *cpu, const struct kt_cpuset *const *allowed, unsigned ncpu,
		   const double *idle_ms, double *t)
{
	static char labels[8][32];
	struct kt_wc_task tasks[8];
	uint64_t delay[8] = { 0 }, idle[8] = { 0 };

	for (unsigned k = 0; k <= windows; k++, *t += 100) {
		for (size_t i = 0; i < n; i++) {
			snprintf(labels[i], sizeof(labels[i]), "cg_0/worker %zu (tid %zu)", i, 100 + i);
			tasks[i] = (struct kt_wc_task){ .tid = (pid_t)(100 + i), .label = labels[i],
							.run_delay_ns = delay[i], .cpu = cpu[i],
							.runnable = true, .allowed = allowed[i] };
			delay[i] += (uint64_t)(wait_ms[i] * 1e6);
		}
		assert_int_equal(kt_wc_feed(w, *t, tasks, n, idle, ncpu), 0);
		for (unsigned c = 0; c < ncpu; c++)
			idle[c] += (uint64_t)(idle_ms[c] * 1e6);
	}
}

static struct kt_cpuset *cpus_of(const char *list)
{
	struct kt_cpuset *s = NULL;

	assert_int_equal(kt_cpuset_parse(list, &s, NULL), 0);
	return s;
}

/* Two workers stacked on CPU 0 while CPU 1, which both may use, idles. */
static void test_wc_stacked_beside_idle_cpu(void **state)
{
	const struct kt_assert a = kt_assert_default_checks();
	KT_AUTO(kt_cpuset) both = cpus_of("0-1");
	const struct kt_cpuset *allowed[] = { both, both };
	const double wait[] = { 50, 50 }, idle[] = { 0, 100 };
	const int cpu[] = { 0, 0 };
	KT_AUTO(kt_assert_result) res = kt_assert_result_new();
	struct kt_wc *w = kt_wc_new(&a);
	double t = 1000;

	/* ten windows: one 1 s stretch, not the two a finding needs */
	wc_run(w, 10, 2, wait, cpu, allowed, 2, idle, &t);
	assert_false(kt_wc_violated(w));
	kt_wc_free(w);
	w = kt_wc_new(&a);
	t = 1000;
	wc_run(w, 11, 2, wait, cpu, allowed, 2, idle, &t);
	assert_true(kt_wc_violated(w));
	assert_int_equal(kt_wc_check(w, res), 0);
	assert_false(res->passed);
	assert_int_equal(res->n_details, 1);	/* work conservation; imbalance: 2 tasks on 2 CPUs */
	/* judged over 1 s stretches: two of them, +1.0-2.0 and +1.1-2.1 s */
	assert_non_null(strstr(res->details[0], "work conservation: for 1100 ms (+1 s to +2.1 s)"));
	assert_non_null(strstr(res->details[0], "while CPU 1, which they may use, sat idle"));
	assert_non_null(strstr(res->details[0], "cg_0/worker 0 (tid 100) waited 50 % of 1000 ms while "
					       "its idle CPUs were idle 100 % of it"));
	assert_non_null(strstr(res->details[0], "up to 2 workers waited at once; CPUs busy: 0"));
	/* reported once */
	kt_assert_result_free(kt_take_ptr(res));
	res = kt_assert_result_new();
	assert_int_equal(kt_wc_check(w, res), 0);
	assert_true(res->passed);
	kt_wc_free(w);
}

/* A healthy start: a worker waits 300 ms beside an idle CPU, then the
 * scheduler moves it.  Not a finding. */
static void test_wc_transient_wait_passes(void **state)
{
	const struct kt_assert a = kt_assert_default_checks();
	KT_AUTO(kt_cpuset) both = cpus_of("0-1");
	const struct kt_cpuset *allowed[] = { both, both };
	const double wait_start[] = { 0, 100 }, wait_later[] = { 0, 0 };
	const double idle_start[] = { 0, 100 }, idle_later[] = { 0, 0 };
	const int stacked[] = { 0, 0 }, apart[] = { 0, 1 };
	KT_AUTO(kt_assert_result) res = kt_assert_result_new();
	struct kt_wc *w = kt_wc_new(&a);
	double t = 0;

	wc_run(w, 3, 2, wait_start, stacked, allowed, 2, idle_start, &t);
	wc_run(w, 20, 2, wait_later, apart, allowed, 2, idle_later, &t);
	assert_false(kt_wc_violated(w));
	assert_int_equal(kt_wc_check(w, res), 0);
	assert_true(res->passed);
	kt_wc_free(w);
}

/* Waiting on a CPU the worker is pinned to, beside an idle CPU it may not
 * use, is the test's design, not the scheduler's fault; and workers that
 * each have a CPU never wait. */
static void test_wc_pinned_and_healthy_pass(void **state)
{
	const struct kt_assert a = kt_assert_default_checks();
	KT_AUTO(kt_cpuset) zero = cpus_of("0");
	KT_AUTO(kt_cpuset) all = cpus_of("0-2");
	const struct kt_cpuset *pinned[] = { zero, zero, zero };
	const struct kt_cpuset *free3[] = { all, all, all };
	const double wait_pinned[] = { 66, 66, 66 }, wait_none[] = { 0, 1, 0 };
	const double idle_pinned[] = { 0, 100, 100 }, idle_none[] = { 0, 0, 0 };
	const int on0[] = { 0, 0, 0 }, spread[] = { 0, 1, 2 };
	KT_AUTO(kt_assert_result) res = kt_assert_result_new();
	struct kt_wc *w = kt_wc_new(&a);
	double t = 0;

	wc_run(w, 10, 3, wait_pinned, on0, pinned, 3, idle_pinned, &t);
	wc_run(w, 10, 3, wait_none, spread, free3, 3, idle_none, &t);
	assert_false(kt_wc_violated(w));
	assert_int_equal(kt_wc_check(w, res), 0);
	assert_true(res->passed);
	kt_wc_free(w);
}

/* Four runnable workers that may use CPUs 0-2, all queued on CPU 0:
 * ratio 4 / 0.5 = 8 among those CPUs; off when the limit is off. */
static void test_wc_imbalance_among_allowed_cpus(void **state)
{
	struct kt_assert a = kt_assert_default_checks();
	KT_AUTO(kt_cpuset) all = cpus_of("0-2");
	const struct kt_cpuset *allowed[] = { all, all, all, all };
	const double wait[] = { 0, 0, 0, 0 }, idle[] = { 0, 0, 0 };
	const int cpu[] = { 0, 0, 0, 0 };
	KT_AUTO(kt_assert_result) res = kt_assert_result_new();
	struct kt_wc *w;
	double t = 0;

	a.work_conservation = KT_SET(0);
	w = kt_wc_new(&a);
	wc_run(w, 6, 4, wait, cpu, allowed, 3, idle, &t);
	assert_true(kt_wc_max_imbalance(w) == 8.0);
	assert_int_equal(kt_wc_check(w, res), 0);
	assert_false(res->passed);
	assert_non_null(strstr(res->details[0], "run-queue imbalance 8 (limit 4) among the CPUs the "
					       "workers may use"));
	assert_non_null(strstr(res->details[0], "worst: CPU 0: 4, CPU 1: 0, CPU 2: 0"));
	kt_wc_free(w);

	a.max_imbalance_ratio = KT_SET(0);
	w = kt_wc_new(&a);
	kt_assert_result_free(kt_take_ptr(res));
	res = kt_assert_result_new();
	wc_run(w, 6, 4, wait, cpu, allowed, 3, idle, &t);
	assert_int_equal(kt_wc_check(w, res), 0);
	assert_true(res->passed);
	kt_wc_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_merge_layering),
		cmocka_unit_test(test_has_worker_checks),
		cmocka_unit_test(test_not_starved),
		cmocka_unit_test(test_no_workers_skipped),
		cmocka_unit_test(test_spread_and_cv),
		cmocka_unit_test(test_min_cpu_share),
		cmocka_unit_test(test_merge_cpus_union),
		cmocka_unit_test(test_spread_needs_cpu_time),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_rates_and_migrations),
		cmocka_unit_test(test_stats_sums),
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_wake_latency),
		cmocka_unit_test(test_result_merge_verdicts),
		cmocka_unit_test(test_result_merge_stats),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_assert_json_round_trip),
		cmocka_unit_test(test_result_json),
		cmocka_unit_test(test_fail_first),
		cmocka_unit_test(test_wc_stacked_beside_idle_cpu),
		cmocka_unit_test(test_wc_pinned_and_healthy_pass),
		cmocka_unit_test(test_wc_transient_wait_passes),
		cmocka_unit_test(test_wc_imbalance_among_allowed_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
