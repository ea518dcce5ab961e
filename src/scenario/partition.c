/*
 * Catalog cpuset partitions: the cpusets a steady catalog scenario gives
 * its n cgroups under a partition mode.  Everything is carved out of the
 * usable CPUs (never the CPU kept for the root cgroup).  A mode that is
 * impossible on a topology is an error with a reason, never a silently
 * empty set.  Must not touch cgroups and must not print.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static int fail(char **err, int r, const char *fmt, const char *mode, size_t m)
{
	if (err)
		*err = kt_asprintf(fmt, mode, m);
	return r;
}

/* Where to cut m usable CPUs in two; moved off an LLC boundary when asked. */
static size_t half_cut(const struct kt_topology *t, const unsigned *u, size_t m, bool misalign)
{
	size_t cut = m / 2;

	if (!misalign)
		return cut;
	/* A cut at s is LLC-aligned when u[s-1] and u[s] sit in different LLCs. */
	for (size_t d = 0; d < m; d++) {
		size_t s = cut + d;

		for (int k = 0; k < 2; k++, s = cut - d) {
			if (s < 1 || s >= m)
				continue;
			if (kt_topo_cpu_llc(t, u[s - 1]) == kt_topo_cpu_llc(t, u[s]))
				return s;
		}
	}
	return 0;	/* every cut is on a boundary (one CPU per LLC) */
}

int kt_partition_cpusets(const struct kt_topology *t, struct kt_cpuset_partition p, unsigned n,
			 struct kt_cpuset ***out, char **err)
{
	struct kt_cpuset **sets;
	size_t m;
	const unsigned *u = kt_topo_usable_cpus(t, &m);
	int r = 0;

	if (err)
		*err = NULL;
	*out = NULL;
	if (!n) {
		if (err)
			*err = kt_asprintf("partition: no cgroups");
		return -EINVAL;
	}
	sets = calloc(n, sizeof(*sets));
	if (!sets)
		return -ENOMEM;

	switch (p.mode) {
	case KT_PART_NONE:
		break;
	case KT_PART_LLC_ALIGNED: {
		unsigned llcs = kt_topo_num_llcs(t);
		KT_AUTO(kt_cpuset) usable = kt_topo_usable_cpuset(t);

		if (!usable || !llcs) {
			r = -ENOMEM;
			break;
		}
		for (unsigned i = 0; !r && i < n; i++) {
			sets[i] = kt_topo_llc_aligned_cpuset(t, i % llcs);
			if (!sets[i] || kt_cpuset_and(sets[i], usable))
				r = -ENOMEM;
			else if (kt_cpuset_empty(sets[i])) {
				if (err)
					*err = kt_asprintf("partition llc_aligned: LLC %u has no usable CPU",
							   i % llcs);
				r = -EINVAL;
			}
		}
		break;
	}
	case KT_PART_SPLIT_HALF:
	case KT_PART_SPLIT_MISALIGNED: {
		bool mis = p.mode == KT_PART_SPLIT_MISALIGNED;
		size_t cut = m >= 2 ? half_cut(t, u, m, mis) : 0;

		if (!cut) {
			r = fail(err, -EINVAL, "partition %s: cannot split %zu usable CPUs",
				 mis ? "split_misaligned" : "split_half", m);
			break;
		}
		for (unsigned i = 0; !r && i < n; i++) {
			sets[i] = i % 2 ? kt_cpuset_from_array(u + cut, m - cut)
					: kt_cpuset_from_array(u, cut);
			if (!sets[i])
				r = -ENOMEM;
		}
		break;
	}
	case KT_PART_OVERLAP: {
		struct kt_cpuset **ov = NULL;

		r = kt_topo_overlapping_cpusets(t, n, p.frac, &ov);
		if (r == -EINVAL) {
			r = fail(err, r, "partition %s: impossible on %zu usable CPUs", "overlap", m);
			break;
		}
		if (!r) {
			free(sets);
			sets = ov;
		}
		break;
	}
	case KT_PART_UNEVEN: {
		size_t first = (size_t)lround(p.frac * (double)m);

		if (first < 1)
			first = 1;
		if (first > m - 1)
			first = m - 1;
		if (m < 2 || !(p.frac > 0 && p.frac < 1)) {
			r = fail(err, -EINVAL, "partition %s: needs 0 < frac < 1 and 2 usable CPUs (%zu)",
				 "uneven", m);
			break;
		}
		for (unsigned i = 0; !r && i < n; i++) {
			sets[i] = i == 0 ? kt_cpuset_from_array(u, first)
					 : kt_cpuset_from_array(u + first, m - first);
			if (!sets[i])
				r = -ENOMEM;
		}
		break;
	}
	case KT_PART_HOLDBACK: {
		size_t held = (size_t)lround(p.frac * (double)m), rest;

		if (!(p.frac > 0 && p.frac < 1) || m < 2) {
			r = fail(err, -EINVAL, "partition %s: needs 0 < frac < 1 and 2 usable CPUs (%zu)",
				 "holdback", m);
			break;
		}
		if (held < 1)
			held = 1;
		if (held > m - 1)
			held = m - 1;
		rest = m - held;
		if (rest < n) {
			r = fail(err, -EINVAL, "partition %s: %zu usable CPUs left for too many cgroups",
				 "holdback", rest);
			break;
		}
		/* The top `held` usable CPUs stay idle; the rest is split disjointly. */
		for (unsigned i = 0; !r && i < n; i++) {
			size_t a = i * rest / n, b = (i + 1) * rest / n;

			sets[i] = kt_cpuset_from_array(u + a, b - a);
			if (!sets[i])
				r = -ENOMEM;
		}
		break;
	}
	default:
		if (err)
			*err = kt_asprintf("partition: unknown mode %d", (int)p.mode);
		r = -EINVAL;
		break;
	}
	if (r) {
		kt_cpuset_array_free(sets, n);
		return r;
	}
	*out = sets;
	return 0;
}
