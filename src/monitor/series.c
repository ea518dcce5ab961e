/*
 * The monitor's per-CPU run-queue series for the result document and the
 * HTML report's run-queue lanes: every sample's nr_running folded into at
 * most KT_MON_SERIES_MAX rows (see monitor_internal.h).  Pure: fed by the
 * monitor thread under its lock, read when the summary is written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_internal.h"

static float *row_of(const struct kt_mon_series *s, size_t i)
{
	return s->rows + i * KT_MON_MAX_CPUS;
}

/* Mean of two row values, either of which may be unknown (< 0). */
static float merge2(float a, float b)
{
	return a < 0 ? b : b < 0 ? a : (a + b) / 2;
}

/* Full: row 2k and 2k+1 become row k, and rows now span twice as long. */
static void halve(struct kt_mon_series *s)
{
	for (size_t k = 0; k < s->n / 2; k++) {
		float *dst = row_of(s, k), *a = row_of(s, 2 * k), *b = row_of(s, 2 * k + 1);

		for (unsigned c = 0; c < s->ncpu; c++)
			dst[c] = merge2(a[c], b[c]);
		s->at_ms[k] = s->at_ms[2 * k];
	}
	s->n /= 2;
	s->per_row *= 2;
}

static void close_pending(struct kt_mon_series *s)
{
	float *dst = row_of(s, s->n);

	for (unsigned c = 0; c < s->ncpu; c++)
		dst[c] = s->cnt[c] ? (float)(s->sum[c] / s->cnt[c]) : -1.0f;
	s->at_ms[s->n++] = s->pending_at_ms;
	s->pending = 0;
	memset(s->sum, 0, sizeof(s->sum));
	memset(s->cnt, 0, sizeof(s->cnt));
}

int kt_mon_series_feed(struct kt_mon_series *s, const struct kt_mon_sample *x)
{
	unsigned ncpu = x->ncpu < KT_MON_MAX_CPUS ? x->ncpu : KT_MON_MAX_CPUS;

	if (!s->rows) {
		s->rows = malloc(sizeof(float) * KT_MON_SERIES_MAX * KT_MON_MAX_CPUS);
		if (!s->rows)
			return -ENOMEM;
		s->per_row = 1;
	}
	/* a CPU first seen now was unknown in the rows before */
	for (size_t i = 0; i < s->n && ncpu > s->ncpu; i++)
		for (unsigned c = s->ncpu; c < ncpu; c++)
			row_of(s, i)[c] = -1.0f;
	if (ncpu > s->ncpu)
		s->ncpu = ncpu;
	if (!s->pending)
		s->pending_at_ms = x->t_ms;
	for (unsigned c = 0; c < ncpu; c++)
		if (x->cpus[c].nr_running >= 0) {
			s->sum[c] += (double)x->cpus[c].nr_running;
			s->cnt[c]++;
		}
	if (++s->pending < s->per_row)
		return 0;
	close_pending(s);
	if (s->n == KT_MON_SERIES_MAX)
		halve(s);
	return 0;
}

size_t kt_mon_series_rows(const struct kt_mon_series *s)
{
	return s->n + (s->pending ? 1 : 0);
}

double kt_mon_series_value(const struct kt_mon_series *s, size_t row, unsigned cpu,
			   double *at_ms)
{
	if (row < s->n) {
		if (at_ms)
			*at_ms = s->at_ms[row];
		return cpu < s->ncpu ? row_of(s, row)[cpu] : -1;
	}
	if (at_ms)
		*at_ms = s->pending_at_ms;
	return cpu < s->ncpu && s->cnt[cpu] ? s->sum[cpu] / s->cnt[cpu] : -1;
}

void kt_mon_series_release(struct kt_mon_series *s)
{
	free(s->rows);
	memset(s, 0, sizeof(*s));
}
