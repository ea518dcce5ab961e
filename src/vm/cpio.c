/*
 * A writer for the kernel's initramfs format (cpio "newc"), plus the small
 * string list and content hash the initramfs builder uses.  It writes what
 * it is told; deciding what goes in the archive is initramfs.c's job.
 */
#include "vm/vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

struct kt_cpio {
	FILE *f;
	unsigned ino;
	struct kt_strlist dirs;		/* directories already written */
	int err;
};

uint64_t kt_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t w;

	/* word-at-a-time multiply/rotate mix; not cryptographic, only a cache key */
	while (n >= 8) {
		memcpy(&w, b, 8);
		h ^= w * 0x9e3779b97f4a7c15ull;
		h = (h << 31 | h >> 33) * 0xbf58476d1ce4e5b9ull;
		b += 8;
		n -= 8;
	}
	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	return h;
}

int kt_hash_file(uint64_t *h, const char *path)
{
	char buf[1 << 16];
	ssize_t n;
	KT_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*h = kt_hash_bytes(*h, buf, (size_t)n);
	return n < 0 ? -EIO : 0;
}

int kt_cpio_open(const char *path, struct kt_cpio **out)
{
	struct kt_cpio *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->f = fopen(path, "we");
	if (!c->f) {
		int err = -errno;

		free(c);
		return err;
	}
	c->ino = 1;
	*out = c;
	return 0;
}

/*
 * 0, or why a buffered write failed: the errno of the failing write when it
 * is still known (ENOSPC says "disk full"; a bare EIO would not).
 */
static int write_err(struct kt_cpio *c)
{
	if (!ferror(c->f))
		return 0;
	return errno && errno != EINTR ? -errno : -EIO;
}

static void pad4(struct kt_cpio *c)
{
	long pos = ftell(c->f);

	while (pos > 0 && pos % 4) {
		fputc(0, c->f);
		pos++;
	}
}

static int header(struct kt_cpio *c, const char *name, unsigned mode, size_t size)
{
	size_t namesize = strlen(name) + 1;

	fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
		c->ino++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, size, 0u, 0u, 0u, 0u,
		namesize, 0u);
	fwrite(name, 1, namesize, c->f);
	pad4(c);
	return write_err(c);
}

/* Archive names carry no leading slash. */
static const char *rel(const char *name)
{
	while (*name == '/')
		name++;
	return name;
}

static int ensure_parents(struct kt_cpio *c, const char *name)
{
	char buf[4096];
	size_t len = strlen(name);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, name, len + 1);
	for (char *p = buf; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (*buf && !kt_strlist_has(&c->dirs, buf)) {
			int err = header(c, buf, S_IFDIR | 0755, 0);

			if (!err)
				err = kt_strlist_add(&c->dirs, buf);
			if (err)
				return err;
		}
		*p = '/';
	}
	return 0;
}

int kt_cpio_dir(struct kt_cpio *c, const char *name, unsigned mode)
{
	int err;

	name = rel(name);
	if (kt_strlist_has(&c->dirs, name))
		return 0;
	err = ensure_parents(c, name);
	if (!err)
		err = header(c, name, S_IFDIR | (mode & 07777), 0);
	if (!err)
		err = kt_strlist_add(&c->dirs, name);
	return err;
}

int kt_cpio_data(struct kt_cpio *c, const char *name, unsigned mode, const void *data, size_t len)
{
	int err;

	name = rel(name);
	err = ensure_parents(c, name);
	if (!err)
		err = header(c, name, S_IFREG | (mode & 07777), len);
	if (err)
		return err;
	fwrite(data, 1, len, c->f);
	pad4(c);
	return write_err(c);
}

int kt_cpio_file(struct kt_cpio *c, const char *name, const char *host_path, unsigned mode)
{
	char buf[1 << 16];
	struct stat st;
	size_t left;
	KT_AUTOCLOSE int fd = open(host_path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -EINVAL;
	name = rel(name);
	err = ensure_parents(c, name);
	if (!err)
		err = header(c, name, S_IFREG | ((mode ? mode : st.st_mode) & 07777), (size_t)st.st_size);
	for (left = (size_t)st.st_size; !err && left;) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		fwrite(buf, 1, (size_t)n, c->f);
		left -= (size_t)n;
	}
	if (err)
		return err;
	pad4(c);
	return write_err(c);
}

int kt_cpio_symlink(struct kt_cpio *c, const char *name, const char *target)
{
	int err;

	name = rel(name);
	err = ensure_parents(c, name);
	if (!err)
		err = header(c, name, S_IFLNK | 0777, strlen(target));
	if (err)
		return err;
	fwrite(target, 1, strlen(target), c->f);
	pad4(c);
	return write_err(c);
}

int kt_cpio_finish(struct kt_cpio *c)
{
	int err;

	c->ino = 0;
	err = header(c, "TRAILER!!!", 0, 0);
	/* buffered writes fail here: keep fclose's errno (ENOSPC says "disk full") */
	if (fclose(c->f) != 0 && !err)
		err = errno ? -errno : -EIO;
	kt_strlist_release(&c->dirs);
	free(c);
	return err;
}

void kt_cpio_abort(struct kt_cpio *c)
{
	if (!c)
		return;
	fclose(c->f);
	kt_strlist_release(&c->dirs);
	free(c);
}
