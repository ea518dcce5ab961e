/*
 * The host's environment as ktstr documents it (README.md, "Environment"),
 * read here, once per process, for the CLI and test binaries.  The library
 * below takes these values as arguments and never reads the environment
 * itself; this file is the one place that does for it.
 */
#include "runner/runner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct kt_host_env host_env;
static pthread_once_t host_env_once = PTHREAD_ONCE_INIT;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void host_env_read(void)
{
	const char *xdg = env("XDG_CACHE_HOME"), *home = env("HOME");

	if (xdg)
		snprintf(host_env.cache_dir, sizeof(host_env.cache_dir), "%s/ktstr", xdg);
	else
		snprintf(host_env.cache_dir, sizeof(host_env.cache_dir), "%s/.cache/ktstr",
			 home ? home : "/tmp");
	host_env.vm = (struct kt_vm_host){
		.cache_dir = host_env.cache_dir,
		.kernel = env("KTSTR_KERNEL"),
		.qemu = env("KTSTR_QEMU"),
		.search_path = env("PATH"),
		.cpu_model = env("KTSTR_CPU"),
		.busybox = env("KTSTR_BUSYBOX"),
		.lib_path = env("LD_LIBRARY_PATH"),
		.tmpdir = env("TMPDIR"),
		.kvm_probe_s = env("KTSTR_KVM_PROBE_S"),
	};
	host_env.timing = getenv("KTSTR_TIMING") != NULL;
	host_env.scheduler = env("KTSTR_SCHEDULER");
	host_env.scheduler_ops = env("KTSTR_SCHEDULER_OPS");
	host_env.kernel_fetch = env("KTSTR_KERNEL_FETCH");
	host_env.skip_missing = env("KTSTR_SKIP_MISSING") && !strcmp(env("KTSTR_SKIP_MISSING"), "1");
}

const struct kt_host_env *kt_host_env(void)
{
	pthread_once(&host_env_once, host_env_read);
	return &host_env;
}
