/*
 * `ktstr topo SPEC|PRESET` prints the layout a VM of that topology will
 * have (CPUs per node, per LLC, SMT siblings) without booting anything;
 * `--list` prints the presets with whether this machine's QEMU and
 * accelerator can boot each and roughly how long a boot takes; `--host`
 * this machine's topology.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The accelerator a VM would get here: KVM only when the cached probes say
 * it works for the default kernel (none found: TCG). */
static enum kt_accel list_accel(void)
{
	const struct kt_vm_host *host = &kt_host_env()->vm;
	struct kt_kernel k = { 0 };
	enum kt_accel a = KT_ACCEL_TCG;
	char *err = NULL;

	if (kt_kernel_resolve(host, NULL, &k, &err) == 0 &&
	    kt_accel_resolve(host, KT_ACCEL_AUTO, k.image, &a, &err))
		a = KT_ACCEL_TCG;
	free(err);
	kt_kernel_release(&k);
	return a;
}

static int list_presets(void)
{
	size_t n;
	const struct kt_topo_preset *p = kt_topo_presets(&n);
	struct kt_qemu_info q;
	enum kt_accel accel = list_accel();
	char *err = NULL;
	bool have_qemu = kt_qemu_probe(&kt_host_env()->vm, &q, &err) == 0;
	unsigned samples;
	double scale = kt_vm_boot_scale(&kt_host_env()->vm, accel, 0, &samples);

	if (have_qemu)
		printf("boots here: QEMU %u.%u.%u (%s), %s\n", q.major, q.minor, q.micro, q.path,
		       accel == KT_ACCEL_KVM ? "KVM" : "TCG");
	else
		printf("boots here: nothing (%s)\n", err);
	free(err);
	if (samples)
		printf("boot times: the reference machine's x %.2f (median of this machine's newest "
		       "%u boots; per size where 3 of a similar size are recorded)\n", scale, samples);
	else
		printf("boot times: the reference machine's (fewer than 3 boots recorded here "
		       "yet)\n");
	for (size_t i = 0; i < n; i++) {
		struct kt_topo_spec s;
		struct kt_vm_machine m;
		char *why = NULL, when[64] = "";

		kt_topo_spec_parse(p[i].spec, &s, NULL);
		if (have_qemu && kt_vm_machine_plan(&s, accel, &q, accel == KT_ACCEL_KVM
								   ? kt_host_cpu_vendor()
								   : KT_VENDOR_OTHER,
						    kt_host_env()->vm.cpu_model, &m, &why) == 0)
			snprintf(when, sizeof(when), "~%.0f s",
				 kt_vm_boot_scale(&kt_host_env()->vm, accel, kt_topo_spec_cpus(&s),
						  &samples) *
					 kt_vm_boot_estimate_s(&s, accel, &q,
							       kt_vm_boots_late(&s, accel, NULL)));
		else
			snprintf(when, sizeof(when), "cannot");
		printf("%-20s %-10s %4u CPUs  %-7s %s\n", p[i].name, p[i].spec,
		       kt_topo_spec_cpus(&s), when, p[i].description ? p[i].description : "");
		if (why)
			printf("%-20s   %s\n", "", why);
		free(why);
	}
	return 0;
}

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
	if (!strcmp(argv[1], "--list"))
		return list_presets();
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
