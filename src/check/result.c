/*
 * Assertion results: verdict, human-readable evidence lines and aggregate
 * stats; merging results of several cgroups into one; the one-line summary;
 * and readable number formatting for the evidence.  Must not print: the
 * runner decides where results go.
 */
#include "check/check_internal.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct kt_numstr kt_fmt_num(double v)
{
	struct kt_numstr n;

	if (!isfinite(v))
		snprintf(n.s, sizeof(n.s), "%g", v);
	else if (fabs(v) < 1e15 && fabs(v - round(v)) < 1e-9 * fmax(1.0, fabs(v)))
		snprintf(n.s, sizeof(n.s), "%.0f", round(v));
	else if (fabs(v) >= 100)
		snprintf(n.s, sizeof(n.s), "%.1f", v);
	else if (fabs(v) >= 1e-4)
		snprintf(n.s, sizeof(n.s), "%.3g", v);
	else
		snprintf(n.s, sizeof(n.s), "%.2e", v);	/* only for absurdly small limits */
	return n;
}

struct kt_numstr kt_fmt_duration_ns(double ns)
{
	static const struct {
		const char *unit;
		double div;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 } };
	struct kt_numstr n;
	size_t u = 0;

	if (!isfinite(ns) || ns < 0) {
		snprintf(n.s, sizeof(n.s), "%g ns", ns);
		return n;
	}
	while (u + 1 < KT_ARRAY_SIZE(units) && ns >= units[u + 1].div)
		u++;
	/* 999.97 us would print as "1e+03 us" with 3 significant digits. */
	if (u + 1 < KT_ARRAY_SIZE(units) && ns / units[u].div >= 999.5)
		u++;
	double v = ns / units[u].div;

	if (v >= 1000)
		snprintf(n.s, sizeof(n.s), "%.0f %s", v, units[u].unit);
	else
		snprintf(n.s, sizeof(n.s), "%.3g %s", v, units[u].unit);
	return n;
}

struct kt_assert_result *kt_assert_result_new(void)
{
	struct kt_assert_result *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->passed = true;
	r->stats.worst_gap_cpu = -1;
	return r;
}

void kt_assert_result_free(struct kt_assert_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_details; i++)
		free(r->details[i]);
	free(r->details);
	free(r->skip_reason);
	free(r);
}

/* Takes ownership of line. */
static int result_push(struct kt_assert_result *r, char *line)
{
	char **d = realloc(r->details, (r->n_details + 1) * sizeof(*d));

	if (!d) {
		free(line);
		return -ENOMEM;
	}
	r->details = d;
	r->details[r->n_details++] = line;
	return 0;
}

static void result_vadd(struct kt_assert_result *r, const char *fmt, va_list ap)
{
	char *line;

	/* Out of memory loses the evidence line, never the verdict. */
	if (vasprintf(&line, fmt, ap) >= 0)
		result_push(r, line);
}

void kt_assert_result_fail(struct kt_assert_result *r, const char *fmt, ...)
{
	va_list ap;

	r->passed = false;
	va_start(ap, fmt);
	result_vadd(r, fmt, ap);
	va_end(ap);
}

void kt_assert_result_fail_first(struct kt_assert_result *r, const char *fmt, ...)
{
	va_list ap;
	size_t n = r->n_details;

	r->passed = false;
	va_start(ap, fmt);
	result_vadd(r, fmt, ap);
	va_end(ap);
	if (r->n_details == n + 1 && n) {
		char *d = r->details[n];

		memmove(r->details + 1, r->details, n * sizeof(*r->details));
		r->details[0] = d;
	}
}

void kt_assert_result_note(struct kt_assert_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_vadd(r, fmt, ap);
	va_end(ap);
}

void kt_assert_result_skip(struct kt_assert_result *r, const char *fmt, ...)
{
	va_list ap;
	char *reason;

	r->skipped = true;
	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) >= 0) {
		free(r->skip_reason);
		r->skip_reason = reason;
	}
	va_end(ap);
}

/* A fresh result that nothing was recorded into: the identity of merge,
 * so a runner can start from kt_assert_result_new() and fold results in. */
static bool result_is_empty(const struct kt_assert_result *r)
{
	return r->passed && !r->skipped && r->n_details == 0 && r->stats.cgroups == 0 &&
	       r->stats.workers == 0;
}

static void stats_merge(struct kt_stats *d, const struct kt_stats *s)
{
	d->workers += s->workers;
	/* a union of cgroup names: spawns of one cgroup count once */
	for (unsigned i = 0; i < s->cgroups && i < KT_STATS_MAX_CGROUPS; i++) {
		unsigned j;

		for (j = 0; j < d->cgroups && j < KT_STATS_MAX_CGROUPS; j++)
			if (d->cgroup_ids[j] == s->cgroup_ids[i])
				break;
		if (j < d->cgroups && j < KT_STATS_MAX_CGROUPS)
			continue;
		if (d->cgroups < KT_STATS_MAX_CGROUPS)
			d->cgroup_ids[d->cgroups] = s->cgroup_ids[i];
		d->cgroups++;
	}
	if (s->cgroups > KT_STATS_MAX_CGROUPS)
		d->cgroups += s->cgroups - KT_STATS_MAX_CGROUPS;
	{
		unsigned n = 0, before = d->cpus_used;

		for (size_t w = 0; w < KT_STATS_CPU_WORDS; w++) {
			d->cpus_mask[w] |= s->cpus_mask[w];
			n += (unsigned)__builtin_popcountll(d->cpus_mask[w]);
		}
		/* the union; never less than either side (counts made without masks) */
		d->cpus_used = n > before ? n : before;
		if (s->cpus_used > d->cpus_used)
			d->cpus_used = s->cpus_used;
	}
	d->spread_pct = fmax(d->spread_pct, s->spread_pct);
	d->spread_judged += s->spread_judged;
	d->spread_unjudged_pct = fmax(d->spread_unjudged_pct, s->spread_unjudged_pct);
	d->throughput_cv = fmax(d->throughput_cv, s->throughput_cv);
	if (s->worst_gap_ms > d->worst_gap_ms) {
		d->worst_gap_ms = s->worst_gap_ms;
		memcpy(d->worst_gap_worker, s->worst_gap_worker, sizeof(d->worst_gap_worker));
		d->worst_gap_cpu = s->worst_gap_cpu;
	}
	d->migrations += s->migrations;
	d->iterations += s->iterations;
	d->work_units += s->work_units;
	d->p99_wake_latency_ns = fmax(d->p99_wake_latency_ns, s->p99_wake_latency_ns);
	d->wake_latency_cv = fmax(d->wake_latency_cv, s->wake_latency_cv);
	d->run_delay_ns += s->run_delay_ns;
	d->cpu_time_ns += s->cpu_time_ns;
	if (s->wall_time_ns > d->wall_time_ns)
		d->wall_time_ns = s->wall_time_ns;
}

int kt_assert_result_merge(struct kt_assert_result *dst, const struct kt_assert_result *src)
{
	size_t n = src->n_details, extra = 0;
	char *reason = NULL;
	char **copies, **d;
	bool empty = result_is_empty(dst);
	bool skipped = empty ? src->skipped : dst->skipped && src->skipped;

	/*
	 * A skipped part of a merge that is not skipped as a whole keeps its
	 * reason as a note, so "cg_2 had no workers" is not silently lost.
	 */
	if (skipped && !dst->skipped && src->skip_reason) {
		reason = strdup(src->skip_reason);
		if (!reason)
			return -ENOMEM;
	} else if (!skipped && src->skipped && src->skip_reason) {
		extra = 1;
	}
	/* Copy everything first so a failed allocation leaves dst untouched. */
	copies = calloc(n + extra + 1, sizeof(*copies));
	if (!copies) {
		free(reason);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		copies[i] = strdup(src->details[i]);
	if (extra)
		copies[n] = kt_asprintf("skipped: %s", src->skip_reason);
	for (size_t i = 0; i < n + extra; i++) {
		if (!copies[i])
			goto oom;
	}
	/* One spare slot for dst's own skip reason turning into a note. */
	d = realloc(dst->details, (dst->n_details + n + extra + 1) * sizeof(*d));

	if (!d)
		goto oom;
	dst->details = d;
	if (!skipped && dst->skipped && dst->skip_reason) {
		char *note = kt_asprintf("skipped: %s", dst->skip_reason);

		if (note) {
			dst->details[dst->n_details++] = note;
			free(dst->skip_reason);
			dst->skip_reason = NULL;
		}
	}
	memcpy(dst->details + dst->n_details, copies, (n + extra) * sizeof(*copies));
	dst->n_details += n + extra;
	free(copies);

	dst->passed = dst->passed && src->passed;
	dst->skipped = skipped;
	if (reason) {
		free(dst->skip_reason);
		dst->skip_reason = reason;
	}
	stats_merge(&dst->stats, &src->stats);
	return 0;
oom:
	for (size_t i = 0; i < n + extra; i++)
		free(copies[i]);
	free(copies);
	free(reason);
	return -ENOMEM;
}

char *kt_assert_result_summary(const struct kt_assert_result *r)
{
	const struct kt_stats *s = &r->stats;
	struct kt_buf b = { 0 };
	int err = 0;

	if (r->skipped)
		err = kt_buf_printf(&b, "skipped (%s), ", r->skip_reason ? r->skip_reason : "no reason");
	if (!err && s->cgroups > 1)
		err = kt_buf_printf(&b, "cgroups %u, ", s->cgroups);
	if (!err)
		err = kt_buf_printf(&b, "workers %u, cpus %u, ", s->workers, s->cpus_used);
	/* a number that was not judged says so */
	if (!err && s->spread_judged)
		err = kt_buf_printf(&b, "spread %.1f %%, ", s->spread_pct);
	else if (!err && s->workers > 1)
		err = kt_buf_printf(&b, "spread %.1f %% (not judged), ", s->spread_unjudged_pct);
	if (!err)
		err = kt_buf_printf(&b, "worst gap %.0f ms, migrations %llu", s->worst_gap_ms,
				    (unsigned long long)s->migrations);
	/* Only blocking work types produce wake samples; omit a meaningless 0. */
	if (!err && s->p99_wake_latency_ns > 0)
		err = kt_buf_printf(&b, ", p99 wake %s", kt_fmt_duration_ns(s->p99_wake_latency_ns).s);
	if (err) {
		kt_buf_release(&b);
		return NULL;
	}
	return b.data;
}

struct kt_assert_result *kt_assert_expect_failure(struct kt_assert_result *r, const char *needle)
{
	struct kt_assert_result *out = kt_assert_result_new();
	bool found = false;

	if (!out || !r) {
		kt_assert_result_free(r);
		if (out)
			kt_assert_result_fail(out, "no result to check for '%s'", needle);
		return out;
	}
	out->stats = r->stats;
	for (size_t i = 0; i < r->n_details; i++) {
		if (needle && strstr(r->details[i], needle))
			found = true;
		kt_assert_result_note(out, "expected failure: %s", r->details[i]);
	}
	if (r->passed)
		kt_assert_result_fail(out, "expected a failure mentioning '%s', but the checks passed",
				      needle);
	else if (!found)
		kt_assert_result_fail(out, "failed, but no detail mentions '%s'", needle);
	kt_assert_result_free(r);
	return out;
}
