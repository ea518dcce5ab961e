/*
 * The guide's helpers (dfl_wl, setup_cgroups, collect_all, spawn_diverse)
 * and the spawn / place / collect steps the ops engine shares with them.
 *
 * Every error path leaves nothing behind: spawned workers are killed (the
 * handle list owns them) and created cgroups are removed (the guard owns
 * them).  Must not print; failures become result details.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

/* ---- handle list -------------------------------------------------------- */

struct kt_handle_list *kt_scen_list_new(void)
{
	return calloc(1, sizeof(struct kt_handle_list));
}

void kt_handle_list_free(struct kt_handle_list *l)
{
	if (!l)
		return;
	kt_scen_unwatch(l);
	for (size_t i = 0; i < l->n; i++) {
		kt_workload_handle_free(l->e[i].h);
		kt_cpuset_free(l->e[i].cpuset);
		free(l->e[i].cgroup);
	}
	free(l->e);
	free(l);
}

size_t kt_handle_list_count(const struct kt_handle_list *l)
{
	return l ? l->n : 0;
}

const char *kt_handle_list_cgroup(const struct kt_handle_list *l, size_t i)
{
	if (!l || i >= l->n)
		return NULL;
	return l->e[i].host ? KT_SCEN_HOST_LABEL : l->e[i].cgroup;
}

struct kt_workload_handle *kt_handle_list_get(const struct kt_handle_list *l, size_t i)
{
	return l && i < l->n ? l->e[i].h : NULL;
}

bool kt_handle_list_is_host(const struct kt_handle_list *l, size_t i)
{
	return l && i < l->n && l->e[i].host;
}

const struct kt_cpuset *kt_handle_list_cpuset(const struct kt_handle_list *l, size_t i)
{
	return l && i < l->n ? l->e[i].cpuset : NULL;
}

int kt_scen_list_append(struct kt_handle_list *l, const char *cgroup, bool host,
			struct kt_workload_handle *h, struct kt_cpuset *cpuset)
{
	char *name = cgroup ? strdup(cgroup) : NULL;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct kt_handle_entry *e = realloc(l->e, cap * sizeof(*e));

		if (!e) {
			free(name);
			kt_workload_handle_free(h);
			kt_cpuset_free(cpuset);
			return -ENOMEM;
		}
		l->e = e;
		l->cap = cap;
	}
	if (cgroup && !name) {
		kt_workload_handle_free(h);
		kt_cpuset_free(cpuset);
		return -ENOMEM;
	}
	l->e[l->n++] = (struct kt_handle_entry){
		.cgroup = name, .h = h, .cpuset = cpuset, .host = host,
	};
	return 0;
}

int kt_scen_list_start(struct kt_handle_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct kt_handle_entry *e = &l->e[i];
		int err;

		if (e->started || !e->h)
			continue;
		err = kt_workload_start(e->h);
		if (err)
			return err;
		e->started = true;
	}
	return 0;
}

/* ---- workload configs --------------------------------------------------- */

static struct kt_work_type default_work(const struct kt_ctx *ctx)
{
	if (ctx->work_type_override.kind != KT_WORK_UNSET)
		return ctx->work_type_override;
	return (struct kt_work_type){ .kind = KT_WORK_CPU_SPIN };
}

struct kt_workload_config kt_dfl_wl(const struct kt_ctx *ctx)
{
	return (struct kt_workload_config){
		.num_workers = ctx->workers_per_cgroup,
		.work = default_work(ctx),
	};
}

struct kt_workload_config kt_scen_def_wl(const struct kt_ctx *ctx, const struct kt_cgroup_def *def)
{
	struct kt_workload_config wl = kt_dfl_wl(ctx);

	if (def->workers)
		wl.num_workers = def->workers;
	if (def->work.kind != KT_WORK_UNSET)
		wl.work = def->work;
	wl.policy = def->policy;
	wl.priority = def->priority;
	wl.nice = def->nice;
	return wl;
}

/* ---- placement ---------------------------------------------------------- */

int kt_scen_effective(const struct kt_ctx *ctx, const char *cgroup, struct kt_cpuset **out)
{
	*out = NULL;
	if (!cgroup) {
		*out = kt_topo_all_cpuset(ctx->topo);
		return *out ? 0 : -ENOMEM;
	}
	return kt_cgroup_get_cpuset(ctx->cgroups, cgroup, out);
}

int kt_scen_affinity_resolve(const struct kt_ctx *ctx, const struct kt_affinity_spec *a,
			     const struct kt_cpuset *own, const struct kt_cpuset *other,
			     unsigned *rng, struct kt_cpuset **out, char **err)
{
	KT_AUTO(kt_cpuset) set = NULL;
	KT_AUTOFREE char *bad = NULL;

	*out = NULL;
	switch (a->kind) {
	case KT_AFF_INHERIT:
		return 0;
	case KT_AFF_RANDOM: {
		unsigned total = own ? kt_cpuset_count(own) : 0;
		unsigned want = a->count ? a->count : (total + 1) / 2;
		unsigned cpus[1024];
		size_t n;

		if (!total) {
			*err = kt_asprintf("random affinity: the cgroup has no CPUs");
			return -EINVAL;
		}
		n = kt_cpuset_to_array(own, cpus, KT_ARRAY_SIZE(cpus));
		if (want > n)
			want = (unsigned)n;
		set = kt_cpuset_new();
		if (!set)
			return -ENOMEM;
		for (unsigned i = 0; i < want; i++) {
			size_t j = i + (size_t)rand_r(rng) % (n - i);
			unsigned t = cpus[i];

			cpus[i] = cpus[j];
			cpus[j] = t;
			if (kt_cpuset_set(set, cpus[i]))
				return -ENOMEM;
		}
		break;
	}
	case KT_AFF_LLC:
		if (a->idx >= kt_topo_num_llcs(ctx->topo)) {
			*err = kt_asprintf("affinity llc(%u): topology has %u LLCs", a->idx,
					   kt_topo_num_llcs(ctx->topo));
			return -EINVAL;
		}
		set = kt_topo_llc_aligned_cpuset(ctx->topo, a->idx);
		break;
	case KT_AFF_CROSS_CGROUP:
		if (!other) {
			*err = kt_asprintf("affinity cross_cgroup: no cpuset for '%s'",
					   a->cgroup2 ? a->cgroup2 : "(null)");
			return -EINVAL;
		}
		set = kt_cpuset_dup(other);
		break;
	case KT_AFF_SINGLE: {
		KT_AUTO(kt_cpuset) all = kt_topo_all_cpuset(ctx->topo);

		if (!all)
			return -ENOMEM;
		if (!kt_cpuset_test(all, a->idx)) {
			*err = kt_asprintf("affinity single(%u): no such CPU (topology has %u)", a->idx,
					   kt_topo_total_cpus(ctx->topo));
			return -EINVAL;
		}
		set = kt_cpuset_new();
		if (set && kt_cpuset_set(set, a->idx))
			return -ENOMEM;
		break;
	}
	case KT_AFF_EXACT: {
		KT_AUTO(kt_cpuset) all = kt_topo_all_cpuset(ctx->topo);
		int r;

		if (!all)
			return -ENOMEM;
		r = kt_cpuset_parse(a->exact ? a->exact : "", &set, &bad);
		if (r == -EINVAL || (!r && (kt_cpuset_empty(set) || !kt_cpuset_subset(set, all)))) {
			*err = kt_asprintf("affinity exact(%s): %s", a->exact ? a->exact : "",
					   r ? "bad cpulist" : "empty or outside this topology");
			return -EINVAL;
		}
		if (r)
			return r;
		break;
	}
	default:
		*err = kt_asprintf("affinity kind %d unknown", (int)a->kind);
		return -EINVAL;
	}
	if (!set)
		return -ENOMEM;
	*out = kt_take_ptr(set);
	return 0;
}

static int set_affinity_pid(pid_t pid, const struct kt_cpuset *set)
{
	unsigned ncpu = (unsigned)kt_cpuset_last(set) + 1;
	cpu_set_t *cs = CPU_ALLOC(ncpu);
	size_t size = CPU_ALLOC_SIZE(ncpu);
	int err = 0;

	if (!cs)
		return -ENOMEM;
	CPU_ZERO_S(size, cs);
	kt_cpuset_for_each(cpu, set)
		CPU_SET_S((unsigned)cpu, size, cs);
	if (sched_setaffinity(pid, size, cs) < 0 && errno != ESRCH)
		err = -errno;
	CPU_FREE(cs);
	return err;
}

/*
 * Applied by the parent after the move into the cgroup: attaching to a
 * cpuset resets a task's affinity on older kernels, so an affinity set
 * before the move would not survive it.
 */
int kt_scen_apply_affinity(const struct kt_ctx *ctx, struct kt_handle_entry *e,
			   const struct kt_affinity_spec *a, const struct kt_cpuset *other,
			   char **err)
{
	KT_AUTO(kt_cpuset) own = NULL;
	unsigned rng = (unsigned)kt_now_ns();
	int r;

	if (!e->h)
		return 0;
	if (a->kind == KT_AFF_INHERIT && !e->started)
		return 0;	/* fresh workers already inherit */
	r = kt_scen_effective(ctx, e->host ? NULL : e->cgroup, &own);
	if (r) {
		*err = kt_asprintf("cannot read the cpuset of %s: %s",
				   e->host ? KT_SCEN_HOST_LABEL : e->cgroup, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < kt_workload_count(e->h); i++) {
		KT_AUTO(kt_cpuset) set = NULL;

		/* INHERIT after the fact: back to everything the cgroup allows.
		 * RANDOM draws per worker; the others give every worker the same. */
		if (a->kind == KT_AFF_INHERIT)
			set = kt_cpuset_dup(own);
		else
			r = kt_scen_affinity_resolve(ctx, a, own, other, &rng, &set, err);
		if (r)
			return r;
		if (!set)
			return -ENOMEM;
		r = set_affinity_pid(kt_workload_pid(e->h, i), set);
		if (r) {
			KT_AUTOFREE char *list = kt_cpuset_format(set);

			*err = kt_asprintf("sched_setaffinity(%d, %s): %s",
					   (int)kt_workload_pid(e->h, i), list ? list : "?",
					   strerror(-r));
			return r;
		}
	}
	return 0;
}

int kt_scen_spawn_into(struct kt_ctx *ctx, const char *cgroup, const struct kt_workload_config *wl,
		       const struct kt_affinity_spec *aff, struct kt_handle_list *l, char **err)
{
	KT_AUTO(kt_workload_handle) h = NULL;
	KT_AUTO(kt_cpuset) eff = NULL;
	const char *where = cgroup ? cgroup : KT_SCEN_HOST_LABEL;
	size_t n;
	int r;

	*err = NULL;
	kt_scen_watch(ctx, l);
	r = kt_workload_spawn(wl, &h);
	if (r) {
		*err = kt_asprintf("cannot spawn %u %s workers for %s: %s", wl->num_workers,
				   kt_work_kind_name(wl->work.kind ? wl->work.kind : KT_WORK_CPU_SPIN),
				   where, strerror(-r));
		return r;
	}
	n = kt_workload_count(h);
	for (size_t i = 0; cgroup && i < n; i++) {
		kt_cgroup_manager_quiet(ctx->cgroups, true);	/* setup is not a timeline event */
		r = kt_cgroup_move_task(ctx->cgroups, cgroup, kt_workload_pid(h, i));
		kt_cgroup_manager_quiet(ctx->cgroups, false);
		if (r) {
			*err = kt_asprintf("cannot move worker %d into %s: %s: %s",
					   (int)kt_workload_pid(h, i), cgroup,
					   kt_cgroup_last_path(ctx->cgroups), strerror(-r));
			return r;
		}
	}
	r = kt_scen_effective(ctx, cgroup, &eff);
	if (r) {
		*err = kt_asprintf("cannot read the cpuset of %s: %s", where, strerror(-r));
		return r;
	}
	/* Host workers run wherever the runner does: no isolation claim. */
	r = kt_scen_list_append(l, cgroup, !cgroup, kt_take_ptr(h), cgroup ? kt_take_ptr(eff) : NULL);
	if (r) {
		*err = kt_asprintf("out of memory");
		return r;
	}
	if (aff && aff->kind != KT_AFF_INHERIT) {
		struct kt_handle_entry *e = &l->e[l->n - 1];
		KT_AUTO(kt_cpuset) other = NULL;
		KT_AUTOFREE char *why = NULL;

		if (aff->kind == KT_AFF_CROSS_CGROUP && aff->cgroup2 &&
		    kt_cgroup_get_cpuset(ctx->cgroups, aff->cgroup2, &other))
			other = NULL;
		r = kt_scen_apply_affinity(ctx, e, aff, other, &why);
		if (r) {
			*err = kt_asprintf("affinity for %s: %s", where, why ? why : strerror(-r));
			return r;	/* the entry is in l: its owner kills it */
		}
	}
	return 0;
}

/* ---- collect ------------------------------------------------------------ */

int kt_scen_collect_entry(struct kt_handle_entry *e, const struct kt_assert *checks,
			  struct kt_assert_result *into)
{
	const char *label = e->host ? KT_SCEN_HOST_LABEL : e->cgroup;
	struct kt_worker_report *reports = NULL;
	KT_AUTO(kt_assert_result) res = NULL;
	size_t n = 0;
	int r;

	if (!e->h)
		return 0;
	r = kt_workload_stop_collect(e->h, KT_SCEN_COLLECT_MS, &reports, &n);
	kt_workload_handle_free(e->h);
	e->h = NULL;
	if (r) {
		kt_assert_result_fail(into, "%s: cannot collect worker reports: %s", label,
				      strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(reports[i].group, sizeof(reports[i].group), "%s", label);
	if (kt_assert_has_worker_checks(checks))
		res = kt_assert_cgroup(checks, reports, n, e->cpuset);
	else
		res = kt_assert_not_starved(reports, n);
	kt_worker_reports_free(reports, n);
	if (!res || kt_assert_result_merge(into, res)) {
		kt_assert_result_fail(into, "%s: out of memory while checking", label);
		return -ENOMEM;
	}
	return 0;
}

void kt_scen_collect_list(struct kt_handle_list *l, const struct kt_assert *checks,
			  struct kt_assert_result *into)
{
	for (size_t i = 0; i < l->n; i++)
		kt_workload_request_stop(l->e[i].h);
	for (size_t i = 0; i < l->n; i++)
		kt_scen_collect_entry(&l->e[i], checks, into);
	kt_scen_placement_check(l->ctx, into);
}

struct kt_assert_result *kt_collect_all(struct kt_handle_list **handles,
					const struct kt_assert *checks)
{
	KT_AUTO(kt_handle_list) l = handles ? kt_take_ptr(*handles) : NULL;
	struct kt_assert_result *res = kt_assert_result_new();

	if (!res)
		return NULL;	/* l's cleanup still kills every worker */
	/* an early end (stuck worker, dead scheduler) belongs in this verdict */
	if (l && l->ctx && kt_ctx_abort_reason(l->ctx))
		kt_scen_fail_aborted(l->ctx, res);
	if (l)
		kt_scen_collect_list(l, checks, res);
	return res;
}

/* ---- setup_cgroups / spawn_diverse -------------------------------------- */

int kt_setup_cgroups(struct kt_ctx *ctx, unsigned n, const struct kt_workload_config *wl,
		     struct kt_handle_list **handles, struct kt_cgroup_group **guard)
{
	KT_AUTO(kt_cgroup_group) g = NULL;
	KT_AUTO(kt_handle_list) l = NULL;
	int r;

	if (!ctx)
		return -EINVAL;
	/* the library does not print: the timeline, shown with a failure, says why */
	if (!wl || !handles || !guard) {
		kt_timeline_add(kt_ctx_timeline(ctx), "setup_cgroups: %s is NULL%s", !wl ? "the workload" :
				!handles ? "the handles argument" : "the guard argument",
				!guard ? " (pass &guard, a KT_AUTO(kt_cgroup_group) variable that "
					 "removes the cgroups when it leaves scope)" : "");
		return -EINVAL;
	}
	*handles = NULL;
	*guard = NULL;
	if (!ctx->cgroups) {
		kt_timeline_add(kt_ctx_timeline(ctx), "setup_cgroups: this ctx has no cgroup manager");
		return -EINVAL;
	}
	g = kt_cgroup_group_new(ctx->cgroups);
	l = kt_scen_list_new();
	if (!g || !l)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		KT_AUTOFREE char *why = NULL;
		char name[32];

		snprintf(name, sizeof(name), "cg_%u", i);
		r = kt_cgroup_group_add(g, name);
		if (r) {
			kt_timeline_add(kt_ctx_timeline(ctx), "setup_cgroups: cannot create %s: %s: %s",
					name, kt_cgroup_last_path(ctx->cgroups), strerror(-r));
			return r;
		}
		r = kt_scen_spawn_into(ctx, name, wl, NULL, l, &why);
		if (r) {
			kt_timeline_add(kt_ctx_timeline(ctx), "setup_cgroups: %s", why ? why : strerror(-r));
			return r;	/* l kills the workers, then g removes the cgroups */
		}
	}
	if (ctx->settle_ms && kt_ctx_sleep(ctx, ctx->settle_ms))
		return -ECANCELED;
	r = kt_scen_list_start(l);
	if (r)
		return r;
	kt_timeline_add(kt_ctx_timeline(ctx), "setup_cgroups: cg_0..cg_%u, %u %s workers each", n ? n - 1 : 0,
			wl->num_workers,
			kt_work_kind_name(wl->work.kind ? wl->work.kind : KT_WORK_CPU_SPIN));
	*handles = kt_take_ptr(l);
	*guard = kt_take_ptr(g);
	return 0;
}

int kt_spawn_diverse(struct kt_ctx *ctx, const char *const *cgroup_names, size_t n,
		     struct kt_handle_list **handles)
{
	static const enum kt_work_kind kinds[] = {
		KT_WORK_CPU_SPIN, KT_WORK_BURSTY, KT_WORK_IO_SYNC, KT_WORK_MIXED, KT_WORK_YIELD_HEAVY,
	};
	KT_AUTO(kt_handle_list) fresh = NULL;
	struct kt_handle_list *l;
	size_t first;
	int r;

	if (!ctx || !handles || !cgroup_names || !n || !ctx->cgroups)
		return -EINVAL;
	if (!*handles) {
		fresh = kt_scen_list_new();
		if (!fresh)
			return -ENOMEM;
	}
	l = fresh ? fresh : *handles;
	first = l->n;
	for (size_t k = 0; k < KT_ARRAY_SIZE(kinds); k++) {
		struct kt_workload_config wl = kt_dfl_wl(ctx);
		const char *cg = cgroup_names[k % n];
		KT_AUTOFREE char *why = NULL;

		wl.work = (struct kt_work_type){ .kind = kinds[k] };
		r = kt_scen_spawn_into(ctx, cg, &wl, NULL, l, &why);
		if (r) {
			kt_timeline_add(kt_ctx_timeline(ctx), "spawn_diverse: %s", why ? why : strerror(-r));
			goto undo;
		}
		kt_timeline_add(kt_ctx_timeline(ctx), "spawn_diverse: %u %s workers in %s", wl.num_workers,
				kt_work_kind_name(kinds[k]), cg);
	}
	r = kt_scen_list_start(l);
	if (r)
		goto undo;
	if (fresh)
		*handles = kt_take_ptr(fresh);
	return 0;
undo:
	/* Leave a caller's list as it was: drop (kill) what was added here. */
	for (size_t i = first; i < l->n; i++) {
		kt_workload_handle_free(l->e[i].h);
		kt_cpuset_free(l->e[i].cpuset);
		free(l->e[i].cgroup);
	}
	l->n = first;
	return r;
}
