/*
 * ktstr's entry point: the guest init when running as PID 1 in a VM,
 * otherwise a table of subcommands, one file each.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "guest/guest.h"
#include "runner/runner.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", kt_cmd_run, "run a catalog scenario in a VM (or --host)" },
	{ "gauntlet", kt_cmd_gauntlet, "scenarios across presets, flag profiles and kernels" },
	{ "compare", kt_cmd_compare, "compare two runs (or a run with EEVDF) metric by metric" },
	{ "report", kt_cmd_report, "merge shard results; write the HTML report" },
	{ "list", kt_cmd_list, "list the scenario catalog" },
	{ "vm", kt_cmd_vm, "run a command in a VM with a given topology" },
	{ "shell", kt_cmd_shell, "interactive shell in a VM" },
	{ "topo", kt_cmd_topo, "show a topology spec or preset without booting" },
	{ "kernel", kt_cmd_kernel, "fetch / list kernels" },
	{ "qemu", kt_cmd_qemu, "the QEMU in use and how it is asked for a topology; fetch QEMU 10" },
	{ "cleanup", kt_cmd_cleanup, "remove cgroups left by crashed runs" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ktstr COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < KT_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`ktstr COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (kt_guest_is_init())
		kt_guest_main(kt_runner_guest_modes());
	if (argc < 2) {
		usage(stderr);
		return KT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < KT_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	kt_cli_error("unknown command '%s' (try `ktstr --help`)", argv[1]);
	return KT_EXIT_USAGE;
}
