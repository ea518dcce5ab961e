/*
 * sched_smoke: a standalone program run inside a ktstr VM that drives the
 * sched and monitor modules through real scheduler lifecycles (clean run,
 * injected exit and error, watchdog stall, a binary that is no scheduler,
 * one that never attaches, a scheduler piling tasks onto one CPU) and
 * prints what they reported.  A developer's tool, not part of the library.
 *
 * usage: sched_smoke FIXTURE TRUE SLEEP [scenario...]
 *   scenarios: clean exit error stall notsched noattach prefer (default: all)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ktstr/monitor.h>
#include <ktstr/sched.h>

#include "monitor/monitor_json.h"

#define NSPIN 6

static pid_t spinners[NSPIN];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void spin_start(void)
{
	for (int i = 0; i < NSPIN; i++) {
		spinners[i] = fork();
		if (spinners[i] == 0) {
			volatile unsigned long x = 0;

			for (;;)
				x++;
		}
	}
}

static void spin_stop(void)
{
	for (int i = 0; i < NSPIN; i++)
		if (spinners[i] > 0) {
			kill(spinners[i], SIGKILL);
			waitpid(spinners[i], NULL, 0);
			spinners[i] = 0;
		}
}

static void print_diag(struct kt_sched_run *r)
{
	struct kt_sched_diag d;
	char *text;

	kt_sched_diagnose(r, &d);
	text = kt_sched_diag_format(&d);
	printf("--- diagnosis ---\n%s--- end ---\n", text ? text : "(ENOMEM)\n");
	free(text);
	kt_sched_diag_release(&d);
}

static void print_monitor(struct kt_monitor *m)
{
	struct kt_assert_result *res = kt_assert_result_new();
	json_t *j;
	char *s;

	kt_monitor_stop(m);
	kt_monitor_check(m, res);
	printf("--- monitor: %zu samples, %s ---\n", kt_monitor_nsamples(m),
	       res->passed ? "passed" : "FAILED");
	for (size_t i = 0; i < res->n_details; i++)
		printf("  %s\n", res->details[i]);
	j = kt_monitor_summary_json(m);
	s = j ? json_dumps(j, JSON_INDENT(1) | JSON_COMPACT) : NULL;
	printf("summary: %s\n", s ? s : "(null)");
	free(s);
	json_decref(j);
	kt_assert_result_free(res);
}

/*
 * Start the scheduler, poll alive every 100 ms for up to run_ms (printing
 * monitor samples every print_ms), then stop/diagnose.
 */
static int run_case(const char *name, const char *bin, const char *const *args,
		    unsigned run_ms, bool spin, const struct kt_assert *th)
{
	KT_AUTO(kt_sched_run) r = NULL;
	KT_AUTO(kt_monitor) m = NULL;
	char *err = NULL, *why = NULL;
	double t0, died = 0;
	int ret;

	printf("\n=== %s: %s", name, bin);
	for (int i = 0; args && args[i]; i++)
		printf(" %s", args[i]);
	printf("\n");
	t0 = now_ms();
	/* Default attach timeout (10 s): loading is slow under TCG. */
	ret = kt_sched_start(bin, args, "fixture", 0, &r, &err);
	if (ret < 0) {
		printf("start failed after %.0f ms: %d (%s)\n  err: %s\n", now_ms() - t0, ret,
		       strerror(-ret), err ? err : "(none)");
		free(err);
		return 0;
	}
	printf("attached after %.0f ms, pid %d, output %s\n", now_ms() - t0,
	       (int)kt_sched_pid(r), kt_sched_output_path(r));
	if (spin)
		spin_start();
	ret = kt_monitor_start(th, 100, &m);
	if (ret < 0)
		printf("monitor start: %s\n", strerror(-ret));
	t0 = now_ms();
	while (now_ms() - t0 < run_ms) {
		struct timespec ts = { 0, 100 * 1000000L };

		if (!kt_sched_alive(r, &why)) {
			died = now_ms();
			printf("alive=false after %.0f ms: %s\n", died - t0, why);
			free(why);
			break;
		}
		if (m && kt_monitor_violation(m, &why)) {
			printf("monitor says failure is certain: %s\n", why);
			free(why);
			why = NULL;
		}
		if (m && ((long)(now_ms() - t0) / 100) % 5 == 0) {
			char *line = kt_monitor_last_line(m);

			if (line)
				printf("  sample %s\n", line);
			free(line);
		}
		nanosleep(&ts, NULL);
	}
	if (!died)
		printf("still alive after %u ms\n", run_ms);
	ret = kt_sched_stop(r);
	printf("stop: %d\n", ret);
	print_diag(r);
	if (m)
		print_monitor(m);
	spin_stop();
	return 0;
}

static bool want(int argc, char **argv, const char *name)
{
	if (argc <= 4)
		return true;
	for (int i = 4; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *fx, *tru, *slp;

	if (argc < 4) {
		fprintf(stderr, "usage: %s FIXTURE TRUE SLEEP [scenario...]\n", argv[0]);
		return 2;
	}
	fx = argv[1];
	tru = argv[2];
	slp = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (want(argc, argv, "clean"))
		run_case("clean", fx, (const char *const[]){ "--timeout-ms", "3000", NULL }, 3000,
			 true, NULL);
	if (want(argc, argv, "exit"))
		run_case("exit", fx,
			 (const char *const[]){ "--exit-after-ms", "1000", "--exit-code", "7", NULL },
			 8000, true, NULL);
	if (want(argc, argv, "error"))
		run_case("error", fx,
			 (const char *const[]){ "--exit-after-ms", "1000", "--exit-error", NULL },
			 8000, true, NULL);
	if (want(argc, argv, "stall"))
		run_case("stall", fx,
			 (const char *const[]){ "--stall-after-ms", "500", "--timeout-ms", "2000", NULL },
			 15000, true, NULL);
	if (want(argc, argv, "notsched"))
		run_case("notsched", tru, NULL, 1000, false, NULL);
	if (want(argc, argv, "noattach"))
		run_case("noattach", slp, (const char *const[]){ "100", NULL }, 1000, false, NULL);
	if (want(argc, argv, "prefer")) {
		struct kt_assert th = { .sustained_samples = KT_SET(3),
					.max_keep_last_rate = KT_SET(1000) };

		run_case("prefer", fx,
			 (const char *const[]){ "--prefer-cpu", "1", "--huge-slice-ms", "50", NULL },
			 3000, true, &th);
	}
	printf("\n=== done\n");
	return 0;
}
