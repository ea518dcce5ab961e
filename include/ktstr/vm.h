/*
 * The VM engine: a declared topology turned into a QEMU machine, an
 * initramfs written by our own code, a kernel found and validated, a guest
 * launched with its own result channel, and every wait bounded.
 *
 * Must not know about scenarios: the guest request is an opaque JSON text.
 */
#ifndef KTSTR_VM_H
#define KTSTR_VM_H

#include <ktstr/common.h>
#include <ktstr/topology.h>

/* ---- the host --------------------------------------------------------- */

/*
 * What the engine needs to know about the host it runs on.  The module
 * never reads the environment: the caller gathers these (ktstr and test
 * binaries take them from the variables named here, see README.md,
 * "Environment") and passes them in.  Strings are borrowed; NULL or ""
 * means the default given.  A NULL struct pointer means every default.
 */
struct kt_vm_host {
	const char *cache_dir;	/* kernels, initramfs archives, probe verdicts
				 * ($XDG_CACHE_HOME/ktstr or ~/.cache/ktstr);
				 * NULL: no cache (nothing cached is found, probes
				 * are not remembered, an initramfs cannot be built) */
	const char *kernel;	/* kernel when none is named ($KTSTR_KERNEL) */
	const char *qemu;	/* QEMU, a path or a name looked up in search_path
				 * ($KTSTR_QEMU); NULL: qemu-system-x86_64 */
	const char *search_path;	/* ':'-separated directories ($PATH);
					 * NULL: /usr/bin:/bin */
	const char *cpu_model;	/* -cpu under TCG ($KTSTR_CPU); NULL: an Intel model */
	const char *busybox;	/* static busybox for the guest ($KTSTR_BUSYBOX);
				 * NULL: /bin/busybox or /usr/bin/busybox */
	const char *lib_path;	/* directories the host's loader searches before
				 * RUNPATH ($LD_LIBRARY_PATH): the guest's library
				 * closure follows the binary's own search path */
	const char *tmpdir;	/* where run directories go ($TMPDIR); NULL: /tmp */
	const char *kvm_probe_s;	/* seconds the KVM boot probe may take
					 * ($KTSTR_KVM_PROBE_S); NULL: 8 */
};

/* ---- kernels ---------------------------------------------------------- */

struct kt_kernel {
	char *image;		/* what QEMU boots (ELF vmlinux preferred, else bzImage) */
	char *config;		/* kernel .config, or NULL when none was found */
	char *version;		/* release string when known, else NULL */
	char *vmlinux_h;	/* BTF-generated header when cached, else NULL */
};
KT_API void kt_kernel_release(struct kt_kernel *k);

/*
 * Find the kernel to boot: `arg` (a bzImage/vmlinux file, a kernel build
 * tree, or a cache directory), else host->kernel, else the newest kernel
 * in host->cache_dir.  Validates the image and, when a config is available, the
 * options ktstr needs.  On failure returns -ENOENT (nothing found), -ENOEXEC
 * (not a kernel) or -EINVAL (config lacks an option) with *err a one-line
 * message saying what to do.
 */
KT_API int kt_kernel_resolve(const struct kt_vm_host *host, const char *arg, struct kt_kernel *out,
			     char **err);
/* Options a config must have; NULL-terminated. */
KT_API extern const char *const kt_kernel_required_options[];

/* ---- accelerator ------------------------------------------------------ */

enum kt_accel { KT_ACCEL_AUTO = 0, KT_ACCEL_KVM, KT_ACCEL_TCG };
KT_API int kt_accel_parse(const char *s, enum kt_accel *out);
KT_API const char *kt_accel_name(enum kt_accel a);
/* Run a few instructions in a throwaway KVM VM: 0 when KVM works at all. */
KT_API int kt_vm_probe_kvm(void);
/* Resolve AUTO by probing (ioctl probe, then a cached boot probe of
 * `kernel`); KVM requested but unusable is -ENODEV with *err set. */
KT_API int kt_accel_resolve(const struct kt_vm_host *host, enum kt_accel want, const char *kernel,
			    enum kt_accel *out, char **err);

/* ---- QEMU and the machine it is asked for ------------------------------- */

/* The QEMU that will run: host->qemu, found through host->search_path. */
struct kt_qemu_info {
	char path[4096];
	unsigned major, minor, micro;
};
/* Find and probe it (version; cached per path, mtime and size).  -ENOENT
 * (not found) or -ENOEXEC (no version) with *err saying what to do. */
KT_API int kt_qemu_probe(const struct kt_vm_host *host, struct kt_qemu_info *out, char **err);
/* "QEMU emulator version 10.0.2 (...)" -> 10, 0, 2; -EINVAL if absent. */
KT_API int kt_qemu_parse_version(const char *text, unsigned *major, unsigned *minor,
				 unsigned *micro);

enum kt_cpu_vendor { KT_VENDOR_OTHER = 0, KT_VENDOR_INTEL, KT_VENDOR_AMD };
/* From a vendor_id string ("GenuineIntel", "AuthenticAMD", "HygonGenuine"). */
KT_API enum kt_cpu_vendor kt_cpu_vendor_parse(const char *vendor_id);
KT_API const char *kt_cpu_vendor_name(enum kt_cpu_vendor v);
/* This machine's vendor (/proc/cpuinfo): what `-cpu host` shows a guest. */
KT_API enum kt_cpu_vendor kt_host_cpu_vendor(void);

/* The machine a topology is booted as. */
struct kt_vm_machine {
	char cpu[128];			/* -cpu argument */
	enum kt_cpu_vendor vendor;	/* what the guest will see */
	bool dies_per_llc;		/* one die per LLC (else one socket per LLC) */
	unsigned sockets, dies, cores, threads;	/* -smp fields */
	unsigned last_apic_id;
	bool x2apic;			/* APIC IDs above 254: interrupt remapping too */
};
/*
 * Choose the machine for spec t on QEMU q: the -cpu model (`cpu_model`
 * under TCG, default an Intel one; `host` under KVM, whose vendor is
 * host_vendor) and the -smp layout that gives the declared LLCs for that
 * version and vendor.  -EOPNOTSUPP with *why (reason and fix) when the
 * engine cannot boot it at all.  Pure: no QEMU is run.
 */
KT_API int kt_vm_machine_plan(const struct kt_topo_spec *t, enum kt_accel accel,
			      const struct kt_qemu_info *q, enum kt_cpu_vendor host_vendor,
			      const char *cpu_model, struct kt_vm_machine *m, char **why);
/* Probe QEMU, then plan with this host's vendor and host->cpu_model. */
KT_API int kt_vm_machine_for(const struct kt_vm_host *host, const struct kt_topo_spec *t,
			     enum kt_accel accel, struct kt_qemu_info *q, struct kt_vm_machine *m,
			     char **why);
/* Whether a guest of topology t boots with one CPU, init onlining the rest
 * (TCG, large guests, unless kargs say how many CPUs to start). */
KT_API bool kt_vm_boots_late(const struct kt_topo_spec *t, enum kt_accel accel,
			     const char *kargs);
/* Rough seconds from launch to result for a trivial command (measured
 * figures, interpolated), booted late (kt_vm_boots_late) or with every CPU;
 * a guide for choosing topologies and timeouts. */
KT_API double kt_vm_boot_estimate_s(const struct kt_topo_spec *t, enum kt_accel accel,
				    const struct kt_qemu_info *q, bool late);
/* How much slower (> 1) or faster this machine boots guests of about `cpus`
 * CPUs (0: any size) than that model: the median of measured / model over
 * its newest recorded boots under `accel` (host->cache_dir/boot-times,
 * written by every VM that reaches its init), of sizes within 2x of cpus
 * when three are recorded, else of all.  1 with *samples = 0 when fewer
 * than 3 are recorded. */
KT_API double kt_vm_boot_scale(const struct kt_vm_host *host, enum kt_accel accel,
			       unsigned cpus, unsigned *samples);
/* Record one boot: seconds from QEMU start to init's work, less what the
 * guest's own work took beyond onlining CPUs (late: booted with one) and
 * the topology check. */
KT_API void kt_vm_boot_record(const struct kt_vm_host *host, enum kt_accel accel,
			      unsigned qemu_major, unsigned cpus, bool late, double boot_s);
/* "QEMU 10.0.2 (/usr/bin/...), TCG, -cpu X (AMD vendor), one socket per LLC" */
KT_API char *kt_vm_machine_describe(const struct kt_qemu_info *q, enum kt_accel accel,
				    const struct kt_vm_machine *m);

/* ---- initramfs -------------------------------------------------------- */

/* A file to put in the guest: host path -> guest path (absolute). */
struct kt_initramfs_file {
	const char *host;
	const char *guest;
	unsigned mode;		/* 0 -> taken from the host file */
};

/*
 * Build (or reuse from host->cache_dir) the base archive: `init_binary` as
 * /init, host->busybox with its applet links, the given files, and the
 * shared-library closure of every ELF among them.  *path is the cached
 * archive (malloc'd).
 */
KT_API int kt_initramfs_base(const struct kt_vm_host *host, const char *init_binary,
			     const struct kt_initramfs_file *files, size_t n_files, char **path,
			     char **err);

/* ---- launch ----------------------------------------------------------- */

struct kt_vm_config {
	const struct kt_vm_host *host;	/* NULL: every default */
	const struct kt_kernel *kernel;
	struct kt_topo_spec topo;
	unsigned memory_mb;		/* 0 -> automatic */
	enum kt_accel accel;		/* resolved: KVM or TCG */
	const char *init_binary;	/* ELF run as /init; NULL -> this executable */
	const struct kt_initramfs_file *files;
	size_t n_files;
	const char *request_json;	/* delivered as /ktstr/request.json */
	unsigned timeout_s;		/* 0 -> 120 */
	int out_fd;			/* guest program output goes here; -1 drops it */
	bool interactive;		/* serial console on our terminal (shell) */
	const char *extra_kargs;
	int cancel_fd;			/* readable -> stop the VM (signal pipe); -1 none */
	bool keep_console;		/* keep the full console log in the result */
};

enum kt_vm_outcome {
	KT_VM_OK = 0,			/* guest wrote a result and powered off */
	KT_VM_NO_RESULT,		/* guest ended without a result */
	KT_VM_PANIC,			/* kernel panic seen on the console */
	KT_VM_TIMEOUT,			/* guest did not finish in time; killed */
	KT_VM_CANCELLED,		/* cancel_fd fired; killed */
	KT_VM_QEMU_FAILED,		/* QEMU could not start or died with an error */
	KT_VM_TOPOLOGY,			/* the guest's topology is not the declared one */
};

struct kt_vm_result {
	enum kt_vm_outcome outcome;
	char *result_json;		/* the guest's result, NUL-terminated, or NULL */
	char *console;			/* console tail (or all with keep_console) */
	char *qemu_stderr;		/* QEMU's own complaints */
	int qemu_status;		/* wait status of QEMU */
	uint64_t total_ns;		/* QEMU start -> QEMU gone */
	uint64_t prep_ns;		/* kt_vm_run entry -> QEMU start (host preparation) */
	uint64_t result_ns;		/* QEMU start -> complete result; 0: none came */
	double guest_init_ms;		/* guest uptime when its init ran; < 0: unknown */
	double guest_work_ms;		/* init's work to the result (channels, request,
					 * topology check, the command); < 0: unknown */
	double guest_verify_ms;		/* of which the topology check; < 0: unknown */
	double guest_online_ms;		/* of which bringing up CPUs (a guest booted
					 * with one); < 0: none were */
	double host_wait_pct;		/* share of QEMU's runnable time it waited for a
					 * host CPU, %; -1 unknown.  High: the guest ran
					 * slowed down and its timing verdicts lose power */
	char *topology_error;		/* KT_VM_TOPOLOGY: what differs, on which QEMU */
};
KT_API void kt_vm_result_release(struct kt_vm_result *r);
KT_API const char *kt_vm_outcome_name(enum kt_vm_outcome o);
/* Where a run's wall time went, one line without a newline (malloc'd):
 * "host prep 12.0 ms, QEMU start to result 1800.0 ms (...), ...". */
KT_API char *kt_vm_timing_describe(const struct kt_vm_result *r);

/* QEMU argv for a config (NULL-terminated, malloc'd strings). */
KT_API int kt_vm_qemu_argv(const struct kt_vm_config *cfg, const char *initrd, const char *rundir,
			   char ***argv);
KT_API void kt_vm_argv_free(char **argv);

/* Boot, run, collect.  Returns 0 when the VM ran (see res->outcome), or
 * -errno with *err for host-side failures (QEMU missing, temp dir...). */
KT_API int kt_vm_run(const struct kt_vm_config *cfg, struct kt_vm_result *res, char **err);

/* For a guest result that reports a topology mismatch: its message plus
 * the QEMU, accelerator, CPU model and layout used (malloc'd). */
KT_API char *kt_vm_topology_error(const struct kt_vm_config *cfg, const char *result_json);

/* The last `lines` lines of a text (pointer into it). */
KT_API const char *kt_text_tail(const char *text, unsigned lines);

#endif
