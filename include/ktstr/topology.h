/*
 * The machine's CPU topology: CPUs grouped into cores (SMT siblings), LLCs
 * and NUMA nodes, built either from a topology spec ("1n2l4c2t", the shape
 * a test VM is booted with) or from sysfs.  Also CpusetSpec, the
 * declarative way a test names a cpuset ("LLC 1", "the second of three
 * disjoint slices") that is resolved against a topology at run time.
 *
 * Must not know about QEMU or cgroups: the vm module turns a spec into
 * QEMU flags, the cgroup module writes the resolved cpusets.
 */
#ifndef KTSTR_TOPOLOGY_H
#define KTSTR_TOPOLOGY_H

#include <ktstr/common.h>
#include <ktstr/cpuset.h>

/* ---- Topology specs: "NnLlCcTt" ---------------------------------------- */

/* cores = cores per LLC, threads = threads per core. */
struct kt_topo_spec {
	unsigned numa_nodes, llcs, cores, threads;
};

/* Upper bound on numa_nodes * llcs * cores * threads accepted by the parser. */
#define KT_TOPO_MAX_CPUS 512

/*
 * Parse "1n2l4c2t" or a preset name.  On error returns -EINVAL and, if err
 * is non-NULL, stores a malloc'd one-line message naming the input.
 */
KT_API int kt_topo_spec_parse(const char *text, struct kt_topo_spec *out, char **err);
KT_API unsigned kt_topo_spec_cpus(const struct kt_topo_spec *s);
/* "1n2l4c2t" (truncated to n, always NUL-terminated when n > 0). */
KT_API void kt_topo_spec_format(const struct kt_topo_spec *s, char *buf, size_t n);

struct kt_topo_preset {
	const char *name;
	const char *spec;
	const char *description;
};
/* The built-in presets (static table, *n entries). */
KT_API const struct kt_topo_preset *kt_topo_presets(size_t *n);

/* ---- Topology model --------------------------------------------------- */

struct kt_topology;

/*
 * CPUs are numbered as the test VM numbers them: the threads of a core are
 * adjacent, then the cores of an LLC, then LLCs; LLCs are split evenly and
 * in order across NUMA nodes.  NULL on ENOMEM or an invalid spec.
 */
KT_API struct kt_topology *kt_topology_from_spec(const struct kt_topo_spec *s);

/*
 * Read the topology under root ("/" for this machine, or a fake tree):
 * sys/devices/system/cpu/{online,cpuN/topology,cpuN/cache} and
 * sys/devices/system/node/nodeN/{cpulist,distance}.  The LLC is the level-3
 * cache (else the highest level present, else one LLC for all CPUs).  LLC
 * and core indexes are dense and ordered by their lowest CPU.
 */
KT_API int kt_topology_from_sysfs(const char *root, struct kt_topology **out);

KT_API void kt_topology_free(struct kt_topology *t);
KT_DEFINE_FREEP(kt_topology)

/* All online CPUs, sorted. */
KT_API const unsigned *kt_topo_all_cpus(const struct kt_topology *t, size_t *n);
KT_API struct kt_cpuset *kt_topo_all_cpuset(const struct kt_topology *t);
/* All CPUs except the last (kept for the root cgroup) when there are > 2. */
KT_API const unsigned *kt_topo_usable_cpus(const struct kt_topology *t, size_t *n);
KT_API struct kt_cpuset *kt_topo_usable_cpuset(const struct kt_topology *t);
/* One cpuset per LLC, in LLC index order; free with kt_cpuset_array_free. */
KT_API struct kt_cpuset **kt_topo_split_by_llc(const struct kt_topology *t, size_t *n);
KT_API void kt_cpuset_array_free(struct kt_cpuset **a, size_t n);

KT_API unsigned kt_topo_num_llcs(const struct kt_topology *t);
KT_API unsigned kt_topo_total_cpus(const struct kt_topology *t);
/* Nodes that hold at least one online CPU. */
KT_API unsigned kt_topo_num_numa_nodes(const struct kt_topology *t);
/* Maxima over LLCs / cores (machines need not be uniform). */
KT_API unsigned kt_topo_cores_per_llc(const struct kt_topology *t);
KT_API unsigned kt_topo_threads_per_core(const struct kt_topology *t);
KT_API bool kt_topo_has_smt(const struct kt_topology *t);

/* CPUs of LLC idx (sorted), NULL if idx is out of range. */
KT_API const unsigned *kt_topo_cpus_in_llc(const struct kt_topology *t, unsigned idx, size_t *n);
/*
 * Cpuset of LLC idx / of NUMA node id `node`: every online CPU in it, the
 * CPU kept out of scenarios included; empty set if out of range, NULL on
 * ENOMEM.  Not the same as KT_CPUSET_LLC(idx) / KT_CPUSET_NUMA(node), which
 * resolve to that LLC's or node's *usable* CPUs (kt_topo_usable_cpus): on
 * 1n2l2c1t, kt_topo_llc_aligned_cpuset(t, 1) is 2-3, KT_CPUSET_LLC(1) is 2.
 */
KT_API struct kt_cpuset *kt_topo_llc_aligned_cpuset(const struct kt_topology *t, unsigned idx);
KT_API struct kt_cpuset *kt_topo_numa_aligned_cpuset(const struct kt_topology *t, unsigned node);
/* The set of NUMA node ids holding any CPU of cpus (unknown CPUs ignored). */
KT_API struct kt_cpuset *kt_topo_numa_nodes_for_cpuset(const struct kt_topology *t,
						       const struct kt_cpuset *cpus);
/*
 * n cpusets over the usable CPUs, contiguous slices where each shares about
 * frac (0 <= frac <= 1) of its CPUs with the next.  *out is an array of n
 * sets freed with kt_cpuset_array_free.  -EINVAL if n == 0, frac is out of
 * range or a slice would be empty.
 */
KT_API int kt_topo_overlapping_cpusets(const struct kt_topology *t, unsigned n, double frac,
				       struct kt_cpuset ***out);

/* LLC index / NUMA node id / dense core index of a CPU, -1 if unknown. */
KT_API int kt_topo_cpu_llc(const struct kt_topology *t, unsigned cpu);
KT_API int kt_topo_cpu_node(const struct kt_topology *t, unsigned cpu);
KT_API int kt_topo_cpu_core(const struct kt_topology *t, unsigned cpu);
/* LLC size in bytes, 0 if unknown. */
KT_API uint64_t kt_topo_llc_size_bytes(const struct kt_topology *t, unsigned idx);
/* Distance between node ids a and b as in sysfs (10 = local), -1 if unknown. */
KT_API int kt_topo_node_distance(const struct kt_topology *t, unsigned a, unsigned b);

/* The spec that best describes t (max cores/threads for irregular machines). */
KT_API void kt_topo_to_spec(const struct kt_topology *t, struct kt_topo_spec *out);

/*
 * Multi-line human description (summary line, then each node's CPUs, then
 * each LLC's CPUs and its cores' sibling groups).  malloc'd, NULL on ENOMEM.
 */
KT_API char *kt_topo_describe(const struct kt_topology *t);

/* ---- Verification: is this machine the declared one? ------------------ */

/*
 * 0 when `got` has exactly the CPUs, LLC groups, SMT sibling groups and
 * NUMA nodes (ids and CPUs) of a machine built from `want`.  Otherwise
 * -EXDEV with *why a malloc'd line naming the first difference ("LLCs: the
 * guest has 1 (0-7), 1n2l2c2t has 2 (0-3 | 4-7)"); -ENOMEM.
 */
KT_API int kt_topo_verify(const struct kt_topology *got, const struct kt_topo_spec *want,
			  char **why);
/*
 * The kernel's scheduling domains (root/proc/schedstat) against `want`:
 * each CPU's domains must span, in order, its core (SMT), its LLC, its
 * node and all CPUs, skipping levels no wider than the one below.  0 when
 * they do, -EXDEV with *why, -ENOENT when the kernel has no schedstats.
 */
KT_API int kt_topo_verify_domains(const char *root, const struct kt_topo_spec *want, char **why);

/*
 * In a booted guest: the spec the host put on the kernel command line
 * (root/proc/cmdline, "ktstr.topo=SPEC"; the last one wins) against sysfs
 * and the scheduling domains (not with isolcpus= or nohz_full=, which
 * reshape them on purpose).  0 when they match or nothing was declared; -EXDEV with *why
 * (the first difference and the guest's CPU vendor); -ENOMEM.
 */
KT_API int kt_topo_verify_boot(const char *root, char **why);

/* ---- CpusetSpec ------------------------------------------------------- */

enum kt_cpuset_spec_kind {
	KT_CSPEC_NONE = 0,	/* no cpuset: inherit the parent's */
	KT_CSPEC_LLC,		/* idx: that LLC's usable CPUs */
	KT_CSPEC_NUMA,		/* idx: that node's usable CPUs */
	KT_CSPEC_RANGE,		/* [start_frac, end_frac) of the usable CPUs */
	KT_CSPEC_DISJOINT,	/* idx-th of `of` equal contiguous slices */
	KT_CSPEC_OVERLAP,	/* idx-th of `of` slices, neighbours share frac */
	KT_CSPEC_EXACT,		/* exact: a cpulist, subset of all CPUs */
};

struct kt_cpuset_spec {
	enum kt_cpuset_spec_kind kind;
	unsigned idx, of;
	double start_frac, end_frac, frac;
	const char *exact;
};

/*
 * Two forms of each spec.  KT_CPUSET_LLC(1) is a value (a compound
 * literal) for expressions and assignments; KT_CPUSET_LLC_INIT(1) is a
 * braced initializer whose elements are all constant, for static or const
 * tables (`static const struct kt_cgroup_def defs[] = { KT_CGROUP("cg_0",
 * .cpuset = KT_CPUSET_LLC_INIT(1)), { 0 } };`), where ISO C (and
 * -Wpedantic) reject a compound literal as "not constant".
 */
#define KT_CPUSET_LLC_INIT(i) { .kind = KT_CSPEC_LLC, .idx = (i) }
#define KT_CPUSET_NUMA_INIT(n) { .kind = KT_CSPEC_NUMA, .idx = (n) }
#define KT_CPUSET_RANGE_INIT(a, b) { .kind = KT_CSPEC_RANGE, .start_frac = (a), .end_frac = (b) }
#define KT_CPUSET_DISJOINT_INIT(i, n) { .kind = KT_CSPEC_DISJOINT, .idx = (i), .of = (n) }
#define KT_CPUSET_OVERLAP_INIT(i, n, f) \
	{ .kind = KT_CSPEC_OVERLAP, .idx = (i), .of = (n), .frac = (f) }
#define KT_CPUSET_EXACT_INIT(list) { .kind = KT_CSPEC_EXACT, .exact = (list) }

#define KT_CPUSET_LLC(i) ((struct kt_cpuset_spec)KT_CPUSET_LLC_INIT(i))
#define KT_CPUSET_NUMA(n) ((struct kt_cpuset_spec)KT_CPUSET_NUMA_INIT(n))
#define KT_CPUSET_RANGE(a, b) ((struct kt_cpuset_spec)KT_CPUSET_RANGE_INIT(a, b))
#define KT_CPUSET_DISJOINT(i, n) ((struct kt_cpuset_spec)KT_CPUSET_DISJOINT_INIT(i, n))
#define KT_CPUSET_OVERLAP(i, n, f) ((struct kt_cpuset_spec)KT_CPUSET_OVERLAP_INIT(i, n, f))
#define KT_CPUSET_EXACT(list) ((struct kt_cpuset_spec)KT_CPUSET_EXACT_INIT(list))

/*
 * Resolve spec against t.  kind NONE: *out = NULL, returns 0.  Impossible
 * specs return -EINVAL and, if err is non-NULL, a malloc'd one-line reason
 * naming the spec ("llc(3): topology has 2 LLCs").
 */
KT_API int kt_cpuset_spec_resolve(const struct kt_cpuset_spec *spec, const struct kt_topology *t,
				  struct kt_cpuset **out, char **err);
/* "llc(1)", "range(0,0.5)", "overlap(1/3,0.25)", ...; returns buf. */
KT_API const char *kt_cpuset_spec_describe(const struct kt_cpuset_spec *s, char *buf, size_t n);

#endif
