/*
 * The monitor's background thread and public API: samples the live system
 * every period, feeds the evaluator under a lock, and answers "is a
 * failure already certain?" for the scenario's sleeps.  Never prints; the
 * runner reports the findings.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "monitor/monitor_internal.h"
#include "monitor/monitor_json.h"

struct kt_monitor {
	pthread_t thread;
	bool running;
	bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC; signalled on stop */
	unsigned period_ms;
	struct kt_mon_sources src;
	struct kt_mon_eval eval;
	struct kt_mon_series series;	/* nr_running per CPU, for the result */
	struct kt_mon_sample scratch;	/* sampled outside the lock */
	int last_err;
};

static void *monitor_thread(void *arg)
{
	struct kt_monitor *m = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		int err;

		pthread_mutex_unlock(&m->lock);
		err = kt_mon_sample_take(&m->src, &m->scratch);
		pthread_mutex_lock(&m->lock);
		if (!err)
			err = kt_mon_eval_feed(&m->eval, &m->scratch);
		if (!err)
			err = kt_mon_series_feed(&m->series, &m->scratch);
		if (err)
			m->last_err = err;
		/* Fixed cadence: the next deadline does not drift with sampling time. */
		next.tv_nsec += (long)m->period_ms * 1000000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		{
			/* Fell behind (slow read under load): skip, don't burst. */
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > next.tv_sec ||
			    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec)) {
				next = now;
				next.tv_nsec += (long)m->period_ms * 1000000L;
				while (next.tv_nsec >= 1000000000L) {
					next.tv_nsec -= 1000000000L;
					next.tv_sec++;
				}
			}
		}
		while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &next) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

void kt_monitor_free(struct kt_monitor *m)
{
	if (!m)
		return;
	kt_monitor_stop(m);
	kt_mon_eval_release(&m->eval);
	kt_mon_series_release(&m->series);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int kt_monitor_start(const struct kt_assert *thresholds, unsigned period_ms,
		     struct kt_monitor **out)
{
	struct kt_mon_limits lim;
	pthread_condattr_t ca;
	struct kt_monitor *m;
	int err;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->period_ms = period_ms ? period_ms : 100;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	kt_mon_limits_resolve(thresholds, &lim);
	err = kt_mon_eval_init(&m->eval, &lim);
	if (err) {
		kt_monitor_free(m);
		return err;
	}
	kt_mon_sources_probe(&m->src);
	if (!m->src.sched_debug && !m->src.schedstat) {
		kt_monitor_free(m);
		return -ENOENT;
	}
	err = pthread_create(&m->thread, NULL, monitor_thread, m);
	if (err) {
		kt_monitor_free(m);
		return -err;
	}
	/*
	 * A real-time caller (the harness in the VM) keeps its sampler out of
	 * the scheduler under test too: SCHED_RESET_ON_FORK gave the new
	 * thread the normal policy, where a stalling scheduler could park it.
	 */
	{
		struct sched_param sp;
		int pol = sched_getscheduler(0);

		if ((pol & ~SCHED_RESET_ON_FORK) == SCHED_FIFO && !sched_getparam(0, &sp))
			pthread_setschedparam(m->thread, SCHED_FIFO, &sp);
	}
	m->running = true;
	*out = m;
	return 0;
}

int kt_monitor_stop(struct kt_monitor *m)
{
	if (!m || !m->running)
		return 0;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	m->running = false;
	return 0;
}

bool kt_monitor_violation(struct kt_monitor *m, char **why)
{
	bool v;

	if (why)
		*why = NULL;
	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	v = m->eval.nviol > 0;
	if (v && why)
		*why = strdup(m->eval.viol[0].message);
	pthread_mutex_unlock(&m->lock);
	return v;
}

int kt_monitor_check(struct kt_monitor *m, struct kt_assert_result *res)
{
	int err;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	err = kt_mon_eval_check(&m->eval, res);
	pthread_mutex_unlock(&m->lock);
	return err;
}

size_t kt_monitor_nsamples(struct kt_monitor *m)
{
	size_t n;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	n = m->eval.nsamples;
	pthread_mutex_unlock(&m->lock);
	return n;
}

char *kt_monitor_last_line(struct kt_monitor *m)
{
	char *line = NULL;

	if (!m)
		return NULL;
	pthread_mutex_lock(&m->lock);
	if (kt_mon_eval_last(&m->eval, 0))
		line = kt_mon_sample_line(kt_mon_eval_last(&m->eval, 0),
					  kt_mon_eval_last(&m->eval, 1));
	pthread_mutex_unlock(&m->lock);
	return line;
}

json_t *kt_monitor_summary_json(struct kt_monitor *m)
{
	json_t *j;

	if (!m)
		return NULL;
	pthread_mutex_lock(&m->lock);
	j = kt_mon_eval_json(&m->eval, m->period_ms, &m->src);
	pthread_mutex_unlock(&m->lock);
	return j;
}

json_t *kt_monitor_series_json(struct kt_monitor *m, double timeline_now_ms)
{
	struct timespec now;
	json_t *j;

	if (!m)
		return NULL;
	/* samples carry CLOCK_BOOTTIME ms (parse.c) */
	clock_gettime(CLOCK_BOOTTIME, &now);
	pthread_mutex_lock(&m->lock);
	j = kt_mon_series_json(&m->series, m->period_ms,
			       (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6 - timeline_now_ms);
	pthread_mutex_unlock(&m->lock);
	return j;
}
