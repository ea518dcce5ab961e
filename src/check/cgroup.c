/*
 * The per-cgroup assertion: turns one cgroup's worker reports into a
 * verdict, evidence lines that name the worker and the numbers, and
 * aggregate stats.  Knows nothing about how the reports were produced and
 * must not print.
 */
#include "check/check_internal.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static bool opt_on(struct kt_opt o)
{
	return o.set && o.v != 0;
}

static const char *group_of(const struct kt_worker_report *r)
{
	return r->group[0] ? r->group : "(no cgroup)";
}

static double wall_s(const struct kt_worker_report *r)
{
	return (double)r->wall_time_ns / 1e9;
}

/* Work units per wall second: what "fair share" is measured in. */
static double work_rate(const struct kt_worker_report *r)
{
	return r->wall_time_ns ? (double)r->work_units / wall_s(r) : 0;
}

static unsigned wake_n(const struct kt_worker_report *r)
{
	return r->wake_samples_n < KT_WAKE_RESERVOIR ? r->wake_samples_n : KT_WAKE_RESERVOIR;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

double kt_stats_percentile(const uint64_t *samples, size_t n, double pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	if (pct <= 0)
		rank = 1;
	else if (pct >= 100)
		rank = n;
	else
		rank = (size_t)ceil(pct / 100.0 * (double)n - 1e-9);
	if (rank < 1)
		rank = 1;

	uint64_t *sorted = malloc(n * sizeof(*sorted));

	if (sorted) {
		memcpy(sorted, samples, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_u64);
		double v = (double)sorted[rank - 1];

		free(sorted);
		return v;
	}
	/*
	 * No memory for a copy: the value whose rank range covers `rank` is
	 * the answer.  Quadratic, but correct and allocation-free.
	 */
	for (size_t i = 0; i < n; i++) {
		size_t less = 0, le = 0;

		for (size_t j = 0; j < n; j++) {
			less += samples[j] < samples[i];
			le += samples[j] <= samples[i];
		}
		if (less < rank && rank <= le)
			return (double)samples[i];
	}
	return 0;
}

struct moments {
	double mean, sd, min, max;
	size_t imin, imax;
};

/* Population mean / standard deviation: the group is the whole population. */
static struct moments moments_of(const double *v, size_t n)
{
	struct moments m = { 0 };
	double sum = 0, sq = 0;

	if (n == 0)
		return m;
	m.min = m.max = v[0];
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] < m.min) {
			m.min = v[i];
			m.imin = i;
		}
		if (v[i] > m.max) {
			m.max = v[i];
			m.imax = i;
		}
	}
	m.mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		sq += (v[i] - m.mean) * (v[i] - m.mean);
	m.sd = sqrt(sq / (double)n);
	return m;
}

static double cv_of(const struct moments *m)
{
	return m->mean > 0 ? m->sd / m->mean : 0;
}

static void check_end(struct kt_assert_result *res, const struct kt_worker_report *r)
{
	const char *g = group_of(r);
	const char *sig;

	switch (r->end) {
	case KT_END_COMPLETED:
		if (!r->completed)
			kt_assert_result_fail(res, "%s: worker %u (tid %d) did not complete its run",
					      g, r->index, r->tid);
		else if (r->work_units == 0)
			kt_assert_result_fail(res, "%s: worker %u (tid %d) made no progress "
					      "(0 work units in %.2f s)", g, r->index, r->tid, wall_s(r));
		return;
	case KT_END_EXITED:
		kt_assert_result_fail(res, "%s: worker %u (tid %d) exited on its own with code %d "
				      "before the run ended", g, r->index, r->tid, r->exit_code);
		return;
	case KT_END_SIGNALED:
		sig = sigabbrev_np(r->term_signal);
		kt_assert_result_fail(res, "%s: worker %u (tid %d) was killed by signal %d (SIG%s)",
				      g, r->index, r->tid, r->term_signal, sig ? sig : "?");
		return;
	case KT_END_TIMED_OUT:
		kt_assert_result_fail(res, "%s: worker %u (tid %d) did not report by the deadline "
				      "and was killed", g, r->index, r->tid);
		return;
	}
	kt_assert_result_fail(res, "%s: worker %u (tid %d) ended in unknown state %d",
			      g, r->index, r->tid, (int)r->end);
}

static int check_isolation(struct kt_assert_result *res, const struct kt_worker_report *r,
			   const struct kt_cpuset *cpuset)
{
	KT_AUTO(kt_cpuset) stray = NULL;

	if (!r->cpus_used || kt_cpuset_subset(r->cpus_used, cpuset))
		return 0;
	stray = kt_cpuset_dup(r->cpus_used);
	if (!stray || kt_cpuset_andnot(stray, cpuset))
		return -ENOMEM;

	KT_AUTOFREE char *stray_s = kt_cpuset_format(stray);
	KT_AUTOFREE char *allowed_s = kt_cpuset_format(cpuset);

	if (!stray_s || !allowed_s)
		return -ENOMEM;
	kt_assert_result_fail(res, "%s: worker %u (tid %d) ran on CPU%s %s outside its cpuset %s",
			      group_of(r), r->index, r->tid,
			      kt_cpuset_count(stray) == 1 ? "" : "s", stray_s, allowed_s);
	return 0;
}

static void check_gap(struct kt_assert_result *res, const struct kt_worker_report *r, double limit)
{
	char on_cpu[32] = "";

	if (r->max_gap_ms <= limit)
		return;
	if (r->max_gap_cpu >= 0)
		snprintf(on_cpu, sizeof(on_cpu), " on CPU %d", r->max_gap_cpu);
	kt_assert_result_fail(res, "%s: worker %u (tid %d) stuck %.0f ms%s at +%.2f s (limit %s ms)",
			      group_of(r), r->index, r->tid, r->max_gap_ms, on_cpu,
			      (double)r->max_gap_at_ns / 1e9, kt_fmt_num(limit).s);
}

/* Sums, distinct CPUs and the worst gap: filled whatever checks are set. */
static int fill_basic_stats(struct kt_stats *s, const struct kt_worker_report *reports, size_t n)
{
	KT_AUTO(kt_cpuset) cpus = kt_cpuset_new();

	if (!cpus)
		return -ENOMEM;
	s->workers = (unsigned)n;
	s->cgroups = 1;
	s->cgroup_ids[0] = kt_hash_str(group_of(&reports[0]));
	for (size_t i = 0; i < n; i++) {
		const struct kt_worker_report *r = &reports[i];

		if (r->cpus_used && kt_cpuset_or(cpus, r->cpus_used))
			return -ENOMEM;
		s->migrations += r->migration_count;
		s->iterations += r->iterations;
		s->work_units += r->work_units;
		s->run_delay_ns += r->sched_run_delay_ns;
		s->cpu_time_ns += r->cpu_time_ns;
		if (r->wall_time_ns > s->wall_time_ns)
			s->wall_time_ns = r->wall_time_ns;
		if (i == 0 || r->max_gap_ms > s->worst_gap_ms) {
			s->worst_gap_ms = r->max_gap_ms;
			s->worst_gap_cpu = r->max_gap_cpu;
			snprintf(s->worst_gap_worker, sizeof(s->worst_gap_worker),
				 "%.60s/worker %u (tid %d)", group_of(r), r->index, r->tid);
		}
	}
	s->cpus_used = kt_cpuset_count(cpus);
	kt_cpuset_for_each(c, cpus)
		if (c < KT_STATS_CPU_WORDS * 64)
			s->cpus_mask[c / 64] |= 1ull << (c % 64);
	return 0;
}

/* Below this mean CPU time per worker, shares are too coarse to compare. */
#define KT_SPREAD_MIN_CPU_NS 250000000ull

static double mean_cpu_ns(const struct kt_worker_report *r, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (double)r[i].cpu_time_ns;
	return n ? sum / (double)n : 0;
}

/* The longest stretch any of the workers went without running. */
static double worst_wait_ms(const struct kt_worker_report *r, size_t n)
{
	double w = 0;

	for (size_t i = 0; i < n; i++)
		if (r[i].max_gap_ms > w)
			w = r[i].max_gap_ms;
	return w;
}

/*
 * Is the least served worker behind the most served by no more CPU time
 * than one scheduling turn?  Shares are equalised turn by turn, so even a
 * perfectly fair scheduler ends a run up to one turn apart, and one turn
 * is as long as the longest wait the workers had: a few ms normally, but
 * hundreds when the host deschedules the VM's CPUs (an emulated guest
 * cannot tell stolen time from its own), and that noise is the host's, not
 * the scheduler's.  An unfair scheduler falls behind turn after turn, far
 * more than one turn's worth.
 */
static bool within_one_turn(const struct kt_worker_report *r, size_t n,
			    const struct kt_worker_report *lo, const struct kt_worker_report *hi)
{
	double behind_ms = ((double)hi->cpu_time_ns - (double)lo->cpu_time_ns) / 1e6;

	return behind_ms <= worst_wait_ms(r, n);
}

/*
 * Spread is measured on CPU share (CPU time / wall time), the thing a
 * scheduler hands out.  Work rate would also measure how fast each CPU
 * executes, which under emulation (QEMU TCG runs all vCPUs on one host
 * thread) varies per vCPU regardless of the scheduler's fairness.
 * Throughput CV stays on work units for those who want that view.
 */
static void check_rates(struct kt_assert_result *res, const struct kt_assert *a,
			const struct kt_worker_report *reports, size_t n, const double *rates)
{
	struct moments m = moments_of(rates, n), sh;
	const char *g = group_of(&reports[0]);
	double spread;
	bool judged;
	KT_AUTOFREE double *share = malloc(n * sizeof(*share));

	if (!share)
		return;
	for (size_t i = 0; i < n; i++)
		share[i] = reports[i].wall_time_ns
				   ? (double)reports[i].cpu_time_ns / (double)reports[i].wall_time_ns
				   : 0;
	sh = moments_of(share, n);
	spread = sh.mean > 0 ? (sh.max - sh.min) / sh.mean * 100.0 : 0;
	res->stats.throughput_cv = cv_of(&m);
	judged = a->max_spread_pct.set && n > 1 && mean_cpu_ns(reports, n) >= KT_SPREAD_MIN_CPU_NS;
	if (judged) {
		res->stats.spread_pct = spread;
		res->stats.spread_judged = 1;
	} else {
		res->stats.spread_unjudged_pct = spread;
	}

	/*
	 * Too little CPU time to judge shares: a few ticks or slices either way
	 * swing them by tens of percent.  Starvation is the gap and
	 * not-starved checks' business, which still apply.
	 */
	if (a->max_spread_pct.set && !judged && spread > a->max_spread_pct.v) {
		kt_assert_result_note(res, "%s: spread %s %% not judged: the workers got %s ms of CPU "
				      "on average, under the %d ms needed to compare shares", g,
				      kt_fmt_num(spread).s,
				      kt_fmt_num(mean_cpu_ns(reports, n) / 1e6).s,
				      (int)(KT_SPREAD_MIN_CPU_NS / 1000000));
	} else if (judged && spread > a->max_spread_pct.v &&
		   within_one_turn(reports, n, &reports[sh.imin], &reports[sh.imax])) {
		const struct kt_worker_report *lo = &reports[sh.imin], *hi = &reports[sh.imax];

		kt_assert_result_note(res, "%s: spread %s %% (limit %s %%) is within one scheduling turn: "
				      "worker %u (tid %d) is %s ms of CPU behind worker %u, no more than "
				      "the longest wait any of them had (%s ms)", g,
				      kt_fmt_num(spread).s, kt_fmt_num(a->max_spread_pct.v).s,
				      lo->index, lo->tid,
				      kt_fmt_num(((double)hi->cpu_time_ns - (double)lo->cpu_time_ns) / 1e6).s,
				      hi->index, kt_fmt_num(worst_wait_ms(reports, n)).s);
	} else if (judged && spread > a->max_spread_pct.v) {
		const struct kt_worker_report *lo = &reports[sh.imin], *hi = &reports[sh.imax];

		kt_assert_result_fail(res, "%s: spread %s %% (limit %s %%) over %zu workers: "
				      "least served worker %u (tid %d) got %s %% of a CPU, "
				      "most served worker %u (tid %d) %s %%",
				      g, kt_fmt_num(res->stats.spread_pct).s, kt_fmt_num(a->max_spread_pct.v).s,
				      n, lo->index, lo->tid, kt_fmt_num(sh.min * 100).s,
				      hi->index, hi->tid, kt_fmt_num(sh.max * 100).s);
	}
	if (a->max_throughput_cv.set && res->stats.throughput_cv > a->max_throughput_cv.v)
		kt_assert_result_fail(res, "%s: throughput cv %s (limit %s) over %zu workers, mean %s units/s",
				      g, kt_fmt_num(res->stats.throughput_cv).s,
				      kt_fmt_num(a->max_throughput_cv.v).s, n, kt_fmt_num(m.mean).s);
}

static int check_wake(struct kt_assert_result *res, const struct kt_assert *a,
		      const struct kt_worker_report *reports, size_t n)
{
	const char *g = group_of(&reports[0]);
	size_t total = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		total += wake_n(&reports[i]);
	if (total == 0) {
		if (a->max_p99_wake_latency_ns.set || a->max_wake_latency_cv.set)
			kt_assert_result_note(res, "%s: no wake samples (no blocking work); "
					      "wake latency checks not applied", g);
		return 0;
	}

	KT_AUTOFREE uint64_t *pool = malloc(total * sizeof(*pool));
	KT_AUTOFREE double *as_d = malloc(total * sizeof(*as_d));

	if (!pool || !as_d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		memcpy(pool + k, reports[i].wake_samples_ns, wake_n(&reports[i]) * sizeof(*pool));
		k += wake_n(&reports[i]);
	}
	for (size_t i = 0; i < total; i++)
		as_d[i] = (double)pool[i];

	struct moments m = moments_of(as_d, total);

	res->stats.p99_wake_latency_ns = kt_stats_percentile(pool, total, 99);
	res->stats.wake_latency_cv = cv_of(&m);

	if (a->max_p99_wake_latency_ns.set &&
	    res->stats.p99_wake_latency_ns > a->max_p99_wake_latency_ns.v)
		kt_assert_result_fail(res, "%s: p99 wake latency %s (limit %s) over %zu samples",
				      g, kt_fmt_duration_ns(res->stats.p99_wake_latency_ns).s,
				      kt_fmt_duration_ns(a->max_p99_wake_latency_ns.v).s, total);
	if (a->max_wake_latency_cv.set && res->stats.wake_latency_cv > a->max_wake_latency_cv.v)
		kt_assert_result_fail(res, "%s: wake latency cv %s (limit %s) over %zu samples, mean %s",
				      g, kt_fmt_num(res->stats.wake_latency_cv).s,
				      kt_fmt_num(a->max_wake_latency_cv.v).s, total,
				      kt_fmt_duration_ns(m.mean).s);
	return 0;
}

static void check_per_worker_rates(struct kt_assert_result *res, const struct kt_assert *a,
				   const struct kt_worker_report *r)
{
	/* spread cannot see tasks stacked evenly: all equally short-changed */
	if (a->min_cpu_share_pct.set && r->wall_time_ns) {
		double share = (double)r->cpu_time_ns / (double)r->wall_time_ns * 100.0;

		if (share < a->min_cpu_share_pct.v)
			kt_assert_result_fail(res, "%s: worker %u (tid %d) got %s %% of a CPU "
					      "(minimum %s %%)", group_of(r), r->index, r->tid,
					      kt_fmt_num(share).s, kt_fmt_num(a->min_cpu_share_pct.v).s);
	}
	if (a->min_work_rate.set) {
		double cpu_s = (double)r->cpu_time_ns / 1e9;
		double rate = cpu_s > 0 ? (double)r->work_units / cpu_s : 0;

		if (rate < a->min_work_rate.v)
			kt_assert_result_fail(res, "%s: worker %u (tid %d) did %s work units per CPU-second "
					      "(minimum %s; %llu units in %.2f CPU-s)",
					      group_of(r), r->index, r->tid, kt_fmt_num(rate).s,
					      kt_fmt_num(a->min_work_rate.v).s,
					      (unsigned long long)r->work_units, cpu_s);
	}
	if (a->min_iteration_rate.set) {
		double rate = r->wall_time_ns ? (double)r->iterations / wall_s(r) : 0;

		if (rate < a->min_iteration_rate.v)
			kt_assert_result_fail(res, "%s: worker %u (tid %d) ran %s iterations/s "
					      "(minimum %s; %llu iterations in %.2f s)",
					      group_of(r), r->index, r->tid, kt_fmt_num(rate).s,
					      kt_fmt_num(a->min_iteration_rate.v).s,
					      (unsigned long long)r->iterations, wall_s(r));
	}
}

struct kt_assert_result *kt_assert_cgroup(const struct kt_assert *a,
					  const struct kt_worker_report *reports, size_t n,
					  const struct kt_cpuset *cpuset)
{
	KT_AUTO(kt_assert_result) res = kt_assert_result_new();

	if (!res)
		return NULL;
	res->stats.cgroups = 1;
	if (n == 0) {
		kt_assert_result_skip(res, "no workers");
		return res->skip_reason ? kt_take_ptr(res) : NULL;
	}
	if (fill_basic_stats(&res->stats, reports, n))
		return NULL;

	KT_AUTOFREE double *rates = malloc(n * sizeof(*rates));

	if (!rates)
		return NULL;
	for (size_t i = 0; i < n; i++)
		rates[i] = work_rate(&reports[i]);

	for (size_t i = 0; i < n; i++) {
		const struct kt_worker_report *r = &reports[i];

		if (opt_on(a->not_starved))
			check_end(res, r);
		if (opt_on(a->isolation) && cpuset && check_isolation(res, r, cpuset))
			return NULL;
		if (a->max_gap_ms.set)
			check_gap(res, r, a->max_gap_ms.v);
		check_per_worker_rates(res, a, r);
	}
	check_rates(res, a, reports, n, rates);
	if (check_wake(res, a, reports, n))
		return NULL;

	if (a->max_migration_ratio.set && res->stats.iterations > 0) {
		double ratio = (double)res->stats.migrations / (double)res->stats.iterations;

		if (ratio > a->max_migration_ratio.v)
			kt_assert_result_fail(res, "%s: migration ratio %s (%llu migrations / %llu iterations, "
					      "limit %s)", group_of(&reports[0]), kt_fmt_num(ratio).s,
					      (unsigned long long)res->stats.migrations,
					      (unsigned long long)res->stats.iterations,
					      kt_fmt_num(a->max_migration_ratio.v).s);
	}
	return kt_take_ptr(res);
}

struct kt_assert_result *kt_assert_not_starved(const struct kt_worker_report *reports, size_t n)
{
	const struct kt_assert a = { .not_starved = KT_SET(1) };

	return kt_assert_cgroup(&a, reports, n, NULL);
}
