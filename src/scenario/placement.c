/*
 * The scenario layer's placement sampler: while kt_ctx_sleep waits, about
 * every 100 ms it reads, for every running worker it watches, the
 * kernel's run delay (/proc/PID/schedstat), state and current CPU
 * (/proc/PID/stat) and allowed CPUs (sched_getaffinity), and every CPU's
 * idle time (/proc/stat), and feeds them to the check module's placement
 * evaluator (kt_wc_*).  The evaluator judges; this file only reads.
 * A worker that cannot be read (it just exited) is left out of that
 * sample.  Must not print.
 */
#include "scenario/scenario_internal.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Sampling period, and how many workers one sample reads at most before
 * the period stretches (each worker costs three reads). */
#define PLACEMENT_PERIOD_MS 100
#define PLACEMENT_WORKERS_PER_PERIOD 48

struct sampled {
	struct kt_wc_task task;
	char label[96];
	struct kt_cpuset *allowed;
};

/* Cumulative idle + iowait per CPU from /proc/stat, in ns. */
static int read_idle(uint64_t **out, unsigned *ncpu)
{
	KT_AUTOFREE char *text = NULL;
	KT_AUTOFREE uint64_t *idle = NULL;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned n = 0, cap = 0;
	int err = kt_read_file("/proc/stat", &text, NULL);

	if (err)
		return err;
	if (hz <= 0)
		hz = 100;
	for (char *line = text, *next; line && *line; line = next) {
		unsigned cpu;
		unsigned long long v[5];

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "cpuN ...", not the "cpu  ..." total (%u would skip the blanks) */
		if (strncmp(line, "cpu", 3) || !isdigit((unsigned char)line[3]) ||
		    sscanf(line, "cpu%u %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3],
			   &v[4]) != 6)
			continue;
		if (cpu >= cap) {
			unsigned ncap = cpu + 64;
			uint64_t *p = realloc(idle, ncap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			memset(p + cap, 0, (ncap - cap) * sizeof(*p));
			idle = p;
			cap = ncap;
		}
		idle[cpu] = (uint64_t)(v[3] + v[4]) * (1000000000ull / (uint64_t)hz);
		if (cpu + 1 > n)
			n = cpu + 1;
	}
	*out = kt_take_ptr(idle);
	*ncpu = n;
	return 0;
}

/* One worker's run delay, state and CPU; false when it is gone. */
static bool read_task(pid_t tid, struct kt_wc_task *t)
{
	char path[64], buf[1024], state;
	unsigned long long cpu_ns, delay;
	const char *p;
	int field, cpu = -1;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)tid);
	if (kt_read_line(path, buf, sizeof(buf)) || sscanf(buf, "%llu %llu", &cpu_ns, &delay) != 2)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (kt_read_line(path, buf, sizeof(buf)))
		return false;
	/* after the last ')' (comm may hold anything): field 3 is the state */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c", &state) != 1)
		return false;
	/* field 39 is the CPU it last ran on (its run queue) */
	p += 2;
	for (field = 3; *p && field < 39; p++)
		if (*p == ' ')
			field++;
	if (field == 39)
		sscanf(p, "%d", &cpu);
	t->run_delay_ns = delay;
	t->runnable = state == 'R';
	t->cpu = cpu;
	return true;
}

static struct kt_cpuset *read_allowed(pid_t tid)
{
	cpu_set_t set;

	if (sched_getaffinity(tid, sizeof(set), &set))
		return NULL;
	return kt_cpuset_from_affinity(&set, sizeof(set));
}

void kt_scen_placement_sample(struct kt_ctx *ctx, struct kt_wc **wcp, uint64_t *last_ns,
			      struct kt_handle_list *const *lists, size_t nlists)
{
	uint64_t now = kt_now_ns(), period;
	KT_AUTOFREE struct sampled *s = NULL;
	KT_AUTOFREE uint64_t *idle = NULL;
	size_t n = 0, cap = 0;
	unsigned ncpu = 0;

	if (!ctx->assert.work_conservation.v && !(ctx->assert.max_imbalance_ratio.v > 0) &&
	    !ctx->assert.llc_locality.v)
		return;
	for (size_t i = 0; i < nlists; i++)
		for (size_t k = 0; k < lists[i]->n; k++)
			if (lists[i]->e[k].h && lists[i]->e[k].started)
				cap += kt_workload_count(lists[i]->e[k].h);
	period = PLACEMENT_PERIOD_MS * 1000000ull;
	if (cap > PLACEMENT_WORKERS_PER_PERIOD)
		period = period * cap / PLACEMENT_WORKERS_PER_PERIOD;
	if (*last_ns && now - *last_ns < period * 9 / 10)
		return;
	*last_ns = now;
	if (!*wcp && !(*wcp = kt_wc_new(&ctx->assert)))
		return;
	s = cap ? calloc(cap, sizeof(*s)) : NULL;
	if ((cap && !s) || read_idle(&idle, &ncpu))
		return;
	for (size_t i = 0; i < nlists; i++) {
		for (size_t k = 0; k < lists[i]->n; k++) {
			const struct kt_handle_entry *e = &lists[i]->e[k];

			for (size_t j = 0; e->h && e->started && j < kt_workload_count(e->h) && n < cap;
			     j++) {
				struct sampled *x = &s[n];
				pid_t tid = kt_workload_pid(e->h, j);

				if (tid <= 0 || !read_task(tid, &x->task))
					continue;
				x->allowed = read_allowed(tid);
				snprintf(x->label, sizeof(x->label), "%.48s/worker %zu (tid %d)",
					 e->host ? KT_SCEN_HOST_LABEL : e->cgroup, j, (int)tid);
				x->task.tid = tid;
				x->task.llc = x->task.cpu >= 0 && ctx->topo
						      ? kt_topo_cpu_llc(ctx->topo, (unsigned)x->task.cpu)
						      : -1;
				x->task.label = x->label;
				x->task.allowed = x->allowed;
				n++;
			}
		}
	}
	{
		KT_AUTOFREE struct kt_wc_task *tasks = n ? malloc(n * sizeof(*tasks)) : NULL;

		for (size_t i = 0; tasks && i < n; i++)
			tasks[i] = s[i].task;
		if (!n || tasks)
			kt_wc_feed(*wcp, kt_timeline_now_ms(kt_ctx_timeline(ctx)), tasks, n, idle, ncpu);
	}
	for (size_t i = 0; i < n; i++)
		kt_cpuset_free(s[i].allowed);
}
