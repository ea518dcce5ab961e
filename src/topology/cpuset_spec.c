/*
 * CpusetSpec resolution: turns a declarative cpuset ("LLC 1", "second of
 * three disjoint slices", "0-3") into a concrete kt_cpuset for a topology.
 *
 * Everything except EXACT is carved out of the usable CPUs, so a test's
 * cpusets never take the CPU reserved for the root cgroup.  A spec that
 * cannot be satisfied on this topology is an error with a reason, never a
 * silently empty or clipped set.  Never prints.
 */
#include <ktstr/topology.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

const char *kt_cpuset_spec_describe(const struct kt_cpuset_spec *s, char *buf, size_t n)
{
	if (!n)
		return buf;
	switch (s->kind) {
	case KT_CSPEC_NONE:
		snprintf(buf, n, "none");
		break;
	case KT_CSPEC_LLC:
		snprintf(buf, n, "llc(%u)", s->idx);
		break;
	case KT_CSPEC_NUMA:
		snprintf(buf, n, "numa(%u)", s->idx);
		break;
	case KT_CSPEC_RANGE:
		snprintf(buf, n, "range(%g,%g)", s->start_frac, s->end_frac);
		break;
	case KT_CSPEC_DISJOINT:
		snprintf(buf, n, "disjoint(%u/%u)", s->idx, s->of);
		break;
	case KT_CSPEC_OVERLAP:
		snprintf(buf, n, "overlap(%u/%u,%g)", s->idx, s->of, s->frac);
		break;
	case KT_CSPEC_EXACT:
		snprintf(buf, n, "exact(%s)", s->exact ? s->exact : "");
		break;
	default:
		snprintf(buf, n, "kind(%d)", (int)s->kind);
		break;
	}
	return buf;
}

static int resolve_fail(char **err, const struct kt_cpuset_spec *spec, const char *why)
{
	char name[128];

	if (err)
		*err = kt_asprintf("cpuset %s: %s", kt_cpuset_spec_describe(spec, name,
									    sizeof(name)), why);
	return -EINVAL;
}

/* Usable CPUs [first, last) as a set. */
static struct kt_cpuset *slice(const unsigned *u, size_t first, size_t last)
{
	return kt_cpuset_from_array(u + first, last - first);
}

static bool frac_ok(double f)
{
	return f >= 0.0 && f <= 1.0;	/* false for NaN too */
}

/*
 * `of` slices of width w over m CPUs, neighbour sharing frac of w:
 * of*w - (of-1)*frac*w = m.  Rounding the ends keeps every CPU covered
 * and the last slice ending exactly at m.
 */
static void overlap_bounds(size_t m, unsigned of, unsigned i, double frac, size_t *first,
			   size_t *last)
{
	double w = (double)m / ((double)of - (double)(of - 1) * frac);
	double step = w * (1.0 - frac);
	double a = round(step * i), b = round(step * i + w);

	*first = a < 0 ? 0 : (size_t)a;
	*last = i == of - 1 || b > (double)m ? m : (size_t)b;
	if (*first >= m)
		*first = m;
}

int kt_cpuset_spec_resolve(const struct kt_cpuset_spec *spec, const struct kt_topology *t,
			   struct kt_cpuset **out, char **err)
{
	KT_AUTO(kt_cpuset) usable = kt_topo_usable_cpuset(t);
	KT_AUTO(kt_cpuset) set = NULL;
	size_t m, first, last;
	const unsigned *u = kt_topo_usable_cpus(t, &m);
	char why[160];

	if (err)
		*err = NULL;
	if (!usable)
		return -ENOMEM;
	switch (spec->kind) {
	case KT_CSPEC_NONE:
		*out = NULL;
		return 0;
	case KT_CSPEC_LLC:
		if (spec->idx >= kt_topo_num_llcs(t)) {
			snprintf(why, sizeof(why), "topology has %u LLC%s", kt_topo_num_llcs(t),
				 kt_topo_num_llcs(t) == 1 ? "" : "s");
			return resolve_fail(err, spec, why);
		}
		set = kt_topo_llc_aligned_cpuset(t, spec->idx);
		if (set)
			kt_cpuset_and(set, usable);
		break;
	case KT_CSPEC_NUMA: {
		KT_AUTO(kt_cpuset) all = kt_topo_all_cpuset(t);
		KT_AUTO(kt_cpuset) nodes = all ? kt_topo_numa_nodes_for_cpuset(t, all) : NULL;

		if (!nodes)
			return -ENOMEM;
		if (!kt_cpuset_test(nodes, spec->idx)) {
			KT_AUTOFREE char *list = kt_cpuset_format(nodes);

			snprintf(why, sizeof(why), "no NUMA node %u (nodes: %s)", spec->idx,
				 list ? list : "?");
			return resolve_fail(err, spec, why);
		}
		set = kt_topo_numa_aligned_cpuset(t, spec->idx);
		if (set)
			kt_cpuset_and(set, usable);
		break;
	}
	case KT_CSPEC_RANGE:
		if (!frac_ok(spec->start_frac) || !frac_ok(spec->end_frac))
			return resolve_fail(err, spec, "fractions must be within [0,1]");
		if (spec->start_frac >= spec->end_frac)
			return resolve_fail(err, spec, "start must be below end");
		first = (size_t)floor(spec->start_frac * (double)m);
		last = (size_t)floor(spec->end_frac * (double)m);
		set = slice(u, first, last < first ? first : last);
		break;
	case KT_CSPEC_DISJOINT:
		if (!spec->of || spec->idx >= spec->of)
			return resolve_fail(err, spec, "index must be below the slice count");
		first = spec->idx * m / spec->of;
		last = (spec->idx + 1) * m / spec->of;
		set = slice(u, first, last);
		break;
	case KT_CSPEC_OVERLAP:
		if (!spec->of || spec->idx >= spec->of)
			return resolve_fail(err, spec, "index must be below the slice count");
		if (!frac_ok(spec->frac))
			return resolve_fail(err, spec, "overlap fraction must be within [0,1]");
		overlap_bounds(m, spec->of, spec->idx, spec->frac, &first, &last);
		set = slice(u, first, last < first ? first : last);
		break;
	case KT_CSPEC_EXACT: {
		KT_AUTO(kt_cpuset) all = kt_topo_all_cpuset(t);
		KT_AUTOFREE char *bad = NULL;
		int r;

		if (!all)
			return -ENOMEM;
		if (!spec->exact)
			return resolve_fail(err, spec, "no cpulist given");
		r = kt_cpuset_parse(spec->exact, &set, &bad);
		if (r == -EINVAL) {
			snprintf(why, sizeof(why), "bad cpulist token '%s'", bad ? bad : "");
			return resolve_fail(err, spec, why);
		}
		if (r)
			return r;
		if (!kt_cpuset_subset(set, all)) {
			KT_AUTOFREE char *have = kt_cpuset_format(all);

			snprintf(why, sizeof(why), "CPUs outside this topology (%s)",
				 have ? have : "?");
			return resolve_fail(err, spec, why);
		}
		break;
	}
	default:
		return resolve_fail(err, spec, "unknown cpuset kind");
	}
	if (!set)
		return -ENOMEM;
	if (kt_cpuset_empty(set)) {
		snprintf(why, sizeof(why), "no usable CPUs on this topology (%zu usable)", m);
		return resolve_fail(err, spec, why);
	}
	*out = kt_take_ptr(set);
	return 0;
}
