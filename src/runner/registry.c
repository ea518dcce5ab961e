/*
 * The executable's test table (walked from the kt_tests linker section
 * by libktstr_main's main) and the checks a declaration must pass before
 * anything runs.
 */
#include "runner/runner.h"

#include <string.h>

static const struct kt_test_def *const *tests_begin, *const *tests_end;

void kt_runner_set_tests(const struct kt_test_def *const *begin,
			 const struct kt_test_def *const *end)
{
	tests_begin = begin;
	tests_end = end;
}

const struct kt_test_def *kt_runner_find_test(const char *name)
{
	for (const struct kt_test_def *const *p = tests_begin; p && p < tests_end; p++)
		if (*p && !strcmp((*p)->name, name))
			return *p;
	return NULL;
}
