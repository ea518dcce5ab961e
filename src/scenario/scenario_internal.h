/*
 * Private to the scenario module: the handle list's layout and the spawn /
 * collect building blocks shared by the guide's helpers and the ops
 * engine.  Nothing here may be used outside src/scenario/.
 */
#ifndef KTSTR_SCENARIO_INTERNAL_H
#define KTSTR_SCENARIO_INTERNAL_H

#include <ktstr/scenario.h>

#include "scenario/ctx_state.h"

/* How long one handle's workers get to stop and report. */
#define KT_SCEN_COLLECT_MS 5000u
/* Label of workers that live outside every test cgroup. */
#define KT_SCEN_HOST_LABEL "host"

struct kt_handle_entry {
	char *cgroup;			/* current cgroup; NULL for host entries */
	struct kt_workload_handle *h;	/* NULL once collected */
	struct kt_cpuset *cpuset;	/* isolation reference (union), NULL: none */
	bool host;
	bool started;
};

struct kt_handle_list {
	struct kt_handle_entry *e;
	size_t n, cap;
	struct kt_ctx *ctx;		/* watched by this ctx's kt_ctx_sleep, or NULL */
};

/* Let kt_ctx_sleep watch a list's running workers (idempotent); a list
 * stops being watched when it is freed. */
void kt_scen_watch(struct kt_ctx *ctx, struct kt_handle_list *l);
void kt_scen_unwatch(struct kt_handle_list *l);

/* Fail res with the run's abort reason ("aborted" when none was given),
 * once per run: nothing when it is in a result already or res is NULL. */
void kt_scen_fail_aborted(struct kt_ctx *ctx, struct kt_assert_result *res);

/* Take a placement sample of the watched lists when one is due (about
 * every 100 ms); *wc is created on first use from ctx->assert. */
void kt_scen_placement_sample(struct kt_ctx *ctx, struct kt_wc **wc, uint64_t *last_ns,
			      struct kt_handle_list *const *lists, size_t nlists);
/* Record each watched worker's progress (work units, CPU time, gaps)
 * when a sample is due (about every 100 ms); *p is created on first use.
 * The series is for the result document (scenario_json.h). */
struct kt_progress;
void kt_scen_progress_sample(struct kt_ctx *ctx, struct kt_progress **p,
			     struct kt_handle_list *const *lists, size_t nlists);
void kt_scen_progress_free(struct kt_progress *p);
/* What ctx's kt_ctx_sleep recorded so far (NULL: nothing). */
const struct kt_progress *kt_scen_progress_of(const struct kt_ctx *ctx);
/* Add ctx's placement findings (once) to into. */
void kt_scen_placement_check(struct kt_ctx *ctx, struct kt_assert_result *into);

struct kt_handle_list *kt_scen_list_new(void);
/* Append (taking h and cpuset); on failure h and cpuset are freed. */
int kt_scen_list_append(struct kt_handle_list *l, const char *cgroup, bool host,
			struct kt_workload_handle *h, struct kt_cpuset *cpuset);
/* Start every entry not started yet. */
int kt_scen_list_start(struct kt_handle_list *l);
/* Stop, collect and check one entry (its handle is freed); the verdict is
 * merged into *into, and so is any failure to collect.  0 or -errno. */
int kt_scen_collect_entry(struct kt_handle_entry *e, const struct kt_assert *checks,
			  struct kt_assert_result *into);
/* Stop every group of l at the same moment, then collect each into `into`
 * (one exit latency in all, and no group runs on while another is read). */
void kt_scen_collect_list(struct kt_handle_list *l, const struct kt_assert *checks,
			  struct kt_assert_result *into);

/* Workload config for a def (worker count, work type, policy). */
struct kt_workload_config kt_scen_def_wl(const struct kt_ctx *ctx, const struct kt_cgroup_def *def);

/* CPUs an affinity spec names for a worker whose cgroup has `own`
 * (NULL: INHERIT, leave it alone).  *err names the reason on failure. */
int kt_scen_affinity_resolve(const struct kt_ctx *ctx, const struct kt_affinity_spec *a,
			     const struct kt_cpuset *own, const struct kt_cpuset *other,
			     unsigned *rng, struct kt_cpuset **out, char **err);
/* Apply an affinity spec to each worker of e (per worker for RANDOM). */
int kt_scen_apply_affinity(const struct kt_ctx *ctx, struct kt_handle_entry *e,
			   const struct kt_affinity_spec *a, const struct kt_cpuset *other,
			   char **err);
/* Effective cpuset of a cgroup, or all CPUs for NULL (host). */
int kt_scen_effective(const struct kt_ctx *ctx, const char *cgroup, struct kt_cpuset **out);
/*
 * Spawn wl blocked, move it into cgroup (NULL: stay put), apply the
 * affinity, and append it (not started) to l.  *err says what failed.
 */
int kt_scen_spawn_into(struct kt_ctx *ctx, const char *cgroup, const struct kt_workload_config *wl,
		       const struct kt_affinity_spec *aff, struct kt_handle_list *l, char **err);

const char *kt_scen_op_name(enum kt_op_kind k);
/* n cgroups "cg_i" with cpusets from a partition, held for the duration. */
struct kt_assert_result *kt_scen_run_steady(struct kt_ctx *ctx, unsigned n,
					    struct kt_cpuset_partition part,
					    const struct kt_work_type *works);
/* The zeroed entry that ends a step array. */
bool kt_scen_step_is_end(const struct kt_step *s);
/*
 * Walk every step without acting: each op's targets must be known by then
 * (created by an earlier def / add, not removed since, or already existing
 * under the manager), every cpuset and affinity spec must resolve on
 * ctx->topo.  0, or -EINVAL with *err ("step 2: op set_cpuset: unknown
 * cgroup 'cg_9'").
 */
int kt_scen_validate_steps(const struct kt_ctx *ctx, const struct kt_step *steps, char **err);

#endif
