/*
 * The scenario layer's progress sampler: while kt_ctx_sleep waits, about
 * every 100 ms it records, for every running worker it watches, its work
 * units (the workload's live telemetry), its CPU time (/proc/PID/schedstat)
 * and any stretch without progress, for the result document's per-worker
 * series and the report's progress lanes.  A worker keeps at most
 * KT_PROGRESS_MAX points: when full, every other point goes and only every
 * second sample is kept from then on, so the series stays evenly spaced.
 * Reads and records; never judges (the checks do) and never prints.
 */
#include "scenario/scenario_internal.h"
#include "scenario/scenario_json.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

#define PROGRESS_PERIOD_MS 100
/* Workers one sample reads before the period stretches (one read each). */
#define PROGRESS_WORKERS_PER_PERIOD 64
#define PROGRESS_GAPS_MAX 64

struct point {
	double at_ms;
	uint64_t units;
	uint64_t cpu_ns;
};

struct worker_series {
	pid_t tid;
	char name[96];
	struct point p[KT_PROGRESS_MAX];
	size_t n;
	unsigned stride;		/* keep one sample in stride */
	unsigned since_kept;
	struct point last;		/* the newest sample, kept or not */
	double gaps[PROGRESS_GAPS_MAX][2];
	size_t ngaps;
};

struct kt_progress {
	struct worker_series **w;
	size_t n, cap;
	uint64_t last_ns;
};

void kt_scen_progress_free(struct kt_progress *p)
{
	for (size_t i = 0; p && i < p->n; i++)
		free(p->w[i]);
	if (p)
		free(p->w);
	free(p);
}

static struct worker_series *series_for(struct kt_progress *p, pid_t tid, const char *group,
					size_t index)
{
	struct worker_series *s;

	for (size_t i = 0; i < p->n; i++)
		if (p->w[i]->tid == tid)
			return p->w[i];
	if (kt_grow(p->w, p->n, p->cap, 16) || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->tid = tid;
	s->stride = 1;
	snprintf(s->name, sizeof(s->name), "%.64s/worker %zu", group, index);
	p->w[p->n++] = s;
	return s;
}

static void add_point(struct worker_series *s, const struct point *x)
{
	s->last = *x;
	if (s->n && ++s->since_kept < s->stride)
		return;
	s->since_kept = 0;
	s->p[s->n++] = *x;
	if (s->n < KT_PROGRESS_MAX)
		return;
	for (size_t k = 1; k < KT_PROGRESS_MAX / 2; k++)
		s->p[k] = s->p[2 * k];
	s->n = KT_PROGRESS_MAX / 2;
	s->stride *= 2;
}

/* A live gap of gap_ms at at_ms: extend the gap it continues, or start one. */
static void add_gap(struct worker_series *s, double at_ms, double gap_ms)
{
	double from = at_ms - gap_ms;

	if (s->ngaps && from <= s->gaps[s->ngaps - 1][1] + 1) {
		s->gaps[s->ngaps - 1][1] = at_ms;
		return;
	}
	if (s->ngaps == PROGRESS_GAPS_MAX)
		return;
	s->gaps[s->ngaps][0] = from;
	s->gaps[s->ngaps][1] = at_ms;
	s->ngaps++;
}

static bool read_cpu_ns(pid_t tid, uint64_t *cpu_ns)
{
	char path[64], buf[128];
	unsigned long long v;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)tid);
	if (kt_read_line(path, buf, sizeof(buf)) || sscanf(buf, "%llu", &v) != 1)
		return false;
	*cpu_ns = v;
	return true;
}

void kt_scen_progress_sample(struct kt_ctx *ctx, struct kt_progress **pp,
			     struct kt_handle_list *const *lists, size_t nlists)
{
	uint64_t now = kt_now_ns(), period = PROGRESS_PERIOD_MS * 1000000ull;
	size_t running = 0;
	double at;

	for (size_t i = 0; i < nlists; i++)
		for (size_t k = 0; k < lists[i]->n; k++)
			if (lists[i]->e[k].h && lists[i]->e[k].started)
				running += kt_workload_count(lists[i]->e[k].h);
	if (!running)
		return;
	if (running > PROGRESS_WORKERS_PER_PERIOD)
		period = period * running / PROGRESS_WORKERS_PER_PERIOD;
	if (*pp && (*pp)->last_ns && now - (*pp)->last_ns < period * 9 / 10)
		return;
	if (!*pp && !(*pp = calloc(1, sizeof(**pp))))
		return;
	(*pp)->last_ns = now;
	at = kt_timeline_now_ms(kt_ctx_timeline(ctx));
	for (size_t i = 0; i < nlists; i++) {
		for (size_t k = 0; k < lists[i]->n; k++) {
			const struct kt_handle_entry *e = &lists[i]->e[k];

			for (size_t j = 0; e->h && e->started && j < kt_workload_count(e->h); j++) {
				pid_t tid = kt_workload_pid(e->h, j);
				struct point x = { .at_ms = at };
				struct worker_series *s;
				double gap;

				/* gone (it just exited): left out of this sample */
				if (tid <= 0 || !read_cpu_ns(tid, &x.cpu_ns))
					continue;
				s = series_for(*pp, tid, e->host ? KT_SCEN_HOST_LABEL : e->cgroup, j);
				if (!s)
					return;	/* no memory: the series is evidence, not control */
				x.units = kt_workload_live_units(e->h, j);
				add_point(s, &x);
				gap = kt_workload_live_gap_ms(e->h, j);
				if (gap >= KT_PROGRESS_GAP_MS)
					add_gap(s, at, gap);
			}
		}
	}
}

static json_t *point_json(const struct point *x)
{
	return json_pack("[f,I,f]", x->at_ms, (json_int_t)x->units, (double)x->cpu_ns / 1e6);
}

json_t *kt_scen_progress_json(const struct kt_ctx *ctx)
{
	const struct kt_progress *p = kt_scen_progress_of(ctx);
	json_t *all;

	if (!p || !p->n || !(all = json_array()))
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		const struct worker_series *s = p->w[i];
		json_t *samples = json_array(), *gaps = json_array(), *w = NULL;
		int err = !samples || !gaps;

		for (size_t k = 0; !err && k < s->n; k++)
			err |= json_array_append_new(samples, point_json(&s->p[k]));
		/* the newest sample closes the series even when thinning skipped it */
		if (!err && s->n && s->last.at_ms > s->p[s->n - 1].at_ms)
			err |= json_array_append_new(samples, point_json(&s->last));
		for (size_t k = 0; !err && k < s->ngaps; k++)
			err |= json_array_append_new(gaps, json_pack("[f,f]", s->gaps[k][0], s->gaps[k][1]));
		if (!err)
			w = json_pack("{s:s,s:i,s:O,s:O}", "name", s->name, "tid", (int)s->tid,
				      "samples", samples, "gaps", gaps);
		json_decref(samples);
		json_decref(gaps);
		if (!w || json_array_append_new(all, w)) {
			json_decref(all);
			return NULL;
		}
	}
	return all;
}
