/*
 * Unit tests for the topology verifier: fake sysfs trees written the way a
 * guest kernel shows a VM (right, or wrong the ways QEMU versions and CPU
 * vendors make it wrong: collapsed LLCs, lost SMT, one NUMA node, missing
 * CPUs) compared with specs, and fake /proc/schedstat files compared with
 * the scheduling domains a spec implies.
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

#define CPU "sys/devices/system/cpu"
#define NODE "sys/devices/system/node"

static void putf(const char *root, const char *content, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void putf(const char *root, const char *content, const char *fmt, ...)
{
	char rel[PATH_MAX];
	KT_AUTOFREE char *path = NULL;
	char *slash;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	path = kt_asprintf("%s/%s", root, rel);
	assert_non_null(path);
	slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(kt_mkdir_p(path, 0755), 0);
	*slash = '/';
	assert_int_equal(kt_write_whole(path, content, strlen(content), 0644), 0);
}

/* The CPUs of group g under labels[], as a cpulist line. */
static char *group_list(const unsigned *labels, unsigned n, unsigned g)
{
	KT_AUTO(kt_cpuset) s = kt_cpuset_new();
	char *text, *line;

	for (unsigned c = 0; c < n; c++)
		if (labels[c] == g)
			kt_cpuset_set(s, c);
	text = kt_cpuset_format(s);
	line = kt_asprintf("%s\n", text);
	free(text);
	return line;
}

/*
 * A guest's sysfs: n CPUs, each with its core, LLC and node label.  Node
 * labels are node ids; every node gets a distance line.
 */
static char *fake_guest(unsigned n, const unsigned *core, const unsigned *llc,
			const unsigned *node)
{
	char tmpl[] = "/tmp/ktstr-verify-XXXXXX", online[32];
	char *root = strdup(mkdtemp(tmpl));
	unsigned maxnode = 0;

	assert_non_null(root);
	snprintf(online, sizeof(online), "0-%u\n", n - 1);
	putf(root, online, CPU "/online");
	for (unsigned c = 0; c < n; c++) {
		KT_AUTOFREE char *sib = group_list(core, n, core[c]);
		KT_AUTOFREE char *l3 = group_list(llc, n, llc[c]);
		char id[16];

		snprintf(id, sizeof(id), "%u\n", core[c]);
		putf(root, id, CPU "/cpu%u/topology/core_id", c);
		putf(root, sib, CPU "/cpu%u/topology/thread_siblings_list", c);
		putf(root, "3\n", CPU "/cpu%u/cache/index3/level", c);
		putf(root, "Unified\n", CPU "/cpu%u/cache/index3/type", c);
		putf(root, l3, CPU "/cpu%u/cache/index3/shared_cpu_list", c);
		if (node[c] > maxnode)
			maxnode = node[c];
	}
	for (unsigned k = 0; k <= maxnode; k++) {
		KT_AUTOFREE char *cpus = group_list(node, n, k);
		struct kt_buf d = { 0 };

		for (unsigned j = 0; j <= maxnode; j++)
			kt_buf_printf(&d, "%s%u", j ? " " : "", j == k ? 10 : 20);
		kt_buf_printf(&d, "\n");
		putf(root, cpus, NODE "/node%u/cpulist", k);
		putf(root, d.data, NODE "/node%u/distance", k);
		kt_buf_release(&d);
	}
	return root;
}

/* Fill labels the way QEMU numbers CPUs: threads, then cores, then LLCs. */
static unsigned layout(unsigned nodes, unsigned llcs, unsigned cores, unsigned threads,
		       unsigned *core, unsigned *llc, unsigned *node)
{
	unsigned n = llcs * cores * threads;

	for (unsigned c = 0; c < n; c++) {
		core[c] = c / threads;
		llc[c] = c / (cores * threads);
		node[c] = llc[c] / (llcs / nodes);
	}
	return n;
}

static void verify(const char *root, const char *spec_text, int want, const char *why_has)
{
	KT_AUTO(kt_topology) t = NULL;
	struct kt_topo_spec spec;
	char *why = NULL;

	assert_int_equal(kt_topo_spec_parse(spec_text, &spec, NULL), 0);
	assert_int_equal(kt_topology_from_sysfs(root, &t), 0);
	assert_int_equal(kt_topo_verify(t, &spec, &why), want);
	if (why_has) {
		assert_non_null(why);
		if (!strstr(why, why_has))
			fail_msg("message '%s' lacks '%s'", why, why_has);
	} else {
		assert_null(why);
	}
	free(why);
}

static void test_exact_match(void **state)
{
	static const unsigned shapes[][4] = {
		{ 1, 2, 2, 1 }, { 1, 2, 2, 2 }, { 2, 4, 2, 1 }, { 1, 3, 3, 1 }, { 2, 2, 4, 2 },
		{ 1, 1, 1, 1 },
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(shapes); i++) {
		unsigned core[64], llc[64], node[64], n;
		char spec[32];
		char *root;

		n = layout(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3], core, llc, node);
		snprintf(spec, sizeof(spec), "%un%ul%uc%ut", shapes[i][0], shapes[i][1],
			 shapes[i][2], shapes[i][3]);
		root = fake_guest(n, core, llc, node);
		verify(root, spec, 0, NULL);
		kt_rm_rf(root);
		free(root);
	}
}

/* An AMD-vendor guest under QEMU 10: one LLC for the whole socket. */
static void test_collapsed_llcs(void **state)
{
	unsigned core[8], llc[8], node[8], n = layout(1, 2, 2, 2, core, llc, node);
	char *root;

	memset(llc, 0, sizeof(llc));
	root = fake_guest(n, core, llc, node);
	verify(root, "1n2l2c2t", -EXDEV, "LLCs: the guest has 1 (0-7), 1n2l2c2t has 2 (0-3 | 4-7)");
	kt_rm_rf(root);
	free(root);
}

/* SMT lost: every CPU its own core. */
static void test_no_smt(void **state)
{
	unsigned core[8], llc[8], node[8], n = layout(1, 2, 2, 2, core, llc, node);
	char *root;

	for (unsigned c = 0; c < n; c++)
		core[c] = c;
	root = fake_guest(n, core, llc, node);
	verify(root, "1n2l2c2t", -EXDEV, "SMT sibling groups (cores): the guest has 8 (0 | 1 | 2 | 3 | ...)");
	kt_rm_rf(root);
	free(root);
}

static void test_numa_mismatch(void **state)
{
	unsigned core[8], llc[8], node[8], n = layout(2, 4, 2, 1, core, llc, node);
	char *root;

	memset(node, 0, sizeof(node));
	root = fake_guest(n, core, llc, node);
	verify(root, "2n4l2c1t", -EXDEV, "NUMA nodes: the guest has 1 (0-7), 2n4l2c1t has 2 (0-3 | 4-7)");
	kt_rm_rf(root);
	free(root);
	/* right node count, wrong split */
	layout(2, 4, 2, 1, core, llc, node);
	node[4] = 0;
	root = fake_guest(n, core, llc, node);
	verify(root, "2n4l2c1t", -EXDEV, "NUMA nodes: the guest has 2 (0-4 | 5-7)");
	kt_rm_rf(root);
	free(root);
}

static void test_cpu_count(void **state)
{
	unsigned core[4], llc[4], node[4], n = layout(1, 2, 2, 1, core, llc, node);
	char *root = fake_guest(n, core, llc, node);

	verify(root, "1n2l4c1t", -EXDEV, "CPUs: the guest has 4 online (0-3), 1n2l4c1t has 8 (0-7)");
	kt_rm_rf(root);
	free(root);
}

/* LLCs split differently with the same count (3 LLCs of 3 vs 2+4+3). */
static void test_llc_split(void **state)
{
	unsigned core[9], llc[9], node[9], n = layout(1, 3, 3, 1, core, llc, node);
	char *root;

	llc[2] = 1;
	root = fake_guest(n, core, llc, node);
	verify(root, "1n3l3c1t", -EXDEV, "LLCs: the guest has 3 (0-1 | 2-5 | 6-8)");
	kt_rm_rf(root);
	free(root);
}

/* ---- scheduling domains ------------------------------------------------- */

static char *fake_schedstat(const char *text)
{
	char tmpl[] = "/tmp/ktstr-verify-XXXXXX";
	char *root = strdup(mkdtemp(tmpl));

	assert_non_null(root);
	putf(root, text, "proc/schedstat");
	return root;
}

static void domains(const char *text, const char *spec_text, int want, const char *why_has)
{
	struct kt_topo_spec spec;
	char *root = fake_schedstat(text), *why = NULL;

	assert_int_equal(kt_topo_spec_parse(spec_text, &spec, NULL), 0);
	assert_int_equal(kt_topo_verify_domains(root, &spec, &why), want);
	if (why_has) {
		assert_non_null(why);
		if (!strstr(why, why_has))
			fail_msg("message '%s' lacks '%s'", why, why_has);
	} else {
		assert_null(why);
	}
	free(why);
	kt_rm_rf(root);
	free(root);
}

static void test_domains(void **state)
{
	/* 1n2l2c2t: SMT {0,1}, MC {0-3}, PKG all (version 17 names) */
	static const char smt2llc[] =
		"version 17\ntimestamp 1\n"
		"cpu0 0 0 0 0 0 0 0 0 0\ndomain0 SMT 03 0 0\ndomain1 MC 0f 0 0\ndomain2 PKG ff 0\n"
		"cpu1 0 0 0 0 0 0 0 0 0\ndomain0 SMT 03 0 0\ndomain1 MC 0f 0 0\ndomain2 PKG ff 0\n"
		"cpu5 0 0 0 0 0 0 0 0 0\ndomain0 SMT 30 0 0\ndomain1 MC f0 0 0\ndomain2 PKG ff 0\n";
	/* the same with the LLCs collapsed: no level between SMT and all */
	static const char collapsed[] =
		"version 17\ntimestamp 1\n"
		"cpu0 0 0 0 0 0 0 0 0 0\ndomain0 SMT 03 0 0\ndomain1 MC ff 0 0\n";
	/* 2n4l2c1t, version 16 (no names), a wide mask with a comma */
	static const char numa[] =
		"version 16\ntimestamp 1\n"
		"cpu6 0 0 0 0 0 0 0 0 0\ndomain0 000000c0 0 0\ndomain1 000000f0 0\n"
		"domain2 00000000,000000ff 0\n";

	/* 1n8l8c2t (128 CPUs), version 16 as 6.12 prints it: masks wider
	 * than a domain name, first on the line */
	static const char wide[] =
		"version 16\ntimestamp 1\n"
		"cpu0 0 0 0 0 0 0 0 0 0\n"
		"domain0 00000000,00000000,00000000,00000003 0 0\n"
		"domain1 00000000,00000000,00000000,0000ffff 0 0\n"
		"domain2 ffffffff,ffffffff,ffffffff,ffffffff 0 0\n";

	domains(wide, "1n8l8c2t", 0, NULL);
	domains(wide, "1n4l16c2t", -EXDEV, "CPU 0's domain1 spans 0-15, 1n4l16c2t needs 0-31");
	domains(smt2llc, "1n2l2c2t", 0, NULL);
	domains(collapsed, "1n2l2c2t", -EXDEV, "CPU 0's domain1 spans 0-7, 1n2l2c2t needs 0-3");
	domains(numa, "2n4l2c1t", 0, NULL);
	domains(numa, "2n2l4c1t", -EXDEV, "CPU 6's domain0 spans 6-7, 2n2l4c1t needs 4-7");
	domains(smt2llc, "1n1l8c1t", -EXDEV, "CPU 0's domain0 spans 0-1, 1n1l8c1t needs 0-7");
	/* spans are computed once per core: its second thread is still held to them */
	domains("version 17\ncpu0 0\ndomain0 SMT 03 0\ndomain1 MC 0f 0\ndomain2 PKG ff 0\n"
		"cpu1 0\ndomain0 SMT 03 0\ndomain1 MC 3f 0\ndomain2 PKG ff 0\n", "1n2l2c2t", -EXDEV,
		"CPU 1's domain1 spans 0-5, 1n2l2c2t needs 0-3");
	domains("version 17\ncpu0 0\ndomain0 SMT 03 0\ndomain1 MC 0f 0\ndomain2 PKG ff 0\n"
		"cpu1 0\ndomain0 SMT 03 0\n", "1n2l2c2t", -EXDEV, "CPU 1 has 1, 1n2l2c2t needs 3");
	/* a CPU with fewer domains than the spec implies */
	domains("version 17\ncpu0 0\ndomain0 SMT 03 0\n", "1n2l2c2t", -EXDEV,
		"CPU 0 has 1, 1n2l2c2t needs 3");
}

static void test_domains_absent(void **state)
{
	struct kt_topo_spec spec;
	char *why = NULL;

	assert_int_equal(kt_topo_spec_parse("1n2l2c1t", &spec, NULL), 0);
	assert_int_equal(kt_topo_verify_domains("/nonexistent-ktstr", &spec, &why), -ENOENT);
	assert_null(why);
}


/* ---- the guest's entry point --------------------------------------------- */

static void test_verify_boot(void **state)
{
	unsigned core[8], llc[8], node[8], n = layout(1, 2, 2, 2, core, llc, node);
	char *root, *why = NULL;

	memset(llc, 0, sizeof(llc));	/* collapsed, as on an AMD guest with dies */
	root = fake_guest(n, core, llc, node);
	putf(root, "vendor_id\t: AuthenticAMD\ncpu family\t: 25\n", "proc/cpuinfo");
	/* nothing declared: nothing to hold the machine to */
	assert_int_equal(kt_topo_verify_boot(root, &why), 0);
	assert_null(why);
	putf(root, "console=ttyS0 ktstr.topo=1n2l2c2t quiet\n", "proc/cmdline");
	assert_int_equal(kt_topo_verify_boot(root, &why), -EXDEV);
	assert_non_null(strstr(why, "LLCs: the guest has 1 (0-7), 1n2l2c2t has 2"));
	assert_non_null(strstr(why, "(guest CPU vendor AuthenticAMD)"));
	free(why);
	why = NULL;
	/* the last ktstr.topo= wins, like the kernel's own arguments */
	putf(root, "ktstr.topo=1n2l2c2t ktstr.topo=1n1l4c2t\n", "proc/cmdline");
	assert_int_equal(kt_topo_verify_boot(root, &why), 0);
	assert_null(why);
	/* scheduling domains are checked too when the kernel has schedstats */
	putf(root, "version 17\ncpu0 0\ndomain0 SMT 03 0\ndomain1 MC 0f 0\n", "proc/schedstat");
	assert_int_equal(kt_topo_verify_boot(root, &why), -EXDEV);
	assert_non_null(strstr(why, "CPU 0's domain1 spans 0-3, 1n1l4c2t needs 0-7"));
	free(why);
	why = NULL;
	/* ... unless CPUs were isolated on purpose, which reshapes the domains */
	putf(root, "ktstr.topo=1n1l4c2t isolcpus=4-7\n", "proc/cmdline");
	assert_int_equal(kt_topo_verify_boot(root, &why), 0);
	assert_null(why);
	kt_rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_match),
		cmocka_unit_test(test_collapsed_llcs),
		cmocka_unit_test(test_no_smt),
		cmocka_unit_test(test_numa_mismatch),
		cmocka_unit_test(test_cpu_count),
		cmocka_unit_test(test_llc_split),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_domains_absent),
		cmocka_unit_test(test_verify_boot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
