/*
 * A template test suite: copy this file, link it with libktstr
 * (`cc -o my_tests my_tests.c $(pkg-config --cflags --libs ktstr)`), run
 * `./my_tests`.  Each KTSTR_TEST boots its own VM with the topology it
 * declares and runs its body inside as root.
 */
#include <ktstr/ktstr.h>

/*
 * The guide's custom scenario, line for line: N cgroups with default
 * workers, custom logic while they run, then collect and check.
 */
static struct kt_assert_result *my_custom_scenario(struct kt_ctx *ctx)
{
	struct kt_workload_config wl = kt_dfl_wl(ctx);
	KT_AUTO(kt_handle_list) handles = NULL;
	KT_AUTO(kt_cgroup_group) guard = NULL;	/* removes the cgroups at scope end */

	if (kt_setup_cgroups(ctx, 2, &wl, &handles, &guard))
		return kt_ctx_fail(ctx, "setup_cgroups failed");
	/* Custom logic: resize cpusets, move workers, etc. */
	kt_ctx_sleep(ctx, ctx->duration_ms);
	return kt_collect_all(&handles, &ctx->assert);
}

KTSTR_TEST(guide_custom_scenario, .llcs = 2, .cores = 4, .duration_s = 2)
{
	return my_custom_scenario(ctx);
}

/*
 * Ops and steps: two cgroups start unconfined, get disjoint LLC cpusets
 * halfway, then one grows over both LLCs.  Every op is a timestamped event
 * in the verdict's timeline; the scheduler is checked between steps.
 */
KTSTR_TEST(cpusets_change_mid_run, .llcs = 2, .cores = 4, .duration_s = 3)
{
	return kt_execute_steps(ctx, (struct kt_step[]){
		{
			.setup = (struct kt_cgroup_def[]){
				KT_CGROUP("cg_0", .workers = 2),
				KT_CGROUP("cg_1", .workers = 2),
				{ 0 },
			},
			.hold = { .kind = KT_HOLD_FRAC, .frac = 0.4 },
		},
		{
			.ops = (struct kt_op[]){
				KT_OP_SET_CPUSET_("cg_0", KT_CPUSET_LLC(0)),
				KT_OP_SET_CPUSET_("cg_1", KT_CPUSET_LLC(1)),
				{ 0 },
			},
			.hold = { .kind = KT_HOLD_FRAC, .frac = 0.3 },
		},
		{
			.ops = (struct kt_op[]){
				KT_OP_CLEAR_CPUSET_("cg_1"),
				{ 0 },
			},
			.hold = { .kind = KT_HOLD_FRAC, .frac = 0.3 },
		},
		{ 0 },
	});
}

/* A canned scenario from the catalog, with a tighter gap limit. */
KTSTR_TEST(steady_tight_gaps, .llcs = 2, .cores = 2, .duration_s = 2,
	   .assert = { .max_gap_ms = KT_SET(500) })
{
	return kt_scenario_steady(ctx);
}

/*
 * A negative test: a worker frozen for 2.5 s must be reported as stuck.
 * .expect_detail makes the test pass only when the verdict failed with
 * that finding.
 */
KTSTR_TEST(frozen_worker_is_caught, .llcs = 1, .cores = 2, .duration_s = 3,
	   .expect_detail = "stuck")
{
	KT_AUTO(kt_handle_list) handles = NULL;
	KT_AUTO(kt_cgroup_group) guard = NULL;
	struct kt_workload_config wl = kt_dfl_wl(ctx);
	pid_t pid;

	if (kt_setup_cgroups(ctx, 1, &wl, &handles, &guard))
		return kt_ctx_fail(ctx, "setup_cgroups failed");
	pid = kt_workload_pid(kt_handle_list_get(handles, 0), 0);
	kill(pid, SIGSTOP);
	kt_ctx_sleep(ctx, 2500);
	kill(pid, SIGCONT);
	kt_ctx_sleep(ctx, 300);
	return kt_collect_all(&handles, &ctx->assert);
}
