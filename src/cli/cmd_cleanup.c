/*
 * `ktstr cleanup`: remove ktstr-<pid> cgroups left behind by runs that
 * were killed before their guards ran.
 */
#include "cli/cli.h"

#include <errno.h>
#include <ktstr/cgroup.h>
#include <stdio.h>
#include <string.h>

int kt_cmd_cleanup(int argc, char **argv)
{
	const char *root = "/sys/fs/cgroup";
	bool force = false;
	size_t removed = 0;
	int e;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force")) {
			force = true;
		} else if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			root = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: ktstr cleanup [--force] [--root DIR]\n"
			       "Remove ktstr-<pid> cgroups under DIR (default /sys/fs/cgroup) whose\n"
			       "process is gone (--force: all of them), killing their tasks first.\n");
			return 0;
		} else {
			kt_cli_error("cleanup: unknown argument '%s'", argv[i]);
			return KT_EXIT_USAGE;
		}
	}
	e = kt_cgroup_cleanup_stale(root, force, &removed);
	if (e == -ENOTSUP) {
		/* ktstr's cgroups only ever live under a cgroup v2 mount */
		kt_cli_error("cleanup: %s is not a cgroup v2 mount; ktstr cleanup needs cgroup v2 "
			     "(a cgroup v1 host has no ktstr cgroups: runs keep theirs in the VM)",
			     root);
		return KT_EXIT_ENV;
	}
	if (e < 0) {
		kt_cli_error("cleanup: %s: %s", root, strerror(-e));
		return KT_EXIT_ENV;
	}
	printf("removed %zu stale cgroup%s\n", removed, removed == 1 ? "" : "s");
	return 0;
}
