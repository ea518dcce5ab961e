/*
 * The VM module's pure parts: topology -> QEMU arguments, the cpio writer
 * (read back with a small newc parser), the ELF library closure, kernel
 * vetting and console tails.  No VM is booted here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm_internal.h"

static bool argv_has(char **argv, const char *a, const char *b)
{
	for (size_t i = 0; argv[i]; i++)
		if (!strcmp(argv[i], a) && (!b || (argv[i + 1] && !strcmp(argv[i + 1], b))))
			return true;
	return false;
}

static void test_qemu_argv_topology(void **state)
{
	struct kt_kernel k = { .image = "/k/vmlinux" };
	struct kt_vm_config cfg = { .kernel = &k, .accel = KT_ACCEL_TCG, .memory_mb = 1024 };
	char **argv = NULL;

	struct kt_qemu_info q;
	struct kt_vm_machine m;
	char *why = NULL, smp[128];

	/* the layout depends on the QEMU found (test_machine covers each case) */
	assert_int_equal(kt_topo_spec_parse("2n4l1c1t", &cfg.topo, NULL), 0);
	assert_int_equal(kt_vm_machine_for(NULL, &cfg.topo, cfg.accel, &q, &m, &why), 0);
	snprintf(smp, sizeof(smp), "4,sockets=%u,dies=%u,cores=1,threads=1", m.sockets, m.dies);
	assert_int_equal(kt_vm_qemu_argv(&cfg, "/r/initrd", "/r", &argv), 0);
	assert_true(argv_has(argv, "-smp", smp));
	assert_true(m.dies_per_llc ? m.sockets == 2 && m.dies == 2 : m.sockets == 4 && m.dies == 1);
	assert_true(argv_has(argv, "-M", "q35"));
	assert_true(argv_has(argv, "-accel", "tcg,thread=single"));
	assert_true(argv_has(argv, "-cpu", "max,vendor=GenuineIntel"));
	assert_true(argv_has(argv, "-object", "memory-backend-ram,id=m0,size=512M"));
	assert_true(argv_has(argv, "-numa", "node,nodeid=1,cpus=2-3,memdev=m1"));
	assert_true(argv_has(argv, "-numa", "dist,src=0,dst=1,val=20"));
	assert_true(argv_has(argv, "-kernel", "/k/vmlinux"));
	assert_true(argv_has(argv, "-initrd", "/r/initrd"));
	assert_true(argv_has(argv, "-serial", "file:/r/console.log"));
	kt_vm_argv_free(argv);

	/* one node: no NUMA arguments; SMT; KVM uses the host CPU */
	assert_int_equal(kt_topo_spec_parse("smt-2llc", &cfg.topo, NULL), 0);
	cfg.accel = KT_ACCEL_KVM;
	assert_int_equal(kt_vm_machine_for(NULL, &cfg.topo, cfg.accel, &q, &m, &why), 0);
	snprintf(smp, sizeof(smp), "8,sockets=%u,dies=%u,cores=2,threads=2", m.sockets, m.dies);
	assert_int_equal(kt_vm_qemu_argv(&cfg, "/r/initrd", "/r", &argv), 0);
	assert_true(argv_has(argv, "-smp", smp));
	assert_true(argv_has(argv, "-cpu", "host"));
	/* `-cpu host` shows this machine's vendor: AMD gets a socket per LLC */
	if (kt_host_cpu_vendor() == KT_VENDOR_AMD)
		assert_string_equal(smp, "8,sockets=2,dies=1,cores=2,threads=2");
	assert_false(argv_has(argv, "-numa", NULL));
	kt_vm_argv_free(argv);
}

/* The kernel command line of a QEMU argv. */
static const char *argv_append(char **argv)
{
	for (char **p = argv; *p && p[1]; p++)
		if (!strcmp(*p, "-append"))
			return p[1];
	return "";
}

/* Large TCG guests boot with one CPU and init brings up the rest, unless
 * the user's kernel arguments say how many CPUs to start. */
static void test_boots_late(void **state)
{
	struct kt_kernel k = { .image = "/k/vmlinux" };
	struct kt_vm_config cfg = { .kernel = &k, .accel = KT_ACCEL_TCG, .memory_mb = 2048 };
	struct kt_topo_spec small = { 1, 2, 2, 1 };
	char **argv = NULL;

	assert_int_equal(kt_topo_spec_parse("1n8l8c2t", &cfg.topo, NULL), 0);
	assert_true(kt_vm_boots_late(&cfg.topo, KT_ACCEL_TCG, NULL));
	assert_true(kt_vm_boots_late(&cfg.topo, KT_ACCEL_TCG, "quiet nosmpx"));
	assert_true(kt_vm_boots_late(&cfg.topo, KT_ACCEL_TCG, "xmaxcpus=4"));
	assert_false(kt_vm_boots_late(&cfg.topo, KT_ACCEL_KVM, NULL));
	assert_false(kt_vm_boots_late(&small, KT_ACCEL_TCG, NULL));
	assert_false(kt_vm_boots_late(&cfg.topo, KT_ACCEL_TCG, "maxcpus=128"));
	assert_false(kt_vm_boots_late(&cfg.topo, KT_ACCEL_TCG, "quiet nosmp"));
	assert_int_equal(kt_vm_qemu_argv(&cfg, "/r/initrd", "/r", &argv), 0);
	assert_non_null(strstr(argv_append(argv), " maxcpus=1 noreplace-smp ktstr.online=1"));
	kt_vm_argv_free(argv);
	cfg.extra_kargs = "maxcpus=128";
	assert_int_equal(kt_vm_qemu_argv(&cfg, "/r/initrd", "/r", &argv), 0);
	assert_null(strstr(argv_append(argv), "ktstr.online"));
	assert_non_null(strstr(argv_append(argv), " maxcpus=128"));
	kt_vm_argv_free(argv);
	cfg.extra_kargs = NULL;
	cfg.topo = small;
	assert_int_equal(kt_vm_qemu_argv(&cfg, "/r/initrd", "/r", &argv), 0);
	assert_null(strstr(argv_append(argv), "maxcpus"));
	kt_vm_argv_free(argv);
}

/* Minimal newc reader: returns the names in order, "|"-separated. */
static void cpio_names(const char *path, char *out, size_t outsz, char *data_of_file,
		       const char *want)
{
	char *buf = NULL;
	size_t len = 0, off = 0;

	assert_int_equal(kt_read_file(path, &buf, &len), 0);
	out[0] = '\0';
	while (off + 110 <= len) {
		unsigned long fsize, nsize;
		char field[9] = { 0 };

		assert_memory_equal(buf + off, "070701", 6);
		memcpy(field, buf + off + 54, 8);
		fsize = strtoul(field, NULL, 16);
		memcpy(field, buf + off + 94, 8);
		nsize = strtoul(field, NULL, 16);
		const char *name = buf + off + 110;

		if (!strcmp(name, "TRAILER!!!"))
			break;
		strncat(out, name, outsz - strlen(out) - 2);
		strcat(out, "|");
		off = (off + 110 + nsize + 3) & ~3ul;
		if (want && !strcmp(name, want))
			memcpy(data_of_file, buf + off, fsize), data_of_file[fsize] = '\0';
		off = (off + fsize + 3) & ~3ul;
	}
	free(buf);
}

static void test_cpio_roundtrip(void **state)
{
	char dir[] = "/tmp/kt-cpio-XXXXXX", names[512], data[64] = "";
	struct kt_cpio *c;

	assert_non_null(mkdtemp(dir));
	KT_AUTOFREE char *path = kt_asprintf("%s/a.cpio", dir);

	assert_int_equal(kt_cpio_open(path, &c), 0);
	assert_int_equal(kt_cpio_dir(c, "/dev", 0755), 0);
	assert_int_equal(kt_cpio_data(c, "/ktstr/request.json", 0644, "{\"a\":1}", 7), 0);
	assert_int_equal(kt_cpio_symlink(c, "bin/sh", "/bin/busybox"), 0);
	assert_int_equal(kt_cpio_finish(c), 0);
	cpio_names(path, names, sizeof(names), data, "ktstr/request.json");
	/* parents are created before their children, once */
	assert_string_equal(names, "dev|ktstr|ktstr/request.json|bin|bin/sh|");
	assert_string_equal(data, "{\"a\":1}");
	kt_rm_rf(dir);
}

static bool list_has_suffix(const struct kt_strlist *l, const char *suffix)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t a = strlen(l->v[i]), b = strlen(suffix);

		if (a >= b && !strcmp(l->v[i] + a - b, suffix))
			return true;
	}
	return false;
}

static void test_elf_closure(void **state)
{
	struct kt_strlist libs = { 0 };
	char *missing = NULL;

	/* a dynamic executable: its loader and libc (guest path, host path pairs) */
	assert_int_equal(kt_elf_closure("/bin/ls", NULL, &libs, &missing), 0);
	assert_true(libs.n >= 4 && libs.n % 2 == 0);
	assert_true(list_has_suffix(&libs, "/ld-linux-x86-64.so.2"));
	assert_true(list_has_suffix(&libs, "/libc.so.6"));
	assert_int_equal(kt_elf_is_dynamic("/bin/ls"), 1);
	kt_strlist_release(&libs);
	/* static busybox and a text file: nothing to add */
	if (access("/bin/busybox", R_OK) == 0) {
		assert_int_equal(kt_elf_closure("/bin/busybox", NULL, &libs, &missing), 0);
		assert_int_equal(libs.n, 0);
		assert_int_equal(kt_elf_is_dynamic("/bin/busybox"), 0);
	}
	assert_int_equal(kt_elf_closure("/etc/passwd", NULL, &libs, &missing), 0);
	assert_int_equal(libs.n, 0);
	kt_strlist_release(&libs);
}

/*
 * The caller's library path (the host loader's LD_LIBRARY_PATH) comes
 * before the default directories, as for the loader: a libc copied into
 * a private directory is the one the guest gets.
 */
static void test_elf_closure_lib_path(void **state)
{
	char dir[] = "/tmp/kt-libpath-XXXXXX";
	struct kt_strlist libs = { 0 }, dflt = { 0 };
	KT_AUTOFREE char *libc = NULL, *copy = NULL, *data = NULL;
	char *missing = NULL;
	size_t len = 0;

	assert_int_equal(kt_elf_closure("/bin/ls", NULL, &dflt, &missing), 0);
	for (size_t i = 0; i + 1 < dflt.n; i += 2)
		if (strstr(dflt.v[i], "/libc.so.6"))
			libc = strdup(dflt.v[i + 1]);
	assert_non_null(libc);
	assert_non_null(mkdtemp(dir));
	copy = kt_asprintf("%s/libc.so.6", dir);
	assert_int_equal(kt_read_file(libc, &data, &len), 0);
	assert_int_equal(kt_write_whole(copy, data, len, 0755), 0);
	assert_int_equal(kt_elf_closure("/bin/ls", dir, &libs, &missing), 0);
	assert_true(kt_strlist_has(&libs, copy));
	assert_false(kt_strlist_has(&libs, libc));
	kt_strlist_release(&libs);
	kt_strlist_release(&dflt);
	kt_rm_rf(dir);
}

static void test_kernel_vetting(void **state)
{
	char dir[] = "/tmp/kt-kern-XXXXXX", img[0x300] = { 0 };
	struct kt_kernel k;
	char *err = NULL;

	assert_int_equal(kt_kernel_resolve(NULL, "/nonexistent/bzImage", &k, &err), -ENOENT);
	free(err);
	assert_int_equal(kt_kernel_resolve(NULL, "/etc/passwd", &k, &err), -ENOEXEC);
	assert_non_null(strstr(err, "not a kernel image"));
	free(err);

	/* a fake bzImage ("HdrS" at 0x202) next to a config lacking sched_ext */
	assert_non_null(mkdtemp(dir));
	KT_AUTOFREE char *p = kt_asprintf("%s/bzImage", dir), *cfg = kt_asprintf("%s/config", dir);

	memcpy(img + 0x202, "HdrS", 4);
	assert_int_equal(kt_write_whole(p, img, sizeof(img), 0644), 0);
	const char *text = "CONFIG_DEBUG_INFO_BTF=y\nCONFIG_CGROUPS=y\nCONFIG_CPUSETS=y\n";

	assert_int_equal(kt_write_whole(cfg, text, strlen(text), 0644), 0);
	assert_int_equal(kt_kernel_resolve(NULL, dir, &k, &err), -EINVAL);
	assert_non_null(strstr(err, "CONFIG_SCHED_CLASS_EXT"));
	free(err);
	text = "CONFIG_SCHED_CLASS_EXT=y\nCONFIG_DEBUG_INFO_BTF=y\nCONFIG_CGROUPS=y\nCONFIG_CPUSETS=y\n";
	assert_int_equal(kt_write_whole(cfg, text, strlen(text), 0644), 0);
	assert_int_equal(kt_kernel_resolve(NULL, dir, &k, &err), 0);
	assert_string_equal(k.image, p);
	assert_string_equal(k.config, cfg);
	kt_kernel_release(&k);
	kt_rm_rf(dir);
}

/* The host's settings come in as arguments: nothing is read from the
 * environment, whatever it holds. */
static void test_host_settings(void **state)
{
	char dir[] = "/tmp/kt-host-XXXXXX";
	struct kt_vm_host host = { 0 };
	struct kt_vm_result r = { .prep_ns = 12500000, .result_ns = 0, .guest_init_ms = 810.5,
				  .guest_work_ms = 40.25, .guest_verify_ms = 3.5,
				  .total_ns = 2000000000, .host_wait_pct = 12.4 };
	struct kt_qemu_info q;
	struct kt_kernel k;
	KT_AUTOFREE char *timing = NULL;
	char *err = NULL;

	assert_non_null(mkdtemp(dir));
	setenv("KTSTR_KERNEL", "/nonexistent/from-env", 1);
	setenv("KTSTR_QEMU", "/nonexistent/qemu-from-env", 1);
	/* no kernel named and an empty cache: nothing found */
	host.cache_dir = dir;
	assert_int_equal(kt_kernel_resolve(&host, NULL, &k, &err), -ENOENT);
	assert_non_null(strstr(err, "no kernel found"));
	free(err);
	/* the host's default kernel is the one vetted */
	host.kernel = "/etc/passwd";
	assert_int_equal(kt_kernel_resolve(&host, NULL, &k, &err), -ENOEXEC);
	assert_non_null(strstr(err, "/etc/passwd"));
	free(err);
	/* QEMU: the host's, by path or by name on the host's search path */
	host.qemu = "/nonexistent/qemu";
	assert_int_equal(kt_qemu_probe(&host, &q, &err), -ENOENT);
	assert_non_null(strstr(err, "QEMU not found: /nonexistent/qemu"));
	free(err);
	host.qemu = NULL;
	host.search_path = dir;
	assert_int_equal(kt_qemu_probe(&host, &q, &err), -ENOENT);
	assert_non_null(strstr(err, "qemu-system-x86_64"));
	free(err);
	unsetenv("KTSTR_KERNEL");
	unsetenv("KTSTR_QEMU");
	kt_rm_rf(dir);

	/* the timing line is the caller's to print */
	timing = kt_vm_timing_describe(&r);
	assert_string_equal(timing, "host prep 12.5 ms, no result from the guest, QEMU gone after "
			    "2000.0 ms, waited for a host CPU 12 %");
	free(timing);
	r.result_ns = 1900000000;
	timing = kt_vm_timing_describe(&r);
	assert_string_equal(timing, "host prep 12.5 ms, QEMU start to result 1900.0 ms (guest kernel "
			    "reached init at 810.5 ms of its uptime; init's work to the result "
			    "40.2 ms, of which topology check 3.5 ms), to QEMU gone 2000.0 ms, "
			    "waited for a host CPU 12 %");
	free(timing);
	r.guest_online_ms = 20.25;	/* booted with one CPU, init brought up the rest */
	timing = kt_vm_timing_describe(&r);
	assert_non_null(strstr(timing, "of which bringing up CPUs 20.2 ms, topology check 3.5 ms"));
}

static void test_text_tail(void **state)
{
	assert_string_equal(kt_text_tail("a\nb\nc\n", 2), "b\nc\n");
	assert_string_equal(kt_text_tail("a\nb\nc", 1), "c");
	assert_string_equal(kt_text_tail("only", 5), "only");
	assert_string_equal(kt_text_tail(NULL, 3), "");
}

static void test_host_wait_parse(void **state)
{
	struct kt_host_wait w = { 0 }, zero = { 0 };

	assert_int_equal(kt_host_wait_parse("300 100 7\n", &w), 0);
	assert_int_equal(kt_host_wait_parse("100 500 2", &w), 0);
	assert_true(w.run_ns == 400 && w.wait_ns == 600);
	assert_int_equal(kt_host_wait_parse("garbage", &w), -EINVAL);
	assert_int_equal(kt_host_wait_parse(NULL, &w), -EINVAL);
	assert_true(w.run_ns == 400 && w.wait_ns == 600);
	assert_float_equal(kt_host_wait_pct(&zero, &w), 60.0, 1e-9);
	assert_float_equal(kt_host_wait_pct(&w, &w), -1, 0);	/* nothing ran */
	assert_float_equal(kt_host_wait_pct(&w, &zero), -1, 0);	/* went backwards */
	assert_int_equal(kt_host_wait_read(-1, &w), -ENOENT);
}

/* A child spinning until killed, on `cpu` only. */
static pid_t spinner(int cpu)
{
	pid_t pid = fork();
	cpu_set_t set;

	if (pid == 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (;;)
			;
	}
	return pid;
}

/* Two processes sharing one CPU each wait about half their runnable time. */
static void test_host_wait_read(void **state)
{
	struct kt_host_wait zero = { 0 }, w;
	cpu_set_t set;
	pid_t a, b;
	int cpu = 0;
	double pct;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	a = spinner(cpu);
	b = spinner(cpu);
	assert_true(a > 0 && b > 0);
	usleep(400 * 1000);
	assert_int_equal(kt_host_wait_read(a, &w), 0);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	pct = kt_host_wait_pct(&zero, &w);
	if (pct < 0)
		skip();	/* a host kernel without schedstat times */
	assert_true(pct >= 25.0 && pct <= 100.0);
}

static void test_boot_probe_seconds(void **state)
{
	assert_int_equal(kt_vm_boot_probe_seconds(NULL), 8);
	assert_int_equal(kt_vm_boot_probe_seconds(""), 8);
	assert_int_equal(kt_vm_boot_probe_seconds("240"), 240);
	/* nonsense keeps the default rather than a probe that never ends */
	assert_int_equal(kt_vm_boot_probe_seconds("0"), 8);
	assert_int_equal(kt_vm_boot_probe_seconds("2m"), 8);
	assert_int_equal(kt_vm_boot_probe_seconds("99999"), 8);
}

/*
 * Boot times: each boot appends a line; the scale is the median of
 * measured / model over the newest samples of one accelerator, 1 until
 * there are three, and the file is cut back once it grows long.
 */
static void test_boot_scale(void **state)
{
	char dir[] = "/tmp/ktstr-boots-XXXXXX";
	struct kt_vm_host host = { 0 };
	struct kt_topo_spec four = { 1, 2, 2, 1 }, big = { 1, 8, 8, 2 };
	double m4, m128, scale;
	unsigned n;
	KT_AUTOFREE char *path = NULL, *text = NULL;
	size_t len, lines = 0;

	assert_non_null(mkdtemp(dir));
	host.cache_dir = dir;
	m4 = kt_vm_boot_estimate_s(&four, KT_ACCEL_TCG, NULL, false);
	m128 = kt_vm_boot_estimate_s(&big, KT_ACCEL_TCG, NULL, false);
	assert_true(m128 > 10 * m4);	/* the model grows steeply with CPUs */
	/* ... much less steeply when init brings up the CPUs */
	assert_true(kt_vm_boot_estimate_s(&big, KT_ACCEL_TCG, NULL, true) < m128 / 2);
	assert_float_equal(kt_vm_boot_scale(&host, KT_ACCEL_TCG, 0, &n), 1.0, 1e-9);
	assert_int_equal(n, 0);
	kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 4, false, 3 * m4);
	kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 128, false, 3 * m128);
	assert_float_equal(kt_vm_boot_scale(&host, KT_ACCEL_TCG, 0, &n), 1.0, 1e-9);
	assert_int_equal(n, 0);	/* two are not enough to tell */
	kt_vm_boot_record(&host, KT_ACCEL_KVM, 7, 4, false, 100);	/* another accelerator */
	kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 4, false, 2 * m4);
	kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 4, false, 10 * m4);
	/* at any size the ratio counts: 3, 3, 2, 10 -> median 3 */
	scale = kt_vm_boot_scale(&host, KT_ACCEL_TCG, 0, &n);
	assert_int_equal(n, 4);
	assert_float_equal(scale, 3.0, 0.01);
	assert_float_equal(kt_vm_boot_scale(&host, KT_ACCEL_KVM, 0, &n), 1.0, 1e-9);
	assert_int_equal(n, 0);
	/* asked about a size: three samples of a similar size decide, else all */
	kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 128, false, 9 * m128);
	kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 100, false,
			  6 * kt_vm_boot_estimate_s(&(struct kt_topo_spec){ 1, 1, 100, 1 },
						    KT_ACCEL_TCG, NULL, false));
	assert_float_equal(kt_vm_boot_scale(&host, KT_ACCEL_TCG, 128, &n), 6.0, 0.5);
	assert_int_equal(n, 3);	/* 3x, 9x and 6x at 100-128 CPUs */
	scale = kt_vm_boot_scale(&host, KT_ACCEL_TCG, 4, &n);
	assert_int_equal(n, 3);	/* 3x, 2x and 10x at 4 CPUs */
	assert_float_equal(scale, 3.0, 0.01);
	scale = kt_vm_boot_scale(&host, KT_ACCEL_TCG, 32, &n);
	assert_int_equal(n, 6);	/* no size near 32: all of them */
	/* only the newest samples count, and the file stays short */
	for (int i = 0; i < 450; i++)
		kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 16, false, 0.5 * m4 * 1.5);
	path = kt_asprintf("%s/boot-times", dir);
	assert_int_equal(kt_read_file(path, &text, &len), 0);
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	assert_true(lines >= 200 && lines <= 400);
	scale = kt_vm_boot_scale(&host, KT_ACCEL_TCG, 0, &n);
	assert_true(n >= 3);
	assert_true(scale < 1.0);
	/* a late boot (init brought up the CPUs) is held to the late model */
	assert_int_equal(unlink(path), 0);
	for (int i = 0; i < 3; i++)
		kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 128, true,
				  2 * kt_vm_boot_estimate_s(&big, KT_ACCEL_TCG, NULL, true));
	assert_float_equal(kt_vm_boot_scale(&host, KT_ACCEL_TCG, 128, &n), 2.0, 0.01);
	assert_int_equal(n, 3);
	free(kt_take_ptr(text));
	assert_int_equal(kt_read_file(path, &text, NULL), 0);
	assert_non_null(strstr(text, " late\n"));
	/* nowhere to keep them: nothing learned, nothing breaks */
	host.cache_dir = NULL;
	kt_vm_boot_record(&host, KT_ACCEL_TCG, 7, 4, false, 1);
	assert_float_equal(kt_vm_boot_scale(&host, KT_ACCEL_TCG, 0, &n), 1.0, 1e-9);
	assert_int_equal(kt_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_argv_topology),
		cmocka_unit_test(test_boots_late),
		cmocka_unit_test(test_cpio_roundtrip),
		cmocka_unit_test(test_elf_closure),
		cmocka_unit_test(test_elf_closure_lib_path),
		cmocka_unit_test(test_kernel_vetting),
		cmocka_unit_test(test_host_settings),
		cmocka_unit_test(test_text_tail),
		cmocka_unit_test(test_host_wait_parse),
		cmocka_unit_test(test_host_wait_read),
		cmocka_unit_test(test_boot_probe_seconds),
		cmocka_unit_test(test_boot_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
