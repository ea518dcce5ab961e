/*
 * The scenario context's own behaviour: the timeline of what a scenario
 * did when, sleeping while watching the scheduler, and failure results
 * for scenario code.  Must not print: the runner serialises the timeline.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Slice length of kt_ctx_sleep: how late a scheduler death is noticed. */
#define KT_CTX_SLICE_MS 100

struct kt_timeline_event {
	double at_ms;
	char *text;
};

struct kt_timeline {
	uint64_t t0_ns;
	struct kt_timeline_event *ev;
	size_t n, cap;
};

struct kt_timeline *kt_timeline_new(void)
{
	struct kt_timeline *t = calloc(1, sizeof(*t));

	if (t)
		t->t0_ns = kt_now_ns();
	return t;
}

void kt_timeline_free(struct kt_timeline *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->ev[i].text);
	free(t->ev);
	free(t);
}

void kt_timeline_add(struct kt_timeline *t, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (!t)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct kt_timeline_event *ev = realloc(t->ev, cap * sizeof(*ev));

		if (!ev)
			return;	/* the timeline is evidence, not control: drop */
		t->ev = ev;
		t->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text)
		return;
	t->ev[t->n].at_ms = (double)(kt_now_ns() - t->t0_ns) / 1e6;
	t->ev[t->n].text = text;
	t->n++;
}

double kt_timeline_now_ms(const struct kt_timeline *t)
{
	return t ? (double)(kt_now_ns() - t->t0_ns) / 1e6 : (double)kt_now_ns() / 1e6;
}

size_t kt_timeline_count(const struct kt_timeline *t)
{
	return t ? t->n : 0;
}

const char *kt_timeline_get(const struct kt_timeline *t, size_t i, double *at_ms)
{
	if (!t || i >= t->n)
		return NULL;
	if (at_ms)
		*at_ms = t->ev[i].at_ms;
	return t->ev[i].text;
}

struct kt_timeline *kt_ctx_timeline(const struct kt_ctx *ctx)
{
	return ctx && ctx->state ? ctx->state->timeline : NULL;
}

const char *kt_ctx_abort_reason(const struct kt_ctx *ctx)
{
	return ctx && ctx->state ? ctx->state->abort_reason : NULL;
}

void kt_scen_fail_aborted(struct kt_ctx *ctx, struct kt_assert_result *res)
{
	struct kt_ctx_state *st = ctx ? ctx->state : NULL;

	if (!res || !st || st->abort_reported)
		return;
	kt_assert_result_fail(res, "%s", st->abort_reason ? st->abort_reason : "aborted");
	st->abort_reported = true;
}

bool kt_ctx_sched_ok(struct kt_ctx *ctx)
{
	struct kt_ctx_state *st = ctx->state;
	char *why = NULL;

	if (!st)
		return true;	/* no state, no scheduler hook */
	if (st->abort_reason)
		return false;
	if (!st->sched_alive || st->sched_alive(ctx, &why)) {
		free(why);
		return true;
	}
	st->abort_reason = kt_asprintf("scheduler died: %s", why ? why : "no reason given");
	free(why);
	if (!st->abort_reason)
		st->abort_reason = strdup("scheduler died");
	kt_timeline_add(st->timeline, "abort: %s", st->abort_reason ? st->abort_reason : "");
	return false;
}

struct kt_ctx_watch {
	struct kt_handle_list **lists;
	size_t n, cap;
	struct kt_wc *wc;		/* placement findings, built while sleeping */
	uint64_t wc_last_ns;
	struct kt_progress *progress;	/* each worker's progress, for the result */
};

void kt_scen_watch(struct kt_ctx *ctx, struct kt_handle_list *l)
{
	struct kt_ctx_watch *w;

	if (!ctx || !ctx->state || !l || l->ctx)
		return;	/* a ctx without state watches nothing */
	if (!ctx->state->watch && !(ctx->state->watch = calloc(1, sizeof(*ctx->state->watch))))
		return;
	w = ctx->state->watch;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct kt_handle_list **v = realloc(w->lists, cap * sizeof(*v));

		if (!v)
			return;	/* unwatched: the end-of-run checks still see it */
		w->lists = v;
		w->cap = cap;
	}
	w->lists[w->n++] = l;
	l->ctx = ctx;
}

void kt_scen_unwatch(struct kt_handle_list *l)
{
	struct kt_ctx_watch *w = l && l->ctx && l->ctx->state ? l->ctx->state->watch : NULL;

	for (size_t i = 0; w && i < w->n; i++)
		if (w->lists[i] == l) {
			w->lists[i] = w->lists[--w->n];
			break;
		}
	if (l)
		l->ctx = NULL;
}

void kt_ctx_release(struct kt_ctx *ctx)
{
	struct kt_ctx_state *st = ctx->state;
	struct kt_ctx_watch *w = st ? st->watch : NULL;

	for (size_t i = 0; w && i < w->n; i++)
		w->lists[i]->ctx = NULL;
	if (w) {
		free(w->lists);
		kt_wc_free(w->wc);
		kt_scen_progress_free(w->progress);
	}
	free(w);
	if (!st)
		return;
	st->watch = NULL;
	free(st->abort_reason);
	st->abort_reason = NULL;
}

const struct kt_progress *kt_scen_progress_of(const struct kt_ctx *ctx)
{
	return ctx && ctx->state && ctx->state->watch ? ctx->state->watch->progress : NULL;
}

void kt_scen_placement_check(struct kt_ctx *ctx, struct kt_assert_result *into)
{
	struct kt_ctx_watch *w = ctx && ctx->state ? ctx->state->watch : NULL;

	if (w && w->wc && into)
		kt_wc_check(w->wc, into);
}

/*
 * A running worker that has made no progress for longer than the gap
 * limit: the verdict is already certain, so say so now instead of
 * waiting out the scenario (and, under a stalling scheduler, the kernel
 * watchdog's much longer timeout).
 */
/* The failure is certain: say so once, in the timeline too, and let the
 * runner stop the scheduler. */
static void abort_now(struct kt_ctx *ctx, char *reason)
{
	struct kt_ctx_state *st = ctx->state;	/* set: only a watching ctx gets here */

	free(st->abort_reason);
	st->abort_reason = reason;
	kt_timeline_add(st->timeline, "abort: %s", reason ? reason : "worker failed");
	if (st->on_abort)
		st->on_abort(ctx);
}

/*
 * A worker that ended on its own while it should be running: the cause
 * comes first, at once, not as the symptoms it leaves ("no progress")
 * seconds later.  A worker killed because its cgroup is gone was most
 * likely killed by a cgroup guard that left scope early.
 */
static bool worker_died(struct kt_ctx *ctx, const struct kt_handle_entry *e, size_t j)
{
	int code = 0, sig = kt_workload_live_end(e->h, j, &code);
	const char *who = e->host ? KT_SCEN_HOST_LABEL : e->cgroup;
	KT_AUTO(kt_cpuset) set = NULL;
	bool gone;
	char *why;

	if (!sig)
		return false;
	gone = !e->host && e->cgroup && kt_cgroup_get_cpuset(ctx->cgroups, e->cgroup, &set) == -ENOENT;
	if (sig < 0)
		why = kt_asprintf("%s: worker %zu (tid %d) exited with status %d while the scenario ran",
				  who, j, (int)kt_workload_pid(e->h, j), code);
	else
		why = kt_asprintf("%s: worker %zu (tid %d) was killed by signal %d (SIG%s) while the "
				  "scenario ran%s", who, j, (int)kt_workload_pid(e->h, j), sig,
				  sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
				  gone ? "; its cgroup had been removed under it (was a cgroup guard "
					 "freed, or declared in an inner scope, while its workers ran?)"
				       : "");
	abort_now(ctx, why);
	return true;
}

static bool worker_stuck(struct kt_ctx *ctx)
{
	struct kt_ctx_watch *w = ctx->state ? ctx->state->watch : NULL;
	bool gap_on = ctx->assert.max_gap_ms.set && ctx->assert.max_gap_ms.v > 0;

	if (!w)
		return false;
	for (size_t i = 0; i < w->n; i++) {
		struct kt_handle_list *l = w->lists[i];

		for (size_t k = 0; k < l->n; k++) {
			struct kt_handle_entry *e = &l->e[k];

			for (size_t j = 0; e->h && j < kt_workload_count(e->h); j++) {
				double gap = kt_workload_live_gap_ms(e->h, j);

				if (worker_died(ctx, e, j))
					return true;
				if (!gap_on || gap <= ctx->assert.max_gap_ms.v)
					continue;
				abort_now(ctx, kt_asprintf(
					"%s: worker %zu (tid %d) stuck: no progress for %.0f ms "
					"(limit %.0f ms); test ended early",
					e->host ? KT_SCEN_HOST_LABEL : e->cgroup, j,
					(int)kt_workload_pid(e->h, j), gap, ctx->assert.max_gap_ms.v));
				return true;
			}
		}
	}
	return false;
}

int kt_ctx_sleep(struct kt_ctx *ctx, uint64_t ms)
{
	uint64_t end = kt_now_ns() + ms * 1000000ull;

	for (;;) {
		uint64_t now = kt_now_ns(), left;

		if (!kt_ctx_sched_ok(ctx) || worker_stuck(ctx))
			return -ECANCELED;
		if (ctx->state && ctx->state->watch) {
			struct kt_ctx_watch *w = ctx->state->watch;

			kt_scen_placement_sample(ctx, &w->wc, &w->wc_last_ns, w->lists, w->n);
			kt_scen_progress_sample(ctx, &w->progress, w->lists, w->n);
		}
		if (now >= end)
			return 0;
		left = (end - now) / 1000000ull;
		if (left > KT_CTX_SLICE_MS)
			left = KT_CTX_SLICE_MS;
		kt_sleep_ns(left ? left * 1000000ull : end - now);
	}
}

struct kt_assert_result *kt_ctx_fail(struct kt_ctx *ctx, const char *fmt, ...)
{
	struct kt_assert_result *r = kt_assert_result_new();
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	kt_timeline_add(kt_ctx_timeline(ctx), "fail: %s", text ? text : "(no memory)");
	if (r)
		kt_assert_result_fail(r, "%s", text ? text : "(no memory for the message)");
	free(text);
	return r;
}
