/*
 * `ktstr kernel fetch|list|path`: kernels in the cache (`build` is
 * cmd_kernel_build.c's).  Fetching is done
 * by scripts/kernel-fetch (apt with a private configuration; nothing is
 * installed into the system); this file finds and runs it, and lists what
 * the cache holds.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/runner.h"
#include "util/util.h"

static char *find_fetch_script(void)
{
	static const char *const rel[] = {
		"../scripts/kernel-fetch",		/* build tree: build/ktstr */
		"../libexec/ktstr/kernel-fetch",	/* installed: PREFIX/bin/ktstr */
		NULL,
	};

	if (kt_host_env()->kernel_fetch)
		return strdup(kt_host_env()->kernel_fetch);
	return kt_cli_find_beside_self(rel, X_OK);
}

/* One cache directory's kernels; returns how many were usable. */
static unsigned list_dir(const char *dir)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		struct kt_kernel k;
		KT_AUTOFREE char *path = NULL;
		char *err = NULL;

		if (de->d_name[0] == '.')
			continue;
		path = kt_asprintf("%s/%s", dir, de->d_name);
		if (!path || kt_kernel_resolve(&kt_host_env()->vm, path, &k, &err)) {
			printf("%-40s (unusable: %s)\n", de->d_name, err ? err : "?");
			free(err);
			continue;
		}
		printf("%-40s %s%s\n", de->d_name, path, k.vmlinux_h ? "" : " (no vmlinux.h)");
		kt_kernel_release(&k);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* kernels/ (the default flavour, booted by default), then kernels-<flavour>/. */
static int kernel_list(void)
{
	const char *cache = kt_host_env()->cache_dir;
	KT_AUTOFREE char *dir = kt_asprintf("%s/kernels", cache);
	struct dirent *de;
	unsigned n;
	DIR *d;

	n = dir ? list_dir(dir) : 0;
	d = opendir(cache);
	while (d && (de = readdir(d))) {
		KT_AUTOFREE char *sub = NULL;

		if (strncmp(de->d_name, "kernels-", 8))
			continue;
		sub = kt_asprintf("%s/%s", cache, de->d_name);
		n += sub ? list_dir(sub) : 0;
	}
	if (d)
		closedir(d);
	if (!n)
		printf("no kernels cached in %s; run `ktstr kernel fetch`\n",
		       dir ? dir : "the cache");
	return 0;
}

int kt_cmd_kernel(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return kernel_list();
	if (argc >= 2 && !strcmp(argv[1], "build"))
		return kt_cmd_kernel_build(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "path")) {
		struct kt_kernel k;
		char *err = NULL;

		if (kt_kernel_resolve(&kt_host_env()->vm, argc >= 3 ? argv[2] : NULL, &k, &err)) {
			kt_cli_error("%s", err);
			free(err);
			return argc >= 3 ? KT_EXIT_USAGE : KT_EXIT_ENV;
		}
		printf("%s\n", k.image);
		kt_kernel_release(&k);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "fetch")) {
		KT_AUTOFREE char *script = find_fetch_script();

		return kt_cli_exec_helper("kernel fetch", script, argv, "set KTSTR_KERNEL_FETCH");
	}
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: ktstr kernel fetch [FLAVOUR|VERSION] [--package NAME] | build [SRC] | list | path [PATH]\n"
		       "  fetch  download a sched_ext-enabled kernel (default: Debian unstable's\n"
		       "         linux-image-cloud-amd64; FLAVOUR amd64 or rt-amd64 for the generic\n"
		       "         and PREEMPT_RT ones, or an exact VERSION) into the cache, with its\n"
		       "         config and a vmlinux.h generated from its BTF; nothing is installed\n"
		       "  build  build a sched_ext kernel from source (default: Debian's 6.12 LTS,\n"
		       "         which Debian builds without sched_ext); see `ktstr kernel build --help`\n"
		       "  list   show cached kernels\n"
		       "  path   print the kernel image that would be booted\n");
		return 0;
	}
	kt_cli_error("kernel: expected fetch, build, list or path (see `ktstr kernel --help`)");
	return KT_EXIT_USAGE;
}
