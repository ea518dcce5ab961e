/*
 * Each check must fail on a real fault and pass when things are healthy.
 * Every negative test here creates the fault for real inside the VM (a
 * worker outside its cpuset, a SCHED_FIFO hog, a SIGSTOPped worker, an
 * unfairly weighted worker) and passes only if the check fired with the
 * right diagnosis (kt_assert_expect_failure).
 */
#include <ktstr/ktstr.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Spawn `n` workers with `cfg`, move them into cgroup `cg` (NULL: leave
 * them where they are), start them. */
static struct kt_workload_handle *spawn_in(struct kt_ctx *ctx, const char *cg,
					   const struct kt_workload_config *cfg)
{
	struct kt_workload_handle *h = NULL;

	if (kt_workload_spawn(cfg, &h))
		return NULL;
	for (size_t i = 0; cg && i < kt_workload_count(h); i++)
		if (kt_cgroup_move_task(ctx->cgroups, cg, kt_workload_pid(h, i))) {
			kt_workload_handle_free(h);
			return NULL;
		}
	kt_workload_start(h);
	return h;
}

static struct kt_assert_result *collect_into(struct kt_workload_handle *h, const char *group,
					     const struct kt_assert *a, const struct kt_cpuset *set)
{
	struct kt_worker_report *r = NULL;
	struct kt_assert_result *res;
	size_t n = 0;

	if (kt_workload_stop_collect(h, 5000, &r, &n))
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(r[i].group, sizeof(r[i].group), "%s", group);
	res = kt_assert_cgroup(a, r, n, set);
	kt_worker_reports_free(r, n);
	return res;
}

static void write_knob(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(value, f);
		fclose(f);
	}
}

/* Disjoint cpusets per LLC: isolation holds. */
KTSTR_TEST(isolation_holds, .llcs = 2, .cores = 2, .duration_s = 2)
{
	return kt_execute_defs(ctx, (struct kt_cgroup_def[]){
		KT_CGROUP("cg_0", .workers = 2, .cpuset = KT_CPUSET_DISJOINT(0, 2)),
		KT_CGROUP("cg_1", .workers = 2, .cpuset = KT_CPUSET_DISJOINT(1, 2)),
		{ 0 },
	});
}

/* A worker that belongs to cg_0 (cpuset 0-1) but escaped it: it was never
 * moved in and is pinned to CPU 3.  Isolation must name it and CPU 3. */
KTSTR_TEST(isolation_escape_detected, .llcs = 2, .cores = 2, .duration_s = 1.5)
{
	KT_AUTO(kt_cgroup_group) guard = kt_cgroup_group_new(ctx->cgroups);
	KT_AUTO(kt_cpuset) set = NULL;
	KT_AUTO(kt_workload_handle) inside = NULL;
	KT_AUTO(kt_workload_handle) escaped = NULL;
	struct kt_workload_config in_cfg = kt_dfl_wl(ctx);
	struct kt_workload_config out_cfg = kt_dfl_wl(ctx);
	struct kt_assert_result *r;

	if (!guard || kt_cgroup_group_add(guard, "cg_0") || kt_cpuset_parse("0-1", &set, NULL) ||
	    kt_cgroup_set_cpuset(ctx->cgroups, "cg_0", set))
		return kt_ctx_fail(ctx, "cannot set up cg_0");
	out_cfg.num_workers = 1;
	out_cfg.affinity = KT_AFFINITY_SINGLE;
	out_cfg.single_cpu = 3;
	inside = spawn_in(ctx, "cg_0", &in_cfg);
	escaped = spawn_in(ctx, NULL, &out_cfg);
	if (!inside || !escaped)
		return kt_ctx_fail(ctx, "cannot spawn workers");
	kt_ctx_sleep(ctx, ctx->duration_ms);
	r = collect_into(inside, "cg_0", &ctx->assert, set);
	{
		struct kt_assert_result *r2 = collect_into(escaped, "cg_0", &ctx->assert, set);

		kt_assert_result_merge(r, r2);
		kt_assert_result_free(r2);
	}
	return kt_assert_expect_failure(r, "outside its cpuset 0-1");
}

/* A SCHED_FIFO hog on the CPU a normal worker is pinned to.  With RT
 * throttling and the fair server off, the normal worker gets nothing; if
 * the kernel keeps its fair server running anyway, the worker still waits
 * ~950 ms at a time, so the gap limit here is 500 ms: either way the gap
 * check must say it was stuck. */
KTSTR_TEST(fifo_hog_starves_worker, .llcs = 1, .cores = 2, .duration_s = 3,
	   .assert = { .max_gap_ms = KT_SET(500) })
{
	KT_AUTO(kt_cgroup_group) guard = kt_cgroup_group_new(ctx->cgroups);
	KT_AUTO(kt_workload_handle) victim = NULL;
	KT_AUTO(kt_workload_handle) hog = NULL;
	struct kt_workload_config v = kt_dfl_wl(ctx), h = kt_dfl_wl(ctx);
	struct kt_assert_result *rv, *rh;
	char victim_tid[48];

	if (!guard || kt_cgroup_group_add(guard, "cg_0"))
		return kt_ctx_fail(ctx, "cannot create cg_0");
	/* let the hog really monopolise CPU 1 */
	write_knob("/proc/sys/kernel/sched_rt_runtime_us", "-1");
	write_knob("/sys/kernel/debug/sched/fair_server/cpu1/runtime", "0");
	v.num_workers = h.num_workers = 1;
	v.affinity = h.affinity = KT_AFFINITY_SINGLE;
	v.single_cpu = h.single_cpu = 1;
	h.policy = KT_POLICY_FIFO;
	h.priority = 50;
	victim = spawn_in(ctx, "cg_0", &v);
	if (!victim)
		return kt_ctx_fail(ctx, "cannot spawn the victim");
	kt_ctx_sleep(ctx, 300);
	hog = spawn_in(ctx, "cg_0", &h);
	if (!hog)
		return kt_ctx_fail(ctx, "cannot spawn the SCHED_FIFO hog");
	kt_ctx_sleep(ctx, ctx->duration_ms);
	snprintf(victim_tid, sizeof(victim_tid), "(tid %d) stuck", (int)kt_workload_pid(victim, 0));
	rh = collect_into(hog, "cg_0", &ctx->assert, NULL);	/* the hog first, or the victim cannot report */
	rv = collect_into(victim, "cg_0", &ctx->assert, NULL);
	write_knob("/sys/kernel/debug/sched/fair_server/cpu1/runtime", "50000000");
	write_knob("/proc/sys/kernel/sched_rt_runtime_us", "950000");
	kt_assert_result_merge(rv, rh);
	kt_assert_result_free(rh);
	return kt_assert_expect_failure(rv, victim_tid);
}

/* A worker frozen with SIGSTOP for 3 s: the gap check names it. */
KTSTR_TEST(sigstop_gap_detected, .llcs = 1, .cores = 2, .duration_s = 4)
{
	KT_AUTO(kt_handle_list) handles = NULL;
	KT_AUTO(kt_cgroup_group) guard = NULL;
	struct kt_workload_config wl = kt_dfl_wl(ctx);
	char needle[48];
	pid_t frozen;

	if (kt_setup_cgroups(ctx, 1, &wl, &handles, &guard))
		return kt_ctx_fail(ctx, "setup_cgroups failed");
	frozen = kt_workload_pid(kt_handle_list_get(handles, 0), 0);
	kt_ctx_sleep(ctx, 400);
	kill(frozen, SIGSTOP);
	kt_ctx_sleep(ctx, 3000);
	kill(frozen, SIGCONT);
	kt_ctx_sleep(ctx, 400);
	snprintf(needle, sizeof(needle), "(tid %d) stuck", (int)frozen);
	return kt_assert_expect_failure(kt_collect_all(&handles, &ctx->assert), needle);
}

/* A worker that dies mid-run is reported at once, by signal, not as a
 * stuck worker seconds later. */
KTSTR_TEST(worker_killed_named, .llcs = 1, .cores = 2, .duration_s = 3,
	   .expect_detail = "was killed by signal 11 (SIGSEGV) while the scenario ran")
{
	KT_AUTO(kt_handle_list) handles = NULL;
	KT_AUTO(kt_cgroup_group) guard = NULL;
	struct kt_workload_config wl = kt_dfl_wl(ctx);

	if (kt_setup_cgroups(ctx, 1, &wl, &handles, &guard))
		return kt_ctx_fail(ctx, "setup_cgroups failed");
	kt_ctx_sleep(ctx, 300);
	kill(kt_workload_pid(kt_handle_list_get(handles, 0), 1), SIGSEGV);
	kt_ctx_sleep(ctx, ctx->duration_ms);
	return kt_collect_all(&handles, &ctx->assert);
}

/* A cgroup guard that leaves scope while its workers run (here an inner
 * block): the cgroup goes and its workers with it; the verdict names the
 * signal and the likely mistake. */
KTSTR_TEST(guard_freed_early_named, .llcs = 1, .cores = 2, .duration_s = 3,
	   .expect_detail = "its cgroup had been removed under it")
{
	KT_AUTO(kt_handle_list) handles = NULL;
	struct kt_workload_config wl = kt_dfl_wl(ctx);

	{
		KT_AUTO(kt_cgroup_group) guard = NULL;

		if (kt_setup_cgroups(ctx, 1, &wl, &handles, &guard))
			return kt_ctx_fail(ctx, "setup_cgroups failed");
	}	/* the guard is freed here: the mistake under test */
	kt_ctx_sleep(ctx, ctx->duration_ms);
	return kt_collect_all(&handles, &ctx->assert);
}

/* A test body that crashes is reported as a crash, with where it
 * happened, not as the kernel panic that PID 1's death would be. */
static int __attribute__((noinline)) crash_here(volatile int *p)
{
	return *p;
}

KTSTR_TEST(body_crash_reported, .llcs = 1, .cores = 2, .duration_s = 1,
	   .expect_detail = "test body crashed: SIGSEGV in crash_here")
{
	volatile int *nowhere = NULL;

	kt_timeline_add(kt_ctx_timeline(ctx), "about to crash: %d", crash_here(nowhere));
	return kt_ctx_fail(ctx, "the crash did not happen");
}

/* Equal CpuSpin workers, one per usable CPU: spread within 15 %. */
KTSTR_TEST(equal_workers_even_spread, .llcs = 2, .cores = 2, .duration_s = 2,
	   .assert = { .max_spread_pct = KT_SET(15) })
{
	return kt_execute_defs(ctx, (struct kt_cgroup_def[]){
		KT_CGROUP("cg_0", .workers = 3),
		{ 0 },
	});
}

/* Two workers of one cgroup sharing CPU 0, one at nice 10: the spread
 * check fires. */
KTSTR_TEST(unequal_weights_spread_detected, .llcs = 1, .cores = 2, .duration_s = 2,
	   .assert = { .max_spread_pct = KT_SET(15) })
{
	KT_AUTO(kt_cgroup_group) guard = kt_cgroup_group_new(ctx->cgroups);
	KT_AUTO(kt_workload_handle) a = NULL;
	KT_AUTO(kt_workload_handle) b = NULL;
	struct kt_workload_config ca = kt_dfl_wl(ctx), cb = kt_dfl_wl(ctx);
	struct kt_worker_report *ra = NULL, *rb = NULL, all[2];
	size_t na = 0, nb = 0;
	struct kt_assert_result *r;

	if (!guard || kt_cgroup_group_add(guard, "cg_0"))
		return kt_ctx_fail(ctx, "cannot create cg_0");
	ca.num_workers = cb.num_workers = 1;
	ca.affinity = cb.affinity = KT_AFFINITY_SINGLE;
	ca.single_cpu = cb.single_cpu = 0;
	cb.nice = 10;
	a = spawn_in(ctx, "cg_0", &ca);
	b = spawn_in(ctx, "cg_0", &cb);
	if (!a || !b)
		return kt_ctx_fail(ctx, "cannot spawn workers");
	kt_ctx_sleep(ctx, ctx->duration_ms);
	if (kt_workload_stop_collect(a, 5000, &ra, &na) || kt_workload_stop_collect(b, 5000, &rb, &nb) ||
	    na != 1 || nb != 1)
		return kt_ctx_fail(ctx, "cannot collect reports");
	all[0] = ra[0];
	all[1] = rb[0];
	snprintf(all[0].group, sizeof(all[0].group), "cg_0");
	snprintf(all[1].group, sizeof(all[1].group), "cg_0");
	r = kt_assert_cgroup(&ctx->assert, all, 2, NULL);
	kt_worker_reports_free(ra, na);
	kt_worker_reports_free(rb, nb);
	return kt_assert_expect_failure(r, "spread");
}

/*
 * A process the test leaves running fails the test even though its body
 * passed: here a daemon (double fork, so init inherits it) outlives the run.
 */
KTSTR_TEST(leaked_process_detected, .llcs = 1, .cores = 2, .duration_s = 1,
	   .expect_detail = "left behind: process")
{
	pid_t pid = fork();

	if (pid == 0) {
		setsid();
		if (fork() == 0) {
			for (;;)
				pause();
		}
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return kt_execute_defs(ctx, (struct kt_cgroup_def[]){
		KT_CGROUP("cg_0", .workers = 1),
		{ 0 },
	});
}

/* Invalid ops fail the test with a message naming the op, and clean up. */
KTSTR_TEST(op_unknown_cgroup_fails_cleanly, .llcs = 2, .cores = 2, .duration_s = 1,
	   .expect_detail = "unknown cgroup 'cg_9'")
{
	return kt_execute_steps(ctx, (struct kt_step[]){
		{ .setup = (struct kt_cgroup_def[]){ KT_CGROUP("cg_0", .workers = 1), { 0 } },
		  .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = (struct kt_op[]){ KT_OP_SET_CPUSET_("cg_9", KT_CPUSET_LLC(0)), { 0 } },
		  .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	});
}

KTSTR_TEST(op_impossible_cpuset_fails_cleanly, .llcs = 2, .cores = 2, .duration_s = 1,
	   .expect_detail = "llc(3)")
{
	return kt_execute_defs(ctx, (struct kt_cgroup_def[]){
		KT_CGROUP("cg_0", .workers = 1, .cpuset = KT_CPUSET_LLC(3)),
		{ 0 },
	});
}
