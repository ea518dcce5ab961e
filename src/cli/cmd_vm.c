/*
 * `ktstr vm -- CMD` and `ktstr shell`: boot a VM with the asked-for
 * topology and run one command (streaming its output, exiting with its
 * status) or an interactive shell.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner/runner.h"
#include "util/util.h"

static const char vm_usage[] =
	"usage: ktstr vm [OPTIONS] -- CMD [ARGS...]\n"
	"Boot a VM with the given topology, run CMD as root inside it, stream its\n"
	"output and exit with its status.\n\noptions:\n" KT_VM_OPTS_HELP
	"\nexit status: CMD's own, or 64 bad input, 69 host environment,\n"
	"70 guest failure (panic, timeout), 76 the guest speaks another protocol\n"
	"version, 127 CMD not found in the guest, 130 (SIGINT) or 143 (SIGTERM)\n"
	"interrupted.\n"
	"  --dry-run           print the QEMU command line and exit\n";

static const char shell_usage[] =
	"usage: ktstr shell [OPTIONS]\n"
	"Boot a VM with the given topology and open a shell on its console;\n"
	"`exit` powers it off.\n\noptions:\n" KT_VM_OPTS_HELP;

static int vm_common(int argc, char **argv, bool shell)
{
	static const struct option longopts[] = {
		KT_VM_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 },
	};
	struct kt_vm_opts o = { 0 };
	struct kt_vm_setup s;
	struct kt_vm_result r;
	struct kt_request req = { .mode = shell ? KT_MODE_SHELL : KT_MODE_CMD };
	KT_CLI_JSON res = NULL;
	KT_AUTOFREE char *text = NULL;
	char *err = NULL;
	int opt, code;
	bool dry_run = false;

	argv[0] = (char *)(shell ? "ktstr shell" : "ktstr vm");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		int used = kt_cli_vm_opt(&o, opt, optarg);

		if (used < 0)
			return KT_EXIT_USAGE;
		if (used)
			continue;
		if (opt == 'n') {
			dry_run = true;
			continue;
		}
		if (opt == 'h') {
			fputs(shell ? shell_usage : vm_usage, stdout);
			return 0;
		}
		fprintf(stderr, "(see `ktstr %s --help`)\n", shell ? "shell" : "vm");
		return KT_EXIT_USAGE;
	}
	if (!shell && optind >= argc && !dry_run) {
		kt_cli_error("vm: no command given (usage: ktstr vm [OPTIONS] -- CMD [ARGS])");
		free(o.includes);
		return KT_EXIT_USAGE;
	}
	if (shell && optind < argc) {
		kt_cli_error("shell: unexpected argument '%s'", argv[optind]);
		free(o.includes);
		return KT_EXIT_USAGE;
	}
	code = kt_cli_vm_setup(&o, "1n1l2c1t", &s);
	free(o.includes);
	if (code) {
		kt_cli_vm_setup_release(&s);
		return code;
	}
	if (dry_run) {
		char **qargv = NULL;

		s.cfg.interactive = shell;
		code = kt_vm_qemu_argv(&s.cfg, "INITRD", "RUNDIR", &qargv);
		for (char **a = qargv; !code && *a; a++)
			printf("%s'%s'", a == qargv ? "" : " ", *a);
		printf("\n");
		kt_vm_argv_free(qargv);
		kt_cli_vm_setup_release(&s);
		return code ? KT_EXIT_ENV : 0;
	}
	code = 0;
	for (int i = optind; i < argc && !code; i++)
		code = kt_strlist_add(&req.argv, argv[i]);
	text = code ? NULL : kt_request_emit(&req);
	kt_request_release(&req);
	if (!text) {
		kt_cli_error("out of memory");
		kt_cli_vm_setup_release(&s);
		return KT_EXIT_ENV;
	}
	s.cfg.request_json = text;
	s.cfg.out_fd = shell ? -1 : 1;
	s.cfg.interactive = shell;
	if (shell)
		s.cfg.timeout_s = o.timeout_s ? o.timeout_s : 24 * 3600;
	code = kt_vm_run(&s.cfg, &r, &err);
	if (!code && kt_host_env()->timing) {
		KT_AUTOFREE char *timing = kt_vm_timing_describe(&r);

		fprintf(stderr, "ktstr: timing: %s\n", timing ? timing : "out of memory");
	}
	if (code) {
		kt_cli_error("%s", err);
		free(err);
		kt_cli_vm_setup_release(&s);
		return KT_EXIT_ENV;
	}
	if (r.outcome != KT_VM_OK) {
		code = kt_cli_vm_failure(&r, s.cfg.timeout_s, o.verbose);
	} else if ((code = kt_proto_result_parse(r.result_json, &res, &err))) {
		kt_cli_error("%s", err);
		free(err);
		code = code == -EPROTO ? KT_EXIT_PROTOCOL : KT_EXIT_GUEST;
	} else {
		const char *gerr = json_string_value(json_object_get(res, "error"));
		json_t *ec = json_object_get(res, "exit_code");

		if (gerr)
			kt_cli_error("%s", gerr);
		code = json_is_integer(ec) ? (int)json_integer_value(ec) : KT_EXIT_GUEST;
	}
	kt_vm_result_release(&r);
	kt_cli_vm_setup_release(&s);
	return code;
}

int kt_cmd_vm(int argc, char **argv)
{
	return vm_common(argc, argv, false);
}

int kt_cmd_shell(int argc, char **argv)
{
	return vm_common(argc, argv, true);
}
