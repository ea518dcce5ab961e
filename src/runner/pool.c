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

#include "util/util.h"

struct pool_state {
	struct kt_pool *p;
	size_t next, finished, failed, running;
	double est_done, wall_done, est_total;
	bool stop;
	uint64_t t0;
	pthread_mutex_t lock;
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

static void show(struct pool_state *s, bool final)
{
	struct kt_pool *p = s->p;
	char eta[32];
	double left = s->est_total - s->est_done;

	if (!p->progress)
		return;
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
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		i = s->next++;
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
	struct pool_state s = { .p = p, .t0 = kt_now_ns() };
	unsigned nt = p->threads < p->n ? p->threads : (unsigned)p->n;
	KT_AUTOFREE pthread_t *th = calloc(nt + 1, sizeof(*th));
	unsigned started = 0;

	for (size_t i = 0; p->est_s && i < p->n; i++)
		s.est_total += p->est_s[i];
	pthread_mutex_init(&s.lock, NULL);
	for (unsigned i = 0; th && i < nt; i++)
		started += pthread_create(&th[i], NULL, worker, &s) == 0;
	if (!started)
		worker(&s);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (p->tty && p->progress && s.finished)
		show(&s, true);
	pthread_mutex_destroy(&s.lock);
	return s.finished;
}
