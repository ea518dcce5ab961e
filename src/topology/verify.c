/*
 * Does a machine have the topology it was declared with?  A test VM is
 * booted with a spec, but what the guest kernel makes of QEMU's CPUID
 * and ACPI tables depends on the QEMU version and the CPU vendor, so the
 * guest compares what its sysfs shows (CPUs, SMT siblings, LLCs, NUMA
 * nodes) and, where the kernel exposes them, its scheduling domains with
 * the spec before any test runs.  A mismatch is named in one line, first
 * difference first, so a wrong machine never passes as a test result.
 *
 * Pure comparison: it reads files under a root directory and returns a
 * message; it knows nothing of QEMU or of what the caller does next.
 */
#include "topology/topo_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Group listings in messages stop after this many groups. */
#define SHOW_GROUPS 4

enum group_kind { G_CORE, G_LLC, G_NODE };

static int group_of(const struct kt_topology *t, enum group_kind k, unsigned cpu)
{
	return k == G_CORE ? kt_topo_cpu_core(t, cpu)
	       : k == G_LLC ? kt_topo_cpu_llc(t, cpu)
			    : kt_topo_cpu_node(t, cpu);
}

/* "2 (0-3 | 4-7)": how many groups of a kind and the first few. */
static void describe_groups(struct kt_buf *b, const struct kt_topology *t, enum group_kind k)
{
	size_t n;
	const unsigned *cpus = kt_topo_all_cpus(t, &n);
	struct kt_buf list = { 0 };
	unsigned ngroups = 0;
	int max = -1;

	for (size_t i = 0; i < n; i++)
		if (group_of(t, k, cpus[i]) > max)
			max = group_of(t, k, cpus[i]);
	for (int g = 0; g <= max; g++) {
		KT_AUTO(kt_cpuset) s = kt_cpuset_new();
		KT_AUTOFREE char *text = NULL;

		if (!s)
			break;
		for (size_t i = 0; i < n; i++)
			if (group_of(t, k, cpus[i]) == g)
				kt_cpuset_set(s, cpus[i]);
		if (kt_cpuset_empty(s))
			continue;	/* node ids need not be dense */
		if (ngroups++ == SHOW_GROUPS)
			kt_buf_printf(&list, " | ...");
		if (ngroups > SHOW_GROUPS)
			continue;
		text = kt_cpuset_format(s);
		kt_buf_printf(&list, "%s%s", ngroups > 1 ? " | " : "", text ? text : "?");
	}
	kt_buf_printf(b, "%u (%s)", ngroups, list.data ? list.data : "");
	kt_buf_release(&list);
}

/*
 * Same partition of the same CPUs?  Core and LLC indexes are dense and
 * ordered by lowest CPU in both models, so equal partitions have equal
 * indexes CPU by CPU; node ids are the ones QEMU was given.
 */
static bool same_groups(const struct kt_topology *a, const struct kt_topology *b,
			enum group_kind k)
{
	size_t n;
	const unsigned *cpus = kt_topo_all_cpus(a, &n);

	for (size_t i = 0; i < n; i++)
		if (group_of(a, k, cpus[i]) != group_of(b, k, cpus[i]))
			return false;
	return true;
}

static const char *const kind_name[] = {
	[G_CORE] = "SMT sibling groups (cores)",
	[G_LLC] = "LLCs",
	[G_NODE] = "NUMA nodes",
};

int kt_topo_verify(const struct kt_topology *got, const struct kt_topo_spec *want, char **why)
{
	KT_AUTO(kt_topology) exp = kt_topology_from_spec(want);
	KT_AUTO(kt_cpuset) gs = NULL;
	KT_AUTO(kt_cpuset) es = NULL;
	static const enum group_kind order[] = { G_LLC, G_CORE, G_NODE };
	char spec[32];
	struct kt_buf b = { 0 };

	*why = NULL;
	if (!exp)
		return -ENOMEM;
	kt_topo_spec_format(want, spec, sizeof(spec));
	gs = kt_topo_all_cpuset(got);
	es = kt_topo_all_cpuset(exp);
	if (!gs || !es)
		return -ENOMEM;
	if (!kt_cpuset_equal(gs, es)) {
		KT_AUTOFREE char *g = kt_cpuset_format(gs), *e = kt_cpuset_format(es);

		*why = kt_asprintf("CPUs: the guest has %u online (%s), %s has %u (%s)",
				   kt_cpuset_count(gs), g ? g : "?", spec, kt_cpuset_count(es),
				   e ? e : "?");
		return *why ? -EXDEV : -ENOMEM;
	}
	for (size_t i = 0; i < KT_ARRAY_SIZE(order); i++) {
		if (same_groups(got, exp, order[i]))
			continue;
		kt_buf_printf(&b, "%s: the guest has ", kind_name[order[i]]);
		describe_groups(&b, got, order[i]);
		{
			struct kt_buf e = { 0 };

			describe_groups(&e, exp, order[i]);
			kt_buf_printf(&b, ", %s has %s", spec, e.data ? e.data : "?");
			kt_buf_release(&e);
		}
		*why = b.data;
		return *why ? -EXDEV : -ENOMEM;
	}
	return 0;
}

/* ---- scheduling domains ------------------------------------------------- */

/* A hex cpumask as /proc/schedstat prints it ("0000000f" or "ff,ffffffff"). */
static struct kt_cpuset *parse_hex_mask(const char *text)
{
	struct kt_cpuset *s = kt_cpuset_new();
	size_t len = strlen(text);
	unsigned bit = 0;

	if (!s)
		return NULL;
	for (size_t i = len; i-- > 0;) {
		char c = text[i];
		unsigned v;

		if (c == ',')
			continue;
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else {
			kt_cpuset_free(s);
			return NULL;
		}
		for (unsigned j = 0; j < 4; j++)
			if (v & (1u << j))
				kt_cpuset_set(s, bit + j);
		bit += 4;
	}
	return s;
}

/*
 * A hex cpumask without its commas and leading zeros ("0000000f" and
 * "00000000,0000000f" both give "f"; the empty mask gives ""), written to
 * out (at least len + 1 bytes): masks compare as strings, so the
 * domain check parses no mask unless one differs.
 */
static void hex_normalise(const char *text, size_t len, char *out)
{
	char *o = out;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == ',' || (o == out && text[i] == '0'))
			continue;
		*o++ = text[i];
	}
	*o = '\0';
}

/* The normalised hex mask of a set (malloc'd). */
static char *span_hex(const struct kt_cpuset *s)
{
	int last = kt_cpuset_last(s);
	size_t digits = last < 0 ? 0 : (size_t)last / 4 + 1;
	char *out = malloc(digits + 1);

	if (!out)
		return NULL;
	for (size_t d = 0; d < digits; d++) {
		unsigned v = 0, base = (unsigned)(digits - 1 - d) * 4;

		for (unsigned j = 0; j < 4; j++)
			if (kt_cpuset_test(s, base + j))
				v |= 1u << j;
		out[d] = "0123456789abcdef"[v];
	}
	out[digits] = '\0';
	return out;
}

/*
 * The spans a CPU's domains must have, smallest first: its core (when SMT),
 * its LLC, its node, all CPUs, each kept only when larger than the one
 * below it, since the kernel drops a domain that spans no more than its
 * child, and a one-CPU domain.
 */
static size_t expected_spans(const struct kt_topology *t, unsigned cpu, struct kt_cpuset **out)
{
	struct kt_cpuset *cand[4] = { kt_cpuset_new(), NULL, NULL, kt_topo_all_cpuset(t) };
	size_t n = 0, ncpus = 0;
	int core = kt_topo_cpu_core(t, cpu);
	/* a core's threads share its LLC: look no further */
	const unsigned *cpus = kt_topo_cpus_in_llc(t, (unsigned)kt_topo_cpu_llc(t, cpu), &ncpus);

	if (cand[0])
		for (size_t i = 0; cpus && i < ncpus; i++)
			if (kt_topo_cpu_core(t, cpus[i]) == core)
				kt_cpuset_set(cand[0], cpus[i]);
	cand[1] = kt_topo_llc_aligned_cpuset(t, (unsigned)kt_topo_cpu_llc(t, cpu));
	cand[2] = kt_topo_numa_aligned_cpuset(t, (unsigned)kt_topo_cpu_node(t, cpu));
	for (size_t i = 0; i < 4; i++) {
		if (cand[i] && kt_cpuset_count(cand[i]) > 1 &&
		    (!n || kt_cpuset_count(cand[i]) > kt_cpuset_count(out[n - 1])))
			out[n++] = cand[i];
		else
			kt_cpuset_free(cand[i]);
	}
	return n;
}

/* A CPU's expected spans depend only on its core: computed once per core. */
struct core_spans {
	bool known;
	size_t n;
	struct kt_cpuset *s[4];
	char *hex[4];			/* span_hex of each; NULL: out of memory */
};

static void core_spans_release(struct core_spans *c)
{
	for (size_t i = 0; i < c->n; i++) {
		kt_cpuset_free(c->s[i]);
		free(c->hex[i]);
	}
	c->n = 0;
}

/* "cpuN ..." -> N; -1 when the line is not a CPU line. */
static int cpu_line(const char *line)
{
	char *end;
	long v;

	if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
		return -1;
	v = strtol(line + 3, &end, 10);
	return (*end == ' ' || !*end) && v <= INT_MAX ? (int)v : -1;
}

/*
 * "domainN NAME MASK ..." (version 17) or "domainN MASK ..." (before):
 * N, and where the mask is; false when the line is not a domain line.
 */
static bool domain_line(const char *line, unsigned *level, const char **mask, size_t *len)
{
	const char *p, *f1, *f2;
	size_t l1, l2;
	char *end;

	if (strncmp(line, "domain", 6) || line[6] < '0' || line[6] > '9')
		return false;
	*level = (unsigned)strtoul(line + 6, &end, 10);
	p = end;
	f1 = p + strspn(p, " ");
	l1 = strcspn(f1, " ");
	f2 = f1 + l1 + strspn(f1 + l1, " ");
	l2 = strcspn(f2, " ");
	if (!l1 || !l2)
		return false;
	/* before version 17 the mask comes first: as wide as the machine
	 * (35 characters at 128 CPUs); a name is never all hex digits */
	if (strspn(f1, "0123456789abcdef,") >= l1) {
		*mask = f1;
		*len = l1;
	} else {
		*mask = f2;
		*len = l2;
	}
	return true;
}

int kt_topo_verify_domains(const char *root, const struct kt_topo_spec *want, char **why)
{
	KT_AUTO(kt_topology) exp = kt_topology_from_spec(want);
	KT_AUTOFREE char *path = kt_asprintf("%s/proc/schedstat", root), *text = NULL;
	size_t ncores = kt_topo_spec_cpus(want), seen = 0;
	KT_AUTOFREE struct core_spans *cache = calloc(ncores + 1, sizeof(*cache));
	struct core_spans *cur = NULL;
	char *save = NULL, spec[32];
	int cpu = -1, e = 0;

	*why = NULL;
	if (!exp || !path || !cache)
		return -ENOMEM;
	if (kt_read_file(path, &text, NULL))
		return -ENOENT;	/* no schedstats in this kernel: nothing to compare */
	kt_topo_spec_format(want, spec, sizeof(spec));
	for (char *line = strtok_r(text, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
		unsigned level;
		const char *m;
		size_t mlen;
		int c = line ? cpu_line(line) : -1;

		/* a CPU's block ends at the next CPU line or the end of the file */
		if ((!line || c >= 0) && cur && seen != cur->n) {
			*why = kt_asprintf("scheduling domains: CPU %d has %zu, %s needs %zu "
					   "(SMT, LLC, node, machine, less those no wider than "
					   "the level below)",
					   cpu, seen, spec, cur->n);
			e = -EXDEV;
		}
		if (!line || e)
			break;
		if (c >= 0) {
			int core = kt_topo_cpu_core(exp, (unsigned)c);

			cpu = c;
			/* a CPU the spec lacks (kt_topo_verify says so first) gets the
			 * shared last slot, recomputed */
			cur = &cache[core >= 0 && (size_t)core < ncores ? (size_t)core : ncores];
			if (cur == &cache[ncores])
				core_spans_release(cur);
			if (!cur->known || cur == &cache[ncores]) {
				cur->n = expected_spans(exp, (unsigned)c, cur->s);
				for (size_t i = 0; i < cur->n; i++)
					cur->hex[i] = span_hex(cur->s[i]);
				cur->known = true;
			}
			seen = 0;
			continue;
		}
		if (!cur || !domain_line(line, &level, &m, &mlen))
			continue;
		if (seen < cur->n) {
			char norm[1200];

			if (mlen >= sizeof(norm))
				continue;	/* wider than any machine ktstr boots */
			hex_normalise(m, mlen, norm);
			if (!cur->hex[seen] || strcmp(norm, cur->hex[seen])) {
				char raw[1200];
				KT_AUTO(kt_cpuset) got = NULL;
				KT_AUTOFREE char *g = NULL, *w = kt_cpuset_format(cur->s[seen]);

				memcpy(raw, m, mlen);
				raw[mlen] = '\0';
				got = parse_hex_mask(raw);
				if (got && kt_cpuset_equal(got, cur->s[seen])) {
					seen++;	/* the same span written otherwise */
					continue;
				}
				g = got ? kt_cpuset_format(got) : NULL;
				*why = kt_asprintf("scheduling domains: CPU %d's domain%u spans %s, "
						   "%s needs %s",
						   cpu, level, g ? g : "?", spec, w ? w : "?");
				e = -EXDEV;
				break;
			}
		}
		seen++;
	}
	for (size_t c = 0; c <= ncores; c++)
		core_spans_release(&cache[c]);
	if (e == -EXDEV && !*why)
		e = -ENOMEM;
	return e;
}

/* ---- in the booted guest ------------------------------------------------ */

int kt_topo_verify_boot_keep(const char *root, char **why, struct kt_topology **seen)
{
	KT_AUTOFREE char *cmdline_path = kt_asprintf("%s/proc/cmdline", root), *cmdline = NULL;
	KT_AUTOFREE char *cpuinfo_path = kt_asprintf("%s/proc/cpuinfo", root), *cpuinfo = NULL;
	KT_AUTOFREE char *diff = NULL;
	KT_AUTO(kt_topology) got = NULL;
	struct kt_topo_spec want;
	char spec[64] = "", vendor[64] = "?";
	const char *p = NULL;
	int e;

	*why = NULL;
	if (!cmdline_path || !cpuinfo_path)
		return -ENOMEM;
	if (kt_read_file(cmdline_path, &cmdline, NULL))
		return 0;
	/* the last one wins, as for the kernel's own arguments */
	for (const char *q = strstr(cmdline, "ktstr.topo="); q; q = strstr(q + 1, "ktstr.topo="))
		p = q;
	if (!p || sscanf(p + 11, "%63[^ \n]", spec) != 1 || kt_topo_spec_parse(spec, &want, NULL))
		return 0;	/* nothing declared: nothing to hold the machine to */
	e = kt_topology_from_sysfs(root, &got);
	if (e) {
		*why = kt_asprintf("cannot read the guest's topology: %s", strerror(-e));
		return *why ? -EXDEV : -ENOMEM;
	}
	e = kt_topo_verify(got, &want, &diff);
	/* CPUs taken out of the scheduler's domains on purpose change them */
	if (!e && !strstr(cmdline, "isolcpus=") && !strstr(cmdline, "nohz_full="))
		e = kt_topo_verify_domains(root, &want, &diff);
	if (e == -EXDEV) {
		/* the vendor is the usual cause: Intel and AMD guests read LLCs differently */
		if (kt_read_file(cpuinfo_path, &cpuinfo, NULL) == 0 &&
		    (p = strstr(cpuinfo, "vendor_id")) && (p = strchr(p, ':')))
			sscanf(p + 1, " %63s", vendor);
		*why = kt_asprintf("%s (guest CPU vendor %s)", diff, vendor);
		return *why ? -EXDEV : -ENOMEM;
	}
	if (e == -ENOMEM)
		return e;
	if (seen)
		*seen = kt_take_ptr(got);	/* the machine as verified: no second read */
	return 0;
}

int kt_topo_verify_boot(const char *root, char **why)
{
	return kt_topo_verify_boot_keep(root, why, NULL);
}
