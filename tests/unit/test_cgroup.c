/*
 * Unit tests of the cgroup manager and its guard.
 *
 * The fake_* tests drive the logic on a plain directory tree (fake mode,
 * which only the module's internal constructors offer).  The real_* tests need /sys/fs/cgroup to be
 * cgroup v2 with the cpuset controller and root privileges (the project's
 * VM); elsewhere they are skipped.  Every test's teardown fails the test if
 * a directory was left behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ktstr/cgroup.h>
#include "cgroup/cgroup_internal.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS (1000000ull)

struct fx {
	char root[64];    /* fake tree, or "/sys/fs/cgroup" */
	char parent[64];  /* parent_name the test uses */
};

static void put(const char *dir, const char *file, const char *text)
{
	KT_AUTOFREE char *p = kt_asprintf("%s/%s", dir, file);

	assert_non_null(p);
	assert_int_equal(kt_write_whole(p, text, strlen(text), 0644), 0);
}

/* Content of dir/file with trailing whitespace trimmed (static buffer). */
static const char *get(const char *dir, const char *file)
{
	static char buf[4096];
	KT_AUTOFREE char *p = kt_asprintf("%s/%s", dir, file);

	assert_non_null(p);
	if (kt_read_line(p, buf, sizeof(buf)) < 0)
		return NULL;
	return buf;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static size_t count_subdirs(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && de->d_type == DT_DIR)
			n++;
	closedir(d);
	return n;
}

static int fake_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->root, "/tmp/kt-cgroup-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->parent, sizeof(f->parent), "ktstr-%d", (int)getpid());
	put(f->root, "cgroup.controllers", "cpuset cpu io memory pids\n");
	put(f->root, "cgroup.subtree_control", "");
	put(f->root, "cpuset.cpus.effective", "0-3\n");
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fx *f = *state;
	size_t left = count_subdirs(f->root);

	kt_rm_rf(f->root);
	free(f);
	if (left) {
		fprintf(stderr, "teardown: %zu directories left behind\n", left);
		return -1;
	}
	return 0;
}

static struct kt_cgroup_manager *fake_manager(struct fx *f)
{
	struct kt_cgroup_manager *m = NULL;

	assert_int_equal(kt_cg_manager_new(f->root, f->parent, true, &m), 0);
	assert_non_null(m);
	return m;
}

/* ---- fake tree: manager ---- */

static void fake_new_enables_controllers(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m = fake_manager(f);
	KT_AUTOFREE char *want = kt_asprintf("%s/%s", f->root, f->parent);

	assert_string_equal(kt_cgroup_manager_path(m), want);
	assert_true(is_dir(want));
	/* io and pids are offered but not asked for. */
	assert_string_equal(get(f->root, "cgroup.subtree_control"), "+cpuset +cpu +memory");
	assert_string_equal(get(want, "cgroup.subtree_control"), "+cpuset +cpu +memory");
	assert_string_equal(kt_cgroup_last_path(m), "");
	kt_cgroup_manager_free(m);
	assert_false(is_dir(want));
}

static void fake_new_skips_missing_and_enabled(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m;

	/* No memory offered, cpuset already enabled: only cpu is written. */
	put(f->root, "cgroup.controllers", "cpuset cpu\n");
	put(f->root, "cgroup.subtree_control", "cpuset\n");
	m = fake_manager(f);
	assert_string_equal(get(f->root, "cgroup.subtree_control"), "+cpu");
	assert_string_equal(get(kt_cgroup_manager_path(m), "cgroup.subtree_control"),
			    "+cpuset +cpu");
	kt_cgroup_manager_free(m);
}

static void fake_new_default_parent_name(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = NULL;
	KT_AUTOFREE char *want = kt_asprintf("%s/ktstr-%d", f->root, (int)getpid());

	assert_int_equal(kt_cg_manager_new(f->root, NULL, true, &m), 0);
	assert_string_equal(kt_cgroup_manager_path(m), want);
	assert_true(is_dir(want));
}

static void fake_new_without_cpuset(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m = (void *)1;

	put(f->root, "cgroup.controllers", "cpu memory\n");
	assert_int_equal(kt_cg_manager_new(f->root, f->parent, true, &m), -ENODEV);
	assert_null(m);
	assert_int_equal(count_subdirs(f->root), 0);
}

static void fake_new_rejects_bad_parent(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m = NULL;

	assert_int_equal(kt_cg_manager_new(f->root, "a/b", true, &m), -EINVAL);
	assert_int_equal(kt_cg_manager_new(f->root, "..", true, &m), -EINVAL);
	assert_int_equal(kt_cg_manager_new(f->root, "", true, &m), -EINVAL);
	assert_null(m);
}

static void plain_dir_is_not_cgroup2(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m = NULL;
	size_t n = 99;

	/* the public functions never take fake mode, whatever the environment says */
	setenv("KT_CGROUP_FAKE_ROOT", "1", 1);
	assert_int_equal(kt_cgroup_manager_new(f->root, f->parent, &m), -ENOTSUP);
	assert_null(m);
	assert_int_equal(kt_cgroup_manager_new("/nonexistent/kt", NULL, &m), -ENOTSUP);
	assert_int_equal(kt_cgroup_cleanup_stale(f->root, true, &n), -ENOTSUP);
	unsetenv("KT_CGROUP_FAKE_ROOT");
	assert_int_equal(count_subdirs(f->root), 0);
}

/* ---- fake tree: create / remove ---- */

static void fake_create_nested(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);
	KT_AUTOFREE char *a = NULL, *ab = NULL, *abc = NULL;

	assert_int_equal(kt_cgroup_create(m, "a/b/c"), 0);
	a = kt_asprintf("%s/a", kt_cgroup_manager_path(m));
	ab = kt_asprintf("%s/a/b", kt_cgroup_manager_path(m));
	abc = kt_asprintf("%s/a/b/c", kt_cgroup_manager_path(m));
	assert_true(is_dir(abc));
	assert_true(kt_cgroup_exists(m, "a"));
	assert_true(kt_cgroup_exists(m, "a/b/c"));
	/* Intermediates enable controllers for their children; the leaf does not. */
	assert_string_equal(get(a, "cgroup.subtree_control"), "+cpuset +cpu +memory");
	assert_string_equal(get(ab, "cgroup.subtree_control"), "+cpuset +cpu +memory");
	assert_string_equal(get(abc, "cgroup.subtree_control"), "");
	/* Existing cgroups are fine. */
	assert_int_equal(kt_cgroup_create(m, "a/b"), 0);
	assert_int_equal(kt_cgroup_create(m, "a/b2"), 0);
	assert_true(kt_cgroup_exists(m, "a/b2"));
}

static void fake_create_rejects_bad_names(void **state)
{
	static const char *const bad[] = { "", "/a", "..", "a/..", "../x", "a/../b",
					   "a//b", "a/", ".", "a/./b", "a\nb" };
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);

	assert_int_equal(kt_cgroup_create(m, NULL), -EINVAL);
	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		assert_int_equal(kt_cgroup_create(m, bad[i]), -EINVAL);
		assert_int_equal(kt_cgroup_remove(m, bad[i]), -EINVAL);
		assert_false(kt_cgroup_exists(m, bad[i]));
	}
	/* Dots inside a component are an ordinary name. */
	assert_int_equal(kt_cgroup_create(m, "a..b"), 0);
	assert_int_equal(count_subdirs(kt_cgroup_manager_path(m)), 1);
	assert_int_equal(count_subdirs(f->root), 1);
}

static void fake_create_reports_path(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);
	KT_AUTOFREE char *x = kt_asprintf("%s/x", kt_cgroup_manager_path(m));

	put(kt_cgroup_manager_path(m), "x", "not a dir");
	assert_int_equal(kt_cgroup_create(m, "x/y"), -ENOTDIR);
	assert_string_equal(kt_cgroup_last_path(m), x);
}

static void fake_remove_children_first(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);

	assert_int_equal(kt_cgroup_create(m, "a/b/c"), 0);
	assert_int_equal(kt_cgroup_create(m, "a/d"), 0);
	assert_int_equal(kt_cgroup_create(m, "e"), 0);
	assert_int_equal(kt_cgroup_remove(m, "a"), 0);
	assert_false(kt_cgroup_exists(m, "a"));
	assert_false(kt_cgroup_exists(m, "a/b/c"));
	assert_true(kt_cgroup_exists(m, "e"));
	assert_int_equal(kt_cgroup_remove(m, "a"), -ENOENT);
	assert_int_equal(kt_cgroup_remove(m, "e"), 0);
	assert_int_equal(count_subdirs(kt_cgroup_manager_path(m)), 0);
}

static void fake_remove_busy_times_out_without_killing(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);
	KT_AUTOFREE char *dir = NULL, *events = NULL;
	char self[32];
	uint64_t t0, dt;

	assert_int_equal(kt_cgroup_create(m, "busy"), 0);
	dir = kt_asprintf("%s/busy", kt_cgroup_manager_path(m));
	events = kt_asprintf("%s/cgroup.events", dir);
	/* Fake pids are never signalled: listing ourselves must be survivable. */
	snprintf(self, sizeof(self), "%d\n", (int)getpid());
	put(dir, "cgroup.procs", self);
	put(dir, "cgroup.events", "populated 1\nfrozen 0\n");
	kt_cgroup_manager_set_drain_timeout(m, 50 * MS);

	t0 = kt_now_ns();
	assert_int_equal(kt_cgroup_remove(m, "busy"), -EBUSY);
	dt = kt_now_ns() - t0;
	assert_true(dt >= 50 * MS);
	assert_true(dt < 1000 * MS);
	assert_true(kt_cgroup_exists(m, "busy"));
	assert_string_equal(kt_cgroup_last_path(m), events);

	put(dir, "cgroup.events", "populated 0\nfrozen 0\n");
	assert_int_equal(kt_cgroup_remove(m, "busy"), 0);
}

struct later {
	char *events;
	uint64_t after_ns;
};

static void *drain_later(void *arg)
{
	struct later *l = arg;
	const char *text = "populated 0\nfrozen 0\n";

	kt_sleep_ns(l->after_ns);
	kt_write_whole(l->events, text, strlen(text), 0644);
	return NULL;
}

static void fake_remove_waits_for_drain(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);
	KT_AUTOFREE char *dir = NULL;
	struct later l = { .after_ns = 60 * MS };
	pthread_t th;
	uint64_t t0, dt;

	assert_int_equal(kt_cgroup_create(m, "draining"), 0);
	dir = kt_asprintf("%s/draining", kt_cgroup_manager_path(m));
	l.events = kt_asprintf("%s/cgroup.events", dir);
	put(dir, "cgroup.events", "populated 1\nfrozen 0\n");
	kt_cgroup_manager_set_drain_timeout(m, 1500 * MS);

	t0 = kt_now_ns();
	assert_int_equal(pthread_create(&th, NULL, drain_later, &l), 0);
	assert_int_equal(kt_cgroup_remove(m, "draining"), 0);
	dt = kt_now_ns() - t0;
	pthread_join(th, NULL);
	free(l.events);
	assert_true(dt >= 60 * MS);
	assert_true(dt < 500 * MS); /* woke on the change, not at the deadline */
	assert_false(kt_cgroup_exists(m, "draining"));
}

/* ---- fake tree: cpuset and procs ---- */

static void fake_cpuset_set_clear_get(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);
	KT_AUTO(kt_cpuset) set = kt_cpuset_new();
	KT_AUTO(kt_cpuset) got = NULL;
	KT_AUTO(kt_cpuset) empty = kt_cpuset_new();
	KT_AUTOFREE char *dir = NULL;

	assert_int_equal(kt_cgroup_create(m, "cg_0"), 0);
	dir = kt_asprintf("%s/cg_0", kt_cgroup_manager_path(m));
	assert_int_equal(kt_cpuset_set(set, 1), 0);
	assert_int_equal(kt_cpuset_set_range(set, 3, 5), 0);
	assert_int_equal(kt_cgroup_set_cpuset(m, "cg_0", set), 0);
	assert_string_equal(get(dir, "cpuset.cpus"), "1,3-5");

	assert_int_equal(kt_cgroup_set_cpuset(m, "cg_0", empty), -EINVAL);
	assert_string_equal(get(dir, "cpuset.cpus"), "1,3-5");

	assert_int_equal(kt_cgroup_clear_cpuset(m, "cg_0"), 0);
	assert_string_equal(get(dir, "cpuset.cpus"), "");

	/* A new fake cgroup inherits the effective set; the kernel's view wins. */
	assert_int_equal(kt_cgroup_get_cpuset(m, "cg_0", &got), 0);
	assert_int_equal(kt_cpuset_count(got), 4);
	kt_cpuset_free(got);
	got = NULL;
	put(dir, "cpuset.cpus.effective", "1,3-5\n");
	assert_int_equal(kt_cgroup_get_cpuset(m, "cg_0", &got), 0);
	assert_true(kt_cpuset_equal(got, set));

	kt_cpuset_free(got);
	got = NULL;
	put(dir, "cpuset.cpus.effective", "1,x\n");
	assert_int_equal(kt_cgroup_get_cpuset(m, "cg_0", &got), -EINVAL);
	assert_null(got);

	assert_int_equal(kt_cgroup_set_cpuset(m, "nope", set), -ENOENT);
	assert_non_null(strstr(kt_cgroup_last_path(m), "/nope/cpuset.cpus"));
}

static void fake_move_and_list(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);
	const pid_t tids[] = { 101, 202, 303 };
	KT_AUTOFREE pid_t *pids = NULL;
	KT_AUTOFREE char *dir = NULL;
	size_t n = 99;

	assert_int_equal(kt_cgroup_create(m, "cg_0"), 0);
	dir = kt_asprintf("%s/cg_0", kt_cgroup_manager_path(m));
	assert_int_equal(kt_cgroup_list_pids(m, "cg_0", &pids, &n), 0);
	assert_int_equal(n, 0);
	assert_null(pids);

	assert_int_equal(kt_cgroup_move_tasks(m, "cg_0", tids, 3), 0);
	assert_int_equal(kt_cgroup_list_pids(m, "cg_0", &pids, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 101);
	assert_int_equal(pids[2], 303);

	assert_int_equal(kt_cgroup_move_task(m, "cg_0", 0), -EINVAL);
	assert_int_equal(kt_cgroup_move_task(m, "missing", 5), -ENOENT);
	assert_non_null(strstr(kt_cgroup_last_path(m), "/missing/cgroup.procs"));

	put(dir, "cgroup.procs", "12\nbogus\n");
	free(pids);
	pids = NULL;
	assert_int_equal(kt_cgroup_list_pids(m, "cg_0", &pids, &n), -EINVAL);
	assert_null(pids);
}

/* ---- fake tree: the guard ---- */

static void fake_group_removes_on_scope_exit(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);

	assert_int_equal(kt_cgroup_create(m, "pre"), 0);
	{
		KT_AUTO(kt_cgroup_group) guard = kt_cgroup_group_new(m);

		assert_non_null(guard);
		assert_int_equal(kt_cgroup_group_add(guard, "cg_0"), 0);
		assert_int_equal(kt_cgroup_group_add(guard, "cg_0/inner"), 0);
		assert_int_equal(kt_cgroup_group_adopt(guard, "pre"), 0);
		assert_int_equal(kt_cgroup_group_add(guard, "../escape"), -EINVAL);
		assert_int_equal(kt_cgroup_group_adopt(guard, "ghost"), -ENOENT);
		assert_int_equal(kt_cgroup_group_count(guard), 3);
		assert_string_equal(kt_cgroup_group_name(guard, 0), "cg_0");
		assert_string_equal(kt_cgroup_group_name(guard, 1), "cg_0/inner");
		assert_string_equal(kt_cgroup_group_name(guard, 2), "pre");
		assert_null(kt_cgroup_group_name(guard, 3));
		assert_true(kt_cgroup_exists(m, "cg_0/inner"));
	}
	assert_false(kt_cgroup_exists(m, "cg_0"));
	assert_false(kt_cgroup_exists(m, "pre"));
	assert_int_equal(count_subdirs(kt_cgroup_manager_path(m)), 0);
	/* The manager outlives the guard and stays usable. */
	assert_int_equal(kt_cgroup_create(m, "after"), 0);
	kt_cgroup_group_free(NULL);
	kt_cgroup_manager_free(NULL);
	assert_null(kt_cgroup_group_new(NULL));
}

static void fake_group_tolerates_removed_members(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = fake_manager(f);
	struct kt_cgroup_group *g = kt_cgroup_group_new(m);

	assert_int_equal(kt_cgroup_group_add(g, "a"), 0);
	assert_int_equal(kt_cgroup_group_add(g, "b"), 0);
	assert_int_equal(kt_cgroup_remove(m, "a"), 0);
	kt_cgroup_group_free(g);
	assert_int_equal(count_subdirs(kt_cgroup_manager_path(m)), 0);
}

/* ---- fake tree: stale cleanup ---- */

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void fake_cleanup_stale(void **state)
{
	struct fx *f = *state;
	KT_AUTOFREE char *dead = kt_asprintf("%s/ktstr-%d", f->root, (int)dead_pid());
	KT_AUTOFREE char *alive = kt_asprintf("%s/ktstr-%d", f->root, (int)getppid());
	KT_AUTOFREE char *self = kt_asprintf("%s/ktstr-%d", f->root, (int)getpid());
	KT_AUTOFREE char *odd = kt_asprintf("%s/ktstr-12ab", f->root);
	KT_AUTOFREE char *other = kt_asprintf("%s/other", f->root);
	KT_AUTOFREE char *nested = kt_asprintf("%s/cg_0/x", dead);
	size_t n = 99;

	/* A crashed run's tree: nested cgroups holding control files. */
	assert_int_equal(kt_mkdir_p(nested, 0755), 0);
	put(dead, "cgroup.procs", "");
	put(nested, "cgroup.procs", "");
	put(nested, "cgroup.events", "populated 0\n");
	assert_int_equal(mkdir(alive, 0755), 0);
	assert_int_equal(mkdir(self, 0755), 0);
	assert_int_equal(mkdir(odd, 0755), 0);
	assert_int_equal(mkdir(other, 0755), 0);

	assert_int_equal(kt_cg_cleanup_stale(f->root, false, true, &n), 1);
	assert_int_equal(n, 1);
	assert_false(is_dir(dead));
	assert_true(is_dir(alive));

	/* force takes live runs too, but never the caller's own. */
	assert_int_equal(kt_cg_cleanup_stale(f->root, true, true, &n), 1);
	assert_false(is_dir(alive));
	assert_true(is_dir(self));
	assert_true(is_dir(odd));
	assert_true(is_dir(other));
	assert_int_equal(kt_cg_cleanup_stale(f->root, true, true, NULL), 0);
	rmdir(self);
	rmdir(odd);
	rmdir(other);
}

/* ---- the real cgroup v2 hierarchy (the project's VM) ---- */

static bool real_available(void)
{
	struct statfs sfs;
	char buf[512];

	if (geteuid() != 0 || statfs(KT_CGROUP_DEFAULT_ROOT, &sfs) < 0 ||
	    sfs.f_type != CGROUP2_SUPER_MAGIC)
		return false;
	if (kt_read_line(KT_CGROUP_DEFAULT_ROOT "/cgroup.controllers", buf, sizeof(buf)) < 0)
		return false;
	for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
		if (!strcmp(t, "cpuset"))
			return true;
	return false;
}

static int real_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->root, KT_CGROUP_DEFAULT_ROOT);
	snprintf(f->parent, sizeof(f->parent), "ktstr-ut-%d", (int)getpid());
	*state = f;
	return 0;
}

static int real_teardown(void **state)
{
	struct fx *f = *state;
	KT_AUTOFREE char *p = kt_asprintf("%s/%s", f->root, f->parent);
	bool left = p && is_dir(p);

	free(f);
	if (left) {
		fprintf(stderr, "teardown: %s left behind\n", p);
		return -1;
	}
	return 0;
}

static struct kt_cgroup_manager *real_manager(struct fx *f)
{
	struct kt_cgroup_manager *m = NULL;

	if (!real_available())
		skip();
	assert_int_equal(kt_cgroup_manager_new(NULL, f->parent, &m), 0);
	return m;
}

static pid_t fork_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	return pid;
}

/* "0::/ktstr-ut-N/cg_0" is in /proc/<pid>/cgroup. */
static bool proc_in_cgroup(pid_t pid, const char *rel)
{
	KT_AUTOFREE char *path = kt_asprintf("/proc/%d/cgroup", (int)pid);
	KT_AUTOFREE char *want = kt_asprintf("0::/%s\n", rel);
	KT_AUTOFREE char *text = NULL;

	return kt_read_file(path, &text, NULL) == 0 && strstr(text, want);
}

static void real_cpuset_move_and_kill(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m = real_manager(f);
	KT_AUTO(kt_cpuset) root_cpus = NULL;
	KT_AUTO(kt_cpuset) one = kt_cpuset_new();
	KT_AUTO(kt_cpuset) got = NULL;
	KT_AUTOFREE pid_t *pids = NULL;
	KT_AUTOFREE char *rel = kt_asprintf("%s/cg_0", f->parent);
	KT_AUTOFREE char *text = NULL;
	cpu_set_t aff;
	size_t n = 0;
	pid_t child;
	int status;
	uint64_t t0;

	kt_cgroup_manager_set_drain_timeout(m, 100 * MS);
	assert_int_equal(kt_read_file(KT_CGROUP_DEFAULT_ROOT "/cpuset.cpus.effective", &text,
				      NULL), 0);
	assert_int_equal(kt_cpuset_parse(text, &root_cpus, NULL), 0);
	assert_int_equal(kt_cpuset_set(one, (unsigned)kt_cpuset_last(root_cpus)), 0);

	assert_int_equal(kt_cgroup_create(m, "cg_0"), 0);
	assert_int_equal(kt_cgroup_set_cpuset(m, "cg_0", one), 0);
	assert_int_equal(kt_cgroup_get_cpuset(m, "cg_0", &got), 0);
	assert_true(kt_cpuset_equal(got, one));

	child = fork_sleeper();
	assert_int_equal(kt_cgroup_move_task(m, "cg_0", child), 0);
	assert_int_equal(kt_cgroup_list_pids(m, "cg_0", &pids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], child);
	assert_true(proc_in_cgroup(child, rel));
	/* The cpuset reaches the task's affinity. */
	CPU_ZERO(&aff);
	assert_int_equal(sched_getaffinity(child, sizeof(aff), &aff), 0);
	assert_int_equal(CPU_COUNT(&aff), 1);
	assert_true(CPU_ISSET(kt_cpuset_first(one), &aff));

	/* Removing with the child inside: it never leaves, so it is killed. */
	t0 = kt_now_ns();
	assert_int_equal(kt_cgroup_remove(m, "cg_0"), 0);
	assert_true(kt_now_ns() - t0 < 2000 * MS);
	assert_false(kt_cgroup_exists(m, "cg_0"));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	kt_cgroup_manager_free(m);
}

static void real_remove_drains_exiting_task(void **state)
{
	struct fx *f = *state;
	KT_AUTO(kt_cgroup_manager) m = real_manager(f);
	int go[2], status;
	pid_t child;
	char c = 'g';
	uint64_t t0;

	assert_int_equal(pipe(go), 0);
	child = fork();
	if (child == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		kt_sleep_ns(50 * MS);
		_exit(0);
	}
	assert_true(child > 0);
	close(go[0]);
	assert_int_equal(kt_cgroup_create(m, "a/b"), 0);
	assert_int_equal(kt_cgroup_move_task(m, "a/b", child), 0);
	assert_int_equal(write(go[1], &c, 1), 1);
	close(go[1]);

	/* The default 2 s drain: the child leaves by itself, nobody is killed. */
	t0 = kt_now_ns();
	assert_int_equal(kt_cgroup_remove(m, "a"), 0);
	assert_true(kt_now_ns() - t0 < 1500 * MS);
	assert_false(kt_cgroup_exists(m, "a"));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void real_guard_and_manager_free(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m = real_manager(f);
	KT_AUTOFREE char *a = kt_asprintf("%s/a", kt_cgroup_manager_path(m));
	KT_AUTOFREE char *parent = strdup(kt_cgroup_manager_path(m));
	pid_t child;
	int status;

	kt_cgroup_manager_set_drain_timeout(m, 100 * MS);
	{
		KT_AUTO(kt_cgroup_group) guard = kt_cgroup_group_new(m);

		assert_int_equal(kt_cgroup_group_add(guard, "a"), 0);
		assert_int_equal(kt_cgroup_group_add(guard, "a/b"), 0);
		assert_non_null(strstr(get(a, "cgroup.subtree_control"), "cpuset"));
	}
	assert_false(kt_cgroup_exists(m, "a"));

	/* manager_free removes what is left, killing what is inside. */
	assert_int_equal(kt_cgroup_create(m, "left/over"), 0);
	child = fork_sleeper();
	assert_int_equal(kt_cgroup_move_task(m, "left/over", child), 0);
	kt_cgroup_manager_free(m);
	assert_false(is_dir(parent));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
}

static void real_cleanup_stale(void **state)
{
	struct fx *f = *state;
	struct kt_cgroup_manager *m = NULL;
	KT_AUTOFREE char *dir = NULL;
	size_t n = 0;
	pid_t child;
	int status, ret;

	if (!real_available())
		skip();
	/* A crashed run: its owner pid is dead, a task is still inside. */
	snprintf(f->parent, sizeof(f->parent), "ktstr-%d", (int)dead_pid());
	assert_int_equal(kt_cgroup_manager_new(NULL, f->parent, &m), 0);
	dir = strdup(kt_cgroup_manager_path(m));
	assert_int_equal(kt_cgroup_create(m, "cg_0"), 0);
	child = fork_sleeper();
	assert_int_equal(kt_cgroup_move_task(m, "cg_0", child), 0);

	ret = kt_cgroup_cleanup_stale(NULL, false, &n);
	assert_true(ret >= 1);
	assert_int_equal((size_t)ret, n);
	assert_false(is_dir(dir));
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	kt_cgroup_manager_free(m); /* its tree is already gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define FAKE(t) cmocka_unit_test_setup_teardown(t, fake_setup, fake_teardown)
#define REAL(t) cmocka_unit_test_setup_teardown(t, real_setup, real_teardown)
		FAKE(fake_new_enables_controllers),
		FAKE(fake_new_skips_missing_and_enabled),
		FAKE(fake_new_default_parent_name),
		FAKE(fake_new_without_cpuset),
		FAKE(fake_new_rejects_bad_parent),
		FAKE(plain_dir_is_not_cgroup2),
		FAKE(fake_create_nested),
		FAKE(fake_create_rejects_bad_names),
		FAKE(fake_create_reports_path),
		FAKE(fake_remove_children_first),
		FAKE(fake_remove_busy_times_out_without_killing),
		FAKE(fake_remove_waits_for_drain),
		FAKE(fake_cpuset_set_clear_get),
		FAKE(fake_move_and_list),
		FAKE(fake_group_removes_on_scope_exit),
		FAKE(fake_group_tolerates_removed_members),
		FAKE(fake_cleanup_stale),
		REAL(real_cpuset_move_and_kill),
		REAL(real_remove_drains_exiting_task),
		REAL(real_guard_and_manager_free),
		REAL(real_cleanup_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
