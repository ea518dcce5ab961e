/*
 * Private to the cgroup module: the manager's fields and the helpers that
 * cgroup.c (create, cpuset, procs), remove.c (drain, kill, rmdir, stale
 * cleanup) and group.c (the guard) share.  Nothing outside src/cgroup/
 * includes this.
 */
#ifndef KTSTR_CGROUP_INTERNAL_H
#define KTSTR_CGROUP_INTERNAL_H

#include <ktstr/cgroup.h>

/* How long tasks get to leave on their own, and to die once killed. */
#define KT_CG_DRAIN_NS_DEFAULT (2ull * 1000000000ull)
#define KT_CG_KILL_WAIT_MIN_NS (250ull * 1000000ull)

struct kt_cgroup_manager {
	char *root;      /* the cgroup2 mount (or fake tree) */
	char *parent;    /* <root>/<parent_name>, the run-level cgroup */
	char *last_path; /* path of the last failing call, or NULL */
	bool fake;       /* a plain directory tree (unit tests), see cgroup.c */
	uint64_t drain_ns;
	kt_cgroup_observer_fn observer;	/* changes reported here, or NULL */
	void *observer_arg;
	unsigned quiet;  /* > 0: changes are not reported */
};

/*
 * kt_cgroup_manager_new() and kt_cgroup_cleanup_stale() with fake mode
 * chosen: fake accepts a plain directory tree as the root, for unit tests
 * of the pure logic (cgroup.c says what is emulated).  Real runs never
 * take it: the public functions pass false.
 */
int kt_cg_manager_new(const char *root, const char *parent_name, bool fake,
		      struct kt_cgroup_manager **out);
int kt_cg_cleanup_stale(const char *root, bool force, bool fake, size_t *removed);
/* 0 if root is a cgroup2 mount (always in fake mode), else -ENOTSUP / -errno. */
int kt_cg_check_root(const char *root, bool fake);
/* Record path (copied) as m->last_path and return err. */
int kt_cg_fail(struct kt_cgroup_manager *m, const char *path, int err);

/*
 * Remove the cgroup directory at path with everything below it: wait up to
 * drain_ns for it to become unpopulated, kill what remains, wait up to
 * kill_wait for them to die, then rmdir children first.  On failure *failed
 * (if non-NULL) gets a malloc'd copy of the offending path.
 */
int kt_cg_remove_tree(const char *path, bool fake, uint64_t drain_ns, uint64_t kill_wait,
		      char **failed);
/* The manager's kill wait: its drain timeout, but never below the floor. */
uint64_t kt_cg_kill_wait(const struct kt_cgroup_manager *m);

#endif
