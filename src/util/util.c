/*
 * Small I/O and string helpers for libktstr.  Keep this file free of any
 * knowledge of cgroups, VMs or schedulers.
 */

#include "util/util.h"

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void kt_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int kt_read_file(const char *path, char **out, size_t *len)
{
	struct kt_buf b = { 0 };
	char chunk[8192];
	ssize_t n;
	int err = 0;
	KT_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		err = kt_buf_append(&b, chunk, (size_t)n);
		if (err)
			break;
	}
	if (!err)
		err = kt_buf_append(&b, "", 1);
	if (err) {
		kt_buf_release(&b);
		return err;
	}
	*out = b.data;
	if (len)
		*len = b.len - 1;
	return 0;
}

void kt_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
	*fd = -1;
}

void kt_close_pairp(int (*p)[2])
{
	kt_closep(&(*p)[0]);
	kt_closep(&(*p)[1]);
}

void kt_closedirp(DIR **d)
{
	if (*d) {
		int saved = errno;

		closedir(*d);
		errno = saved;
	}
	*d = NULL;
}

int kt_read_line(const char *path, char *buf, size_t size)
{
	ssize_t n;
	KT_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int kt_read_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int err = kt_read_line(path, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

int kt_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int kt_write_open(const char *path, int flags, mode_t mode, const void *buf, size_t len)
{
	int fd, err;

	fd = open(path, O_WRONLY | O_CLOEXEC | flags, mode);
	if (fd < 0)
		return -errno;
	err = kt_write_all(fd, buf, len);
	/* sysfs and cgroupfs may report a write's error only at close */
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int kt_write_file(const char *path, const char *s)
{
	return kt_write_open(path, 0, 0, s, strlen(s));
}

int kt_write_whole(const char *path, const void *buf, size_t len, mode_t mode)
{
	return kt_write_open(path, O_CREAT | O_TRUNC, mode, buf, len);
}

char *kt_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = kt_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

int kt_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_rf_at(int parent, const char *name, dev_t dev)
{
	struct stat st;
	int err = 0;
	KT_AUTOCLOSE int fd = -1;
	KT_AUTODIR DIR *d = NULL;
	struct dirent *de;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1;	/* the stream owns it now */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int e = rm_rf_at(dirfd(d), de->d_name, dev);

		if (e && !err)
			err = e;
	}
	kt_closedirp(&d);	/* before the next level up opens its own */
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int kt_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf_at(AT_FDCWD, path, st.st_dev);
}

char *kt_self_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return strdup(buf);
}

int kt_buf_append(struct kt_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)	/* memcpy's source must be valid even for 0 bytes; callers pass NULL, 0 */
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

char *kt_vasprintf(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

int kt_buf_printf(struct kt_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int err;

	va_start(ap, fmt);
	s = kt_vasprintf(fmt, ap);
	va_end(ap);
	if (!s)
		return -ENOMEM;
	err = kt_buf_append(b, s, strlen(s));
	free(s);
	return err;
}

void kt_buf_release(struct kt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void kt_unpin_self(void)
{
	int n = 4096;
	size_t size = CPU_ALLOC_SIZE(n);
	cpu_set_t *set = CPU_ALLOC(n);

	if (!set)
		return;
	CPU_ZERO_S(size, set);
	for (int c = 0; c < n; c++)
		CPU_SET_S(c, size, set);
	sched_setaffinity(0, size, set);	/* CPUs that do not exist are ignored */
	CPU_FREE(set);
}

int kt_spawn(char *const argv[], void (*setup)(void *arg), void *arg, pid_t *pid)
{
	KT_AUTOCLOSE_PAIR int errpipe[2] = { -1, -1 };
	int e = 0, status;
	ssize_t n;

	/* the pipe closes on a successful exec; an exec error is written to it */
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		kt_closep(&errpipe[0]);
		if (setup)
			setup(arg);
		execvp(argv[0], argv);
		e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	kt_closep(&errpipe[1]);	/* else the read never sees the exec's close */
	while ((n = read(errpipe[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(*pid, &status, 0) < 0 && errno == EINTR)
			;
		*pid = -1;
		return -e;
	}
	return 0;
}

uint64_t kt_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

int kt_grow_impl(void **arr, size_t n, size_t *cap, size_t size, size_t first)
{
	size_t nc;
	void *v;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : first ? first : 1;
	if (nc < *cap || nc > SIZE_MAX / size)
		return -ENOMEM;
	v = realloc(*arr, nc * size);
	if (!v)
		return -ENOMEM;
	*arr = v;
	*cap = nc;
	return 0;
}

int kt_strlist_addn(struct kt_strlist *l, const char *s, size_t len)
{
	char *d;

	if (kt_grow(l->v, l->n, l->cap, 16))
		return -ENOMEM;
	d = strndup(s, len);
	if (!d)
		return -ENOMEM;
	l->v[l->n++] = d;
	return 0;
}

int kt_strlist_add(struct kt_strlist *l, const char *s)
{
	return kt_strlist_addn(l, s, strlen(s));
}

int kt_strlist_addf(struct kt_strlist *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int err;

	va_start(ap, fmt);
	s = kt_vasprintf(fmt, ap);
	va_end(ap);
	if (!s)
		return -ENOMEM;
	err = kt_strlist_add(l, s);
	free(s);
	return err;
}

bool kt_strlist_has(const struct kt_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

bool kt_cmdline_has(const char *cmdline, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = cmdline; p && (p = strstr(p, name)); p += len)
		if ((p == cmdline || p[-1] == ' ') &&
		    (name[len - 1] == '=' || !p[len] || p[len] == ' ' || p[len] == '\n'))
			return true;
	return false;
}

void kt_strlist_release(struct kt_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void kt_fputs_xml(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}
