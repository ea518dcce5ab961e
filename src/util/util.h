/*
 * Internal helpers shared by libktstr modules: whole-file I/O, string
 * building, directory removal.  Not part of the public API; nothing here
 * prints (kt_fputs_xml writes to the stream it is given).  Every function returns 0 / a value, or a negative errno.
 */
#ifndef KTSTR_UTIL_H
#define KTSTR_UTIL_H

#include <dirent.h>
#include <ktstr/common.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * Scope-bound file descriptors, as KT_AUTOFREE is for memory:
 *
 *     KT_AUTOCLOSE int fd = open(...);
 *     if (fd < 0) return -errno;          // nothing to close
 *     ...                                 // every return closes fd
 *     return kt_take_fd(fd);              // or hand it to the caller
 *
 * A negative value is "no descriptor".  errno survives the close, so a
 * `return -errno` after a failed call still reports that call's error.
 */
void kt_closep(int *fd);
#define KT_AUTOCLOSE __attribute__((cleanup(kt_closep)))
#define kt_take_fd(fd)                 \
	({                             \
		int _kt_fd = (fd);     \
		(fd) = -1;             \
		_kt_fd;                \
	})
/* Both ends of a pipe: KT_AUTOCLOSE_PAIR int p[2] = { -1, -1 }; either
 * end may be closed early (or taken) by setting it to -1. */
void kt_close_pairp(int (*p)[2]);
#define KT_AUTOCLOSE_PAIR __attribute__((cleanup(kt_close_pairp)))
/* A directory stream closed when it leaves scope (NULL: none). */
void kt_closedirp(DIR **d);
#define KT_AUTODIR __attribute__((cleanup(kt_closedirp)))

/* Read a whole file into a NUL-terminated malloc'd buffer (*len optional). */
int kt_read_file(const char *path, char **out, size_t *len);
/* Read a small sysfs/procfs file, trailing newline stripped. */
int kt_read_line(const char *path, char *buf, size_t size);
int kt_read_u64(const char *path, uint64_t *val);
/* Write a string to an existing file (sysfs/cgroupfs style). */
int kt_write_file(const char *path, const char *s);
/* open(path, O_WRONLY | flags, mode), write all of buf, close: 0 or -errno. */
int kt_write_open(const char *path, int flags, mode_t mode, const void *buf, size_t len);
/* Create/truncate a regular file with contents. */
int kt_write_whole(const char *path, const void *buf, size_t len, mode_t mode);
/* printf into a malloc'd string; NULL on ENOMEM. */
char *kt_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *kt_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* mkdir -p; 0 if it already exists. */
int kt_mkdir_p(const char *path, mode_t mode);
/* rm -rf of a private temp tree (does not cross mounts). */
int kt_rm_rf(const char *path);
/* Full write() loop. */
int kt_write_all(int fd, const void *buf, size_t len);
/* Directory holding the running executable (malloc'd). */
char *kt_self_dir(void);
/* Let the calling process run on every CPU (the harness pins itself out of
 * the way in the VM; what it starts must not inherit that pinning). */
void kt_unpin_self(void);
/*
 * fork, run setup(arg) in the child, then execvp(argv).  0 with *pid set,
 * or -errno: fork's, or the exec's own (e.g. -ENOENT: no such program),
 * in which case the child has already been reaped.
 */
int kt_spawn(char *const argv[], void (*setup)(void *arg), void *arg, pid_t *pid);
/* sleep for ns, restarting on EINTR. */
void kt_sleep_ns(uint64_t ns);
/* s escaped for XML and HTML text and attributes (<, >, &, "); control
 * characters other than newline and tab, which XML 1.0 refuses, dropped. */
void kt_fputs_xml(FILE *f, const char *s);
/* 64-bit FNV-1a hash of a string (for telling names apart, not security). */
uint64_t kt_hash_str(const char *s);

/*
 * The one growth helper for hand-grown arrays: make room for element n of
 * arr (cap elements allocated), doubling from `first`.  0, or -ENOMEM with
 * arr and cap untouched.  kt_grow(l->v, l->n, l->cap, 16).
 */
int kt_grow_impl(void **arr, size_t n, size_t *cap, size_t size, size_t first);
#define kt_grow(arr, n, cap, first) \
	kt_grow_impl((void **)&(arr), (n), &(cap), sizeof(*(arr)), (first))

/* The one growable list of malloc'd strings. */
struct kt_strlist {
	char **v;
	size_t n, cap;
};
int kt_strlist_add(struct kt_strlist *l, const char *s);
/* Add the first len bytes of s. */
int kt_strlist_addn(struct kt_strlist *l, const char *s, size_t len);
int kt_strlist_addf(struct kt_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool kt_strlist_has(const struct kt_strlist *l, const char *s);
/* Whether a kernel command line (NULL: empty) holds the word `name`, or,
 * for a name ending in '=', a word starting with it ("maxcpus="). */
bool kt_cmdline_has(const char *cmdline, const char *name);
void kt_strlist_release(struct kt_strlist *l);

/* Growable byte/string buffer. */
struct kt_buf {
	char *data;
	size_t len, cap;
};
int kt_buf_append(struct kt_buf *b, const void *p, size_t n);
int kt_buf_printf(struct kt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kt_buf_release(struct kt_buf *b);

#endif
