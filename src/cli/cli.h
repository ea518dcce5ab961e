/*
 * The ktstr command line: one file per subcommand, a table in main.c, and
 * the options and exit codes they share.  Commands report errors once, on
 * one line, prefixed "ktstr: ".
 */
#ifndef KTSTR_CLI_H
#define KTSTR_CLI_H

#include <jansson.h>
#include <ktstr/vm.h>

#include "proto/proto.h"
#include "runner/runner.h"	/* kt_host_env(): the environment, read once */

/* Exit codes; documented in README.md. */
enum {
	KT_EXIT_OK = 0,
	KT_EXIT_FAIL = 1,	/* a test or scenario failed its checks */
	KT_EXIT_USAGE = 64,	/* bad command line or input (topology, paths, names) */
	KT_EXIT_ENV = 69,	/* host environment: no QEMU, no kernel, KVM unusable, no cgroup v2 */
	KT_EXIT_GUEST = 70,	/* guest failed: panic, timeout, no result */
	/* 73, 76 (KT_EXIT_PROTOCOL), 77 and 66: runner/runner.h */
	KT_EXIT_INTERRUPTED = 130,
};

void kt_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A file shipped beside ktstr: the first of rel[] (NULL-terminated paths
 * relative to ktstr's own directory, build tree first, then the installed
 * layout) that access(mode) allows, as an absolute path; NULL if none.
 */
char *kt_cli_find_beside_self(const char *const rel[], int mode);
/* Hand the command over to a helper script (argv[0] becomes it); returns
 * only on failure, having said why: "WHAT: ..." with the hint when it is
 * not found. */
int kt_cli_exec_helper(const char *what, const char *script, char **argv, const char *hint);

/* A json_t * released when it leaves scope (json_decref accepts NULL), so
 * a command's early returns on bad input leak nothing. */
static inline void kt_cli_json_decrefp(json_t **j)
{
	json_decref(*j);
}
#define KT_CLI_JSON __attribute__((cleanup(kt_cli_json_decrefp))) json_t *

/* Options every VM-booting command takes. */
struct kt_vm_opts {
	const char *kernel;
	const char *topology;
	unsigned memory_mb;
	unsigned timeout_s;
	const char *accel;
	const char **includes;
	size_t n_includes;
	const char *kargs;
	bool verbose;
};

/* getopt_long entries for the VM options (ids >= 0x100), and their parser:
 * returns 1 if it consumed `opt`, 0 if not ours, -1 on bad value. */
#define KT_VM_LONGOPTS                                              \
	{ "kernel", required_argument, NULL, 0x100 },               \
	{ "topology", required_argument, NULL, 0x101 },             \
	{ "memory", required_argument, NULL, 0x102 },               \
	{ "timeout", required_argument, NULL, 0x103 },              \
	{ "accel", required_argument, NULL, 0x104 },                \
	{ "include", required_argument, NULL, 0x105 },              \
	{ "kargs", required_argument, NULL, 0x106 },                \
	{ "verbose", no_argument, NULL, 'v' }
#define KT_VM_OPTS_HELP                                                                    \
	"  --kernel PATH       kernel image, build tree or cache dir (default: $KTSTR_KERNEL,\n" \
	"                      else the newest `ktstr kernel fetch`ed kernel)\n"                \
	"  --topology SPEC     NnLlCcTt (e.g. 1n2l4c2t) or a preset (ktstr topo --list)\n"      \
	"  --memory MB         guest memory (default: 512 + 32 per CPU)\n"                      \
	"  --timeout S         kill the guest after S seconds (default: 60 + 4 x duration +\n"  \
	"                      twice the boot this machine's past boots predict; vm: >= 120)\n"\
	"  --accel auto|kvm|tcg  accelerator (default auto: KVM when it really works)\n"       \
	"  --include FILE      copy FILE (or a directory) into the guest under /include\n"      \
	"  --kargs ARGS        extra kernel command line\n"                                      \
	"  -v, --verbose       show the guest console on failure in full\n"
int kt_cli_vm_opt(struct kt_vm_opts *o, int opt, const char *arg);

/* Everything resolved from kt_vm_opts, ready for kt_vm_run. */
struct kt_vm_setup {
	struct kt_kernel kernel;
	struct kt_vm_config cfg;
	struct kt_initramfs_file *files;
	char **guest_names;
};
/* Returns a KT_EXIT_* code (0 on success), having printed any error. */
int kt_cli_vm_setup(const struct kt_vm_opts *o, const char *default_topology,
		    struct kt_vm_setup *s);
void kt_cli_vm_setup_release(struct kt_vm_setup *s);
/* Print why the VM failed, with the console tail; returns the exit code. */
int kt_cli_vm_failure(const struct kt_vm_result *r, unsigned timeout_s, bool verbose);

/*
 * The scenario part of a request: mode, scenario `name`, duration,
 * workers per cgroup and the merged checks (flags and the scheduler are
 * the caller's).  0 or -ENOMEM.
 */
int kt_cli_scenario_request(const char *name, double duration_s, unsigned workers,
			    const struct kt_assert *checks, struct kt_request *r);

int kt_cmd_vm(int argc, char **argv);
int kt_cmd_shell(int argc, char **argv);
int kt_cmd_topo(int argc, char **argv);
int kt_cmd_kernel(int argc, char **argv);
int kt_cmd_kernel_build(int argc, char **argv);
int kt_cmd_qemu(int argc, char **argv);
int kt_cmd_cleanup(int argc, char **argv);
int kt_cmd_list(int argc, char **argv);
int kt_cmd_run(int argc, char **argv);
int kt_cmd_gauntlet(int argc, char **argv);
int kt_cmd_compare(int argc, char **argv);
int kt_cmd_report(int argc, char **argv);

#endif
