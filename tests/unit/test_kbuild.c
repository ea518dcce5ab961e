/*
 * `ktstr kernel build`'s decisions without a build: which .config lines
 * the fragment demands and when a tree is refused, the shipped fragment
 * itself, and the identities the built kernel is cached under.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <ktstr/vm.h>

#include "util/util.h"
#include "vm/kbuild.h"

static void test_fragment_lines(void **state)
{
	struct kt_strlist l = { 0 };
	char *bad = NULL;

	assert_int_equal(kt_kconfig_lines("# a comment\n\nCONFIG_A=y\n  CONFIG_N=256  \n"
					  "# CONFIG_B is not set\n#CONFIG_C is not set\n"
					  "# CONFIG_D is set to something\n",
					  &l, &bad),
			 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0], "CONFIG_A=y");
	assert_string_equal(l.v[1], "CONFIG_N=256");
	assert_string_equal(l.v[2], "# CONFIG_B is not set");
	assert_string_equal(l.v[3], "# CONFIG_C is not set");
	kt_strlist_release(&l);

	static const char *const malformed[] = { "FOO=y\n", "CONFIG_A\n", "CONFIG_=y\n", "CONFIG_A=\n" };

	for (size_t i = 0; i < sizeof(malformed) / sizeof(*malformed); i++) {
		assert_int_equal(kt_kconfig_lines(malformed[i], &l, &bad), -EINVAL);
		assert_non_null(bad);
		free(bad);
		kt_strlist_release(&l);
	}
}

static void test_check(void **state)
{
	const char *config = "CONFIG_A=y\nCONFIG_NR_CPUS=8\n# CONFIG_B is not set\n"
			     "CONFIG_NUMA_BALANCING=y\nCONFIG_S=\"x y\"\n";
	char *unmet = NULL;

	assert_int_equal(kt_kconfig_check("CONFIG_A=y\n# CONFIG_B is not set\n# CONFIG_Z is not set\n"
					  "CONFIG_S=\"x y\"\n",
					  config, &unmet),
			 0);
	assert_null(unmet);

	/* a different value: the message says what the .config has */
	assert_int_equal(kt_kconfig_check("CONFIG_A=y\nCONFIG_NR_CPUS=256\n", config, &unmet), -ENOENT);
	assert_string_equal(unmet, "CONFIG_NR_CPUS=256 (the .config has: CONFIG_NR_CPUS=8)");
	free(unmet);

	/* an option off */
	assert_int_equal(kt_kconfig_check("CONFIG_B=y\n", config, &unmet), -ENOENT);
	assert_string_equal(unmet, "CONFIG_B=y (the .config has: # CONFIG_B is not set)");
	free(unmet);

	/* absent, with only a longer name sharing its prefix present */
	assert_int_equal(kt_kconfig_check("CONFIG_NUMA=y\n", config, &unmet), -ENOENT);
	assert_non_null(strstr(unmet, "CONFIG_NUMA=y (not in the .config"));
	free(unmet);

	/* wanted off, but on */
	assert_int_equal(kt_kconfig_check("# CONFIG_A is not set\n", config, &unmet), -ENOENT);
	assert_non_null(strstr(unmet, "the .config has: CONFIG_A=y"));
	free(unmet);

	assert_int_equal(kt_kconfig_check("CONFIG_A y\n", config, &unmet), -EINVAL);
	assert_non_null(strstr(unmet, "malformed"));
	free(unmet);
}

/* The shipped fragment: parses, demands what kernel vetting demands, and
 * refuses a kernel built without sched_ext (Debian's own 6.12). */
static void test_shipped_fragment(void **state)
{
	KT_AUTOFREE char *frag = NULL;
	struct kt_strlist l = { 0 };
	char *bad = NULL, *unmet = NULL;

	assert_int_equal(kt_read_file("kernel/ktstr.config", &frag, NULL), 0);
	assert_int_equal(kt_kconfig_lines(frag, &l, &bad), 0);
	for (size_t i = 0; kt_kernel_required_options[i]; i++) {
		KT_AUTOFREE char *want = kt_asprintf("%s=y", kt_kernel_required_options[i]);

		assert_true(kt_strlist_has(&l, want));
	}
	/* each option once: a second line for one would contradict or repeat it */
	for (size_t i = 0; i < l.n; i++)
		for (size_t j = i + 1; j < l.n; j++) {
			size_t n = strcspn(l.v[i], "=");

			assert_false(!strncmp(l.v[i], l.v[j], n) && l.v[j][n] == '=');
		}

	/* a .config made of exactly the fragment's lines holds it */
	{
		struct kt_buf all = { 0 };

		for (size_t i = 0; i < l.n; i++)
			assert_int_equal(kt_buf_printf(&all, "%s\n", l.v[i]), 0);
		assert_int_equal(kt_kconfig_check(frag, all.data, &unmet), 0);
		kt_buf_release(&all);
	}
	/* Debian's 6.12: everything but sched_ext */
	{
		struct kt_buf deb = { 0 };

		for (size_t i = 0; i < l.n; i++)
			if (strcmp(l.v[i], "CONFIG_SCHED_CLASS_EXT=y") && strcmp(l.v[i], "CONFIG_EXT_GROUP_SCHED=y"))
				assert_int_equal(kt_buf_printf(&deb, "%s\n", l.v[i]), 0);
		assert_int_equal(kt_buf_printf(&deb, "# CONFIG_SCHED_CLASS_EXT is not set\n"), 0);
		assert_int_equal(kt_kconfig_check(frag, deb.data, &unmet), -ENOENT);
		assert_string_equal(unmet, "CONFIG_SCHED_CLASS_EXT=y (the .config has: "
					   "# CONFIG_SCHED_CLASS_EXT is not set)");
		free(unmet);
		kt_buf_release(&deb);
	}
	kt_strlist_release(&l);
}

static void put(const char *dir, const char *name, const char *text)
{
	KT_AUTOFREE char *p = kt_asprintf("%s/%s", dir, name);

	assert_int_equal(kt_write_whole(p, text, strlen(text), 0644), 0);
}

static void test_source_identity(void **state)
{
	char dir[] = "/tmp/kt-kbuild-XXXXXX";
	uint64_t h1, h2, h3, hf1, hf2;
	KT_AUTOFREE char *sub = NULL, *tar = NULL, *ver = NULL, *name = NULL;

	assert_non_null(mkdtemp(dir));
	sub = kt_asprintf("%s/kernel", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put(dir, "Makefile", "# SPDX\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 95\nEXTRAVERSION =\n"
			     "NAME = Baby Opossum Posse\n");
	put(dir, "kernel/sched.c", "int x;\n");
	assert_int_equal(kt_kbuild_source_hash(dir, &h1), 0);
	assert_int_equal(kt_kbuild_source_hash(dir, &h2), 0);
	assert_true(h1 == h2);
	put(dir, "kernel/sched.c", "int x, y;\n");	/* size changes */
	assert_int_equal(kt_kbuild_source_hash(dir, &h3), 0);
	assert_true(h3 != h1);

	tar = kt_asprintf("%s/kernel/sched.c", dir);
	assert_int_equal(kt_kbuild_source_hash(tar, &hf1), 0);
	put(dir, "kernel/sched.c", "int x, z;\n");	/* same size, other content */
	assert_int_equal(kt_kbuild_source_hash(tar, &hf2), 0);
	assert_true(hf1 != hf2);
	assert_int_equal(kt_kbuild_source_hash("/nonexistent/linux.tar.xz", &hf1), -ENOENT);

	assert_int_equal(kt_kbuild_tree_version(dir, &ver), 0);
	assert_string_equal(ver, "6.12.95");
	free(ver);
	put(dir, "Makefile", "VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 0\nEXTRAVERSION = -rc3\n");
	assert_int_equal(kt_kbuild_tree_version(dir, &ver), 0);
	assert_string_equal(ver, "7.2.0-rc3");
	put(dir, "Makefile", "all:\n");
	assert_int_equal(kt_kbuild_tree_version(dir, &name), -EINVAL);
	assert_int_equal(kt_kbuild_tree_version("/nonexistent", &name), -ENOENT);

	assert_true(kt_kbuild_config_hash("allnoconfig", "CONFIG_A=y\n") !=
		    kt_kbuild_config_hash("allnoconfig", "CONFIG_A=y\nCONFIG_B=y\n"));
	assert_true(kt_kbuild_config_hash("allnoconfig", "CONFIG_A=y\n") !=
		    kt_kbuild_config_hash("defconfig", "CONFIG_A=y\n"));
	name = kt_kbuild_entry_name("6.12.95", 0x0123456789abcdefull, 0xfedcba9876543210ull);
	assert_string_equal(name, "6.12.95-01234567-fedcba98");
	kt_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragment_lines),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_shipped_fragment),
		cmocka_unit_test(test_source_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
