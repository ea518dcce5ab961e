/*
 * Readers of the kernel's scheduler state for the monitor: pure parsers of
 * the scheduler debug file, /proc/schedstat and sched_ext's event counters,
 * plus the one function that reads the live files.  Kernel-version
 * differences in these formats stay here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor_internal.h"

#define SCX_SYSFS "/sys/kernel/sched_ext"

void kt_mon_sample_init(struct kt_mon_sample *s)
{
	unsigned i;

	s->t_ms = 0;
	s->ncpu = 0;
	s->scx_enabled = false;
	s->enable_seq = 0;
	s->nevents = 0;
	for (i = 0; i < KT_MON_MAX_CPUS; i++) {
		s->cpus[i] = (struct kt_mon_cpu){ .nr_running = -1, .clock_ms = -1, .local_dsq = -1 };
	}
}

/* "  .key   : value" -> value text, or NULL when the key differs. */
static const char *field_value(const char *line, const char *key)
{
	size_t n = strlen(key);
	const char *p = line;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '.' || strncmp(p + 1, key, n))
		return NULL;
	p += 1 + n;
	if (*p != ' ' && *p != '\t' && *p != ':')
		return NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return NULL;
	return p + 1;
}

int kt_mon_parse_sched_debug(const char *text, struct kt_mon_sample *s)
{
	const char *line = text;
	long cpu = -1;
	bool in_cpu = false, any = false;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		const char *v;
		long n;

		if (!strncmp(line, "cpu#", 4)) {
			n = strtol(line + 4, NULL, 10);
			cpu = n >= 0 && n < KT_MON_MAX_CPUS ? n : -1;
			in_cpu = cpu >= 0;
			if (in_cpu && (unsigned)cpu + 1 > s->ncpu)
				s->ncpu = (unsigned)cpu + 1;
		} else if (line[0] != ' ' && line[0] != '\n' && line[0] != '\t') {
			/* A new section ("cfs_rq[0]:", "ext_rq[0]:", "runnable tasks:").
			 * The per-CPU header fields come before the first one. */
			in_cpu = false;
		} else if (in_cpu && (v = field_value(line, "nr_running"))) {
			s->cpus[cpu].nr_running = strtol(v, NULL, 10);
			any = true;
		} else if (in_cpu && (v = field_value(line, "clock"))) {
			s->cpus[cpu].clock_ms = strtod(v, NULL);
		}
		line = nl ? nl + 1 : NULL;
	}
	return any ? 0 : -EINVAL;
}

int kt_mon_parse_schedstat(const char *text, struct kt_mon_sample *s)
{
	const char *line = text;
	bool any = false;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		unsigned long long f[9];
		int cpu;

		/* Fields 7..9 (rq_cpu_time, run_delay, pcount) exist since
		 * version 15; the first six are 0 unless schedstats is on. */
		if (!strncmp(line, "cpu", 3) &&
		    sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &f[0],
			   &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]) == 10 &&
		    cpu >= 0 && cpu < KT_MON_MAX_CPUS) {
			s->cpus[cpu].have_schedstat = true;
			s->cpus[cpu].cpu_time_ns = f[6];
			s->cpus[cpu].run_delay_ns = f[7];
			s->cpus[cpu].pcount = f[8];
			if ((unsigned)cpu + 1 > s->ncpu)
				s->ncpu = (unsigned)cpu + 1;
			any = true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return any ? 0 : -EINVAL;
}

int kt_mon_parse_events(const char *text, struct kt_mon_sample *s)
{
	const char *line = text;

	s->nevents = 0;
	while (line && *line && s->nevents < KT_MON_MAX_EVENTS) {
		const char *nl = strchr(line, '\n');
		struct kt_mon_event *e = &s->events[s->nevents];
		long long v;
		char name[48];

		if (sscanf(line, "%47s %lld", name, &v) == 2) {
			snprintf(e->name, sizeof(e->name), "%s", name);
			e->value = v;
			s->nevents++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return s->nevents ? 0 : -EINVAL;
}

bool kt_mon_event(const struct kt_mon_sample *s, const char *name, int64_t *v)
{
	unsigned i;

	for (i = 0; i < s->nevents; i++)
		if (!strcmp(s->events[i].name, name)) {
			*v = s->events[i].value;
			return true;
		}
	return false;
}

void kt_mon_sources_probe(struct kt_mon_sources *src)
{
	/* Newer kernels moved /proc/sched_debug into debugfs. */
	static const char *const debug[] = { "/sys/kernel/debug/sched/debug", "/proc/sched_debug" };
	unsigned i;

	src->sched_debug = NULL;
	for (i = 0; i < KT_ARRAY_SIZE(debug); i++)
		if (access(debug[i], R_OK) == 0) {
			src->sched_debug = debug[i];
			break;
		}
	src->schedstat = access("/proc/schedstat", R_OK) == 0;
	src->scx = access(SCX_SYSFS "/state", R_OK) == 0;
}

int kt_mon_sample_take(const struct kt_mon_sources *src, struct kt_mon_sample *s)
{
	struct timespec ts;
	char *text = NULL;
	char state[32];
	bool ok = false;

	kt_mon_sample_init(s);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	s->t_ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
	if (src->sched_debug && kt_read_file(src->sched_debug, &text, NULL) == 0) {
		ok |= kt_mon_parse_sched_debug(text, s) == 0;
		free(text);
		text = NULL;
	}
	if (src->schedstat && kt_read_file("/proc/schedstat", &text, NULL) == 0) {
		ok |= kt_mon_parse_schedstat(text, s) == 0;
		free(text);
		text = NULL;
	}
	if (src->scx) {
		s->scx_enabled = kt_read_line(SCX_SYSFS "/state", state, sizeof(state)) == 0 &&
				 !strcmp(state, "enabled");
		kt_read_u64(SCX_SYSFS "/enable_seq", &s->enable_seq);
		/* root/ exists only while a scheduler is attached. */
		if (s->scx_enabled && kt_read_file(SCX_SYSFS "/root/events", &text, NULL) == 0) {
			kt_mon_parse_events(text, s);
			free(text);
		}
	}
	return ok ? 0 : -ENOENT;
}
