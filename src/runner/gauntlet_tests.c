/*
 * `./my_tests --gauntlet [FILTER...]`: the test binary's front end of the
 * gauntlet.  Turns the KTSTR_TEST declarations into gauntlet tests (their
 * topology constraints and their scheduler's flags) and each variant into
 * a job with the test's request, the preset's topology and the profile's
 * scheduler arguments.  Tests that run on the host are left out: the
 * gauntlet is about topologies, which only a VM can vary.
 */
#include "runner/gauntlet.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

bool kt_gauntlet_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--gauntlet"))
			return true;
	return false;
}

static const char usage_text[] =
	"usage: %s --gauntlet [OPTIONS] [FILTER...]\n"
	"Run every test (or those whose name contains a FILTER) on every topology preset\n"
	"that suits it, under every flag profile of its scheduler, on every --kernel.\n\n"
	KT_GAUNTLET_HELP
	"  --duration S        override every test's duration (seconds)\n";

struct tests_ctx {
	const struct kt_test_def **defs;
	double duration_s;
};

static const char *base_name(const char *p)
{
	return strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
}

static int make_job(void *arg, const struct kt_gauntlet_test *t, const struct kt_variant *v,
		    bool skip_missing, struct kt_job *j)
{
	struct tests_ctx *c = arg;
	const struct kt_test_def *d = t->user;
	const struct kt_scheduler *s = v->eevdf ? NULL : d->scheduler;
	double dur = c->duration_s > 0 ? c->duration_s : d->duration_s > 0 ? d->duration_s : 2.0;
	KT_AUTOFREE char *path = s ? kt_runner_sched_binary(s) : NULL;

	memset(j, 0, sizeof(*j));
	if (s && !path && !skip_missing) {
		fprintf(stderr, "ktstr: test %s: scheduler binary '%s' not found (next to the "
				"test binary, by path, or $KTSTR_SCHEDULER)\n", d->name,
			s->binary ? s->binary : "(none)");
		return -ENOENT;
	}
	j->name = strdup(v->name);
	j->topo = v->topo;
	if (!j->name || kt_runner_test_request(d, s, v->mask, path, dur, &j->request))
		return -ENOMEM;
	if (s && !path) {
		j->skip_reason = kt_asprintf("scheduler binary '%s' not found (next to the test "
					     "binary, by path, or $KTSTR_SCHEDULER)",
					     s->binary ? s->binary : "(none)");
		if (!j->skip_reason)
			return -ENOMEM;
	}
	if (s) {
		j->sched_host_path = kt_take_ptr(path);
		j->kargs = s->kargs;
	}
	j->memory_mb = d->memory_mb;
	j->timeout_s = d->timeout_s;	/* 0: the default for its topology */
	j->expect_err = d->expect_err || d->expect_detail;
	j->expect_detail = d->expect_detail;
	return 0;
}

static bool matches(char **filters, int n, const char *name)
{
	if (!n)
		return true;
	for (int i = 0; i < n; i++)
		if (strstr(name, filters[i]))
			return true;
	return false;
}

/* A constraint range no preset can meet is a mistake in the declaration:
 * refuse it by name rather than silently expanding the test to nothing. */
static char *bad_range(const struct kt_test_def *d)
{
#define RANGE(lo, hi)                                                                      \
	if (d->lo && d->hi && d->lo > d->hi)                                               \
		return kt_asprintf("test %s (%s:%d): " #lo " (%u) > " #hi " (%u)", d->name, \
				   d->file, d->line, d->lo, d->hi);
	RANGE(min_llcs, max_llcs)
	RANGE(min_cpus, max_cpus)
	RANGE(min_numa_nodes, max_numa_nodes)
#undef RANGE
	return NULL;
}

static int def_cmp(const void *a, const void *b)
{
	const struct kt_test_def *x = *(const struct kt_test_def *const *)a;
	const struct kt_test_def *y = *(const struct kt_test_def *const *)b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

void kt_gauntlet_from_def(const struct kt_test_def *d, struct kt_gauntlet_test *t)
{
	const struct kt_scheduler *s = d->scheduler;

	memset(t, 0, sizeof(*t));
	t->name = d->name;
	t->min_llcs = d->min_llcs;
	t->max_llcs = d->max_llcs;
	t->min_cpus = d->min_cpus;
	t->max_cpus = d->max_cpus;
	t->min_numa_nodes = d->min_numa_nodes;
	t->max_numa_nodes = d->max_numa_nodes;
	t->requires_smt = d->requires_smt;
	for (size_t i = 0; i < KT_SCHED_MAX_FLAGS && d->required_flags[i]; i++)
		t->required_flags[i] = d->required_flags[i];
	for (size_t i = 0; i < KT_SCHED_MAX_FLAGS && d->excluded_flags[i]; i++)
		t->excluded_flags[i] = d->excluded_flags[i];
	t->flags = s ? s->flags : NULL;
	t->n_flags = kt_runner_sched_nflags(s);
	t->scheduler = s ? (s->binary ? base_name(s->binary) : s->name) : NULL;
	t->duration_s = d->duration_s;
	/* a negative test has no EEVDF counterpart worth comparing with */
	t->eevdf_twin = s && !d->expect_err && !d->expect_detail;
	t->user = d;
}

int kt_gauntlet_test_main(int argc, char **argv, const struct kt_test_def *const *begin,
			  const struct kt_test_def *const *end)
{
	static const struct option longopts[] = {
		KT_GAUNTLET_LONGOPTS,
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct kt_gauntlet_cfg cfg = { .jobs = 1 };
	struct tests_ctx ctx = { 0 };
	KT_AUTOFREE struct kt_gauntlet_test *tests = NULL;
	size_t nd = 0, nt = 0;
	int opt, rc;

	optind = 1;
	if (kt_host_env()->skip_missing)
		cfg.skip_missing = true;
	while ((opt = getopt_long(argc, argv, "hvj:", longopts, NULL)) != -1) {
		int used = kt_gauntlet_opt(&cfg, opt, optarg);
		char *e;

		if (used < 0) {
			kt_gauntlet_cfg_release(&cfg);
			return 64;
		}
		if (used)
			continue;
		switch (opt) {
		case 'd':
			ctx.duration_s = strtod(optarg, &e);
			if (*e || ctx.duration_s <= 0 || ctx.duration_s > 3600) {
				fprintf(stderr, "ktstr: bad --duration '%s': seconds, > 0\n", optarg);
				kt_gauntlet_cfg_release(&cfg);
				return 64;
			}
			break;
		case 'h':
			printf(usage_text, argv[0]);
			kt_gauntlet_cfg_release(&cfg);
			return 0;
		default:
			fprintf(stderr, usage_text, argv[0]);
			kt_gauntlet_cfg_release(&cfg);
			return 64;
		}
	}
	for (const struct kt_test_def *const *p = begin; p < end; p++)
		nd += *p != NULL;
	ctx.defs = calloc(nd + 1, sizeof(*ctx.defs));
	tests = calloc(nd + 1, sizeof(*tests));
	if (!ctx.defs || !tests) {
		free(ctx.defs);
		kt_gauntlet_cfg_release(&cfg);
		return 69;
	}
	nd = 0;
	for (const struct kt_test_def *const *p = begin; p < end; p++)
		if (*p)
			ctx.defs[nd++] = *p;
	qsort(ctx.defs, nd, sizeof(*ctx.defs), def_cmp);
	for (size_t i = 0; i < nd; i++) {
		KT_AUTOFREE char *why = bad_range(ctx.defs[i]);

		if (why) {
			fprintf(stderr, "ktstr: %s\n", why);
			free(ctx.defs);
			kt_gauntlet_cfg_release(&cfg);
			return 64;
		}
		if (ctx.defs[i]->host_only || !ctx.defs[i]->fn ||
		    !matches(argv + optind, argc - optind, ctx.defs[i]->name))
			continue;
		kt_gauntlet_from_def(ctx.defs[i], &tests[nt++]);
	}
	if (!nt) {
		fprintf(stderr, "ktstr: no test matches\n");
		rc = 64;
	} else {
		rc = kt_gauntlet_run(&cfg, tests, nt, make_job, &ctx);
	}
	free(ctx.defs);
	kt_gauntlet_cfg_release(&cfg);
	return rc;
}
