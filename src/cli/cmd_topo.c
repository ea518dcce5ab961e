/*
 * `ktstr topo SPEC|PRESET` prints the layout a VM of that topology will
 * have (CPUs per node, per LLC, SMT siblings) without booting anything;
 * `--list` prints the presets; `--host` this machine's topology.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int kt_cmd_topo(int argc, char **argv)
{
	struct kt_topo_spec spec;
	KT_AUTO(kt_topology) t = NULL;
	char *err = NULL, *text;

	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc == 2 ? stdout : stderr;

		fprintf(f, "usage: ktstr topo SPEC|PRESET | --list | --host\n"
			   "SPEC is NnLlCcTt: NUMA nodes, LLCs (total), cores per LLC, threads per core\n"
			   "(1n2l4c2t = 16 CPUs).  LLCs must be a multiple of NUMA nodes.\n");
		return argc == 2 ? 0 : KT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--list")) {
		size_t n;
		const struct kt_topo_preset *p = kt_topo_presets(&n);

		for (size_t i = 0; i < n; i++) {
			struct kt_topo_spec s;

			kt_topo_spec_parse(p[i].spec, &s, NULL);
			printf("%-20s %-10s %4u CPUs  %s\n", p[i].name, p[i].spec, kt_topo_spec_cpus(&s),
			       p[i].description ? p[i].description : "");
		}
		return 0;
	}
	if (!strcmp(argv[1], "--host")) {
		int e = kt_topology_from_sysfs("/", &t);

		if (e) {
			kt_cli_error("cannot read this machine's topology: %s", strerror(-e));
			return KT_EXIT_ENV;
		}
	} else {
		if (kt_topo_spec_parse(argv[1], &spec, &err)) {
			kt_cli_error("%s", err ? err : "bad topology");
			free(err);
			return KT_EXIT_USAGE;
		}
		t = kt_topology_from_spec(&spec);
		if (!t)
			return KT_EXIT_ENV;
	}
	text = kt_topo_describe(t);
	if (text)
		fputs(text, stdout);
	free(text);
	return 0;
}
