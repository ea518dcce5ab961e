/*
 * cgroup v2 management for one ktstr run: a per-run parent cgroup
 * (<root>/ktstr-<pid> by default) under which scenarios create, resize and
 * remove their cgroups and move worker processes, plus a scope-bound guard
 * (struct kt_cgroup_group) that removes a test's cgroups on every return path.
 *
 * Must not know about workers or scenarios: callers hand it names, cpusets
 * and pids.  Functions return 0 or a negative errno and never print; after a
 * failure kt_cgroup_last_path() names the file or directory involved so the
 * caller can say "cannot create cgroup cg_0: <path>: <strerror>".
 *
 * Cgroup names are relative to the run's parent; nested names ("a/b") are
 * allowed.  Names that are empty, start with '/', end with '/', contain an
 * empty component ("a//b") or a "." / ".." component are rejected (-EINVAL).
 *
 * Not thread-safe: use one manager from one thread.
 */
#ifndef KTSTR_CGROUP_H
#define KTSTR_CGROUP_H

#include <ktstr/common.h>
#include <ktstr/cpuset.h>
#include <sys/types.h>

#define KT_CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"

struct kt_cgroup_manager;

/*
 * root NULL -> "/sys/fs/cgroup"; parent_name NULL -> "ktstr-<pid>" (a single
 * path component).  Creates the parent (reusing it if it exists) and enables
 * cpuset and cpu (and memory when offered) in the root's and the parent's
 * cgroup.subtree_control; controllers missing from cgroup.controllers are
 * skipped, and a failure to enable cpu or memory is tolerated.
 * Returns -ENOTSUP when root is not a cgroup v2 mount, -ENODEV when the
 * cpuset controller is not available there.
 */
KT_API int kt_cgroup_manager_new(const char *root, const char *parent_name,
				 struct kt_cgroup_manager **out);
/* Removes every cgroup under the parent, then the parent.  Accepts NULL. */
KT_API void kt_cgroup_manager_free(struct kt_cgroup_manager *m);

/*
 * Report each change made through m (a cpuset set or cleared, a task
 * moved) to fn as one line ("cpuset of cg_0 set to 0-1", "task 412 moved
 * to cg_1"), after it succeeded: the runner puts these on the timeline, so
 * a test body's direct calls show there as ops do.  fn NULL: no reports.
 * kt_cgroup_manager_quiet(m, true) ... (m, false) brackets changes whose
 * caller records its own entry (the ops engine, the setup helpers); it
 * nests.
 */
typedef void (*kt_cgroup_observer_fn)(void *arg, const char *what);
KT_API void kt_cgroup_manager_observe(struct kt_cgroup_manager *m, kt_cgroup_observer_fn fn,
				      void *arg);
KT_API void kt_cgroup_manager_quiet(struct kt_cgroup_manager *m, bool quiet);
KT_DEFINE_FREEP(kt_cgroup_manager)

/* Absolute path of the run's parent cgroup. */
KT_API const char *kt_cgroup_manager_path(const struct kt_cgroup_manager *m);
/* Path involved in the last failing call ("" if none failed yet). */
KT_API const char *kt_cgroup_last_path(const struct kt_cgroup_manager *m);
/*
 * How long kt_cgroup_remove() waits for tasks to leave on their own before
 * killing them (default 2 s).  Tests shorten it.
 */
KT_API void kt_cgroup_manager_set_drain_timeout(struct kt_cgroup_manager *m, uint64_t ns);

/*
 * Create a cgroup; nested names create missing intermediate cgroups and
 * enable the controllers in their cgroup.subtree_control.  An existing
 * cgroup is not an error (returns 0).
 */
KT_API int kt_cgroup_create(struct kt_cgroup_manager *m, const char *name);
/*
 * Remove a cgroup and its children.  Waits (bounded by the drain timeout)
 * for cgroup.events to report "populated 0"; if tasks remain, kills them
 * (cgroup.kill, or SIGKILL to each listed pid on kernels before 5.14) and
 * waits again.  Returns -ENOENT if it does not exist, -EBUSY if it could
 * not be removed.  Never call it on a cgroup holding the caller itself: the
 * caller would be among the killed.
 */
KT_API int kt_cgroup_remove(struct kt_cgroup_manager *m, const char *name);
KT_API bool kt_cgroup_exists(struct kt_cgroup_manager *m, const char *name);

/*
 * Write cpuset.cpus.  An empty set is -EINVAL (in cgroup v2 an empty
 * cpuset.cpus means "inherit the parent's", which is what
 * kt_cgroup_clear_cpuset() says explicitly).
 */
KT_API int kt_cgroup_set_cpuset(struct kt_cgroup_manager *m, const char *name,
				const struct kt_cpuset *set);
KT_API int kt_cgroup_clear_cpuset(struct kt_cgroup_manager *m, const char *name);
/* Write cpu.weight (1..10000; 100 is the kernel's default).  -ENOENT when
 * the cpu controller is not enabled for the cgroup. */
KT_API int kt_cgroup_set_weight(struct kt_cgroup_manager *m, const char *name, unsigned weight);
/* Read cpuset.cpus.effective into a new set. */
KT_API int kt_cgroup_get_cpuset(struct kt_cgroup_manager *m, const char *name,
				struct kt_cpuset **out);

/*
 * Move a task through cgroup.procs: this moves its whole process (every
 * thread), whichever thread id is given.
 */
KT_API int kt_cgroup_move_task(struct kt_cgroup_manager *m, const char *name, pid_t tid);
/* move_task for each; stops at the first failure and returns it. */
KT_API int kt_cgroup_move_tasks(struct kt_cgroup_manager *m, const char *name,
				const pid_t *tids, size_t n);
/* Pids in cgroup.procs; *pids is malloc'd (NULL when *n == 0). */
KT_API int kt_cgroup_list_pids(struct kt_cgroup_manager *m, const char *name,
			       pid_t **pids, size_t *n);

/*
 * The scope-bound guard (the guide's CgroupGroup): it remembers cgroups and
 * removes them, in reverse order, when freed.
 *
 *     KT_AUTO(kt_cgroup_group) guard = kt_cgroup_group_new(m);
 *
 * WARNING, the C counterpart of the guide's `let _ = CgroupGroup::new(..)`:
 * the guard must be a named KT_AUTO variable that lives until the end of the
 * test's scope.  Freeing it early (calling kt_cgroup_group_free() before the
 * workers are done, or declaring it in an inner block that closes first), or
 * not binding the result at all, removes the cgroups -- killing whatever is
 * still inside -- while the workers still need them.
 */
struct kt_cgroup_group;

/* NULL on ENOMEM or when m is NULL. */
KT_API struct kt_cgroup_group *kt_cgroup_group_new(struct kt_cgroup_manager *m);
/* Create the cgroup and remember it (not remembered if creation fails). */
KT_API int kt_cgroup_group_add(struct kt_cgroup_group *g, const char *name);
/* Remember an existing cgroup (-ENOENT if it does not exist). */
KT_API int kt_cgroup_group_adopt(struct kt_cgroup_group *g, const char *name);
KT_API size_t kt_cgroup_group_count(const struct kt_cgroup_group *g);
/* i-th remembered name, NULL when out of range. */
KT_API const char *kt_cgroup_group_name(const struct kt_cgroup_group *g, size_t i);
/* Removes the remembered cgroups, last added first.  Accepts NULL. */
KT_API void kt_cgroup_group_free(struct kt_cgroup_group *g);
KT_DEFINE_FREEP(kt_cgroup_group)

/*
 * For `ktstr cleanup`: remove <root>/ktstr-<pid> directories whose pid is
 * not alive (all of them with force, except the caller's own), killing
 * their tasks first.  root NULL -> "/sys/fs/cgroup".  Returns the number
 * removed, or the first -errno met (the others are still attempted);
 * *removed (optional) gets the count either way.
 */
KT_API int kt_cgroup_cleanup_stale(const char *root, bool force, size_t *removed);

#endif
