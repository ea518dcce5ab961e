/*
 * The canned scenarios.  Each is built so that a fair scheduler passes the
 * default checks reliably: the spread check compares only workers of one
 * spawn, so every spawn's workers are given identical CPU access (same
 * cgroup, same cpuset, same affinity), and every cpuset is carved out of
 * the usable CPUs.  Scheduler bugs still show: starvation, stalls (gap),
 * unfairness among equals, and CPUs outside a cgroup's cpusets.
 * Must not print.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

/* Usable CPU k (clamped), for pinning. */
static unsigned usable_cpu(const struct kt_ctx *ctx, size_t k)
{
	size_t m;
	const unsigned *u = kt_topo_usable_cpus(ctx->topo, &m);

	return m ? u[k < m ? k : m - 1] : 0;
}

/* LLC-aligned when there are two LLCs to align to, else two halves. */
static struct kt_cpuset_spec half_spec(const struct kt_ctx *ctx, unsigned i)
{
	unsigned llcs = kt_topo_num_llcs(ctx->topo);

	if (llcs >= 2)
		return KT_CPUSET_LLC(i == 0 ? 0 : llcs - 1);
	return KT_CPUSET_DISJOINT(i, 2);
}

struct kt_assert_result *kt_scenario_steady(struct kt_ctx *ctx)
{
	return kt_scenario_run(kt_scenario_find("steady"), ctx);
}

struct kt_assert_result *kt_scenario_steady_llc(struct kt_ctx *ctx)
{
	return kt_scen_run_steady(ctx, kt_topo_num_llcs(ctx->topo),
				  (struct kt_cpuset_partition){ .mode = KT_PART_LLC_ALIGNED }, NULL);
}

struct kt_assert_result *kt_scenario_oversubscribed(struct kt_ctx *ctx)
{
	unsigned w = 2 * kt_topo_total_cpus(ctx->topo);
	const struct kt_cgroup_def defs[] = {
		KT_CGROUP("cg_0", .workers = w),
		KT_CGROUP("cg_1", .workers = w),
		{ 0 },
	};

	return kt_execute_defs(ctx, defs);
}

struct kt_assert_result *kt_scenario_cpuset_apply(struct kt_ctx *ctx)
{
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), KT_CGROUP("cg_1"), { 0 } };
	const struct kt_op apply[] = {
		KT_OP_SET_CPUSET_("cg_0", KT_CPUSET_DISJOINT(0, 2)),
		KT_OP_SET_CPUSET_("cg_1", KT_CPUSET_DISJOINT(1, 2)),
		{ 0 },
	};
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = apply, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

struct kt_assert_result *kt_scenario_cpuset_clear(struct kt_ctx *ctx)
{
	const struct kt_cgroup_def setup[] = {
		KT_CGROUP("cg_0", .cpuset = KT_CPUSET_DISJOINT(0, 2)),
		KT_CGROUP("cg_1", .cpuset = KT_CPUSET_DISJOINT(1, 2)),
		{ 0 },
	};
	const struct kt_op clear[] = { KT_OP_CLEAR_CPUSET_("cg_0"), KT_OP_CLEAR_CPUSET_("cg_1"), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = clear, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

struct kt_assert_result *kt_scenario_cpuset_resize(struct kt_ctx *ctx)
{
	/* Unequal halves: swapping them shrinks one cgroup and grows the other. */
	const struct kt_cgroup_def setup[] = {
		KT_CGROUP("cg_0", .cpuset = KT_CPUSET_DISJOINT(0, 2)),
		KT_CGROUP("cg_1", .cpuset = KT_CPUSET_DISJOINT(1, 2)),
		{ 0 },
	};
	const struct kt_op swap[] = { KT_OP_SWAP("cg_0", "cg_1"), { 0 } };
	uint64_t loop_ms = ctx->duration_ms * 4 / 5;
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.2 } },
		{ .ops = swap, .hold = { .kind = KT_HOLD_LOOP, .ms = loop_ms ? loop_ms : 1,
					 .interval_ms = loop_ms / 4 ? loop_ms / 4 : 1 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

struct kt_assert_result *kt_scenario_cgroup_add(struct kt_ctx *ctx)
{
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), KT_CGROUP("cg_1"), { 0 } };
	const struct kt_op add[] = { KT_OP_ADD("cg_2"), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = add, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

struct kt_assert_result *kt_scenario_cgroup_remove(struct kt_ctx *ctx)
{
	const struct kt_cgroup_def setup[] = {
		KT_CGROUP("cg_0"), KT_CGROUP("cg_1"), KT_CGROUP("cg_2"), { 0 },
	};
	const struct kt_op rm[] = { KT_OP_REMOVE("cg_2"), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = rm, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

struct kt_assert_result *kt_scenario_affinity_change(struct kt_ctx *ctx)
{
	unsigned last = kt_topo_num_llcs(ctx->topo) - 1;
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), KT_CGROUP("cg_1"), { 0 } };
	/* Whole LLCs: the cgroups have no cpuset, so every CPU is allowed. */
	const struct kt_op pin[] = {
		KT_OP_AFFINITY("cg_0", .kind = KT_AFF_LLC, .idx = 0),
		KT_OP_AFFINITY("cg_1", .kind = KT_AFF_LLC, .idx = last),
		{ 0 },
	};
	const struct kt_op exchange[] = {
		KT_OP_AFFINITY("cg_0", .kind = KT_AFF_LLC, .idx = last),
		KT_OP_AFFINITY("cg_1", .kind = KT_AFF_LLC, .idx = 0),
		{ 0 },
	};
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 1.0 / 3 } },
		{ .ops = pin, .hold = { .kind = KT_HOLD_FRAC, .frac = 1.0 / 3 } },
		{ .ops = exchange, .hold = { .kind = KT_HOLD_FRAC, .frac = 1.0 / 3 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

struct kt_assert_result *kt_scenario_affinity_pinned(struct kt_ctx *ctx)
{
	size_t m;

	kt_topo_usable_cpus(ctx->topo, &m);

	/* All of a cgroup's workers on one CPU: they share it equally. */
	const struct kt_cgroup_def defs[] = {
		KT_CGROUP("cg_0", .affinity = { .kind = KT_AFF_SINGLE, .idx = usable_cpu(ctx, 0) }),
		KT_CGROUP("cg_1", .affinity = { .kind = KT_AFF_SINGLE, .idx = usable_cpu(ctx, m - 1) }),
		{ 0 },
	};

	return kt_execute_defs(ctx, defs);
}

struct kt_assert_result *kt_scenario_host_contention(struct kt_ctx *ctx)
{
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), KT_CGROUP("cg_1"), { 0 } };
	const struct kt_op host[] = { KT_OP_SPAWN_HOST_(), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .ops = host, .hold = { .kind = KT_HOLD_FRAC, .frac = 0 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

struct kt_assert_result *kt_scenario_mixed_workloads(struct kt_ctx *ctx)
{
	static const char *const names[] = { "cg_0", "cg_1" };
	KT_AUTO(kt_cgroup_group) guard = NULL;
	KT_AUTO(kt_handle_list) handles = NULL;
	int r;

	if (!ctx->cgroups)
		return kt_ctx_fail(ctx, "mixed_workloads: no cgroup manager in the context");
	guard = kt_cgroup_group_new(ctx->cgroups);
	if (!guard)
		return kt_ctx_fail(ctx, "mixed_workloads: out of memory");
	for (size_t i = 0; i < KT_ARRAY_SIZE(names); i++) {
		r = kt_cgroup_group_add(guard, names[i]);
		if (r)
			return kt_ctx_fail(ctx, "mixed_workloads: cannot create %s: %s: %s", names[i],
					   kt_cgroup_last_path(ctx->cgroups), strerror(-r));
	}
	r = kt_spawn_diverse(ctx, names, KT_ARRAY_SIZE(names), &handles);
	if (r)
		return kt_ctx_fail(ctx, "mixed_workloads: spawn_diverse: %s", strerror(-r));
	if (kt_ctx_sleep(ctx, ctx->duration_ms)) {
		struct kt_assert_result *res = kt_collect_all(&handles, &ctx->assert);

		if (res)
			kt_assert_result_fail(res, "%s", ctx->abort_reason);
		return res;
	}
	return kt_collect_all(&handles, &ctx->assert);
}

struct kt_assert_result *kt_scenario_nested_steady(struct kt_ctx *ctx)
{
	const struct kt_cgroup_def defs[] = {
		KT_CGROUP("cg_0", .no_workers = true, .cpuset = half_spec(ctx, 0)),
		KT_CGROUP("cg_0/a"),
		KT_CGROUP("cg_0/b"),
		KT_CGROUP("cg_1", .no_workers = true, .cpuset = half_spec(ctx, 1)),
		KT_CGROUP("cg_1/a/b"),
		{ 0 },
	};

	return kt_execute_defs(ctx, defs);
}

struct kt_assert_result *kt_scenario_nested_task_move(struct kt_ctx *ctx)
{
	const struct kt_cgroup_def setup[] = {
		KT_CGROUP("cg_0", .no_workers = true, .cpuset = half_spec(ctx, 0)),
		KT_CGROUP("cg_0/a"),
		KT_CGROUP("cg_0/b"),
		KT_CGROUP("cg_1", .no_workers = true, .cpuset = half_spec(ctx, 1)),
		KT_CGROUP("cg_1/a", .no_workers = true),
		{ 0 },
	};
	const struct kt_op away[] = { KT_OP_MOVE_ALL("cg_0/a", "cg_1/a"), { 0 } };
	const struct kt_op back[] = { KT_OP_MOVE_ALL("cg_1/a", "cg_0/b"), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 1.0 / 3 } },
		{ .ops = away, .hold = { .kind = KT_HOLD_FRAC, .frac = 1.0 / 3 } },
		{ .ops = back, .hold = { .kind = KT_HOLD_FRAC, .frac = 1.0 / 3 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}
