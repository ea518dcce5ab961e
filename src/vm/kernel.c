/*
 * Finding and vetting the kernel to boot: an explicit path (image file,
 * build tree or cache directory), the host's default kernel, or the newest
 * kernel that `ktstr kernel fetch` put in the host's cache.  Checks the
 * file really is a kernel and, when its config is at hand, that it has
 * what ktstr needs.
 * Downloading kernels is scripts/kernel-fetch's job, not this file's.
 */
#include "vm/vm_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

const char *const kt_kernel_required_options[] = {
	"CONFIG_SCHED_CLASS_EXT", "CONFIG_DEBUG_INFO_BTF", "CONFIG_CGROUPS", "CONFIG_CPUSETS",
	NULL,
};

void kt_kernel_release(struct kt_kernel *k)
{
	free(k->image);
	free(k->config);
	free(k->version);
	free(k->vmlinux_h);
	memset(k, 0, sizeof(*k));
}

static bool is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* 1 = ELF x86-64 executable, 2 = bzImage, 0 = neither, <0 error. */
static int image_kind(const char *path)
{
	unsigned char b[0x210];
	ssize_t n;
	KT_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, b, sizeof(b));
	if (n >= 20 && !memcmp(b, "\177ELF", 4) && b[4] == 2 && b[16] == 2 && b[18] == 62)
		return 1;
	if (n >= 0x206 && !memcmp(b + 0x202, "HdrS", 4))
		return 2;
	return 0;
}

static char *find_config(const char *dir, const char *image)
{
	const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	char *c;

	c = kt_asprintf("%s/config", dir);
	if (c && is_file(c))
		return c;
	free(c);
	c = kt_asprintf("%s/.config", dir);
	if (c && is_file(c))
		return c;
	free(c);
	/* Debian layout: /boot/vmlinuz-V next to /boot/config-V */
	if (!strncmp(base, "vmlinuz-", 8)) {
		c = kt_asprintf("%s/config-%s", dir, base + 8);
		if (c && is_file(c))
			return c;
		free(c);
	}
	return NULL;
}

static int check_config(const char *config, char **err)
{
	KT_AUTOFREE char *text = NULL;
	int e = kt_read_file(config, &text, NULL);

	if (e) {
		*err = kt_asprintf("cannot read kernel config %s: %s", config, strerror(-e));
		return e;
	}
	for (size_t i = 0; kt_kernel_required_options[i]; i++) {
		KT_AUTOFREE char *want = kt_asprintf("\n%s=y", kt_kernel_required_options[i]);

		if (!want)
			return -ENOMEM;
		if (!strstr(text, want) && strncmp(text, want + 1, strlen(want + 1))) {
			*err = kt_asprintf("kernel config %s lacks %s=y; ktstr needs a kernel with "
					   "sched_ext (run `ktstr kernel fetch`)",
					   config, kt_kernel_required_options[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Newest cache entry by name (versions sort well enough lexically). */
static char *newest_cached(const char *cache)
{
	KT_AUTOFREE char *dir = NULL;
	char *best = NULL;
	struct dirent *de;
	DIR *d;

	dir = cache ? kt_asprintf("%s/kernels", cache) : NULL;
	d = dir ? opendir(dir) : NULL;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!best || strverscmp(de->d_name, strrchr(best, '/') + 1) > 0) {
			char *cand = kt_asprintf("%s/%s", dir, de->d_name);
			KT_AUTOFREE char *img = cand ? kt_asprintf("%s/vmlinuz", cand) : NULL;

			if (img && is_file(img)) {
				free(best);
				best = cand;
			} else {
				free(cand);
			}
		}
	}
	closedir(d);
	return best;
}

static int from_dir(const char *dir, struct kt_kernel *k)
{
	static const char *const images[] = {
		"vmlinux",		/* ELF: boots directly (PVH), no decompression */
		"vmlinuz", "arch/x86/boot/bzImage", "bzImage", NULL,
	};

	for (size_t i = 0; images[i]; i++) {
		char *p = kt_asprintf("%s/%s", dir, images[i]);

		if (p && is_file(p) && image_kind(p) > 0) {
			k->image = p;
			break;
		}
		free(p);
	}
	if (!k->image)
		return -ENOENT;
	k->config = find_config(dir, k->image);
	k->vmlinux_h = kt_asprintf("%s/vmlinux.h", dir);
	if (k->vmlinux_h && !is_file(k->vmlinux_h)) {
		free(k->vmlinux_h);
		k->vmlinux_h = NULL;
	}
	k->version = strdup(strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir);
	return 0;
}

int kt_kernel_resolve(const struct kt_vm_host *host, const char *arg, struct kt_kernel *out,
		      char **err)
{
	KT_AUTOFREE char *cached = NULL;
	const char *src = arg;
	struct stat st;
	int e;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if (!src || !*src)
		src = KT_VM_HOST(host, kernel);
	if (!src) {
		cached = newest_cached(KT_VM_HOST(host, cache_dir));
		if (!cached) {
			*err = kt_asprintf("no kernel found: run `ktstr kernel fetch`, or pass --kernel "
					   "PATH (or set KTSTR_KERNEL) to a bzImage or kernel build tree");
			return -ENOENT;
		}
		src = cached;
	}
	if (stat(src, &st) < 0) {
		e = -errno;
		*err = kt_asprintf("kernel %s: %s", src, strerror(-e));
		return e == -ENOENT ? -ENOENT : e;
	}
	if (S_ISDIR(st.st_mode)) {
		e = from_dir(src, out);
		if (e) {
			*err = kt_asprintf("kernel %s: no vmlinux, vmlinuz or arch/x86/boot/bzImage in it",
					   src);
			return -ENOEXEC;
		}
	} else {
		KT_AUTOFREE char *dir = strdup(src);

		if (!dir)
			return -ENOMEM;
		if (image_kind(src) <= 0) {
			*err = kt_asprintf("kernel %s: not a kernel image (expected a bzImage or an "
					   "x86-64 ELF vmlinux)", src);
			return -ENOEXEC;
		}
		out->image = strdup(src);
		*(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = '\0';
		out->config = find_config(*dir ? dir : ".", src);
	}
	if (out->config) {
		e = check_config(out->config, err);
		if (e) {
			kt_kernel_release(out);
			return e;
		}
	}
	return 0;
}
