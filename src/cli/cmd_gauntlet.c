/*
 * `ktstr gauntlet [SCENARIO|CATEGORY...] --scheduler PATH [--flag NAME=ARGS]...
 * [-- ARGS]`: catalog scenarios (all, or those named, or a whole category)
 * across topology presets, the scheduler's flag profiles (declared here
 * with --flag, since a binary does not declare them itself) and kernels.
 * The gauntlet itself lives in the runner; this file only describes the
 * scenarios and turns a variant into a request.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <ktstr/scenario.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner/gauntlet.h"
#include "util/util.h"

static const char usage[] =
	"usage: ktstr gauntlet [SCENARIO|CATEGORY...] [OPTIONS] [--scheduler PATH [-- ARGS...]]\n"
	"Run catalog scenarios (default: all; a category such as basic or cpuset selects its\n"
	"scenarios) on every topology preset, under every flag profile, on every --kernel.\n\n"
	"options:\n" KT_GAUNTLET_HELP
	"  --scheduler PATH    scheduler binary under test (default: the kernel's EEVDF)\n"
	"  --sched-name NAME   expected /sys/kernel/sched_ext/root/ops name (default: any)\n"
	"  --flag NAME=ARGS    a scheduler flag: NAME on adds ARGS (split at spaces); each\n"
	"                      subset of the flags is a profile\n"
	"  --duration S        workload duration in seconds (default 2)\n"
	"  --workers N         workers per cgroup (default 2)\n"
	"\nexit status: 0 all passed, 1 a failure (or a regression against EEVDF),\n"
	"64 bad input, 69 environment, 73 an output not written, 76 a guest of another\n"
	"protocol version, 77 every variant skipped, 130/143 interrupted.\n";

struct cli_ctx {
	const char *sched, *sched_name;
	char **sched_args;
	int n_sched_args;
	struct kt_sched_flag flags[KT_SCHED_MAX_FLAGS];
	size_t n_flags;
	double duration_s;
	unsigned workers;
};

/* NAME=ARGS -> a flag; the strings stay for the life of the command. */
static int parse_flag(struct cli_ctx *c, const char *arg)
{
	char *copy = strdup(arg), *eq, *save = NULL;
	struct kt_sched_flag *f;
	size_t k = 0;

	if (!copy)
		return -ENOMEM;
	eq = strchr(copy, '=');
	if (!eq || eq == copy || c->n_flags == KT_SCHED_MAX_FLAGS) {
		free(copy);
		return -EINVAL;
	}
	*eq = '\0';
	f = &c->flags[c->n_flags++];
	f->name = copy;
	for (char *t = strtok_r(eq + 1, " \t", &save); t && k < KT_SCHED_MAX_ARGS - 1;
	     t = strtok_r(NULL, " \t", &save))
		f->args[k++] = t;
	return 0;
}

static int make_job(void *arg, const struct kt_gauntlet_test *t, const struct kt_variant *v,
		    bool skip_missing, struct kt_job *j)
{
	struct cli_ctx *c = arg;
	const struct kt_scenario *sc = t->user;
	struct kt_assert a = kt_assert_default_checks();
	struct kt_request *r = &j->request;
	int e;

	memset(j, 0, sizeof(*j));
	for (size_t f = 0; !v->eevdf && f < c->n_flags; f++)
		if ((v->mask & (1u << f)) && kt_strlist_add(&r->flags, c->flags[f].name))
			return -ENOMEM;
	e = kt_cli_scenario_request(sc->name, c->duration_s, c->workers, &a, r);
	j->name = strdup(v->name);
	if (e || !j->name)
		return -ENOMEM;
	if (c->sched && !v->eevdf) {
		KT_AUTOFREE char *guest = kt_runner_sched_guest_path(c->sched);

		e = guest ? kt_request_set_sched(r, guest, (const char *const *)c->sched_args,
						 (size_t)c->n_sched_args, c->sched_name)
			  : -ENOMEM;
		for (size_t f = 0; !e && f < c->n_flags; f++)
			for (size_t i = 0; !e && (v->mask & (1u << f)) && c->flags[f].args[i]; i++)
				e = kt_strlist_add(&r->sched.args, c->flags[f].args[i]);
		j->sched_host_path = strdup(c->sched);
		if (e || !j->sched_host_path)
			return -ENOMEM;
	}
	j->topo = v->topo;
	j->timeout_s = 0;	/* the default for its topology, on this machine */
	return 0;
}

/* The scenarios named (or in a named category), or all; -1 on an unknown name. */
static int pick(char **names, int n, const struct kt_scenario ***out, size_t *n_out)
{
	size_t all;
	const struct kt_scenario *s = kt_all_scenarios(&all);
	const struct kt_scenario **p = calloc(all + 1, sizeof(*p));
	size_t k = 0;

	if (!p)
		return -1;
	for (size_t i = 0; i < all; i++) {
		bool want = !n;

		for (int a = 0; a < n; a++)
			want |= !strcmp(names[a], s[i].name) ||
				(s[i].category && !strcmp(names[a], s[i].category));
		if (want)
			p[k++] = &s[i];
	}
	for (int a = 0; a < n; a++) {
		bool known = false;

		for (size_t i = 0; i < all; i++)
			known |= !strcmp(names[a], s[i].name) ||
				 (s[i].category && !strcmp(names[a], s[i].category));
		if (!known) {
			kt_cli_error("gauntlet: unknown scenario or category '%s' (see `ktstr list`)",
				     names[a]);
			free(p);
			return -1;
		}
	}
	*out = p;
	*n_out = k;
	return 0;
}

int kt_cmd_gauntlet(int argc, char **argv)
{
	static const struct option longopts[] = {
		KT_GAUNTLET_LONGOPTS,
		{ "scheduler", required_argument, NULL, 's' },
		{ "sched-name", required_argument, NULL, 'N' },
		{ "flag", required_argument, NULL, 'F' },
		{ "duration", required_argument, NULL, 'd' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct kt_gauntlet_cfg cfg = { .jobs = 1 };
	struct cli_ctx ctx = { .duration_s = 2.0, .workers = 2 };
	KT_AUTOFREE const struct kt_scenario **sc = NULL;
	KT_AUTOFREE struct kt_gauntlet_test *tests = NULL;
	KT_AUTOFREE char **names = calloc((size_t)argc + 1, sizeof(char *));
	const char *sched_label = NULL;
	int opt, n_names = 0, rc = KT_EXIT_USAGE;
	size_t ns = 0;

	if (!names)
		return KT_EXIT_ENV;
	argv[0] = (char *)"ktstr gauntlet";
	optind = 1;
	/* scenario names may come anywhere before "--"; "-" keeps them in order */
	while ((opt = getopt_long(argc, argv, "-hvj:", longopts, NULL)) != -1) {
		char *end;
		int used;

		if (opt == 1) {
			names[n_names++] = optarg;
			continue;
		}
		used = kt_gauntlet_opt(&cfg, opt, optarg);
		if (used < 0)
			goto out;
		if (used)
			continue;
		switch (opt) {
		case 's': ctx.sched = optarg; break;
		case 'N': ctx.sched_name = optarg; break;
		case 'F':
			if (parse_flag(&ctx, optarg)) {
				kt_cli_error("bad --flag '%s': NAME=ARGS (at most %d flags)", optarg,
					     KT_SCHED_MAX_FLAGS);
				goto out;
			}
			break;
		case 'd':
			ctx.duration_s = strtod(optarg, &end);
			if (*end || ctx.duration_s <= 0 || ctx.duration_s > 3600) {
				kt_cli_error("bad --duration '%s': seconds, > 0", optarg);
				goto out;
			}
			break;
		case 'w':
			ctx.workers = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !ctx.workers || ctx.workers > 256) {
				kt_cli_error("bad --workers '%s': 1..256", optarg);
				goto out;
			}
			break;
		case 'h': fputs(usage, stdout); rc = 0; goto out;
		default: fputs("(see `ktstr gauntlet --help`)\n", stderr); goto out;
		}
	}
	ctx.sched_args = argv + optind;
	ctx.n_sched_args = argc - optind;
	if (ctx.n_sched_args && !ctx.sched) {
		kt_cli_error("gauntlet: scheduler arguments after -- need --scheduler");
		goto out;
	}
	if (ctx.n_flags && !ctx.sched) {
		kt_cli_error("gauntlet: --flag needs --scheduler (EEVDF has no flags)");
		goto out;
	}
	if (ctx.sched && access(ctx.sched, X_OK) < 0) {
		kt_cli_error("scheduler %s: %s", ctx.sched, strerror(errno));
		goto out;
	}
	if (pick(names, n_names, &sc, &ns))
		goto out;
	tests = calloc(ns + 1, sizeof(*tests));
	if (!tests) {
		rc = KT_EXIT_ENV;
		goto out;
	}
	if (ctx.sched)
		sched_label = strrchr(ctx.sched, '/') ? strrchr(ctx.sched, '/') + 1 : ctx.sched;
	for (size_t i = 0; i < ns; i++) {
		struct kt_gauntlet_test *t = &tests[i];

		t->name = sc[i]->name;
		for (size_t k = 0; sc[i]->required_flags && sc[i]->required_flags[k] &&
				   k < KT_SCHED_MAX_FLAGS; k++)
			t->required_flags[k] = sc[i]->required_flags[k];
		for (size_t k = 0; sc[i]->excluded_flags && sc[i]->excluded_flags[k] &&
				   k < KT_SCHED_MAX_FLAGS; k++)
			t->excluded_flags[k] = sc[i]->excluded_flags[k];
		t->flags = ctx.flags;
		t->n_flags = ctx.n_flags;
		t->scheduler = sched_label;
		t->duration_s = ctx.duration_s;
		t->eevdf_twin = ctx.sched != NULL;
		t->user = sc[i];
	}
	rc = kt_gauntlet_run(&cfg, tests, ns, make_job, &ctx);
out:
	for (size_t f = 0; f < ctx.n_flags; f++)
		free((void *)ctx.flags[f].name);
	kt_gauntlet_cfg_release(&cfg);
	return rc;
}
