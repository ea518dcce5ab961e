/*
 * Scenarios: the context a test body receives (the guide's Ctx), the
 * guide's helpers (dfl_wl, setup_cgroups, collect_all, spawn_diverse), the
 * ops/steps engine for dynamic scenarios, the timeline of what was done
 * when, and the scenario catalog.  Knows nothing about QEMU: the same
 * scenarios run in a VM and on bare metal.
 */
#ifndef KTSTR_SCENARIO_H
#define KTSTR_SCENARIO_H

#include <ktstr/cgroup.h>
#include <ktstr/check.h>
#include <ktstr/common.h>
#include <ktstr/topology.h>
#include <ktstr/workload.h>
#include <sys/types.h>

/* ---- timeline ---------------------------------------------------------- */

/* Timestamped events (ms since the scenario started). */
struct kt_timeline;
KT_API struct kt_timeline *kt_timeline_new(void);
KT_API void kt_timeline_free(struct kt_timeline *t);
KT_DEFINE_FREEP(kt_timeline)
KT_API void kt_timeline_add(struct kt_timeline *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
KT_API size_t kt_timeline_count(const struct kt_timeline *t);
/* Now, on the timeline's clock (ms since kt_timeline_new). */
KT_API double kt_timeline_now_ms(const struct kt_timeline *t);
/* i-th event: its time (ms since kt_timeline_new) and text. */
KT_API const char *kt_timeline_get(const struct kt_timeline *t, size_t i, double *at_ms);

/* ---- context ----------------------------------------------------------- */

/*
 * The guide's Ctx.  Durations are milliseconds.  The runner makes it and
 * hands it to the test body; ktstr's own state (timeline, flag profile,
 * scheduler hooks, abort state) sits behind `state`, which only the
 * library touches.  A ctx built by hand ({ 0 } plus the guide's fields)
 * works without it: no timeline, no scheduler, nothing watched.
 */
struct kt_ctx_state;
struct kt_ctx {
	struct kt_cgroup_manager *cgroups;	/* create/remove/cpuset/move */
	const struct kt_topology *topo;		/* CPU topology queries */
	uint64_t duration_ms;			/* how long the workload runs */
	unsigned workers_per_cgroup;
	pid_t sched_pid;			/* scheduler under test, 0 = EEVDF */
	uint64_t settle_ms;			/* wait after cgroup setup */
	struct kt_work_type work_type_override;	/* .kind UNSET = no override */
	struct kt_assert assert;		/* merged checks for this run */
	bool wait_for_map_write;		/* scheduler fault armed by a map write */
	struct kt_ctx_state *state;		/* ktstr's own: opaque, NULL for none */
};

/* The run's timeline (every op, step and finding), for a body's own
 * entries with kt_timeline_add; NULL (which kt_timeline_add accepts) when
 * the ctx has none. */
KT_API struct kt_timeline *kt_ctx_timeline(const struct kt_ctx *ctx);
/* Why the run is certain to fail (a worker stuck or dead, the scheduler
 * gone), once kt_ctx_sleep or kt_ctx_sched_ok found out; else NULL. */
KT_API const char *kt_ctx_abort_reason(const struct kt_ctx *ctx);

/* Sleep for ms, watching the scheduler and every running worker spawned
 * through this ctx: if the scheduler dies, or a worker makes no progress for
 * longer than ctx->assert.max_gap_ms, the failure is certain and the sleep
 * ends at once with kt_ctx_abort_reason() set.  Returns 0, or -ECANCELED. */
KT_API int kt_ctx_sleep(struct kt_ctx *ctx, uint64_t ms);
/* Free what the scenario layer attached to ctx (watch list, abort reason). */
KT_API void kt_ctx_release(struct kt_ctx *ctx);
/* Check the scheduler now; false (and the abort reason set) if it is gone. */
KT_API bool kt_ctx_sched_ok(struct kt_ctx *ctx);
/* A failed result carrying a message (for errors in scenario code). */
KT_API struct kt_assert_result *kt_ctx_fail(struct kt_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- the guide's helpers ------------------------------------------------ */

/* Workers spawned into cgroups, with the cgroup and its cpuset. */
struct kt_handle_list;
KT_API void kt_handle_list_free(struct kt_handle_list *l);	/* kills any worker still alive */
KT_DEFINE_FREEP(kt_handle_list)
KT_API size_t kt_handle_list_count(const struct kt_handle_list *l);
KT_API const char *kt_handle_list_cgroup(const struct kt_handle_list *l, size_t i);
KT_API struct kt_workload_handle *kt_handle_list_get(const struct kt_handle_list *l, size_t i);
/* True for workers left outside every test cgroup (spawn_host). */
KT_API bool kt_handle_list_is_host(const struct kt_handle_list *l, size_t i);
/* The CPUs entry i's isolation is checked against: the union of every
 * effective cpuset its cgroup had while the workers ran (NULL: none). */
KT_API const struct kt_cpuset *kt_handle_list_cpuset(const struct kt_handle_list *l, size_t i);

/* ctx->workers_per_cgroup workers of the default (or overridden) work type. */
KT_API struct kt_workload_config kt_dfl_wl(const struct kt_ctx *ctx);
/*
 * Create n cgroups "cg_0".."cg_{n-1}", spawn wl in each, move the workers
 * in, start them.  On success *handles and *guard are set; bind the guard
 * to a named KT_AUTO variable so the cgroups live until the scope ends.
 */
KT_API int kt_setup_cgroups(struct kt_ctx *ctx, unsigned n, const struct kt_workload_config *wl,
			    struct kt_handle_list **handles, struct kt_cgroup_group **guard);
/*
 * Stop every worker, collect reports, run checks->assert_cgroup per cgroup
 * when worker checks are configured (else not-starved), merge.  Takes
 * ownership of *handles (sets it NULL).
 */
KT_API struct kt_assert_result *kt_collect_all(struct kt_handle_list **handles,
					       const struct kt_assert *checks);
/* CpuSpin, Bursty, IoSync, Mixed, YieldHeavy spread across the named
 * cgroups (which must exist), started. */
KT_API int kt_spawn_diverse(struct kt_ctx *ctx, const char *const *cgroup_names, size_t n,
			    struct kt_handle_list **handles);

/* ---- ops and steps ------------------------------------------------------- */

enum kt_affinity_spec_kind {
	KT_AFF_INHERIT = 0,
	KT_AFF_RANDOM,		/* random subset of the cgroup's cpuset (.count CPUs) */
	KT_AFF_LLC,		/* the CPUs of LLC .idx */
	KT_AFF_CROSS_CGROUP,	/* the cpuset of another cgroup (.cgroup2): escapes its own */
	KT_AFF_SINGLE,		/* one CPU: .idx */
	KT_AFF_EXACT,		/* cpulist .exact */
};
struct kt_affinity_spec {
	enum kt_affinity_spec_kind kind;
	unsigned idx, count;
	const char *cgroup2;
	const char *exact;
};

/* A cgroup declared with builder-like designated initializers. */
struct kt_cgroup_def {
	const char *name;
	struct kt_cpuset_spec cpuset;		/* KT_CPUSET_*; kind NONE = no cpuset */
	unsigned workers;			/* 0 -> ctx->workers_per_cgroup */
	struct kt_work_type work;		/* kind UNSET -> default / override */
	enum kt_sched_policy policy;
	int priority;
	int nice;
	struct kt_affinity_spec affinity;
	bool no_workers;			/* create the cgroup (and cpuset) only */
	unsigned weight;			/* cpu.weight; 0 -> leave the kernel's 100 */
};
#define KT_CGROUP(name_, ...) { .name = (name_), __VA_ARGS__ }
#define KT_WORK(kind_, ...) ((struct kt_work_type){ .kind = (kind_), __VA_ARGS__ })

enum kt_op_kind {
	KT_OP_END = 0,
	KT_OP_ADD_CGROUP,	/* .def: create + spawn per the def */
	KT_OP_REMOVE_CGROUP,	/* stop its workers (collected), remove it */
	KT_OP_SET_CPUSET,	/* .cgroup, .cpuset */
	KT_OP_CLEAR_CPUSET,	/* .cgroup */
	KT_OP_SWAP_CPUSETS,	/* .cgroup, .cgroup2 */
	KT_OP_SPAWN,		/* .cgroup, .def's workers/work: more workers there */
	KT_OP_STOP_CGROUP,	/* stop and collect its workers, keep the cgroup */
	KT_OP_SET_AFFINITY,	/* .cgroup, .affinity */
	KT_OP_SPAWN_HOST,	/* workers outside any test cgroup (.def) */
	KT_OP_MOVE_ALL_TASKS,	/* every task of .cgroup into .cgroup2 */
};
struct kt_op {
	enum kt_op_kind kind;
	const char *cgroup;
	const char *cgroup2;
	struct kt_cpuset_spec cpuset;
	struct kt_cgroup_def def;
	struct kt_affinity_spec affinity;
};
#define KT_OP_ADD(...)              { .kind = KT_OP_ADD_CGROUP, .def = KT_CGROUP(__VA_ARGS__) }
#define KT_OP_REMOVE(cg)            { .kind = KT_OP_REMOVE_CGROUP, .cgroup = (cg) }
#define KT_OP_SET_CPUSET_(cg, spec) { .kind = KT_OP_SET_CPUSET, .cgroup = (cg), .cpuset = spec }
#define KT_OP_CLEAR_CPUSET_(cg)     { .kind = KT_OP_CLEAR_CPUSET, .cgroup = (cg) }
#define KT_OP_SWAP(a, b)            { .kind = KT_OP_SWAP_CPUSETS, .cgroup = (a), .cgroup2 = (b) }
#define KT_OP_STOP(cg)              { .kind = KT_OP_STOP_CGROUP, .cgroup = (cg) }
#define KT_OP_AFFINITY(cg, ...)     { .kind = KT_OP_SET_AFFINITY, .cgroup = (cg), .affinity = { __VA_ARGS__ } }
#define KT_OP_MOVE_ALL(from, to)    { .kind = KT_OP_MOVE_ALL_TASKS, .cgroup = (from), .cgroup2 = (to) }
#define KT_OP_SPAWN_(cg, ...)       { .kind = KT_OP_SPAWN, .cgroup = (cg), .def = KT_CGROUP((cg), __VA_ARGS__) }
#define KT_OP_SPAWN_HOST_(...)      { .kind = KT_OP_SPAWN_HOST, .def = KT_CGROUP("host", __VA_ARGS__) }

enum kt_hold_kind {
	KT_HOLD_FRAC = 0,	/* .frac of ctx->duration_ms (0 -> the whole duration) */
	KT_HOLD_FIXED,		/* .ms */
	KT_HOLD_LOOP,		/* repeat the step's ops every .interval_ms for .ms */
};
struct kt_hold {
	enum kt_hold_kind kind;
	double frac;
	uint64_t ms;
	uint64_t interval_ms;
};

/* setup and ops are arrays terminated by a zeroed entry (name / kind 0). */
struct kt_step {
	const struct kt_cgroup_def *setup;
	const struct kt_op *ops;
	struct kt_hold hold;
};

/*
 * Every step's ops are validated (targets known, cpuset and affinity specs
 * resolvable on ctx->topo) before anything is created, so an invalid
 * scenario fails with a message ("step 2: op set_cpuset: unknown cgroup
 * 'cg_9'") and leaves nothing behind.  Workers are checked per spawn
 * (equal workers only), isolation against the union of the effective
 * cpusets their cgroup had during the run: a worker fails it only by
 * running on a CPU its cgroup never had.  Workers of a removed or stopped
 * cgroup are collected then and count in the verdict.
 */

/* Run cgroup defs steadily for the duration, then collect and check. */
KT_API struct kt_assert_result *kt_execute_defs(struct kt_ctx *ctx,
						const struct kt_cgroup_def *defs);
/* Steps in order (zeroed-terminated array; an entry with neither setup
 * nor ops nor hold ends it), checking the scheduler between steps. */
KT_API struct kt_assert_result *kt_execute_steps(struct kt_ctx *ctx, const struct kt_step *steps);
KT_API struct kt_assert_result *kt_execute_steps_with(struct kt_ctx *ctx,
						      const struct kt_step *steps,
						      const struct kt_assert *checks);

/* ---- catalog ------------------------------------------------------------- */

enum kt_cpuset_mode {
	KT_PART_NONE = 0,
	KT_PART_LLC_ALIGNED,	/* cgroup i gets LLC i % num_llcs */
	KT_PART_SPLIT_HALF,	/* two halves of the usable CPUs */
	KT_PART_SPLIT_MISALIGNED, /* halves cut off LLC boundaries */
	KT_PART_OVERLAP,	/* neighbours share .frac */
	KT_PART_UNEVEN,		/* first cgroup gets .frac, the rest share the remainder */
	KT_PART_HOLDBACK,	/* .frac of the CPUs held back from every cgroup */
};
struct kt_cpuset_partition {
	enum kt_cpuset_mode mode;
	double frac;
};

typedef struct kt_assert_result *(*kt_scenario_fn)(struct kt_ctx *ctx);

enum kt_action_kind { KT_ACTION_STEADY = 0, KT_ACTION_CUSTOM };
struct kt_action {
	enum kt_action_kind kind;
	kt_scenario_fn custom;
};

struct kt_scenario {
	const char *name;
	const char *category;		/* basic, cpuset, dynamic, stress, affinity, nested,
					 * placement, fairness */
	const char *description;
	const char *const *required_flags;	/* NULL-terminated or NULL */
	const char *const *excluded_flags;
	unsigned num_cgroups;
	struct kt_cpuset_partition cpuset_mode;
	const struct kt_work_type *cgroup_works;	/* num_cgroups entries, or NULL */
	struct kt_action action;
};

KT_API const struct kt_scenario *kt_all_scenarios(size_t *n);
KT_API const struct kt_scenario *kt_scenario_find(const char *name);
/* Run a catalog entry: steady (cgroups per num_cgroups/cpuset_mode/works,
 * run for the duration, collect) or its custom function. */
KT_API struct kt_assert_result *kt_scenario_run(const struct kt_scenario *s, struct kt_ctx *ctx);
/* Cpusets for n cgroups under a partition mode (NULL entries = no cpuset). */
KT_API int kt_partition_cpusets(const struct kt_topology *t, struct kt_cpuset_partition p,
				unsigned n, struct kt_cpuset ***out, char **err);

/* The canned scenarios, callable from tests. */
KT_API struct kt_assert_result *kt_scenario_steady(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_spread_out(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_steady_llc(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_oversubscribed(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cpuset_apply(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cpuset_clear(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cpuset_resize(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cgroup_add(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cgroup_remove(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_affinity_change(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_affinity_pinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_host_contention(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_mixed_workloads(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_nested_steady(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_nested_task_move(struct kt_ctx *ctx);
/* Unpinned forms: placement is the scheduler's job. */
KT_API struct kt_assert_result *kt_scenario_steady_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_steady_llc_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_oversubscribed_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cpuset_apply_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cgroup_add_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cgroup_remove_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_nested_steady_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_cpuset_grow_unpinned(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_llc_local(struct kt_ctx *ctx);
/* Weights: cpu.weight between cgroups, nice between tasks, on one CPU. */
KT_API struct kt_assert_result *kt_scenario_cgroup_weight(struct kt_ctx *ctx);
KT_API struct kt_assert_result *kt_scenario_nice_weight(struct kt_ctx *ctx);

#endif
