/*
 * Pairing results and judging every metric: variants are matched on their
 * identity (test, preset, profile, kernel, scheduler) minus whatever the
 * comparison is across; a metric moved when Welch's test over the repeats
 * says so at alpha AND the change is at least the minimum effect (relative
 * to the baseline) AND above the metric's noise floor; its polarity says
 * whether that is a regression.  A variant that always passed and now
 * fails is a regression whatever the numbers say.
 */
#include "runner/compare.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <string.h>

#include "util/util.h"

static const struct kt_metric metrics[] = {
	{ "spread_pct", "guest.result.stats.spread_pct", -1, 1.0 },
	{ "worst_gap_ms", "guest.result.stats.worst_gap_ms", -1, 5.0 },
	{ "throughput_cv", "guest.result.stats.throughput_cv", -1, 0.01 },
	{ "p99_wake_latency_ns", "guest.result.stats.p99_wake_latency_ns", -1, 10000 },
	{ "run_delay_ns", "guest.result.stats.run_delay_ns", -1, 100000 },
	{ "migrations", "guest.result.stats.migrations", -1, 5 },
	{ "work_units", "guest.result.stats.work_units", +1, 0 },
	{ "iterations", "guest.result.stats.iterations", +1, 0 },
	{ 0 },
};

const struct kt_metric *kt_compare_metrics(void)
{
	return metrics;
}

bool kt_compare_value(json_t *doc, const char *path, double *out)
{
	char part[64];
	json_t *v = doc;

	while (v && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(part))
			return false;
		memcpy(part, path, n);
		part[n] = '\0';
		v = json_object_get(v, part);
		path += n + (path[n] == '.');
	}
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

/* ---- identity and pairing --------------------------------------------- */

enum { F_TEST, F_PRESET, F_PROFILE, F_KERNEL, F_SCHED, F_N };
static const char *const field_names[F_N] = { "test", "preset", "profile", "kernel", "scheduler" };

/* A field of a result's identity: from its "variant" (gauntlet runs), else
 * what a plain test-binary or `ktstr run` result says. */
static const char *field(json_t *doc, int f)
{
	json_t *var = json_object_get(doc, "variant");
	const char *s = json_string_value(json_object_get(var, field_names[f]));

	if (s)
		return s;
	switch (f) {
	case F_TEST: s = json_string_value(json_object_get(doc, "name")); break;
	case F_PRESET: s = json_string_value(json_object_get(doc, "topology")); break;
	case F_KERNEL: s = json_string_value(json_object_get(doc, "kernel")); break;
	case F_SCHED: s = json_string_value(json_object_get(doc, "scheduler")); break;
	default: s = NULL;
	}
	return s ? s : "-";
}

static char *key_of(json_t *doc, const bool *use)
{
	struct kt_buf b = { 0 };

	for (int f = 0; f < F_N; f++)
		if (use[f])
			kt_buf_printf(&b, "%s%s", b.len ? "/" : "", field(doc, f));
	return b.data ? b.data : strdup("(all)");
}

/* Fields with one value across the array. */
static void single_valued(json_t *docs, bool *single)
{
	for (int f = 0; f < F_N; f++) {
		const char *first = NULL;

		single[f] = true;
		for (size_t i = 0; i < json_array_size(docs); i++) {
			const char *v = field(json_array_get(docs, i), f);

			if (!first)
				first = v;
			else if (strcmp(first, v))
				single[f] = false;
		}
	}
}

struct group {
	char *key;
	json_t *base, *cand;
};

struct groups {
	struct group *g;
	size_t n, cap;
};

static struct group *group_get(struct groups *gs, char *key)
{
	for (size_t i = 0; i < gs->n; i++)
		if (!strcmp(gs->g[i].key, key)) {
			free(key);
			return &gs->g[i];
		}
	if (kt_grow(gs->g, gs->n, gs->cap, 32)) {
		free(key);
		return NULL;
	}
	gs->g[gs->n] = (struct group){ key, json_array(), json_array() };
	return &gs->g[gs->n++];
}

static void groups_release(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->g[i].key);
		json_decref(gs->g[i].base);
		json_decref(gs->g[i].cand);
	}
	free(gs->g);
}

/* ---- judging ------------------------------------------------------------ */

static bool ran(json_t *doc)
{
	const char *v = json_string_value(json_object_get(doc, "verdict"));

	return v && (!strcmp(v, "pass") || !strcmp(v, "fail") || !strcmp(v, "error"));
}

static size_t values(json_t *docs, const char *path, double *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(docs) && n < max; i++) {
		json_t *d = json_array_get(docs, i);
		const char *v = json_string_value(json_object_get(d, "verdict"));

		/* runs that completed carry meaningful numbers, failed or not;
		 * errors and skips have none */
		if (v && (!strcmp(v, "pass") || !strcmp(v, "fail")) && kt_compare_value(d, path, &out[n]))
			n++;
	}
	return n;
}

struct tally {
	size_t paired, regressions, improvements, untested;
};

static void judge(FILE *f, const struct group *g, const struct kt_compare_opts *o,
		  struct tally *t)
{
	size_t nb = json_array_size(g->base), nc = json_array_size(g->cand);
	size_t base_fail = 0, cand_fail = 0, base_ran = 0, cand_ran = 0;
	double a[128], b[128];

	for (size_t i = 0; i < nb; i++) {
		json_t *d = json_array_get(g->base, i);

		base_ran += ran(d);
		base_fail += ran(d) && strcmp(json_string_value(json_object_get(d, "verdict")), "pass");
	}
	for (size_t i = 0; i < nc; i++) {
		json_t *d = json_array_get(g->cand, i);

		cand_ran += ran(d);
		cand_fail += ran(d) && strcmp(json_string_value(json_object_get(d, "verdict")), "pass");
	}
	if (!base_ran || !cand_ran)
		return;
	t->paired++;
	if (!base_fail && cand_fail) {
		fprintf(f, "REGRESSION   %s  verdict: passed %zu/%zu -> %zu/%zu\n", g->key, base_ran,
			base_ran, cand_ran - cand_fail, cand_ran);
		t->regressions++;
	} else if (base_fail && !cand_fail) {
		fprintf(f, "improvement  %s  verdict: passed %zu/%zu -> %zu/%zu\n", g->key,
			base_ran - base_fail, base_ran, cand_ran, cand_ran);
		t->improvements++;
	}
	for (const struct kt_metric *m = metrics; m->name; m++) {
		size_t na = values(g->base, m->path, a, KT_ARRAY_SIZE(a));
		size_t nn = values(g->cand, m->path, b, KT_ARRAY_SIZE(b));
		double ma, mb, p, rel, diff;
		bool worse;

		if (!na || !nn)
			continue;
		ma = kt_stats_mean(a, na);
		mb = kt_stats_mean(b, nn);
		diff = mb - ma;
		rel = fabs(ma) > 1e-12 ? diff / fabs(ma) : diff != 0 ? INFINITY : 0;
		if (na < 2 || nn < 2) {
			if (fabs(rel) >= o->min_effect && fabs(diff) > m->floor)
				t->untested++;
			if (o->verbose)
				fprintf(f, "untested     %s  %s: %g -> %g (%+.0f%%, n=%zu/%zu: "
					   "--repeat 2 or more to test)\n",
					g->key, m->name, ma, mb, 100 * rel, na, nn);
			continue;
		}
		p = kt_stats_welch_p(a, na, b, nn);
		if (p >= o->alpha || fabs(rel) < o->min_effect || fabs(diff) <= m->floor) {
			if (o->verbose)
				fprintf(f, "same         %s  %s: %g -> %g (%+.0f%%, p=%.3g, n=%zu/%zu)\n",
					g->key, m->name, ma, mb, 100 * rel, p, na, nn);
			continue;
		}
		worse = (diff > 0) == (m->better < 0);
		fprintf(f, "%s  %s  %s: %g -> %g (%+.0f%%, p=%.3g, n=%zu/%zu, %s is better)\n",
			worse ? "REGRESSION " : "improvement", g->key, m->name, ma, mb, 100 * rel, p,
			na, nn, m->better > 0 ? "higher" : "lower");
		if (worse)
			t->regressions++;
		else
			t->improvements++;
	}
}

static void opts_default(struct kt_compare_opts *o, const struct kt_compare_opts *in)
{
	*o = in ? *in : (struct kt_compare_opts){ 0 };
	if (!(o->alpha > 0))
		o->alpha = 0.05;
	if (!(o->min_effect > 0))
		o->min_effect = 0.10;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

static int finish(FILE *f, struct groups *gs, const struct kt_compare_opts *o, const char *what)
{
	struct tally t = { 0 };
	size_t unpaired = 0;

	/* directory walks come in no useful order: print by variant */
	if (gs->n)
		qsort(gs->g, gs->n, sizeof(*gs->g), by_key);

	for (size_t i = 0; i < gs->n; i++) {
		if (!json_array_size(gs->g[i].base) || !json_array_size(gs->g[i].cand)) {
			unpaired++;
			continue;
		}
		judge(f, &gs->g[i], o, &t);
	}
	fprintf(f, "compare%s: %zu paired variants, %zu regressions, %zu improvements, %zu unpaired",
		what, t.paired, t.regressions, t.improvements, unpaired);
	if (t.untested)
		fprintf(f, ", %zu changes untested (one run a side; use --repeat)", t.untested);
	fprintf(f, " (alpha %.3g, minimum effect %.0f%%)\n", o->alpha, 100 * o->min_effect);
	groups_release(gs);
	return (int)t.regressions;
}

int kt_compare_docs(FILE *f, json_t *base, json_t *cand, const struct kt_compare_opts *in)
{
	struct kt_compare_opts o;
	struct groups gs = { 0 };
	bool sa[F_N], sb[F_N], use[F_N];

	opts_default(&o, in);
	single_valued(base, sa);
	single_valued(cand, sb);
	for (int k = 0; k < F_N; k++)
		use[k] = !(sa[k] && sb[k]);
	/* the test always identifies a variant */
	use[F_TEST] = true;
	for (int side = 0; side < 2; side++) {
		json_t *docs = side ? cand : base;

		for (size_t i = 0; i < json_array_size(docs); i++) {
			json_t *d = json_array_get(docs, i);
			struct group *g = group_get(&gs, key_of(d, use));

			if (!g) {
				groups_release(&gs);
				return -ENOMEM;
			}
			json_array_append(side ? g->cand : g->base, d);
		}
	}
	return finish(f, &gs, &o, "");
}

int kt_compare_vs_eevdf(FILE *f, json_t *docs, const struct kt_compare_opts *in)
{
	struct kt_compare_opts o;
	struct groups gs = { 0 };
	bool use[F_N] = { [F_TEST] = true, [F_PRESET] = true, [F_KERNEL] = true };
	json_t *twins = json_array();
	bool any = false;

	opts_default(&o, in);
	/* every profile of the scheduler against the one EEVDF run of its
	 * test/preset/kernel: the candidates keep their profile in the key */
	for (size_t i = 0; i < json_array_size(docs); i++) {
		json_t *d = json_array_get(docs, i);

		if (json_is_true(json_object_get(json_object_get(d, "variant"), "eevdf_twin")))
			json_array_append(twins, d);
	}
	for (size_t i = 0; i < json_array_size(docs); i++) {
		json_t *d = json_array_get(docs, i);
		struct group *g;
		KT_AUTOFREE char *base_key = NULL;
		char *key;

		if (json_is_true(json_object_get(json_object_get(d, "variant"), "eevdf_twin")))
			continue;
		base_key = key_of(d, use);
		key = kt_asprintf("%s/%s vs eevdf", base_key ? base_key : "?", field(d, F_PROFILE));
		g = key ? group_get(&gs, key) : NULL;
		if (!g)
			continue;
		json_array_append(g->cand, d);
		if (json_array_size(g->base))
			continue;
		for (size_t k = 0; k < json_array_size(twins); k++) {
			json_t *e = json_array_get(twins, k);
			KT_AUTOFREE char *ek = key_of(e, use);

			if (ek && base_key && !strcmp(ek, base_key)) {
				json_array_append(g->base, e);
				any = true;
			}
		}
	}
	json_decref(twins);
	if (!any) {
		groups_release(&gs);
		fprintf(f, "compare vs EEVDF: no EEVDF runs to compare with\n");
		return 0;
	}
	return finish(f, &gs, &o, " vs EEVDF");
}

/* nftw has no context pointer: the one load in progress collects here. */
static json_t *loading;

static int load_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t len = strlen(path);
	json_t *doc;

	if (type != FTW_F || len < 5 || strcmp(path + len - 5, ".json"))
		return 0;
	doc = json_load_file(path, 0, NULL);
	if (doc && json_is_string(json_object_get(doc, "schema")) &&
	    !strcmp(json_string_value(json_object_get(doc, "schema")), "ktstr-result/1"))
		json_array_append(loading, doc);
	json_decref(doc);
	return 0;
}

int kt_compare_load_dir(const char *dir, json_t **docs)
{
	int rc;

	loading = json_array();
	if (!loading)
		return -ENOMEM;
	/* follow symlinks: `ktstr-runs/latest` is one */
	rc = nftw(dir, load_one, 16, 0);
	if (rc) {
		int e = errno ? -errno : -EIO;

		json_decref(loading);
		loading = NULL;
		return e;
	}
	*docs = loading;
	loading = NULL;
	return 0;
}
