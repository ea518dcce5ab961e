/*
 * The runner's outputs for CI: a failed outcome's TAP diagnostics and JUnit
 * failure carry the whole verdict (every detail, the scheduler's reason,
 * the timeline, the console tail), as the terminal report does; result
 * paths that cannot be written are found before a run.  Outcomes are built
 * by hand here; nothing boots.
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

#include "runner/runner.h"
#include "util/util.h"

/* A failed test as the guest would report it. */
static void failed_outcome(struct kt_job *job, struct kt_outcome *o)
{
	json_t *guest = json_pack(
		"{s:{s:[s,s,s]},s:[{s:f,s:s},{s:f,s:s}],s:{s:b,s:s,s:s,s:s}}", "result", "details",
		"cg_0: worker 3 stuck for 2100 ms (limit 2000)", "cg_1: spread 40.0 % (limit 15 %)",
		"a line with \"quotes\", a tab\there and a bell \a", "timeline", "at_ms", 12.5,
		"event", "cgroup cg_0 created", "at_ms", 2100.0, "event", "worker 3 stuck",
		"scheduler_diag", "died", 1, "reason", "scheduler ejected: runnable task stall",
		"exit_report", "EXIT: runnable task stall (fixture)", "output_tail", "loader: bye");

	memset(job, 0, sizeof(*job));
	memset(o, 0, sizeof(*o));
	job->name = strdup("fault_stall/slice1ms");
	assert_int_equal(kt_strlist_add(&job->request.flags, "slice1ms"), 0);
	job->topo = (struct kt_topo_spec){ .numa_nodes = 1, .llcs = 2, .cores = 2, .threads = 1 };
	o->verdict = KT_FAIL;
	o->reason = strdup("cg_0: worker 3 stuck for 2100 ms (limit 2000)");
	o->summary = strdup("cgroups 2, workers 4");
	o->wall_s = 7.5;
	o->doc = json_pack("{s:s,s:o,s:s}", "topology", "1n2l2c1t", "guest", guest, "console_tail",
			   "[    2.1] sched_ext: BPF scheduler \"fixture\" disabled\n\x1b[0mlast line");
}

static char *tap_of(const struct kt_job *job, const struct kt_outcome *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	kt_runner_tap(m, job, o, 1);
	fclose(m);
	return text;
}

static void test_tap_carries_whole_verdict(void **state)
{
	struct kt_job job;
	struct kt_outcome o;
	KT_AUTOFREE char *tap = NULL;

	failed_outcome(&job, &o);
	tap = tap_of(&job, &o);
	assert_non_null(strstr(tap, "not ok 1 - fault_stall/slice1ms\n  ---\n"));
	/* every detail, once as data and once in the printed report */
	assert_non_null(strstr(tap, "    - \"cg_1: spread 40.0 % (limit 15 %)\""));
	assert_non_null(strstr(tap, "    - \"a line with \\\"quotes\\\", a tab\\there and a bell \\x07\""));
	assert_non_null(strstr(tap, "    reason: \"scheduler ejected: runnable task stall\""));
	assert_non_null(strstr(tap, "    exit_report: \"EXIT: runnable task stall (fixture)\""));
	assert_non_null(strstr(tap, "    - \"+2100.0 ms  worker 3 stuck\""));
	assert_non_null(strstr(tap, "  output: |\n    FAIL  fault_stall/slice1ms [1n2l2c1t]"));
	assert_non_null(strstr(tap, "\n      cg_1: spread 40.0 % (limit 15 %)\n"));
	assert_non_null(strstr(tap, "last line\n  ...\n"));
	/* no raw control characters reach the YAML (the bell, the escape) */
	for (const char *c = tap; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n');
	kt_outcome_release(&o);
	kt_job_release(&job);
}

static void test_junit_carries_whole_verdict(void **state)
{
	struct kt_job job;
	struct kt_outcome o;
	char path[] = "/tmp/ktstr-unit-junit-XXXXXX";
	int fd = mkstemp(path);
	KT_AUTOFREE char *xml = NULL;

	assert_true(fd >= 0);
	close(fd);
	failed_outcome(&job, &o);
	assert_int_equal(kt_runner_junit(path, &job, &o, 1, "suite"), 0);
	assert_int_equal(kt_read_file(path, &xml, NULL), 0);
	unlink(path);
	assert_non_null(strstr(xml, "<failure message=\"cg_0: worker 3 stuck for 2100 ms (limit 2000)\""));
	assert_non_null(strstr(xml, "cg_1: spread 40.0 % (limit 15 %)"));
	assert_non_null(strstr(xml, "scheduler reason: scheduler ejected: runnable task stall"));
	assert_non_null(strstr(xml, "+  2100.0 ms  worker 3 stuck"));
	assert_non_null(strstr(xml, "sched_ext: BPF scheduler &quot;fixture&quot; disabled"));
	kt_outcome_release(&o);
	kt_job_release(&job);
}

static char *line_of(const struct kt_job *job, const struct kt_outcome *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	kt_runner_print(m, job, o, false);
	fclose(m);
	return text;
}

/* The verdict line says when the host slowed the guest down, and how much. */
static void test_verdict_line_names_host_load(void **state)
{
	struct kt_job job;
	struct kt_outcome o;
	char *line;

	failed_outcome(&job, &o);
	o.host_wait_pct = -1;		/* unknown: nothing said */
	line = line_of(&job, &o);
	assert_null(strstr(line, "host"));
	free(line);
	o.host_wait_pct = 10;		/* a quiet host: nothing said */
	line = line_of(&job, &o);
	assert_null(strstr(line, "host"));
	free(line);
	o.host_wait_pct = 31.6;
	line = line_of(&job, &o);
	assert_non_null(strstr(line, "[host busy: QEMU waited 32 % of its time for a CPU]\n"));
	free(line);
	o.host_wait_pct = 71;
	line = line_of(&job, &o);
	assert_non_null(strstr(line, "[host overloaded: QEMU waited 71 % of its time for a CPU; "
				     "timing checks had little power"));
	/* on the verdict line itself, not among the details below it */
	assert_true(strstr(line, "host overloaded") < strchr(line, '\n'));
	free(line);
	kt_outcome_release(&o);
	kt_job_release(&job);
}

static void test_output_paths_checked(void **state)
{
	char dir[] = "/tmp/ktstr-unit-out-XXXXXX";
	KT_AUTOFREE char *file = NULL, *sub = NULL, *under = NULL;

	assert_non_null(mkdtemp(dir));
	file = kt_asprintf("%s/f", dir);
	sub = kt_asprintf("%s/a/b", dir);
	under = kt_asprintf("%s/f/x.json", dir);
	assert_int_equal(kt_write_whole(file, "", 0, 0644), 0);
	assert_int_equal(kt_runner_check_output(file, false), 0);
	assert_int_equal(kt_runner_check_output(dir, false), -EISDIR);
	assert_int_equal(kt_runner_check_output(under, false), -ENOTDIR);
	assert_int_equal(kt_runner_check_output("/nonexistent-ktstr/dir/x.json", false), -ENOENT);
	assert_int_equal(kt_runner_check_output(sub, true), 0);	/* made, like mkdir -p */
	assert_int_equal(kt_runner_check_output(under, true), -ENOTDIR);
	kt_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_carries_whole_verdict),
		cmocka_unit_test(test_junit_carries_whole_verdict),
		cmocka_unit_test(test_output_paths_checked),
		cmocka_unit_test(test_verdict_line_names_host_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
