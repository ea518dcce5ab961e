/*
 * The gauntlet's job pool: N threads, each booting one VM at a time from a
 * shared queue, with a progress line (live on a terminal: done/total,
 * failures, ETA from the estimates corrected by how long finished jobs
 * really took; plain lines otherwise).  Verdict lines go to stdout as jobs
 * finish; the progress line to stderr, so piping stdout keeps it clean.
 */
#include "runner/gauntlet.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

struct pool_state {
	struct kt_pool *p;
	size_t next, finished, failed;
	double est_done, wall_done;
	uint64_t *started_ns;		/* per job, 0 until it starts */
	unsigned exited;		/* worker threads that returned */
	bool stop;
	pthread_mutex_t lock;
	pthread_cond_t changed;
};

void kt_pool_eta_text(double s, char *buf, size_t n)
{
	long t = (long)(s + 0.5);

	if (s < 0)
		snprintf(buf, n, "?");
	else if (t < 60)
		snprintf(buf, n, "%lds", t);
	else if (t < 3600)
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, n, "%ldh%02ldm", t / 3600, t % 3600 / 60);
}

double kt_pool_eta(double est_left, double est_done, double wall_done, unsigned threads)
{
	/* scale the model by what finished jobs really cost on this machine */
	double scale = est_done > 0 && wall_done > 0 ? wall_done / est_done : 1.0;

	return est_left * scale / (threads ? threads : 1);
}

/* Estimated seconds still owed by the jobs running now, from how long they
 * have run against their estimates. */
static double running_left(struct pool_state *s, double scale)
{
	uint64_t now = kt_now_ns();
	double owed = 0;

	for (size_t i = 0; i < s->next; i++) {
		double est = s->p->est_s ? s->p->est_s[i] : 0, ran;

		if (s->p->done[i] || !s->started_ns || !s->started_ns[i])
			continue;
		ran = (now - s->started_ns[i]) / 1e9 / scale;
		owed += ran < est ? est - ran : 0;
	}
	return owed;
}

static void show(struct pool_state *s, bool final)
{
	struct kt_pool *p = s->p;
	char eta[32];
	double scale = s->est_done > 0 && s->wall_done > 0 ? s->wall_done / s->est_done : 1.0;
	double left = 0;

	if (!p->progress)
		return;
	/* not started yet, plus what the running ones still owe */
	for (size_t i = s->next; p->est_s && i < p->n; i++)
		left += p->est_s[i];
	left += running_left(s, scale);
	kt_pool_eta_text(kt_pool_eta(left, s->est_done, s->wall_done, p->threads), eta, sizeof(eta));
	if (p->tty) {
		fprintf(p->progress, "\r\033[K[%zu/%zu done, %zu failed, ETA %s]", s->finished, p->n,
			s->failed, final ? "0s" : eta);
		for (size_t i = 0, shown = 0; !final && i < s->next && shown < 2; i++)
			if (!p->done[i]) {
				fprintf(p->progress, " %s", p->jobs[i].name);
				shown++;
			}
		if (final)
			fputc('\n', p->progress);
	} else if (s->finished) {
		fprintf(p->progress, "progress: %zu/%zu done, %zu failed, ETA %s\n", s->finished, p->n,
			s->failed, eta);
	}
	fflush(p->progress);
}

static void *worker(void *arg)
{
	struct pool_state *s = arg;
	struct kt_pool *p = s->p;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&s->lock);
		if (s->stop || s->next >= p->n) {
			s->exited++;
			pthread_cond_broadcast(&s->changed);
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		i = s->next++;
		if (s->started_ns)
			s->started_ns[i] = kt_now_ns();
		if (p->tty)
			show(s, false);
		pthread_mutex_unlock(&s->lock);

		kt_runner_run_job(&p->envs[p->env_of ? p->env_of[i] : 0], &p->jobs[i], &p->outs[i]);

		pthread_mutex_lock(&s->lock);
		p->done[i] = true;
		s->finished++;
		s->est_done += p->est_s ? p->est_s[i] : 0;
		s->wall_done += p->outs[i].wall_s;
		if (p->outs[i].verdict == KT_FAIL || p->outs[i].verdict == KT_ERROR) {
			s->failed++;
			if (p->fail_fast)
				s->stop = true;
		}
		if (kt_cancelled())
			s->stop = true;
		pthread_cond_broadcast(&s->changed);
		if (p->progress && p->tty)
			fprintf(p->progress, "\r\033[K");
		if (p->on_done)
			p->on_done(p->ctx, i);
		show(s, false);
		pthread_mutex_unlock(&s->lock);
	}
}

size_t kt_pool_run(struct kt_pool *p)
{
	struct pool_state s = { .p = p };
	unsigned nt = p->threads < p->n ? p->threads : (unsigned)p->n;
	KT_AUTOFREE pthread_t *th = calloc(nt + 1, sizeof(*th));
	KT_AUTOFREE uint64_t *started = calloc(p->n + 1, sizeof(*started));
	unsigned created = 0;

	s.started_ns = started;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.changed, NULL);
	for (unsigned i = 0; th && i < nt; i++)
		created += pthread_create(&th[created], NULL, worker, &s) == 0;
	if (!created) {
		worker(&s);
	} else {
		/* the live line ticks once a second between events, so the ETA
		 * counts down while a long VM runs */
		pthread_mutex_lock(&s.lock);
		while (s.exited < created) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&s.changed, &s.lock, &until);
			if (p->tty && s.exited < created)
				show(&s, false);
		}
		pthread_mutex_unlock(&s.lock);
	}
	for (unsigned i = 0; i < created; i++)
		pthread_join(th[i], NULL);
	if (p->tty && p->progress && s.finished)
		show(&s, true);
	pthread_cond_destroy(&s.changed);
	pthread_mutex_destroy(&s.lock);
	return s.finished;
}
