/*
 * Private to the workload module: the layout of the memory that the parent
 * and its forked workers share, and the entry point of a worker process.
 *
 * The shared mapping is the only channel from a worker to the parent; a
 * worker writes its own slot only, the parent reads a slot only after the
 * worker has published it (state == KT_SLOT_DONE) or is dead.  Nothing
 * here may be used outside src/workload/.
 */
#ifndef KTSTR_WORKLOAD_INTERNAL_H
#define KTSTR_WORKLOAD_INTERNAL_H

#include <ktstr/workload.h>
#include <sched.h>
#include <stdatomic.h>

/* Control words written by the parent, read by every worker.  Kept on a
 * cache line of their own so that workers' slot writes never bounce it. */
struct kt_wl_control {
	_Atomic int go;		/* futex word: 0 until kt_workload_start */
	_Atomic int stop;	/* set once by the parent */
	pid_t parent;		/* for the worker's getppid() check */
	uint64_t go_ns;		/* CLOCK_MONOTONIC when the parent released the workers */
	unsigned cpu_words;	/* uint64_t words of each slot's CPU bitmap */
} __attribute__((aligned(64)));

enum { KT_SLOT_SPAWNED = 0, KT_SLOT_RUNNING, KT_SLOT_DONE };

/* One worker's slot.  rep.cpus_used is meaningless here (NULL): the CPUs
 * seen are the bitmap that follows the slot in the mapping. */
struct kt_wl_slot {
	_Atomic int state;
	bool stop_seen;			/* it finished because stop was asked */
	uint64_t start_ns;		/* CLOCK_MONOTONIC when work began */
	uint64_t last_tick_ns;		/* CLOCK_MONOTONIC of the latest tick */
	uint64_t cpu_start_ns;		/* thread CPU time when work began */
	uint64_t max_gap_ns;
	uint64_t sched_start[3];	/* /proc/self/schedstat at start */
	bool sched_start_ok;
	struct kt_worker_report rep;
} __attribute__((aligned(64)));

/* Everything a worker needs to know, prepared by the parent before fork so
 * that the child does no allocation before its work starts. */
struct kt_wl_child_args {
	struct kt_wl_control *ctl;
	struct kt_wl_slot *slot;
	uint64_t *cpu_bits;
	unsigned index;
	struct kt_work_type work;
	cpu_set_t *affinity;		/* NULL: inherit */
	size_t affinity_size;
	enum kt_sched_policy policy;
	int priority;
	int nice;
	int ready_fd;			/* write end of the readiness pipe */
};

/* What a child tells the parent once it is set up (or failed to be). */
struct kt_wl_ready_msg {
	unsigned index;
	int err;			/* 0 or -errno */
};

/* The worker process body; never returns. */
__attribute__((noreturn)) void kt_wl_child_main(const struct kt_wl_child_args *a);

#endif
