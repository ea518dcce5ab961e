/*
 * From a declared topology to a QEMU command line.  The guest must see
 * exactly the NUMA nodes, LLCs, cores and SMT siblings asked for: q35, the
 * CPU model and -smp layout machine.c chose for this QEMU and vendor, one
 * memory backend per NUMA node, and the spec itself on the kernel command
 * line (ktstr.topo=) so the guest can verify what it got.  Also the
 * accelerator choice that goes with it.  Knows nothing about what runs in
 * the guest.
 */
#include "vm/vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

int kt_accel_parse(const char *s, enum kt_accel *out)
{
	if (!strcmp(s, "auto"))
		*out = KT_ACCEL_AUTO;
	else if (!strcmp(s, "kvm"))
		*out = KT_ACCEL_KVM;
	else if (!strcmp(s, "tcg"))
		*out = KT_ACCEL_TCG;
	else
		return -EINVAL;
	return 0;
}

const char *kt_accel_name(enum kt_accel a)
{
	return a == KT_ACCEL_KVM ? "kvm" : a == KT_ACCEL_TCG ? "tcg" : "auto";
}

void kt_vm_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

const char *kt_qemu_binary(const struct kt_vm_host *host)
{
	const char *q = KT_VM_HOST(host, qemu);

	return q ? q : "qemu-system-x86_64";
}

/* Host TSC rate in kHz, so the guest skips calibration (and never hangs in
 * it on machines without a calibration timer). 0 when unknown. */
static unsigned long host_tsc_khz(void)
{
	static unsigned long khz;
	char line[256];
	FILE *f;

	if (khz)
		return khz;
	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		double mhz;

		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1 ||
		    sscanf(line, "cpu MHz\t: %lf", &mhz) == 1) {
			khz = (unsigned long)(mhz * 1000.0);
			break;
		}
	}
	fclose(f);
	return khz;
}

unsigned kt_vm_default_memory_mb(const struct kt_topo_spec *t)
{
	unsigned cpus = kt_topo_spec_cpus(t), mb = 512 + 32 * cpus;

	/* each NUMA node gets an equal, 2 MiB aligned share */
	mb = (mb + 2 * t->numa_nodes - 1) / (2 * t->numa_nodes) * 2 * t->numa_nodes;
	return mb;
}

#define ADD(...)                                                     \
	do {                                                         \
		if ((err = kt_strlist_addf(&a, __VA_ARGS__)))        \
			goto fail;                                   \
	} while (0)

int kt_vm_qemu_argv(const struct kt_vm_config *cfg, const char *initrd, const char *rundir,
		    char ***argv)
{
	const struct kt_topo_spec *t = &cfg->topo;
	unsigned cpus = kt_topo_spec_cpus(t), mem = cfg->memory_mb;
	struct kt_strlist a = { 0 };
	unsigned long khz = host_tsc_khz();
	struct kt_qemu_info q;
	struct kt_vm_machine m;
	char spec[32], *why = NULL;
	int err;

	if (!mem)
		mem = kt_vm_default_memory_mb(t);
	if (mem % t->numa_nodes)
		mem += t->numa_nodes - mem % t->numa_nodes;
	if ((err = kt_vm_machine_for(cfg->host, t, cfg->accel, &q, &m, &why))) {
		free(why);
		goto fail;
	}
	ADD("%s", q.path);	/* found through the host's search path */
	kt_topo_spec_format(t, spec, sizeof(spec));
	ADD("-M");
	/* KVM's interrupt remapping needs the IOAPIC in userspace */
	ADD("%s", m.x2apic && cfg->accel == KT_ACCEL_KVM ? "q35,kernel-irqchip=split" : "q35");
	ADD("-nodefaults");
	ADD("-no-user-config");
	ADD("-no-reboot");
	ADD("-display");
	ADD("none");
	ADD("-accel");
	/* single-threaded TCG: MTTCG corrupts kernel text patching (static keys) */
	ADD("%s", cfg->accel == KT_ACCEL_KVM ? "kvm" : "tcg,thread=single");
	ADD("-cpu");
	ADD("%s", m.cpu);
	ADD("-smp");
	ADD("%u,sockets=%u,dies=%u,cores=%u,threads=%u", cpus, m.sockets, m.dies, m.cores,
	    m.threads);
	if (m.x2apic) {
		/* x2APIC, which CPUs with APIC IDs above 255 need, comes only with
		 * interrupt remapping in the guest */
		ADD("-device");
		ADD("intel-iommu,intremap=on,eim=on");
	}
	ADD("-m");
	ADD("%u", mem);
	if (t->numa_nodes > 1) {
		unsigned per_node = cpus / t->numa_nodes;

		for (unsigned n = 0; n < t->numa_nodes; n++) {
			ADD("-object");
			ADD("memory-backend-ram,id=m%u,size=%uM", n, mem / t->numa_nodes);
			ADD("-numa");
			ADD("node,nodeid=%u,cpus=%u-%u,memdev=m%u", n, n * per_node,
			    (n + 1) * per_node - 1, n);
		}
		for (unsigned i = 0; i < t->numa_nodes; i++)
			for (unsigned j = 0; j < t->numa_nodes; j++)
				if (i != j) {
					ADD("-numa");
					ADD("dist,src=%u,dst=%u,val=20", i, j);
				}
	}
	ADD("-kernel");
	ADD("%s", cfg->kernel->image);
	ADD("-initrd");
	ADD("%s", initrd);
	ADD("-append");
	{
		struct kt_buf k = { 0 };

		/*
		 * Boot-time trims, measured under TCG (~1.1 s of ~2.9 s): no TSC
		 * watchdog wait, no crypto self-tests, no certificate parsing or
		 * encrypted-key setup, no zeroing of every allocated page, no
		 * audit and no LSMs but capabilities (a scheduler test needs
		 * neither).  Expedited RCU grace periods make cgroup mounts,
		 * controller changes and task moves take a fraction of a tick
		 * instead of several ticks.
		 */
		kt_buf_printf(&k, "console=ttyS0 %s panic=-1 rdinit=/init nokaslr mitigations=off "
			      "8250.nr_uarts=1 no_timer_check tsc=reliable cryptomgr.notests "
			      "initcall_blacklist=load_system_certificate_list,init_encrypted "
			      "init_on_alloc=0 audit=0 lsm=capability rcupdate.rcu_expedited=1",
			      cfg->interactive ? "loglevel=3" : "quiet");
		/* what the guest checks its sysfs against before running anything */
		kt_buf_printf(&k, " ktstr.topo=%s", spec);
		/*
		 * One CPU through boot, init brings up the rest (machine.c says
		 * why).  Booted with one CPU, the kernel would patch its locked
		 * instructions to uniprocessor ones and back again when the
		 * second CPU comes up (~0.2 s under TCG): noreplace-smp keeps them.
		 */
		if (kt_vm_boots_late(t, cfg->accel, cfg->extra_kargs))
			kt_buf_printf(&k, " maxcpus=1 noreplace-smp ktstr.online=1");
		if (khz && cfg->accel != KT_ACCEL_KVM)
			kt_buf_printf(&k, " tsc_early_khz=%lu lpj=%lu", khz, khz * 1000 / 250);
		if (cfg->extra_kargs && *cfg->extra_kargs)
			kt_buf_printf(&k, " %s", cfg->extra_kargs);
		err = kt_strlist_add(&a, k.data ? k.data : "");
		kt_buf_release(&k);
		if (err)
			goto fail;
	}
	if (cfg->interactive) {
		ADD("-chardev");
		ADD("stdio,id=con,signal=off");
		ADD("-serial");
		ADD("chardev:con");
	} else {
		ADD("-serial");
		ADD("file:%s/console.log", rundir);
	}
	ADD("-device");
	ADD("virtio-serial-pci,id=vs,max_ports=3");
	ADD("-chardev");
	ADD("pipe,id=res,path=%s/res", rundir);
	ADD("-device");
	ADD("virtserialport,bus=vs.0,chardev=res,name=ktstr.result");
	ADD("-chardev");
	ADD("pipe,id=out,path=%s/out", rundir);
	ADD("-device");
	ADD("virtserialport,bus=vs.0,chardev=out,name=ktstr.out");
	/* room for the NULL terminator */
	if ((err = kt_strlist_add(&a, "")))
		goto fail;
	free(a.v[--a.n]);
	a.v[a.n] = NULL;
	*argv = a.v;
	return 0;
fail:
	kt_strlist_release(&a);
	return err;
}

/* ---- the accelerator decision ----------------------------------------- */

/*
 * Seconds the boot probe waits for the panic: $KTSTR_KVM_PROBE_S, else 8.
 * A nested KVM whose outer level is emulated (TCG) boots a kernel in a
 * minute or more, and is still a KVM worth testing.
 */
unsigned kt_vm_boot_probe_seconds(const char *setting)
{
	char *end;
	unsigned long s;

	if (!setting || !*setting)
		return 8;
	s = strtoul(setting, &end, 10);
	return *end || s == 0 || s > 3600 ? 8 : (unsigned)s;
}

/*
 * Boot the kernel under KVM with no root filesystem: a kernel that gets as
 * far as "no init" panics within a second on a working KVM host.  On a
 * host whose KVM cannot run ordinary kernels, it hangs or QEMU dies.
 * "quiet": the panic is printed anyway, and every console byte is a VM
 * exit, which a nested KVM pays dearly for.
 */
static int boot_probe(const struct kt_vm_host *host, const char *qemu, const char *kernel)
{
	char dir[] = "/tmp/ktstr-probe-XXXXXX";
	KT_AUTOFREE char *log = NULL, *serial = NULL, *text = NULL;
	uint64_t deadline;
	int status = 0, ok = -ENODEV;
	pid_t pid;

	if (!mkdtemp(dir))
		return -errno;
	log = kt_asprintf("%s/console", dir);
	serial = kt_asprintf("file:%s", log);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(qemu, qemu, "-M", "q35", "-nodefaults", "-no-reboot", "-display", "none",
		      "-accel", "kvm", "-cpu", "host", "-m", "256", "-kernel", kernel, "-append",
		      "console=ttyS0 quiet panic=-1 rdinit=/none root=/dev/none", "-serial", serial,
		      (char *)NULL);
		_exit(127);
	}
	deadline = kt_now_ns() + kt_vm_boot_probe_seconds(KT_VM_HOST(host, kvm_probe_s)) * 1000000000ull;
	while (pid > 0) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (kt_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		kt_sleep_ns(20000000);
	}
	if (kt_read_file(log, &text, NULL) == 0 && strstr(text, "Kernel panic"))
		ok = 0;
	kt_rm_rf(dir);
	return ok;
}

/* The boot probe's verdict for this kernel, cached once per host boot. */
static enum kt_accel boot_probe_cached(const struct kt_vm_host *host, const char *kernel)
{
	const char *cache = KT_VM_HOST(host, cache_dir);
	KT_AUTOFREE char *path = NULL, *key = NULL, *seen = NULL;
	struct kt_qemu_info q;
	char boot_id[64] = "", *why = NULL;
	enum kt_accel verdict;
	struct stat st;

	kt_read_line("/proc/sys/kernel/random/boot_id", boot_id, sizeof(boot_id));
	if (stat(kernel, &st) < 0)
		return KT_ACCEL_TCG;
	path = cache ? kt_asprintf("%s/accel-probe", cache) : NULL;
	key = kt_asprintf("%s %s %lld", boot_id, kernel, (long long)st.st_mtime);
	if (!key)
		return KT_ACCEL_TCG;
	if (path && kt_read_file(path, &seen, NULL) == 0 && !strncmp(seen, key, strlen(key)) &&
	    seen[strlen(key)] == ' ')
		return !strcmp(seen + strlen(key) + 1, "kvm\n") ? KT_ACCEL_KVM : KT_ACCEL_TCG;
	if (kt_qemu_probe(host, &q, &why)) {
		free(why);	/* no QEMU to boot with: kt_vm_run says so when it starts */
		return KT_ACCEL_TCG;
	}
	verdict = boot_probe(host, q.path, kernel) == 0 ? KT_ACCEL_KVM : KT_ACCEL_TCG;
	if (path && kt_mkdir_p(cache, 0755) == 0) {
		KT_AUTOFREE char *line = kt_asprintf("%s %s\n", key, kt_accel_name(verdict));

		if (line)
			kt_write_whole(path, line, strlen(line), 0644);
	}
	return verdict;
}

int kt_accel_resolve(const struct kt_vm_host *host, enum kt_accel want, const char *kernel,
		     enum kt_accel *out, char **err)
{
	int e;

	*err = NULL;
	*out = KT_ACCEL_TCG;
	if (want == KT_ACCEL_TCG)
		return 0;
	e = kt_vm_probe_kvm();
	if (!e)
		*out = boot_probe_cached(host, kernel);
	if (want == KT_ACCEL_KVM && *out != KT_ACCEL_KVM) {
		*err = kt_asprintf("KVM requested but not usable: %s",
				   e ? (e == -ENOEXEC ? "/dev/kvm cannot run a test guest"
						      : strerror(-e))
				     : "the kernel does not boot under it (use --accel tcg)");
		return -ENODEV;
	}
	return 0;
}
