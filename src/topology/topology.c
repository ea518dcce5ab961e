/*
 * The topology model: sorted CPUs grouped into cores, LLCs and NUMA nodes,
 * its queries, the builder from a spec (numbered the way the test VM
 * numbers its CPUs) and the human description for `ktstr topo`.
 *
 * Reading sysfs lives in sysfs.c; both paths meet in kt_topo_assemble so
 * every topology has the same invariants: CPUs sorted, each CPU in exactly
 * one core, LLC and node, LLC/core indexes dense and ordered by lowest CPU.
 * Never prints.
 */
#include "topology/topo_internal.h"

#include <errno.h>
#include <string.h>

#include "util/util.h"

/* A sorted CPU list; the first member of every group struct below. */
struct topo_group {
	unsigned *cpus;
	size_t n;
};

struct topo_llc {
	struct topo_group g;
	uint64_t size;
	unsigned ncores;
};

struct topo_core {
	struct topo_group g;
	unsigned llc;
};

struct topo_node {
	struct topo_group g;
	unsigned id;
};

struct kt_topology {
	size_t ncpus;
	unsigned *cpus;
	/* Per CPU, parallel to cpus[]. */
	unsigned *cpu_llc, *cpu_core, *cpu_node_idx;
	size_t nllcs, ncores, nnodes;
	struct topo_llc *llcs;
	struct topo_core *cores;
	struct topo_node *nodes;	/* sorted by id */
	int *dist;			/* nnodes x nnodes, -1 unknown */
};

void kt_topology_free(struct kt_topology *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->llcs && i < t->nllcs; i++)
		free(t->llcs[i].g.cpus);
	for (size_t i = 0; t->cores && i < t->ncores; i++)
		free(t->cores[i].g.cpus);
	for (size_t i = 0; t->nodes && i < t->nnodes; i++)
		free(t->nodes[i].g.cpus);
	free(t->llcs);
	free(t->cores);
	free(t->nodes);
	free(t->dist);
	free(t->cpus);
	free(t->cpu_llc);
	free(t->cpu_core);
	free(t->cpu_node_idx);
	free(t);
}

/* Map arbitrary labels to dense indexes in order of first appearance. */
static int dense_labels(const unsigned *labels, size_t n, size_t nlabels, unsigned *out,
			size_t *ndense)
{
	unsigned *map = malloc((nlabels ? nlabels : 1) * sizeof(*map));
	size_t next = 0;

	if (!map)
		return -ENOMEM;
	for (size_t i = 0; i < nlabels; i++)
		map[i] = ~0u;
	for (size_t i = 0; i < n; i++) {
		if (labels[i] >= nlabels) {
			free(map);
			return -EINVAL;
		}
		if (map[labels[i]] == ~0u)
			map[labels[i]] = (unsigned)next++;
		out[i] = map[labels[i]];
	}
	free(map);
	*ndense = next;
	return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/*
 * Fill the CPU lists of ngroups groups from a per-CPU group index.  Every
 * group struct starts with a struct topo_group, `stride` bytes apart.
 */
static int fill_groups(const struct kt_topology *t, void *base, size_t stride, size_t ngroups,
		       const unsigned *idx_of)
{
#define GROUP(i) ((struct topo_group *)((char *)base + (i) * stride))
	for (size_t i = 0; i < t->ncpus; i++)
		GROUP(idx_of[i])->n++;
	for (size_t g = 0; g < ngroups; g++) {
		GROUP(g)->cpus = malloc(GROUP(g)->n * sizeof(unsigned));
		if (!GROUP(g)->cpus)
			return -ENOMEM;
		GROUP(g)->n = 0;
	}
	for (size_t i = 0; i < t->ncpus; i++) {
		struct topo_group *grp = GROUP(idx_of[i]);

		grp->cpus[grp->n++] = t->cpus[i];
	}
	return 0;
#undef GROUP
}

int kt_topo_assemble(const struct kt_topo_input *in, struct kt_topology **out)
{
	KT_AUTO(kt_topology) t = calloc(1, sizeof(*t));
	size_t n = in->ncpus;
	unsigned *ids;
	int err;

	if (!t)
		return -ENOMEM;
	if (!n)
		return -EINVAL;
	t->ncpus = n;
	t->cpus = malloc(n * sizeof(unsigned));
	t->cpu_llc = malloc(n * sizeof(unsigned));
	t->cpu_core = malloc(n * sizeof(unsigned));
	t->cpu_node_idx = malloc(n * sizeof(unsigned));
	if (!t->cpus || !t->cpu_llc || !t->cpu_core || !t->cpu_node_idx)
		return -ENOMEM;
	memcpy(t->cpus, in->cpus, n * sizeof(unsigned));
	for (size_t i = 1; i < n; i++)
		if (t->cpus[i] <= t->cpus[i - 1])
			return -EINVAL;

	err = dense_labels(in->llc_label, n, in->nllc_labels, t->cpu_llc, &t->nllcs);
	if (!err)
		err = dense_labels(in->core_label, n, n, t->cpu_core, &t->ncores);
	if (err)
		return err;

	/* Node ids: the distinct ids, sorted; cpu_node_idx indexes them. */
	ids = malloc(n * sizeof(unsigned));
	if (!ids)
		return -ENOMEM;
	memcpy(ids, in->node_id, n * sizeof(unsigned));
	qsort(ids, n, sizeof(unsigned), cmp_unsigned);
	for (size_t i = 0; i < n; i++)
		if (!t->nnodes || ids[t->nnodes - 1] != ids[i])
			ids[t->nnodes++] = ids[i];
	t->nodes = calloc(t->nnodes, sizeof(*t->nodes));
	if (!t->nodes) {
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nnodes; i++)
		t->nodes[i].id = ids[i];
	for (size_t i = 0; i < n; i++) {
		unsigned *hit = bsearch(&in->node_id[i], ids, t->nnodes, sizeof(unsigned),
					cmp_unsigned);

		t->cpu_node_idx[i] = (unsigned)(hit - ids);
	}
	free(ids);

	t->llcs = calloc(t->nllcs, sizeof(*t->llcs));
	t->cores = calloc(t->ncores, sizeof(*t->cores));
	t->dist = malloc(t->nnodes * t->nnodes * sizeof(int));
	if (!t->llcs || !t->cores || !t->dist)
		return -ENOMEM;
	if (fill_groups(t, t->llcs, sizeof(*t->llcs), t->nllcs, t->cpu_llc) ||
	    fill_groups(t, t->cores, sizeof(*t->cores), t->ncores, t->cpu_core) ||
	    fill_groups(t, t->nodes, sizeof(*t->nodes), t->nnodes, t->cpu_node_idx))
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		if (in->llc_label_size)
			t->llcs[t->cpu_llc[i]].size = in->llc_label_size[in->llc_label[i]];
		/* A core belongs to the LLC of its first CPU. */
		if (t->cores[t->cpu_core[i]].g.cpus[0] == t->cpus[i]) {
			t->cores[t->cpu_core[i]].llc = t->cpu_llc[i];
			t->llcs[t->cpu_llc[i]].ncores++;
		}
	}

	for (size_t a = 0; a < t->nnodes; a++) {
		for (size_t b = 0; b < t->nnodes; b++) {
			int d = -1;

			for (size_t i = 0; in->dist && i < in->ndist; i++) {
				if (in->dist_ids[i] != t->nodes[a].id)
					continue;
				for (size_t j = 0; j < in->ndist; j++)
					if (in->dist_ids[j] == t->nodes[b].id)
						d = in->dist[i * in->ndist + j];
			}
			t->dist[a * t->nnodes + b] = d;
		}
	}
	*out = kt_take_ptr(t);
	return 0;
}

struct kt_topology *kt_topology_from_spec(const struct kt_topo_spec *s)
{
	unsigned n, llcs_per_node;
	unsigned *cpus, *llc, *core, *node;
	struct kt_topology *t = NULL;
	int *dist;
	unsigned *ids;

	if (!s->numa_nodes || !s->llcs || !s->cores || !s->threads ||
	    s->llcs % s->numa_nodes || kt_topo_spec_cpus(s) > KT_TOPO_MAX_CPUS)
		return NULL;
	n = kt_topo_spec_cpus(s);
	llcs_per_node = s->llcs / s->numa_nodes;
	cpus = malloc(n * sizeof(unsigned));
	llc = malloc(n * sizeof(unsigned));
	core = malloc(n * sizeof(unsigned));
	node = malloc(n * sizeof(unsigned));
	ids = malloc(s->numa_nodes * sizeof(unsigned));
	dist = malloc(s->numa_nodes * s->numa_nodes * sizeof(int));
	if (cpus && llc && core && node && ids && dist) {
		for (unsigned c = 0; c < n; c++) {
			cpus[c] = c;
			core[c] = c / s->threads;
			llc[c] = core[c] / s->cores;
			node[c] = llc[c] / llcs_per_node;
		}
		/* QEMU's defaults when no distances are given: 10 local, 20 remote. */
		for (unsigned a = 0; a < s->numa_nodes; a++) {
			ids[a] = a;
			for (unsigned b = 0; b < s->numa_nodes; b++)
				dist[a * s->numa_nodes + b] = a == b ? 10 : 20;
		}
		struct kt_topo_input in = {
			.ncpus = n, .cpus = cpus, .llc_label = llc, .core_label = core,
			.node_id = node, .nllc_labels = s->llcs,
			.ndist = s->numa_nodes, .dist_ids = ids, .dist = dist,
		};
		if (kt_topo_assemble(&in, &t))
			t = NULL;
	}
	free(cpus);
	free(llc);
	free(core);
	free(node);
	free(ids);
	free(dist);
	return t;
}

static int cpu_pos(const struct kt_topology *t, unsigned cpu)
{
	const unsigned *hit = bsearch(&cpu, t->cpus, t->ncpus, sizeof(unsigned), cmp_unsigned);

	return hit ? (int)(hit - t->cpus) : -1;
}

static int node_pos(const struct kt_topology *t, unsigned id)
{
	for (size_t i = 0; i < t->nnodes; i++)
		if (t->nodes[i].id == id)
			return (int)i;
	return -1;
}

const unsigned *kt_topo_all_cpus(const struct kt_topology *t, size_t *n)
{
	*n = t->ncpus;
	return t->cpus;
}

struct kt_cpuset *kt_topo_all_cpuset(const struct kt_topology *t)
{
	return kt_cpuset_from_array(t->cpus, t->ncpus);
}

/* The last CPU stays outside test cpusets so the root cgroup keeps one. */
const unsigned *kt_topo_usable_cpus(const struct kt_topology *t, size_t *n)
{
	*n = t->ncpus > 2 ? t->ncpus - 1 : t->ncpus;
	return t->cpus;
}

struct kt_cpuset *kt_topo_usable_cpuset(const struct kt_topology *t)
{
	size_t n;
	const unsigned *u = kt_topo_usable_cpus(t, &n);

	return kt_cpuset_from_array(u, n);
}

void kt_cpuset_array_free(struct kt_cpuset **a, size_t n)
{
	if (!a)
		return;
	for (size_t i = 0; i < n; i++)
		kt_cpuset_free(a[i]);
	free(a);
}

struct kt_cpuset **kt_topo_split_by_llc(const struct kt_topology *t, size_t *n)
{
	struct kt_cpuset **a = calloc(t->nllcs, sizeof(*a));

	if (!a)
		return NULL;
	for (size_t i = 0; i < t->nllcs; i++) {
		a[i] = kt_cpuset_from_array(t->llcs[i].g.cpus, t->llcs[i].g.n);
		if (!a[i]) {
			kt_cpuset_array_free(a, t->nllcs);
			return NULL;
		}
	}
	*n = t->nllcs;
	return a;
}

unsigned kt_topo_num_llcs(const struct kt_topology *t)
{
	return (unsigned)t->nllcs;
}

unsigned kt_topo_total_cpus(const struct kt_topology *t)
{
	return (unsigned)t->ncpus;
}

unsigned kt_topo_num_numa_nodes(const struct kt_topology *t)
{
	return (unsigned)t->nnodes;
}

unsigned kt_topo_cores_per_llc(const struct kt_topology *t)
{
	unsigned m = 0;

	for (size_t i = 0; i < t->nllcs; i++)
		if (t->llcs[i].ncores > m)
			m = t->llcs[i].ncores;
	return m;
}

unsigned kt_topo_threads_per_core(const struct kt_topology *t)
{
	size_t m = 0;

	for (size_t i = 0; i < t->ncores; i++)
		if (t->cores[i].g.n > m)
			m = t->cores[i].g.n;
	return (unsigned)m;
}

bool kt_topo_has_smt(const struct kt_topology *t)
{
	return kt_topo_threads_per_core(t) > 1;
}

const unsigned *kt_topo_cpus_in_llc(const struct kt_topology *t, unsigned idx, size_t *n)
{
	if (idx >= t->nllcs)
		return NULL;
	*n = t->llcs[idx].g.n;
	return t->llcs[idx].g.cpus;
}

struct kt_cpuset *kt_topo_llc_aligned_cpuset(const struct kt_topology *t, unsigned idx)
{
	if (idx >= t->nllcs)
		return kt_cpuset_new();
	return kt_cpuset_from_array(t->llcs[idx].g.cpus, t->llcs[idx].g.n);
}

struct kt_cpuset *kt_topo_numa_aligned_cpuset(const struct kt_topology *t, unsigned node)
{
	int p = node_pos(t, node);

	if (p < 0)
		return kt_cpuset_new();
	return kt_cpuset_from_array(t->nodes[p].g.cpus, t->nodes[p].g.n);
}

struct kt_cpuset *kt_topo_numa_nodes_for_cpuset(const struct kt_topology *t,
						const struct kt_cpuset *cpus)
{
	struct kt_cpuset *nodes = kt_cpuset_new();

	if (!nodes)
		return NULL;
	kt_cpuset_for_each(c, cpus) {
		int p = cpu_pos(t, (unsigned)c);

		if (p >= 0 && kt_cpuset_set(nodes, t->nodes[t->cpu_node_idx[p]].id)) {
			kt_cpuset_free(nodes);
			return NULL;
		}
	}
	return nodes;
}

int kt_topo_overlapping_cpusets(const struct kt_topology *t, unsigned n, double frac,
				struct kt_cpuset ***out)
{
	struct kt_cpuset **a;
	int err = 0;

	if (!n)
		return -EINVAL;
	a = calloc(n, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (unsigned i = 0; i < n && !err; i++)
		err = kt_cpuset_spec_resolve(&KT_CPUSET_OVERLAP(i, n, frac), t, &a[i], NULL);
	if (err) {
		kt_cpuset_array_free(a, n);
		return err;
	}
	*out = a;
	return 0;
}

int kt_topo_cpu_llc(const struct kt_topology *t, unsigned cpu)
{
	int p = cpu_pos(t, cpu);

	return p < 0 ? -1 : (int)t->cpu_llc[p];
}

int kt_topo_cpu_node(const struct kt_topology *t, unsigned cpu)
{
	int p = cpu_pos(t, cpu);

	return p < 0 ? -1 : (int)t->nodes[t->cpu_node_idx[p]].id;
}

int kt_topo_cpu_core(const struct kt_topology *t, unsigned cpu)
{
	int p = cpu_pos(t, cpu);

	return p < 0 ? -1 : (int)t->cpu_core[p];
}

uint64_t kt_topo_llc_size_bytes(const struct kt_topology *t, unsigned idx)
{
	return idx < t->nllcs ? t->llcs[idx].size : 0;
}

int kt_topo_node_distance(const struct kt_topology *t, unsigned a, unsigned b)
{
	int pa = node_pos(t, a), pb = node_pos(t, b);

	if (pa < 0 || pb < 0)
		return -1;
	return t->dist[(size_t)pa * t->nnodes + (size_t)pb];
}

void kt_topo_to_spec(const struct kt_topology *t, struct kt_topo_spec *out)
{
	out->numa_nodes = (unsigned)t->nnodes;
	out->llcs = (unsigned)t->nllcs;
	out->cores = kt_topo_cores_per_llc(t);
	out->threads = kt_topo_threads_per_core(t);
}

static int buf_cpulist(struct kt_buf *b, const unsigned *cpus, size_t n)
{
	KT_AUTO(kt_cpuset) s = kt_cpuset_from_array(cpus, n);
	KT_AUTOFREE char *text = s ? kt_cpuset_format(s) : NULL;

	if (!text)
		return -ENOMEM;
	return kt_buf_append(b, text, strlen(text));
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static int describe_into(const struct kt_topology *t, struct kt_buf *b)
{
	struct kt_topo_spec s;
	char spec[64];
	int err;

	kt_topo_to_spec(t, &s);
	kt_topo_spec_format(&s, spec, sizeof(spec));
	err = kt_buf_printf(b, "%s: %zu %s, %zu NUMA %s, %zu %s, %u %s/LLC, %u %s/core\n", spec,
			    t->ncpus, plural(t->ncpus, "CPU", "CPUs"), t->nnodes,
			    plural(t->nnodes, "node", "nodes"), t->nllcs,
			    plural(t->nllcs, "LLC", "LLCs"), s.cores,
			    plural(s.cores, "core", "cores"), s.threads,
			    plural(s.threads, "thread", "threads"));
	for (size_t i = 0; i < t->nnodes && !err; i++) {
		err = kt_buf_printf(b, "node %u: cpus ", t->nodes[i].id);
		if (!err)
			err = buf_cpulist(b, t->nodes[i].g.cpus, t->nodes[i].g.n);
		if (!err && t->dist[i * t->nnodes] >= 0) {
			err = kt_buf_printf(b, ", distances");
			for (size_t j = 0; j < t->nnodes && !err; j++)
				err = kt_buf_printf(b, " %d", t->dist[i * t->nnodes + j]);
		}
		if (!err)
			err = kt_buf_append(b, "\n", 1);
	}
	for (size_t i = 0; i < t->nllcs && !err; i++) {
		const struct topo_llc *l = &t->llcs[i];

		err = kt_buf_printf(b, "llc %zu (node %d): cpus ", i,
				    kt_topo_cpu_node(t, l->g.cpus[0]));
		if (!err)
			err = buf_cpulist(b, l->g.cpus, l->g.n);
		if (!err && l->size)
			err = kt_buf_printf(b, ", %llu KiB", (unsigned long long)(l->size / 1024));
		if (!err)
			err = kt_buf_printf(b, "\n  cores:");
		for (size_t c = 0; c < t->ncores && !err; c++) {
			if (t->cores[c].llc != i)
				continue;
			err = kt_buf_append(b, " ", 1);
			if (!err)
				err = buf_cpulist(b, t->cores[c].g.cpus, t->cores[c].g.n);
		}
		if (!err)
			err = kt_buf_append(b, "\n", 1);
	}
	return err;
}

char *kt_topo_describe(const struct kt_topology *t)
{
	struct kt_buf b = { 0 };

	if (describe_into(t, &b)) {
		kt_buf_release(&b);
		return NULL;
	}
	return b.data;
}
