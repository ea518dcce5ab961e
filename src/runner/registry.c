/*
 * The executable's test table (walked from the kt_tests linker section
 * by libktstr_main's main), where a declared scheduler's binary is found,
 * and the request a declaration becomes.
 */
#include "runner/runner.h"

#include <errno.h>
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

/*
 * The ops name the guest waits for.  A binary from $KTSTR_SCHEDULER is not
 * the declared scheduler, so the declared name would only make it fail to
 * "attach as" something else: it is $KTSTR_SCHEDULER_OPS then, or any.
 */
const char *kt_runner_sched_ops(const struct kt_scheduler *s, const struct kt_host_env *env)
{
	if (!env->scheduler)
		return s->name;
	return env->scheduler_ops;
}

static int test_sched(const struct kt_scheduler *s, unsigned mask, const char *host_path,
		      struct kt_request *r)
{
	KT_AUTOFREE char *guest = kt_runner_sched_guest_path(host_path);
	size_t nf = kt_runner_sched_nflags(s);
	int e;

	if (!guest)
		return -ENOMEM;
	e = kt_request_set_sched(r, guest, NULL, 0, kt_runner_sched_ops(s, kt_host_env()));
	for (size_t i = 0; !e && i < KT_SCHED_MAX_ARGS && s->sched_args[i]; i++)
		e = kt_strlist_add(&r->sched.args, s->sched_args[i]);
	for (size_t f = 0; !e && f < nf; f++)
		for (size_t i = 0; !e && (mask & (1u << f)) && i < KT_SCHED_MAX_ARGS &&
				   s->flags[f].args[i]; i++)
			e = kt_strlist_add(&r->sched.args, s->flags[f].args[i]);
	for (size_t i = 0; !e && i < KT_ARRAY_SIZE(s->sysctls) && s->sysctls[i]; i++)
		e = kt_strlist_add(&r->sched.sysctls, s->sysctls[i]);
	r->sched.attach_timeout_ms = s->attach_timeout_ms;
	return e;
}

int kt_runner_test_request(const struct kt_test_def *d, const struct kt_scheduler *s,
			   unsigned mask, const char *sched_host_path, double duration_s,
			   struct kt_request *out)
{
	struct kt_assert a = kt_assert_default_checks();
	int e = 0;

	memset(out, 0, sizeof(*out));
	if (s)
		a = kt_assert_merge(&a, &s->assert);
	out->checks = kt_assert_merge(&a, &d->assert);
	out->mode = KT_MODE_TEST;
	out->name = strdup(d->name);
	out->duration_ms = (uint64_t)(duration_s * 1000);
	out->workers = d->workers_per_cgroup;
	out->settle_ms = d->settle_ms;
	if (!out->name)
		e = -ENOMEM;
	for (size_t f = 0; !e && s && f < kt_runner_sched_nflags(s); f++)
		if (mask & (1u << f))
			e = kt_strlist_add(&out->flags, s->flags[f].name);
	if (!e && s && sched_host_path)
		e = test_sched(s, mask, sched_host_path, out);
	if (e)
		kt_request_release(out);
	return e;
}
