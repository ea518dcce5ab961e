/*
 * How much of its runnable time QEMU spent waiting for a host CPU.
 *
 * An emulated guest cannot tell time the host took from it from its own
 * time: its clock follows the host's while its CPUs run slower.  Every
 * time-based verdict inside (a task stuck for 2 s, a CPU idle while work
 * waits, a share of CPU) then loses power in both directions.  The host
 * can see it: each QEMU thread's schedstat gives the time it ran and the
 * time it was runnable but waiting for a CPU.
 *
 * Must not know about verdicts: it measures; the runner decides what a
 * figure means.
 */
#include "vm/vm_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int kt_host_wait_parse(const char *schedstat, struct kt_host_wait *w)
{
	unsigned long long run, wait;

	if (!schedstat || sscanf(schedstat, "%llu %llu", &run, &wait) != 2)
		return -EINVAL;
	w->run_ns += run;
	w->wait_ns += wait;
	return 0;
}

int kt_host_wait_read(pid_t pid, struct kt_host_wait *w)
{
	char dir[64], path[384], line[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	*w = (struct kt_host_wait){ 0 };
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/schedstat", dir, de->d_name);
		/* a thread that ended meanwhile, or no CONFIG_SCHED_INFO: skip it */
		if (kt_read_line(path, line, sizeof(line)) == 0 && kt_host_wait_parse(line, w) == 0)
			n++;
	}
	closedir(d);
	return n ? 0 : -ENOENT;
}

double kt_host_wait_pct(const struct kt_host_wait *before, const struct kt_host_wait *after)
{
	uint64_t run = after->run_ns - before->run_ns, wait = after->wait_ns - before->wait_ns;

	if (after->run_ns < before->run_ns || after->wait_ns < before->wait_ns || run + wait == 0)
		return -1;
	return (double)wait * 100.0 / (double)(run + wait);
}
