/*
 * The guest's root filesystem: a cpio archive holding the init binary, a
 * static busybox with its applet links, user-supplied files and the
 * shared-library closure of every ELF among them.  The archive is cached
 * under a key computed from the content of everything in it, so repeated
 * runs reuse it; per-run data (the request) goes in a separate small
 * archive appended by launch.c.
 */
#include "vm/vm_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

static const char *const busybox_paths[] = { "/bin/busybox", "/usr/bin/busybox", NULL };

static const char *find_busybox(const struct kt_vm_host *host)
{
	const char *named = KT_VM_HOST(host, busybox);

	if (named)
		return access(named, X_OK) == 0 ? named : NULL;
	for (size_t i = 0; busybox_paths[i]; i++)
		if (access(busybox_paths[i], X_OK) == 0)
			return busybox_paths[i];
	return NULL;
}

/* `busybox --list-full`: applet paths relative to / ("bin/sh"). */
static int busybox_applets(const char *busybox, struct kt_strlist *out)
{
	char line[256];
	char *cmd = kt_asprintf("'%s' --list-full 2>/dev/null", busybox);
	FILE *p;

	if (!cmd)
		return -ENOMEM;
	p = popen(cmd, "re");
	free(cmd);
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line && strcmp(line, "linuxrc") && strcmp(line, "bin/busybox"))
			kt_strlist_add(out, line);
	}
	return pclose(p) == 0 && out->n ? 0 : -ENOEXEC;
}

/* Everything that goes in, as (guest, host) pairs, plus mode overrides. */
struct manifest {
	struct kt_strlist pairs;
	struct kt_strlist ld_dirs;
	const char *lib_path;	/* the host loader's extra directories, or NULL */
};

static int add_elf_and_closure(struct manifest *m, const char *guest, const char *host,
			       char **err)
{
	char *missing = NULL;
	size_t first;
	int e;

	e = kt_strlist_add(&m->pairs, guest);
	if (!e)
		e = kt_strlist_add(&m->pairs, host);
	if (e)
		return e;
	first = m->pairs.n;
	e = kt_elf_closure(host, m->lib_path, &m->pairs, &missing);
	if (e == -ENOENT && missing) {
		*err = kt_asprintf("%s needs %s, which was not found on this host", host, missing);
		free(missing);
	}
	/*
	 * The closure was resolved on the host through the binary's own
	 * search path (RPATH/RUNPATH, the host's LD_LIBRARY_PATH, ld.so.conf)
	 * and each library keeps its host path in the guest; the guest has no
	 * ld.so.cache, so its loader is told every directory they came from.
	 */
	for (size_t i = first; !e && i + 1 < m->pairs.n; i += 2) {
		const char *slash = strrchr(m->pairs.v[i], '/');
		KT_AUTOFREE char *dir = slash ? strndup(m->pairs.v[i], (size_t)(slash - m->pairs.v[i]))
					      : NULL;

		if (dir && *dir && !kt_strlist_has(&m->ld_dirs, dir))
			e = kt_strlist_add(&m->ld_dirs, dir);
	}
	return e;
}

static int add_tree(struct manifest *m, const char *guest, const char *host, char **err)
{
	struct stat st;

	if (stat(host, &st) < 0) {
		int e = -errno;

		*err = kt_asprintf("cannot include %s: %s", host, strerror(-e));
		return e;
	}
	if (S_ISDIR(st.st_mode)) {
		KT_AUTOFREE char *cmd = kt_asprintf("find '%s' -mindepth 1 -type f 2>/dev/null", host);
		char line[PATH_MAX];
		size_t hl = strlen(host);
		FILE *p = cmd ? popen(cmd, "re") : NULL;
		int e = 0;

		if (!p)
			return -ENOMEM;
		while (!e && fgets(line, sizeof(line), p)) {
			line[strcspn(line, "\n")] = '\0';
			KT_AUTOFREE char *g = kt_asprintf("%s%s", guest, line + hl);

			e = g ? add_elf_and_closure(m, g, line, err) : -ENOMEM;
		}
		pclose(p);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = kt_asprintf("cannot include %s: not a regular file or directory", host);
		return -EINVAL;
	}
	return add_elf_and_closure(m, guest, host, err);
}

/* Identity of every input file, cheap to compute (no reads). */
static uint64_t stat_key(const char *busybox, const struct manifest *m)
{
	uint64_t h = KT_HASH_INIT;
	struct stat st;

	for (size_t i = 0; i < m->pairs.n + 1; i++) {
		const char *p = i < m->pairs.n ? m->pairs.v[i] : busybox;

		h = kt_hash_bytes(h, p, strlen(p) + 1);
		if (stat(p, &st) == 0) {
			uint64_t v[5] = { (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
					  (uint64_t)st.st_mtim.tv_nsec, (uint64_t)st.st_ino,
					  (uint64_t)st.st_dev };

			h = kt_hash_bytes(h, v, sizeof(v));
		}
	}
	return h;
}

/*
 * Keep the cache bounded: the newest few archives stay (a developer
 * rebuilding ktstr makes a new one each time), older ones and references
 * to them go.  Best effort; a concurrent run at worst rebuilds one.
 */
#define KT_INITRAMFS_KEEP 6

struct cache_entry {
	char *p;
	struct stat st;
};

static int by_mtime_desc(const void *a, const void *b)
{
	const struct cache_entry *x = a, *y = b;

	return (y->st.st_mtime > x->st.st_mtime) - (y->st.st_mtime < x->st.st_mtime);
}

static void prune_cache(const char *dir)
{
	struct cache_entry *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "base-", 5) || !strstr(de->d_name, ".cpio") ||
		    strstr(de->d_name, ".tmp."))
			continue;
		if (kt_grow(v, n, cap, 16))
			break;
		v[n].p = kt_asprintf("%s/%s", dir, de->d_name);
		if (v[n].p && stat(v[n].p, &v[n].st) == 0)
			n++;
		else
			free(v[n].p);
	}
	if (d)
		closedir(d);
	if (n)	/* v is NULL when the directory held no archive */
		qsort(v, n, sizeof(*v), by_mtime_desc);
	for (size_t i = 0; i < n; i++) {
		if (i >= KT_INITRAMFS_KEEP)
			unlink(v[i].p);
		free(v[i].p);
	}
	free(v);
	/* references whose archive is gone */
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		KT_AUTOFREE char *ref = NULL, *target = NULL;
		char key[32];

		if (strncmp(de->d_name, "ref-", 4) || strchr(de->d_name, '.'))
			continue;
		ref = kt_asprintf("%s/%s", dir, de->d_name);
		if (!ref || kt_read_line(ref, key, sizeof(key)))
			continue;
		target = kt_asprintf("%s/base-%s.cpio", dir, key);
		if (target && access(target, F_OK) < 0)
			unlink(ref);
	}
	if (d)
		closedir(d);
}

/*
 * Is the cached archive usable?  It must start with a newc header and end
 * with the trailer kt_cpio_finish writes: a truncated or overwritten file
 * (a full disk, a crash mid-copy, someone's stray write) is rebuilt rather
 * than booted into a guest that panics with "no init".  A hit also
 * refreshes the archive's mtime: prune_cache keeps the most recently used
 * archives, so one that a concurrent run is about to boot is never the
 * oldest.
 */
static bool cache_hit(const char *path)
{
	char head[6], tail[64];
	struct stat st;
	KT_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(tail) &&
	     pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	     !memcmp(head, "070701", 6) &&
	     pread(fd, tail, sizeof(tail), st.st_size - (off_t)sizeof(tail)) == (ssize_t)sizeof(tail) &&
	     memmem(tail, sizeof(tail), "TRAILER!!!", 10);
	if (!ok) {
		unlink(path);
		return false;
	}
	utimensat(AT_FDCWD, path, NULL, 0);
	return true;
}

static void manifest_release(struct manifest *m)
{
	kt_strlist_release(&m->pairs);
	kt_strlist_release(&m->ld_dirs);
}

/*
 * A copy of an ELF file without its debug sections (objcopy), for files
 * that are not system libraries: a -g build of the harness is several
 * times its stripped size, and every byte is unpacked at every boot.
 * The harness itself (/init) loses its symbol table too; user files keep
 * theirs (a BPF object needs it).  NULL (use the original) when there is
 * nothing to gain or no objcopy.
 */
static char *strip_copy(const char *host, const char *tmpl_dir, bool all)
{
	char *out = kt_asprintf("%s.strip.%d", tmpl_dir, (int)getpid());
	int status;
	pid_t pid;

	if (!out || kt_elf_is_dynamic(host) < 0)
		goto fail;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execlp("objcopy", "objcopy", all ? "--strip-all" : "--strip-debug", host, out,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		goto fail;
	return out;
fail:
	if (out)
		unlink(out);
	free(out);
	return NULL;
}

static int write_archive(const char *path, const struct manifest *m, const char *busybox,
			 const struct kt_strlist *applets)
{
	struct kt_cpio *c;
	struct kt_buf ld = { 0 };
	struct kt_strlist seen = { 0 }, real = { 0 }, ld_dirs = { 0 };
	int err;

	err = kt_cpio_open(path, &c);
	if (err)
		return err;
	for (size_t i = 0; !err && i < m->ld_dirs.n; i++)
		err = kt_strlist_add(&ld_dirs, m->ld_dirs.v[i]);
	static const char *const dirs[] = { "dev", "proc", "sys", "tmp", "run", "root", "etc",
					    "ktstr", "sys/fs/cgroup", NULL };
	for (size_t i = 0; !err && dirs[i]; i++)
		err = kt_cpio_dir(c, dirs[i], i == 3 ? 01777 : 0755);
	if (!err)
		err = kt_cpio_file(c, "bin/busybox", busybox, 0755);
	for (size_t i = 0; !err && i < applets->n; i++)
		err = kt_cpio_symlink(c, applets->v[i], "/bin/busybox");
	for (size_t i = 0; !err && i + 1 < m->pairs.n; i += 2) {
		const char *guest = m->pairs.v[i];
		char *dir;

		char rp[PATH_MAX];
		const char *host = m->pairs.v[i + 1];
		size_t k;

		if (kt_strlist_has(&seen, guest))
			continue;
		err = kt_strlist_add(&seen, guest);
		/* the same file under a second name (the loader's two paths): a link */
		if (!err && realpath(host, rp)) {
			for (k = 0; k < real.n && strcmp(real.v[k], rp); k++)
				;
			if (k < real.n) {
				err = kt_cpio_symlink(c, guest, seen.v[k]);
				continue;
			}
		} else if (!err) {
			snprintf(rp, sizeof(rp), "%s", host);
		}
		while (!err && real.n + 1 < seen.n)
			err = kt_strlist_add(&real, "");	/* keep real[] aligned with seen[] */
		if (!err)
			err = kt_strlist_add(&real, rp);
		if (!err && strncmp(guest, "/lib", 4) && strncmp(guest, "/usr/lib", 8)) {
			KT_AUTOFREE char *small = strip_copy(host, path, !strcmp(guest, "/init"));

			err = kt_cpio_file(c, guest, small ? small : host, 0);
			if (small)
				unlink(small);
		} else if (!err) {
			err = kt_cpio_file(c, guest, host, 0);
		}
		/* other library-looking directories, as before the closure said */
		dir = strdup(guest);
		if (!err && dir && strrchr(dir, '/') && i > 0) {
			*strrchr(dir, '/') = '\0';
			if (strstr(dir, "lib") && !kt_strlist_has(&ld_dirs, dir))
				err = kt_strlist_add(&ld_dirs, dir);
		}
		free(dir);
	}
	/* exact entries, not substrings: /lib/x86_64-linux-gnu is not /usr/lib/x86_64-linux-gnu */
	for (size_t i = 0; !err && i < ld_dirs.n; i++)
		err = kt_buf_printf(&ld, "%s%s", i ? ":" : "", ld_dirs.v[i]);
	if (!err)
		err = kt_cpio_data(c, "ktstr/ld_library_path", 0644, ld.data ? ld.data : "", ld.len);
	if (!err)
		err = kt_cpio_data(c, "etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n", 30);
	kt_buf_release(&ld);
	kt_strlist_release(&seen);
	kt_strlist_release(&real);
	kt_strlist_release(&ld_dirs);
	if (err) {
		kt_cpio_abort(c);
		return err;
	}
	return kt_cpio_finish(c);
}

int kt_initramfs_base(const struct kt_vm_host *host, const char *init_binary,
		      const struct kt_initramfs_file *files, size_t n_files, char **path,
		      char **err)
{
	struct manifest m = { .lib_path = KT_VM_HOST(host, lib_path) };
	struct kt_strlist applets = { 0 };
	const char *cache = KT_VM_HOST(host, cache_dir);
	KT_AUTOFREE char *dir = NULL, *final = NULL, *tmp = NULL, *ref = NULL;
	char refbuf[32];
	uint64_t sk;
	const char *busybox;
	uint64_t h = KT_HASH_INIT;
	int e;

	*err = NULL;
	if (!cache) {
		*err = kt_asprintf("no cache directory to keep the initramfs in");
		return -EINVAL;
	}
	busybox = find_busybox(host);
	if (!busybox) {
		*err = kt_asprintf("busybox not found (install busybox-static, or set KTSTR_BUSYBOX)");
		return -ENOENT;
	}
	if (kt_elf_is_dynamic(busybox) == 1) {
		*err = kt_asprintf("%s is dynamically linked; the guest needs a static busybox "
				   "(Debian package busybox-static)", busybox);
		return -ENOEXEC;
	}
	e = add_elf_and_closure(&m, "/init", init_binary, err);
	for (size_t i = 0; !e && i < n_files; i++)
		e = add_tree(&m, files[i].guest, files[i].host, err);
	if (e) {
		if (!*err)
			*err = kt_asprintf("cannot assemble the initramfs: %s", strerror(-e));
		goto out;
	}
	dir = kt_asprintf("%s/initramfs", cache);
	if (!dir) {
		e = -ENOMEM;
		goto out;
	}
	/*
	 * The archive is named by a hash of its content.  Reading every byte on
	 * each run costs more than the boot saves, so a cheap key over the
	 * files' identities (path, size, mtime, inode) points at the content
	 * key computed the first time those exact files were seen.
	 */
	sk = stat_key(busybox, &m);
	ref = kt_asprintf("%s/ref-%016llx", dir, (unsigned long long)sk);
	if (ref && kt_read_line(ref, refbuf, sizeof(refbuf)) == 0 && strlen(refbuf) == 16) {
		final = kt_asprintf("%s/base-%s.cpio", dir, refbuf);
		if (final && cache_hit(final))
			goto done;
		free(final);
		final = NULL;
	}
	e = kt_hash_file(&h, busybox);
	for (size_t i = 0; !e && i + 1 < m.pairs.n; i += 2) {
		h = kt_hash_bytes(h, m.pairs.v[i], strlen(m.pairs.v[i]) + 1);
		e = kt_hash_file(&h, m.pairs.v[i + 1]);
	}
	if (e) {
		*err = kt_asprintf("cannot read files for the initramfs: %s", strerror(-e));
		goto out;
	}
	snprintf(refbuf, sizeof(refbuf), "%016llx", (unsigned long long)h);
	final = kt_asprintf("%s/base-%s.cpio", dir, refbuf);
	if (!final) {
		e = -ENOMEM;
		goto out;
	}
	if (cache_hit(final))
		goto remember;
	e = busybox_applets(busybox, &applets);
	if (!e)
		e = kt_mkdir_p(dir, 0755);
	tmp = e ? NULL : kt_asprintf("%s.tmp.%d.%ld", final, (int)getpid(), (long)gettid());
	if (!e && !tmp)
		e = -ENOMEM;
	if (!e)
		e = write_archive(tmp, &m, busybox, &applets);
	if (!e && rename(tmp, final) < 0)
		e = -errno;
	if (e) {
		if (tmp)
			unlink(tmp);
		*err = kt_asprintf("cannot write the initramfs in %s: %s", dir, strerror(-e));
		goto out;
	}
	prune_cache(dir);
remember:
	if (ref) {
		KT_AUTOFREE char *rtmp = kt_asprintf("%s.%d.%ld", ref, (int)getpid(), (long)gettid());

		if (rtmp && kt_write_whole(rtmp, refbuf, strlen(refbuf), 0644) == 0)
			rename(rtmp, ref);
	}
done:
	*path = kt_take_ptr(final);
out:
	manifest_release(&m);
	kt_strlist_release(&applets);
	return e;
}
