/*
 * The layered Assert record: defaults, layering of overrides, and the field
 * table shared by merge and JSON.  Pure data manipulation: must not look at
 * reports or print.
 */
#include "check/check_internal.h"

#include <stddef.h>

#define FIELD(n, b, w) { #n, offsetof(struct kt_assert, n), b, w }

const struct kt_assert_field kt_assert_fields[] = {
	FIELD(not_starved, true, true),
	FIELD(isolation, true, true),
	FIELD(max_gap_ms, false, true),
	FIELD(max_spread_pct, false, true),
	FIELD(max_throughput_cv, false, true),
	FIELD(min_work_rate, false, true),
	FIELD(max_p99_wake_latency_ns, false, true),
	FIELD(max_wake_latency_cv, false, true),
	FIELD(min_iteration_rate, false, true),
	FIELD(max_migration_ratio, false, true),
	FIELD(min_cpu_share_pct, false, true),
	FIELD(work_conservation, true, false),
	FIELD(max_imbalance_ratio, false, false),
	FIELD(llc_locality, true, false),
	FIELD(max_local_dsq_depth, false, false),
	FIELD(fail_on_stall, true, false),
	FIELD(sustained_samples, false, false),
	FIELD(max_fallback_rate, false, false),
	FIELD(max_keep_last_rate, false, false),
};
const size_t kt_assert_n_fields = KT_ARRAY_SIZE(kt_assert_fields);

/* A new field in struct kt_assert must get a row above. */
_Static_assert(sizeof(struct kt_assert) == KT_ARRAY_SIZE(kt_assert_fields) * sizeof(struct kt_opt),
	       "kt_assert_fields[] is missing a struct kt_assert field");

struct kt_assert kt_assert_default_checks(void)
{
	return (struct kt_assert){
		.not_starved = KT_SET(1),
		.isolation = KT_SET(1),
		/*
		 * 2000 ms: far above a normal timeslice and the CFS/EEVDF
		 * latency targets (a few ms to tens of ms), with room for the
		 * slow clock of TCG emulation, so a healthy scheduler never
		 * trips it; yet far below the kernel's sched_ext watchdog
		 * default of 30 s, so a real stall is reported long before the
		 * kernel ejects the scheduler and hides the evidence.
		 */
		.max_gap_ms = KT_SET(2000),
		/*
		 * 15 %: equal CPU-bound workers in one cgroup should get equal
		 * CPU within normal noise.  The slack absorbs tick granularity
		 * and startup skew on short runs; a scheduler that
		 * systematically favours some tasks lands well beyond it.
		 */
		.max_spread_pct = KT_SET(15),
		/*
		 * Placement: judged only among the CPUs each worker may use,
		 * so tasks pinned unevenly on purpose are not the scheduler's
		 * fault, while a scheduler that stacks tasks beside idle CPUs
		 * they are allowed on is.
		 */
		.work_conservation = KT_SET(1),
		.max_imbalance_ratio = KT_SET(4),
		/* Monitor thresholds, applied to the periodic samples. */
		.max_local_dsq_depth = KT_SET(50),
		.fail_on_stall = KT_SET(1),
		.sustained_samples = KT_SET(5),
	};
}

struct kt_assert kt_assert_merge(const struct kt_assert *base, const struct kt_assert *over)
{
	struct kt_assert out = *base;

	for (size_t i = 0; i < kt_assert_n_fields; i++) {
		const struct kt_opt *o = kt_assert_field_cptr(over, &kt_assert_fields[i]);

		if (o->set)
			*kt_assert_field_ptr(&out, &kt_assert_fields[i]) = *o;
	}
	return out;
}

bool kt_assert_has_worker_checks(const struct kt_assert *a)
{
	for (size_t i = 0; i < kt_assert_n_fields; i++) {
		const struct kt_assert_field *f = &kt_assert_fields[i];
		const struct kt_opt *o = kt_assert_field_cptr(a, f);

		if (!f->worker_check || f->offset == offsetof(struct kt_assert, not_starved))
			continue;
		/* An explicitly disabled switch is not a check. */
		if (o->set && (!f->is_bool || o->v != 0))
			return true;
	}
	return false;
}
