/*
 * Gauntlet expansion: tests x topology presets x flag profiles x kernels,
 * with each test's constraints applied before anything boots.  Pure: no
 * I/O, so the expansion can be listed and unit-tested without a VM.
 */
#include "runner/gauntlet.h"

#include <errno.h>
#include <string.h>

#include "util/util.h"

void kt_variants_free(struct kt_variant *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].profile);
	}
	free(v);
}

char *kt_gauntlet_topo_mismatch(const struct kt_gauntlet_test *t, const struct kt_topo_spec *s)
{
	unsigned cpus = kt_topo_spec_cpus(s);

	if (t->min_llcs && s->llcs < t->min_llcs)
		return kt_asprintf("needs at least %u LLCs", t->min_llcs);
	if (t->max_llcs && s->llcs > t->max_llcs)
		return kt_asprintf("needs at most %u LLCs", t->max_llcs);
	if (t->min_cpus && cpus < t->min_cpus)
		return kt_asprintf("needs at least %u CPUs", t->min_cpus);
	if (t->max_cpus && cpus > t->max_cpus)
		return kt_asprintf("needs at most %u CPUs", t->max_cpus);
	if (t->min_numa_nodes && s->numa_nodes < t->min_numa_nodes)
		return kt_asprintf("needs at least %u NUMA nodes", t->min_numa_nodes);
	if (t->max_numa_nodes && s->numa_nodes > t->max_numa_nodes)
		return kt_asprintf("needs at most %u NUMA nodes", t->max_numa_nodes);
	if (t->requires_smt && s->threads < 2)
		return strdup("needs SMT");
	return NULL;
}

static bool listed(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

static bool flag_on(const struct kt_gauntlet_test *t, unsigned mask, const char *name)
{
	for (size_t j = 0; j < t->n_flags; j++)
		if ((mask & (1u << j)) && !strcmp(t->flags[j].name, name))
			return true;
	return false;
}

bool kt_gauntlet_profile_ok(const struct kt_gauntlet_test *t, unsigned mask)
{
	for (size_t i = 0; i < t->n_flags; i++) {
		const struct kt_sched_flag *f = &t->flags[i];

		if (!(mask & (1u << i))) {
			if (listed(t->required_flags, f->name))
				return false;
			continue;
		}
		if (listed(t->excluded_flags, f->name))
			return false;
		for (size_t r = 0; r < KT_ARRAY_SIZE(f->requires) && f->requires[r]; r++)
			if (!flag_on(t, mask, f->requires[r]))
				return false;
	}
	/* a required flag the scheduler does not have can never be on */
	for (size_t i = 0; t->required_flags[i]; i++)
		if (!flag_on(t, mask, t->required_flags[i]))
			return false;
	return true;
}

char *kt_gauntlet_profile_name(const struct kt_gauntlet_test *t, unsigned mask)
{
	struct kt_buf b = { 0 };

	for (size_t i = 0; i < t->n_flags; i++)
		if (mask & (1u << i))
			kt_buf_printf(&b, "%s%s", b.len ? "+" : "", t->flags[i].name);
	return b.len ? b.data : strdup("default");
}

static const struct kt_topo_preset *preset_find(const char *name)
{
	size_t n;
	const struct kt_topo_preset *p = kt_topo_presets(&n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return &p[i];
	return NULL;
}

/* The presets to expand over, in table order or the order given. */
static int pick_presets(const struct kt_gauntlet_axes *a, const struct kt_topo_preset ***out,
			size_t *n_out, char **err)
{
	size_t n;
	const struct kt_topo_preset *all = kt_topo_presets(&n);
	const struct kt_topo_preset **pick = calloc(n + a->n_presets + 1, sizeof(*pick));
	size_t k = 0;

	if (!pick)
		return -ENOMEM;
	if (!a->n_presets) {
		for (size_t i = 0; i < n; i++)
			pick[k++] = &all[i];
	}
	for (size_t i = 0; i < a->n_presets; i++) {
		const struct kt_topo_preset *p = preset_find(a->presets[i]);

		if (!p) {
			*err = kt_asprintf("unknown preset '%s' (ktstr topo --list)", a->presets[i]);
			free(pick);
			return -EINVAL;
		}
		pick[k++] = p;
	}
	*out = pick;
	*n_out = k;
	return 0;
}

static int push(struct kt_variant **v, size_t *n, size_t *cap, struct kt_variant x)
{
	if (kt_grow(*v, *n, *cap, 64))
		return -ENOMEM;
	(*v)[(*n)++] = x;
	return 0;
}

static int add(struct kt_variant **v, size_t *n, size_t *cap, const struct kt_gauntlet_axes *a,
	       size_t ti, const struct kt_gauntlet_test *t, const struct kt_topo_preset *p,
	       const struct kt_topo_spec *spec, unsigned mask, bool eevdf)
{
	size_t nk = a->n_kernels ? a->n_kernels : 1;

	for (size_t k = 0; k < nk; k++) {
		struct kt_variant x = {
			.test = ti, .preset = p->name, .topo = *spec, .mask = mask, .kernel = k,
			.eevdf = eevdf,
		};

		x.profile = eevdf ? strdup("eevdf") : kt_gauntlet_profile_name(t, mask);
		x.name = !x.profile ? NULL
			: a->n_kernels > 1 ? kt_asprintf("%s/%s/%s/%s", t->name, p->name, x.profile,
							 a->kernels[k])
			: kt_asprintf("%s/%s/%s", t->name, p->name, x.profile);
		if (!x.name || push(v, n, cap, x)) {
			free(x.name);
			free(x.profile);
			return -ENOMEM;
		}
	}
	return 0;
}

int kt_gauntlet_expand(const struct kt_gauntlet_test *tests, size_t n_tests,
		       const struct kt_gauntlet_axes *a, struct kt_variant **out, size_t *n_out,
		       size_t *filtered, char **err)
{
	KT_AUTOFREE const struct kt_topo_preset **presets = NULL;
	struct kt_variant *v = NULL;
	size_t np, n = 0, cap = 0, dropped = 0;
	int e = pick_presets(a, &presets, &np, err);

	if (e)
		return e;
	for (size_t ti = 0; ti < n_tests; ti++) {
		const struct kt_gauntlet_test *t = &tests[ti];

		if (t->n_flags > 16) {
			*err = kt_asprintf("test %s: more than 16 flags", t->name);
			kt_variants_free(v, n);
			return -EINVAL;
		}
		for (size_t pi = 0; pi < np; pi++) {
			struct kt_topo_spec spec;
			char *why;

			if (kt_topo_spec_parse(presets[pi]->spec, &spec, NULL))
				continue;
			if (a->max_cpus && kt_topo_spec_cpus(&spec) > a->max_cpus)
				continue;
			why = kt_gauntlet_topo_mismatch(t, &spec);
			if (why) {
				free(why);
				dropped++;
				continue;
			}
			for (unsigned mask = 0; mask < (1u << t->n_flags); mask++) {
				if (!kt_gauntlet_profile_ok(t, mask))
					continue;
				e = add(&v, &n, &cap, a, ti, t, presets[pi], &spec, mask, false);
				if (e)
					goto fail;
			}
			if (a->vs_eevdf && t->eevdf_twin) {
				e = add(&v, &n, &cap, a, ti, t, presets[pi], &spec, 0, true);
				if (e)
					goto fail;
			}
		}
	}
	*out = v;
	*n_out = n;
	if (filtered)
		*filtered = dropped;
	return 0;
fail:
	kt_variants_free(v, n);
	return e;
}
