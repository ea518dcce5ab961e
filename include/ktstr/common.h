/*
 * Shared vocabulary of every libktstr module: scope-bound cleanup, the
 * result convention and small helpers that public headers need.
 *
 * Library functions return 0 or a negative errno and never print; callers
 * (the CLI, the test runner) report once, with context.
 */
#ifndef KTSTR_COMMON_H
#define KTSTR_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Marks what libktstr exports.  The library is built with
 * -fvisibility=hidden, so a function or variable a public header declares
 * without KT_API is internal (and missing from libktstr.so).
 */
#define KT_API __attribute__((visibility("default")))

/*
 * Scope-bound cleanup.  KT_AUTO(type) declares a `struct type *` that is
 * released with type##_free() when the variable leaves scope, on every
 * return path.  Destructors accept NULL.  kt_take_ptr() moves ownership
 * out of such a variable (the variable becomes NULL).
 *
 *     KT_AUTO(kt_cgroup_group) guard = NULL;   // keep it named!
 * One variable per KT_AUTO declaration: the pointer binds to the first name only.
 */
#define KT_AUTO(type) __attribute__((cleanup(type##_freep))) struct type *
#define KT_DEFINE_FREEP(type)                                      \
	static inline void type##_freep(struct type **p)           \
	{                                                          \
		if (*p)                                            \
			type##_free(*p);                           \
		*p = NULL;                                         \
	}

static inline void kt_freep(void *p)
{
	free(*(void **)p);
}
#define KT_AUTOFREE __attribute__((cleanup(kt_freep)))

#define kt_take_ptr(p)                         \
	({                                     \
		__typeof__(p) _kt_tmp = (p);   \
		(p) = NULL;                    \
		_kt_tmp;                       \
	})

#define KT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Two-level concat so __COUNTER__ expands before pasting. */
#define KT_CONCAT_(a, b) a##b
#define KT_CONCAT(a, b) KT_CONCAT_(a, b)
#define KT_UNIQUE(prefix) KT_CONCAT(prefix, __COUNTER__)

/* Monotonic clock in nanoseconds. */
KT_API uint64_t kt_now_ns(void);

#endif
