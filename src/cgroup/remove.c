/*
 * Removing cgroups: wait for their tasks to leave, kill the stragglers,
 * rmdir children before parents; and the stale-run cleanup behind
 * `ktstr cleanup`.
 *
 * Every wait here is bounded by a deadline and woken by cgroup.events
 * changes (inotify), never a fixed "long enough" sleep.  Must not print,
 * and must never leave the directory it was given: names are validated by
 * the callers and directories found here are walked without following
 * links.
 */
#include "cgroup/cgroup_internal.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Upper bound on one sleep between re-checks when no event arrives. */
#define RECHECK_NS (20ull * 1000000ull)

/*
 * 1 if any task is in dir's subtree, 0 if none, -errno.  cgroup.events
 * covers the whole subtree; cgroup.procs (this level only) is the fallback
 * for a missing cgroup.events.
 */
static int populated(const char *dir)
{
	KT_AUTOFREE char *path = kt_asprintf("%s/cgroup.events", dir);
	KT_AUTOFREE char *text = NULL;
	const char *p;
	int err;

	if (!path)
		return -ENOMEM;
	err = kt_read_file(path, &text, NULL);
	if (err == -ENOENT) {
		free(path);
		path = kt_asprintf("%s/cgroup.procs", dir);
		if (!path)
			return -ENOMEM;
		err = kt_read_file(path, &text, NULL);
		if (err == -ENOENT && access(dir, F_OK) == 0)
			return 0; /* a bare (fake) directory holds no tasks */
		if (err)
			return err;
		return text[strspn(text, " \t\n")] != '\0';
	}
	if (err)
		return err;
	for (p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "populated ", 10))
			return p[10] != '0';
	/* Never from the kernel; a fake file caught mid-rewrite.  Keep waiting. */
	return 1;
}

/* Wait until dir is unpopulated (0), the deadline passes (-EBUSY), or -errno. */
static int wait_unpopulated(const char *dir, uint64_t deadline)
{
	KT_AUTOFREE char *events = kt_asprintf("%s/cgroup.events", dir);
	KT_AUTOCLOSE int ifd = -1;
	int ret;

	if (!events)
		return -ENOMEM;
	/* cgroup.events raises a modify event when "populated" flips. */
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd >= 0 && inotify_add_watch(ifd, events, IN_MODIFY) < 0)
		close(kt_take_fd(ifd));	/* no watch: poll the file instead */
	for (;;) {
		uint64_t now, wait_ns;
		char drain[4096];

		ret = populated(dir);
		if (ret <= 0)
			break;
		now = kt_now_ns();
		if (now >= deadline) {
			ret = -EBUSY;
			break;
		}
		wait_ns = deadline - now < RECHECK_NS ? deadline - now : RECHECK_NS;
		if (ifd >= 0) {
			struct pollfd pfd = { .fd = ifd, .events = POLLIN };
			int ms = (int)((wait_ns + 999999) / 1000000);

			if (poll(&pfd, 1, ms) > 0)
				while (read(ifd, drain, sizeof(drain)) > 0)
					;
		} else {
			kt_sleep_ns(wait_ns);
		}
	}
	return ret;
}

/* Subdirectory test that does not follow symlinks. */
static bool is_subdir(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
		return false;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

/*
 * Before 5.14 there is no cgroup.kill: SIGKILL every pid listed in the
 * subtree.  Racy against forks, which the following wait and the caller's
 * -EBUSY cover.
 */
static void kill_listed(const char *dir)
{
	KT_AUTOFREE char *procs = kt_asprintf("%s/cgroup.procs", dir);
	KT_AUTOFREE char *text = NULL;
	struct dirent *de;
	DIR *d;

	if (procs && kt_read_file(procs, &text, NULL) == 0) {
		for (char *p = text, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		KT_AUTOFREE char *sub = NULL;

		if (!is_subdir(d, de))
			continue;
		sub = kt_asprintf("%s/%s", dir, de->d_name);
		if (sub)
			kill_listed(sub);
	}
	closedir(d);
}

static void kill_tasks(const char *dir, bool fake)
{
	KT_AUTOFREE char *path = kt_asprintf("%s/cgroup.kill", dir);
	int err;

	if (!path)
		return;
	err = kt_write_file(path, "1");
	/* FAKE MODE: the pids in a fake cgroup.procs are not ours to kill. */
	if (err == -ENOENT && !fake)
		kill_listed(dir);
}

/* FAKE MODE: plain directories must be emptied of files before rmdir. */
static void fake_unlink_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/*
 * rmdir children first, then dir.  A cgroup whose last task just exited
 * can refuse rmdir with EBUSY for a moment, hence the retry until deadline.
 */
static int rmdir_tree(const char *dir, bool fake, uint64_t deadline, char **failed)
{
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = opendir(dir);
	if (!d)
		goto fail_errno;
	while ((de = readdir(d))) {
		KT_AUTOFREE char *sub = NULL;

		if (!is_subdir(d, de))
			continue;
		sub = kt_asprintf("%s/%s", dir, de->d_name);
		if (!sub) {
			err = -ENOMEM;
			break;
		}
		err = rmdir_tree(sub, fake, deadline, failed);
		if (err)
			break;
	}
	closedir(d);
	if (err)
		return err;
	if (fake)
		fake_unlink_files(dir);
	while (rmdir(dir) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || kt_now_ns() >= deadline)
			goto fail_errno;
		kt_sleep_ns(RECHECK_NS / 4);
	}
	return 0;

fail_errno:
	err = -errno;
	if (failed && !*failed)
		*failed = strdup(dir);
	return err;
}

int kt_cg_remove_tree(const char *path, bool fake, uint64_t drain_ns, uint64_t kill_wait,
		      char **failed)
{
	int err;

	err = wait_unpopulated(path, kt_now_ns() + drain_ns);
	if (err == -EBUSY) {
		kill_tasks(path, fake);
		err = wait_unpopulated(path, kt_now_ns() + kill_wait);
	}
	if (err == -ENOENT)
		return 0; /* removed under us */
	if (err) {
		if (failed)
			*failed = kt_asprintf("%s/cgroup.events", path);
		return err;
	}
	return rmdir_tree(path, fake, kt_now_ns() + kill_wait, failed);
}

/* "ktstr-<digits>" -> pid, else 0. */
static pid_t run_dir_pid(const char *name)
{
	const char *p = name + 6;
	char *end;
	long v;

	if (strncmp(name, "ktstr-", 6) || *p < '1' || *p > '9')
		return 0;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || *end || v <= 0 || v != (pid_t)v)
		return 0;
	return (pid_t)v;
}

static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int kt_cgroup_cleanup_stale(const char *root, bool force, size_t *removed)
{
	return kt_cg_cleanup_stale(root, force, false, removed);
}

int kt_cg_cleanup_stale(const char *root, bool force, bool fake, size_t *removed)
{
	struct dirent *de;
	size_t count = 0;
	int first_err = 0, err;
	DIR *d;

	if (removed)
		*removed = 0;
	if (!root)
		root = KT_CGROUP_DEFAULT_ROOT;
	err = kt_cg_check_root(root, fake);
	if (err)
		return err;
	d = opendir(root);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid = run_dir_pid(de->d_name);
		KT_AUTOFREE char *path = NULL;

		if (!pid || pid == getpid() || !is_subdir(d, de))
			continue;
		if (!force && pid_alive(pid))
			continue;
		path = kt_asprintf("%s/%s", root, de->d_name);
		if (!path) {
			err = -ENOMEM;
		} else {
			/* Its owner is gone: nothing will drain it, kill at once. */
			err = kt_cg_remove_tree(path, fake, 0, KT_CG_DRAIN_NS_DEFAULT, NULL);
		}
		if (err) {
			if (!first_err)
				first_err = err;
			continue;
		}
		count++;
	}
	closedir(d);
	if (removed)
		*removed = count;
	return first_err ? first_err : (int)count;
}
