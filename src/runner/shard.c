/*
 * Splitting a gauntlet over machines: every variant in exactly one shard,
 * shards balanced by estimated time (longest first, each onto the least
 * loaded shard).  The split depends only on the variant list and the
 * estimates, so each CI machine computes the same one independently.
 */
#include "runner/gauntlet.h"

#include <errno.h>
#include <string.h>

#include "util/util.h"

int kt_shard_parse(const char *s, unsigned *k, unsigned *n)
{
	char *end;
	unsigned long a, b;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	a = strtoul(s, &end, 10);
	if (end == s || *end != '/' || errno)
		return -EINVAL;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (end == s || *end || errno || a < 1 || b < 1 || a > b || b > 1000)
		return -EINVAL;
	*k = (unsigned)a - 1;
	*n = (unsigned)b;
	return 0;
}

/* qsort has no context: the list being sorted, set just before each sort. */
static const struct kt_variant *sort_v;

static int by_cost(const void *a, const void *b)
{
	const struct kt_variant *x = &sort_v[*(const size_t *)a], *y = &sort_v[*(const size_t *)b];

	if (x->est_s != y->est_s)
		return x->est_s > y->est_s ? -1 : 1;
	return strcmp(x->name, y->name);
}

void kt_shard_assign(const struct kt_variant *v, size_t n_variants, unsigned n,
		     unsigned *shard_of)
{
	KT_AUTOFREE size_t *order = calloc(n_variants + 1, sizeof(*order));
	KT_AUTOFREE double *load = calloc(n ? n : 1, sizeof(*load));

	if (!order || !load || n < 2) {
		/* one shard (or no memory for balancing): a plain round robin is
		 * still deterministic and disjoint */
		for (size_t i = 0; i < n_variants; i++)
			shard_of[i] = n ? (unsigned)(i % n) : 0;
		return;
	}
	for (size_t i = 0; i < n_variants; i++)
		order[i] = i;
	sort_v = v;
	qsort(order, n_variants, sizeof(*order), by_cost);
	sort_v = NULL;
	for (size_t i = 0; i < n_variants; i++) {
		unsigned best = 0;

		for (unsigned s = 1; s < n; s++)
			if (load[s] < load[best])
				best = s;
		shard_of[order[i]] = best;
		load[best] += v[order[i]].est_s;
	}
}
