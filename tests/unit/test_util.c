/*
 * Scope-bound descriptors (KT_AUTOCLOSE, KT_AUTOCLOSE_PAIR, KT_AUTODIR):
 * closed on every way out of their scope, kept when taken, and errno of
 * the failure that caused an early return survives the close.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/util.h"

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Opens /dev/null, fails with `fail` (0: succeeds and hands it over). */
static int open_then(int fail, int *seen)
{
	KT_AUTOCLOSE int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*seen = fd;
	if (fail) {
		errno = fail;
		return -errno;	/* the close after this must not change errno */
	}
	return kt_take_fd(fd);
}

static void test_autoclose(void **state)
{
	int seen = -1, fd;

	errno = 0;
	assert_int_equal(open_then(EROFS, &seen), -EROFS);
	assert_int_equal(errno, EROFS);
	assert_true(seen >= 0);
	assert_false(fd_open(seen));

	fd = open_then(0, &seen);
	assert_int_equal(fd, seen);
	assert_true(fd_open(fd));
	close(fd);
	{
		KT_AUTOCLOSE int none = -1;	/* nothing to close is fine */

		(void)none;
	}
}

static void test_autoclose_pair_and_dir(void **state)
{
	int r, w, dfd;

	{
		KT_AUTOCLOSE_PAIR int p[2] = { -1, -1 };

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		r = p[0];
		w = p[1];
		kt_closep(&p[1]);	/* one end early: the cleanup skips it */
		assert_int_equal(p[1], -1);
		assert_false(fd_open(w));
		assert_true(fd_open(r));
	}
	assert_false(fd_open(r));
	{
		KT_AUTODIR DIR *d = opendir("/");

		assert_non_null(d);
		dfd = dirfd(d);
		assert_true(fd_open(dfd));
	}
	assert_false(fd_open(dfd));
}

/* Kernel command-line words: whole words, or a prefix for "name=" */
static void test_cmdline_has(void **state)
{
	const char *proc = "console=ttyS0 maxcpus=1 ktstr.online=1\n";

	assert_true(kt_cmdline_has(proc, "ktstr.online=1"));	/* /proc/cmdline's newline */
	assert_true(kt_cmdline_has(proc, "maxcpus="));
	assert_true(kt_cmdline_has("nosmp", "nosmp"));
	assert_false(kt_cmdline_has(proc, "console"));
	assert_false(kt_cmdline_has("xmaxcpus=4 nosmpx", "maxcpus="));
	assert_false(kt_cmdline_has("xmaxcpus=4 nosmpx", "nosmp"));
	assert_false(kt_cmdline_has("ktstr.online=10", "ktstr.online=1"));
	assert_false(kt_cmdline_has(NULL, "nosmp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_autoclose),
		cmocka_unit_test(test_autoclose_pair_and_dir),
		cmocka_unit_test(test_cmdline_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
