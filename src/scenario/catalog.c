/*
 * The scenario catalog: the table of canned scenarios, lookup, flag
 * gating, and the steady runner that turns a catalog entry (cgroup count,
 * cpuset partition, work types) into cgroup defs.  Must not print.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct kt_scenario catalog[] = {
	{ .name = "steady", .category = "basic",
	  .description = "two cgroups of CpuSpin workers, each cgroup's workers on a CPU of its own",
	  .num_cgroups = 2, .action = { KT_ACTION_CUSTOM, kt_scenario_steady } },
	{ .name = "spread_out", .category = "basic",
	  .description = "one unpinned worker per usable CPU: the scheduler must spread them out",
	  .num_cgroups = 1, .action = { KT_ACTION_CUSTOM, kt_scenario_spread_out } },
	{ .name = "steady_llc", .category = "cpuset",
	  .description = "one cgroup per LLC, confined to its LLC's usable CPUs, a spawn pinned to each",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_steady_llc } },
	{ .name = "oversubscribed", .category = "stress",
	  .description = "two cgroups with workers_per_cgroup CpuSpin workers pinned to every usable CPU",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_oversubscribed } },
	{ .name = "cpuset_apply", .category = "cpuset",
	  .description = "two cgroups start unconfined; disjoint cpusets are applied mid-run",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cpuset_apply } },
	{ .name = "cpuset_clear", .category = "cpuset",
	  .description = "two cgroups start on disjoint cpusets; the cpusets are cleared mid-run",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cpuset_clear } },
	{ .name = "cpuset_resize", .category = "cpuset",
	  .description = "two cgroups at opposite ends of the usable CPUs alternately "
			 "grow over the middle and shrink back",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cpuset_resize } },
	{ .name = "cgroup_add", .category = "dynamic",
	  .description = "a third cgroup of workers is added halfway through",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cgroup_add } },
	{ .name = "cgroup_remove", .category = "dynamic",
	  .description = "one of three cgroups is removed halfway (its workers collected first)",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cgroup_remove } },
	{ .name = "affinity_change", .category = "affinity",
	  .description = "two cgroups pinned to different CPUs exchange them mid-run, "
			 "then share one",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_affinity_change } },
	{ .name = "affinity_pinned", .category = "affinity",
	  .description = "two cgroups pinned to one shared CPU, a third pinned alone",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_affinity_pinned } },
	{ .name = "host_contention", .category = "stress",
	  .description = "two cgroups of workers compete on their CPUs with workers left in the runner's cgroup",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_host_contention } },
	{ .name = "mixed_workloads", .category = "stress",
	  .description = "CpuSpin, Bursty, IoSync, Mixed and YieldHeavy workers, a cgroup each, sharing CPUs",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_mixed_workloads } },
	{ .name = "nested_steady", .category = "nested",
	  .description = "sibling leaf cgroups compete under parents with LLC-aligned cpusets",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_nested_steady } },
	{ .name = "nested_task_move", .category = "nested",
	  .description = "every task of a nested cgroup moves to a cgroup under another parent, "
			 "then back beside its siblings",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_nested_task_move } },
	/* placement left to the scheduler */
	{ .name = "steady_unpinned", .category = "placement",
	  .description = "two cgroups over all usable CPUs, one unpinned CpuSpin worker per CPU each",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_steady_unpinned } },
	{ .name = "steady_llc_unpinned", .category = "placement",
	  .description = "one cgroup per LLC, two unpinned workers per CPU of its LLC",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_steady_llc_unpinned } },
	{ .name = "oversubscribed_unpinned", .category = "placement",
	  .description = "two cgroups over all usable CPUs, two unpinned workers per CPU each",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_oversubscribed_unpinned } },
	{ .name = "cpuset_apply_unpinned", .category = "placement",
	  .description = "unpinned workers of two cgroups share every usable CPU, then are confined "
			 "to opposite halves",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cpuset_apply_unpinned } },
	{ .name = "cgroup_add_unpinned", .category = "placement",
	  .description = "a third cgroup of unpinned workers joins two others halfway",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cgroup_add_unpinned } },
	{ .name = "cgroup_remove_unpinned", .category = "placement",
	  .description = "one of three cgroups of unpinned workers leaves halfway",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cgroup_remove_unpinned } },
	{ .name = "nested_steady_unpinned", .category = "placement",
	  .description = "unpinned sibling leaves compete under parents with LLC-aligned cpusets",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_nested_steady_unpinned } },
	{ .name = "cpuset_grow_unpinned", .category = "placement",
	  .description = "unpinned workers stacked on one CPU; their cpuset grows to every usable CPU "
			 "and they must spread",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cpuset_grow_unpinned } },
	{ .name = "llc_local", .category = "placement",
	  .description = "a Bursty worker per LLC, far below capacity: each must keep waking in its LLC",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_llc_local } },
	/* weights the scheduler must honour */
	{ .name = "cgroup_weight", .category = "fairness",
	  .description = "cgroups with cpu.weight 200 and 100 share one CPU: about 2:1 CPU time",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_cgroup_weight } },
	{ .name = "nice_weight", .category = "fairness",
	  .description = "nice 0 and nice 3 workers share one CPU: about 1.95:1 CPU time",
	  .action = { KT_ACTION_CUSTOM, kt_scenario_nice_weight } },
};

const struct kt_scenario *kt_all_scenarios(size_t *n)
{
	if (n)
		*n = KT_ARRAY_SIZE(catalog);
	return catalog;
}

const struct kt_scenario *kt_scenario_find(const char *name)
{
	for (size_t i = 0; name && i < KT_ARRAY_SIZE(catalog); i++)
		if (!strcmp(catalog[i].name, name))
			return &catalog[i];
	return NULL;
}

static bool has_flag(const char *const *flags, const char *f)
{
	for (; flags && *flags; flags++)
		if (!strcmp(*flags, f))
			return true;
	return false;
}

/* Steady run of n cgroups "cg_i" under a partition, work types optional. */
struct kt_assert_result *kt_scen_run_steady(struct kt_ctx *ctx, unsigned n,
					    struct kt_cpuset_partition part,
					    const struct kt_work_type *works)
{
	struct kt_cpuset **sets = NULL;
	KT_AUTOFREE char *err = NULL;
	struct kt_cgroup_def *defs;
	char (*names)[32];
	char **lists;
	struct kt_assert_result *res;
	int r;

	if (!n)
		return kt_ctx_fail(ctx, "steady: no cgroups");
	r = kt_partition_cpusets(ctx->topo, part, n, &sets, &err);
	if (r)
		return kt_ctx_fail(ctx, "steady: %s", err ? err : strerror(-r));
	defs = calloc(n + 1, sizeof(*defs));
	names = calloc(n, sizeof(*names));
	lists = calloc(n, sizeof(*lists));
	for (unsigned i = 0; defs && names && lists && i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "cg_%u", i);
		defs[i].name = names[i];
		if (sets[i]) {
			lists[i] = kt_cpuset_format(sets[i]);
			if (!lists[i])
				break;
			defs[i].cpuset = KT_CPUSET_EXACT(lists[i]);
		}
		if (works)
			defs[i].work = works[i];
	}
	if (!defs || !names || !lists || (sets[n - 1] && !lists[n - 1]))
		res = kt_ctx_fail(ctx, "steady: out of memory");
	else
		res = kt_execute_defs(ctx, defs);
	for (unsigned i = 0; lists && i < n; i++)
		free(lists[i]);
	free(lists);
	free(names);
	free(defs);
	kt_cpuset_array_free(sets, n);
	return res;
}

struct kt_assert_result *kt_scenario_run(const struct kt_scenario *s, struct kt_ctx *ctx)
{
	struct kt_assert_result *res;

	if (!s || !ctx)
		return kt_ctx_fail(ctx, "scenario_run: no scenario");
	for (const char *const *f = s->required_flags; f && *f; f++) {
		if (!has_flag(ctx->state ? ctx->state->flags : NULL, *f)) {
			res = kt_assert_result_new();
			if (res)
				kt_assert_result_skip(res, "%s needs flag %s", s->name, *f);
			return res;
		}
	}
	for (const char *const *f = s->excluded_flags; f && *f; f++) {
		if (has_flag(ctx->state ? ctx->state->flags : NULL, *f)) {
			res = kt_assert_result_new();
			if (res)
				kt_assert_result_skip(res, "%s excludes flag %s", s->name, *f);
			return res;
		}
	}
	kt_timeline_add(kt_ctx_timeline(ctx), "scenario %s: start", s->name);
	if (s->action.kind == KT_ACTION_CUSTOM) {
		if (!s->action.custom)
			return kt_ctx_fail(ctx, "scenario %s: custom action without a function", s->name);
		res = s->action.custom(ctx);
	} else {
		res = kt_scen_run_steady(ctx, s->num_cgroups, s->cpuset_mode, s->cgroup_works);
	}
	kt_timeline_add(kt_ctx_timeline(ctx), "scenario %s: %s", s->name,
			!res ? "no result" : res->skipped ? "skipped" : res->passed ? "pass" : "fail");
	return res;
}
