/*
 * Workers: forked processes that run one work type each and report
 * telemetry.  Two-phase start: workers are forked blocked, the caller moves
 * their pids where it wants (cgroups), then starts them.  Workers never
 * touch cgroups themselves.
 */
#ifndef KTSTR_WORKLOAD_H
#define KTSTR_WORKLOAD_H

#include <ktstr/common.h>
#include <ktstr/cpuset.h>
#include <signal.h>
#include <sys/types.h>

/* Signal the parent sends a worker on stop (besides setting the shared stop
 * flag) so that a worker blocked in a sleep wakes up at once.  A Custom
 * function that blocks it can only be stopped by the deadline's SIGKILL. */
#define KT_WORKER_STOP_SIGNAL SIGUSR1

enum kt_work_kind {
	KT_WORK_UNSET = 0,
	KT_WORK_CPU_SPIN,	/* "CpuSpin": tight arithmetic loop */
	KT_WORK_BURSTY,		/* "Bursty": spin burst_ms, sleep sleep_ms */
	KT_WORK_IO_SYNC,	/* "IoSync": 64 KiB write + fsync-free, 100 us sleep */
	KT_WORK_MIXED,		/* "Mixed": spin burst then sched_yield */
	KT_WORK_YIELD_HEAVY,	/* "YieldHeavy": tiny work, sched_yield */
	KT_WORK_CUSTOM,		/* "Custom": user function owns the loop */
	KT_WORK__COUNT,
};

struct kt_worker_report;
struct kt_worker_ctx;

/* A Custom work function: loops until kt_worker_should_stop(), counting
 * work with kt_worker_tick().  Runs in the forked worker. */
typedef void (*kt_custom_work_fn)(struct kt_worker_ctx *w, void *arg);

struct kt_work_type {
	enum kt_work_kind kind;
	unsigned burst_ms;	/* Bursty; 0 -> 10 */
	unsigned sleep_ms;	/* Bursty; 0 -> 10 */
	kt_custom_work_fn custom;	/* Custom */
	void *custom_arg;
	const char *custom_name;
};

/* "CpuSpin", "Bursty", ... ; kind from name: 0 or -EINVAL. */
KT_API const char *kt_work_kind_name(enum kt_work_kind k);
KT_API int kt_work_kind_parse(const char *name, enum kt_work_kind *out);

enum kt_affinity_mode {
	KT_AFFINITY_NONE = 0,	/* inherit */
	KT_AFFINITY_FIXED,	/* .affinity_set exactly */
	KT_AFFINITY_RANDOM,	/* random subset of .affinity_set, .random_count CPUs */
	KT_AFFINITY_SINGLE,	/* one CPU: .single_cpu */
};

enum kt_sched_policy {
	KT_POLICY_NORMAL = 0,
	KT_POLICY_BATCH,
	KT_POLICY_IDLE,
	KT_POLICY_FIFO,		/* needs CAP_SYS_NICE; .priority 1..99 */
	KT_POLICY_RR,
};

struct kt_workload_config {
	unsigned num_workers;
	struct kt_work_type work;
	enum kt_affinity_mode affinity;
	const struct kt_cpuset *affinity_set;	/* borrowed until spawn returns */
	unsigned random_count;
	unsigned single_cpu;
	enum kt_sched_policy policy;
	int priority;
	int nice;
};

/* Ways a worker can end. */
enum kt_worker_end {
	KT_END_COMPLETED = 0,	/* stopped on request and reported */
	KT_END_EXITED,		/* exited on its own (exit_code) */
	KT_END_SIGNALED,	/* killed by term_signal */
	KT_END_TIMED_OUT,	/* did not report by the deadline; SIGKILLed */
};

#define KT_WAKE_RESERVOIR 512

struct kt_worker_report {
	pid_t tid;
	unsigned index;			/* worker index within its handle */
	char group[64];			/* cgroup name, filled by the scenario layer */
	enum kt_work_kind work_kind;
	uint64_t work_units;		/* unit of useful work (spin block, write...) */
	uint64_t iterations;		/* outer loop iterations */
	uint64_t cpu_time_ns;		/* CLOCK_THREAD_CPUTIME over the run */
	uint64_t wall_time_ns;
	uint64_t off_cpu_ns;		/* wall - cpu */
	struct kt_cpuset *cpus_used;	/* CPUs observed running on */
	uint64_t migration_count;	/* CPU changes observed */
	double max_gap_ms;		/* longest stretch without progress */
	int max_gap_cpu;		/* CPU observed after the gap */
	uint64_t max_gap_at_ns;		/* when the gap ended, ns since start */
	/* Wake/resume latency (blocking work types): reservoir sample. */
	uint64_t wake_count;
	unsigned wake_samples_n;
	uint64_t wake_samples_ns[KT_WAKE_RESERVOIR];
	/* /proc/self/schedstat deltas over the run. */
	uint64_t sched_cpu_ns;
	uint64_t sched_run_delay_ns;
	uint64_t sched_run_count;
	/* How it ended. */
	enum kt_worker_end end;
	int exit_code;
	int term_signal;
	bool completed;
};

KT_API void kt_worker_report_release(struct kt_worker_report *r);	/* frees cpus_used */
/* Release every report of an array from kt_workload_stop_collect, then the
 * array itself.  Accepts NULL. */
KT_API void kt_worker_reports_free(struct kt_worker_report *r, size_t n);

/* A set of workers spawned together. */
struct kt_workload_handle;

/* Fork cfg->num_workers workers, blocked before their first instruction of
 * work.  Returns 0 or -errno (-EPERM for FIFO/RR without CAP_SYS_NICE). */
KT_API int kt_workload_spawn(const struct kt_workload_config *cfg, struct kt_workload_handle **out);
KT_API size_t kt_workload_count(const struct kt_workload_handle *h);
KT_API pid_t kt_workload_pid(const struct kt_workload_handle *h, size_t i);
/* Start all workers (phase two). */
KT_API int kt_workload_start(struct kt_workload_handle *h);
/* Change affinity of every worker (used by ops). */
KT_API int kt_workload_set_affinity(struct kt_workload_handle *h, const struct kt_cpuset *set);
/* Tell every worker to stop, without waiting.  Calling it for several
 * handles before collecting them ends all their workers at the same moment
 * (and in one exit latency instead of one per handle).  Idempotent. */
KT_API void kt_workload_request_stop(struct kt_workload_handle *h);
/* Stop (if not requested yet), collect reports (deadline in ms; 0 -> 5000), reap.  *reports is a
 * malloc'd array of kt_workload_count() entries owned by the caller (free it
 * with kt_worker_reports_free).  A worker that did not report (EXITED,
 * SIGNALED, TIMED_OUT) keeps its partial telemetry; its cpu_time comes from
 * rusage, its wall_time ends at its last tick (TIMED_OUT: at the kill).
 * A second call returns -EALREADY. */
KT_API int kt_workload_stop_collect(struct kt_workload_handle *h, unsigned deadline_ms,
				    struct kt_worker_report **reports, size_t *n);
/* While running: ms since worker i last made progress (0 when it is not
 * running).  Lets a watcher fail a test as soon as a worker is stuck,
 * without waiting for the end of the scenario. */
KT_API double kt_workload_live_gap_ms(const struct kt_workload_handle *h, size_t i);
/* While running: worker i's work units so far (0 before it starts), for
 * a progress series sampled from outside. */
KT_API uint64_t kt_workload_live_units(const struct kt_workload_handle *h, size_t i);
/* While running (started, no stop asked): did worker i end on its own?
 * The signal that killed it (> 0), -1 when it exited (*code: its status),
 * 0 while it runs.  It is not reaped, so collection still reports it. */
KT_API int kt_workload_live_end(const struct kt_workload_handle *h, size_t i, int *code);
/* Kill everything still alive (SIGKILL to each process group) and free. */
KT_API void kt_workload_handle_free(struct kt_workload_handle *h);
KT_DEFINE_FREEP(kt_workload_handle)

/* For Custom work functions, inside the worker. */
KT_API bool kt_worker_should_stop(const struct kt_worker_ctx *w);
/* One progress point: adds work_units, counts one iteration, tracks the gap
 * since the previous tick and the CPU.  A Custom function that sleeps on
 * purpose between ticks sees that sleep counted as a gap. */
KT_API void kt_worker_tick(struct kt_worker_ctx *w, uint64_t work_units);
KT_API void kt_worker_wake_sample(struct kt_worker_ctx *w, uint64_t latency_ns);

/* One CpuSpin work unit (a dependent arithmetic chain of ~20-50 us); returns
 * the chained value so the work cannot be optimised away.  Exposed so that
 * benchmarks and Custom work can do exactly the same work. */
KT_API uint64_t kt_work_spin_block(uint64_t x);

#endif
