/*
 * The public API as a new user meets it: cpuset specs in static tables
 * (the _INIT forms are constant, even under -Wpedantic), an LLC's aligned
 * cpuset versus KT_CPUSET_LLC (all CPUs versus usable ones, as the header
 * says), kt_setup_cgroups explaining a missing guard on the timeline, and
 * direct cgroup calls reported for the timeline (on a fake cgroup tree).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup_internal.h"
#include "scenario/ctx_state.h"
#include "util/util.h"

#include <ktstr/ktstr.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpedantic"
static const struct kt_cgroup_def table[] = {
	KT_CGROUP("cg_0", .workers = 2, .cpuset = KT_CPUSET_LLC_INIT(1)),
	KT_CGROUP("cg_1", .cpuset = KT_CPUSET_RANGE_INIT(0.0, 0.5)),
	KT_CGROUP("cg_2", .cpuset = KT_CPUSET_EXACT_INIT("0-1")),
	{ 0 },
};
#pragma GCC diagnostic pop

static char *resolved(const struct kt_cpuset_spec *spec, const struct kt_topology *t)
{
	struct kt_cpuset *set = NULL;
	char *text;

	assert_int_equal(kt_cpuset_spec_resolve(spec, t, &set, NULL), 0);
	text = kt_cpuset_format(set);
	kt_cpuset_free(set);
	return text;
}

static void test_static_table_specs(void **state)
{
	struct kt_topo_spec spec = { .numa_nodes = 1, .llcs = 2, .cores = 2, .threads = 1 };
	KT_AUTO(kt_topology) t = kt_topology_from_spec(&spec);
	struct kt_cpuset_spec value = KT_CPUSET_LLC(1);
	KT_AUTOFREE char *a = NULL, *b = NULL, *c = NULL;

	assert_non_null(t);
	a = resolved(&table[0].cpuset, t);
	b = resolved(&value, t);
	assert_string_equal(a, b);
	c = resolved(&table[2].cpuset, t);
	assert_string_equal(c, "0-1");
}

static void test_llc_aligned_vs_spec(void **state)
{
	struct kt_topo_spec spec = { .numa_nodes = 1, .llcs = 2, .cores = 2, .threads = 1 };
	KT_AUTO(kt_topology) t = kt_topology_from_spec(&spec);
	struct kt_cpuset_spec llc1 = KT_CPUSET_LLC(1);
	struct kt_cpuset *all = kt_topo_llc_aligned_cpuset(t, 1);
	KT_AUTOFREE char *aligned = kt_cpuset_format(all), *usable = resolved(&llc1, t);

	assert_string_equal(aligned, "2-3");	/* every CPU of the LLC */
	assert_string_equal(usable, "2");	/* the last CPU is kept out of scenarios */
	kt_cpuset_free(all);
}

static void test_setup_cgroups_without_guard(void **state)
{
	struct kt_ctx_state st = { .timeline = kt_timeline_new() };
	struct kt_ctx ctx = { .state = &st };
	struct kt_workload_config wl = { .num_workers = 1 };
	struct kt_handle_list *h = NULL;
	double at;

	assert_int_equal(kt_setup_cgroups(&ctx, 1, &wl, &h, NULL), -EINVAL);
	assert_int_equal(kt_timeline_count(kt_ctx_timeline(&ctx)), 1);
	assert_non_null(strstr(kt_timeline_get(kt_ctx_timeline(&ctx), 0, &at),
			       "guard argument is NULL"));
	kt_timeline_free(st.timeline);
}

static void collect(void *arg, const char *what)
{
	kt_timeline_add(arg, "%s", what);
}

static void test_direct_cgroup_calls_observed(void **state)
{
	char root[] = "/tmp/ktstr-unit-cg-XXXXXX";
	KT_AUTOFREE char *f1 = NULL, *f2 = NULL, *f3 = NULL;
	struct kt_cgroup_manager *m = NULL;
	KT_AUTO(kt_timeline) t = kt_timeline_new();
	struct kt_cpuset *set = NULL;
	double at;

	assert_non_null(mkdtemp(root));
	f1 = kt_asprintf("%s/cgroup.controllers", root);
	f2 = kt_asprintf("%s/cgroup.subtree_control", root);
	f3 = kt_asprintf("%s/cpuset.cpus.effective", root);
	assert_int_equal(kt_write_whole(f1, "cpuset cpu\n", 11, 0644), 0);
	assert_int_equal(kt_write_whole(f2, "", 0, 0644), 0);
	assert_int_equal(kt_write_whole(f3, "0-3\n", 4, 0644), 0);
	assert_int_equal(kt_cg_manager_new(root, "ktstr-unit", true, &m), 0);
	kt_cgroup_manager_observe(m, collect, t);
	assert_int_equal(kt_cgroup_create(m, "cg_0"), 0);
	assert_int_equal(kt_cpuset_parse("0-1", &set, NULL), 0);
	assert_int_equal(kt_cgroup_set_cpuset(m, "cg_0", set), 0);
	assert_int_equal(kt_cgroup_move_task(m, "cg_0", getpid()), 0);
	kt_cgroup_manager_quiet(m, true);	/* a caller with its own entry */
	assert_int_equal(kt_cgroup_clear_cpuset(m, "cg_0"), 0);
	kt_cgroup_manager_quiet(m, false);
	assert_int_equal(kt_cgroup_clear_cpuset(m, "cg_0"), 0);
	assert_int_equal(kt_timeline_count(t), 3);
	assert_string_equal(kt_timeline_get(t, 0, &at), "cpuset of cg_0 set to 0-1");
	assert_non_null(strstr(kt_timeline_get(t, 1, &at), "moved to cg_0"));
	assert_string_equal(kt_timeline_get(t, 2, &at), "cpuset of cg_0 cleared");
	kt_cpuset_free(set);
	kt_cgroup_manager_free(m);
	kt_rm_rf(root);
}

/* The one string list and growth helper the modules share (util). */
static void test_strlist_and_grow(void **state)
{
	struct kt_strlist l = { 0 };
	int *v = NULL;
	size_t n = 0, cap = 0;

	for (; n < 20; n++) {
		assert_int_equal(kt_grow(v, n, cap, 16), 0);
		v[n] = (int)n;
	}
	assert_int_equal(cap, 32);
	assert_int_equal(v[19], 19);
	free(v);
	assert_int_equal(kt_strlist_add(&l, "cg_0"), 0);
	assert_int_equal(kt_strlist_addn(&l, "cg_1/a", 4), 0);
	assert_int_equal(kt_strlist_addf(&l, "cg_%d", 2), 0);
	assert_int_equal(l.n, 3);
	assert_true(kt_strlist_has(&l, "cg_1"));
	assert_false(kt_strlist_has(&l, "cg_1/a"));
	kt_strlist_release(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_table_specs),
		cmocka_unit_test(test_llc_aligned_vs_spec),
		cmocka_unit_test(test_setup_cgroups_without_guard),
		cmocka_unit_test(test_direct_cgroup_calls_observed),
		cmocka_unit_test(test_strlist_and_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
