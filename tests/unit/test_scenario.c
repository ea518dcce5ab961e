/*
 * Unit tests of the scenario module that need no cgroups: timeline, ctx
 * sleep/abort, catalog partitions on spec topologies, catalog lookups,
 * up-front op validation (nothing is created: the ctx has no manager),
 * kt_dfl_wl and flag gating.  Real runs are in the VM suites (tests/integration/, examples/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include <ktstr/scenario.h>

#include "scenario/ctx_state.h"
#include "scenario/scenario_internal.h"
#include "scenario/scenario_json.h"
#include "util/util.h"

static struct kt_topology *topo_of(const char *spec)
{
	struct kt_topo_spec s;
	struct kt_topology *t;

	assert_int_equal(kt_topo_spec_parse(spec, &s, NULL), 0);
	t = kt_topology_from_spec(&s);
	assert_non_null(t);
	return t;
}

static void assert_set(const struct kt_cpuset *s, const char *want)
{
	KT_AUTOFREE char *got = NULL;

	assert_non_null(s);
	got = kt_cpuset_format(s);
	assert_string_equal(got, want);
}

/* ---- timeline / ctx ------------------------------------------------------ */

static void test_timeline(void **state)
{
	KT_AUTO(kt_timeline) t = kt_timeline_new();
	double a = -1, b = -1;

	assert_int_equal(kt_timeline_count(t), 0);
	kt_timeline_add(t, "step %d: %s", 1, "start");
	kt_sleep_ns(2000000);
	kt_timeline_add(t, "end");
	assert_int_equal(kt_timeline_count(t), 2);
	assert_string_equal(kt_timeline_get(t, 0, &a), "step 1: start");
	assert_string_equal(kt_timeline_get(t, 1, &b), "end");
	assert_true(a >= 0 && b >= a + 1.5);
	assert_null(kt_timeline_get(t, 2, NULL));
	/* NULL timeline: adding is a no-op, not a crash. */
	kt_timeline_add(NULL, "ignored");
	assert_int_equal(kt_timeline_count(NULL), 0);
	for (int i = 0; i < 100; i++)
		kt_timeline_add(t, "e%d", i);
	assert_string_equal(kt_timeline_get(t, 101, NULL), "e99");
}

static int alive_calls;
static uint64_t die_after_ns;

static bool dies_later(struct kt_ctx *ctx, char **why)
{
	alive_calls++;
	if (kt_now_ns() < die_after_ns)
		return true;
	*why = strdup("exit 3");
	return false;
}

static void test_ctx_sleep_abort(void **state)
{
	KT_AUTO(kt_timeline) t = kt_timeline_new();
	struct kt_ctx_state st = { .timeline = t };
	struct kt_ctx ctx = { .state = &st };
	uint64_t t0 = kt_now_ns();

	/* No hook: plain sleep, always healthy. */
	assert_int_equal(kt_ctx_sleep(&ctx, 30), 0);
	assert_true(kt_now_ns() - t0 >= 30000000ull);
	assert_true(kt_ctx_sched_ok(&ctx));

	/* A scheduler dying 150 ms in ends a 5 s sleep early. */
	st.sched_alive = dies_later;
	die_after_ns = kt_now_ns() + 150000000ull;
	t0 = kt_now_ns();
	assert_int_equal(kt_ctx_sleep(&ctx, 5000), -ECANCELED);
	assert_true(kt_now_ns() - t0 < 1000000000ull);
	assert_true(alive_calls >= 2);
	assert_non_null(kt_ctx_abort_reason(&ctx));
	assert_non_null(strstr(kt_ctx_abort_reason(&ctx), "exit 3"));
	/* Once dead, stays dead without asking again. */
	alive_calls = 0;
	assert_false(kt_ctx_sched_ok(&ctx));
	assert_int_equal(alive_calls, 0);
	kt_ctx_release(&ctx);
	assert_null(kt_ctx_abort_reason(&ctx));
}

/* kt_ctx_sleep records each watched worker's progress for the result:
 * two spinning workers on the host, sampled for about a second. */
static void test_progress_series(void **state)
{
	KT_AUTO(kt_timeline) t = kt_timeline_new();
	struct kt_ctx_state st = { .timeline = t };
	struct kt_ctx ctx = { .state = &st };
	struct kt_workload_config cfg = { .num_workers = 2, .work = { .kind = KT_WORK_CPU_SPIN } };
	struct kt_workload_handle *h = NULL;
	KT_AUTO(kt_handle_list) l = kt_scen_list_new();
	double before = kt_timeline_now_ms(t);
	json_t *j;

	assert_null(kt_scen_progress_json(&ctx));	/* nothing sampled: no series */
	assert_non_null(l);
	assert_int_equal(kt_workload_spawn(&cfg, &h), 0);
	assert_int_equal(kt_scen_list_append(l, NULL, true, h, NULL), 0);
	kt_scen_watch(&ctx, l);
	assert_int_equal(kt_scen_list_start(l), 0);
	assert_int_equal(kt_ctx_sleep(&ctx, 1000), 0);
	j = kt_scen_progress_json(&ctx);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 2);
	for (size_t w = 0; w < 2; w++) {
		json_t *wk = json_array_get(j, w), *pts = json_object_get(wk, "samples");
		char name[32];

		snprintf(name, sizeof(name), "host/worker %zu", w);
		assert_string_equal(json_string_value(json_object_get(wk, "name")), name);
		assert_int_equal(json_integer_value(json_object_get(wk, "tid")), kt_workload_pid(h, w));
		/* ~100 ms apart over ~1 s (fewer on a loaded machine, never more) */
		assert_in_range(json_array_size(pts), 3, 12);
		assert_true(json_is_array(json_object_get(wk, "gaps")));
		for (size_t i = 0; i < json_array_size(pts); i++) {
			json_t *p = json_array_get(pts, i), *q = json_array_get(pts, i ? i - 1 : 0);

			assert_int_equal(json_array_size(p), 3);
			assert_true(json_number_value(json_array_get(p, 0)) >= before);
			for (size_t k = 0; k < 3; k++)
				assert_true(json_number_value(json_array_get(p, k)) >=
					    json_number_value(json_array_get(q, k)));
		}
		/* it did work and used CPU by the last sample */
		assert_true(json_integer_value(json_array_get(json_array_get(pts, json_array_size(pts) - 1), 1)) > 0);
		assert_true(json_number_value(json_array_get(json_array_get(pts, json_array_size(pts) - 1), 2)) > 0);
	}
	json_decref(j);
	kt_ctx_release(&ctx);
}

static void test_ctx_fail(void **state)
{
	KT_AUTO(kt_timeline) t = kt_timeline_new();
	struct kt_ctx_state st = { .timeline = t };
	struct kt_ctx ctx = { .state = &st };
	KT_AUTO(kt_assert_result) r = kt_ctx_fail(&ctx, "boom %d", 7);

	assert_non_null(r);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 1);
	assert_string_equal(r->details[0], "boom 7");
	assert_int_equal(kt_timeline_count(t), 1);
	assert_non_null(strstr(kt_timeline_get(t, 0, NULL), "boom 7"));
}

/* ---- partitions ---------------------------------------------------------- */

static struct kt_cpuset **part(const struct kt_topology *t, enum kt_cpuset_mode mode, double frac,
			       unsigned n)
{
	struct kt_cpuset **out = NULL;
	KT_AUTOFREE char *err = NULL;
	int r = kt_partition_cpusets(t, (struct kt_cpuset_partition){ mode, frac }, n, &out, &err);

	if (r)
		fail_msg("partition mode %d: %d %s", (int)mode, r, err ? err : "");
	return out;
}

static void test_partition_2llc(void **state)
{
	KT_AUTO(kt_topology) t = topo_of("1n2l2c1t");	/* CPUs 0-3, usable 0-2 */
	struct kt_cpuset **s;
	KT_AUTOFREE char *err = NULL;

	s = part(t, KT_PART_NONE, 0, 2);
	assert_null(s[0]);
	assert_null(s[1]);
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_LLC_ALIGNED, 0, 3);
	assert_set(s[0], "0-1");
	assert_set(s[1], "2");		/* CPU 3 is kept for the root cgroup */
	assert_set(s[2], "0-1");	/* wraps around the LLCs */
	kt_cpuset_array_free(s, 3);

	s = part(t, KT_PART_SPLIT_HALF, 0, 2);
	assert_set(s[0], "0");
	assert_set(s[1], "1-2");
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_SPLIT_MISALIGNED, 0, 2);
	assert_set(s[0], "0");
	assert_set(s[1], "1-2");	/* 1 | 2 would be the LLC cut */
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_OVERLAP, 0.5, 2);
	assert_true(kt_cpuset_intersects(s[0], s[1]));
	assert_int_equal(kt_cpuset_first(s[0]), 0);
	assert_int_equal(kt_cpuset_last(s[1]), 2);
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_UNEVEN, 0.5, 3);
	assert_set(s[0], "0-1");
	assert_set(s[1], "2");
	assert_set(s[2], "2");
	kt_cpuset_array_free(s, 3);

	s = part(t, KT_PART_HOLDBACK, 0.34, 2);
	assert_set(s[0], "0");
	assert_set(s[1], "1");		/* CPU 2 held back */
	kt_cpuset_array_free(s, 2);

	/* Impossible: 3 cgroups on the 2 CPUs left after the holdback. */
	s = NULL;
	assert_int_equal(kt_partition_cpusets(t, (struct kt_cpuset_partition){ KT_PART_HOLDBACK, 0.34 },
					      3, &s, &err), -EINVAL);
	assert_null(s);
	assert_non_null(err);
	assert_non_null(strstr(err, "holdback"));
	free(err);
	err = NULL;
	assert_int_equal(kt_partition_cpusets(t, (struct kt_cpuset_partition){ KT_PART_UNEVEN, 1.5 },
					      2, &s, &err), -EINVAL);
	assert_non_null(strstr(err, "uneven"));
	free(err);
	err = NULL;
	assert_int_equal(kt_partition_cpusets(t, (struct kt_cpuset_partition){ KT_PART_NONE, 0 },
					      0, &s, &err), -EINVAL);
}

static void test_partition_4llc_smt(void **state)
{
	KT_AUTO(kt_topology) t = topo_of("1n4l2c2t");	/* 16 CPUs, 4 per LLC, usable 0-14 */
	struct kt_cpuset **s;

	s = part(t, KT_PART_LLC_ALIGNED, 0, 4);
	assert_set(s[0], "0-3");
	assert_set(s[1], "4-7");
	assert_set(s[2], "8-11");
	assert_set(s[3], "12-14");
	kt_cpuset_array_free(s, 4);

	s = part(t, KT_PART_SPLIT_HALF, 0, 2);
	assert_set(s[0], "0-6");
	assert_set(s[1], "7-14");
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_SPLIT_MISALIGNED, 0, 2);
	assert_false(kt_cpuset_intersects(s[0], s[1]));
	assert_int_equal(kt_cpuset_count(s[0]) + kt_cpuset_count(s[1]), 15);
	/* The cut splits an LLC. */
	assert_int_equal(kt_topo_cpu_llc(t, (unsigned)kt_cpuset_last(s[0])),
			 kt_topo_cpu_llc(t, (unsigned)kt_cpuset_first(s[1])));
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_OVERLAP, 0.25, 3);
	assert_true(kt_cpuset_intersects(s[0], s[1]));
	assert_true(kt_cpuset_intersects(s[1], s[2]));
	assert_false(kt_cpuset_intersects(s[0], s[2]));
	kt_cpuset_array_free(s, 3);

	s = part(t, KT_PART_UNEVEN, 0.2, 2);
	assert_set(s[0], "0-2");
	assert_set(s[1], "3-14");
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_HOLDBACK, 0.2, 3);
	assert_set(s[0], "0-3");
	assert_set(s[1], "4-7");
	assert_set(s[2], "8-11");
	kt_cpuset_array_free(s, 3);
}

static void test_partition_misaligned_moves_cut(void **state)
{
	KT_AUTO(kt_topology) t = topo_of("1n3l2c1t");	/* LLCs {0,1} {2,3} {4,5}, usable 0-4 */
	struct kt_cpuset **s;

	s = part(t, KT_PART_SPLIT_HALF, 0, 2);
	assert_set(s[0], "0-1");	/* cut at 2: on the LLC boundary */
	assert_set(s[1], "2-4");
	kt_cpuset_array_free(s, 2);

	s = part(t, KT_PART_SPLIT_MISALIGNED, 0, 2);
	assert_set(s[0], "0-2");	/* moved off it */
	assert_set(s[1], "3-4");
	kt_cpuset_array_free(s, 2);
}

/* ---- catalog ------------------------------------------------------------- */

static void test_catalog(void **state)
{
	static const char *const cats[] = { "basic", "cpuset", "dynamic", "stress", "affinity",
					    "nested", "placement", "fairness" };
	static const char *const want[] = {
		"steady", "spread_out", "steady_llc", "oversubscribed", "cpuset_apply", "cpuset_clear",
		"cpuset_resize", "cgroup_add", "cgroup_remove", "affinity_change",
		"affinity_pinned", "host_contention", "mixed_workloads", "nested_steady",
		"nested_task_move", "steady_unpinned", "steady_llc_unpinned",
		"oversubscribed_unpinned", "cpuset_apply_unpinned", "cgroup_add_unpinned",
		"cgroup_remove_unpinned", "nested_steady_unpinned", "cpuset_grow_unpinned", "llc_local", "cgroup_weight",
		"nice_weight",
	};
	bool seen_cat[KT_ARRAY_SIZE(cats)] = { 0 };
	size_t n;
	const struct kt_scenario *all = kt_all_scenarios(&n);

	assert_int_equal(n, KT_ARRAY_SIZE(want));
	for (size_t i = 0; i < n; i++) {
		bool cat_ok = false;

		assert_non_null(all[i].name);
		assert_non_null(all[i].description);
		assert_true(strlen(all[i].description) > 10);
		for (size_t c = 0; c < KT_ARRAY_SIZE(cats); c++) {
			if (all[i].category && !strcmp(all[i].category, cats[c])) {
				cat_ok = true;
				seen_cat[c] = true;
			}
		}
		assert_true(cat_ok);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(all[i].name, all[j].name);
		assert_ptr_equal(kt_scenario_find(all[i].name), &all[i]);
		if (all[i].action.kind == KT_ACTION_CUSTOM)
			assert_non_null(all[i].action.custom);
	}
	for (size_t i = 0; i < KT_ARRAY_SIZE(want); i++)
		assert_non_null(kt_scenario_find(want[i]));
	for (size_t c = 0; c < KT_ARRAY_SIZE(cats); c++)
		assert_true(seen_cat[c]);
	assert_null(kt_scenario_find("nope"));
	assert_null(kt_scenario_find(NULL));
	assert_ptr_equal(kt_scenario_find("steady")->action.custom, kt_scenario_steady);
}

static void test_scenario_run_flags(void **state)
{
	static const char *const req[] = { "llc", NULL };
	static const char *const have[] = { "borrow", NULL };
	const struct kt_scenario s = { .name = "needs_llc", .required_flags = req,
				       .action = { KT_ACTION_CUSTOM, kt_scenario_steady } };
	const struct kt_scenario x = { .name = "no_borrow", .excluded_flags = have,
				       .action = { KT_ACTION_CUSTOM, kt_scenario_steady } };
	struct kt_ctx_state st = { .flags = have };
	struct kt_ctx ctx = { .state = &st };
	KT_AUTO(kt_assert_result) r = kt_scenario_run(&s, &ctx);
	KT_AUTO(kt_assert_result) r2 = kt_scenario_run(&x, &ctx);

	assert_true(r->skipped);
	assert_non_null(strstr(r->skip_reason, "llc"));
	assert_true(r2->skipped);
	assert_non_null(strstr(r2->skip_reason, "borrow"));
}

/* ---- validation ---------------------------------------------------------- */

struct vfix {
	struct kt_topology *topo;
	struct kt_timeline *t;
	struct kt_ctx_state st;
	struct kt_ctx ctx;
};

static int vsetup(void **state)
{
	struct vfix *f = calloc(1, sizeof(*f));

	f->topo = topo_of("1n2l2c1t");
	f->t = kt_timeline_new();
	f->st = (struct kt_ctx_state){ .timeline = f->t };
	f->ctx = (struct kt_ctx){ .topo = f->topo, .state = &f->st, .duration_ms = 100,
				  .workers_per_cgroup = 2, .assert = kt_assert_default_checks() };
	*state = f;
	return 0;
}

static int vteardown(void **state)
{
	struct vfix *f = *state;

	kt_timeline_free(f->t);
	kt_topology_free(f->topo);
	kt_ctx_release(&f->ctx);
	free(f);
	return 0;
}

/* Run steps on a ctx without a cgroup manager: the failure must come from
 * validation (nothing created), with `want` in its only detail. */
static void expect_invalid(struct vfix *f, const struct kt_step *steps, const char *want)
{
	KT_AUTO(kt_assert_result) r = kt_execute_steps(&f->ctx, steps);

	assert_non_null(r);
	assert_false(r->passed);
	assert_int_equal(r->n_details, 1);
	if (!strstr(r->details[0], want))
		fail_msg("detail '%s' lacks '%s'", r->details[0], want);
	assert_int_equal(r->stats.workers, 0);
}

static void test_validate_unknown_target(void **state)
{
	struct vfix *f = *state;
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), { 0 } };
	const struct kt_op ops[] = { KT_OP_SET_CPUSET_("cg_9", KT_CPUSET_LLC(0)), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = ops, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};
	bool logged = false;

	expect_invalid(f, steps, "step 2: op set_cpuset: unknown cgroup 'cg_9'");
	for (size_t i = 0; i < kt_timeline_count(f->t); i++)
		logged |= strstr(kt_timeline_get(f->t, i, NULL), "invalid scenario") != NULL;
	assert_true(logged);
}

static void test_validate_impossible_cpuset(void **state)
{
	struct vfix *f = *state;
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), { 0 } };
	const struct kt_op ops[] = { KT_OP_SET_CPUSET_("cg_0", KT_CPUSET_LLC(3)), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .ops = ops },
		{ 0 },
	};

	expect_invalid(f, steps, "op set_cpuset cg_0: cpuset llc(3): topology has 2 LLCs");

	const struct kt_cgroup_def bad_def[] = { KT_CGROUP("cg_0", .cpuset = KT_CPUSET_EXACT("0-9")), { 0 } };
	const struct kt_step steps2[] = { { .setup = bad_def }, { 0 } };

	expect_invalid(f, steps2, "step 1: setup cg_0: cpuset exact(0-9)");
}

static void test_validate_lifetimes(void **state)
{
	struct vfix *f = *state;
	const struct kt_cgroup_def setup[] = { KT_CGROUP("p/leaf"), KT_CGROUP("cg_1"), { 0 } };
	/* "p" exists through its leaf; after removing cg_1 it is gone. */
	const struct kt_op ops1[] = { KT_OP_CLEAR_CPUSET_("p"), KT_OP_REMOVE("cg_1"), { 0 } };
	const struct kt_op ops2[] = { KT_OP_STOP("cg_1"), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .ops = ops1 },
		{ .ops = ops2 },
		{ 0 },
	};
	const struct kt_op add[] = { KT_OP_ADD("cg_5"), KT_OP_MOVE_ALL("p/leaf", "cg_5"), { 0 } };
	const struct kt_step ok[] = { { .setup = setup, .ops = add }, { 0 } };

	expect_invalid(f, steps, "step 2: op stop_cgroup: unknown cgroup 'cg_1'");

	/* Valid declarations get past validation and stop at the missing manager. */
	expect_invalid(f, ok, "no cgroup manager");
}

static void test_validate_affinity_and_holds(void **state)
{
	struct vfix *f = *state;
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), { 0 } };
	const struct kt_op pin[] = { KT_OP_AFFINITY("cg_0", .kind = KT_AFF_SINGLE, .idx = 99), { 0 } };
	const struct kt_op cross[] = {
		KT_OP_AFFINITY("cg_0", .kind = KT_AFF_CROSS_CGROUP, .cgroup2 = "cg_7"), { 0 },
	};
	const struct kt_op llc[] = { KT_OP_AFFINITY("cg_0", .kind = KT_AFF_LLC, .idx = 2), { 0 } };
	const struct kt_step s1[] = { { .setup = setup, .ops = pin }, { 0 } };
	const struct kt_step s2[] = { { .setup = setup, .ops = cross }, { 0 } };
	const struct kt_step s3[] = { { .setup = setup, .ops = llc }, { 0 } };
	const struct kt_step s4[] = { { .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 1.5 } },
				      { 0 } };
	const struct kt_op unset[] = { KT_OP_SET_CPUSET_("cg_0", (struct kt_cpuset_spec){ 0 }), { 0 } };
	const struct kt_step s5[] = { { .setup = setup, .ops = unset }, { 0 } };
	const struct kt_step empty[] = { { 0 } };

	expect_invalid(f, s1, "single(99): no such CPU");
	expect_invalid(f, s2, "unknown cgroup 'cg_7'");
	expect_invalid(f, s3, "llc(2): topology has 2 LLCs");
	expect_invalid(f, s4, "hold fraction 1.5");
	expect_invalid(f, s5, "use clear_cpuset");
	expect_invalid(f, empty, "no steps");
}

static void test_execute_defs_validation(void **state)
{
	struct vfix *f = *state;
	const struct kt_cgroup_def defs[] = { KT_CGROUP("cg_0", .cpuset = KT_CPUSET_NUMA(4)), { 0 } };
	const struct kt_cgroup_def none[] = { { 0 } };
	KT_AUTO(kt_assert_result) r = kt_execute_defs(&f->ctx, defs);
	KT_AUTO(kt_assert_result) r2 = kt_execute_defs(&f->ctx, none);

	assert_false(r->passed);
	assert_non_null(strstr(r->details[0], "numa(4)"));
	assert_false(r2->passed);
}

/* ---- helpers -------------------------------------------------------------- */

static void test_dfl_wl(void **state)
{
	struct kt_ctx ctx = { .workers_per_cgroup = 3 };
	struct kt_workload_config wl = kt_dfl_wl(&ctx);

	assert_int_equal(wl.num_workers, 3);
	assert_int_equal(wl.work.kind, KT_WORK_CPU_SPIN);
	assert_int_equal(wl.affinity, KT_AFFINITY_NONE);

	ctx.work_type_override = KT_WORK(KT_WORK_BURSTY, .burst_ms = 5, .sleep_ms = 7);
	wl = kt_dfl_wl(&ctx);
	assert_int_equal(wl.num_workers, 3);
	assert_int_equal(wl.work.kind, KT_WORK_BURSTY);
	assert_int_equal(wl.work.burst_ms, 5);
	assert_int_equal(wl.work.sleep_ms, 7);
}

static void test_helpers_without_cgroups(void **state)
{
	struct vfix *f = *state;
	struct kt_workload_config wl = kt_dfl_wl(&f->ctx);
	struct kt_handle_list *h = (struct kt_handle_list *)1;
	struct kt_cgroup_group *g = (struct kt_cgroup_group *)1;
	struct kt_handle_list *none = NULL;
	static const char *const names[] = { "cg_0" };
	KT_AUTO(kt_assert_result) r = NULL;

	assert_int_equal(kt_setup_cgroups(&f->ctx, 2, &wl, &h, &g), -EINVAL);
	assert_null(h);
	assert_null(g);
	assert_int_equal(kt_spawn_diverse(&f->ctx, names, 1, &none), -EINVAL);
	assert_null(none);
	/* Collecting nothing is a pass with no workers. */
	r = kt_collect_all(&none, &f->ctx.assert);
	assert_non_null(r);
	assert_true(r->passed);
	assert_int_equal(r->stats.workers, 0);
	assert_int_equal(kt_handle_list_count(NULL), 0);
	assert_null(kt_handle_list_cgroup(NULL, 0));
	kt_handle_list_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_ctx_sleep_abort),
		cmocka_unit_test(test_ctx_fail),
		cmocka_unit_test(test_progress_series),
		cmocka_unit_test(test_partition_2llc),
		cmocka_unit_test(test_partition_4llc_smt),
		cmocka_unit_test(test_partition_misaligned_moves_cut),
		cmocka_unit_test(test_catalog),
		cmocka_unit_test(test_scenario_run_flags),
		cmocka_unit_test_setup_teardown(test_validate_unknown_target, vsetup, vteardown),
		cmocka_unit_test_setup_teardown(test_validate_impossible_cpuset, vsetup, vteardown),
		cmocka_unit_test_setup_teardown(test_validate_lifetimes, vsetup, vteardown),
		cmocka_unit_test_setup_teardown(test_validate_affinity_and_holds, vsetup, vteardown),
		cmocka_unit_test_setup_teardown(test_execute_defs_validation, vsetup, vteardown),
		cmocka_unit_test(test_dfl_wl),
		cmocka_unit_test_setup_teardown(test_helpers_without_cgroups, vsetup, vteardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
