/*
 * The ops/steps engine: runs a scenario declared as steps (cgroup defs to
 * set up, ops to apply, how long to hold), recording every action on the
 * timeline, then collects and checks every worker.
 *
 * Isolation is checked against the union of the effective cpusets a
 * worker's cgroup had during the run (refreshed after every op): checking
 * the final cpuset alone would blame a worker for CPUs it was allowed to
 * use before a change, and skipping changed cgroups would check nothing in
 * the dynamic scenarios.
 *
 * The whole step list is validated before anything is created.  Every exit
 * path kills the workers (the handle list) and then removes the cgroups
 * (the guard).  Must not print.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct cg_info {
	char *name;
	struct kt_cpuset *configured;	/* what we wrote; NULL: inherits */
};

struct engine {
	struct kt_ctx *ctx;
	const struct kt_assert *checks;
	struct kt_cgroup_group *guard;
	struct kt_handle_list *l;
	struct kt_assert_result *res;
	struct cg_info *cg;
	size_t ncg, capcg;
	unsigned step;
	bool settled;
};

static void engine_release(struct engine *e)
{
	/* Workers first: a cgroup cannot go while they are inside. */
	kt_handle_list_free(e->l);
	kt_cgroup_group_free(e->guard);
	for (size_t i = 0; i < e->ncg; i++) {
		free(e->cg[i].name);
		kt_cpuset_free(e->cg[i].configured);
	}
	free(e->cg);
	kt_assert_result_free(e->res);
}

static bool under(const char *name, const char *top)
{
	size_t len = strlen(top);

	return name && !strncmp(name, top, len) && (name[len] == 0 || name[len] == '/');
}

static struct cg_info *cg_find(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->ncg; i++)
		if (!strcmp(e->cg[i].name, name))
			return &e->cg[i];
	return NULL;
}

static int cg_track(struct engine *e, const char *name, size_t len)
{
	char *dup;

	if (e->ncg == e->capcg) {
		size_t cap = e->capcg ? e->capcg * 2 : 8;
		struct cg_info *v = realloc(e->cg, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->cg = v;
		e->capcg = cap;
	}
	dup = strndup(name, len);
	if (!dup)
		return -ENOMEM;
	e->cg[e->ncg++] = (struct cg_info){ .name = dup };
	return 0;
}

static char *fmt_set(const struct kt_cpuset *s)
{
	return s ? kt_cpuset_format(s) : strdup("(inherit)");
}

/* Create name and its missing ancestors, each owned by the guard. */
static int ensure_cgroup(struct engine *e, const char *name, char **err)
{
	size_t len = strlen(name);

	for (size_t i = 1; i <= len; i++) {
		KT_AUTOFREE char *prefix = NULL;
		int r;

		if (i < len && name[i] != '/')
			continue;
		prefix = strndup(name, i);
		if (!prefix)
			return -ENOMEM;
		if (cg_find(e, prefix))
			continue;
		if (kt_cgroup_exists(e->ctx->cgroups, prefix)) {
			/* Someone else's: use it, but do not remove it. */
			r = cg_track(e, prefix, i);
		} else {
			r = kt_cgroup_group_add(e->guard, prefix);
			if (r) {
				*err = kt_asprintf("cannot create cgroup %s: %s: %s", prefix,
						   kt_cgroup_last_path(e->ctx->cgroups), strerror(-r));
				return r;
			}
			r = cg_track(e, prefix, i);
		}
		if (r)
			return r;
	}
	return 0;
}

/* Fold the current effective cpuset of every live worker's cgroup into
 * its isolation reference. */
static int refresh_isolation(struct engine *e)
{
	for (size_t i = 0; i < e->l->n; i++) {
		struct kt_handle_entry *h = &e->l->e[i];
		KT_AUTO(kt_cpuset) eff = NULL;
		int r;

		if (h->host || !h->h)
			continue;
		r = kt_cgroup_get_cpuset(e->ctx->cgroups, h->cgroup, &eff);
		if (r)
			return r;
		if (!h->cpuset)
			h->cpuset = kt_take_ptr(eff);
		else if (kt_cpuset_or(h->cpuset, eff))
			return -ENOMEM;
	}
	return 0;
}

static int write_cpuset(struct engine *e, const char *name, const struct kt_cpuset *set, char **err)
{
	struct cg_info *ci = cg_find(e, name);
	int r;

	kt_cgroup_manager_quiet(e->ctx->cgroups, true);	/* the op has its own entry */
	r = set ? kt_cgroup_set_cpuset(e->ctx->cgroups, name, set)
		: kt_cgroup_clear_cpuset(e->ctx->cgroups, name);
	kt_cgroup_manager_quiet(e->ctx->cgroups, false);

	if (r) {
		KT_AUTOFREE char *list = fmt_set(set);

		*err = kt_asprintf("cannot set cpuset of %s to %s: %s: %s", name, list ? list : "?",
				   kt_cgroup_last_path(e->ctx->cgroups), strerror(-r));
		return r;
	}
	if (ci) {
		kt_cpuset_free(ci->configured);
		ci->configured = set ? kt_cpuset_dup(set) : NULL;
		if (set && !ci->configured)
			return -ENOMEM;
	}
	return 0;
}

static int resolve(struct engine *e, const struct kt_cpuset_spec *spec, struct kt_cpuset **out,
		   char **err)
{
	KT_AUTOFREE char *why = NULL;
	int r = kt_cpuset_spec_resolve(spec, e->ctx->topo, out, &why);

	if (r)
		*err = kt_asprintf("%s", why ? why : strerror(-r));
	return r;
}

static const char *work_name(const struct kt_workload_config *wl)
{
	return kt_work_kind_name(wl->work.kind ? wl->work.kind : KT_WORK_CPU_SPIN);
}

/* A def: cgroup (+ ancestors), its cpuset, its workers (not started). */
static int apply_def(struct engine *e, const struct kt_cgroup_def *d, const char *verb, char **err)
{
	KT_AUTO(kt_cpuset) set = NULL;
	KT_AUTOFREE char *list = NULL;
	struct kt_workload_config wl = kt_scen_def_wl(e->ctx, d);
	int r;

	r = ensure_cgroup(e, d->name, err);
	if (!r && d->cpuset.kind != KT_CSPEC_NONE) {
		r = resolve(e, &d->cpuset, &set, err);
		if (!r)
			r = write_cpuset(e, d->name, set, err);
	}
	if (!r && d->weight) {
		r = kt_cgroup_set_weight(e->ctx->cgroups, d->name, d->weight);
		if (r)
			*err = kt_asprintf("cannot set cpu.weight %u on %s: %s: %s", d->weight, d->name,
					   kt_cgroup_last_path(e->ctx->cgroups), strerror(-r));
		else
			kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: %s cpu.weight %u", e->step, d->name,
					d->weight);
	}
	if (r)
		return r;
	list = fmt_set(set);
	if (d->no_workers) {
		kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: %s %s (no workers, cpuset %s)", e->step,
				verb, d->name, list ? list : "?");
		return 0;
	}
	r = kt_scen_spawn_into(e->ctx, d->name, &wl, &d->affinity, e->l, err);
	if (r)
		return r;
	kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: %s %s (%u %s workers, cpuset %s)", e->step, verb,
			d->name, wl.num_workers, work_name(&wl), list ? list : "?");
	return 0;
}

static bool in_cgroup(const struct kt_handle_entry *h, const char *name, bool tree)
{
	return !h->host && h->h && (tree ? under(h->cgroup, name) : !strcmp(h->cgroup, name));
}

/* Stop and check the workers of a cgroup (and its children with `tree`);
 * all of them stop at the same moment, as in kt_scen_collect_list. */
static void collect_cgroup(struct engine *e, const char *name, bool tree)
{
	for (size_t i = 0; i < e->l->n; i++)
		if (in_cgroup(&e->l->e[i], name, tree))
			kt_workload_request_stop(e->l->e[i].h);
	for (size_t i = 0; i < e->l->n; i++) {
		struct kt_handle_entry *h = &e->l->e[i];

		if (in_cgroup(h, name, tree)) {
			kt_scen_collect_entry(h, e->checks, e->res);
			kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: collected workers of %s", e->step,
					h->cgroup);
		}
	}
}

static void forget_cgroup(struct engine *e, const char *name)
{
	size_t j = 0;

	for (size_t i = 0; i < e->ncg; i++) {
		if (under(e->cg[i].name, name)) {
			free(e->cg[i].name);
			kt_cpuset_free(e->cg[i].configured);
		} else {
			e->cg[j++] = e->cg[i];
		}
	}
	e->ncg = j;
}

static int op_move_all(struct engine *e, const struct kt_op *op, char **err)
{
	KT_AUTOFREE pid_t *pids = NULL;
	size_t n = 0;
	int r = kt_cgroup_list_pids(e->ctx->cgroups, op->cgroup, &pids, &n);

	if (r) {
		*err = kt_asprintf("cannot list tasks of %s: %s", op->cgroup, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		kt_cgroup_manager_quiet(e->ctx->cgroups, true);	/* the op has its own entry */
		r = kt_cgroup_move_task(e->ctx->cgroups, op->cgroup2, pids[i]);
		kt_cgroup_manager_quiet(e->ctx->cgroups, false);
		/* A task that exited meanwhile is not an error. */
		if (r && r != -ESRCH) {
			*err = kt_asprintf("cannot move task %d from %s to %s: %s: %s", (int)pids[i],
					   op->cgroup, op->cgroup2, kt_cgroup_last_path(e->ctx->cgroups),
					   strerror(-r));
			return r;
		}
	}
	for (size_t i = 0; i < e->l->n; i++) {
		struct kt_handle_entry *h = &e->l->e[i];
		char *dup;

		if (h->host || !h->h || strcmp(h->cgroup, op->cgroup))
			continue;
		dup = strdup(op->cgroup2);
		if (!dup)
			return -ENOMEM;
		free(h->cgroup);
		h->cgroup = dup;
	}
	kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: move_all_tasks %s -> %s (%zu tasks)", e->step,
			op->cgroup, op->cgroup2, n);
	return 0;
}

static int op_swap(struct engine *e, const struct kt_op *op, char **err)
{
	struct cg_info *a = cg_find(e, op->cgroup), *b = cg_find(e, op->cgroup2);
	KT_AUTO(kt_cpuset) sa = NULL;
	KT_AUTO(kt_cpuset) sb = NULL;
	int r;

	/* Cgroups we did not create: what they have in effect. */
	r = a ? 0 : kt_cgroup_get_cpuset(e->ctx->cgroups, op->cgroup, &sa);
	if (!r && a && a->configured && !(sa = kt_cpuset_dup(a->configured)))
		r = -ENOMEM;
	if (!r && !b)
		r = kt_cgroup_get_cpuset(e->ctx->cgroups, op->cgroup2, &sb);
	if (!r && b && b->configured && !(sb = kt_cpuset_dup(b->configured)))
		r = -ENOMEM;
	if (r) {
		*err = kt_asprintf("cannot read cpusets of %s and %s: %s", op->cgroup, op->cgroup2,
				   strerror(-r));
		return r;
	}
	r = write_cpuset(e, op->cgroup, sb, err);
	if (!r)
		r = write_cpuset(e, op->cgroup2, sa, err);
	if (!r) {
		KT_AUTOFREE char *la = fmt_set(sb);
		KT_AUTOFREE char *lb = fmt_set(sa);

		kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: swap_cpusets %s -> %s, %s -> %s", e->step,
				op->cgroup, la ? la : "?", op->cgroup2, lb ? lb : "?");
	}
	return r;
}

static int op_affinity(struct engine *e, const struct kt_op *op, char **err)
{
	KT_AUTO(kt_cpuset) other = NULL;
	unsigned n = 0;
	int r;

	if (op->affinity.kind == KT_AFF_CROSS_CGROUP) {
		r = kt_cgroup_get_cpuset(e->ctx->cgroups, op->affinity.cgroup2, &other);
		if (r) {
			*err = kt_asprintf("cannot read the cpuset of %s: %s", op->affinity.cgroup2,
					   strerror(-r));
			return r;
		}
	}
	for (size_t i = 0; i < e->l->n; i++) {
		struct kt_handle_entry *h = &e->l->e[i];

		if (h->host || !h->h || strcmp(h->cgroup, op->cgroup))
			continue;
		r = kt_scen_apply_affinity(e->ctx, h, &op->affinity, other, err);
		if (r)
			return r;
		n += (unsigned)kt_workload_count(h->h);
	}
	kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: set_affinity %s (kind %d, %u workers)", e->step,
			op->cgroup, (int)op->affinity.kind, n);
	return 0;
}

static int run_op(struct engine *e, const struct kt_op *op, char **err)
{
	KT_AUTO(kt_cpuset) set = NULL;
	struct kt_workload_config wl;
	int r = 0;

	switch (op->kind) {
	case KT_OP_ADD_CGROUP:
		r = apply_def(e, &op->def, "add_cgroup", err);
		break;
	case KT_OP_REMOVE_CGROUP:
		collect_cgroup(e, op->cgroup, true);
		r = kt_cgroup_remove(e->ctx->cgroups, op->cgroup);
		if (r) {
			*err = kt_asprintf("cannot remove %s: %s: %s", op->cgroup,
					   kt_cgroup_last_path(e->ctx->cgroups), strerror(-r));
			break;
		}
		forget_cgroup(e, op->cgroup);
		kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: remove_cgroup %s", e->step, op->cgroup);
		break;
	case KT_OP_SET_CPUSET:
		r = resolve(e, &op->cpuset, &set, err);
		if (!r)
			r = write_cpuset(e, op->cgroup, set, err);
		if (!r) {
			KT_AUTOFREE char *list = fmt_set(set);

			kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: set_cpuset %s -> %s", e->step,
					op->cgroup, list ? list : "?");
		}
		break;
	case KT_OP_CLEAR_CPUSET:
		r = write_cpuset(e, op->cgroup, NULL, err);
		if (!r)
			kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: clear_cpuset %s", e->step, op->cgroup);
		break;
	case KT_OP_SWAP_CPUSETS:
		r = op_swap(e, op, err);
		break;
	case KT_OP_SPAWN:
	case KT_OP_SPAWN_HOST: {
		const char *cg = op->kind == KT_OP_SPAWN ? op->cgroup : NULL;

		wl = kt_scen_def_wl(e->ctx, &op->def);
		r = kt_scen_spawn_into(e->ctx, cg, &wl, &op->def.affinity, e->l, err);
		if (!r)
			kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: %s %u %s workers in %s", e->step,
					kt_scen_op_name(op->kind), wl.num_workers, work_name(&wl),
					cg ? cg : KT_SCEN_HOST_LABEL);
		break;
	}
	case KT_OP_STOP_CGROUP:
		collect_cgroup(e, op->cgroup, false);
		kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: stop_cgroup %s", e->step, op->cgroup);
		break;
	case KT_OP_SET_AFFINITY:
		r = op_affinity(e, op, err);
		break;
	case KT_OP_MOVE_ALL_TASKS:
		r = op_move_all(e, op, err);
		break;
	case KT_OP_END:
		break;
	}
	if (!r)
		r = kt_scen_list_start(e->l);
	if (!r && (r = refresh_isolation(e)))
		*err = kt_asprintf("cannot read effective cpusets: %s", strerror(-r));
	return r;
}

static int run_ops(struct engine *e, const struct kt_op *ops, char **err)
{
	for (const struct kt_op *op = ops; op && op->kind != KT_OP_END; op++) {
		int r = run_op(e, op, err);

		if (r) {
			KT_AUTOFREE char *inner = *err;

			*err = kt_asprintf("step %u: op %s%s%s: %s", e->step, kt_scen_op_name(op->kind),
					   op->cgroup ? " " : "", op->cgroup ? op->cgroup : "",
					   inner ? inner : strerror(-r));
			return r;
		}
	}
	return 0;
}

static uint64_t hold_ms(const struct kt_ctx *ctx, const struct kt_hold *h)
{
	switch (h->kind) {
	case KT_HOLD_FRAC:
		return h->frac > 0 ? (uint64_t)((double)ctx->duration_ms * h->frac) : ctx->duration_ms;
	case KT_HOLD_FIXED:
		return h->ms;
	case KT_HOLD_LOOP:
		return h->ms ? h->ms : ctx->duration_ms;
	}
	return 0;
}

/* 0, -ECANCELED (scheduler gone) or another -errno with *err. */
static int run_step(struct engine *e, const struct kt_step *st, char **err)
{
	uint64_t total = hold_ms(e->ctx, &st->hold);
	int r;

	kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: start", e->step);
	for (const struct kt_cgroup_def *d = st->setup; d && d->name; d++) {
		r = apply_def(e, d, "setup", err);
		if (r) {
			KT_AUTOFREE char *inner = *err;

			*err = kt_asprintf("step %u: setup %s: %s", e->step, d->name,
					   inner ? inner : strerror(-r));
			return r;
		}
	}
	if (!e->settled && e->l->n && e->ctx->settle_ms) {
		kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: settle %llu ms", e->step,
				(unsigned long long)e->ctx->settle_ms);
		if (kt_ctx_sleep(e->ctx, e->ctx->settle_ms))
			return -ECANCELED;
	}
	if (e->l->n)
		e->settled = true;
	r = kt_scen_list_start(e->l);
	if (!r)
		r = refresh_isolation(e);
	if (r) {
		*err = kt_asprintf("step %u: cannot start workers: %s", e->step, strerror(-r));
		return r;
	}
	if (st->hold.kind != KT_HOLD_LOOP) {
		r = run_ops(e, st->ops, err);
		if (r)
			return r;
		kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: hold %llu ms", e->step,
				(unsigned long long)total);
		return kt_ctx_sleep(e->ctx, total);
	}

	uint64_t interval = st->hold.interval_ms ? st->hold.interval_ms : total;
	uint64_t end = kt_now_ns() + total * 1000000ull;
	unsigned round = 0;

	kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: loop every %llu ms for %llu ms", e->step,
			(unsigned long long)interval, (unsigned long long)total);
	for (;;) {
		uint64_t now, left;

		kt_timeline_add(kt_ctx_timeline(e->ctx), "step %u: loop round %u", e->step, ++round);
		r = run_ops(e, st->ops, err);
		if (r)
			return r;
		now = kt_now_ns();
		if (now >= end)
			return 0;
		left = (end - now) / 1000000ull;
		r = kt_ctx_sleep(e->ctx, left < interval ? left : interval);
		if (r || left <= interval)
			return r;
	}
}

struct kt_assert_result *kt_execute_steps_with(struct kt_ctx *ctx, const struct kt_step *steps,
					       const struct kt_assert *checks)
{
	struct engine e = { .ctx = ctx, .checks = checks };
	KT_AUTOFREE char *err = NULL;
	struct kt_assert_result *out;
	int r;

	if (!ctx || !ctx->topo)
		return kt_ctx_fail(ctx, "scenario: no topology in the context");
	if (!checks)
		checks = e.checks = &ctx->assert;
	if (kt_scen_validate_steps(ctx, steps, &err)) {
		kt_timeline_add(kt_ctx_timeline(ctx), "invalid scenario: %s", err ? err : "?");
		return kt_ctx_fail(ctx, "%s", err ? err : "invalid scenario (out of memory)");
	}
	if (!ctx->cgroups)
		return kt_ctx_fail(ctx, "scenario: no cgroup manager in the context");
	e.guard = kt_cgroup_group_new(ctx->cgroups);
	e.l = kt_scen_list_new();
	e.res = kt_assert_result_new();
	if (!e.guard || !e.l || !e.res) {
		engine_release(&e);
		return kt_ctx_fail(ctx, "scenario: out of memory");
	}

	r = 0;
	for (unsigned i = 0; !r && !kt_scen_step_is_end(&steps[i]); i++) {
		e.step = i + 1;
		if (i > 0 && !kt_ctx_sched_ok(ctx)) {
			r = -ECANCELED;
			break;
		}
		r = run_step(&e, &steps[i], &err);
		if (!r)
			kt_timeline_add(kt_ctx_timeline(ctx), "step %u: end", e.step);
	}
	if (r == -ECANCELED) {
		kt_assert_result_fail(e.res, "step %u: %s", e.step,
				      kt_ctx_abort_reason(ctx) ? kt_ctx_abort_reason(ctx) : "aborted");
		if (ctx->state)
			ctx->state->abort_reported = true;
	}
	else if (r) {
		kt_timeline_add(kt_ctx_timeline(ctx), "fail: %s", err ? err : strerror(-r));
		kt_assert_result_fail(e.res, "%s", err ? err : strerror(-r));
	}

	/* Collect whatever exists, also after a failure: the reports are evidence. */
	kt_scen_collect_list(e.l, checks, e.res);
	kt_timeline_add(kt_ctx_timeline(ctx), "collect: %s", e.res->passed ? "pass" : "fail");
	out = kt_take_ptr(e.res);
	engine_release(&e);
	return out;
}

struct kt_assert_result *kt_execute_steps(struct kt_ctx *ctx, const struct kt_step *steps)
{
	return kt_execute_steps_with(ctx, steps, ctx ? &ctx->assert : NULL);
}

struct kt_assert_result *kt_execute_defs(struct kt_ctx *ctx, const struct kt_cgroup_def *defs)
{
	const struct kt_step steps[] = {
		{ .setup = defs, .hold = { .kind = KT_HOLD_FRAC, .frac = 0 } },
		{ 0 },
	};

	if (!defs || !defs->name)
		return kt_ctx_fail(ctx, "execute_defs: no cgroup defs");
	return kt_execute_steps(ctx, steps);
}
