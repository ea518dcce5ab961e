/*
 * Which QEMU, and which machine to ask it for.  The same -smp line gives
 * guests different LLCs depending on QEMU's version and the CPU vendor the
 * guest sees, so the plan for a topology is made from facts, not assumed:
 *
 *  - the QEMU actually used (the host's, by default qemu-system-x86_64 on
 *    its search path), its version probed once and cached, keyed by the
 *    binary's path, mtime and size;
 *  - the vendor: under TCG ktstr picks the CPU model (an Intel one unless
 *    the host names another); under KVM `-cpu host` shows the host's
 *    vendor (/proc/cpuinfo).
 *
 * What was found (QEMU 7.2 and 10.0.2, Linux 7.2 guests):
 *  - Intel vendor: Linux takes the LLC from CPUID 4, which QEMU shares per
 *    die, so one die per LLC works on QEMU 7.2.  From QEMU 9.0 a machine
 *    with dies > 1 also gets CPUID 0x1f, whose encoder aborts QEMU 10.0.2
 *    at start (encode_topo_cpuid1f assertion).
 *  - AMD vendor: Linux (family >= 0x17) shifts the APIC ID by the L3's
 *    sharing count in CPUID 0x8000001d, but only with TOPOEXT, which TCG
 *    does not emulate (QEMU drops it with a warning); without it the LLC
 *    is the whole package.
 *  - one socket per LLC gives the declared LLCs on every version and
 *    vendor, with NUMA nodes grouping sockets; the scheduling domains are
 *    the same (the kernel's package level spans the NUMA node), only the
 *    package ids differ.
 *  - APIC IDs above 254 need x2APIC: KVM's kernel irqchip, or QEMU >= 9.0
 *    under TCG (7.2 refuses to start).  The guest kernel enables x2APIC
 *    only with interrupt remapping; without it, it boots but aborts the
 *    bring-up of every CPU whose APIC ID is above 255 ("invalid APIC ID"),
 *    so such machines get an emulated Intel IOMMU with interrupt remapping.
 *
 * The plan is a pure function of (spec, accelerator, version, vendor) so
 * it is unit-tested without QEMU.  Every boot still verifies the result in
 * the guest (topology/verify.c); this only chooses the arguments.
 */
#include "vm/vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "util/util.h"

/* ---- the QEMU binary ---------------------------------------------------- */

/* name resolved through the ':'-separated path, malloc'd; NULL if not found */
static char *which(const char *name, const char *path)
{
	char *copy, *save = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? strdup(name) : NULL;
	copy = strdup(path ? path : "/usr/bin:/bin");
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
		char *p = kt_asprintf("%s/%s", *d ? d : ".", name);

		if (p && access(p, X_OK) == 0) {
			free(copy);
			return p;
		}
		free(p);
	}
	free(copy);
	return NULL;
}

int kt_qemu_parse_version(const char *text, unsigned *major, unsigned *minor, unsigned *micro)
{
	const char *v = text ? strstr(text, "version ") : NULL;

	*major = *minor = *micro = 0;
	if (!v || sscanf(v + 8, "%u.%u.%u", major, minor, micro) < 2)
		return -EINVAL;
	return 0;
}

/* `qemu -version`, bounded: a QEMU that hangs here would hang every boot */
static int run_version(const char *path, char **out)
{
	char tmpl[] = "/tmp/ktstr-qemu-version-XXXXXX";
	int fd = mkstemp(tmpl), status = 0, e = 0;
	uint64_t deadline = kt_now_ns() + 10000000000ull;
	pid_t pid;

	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(fd, 1);
		dup2(null, 2);
		execl(path, path, "-version", (char *)NULL);
		_exit(127);
	}
	close(fd);
	while (pid > 0 && waitpid(pid, &status, WNOHANG) != pid) {
		if (kt_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			e = -ETIMEDOUT;
			break;
		}
		kt_sleep_ns(5000000);
	}
	if (pid < 0)
		e = -errno;
	if (!e && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		e = -ENOEXEC;
	if (!e)
		e = kt_read_file(tmpl, out, NULL);
	unlink(tmpl);
	return e;
}

/* One probe per binary per process; test runners call this from threads. */
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kt_qemu_info memo;
static char memo_key[4200];

int kt_qemu_probe(const struct kt_vm_host *host, struct kt_qemu_info *out, char **err)
{
	KT_AUTOFREE char *path = which(kt_qemu_binary(host), KT_VM_HOST(host, search_path));
	KT_AUTOFREE char *seen = NULL, *text = NULL, *file = NULL;
	const char *cache = KT_VM_HOST(host, cache_dir);
	char key[4200];
	struct stat st;
	int e;

	*err = NULL;
	memset(out, 0, sizeof(*out));
	if (!path || stat(path, &st) < 0) {
		*err = kt_asprintf("QEMU not found: %s (install the qemu-system-x86 package, or set "
				   "KTSTR_QEMU)", kt_qemu_binary(host));
		return -ENOENT;
	}
	snprintf(key, sizeof(key), "%s %lld %lld", path, (long long)st.st_mtime,
		 (long long)st.st_size);
	snprintf(out->path, sizeof(out->path), "%s", path);
	pthread_mutex_lock(&memo_lock);
	if (memo.major && !strcmp(key, memo_key)) {
		*out = memo;
		pthread_mutex_unlock(&memo_lock);
		return 0;
	}
	pthread_mutex_unlock(&memo_lock);
	file = cache ? kt_asprintf("%s/qemu-probe", cache) : NULL;
	/* the cache: one line per binary, "path mtime size major.minor.micro" */
	if (file && kt_read_file(file, &seen, NULL) == 0) {
		const char *hit = strstr(seen, key);

		while (hit && ((hit != seen && hit[-1] != '\n') || hit[strlen(key)] != ' '))
			hit = strstr(hit + 1, key);
		if (!hit || sscanf(hit + strlen(key) + 1, "%u.%u.%u", &out->major, &out->minor,
				   &out->micro) != 3)
			out->major = 0;
	}
	if (!out->major) {
		e = run_version(path, &text);
		if (!e)
			e = kt_qemu_parse_version(text, &out->major, &out->minor, &out->micro);
		if (e) {
			*err = kt_asprintf("%s -version failed (%s): is it QEMU?", path,
					   e == -EINVAL ? "no version in its output" : strerror(-e));
			return e == -EINVAL ? -ENOEXEC : e;
		}
		if (file && kt_mkdir_p(cache, 0755) == 0) {
			/* keep the other binaries' lines: several QEMUs are normal */
			struct kt_buf b = { 0 };
			char *save = NULL;

			for (char *line = seen ? strtok_r(seen, "\n", &save) : NULL; line;
			     line = strtok_r(NULL, "\n", &save))
				if (strncmp(line, path, strlen(path)) || line[strlen(path)] != ' ')
					kt_buf_printf(&b, "%s\n", line);
			kt_buf_printf(&b, "%s %u.%u.%u\n", key, out->major, out->minor, out->micro);
			if (b.data)
				kt_write_whole(file, b.data, b.len, 0644);
			kt_buf_release(&b);
		}
	}
	pthread_mutex_lock(&memo_lock);
	memo = *out;
	snprintf(memo_key, sizeof(memo_key), "%s", key);
	pthread_mutex_unlock(&memo_lock);
	return 0;
}

/* ---- vendors ------------------------------------------------------------ */

enum kt_cpu_vendor kt_cpu_vendor_parse(const char *vendor_id)
{
	if (!vendor_id)
		return KT_VENDOR_OTHER;
	if (strstr(vendor_id, "GenuineIntel"))
		return KT_VENDOR_INTEL;
	if (strstr(vendor_id, "AuthenticAMD") || strstr(vendor_id, "HygonGenuine"))
		return KT_VENDOR_AMD;
	return KT_VENDOR_OTHER;
}

const char *kt_cpu_vendor_name(enum kt_cpu_vendor v)
{
	return v == KT_VENDOR_INTEL ? "Intel" : v == KT_VENDOR_AMD ? "AMD" : "other";
}

enum kt_cpu_vendor kt_host_cpu_vendor(void)
{
	char line[256];
	enum kt_cpu_vendor v = KT_VENDOR_OTHER;
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "vendor_id", 9)) {
			v = kt_cpu_vendor_parse(line);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/*
 * The vendor a TCG CPU model shows: "vendor=" wins, then the model's
 * name (QEMU's AMD models are EPYC*, Opteron*, phenom, athlon).  A bare
 * "max" or "base" takes the default, which differs between versions, so
 * ktstr always names the vendor for its own default.
 */
static enum kt_cpu_vendor model_vendor(const char *model)
{
	const char *v = strstr(model, "vendor=");

	if (v)
		return kt_cpu_vendor_parse(v + 7);
	if (!strncasecmp(model, "EPYC", 4) || !strncasecmp(model, "Opteron", 7) ||
	    !strncmp(model, "phenom", 6) || !strncmp(model, "athlon", 6))
		return KT_VENDOR_AMD;
	if (!strncmp(model, "max", 3) || !strncmp(model, "host", 4))
		return KT_VENDOR_OTHER;
	return KT_VENDOR_INTEL;
}

/* ---- the plan ----------------------------------------------------------- */

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* QEMU's APIC ID of the last CPU: fields thread, core, die, socket, each
 * padded to a power of two. */
static unsigned last_apic_id(unsigned sockets, unsigned dies, unsigned cores, unsigned threads)
{
	unsigned tb = bits_for(threads), cb = bits_for(cores), db = bits_for(dies);

	return ((sockets - 1) << (tb + cb + db)) | ((dies - 1) << (tb + cb)) |
	       ((cores - 1) << tb) | (threads - 1);
}

int kt_vm_machine_plan(const struct kt_topo_spec *t, enum kt_accel accel,
		       const struct kt_qemu_info *q, enum kt_cpu_vendor host_vendor,
		       const char *cpu_model, struct kt_vm_machine *m, char **why)
{
	bool new_qemu = q->major >= 9;
	unsigned per_node = t->llcs / t->numa_nodes;

	*why = NULL;
	memset(m, 0, sizeof(*m));
	if (accel == KT_ACCEL_KVM) {
		snprintf(m->cpu, sizeof(m->cpu), "host");
		m->vendor = host_vendor;
	} else {
		snprintf(m->cpu, sizeof(m->cpu), "%s",
			 cpu_model && *cpu_model ? cpu_model : "max,vendor=GenuineIntel");
		m->vendor = model_vendor(m->cpu);
	}
	/* dies only where they were seen to give the LLCs (see the top) */
	m->dies_per_llc = m->vendor == KT_VENDOR_INTEL && !new_qemu;
	if (m->dies_per_llc) {
		m->sockets = t->numa_nodes;
		m->dies = per_node;
	} else {
		m->sockets = t->llcs;
		m->dies = 1;
	}
	m->cores = t->cores;
	m->threads = t->threads;
	m->last_apic_id = last_apic_id(m->sockets, m->dies, m->cores, m->threads);
	m->x2apic = m->last_apic_id >= 255;
	if (m->x2apic && accel != KT_ACCEL_KVM && !new_qemu) {
		char spec[32];

		kt_topo_spec_format(t, spec, sizeof(spec));
		*why = kt_asprintf("%s needs APIC IDs up to %u, i.e. x2APIC, which QEMU %u.%u "
				   "does not emulate under TCG; use QEMU >= 9.0 (scripts/qemu-fetch, "
				   "then KTSTR_QEMU=its path) or KVM",
				   spec, m->last_apic_id, q->major, q->minor);
		return -EOPNOTSUPP;
	}
	return 0;
}

int kt_vm_machine_for(const struct kt_vm_host *host, const struct kt_topo_spec *t,
		      enum kt_accel accel, struct kt_qemu_info *q, struct kt_vm_machine *m,
		      char **why)
{
	int e = kt_qemu_probe(host, q, why);

	if (e)
		return e;
	return kt_vm_machine_plan(t, accel, q, accel == KT_ACCEL_KVM ? kt_host_cpu_vendor()
								    : KT_VENDOR_OTHER,
				  KT_VM_HOST(host, cpu_model), m, why);
}

char *kt_vm_machine_describe(const struct kt_qemu_info *q, enum kt_accel accel,
			     const struct kt_vm_machine *m)
{
	return kt_asprintf("QEMU %u.%u.%u (%s), %s, -cpu %s (%s vendor), %s", q->major, q->minor,
			   q->micro, q->path, accel == KT_ACCEL_KVM ? "KVM" : "TCG", m->cpu,
			   kt_cpu_vendor_name(m->vendor),
			   m->dies_per_llc ? "one die per LLC" : "one socket per LLC");
}

char *kt_vm_topology_error(const struct kt_vm_config *cfg, const char *result_json)
{
	json_t *res = json_loads(result_json ? result_json : "", 0, NULL);
	const char *msg = json_string_value(json_object_get(res, "error"));
	struct kt_qemu_info q;
	struct kt_vm_machine m;
	KT_AUTOFREE char *why = NULL, *how = NULL;
	char *text;

	if (kt_vm_machine_for(cfg->host, &cfg->topo, cfg->accel, &q, &m, &why) == 0)
		how = kt_vm_machine_describe(&q, cfg->accel, &m);
	text = kt_asprintf("%s; booted with %s", msg ? msg : "topology differs from the spec",
			   how ? how : "an unknown QEMU");
	json_decref(res);
	return text;
}

/*
 * Under TCG every CPU that is online while the kernel boots ticks until the
 * TSC clocksource takes over (an fs initcall), and the one emulator thread
 * runs all of them: a 128-CPU guest took 146-270 s to reach init where one
 * booted with maxcpus=1 and the rest onlined from init was ready in 13 s.
 * So from LATE_CPUS_MIN CPUs on, a TCG guest boots with one CPU and init
 * brings up the others (guest/init.c); measured alternately, that was
 * faster from 16 CPUs (5.3 s against 6.3 s, medians of three), about even
 * at 8 and slower at 4, where onlining (~65 ms a CPU on a slow day) costs
 * more than the ticks it saves.  Not under KVM, where CPUs boot in
 * parallel at native speed.  Kernel arguments that say themselves how many
 * CPUs to start (maxcpus=, nosmp) are the user's choice and win.
 */
#define LATE_CPUS_MIN 16

bool kt_vm_boots_late(const struct kt_topo_spec *t, enum kt_accel accel, const char *kargs)
{
	return accel != KT_ACCEL_KVM && kt_topo_spec_cpus(t) >= LATE_CPUS_MIN &&
	       !kt_cmdline_has(kargs, "maxcpus=") && !kt_cmdline_has(kargs, "nosmp");
}

/*
 * Boot to result for `ktstr vm -- true`, measured on the 2-core
 * development machine (QEMU 7.2, TCG, lightly loaded), with every CPU
 * online through boot: 4 CPUs 1.8 s, 16: 2.7 s, 32: 3.7 s, 64: 7.8 s,
 * 128: 46 s; booted with one CPU and the rest onlined by init: 16 CPUs
 * 2.4 s, 32: 2.9 s, 64: 6.0 s, 128: 13 s, 252: 70 s.  QEMU 10 took ~1.25x as long at 4 CPUs.
 * Interpolated, and extrapolated past the last point along the last
 * segment.  KVM boots in about a second at any of these sizes.  A guide
 * for choosing topologies and timeouts, not a promise: host load moves it
 * a lot.
 */
double kt_vm_boot_estimate_s(const struct kt_topo_spec *t, enum kt_accel accel,
			     const struct kt_qemu_info *q, bool late)
{
	static const double all[][2] = { { 1, 1.8 }, { 4, 1.8 }, { 16, 2.7 }, { 32, 3.7 },
					 { 64, 7.8 }, { 128, 46.0 } };
	static const double one[][2] = { { 1, 1.8 }, { 4, 1.8 }, { 16, 2.4 }, { 32, 2.9 },
					 { 64, 6.0 }, { 128, 13.0 }, { 252, 70.0 } };
	const double (*pts)[2] = late ? one : all;
	size_t n_pts = late ? KT_ARRAY_SIZE(one) : KT_ARRAY_SIZE(all);
	double n = kt_topo_spec_cpus(t), s = pts[n_pts - 1][1];

	if (accel == KT_ACCEL_KVM)
		return 1.0 + n / 128.0;
	for (size_t i = 1; i < n_pts; i++)
		if (n <= pts[i][0] || i == n_pts - 1) {
			double x0 = pts[i - 1][0], y0 = pts[i - 1][1], x1 = pts[i][0], y1 = pts[i][1];

			s = y0 + (n - x0) * (y1 - y0) / (x1 - x0);
			break;
		}
	return q && q->major >= 9 ? s * 1.25 : s;
}
