/*
 * The scope-bound cgroup guard (the guide's CgroupGroup): a list of cgroup
 * names that are removed, newest first, when the guard is freed -- which
 * KT_AUTO does on every return path of the test that declared it.
 *
 * Uses only the manager's public API.  Must not outlive its manager and
 * must not print; removal errors at free time have nowhere to go and are
 * left to the manager's own teardown, which removes the whole run subtree.
 */
#include <ktstr/cgroup.h>

#include "util/util.h"

#include <errno.h>
#include <string.h>

struct kt_cgroup_group {
	struct kt_cgroup_manager *m;
	struct kt_strlist names;	/* in the order they were added */
};

struct kt_cgroup_group *kt_cgroup_group_new(struct kt_cgroup_manager *m)
{
	struct kt_cgroup_group *g;

	if (!m) {
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g)
		g->m = m;
	return g;
}

static int remember(struct kt_cgroup_group *g, const char *name)
{
	return kt_strlist_add(&g->names, name);
}

int kt_cgroup_group_add(struct kt_cgroup_group *g, const char *name)
{
	int err = kt_cgroup_create(g->m, name);

	if (err)
		return err;
	err = remember(g, name);
	if (err)
		(void)kt_cgroup_remove(g->m, name); /* do not leak what we cannot track */
	return err;
}

int kt_cgroup_group_adopt(struct kt_cgroup_group *g, const char *name)
{
	if (!kt_cgroup_exists(g->m, name))
		return -ENOENT;
	return remember(g, name);
}

size_t kt_cgroup_group_count(const struct kt_cgroup_group *g)
{
	return g->names.n;
}

const char *kt_cgroup_group_name(const struct kt_cgroup_group *g, size_t i)
{
	return i < g->names.n ? g->names.v[i] : NULL;
}

void kt_cgroup_group_free(struct kt_cgroup_group *g)
{
	if (!g)
		return;
	/* Newest first, so a nested "a/b" goes before an "a" added earlier. */
	for (size_t i = g->names.n; i-- > 0;)
		if (kt_cgroup_exists(g->m, g->names.v[i]))
			(void)kt_cgroup_remove(g->m, g->names.v[i]);
	kt_strlist_release(&g->names);
	free(g);
}
