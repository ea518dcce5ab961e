/*
 * The cgroup v2 manager: the per-run parent cgroup, controller enabling,
 * creating cgroups, their cpusets and moving processes into them.  Removal
 * lives in remove.c, the scope guard in group.c.
 *
 * Must not print, and must not know what runs inside the cgroups.
 *
 * Fake mode (kt_cg_manager_new(..., fake = true, ...), never reachable
 * from the public API) lets unit tests drive this logic on a plain
 * directory tree.  Plain files differ from cgroupfs in three ways,
 * and only those are emulated, each in one clearly marked place: mkdir does
 * not create control files (fake_populate), a write does not replace a
 * file's content (cg_write), and rmdir refuses a directory holding files
 * (remove.c).
 */
#include "cgroup/cgroup_internal.h"
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <fcntl.h>

int kt_cg_check_root(const char *root, bool fake)
{
	struct statfs sfs;

	if (fake)
		return 0;
	if (statfs(root, &sfs) < 0)
		return errno == ENOENT ? -ENOTSUP : -errno;
	return sfs.f_type == CGROUP2_SUPER_MAGIC ? 0 : -ENOTSUP;
}

int kt_cg_fail(struct kt_cgroup_manager *m, const char *path, int err)
{
	char *p = strdup(path ? path : "");

	if (p) {
		free(m->last_path);
		m->last_path = p;
	}
	return err;
}

/*
 * Names are relative paths under the parent.  Refusing "..", "." and empty
 * components keeps every operation inside the run's subtree, so a typo can
 * never rmdir someone else's cgroup.
 */
static bool name_valid(const char *name)
{
	const char *p = name;

	if (!name || !*name || *name == '/')
		return false;
	while (*p) {
		const char *slash = strchrnul(p, '/');
		size_t len = (size_t)(slash - p);

		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (memchr(p, '\n', len))
			return false;
		if (!*slash)
			break;
		p = slash + 1;
		if (!*p)
			return false; /* trailing '/' */
	}
	return true;
}

static char *cg_path(const struct kt_cgroup_manager *m, const char *name, const char *file)
{
	if (file)
		return kt_asprintf("%s/%s/%s", m->parent, name, file);
	return kt_asprintf("%s/%s", m->parent, name);
}

/*
 * cgroupfs treats every write() as a command, which kt_write_file does.
 * FAKE MODE: plain files must be replaced rather than overwritten in place;
 * cgroup.procs is appended to so that successive moves accumulate.
 */
static int cg_write(bool fake, const char *path, const char *s, bool append)
{
	if (!fake)
		return kt_write_file(path, s);
	return kt_write_open(path, append ? O_APPEND : O_TRUNC, 0, s, strlen(s));
}

/* FAKE MODE: give a new plain directory the control files cgroupfs would. */
static int fake_copy(const char *dir, const char *from_dir, const char *file)
{
	KT_AUTOFREE char *src = kt_asprintf("%s/%s", from_dir, file);
	KT_AUTOFREE char *dst = kt_asprintf("%s/%s", dir, file);
	KT_AUTOFREE char *text = NULL;
	size_t len = 0;

	if (!src || !dst)
		return -ENOMEM;
	if (kt_read_file(src, &text, &len) < 0)
		len = 0;
	return kt_write_whole(dst, text ? text : "", len, 0644);
}

static int fake_populate(const char *dir, const char *parent_dir)
{
	static const char *const empty[] = { "cgroup.procs", "cgroup.subtree_control",
					     "cpuset.cpus" };
	KT_AUTOFREE char *events = kt_asprintf("%s/cgroup.events", dir);
	int err;

	if (!events)
		return -ENOMEM;
	for (size_t i = 0; i < KT_ARRAY_SIZE(empty); i++) {
		KT_AUTOFREE char *p = kt_asprintf("%s/%s", dir, empty[i]);

		if (!p)
			return -ENOMEM;
		err = kt_write_whole(p, "", 0, 0644);
		if (err)
			return err;
	}
	err = kt_write_whole(events, "populated 0\nfrozen 0\n", 21, 0644);
	if (!err)
		err = fake_copy(dir, parent_dir, "cgroup.controllers");
	if (!err)
		err = fake_copy(dir, parent_dir, "cpuset.cpus.effective");
	return err;
}

/* Whitespace-separated word list membership; a leading '+' is ignored. */
static bool word_in(const char *list, const char *word)
{
	size_t wlen = strlen(word);
	const char *p = list;

	while (*p) {
		size_t len;

		p += strspn(p, " \t\n");
		len = strcspn(p, " \t\n");
		if (len && *p == '+') {
			p++;
			len--;
		}
		if (len == wlen && !memcmp(p, word, wlen))
			return true;
		p += len;
	}
	return false;
}

/*
 * Enable cpuset, cpu and memory for dir's children.  Only controllers that
 * dir offers and has not enabled yet are written, so an already prepared
 * hierarchy (the guest's init, a systemd host) needs no write permission on
 * its root.  Only cpuset is required; ktstr works without the others.
 */
static int enable_controllers(struct kt_cgroup_manager *m, const char *dir)
{
	static const char *const wanted[] = { "cpuset", "cpu", "memory" };
	KT_AUTOFREE char *avail_path = kt_asprintf("%s/cgroup.controllers", dir);
	KT_AUTOFREE char *ctl_path = kt_asprintf("%s/cgroup.subtree_control", dir);
	KT_AUTOFREE char *avail = NULL;
	KT_AUTOFREE char *cur = NULL;
	struct kt_buf cmd = { 0 };
	int err;

	if (!avail_path || !ctl_path)
		return -ENOMEM;
	err = kt_read_file(avail_path, &avail, NULL);
	if (err)
		return kt_cg_fail(m, avail_path, err);
	if (!word_in(avail, "cpuset"))
		return kt_cg_fail(m, avail_path, -ENODEV);
	err = kt_read_file(ctl_path, &cur, NULL);
	if (err)
		return kt_cg_fail(m, ctl_path, err);
	for (size_t i = 0; i < KT_ARRAY_SIZE(wanted) && !err; i++)
		if (word_in(avail, wanted[i]) && !word_in(cur, wanted[i]))
			err = kt_buf_printf(&cmd, "%s+%s", cmd.len ? " " : "", wanted[i]);
	if (err || !cmd.len) {
		kt_buf_release(&cmd);
		return err;
	}
	err = cg_write(m->fake, ctl_path, cmd.data, false);
	kt_buf_release(&cmd);
	if (!err)
		return 0;
	/* One write is all-or-nothing; retry so that only cpuset is fatal. */
	if (!word_in(cur, "cpuset")) {
		err = cg_write(m->fake, ctl_path, "+cpuset", false);
		if (err)
			return kt_cg_fail(m, ctl_path, err);
	}
	for (size_t i = 1; i < KT_ARRAY_SIZE(wanted); i++) {
		char one[16];

		if (!word_in(avail, wanted[i]) || word_in(cur, wanted[i]))
			continue;
		snprintf(one, sizeof(one), "+%s", wanted[i]);
		(void)cg_write(m->fake, ctl_path, one, false);
	}
	return 0;
}

/* mkdir one cgroup; *created says whether it is new. */
static int make_one(struct kt_cgroup_manager *m, const char *dir, const char *parent_dir,
		    bool *created)
{
	struct stat st;
	int err;

	if (created)
		*created = false;
	if (mkdir(dir, 0755) < 0) {
		if (errno != EEXIST)
			return kt_cg_fail(m, dir, -errno);
		if (stat(dir, &st) < 0)
			return kt_cg_fail(m, dir, -errno);
		return S_ISDIR(st.st_mode) ? 0 : kt_cg_fail(m, dir, -ENOTDIR);
	}
	if (created)
		*created = true;
	if (m->fake) {
		err = fake_populate(dir, parent_dir);
		if (err)
			return kt_cg_fail(m, dir, err);
	}
	return 0;
}

int kt_cgroup_manager_new(const char *root, const char *parent_name,
			  struct kt_cgroup_manager **out)
{
	return kt_cg_manager_new(root, parent_name, false, out);
}

int kt_cg_manager_new(const char *root, const char *parent_name, bool fake,
		      struct kt_cgroup_manager **out)
{
	struct kt_cgroup_manager *m;
	KT_AUTOFREE char *dflt = NULL;
	bool created = false;
	int err;

	*out = NULL;
	if (!root)
		root = KT_CGROUP_DEFAULT_ROOT;
	if (!parent_name) {
		dflt = kt_asprintf("ktstr-%d", (int)getpid());
		if (!dflt)
			return -ENOMEM;
		parent_name = dflt;
	}
	if (!name_valid(parent_name) || strchr(parent_name, '/'))
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fake = fake;
	m->drain_ns = KT_CG_DRAIN_NS_DEFAULT;
	m->root = strdup(root);
	m->parent = kt_asprintf("%s/%s", root, parent_name);
	err = !m->root || !m->parent ? -ENOMEM : 0;
	if (!err)
		err = kt_cg_check_root(root, m->fake);
	if (!err)
		err = enable_controllers(m, root);
	if (!err)
		err = make_one(m, m->parent, root, &created);
	if (!err)
		err = enable_controllers(m, m->parent);
	if (err) {
		if (created)
			(void)kt_cg_remove_tree(m->parent, m->fake, 0, KT_CG_KILL_WAIT_MIN_NS, NULL);
		free(m->root);
		free(m->parent);
		free(m->last_path);
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

void kt_cgroup_manager_free(struct kt_cgroup_manager *m)
{
	if (!m)
		return;
	if (m->parent)
		(void)kt_cg_remove_tree(m->parent, m->fake, m->drain_ns, kt_cg_kill_wait(m), NULL);
	free(m->root);
	free(m->parent);
	free(m->last_path);
	free(m);
}

const char *kt_cgroup_manager_path(const struct kt_cgroup_manager *m)
{
	return m->parent;
}

const char *kt_cgroup_last_path(const struct kt_cgroup_manager *m)
{
	return m->last_path ? m->last_path : "";
}

uint64_t kt_cg_kill_wait(const struct kt_cgroup_manager *m)
{
	return m->drain_ns > KT_CG_KILL_WAIT_MIN_NS ? m->drain_ns : KT_CG_KILL_WAIT_MIN_NS;
}

void kt_cgroup_manager_set_drain_timeout(struct kt_cgroup_manager *m, uint64_t ns)
{
	m->drain_ns = ns;
}

int kt_cgroup_create(struct kt_cgroup_manager *m, const char *name)
{
	KT_AUTOFREE char *above = NULL; /* the previous component's path */
	size_t len;
	int err;

	if (!name_valid(name)) {
		KT_AUTOFREE char *full = cg_path(m, name ? name : "", NULL);

		return full ? kt_cg_fail(m, full, -EINVAL) : -ENOMEM;
	}
	/*
	 * Walk the components: each one but the last is an intermediate
	 * cgroup whose children need the controllers enabled.
	 */
	above = strdup(m->parent);
	if (!above)
		return -ENOMEM;
	len = strlen(name);
	for (size_t i = 0; i <= len; i++) {
		char *dir;

		if (name[i] != '/' && name[i] != '\0')
			continue;
		dir = kt_asprintf("%s/%.*s", m->parent, (int)i, name);
		if (!dir)
			return -ENOMEM;
		err = make_one(m, dir, above, NULL);
		if (!err && i < len)
			err = enable_controllers(m, dir);
		free(above);
		above = dir;
		if (err)
			return err;
	}
	return 0;
}

int kt_cgroup_remove(struct kt_cgroup_manager *m, const char *name)
{
	KT_AUTOFREE char *dir = cg_path(m, name ? name : "", NULL);
	char *failed = NULL;
	struct stat st;
	int err;

	if (!dir)
		return -ENOMEM;
	if (!name_valid(name))
		return kt_cg_fail(m, dir, -EINVAL);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return kt_cg_fail(m, dir, -ENOENT);
	err = kt_cg_remove_tree(dir, m->fake, m->drain_ns, kt_cg_kill_wait(m), &failed);
	if (err)
		kt_cg_fail(m, failed ? failed : dir, err);
	free(failed);
	return err;
}

bool kt_cgroup_exists(struct kt_cgroup_manager *m, const char *name)
{
	KT_AUTOFREE char *dir = NULL;
	struct stat st;

	if (!name_valid(name))
		return false;
	dir = cg_path(m, name, NULL);
	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Validate name and build <parent>/<name>/<file>; errors recorded in m. */
static int file_path(struct kt_cgroup_manager *m, const char *name, const char *file,
		     char **out)
{
	*out = cg_path(m, name ? name : "", file);
	if (!*out)
		return -ENOMEM;
	if (!name_valid(name))
		return kt_cg_fail(m, *out, -EINVAL);
	return 0;
}

static int write_ctl(struct kt_cgroup_manager *m, const char *name, const char *file,
		     const char *text, bool append)
{
	KT_AUTOFREE char *path = NULL;
	int err = file_path(m, name, file, &path);

	if (!err)
		err = cg_write(m->fake, path, text, append);
	return err ? kt_cg_fail(m, path, err) : 0;
}

void kt_cgroup_manager_observe(struct kt_cgroup_manager *m, kt_cgroup_observer_fn fn, void *arg)
{
	if (!m)
		return;
	m->observer = fn;
	m->observer_arg = arg;
}

void kt_cgroup_manager_quiet(struct kt_cgroup_manager *m, bool quiet)
{
	if (!m)
		return;
	if (quiet)
		m->quiet++;
	else if (m->quiet)
		m->quiet--;
}

/* Tell the observer about a change that succeeded (err == 0); returns err. */
static int observed(struct kt_cgroup_manager *m, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int observed(struct kt_cgroup_manager *m, int err, const char *fmt, ...)
{
	va_list ap;
	char *what;

	if (err || !m->observer || m->quiet)
		return err;
	va_start(ap, fmt);
	what = kt_vasprintf(fmt, ap);
	va_end(ap);
	if (what)
		m->observer(m->observer_arg, what);
	free(what);
	return 0;
}

int kt_cgroup_set_cpuset(struct kt_cgroup_manager *m, const char *name,
			 const struct kt_cpuset *set)
{
	KT_AUTOFREE char *list = NULL;

	if (!set || kt_cpuset_empty(set)) {
		KT_AUTOFREE char *path = cg_path(m, name ? name : "", "cpuset.cpus");

		return path ? kt_cg_fail(m, path, -EINVAL) : -ENOMEM;
	}
	list = kt_cpuset_format(set);
	if (!list)
		return -ENOMEM;
	return observed(m, write_ctl(m, name, "cpuset.cpus", list, false), "cpuset of %s set to %s",
			name ? name : "the run's cgroup", list);
}

int kt_cgroup_set_weight(struct kt_cgroup_manager *m, const char *name, unsigned weight)
{
	char text[16];

	if (weight < 1 || weight > 10000) {
		KT_AUTOFREE char *path = cg_path(m, name ? name : "", "cpu.weight");

		return path ? kt_cg_fail(m, path, -EINVAL) : -ENOMEM;
	}
	snprintf(text, sizeof(text), "%u", weight);
	return write_ctl(m, name, "cpu.weight", text, false);
}

/* The CPUs of the cgroup whose control file is at `path` (".../NAME/FILE"),
 * as its parent has them in effect. */
static int parent_effective_cpus(const char *path, char **out)
{
	KT_AUTOFREE char *parent = strdup(path);
	KT_AUTOFREE char *eff = NULL;
	char *slash;

	*out = NULL;
	for (int i = 0; i < 2 && parent; i++) {
		slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			return -ENOENT;
		*slash = '\0';
	}
	eff = parent ? kt_asprintf("%s/cpuset.cpus.effective", parent) : NULL;
	return eff ? kt_read_file(eff, out, NULL) : -ENOMEM;
}

int kt_cgroup_clear_cpuset(struct kt_cgroup_manager *m, const char *name)
{
	KT_AUTOFREE char *path = NULL;
	KT_AUTOFREE char *inherited = NULL;
	int err = file_path(m, name, "cpuset.cpus", &path);

	/* A zero-length write never reaches the kernel; it strips the "\n". */
	if (!err)
		err = cg_write(m->fake, path, "\n", false);
	/*
	 * 6.12 refuses to empty the CPUs of a cpuset that has tasks (ENOSPC)
	 * where later kernels let it inherit its parent's.  The same CPUs,
	 * written out, are the nearest equivalent: the cgroup runs where its
	 * parent lets it, though a later change of the parent's no longer
	 * reaches it.
	 */
	if (err == -ENOSPC && parent_effective_cpus(path, &inherited) == 0)
		err = cg_write(m->fake, path, inherited, false);
	if (err)
		return kt_cg_fail(m, path, err);
	return observed(m, 0, "cpuset of %s cleared%s", name ? name : "the run's cgroup",
			inherited ? " (this kernel cannot empty a populated cpuset: given its "
				    "parent's CPUs)" : "");
}

int kt_cgroup_get_cpuset(struct kt_cgroup_manager *m, const char *name,
			 struct kt_cpuset **out)
{
	KT_AUTOFREE char *path = NULL;
	KT_AUTOFREE char *text = NULL;
	int err;

	*out = NULL;
	err = file_path(m, name, "cpuset.cpus.effective", &path);
	if (err)
		return err;
	err = kt_read_file(path, &text, NULL);
	if (!err)
		err = kt_cpuset_parse(text, out, NULL);
	return err ? kt_cg_fail(m, path, err) : 0;
}

int kt_cgroup_move_task(struct kt_cgroup_manager *m, const char *name, pid_t tid)
{
	char buf[24];

	if (tid <= 0) {
		KT_AUTOFREE char *path = cg_path(m, name ? name : "", "cgroup.procs");

		return path ? kt_cg_fail(m, path, -EINVAL) : -ENOMEM;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)tid);
	return observed(m, write_ctl(m, name, "cgroup.procs", buf, true), "task %d moved to %s",
			(int)tid, name ? name : "the run's cgroup");
}

int kt_cgroup_move_tasks(struct kt_cgroup_manager *m, const char *name,
			 const pid_t *tids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int err = kt_cgroup_move_task(m, name, tids[i]);

		if (err)
			return err;
	}
	return 0;
}

int kt_cgroup_list_pids(struct kt_cgroup_manager *m, const char *name,
			pid_t **pids, size_t *n)
{
	KT_AUTOFREE char *path = NULL;
	KT_AUTOFREE char *text = NULL;
	pid_t *arr = NULL;
	size_t cnt = 0, cap = 0;
	char *p, *end;
	int err;

	*pids = NULL;
	*n = 0;
	err = file_path(m, name, "cgroup.procs", &path);
	if (err)
		return err;
	err = kt_read_file(path, &text, NULL);
	if (err)
		return kt_cg_fail(m, path, err);
	for (p = text; *p; p = end) {
		long v;

		p += strspn(p, " \t\n");
		if (!*p)
			break;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || (*end && *end != '\n')) {
			free(arr);
			return kt_cg_fail(m, path, -EINVAL);
		}
		if (cnt == cap) {
			pid_t *na;

			cap = cap ? cap * 2 : 16;
			na = realloc(arr, cap * sizeof(*arr));
			if (!na) {
				free(arr);
				return -ENOMEM;
			}
			arr = na;
		}
		arr[cnt++] = (pid_t)v;
	}
	*pids = arr;
	*n = cnt;
	return 0;
}
