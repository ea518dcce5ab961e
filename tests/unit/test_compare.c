/*
 * `ktstr compare` without a VM: the statistics against known values, and
 * the pairing and judging over hand-made result documents (polarity,
 * effect size, verdict flips, the dimension compared across, EEVDF twins).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runner/compare.h"

static void test_betai_known_values(void **state)
{
	assert_true(fabs(kt_stats_betai(2, 2, 0.5) - 0.5) < 1e-12);
	assert_true(fabs(kt_stats_betai(1, 1, 0.37) - 0.37) < 1e-12);
	/* I_x(2,3) = P(Binomial(4, x) >= 2) */
	assert_true(fabs(kt_stats_betai(2, 3, 0.3) - 0.3483) < 1e-9);
	assert_true(fabs(kt_stats_betai(2, 3, 0.9) - (1 - 0.0001 - 4 * 0.9 * 0.001)) < 1e-9);
	assert_true(kt_stats_betai(3, 4, 0) == 0);
	assert_true(kt_stats_betai(3, 4, 1) == 1);
}

static void test_t_tail(void **state)
{
	/* df 1 is Cauchy: P(|T| > 1) = 1/2 */
	assert_true(fabs(kt_stats_t_p(1.0, 1) - 0.5) < 1e-9);
	/* the 5 % two-sided critical value for df 10 */
	assert_true(fabs(kt_stats_t_p(2.228138852, 10) - 0.05) < 1e-6);
	assert_true(fabs(kt_stats_t_p(0, 7) - 1) < 1e-12);
}

static void test_welch(void **state)
{
	double a[] = { 1, 2, 3, 4, 5 }, b[] = { 6, 7, 8, 9, 10 }, c[] = { 1, 2, 3, 4, 5 };
	double k1[] = { 3, 3, 3 }, k2[] = { 4, 4, 4 };

	assert_true(fabs(kt_stats_mean(a, 5) - 3) < 1e-12);
	assert_true(fabs(kt_stats_var(a, 5) - 2.5) < 1e-12);
	/* t = -5 on 8 degrees of freedom */
	assert_true(fabs(kt_stats_welch_p(a, 5, b, 5) - 0.0010528) < 2e-6);
	assert_true(fabs(kt_stats_welch_p(a, 5, c, 5) - 1) < 1e-12);
	/* no variance: different means are certain, equal ones not */
	assert_true(kt_stats_welch_p(k1, 3, k2, 3) == 0);
	assert_true(kt_stats_welch_p(k1, 3, k1, 3) == 1);
	/* one sample: nothing to test */
	assert_true(kt_stats_welch_p(a, 1, b, 5) == 1);
}

static json_t *doc(const char *test, const char *kernel, const char *profile, const char *verdict,
		   double spread, double work)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:b},s:{s:{s:{s:f,s:f}}}}", "schema",
			 "ktstr-result/1", "verdict", verdict, "variant", "test", test, "preset",
			 "tiny-2llc", "profile", profile, "kernel", kernel, "scheduler",
			 !strcmp(profile, "eevdf") ? "EEVDF" : "scx_x", "eevdf_twin",
			 !strcmp(profile, "eevdf"), "guest", "result", "stats", "spread_pct", spread,
			 "work_units", work);
}

static int compare(json_t *a, json_t *b, char **text)
{
	size_t len;
	FILE *f = open_memstream(text, &len);
	int r = kt_compare_docs(f, a, b, NULL);

	fclose(f);
	json_decref(a);
	json_decref(b);
	return r;
}

static void test_spread_regression_across_kernels(void **state)
{
	json_t *a = json_array(), *b = json_array();
	char *out;

	for (int i = 0; i < 4; i++) {
		json_array_append_new(a, doc("steady", "6.12", "default", "pass", 2 + 0.1 * i, 1000));
		json_array_append_new(b, doc("steady", "7.2", "default", "pass", 9 + 0.1 * i, 1000));
	}
	/* the kernel is what differs: it must not keep the sides apart */
	assert_int_equal(compare(a, b, &out), 1);
	assert_non_null(strstr(out, "REGRESSION"));
	assert_non_null(strstr(out, "spread_pct"));
	assert_non_null(strstr(out, "1 paired"));
	free(out);
}

static void test_polarity_and_effect(void **state)
{
	json_t *a = json_array(), *b = json_array();
	char *out;

	/* more work (higher is better) and less spread: two improvements */
	for (int i = 0; i < 3; i++) {
		json_array_append_new(a, doc("t", "k", "default", "pass", 8 + 0.1 * i, 1000 + i));
		json_array_append_new(b, doc("t", "k", "default", "pass", 3 + 0.1 * i, 2000 + i));
	}
	assert_int_equal(compare(a, b, &out), 0);
	assert_non_null(strstr(out, "2 improvements"));
	free(out);

	/* significant but tiny (1 %): below the minimum effect */
	a = json_array();
	b = json_array();
	for (int i = 0; i < 3; i++) {
		json_array_append_new(a, doc("t", "k", "default", "pass", 2, 1000 + 0.01 * i));
		json_array_append_new(b, doc("t", "k", "default", "pass", 2, 990 + 0.01 * i));
	}
	assert_int_equal(compare(a, b, &out), 0);
	free(out);

	/* less work is worse */
	a = json_array();
	b = json_array();
	for (int i = 0; i < 3; i++) {
		json_array_append_new(a, doc("t", "k", "default", "pass", 2, 1000 + i));
		json_array_append_new(b, doc("t", "k", "default", "pass", 2, 500 + i));
	}
	assert_int_equal(compare(a, b, &out), 1);
	assert_non_null(strstr(out, "work_units"));
	free(out);
}

static void test_verdict_flip_and_single_runs(void **state)
{
	json_t *a = json_array(), *b = json_array();
	char *out;

	json_array_append_new(a, doc("t", "k", "default", "pass", 2, 1000));
	json_array_append_new(b, doc("t", "k", "default", "fail", 50, 10));
	/* a pass turned into a failure is a regression even from one run */
	assert_int_equal(compare(a, b, &out), 1);
	assert_non_null(strstr(out, "verdict"));
	free(out);

	/* one run a side: a big change is reported untested, not a regression */
	a = json_array();
	b = json_array();
	json_array_append_new(a, doc("t", "k", "default", "pass", 2, 1000));
	json_array_append_new(b, doc("t", "k", "default", "pass", 20, 1000));
	assert_int_equal(compare(a, b, &out), 0);
	assert_non_null(strstr(out, "1 changes untested"));
	free(out);

	a = json_array();
	b = json_array();
	json_array_append_new(a, doc("t", "k", "default", "pass", 2, 1000));
	json_array_append_new(b, doc("other", "k", "default", "pass", 2, 1000));
	assert_int_equal(compare(a, b, &out), 0);
	assert_non_null(strstr(out, "0 paired"));
	assert_non_null(strstr(out, "2 unpaired"));
	free(out);
}

static void test_vs_eevdf(void **state)
{
	json_t *d = json_array();
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	for (int i = 0; i < 3; i++) {
		json_array_append_new(d, doc("t", "k", "eevdf", "pass", 2 + 0.1 * i, 1000));
		json_array_append_new(d, doc("t", "k", "default", "pass", 12 + 0.1 * i, 1000));
		json_array_append_new(d, doc("t", "k", "fast", "pass", 2 + 0.1 * i, 1000));
	}
	assert_int_equal(kt_compare_vs_eevdf(f, d, NULL), 1);
	fclose(f);
	assert_non_null(strstr(out, "t/tiny-2llc/k/default vs eevdf  spread_pct"));
	assert_non_null(strstr(out, "2 paired"));
	free(out);
	json_decref(d);
}

static void test_value_path(void **state)
{
	json_t *d = doc("t", "k", "default", "pass", 2.5, 1);
	double v;

	assert_true(kt_compare_value(d, "guest.result.stats.spread_pct", &v));
	assert_true(v == 2.5);
	assert_false(kt_compare_value(d, "guest.result.stats.nope", &v));
	assert_false(kt_compare_value(d, "guest.result", &v));
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_betai_known_values),
		cmocka_unit_test(test_t_tail),
		cmocka_unit_test(test_welch),
		cmocka_unit_test(test_spread_regression_across_kernels),
		cmocka_unit_test(test_polarity_and_effect),
		cmocka_unit_test(test_verdict_flip_and_single_runs),
		cmocka_unit_test(test_vs_eevdf),
		cmocka_unit_test(test_value_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
