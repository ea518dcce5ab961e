/*
 * Unit tests for the topology model: spec parsing and presets, topologies
 * built from specs, topologies read from fake sysfs trees written into a
 * temp dir (plus a smoke run against this host's real sysfs), every query,
 * and CpusetSpec resolution including each impossible case.
 */
#include <ktstr/topology.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/util.h"

/* ---- helpers ---------------------------------------------------------- */

static void assert_set(const struct kt_cpuset *s, const char *want)
{
	char *text;

	assert_non_null(s);
	text = kt_cpuset_format(s);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
}

static void assert_list(const unsigned *cpus, size_t n, const char *want)
{
	KT_AUTO(kt_cpuset) s = kt_cpuset_from_array(cpus, n);

	/* Lists must be sorted, not just contain the right members. */
	for (size_t i = 1; i < n; i++)
		assert_true(cpus[i - 1] < cpus[i]);
	assert_set(s, want);
}

static struct kt_topology *topo(const char *spec)
{
	struct kt_topo_spec s;
	struct kt_topology *t;

	assert_int_equal(kt_topo_spec_parse(spec, &s, NULL), 0);
	t = kt_topology_from_spec(&s);
	assert_non_null(t);
	return t;
}

/* Write root/rel (creating directories); content NULL makes a directory. */
static void put(const char *root, const char *rel, const char *content)
{
	KT_AUTOFREE char *path = kt_asprintf("%s/%s", root, rel);
	char *slash;

	assert_non_null(path);
	if (!content) {
		assert_int_equal(kt_mkdir_p(path, 0755), 0);
		return;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(kt_mkdir_p(path, 0755), 0);
	*slash = '/';
	assert_int_equal(kt_write_whole(path, content, strlen(content), 0644), 0);
}

static void putf(const char *root, const char *content, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void putf(const char *root, const char *content, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	put(root, rel, content);
}

static char *make_root(void)
{
	char tmpl[] = "/tmp/kt-topo-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static void drop_root(char *root)
{
	assert_int_equal(kt_rm_rf(root), 0);
	free(root);
}

#define CPU "sys/devices/system/cpu"
#define NODE "sys/devices/system/node"

static void put_cache(const char *root, unsigned cpu, unsigned idx, unsigned level,
		      const char *type, const char *shared, const char *size, unsigned id)
{
	char idbuf[16], lvl[16];

	snprintf(lvl, sizeof(lvl), "%u\n", level);
	snprintf(idbuf, sizeof(idbuf), "%u\n", id);
	putf(root, lvl, CPU "/cpu%u/cache/index%u/level", cpu, idx);
	putf(root, type, CPU "/cpu%u/cache/index%u/type", cpu, idx);
	putf(root, shared, CPU "/cpu%u/cache/index%u/shared_cpu_list", cpu, idx);
	putf(root, size, CPU "/cpu%u/cache/index%u/size", cpu, idx);
	putf(root, idbuf, CPU "/cpu%u/cache/index%u/id", cpu, idx);
}

/*
 * An Intel-style 2-LLC SMT machine: 8 online CPUs, siblings {n, n+4},
 * LLC 0 = 0-1,4-5 and LLC 1 = 2-3,6-7, one NUMA node per LLC, plus an L4.  CPU 8 exists
 * but is offline and must be ignored even where sysfs lists it.
 */
static char *fake_smt_2llc(void)
{
	char *root = make_root();

	put(root, CPU "/online", "0-7\n");
	for (unsigned c = 0; c <= 8; c++) {
		unsigned core = c % 4, llc = core / 2;
		char sib[32], l3[32], cid[16];

		snprintf(sib, sizeof(sib), c == 8 ? "8\n" : "%u,%u\n", core, core + 4);
		snprintf(l3, sizeof(l3), llc ? "2-3,6-8\n" : "0-1,4-5\n");
		snprintf(cid, sizeof(cid), "%u\n", core);
		putf(root, cid, CPU "/cpu%u/topology/core_id", c);
		putf(root, sib, CPU "/cpu%u/topology/thread_siblings_list", c);
		putf(root, sib, CPU "/cpu%u/topology/core_cpus_list", c);
		put_cache(root, c, 0, 1, "Data\n", sib, "48K\n", core);
		put_cache(root, c, 1, 1, "Instruction\n", sib, "32K\n", core);
		put_cache(root, c, 2, 2, "Unified\n", sib, "2048K\n", core);
		put_cache(root, c, 3, 3, "Unified\n", l3, "16384K\n", llc);
		/* An L4 (eDRAM-style) shared by all: level 3 must still win. */
		put_cache(root, c, 4, 4, "Unified\n", "0-8\n", "128M\n", 0);
	}
	put(root, NODE "/node0/cpulist", "0-1,4-5\n");
	put(root, NODE "/node0/distance", "10 21\n");
	put(root, NODE "/node1/cpulist", "2-3,6-8\n");
	put(root, NODE "/node1/distance", "21 10\n");
	put(root, NODE "/possible", "0-1\n");	/* not a node directory */
	return root;
}

/*
 * No index3 and no sibling lists: L2 (the highest level) is the LLC and
 * core_id alone defines cores.  No node directory at all.
 */
static char *fake_no_l3(void)
{
	char *root = make_root();

	put(root, CPU "/online", "0-3\n");
	for (unsigned c = 0; c < 4; c++) {
		char cid[16], self[16];

		snprintf(cid, sizeof(cid), "%u\n", c);
		snprintf(self, sizeof(self), "%u\n", c);
		putf(root, cid, CPU "/cpu%u/topology/core_id", c);
		put_cache(root, c, 0, 1, "Data\n", self, "32K\n", c);
		put_cache(root, c, 2, 2, "Unified\n", c < 2 ? "0-1\n" : "2-3\n", "1M\n", c / 2);
	}
	return root;
}

/* Nothing but cpuN directories: no online file, no caches; cpu2 offline. */
static char *fake_bare(void)
{
	char *root = make_root();

	for (unsigned c = 0; c < 4; c++)
		putf(root, NULL, CPU "/cpu%u", c);
	put(root, CPU "/cpu2/online", "0\n");
	put(root, CPU "/cpu1/online", "1\n");
	put(root, CPU "/cpufreq/x", "");	/* not a CPU directory */
	return root;
}

/* ---- specs and presets ------------------------------------------------ */

static void test_spec_parse(void **state)
{
	struct kt_topo_spec s;
	char buf[32];

	assert_int_equal(kt_topo_spec_parse("1n2l4c2t", &s, NULL), 0);
	assert_int_equal(s.numa_nodes, 1);
	assert_int_equal(s.llcs, 2);
	assert_int_equal(s.cores, 4);
	assert_int_equal(s.threads, 2);
	assert_int_equal(kt_topo_spec_cpus(&s), 16);
	kt_topo_spec_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "1n2l4c2t");

	assert_int_equal(kt_topo_spec_parse("4n12l8c2t", &s, NULL), 0);
	assert_int_equal(kt_topo_spec_cpus(&s), 192);
	kt_topo_spec_format(&s, buf, 5);	/* truncation stays terminated */
	assert_string_equal(buf, "4n12");
}

static void test_presets(void **state)
{
	size_t n;
	const struct kt_topo_preset *p = kt_topo_presets(&n);

	assert_int_equal(n, 24);
	for (size_t i = 0; i < n; i++) {
		struct kt_topo_spec by_name, by_spec;
		char buf[32], *err = NULL;

		assert_int_equal(kt_topo_spec_parse(p[i].name, &by_name, &err), 0);
		assert_null(err);
		assert_int_equal(kt_topo_spec_parse(p[i].spec, &by_spec, NULL), 0);
		assert_memory_equal(&by_name, &by_spec, sizeof(by_spec));
		kt_topo_spec_format(&by_name, buf, sizeof(buf));
		assert_string_equal(buf, p[i].spec);
		assert_non_null(p[i].description);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(p[i].name, p[j].name);

		KT_AUTO(kt_topology) t = kt_topology_from_spec(&by_spec);
		assert_non_null(t);
		assert_int_equal(kt_topo_total_cpus(t), kt_topo_spec_cpus(&by_spec));
	}
	struct kt_topo_spec s;
	assert_int_equal(kt_topo_spec_parse("max-cpu", &s, NULL), 0);
	assert_int_equal(kt_topo_spec_cpus(&s), 252);
	assert_int_equal(kt_topo_spec_parse("numa4-12llc", &s, NULL), 0);
	assert_int_equal(s.numa_nodes, 4);
	assert_int_equal(s.llcs, 12);
}

static void expect_spec_error(const char *text, const char *want)
{
	struct kt_topo_spec s = { 7, 7, 7, 7 };
	char *err = NULL;

	assert_int_equal(kt_topo_spec_parse(text, &s, &err), -EINVAL);
	assert_non_null(err);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
	assert_int_equal(s.numa_nodes, 7);	/* untouched on error */
	free(err);
	assert_int_equal(kt_topo_spec_parse(text, &s, NULL), -EINVAL);
}

static void test_spec_errors(void **state)
{
	expect_spec_error("0n1l1c1t", "bad topology '0n1l1c1t': every count must be at least 1");
	expect_spec_error("1n0l1c1t", "at least 1");
	expect_spec_error("1n3l", "bad topology '1n3l': expected NnLlCcTt (e.g. 1n2l4c2t) or a "
				  "preset name (ktstr topo --list)");
	expect_spec_error("2n3l2c1t", "bad topology '2n3l2c1t': 3 LLCs cannot be split evenly "
				      "across 2 NUMA nodes");
	expect_spec_error("abc", "bad topology 'abc': unknown preset");
	expect_spec_error("", "bad topology ''");
	expect_spec_error("1n2l4c2t ", "expected NnLlCcTt");
	expect_spec_error("1n2l4c2tx", "expected NnLlCcTt");
	expect_spec_error("1N2L4C2T", "expected NnLlCcTt");
	expect_spec_error("1n-2l4c2t", "expected NnLlCcTt");
	expect_spec_error("1n64l8c2t", "1024 CPUs exceeds the limit of 512");
	expect_spec_error("1n99999999999l1c1t", "expected NnLlCcTt");
	expect_spec_error("tiny", "unknown preset");

	/* from_spec refuses what the parser refuses. */
	struct kt_topo_spec bad = { 2, 3, 2, 1 };
	assert_null(kt_topology_from_spec(&bad));
	struct kt_topo_spec zero = { 1, 0, 1, 1 };
	assert_null(kt_topology_from_spec(&zero));
}

/* ---- topology from specs ---------------------------------------------- */

static void test_from_spec_smt(void **state)
{
	KT_AUTO(kt_topology) t = topo("1n2l4c2t");
	size_t n;
	const unsigned *c;

	assert_int_equal(kt_topo_total_cpus(t), 16);
	assert_int_equal(kt_topo_num_llcs(t), 2);
	assert_int_equal(kt_topo_num_numa_nodes(t), 1);
	assert_int_equal(kt_topo_cores_per_llc(t), 4);
	assert_int_equal(kt_topo_threads_per_core(t), 2);
	assert_true(kt_topo_has_smt(t));

	c = kt_topo_all_cpus(t, &n);
	assert_list(c, n, "0-15");
	c = kt_topo_cpus_in_llc(t, 0, &n);
	assert_non_null(c);
	assert_list(c, n, "0-7");
	c = kt_topo_cpus_in_llc(t, 1, &n);
	assert_list(c, n, "8-15");
	assert_null(kt_topo_cpus_in_llc(t, 2, &n));

	/* SMT siblings {0,1}: same core; 1 and 2 are different cores. */
	assert_int_equal(kt_topo_cpu_core(t, 0), kt_topo_cpu_core(t, 1));
	assert_int_not_equal(kt_topo_cpu_core(t, 1), kt_topo_cpu_core(t, 2));
	assert_int_equal(kt_topo_cpu_core(t, 15), 7);
	assert_int_equal(kt_topo_cpu_llc(t, 7), 0);
	assert_int_equal(kt_topo_cpu_llc(t, 8), 1);
	assert_int_equal(kt_topo_cpu_node(t, 15), 0);
	assert_int_equal(kt_topo_cpu_llc(t, 16), -1);
	assert_int_equal(kt_topo_cpu_node(t, 16), -1);
	assert_int_equal(kt_topo_cpu_core(t, 16), -1);
	assert_int_equal(kt_topo_llc_size_bytes(t, 0), 0);
	assert_int_equal(kt_topo_node_distance(t, 0, 0), 10);
	assert_int_equal(kt_topo_node_distance(t, 0, 1), -1);

	struct kt_topo_spec back;
	kt_topo_to_spec(t, &back);
	assert_int_equal(back.llcs, 2);
	assert_int_equal(back.cores, 4);
	assert_int_equal(back.threads, 2);
}

static void test_from_spec_numa(void **state)
{
	KT_AUTO(kt_topology) t = topo("2n4l2c1t");
	KT_AUTO(kt_cpuset) n0 = kt_topo_numa_aligned_cpuset(t, 0);
	KT_AUTO(kt_cpuset) n1 = kt_topo_numa_aligned_cpuset(t, 1);
	KT_AUTO(kt_cpuset) n2 = kt_topo_numa_aligned_cpuset(t, 2);
	KT_AUTO(kt_cpuset) l3 = kt_topo_llc_aligned_cpuset(t, 3);
	KT_AUTO(kt_cpuset) l9 = kt_topo_llc_aligned_cpuset(t, 9);

	assert_int_equal(kt_topo_num_numa_nodes(t), 2);
	assert_int_equal(kt_topo_num_llcs(t), 4);
	assert_false(kt_topo_has_smt(t));
	assert_int_equal(kt_topo_threads_per_core(t), 1);
	assert_int_equal(kt_topo_cores_per_llc(t), 2);
	assert_set(n0, "0-3");
	assert_set(n1, "4-7");
	assert_set(n2, "");
	assert_set(l3, "6-7");
	assert_set(l9, "");
	assert_int_equal(kt_topo_cpu_node(t, 3), 0);
	assert_int_equal(kt_topo_cpu_node(t, 4), 1);
	assert_int_equal(kt_topo_cpu_llc(t, 5), 2);
	assert_int_equal(kt_topo_node_distance(t, 0, 1), 20);
	assert_int_equal(kt_topo_node_distance(t, 1, 1), 10);
	assert_int_equal(kt_topo_node_distance(t, 1, 2), -1);

	KT_AUTO(kt_cpuset) q = NULL;
	assert_int_equal(kt_cpuset_parse("3,7", &q, NULL), 0);
	KT_AUTO(kt_cpuset) nodes = kt_topo_numa_nodes_for_cpuset(t, q);
	assert_set(nodes, "0-1");
	KT_AUTO(kt_cpuset) q2 = NULL;
	assert_int_equal(kt_cpuset_parse("5,100", &q2, NULL), 0);
	KT_AUTO(kt_cpuset) nodes2 = kt_topo_numa_nodes_for_cpuset(t, q2);
	assert_set(nodes2, "1");

	size_t n;
	struct kt_cpuset **llcs = kt_topo_split_by_llc(t, &n);
	assert_non_null(llcs);
	assert_int_equal(n, 4);
	assert_set(llcs[0], "0-1");
	assert_set(llcs[1], "2-3");
	assert_set(llcs[2], "4-5");
	assert_set(llcs[3], "6-7");
	kt_cpuset_array_free(llcs, n);
	kt_cpuset_array_free(NULL, 0);
}

static void test_usable(void **state)
{
	size_t n;
	const unsigned *u;

	{
		KT_AUTO(kt_topology) t = topo("1n2l4c2t");
		KT_AUTO(kt_cpuset) all = kt_topo_all_cpuset(t);
		KT_AUTO(kt_cpuset) us = kt_topo_usable_cpuset(t);

		u = kt_topo_usable_cpus(t, &n);
		assert_list(u, n, "0-14");
		assert_set(all, "0-15");
		assert_set(us, "0-14");
	}
	{
		/* Two CPUs: nothing is held back. */
		KT_AUTO(kt_topology) t = topo("1n1l2c1t");
		KT_AUTO(kt_cpuset) us = kt_topo_usable_cpuset(t);

		u = kt_topo_usable_cpus(t, &n);
		assert_int_equal(n, 2);
		assert_set(us, "0-1");
	}
	{
		KT_AUTO(kt_topology) t = topo("1n1l3c1t");

		u = kt_topo_usable_cpus(t, &n);
		assert_list(u, n, "0-1");
	}
	{
		KT_AUTO(kt_topology) t = topo("1n1l1c1t");

		u = kt_topo_usable_cpus(t, &n);
		assert_list(u, n, "0");
	}
}

static void test_overlapping(void **state)
{
	KT_AUTO(kt_topology) t = topo("1n2l4c2t");	/* usable 0-14 */
	struct kt_cpuset **sets = NULL;

	assert_int_equal(kt_topo_overlapping_cpusets(t, 3, 0.5, &sets), 0);
	assert_set(sets[0], "0-7");
	assert_set(sets[1], "4-10");
	assert_set(sets[2], "8-14");
	/* Neighbours share about half their CPUs; non-neighbours nothing. */
	KT_AUTO(kt_cpuset) x = kt_cpuset_dup(sets[0]);
	kt_cpuset_and(x, sets[1]);
	assert_int_equal(kt_cpuset_count(x), 4);
	assert_false(kt_cpuset_intersects(sets[0], sets[2]));
	kt_cpuset_array_free(sets, 3);

	assert_int_equal(kt_topo_overlapping_cpusets(t, 3, 0.0, &sets), 0);
	assert_set(sets[0], "0-4");
	assert_set(sets[1], "5-9");
	assert_set(sets[2], "10-14");
	kt_cpuset_array_free(sets, 3);

	assert_int_equal(kt_topo_overlapping_cpusets(t, 1, 0.3, &sets), 0);
	assert_set(sets[0], "0-14");
	kt_cpuset_array_free(sets, 1);

	assert_int_equal(kt_topo_overlapping_cpusets(t, 0, 0.5, &sets), -EINVAL);
	assert_int_equal(kt_topo_overlapping_cpusets(t, 2, 1.5, &sets), -EINVAL);
	assert_int_equal(kt_topo_overlapping_cpusets(t, 2, -0.1, &sets), -EINVAL);
	assert_int_equal(kt_topo_overlapping_cpusets(t, 40, 0.0, &sets), -EINVAL);
}

static void test_describe_spec(void **state)
{
	KT_AUTO(kt_topology) t = topo("1n2l4c2t");
	KT_AUTOFREE char *d = kt_topo_describe(t);

	assert_non_null(d);
	assert_non_null(strstr(d, "1n2l4c2t: 16 CPUs, 1 NUMA node, 2 LLCs, 4 cores/LLC, "
				  "2 threads/core\n"));
	assert_non_null(strstr(d, "node 0: cpus 0-15"));
	assert_non_null(strstr(d, "llc 0 (node 0): cpus 0-7\n  cores: 0-1 2-3 4-5 6-7\n"));
	assert_non_null(strstr(d, "llc 1 (node 0): cpus 8-15\n  cores: 8-9 10-11 12-13 14-15\n"));

	KT_AUTO(kt_topology) t2 = topo("2n4l2c1t");
	KT_AUTOFREE char *d2 = kt_topo_describe(t2);
	assert_non_null(strstr(d2, "2n4l2c1t: 8 CPUs, 2 NUMA nodes, 4 LLCs, 2 cores/LLC, "
				   "1 thread/core\n"));
	assert_non_null(strstr(d2, "node 1: cpus 4-7, distances 20 10\n"));
	assert_non_null(strstr(d2, "llc 3 (node 1): cpus 6-7\n  cores: 6 7\n"));
}

/* ---- topology from sysfs ---------------------------------------------- */

static void test_sysfs_smt_2llc(void **state)
{
	char *root = fake_smt_2llc();
	struct kt_topology *t = NULL;
	size_t n;
	const unsigned *c;

	assert_int_equal(kt_topology_from_sysfs(root, &t), 0);
	assert_int_equal(kt_topo_total_cpus(t), 8);
	c = kt_topo_all_cpus(t, &n);
	assert_list(c, n, "0-7");
	assert_int_equal(kt_topo_num_llcs(t), 2);
	c = kt_topo_cpus_in_llc(t, 0, &n);
	assert_list(c, n, "0-1,4-5");
	c = kt_topo_cpus_in_llc(t, 1, &n);
	assert_list(c, n, "2-3,6-7");
	assert_int_equal(kt_topo_llc_size_bytes(t, 0), 16384ull * 1024);
	assert_int_equal(kt_topo_llc_size_bytes(t, 2), 0);
	assert_true(kt_topo_has_smt(t));
	assert_int_equal(kt_topo_threads_per_core(t), 2);
	assert_int_equal(kt_topo_cores_per_llc(t), 2);
	assert_int_equal(kt_topo_cpu_core(t, 1), kt_topo_cpu_core(t, 5));
	assert_int_not_equal(kt_topo_cpu_core(t, 0), kt_topo_cpu_core(t, 1));
	/* Dense core indexes ordered by lowest CPU. */
	assert_int_equal(kt_topo_cpu_core(t, 0), 0);
	assert_int_equal(kt_topo_cpu_core(t, 3), 3);
	assert_int_equal(kt_topo_cpu_core(t, 7), 3);
	assert_int_equal(kt_topo_cpu_core(t, 8), -1);	/* offline */
	assert_int_equal(kt_topo_num_numa_nodes(t), 2);
	assert_int_equal(kt_topo_cpu_node(t, 6), 1);
	assert_int_equal(kt_topo_cpu_node(t, 4), 0);
	assert_int_equal(kt_topo_node_distance(t, 0, 1), 21);
	assert_int_equal(kt_topo_node_distance(t, 1, 1), 10);

	KT_AUTO(kt_cpuset) n1 = kt_topo_numa_aligned_cpuset(t, 1);
	assert_set(n1, "2-3,6-7");
	c = kt_topo_usable_cpus(t, &n);
	assert_list(c, n, "0-6");

	KT_AUTOFREE char *d = kt_topo_describe(t);
	assert_non_null(strstr(d, "2n2l2c2t: 8 CPUs, 2 NUMA nodes, 2 LLCs"));
	assert_non_null(strstr(d, "node 0: cpus 0-1,4-5, distances 10 21\n"));
	assert_non_null(strstr(d, "llc 1 (node 1): cpus 2-3,6-7, 16384 KiB\n  cores: 2,6 3,7\n"));
	kt_topology_free(t);
	drop_root(root);
}

/*
 * Siblings and LLC-mates of a CPU already read are not read again: only
 * CPUs 0-3 carry topology and cache files here, yet CPUs 4-7 land in the
 * cores and LLCs those name (a guest with hundreds of CPUs would otherwise
 * spend seconds reading sysfs under TCG).
 */
static void test_sysfs_reads_one_cpu_per_group(void **state)
{
	char *root = make_root();
	struct kt_topology *t = NULL;
	const unsigned *c;
	size_t n;

	put(root, CPU "/online", "0-7\n");
	for (unsigned cpu = 0; cpu < 4; cpu++) {
		char sib[32], l3[32];

		snprintf(sib, sizeof(sib), "%u,%u\n", cpu, cpu + 4);
		snprintf(l3, sizeof(l3), cpu < 2 ? "0-1,4-5\n" : "2-3,6-7\n");
		putf(root, sib, CPU "/cpu%u/topology/thread_siblings_list", cpu);
		put_cache(root, cpu, 0, 3, "Unified\n", l3, "8192K\n", cpu / 2);
	}
	for (unsigned cpu = 4; cpu < 8; cpu++)
		putf(root, "1\n", CPU "/cpu%u/online", cpu);
	assert_int_equal(kt_topology_from_sysfs(root, &t), 0);
	assert_int_equal(kt_topo_num_llcs(t), 2);
	c = kt_topo_cpus_in_llc(t, 1, &n);
	assert_list(c, n, "2-3,6-7");
	assert_int_equal(kt_topo_llc_size_bytes(t, 1), 8192ull * 1024);
	assert_int_equal(kt_topo_threads_per_core(t), 2);
	assert_int_equal(kt_topo_cpu_core(t, 6), kt_topo_cpu_core(t, 2));
	kt_topology_free(t);
	drop_root(root);
}

/*
 * The first CPU's L3 sits in index3; the second LLC's CPUs have an L2
 * there and their L3 in index6.  The shortcut (read the first CPU's index
 * directly) must notice the other level and scan, so the L3 still wins.
 */
static void test_sysfs_llc_index_differs(void **state)
{
	char *root = make_root();
	KT_AUTO(kt_topology) t = NULL;
	const unsigned *c;
	size_t n;

	put(root, CPU "/online", "0-3\n");
	for (unsigned cpu = 0; cpu < 4; cpu++) {
		char self[16];

		snprintf(self, sizeof(self), "%u\n", cpu);
		putf(root, self, CPU "/cpu%u/topology/thread_siblings_list", cpu);
		if (cpu < 2) {
			put_cache(root, cpu, 3, 3, "Unified\n", "0-1\n", "8192K\n", 0);
			continue;
		}
		put_cache(root, cpu, 3, 2, "Unified\n", "2-3\n", "1M\n", 1);
		put_cache(root, cpu, 6, 3, "Unified\n", "2-3\n", "4096K\n", 1);
	}
	assert_int_equal(kt_topology_from_sysfs(root, &t), 0);
	assert_int_equal(kt_topo_num_llcs(t), 2);
	c = kt_topo_cpus_in_llc(t, 1, &n);
	assert_list(c, n, "2-3");
	assert_int_equal(kt_topo_llc_size_bytes(t, 0), 8192ull * 1024);
	assert_int_equal(kt_topo_llc_size_bytes(t, 1), 4096ull * 1024);
	drop_root(root);
}

static void test_sysfs_no_l3(void **state)
{
	char *root = fake_no_l3();
	KT_AUTO(kt_topology) t = NULL;
	size_t n;
	const unsigned *c;

	assert_int_equal(kt_topology_from_sysfs(root, &t), 0);
	assert_int_equal(kt_topo_total_cpus(t), 4);
	assert_int_equal(kt_topo_num_llcs(t), 2);	/* L2 is the highest level */
	c = kt_topo_cpus_in_llc(t, 1, &n);
	assert_list(c, n, "2-3");
	assert_int_equal(kt_topo_llc_size_bytes(t, 1), 1024 * 1024);
	assert_false(kt_topo_has_smt(t));
	assert_int_equal(kt_topo_cores_per_llc(t), 2);
	assert_int_equal(kt_topo_num_numa_nodes(t), 1);
	assert_int_equal(kt_topo_cpu_node(t, 3), 0);
	assert_int_equal(kt_topo_node_distance(t, 0, 0), -1);
	drop_root(root);
}

static void test_sysfs_bare(void **state)
{
	char *root = fake_bare();
	KT_AUTO(kt_topology) t = NULL;
	size_t n;
	const unsigned *c;

	assert_int_equal(kt_topology_from_sysfs(root, &t), 0);
	c = kt_topo_all_cpus(t, &n);
	assert_list(c, n, "0-1,3");
	assert_int_equal(kt_topo_num_llcs(t), 1);
	c = kt_topo_cpus_in_llc(t, 0, &n);
	assert_list(c, n, "0-1,3");
	assert_int_equal(kt_topo_cores_per_llc(t), 3);
	assert_int_equal(kt_topo_threads_per_core(t), 1);
	c = kt_topo_usable_cpus(t, &n);
	assert_list(c, n, "0-1");
	drop_root(root);
}

static void test_sysfs_shared_core_id(void **state)
{
	/* No sibling lists, but core_id/package pairs repeat: SMT by core_id. */
	char *root = make_root();
	KT_AUTO(kt_topology) t = NULL;

	put(root, CPU "/online", "0-3\n");
	for (unsigned c = 0; c < 4; c++) {
		char cid[8];

		snprintf(cid, sizeof(cid), "%u\n", c % 2);
		putf(root, cid, CPU "/cpu%u/topology/core_id", c);
		putf(root, "0\n", CPU "/cpu%u/topology/physical_package_id", c);
	}
	assert_int_equal(kt_topology_from_sysfs(root, &t), 0);
	assert_int_equal(kt_topo_threads_per_core(t), 2);
	assert_int_equal(kt_topo_cpu_core(t, 0), kt_topo_cpu_core(t, 2));
	assert_int_equal(kt_topo_cpu_core(t, 1), 1);
	drop_root(root);
}

static void test_sysfs_missing(void **state)
{
	char *root = make_root();
	struct kt_topology *t = NULL;

	assert_int_equal(kt_topology_from_sysfs(root, &t), -ENOENT);
	assert_null(t);
	put(root, CPU "/online", "0-x\n");
	assert_int_equal(kt_topology_from_sysfs(root, &t), -EINVAL);
	assert_null(t);
	drop_root(root);
}

static void test_sysfs_host(void **state)
{
	KT_AUTO(kt_topology) t = NULL;
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	assert_int_equal(kt_topology_from_sysfs("/", &t), 0);
	assert_int_equal(kt_topo_total_cpus(t), (unsigned)online);
	assert_true(kt_topo_num_llcs(t) >= 1);
	assert_true(kt_topo_num_numa_nodes(t) >= 1);
	assert_true(kt_topo_threads_per_core(t) >= 1);

	/* Every CPU lands in exactly one LLC. */
	size_t total = 0, n;
	for (unsigned i = 0; i < kt_topo_num_llcs(t); i++) {
		assert_non_null(kt_topo_cpus_in_llc(t, i, &n));
		total += n;
	}
	assert_int_equal(total, (size_t)online);

	KT_AUTOFREE char *d = kt_topo_describe(t);
	assert_non_null(d);
	assert_non_null(strstr(d, " CPU"));
}

/* ---- CpusetSpec ------------------------------------------------------- */

struct fake_cgroup_def {
	const char *name;
	struct kt_cpuset_spec cpuset;
};

/* The macros must work inside static designated initializers. */
static const struct fake_cgroup_def defs[] = {
	{ "a", .cpuset = KT_CPUSET_LLC(1) },
	{ "b", .cpuset = KT_CPUSET_NUMA(0) },
	{ "c", .cpuset = KT_CPUSET_RANGE(0.0, 0.5) },
	{ "d", .cpuset = KT_CPUSET_DISJOINT(1, 3) },
	{ "e", .cpuset = KT_CPUSET_OVERLAP(1, 3, 0.5) },
	{ "f", .cpuset = KT_CPUSET_EXACT("0-3") },
	{ .name = "g" },
};

static void expect_resolve(const struct kt_topology *t, struct kt_cpuset_spec spec,
			   const char *want)
{
	struct kt_cpuset *s = NULL;
	char *err = NULL;

	assert_int_equal(kt_cpuset_spec_resolve(&spec, t, &s, &err), 0);
	assert_null(err);
	assert_set(s, want);
	kt_cpuset_free(s);
}

static void expect_impossible(const struct kt_topology *t, struct kt_cpuset_spec spec,
			      const char *want)
{
	struct kt_cpuset *s = NULL;
	char *err = NULL;

	assert_int_equal(kt_cpuset_spec_resolve(&spec, t, &s, &err), -EINVAL);
	assert_null(s);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_null(strchr(err, '\n'));
	free(err);
	assert_int_equal(kt_cpuset_spec_resolve(&spec, t, &s, NULL), -EINVAL);
}

static void test_cspec_static_defs(void **state)
{
	KT_AUTO(kt_topology) t = topo("1n2l4c2t");
	static const char *const want[] = { "8-14", "0-14", "0-6", "5-9", "4-10", "0-3" };
	char buf[64];

	for (size_t i = 0; i < KT_ARRAY_SIZE(want); i++)
		expect_resolve(t, defs[i].cpuset, want[i]);
	assert_int_equal(defs[6].cpuset.kind, KT_CSPEC_NONE);
	assert_string_equal(kt_cpuset_spec_describe(&defs[0].cpuset, buf, sizeof(buf)), "llc(1)");
	assert_string_equal(kt_cpuset_spec_describe(&defs[1].cpuset, buf, sizeof(buf)), "numa(0)");
	assert_string_equal(kt_cpuset_spec_describe(&defs[2].cpuset, buf, sizeof(buf)),
			    "range(0,0.5)");
	assert_string_equal(kt_cpuset_spec_describe(&defs[3].cpuset, buf, sizeof(buf)),
			    "disjoint(1/3)");
	assert_string_equal(kt_cpuset_spec_describe(&defs[4].cpuset, buf, sizeof(buf)),
			    "overlap(1/3,0.5)");
	assert_string_equal(kt_cpuset_spec_describe(&defs[5].cpuset, buf, sizeof(buf)),
			    "exact(0-3)");
	assert_string_equal(kt_cpuset_spec_describe(&defs[6].cpuset, buf, sizeof(buf)), "none");
}

static void test_cspec_kinds(void **state)
{
	KT_AUTO(kt_topology) t = topo("1n2l4c2t");	/* usable 0-14 */
	KT_AUTO(kt_topology) nt = topo("2n4l2c1t");	/* usable 0-6 */
	struct kt_cpuset *s = (struct kt_cpuset *)1;

	assert_int_equal(kt_cpuset_spec_resolve(&(struct kt_cpuset_spec){ 0 }, t, &s, NULL), 0);
	assert_null(s);

	expect_resolve(t, KT_CPUSET_LLC(0), "0-7");
	expect_resolve(t, KT_CPUSET_LLC(1), "8-14");	/* reserved CPU 15 left out */
	expect_resolve(nt, KT_CPUSET_NUMA(0), "0-3");
	expect_resolve(nt, KT_CPUSET_NUMA(1), "4-6");
	expect_resolve(t, KT_CPUSET_RANGE(0.5, 1.0), "7-14");
	expect_resolve(t, KT_CPUSET_RANGE(0.0, 1.0), "0-14");
	expect_resolve(t, KT_CPUSET_DISJOINT(0, 3), "0-4");
	expect_resolve(t, KT_CPUSET_DISJOINT(2, 3), "10-14");
	expect_resolve(t, KT_CPUSET_DISJOINT(0, 1), "0-14");
	expect_resolve(t, KT_CPUSET_OVERLAP(0, 3, 0.5), "0-7");
	expect_resolve(t, KT_CPUSET_OVERLAP(2, 3, 0.5), "8-14");
	expect_resolve(t, KT_CPUSET_OVERLAP(1, 2, 1.0), "0-14");
	expect_resolve(t, KT_CPUSET_EXACT("15"), "15");	/* exact may use any CPU */
	expect_resolve(t, KT_CPUSET_EXACT(" 1,3-4\n"), "1,3-4");
}

static void test_cspec_impossible(void **state)
{
	KT_AUTO(kt_topology) t = topo("1n2l4c2t");
	KT_AUTO(kt_topology) nt = topo("2n4l2c1t");
	KT_AUTO(kt_topology) odd = topo("1n3l1c1t");	/* LLC 2 is only the reserved CPU */

	expect_impossible(t, KT_CPUSET_LLC(2), "cpuset llc(2): topology has 2 LLCs");
	expect_impossible(t, KT_CPUSET_LLC(3), "llc(3)");
	expect_impossible(odd, KT_CPUSET_LLC(2), "llc(2): no usable CPUs");
	expect_impossible(nt, KT_CPUSET_NUMA(2), "numa(2): no NUMA node 2 (nodes: 0-1)");
	expect_impossible(t, KT_CPUSET_NUMA(1), "no NUMA node 1");
	expect_impossible(t, KT_CPUSET_RANGE(0.5, 0.5), "range(0.5,0.5): start must be below end");
	expect_impossible(t, KT_CPUSET_RANGE(0.7, 0.2), "start must be below end");
	expect_impossible(t, KT_CPUSET_RANGE(-0.1, 0.5), "within [0,1]");
	expect_impossible(t, KT_CPUSET_RANGE(0.0, 1.5), "within [0,1]");
	expect_impossible(t, KT_CPUSET_RANGE(0.0, 0.01), "no usable CPUs");
	expect_impossible(t, KT_CPUSET_DISJOINT(3, 3), "disjoint(3/3): index must be below");
	expect_impossible(t, KT_CPUSET_DISJOINT(0, 0), "index must be below");
	expect_impossible(t, KT_CPUSET_DISJOINT(0, 20), "no usable CPUs");
	expect_impossible(t, KT_CPUSET_OVERLAP(4, 4, 0.5), "overlap(4/4,0.5): index must be");
	expect_impossible(t, KT_CPUSET_OVERLAP(0, 2, 1.5), "within [0,1]");
	expect_impossible(t, KT_CPUSET_OVERLAP(0, 2, -1), "within [0,1]");
	expect_impossible(t, KT_CPUSET_EXACT("16"), "exact(16): CPUs outside this topology (0-15)");
	expect_impossible(t, KT_CPUSET_EXACT("0-3,a"), "bad cpulist token 'a'");
	expect_impossible(t, KT_CPUSET_EXACT(""), "no usable CPUs");
	expect_impossible(t, KT_CPUSET_EXACT(NULL), "no cpulist");
	expect_impossible(t, ((struct kt_cpuset_spec){ .kind = 99 }), "unknown cpuset kind");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_from_spec_smt),
		cmocka_unit_test(test_from_spec_numa),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_describe_spec),
		cmocka_unit_test(test_sysfs_smt_2llc),
		cmocka_unit_test(test_sysfs_reads_one_cpu_per_group),
		cmocka_unit_test(test_sysfs_llc_index_differs),
		cmocka_unit_test(test_sysfs_no_l3),
		cmocka_unit_test(test_sysfs_bare),
		cmocka_unit_test(test_sysfs_shared_core_id),
		cmocka_unit_test(test_sysfs_missing),
		cmocka_unit_test(test_sysfs_host),
		cmocka_unit_test(test_cspec_static_defs),
		cmocka_unit_test(test_cspec_kinds),
		cmocka_unit_test(test_cspec_impossible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
