/*
 * The initramfs cache on the host: a hit refreshes the archive's age (so a
 * concurrent run's pruning keeps what another is about to boot), and a
 * corrupt or truncated archive is rebuilt instead of handed to QEMU.  Runs
 * in a private cache directory; nothing boots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm_internal.h"

static char cache[] = "/tmp/ktstr-unit-initramfs-XXXXXX";
static char *self;

static int setup(void **state)
{
	if (!mkdtemp(cache))
		return -1;
	self = realpath("/proc/self/exe", NULL);
	return self ? 0 : -1;
}

static int teardown(void **state)
{
	kt_rm_rf(cache);
	free(self);
	return 0;
}

static char *build(void)
{
	char *path = NULL, *err = NULL;
	int e = kt_initramfs_base(&(struct kt_vm_host){ .cache_dir = cache }, self, NULL, 0,
				  &path, &err);

	if (e)
		print_error("kt_initramfs_base: %s\n", err ? err : strerror(-e));
	assert_int_equal(e, 0);
	free(err);
	return path;
}

static void test_hit_refreshes_age(void **state)
{
	KT_AUTOFREE char *first = build(), *again = NULL;
	struct timespec old[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
	struct stat st;

	assert_int_equal(utimensat(AT_FDCWD, first, old, 0), 0);
	again = build();
	assert_string_equal(first, again);
	assert_int_equal(stat(again, &st), 0);
	assert_true(st.st_mtime > time(NULL) - 600);
}

static void test_corrupt_archive_rebuilt(void **state)
{
	KT_AUTOFREE char *first = build(), *again = NULL, *text = NULL;
	struct stat good, st;
	size_t len = 0;

	assert_int_equal(stat(first, &good), 0);
	/* overwritten: not a cpio at all */
	assert_int_equal(kt_write_whole(first, "garbage, not an archive\n", 24, 0644), 0);
	again = build();
	assert_int_equal(stat(again, &st), 0);
	assert_int_equal(st.st_size, good.st_size);
	/* truncated: a header, no trailer */
	assert_int_equal(truncate(again, good.st_size / 2), 0);
	free(again);
	again = build();
	assert_int_equal(kt_read_file(again, &text, &len), 0);
	assert_int_equal(len, (size_t)good.st_size);
	assert_memory_equal(text, "070701", 6);
}

/* The cache directory and busybox are the caller's: without a cache there
 * is nowhere to build, and a busybox named that is not there is refused
 * even when the default one exists. */
static void test_host_given(void **state)
{
	char *path = NULL, *err = NULL;

	assert_int_equal(kt_initramfs_base(NULL, self, NULL, 0, &path, &err), -EINVAL);
	assert_non_null(strstr(err, "no cache directory"));
	free(err);
	assert_int_equal(kt_initramfs_base(&(struct kt_vm_host){ .cache_dir = cache,
								 .busybox = "/nonexistent/bb" },
					   self, NULL, 0, &path, &err), -ENOENT);
	assert_non_null(strstr(err, "busybox not found"));
	free(err);
	assert_null(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_refreshes_age),
		cmocka_unit_test(test_corrupt_archive_rebuilt),
		cmocka_unit_test(test_host_given),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
