/*
 * The gauntlet without a VM: expansion over presets, profiles and kernels,
 * constraint filtering, shards (disjoint, complete, balanced, the same on
 * every call), budgeted selection and the time model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "runner/gauntlet.h"
#include "runner/runner.h"
#include "util/util.h"

static const struct kt_sched_flag two_flags[] = {
	{ .name = "a", .args = { "--a" } },
	{ .name = "b", .args = { "--b" }, .requires = { "a" } },	/* b needs a */
};

static size_t n_presets(void)
{
	size_t n;

	kt_topo_presets(&n);
	return n;
}

static void expand(const struct kt_gauntlet_test *t, size_t nt, const struct kt_gauntlet_axes *a,
		   struct kt_variant **v, size_t *n, size_t *filtered)
{
	char *err = NULL;

	assert_int_equal(kt_gauntlet_expand(t, nt, a, v, n, filtered, &err), 0);
	assert_null(err);
}

static void test_all_presets_one_profile(void **state)
{
	struct kt_gauntlet_test t = { .name = "t" };
	struct kt_gauntlet_axes a = { 0 };
	struct kt_variant *v;
	size_t n, filtered;

	expand(&t, 1, &a, &v, &n, &filtered);
	assert_int_equal(n, 24);
	assert_int_equal(n_presets(), 24);
	assert_int_equal(filtered, 0);
	assert_string_equal(v[0].name, "t/tiny-1llc/default");
	assert_string_equal(v[0].profile, "default");
	kt_variants_free(v, n);
}

static void test_profiles_follow_dependencies(void **state)
{
	struct kt_gauntlet_test t = { .name = "t", .flags = two_flags, .n_flags = 2 };

	/* {}, {a}, {a,b}; {b} alone lacks a */
	assert_true(kt_gauntlet_profile_ok(&t, 0));
	assert_true(kt_gauntlet_profile_ok(&t, 1));
	assert_false(kt_gauntlet_profile_ok(&t, 2));
	assert_true(kt_gauntlet_profile_ok(&t, 3));
	t.required_flags[0] = "a";
	assert_false(kt_gauntlet_profile_ok(&t, 0));
	assert_true(kt_gauntlet_profile_ok(&t, 1));
	t.excluded_flags[0] = "b";
	assert_false(kt_gauntlet_profile_ok(&t, 3));
	/* a required flag the scheduler lacks: no profile at all */
	t.required_flags[0] = "zzz";
	t.excluded_flags[0] = NULL;
	for (unsigned m = 0; m < 4; m++)
		assert_false(kt_gauntlet_profile_ok(&t, m));
}

static void test_constraints_filter_before_boot(void **state)
{
	struct kt_gauntlet_test t = { .name = "t", .requires_smt = true, .min_llcs = 2,
				      .max_cpus = 32 };
	struct kt_gauntlet_axes a = { 0 };
	struct kt_variant *v;
	size_t n, filtered;

	expand(&t, 1, &a, &v, &n, &filtered);
	/* smt-2llc, smt-3llc, medium-4llc (32 CPUs) */
	assert_int_equal(n, 3);
	assert_int_equal(filtered, 21);
	for (size_t i = 0; i < n; i++) {
		assert_true(v[i].topo.threads >= 2);
		assert_true(v[i].topo.llcs >= 2);
		assert_true(kt_topo_spec_cpus(&v[i].topo) <= 32);
	}
	kt_variants_free(v, n);

	struct kt_gauntlet_test numa = { .name = "n", .min_numa_nodes = 2, .max_numa_nodes = 2 };

	expand(&numa, 1, &a, &v, &n, &filtered);
	assert_int_equal(n, 3);		/* numa2-4llc, numa2-8llc, numa2-8llc-nosmt */
	kt_variants_free(v, n);
}

static void test_axes_narrow_and_multiply(void **state)
{
	const char *presets[] = { "smt-2llc", "tiny-2llc" };
	const char *kernels[] = { "6.12", "7.2" };
	struct kt_gauntlet_test t[2] = {
		{ .name = "x", .flags = two_flags, .n_flags = 2, .scheduler = "s", .eevdf_twin = true },
		{ .name = "y" },
	};
	struct kt_gauntlet_axes a = { .presets = presets, .n_presets = 2, .kernels = kernels,
				      .n_kernels = 2, .vs_eevdf = true };
	struct kt_variant *v;
	size_t n;

	expand(t, 2, &a, &v, &n, NULL);
	/* x: 2 presets x (3 profiles + eevdf) x 2 kernels; y: 2 x 1 x 2 */
	assert_int_equal(n, 16 + 4);
	assert_string_equal(v[0].name, "x/smt-2llc/default/6.12");
	assert_string_equal(v[1].name, "x/smt-2llc/default/7.2");
	assert_string_equal(v[2].name, "x/smt-2llc/a/6.12");
	assert_string_equal(v[4].name, "x/smt-2llc/a+b/6.12");
	assert_string_equal(v[6].name, "x/smt-2llc/eevdf/6.12");
	assert_true(v[6].eevdf);
	assert_string_equal(v[16].name, "y/smt-2llc/default/6.12");
	kt_variants_free(v, n);

	struct kt_gauntlet_axes small = { .max_cpus = 8 };

	expand(&t[1], 1, &small, &v, &n, NULL);
	for (size_t i = 0; i < n; i++)
		assert_true(kt_topo_spec_cpus(&v[i].topo) <= 8);
	assert_int_equal(n, 3);	/* tiny-1llc, tiny-2llc, smt-2llc; 9-CPU odd-3llc is out */
	kt_variants_free(v, n);
}

static void test_unknown_preset(void **state)
{
	const char *presets[] = { "tiny-2llc", "nope" };
	struct kt_gauntlet_test t = { .name = "t" };
	struct kt_gauntlet_axes a = { .presets = presets, .n_presets = 2 };
	struct kt_variant *v = NULL;
	size_t n = 0;
	char *err = NULL;

	assert_int_equal(kt_gauntlet_expand(&t, 1, &a, &v, &n, NULL, &err), -EINVAL);
	assert_non_null(strstr(err, "nope"));
	free(err);
}

static void all_variants(struct kt_variant **v, size_t *n)
{
	static const struct kt_gauntlet_test t[3] = {
		{ .name = "a", .flags = two_flags, .n_flags = 2 }, { .name = "b" }, { .name = "c" },
	};
	struct kt_gauntlet_axes a = { 0 };
	struct kt_estimate e;

	expand(t, 3, &a, v, n, NULL);
	kt_estimate_default(&e);
	for (size_t i = 0; i < *n; i++)
		(*v)[i].est_s = kt_estimate_run(&e, kt_topo_spec_cpus(&(*v)[i].topo), 2);
}

static void test_shards_disjoint_complete_balanced(void **state)
{
	struct kt_variant *v;
	size_t n;

	all_variants(&v, &n);
	for (unsigned ns = 1; ns <= 7; ns++) {
		unsigned *s1 = calloc(n, sizeof(*s1)), *s2 = calloc(n, sizeof(*s2));
		double load[7] = { 0 }, max = 0, total = 0, longest = 0;
		size_t count[7] = { 0 };

		kt_shard_assign(v, n, ns, s1);
		kt_shard_assign(v, n, ns, s2);
		assert_memory_equal(s1, s2, n * sizeof(*s1));	/* deterministic */
		for (size_t i = 0; i < n; i++) {
			assert_true(s1[i] < ns);	/* each variant in exactly one shard */
			load[s1[i]] += v[i].est_s;
			count[s1[i]]++;
			total += v[i].est_s;
			longest = fmax(longest, v[i].est_s);
		}
		for (unsigned k = 0; k < ns; k++) {
			assert_true(count[k] > 0);
			max = fmax(max, load[k]);
		}
		/* LPT: no shard exceeds the mean by more than one variant */
		assert_true(max <= total / ns + longest + 1e-9);
		free(s1);
		free(s2);
	}
	kt_variants_free(v, n);
}

static void test_shard_parse(void **state)
{
	unsigned k, n;

	assert_int_equal(kt_shard_parse("1/4", &k, &n), 0);
	assert_int_equal(k, 0);
	assert_int_equal(n, 4);
	assert_int_equal(kt_shard_parse("4/4", &k, &n), 0);
	assert_int_equal(k, 3);
	assert_int_equal(kt_shard_parse("0/4", &k, &n), -EINVAL);
	assert_int_equal(kt_shard_parse("5/4", &k, &n), -EINVAL);
	assert_int_equal(kt_shard_parse("1/", &k, &n), -EINVAL);
	assert_int_equal(kt_shard_parse("1/4x", &k, &n), -EINVAL);
	assert_int_equal(kt_shard_parse("x", &k, &n), -EINVAL);
}

static void test_budget_covers_buckets_cheaply(void **state)
{
	static const struct kt_gauntlet_test t[3] = {
		{ .name = "a", .flags = two_flags, .n_flags = 2 }, { .name = "b" }, { .name = "c" },
	};
	struct kt_variant *v;
	size_t n, nb, left;
	bool *keep;
	char **missed = NULL;
	double full = 0, chosen = 0;

	all_variants(&v, &n);
	keep = calloc(n, sizeof(*keep));
	for (size_t i = 0; i < n; i++)
		full += v[i].est_s;
	left = kt_budget_select(v, n, t, NULL, full, keep, &nb, &missed);
	assert_int_equal(left, 0);
	assert_null(missed[0]);
	free(missed);
	for (size_t i = 0; i < n; i++)
		chosen += keep[i] ? v[i].est_s : 0;
	/* every bucket in at most half the time of the full set */
	assert_true(chosen <= full / 2);

	/* a budget too small for everything reports what it gave up */
	left = kt_budget_select(v, n, t, NULL, 10, keep, &nb, &missed);
	assert_true(left > 0);
	assert_non_null(missed[0]);
	chosen = 0;
	for (size_t i = 0; i < n; i++)
		chosen += keep[i] ? v[i].est_s : 0;
	assert_true(chosen <= 10);
	for (size_t i = 0; missed[i]; i++)
		free(missed[i]);
	free(missed);
	free(keep);
	kt_variants_free(v, n);
}

static double d_quad(unsigned c)
{
	struct kt_estimate d;

	kt_estimate_default(&d);
	return d.per_cpu2_s * c * c;
}

static void test_estimate_fit(void **state)
{
	struct kt_estimate e;
	unsigned cpus[] = { 4, 8, 16, 16, 64, 64 };
	double over[6];

	kt_estimate_default(&e);
	assert_true(kt_estimate_run(&e, 128, 2) > kt_estimate_run(&e, 4, 2) * 3);
	for (size_t i = 0; i < 6; i++)
		over[i] = 1.0 + 0.1 * cpus[i] + 0.001 * cpus[i] * cpus[i];
	kt_estimate_fit(&e, cpus, over, NULL, 6);
	assert_int_equal(e.samples, 6);
	assert_true(fabs(e.base_s - 1.0) < 1e-6);
	assert_true(fabs(e.per_cpu_s - 0.1) < 1e-6);
	assert_true(fabs(e.per_cpu2_s - 0.001) < 1e-6);

	/* three CPU counts: a line, the quadratic term stays the default's */
	unsigned three[] = { 4, 8, 16 };
	double lin[3];

	for (size_t i = 0; i < 3; i++)
		lin[i] = 1.0 + 0.2 * three[i] + d_quad(three[i]);
	kt_estimate_default(&e);
	kt_estimate_fit(&e, three, lin, NULL, 3);
	assert_true(fabs(e.per_cpu_s - 0.2) < 1e-6);
	assert_true(fabs(e.base_s - 1.0) < 1e-6);

	/* one CPU count only: the level moves, the growth stays the default's */
	unsigned same[] = { 4, 4, 4 };
	double slow[] = { 5, 5, 5 };
	struct kt_estimate d;

	kt_estimate_default(&d);
	kt_estimate_default(&e);
	kt_estimate_fit(&e, same, slow, NULL, 3);
	assert_true(fabs(kt_estimate_run(&e, 4, 0.001) - 5.001) < 1e-6);
	assert_true(fabs(e.per_cpu_s - d.per_cpu_s) < 1e-12);
	/* too few points: the defaults */
	kt_estimate_default(&e);
	kt_estimate_fit(&e, same, slow, NULL, 2);
	assert_int_equal(e.samples, 0);

	/* a test that runs 30 s beyond its duration everywhere: its own term
	 * takes that, the CPU model keeps fitting the others */
	unsigned c2[] = { 4, 16, 64, 8, 16, 64 };
	double o2[6];
	const char *names[] = { "quick", "quick", "quick", "catalog", "catalog", "catalog" };

	for (size_t i = 0; i < 6; i++)
		o2[i] = 1.0 + 0.1 * c2[i] + 0.001 * c2[i] * c2[i] + (i >= 3 ? 30 : 0);
	kt_estimate_default(&e);
	kt_estimate_fit(&e, c2, o2, names, 6);
	assert_int_equal(e.n_tests, 2);
	assert_true(fabs(kt_estimate_test_run(&e, "catalog", 16, 2) -
			 kt_estimate_test_run(&e, "quick", 16, 2) - 30) < 1e-6);
	assert_true(fabs(kt_estimate_test_run(&e, "quick", 64, 2) - (1 + 6.4 + 4.096 + 2)) < 1e-6);
	/* a test never seen gets the model alone */
	assert_true(kt_estimate_test_run(&e, "new", 16, 2) == kt_estimate_run(&e, 16, 2));
	kt_estimate_release(&e);
}

static void test_estimate_learns_from_runs_dir(void **state)
{
	char dir[] = "/tmp/kt-est-XXXXXX", path[128];
	const char *topo[] = { "1n1l4c1t", "1n2l4c1t", "1n4l4c1t", "1n8l4c1t" };
	struct kt_estimate e;

	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 4; i++) {
		unsigned cpus = 4u << i;
		json_t *d = json_pack("{s:s,s:s,s:s,s:{s:f},s:{s:I},s:{s:s}}", "schema", "ktstr-result/1",
				      "topology", topo[i], "verdict", i == 3 ? "fail" : "pass",
				      "timings", "wall_s", 2.0 + 0.5 * cpus + 3.0, "request",
				      "duration_ms", (json_int_t)3000, "variant", "test", "steady");

		snprintf(path, sizeof(path), "%s/r%d.json", dir, i);
		assert_int_equal(json_dump_file(d, path, 0), 0);
		json_decref(d);
	}
	/* an error carries no timing worth learning from */
	snprintf(path, sizeof(path), "%s/err.json", dir);
	assert_int_equal(kt_write_whole(path, "{\"verdict\": \"error\"}", 20, 0644), 0);
	assert_int_equal(kt_estimate_learn(&e, dir), 0);
	assert_int_equal(e.samples, 4);
	/* 2 s + 0.5 s per CPU of overhead, seen at 4..32 CPUs */
	assert_true(fabs(kt_estimate_test_run(&e, "steady", 16, 3) - (2 + 8 + 3)) < 0.05);
	kt_estimate_release(&e);
	assert_int_equal(kt_rm_rf(dir), 0);
	/* no runs directory yet: the defaults, not an error */
	assert_int_equal(kt_estimate_learn(&e, "/nonexistent/ktstr-runs"), 0);
	assert_int_equal(e.samples, 0);
	kt_estimate_release(&e);
}

/* $XDG_CACHE_HOME points at an empty directory (main): no boots recorded */
static void test_timeout_grows_with_cpus(void **state)
{
	struct kt_topo_spec small = { 1, 2, 2, 1 }, big = { 1, 14, 9, 2 };
	unsigned t4 = kt_runner_default_timeout_s(&small, KT_ACCEL_TCG, NULL, 2000);
	unsigned t252 = kt_runner_default_timeout_s(&big, KT_ACCEL_TCG, NULL, 2000);

	assert_true(t4 >= 68 && t4 < 80);	/* a minute + 4 x 2 s + twice ~2 s */
	/* 252 CPUs, init bringing up all but one: twice the model's ~70 s */
	assert_true(t252 > 180);
	/* ... and longer when the user's arguments boot all of them at once */
	assert_true(kt_runner_default_timeout_s(&big, KT_ACCEL_TCG, "maxcpus=252", 2000) >
		    t252 + 60);
	assert_true(kt_runner_default_timeout_s(&small, KT_ACCEL_TCG, NULL, 30000) >= 180);
	/* a machine that boots three times slower than the model waits longer */
	{
		const char *dir = getenv("XDG_CACHE_HOME");
		struct kt_vm_host host = { .cache_dir = kt_host_env()->vm.cache_dir };
		double m4 = kt_vm_boot_estimate_s(&small, KT_ACCEL_TCG, NULL, false);

		assert_non_null(dir);
		assert_int_equal(kt_mkdir_p(host.cache_dir, 0755), 0);
		for (int i = 0; i < 3; i++)
			kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 4, false, 3 * m4);
		assert_true(kt_runner_default_timeout_s(&big, KT_ACCEL_TCG, NULL, 2000) > 2 * t252);
	}
}

static void test_eta(void **state)
{
	char buf[16];

	/* finished jobs took twice their estimate: the rest will too */
	assert_true(fabs(kt_pool_eta(100, 10, 20, 2) - 100) < 1e-9);
	assert_true(fabs(kt_pool_eta(100, 0, 0, 1) - 100) < 1e-9);
	kt_pool_eta_text(42, buf, sizeof(buf));
	assert_string_equal(buf, "42s");
	kt_pool_eta_text(185, buf, sizeof(buf));
	assert_string_equal(buf, "3m05s");
	kt_pool_eta_text(3720, buf, sizeof(buf));
	assert_string_equal(buf, "1h02m");
}

static struct kt_assert_result *no_body(struct kt_ctx *ctx)
{
	return NULL;
}

static void test_from_declaration(void **state)
{
	static const struct kt_scheduler sched = {
		.name = "s", .binary = "scx_s",
		.flags = { { .name = "a" }, { .name = "b", .requires = { "a" } }, { .name = "c" } },
	};
	static const struct kt_test_def def = {
		.name = "t", .fn = no_body, .scheduler = &sched, .min_llcs = 2, .max_cpus = 16,
		.requires_smt = true, .excluded_flags = { "c" },
	};
	static const struct kt_test_def neg = {
		.name = "n", .fn = no_body, .scheduler = &sched, .expect_detail = "stall",
	};
	struct kt_gauntlet_test t;
	struct kt_gauntlet_axes a = { 0 };
	struct kt_variant *v;
	size_t n, filtered;

	kt_gauntlet_from_def(&def, &t);
	assert_string_equal(t.name, "t");
	assert_int_equal(t.n_flags, 3);
	assert_string_equal(t.scheduler, "scx_s");
	assert_true(t.eevdf_twin);
	assert_ptr_equal(t.user, &def);
	expand(&t, 1, &a, &v, &n, &filtered);
	/* smt-2llc and smt-3llc; profiles default, a, a+b (c excluded) */
	assert_int_equal(n, 2 * 3);
	assert_string_equal(v[0].name, "t/smt-2llc/default");
	assert_string_equal(v[2].name, "t/smt-2llc/a+b");
	kt_variants_free(v, n);
	/* a negative test gets no EEVDF twin: it is meant to fail */
	kt_gauntlet_from_def(&neg, &t);
	assert_false(t.eevdf_twin);
}

int main(void)
{
	char cache[] = "/tmp/ktstr-gauntlet-cache-XXXXXX";
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_presets_one_profile),
		cmocka_unit_test(test_profiles_follow_dependencies),
		cmocka_unit_test(test_constraints_filter_before_boot),
		cmocka_unit_test(test_axes_narrow_and_multiply),
		cmocka_unit_test(test_unknown_preset),
		cmocka_unit_test(test_shards_disjoint_complete_balanced),
		cmocka_unit_test(test_shard_parse),
		cmocka_unit_test(test_budget_covers_buckets_cheaply),
		cmocka_unit_test(test_estimate_fit),
		cmocka_unit_test(test_eta),
		cmocka_unit_test(test_timeout_grows_with_cpus),
		cmocka_unit_test(test_estimate_learns_from_runs_dir),
		cmocka_unit_test(test_from_declaration),
	};

	/* boot-time records (the default timeout's scale) go to a fresh cache */
	if (!mkdtemp(cache) || setenv("XDG_CACHE_HOME", cache, 1))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	kt_rm_rf(cache);
	return rc;
}
