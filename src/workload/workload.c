/*
 * The parent side of workers: validate a config, fork the workers blocked,
 * release them, stop them, collect their reports from the shared mapping
 * and reap every process, whatever happened to it.
 *
 * Invariant: no path out of this file leaves a worker unreaped.  Errors
 * SIGKILL each worker's process group and wait for it.  Must not know about
 * cgroups (the caller moves the pids between spawn and start) and must not
 * print.
 */
#include "workload_internal.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define KT_CAP_SYS_NICE 23
/* How long spawn waits for the workers to report that they are set up. */
#define KT_READY_TIMEOUT_MS 10000
#define KT_DEFAULT_DEADLINE_MS 5000

struct kt_wl_proc {
	pid_t pid;
	int pidfd;		/* -1 when pidfd_open is unavailable */
	bool reaped;
	bool timed_out;
	int status;
	struct rusage ru;
	uint64_t end_ns;	/* when it was killed at the deadline */
	uint64_t sched_end[3];	/* /proc/<pid>/schedstat just before reaping */
	bool sched_end_ok;
};

struct kt_workload_handle {
	size_t n;
	struct kt_wl_proc *procs;
	void *map;
	size_t map_len;
	size_t slot_stride;
	struct kt_wl_control *ctl;
	enum kt_work_kind kind;
	bool started;
	bool stop_requested;
	bool collected;
};

static struct kt_wl_slot *slot_of(const struct kt_workload_handle *h, size_t i)
{
	return (struct kt_wl_slot *)((char *)h->map + sizeof(struct kt_wl_control) +
				     i * h->slot_stride);
}

static uint64_t *bits_of(const struct kt_workload_handle *h, size_t i)
{
	return (uint64_t *)(slot_of(h, i) + 1);
}

static void futex_wake_all(_Atomic int *word)
{
	syscall(SYS_futex, (int *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Highest possible CPU id + 1: the bound of what sched_getcpu can return. */
static unsigned possible_cpus(void)
{
	KT_AUTO(kt_cpuset) set = NULL;
	char buf[4096];
	int n = get_nprocs_conf(), last = -1;

	if (kt_read_line("/sys/devices/system/cpu/possible", buf, sizeof(buf)) == 0 &&
	    kt_cpuset_parse(buf, &set, NULL) == 0)
		last = kt_cpuset_last(set);
	if (last + 1 > n)
		n = last + 1;
	return n > 0 ? (unsigned)n : 1;
}

/* CAP_SYS_NICE in the effective set, or an RLIMIT_RTPRIO that covers prio. */
static bool may_use_rt(int prio)
{
	struct rlimit rl;
	char *text = NULL, *p;
	bool ok = true;	/* no /proc: let the child's own attempt decide */

	if (getrlimit(RLIMIT_RTPRIO, &rl) == 0 && rl.rlim_cur >= (rlim_t)prio)
		return true;
	if (kt_read_file("/proc/self/status", &text, NULL) < 0)
		return ok;
	p = strstr(text, "\nCapEff:");
	if (p) {
		unsigned long long caps = strtoull(p + 8, NULL, 16);

		ok = caps & (1ull << KT_CAP_SYS_NICE);
	}
	free(text);
	return ok;
}

static int validate(const struct kt_workload_config *cfg)
{
	if ((unsigned)cfg->work.kind >= KT_WORK__COUNT)
		return -EINVAL;
	if (cfg->work.kind == KT_WORK_CUSTOM && !cfg->work.custom)
		return -EINVAL;
	switch (cfg->affinity) {
	case KT_AFFINITY_NONE:
	case KT_AFFINITY_SINGLE:
		break;
	case KT_AFFINITY_FIXED:
	case KT_AFFINITY_RANDOM:
		if (!cfg->affinity_set || kt_cpuset_empty(cfg->affinity_set))
			return -EINVAL;
		if (cfg->affinity == KT_AFFINITY_RANDOM && !cfg->random_count)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	switch (cfg->policy) {
	case KT_POLICY_FIFO:
	case KT_POLICY_RR: {
		int pol = cfg->policy == KT_POLICY_FIFO ? SCHED_FIFO : SCHED_RR;

		if (cfg->priority < sched_get_priority_min(pol) ||
		    cfg->priority > sched_get_priority_max(pol) || cfg->priority < 1)
			return -EINVAL;
		if (!may_use_rt(cfg->priority))
			return -EPERM;
		break;
	}
	case KT_POLICY_NORMAL:
	case KT_POLICY_BATCH:
	case KT_POLICY_IDLE:
		if (cfg->nice < -20 || cfg->nice > 19)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static uint64_t rng_step(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A cpu_set_t for worker i, or NULL (inherit).  Built before fork so that
 * the child allocates nothing. */
static int build_affinity(const struct kt_workload_config *cfg, uint64_t *rng,
			  cpu_set_t **out, size_t *size)
{
	KT_AUTO(kt_cpuset) pick = NULL;
	const struct kt_cpuset *use;
	unsigned ncpu;
	cpu_set_t *set;

	*out = NULL;
	*size = 0;
	switch (cfg->affinity) {
	case KT_AFFINITY_NONE:
		return 0;
	case KT_AFFINITY_SINGLE:
		pick = kt_cpuset_new();
		if (!pick || kt_cpuset_set(pick, cfg->single_cpu) < 0)
			return -ENOMEM;
		use = pick;
		break;
	case KT_AFFINITY_RANDOM: {
		unsigned total = kt_cpuset_count(cfg->affinity_set);
		unsigned want = cfg->random_count < total ? cfg->random_count : total;
		unsigned *cpus = calloc(total, sizeof(*cpus));

		pick = kt_cpuset_new();
		if (!cpus || !pick) {
			free(cpus);
			return -ENOMEM;
		}
		kt_cpuset_to_array(cfg->affinity_set, cpus, total);
		/* Partial Fisher-Yates: the first `want` entries are the pick. */
		for (unsigned i = 0; i < want; i++) {
			unsigned j = i + (unsigned)(rng_step(rng) % (total - i));
			unsigned t = cpus[i];

			cpus[i] = cpus[j];
			cpus[j] = t;
			if (kt_cpuset_set(pick, cpus[i]) < 0) {
				free(cpus);
				return -ENOMEM;
			}
		}
		free(cpus);
		use = pick;
		break;
	}
	default:
		use = cfg->affinity_set;
		break;
	}
	ncpu = (unsigned)kt_cpuset_last(use) + 1;
	set = CPU_ALLOC(ncpu);
	if (!set)
		return -ENOMEM;
	*size = CPU_ALLOC_SIZE(ncpu);
	CPU_ZERO_S(*size, set);
	kt_cpuset_for_each(cpu, use)
		CPU_SET_S((unsigned)cpu, *size, set);
	*out = set;
	return 0;
}

/* SIGKILL a worker's whole process group (its strays too) and reap it. */
static void proc_kill_reap(struct kt_wl_proc *p)
{
	if (p->reaped || p->pid <= 0)
		return;
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	while (wait4(p->pid, &p->status, 0, &p->ru) < 0) {
		if (errno != EINTR) {
			p->status = 0;
			break;
		}
	}
	p->reaped = true;
}

static void read_proc_schedstat(struct kt_wl_proc *p)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)p->pid);
	p->sched_end_ok = kt_read_line(path, buf, sizeof(buf)) == 0 &&
			  sscanf(buf, "%" SCNu64 " %" SCNu64 " %" SCNu64, &p->sched_end[0],
				 &p->sched_end[1], &p->sched_end[2]) == 3;
}

/* Has the worker exited (without reaping it, so its pid and process group
 * stay reserved while we clean up after it)? */
static bool proc_exited(const struct kt_wl_proc *p)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid != 0;
}

void kt_workload_handle_free(struct kt_workload_handle *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		proc_kill_reap(&h->procs[i]);
		if (h->procs[i].pidfd >= 0)
			close(h->procs[i].pidfd);
	}
	if (h->map)
		munmap(h->map, h->map_len);
	free(h->procs);
	free(h);
}

static int handle_alloc(const struct kt_workload_config *cfg, struct kt_workload_handle **out)
{
	struct kt_workload_handle *h = calloc(1, sizeof(*h));
	unsigned words = (possible_cpus() + 63) / 64;

	if (!h)
		return -ENOMEM;
	h->n = cfg->num_workers;
	h->kind = cfg->work.kind ? cfg->work.kind : KT_WORK_CPU_SPIN;
	h->procs = calloc(h->n ? h->n : 1, sizeof(*h->procs));
	if (!h->procs) {
		free(h);
		return -ENOMEM;
	}
	for (size_t i = 0; i < h->n; i++)
		h->procs[i].pidfd = -1;
	h->slot_stride = (sizeof(struct kt_wl_slot) + words * sizeof(uint64_t) + 63) & ~(size_t)63;
	h->map_len = sizeof(struct kt_wl_control) + h->n * h->slot_stride;
	h->map = mmap(NULL, h->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h->map == MAP_FAILED) {
		int err = -errno;

		h->map = NULL;
		kt_workload_handle_free(h);
		return err;
	}
	h->ctl = h->map;
	h->ctl->parent = getpid();
	h->ctl->cpu_words = words;
	*out = h;
	return 0;
}

/* Wait for every worker's readiness message; the first error wins. */
static int wait_ready(struct kt_workload_handle *h, int rfd)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)KT_READY_TIMEOUT_MS * 1000000ull;
	size_t got = 0;
	int err = 0;

	while (got < h->n) {
		struct pollfd pfd = { .fd = rfd, .events = POLLIN };
		struct kt_wl_ready_msg msg;
		uint64_t now = kt_now_ns();
		ssize_t r;
		int pr;

		if (now >= deadline)
			return err ? err : -ETIMEDOUT;
		pr = poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			continue;
		r = read(rfd, &msg, sizeof(msg));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) /* every write end closed: someone died unannounced */
			return err ? err : -ECHILD;
		if (r != (ssize_t)sizeof(msg))
			return -EIO;
		if (msg.err && !err)
			err = msg.err;
		got++;
	}
	return err;
}

int kt_workload_spawn(const struct kt_workload_config *cfg, struct kt_workload_handle **out)
{
	KT_AUTO(kt_workload_handle) h = NULL;
	uint64_t rng = kt_now_ns() ^ ((uint64_t)getpid() << 20) ^ (uintptr_t)&rng;
	int pipefd[2], err;

	if (!cfg || !out)
		return -EINVAL;
	*out = NULL;
	err = validate(cfg);
	if (err)
		return err;
	err = handle_alloc(cfg, &h);
	if (err)
		return err;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	rng |= 1;

	for (size_t i = 0; i < h->n; i++) {
		struct kt_wl_child_args a = {
			.ctl = h->ctl,
			.slot = slot_of(h, i),
			.cpu_bits = bits_of(h, i),
			.index = (unsigned)i,
			.work = cfg->work,
			.policy = cfg->policy,
			.priority = cfg->priority,
			.nice = cfg->nice,
			.ready_fd = pipefd[1],
		};
		pid_t pid;

		a.work.kind = h->kind;
		err = build_affinity(cfg, &rng, &a.affinity, &a.affinity_size);
		if (err)
			break;
		/* Flush stdio so buffered output is not written twice. */
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			err = -errno;
			CPU_FREE(a.affinity);
			break;
		}
		if (pid == 0) {
			close(pipefd[0]);
			kt_wl_child_main(&a);
		}
		CPU_FREE(a.affinity);
		/* Also from the parent: no window where the group is not yet set. */
		setpgid(pid, pid);
		h->procs[i].pid = pid;
		h->procs[i].pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	close(pipefd[1]);
	if (!err)
		err = wait_ready(h, pipefd[0]);
	close(pipefd[0]);
	if (err)
		return err;	/* h's cleanup kills and reaps whatever was forked */
	*out = kt_take_ptr(h);
	return 0;
}

size_t kt_workload_count(const struct kt_workload_handle *h)
{
	return h ? h->n : 0;
}

pid_t kt_workload_pid(const struct kt_workload_handle *h, size_t i)
{
	return h && i < h->n ? h->procs[i].pid : -1;
}

int kt_workload_start(struct kt_workload_handle *h)
{
	if (!h || h->collected)
		return -EINVAL;
	if (h->started)
		return -EALREADY;
	h->started = true;
	h->ctl->go_ns = kt_now_ns();
	atomic_store_explicit(&h->ctl->go, 1, memory_order_release);
	futex_wake_all(&h->ctl->go);
	return 0;
}

int kt_workload_set_affinity(struct kt_workload_handle *h, const struct kt_cpuset *set)
{
	size_t size;
	cpu_set_t *cs;
	unsigned ncpu;
	int err = 0;

	if (!h || !set || kt_cpuset_empty(set))
		return -EINVAL;
	ncpu = (unsigned)kt_cpuset_last(set) + 1;
	cs = CPU_ALLOC(ncpu);
	if (!cs)
		return -ENOMEM;
	size = CPU_ALLOC_SIZE(ncpu);
	CPU_ZERO_S(size, cs);
	kt_cpuset_for_each(cpu, set)
		CPU_SET_S((unsigned)cpu, size, cs);
	for (size_t i = 0; i < h->n; i++) {
		if (h->procs[i].reaped)
			continue;
		/* A worker that died on its own is reported at collect time. */
		if (sched_setaffinity(h->procs[i].pid, size, cs) < 0 && errno != ESRCH && !err)
			err = -errno;
	}
	CPU_FREE(cs);
	return err;
}

/* Turn what the slot and the kernel say into the public report. */
static int build_report(const struct kt_workload_handle *h, size_t i, struct kt_worker_report *r)
{
	const struct kt_wl_slot *s = slot_of(h, i);
	const struct kt_wl_proc *p = &h->procs[i];
	const uint64_t *bits = bits_of(h, i);
	bool done = atomic_load_explicit(&s->state, memory_order_acquire) == KT_SLOT_DONE;

	*r = s->rep;
	r->cpus_used = kt_cpuset_new();
	if (!r->cpus_used)
		return -ENOMEM;
	for (unsigned w = 0; w < h->ctl->cpu_words; w++)
		for (unsigned b = 0; b < 64; b++)
			if ((bits[w] >> b & 1) && kt_cpuset_set(r->cpus_used, w * 64 + b) < 0)
				return -ENOMEM;
	r->tid = p->pid;
	r->index = (unsigned)i;
	r->work_kind = h->kind;
	r->max_gap_ms = (double)s->max_gap_ns / 1e6;
	r->exit_code = 0;
	r->term_signal = 0;
	r->completed = false;

	if (p->timed_out) {
		r->end = KT_END_TIMED_OUT;
		r->term_signal = SIGKILL;
	} else if (WIFSIGNALED(p->status)) {
		r->end = KT_END_SIGNALED;
		r->term_signal = WTERMSIG(p->status);
	} else if (WEXITSTATUS(p->status) == 0 && done && s->stop_seen) {
		r->end = KT_END_COMPLETED;
		r->completed = true;
	} else {
		r->end = KT_END_EXITED;
		r->exit_code = WEXITSTATUS(p->status);
	}

	/* A worker that did not finish its report: rebuild the totals from
	 * what the kernel kept (rusage, schedstat) and its last tick. */
	if (!done && s->start_ns) {
		uint64_t end = p->timed_out ? p->end_ns : s->last_tick_ns;
		uint64_t cpu = (uint64_t)p->ru.ru_utime.tv_sec * 1000000000ull +
			       (uint64_t)p->ru.ru_utime.tv_usec * 1000ull +
			       (uint64_t)p->ru.ru_stime.tv_sec * 1000000000ull +
			       (uint64_t)p->ru.ru_stime.tv_usec * 1000ull;

		r->wall_time_ns = end > s->start_ns ? end - s->start_ns : 0;
		r->cpu_time_ns = cpu > s->cpu_start_ns ? cpu - s->cpu_start_ns : 0;
		r->off_cpu_ns = r->wall_time_ns > r->cpu_time_ns ?
					r->wall_time_ns - r->cpu_time_ns : 0;
		if (s->sched_start_ok && p->sched_end_ok) {
			r->sched_cpu_ns = p->sched_end[0] - s->sched_start[0];
			r->sched_run_delay_ns = p->sched_end[1] - s->sched_start[1];
			r->sched_run_count = p->sched_end[2] - s->sched_start[2];
		}
	}
	return 0;
}

void kt_workload_request_stop(struct kt_workload_handle *h)
{
	if (!h || h->stop_requested)
		return;
	h->stop_requested = true;
	atomic_store_explicit(&h->ctl->stop, 1, memory_order_release);
	if (!h->started) {
		/* Never started: let them run just far enough to see stop. */
		h->started = true;
		atomic_store_explicit(&h->ctl->go, 1, memory_order_release);
		futex_wake_all(&h->ctl->go);
	}
	for (size_t i = 0; i < h->n; i++)
		kill(h->procs[i].pid, KT_WORKER_STOP_SIGNAL);
}

int kt_workload_stop_collect(struct kt_workload_handle *h, unsigned deadline_ms,
			     struct kt_worker_report **reports, size_t *n)
{
	struct kt_worker_report *out;
	struct pollfd *pfds;
	uint64_t deadline;

	if (!h || !reports || !n)
		return -EINVAL;
	*reports = NULL;
	*n = 0;
	if (h->collected)
		return -EALREADY;
	h->collected = true;
	deadline = kt_now_ns() +
		   (uint64_t)(deadline_ms ? deadline_ms : KT_DEFAULT_DEADLINE_MS) * 1000000ull;
	kt_workload_request_stop(h);

	pfds = calloc(h->n ? h->n : 1, sizeof(*pfds));
	for (;;) {
		size_t npoll = 0, pending = 0;
		uint64_t now;

		for (size_t i = 0; i < h->n; i++) {
			struct kt_wl_proc *p = &h->procs[i];

			if (p->reaped)
				continue;
			if (proc_exited(p)) {
				read_proc_schedstat(p);
				proc_kill_reap(p);
				continue;
			}
			pending++;
			if (pfds && p->pidfd >= 0)
				pfds[npoll++] = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
		}
		now = kt_now_ns();
		if (!pending || now >= deadline)
			break;
		/* pidfds wake us on exit; without them, poll in short steps. */
		if (npoll == pending)
			poll(pfds, npoll, (int)((deadline - now) / 1000000ull) + 1);
		else
			kt_sleep_ns(1000000ull);
	}
	free(pfds);

	for (size_t i = 0; i < h->n; i++) {
		struct kt_wl_proc *p = &h->procs[i];

		if (p->reaped)
			continue;
		p->timed_out = true;
		p->end_ns = kt_now_ns();
		read_proc_schedstat(p);
		proc_kill_reap(p);
	}

	out = calloc(h->n ? h->n : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < h->n; i++) {
		if (build_report(h, i, &out[i]) < 0) {
			kt_worker_reports_free(out, i + 1);
			return -ENOMEM;
		}
	}
	*reports = out;
	*n = h->n;
	return 0;
}

void kt_worker_report_release(struct kt_worker_report *r)
{
	if (!r)
		return;
	kt_cpuset_free(r->cpus_used);
	r->cpus_used = NULL;
}

void kt_worker_reports_free(struct kt_worker_report *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		kt_worker_report_release(&r[i]);
	free(r);
}

int kt_workload_live_end(const struct kt_workload_handle *h, size_t i, int *code)
{
	siginfo_t si = { 0 };

	if (!h || i >= h->n || !h->started || h->stop_requested || h->collected ||
	    h->procs[i].reaped)
		return 0;
	if (waitid(P_PID, (id_t)h->procs[i].pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid == 0)
		return 0;
	if (si.si_code == CLD_EXITED) {
		if (code)
			*code = si.si_status;
		return -1;
	}
	return si.si_status > 0 ? si.si_status : SIGKILL;
}

uint64_t kt_workload_live_units(const struct kt_workload_handle *h, size_t i)
{
	if (!h || i >= h->n || !h->started)
		return 0;
	/* the worker adds to it as it ticks; an aligned 64-bit load sees
	 * either the old or the new count */
	return __atomic_load_n(&slot_of(h, i)->rep.work_units, __ATOMIC_RELAXED);
}

double kt_workload_live_gap_ms(const struct kt_workload_handle *h, size_t i)
{
	const struct kt_wl_slot *s;
	uint64_t last, now;

	if (!h || i >= h->n || !h->started || h->collected)
		return 0;
	s = slot_of(h, i);
	switch (atomic_load(&s->state)) {
	case KT_SLOT_SPAWNED:	/* released but never got a CPU since */
		last = h->ctl->go_ns;
		break;
	case KT_SLOT_RUNNING:
		last = __atomic_load_n(&s->last_tick_ns, __ATOMIC_RELAXED);
		break;
	default:
		return 0;
	}
	now = kt_now_ns();
	return last && now > last ? (double)(now - last) / 1e6 : 0;
}
