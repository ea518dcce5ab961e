/*
 * Unit tests for the cpuset value type: cpulist parse/format, every
 * rejection the strict parser promises, and set algebra including CPUs far
 * beyond the 1024 cpu_set_t ceiling.
 */
#include <ktstr/cpuset.h>

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static struct kt_cpuset *parse_ok(const char *text)
{
	struct kt_cpuset *s = NULL;
	char *bad = (char *)1;

	assert_int_equal(kt_cpuset_parse(text, &s, &bad), 0);
	assert_null(bad);
	assert_non_null(s);
	return s;
}

static void assert_format(const struct kt_cpuset *s, const char *want)
{
	char *text = kt_cpuset_format(s);

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
}

static void test_parse_format_roundtrip(void **state)
{
	static const struct {
		const char *in, *canon;
	} cases[] = {
		{ "", "" },
		{ "0", "0" },
		{ "0-3,5,7-9", "0-3,5,7-9" },
		{ " 0-3\n", "0-3" },
		{ "1,2,3", "1-3" },
		{ "5,1", "1,5" },
		{ "0-3,2-5", "0-5" },
		{ "3-3", "3" },
		{ "63,64", "63-64" },
		{ "0-127", "0-127" },
		{ "1023-1025,4095", "1023-1025,4095" },
		{ "0,2,4,6", "0,2,4,6" },
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(cases); i++) {
		KT_AUTO(kt_cpuset) s = parse_ok(cases[i].in);
		KT_AUTO(kt_cpuset) again = NULL;
		char *text = kt_cpuset_format(s);

		assert_non_null(text);
		assert_string_equal(text, cases[i].canon);
		/* The canonical form parses back to the same set. */
		again = parse_ok(text);
		assert_true(kt_cpuset_equal(s, again));
		free(text);
	}
}

static void test_parse_counts(void **state)
{
	KT_AUTO(kt_cpuset) s = parse_ok("0-3,5,7-9");

	assert_int_equal(kt_cpuset_count(s), 8);
	assert_true(kt_cpuset_test(s, 5));
	assert_false(kt_cpuset_test(s, 4));
	assert_false(kt_cpuset_test(s, 6));
	assert_true(kt_cpuset_test(s, 9));
	assert_false(kt_cpuset_test(s, 10));
}

static void test_parse_rejects(void **state)
{
	static const struct {
		const char *in, *token;
	} cases[] = {
		{ "1-", "1-" },
		{ "3-1", "3-1" },
		{ "a", "a" },
		{ "1,,2", "" },
		{ "-1", "-1" },
		{ "1,", "" },
		{ ",1", "" },
		{ "1-2-3", "1-2-3" },
		{ "1 2", "1 2" },
		{ "0x1", "0x1" },
		{ "0-3,b", "b" },
		{ "+1", "+1" },
		{ "99999999999", "99999999999" },
		{ "0-4000000000", "0-4000000000" },
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(cases); i++) {
		struct kt_cpuset *s = NULL;
		char *bad = NULL;

		assert_int_equal(kt_cpuset_parse(cases[i].in, &s, &bad), -EINVAL);
		assert_null(s);
		assert_non_null(bad);
		assert_string_equal(bad, cases[i].token);
		free(bad);
		/* bad_token is optional. */
		assert_int_equal(kt_cpuset_parse(cases[i].in, &s, NULL), -EINVAL);
	}
}

static void test_basic_ops(void **state)
{
	KT_AUTO(kt_cpuset) s = kt_cpuset_new();

	assert_non_null(s);
	assert_true(kt_cpuset_empty(s));
	assert_int_equal(kt_cpuset_first(s), -1);
	assert_int_equal(kt_cpuset_last(s), -1);
	assert_int_equal(kt_cpuset_next(s, -1), -1);
	assert_false(kt_cpuset_test(s, 100000));
	kt_cpuset_clear(s, 100000);	/* clearing beyond the bitmap is a no-op */

	assert_int_equal(kt_cpuset_set(s, 3), 0);
	assert_int_equal(kt_cpuset_set(s, 64), 0);
	assert_int_equal(kt_cpuset_set(s, 5000), 0);
	assert_int_equal(kt_cpuset_count(s), 3);
	assert_int_equal(kt_cpuset_first(s), 3);
	assert_int_equal(kt_cpuset_last(s), 5000);
	assert_int_equal(kt_cpuset_next(s, 3), 64);
	assert_int_equal(kt_cpuset_next(s, 64), 5000);
	assert_int_equal(kt_cpuset_next(s, 5000), -1);

	unsigned seen[8], n = 0;
	kt_cpuset_for_each(c, s)
		seen[n++] = (unsigned)c;
	assert_int_equal(n, 3);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 64);
	assert_int_equal(seen[2], 5000);

	kt_cpuset_clear(s, 64);
	assert_false(kt_cpuset_test(s, 64));
	assert_int_equal(kt_cpuset_count(s), 2);
	kt_cpuset_zero(s);
	assert_true(kt_cpuset_empty(s));
	assert_int_equal(kt_cpuset_last(s), -1);
}

static void test_set_range(void **state)
{
	KT_AUTO(kt_cpuset) s = kt_cpuset_new();

	assert_int_equal(kt_cpuset_set_range(s, 60, 130), 0);
	assert_int_equal(kt_cpuset_count(s), 71);
	assert_false(kt_cpuset_test(s, 59));
	assert_true(kt_cpuset_test(s, 60));
	assert_true(kt_cpuset_test(s, 127));
	assert_true(kt_cpuset_test(s, 130));
	assert_false(kt_cpuset_test(s, 131));
	assert_format(s, "60-130");

	assert_int_equal(kt_cpuset_set_range(s, 256, 319), 0);	/* one whole word */
	assert_int_equal(kt_cpuset_count(s), 71 + 64);
	assert_false(kt_cpuset_test(s, 320));
	assert_int_equal(kt_cpuset_set_range(s, 7, 7), 0);
	assert_format(s, "7,60-130,256-319");
	assert_int_equal(kt_cpuset_set_range(s, 9, 8), -EINVAL);
}

static void test_algebra(void **state)
{
	KT_AUTO(kt_cpuset) a = parse_ok("0-7,2000-2100");
	KT_AUTO(kt_cpuset) b = parse_ok("4-11,2050");
	KT_AUTO(kt_cpuset) c = kt_cpuset_dup(a);
	KT_AUTO(kt_cpuset) small = parse_ok("1-2");

	assert_non_null(c);
	assert_true(kt_cpuset_equal(a, c));
	assert_true(kt_cpuset_intersects(a, b));
	assert_true(kt_cpuset_subset(small, a));
	assert_false(kt_cpuset_subset(a, small));
	assert_false(kt_cpuset_subset(b, a));

	assert_int_equal(kt_cpuset_or(c, b), 0);
	assert_format(c, "0-11,2000-2100");
	assert_int_equal(kt_cpuset_copy(c, a), 0);
	assert_int_equal(kt_cpuset_and(c, b), 0);
	assert_format(c, "4-7,2050");
	assert_int_equal(kt_cpuset_copy(c, a), 0);
	assert_int_equal(kt_cpuset_andnot(c, b), 0);
	assert_format(c, "0-3,2000-2049,2051-2100");

	/* Sets of different bitmap lengths compare by members only. */
	KT_AUTO(kt_cpuset) big = parse_ok("1-2,3000");
	assert_false(kt_cpuset_equal(small, big));
	kt_cpuset_clear(big, 3000);
	assert_true(kt_cpuset_equal(small, big));
	assert_true(kt_cpuset_equal(big, small));

	/* copy into a longer set clears the old high members. */
	KT_AUTO(kt_cpuset) d = parse_ok("4000");
	assert_int_equal(kt_cpuset_copy(d, small), 0);
	assert_true(kt_cpuset_equal(d, small));

	KT_AUTO(kt_cpuset) far = parse_ok("5000");
	assert_false(kt_cpuset_intersects(a, far));
	assert_int_equal(kt_cpuset_or(far, small), 0);
	assert_format(far, "1-2,5000");
	assert_true(kt_cpuset_intersects(far, a));

	KT_AUTO(kt_cpuset) empty = kt_cpuset_new();
	assert_true(kt_cpuset_subset(empty, small));
	assert_false(kt_cpuset_intersects(empty, small));
}

static void test_arrays(void **state)
{
	const unsigned in[] = { 9, 1, 1030, 3 };
	unsigned out[8];
	KT_AUTO(kt_cpuset) s = kt_cpuset_from_array(in, KT_ARRAY_SIZE(in));

	assert_non_null(s);
	assert_format(s, "1,3,9,1030");
	assert_int_equal(kt_cpuset_to_array(s, out, 8), 4);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 9);
	assert_int_equal(out[3], 1030);
	/* Truncated to the capacity. */
	assert_int_equal(kt_cpuset_to_array(s, out, 2), 2);
	assert_int_equal(out[1], 3);
}

static void test_affinity(void **state)
{
	KT_AUTO(kt_cpuset) s = parse_ok("0,5,63-64,1023,1024,3000");
	cpu_set_t set;

	assert_int_equal(kt_cpuset_to_affinity(s, &set, sizeof(set)), 0);
	assert_true(CPU_ISSET(0, &set));
	assert_true(CPU_ISSET(64, &set));
	assert_true(CPU_ISSET(1023, &set));
	assert_false(CPU_ISSET(1, &set));
	assert_int_equal(CPU_COUNT(&set), 5);	/* 1024 and 3000 do not fit */

	KT_AUTO(kt_cpuset) back = kt_cpuset_from_affinity(&set, sizeof(set));
	assert_non_null(back);
	assert_format(back, "0,5,63-64,1023");

	/* A dynamically sized set holds CPUs past 1024. */
	size_t sz = CPU_ALLOC_SIZE(4096);
	cpu_set_t *dyn = CPU_ALLOC(4096);
	assert_non_null(dyn);
	assert_int_equal(kt_cpuset_to_affinity(s, dyn, sz), 0);
	assert_true(CPU_ISSET_S(3000, sz, dyn));
	KT_AUTO(kt_cpuset) back2 = kt_cpuset_from_affinity(dyn, sz);
	assert_true(kt_cpuset_equal(back2, s));
	CPU_FREE(dyn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format_roundtrip),
		cmocka_unit_test(test_parse_counts),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_basic_ops),
		cmocka_unit_test(test_set_range),
		cmocka_unit_test(test_algebra),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_affinity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
