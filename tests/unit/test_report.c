/*
 * The HTML report's structure from hand-made results: self-contained (no
 * scripts, links or external sources), the verdict matrix coloured by
 * verdict, failures before passes, one timeline per result with the
 * scheduler's death, worker gaps and run-queue samples when present, and
 * every text escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_json.h"
#include "report/report.h"

static json_t *doc(const char *name, const char *preset, const char *profile, const char *verdict)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:f},"
			 "s:{s:f,s:{s:f,s:f},s:[{s:f,s:s},{s:f,s:s}],s:{s:[s],s:{s:f,s:s,s:i}}}}",
			 "schema", "ktstr-result/1", "name", name, "topology", "1n2l2c1t", "scheduler",
			 "scx_x", "verdict", verdict, "variant", "test", "steady", "preset", preset,
			 "profile", profile, "kernel", "7.2", "timings", "wall_s", 5.0, "guest",
			 "guest_init_ms", 1000.0, "timings", "setup_ms", 1100.0, "run_ms", 2000.0,
			 "timeline", "at_ms", 40.0, "event", "scheduler attached (pid 7)", "at_ms",
			 1500.0, "event", "step 1: <hold> & wait", "result", "details",
			 "cg_0: spread 40 % > 15 %", "stats", "worst_gap_ms", 300.0, "worst_gap_worker",
			 "cg_0/worker 1", "worst_gap_cpu", 1);
}

static char *render(json_t *docs)
{
	/* static: the stream writes them after this frame would be gone, as far
	 * as the compiler's dangling-pointer analysis can tell */
	static char *text;
	static size_t len;
	FILE *f = open_memstream(&text, &len);

	kt_report_write(f, docs, "t <&> report");
	fclose(f);
	return text;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_structure(void **state)
{
	json_t *docs = json_array();
	char *html;
	const char *fail_sec, *pass_sec;

	json_array_append_new(docs, doc("steady/tiny-2llc/default", "tiny-2llc", "default", "pass"));
	json_array_append_new(docs, doc("steady/smt-2llc/default", "smt-2llc", "default", "fail"));
	json_array_append_new(docs, doc("steady/tiny-2llc/fast", "tiny-2llc", "fast", "skip"));
	html = render(docs);

	assert_true(!strncmp(html, "<!DOCTYPE html>", 15));
	assert_non_null(strstr(html, "</html>"));
	/* self-contained */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, " src="));
	assert_null(strstr(html, "url("));
	assert_int_equal(count(html, "http"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
	/* matrix: 2 rows x 2 presets, cells by verdict, linking to their sections */
	assert_non_null(strstr(html, "<table class=\"matrix\">"));
	assert_int_equal(count(html, "<th class=\"row\">"), 2);
	assert_int_equal(count(html, "<th class=\"col\">"), 2);
	assert_int_equal(count(html, "<td class=\"pass\">"), 1);
	assert_int_equal(count(html, "<td class=\"fail\">"), 1);
	assert_int_equal(count(html, "<td class=\"skip\">"), 1);
	assert_int_equal(count(html, "<td class=\"none\">"), 1);
	assert_non_null(strstr(html, "href=\"#steady_smt_2llc_default\""));
	assert_non_null(strstr(html, "id=\"steady_smt_2llc_default\""));
	/* failures first */
	fail_sec = strstr(html, "<span class=\"badge fail\">");
	pass_sec = strstr(html, "<span class=\"badge pass\">");
	assert_non_null(fail_sec);
	assert_non_null(pass_sec);
	assert_true(fail_sec < pass_sec);
	/* one timeline each, events numbered and coloured by kind */
	assert_int_equal(count(html, "<svg class=\"timeline\""), 3);
	assert_int_equal(count(html, "</svg>"), 3);
	assert_non_null(strstr(html, "<g class=\"ev-sched\">"));
	assert_non_null(strstr(html, "<g class=\"ev-op\">"));
	assert_non_null(strstr(html, "worst gap 300 ms: cg_0/worker 1 on CPU 1"));
	assert_non_null(strstr(html, "has no per-worker progress samples"));
	/* escaping */
	assert_non_null(strstr(html, "step 1: &lt;hold&gt; &amp; wait"));
	assert_null(strstr(html, "<hold>"));
	assert_non_null(strstr(html, "<title>t &lt;&amp;&gt; report</title>"));
	free(html);
	json_decref(docs);
}

static void test_workers_runqueues_and_death(void **state)
{
	json_t *docs = json_array(), *d = doc("steady/tiny-2llc/stall", "tiny-2llc", "stall", "fail");
	json_t *g = json_object_get(d, "guest");
	char *html;

	json_object_set_new(g, "workers",
			    json_pack("[{s:s,s:[[f,f],[f,f],[f,f]],s:[[f,f]]}]", "name", "cg_0/w0",
				      "samples", 0.0, 0.0, 1000.0, 50.0, 2000.0, 60.0, "gaps", 1200.0,
				      1900.0));
	json_object_set_new(g, "monitor",
			    json_pack("{s:{s:f,s:f,s:[[i,i],[i,i],[i,i]]}}", "series", "t0_ms", 1100.0,
				      "period_ms", 100.0, "nr_running", 1, 0, 2, 1, 5, 0));
	json_object_set_new(g, "scheduler_diag",
			    json_pack("{s:b,s:f,s:s}", "died", 1, "died_at_ms", 2900.0, "reason",
				      "runnable task stall"));
	json_array_append_new(docs, d);
	html = render(docs);
	assert_int_equal(count(html, "<rect class=\"gap\""), 1);
	assert_non_null(strstr(html, "<title>gap 700 ms at 1200 ms</title>"));
	assert_int_equal(count(html, "<polyline class=\"progress\""), 1);
	/* 3 samples x 2 CPUs, shaded by how many were runnable */
	assert_int_equal(count(html, "<rect class=\"rq"), 6);
	assert_int_equal(count(html, "<rect class=\"rq4\""), 1);
	/* death drawn on the init-relative clock: 2900 - 1000 ms */
	assert_non_null(strstr(html, "scheduler died at 1900 ms"));
	assert_non_null(strstr(html, "scheduler diagnosis"));
	assert_null(strstr(html, "has no per-worker progress samples"));
	free(html);
	json_decref(docs);
}

/* The series as the guest writes them (monitor/json.c, scenario/progress.c):
 * rows at their own times, unknown cells null, [at, units, cpu_ms] points. */
static void test_series_as_written(void **state)
{
	json_t *docs = json_array(), *d = doc("steady/tiny-2llc/default", "tiny-2llc", "default", "pass");
	json_t *g = json_object_get(d, "guest");
	struct kt_mon_series ser = { 0 };
	struct kt_mon_sample *s = calloc(1, sizeof(*s));
	char *html;

	assert_non_null(s);
	/* three samples, the second late (the sampler fell behind), CPU 1 unknown once */
	for (int i = 0; i < 3; i++) {
		kt_mon_sample_init(s);
		s->t_ms = 5000.0 + (i == 0 ? 0 : i == 1 ? 300 : 400);
		s->ncpu = 2;
		s->cpus[0].nr_running = 1 + i;
		s->cpus[1].nr_running = i == 1 ? -1 : 4;
		assert_int_equal(kt_mon_series_feed(&ser, s), 0);
	}
	/* the timeline read 1000 ms when the monitor's clock read 5000 */
	json_object_set_new(g, "monitor", json_pack("{s:o}", "series", kt_mon_series_json(&ser, 100, 4000)));
	json_object_set_new(g, "workers",
			    json_pack("[{s:s,s:i,s:[[f,i,f],[f,i,f]],s:[]}]", "name", "cg_0/worker 0", "tid",
				      77, "samples", 1000.0, 10, 5.0, 1400.0, 90, 300.0, "gaps"));
	json_array_append_new(docs, d);
	html = render(docs);
	assert_int_equal(count(html, "<polyline class=\"progress\""), 1);
	assert_int_equal(count(html, "<rect class=\"rq"), 5);	/* 6 cells, one unknown */
	assert_non_null(strstr(html, "<title>cpu 0 at 1300 ms: 2 runnable</title>"));
	assert_non_null(strstr(html, "<title>cpu 1 at 1400 ms: 4 runnable</title>"));
	assert_null(strstr(html, "cpu 1 at 1300 ms"));
	assert_null(strstr(html, "no per-CPU run-queue series"));
	free(html);
	json_decref(docs);
	kt_mon_series_release(&ser);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_workers_runqueues_and_death),
		cmocka_unit_test(test_series_as_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
