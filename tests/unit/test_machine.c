/*
 * The machine plan: for each QEMU version and guest CPU vendor, the -cpu
 * model and -smp layout that give the declared LLCs, and the refusal of
 * topologies the engine cannot boot (x2APIC), with its reason and fix.
 * Pure: no QEMU runs, except the version parser on sample output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ktstr/vm.h>

static const struct kt_qemu_info qemu7 = { .path = "/usr/bin/qemu", .major = 7, .minor = 2 };
static const struct kt_qemu_info qemu10 = { .path = "/q10/qemu", .major = 10, .minor = 0 };

static void plan(const char *spec, enum kt_accel accel, const struct kt_qemu_info *q,
		 enum kt_cpu_vendor host, const char *model, struct kt_vm_machine *m)
{
	struct kt_topo_spec t;
	char *why = NULL;

	assert_int_equal(kt_topo_spec_parse(spec, &t, NULL), 0);
	assert_int_equal(kt_vm_machine_plan(&t, accel, q, host, model, m, &why), 0);
	assert_null(why);
}

static void test_version_parse(void **state)
{
	unsigned a, b, c;

	assert_int_equal(kt_qemu_parse_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)\n"
					       "Copyright (c) 2003-2025", &a, &b, &c), 0);
	assert_true(a == 10 && b == 0 && c == 2);
	assert_int_equal(kt_qemu_parse_version("QEMU emulator version 7.2.22 (Debian)", &a, &b, &c), 0);
	assert_true(a == 7 && b == 2 && c == 22);
	assert_int_equal(kt_qemu_parse_version("QEMU emulator version 9.1", &a, &b, &c), 0);
	assert_true(a == 9 && b == 1 && c == 0);
	assert_int_equal(kt_qemu_parse_version("bash: not qemu", &a, &b, &c), -EINVAL);
	assert_int_equal(kt_qemu_parse_version(NULL, &a, &b, &c), -EINVAL);
}

static void test_vendor(void **state)
{
	assert_int_equal(kt_cpu_vendor_parse("vendor_id\t: GenuineIntel\n"), KT_VENDOR_INTEL);
	assert_int_equal(kt_cpu_vendor_parse("AuthenticAMD"), KT_VENDOR_AMD);
	assert_int_equal(kt_cpu_vendor_parse("HygonGenuine"), KT_VENDOR_AMD);
	assert_int_equal(kt_cpu_vendor_parse("CentaurHauls"), KT_VENDOR_OTHER);
	assert_int_equal(kt_cpu_vendor_parse(NULL), KT_VENDOR_OTHER);
}

/* Intel guest on QEMU 7.2: one die per LLC, one socket per NUMA node. */
static void test_intel_old_qemu_dies(void **state)
{
	struct kt_vm_machine m;

	plan("2n4l2c1t", KT_ACCEL_TCG, &qemu7, KT_VENDOR_OTHER, NULL, &m);
	assert_string_equal(m.cpu, "max,vendor=GenuineIntel");
	assert_int_equal(m.vendor, KT_VENDOR_INTEL);
	assert_true(m.dies_per_llc);
	assert_true(m.sockets == 2 && m.dies == 2 && m.cores == 2 && m.threads == 1);
	plan("1n2l2c2t", KT_ACCEL_TCG, &qemu7, KT_VENDOR_OTHER, "Skylake-Server", &m);
	assert_true(m.sockets == 1 && m.dies == 2);
}

/* Intel guest on QEMU >= 9: dies > 1 aborts QEMU 10.0.2, so sockets. */
static void test_intel_new_qemu_sockets(void **state)
{
	struct kt_vm_machine m;

	plan("2n4l2c1t", KT_ACCEL_TCG, &qemu10, KT_VENDOR_OTHER, NULL, &m);
	assert_false(m.dies_per_llc);
	assert_true(m.sockets == 4 && m.dies == 1 && m.cores == 2);
	plan("1n3l3c1t", KT_ACCEL_TCG, &qemu10, KT_VENDOR_OTHER, NULL, &m);
	assert_true(m.sockets == 3 && m.dies == 1 && m.cores == 3);
}

/* AMD guests (models or vendor=, or KVM on an AMD host): always sockets. */
static void test_amd_sockets(void **state)
{
	static const char *const models[] = { "EPYC-Milan", "EPYC-Genoa", "max,vendor=AuthenticAMD",
					       "Opteron_G5" };
	struct kt_vm_machine m;

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		plan("1n2l2c2t", KT_ACCEL_TCG, &qemu7, KT_VENDOR_INTEL, models[i], &m);
		assert_int_equal(m.vendor, KT_VENDOR_AMD);
		assert_true(m.sockets == 2 && m.dies == 1 && m.threads == 2);
	}
	plan("2n4l2c1t", KT_ACCEL_KVM, &qemu7, KT_VENDOR_AMD, "ignored under KVM", &m);
	assert_string_equal(m.cpu, "host");
	assert_int_equal(m.vendor, KT_VENDOR_AMD);
	assert_true(m.sockets == 4 && m.dies == 1);
	/* KVM on an Intel host with an old QEMU keeps dies */
	plan("2n4l2c1t", KT_ACCEL_KVM, &qemu7, KT_VENDOR_INTEL, NULL, &m);
	assert_true(m.dies_per_llc && m.sockets == 2 && m.dies == 2);
	/* a vendor ktstr cannot tell (bare max): the layout that works for all */
	plan("1n2l2c1t", KT_ACCEL_TCG, &qemu7, KT_VENDOR_OTHER, "max", &m);
	assert_false(m.dies_per_llc);
}

/* APIC IDs: each field padded to a power of two. */
static void test_apic_ids_and_x2apic(void **state)
{
	struct kt_topo_spec t;
	struct kt_vm_machine m;
	char *why = NULL;

	plan("1n15l8c2t", KT_ACCEL_TCG, &qemu7, KT_VENDOR_OTHER, NULL, &m);	/* 240 CPUs */
	/* die 14 of 15 (4 bits) above 8 cores (3 bits) x 2 threads: 14<<4|7<<1|1 */
	assert_int_equal(m.last_apic_id, 239);
	assert_false(m.x2apic);
	/* 252 CPUs: 14 sockets of 9 cores x 2 -> APIC IDs to 13<<5|8<<1|1 = 433 */
	assert_int_equal(kt_topo_spec_parse("max-cpu", &t, NULL), 0);
	assert_int_equal(kt_vm_machine_plan(&t, KT_ACCEL_TCG, &qemu7, KT_VENDOR_OTHER,
					    "EPYC-Milan", &m, &why), -EOPNOTSUPP);
	assert_non_null(why);
	assert_non_null(strstr(why, "x2APIC"));
	assert_non_null(strstr(why, "QEMU >= 9.0"));
	assert_non_null(strstr(why, "KTSTR_QEMU"));
	free(why);
	why = NULL;
	/* fine on QEMU 10 under TCG and under KVM */
	assert_int_equal(kt_vm_machine_plan(&t, KT_ACCEL_TCG, &qemu10, KT_VENDOR_OTHER, NULL, &m,
					    &why), 0);
	assert_int_equal(m.last_apic_id, 433);
	assert_true(m.x2apic);	/* so the guest gets interrupt remapping */
	assert_int_equal(kt_vm_machine_plan(&t, KT_ACCEL_KVM, &qemu7, KT_VENDOR_AMD, NULL, &m,
					    &why), 0);
}

static void test_describe(void **state)
{
	struct kt_vm_machine m;
	char *text;

	plan("1n2l2c1t", KT_ACCEL_TCG, &qemu10, KT_VENDOR_OTHER, "EPYC-Genoa", &m);
	text = kt_vm_machine_describe(&qemu10, KT_ACCEL_TCG, &m);
	assert_string_equal(text, "QEMU 10.0.0 (/q10/qemu), TCG, -cpu EPYC-Genoa (AMD vendor), "
				  "one socket per LLC");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_vendor),
		cmocka_unit_test(test_intel_old_qemu_dies),
		cmocka_unit_test(test_intel_new_qemu_sockets),
		cmocka_unit_test(test_amd_sockets),
		cmocka_unit_test(test_apic_ids_and_x2apic),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
