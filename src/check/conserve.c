/*
 * Placement checks over a stream of samples of the test's own workers:
 * work conservation (a worker kept waiting on a run queue while a CPU it
 * may use sits idle) and the run-queue imbalance among the CPUs the
 * workers may use.  Each counts consecutive violating windows and becomes
 * a finding only when the count reaches the sustained window, like the
 * monitor's thresholds.  Pure: samples in, findings out; no I/O, no clocks.
 *
 * Why these measures: a worker's schedstat run delay is the kernel's own
 * account of time spent runnable but not running, whatever the scheduling
 * class, and a CPU's idle time is time in its idle task; both are exact
 * under sched_ext.  nr_running per CPU is not (a task waiting in a shared
 * DSQ is counted on the CPU it last ran on), and a kernel-wide ratio
 * cannot tell tasks pinned apart on purpose from a scheduler's misplacement,
 * so both checks look only at the CPUs each worker is allowed on.
 */
#include "check/check_internal.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A stretch counts when a worker waited at least this share of it ... */
#define WC_WAIT_FRAC 0.40
/* ... while a CPU it may use was idle at least this share of it. */
#define WC_IDLE_FRAC 0.5
/* An idle CPU counts as half a runnable task in the imbalance ratio, so
 * that the ratio stays finite and an idle CPU beside two waiting tasks
 * already reads 4. */
#define IMB_IDLE_WEIGHT 0.5

struct wc_prev {
	pid_t tid;
	uint64_t run_delay_ns;
	int llc;
};

/* LLC moves of one worker, across samples. */
struct wc_llc {
	pid_t tid;
	char label[96];
	unsigned samples, moves;
	uint64_t llcs;			/* LLCs seen (first 64) */
};

/* A worker may change LLC this often before locality is judged lost. */
#define LLC_MOVE_FRAC 0.25
#define LLC_MOVE_MIN 3

/* One sample as the evaluator keeps it. */
struct wc_snap {
	double t_ms;
	struct wc_prev *tasks;
	size_t n;
	uint64_t *idle;
	unsigned ncpu;
};

/*
 * Work conservation is judged over stretches of twice `sustained` windows
 * (1 s at the defaults), sliding by one sample, and a finding needs two
 * stretches in a row.  A healthy kernel may leave a worker waiting beside
 * an idle CPU for a few hundred ms at a start or after a cpuset change;
 * over a second that is under the 40 % a stacked pair (50 %) or trio
 * (67 %) waits.
 */
#define WC_STRETCH(w) (2 * (w)->sustained)
#define WC_FINDING_STRETCHES 2
#define WC_RING 32

/* One sustained violation, built while its streak lasts. */
struct wc_finding {
	double from_ms, to_ms;
	unsigned windows;
	/* work conservation: the worker that waited most, summed over the streak */
	char label[96];
	double wait_ms, idle_ms;	/* its wait, and the mean idle time of its idle CPUs */
	double stretch_ms;		/* over this stretch */
	double span_ms;
	struct kt_cpuset *idle_cpus;	/* allowed CPUs idle in the streak */
	struct kt_cpuset *busy_cpus;	/* CPUs that ran workers in the streak */
	unsigned waiting_tasks;		/* most workers waiting in one window */
	/* imbalance */
	double ratio;			/* worst window */
	char loads[160];		/* "CPU 0: 4, CPU 1: 0, ..." of that window */
};

struct kt_wc {
	double wait_frac, idle_frac, imb_limit;
	bool conserve_on;
	unsigned sustained;
	/* the last WC_RING samples; [head] is the newest */
	struct wc_snap ring[WC_RING];
	unsigned nring, head;
	/* current streaks */
	struct wc_finding cur_wc, cur_imb;
	bool in_wc, in_imb;
	/* reported findings (first of each kind is kept in full) */
	struct wc_finding wc, imb;
	bool have_wc, have_imb;
	unsigned nwc, nimb;		/* how many sustained streaks */
	double max_ratio;
	size_t windows;
	bool llc_on;
	struct wc_llc *llc;
	size_t nllc, llc_cap;
};

static void finding_release(struct wc_finding *f)
{
	kt_cpuset_free(f->idle_cpus);
	kt_cpuset_free(f->busy_cpus);
	memset(f, 0, sizeof(*f));
}

struct kt_wc *kt_wc_new(const struct kt_assert *a)
{
	struct kt_assert d = kt_assert_default_checks();
	struct kt_assert m = kt_assert_merge(&d, a ? a : &(struct kt_assert){ 0 });
	struct kt_wc *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->wait_frac = WC_WAIT_FRAC;
	w->idle_frac = WC_IDLE_FRAC;
	w->conserve_on = m.work_conservation.set && m.work_conservation.v != 0;
	w->imb_limit = m.max_imbalance_ratio.set ? m.max_imbalance_ratio.v : 0;
	w->llc_on = m.llc_locality.set && m.llc_locality.v != 0;
	w->sustained = m.sustained_samples.set && m.sustained_samples.v >= 1
			       ? (unsigned)m.sustained_samples.v : 5;
	if (WC_STRETCH(w) > WC_RING - 1)
		w->sustained = (WC_RING - 1) / 2;
	return w;
}

void kt_wc_free(struct kt_wc *w)
{
	if (!w)
		return;
	finding_release(&w->cur_wc);
	finding_release(&w->cur_imb);
	finding_release(&w->wc);
	finding_release(&w->imb);
	for (unsigned i = 0; i < WC_RING; i++) {
		free(w->ring[i].tasks);
		free(w->ring[i].idle);
	}
	free(w->llc);
	free(w);
}

/* The sample `back` samples before the newest (0: the newest), or NULL. */
static const struct wc_snap *snap_at(const struct kt_wc *w, unsigned back)
{
	if (back >= w->nring)
		return NULL;
	return &w->ring[(w->head + WC_RING - back) % WC_RING];
}

static const struct wc_prev *prev_of(const struct wc_snap *sn, pid_t tid)
{
	for (size_t i = 0; sn && i < sn->n; i++)
		if (sn->tasks[i].tid == tid)
			return &sn->tasks[i];
	return NULL;
}

static int remember(struct kt_wc *w, double t_ms, const struct kt_wc_task *tasks, size_t n,
		    const uint64_t *idle_ns, unsigned ncpu)
{
	struct wc_prev *p = n ? malloc(n * sizeof(*p)) : NULL;
	uint64_t *idle = ncpu ? malloc(ncpu * sizeof(*idle)) : NULL;
	struct wc_snap *sn;

	if ((n && !p) || (ncpu && !idle)) {
		free(p);
		free(idle);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (struct wc_prev){ .tid = tasks[i].tid, .run_delay_ns = tasks[i].run_delay_ns,
					 .llc = tasks[i].llc };
	if (ncpu)
		memcpy(idle, idle_ns, ncpu * sizeof(*idle));
	w->head = w->nring ? (w->head + 1) % WC_RING : 0;
	sn = &w->ring[w->head];
	free(sn->tasks);
	free(sn->idle);
	*sn = (struct wc_snap){ .t_ms = t_ms, .tasks = p, .n = n, .idle = idle, .ncpu = ncpu };
	if (w->nring < WC_RING)
		w->nring++;
	return 0;
}

/* End a streak: keep it when it lasted the sustained window. */
static void streak_end(struct kt_wc *w, struct wc_finding *cur, bool *in, struct wc_finding *keep,
		       bool *have, unsigned *count, unsigned needed)
{
	if (!*in)
		return;
	*in = false;
	if (cur->windows >= needed) {
		(*count)++;
		if (!*have) {
			*keep = *cur;
			*have = true;
			memset(cur, 0, sizeof(*cur));
			return;
		}
	}
	finding_release(cur);
}

static double idle_frac(const struct wc_snap *base, const uint64_t *idle_ns, unsigned ncpu,
			unsigned c, double dt_ms)
{
	if (c >= ncpu || c >= base->ncpu || idle_ns[c] < base->idle[c])
		return 0;
	/* idle time moves in clock ticks: a window may read a tick over 100 % */
	return fmin(1.0, (double)(idle_ns[c] - base->idle[c]) / 1e6 / dt_ms);
}

/*
 * Work conservation over the last `sustained` windows taken together
 * (sliding by one sample): waits and idle time are booked in bursts (a
 * delay when the wait ends, a descheduled vCPU all at once), so single
 * windows swing while the stretch as a whole shows what happened.
 * *hit says whether the stretch ending now violated.
 */
static int window_conserve(struct kt_wc *w, const struct kt_wc_task *tasks, size_t n,
			   const uint64_t *idle_ns, unsigned ncpu, double t_ms, bool *hit)
{
	struct wc_finding *f = &w->cur_wc;
	const struct wc_snap *base = snap_at(w, WC_STRETCH(w) - 1);
	double best = -1, best_idle = 0, dt;
	size_t who = 0, best_n = 0;
	unsigned waiting = 0;
	KT_AUTO(kt_cpuset) idle_now = kt_cpuset_new();

	*hit = false;
	if (!idle_now)
		return -ENOMEM;
	if (!base || t_ms <= base->t_ms)
		return 0;
	dt = t_ms - base->t_ms;
	for (size_t i = 0; i < n; i++) {
		const struct wc_prev *p = prev_of(base, tasks[i].tid);
		double wait, idle_sum = 0;
		size_t nidle = 0;

		if (!p || !tasks[i].allowed || tasks[i].run_delay_ns < p->run_delay_ns)
			continue;
		/* a delay is booked when the wait ends: one window may hold more */
		wait = fmin(1.0, (double)(tasks[i].run_delay_ns - p->run_delay_ns) / 1e6 / dt);
		if (wait < w->wait_frac)
			continue;
		kt_cpuset_for_each(c, tasks[i].allowed) {
			double fr = idle_frac(base, idle_ns, ncpu, (unsigned)c, dt);

			if (fr >= w->idle_frac) {
				nidle++;
				idle_sum += fr;
				if (kt_cpuset_set(idle_now, (unsigned)c))
					return -ENOMEM;
			}
		}
		if (!nidle)
			continue;
		waiting++;
		if (wait > best) {
			best = wait;
			best_idle = idle_sum;
			best_n = nidle;
			who = i;
		}
	}
	if (best < 0)
		return 0;
	*hit = true;
	if (!w->in_wc) {
		memset(f, 0, sizeof(*f));
		f->from_ms = base->t_ms;
		f->idle_cpus = kt_cpuset_new();
		f->busy_cpus = kt_cpuset_new();
		if (!f->idle_cpus || !f->busy_cpus)
			return -ENOMEM;
		w->in_wc = true;
	}
	f->to_ms = t_ms;
	f->span_ms = t_ms - f->from_ms;
	f->windows++;
	/* the worst stretch of the streak names the worker and the numbers */
	if (best * dt >= f->wait_ms) {
		snprintf(f->label, sizeof(f->label), "%s", tasks[who].label ? tasks[who].label : "?");
		f->wait_ms = best * dt;
		f->idle_ms = best_idle / (double)best_n * dt;
		f->stretch_ms = dt;
	}
	if (waiting > f->waiting_tasks)
		f->waiting_tasks = waiting;
	if (kt_cpuset_or(f->idle_cpus, idle_now))
		return -ENOMEM;
	for (unsigned c = 0; c < ncpu && c < base->ncpu; c++)
		if (idle_frac(base, idle_ns, ncpu, c, dt) < w->idle_frac &&
		    kt_cpuset_set(f->busy_cpus, c))
			return -ENOMEM;
	return 0;
}

/* Runnable workers per CPU, over the CPUs any of them may use. */
static int window_imbalance(struct kt_wc *w, const struct kt_wc_task *tasks, size_t n, double t_ms,
			    double dt, bool *hit)
{
	KT_AUTO(kt_cpuset) scope = kt_cpuset_new();
	unsigned load[KT_STATS_CPU_WORDS * 64] = { 0 };
	double mx = 0, mn = -1, ratio;
	struct kt_buf b = { 0 };
	unsigned runnable = 0;

	*hit = false;
	if (!scope)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!tasks[i].allowed)
			continue;
		if (kt_cpuset_or(scope, tasks[i].allowed))
			return -ENOMEM;
		if (tasks[i].runnable && tasks[i].cpu >= 0 && tasks[i].cpu < (int)KT_ARRAY_SIZE(load)) {
			load[tasks[i].cpu]++;
			runnable++;
		}
	}
	/* fewer runnable tasks than CPUs to use: idle CPUs are no imbalance */
	if (runnable < kt_cpuset_count(scope) + 1 || kt_cpuset_count(scope) < 2)
		return 0;
	kt_cpuset_for_each(c, scope) {
		double l = c < (int)KT_ARRAY_SIZE(load) ? load[c] : 0;

		if (l > mx)
			mx = l;
		if (mn < 0 || l < mn)
			mn = l;
	}
	ratio = mx / (mn > 0 ? mn : IMB_IDLE_WEIGHT);
	if (ratio > w->max_ratio)
		w->max_ratio = ratio;
	if (w->imb_limit <= 0 || ratio <= w->imb_limit)
		return 0;
	*hit = true;
	if (!w->in_imb) {
		memset(&w->cur_imb, 0, sizeof(w->cur_imb));
		w->cur_imb.from_ms = t_ms - dt;
		w->in_imb = true;
	}
	w->cur_imb.to_ms = t_ms;
	w->cur_imb.windows++;
	if (ratio > w->cur_imb.ratio) {
		w->cur_imb.ratio = ratio;
		kt_cpuset_for_each(c, scope) {
			if (kt_buf_printf(&b, "%sCPU %d: %u", b.len ? ", " : "", c,
					  c < (int)KT_ARRAY_SIZE(load) ? load[c] : 0))
				break;
		}
		snprintf(w->cur_imb.loads, sizeof(w->cur_imb.loads), "%s", b.data ? b.data : "");
		kt_buf_release(&b);
	}
	return 0;
}

static struct wc_llc *llc_of(struct kt_wc *w, const struct kt_wc_task *t)
{
	for (size_t i = 0; i < w->nllc; i++)
		if (w->llc[i].tid == t->tid)
			return &w->llc[i];
	if (w->nllc == w->llc_cap) {
		size_t cap = w->llc_cap ? 2 * w->llc_cap : 16;
		struct wc_llc *v = realloc(w->llc, cap * sizeof(*v));

		if (!v)
			return NULL;
		w->llc = v;
		w->llc_cap = cap;
	}
	w->llc[w->nllc] = (struct wc_llc){ .tid = t->tid };
	snprintf(w->llc[w->nllc].label, sizeof(w->llc[w->nllc].label), "%s", t->label ? t->label : "?");
	return &w->llc[w->nllc++];
}

/* Which LLC each worker is in now, against its previous sample. */
static int track_llc(struct kt_wc *w, const struct kt_wc_task *tasks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct wc_prev *p = prev_of(snap_at(w, 0), tasks[i].tid);
		struct wc_llc *l;

		if (tasks[i].llc < 0 || !p || p->llc < 0)
			continue;
		l = llc_of(w, &tasks[i]);
		if (!l)
			return -ENOMEM;
		l->samples++;
		l->moves += tasks[i].llc != p->llc;
		if (tasks[i].llc < 64)
			l->llcs |= 1ull << tasks[i].llc;
	}
	return 0;
}

int kt_wc_feed(struct kt_wc *w, double t_ms, const struct kt_wc_task *tasks, size_t n,
	       const uint64_t *idle_ns, unsigned ncpu)
{
	const struct wc_snap *last;
	bool hit = false;
	int err = 0;

	if (!w)
		return -EINVAL;
	last = snap_at(w, 0);
	if (!last || t_ms <= last->t_ms)
		return remember(w, t_ms, tasks, n, idle_ns, ncpu);
	w->windows++;
	if (w->conserve_on) {
		err = window_conserve(w, tasks, n, idle_ns, ncpu, t_ms, &hit);
		if (err)
			return err;
		if (!hit)
			streak_end(w, &w->cur_wc, &w->in_wc, &w->wc, &w->have_wc, &w->nwc,
				   WC_FINDING_STRETCHES);
	}
	err = window_imbalance(w, tasks, n, t_ms, t_ms - last->t_ms, &hit);
	if (!err && w->llc_on)
		err = track_llc(w, tasks, n);
	if (err)
		return err;
	if (!hit)
		streak_end(w, &w->cur_imb, &w->in_imb, &w->imb, &w->have_imb, &w->nimb, w->sustained);
	return remember(w, t_ms, tasks, n, idle_ns, ncpu);
}

/* Close open streaks (the run ended while they lasted). */
static void flush(struct kt_wc *w)
{
	streak_end(w, &w->cur_wc, &w->in_wc, &w->wc, &w->have_wc, &w->nwc, WC_FINDING_STRETCHES);
	streak_end(w, &w->cur_imb, &w->in_imb, &w->imb, &w->have_imb, &w->nimb, w->sustained);
}

bool kt_wc_violated(const struct kt_wc *w)
{
	if (!w)
		return false;
	return w->have_wc || w->have_imb ||
	       (w->in_wc && w->cur_wc.windows >= WC_FINDING_STRETCHES) ||
	       (w->in_imb && w->cur_imb.windows >= w->sustained);
}

double kt_wc_max_imbalance(const struct kt_wc *w)
{
	return w ? w->max_ratio : 0;
}

int kt_wc_check(struct kt_wc *w, struct kt_assert_result *res)
{
	if (!w || !res)
		return 0;
	flush(w);
	if (w->have_wc) {
		struct wc_finding *f = &w->wc;
		KT_AUTOFREE char *idle = kt_cpuset_format(f->idle_cpus);
		KT_AUTOFREE char *busy = kt_cpuset_format(f->busy_cpus);
		KT_AUTOFREE char *more = w->nwc > 1 ? kt_asprintf(" (%u such stretches)", w->nwc) : NULL;

		if (!idle || !busy)
			return -ENOMEM;
		kt_assert_result_fail(res,
			"work conservation: for %s ms (+%s s to +%s s) workers waited on a run queue "
			"while CPU%s %s, which they may use, sat idle; worst: %s waited %s %% of %s ms "
			"while its idle CPUs were idle %s %% of it; up to %u workers waited at once; "
			"CPUs busy: %s%s",
			kt_fmt_num(round(f->span_ms)).s, kt_fmt_num(f->from_ms / 1e3).s,
			kt_fmt_num(f->to_ms / 1e3).s, kt_cpuset_count(f->idle_cpus) == 1 ? "" : "s", idle,
			f->label, kt_fmt_num(f->stretch_ms > 0 ? f->wait_ms / f->stretch_ms * 100 : 0).s,
			kt_fmt_num(round(f->stretch_ms)).s,
			kt_fmt_num(f->stretch_ms > 0 ? f->idle_ms / f->stretch_ms * 100 : 0).s,
			f->waiting_tasks, *busy ? busy : "none", more ? more : "");
	}
	if (w->have_imb) {
		struct wc_finding *f = &w->imb;

		kt_assert_result_fail(res,
			"run-queue imbalance %s (limit %s) among the CPUs the workers may use, for "
			"%u samples (+%s s to +%s s); worst: %s",
			kt_fmt_num(f->ratio).s, kt_fmt_num(w->imb_limit).s, f->windows,
			kt_fmt_num(f->from_ms / 1e3).s, kt_fmt_num(f->to_ms / 1e3).s, f->loads);
	}
	if (w->llc_on) {
		const struct wc_llc *worst = NULL;
		unsigned bad = 0;

		for (size_t i = 0; i < w->nllc; i++) {
			const struct wc_llc *l = &w->llc[i];

			if (l->moves <= LLC_MOVE_MIN || l->moves <= LLC_MOVE_FRAC * l->samples)
				continue;
			bad++;
			if (!worst || l->moves * worst->samples > worst->moves * l->samples)
				worst = l;
		}
		if (worst)
			kt_assert_result_fail(res,
				"LLC locality lost: %s was in another LLC than at its previous sample "
				"in %u of %u samples (%u LLCs in all); %u of %zu workers moved between "
				"LLCs more than %.0f %% of the time",
				worst->label, worst->moves, worst->samples,
				(unsigned)__builtin_popcountll(worst->llcs), bad, w->nllc,
				LLC_MOVE_FRAC * 100);
		w->nllc = 0;
	}
	/* reported once, even when several collections ask */
	finding_release(&w->wc);
	finding_release(&w->imb);
	w->have_wc = w->have_imb = false;
	return 0;
}
