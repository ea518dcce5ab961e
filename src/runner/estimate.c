/*
 * How long one variant takes: a model of boot and teardown cost by CPU
 * count (quadratic, because under TCG every vCPU is emulated by one host
 * thread and bring-up and the scheduler's per-CPU work both grow) plus the
 * test's duration.  Fitted to this machine's past runs when there are
 * enough of them; shards use the defaults so every machine splits alike.
 */
#include "runner/gauntlet.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util/util.h"

void kt_estimate_default(struct kt_estimate *e)
{
	/* 2.25 s of overhead at 4 CPUs (bench/overhead), ~18 s at 128 */
	*e = (struct kt_estimate){ .base_s = 2.0, .per_cpu_s = 0.06, .per_cpu2_s = 0.0005 };
}

double kt_estimate_run(const struct kt_estimate *e, unsigned cpus, double duration_s)
{
	double c = cpus, over = e->base_s + e->per_cpu_s * c + e->per_cpu2_s * c * c;

	return (over < 0.5 ? 0.5 : over) + (duration_s > 0 ? duration_s : 2.0);
}

/* Solve the n x n system a x = b in place (Gaussian elimination, partial
 * pivoting); false when it is (nearly) singular. */
static bool solve(double a[3][3], double b[3], int n)
{
	for (int c = 0; c < n; c++) {
		int p = c;

		for (int r = c + 1; r < n; r++)
			if (fabs(a[r][c]) > fabs(a[p][c]))
				p = r;
		if (fabs(a[p][c]) < 1e-9)
			return false;
		for (int k = 0; k < n; k++) {
			double t = a[c][k];

			a[c][k] = a[p][k];
			a[p][k] = t;
		}
		double t = b[c];
		b[c] = b[p];
		b[p] = t;
		for (int r = 0; r < n; r++) {
			double f;

			if (r == c)
				continue;
			f = a[r][c] / a[c][c];
			for (int k = c; k < n; k++)
				a[r][k] -= f * a[c][k];
			b[r] -= f * b[c];
		}
	}
	for (int c = 0; c < n; c++)
		b[c] /= a[c][c];
	return true;
}

/* Least squares over the basis 1, c, c^2 (first `terms` of them). */
static bool fit(const unsigned *cpus, const double *y, size_t n, int terms, double out[3])
{
	double a[3][3] = { { 0 } }, b[3] = { 0 };

	for (size_t i = 0; i < n; i++) {
		double c = cpus[i], basis[3] = { 1, c, c * c };

		for (int r = 0; r < terms; r++) {
			for (int k = 0; k < terms; k++)
				a[r][k] += basis[r] * basis[k];
			b[r] += basis[r] * y[i];
		}
	}
	if (!solve(a, b, terms))
		return false;
	for (int i = 0; i < 3; i++)
		out[i] = i < terms ? b[i] : 0;
	return true;
}

void kt_estimate_release(struct kt_estimate *e)
{
	for (size_t i = 0; i < e->n_tests; i++)
		free(e->tests[i].name);
	free(e->tests);
	e->tests = NULL;
	e->n_tests = e->tests_cap = 0;
}

double kt_estimate_test_run(const struct kt_estimate *e, const char *name, unsigned cpus,
			    double duration_s)
{
	double t = kt_estimate_run(e, cpus, duration_s);

	for (size_t i = 0; name && i < e->n_tests; i++)
		if (!strcmp(e->tests[i].name, name))
			t += e->tests[i].extra_s;
	return t < 0.5 ? 0.5 : t;
}

/* The CPU-count part of the model alone, fitted to y. */
static void fit_cpu_model(struct kt_estimate *e, const unsigned *cpus, const double *overhead_s,
			  size_t n)
{
	unsigned distinct[4];
	size_t nd = 0;
	double c[3], dflt[3];
	struct kt_estimate d;
	KT_AUTOFREE double *y = calloc(n + 1, sizeof(*y));

	if (!y)
		return;
	kt_estimate_default(&d);
	dflt[0] = d.base_s;
	dflt[1] = d.per_cpu_s;
	dflt[2] = d.per_cpu2_s;
	for (size_t i = 0; i < n && nd < 4; i++) {
		bool seen = false;

		for (size_t k = 0; k < nd; k++)
			seen |= distinct[k] == cpus[i];
		if (!seen)
			distinct[nd++] = cpus[i];
	}
	/*
	 * Fit only as many terms as the data can pin down with one CPU count to
	 * spare (a quadratic through three noisy points extrapolates wildly to
	 * 128 CPUs); the terms not fitted keep the defaults' values, taken out
	 * of the data first.  A negative slope is noise (more CPUs never boot
	 * faster): fit fewer terms then.
	 */
	for (int terms = nd >= 4 ? 3 : nd >= 3 ? 2 : 1; terms >= 1; terms--) {
		for (size_t i = 0; i < n; i++) {
			double x = cpus[i];

			y[i] = overhead_s[i] - (terms < 3 ? dflt[2] * x * x : 0) -
			       (terms < 2 ? dflt[1] * x : 0);
		}
		if (!fit(cpus, y, n, terms, c))
			continue;
		for (int k = terms; k < 3; k++)
			c[k] = dflt[k];
		if (c[1] < 0 || c[2] < 0)
			continue;
		e->base_s = c[0];
		e->per_cpu_s = c[1];
		e->per_cpu2_s = c[2];
		e->samples = n;
		return;
	}
}

static size_t test_index(struct kt_estimate *e, const char *name)
{
	struct kt_estimate_test *t;

	for (size_t i = 0; i < e->n_tests; i++)
		if (!strcmp(e->tests[i].name, name))
			return i;
	if (kt_grow(e->tests, e->n_tests, e->tests_cap, 16))
		return SIZE_MAX;
	t = e->tests;
	t[e->n_tests] = (struct kt_estimate_test){ strdup(name), 0 };
	return t[e->n_tests].name ? e->n_tests++ : SIZE_MAX;
}

void kt_estimate_fit(struct kt_estimate *e, const unsigned *cpus, const double *overhead_s,
		     const char *const *names, size_t n)
{
	KT_AUTOFREE size_t *ti = NULL;
	KT_AUTOFREE double *y = NULL;
	KT_AUTOFREE double *sum = NULL;
	KT_AUTOFREE size_t *cnt = NULL;

	if (n < 3)
		return;
	if (!names) {
		fit_cpu_model(e, cpus, overhead_s, n);
		return;
	}
	ti = calloc(n, sizeof(*ti));
	y = calloc(n, sizeof(*y));
	if (!ti || !y)
		return;
	for (size_t i = 0; i < n; i++)
		ti[i] = test_index(e, names[i] ? names[i] : "");
	sum = calloc(e->n_tests + 1, sizeof(*sum));
	cnt = calloc(e->n_tests + 1, sizeof(*cnt));
	if (!sum || !cnt)
		return;
	/* alternate: the CPU model on what the tests' own terms leave, then
	 * each test's term as its mean residual under the model */
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < n; i++)
			y[i] = overhead_s[i] - (ti[i] == SIZE_MAX ? 0 : e->tests[ti[i]].extra_s);
		fit_cpu_model(e, cpus, y, n);
		memset(sum, 0, e->n_tests * sizeof(*sum));
		memset(cnt, 0, e->n_tests * sizeof(*cnt));
		for (size_t i = 0; i < n; i++) {
			if (ti[i] == SIZE_MAX)
				continue;
			sum[ti[i]] += overhead_s[i] - (kt_estimate_run(e, cpus[i], 1e-9) - 1e-9);
			cnt[ti[i]]++;
		}
		for (size_t t = 0; t < e->n_tests; t++)
			e->tests[t].extra_s = cnt[t] ? sum[t] / (double)cnt[t] : 0;
	}
}

/* nftw has no context pointer: the one learning walk at a time keeps its
 * observations here (the runner learns once, before its threads start). */
static struct {
	unsigned *cpus;
	double *over;
	char **names;
	size_t n, cap;
} obs;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	json_t *doc, *timings;
	const char *topo, *verdict, *test;
	struct kt_topo_spec spec;
	double wall, dur;
	size_t len = strlen(path);

	if (type != FTW_F || len < 5 || strcmp(path + len - 5, ".json"))
		return 0;
	doc = json_load_file(path, 0, NULL);
	timings = json_object_get(doc, "timings");
	topo = json_string_value(json_object_get(doc, "topology"));
	verdict = json_string_value(json_object_get(doc, "verdict"));
	wall = json_number_value(json_object_get(timings, "wall_s"));
	dur = json_integer_value(json_object_get(json_object_get(doc, "request"), "duration_ms")) / 1e3;
	if (topo && verdict && (!strcmp(verdict, "pass") || !strcmp(verdict, "fail")) && wall > 0 &&
	    !json_is_true(json_object_get(doc, "host")) && !kt_topo_spec_parse(topo, &spec, NULL)) {
		/* three parallel arrays, grown one after another to one capacity */
		size_t cap = obs.cap, cap2 = obs.cap, cap3 = obs.cap;

		if (kt_grow(obs.cpus, obs.n, cap, 256) || kt_grow(obs.over, obs.n, cap2, 256) ||
		    kt_grow(obs.names, obs.n, cap3, 256)) {
			json_decref(doc);
			return -1;
		}
		obs.cap = cap;
		test = json_string_value(json_object_get(json_object_get(doc, "variant"), "test"));
		obs.names[obs.n] = strdup(test ? test : json_string_value(json_object_get(doc, "name"))
					  ? json_string_value(json_object_get(doc, "name")) : "");
		obs.cpus[obs.n] = kt_topo_spec_cpus(&spec);
		obs.over[obs.n++] = wall - dur;
	}
	json_decref(doc);
	return 0;
}

int kt_estimate_learn(struct kt_estimate *e, const char *runs_dir)
{
	int rc;

	kt_estimate_default(e);
	memset(&obs, 0, sizeof(obs));
	rc = nftw(runs_dir, visit, 16, FTW_PHYS);
	if (rc == 0)
		kt_estimate_fit(e, obs.cpus, obs.over, (const char *const *)obs.names, obs.n);
	for (size_t i = 0; i < obs.n; i++)
		free(obs.names[i]);
	free(obs.names);
	free(obs.cpus);
	free(obs.over);
	memset(&obs, 0, sizeof(obs));
	if (rc < 0 && errno == ENOENT)
		return 0;
	return rc ? -EIO : 0;
}
