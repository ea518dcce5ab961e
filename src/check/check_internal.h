/*
 * Private to the check module: the table describing every kt_assert field
 * (so merge, JSON and "is anything set" walk one list instead of repeating
 * sixteen field names) and readable number formatting for detail lines.
 * Nothing outside src/check includes this.
 */
#ifndef KTSTR_CHECK_INTERNAL_H
#define KTSTR_CHECK_INTERNAL_H

#include <ktstr/check.h>

struct kt_assert_field {
	const char *name;	/* JSON key, same as the C field */
	size_t offset;		/* of the struct kt_opt in struct kt_assert */
	bool is_bool;		/* an on/off switch rather than a threshold */
	bool worker_check;	/* applies to worker reports (not the monitor) */
};

extern const struct kt_assert_field kt_assert_fields[];
extern const size_t kt_assert_n_fields;

static inline struct kt_opt *kt_assert_field_ptr(struct kt_assert *a, const struct kt_assert_field *f)
{
	return (struct kt_opt *)((char *)a + f->offset);
}

static inline const struct kt_opt *kt_assert_field_cptr(const struct kt_assert *a,
							const struct kt_assert_field *f)
{
	return (const struct kt_opt *)((const char *)a + f->offset);
}

/*
 * A formatted number that lives until the end of the full expression it
 * is used in, so several can appear in one printf without caller buffers:
 *     kt_assert_result_fail(r, "spread %s %% (limit %s %%)", kt_fmt_num(x).s, ...);
 */
struct kt_numstr {
	char s[40];
};
/* Integers without decimals ("15", "2000"), others with up to 3
 * significant digits ("0.25", "23.4"); never exponent notation. */
struct kt_numstr kt_fmt_num(double v);
/* Nanoseconds in the largest unit that keeps the value >= 1:
 * "850 ns", "180 us", "2.4 ms", "1.25 s". */
struct kt_numstr kt_fmt_duration_ns(double ns);

#endif
