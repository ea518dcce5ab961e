/*
 * Unit tests of the sched module's pure parts: /dev/kmsg records, the
 * sched_ext kernel-log accumulator fed with lines captured in the VM
 * (kernel 7.2: clean unregister, scx_bpf_error, watchdog stall), the
 * tracefs dump extraction, output tails and exit reports, the one-line
 * "why" and the formatted diagnosis.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "sched/sched_internal.h"

/* Records as /dev/kmsg returns them (one per read), from a 7.2 guest. */
static const char *const kmsg_stall[] = {
	"6,301,15885268,-;sched_ext: BPF scheduler \"fixture\" enabled\n",
	"3,302,19073350,-;sched_ext: BPF scheduler \"fixture\" disabled (runnable task stall)\n",
	"3,303,19075106,-;sched_ext: fixture: sh[133] failed to run for 2.660s\n",
	"4,304,19075268,c;   __scx_exit+0x4f/0x70\n",
	"4,305,19075405,c;   scx_watchdog_workfn+0x18e/0x240\n",
	"4,306,19075422,c;   process_one_work+0x19e/0x370\n",
	"6,307,19080000,-;random: crng reseeded\n",
};

static void feed(struct kt_sched_klog *k, const char *const *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct kt_kmsg_rec r;

		assert_int_equal(kt_kmsg_parse(recs[i], strlen(recs[i]), &r), 0);
		assert_int_equal(kt_sched_klog_feed(k, r.ts_us, r.text), 0);
	}
}

static void test_kmsg_parse(void **state)
{
	static const char rec[] = "3,302,19073350,-;a\\x09b \\x5c end\n SUBSYSTEM=cpu\n";
	struct kt_kmsg_rec r;

	assert_int_equal(kt_kmsg_parse(rec, sizeof(rec) - 1, &r), 0);
	assert_int_equal(r.level, 3);
	assert_int_equal(r.seq, 302);
	assert_int_equal(r.ts_us, 19073350);
	/* Escapes decoded, the dictionary line dropped. */
	assert_string_equal(r.text, "a b \\ end");
	assert_int_equal(kt_kmsg_parse("no header", 9, &r), -EINVAL);
}

static void test_klog_stall(void **state)
{
	struct kt_sched_klog k = { 0 };

	feed(&k, kmsg_stall, sizeof(kmsg_stall) / sizeof(kmsg_stall[0]));
	assert_true(k.enabled_seen);
	assert_true(k.disabled_seen);
	assert_int_equal(k.disabled_ts_us, 19073350);
	assert_string_equal(k.ops_name, "fixture");
	assert_string_equal(k.reason, "runnable task stall");
	assert_string_equal(k.disabled_line, "BPF scheduler \"fixture\" disabled (runnable task stall)");
	assert_string_equal(k.msg, "sh[133] failed to run for 2.660s");
	assert_non_null(k.backtrace.data);
	assert_string_equal(k.backtrace.data, "__scx_exit+0x4f/0x70\nscx_watchdog_workfn+0x18e/0x240\n"
					      "process_one_work+0x19e/0x370");
	kt_sched_klog_release(&k);
}

static void test_klog_error_and_second_disable(void **state)
{
	struct kt_sched_klog k = { 0 };

	kt_sched_klog_feed(&k, 1, "sched_ext: BPF scheduler \"fixture\" disabled (scx_bpf_error)");
	/* The BPF side prefixed its own name: only the kernel's prefix goes. */
	kt_sched_klog_feed(&k, 2, "sched_ext: fixture: fixture: injected exit after 500 ms");
	kt_sched_klog_feed(&k, 3, "unrelated line");
	kt_sched_klog_feed(&k, 4, "sched_ext: BPF scheduler \"other\" disabled (unregistered from user space)");
	kt_sched_klog_feed(&k, 5, "sched_ext: other: later message");
	assert_string_equal(k.reason, "scx_bpf_error");
	assert_string_equal(k.msg, "fixture: injected exit after 500 ms");
	assert_string_equal(k.ops_name, "fixture");
	assert_int_equal(k.disabled_ts_us, 1);
	assert_int_equal(k.backtrace.len, 0);
	kt_sched_klog_release(&k);
}

static void test_klog_other_lines(void **state)
{
	struct kt_sched_klog k = { 0 };

	kt_sched_klog_feed(&k, 1, "sched_ext: \"fixture\" does not implement cgroup cpu.weight");
	kt_sched_klog_feed(&k, 2, "   not a backtrace: nothing was disabled");
	assert_false(k.disabled_seen);
	assert_string_equal(k.other.data, "\"fixture\" does not implement cgroup cpu.weight");
	assert_int_equal(k.backtrace.len, 0);
	kt_sched_klog_release(&k);
}

static void test_trace_dump(void **state)
{
	static const char trace[] =
		"# tracer: nop\n"
		"#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
		"              sh-130     [000] dNh1.    15.862512: sched_ext_dump: fixture: root\n"
		"              sh-130     [000] dNh1.    15.863111: sched_ext_dump: sh[130] triggered exit kind 1025 on CPU 0:\n"
		"              sh-130     [000] dNh1.    15.863136: sched_ext_dump:   scx_bpf_error (fixture: injected exit after 500 ms)\n"
		"              sh-130     [000] dNh1.    15.863179: sched_ext_dump: \n"
		"              sh-130     [000] dNh1.    15.868658: sched_ext_dump:               SCX_EV_SELECT_CPU_FALLBACK:                0\n";
	char *dump = NULL;

	assert_int_equal(kt_sched_trace_dump_parse(trace, &dump), 0);
	assert_non_null(dump);
	assert_string_equal(dump, "fixture: root\nsh[130] triggered exit kind 1025 on CPU 0:\n"
				  "  scx_bpf_error (fixture: injected exit after 500 ms)\n\n"
				  "              SCX_EV_SELECT_CPU_FALLBACK:                0");
	free(dump);
	assert_int_equal(kt_sched_trace_dump_parse("# tracer: nop\n#\n", &dump), 0);
	assert_null(dump);
}

static void test_tail_and_exit_report(void **state)
{
	static const char out[] =
		"fixture: attached\n"
		"line a\n"
		"fixture: exited: runnable task stall: sh[133] failed to run for 2.660s\n"
		"fixture: exit kind=1026 code=0; enqueued=869\n"
		"bye\n";
	char *t = kt_sched_text_tail(out, strlen(out), 2, 4096);

	assert_string_equal(t, "fixture: exit kind=1026 code=0; enqueued=869\nbye");
	free(t);
	t = kt_sched_text_tail(out, strlen(out), 100, 8);
	assert_int_equal(strlen(t), 8);
	assert_string_equal(t, "=869\nbye");
	free(t);
	t = kt_sched_exit_report(out, 3);
	assert_string_equal(t, "fixture: exited: runnable task stall: sh[133] failed to run for 2.660s\n"
			       "fixture: exit kind=1026 code=0; enqueued=869");
	free(t);
	t = kt_sched_exit_report(out, 1);
	assert_string_equal(t, "fixture: exit kind=1026 code=0; enqueued=869");
	free(t);
	assert_null(kt_sched_exit_report("fixture: attached\nall good\n", 3));
}

/* The standard UEI report of tools/sched_ext schedulers: the EXIT line is
 * the report, whatever the dump before it says; the dump leaves the
 * output tail (the kernel's copy is shown on its own). */
static void test_uei_report(void **state)
{
	static const char out[] =
		"qmap: starting\n"
		"\nDEBUG DUMP\n"
		"================================================================================\n\n"
		"kworker/u8:1[55] triggered exit kind 1026:\n"
		"  runnable task stall (sh[133] failed to run for 5.1s)\n\n"
		"Backtrace:\n  __scx_exit+0x4f/0x70\n"
		"  SCX_EV_ENQ_SKIP_EXITING: 0\n"
		"\n================================================================================\n\n"
		"EXIT: runnable task stall (sh[133] failed to run for 5.1s)\n";
	size_t n = 0;
	char *t = kt_sched_exit_report(out, 3);

	assert_string_equal(t, "runnable task stall (sh[133] failed to run for 5.1s)");
	free(t);
	t = kt_sched_strip_uei_dump(out, strlen(out), &n);
	assert_non_null(t);
	assert_int_equal(n, strlen(t));
	assert_null(strstr(t, "__scx_exit"));
	assert_string_equal(t, "qmap: starting\n\n[sched_ext debug dump, 12 lines: shown under "
			       "\"sched_ext dump\"]\nEXIT: runnable task stall (sh[133] failed to run "
			       "for 5.1s)\n");
	free(t);
	assert_null(kt_sched_strip_uei_dump("no dump here\n", 13, NULL));
}

static void test_why(void **state)
{
	struct kt_sched_klog k = { 0 };
	char *w;

	feed(&k, kmsg_stall, sizeof(kmsg_stall) / sizeof(kmsg_stall[0]));
	w = kt_sched_why_format(&k, 1 << 8, "disabled", "", NULL);
	assert_string_equal(w, "scheduler ejected: runnable task stall (sh[133] failed to run for 2.660s)");
	free(w);
	kt_sched_klog_release(&k);

	kt_sched_klog_feed(&k, 1, "sched_ext: BPF scheduler \"fixture\" disabled (unregistered from BPF)");
	w = kt_sched_why_format(&k, -1, "disabled", "", "fixture: exited: unregistered from BPF: injected\nfixture: exit kind=65");
	assert_string_equal(w, "scheduler exited: unregistered from BPF; it reported: fixture: exited: unregistered from BPF: injected");
	free(w);
	kt_sched_klog_release(&k);

	w = kt_sched_why_format(NULL, 7 << 8, "disabled", NULL, NULL);
	assert_string_equal(w, "scheduler exited with status 7");
	free(w);
	w = kt_sched_why_format(NULL, SIGKILL, "disabled", NULL, "error: boom");
	assert_string_equal(w, "scheduler exited with signal 9 (Killed): error: boom");
	free(w);
	w = kt_sched_why_format(NULL, -1, "disabling", "fixture", NULL);
	assert_string_equal(w, "sched_ext state is disabling (ops fixture)");
	free(w);
}

static void test_diag_format(void **state)
{
	struct kt_sched_diag d = {
		.died = true,
		.died_at_ms = 16105.4,
		.kernel_log_ms = 16384.0,
		.reason = strdup("BPF scheduler \"fixture\" disabled (runnable task stall)\n"
				 "fixture: sh[165] failed to run for 2.544s"),
		.exit_report = strdup("fixture: exited: runnable task stall"),
		.output_tail = strdup("fixture: attached\nfixture: exited: runnable task stall"),
		.dump = NULL,
		.exit_status = 1 << 8,
	};
	char *t = kt_sched_diag_format(&d);

	assert_string_equal(t,
		"scheduler ejected at 16105 ms: runnable task stall (kernel log 16.384 s); process exited with status 1\n"
		"kernel:\n"
		"  BPF scheduler \"fixture\" disabled (runnable task stall)\n"
		"  fixture: sh[165] failed to run for 2.544s\n"
		"scheduler exit report:\n"
		"  fixture: exited: runnable task stall\n"
		"scheduler output (tail):\n"
		"  fixture: attached\n"
		"  fixture: exited: runnable task stall\n");
	free(t);
	kt_sched_diag_release(&d);
	assert_int_equal(d.exit_status, -1);
	assert_null(d.reason);

	d.died = false;
	d.exit_status = 0;
	d.output_tail = strdup("fixture: attached");
	t = kt_sched_diag_format(&d);
	assert_string_equal(t, "scheduler stayed attached until stopped; exited with status 0\n"
			       "scheduler output (tail):\n  fixture: attached\n");
	free(t);
	kt_sched_diag_release(&d);

	d.died = true;
	d.died_at_ms = 250;
	d.exit_status = 0;
	t = kt_sched_diag_format(&d);
	assert_string_equal(t, "scheduler exited with status 0 at 250 ms\n");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmsg_parse),
		cmocka_unit_test(test_klog_stall),
		cmocka_unit_test(test_klog_error_and_second_disable),
		cmocka_unit_test(test_klog_other_lines),
		cmocka_unit_test(test_trace_dump),
		cmocka_unit_test(test_tail_and_exit_report),
		cmocka_unit_test(test_uei_report),
		cmocka_unit_test(test_why),
		cmocka_unit_test(test_diag_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
