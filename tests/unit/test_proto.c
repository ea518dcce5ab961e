/*
 * The host <-> guest protocol, both ends, without a VM: every mode's
 * request survives emit -> parse -> emit unchanged; another version, a
 * truncated or corrupted text and each kind of bad field is a clear
 * one-line error (and never a crash: every prefix and many corruptions of
 * a real request are fed to the parser); the guest's refusal and a
 * result of another version reach the host as a protocol error with its
 * own exit code; and the one verdict function decides every case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/guest.h"
#include "proto/proto.h"
#include "runner/runner.h"
#include "util/util.h"

/* A request with every field of its mode set. */
static void full_request(enum kt_proto_mode mode, struct kt_request *r)
{
	static const char *const args[] = { "--slice-us", "500" };

	memset(r, 0, sizeof(*r));
	r->mode = mode;
	if (mode == KT_MODE_CMD) {
		assert_int_equal(kt_strlist_add(&r->argv, "sh"), 0);
		assert_int_equal(kt_strlist_add(&r->argv, "-c"), 0);
		assert_int_equal(kt_strlist_add(&r->argv, "echo \"quoted\"\tand tabbed"), 0);
		return;
	}
	if (mode == KT_MODE_SHELL)
		return;
	r->name = strdup(mode == KT_MODE_TEST ? "fault_stall_cgroup" : "steady");
	assert_int_equal(kt_strlist_add(&r->flags, "slice1ms"), 0);
	assert_int_equal(kt_strlist_add(&r->flags, "llc"), 0);
	r->duration_ms = 1500;
	r->workers = 3;
	r->settle_ms = 250;
	r->work_type = strdup("Bursty");
	r->checks = kt_assert_default_checks();
	r->checks.max_gap_ms = KT_SET(750);
	r->checks.llc_locality = KT_SET(1);
	assert_int_equal(kt_request_set_sched(r, "/include/scx_fixture", args, 2, "fixture"), 0);
	r->sched.attach_timeout_ms = 4000;
	assert_int_equal(kt_strlist_add(&r->sched.sysctls, "kernel.sched_rr_timeslice_ms=5"), 0);
}

static void assert_strlist_equal(const struct kt_strlist *a, const struct kt_strlist *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

static void test_round_trip_every_mode(void **state)
{
	for (enum kt_proto_mode m = KT_MODE_CMD; m <= KT_MODE_SCENARIO; m++) {
		struct kt_request in, out;
		KT_AUTOFREE char *text = NULL;
		KT_AUTOFREE char *again = NULL;
		KT_AUTOFREE char *err = NULL;

		full_request(m, &in);
		text = kt_request_emit(&in);
		assert_non_null(text);
		assert_int_equal(kt_request_parse(text, strlen(text), &out, &err), 0);
		assert_null(err);
		assert_int_equal(out.mode, m);
		assert_strlist_equal(&in.argv, &out.argv);
		assert_strlist_equal(&in.flags, &out.flags);
		if (in.name)
			assert_string_equal(in.name, out.name);
		assert_int_equal(in.duration_ms, out.duration_ms);
		assert_int_equal(in.workers, out.workers);
		assert_int_equal(in.settle_ms, out.settle_ms);
		assert_int_equal(in.has_sched, out.has_sched);
		if (m >= KT_MODE_TEST) {
			assert_string_equal(out.work_type, "Bursty");
			assert_true(out.checks.max_gap_ms.set);
			assert_true(out.checks.max_gap_ms.v == 750);
			assert_true(out.checks.llc_locality.set && out.checks.llc_locality.v == 1);
			assert_true(out.checks.not_starved.set);	/* the defaults came along */
			assert_string_equal(out.sched.binary, "/include/scx_fixture");
			assert_string_equal(out.sched.ops, "fixture");
			assert_int_equal(out.sched.attach_timeout_ms, 4000);
			assert_strlist_equal(&in.sched.args, &out.sched.args);
			assert_strlist_equal(&in.sched.sysctls, &out.sched.sysctls);
		}
		/* and what the parser read emits the same text */
		again = kt_request_emit(&out);
		assert_string_equal(text, again);
		kt_request_release(&in);
		kt_request_release(&out);
	}
}

/* The version goes out with every request, and nothing else is assumed. */
static void test_emitted_minimum(void **state)
{
	struct kt_request r = { .mode = KT_MODE_SHELL }, out;
	KT_AUTOFREE char *text = kt_request_emit(&r);
	KT_AUTOFREE char *err = NULL;

	assert_string_equal(text, "{\"version\":1,\"mode\":\"shell\"}");
	assert_int_equal(kt_request_parse(text, strlen(text), &out, &err), 0);
	assert_int_equal(out.mode, KT_MODE_SHELL);
	kt_request_release(&out);
	/* a scenario without a scheduler says so by leaving it out */
	r = (struct kt_request){ .mode = KT_MODE_SCENARIO, .name = (char *)"steady" };
	free(text);
	text = kt_request_emit(&r);
	assert_null(strstr(text, "scheduler"));
	assert_non_null(strstr(text, "\"scenario\":\"steady\""));
}

/* Parse `text`; expect failure `e` with a one-line message containing `want`. */
static void expect_bad(const char *text, int e, const char *want)
{
	struct kt_request r;
	KT_AUTOFREE char *err = NULL;
	int got = kt_request_parse(text, strlen(text), &r, &err);

	if (got != e || !err || !strstr(err, want) || strchr(err, '\n'))
		fail_msg("request %s: got %d '%s', want %d with '%s'", text, got, err ? err : "(none)",
			 e, want);
	/* nothing is left in the struct to leak */
	assert_null(r.name);
	assert_int_equal(r.argv.n, 0);
	assert_false(r.has_sched);
}

static void test_bad_versions(void **state)
{
	expect_bad("{\"version\":2,\"mode\":\"shell\"}", -EPROTO,
		   "request is protocol version 2, this binary speaks version 1");
	expect_bad("{\"version\":0,\"mode\":\"shell\"}", -EPROTO, "protocol version 0");
	expect_bad("{\"version\":-1,\"mode\":\"shell\"}", -EPROTO, "protocol version -1");
	expect_bad("{\"mode\":\"shell\"}", -EPROTO, "request has no protocol version");
	/* an unversioned request of the old form is refused the same way */
	expect_bad("{\"mode\":\"cmd\",\"argv\":[\"true\"]}", -EPROTO, "no protocol version");
	expect_bad("{\"version\":\"1\",\"mode\":\"shell\"}", -EINVAL,
		   "request field 'version' must be an integer");
	expect_bad("{\"version\":1.0,\"mode\":\"shell\"}", -EINVAL, "'version' must be an integer");
}

static void test_bad_fields(void **state)
{
	expect_bad("", -EINVAL, "request is empty");
	expect_bad("[1,2]", -EINVAL, "request is not a JSON object");
	expect_bad("{\"version\":1}", -EINVAL, "request has no 'mode' string");
	expect_bad("{\"version\":1,\"mode\":\"dance\"}", -EINVAL, "request mode 'dance' is unknown");
	expect_bad("{\"version\":1,\"mode\":\"shell\",\"colour\":1}", -EINVAL,
		   "request field 'colour' is unknown");
	expect_bad("{\"version\":1,\"mode\":\"shell\",\"argv\":[\"x\"]}", -EINVAL,
		   "request field 'argv' does not belong to mode shell");
	expect_bad("{\"version\":1,\"mode\":\"cmd\",\"test\":\"t\",\"argv\":[\"x\"]}", -EINVAL,
		   "field 'test' does not belong to mode cmd");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"test\":\"t\"}", -EINVAL,
		   "field 'test' does not belong to mode scenario");
	expect_bad("{\"version\":1,\"mode\":\"cmd\"}", -EINVAL, "request of mode cmd has no 'argv'");
	expect_bad("{\"version\":1,\"mode\":\"cmd\",\"argv\":[]}", -EINVAL, "'argv' is empty");
	expect_bad("{\"version\":1,\"mode\":\"cmd\",\"argv\":[\"ls\",3]}", -EINVAL,
		   "request field 'argv' item 1 is not a string");
	expect_bad("{\"version\":1,\"mode\":\"cmd\",\"argv\":\"ls\"}", -EINVAL,
		   "'argv' must be an array of strings");
	expect_bad("{\"version\":1,\"mode\":\"test\"}", -EINVAL, "request of mode test has no 'test'");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"\"}", -EINVAL,
		   "request field 'scenario' is empty");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":7}", -EINVAL,
		   "request field 'scenario' must be a string");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"workers\":\"2\"}",
		   -EINVAL, "request field 'workers' must be an integer from 0 to 4096");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"duration_ms\":-5}",
		   -EINVAL, "request field 'duration_ms' must be an integer");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"workers\":100000}",
		   -EINVAL, "'workers' must be an integer from 0 to 4096");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"assert\":{\"max_gapms\":5}}",
		   -EINVAL, "request field 'assert' has an unknown check");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"scheduler\":{}}",
		   -EINVAL, "request field 'scheduler' has no 'binary' string");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"scheduler\":"
		   "{\"binary\":\"/x\",\"nice\":1}}", -EINVAL, "request field 'scheduler.nice' is unknown");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"scheduler\":"
		   "{\"binary\":\"/x\",\"args\":[1]}}", -EINVAL, "'scheduler.args' item 0 is not a string");
	expect_bad("{\"version\":1,\"mode\":\"scenario\",\"scenario\":\"s\",\"scheduler\":\"scx\"}",
		   -EINVAL, "request field 'scheduler' must be an object");
	expect_bad("{\"version\":1,\"version\":1,\"mode\":\"shell\"}", -EINVAL, "duplicate");
}

/* A real request, cut short at every byte: each prefix is a clear error. */
static void test_truncated_requests(void **state)
{
	struct kt_request r;
	KT_AUTOFREE char *text = NULL;

	full_request(KT_MODE_TEST, &r);
	text = kt_request_emit(&r);
	kt_request_release(&r);
	for (size_t len = 0; len < strlen(text); len++) {
		KT_AUTOFREE char *err = NULL;
		int e = kt_request_parse(text, len, &r, &err);

		if (!e || !err || strchr(err, '\n'))
			fail_msg("a request cut at byte %zu: %d '%s'", len, e, err ? err : "(none)");
	}
}

/*
 * Corruptions of a real request: every byte replaced by characters that
 * break JSON or change a value's type.  Each either still parses (the
 * byte was inside a string) or is a one-line error; none crashes or
 * leaks (the sanitizer lane runs this too).
 */
static void test_corrupt_requests(void **state)
{
	static const char subst[] = { '"', '{', '}', ']', ',', ':', '\0', '\\', 'x', '9', '-' };
	struct kt_request r;
	KT_AUTOFREE char *text = NULL;
	size_t n = 0, refused = 0;

	full_request(KT_MODE_SCENARIO, &r);
	text = kt_request_emit(&r);
	kt_request_release(&r);
	n = strlen(text);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(subst); k++) {
			KT_AUTOFREE char *copy = strdup(text);
			KT_AUTOFREE char *err = NULL;
			int e;

			if (copy[i] == subst[k])
				continue;
			copy[i] = subst[k];
			e = kt_request_parse(copy, n, &r, &err);
			if (e) {
				refused++;
				if (!err || strchr(err, '\n'))
					fail_msg("corruption at byte %zu: no one-line error", i);
			} else {
				assert_null(err);
				kt_request_release(&r);
			}
		}
	/* most corruptions must be caught, not silently accepted */
	assert_true(refused > n * sizeof(subst) / 2);
}

/* ---- the result and the guest's refusal ------------------------------------- */

static void test_result_versions(void **state)
{
	json_t *res = NULL;
	KT_AUTOFREE char *err = NULL;

	assert_int_equal(kt_proto_result_parse("{\"version\":1,\"verdict\":\"pass\"}", &res, &err), 0);
	assert_non_null(res);
	json_decref(res);
	assert_int_equal(kt_proto_result_parse("{\"version\":2,\"verdict\":\"pass\"}", &res, &err),
			 -EPROTO);
	assert_null(res);
	assert_non_null(strstr(err, "guest speaks protocol version 2, this host version 1"));
	free(err);
	assert_int_equal(kt_proto_result_parse("{\"verdict\":\"pass\"}", &res, &err), -EINVAL);
	assert_non_null(strstr(err, "malformed result from the guest: no protocol version"));
	free(err);
	assert_int_equal(kt_proto_result_parse("{\"version\":1,\"verd", &res, &err), -EINVAL);
	assert_non_null(strstr(err, "malformed result from the guest"));
	free(err);
	assert_int_equal(kt_proto_result_parse("\"just a string\"", &res, &err), -EINVAL);
	assert_non_null(strstr(err, "malformed result from the guest"));
	free(err);
	assert_int_equal(kt_proto_result_parse("{\"version\":\"1\"}", &res, &err), -EINVAL);
	assert_non_null(strstr(err, "no protocol version"));
	free(err);
	err = NULL;
	assert_int_equal(kt_proto_result_parse(NULL, &res, &err), -EINVAL);
}

/* The guest end: a request file of another version is refused, and the
 * host reads that refusal as a protocol error, not a test failure. */
static void test_guest_refuses_other_version(void **state)
{
	char dir[] = "/tmp/ktstr-unit-proto-XXXXXX";
	KT_AUTOFREE char *path = NULL;
	KT_AUTOFREE char *text = NULL;
	KT_AUTOFREE char *err = NULL;
	json_t *result = kt_proto_result_new(), *res = NULL;
	struct kt_request req;

	assert_non_null(mkdtemp(dir));
	path = kt_asprintf("%s/request.json", dir);
	assert_int_equal(kt_write_whole(path, "{\"version\":7,\"mode\":\"shell\"}", 28, 0644), 0);
	assert_int_equal(kt_guest_load_request(path, &req, result), -EPROTO);
	assert_true(json_is_true(json_object_get(result, "protocol_error")));
	assert_non_null(strstr(json_string_value(json_object_get(result, "error")),
			       "request is protocol version 7"));
	text = json_dumps(result, JSON_COMPACT);
	assert_int_equal(kt_proto_result_parse(text, &res, &err), -EPROTO);
	assert_non_null(strstr(err, "guest refused the request: request is protocol version 7"));
	json_decref(result);

	/* a malformed request is a bad request, not a protocol error */
	result = kt_proto_result_new();
	assert_int_equal(kt_write_whole(path, "{\"version\":1,\"mode\":", 20, 0644), 0);
	assert_int_equal(kt_guest_load_request(path, &req, result), -EINVAL);
	assert_null(json_object_get(result, "protocol_error"));
	assert_non_null(strstr(json_string_value(json_object_get(result, "error")),
			       "bad request: request is not valid JSON"));
	json_decref(result);

	/* and a missing one says which file */
	result = kt_proto_result_new();
	unlink(path);
	assert_int_equal(kt_guest_load_request(path, &req, result), -ENOENT);
	assert_non_null(strstr(json_string_value(json_object_get(result, "error")),
			       "cannot read the request"));
	json_decref(result);
	kt_rm_rf(dir);
}

/* ---- the verdict ---------------------------------------------------------------- */

static enum kt_verdict verdict_of(const char *guest_text, const struct kt_expect *x, char **reason)
{
	json_t *g = json_loads(guest_text, 0, NULL);
	enum kt_verdict v;

	assert_non_null(g);
	v = kt_proto_verdict(g, x, reason);
	json_decref(g);
	return v;
}

/* The verdict of guest_text under x is want, explained by a reason
 * containing reason_has (NULL: no reason at all). */
static void verdict_is(const char *guest_text, const struct kt_expect *x, enum kt_verdict want,
		       const char *reason_has)
{
	KT_AUTOFREE char *why = NULL;
	enum kt_verdict got = verdict_of(guest_text, x, &why);

	if (got != want || (reason_has ? !why || !strstr(why, reason_has) : why != NULL))
		fail_msg("%s: %s '%s', want %s '%s'", guest_text, kt_verdict_name(got),
			 why ? why : "(none)", kt_verdict_name(want), reason_has ? reason_has : "(none)");
}

static void test_verdict_one_place(void **state)
{
	static const char pass[] = "{\"verdict\":\"pass\",\"result\":{\"details\":[]}}";
	static const char fail[] = "{\"verdict\":\"fail\",\"result\":{\"details\":"
				   "[\"cg_0: worker 3 stuck for 2100 ms\",\"later\"]}}";
	static const char skip[] = "{\"verdict\":\"skip\",\"result\":{\"details\":[\"needs SMT\"]}}";
	static const char error[] = "{\"error\":\"cannot set up cgroups: no cpuset\"}";
	static const char odd[] = "{\"verdict\":\"maybe\"}";
	static const char nonstr[] = "{\"verdict\":\"fail\",\"result\":{\"details\":[42]}}";
	struct kt_expect none = { 0 }, any_fail = { .fail = true },
			 stuck = { .fail = true, .detail = "stuck" },
			 spread = { .fail = true, .detail = "spread" };

#define VERDICT(text, x, want, reason_has) verdict_is(text, x, want, reason_has)
	VERDICT(pass, &none, KT_PASS, NULL);
	VERDICT(pass, NULL, KT_PASS, NULL);
	VERDICT(fail, &none, KT_FAIL, "worker 3 stuck");
	VERDICT(skip, &none, KT_SKIP, "needs SMT");
	VERDICT(skip, &stuck, KT_SKIP, "needs SMT");
	VERDICT(error, &none, KT_ERROR, "cannot set up cgroups");
	VERDICT(error, &any_fail, KT_ERROR, "cannot set up cgroups");
	VERDICT(odd, &none, KT_ERROR, "unknown verdict 'maybe'");
	VERDICT("{}", &none, KT_ERROR, "guest result has no verdict");
	/* expected failures: pass only when the body failed, with the finding */
	VERDICT(fail, &any_fail, KT_PASS, "worker 3 stuck");
	VERDICT(fail, &stuck, KT_PASS, "worker 3 stuck");
	VERDICT(fail, &spread, KT_FAIL, "failed, but no finding mentions 'spread'");
	VERDICT(pass, &stuck, KT_FAIL, "expected the test to fail, but it passed");
	VERDICT(nonstr, &stuck, KT_FAIL, "no finding mentions 'stuck'");
#undef VERDICT
	assert_int_equal(kt_verdict_from_key("skip"), KT_SKIP);
	assert_int_equal(kt_verdict_from_key("bogus"), KT_ERROR);
	assert_int_equal(kt_verdict_from_key(NULL), KT_ERROR);
	assert_string_equal(kt_verdict_key(KT_FAIL), "fail");
	assert_string_equal(kt_verdict_name(KT_FAIL), "FAIL");
}

/* The host's side of a mismatch: an ERROR outcome flagged as a protocol
 * error, with the one-line reason, and a run exit code of its own. */
static void test_host_reports_mismatch(void **state)
{
	struct kt_job job = { .name = (char *)"steady" };
	struct kt_outcome o = { .doc = json_object() }, ok = { .doc = json_object() };
	struct kt_outcome both[2];

	kt_runner_judge(&job, strdup("{\"version\":3,\"verdict\":\"pass\"}"), NULL, &o);
	assert_int_equal(o.verdict, KT_ERROR);
	assert_true(o.proto_error);
	assert_non_null(strstr(o.reason, "guest speaks protocol version 3, this host version 1"));
	assert_string_equal(json_string_value(json_object_get(o.doc, "verdict")), "error");
	assert_int_equal(kt_runner_exit_code(&o, 1, false), KT_EXIT_PROTOCOL);

	kt_runner_judge(&job, strdup("{\"version\":1,\"verdict\":\"pass\",\"result\":"
				     "{\"summary\":\"cgroups 2\"}}"), NULL, &ok);
	assert_int_equal(ok.verdict, KT_PASS);
	assert_false(ok.proto_error);
	assert_string_equal(ok.summary, "cgroups 2");
	assert_int_equal(kt_runner_exit_code(&ok, 1, false), 0);
	assert_int_equal(kt_runner_exit_code(&ok, 1, true), KT_EXIT_CANT_WRITE);
	/* a mismatch outranks a failure: the results cannot be trusted at all */
	both[0] = ok;
	both[1] = o;
	both[0].verdict = KT_FAIL;
	assert_int_equal(kt_runner_exit_code(both, 2, false), KT_EXIT_PROTOCOL);
	kt_outcome_release(&o);
	kt_outcome_release(&ok);

	/* no result at all: the reason given is kept */
	memset(&o, 0, sizeof(o));
	o.doc = json_object();
	kt_runner_judge(&job, NULL, strdup("guest timed out (killed)"), &o);
	assert_int_equal(o.verdict, KT_ERROR);
	assert_false(o.proto_error);
	assert_string_equal(o.reason, "guest timed out (killed)");
	kt_outcome_release(&o);
}

/*
 * The one builder of a test declaration's request (test binaries and
 * their --gauntlet both use it): the profile's flags and arguments, the
 * scheduler's sysctls, checks merged defaults < scheduler < test, and the
 * ops name a $KTSTR_SCHEDULER override must not be held to.
 */
static void test_declaration_request(void **state)
{
	static const struct kt_scheduler sched = {
		.name = "fixture", .binary = "scx_fixture", .sched_args = { "--timeout-ms", "5000" },
		.assert = { .max_gap_ms = KT_SET(900), .max_spread_pct = KT_SET(30) },
		.flags = { { "slice1ms", { "--slice-us", "1000" } }, { "llc", { "--llc" } } },
		.sysctls = { "kernel.sched_rr_timeslice_ms=5" }, .attach_timeout_ms = 8000,
	};
	static const struct kt_test_def def = {
		.name = "fault_x", .scheduler = &sched, .workers_per_cgroup = 3, .settle_ms = 100,
		.assert = { .max_gap_ms = KT_SET(400) },
	};
	struct kt_request r;

	unsetenv("KTSTR_SCHEDULER");
	assert_int_equal(kt_runner_test_request(&def, &sched, 2u, "/opt/x/scx_fixture", 1.5, &r), 0);
	assert_int_equal(r.mode, KT_MODE_TEST);
	assert_string_equal(r.name, "fault_x");
	assert_int_equal(r.duration_ms, 1500);
	assert_int_equal(r.workers, 3);
	assert_int_equal(r.settle_ms, 100);
	assert_int_equal(r.flags.n, 1);
	assert_string_equal(r.flags.v[0], "llc");
	assert_true(r.checks.max_gap_ms.v == 400);	/* the test wins */
	assert_true(r.checks.max_spread_pct.v == 30);	/* then the scheduler */
	assert_true(r.checks.not_starved.set);		/* then the defaults */
	assert_true(r.has_sched);
	assert_string_equal(r.sched.binary, "/include/scx_fixture");
	assert_string_equal(r.sched.ops, "fixture");
	assert_int_equal(r.sched.args.n, 3);
	assert_string_equal(r.sched.args.v[0], "--timeout-ms");
	assert_string_equal(r.sched.args.v[2], "--llc");
	assert_int_equal(r.sched.sysctls.n, 1);
	assert_int_equal(r.sched.attach_timeout_ms, 8000);
	kt_request_release(&r);

	/* another binary in the declared one's place is not held to its ops name */
	{
		struct kt_host_env over = { .scheduler = "/bin/true" };

		assert_null(kt_runner_sched_ops(&sched, &over));
		over.scheduler_ops = "other";
		assert_string_equal(kt_runner_sched_ops(&sched, &over), "other");
		over.scheduler = NULL;
		assert_string_equal(kt_runner_sched_ops(&sched, &over), "fixture");
	}
	assert_int_equal(kt_runner_test_request(&def, &sched, 0, "/bin/true", 1, &r), 0);
	assert_string_equal(r.sched.binary, "/include/true");
	kt_request_release(&r);

	/* not found (or a host run): no scheduler in the request, flags still named */
	assert_int_equal(kt_runner_test_request(&def, &sched, 1u, NULL, 1, &r), 0);
	assert_false(r.has_sched);
	assert_string_equal(r.flags.v[0], "slice1ms");
	kt_request_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_mode),
		cmocka_unit_test(test_emitted_minimum),
		cmocka_unit_test(test_bad_versions),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_truncated_requests),
		cmocka_unit_test(test_corrupt_requests),
		cmocka_unit_test(test_result_versions),
		cmocka_unit_test(test_guest_refuses_other_version),
		cmocka_unit_test(test_verdict_one_place),
		cmocka_unit_test(test_host_reports_mismatch),
		cmocka_unit_test(test_declaration_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
