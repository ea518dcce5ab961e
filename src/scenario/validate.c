/*
 * Up-front validation of a step list: every problem a scenario's own
 * declaration can have (unknown targets, cpusets or affinities impossible
 * on this topology) is found before the first cgroup is created, so an
 * invalid scenario fails with one clear message and leaves nothing behind.
 * Must not touch cgroups or workers (it may only ask whether a cgroup
 * exists) and must not print.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <errno.h>
#include <string.h>

const char *kt_scen_op_name(enum kt_op_kind k)
{
	switch (k) {
	case KT_OP_END: return "end";
	case KT_OP_ADD_CGROUP: return "add_cgroup";
	case KT_OP_REMOVE_CGROUP: return "remove_cgroup";
	case KT_OP_SET_CPUSET: return "set_cpuset";
	case KT_OP_CLEAR_CPUSET: return "clear_cpuset";
	case KT_OP_SWAP_CPUSETS: return "swap_cpusets";
	case KT_OP_SPAWN: return "spawn";
	case KT_OP_STOP_CGROUP: return "stop_cgroup";
	case KT_OP_SET_AFFINITY: return "set_affinity";
	case KT_OP_SPAWN_HOST: return "spawn_host";
	case KT_OP_MOVE_ALL_TASKS: return "move_all_tasks";
	}
	return "unknown";
}

bool kt_scen_step_is_end(const struct kt_step *s)
{
	return !s->setup && !s->ops && s->hold.kind == KT_HOLD_FRAC && s->hold.frac == 0 &&
	       s->hold.ms == 0 && s->hold.interval_ms == 0;
}

/* Names known to exist at this point of the walk. */
struct names {
	struct kt_strlist l;
};

static void names_release(struct names *s)
{
	kt_strlist_release(&s->l);
}

static bool names_has(const struct names *s, const char *name)
{
	return kt_strlist_has(&s->l, name);
}

static int names_add1(struct names *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->l.n; i++)
		if (strlen(s->l.v[i]) == len && !strncmp(s->l.v[i], name, len))
			return 0;
	return kt_strlist_addn(&s->l, name, len);
}

/* "a/b/c" makes "a", "a/b" and "a/b/c" known. */
static int names_add(struct names *s, const char *name)
{
	for (const char *p = strchr(name, '/'); p; p = strchr(p + 1, '/'))
		if (names_add1(s, name, (size_t)(p - name)))
			return -ENOMEM;
	return names_add1(s, name, strlen(name));
}

/* Removing "a" forgets "a" and everything under it. */
static void names_remove(struct names *s, const char *name)
{
	size_t len = strlen(name), j = 0;

	for (size_t i = 0; i < s->l.n; i++) {
		char *v = s->l.v[i];

		if (!strncmp(v, name, len) && (v[len] == 0 || v[len] == '/'))
			free(v);
		else
			s->l.v[j++] = v;
	}
	s->l.n = j;
}

static bool known(const struct kt_ctx *ctx, const struct names *s, const char *name)
{
	if (!name || !*name)
		return false;
	return names_has(s, name) || (ctx->cgroups && kt_cgroup_exists(ctx->cgroups, name));
}

static int check_cpuset(const struct kt_ctx *ctx, const struct kt_cpuset_spec *spec,
			const char *what, char **err)
{
	KT_AUTO(kt_cpuset) set = NULL;
	KT_AUTOFREE char *why = NULL;
	int r = kt_cpuset_spec_resolve(spec, ctx->topo, &set, &why);

	if (r)
		*err = kt_asprintf("%s: %s", what, why ? why : strerror(-r));
	return r;
}

static int check_affinity(const struct kt_ctx *ctx, const struct names *s,
			  const struct kt_affinity_spec *a, const char *what, char **err)
{
	KT_AUTO(kt_cpuset) all = kt_topo_all_cpuset(ctx->topo);
	KT_AUTO(kt_cpuset) set = NULL;
	KT_AUTOFREE char *why = NULL;
	unsigned rng = 1;
	int r;

	if (!all)
		return -ENOMEM;
	if (a->kind == KT_AFF_CROSS_CGROUP && !known(ctx, s, a->cgroup2)) {
		*err = kt_asprintf("%s: affinity cross_cgroup: unknown cgroup '%s'", what,
				   a->cgroup2 ? a->cgroup2 : "(null)");
		return -EINVAL;
	}
	r = kt_scen_affinity_resolve(ctx, a, all, all, &rng, &set, &why);
	if (r)
		*err = kt_asprintf("%s: %s", what, why ? why : strerror(-r));
	return r;
}

static int check_def(const struct kt_ctx *ctx, struct names *s, const struct kt_cgroup_def *d,
		     const char *what, char **err)
{
	KT_AUTOFREE char *w = NULL;

	if (!d->name || !*d->name) {
		*err = kt_asprintf("%s: cgroup without a name", what);
		return -EINVAL;
	}
	w = kt_asprintf("%s %s", what, d->name);
	if (!w)
		return -ENOMEM;
	if (check_cpuset(ctx, &d->cpuset, w, err) || check_affinity(ctx, s, &d->affinity, w, err))
		return -EINVAL;
	return names_add(s, d->name);
}

static int need(const struct kt_ctx *ctx, const struct names *s, const char *name,
		const char *what, char **err)
{
	if (known(ctx, s, name))
		return 0;
	*err = kt_asprintf("%s: unknown cgroup '%s'", what, name ? name : "(null)");
	return -EINVAL;
}

static int check_op(const struct kt_ctx *ctx, struct names *s, const struct kt_op *op,
		    const char *what, char **err)
{
	KT_AUTOFREE char *w = NULL;

	switch (op->kind) {
	case KT_OP_ADD_CGROUP:
		return check_def(ctx, s, &op->def, what, err);
	case KT_OP_SPAWN_HOST:
		return check_affinity(ctx, s, &op->def.affinity, what, err);
	case KT_OP_REMOVE_CGROUP:
		if (need(ctx, s, op->cgroup, what, err))
			return -EINVAL;
		names_remove(s, op->cgroup);
		return 0;
	case KT_OP_CLEAR_CPUSET:
	case KT_OP_STOP_CGROUP:
		return need(ctx, s, op->cgroup, what, err);
	case KT_OP_SET_CPUSET:
		if (need(ctx, s, op->cgroup, what, err))
			return -EINVAL;
		w = kt_asprintf("%s %s", what, op->cgroup);
		if (!w)
			return -ENOMEM;
		if (op->cpuset.kind == KT_CSPEC_NONE) {
			*err = kt_asprintf("%s: no cpuset given (use clear_cpuset)", w);
			return -EINVAL;
		}
		return check_cpuset(ctx, &op->cpuset, w, err);
	case KT_OP_SWAP_CPUSETS:
	case KT_OP_MOVE_ALL_TASKS:
		if (need(ctx, s, op->cgroup, what, err) || need(ctx, s, op->cgroup2, what, err))
			return -EINVAL;
		return 0;
	case KT_OP_SPAWN:
	case KT_OP_SET_AFFINITY:
		if (need(ctx, s, op->cgroup, what, err))
			return -EINVAL;
		w = kt_asprintf("%s %s", what, op->cgroup);
		if (!w)
			return -ENOMEM;
		return check_affinity(ctx, s, op->kind == KT_OP_SPAWN ? &op->def.affinity : &op->affinity,
				      w, err);
	case KT_OP_END:
		break;
	}
	*err = kt_asprintf("%s: unknown op kind %d", what, (int)op->kind);
	return -EINVAL;
}

int kt_scen_validate_steps(const struct kt_ctx *ctx, const struct kt_step *steps, char **err)
{
	struct names s = { 0 };
	int r = 0;

	*err = NULL;
	if (!steps || kt_scen_step_is_end(&steps[0])) {
		*err = kt_asprintf("no steps");
		return -EINVAL;
	}
	for (unsigned i = 0; !r && !kt_scen_step_is_end(&steps[i]); i++) {
		const struct kt_step *st = &steps[i];

		for (const struct kt_cgroup_def *d = st->setup; !r && d && d->name; d++) {
			KT_AUTOFREE char *what = kt_asprintf("step %u: setup", i + 1);

			r = what ? check_def(ctx, &s, d, what, err) : -ENOMEM;
		}
		for (const struct kt_op *op = st->ops; !r && op && op->kind != KT_OP_END; op++) {
			KT_AUTOFREE char *what = kt_asprintf("step %u: op %s", i + 1,
							     kt_scen_op_name(op->kind));

			r = what ? check_op(ctx, &s, op, what, err) : -ENOMEM;
		}
		if (!r && st->hold.kind > KT_HOLD_LOOP) {
			*err = kt_asprintf("step %u: unknown hold kind %d", i + 1, (int)st->hold.kind);
			r = -EINVAL;
		}
		if (!r && st->hold.kind == KT_HOLD_FRAC && (st->hold.frac < 0 || st->hold.frac > 1)) {
			*err = kt_asprintf("step %u: hold fraction %g outside [0,1]", i + 1, st->hold.frac);
			r = -EINVAL;
		}
	}
	names_release(&s);
	if (r && !*err)
		*err = kt_asprintf("out of memory");
	return r;
}
