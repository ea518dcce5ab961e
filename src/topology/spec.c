/*
 * Topology specs ("1n2l4c2t": NUMA nodes, LLCs, cores per LLC, threads per
 * core) and the table of named presets.
 *
 * This is pure text <-> numbers; building a topology from a spec lives in
 * topology.c, and turning it into QEMU flags belongs to the vm module.
 */
#include <ktstr/topology.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

static const struct kt_topo_preset presets[] = {
	{ "tiny-1llc", "1n1l4c1t", "4 CPUs in one LLC" },
	{ "tiny-2llc", "1n2l2c1t", "2 LLCs of 2 cores" },
	{ "odd-3llc", "1n3l3c1t", "3 LLCs of 3 cores (odd counts)" },
	{ "odd-5llc", "1n5l3c1t", "5 LLCs of 3 cores (odd counts)" },
	{ "odd-7llc", "1n7l2c1t", "7 LLCs of 2 cores (odd counts)" },
	{ "smt-2llc", "1n2l2c2t", "2 LLCs of 2 SMT-2 cores" },
	{ "smt-3llc", "1n3l2c2t", "3 LLCs of 2 SMT-2 cores" },
	{ "medium-4llc", "1n4l4c2t", "4 LLCs of 4 SMT-2 cores (32 CPUs)" },
	{ "medium-8llc", "1n8l4c2t", "8 LLCs of 4 SMT-2 cores (64 CPUs)" },
	{ "large-4llc", "1n4l16c2t", "4 LLCs of 16 SMT-2 cores (128 CPUs)" },
	{ "large-8llc", "1n8l8c2t", "8 LLCs of 8 SMT-2 cores (128 CPUs)" },
	{ "near-max-llc", "1n15l8c2t", "15 LLCs of 8 SMT-2 cores (240 CPUs)" },
	{ "max-cpu", "1n14l9c2t", "14 LLCs of 9 SMT-2 cores (252 CPUs)" },
	{ "medium-4llc-nosmt", "1n4l8c1t", "4 LLCs of 8 cores, no SMT (32 CPUs)" },
	{ "medium-8llc-nosmt", "1n8l8c1t", "8 LLCs of 8 cores, no SMT (64 CPUs)" },
	{ "large-4llc-nosmt", "1n4l32c1t", "4 LLCs of 32 cores, no SMT (128 CPUs)" },
	{ "large-8llc-nosmt", "1n8l16c1t", "8 LLCs of 16 cores, no SMT (128 CPUs)" },
	{ "near-max-llc-nosmt", "1n15l16c1t", "15 LLCs of 16 cores, no SMT (240 CPUs)" },
	{ "max-cpu-nosmt", "1n14l18c1t", "14 LLCs of 18 cores, no SMT (252 CPUs)" },
	{ "numa2-4llc", "2n4l4c1t", "2 NUMA nodes, 2 LLCs each, 4 cores per LLC" },
	{ "numa2-8llc", "2n8l8c2t", "2 NUMA nodes, 4 LLCs each, 8 SMT-2 cores per LLC" },
	{ "numa2-8llc-nosmt", "2n8l16c1t", "2 NUMA nodes, 4 LLCs each, 16 cores per LLC" },
	{ "numa4-8llc", "4n8l4c1t", "4 NUMA nodes, 2 LLCs each, 4 cores per LLC" },
	{ "numa4-12llc", "4n12l8c2t", "4 NUMA nodes, 3 LLCs each, 8 SMT-2 cores per LLC" },
};

const struct kt_topo_preset *kt_topo_presets(size_t *n)
{
	*n = KT_ARRAY_SIZE(presets);
	return presets;
}

unsigned kt_topo_spec_cpus(const struct kt_topo_spec *s)
{
	return s->llcs * s->cores * s->threads;
}

void kt_topo_spec_format(const struct kt_topo_spec *s, char *buf, size_t n)
{
	if (n)
		snprintf(buf, n, "%un%ul%uc%ut", s->numa_nodes, s->llcs, s->cores, s->threads);
}

static int spec_fail(char **err, char *msg)
{
	if (err)
		*err = msg;
	else
		free(msg);
	return -EINVAL;
}

/*
 * Number then the expected letter.  Counts are bounded while reading so a
 * long digit string cannot overflow before the CPU-count check.
 */
static bool take_count(const char **p, char letter, unsigned *out)
{
	unsigned long v = 0;
	const char *q = *p;

	if (!isdigit((unsigned char)*q))
		return false;
	for (; isdigit((unsigned char)*q); q++) {
		v = v * 10 + (unsigned long)(*q - '0');
		if (v > 100000)
			return false;
	}
	if (*q != letter)
		return false;
	*out = (unsigned)v;
	*p = q + 1;
	return true;
}

static bool looks_like_spec(const char *t)
{
	/* Starts with a digit: meant as NnLlCcTt, so report a shape error. */
	return isdigit((unsigned char)t[0]);
}

int kt_topo_spec_parse(const char *text, struct kt_topo_spec *out, char **err)
{
	struct kt_topo_spec s = { 0 };
	const char *p = text;
	unsigned long long cpus;

	if (err)
		*err = NULL;
	if (!text || !*text)
		return spec_fail(err, kt_asprintf("bad topology '': empty; expected NnLlCcTt "
						  "(e.g. 1n2l4c2t) or a preset name (ktstr topo --list)"));
	if (!looks_like_spec(text)) {
		for (size_t i = 0; i < KT_ARRAY_SIZE(presets); i++)
			if (!strcmp(presets[i].name, text))
				return kt_topo_spec_parse(presets[i].spec, out, err);
		return spec_fail(err, kt_asprintf("bad topology '%s': unknown preset name "
						  "(ktstr topo --list) and not NnLlCcTt (e.g. 1n2l4c2t)",
						  text));
	}
	if (!take_count(&p, 'n', &s.numa_nodes) || !take_count(&p, 'l', &s.llcs) ||
	    !take_count(&p, 'c', &s.cores) || !take_count(&p, 't', &s.threads) || *p)
		return spec_fail(err, kt_asprintf("bad topology '%s': expected NnLlCcTt (e.g. "
						  "1n2l4c2t) or a preset name (ktstr topo --list)",
						  text));
	if (!s.numa_nodes || !s.llcs || !s.cores || !s.threads)
		return spec_fail(err, kt_asprintf("bad topology '%s': every count must be at "
						  "least 1", text));
	if (s.llcs % s.numa_nodes)
		return spec_fail(err, kt_asprintf("bad topology '%s': %u LLCs cannot be split "
						  "evenly across %u NUMA nodes",
						  text, s.llcs, s.numa_nodes));
	cpus = (unsigned long long)s.llcs * s.cores * s.threads;
	if (cpus > KT_TOPO_MAX_CPUS)
		return spec_fail(err, kt_asprintf("bad topology '%s': %llu CPUs exceeds the "
						  "limit of %d", text, cpus, KT_TOPO_MAX_CPUS));
	*out = s;
	return 0;
}
