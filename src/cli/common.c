/*
 * What the VM-booting subcommands share: option parsing for kernel,
 * topology, memory, timeout, accelerator and includes; turning them into
 * a VM configuration with one clear error each; signal-to-cancel wiring;
 * and the failure report (reason + console tail).
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"
#include "runner/runner.h"
#include "vm/vm_internal.h"

void kt_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ktstr: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 1000000 || *s == '-')
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

char *kt_cli_find_beside_self(const char *const rel[], int mode)
{
	KT_AUTOFREE char *dir = kt_self_dir();

	for (size_t i = 0; dir && rel[i]; i++) {
		KT_AUTOFREE char *p = kt_asprintf("%s/%s", dir, rel[i]);

		if (p && access(p, mode) == 0)
			return realpath(p, NULL);
	}
	return NULL;
}

int kt_cli_exec_helper(const char *what, const char *script, char **argv, const char *hint)
{
	if (!script) {
		kt_cli_error("%s: helper script not found (%s)", what, hint);
		return KT_EXIT_ENV;
	}
	argv[0] = (char *)script;
	execv(script, argv);
	kt_cli_error("%s: cannot run %s: %s", what, script, strerror(errno));
	return KT_EXIT_ENV;
}

int kt_cli_vm_opt(struct kt_vm_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 0x100: o->kernel = arg; return 1;
	case 0x101: o->topology = arg; return 1;
	case 0x102:
		if (parse_uint(arg, &o->memory_mb) || o->memory_mb < 128) {
			kt_cli_error("bad --memory '%s': expected megabytes, at least 128", arg);
			return -1;
		}
		return 1;
	case 0x103:
		if (parse_uint(arg, &o->timeout_s) || !o->timeout_s) {
			kt_cli_error("bad --timeout '%s': expected seconds, at least 1", arg);
			return -1;
		}
		return 1;
	case 0x104: o->accel = arg; return 1;
	case 0x105: {
		const char **v = realloc(o->includes, (o->n_includes + 1) * sizeof(*v));

		if (!v)
			return -1;
		v[o->n_includes++] = arg;
		o->includes = v;
		return 1;
	}
	case 0x106: o->kargs = arg; return 1;
	case 'v': o->verbose = true; return 1;
	}
	return 0;
}

int kt_cli_vm_setup(const struct kt_vm_opts *o, const char *default_topology,
		    struct kt_vm_setup *s)
{
	const struct kt_vm_host *host = &kt_host_env()->vm;
	char *err = NULL;
	enum kt_accel want = KT_ACCEL_AUTO;
	int e;

	memset(s, 0, sizeof(*s));
	s->cfg.host = host;
	s->cfg.cancel_fd = -1;
	s->cfg.out_fd = -1;
	e = kt_topo_spec_parse(o->topology ? o->topology : default_topology, &s->cfg.topo, &err);
	if (e) {
		kt_cli_error("%s", err ? err : "bad topology");
		free(err);
		return KT_EXIT_USAGE;
	}
	if (o->accel && kt_accel_parse(o->accel, &want)) {
		kt_cli_error("bad --accel '%s': expected auto, kvm or tcg", o->accel);
		return KT_EXIT_USAGE;
	}
	for (size_t i = 0; i < o->n_includes; i++) {
		if (access(o->includes[i], R_OK) < 0) {
			kt_cli_error("cannot include %s: %s", o->includes[i], strerror(errno));
			return KT_EXIT_USAGE;
		}
	}
	e = kt_kernel_resolve(host, o->kernel, &s->kernel, &err);
	if (e) {
		kt_cli_error("%s", err);
		free(err);
		/* a path the user typed that is wrong is bad input; none at all is environment */
		return o->kernel || host->kernel ? KT_EXIT_USAGE : KT_EXIT_ENV;
	}
	e = kt_accel_resolve(host, want, s->kernel.image, &s->cfg.accel, &err);
	if (e) {
		kt_cli_error("%s", err);
		free(err);
		return KT_EXIT_ENV;
	}
	s->files = calloc(o->n_includes + 1, sizeof(*s->files));
	s->guest_names = calloc(o->n_includes + 1, sizeof(*s->guest_names));
	if (!s->files || !s->guest_names)
		return KT_EXIT_ENV;
	for (size_t i = 0; i < o->n_includes; i++) {
		KT_AUTOFREE char *copy = strdup(o->includes[i]);
		char *base = copy ? basename(copy) : NULL;

		s->guest_names[i] = base ? kt_asprintf("/include/%s", base) : NULL;
		if (!s->guest_names[i])
			return KT_EXIT_ENV;
		s->files[i].host = o->includes[i];
		s->files[i].guest = s->guest_names[i];
	}
	s->cfg.kernel = &s->kernel;
	s->cfg.files = s->files;
	s->cfg.n_files = o->n_includes;
	s->cfg.memory_mb = o->memory_mb;
	if (o->timeout_s) {
		s->cfg.timeout_s = o->timeout_s;
	} else {
		/* two minutes, or longer where this machine boots this topology slowly */
		unsigned t = kt_runner_default_timeout_s(&s->cfg.topo, s->cfg.accel, o->kargs,
							       0);

		s->cfg.timeout_s = t > 120 ? t : 120;
	}
	s->cfg.extra_kargs = o->kargs;
	s->cfg.cancel_fd = kt_cancel_fd();
	return 0;
}

void kt_cli_vm_setup_release(struct kt_vm_setup *s)
{
	kt_kernel_release(&s->kernel);
	for (size_t i = 0; s->guest_names && i < s->cfg.n_files; i++)
		free(s->guest_names[i]);
	free(s->guest_names);
	free(s->files);
}

int kt_cli_vm_failure(const struct kt_vm_result *r, unsigned timeout_s, bool verbose)
{
	const char *tail = kt_text_tail(r->console, verbose ? 100000 : 20);

	switch (r->outcome) {
	case KT_VM_CANCELLED:
		kt_cli_error("interrupted (signal %d); VM stopped", kt_cancel_signal());
		return kt_cancel_exit_code() ? kt_cancel_exit_code() : KT_EXIT_INTERRUPTED;
	case KT_VM_TIMEOUT:
		kt_cli_error("guest timed out after %u s and was killed", timeout_s);
		break;
	case KT_VM_PANIC:
		kt_cli_error("guest kernel panicked");
		break;
	case KT_VM_TOPOLOGY:
		/* the host's QEMU or CPU gave another machine: nothing ran */
		kt_cli_error("%s", r->topology_error ? r->topology_error : "topology mismatch");
		return KT_EXIT_ENV;
	case KT_VM_QEMU_FAILED:
		kt_cli_error("QEMU failed (status %d): %s",
			     WIFEXITED(r->qemu_status) ? WEXITSTATUS(r->qemu_status) : -1,
			     r->qemu_stderr && *r->qemu_stderr ? kt_text_tail(r->qemu_stderr, 1)
							       : "no message");
		break;
	default:
		kt_cli_error("guest ended without a result");
		break;
	}
	if (tail && *tail)
		fprintf(stderr, "--- guest console (last lines) ---\n%s\n---\n", tail);
	return r->outcome == KT_VM_QEMU_FAILED ? KT_EXIT_ENV : KT_EXIT_GUEST;
}

int kt_cli_scenario_request(const char *name, double duration_s, unsigned workers,
			    const struct kt_assert *checks, struct kt_request *r)
{
	r->mode = KT_MODE_SCENARIO;
	free(r->name);
	r->name = strdup(name);
	r->duration_ms = (uint64_t)(duration_s * 1000);
	r->workers = workers;
	r->checks = *checks;
	return r->name ? 0 : -ENOMEM;
}
