/*
 * The monitor's thresholds over a stream of samples: each check counts
 * consecutive violating samples and becomes a finding only when the count
 * reaches the sustained window, so one noisy sample never fails a test.
 * A finding keeps the window's samples as evidence.  Pure: samples in,
 * findings out; no I/O, no clocks.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/monitor_internal.h"

#define EV_FALLBACK "SCX_EV_SELECT_CPU_FALLBACK"
#define EV_KEEP_LAST "SCX_EV_DISPATCH_KEEP_LAST"

static const char *const check_names[KT_MON_NCHECKS] = {
	[KT_MON_DSQ_DEPTH] = "local_dsq_depth",
	[KT_MON_STALL] = "stall",
	[KT_MON_FALLBACK] = "fallback_rate",
	[KT_MON_KEEP_LAST] = "keep_last_rate",
};

const char *kt_mon_check_name(enum kt_mon_check c)
{
	return c < KT_MON_NCHECKS ? check_names[c] : "?";
}

static double opt_or(struct kt_opt o, struct kt_opt dfl, double fallback)
{
	if (o.set)
		return o.v;
	return dfl.set ? dfl.v : fallback;
}

void kt_mon_limits_resolve(const struct kt_assert *a, struct kt_mon_limits *l)
{
	struct kt_assert d = kt_assert_default_checks();
	struct kt_assert none = { 0 };
	double sus;

	if (!a)
		a = &none;
	l->dsq_depth = opt_or(a->max_local_dsq_depth, d.max_local_dsq_depth, 50);
	l->stall = opt_or(a->fail_on_stall, d.fail_on_stall, 1) > 0;
	sus = opt_or(a->sustained_samples, d.sustained_samples, 5);
	l->sustained = sus >= 1 ? (unsigned)sus : 1;
	l->fallback_rate = opt_or(a->max_fallback_rate, d.max_fallback_rate, 0);
	l->keep_last_rate = opt_or(a->max_keep_last_rate, d.max_keep_last_rate, 0);
}

int kt_mon_eval_init(struct kt_mon_eval *e, const struct kt_mon_limits *lim)
{
	memset(e, 0, sizeof(*e));
	e->lim = *lim;
	e->max_local_dsq = -1;
	e->ring = calloc(KT_MON_RING, sizeof(*e->ring));
	return e->ring ? 0 : -ENOMEM;
}

void kt_mon_eval_release(struct kt_mon_eval *e)
{
	size_t i, j;

	if (!e)
		return;
	for (i = 0; i < e->nviol; i++) {
		free(e->viol[i].message);
		for (j = 0; j < e->viol[i].nsamples; j++)
			free(e->viol[i].samples[j]);
		free(e->viol[i].samples);
	}
	free(e->ring);
	memset(e, 0, sizeof(*e));
}

const struct kt_mon_sample *kt_mon_eval_last(const struct kt_mon_eval *e, size_t back)
{
	if (back >= e->nsamples || back >= KT_MON_RING)
		return NULL;
	return &e->ring[(e->nsamples - 1 - back) % KT_MON_RING];
}

/* Events per second between two samples of the same scheduler instance. */
static bool event_rate(const struct kt_mon_sample *s, const struct kt_mon_sample *p,
		       const char *name, double *rate)
{
	int64_t a, b;
	double dt;

	if (!p || !s->scx_enabled || !p->scx_enabled || s->enable_seq != p->enable_seq)
		return false;
	if (!kt_mon_event(s, name, &a) || !kt_mon_event(p, name, &b) || a < b)
		return false;
	dt = (s->t_ms - p->t_ms) / 1e3;
	if (dt <= 0)
		return false;
	*rate = (double)(a - b) / dt;
	return true;
}

static double imbalance(const struct kt_mon_sample *s, long *maxp)
{
	long mx = -1, mn = -1;
	unsigned c;

	for (c = 0; c < s->ncpu; c++) {
		long n = s->cpus[c].nr_running;

		if (n < 0)
			continue;
		if (mx < 0 || n > mx)
			mx = n;
		if (mn < 0 || n < mn)
			mn = n;
	}
	*maxp = mx;
	if (mx < 0)
		return -1;
	/* An idle CPU counts as half a task (as in the placement check) so
	 * the ratio stays finite and still shows idle CPUs. */
	return (double)mx / (mn > 0 ? (double)mn : 0.5);
}

static long max_dsq(const struct kt_mon_sample *s)
{
	long mx = -1;
	unsigned c;

	for (c = 0; c < s->ncpu; c++)
		if (s->cpus[c].local_dsq > mx)
			mx = s->cpus[c].local_dsq;
	return mx;
}

static bool cpu_stalled(const struct kt_mon_sample *s, const struct kt_mon_sample *p, unsigned c)
{
	const struct kt_mon_cpu *a = &s->cpus[c], *b;

	if (!p || c >= p->ncpu)
		return false;
	b = &p->cpus[c];
	/*
	 * A CPU running its only task may legitimately take no scheduler
	 * events (no tick, no switch) and so not update its clock; a stall is
	 * a task *waiting* (two or more runnable) while the clock stands still.
	 */
	return a->nr_running > 1 && b->nr_running > 1 && a->clock_ms >= 0 &&
	       b->clock_ms >= 0 && a->clock_ms == b->clock_ms;
}

char *kt_mon_sample_line(const struct kt_mon_sample *s, const struct kt_mon_sample *prev)
{
	struct kt_buf b = { 0 };
	unsigned c;
	long mx;
	double r = imbalance(s, &mx), rate;
	int err;

	err = kt_buf_printf(&b, "t=%.0fms nr_running=[", s->t_ms);
	for (c = 0; !err && c < s->ncpu; c++)
		err = kt_buf_printf(&b, c ? " %ld" : "%ld", s->cpus[c].nr_running);
	if (!err && r >= 0)
		err = kt_buf_printf(&b, "] ratio=%.2f", r);
	else if (!err)
		err = kt_buf_printf(&b, "]");
	if (!err && max_dsq(s) >= 0) {
		err = kt_buf_printf(&b, " local_dsq=[");
		for (c = 0; !err && c < s->ncpu; c++)
			err = kt_buf_printf(&b, c ? " %ld" : "%ld", s->cpus[c].local_dsq);
		if (!err)
			err = kt_buf_printf(&b, "]");
	}
	for (c = 0; !err && c < s->ncpu; c++)
		if (cpu_stalled(s, prev, c))
			err = kt_buf_printf(&b, " cpu%u clock %.3fms unchanged", c, s->cpus[c].clock_ms);
	if (!err && event_rate(s, prev, EV_FALLBACK, &rate))
		err = kt_buf_printf(&b, " fallback=%.0f/s", rate);
	if (!err && event_rate(s, prev, EV_KEEP_LAST, &rate))
		err = kt_buf_printf(&b, " keep_last=%.0f/s", rate);
	if (!err && s->nevents == 0 && s->scx_enabled)
		err = kt_buf_printf(&b, " (no scx events)");
	if (err || kt_buf_append(&b, "", 1)) {
		kt_buf_release(&b);
		return NULL;
	}
	return b.data;
}

/* Record a finding with the last `n` samples as evidence. */
static int add_violation(struct kt_mon_eval *e, enum kt_mon_check check, double at_ms,
			 char *message)
{
	struct kt_mon_violation *v;
	unsigned n = e->lim.sustained, i;

	if (!message)
		return -ENOMEM;
	if (e->nviol >= KT_MON_MAX_VIOLATIONS) {
		free(message);
		return 0;
	}
	if (n > KT_MON_RING - 1)
		n = KT_MON_RING - 1;
	if (n > e->nsamples)
		n = (unsigned)e->nsamples;
	v = &e->viol[e->nviol];
	v->check = check;
	v->at_ms = at_ms;
	v->message = message;
	v->samples = calloc(n ? n : 1, sizeof(*v->samples));
	if (!v->samples) {
		free(message);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		size_t back = n - 1 - i;

		v->samples[i] = kt_mon_sample_line(kt_mon_eval_last(e, back),
						   kt_mon_eval_last(e, back + 1));
		if (v->samples[i])
			v->nsamples = i + 1;
	}
	e->nviol++;
	return 0;
}

/* Advance a check's streak; a finding when it reaches the window exactly. */
static int step(struct kt_mon_eval *e, enum kt_mon_check c, bool violating, double at_ms,
		char *(*msg)(const struct kt_mon_eval *, void *), void *arg)
{
	if (!violating) {
		e->streak[c] = 0;
		return 0;
	}
	if (++e->streak[c] != e->lim.sustained)
		return 0;
	return add_violation(e, c, at_ms, msg(e, arg));
}

struct msg_arg {
	double value;
	double limit;
	unsigned cpu;
};

static char *msg_dsq(const struct kt_mon_eval *e, void *p)
{
	struct msg_arg *a = p;

	return kt_asprintf("local DSQ depth %.0f > %.0f for %u consecutive samples", a->value,
			   a->limit, e->lim.sustained);
}

static char *msg_stall(const struct kt_mon_eval *e, void *p)
{
	struct msg_arg *a = p;

	return kt_asprintf("CPU %u stalled: runnable tasks but rq clock stuck at %.3f ms for %u consecutive samples",
			   a->cpu, a->value, e->lim.sustained);
}

static char *msg_fallback(const struct kt_mon_eval *e, void *p)
{
	struct msg_arg *a = p;

	return kt_asprintf("select_cpu fallback rate %.0f/s > %.0f/s for %u consecutive samples",
			   a->value, a->limit, e->lim.sustained);
}

static char *msg_keep_last(const struct kt_mon_eval *e, void *p)
{
	struct msg_arg *a = p;

	return kt_asprintf("dispatch keep-last rate %.0f/s > %.0f/s for %u consecutive samples",
			   a->value, a->limit, e->lim.sustained);
}

static void accumulate_events(struct kt_mon_eval *e, const struct kt_mon_sample *s,
			      const struct kt_mon_sample *p)
{
	unsigned i, j;

	if (s->nevents)
		e->saw_events = true;
	if (!p || !s->scx_enabled || !p->scx_enabled || s->enable_seq != p->enable_seq)
		return;
	for (i = 0; i < s->nevents; i++) {
		int64_t before;

		if (!kt_mon_event(p, s->events[i].name, &before) || s->events[i].value < before)
			continue;
		for (j = 0; j < e->nevt; j++)
			if (!strcmp(e->evt_total[j].name, s->events[i].name))
				break;
		if (j == e->nevt) {
			if (e->nevt >= KT_MON_MAX_EVENTS)
				continue;
			snprintf(e->evt_total[j].name, sizeof(e->evt_total[j].name), "%s",
				 s->events[i].name);
			e->evt_total[j].value = 0;
			e->nevt++;
		}
		e->evt_total[j].value += s->events[i].value - before;
	}
}

int kt_mon_eval_feed(struct kt_mon_eval *e, const struct kt_mon_sample *s)
{
	const struct kt_mon_sample *p = kt_mon_eval_last(e, 0);
	struct kt_mon_sample *slot;
	struct msg_arg a = { 0 };
	long mx, dsq;
	double r, rate;
	bool stalled = false;
	unsigned c;
	int err = 0;

	slot = &e->ring[e->nsamples % KT_MON_RING];
	r = imbalance(s, &mx);
	dsq = max_dsq(s);
	if (!e->nsamples)
		e->first_ms = s->t_ms;
	e->last_ms = s->t_ms;
	if (s->ncpu > e->ncpu)
		e->ncpu = s->ncpu;
	if (r > e->max_imbalance)
		e->max_imbalance = r;
	if (mx > e->max_nr_running)
		e->max_nr_running = mx;
	if (dsq > e->max_local_dsq)
		e->max_local_dsq = dsq;
	accumulate_events(e, s, p);
	for (c = 0; p && c < s->ncpu && c < p->ncpu; c++)
		if (s->cpus[c].have_schedstat && p->cpus[c].have_schedstat &&
		    s->cpus[c].run_delay_ns >= p->cpus[c].run_delay_ns)
			e->run_delay_total_ns += s->cpus[c].run_delay_ns - p->cpus[c].run_delay_ns;

	/* The ring must hold s before a finding formats its window. */
	*slot = *s;
	e->nsamples++;
	s = slot;
	p = kt_mon_eval_last(e, 1);

	if (e->lim.dsq_depth > 0) {
		a = (struct msg_arg){ .value = (double)dsq, .limit = e->lim.dsq_depth };
		err = step(e, KT_MON_DSQ_DEPTH, dsq >= 0 && (double)dsq > e->lim.dsq_depth, s->t_ms,
			   msg_dsq, &a);
	}
	if (!err && e->lim.stall) {
		/* Per CPU: a finding when one CPU stays stuck for the window. */
		for (c = 0; c < s->ncpu && c < KT_MON_MAX_CPUS; c++) {
			if (!cpu_stalled(s, p, c)) {
				e->stall_streak[c] = 0;
				continue;
			}
			e->stall_cpu_samples++;
			stalled = true;
			if (++e->stall_streak[c] == e->lim.sustained) {
				a = (struct msg_arg){ .value = s->cpus[c].clock_ms, .cpu = c };
				err = add_violation(e, KT_MON_STALL, s->t_ms, msg_stall(e, &a));
				if (err)
					break;
			}
		}
		e->streak[KT_MON_STALL] = stalled ? e->streak[KT_MON_STALL] + 1 : 0;
	}
	if (!err && event_rate(s, p, EV_FALLBACK, &rate)) {
		if (rate > e->max_fallback_rate)
			e->max_fallback_rate = rate;
		if (e->lim.fallback_rate > 0) {
			a = (struct msg_arg){ .value = rate, .limit = e->lim.fallback_rate };
			err = step(e, KT_MON_FALLBACK, rate > e->lim.fallback_rate, s->t_ms,
				   msg_fallback, &a);
		}
	} else if (!err) {
		e->streak[KT_MON_FALLBACK] = 0;
	}
	if (!err && event_rate(s, p, EV_KEEP_LAST, &rate)) {
		if (rate > e->max_keep_last_rate)
			e->max_keep_last_rate = rate;
		if (e->lim.keep_last_rate > 0) {
			a = (struct msg_arg){ .value = rate, .limit = e->lim.keep_last_rate };
			err = step(e, KT_MON_KEEP_LAST, rate > e->lim.keep_last_rate, s->t_ms,
				   msg_keep_last, &a);
		}
	} else if (!err) {
		e->streak[KT_MON_KEEP_LAST] = 0;
	}
	return err;
}

int kt_mon_eval_check(const struct kt_mon_eval *e, struct kt_assert_result *res)
{
	size_t i, j;

	for (i = 0; i < e->nviol; i++) {
		const struct kt_mon_violation *v = &e->viol[i];

		kt_assert_result_fail(res, "monitor: %s (at %.0f ms)", v->message, v->at_ms);
		for (j = 0; j < v->nsamples; j++)
			kt_assert_result_fail(res, "monitor:   sample %zu/%zu: %s", j + 1, v->nsamples,
					      v->samples[j]);
	}
	/* Unavailable sources (no local DSQ depth in 7.2, no sched_ext events
	 * under EEVDF) are reported in the monitor summary, not as findings. */
	return 0;
}
