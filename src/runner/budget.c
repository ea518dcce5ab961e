/*
 * --budget: within a time budget, run the variants that together cover the
 * most configuration buckets (test, topology shape, SMT, NUMA, flag
 * profile, scheduler, kernel), picked greedily by new buckets per
 * estimated second.  Greedy set cover is within a log factor of the best
 * and needs no solver; ties go to the earlier variant, so it is stable.
 */
#include "runner/gauntlet.h"

#include <string.h>

#include "util/util.h"

static const char *cpu_class(unsigned c)
{
	return c <= 4 ? "<=4" : c <= 16 ? "<=16" : c <= 64 ? "<=64" : c <= 128 ? "<=128" : ">128";
}

static const char *llc_class(unsigned l)
{
	return l == 1 ? "1" : l <= 3 ? "2-3" : l <= 8 ? "4-8" : "9+";
}

size_t kt_budget_buckets(const struct kt_variant *v, const struct kt_gauntlet_test *tests,
			 const char *const *kernels, char **out, size_t max)
{
	const struct kt_gauntlet_test *t = &tests[v->test];
	const char *sched = v->eevdf ? "EEVDF" : t->scheduler ? t->scheduler : "EEVDF";
	char *b[8];
	size_t n = 0;

	b[n++] = kt_asprintf("test:%s", t->name);
	b[n++] = kt_asprintf("shape:%s CPUs, %s LLCs", cpu_class(kt_topo_spec_cpus(&v->topo)),
			     llc_class(v->topo.llcs));
	b[n++] = kt_asprintf("smt:%s", v->topo.threads > 1 ? "yes" : "no");
	b[n++] = kt_asprintf("numa:%s", v->topo.numa_nodes == 1 ? "1" : v->topo.numa_nodes == 2 ? "2" : "4+");
	b[n++] = kt_asprintf("flags:%s:%s", sched, v->profile);
	b[n++] = kt_asprintf("scheduler:%s", sched);
	if (kernels)
		b[n++] = kt_asprintf("kernel:%s", kernels[v->kernel]);
	for (size_t i = 0; i < n; i++) {
		if (i < max)
			out[i] = b[i];
		else
			free(b[i]);
	}
	return n < max ? n : max;
}

/* Index of x in the list, added when new (x is always freed); -1 on ENOMEM. */
static ssize_t bucket_id(struct kt_strlist *all, char *x)
{
	KT_AUTOFREE char *own = x;

	for (size_t i = 0; x && i < all->n; i++)
		if (!strcmp(all->v[i], x))
			return (ssize_t)i;
	if (!x || kt_strlist_add(all, x))
		return -1;
	return (ssize_t)all->n - 1;
}

size_t kt_budget_select(const struct kt_variant *v, size_t n, const struct kt_gauntlet_test *tests,
			const char *const *kernels, double budget_s, bool *keep,
			size_t *n_buckets, char ***missed)
{
	struct kt_strlist all = { 0 };
	KT_AUTOFREE ssize_t *ids = calloc(n * 8 + 1, sizeof(*ids));
	KT_AUTOFREE size_t *nids = calloc(n + 1, sizeof(*nids));
	KT_AUTOFREE bool *covered = NULL;
	double left = budget_s;
	size_t uncovered;

	memset(keep, 0, n * sizeof(*keep));
	if (!ids || !nids)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char *b[8];
		size_t nb = kt_budget_buckets(&v[i], tests, kernels, b, 8);

		for (size_t k = 0; k < nb; k++)
			ids[i * 8 + nids[i]++] = bucket_id(&all, b[k]);
	}
	covered = calloc(all.n + 1, sizeof(*covered));
	if (!covered) {
		kt_strlist_release(&all);
		return 0;
	}
	for (;;) {
		ssize_t best = -1;
		double best_rate = 0;

		for (size_t i = 0; i < n; i++) {
			size_t gain = 0;

			if (keep[i] || v[i].est_s > left)
				continue;
			for (size_t k = 0; k < nids[i]; k++)
				gain += ids[i * 8 + k] >= 0 && !covered[ids[i * 8 + k]];
			if (gain && gain / v[i].est_s > best_rate) {
				best_rate = gain / v[i].est_s;
				best = (ssize_t)i;
			}
		}
		if (best < 0)
			break;
		keep[best] = true;
		left -= v[best].est_s;
		for (size_t k = 0; k < nids[best]; k++)
			if (ids[best * 8 + k] >= 0)
				covered[ids[best * 8 + k]] = true;
	}
	uncovered = 0;
	for (size_t i = 0; i < all.n; i++)
		uncovered += !covered[i];
	if (missed) {
		char **m = calloc(uncovered + 1, sizeof(*m));
		size_t k = 0;

		for (size_t i = 0; m && i < all.n; i++)
			if (!covered[i])
				m[k++] = strdup(all.v[i]);
		*missed = m;
	}
	if (n_buckets)
		*n_buckets = all.n;
	kt_strlist_release(&all);
	return uncovered;
}
