/*
 * Benchmark: what does a worker's telemetry cost?  Runs CpuSpin work units
 * in a real worker (kt_workload_spawn, full per-tick telemetry) and the very
 * same spin blocks in a bare forked loop with no telemetry, alternating, for
 * the same time on the same CPU, and prints the medians and their ratio.
 * The goal is telemetry/bare >= 0.97.
 *
 *   worker_overhead [seconds-per-round (default 1)] [rounds (default 5)]
 *
 * It measures only; it must not tune or change the workload module.
 */
#include <ktstr/workload.h>

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 99

struct bare_shared {
	_Atomic int stop;
	uint64_t units;
	uint64_t wall_ns;
	uint64_t cpu_ns;
};

/* One round's result: units per wall second and per CPU second.  The CPU
 * rate is what the comparison uses: on a shared 2-core machine other
 * processes steal wall time from one side or the other, never CPU time. */
struct rate {
	double wall;
	double cpu;
};

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Units per second of a real worker with telemetry; < 0 on error. */
static struct rate run_telemetry(double secs, unsigned cpu)
{
	struct kt_workload_config cfg = {
		.num_workers = 1,
		.work.kind = KT_WORK_CPU_SPIN,
		.affinity = KT_AFFINITY_SINGLE,
		.single_cpu = cpu,
	};
	KT_AUTO(kt_workload_handle) h = NULL;
	struct kt_worker_report *r = NULL;
	struct rate rate = { -1, -1 };
	size_t n;
	int err;

	err = kt_workload_spawn(&cfg, &h);
	if (!err)
		err = kt_workload_start(h);
	if (err) {
		fprintf(stderr, "worker_overhead: cannot run a worker: %s\n", strerror(-err));
		return rate;
	}
	sleep_s(secs);
	err = kt_workload_stop_collect(h, 0, &r, &n);
	if (err || n != 1 || r[0].end != KT_END_COMPLETED || !r[0].wall_time_ns ||
	    !r[0].cpu_time_ns) {
		fprintf(stderr, "worker_overhead: worker did not complete (%s)\n",
			err ? strerror(-err) : "bad report");
		kt_worker_reports_free(r, err ? 0 : n);
		return rate;
	}
	rate.wall = (double)r[0].work_units / ((double)r[0].wall_time_ns / 1e9);
	rate.cpu = (double)r[0].work_units / ((double)r[0].cpu_time_ns / 1e9);
	kt_worker_reports_free(r, n);
	return rate;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Units per second of the same blocks in a bare loop (stop flag only). */
static struct rate run_bare(double secs, unsigned cpu)
{
	struct bare_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct rate rate = { -1, -1 };
	int status;
	pid_t pid;

	if (sh == MAP_FAILED)
		return rate;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		munmap(sh, sizeof(*sh));
		return rate;
	}
	if (pid == 0) {
		cpu_set_t set;
		uint64_t x = kt_now_ns() | 1, units = 0, t0, c0;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			_exit(1);
		c0 = thread_cpu_ns();
		t0 = kt_now_ns();
		while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
			x = kt_work_spin_block(x);
			units++;
		}
		sh->wall_ns = kt_now_ns() - t0;
		sh->cpu_ns = thread_cpu_ns() - c0;
		sh->units = units + (x == 0);	/* consume x */
		_exit(0);
	}
	sleep_s(secs);
	atomic_store(&sh->stop, 1);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status) &&
	    sh->wall_ns && sh->cpu_ns) {
		rate.wall = (double)sh->units / ((double)sh->wall_ns / 1e9);
		rate.cpu = (double)sh->units / ((double)sh->cpu_ns / 1e9);
	}
	munmap(sh, sizeof(*sh));
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct rate tel[MAX_ROUNDS], bare[MAX_ROUNDS];
	double tw[MAX_ROUNDS], tc[MAX_ROUNDS], bw[MAX_ROUNDS], bc[MAX_ROUNDS];
	double mtw, mtc, mbw, mbc;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* The last CPU: on small hosts CPU 0 takes most interrupts. */
	unsigned cpu = ncpu > 1 ? (unsigned)ncpu - 1 : 0;

	if (secs <= 0 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: %s [seconds-per-round] [rounds 1..%d]\n", argv[0],
			MAX_ROUNDS);
		return 2;
	}
	printf("worker_overhead: %d rounds of %.2f s each, CPU %u, alternating\n", rounds, secs,
	       cpu);
	for (int i = 0; i < rounds; i++) {
		/* Alternate which goes first so drift does not favour one. */
		if (i % 2) {
			bare[i] = run_bare(secs, cpu);
			tel[i] = run_telemetry(secs, cpu);
		} else {
			tel[i] = run_telemetry(secs, cpu);
			bare[i] = run_bare(secs, cpu);
		}
		if (tel[i].cpu < 0 || bare[i].cpu < 0) {
			fprintf(stderr, "worker_overhead: round %d failed\n", i + 1);
			return 1;
		}
		printf("round %d: telemetry %.0f units/cpu-s (%.0f/wall-s), "
		       "bare %.0f units/cpu-s (%.0f/wall-s)\n",
		       i + 1, tel[i].cpu, tel[i].wall, bare[i].cpu, bare[i].wall);
		tw[i] = tel[i].wall;
		tc[i] = tel[i].cpu;
		bw[i] = bare[i].wall;
		bc[i] = bare[i].cpu;
	}
	mtw = median(tw, rounds);
	mtc = median(tc, rounds);
	mbw = median(bw, rounds);
	mbc = median(bc, rounds);
	printf("median telemetry: %.0f units/cpu-s, %.0f units/wall-s\n", mtc, mtw);
	printf("median bare:      %.0f units/cpu-s, %.0f units/wall-s\n", mbc, mbw);
	printf("per wall second: telemetry/bare = %.3f (noisy when the host is busy)\n", mtw / mbw);
	printf("telemetry/bare = %.3f (per CPU second; goal >= 0.97)\n", mtc / mbc);
	return 0;
}
