/*
 * CPU sets as dynamic bitmaps (no 1024-CPU ceiling), set algebra, and the
 * kernel's cpulist text format ("0-3,5,7-9").
 *
 * Must not know about cgroups or topology: it is the value type they share.
 */
#ifndef KTSTR_CPUSET_H
#define KTSTR_CPUSET_H

#include <ktstr/common.h>

struct kt_cpuset;

KT_API struct kt_cpuset *kt_cpuset_new(void);
KT_API struct kt_cpuset *kt_cpuset_dup(const struct kt_cpuset *s);
KT_API void kt_cpuset_free(struct kt_cpuset *s);
KT_DEFINE_FREEP(kt_cpuset)

/* Mutators return 0 or -ENOMEM. */
KT_API int kt_cpuset_set(struct kt_cpuset *s, unsigned cpu);
KT_API void kt_cpuset_clear(struct kt_cpuset *s, unsigned cpu);
KT_API void kt_cpuset_zero(struct kt_cpuset *s);
KT_API int kt_cpuset_set_range(struct kt_cpuset *s, unsigned first, unsigned last);
KT_API bool kt_cpuset_test(const struct kt_cpuset *s, unsigned cpu);
KT_API unsigned kt_cpuset_count(const struct kt_cpuset *s);
KT_API bool kt_cpuset_empty(const struct kt_cpuset *s);
/* Lowest / highest member, or -1 when empty. */
KT_API int kt_cpuset_first(const struct kt_cpuset *s);
KT_API int kt_cpuset_last(const struct kt_cpuset *s);
/* Next member strictly after cpu (pass -1 to start), or -1. */
KT_API int kt_cpuset_next(const struct kt_cpuset *s, int cpu);
#define kt_cpuset_for_each(cpu, s) \
	for (int cpu = kt_cpuset_next((s), -1); cpu >= 0; cpu = kt_cpuset_next((s), cpu))

KT_API bool kt_cpuset_equal(const struct kt_cpuset *a, const struct kt_cpuset *b);
KT_API bool kt_cpuset_subset(const struct kt_cpuset *sub, const struct kt_cpuset *super);
KT_API bool kt_cpuset_intersects(const struct kt_cpuset *a, const struct kt_cpuset *b);
/* In place: dst = dst op src.  Return 0 or -ENOMEM. */
KT_API int kt_cpuset_or(struct kt_cpuset *dst, const struct kt_cpuset *src);
KT_API int kt_cpuset_and(struct kt_cpuset *dst, const struct kt_cpuset *src);
KT_API int kt_cpuset_andnot(struct kt_cpuset *dst, const struct kt_cpuset *src);
KT_API int kt_cpuset_copy(struct kt_cpuset *dst, const struct kt_cpuset *src);

/*
 * Strict cpulist parse: "0-3,5", whitespace/newline tolerated at the ends,
 * "" is the empty set.  On error returns -EINVAL and, if bad_token is
 * non-NULL, stores a malloc'd copy of the offending token there.
 */
KT_API int kt_cpuset_parse(const char *text, struct kt_cpuset **out, char **bad_token);
/* Canonical cpulist text ("0-3,5"; "" when empty).  malloc'd, NULL on ENOMEM. */
KT_API char *kt_cpuset_format(const struct kt_cpuset *s);

/* From / to plain arrays of CPU ids (sorted ascending for _to_array). */
KT_API struct kt_cpuset *kt_cpuset_from_array(const unsigned *cpus, size_t n);
KT_API size_t kt_cpuset_to_array(const struct kt_cpuset *s, unsigned *cpus, size_t cap);

/* Linux cpu_set_t conversion for sched_setaffinity (CPUs >= CPU_SETSIZE dropped). */
KT_API int kt_cpuset_to_affinity(const struct kt_cpuset *s, void *cpu_set, size_t setsize);
KT_API struct kt_cpuset *kt_cpuset_from_affinity(const void *cpu_set, size_t setsize);

#endif
