/*
 * Unit tests of the workload module on the host (no cgroups): real forked
 * workers, real signals.  Every test checks that no child process is left
 * behind, since leaking workers is the failure this module must not have.
 */
#include <ktstr/workload.h>

#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* Spawn, start, let run for ms, stop and collect; asserts the plumbing. */
static void run_workload(const struct kt_workload_config *cfg, unsigned ms, unsigned deadline_ms,
			 struct kt_worker_report **reports, size_t *n)
{
	KT_AUTO(kt_workload_handle) h = NULL;

	assert_int_equal(kt_workload_spawn(cfg, &h), 0);
	assert_non_null(h);
	assert_int_equal(kt_workload_count(h), cfg->num_workers);
	assert_int_equal(kt_workload_start(h), 0);
	sleep_ms(ms);
	assert_int_equal(kt_workload_stop_collect(h, deadline_ms, reports, n), 0);
	assert_int_equal(*n, cfg->num_workers);
}

static void test_kind_names(void **state)
{
	enum kt_work_kind k;

	for (unsigned i = KT_WORK_CPU_SPIN; i < KT_WORK__COUNT; i++) {
		assert_int_equal(kt_work_kind_parse(kt_work_kind_name(i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_string_equal(kt_work_kind_name(KT_WORK_YIELD_HEAVY), "YieldHeavy");
	assert_int_equal(kt_work_kind_parse("cpu_spin", &k), 0);
	assert_int_equal(k, KT_WORK_CPU_SPIN);
	assert_int_equal(kt_work_kind_parse("YIELD_HEAVY", &k), 0);
	assert_int_equal(k, KT_WORK_YIELD_HEAVY);
	assert_int_equal(kt_work_kind_parse("io_sync", &k), 0);
	assert_int_equal(k, KT_WORK_IO_SYNC);
	assert_int_equal(kt_work_kind_parse("bursty", &k), 0);
	assert_int_equal(k, KT_WORK_BURSTY);
	assert_int_equal(kt_work_kind_parse("spin", &k), -EINVAL);
	assert_int_equal(kt_work_kind_parse("", &k), -EINVAL);
	assert_int_equal(kt_work_kind_parse("Unset", &k), -EINVAL);
	assert_int_equal(kt_work_kind_parse(NULL, &k), -EINVAL);
}

static void test_cpu_spin_basic(void **state)
{
	struct kt_workload_config cfg = { .num_workers = 2, .work.kind = KT_WORK_CPU_SPIN };
	struct kt_worker_report *r = NULL;
	size_t n = 0;

	run_workload(&cfg, 300, 0, &r, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i].end, KT_END_COMPLETED);
		assert_true(r[i].completed);
		assert_int_equal(r[i].index, i);
		assert_true(r[i].tid > 0);
		assert_int_equal(r[i].work_kind, KT_WORK_CPU_SPIN);
		assert_true(r[i].work_units > 100);
		assert_int_equal(r[i].iterations, r[i].work_units);
		assert_true(r[i].wall_time_ns >= 250000000ull);
		assert_true(r[i].wall_time_ns < 2000000000ull);
		assert_true(r[i].cpu_time_ns <= r[i].wall_time_ns + 1000000);
		assert_int_equal(r[i].off_cpu_ns, r[i].wall_time_ns > r[i].cpu_time_ns ?
						  r[i].wall_time_ns - r[i].cpu_time_ns : 0);
		assert_non_null(r[i].cpus_used);
		assert_false(kt_cpuset_empty(r[i].cpus_used));
		assert_true(r[i].max_gap_ms < 250);
		if (access("/proc/self/schedstat", R_OK) == 0) {
			/* A spinner never sleeps: whatever of the wall time it was
			 * not on a CPU, it spent waiting in a runqueue (the host
			 * may be busy with other work, so cpu alone can be low). */
			assert_true(r[i].sched_cpu_ns > 0);
			assert_true(r[i].sched_run_count > 0);
			assert_true((r[i].cpu_time_ns + r[i].sched_run_delay_ns) * 10 >=
				    r[i].wall_time_ns * 9);
			/* schedstat and the thread CPU clock measure the same. */
			assert_true(r[i].sched_cpu_ns + r[i].wall_time_ns / 10 >= r[i].cpu_time_ns);
			assert_true(r[i].cpu_time_ns + r[i].wall_time_ns / 10 >= r[i].sched_cpu_ns);
		} else {
			assert_true(r[i].cpu_time_ns > 0);
		}
	}
	kt_worker_reports_free(r, n);
	assert_no_children();
}

/* A stop request ends the workers at once; collecting later does not extend
 * their run, and several handles stopped together end together. */
static void test_request_stop_then_collect(void **state)
{
	struct kt_workload_config cfg = { .num_workers = 2, .work.kind = KT_WORK_CPU_SPIN };
	KT_AUTO(kt_workload_handle) a = NULL;
	KT_AUTO(kt_workload_handle) b = NULL;
	struct kt_workload_handle *hs[2];

	assert_int_equal(kt_workload_spawn(&cfg, &a), 0);
	assert_int_equal(kt_workload_spawn(&cfg, &b), 0);
	hs[0] = a;
	hs[1] = b;
	assert_int_equal(kt_workload_start(a), 0);
	assert_int_equal(kt_workload_start(b), 0);
	sleep_ms(200);
	kt_workload_request_stop(a);
	kt_workload_request_stop(b);
	kt_workload_request_stop(a);	/* idempotent */
	kt_workload_request_stop(NULL);
	sleep_ms(600);			/* not part of anyone's run */
	for (int k = 0; k < 2; k++) {
		struct kt_worker_report *r = NULL;
		size_t n = 0;

		assert_int_equal(kt_workload_stop_collect(hs[k], 0, &r, &n), 0);
		assert_int_equal(n, 2);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(r[i].end, KT_END_COMPLETED);
			assert_true(r[i].wall_time_ns >= 150000000ull);
			assert_true(r[i].wall_time_ns < 600000000ull);
		}
		kt_worker_reports_free(r, n);
	}
	kt_workload_handle_free(kt_take_ptr(a));
	kt_workload_handle_free(kt_take_ptr(b));
	assert_no_children();
}

static void test_sigstop_is_a_gap(void **state)
{
	struct kt_workload_config cfg = { .num_workers = 2, .work.kind = KT_WORK_CPU_SPIN };
	KT_AUTO(kt_workload_handle) h = NULL;
	struct kt_worker_report *r = NULL;
	uint64_t t0;
	size_t n = 0;

	assert_int_equal(kt_workload_spawn(&cfg, &h), 0);
	assert_int_equal(kt_workload_start(h), 0);
	sleep_ms(50);
	t0 = 50;
	assert_int_equal(kill(kt_workload_pid(h, 0), SIGSTOP), 0);
	sleep_ms(1500);
	assert_int_equal(kill(kt_workload_pid(h, 0), SIGCONT), 0);
	sleep_ms(50);
	assert_int_equal(kt_workload_stop_collect(h, 0, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].end, KT_END_COMPLETED);
	assert_true(r[0].max_gap_ms >= 1400);
	assert_true(r[0].max_gap_ms < 3000);
	/* The gap ended after the SIGCONT, about 1.55 s in. */
	assert_true(r[0].max_gap_at_ns >= (t0 + 1400) * 1000000ull);
	assert_true(r[0].max_gap_cpu >= 0);
	assert_true(kt_cpuset_test(r[0].cpus_used, (unsigned)r[0].max_gap_cpu));
	assert_true(r[0].off_cpu_ns >= 1400000000ull);
	assert_int_equal(r[1].end, KT_END_COMPLETED);
	/* the running one's gap is the host's scheduling latency, whatever the
	 * load: far under the stopped one's */
	assert_true(r[1].max_gap_ms * 3 < r[0].max_gap_ms);
	kt_worker_reports_free(r, n);
	kt_workload_handle_free(kt_take_ptr(h));
	assert_no_children();
}

static void test_bursty_wake_samples(void **state)
{
	struct kt_workload_config cfg = {
		.num_workers = 1,
		.work = { .kind = KT_WORK_BURSTY, .burst_ms = 2, .sleep_ms = 30 },
	};
	struct kt_worker_report *r = NULL;
	size_t n = 0;

	run_workload(&cfg, 200, 0, &r, &n);
	assert_int_equal(r[0].end, KT_END_COMPLETED);
	assert_true(r[0].wake_count >= 3);
	assert_int_equal(r[0].wake_samples_n, r[0].wake_count);
	assert_true(r[0].iterations >= 3);
	assert_true(r[0].work_units > r[0].iterations);
	/* The intended 30 ms sleeps are not gaps. */
	assert_true(r[0].max_gap_ms < 25);
	/* Mostly asleep. */
	assert_true(r[0].cpu_time_ns * 2 < r[0].wall_time_ns);
	kt_worker_reports_free(r, n);
	assert_no_children();
}

static unsigned count_tmp_files(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;
	unsigned c = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		c += !strncmp(e->d_name, "ktstr-io-", 9);
	closedir(d);
	return c;
}

static void test_io_sync(void **state)
{
	struct kt_workload_config cfg = { .num_workers = 1, .work.kind = KT_WORK_IO_SYNC };
	struct kt_worker_report *r = NULL;
	unsigned before = count_tmp_files();
	size_t n = 0;

	run_workload(&cfg, 100, 0, &r, &n);
	assert_int_equal(r[0].end, KT_END_COMPLETED);
	assert_true(r[0].work_units >= 10);
	assert_true(r[0].wake_count >= 10);
	assert_true(r[0].wake_samples_n > 0);
	assert_int_equal(count_tmp_files(), before);
	kt_worker_reports_free(r, n);
	assert_no_children();
}

static void test_mixed_and_yield(void **state)
{
	enum kt_work_kind kinds[] = { KT_WORK_MIXED, KT_WORK_YIELD_HEAVY };

	for (size_t k = 0; k < KT_ARRAY_SIZE(kinds); k++) {
		struct kt_workload_config cfg = { .num_workers = 1, .work.kind = kinds[k] };
		struct kt_worker_report *r = NULL;
		size_t n = 0;

		run_workload(&cfg, 60, 0, &r, &n);
		assert_int_equal(r[0].end, KT_END_COMPLETED);
		assert_int_equal(r[0].work_kind, kinds[k]);
		assert_true(r[0].work_units > 0);
		assert_true(r[0].iterations > 0);
		kt_worker_reports_free(r, n);
	}
	assert_no_children();
}

static void custom_ticker(struct kt_worker_ctx *w, void *arg)
{
	uint64_t units = (uint64_t)(uintptr_t)arg;

	kt_worker_wake_sample(w, 1234);
	while (!kt_worker_should_stop(w)) {
		kt_worker_tick(w, units);
		sleep_ms(1);
	}
}

static void test_custom_calls_function(void **state)
{
	struct kt_workload_config cfg = {
		.num_workers = 1,
		.work = { .kind = KT_WORK_CUSTOM, .custom = custom_ticker, .custom_arg = (void *)7 },
	};
	struct kt_worker_report *r = NULL;
	size_t n = 0;

	run_workload(&cfg, 50, 0, &r, &n);
	assert_int_equal(r[0].end, KT_END_COMPLETED);
	assert_int_equal(r[0].work_kind, KT_WORK_CUSTOM);
	assert_true(r[0].iterations > 0);
	assert_int_equal(r[0].work_units, 7 * r[0].iterations);
	assert_int_equal(r[0].wake_count, 1);
	assert_int_equal(r[0].wake_samples_n, 1);
	assert_int_equal(r[0].wake_samples_ns[0], 1234);
	kt_worker_reports_free(r, n);
	assert_no_children();
}

static void custom_exit3(struct kt_worker_ctx *w, void *arg)
{
	kt_worker_tick(w, 5);
	_exit(3);
}

static void custom_sigterm(struct kt_worker_ctx *w, void *arg)
{
	kt_worker_tick(w, 1);
	raise(SIGTERM);
}

static void custom_returns_early(struct kt_worker_ctx *w, void *arg)
{
	kt_worker_tick(w, 2);
}

static void test_worker_ends_on_its_own(void **state)
{
	struct kt_workload_config cfg = { .num_workers = 1, .work.kind = KT_WORK_CUSTOM };
	struct kt_worker_report *r = NULL;
	size_t n = 0;

	cfg.work.custom = custom_exit3;
	run_workload(&cfg, 30, 0, &r, &n);
	assert_int_equal(r[0].end, KT_END_EXITED);
	assert_int_equal(r[0].exit_code, 3);
	assert_false(r[0].completed);
	assert_int_equal(r[0].work_units, 5);	/* partial telemetry kept */
	kt_worker_reports_free(r, n);

	cfg.work.custom = custom_sigterm;
	run_workload(&cfg, 30, 0, &r, &n);
	assert_int_equal(r[0].end, KT_END_SIGNALED);
	assert_int_equal(r[0].term_signal, SIGTERM);
	assert_int_equal(r[0].work_units, 1);
	kt_worker_reports_free(r, n);

	/* Returning before stop was asked is not a completed run. */
	cfg.work.custom = custom_returns_early;
	run_workload(&cfg, 30, 0, &r, &n);
	assert_int_equal(r[0].end, KT_END_EXITED);
	assert_int_equal(r[0].exit_code, 0);
	assert_int_equal(r[0].work_units, 2);
	kt_worker_reports_free(r, n);
	assert_no_children();
}

static void custom_stubborn(struct kt_worker_ctx *w, void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KT_WORKER_STOP_SIGNAL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;)
		kt_worker_tick(w, 1);
}

static void test_stubborn_worker_times_out(void **state)
{
	struct kt_workload_config cfg = {
		.num_workers = 2,
		.work = { .kind = KT_WORK_CUSTOM, .custom = custom_stubborn },
	};
	KT_AUTO(kt_workload_handle) h = NULL;
	struct kt_worker_report *r = NULL, *r2 = (void *)1;
	size_t n2 = 1;
	struct timespec a, b;
	uint64_t took_ms;
	size_t n = 0;

	assert_int_equal(kt_workload_spawn(&cfg, &h), 0);
	assert_int_equal(kt_workload_start(h), 0);
	sleep_ms(50);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(kt_workload_stop_collect(h, 200, &r, &n), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took_ms = (uint64_t)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000);
	assert_true(took_ms >= 190);
	assert_true(took_ms < 600);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i].end, KT_END_TIMED_OUT);
		assert_false(r[i].completed);
		assert_true(r[i].work_units > 0);
		assert_true(r[i].wall_time_ns >= 200000000ull);
		assert_true(r[i].cpu_time_ns > 0);
		assert_false(kt_cpuset_empty(r[i].cpus_used));
	}
	kt_worker_reports_free(r, n);
	/* A second collect is refused, not a double reap. */
	assert_int_equal(kt_workload_stop_collect(h, 200, &r2, &n2), -EALREADY);
	assert_null(r2);
	kt_workload_handle_free(kt_take_ptr(h));
	assert_no_children();
}

static void test_invalid_configs(void **state)
{
	struct kt_workload_handle *h = (void *)1;
	struct kt_workload_config cfg = {
		.num_workers = 2, .work.kind = KT_WORK_CPU_SPIN, .policy = KT_POLICY_FIFO,
	};

	cfg.priority = 0;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	assert_null(h);
	cfg.priority = 100;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	cfg.policy = KT_POLICY_RR;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	cfg.policy = KT_POLICY_NORMAL;
	cfg.priority = 0;
	cfg.nice = 20;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	cfg.nice = 0;
	cfg.work.kind = KT_WORK_CUSTOM;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	cfg.work.kind = KT_WORK__COUNT;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	cfg.work.kind = KT_WORK_CPU_SPIN;
	cfg.affinity = KT_AFFINITY_FIXED;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	/* A CPU that does not exist fails in the child; spawn reaps them all. */
	cfg.affinity = KT_AFFINITY_SINGLE;
	cfg.single_cpu = 4095;
	assert_int_equal(kt_workload_spawn(&cfg, &h), -EINVAL);
	assert_null(h);
	assert_no_children();
}

/* In a child process: drop CAP_SYS_NICE and RLIMIT_RTPRIO, then FIFO must be
 * refused up front with nothing left behind. */
static void test_fifo_without_cap_is_eperm(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2];
		struct rlimit rl = { 0, 0 };
		struct kt_workload_config cfg = {
			.num_workers = 2, .policy = KT_POLICY_FIFO, .priority = 10,
		};
		struct kt_workload_handle *h = NULL;

		if (syscall(SYS_capget, &hdr, data) < 0)
			_exit(10);
		data[0].effective &= ~(1u << CAP_SYS_NICE);
		if (syscall(SYS_capset, &hdr, data) < 0 || setrlimit(RLIMIT_RTPRIO, &rl) < 0)
			_exit(11);
		if (kt_workload_spawn(&cfg, &h) != -EPERM || h)
			_exit(12);
		cfg.policy = KT_POLICY_RR;
		if (kt_workload_spawn(&cfg, &h) != -EPERM || h)
			_exit(13);
		if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
			_exit(14);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_no_children();
}

static unsigned last_cpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 1 ? (unsigned)n - 1 : 0;
}

static void test_affinity_single(void **state)
{
	struct kt_workload_config cfg = {
		.num_workers = 2, .work.kind = KT_WORK_CPU_SPIN,
		.affinity = KT_AFFINITY_SINGLE, .single_cpu = last_cpu(),
	};
	KT_AUTO(kt_cpuset) want = kt_cpuset_new();
	struct kt_worker_report *r = NULL;
	size_t n = 0;

	assert_int_equal(kt_cpuset_set(want, cfg.single_cpu), 0);
	run_workload(&cfg, 60, 0, &r, &n);
	for (size_t i = 0; i < n; i++) {
		assert_true(kt_cpuset_equal(r[i].cpus_used, want));
		assert_int_equal(r[i].migration_count, 0);
		assert_true(r[i].work_units > 0);
	}
	kt_worker_reports_free(r, n);
	assert_no_children();
}

static void test_affinity_random_and_change(void **state)
{
	KT_AUTO(kt_cpuset) all = kt_cpuset_new();
	KT_AUTO(kt_cpuset) one = kt_cpuset_new();
	struct kt_workload_config cfg = {
		.num_workers = 2, .work.kind = KT_WORK_CPU_SPIN,
		.affinity = KT_AFFINITY_RANDOM, .random_count = 1,
	};
	KT_AUTO(kt_workload_handle) h = NULL;
	struct kt_worker_report *r = NULL;
	size_t n = 0;

	if (last_cpu() == 0)
		skip();
	assert_int_equal(kt_cpuset_set_range(all, 0, last_cpu()), 0);
	cfg.affinity_set = all;
	run_workload(&cfg, 40, 0, &r, &n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(kt_cpuset_count(r[i].cpus_used), 1);
		assert_true(kt_cpuset_subset(r[i].cpus_used, all));
	}
	kt_worker_reports_free(r, n);

	/* Pinned to CPU 0, then moved to the last CPU while running. */
	cfg.num_workers = 1;
	cfg.affinity = KT_AFFINITY_SINGLE;
	cfg.single_cpu = 0;
	assert_int_equal(kt_workload_spawn(&cfg, &h), 0);
	assert_int_equal(kt_workload_start(h), 0);
	sleep_ms(30);
	assert_int_equal(kt_cpuset_set(one, last_cpu()), 0);
	assert_int_equal(kt_workload_set_affinity(h, one), 0);
	sleep_ms(30);
	assert_int_equal(kt_workload_stop_collect(h, 0, &r, &n), 0);
	assert_int_equal(kt_cpuset_count(r[0].cpus_used), 2);
	assert_true(r[0].migration_count >= 1);
	kt_worker_reports_free(r, n);
	kt_workload_handle_free(kt_take_ptr(h));
	assert_no_children();
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

static void test_two_phase_start(void **state)
{
	struct kt_workload_config cfg = { .num_workers = 2, .work.kind = KT_WORK_CPU_SPIN };
	KT_AUTO(kt_workload_handle) h = NULL;
	struct kt_worker_report *r = NULL;
	size_t n = 0;

	assert_int_equal(kt_workload_spawn(&cfg, &h), 0);
	sleep_ms(30);
	for (size_t i = 0; i < 2; i++) {
		pid_t pid = kt_workload_pid(h, i);

		/* Blocked, in its own process group, before any work. */
		assert_int_equal(proc_state(pid), 'S');
		assert_int_equal(getpgid(pid), pid);
	}
	assert_int_equal(kt_workload_pid(h, 2), -1);
	/* Stopping without a start still reports and reaps. */
	assert_int_equal(kt_workload_stop_collect(h, 0, &r, &n), 0);
	assert_int_equal(r[0].end, KT_END_COMPLETED);
	assert_int_equal(r[0].work_units, 0);
	kt_worker_reports_free(r, n);
	assert_int_equal(kt_workload_start(h), -EINVAL);
	kt_workload_handle_free(kt_take_ptr(h));

	/* Freeing a handle kills blocked and running workers alike. */
	assert_int_equal(kt_workload_spawn(&cfg, &h), 0);
	kt_workload_handle_free(kt_take_ptr(h));
	assert_no_children();
	assert_int_equal(kt_workload_spawn(&cfg, &h), 0);
	assert_int_equal(kt_workload_start(h), 0);
	assert_int_equal(kt_workload_start(h), -EALREADY);
	kt_workload_handle_free(kt_take_ptr(h));
	assert_no_children();
}

/* Workers die with their parent: an intermediate process spawns two and
 * dies without cleaning up.  As subreaper we inherit the orphans and must
 * see them killed (not merely reparented) within a bound. */
static void test_workers_die_with_parent(void **state)
{
	int fds[2], status;
	pid_t mid, pids[2];
	struct timespec t0, t;
	unsigned dead = 0;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	assert_int_equal(pipe(fds), 0);
	mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		struct kt_workload_config cfg = { .num_workers = 2, .work.kind = KT_WORK_CPU_SPIN };
		struct kt_workload_handle *h = NULL;

		close(fds[0]);
		if (kt_workload_spawn(&cfg, &h) || kt_workload_start(h))
			_exit(1);
		pids[0] = kt_workload_pid(h, 0);
		pids[1] = kt_workload_pid(h, 1);
		if (write(fds[1], pids, sizeof(pids)) != (ssize_t)sizeof(pids))
			_exit(1);
		_exit(0);	/* leaks h on purpose */
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], pids, sizeof(pids)), (ssize_t)sizeof(pids));
	close(fds[0]);
	assert_int_equal(waitpid(mid, &status, 0), mid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (dead < 2) {
		pid_t p = waitpid(-1, &status, WNOHANG);

		if (p == pids[0] || p == pids[1]) {
			assert_true(WIFSIGNALED(status));
			assert_int_equal(WTERMSIG(status), SIGKILL);
			dead++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 2) {
			kill(pids[0], SIGKILL);
			kill(pids[1], SIGKILL);
			fail_msg("workers outlived their parent");
		}
		sleep_ms(2);
	}
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_cpu_spin_basic),
		cmocka_unit_test(test_request_stop_then_collect),
		cmocka_unit_test(test_sigstop_is_a_gap),
		cmocka_unit_test(test_bursty_wake_samples),
		cmocka_unit_test(test_io_sync),
		cmocka_unit_test(test_mixed_and_yield),
		cmocka_unit_test(test_custom_calls_function),
		cmocka_unit_test(test_worker_ends_on_its_own),
		cmocka_unit_test(test_stubborn_worker_times_out),
		cmocka_unit_test(test_invalid_configs),
		cmocka_unit_test(test_fifo_without_cap_is_eperm),
		cmocka_unit_test(test_affinity_single),
		cmocka_unit_test(test_affinity_random_and_change),
		cmocka_unit_test(test_two_phase_start),
		cmocka_unit_test(test_workers_die_with_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
