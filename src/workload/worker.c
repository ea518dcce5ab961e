/*
 * The worker side: what runs inside each forked worker process.  It sets
 * itself up (process group, parent-death signal, affinity, policy), tells
 * the parent it is ready, blocks until started, then runs its work type and
 * records telemetry straight into its slot of the shared mapping.
 *
 * The per-tick bookkeeping (kt_worker_tick and its inline twin) is the hot
 * path: one vDSO clock read, one sched_getcpu (rseq-backed in glibc), a few
 * compares and stores.  Nothing here may print, allocate in the hot loop,
 * talk to the parent other than through the slot, or know about cgroups.
 */
#include "workload_internal.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Dependent chain length of one spin block: ~30 us on a 3 GHz core. */
#define KT_SPIN_ITERS 12288u
/* YieldHeavy's "tiny work" between yields. */
#define KT_TINY_ITERS 64u
/* Mixed: spin blocks per burst before yielding. */
#define KT_MIXED_BLOCKS 10u
#define KT_IO_CHUNK (64u * 1024u)
#define KT_IO_SLEEP_NS 100000ull
/* Exit code of a worker whose I/O failed mid-run (EX_IOERR). */
#define KT_EXIT_IOERR 74

struct kt_worker_ctx {
	struct kt_wl_slot *slot;
	const _Atomic int *stop;
	uint64_t *cpu_bits;
	unsigned cpu_nbits;
	uint64_t last_ns;
	int last_cpu;
	uint64_t rng;
	uint64_t sink;
	int io_fd;
};

static const char *const kind_names[KT_WORK__COUNT] = {
	[KT_WORK_UNSET] = "Unset",
	[KT_WORK_CPU_SPIN] = "CpuSpin",
	[KT_WORK_BURSTY] = "Bursty",
	[KT_WORK_IO_SYNC] = "IoSync",
	[KT_WORK_MIXED] = "Mixed",
	[KT_WORK_YIELD_HEAVY] = "YieldHeavy",
	[KT_WORK_CUSTOM] = "Custom",
};

const char *kt_work_kind_name(enum kt_work_kind k)
{
	if ((unsigned)k >= KT_WORK__COUNT)
		return "Unknown";
	return kind_names[k];
}

/* Lower-case with '_' and '-' dropped, so "cpu_spin" and "CpuSpin" meet. */
static void kind_fold(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && n + 1 < size; in++) {
		if (*in == '_' || *in == '-')
			continue;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
}

int kt_work_kind_parse(const char *name, enum kt_work_kind *out)
{
	char want[32], have[32];

	if (!name || !out || strlen(name) >= sizeof(want))
		return -EINVAL;
	kind_fold(name, want, sizeof(want));
	for (unsigned k = KT_WORK_CPU_SPIN; k < KT_WORK__COUNT; k++) {
		kind_fold(kind_names[k], have, sizeof(have));
		if (!strcmp(want, have)) {
			*out = (enum kt_work_kind)k;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t kt_work_spin_block(uint64_t x)
{
	for (unsigned i = 0; i < KT_SPIN_ITERS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		x += i;
		/* Keep the chain opaque so the compiler cannot fold it. */
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static __attribute__((noinline)) void note_cpu(struct kt_worker_ctx *w, int cpu)
{
	if (w->last_cpu >= 0)
		w->slot->rep.migration_count++;
	w->last_cpu = cpu;
	if ((unsigned)cpu < w->cpu_nbits)
		w->cpu_bits[(unsigned)cpu / 64] |= 1ull << ((unsigned)cpu % 64);
}

/*
 * One progress point.  credit_ns is time the work meant to spend away
 * (a requested sleep) since the previous tick; it is not a gap.  The gap is
 * measured between ticks on the monotonic clock, so a worker frozen by
 * SIGSTOP (or starved by the scheduler) shows it at its next tick.
 */
static inline void wl_tick(struct kt_worker_ctx *w, uint64_t units, uint64_t credit_ns)
{
	struct kt_wl_slot *s = w->slot;
	uint64_t now = mono_ns();
	int cpu = sched_getcpu();
	uint64_t gap = now - w->last_ns;

	gap = gap > credit_ns ? gap - credit_ns : 0;
	s->rep.work_units += units;
	if (__builtin_expect(gap > s->max_gap_ns, 0)) {
		s->max_gap_ns = gap;
		s->rep.max_gap_cpu = cpu;
		s->rep.max_gap_at_ns = now - s->start_ns;
	}
	if (__builtin_expect(cpu != w->last_cpu && cpu >= 0, 0))
		note_cpu(w, cpu);
	w->last_ns = now;
	s->last_tick_ns = now;
}

bool kt_worker_should_stop(const struct kt_worker_ctx *w)
{
	return atomic_load_explicit(w->stop, memory_order_relaxed) != 0;
}

void kt_worker_tick(struct kt_worker_ctx *w, uint64_t work_units)
{
	w->slot->rep.iterations++;
	wl_tick(w, work_units, 0);
}

static uint64_t rng_next(struct kt_worker_ctx *w)
{
	/* xorshift64*: plenty for reservoir indices. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1Dull;
}

/* Reservoir sampling, Algorithm R: after k samples each one is kept with
 * probability KT_WAKE_RESERVOIR / k. */
void kt_worker_wake_sample(struct kt_worker_ctx *w, uint64_t latency_ns)
{
	struct kt_worker_report *r = &w->slot->rep;
	uint64_t j;

	r->wake_count++;
	if (r->wake_samples_n < KT_WAKE_RESERVOIR) {
		r->wake_samples_ns[r->wake_samples_n++] = latency_ns;
		return;
	}
	j = rng_next(w) % r->wake_count;
	if (j < KT_WAKE_RESERVOIR)
		r->wake_samples_ns[j] = latency_ns;
}

/*
 * Sleep for req_ns and account it: the wake latency (actual - requested)
 * is sampled and the intended sleep is credited against the gap.  The stop
 * signal interrupts the sleep; then no sample is taken.
 */
static void wl_sleep(struct kt_worker_ctx *w, uint64_t req_ns)
{
	struct timespec ts = { .tv_sec = req_ns / 1000000000ull,
			       .tv_nsec = req_ns % 1000000000ull };
	uint64_t t0 = mono_ns(), t1;
	bool stopped = false;

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
		if (kt_worker_should_stop(w)) {
			stopped = true;
			break;
		}
	}
	t1 = mono_ns();
	if (!stopped)
		kt_worker_wake_sample(w, t1 - t0 > req_ns ? t1 - t0 - req_ns : 0);
	wl_tick(w, 0, req_ns);
}

static void run_cpu_spin(struct kt_worker_ctx *w)
{
	struct kt_worker_report *r = &w->slot->rep;

	while (!kt_worker_should_stop(w)) {
		w->sink = kt_work_spin_block(w->sink);
		r->iterations++;
		wl_tick(w, 1, 0);
	}
}

static void run_bursty(struct kt_worker_ctx *w, const struct kt_work_type *t)
{
	uint64_t burst_ns = (uint64_t)(t->burst_ms ? t->burst_ms : 10) * 1000000ull;
	uint64_t sleep_ns = (uint64_t)(t->sleep_ms ? t->sleep_ms : 10) * 1000000ull;

	while (!kt_worker_should_stop(w)) {
		uint64_t end = w->last_ns + burst_ns;

		do {
			w->sink = kt_work_spin_block(w->sink);
			wl_tick(w, 1, 0);
		} while (w->last_ns < end && !kt_worker_should_stop(w));
		if (kt_worker_should_stop(w))
			break;
		wl_sleep(w, sleep_ns);
		w->slot->rep.iterations++;
	}
}

static void run_io_sync(struct kt_worker_ctx *w)
{
	static char buf[KT_IO_CHUNK];

	memset(buf, 0xa5, sizeof(buf));
	while (!kt_worker_should_stop(w)) {
		if (kt_write_all(w->io_fd, buf, sizeof(buf)) < 0 ||
		    lseek(w->io_fd, 0, SEEK_SET) < 0)
			_exit(KT_EXIT_IOERR);
		wl_tick(w, 1, 0);
		wl_sleep(w, KT_IO_SLEEP_NS);
		w->slot->rep.iterations++;
	}
}

static void run_mixed(struct kt_worker_ctx *w)
{
	while (!kt_worker_should_stop(w)) {
		for (unsigned i = 0; i < KT_MIXED_BLOCKS && !kt_worker_should_stop(w); i++) {
			w->sink = kt_work_spin_block(w->sink);
			wl_tick(w, 1, 0);
		}
		sched_yield();
		w->slot->rep.iterations++;
	}
}

static void run_yield_heavy(struct kt_worker_ctx *w)
{
	while (!kt_worker_should_stop(w)) {
		uint64_t x = w->sink;

		for (unsigned i = 0; i < KT_TINY_ITERS; i++) {
			x = x * 6364136223846793005ull + i;
			__asm__ volatile("" : "+r"(x));
		}
		w->sink = x;
		sched_yield();
		w->slot->rep.iterations++;
		wl_tick(w, 1, 0);
	}
}

/* /proc/self/schedstat: "<cpu ns> <run delay ns> <timeslices>". */
static bool read_schedstat(uint64_t v[3])
{
	char buf[128];

	if (kt_read_line("/proc/self/schedstat", buf, sizeof(buf)) < 0)
		return false;
	return sscanf(buf, "%" SCNu64 " %" SCNu64 " %" SCNu64, &v[0], &v[1], &v[2]) == 3;
}

static void on_stop_signal(int sig)
{
	/* Only here to interrupt sleeps; the stop flag carries the request. */
	(void)sig;
}

/* Apply affinity and scheduling policy to the calling process. */
static int child_setup_sched(const struct kt_wl_child_args *a)
{
	struct sched_param sp = { 0 };

	if (!a->affinity)
		kt_unpin_self();	/* "inherit" means the machine, not the harness's own pinning */
	if (a->affinity && sched_setaffinity(0, a->affinity_size, a->affinity) < 0)
		return -errno;
	switch (a->policy) {
	case KT_POLICY_FIFO:
	case KT_POLICY_RR:
		sp.sched_priority = a->priority;
		if (sched_setscheduler(0, a->policy == KT_POLICY_FIFO ? SCHED_FIFO : SCHED_RR,
				       &sp) < 0)
			return -errno;
		return 0;
	case KT_POLICY_IDLE:
		if (sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
			return -errno;
		return 0;
	case KT_POLICY_BATCH:
		if (sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
			return -errno;
		break;
	case KT_POLICY_NORMAL:
		break;
	}
	if (a->nice && setpriority(PRIO_PROCESS, 0, a->nice) < 0)
		return -errno;
	return 0;
}

static int child_setup(const struct kt_wl_child_args *a, struct kt_worker_ctx *w)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t set;
	int err;

	/* Own process group, so the parent can kill us and our children. */
	setpgid(0, 0);
	{
		char comm[16];

		/* a name the scheduler's diagnostics can be read by ("kt-worker-3") */
		snprintf(comm, sizeof(comm), "kt-worker-%u", a->index);
		prctl(PR_SET_NAME, comm);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	/* The parent may have died before PDEATHSIG was armed. */
	if (getppid() != a->ctl->parent)
		_exit(1);

	/* No SA_RESTART: the stop signal must cut a sleep short. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(KT_WORKER_STOP_SIGNAL, &sa, NULL) < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, KT_WORKER_STOP_SIGNAL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	err = child_setup_sched(a);
	if (err)
		return err;

	if (a->work.kind == KT_WORK_IO_SYNC) {
		char path[] = "/tmp/ktstr-io-XXXXXX";

		w->io_fd = mkostemp(path, O_CLOEXEC);
		if (w->io_fd < 0)
			return -errno;
		/* Private: nobody else needs the name, and it cannot leak. */
		unlink(path);
	}
	return 0;
}

static void wait_for_go(const struct kt_wl_control *ctl)
{
	while (!atomic_load_explicit(&ctl->go, memory_order_acquire))
		syscall(SYS_futex, (int *)&ctl->go, FUTEX_WAIT, 0, NULL, NULL, 0);
}

static __attribute__((noreturn)) void child_finish(struct kt_worker_ctx *w)
{
	struct kt_wl_slot *s = w->slot;
	struct kt_worker_report *r = &s->rep;
	uint64_t end = mono_ns(), cpu = thread_cpu_ns() - s->cpu_start_ns;
	uint64_t st[3];

	s->stop_seen = kt_worker_should_stop(w);
	r->wall_time_ns = end - s->start_ns;
	r->cpu_time_ns = cpu;
	r->off_cpu_ns = r->wall_time_ns > cpu ? r->wall_time_ns - cpu : 0;
	if (s->sched_start_ok && read_schedstat(st)) {
		r->sched_cpu_ns = st[0] - s->sched_start[0];
		r->sched_run_delay_ns = st[1] - s->sched_start[1];
		r->sched_run_count = st[2] - s->sched_start[2];
	}
	atomic_store_explicit(&s->state, KT_SLOT_DONE, memory_order_release);
	_exit(0);
}

void kt_wl_child_main(const struct kt_wl_child_args *a)
{
	struct kt_worker_ctx w = {
		.slot = a->slot,
		.stop = &a->ctl->stop,
		.cpu_bits = a->cpu_bits,
		.cpu_nbits = a->ctl->cpu_words * 64,
		.last_cpu = -1,
		.io_fd = -1,
	};
	struct kt_wl_ready_msg msg = { .index = a->index };
	struct kt_wl_slot *s = a->slot;

	msg.err = child_setup(a, &w);
	/* Failure or not, the parent hears from us exactly once. */
	if (write(a->ready_fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		_exit(1);
	close(a->ready_fd);
	if (msg.err)
		_exit(1);

	wait_for_go(a->ctl);

	w.rng = (mono_ns() ^ ((uint64_t)getpid() << 32)) | 1;
	w.sink = w.rng;
	s->rep.max_gap_cpu = -1;
	s->sched_start_ok = read_schedstat(s->sched_start);
	s->cpu_start_ns = thread_cpu_ns();
	/*
	 * Time runs from the release, not from when this worker first got a
	 * CPU: a scheduler that never runs a freshly woken task must show up
	 * as a gap, not as a worker that merely started late.
	 */
	s->start_ns = mono_ns();
	if (a->ctl->go_ns && a->ctl->go_ns < s->start_ns)
		s->start_ns = a->ctl->go_ns;
	s->last_tick_ns = s->start_ns;
	w.last_ns = s->start_ns;
	atomic_store_explicit(&s->state, KT_SLOT_RUNNING, memory_order_release);
	/* Record where we start, so even a worker that never ticks has a CPU. */
	note_cpu(&w, sched_getcpu());

	switch (a->work.kind) {
	case KT_WORK_UNSET:
	case KT_WORK_CPU_SPIN:
		run_cpu_spin(&w);
		break;
	case KT_WORK_BURSTY:
		run_bursty(&w, &a->work);
		break;
	case KT_WORK_IO_SYNC:
		run_io_sync(&w);
		break;
	case KT_WORK_MIXED:
		run_mixed(&w);
		break;
	case KT_WORK_YIELD_HEAVY:
		run_yield_heavy(&w);
		break;
	case KT_WORK_CUSTOM:
		a->work.custom(&w, a->work.custom_arg);
		break;
	case KT_WORK__COUNT:
		break;
	}
	child_finish(&w);
}
