/*
 * The executable's test table (walked from the kt_tests linker section
 * by libktstr_main's main), the checks a declaration must pass before
 * anything runs, and where a declared scheduler's binary is found.
 */
#include "runner/runner.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

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

char *kt_runner_sched_binary(const struct kt_scheduler *s)
{
	const char *override = kt_host_env()->scheduler;
	KT_AUTOFREE char *dir = NULL;
	char *p;

	if (override)
		return access(override, X_OK) == 0 ? strdup(override) : NULL;
	if (!s || !s->binary)
		return NULL;
	if (strchr(s->binary, '/'))
		return access(s->binary, X_OK) == 0 ? strdup(s->binary) : NULL;
	dir = kt_self_dir();
	p = dir ? kt_asprintf("%s/%s", dir, s->binary) : NULL;
	if (p && access(p, X_OK) == 0)
		return p;
	free(p);
	return NULL;
}

size_t kt_runner_sched_nflags(const struct kt_scheduler *s)
{
	size_t n = 0;

	while (s && n < KT_SCHED_MAX_FLAGS && s->flags[n].name)
		n++;
	return n;
}
