/*
 * `ktstr qemu [info] [--topology T] [--accel A]` shows the QEMU a VM would
 * use (found and probed as for a boot) and how it would be asked for a
 * topology: the CPU model, the vendor the guest sees, die or socket per
 * LLC, or why it cannot boot it.  `ktstr qemu fetch` unpacks a second
 * QEMU into the cache with scripts/qemu-fetch (nothing is installed) and
 * prints the path to use as KTSTR_QEMU.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static char *find_fetch_script(void)
{
	static const char *const rel[] = {
		"../scripts/qemu-fetch",		/* build tree: build/ktstr */
		"../libexec/ktstr/qemu-fetch",		/* installed: PREFIX/bin/ktstr */
		NULL,
	};

	return kt_cli_find_beside_self(rel, X_OK);
}

static int qemu_info(int argc, char **argv)
{
	const char *topo = "1n2l2c1t";
	enum kt_accel accel = KT_ACCEL_TCG;
	struct kt_topo_spec spec;
	struct kt_qemu_info q;
	struct kt_vm_machine m;
	char *err = NULL;
	int e;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--topology") && i + 1 < argc) {
			topo = argv[++i];
		} else if (!strcmp(argv[i], "--accel") && i + 1 < argc) {
			if (kt_accel_parse(argv[++i], &accel) || accel == KT_ACCEL_AUTO) {
				kt_cli_error("qemu: --accel takes kvm or tcg");
				return KT_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "info")) {
			kt_cli_error("qemu: unknown argument '%s' (see `ktstr qemu --help`)", argv[i]);
			return KT_EXIT_USAGE;
		}
	}
	if (kt_topo_spec_parse(topo, &spec, &err)) {
		kt_cli_error("%s", err ? err : "bad topology");
		free(err);
		return KT_EXIT_USAGE;
	}
	e = kt_vm_machine_for(&kt_host_env()->vm, &spec, accel, &q, &m, &err);
	if (e == -EOPNOTSUPP) {
		printf("QEMU %u.%u.%u (%s)\n%s: cannot boot: %s\n", q.major, q.minor, q.micro,
		       q.path, topo, err);
		free(err);
		return KT_EXIT_ENV;
	}
	if (e) {
		kt_cli_error("%s", err ? err : strerror(-e));
		free(err);
		return KT_EXIT_ENV;
	}
	{
		KT_AUTOFREE char *how = kt_vm_machine_describe(&q, accel, &m);

		printf("%s: %s\n  -smp %u,sockets=%u,dies=%u,cores=%u,threads=%u (last APIC ID %u)\n",
		       topo, how ? how : "?", kt_topo_spec_cpus(&spec), m.sockets, m.dies, m.cores,
		       m.threads, m.last_apic_id);
	}
	return 0;
}

int kt_cmd_qemu(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "fetch")) {
		KT_AUTOFREE char *script = find_fetch_script();

		return kt_cli_exec_helper("qemu fetch", script, argv, "scripts/qemu-fetch");
	}
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: ktstr qemu [info] [--topology T] [--accel kvm|tcg] | fetch [--suite S]\n"
		       "  info   the QEMU a VM would use ($KTSTR_QEMU or PATH), its version, and\n"
		       "         the CPU model and -smp layout a topology gets on it (default\n"
		       "         1n2l2c1t under TCG; $KTSTR_CPU picks the TCG CPU model)\n"
		       "  fetch  unpack bookworm-backports' QEMU 10 into the cache without\n"
		       "         installing it; prints the path to use as KTSTR_QEMU\n");
		return 0;
	}
	return qemu_info(argc, argv);
}
