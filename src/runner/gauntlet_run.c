/*
 * Running a gauntlet: the options both front ends share, kernels resolved
 * once each, variants expanded, then sharded or budgeted, listed or run
 * through the job pool; every result kept in the runs directory under
 * <run>/<kernel>/<scheduler>/<preset>/<profile>/<test>.r<N>.json, where
 * <run> is the start time and the commit this binary was built from; then
 * TAP, JUnit, JSON, the HTML report and the comparison with EEVDF.
 */
#include "runner/gauntlet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/report.h"
#include "runner/compare.h"
#include "util/util.h"

#define EXIT_USAGE 64
#define EXIT_ENV 69

#ifndef KT_GIT_COMMIT
#define KT_GIT_COMMIT "unknown"
#endif

const char *kt_build_commit(void)
{
	return KT_GIT_COMMIT;
}

static int bad(const char *what, const char *arg, const char *want)
{
	fprintf(stderr, "ktstr: bad %s '%s': %s\n", what, arg, want);
	return -1;
}

static int split_list(const char *arg, const char ***out, size_t *n)
{
	char *copy = strdup(arg), *save = NULL;
	size_t k = 0;

	if (!copy)
		return -ENOMEM;
	/* the strings point into copy, which lives as long as the program */
	*out = calloc(strlen(arg) + 2, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		(*out)[k++] = t;
	*n = k;
	return 0;
}

int kt_gauntlet_opt(struct kt_gauntlet_cfg *c, int opt, const char *arg)
{
	char *end = NULL;
	unsigned long v;

	switch (opt) {
	case 0x200: return 1;
	case 0x201:
		free((void *)c->axes.presets);
		if (split_list(arg, (const char ***)&c->axes.presets, &c->axes.n_presets) ||
		    !c->axes.n_presets)
			return bad("--presets", arg, "comma-separated preset names");
		return 1;
	case 0x202:
		v = strtoul(arg, &end, 10);
		if (*end || !v || v > KT_TOPO_MAX_CPUS)
			return bad("--max-cpus", arg, "1..512");
		c->axes.max_cpus = (unsigned)v;
		return 1;
	case 0x203:
		if (kt_grow(c->kernel_args, c->n_kernel_args, c->kernel_args_cap, 4))
			return -1;
		c->kernel_args[c->n_kernel_args++] = arg;
		return 1;
	case 0x204:
		v = strtoul(arg, &end, 10);
		if (*end || !v || v > 100)
			return bad("--repeat", arg, "1..100");
		c->repeat = (unsigned)v;
		return 1;
	case 0x205: {
		unsigned k, n;

		if (kt_shard_parse(arg, &k, &n))
			return bad("--shard", arg, "K/N with 1 <= K <= N");
		c->shard = arg;
		return 1;
	}
	case 0x206: c->runs_dir = arg; return 1;
	case 0x207: c->report_dir = arg; return 1;
	case 0x208:
		c->budget_s = strtod(arg, &end);
		if (*end || c->budget_s <= 0)
			return bad("--budget", arg, "seconds, > 0");
		return 1;
	case 0x209: c->axes.vs_eevdf = true; return 1;
	case 0x20a: c->list = true; return 1;
	case 'j':
		v = strtoul(arg, &end, 10);
		if (*end || !v || v > 64)
			return bad("--jobs", arg, "1..64");
		c->jobs = (unsigned)v;
		return 1;
	case 0x20b: c->accel = arg; return 1;
	case 0x20c: c->junit = arg; return 1;
	case 0x20d: c->json_dir = arg; return 1;
	case 0x20e: c->tap = true; return 1;
	case 0x20f:
		v = strtoul(arg, &end, 10);
		if (*end || !v)
			return bad("--timeout", arg, "seconds, > 0");
		c->timeout_s = (unsigned)v;
		return 1;
	case 0x210: c->fail_fast = true; return 1;
	case 0x211: c->no_runs = true; return 1;
	case 0x212: c->skip_missing = true; return 1;
	case 'v': c->verbose = true; return 1;
	}
	return 0;
}

void kt_gauntlet_cfg_release(struct kt_gauntlet_cfg *c)
{
	free((void *)c->axes.presets);
	for (size_t i = 0; c->axes.kernels && i < c->axes.n_kernels; i++)
		free((void *)c->axes.kernels[i]);
	free((void *)c->axes.kernels);
	free(c->kernel_args);
	memset(c, 0, sizeof(*c));
}

/* A path component from a label: no '/', nothing empty. */
static char *component(const char *s)
{
	char *c = strdup(s && *s ? s : "unknown");

	for (char *p = c; p && *p; p++)
		if (*p == '/' || *p == ' ')
			*p = '_';
	return c;
}

/* Everything one run needs, shared with the pool's completion callback. */
struct run {
	struct kt_gauntlet_cfg *c;
	const struct kt_gauntlet_test *tests;
	struct kt_variant *v;		/* the selected variants */
	size_t nv;
	struct kt_job *jobs;		/* nv x repeat */
	size_t *var_of, *env_of;
	unsigned *rep_of;
	struct kt_outcome *outs;
	size_t nj;
	const char **labels;		/* kernel labels */
	char *run_dir;			/* NULL: not kept */
};

static void annotate(struct run *r, size_t i)
{
	const struct kt_variant *v = &r->v[r->var_of[i]];
	const struct kt_gauntlet_test *t = &r->tests[v->test];
	json_t *doc = r->outs[i].doc;

	if (!doc)
		return;
	json_object_set_new(doc, "variant",
			    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:b,s:f}", "name", v->name, "test",
				      t->name, "preset", v->preset, "profile", v->profile, "kernel",
				      r->labels[v->kernel], "scheduler",
				      v->eevdf ? "EEVDF" : t->scheduler ? t->scheduler : "EEVDF",
				      "repeat", (int)r->rep_of[i], "eevdf_twin", v->eevdf, "estimate_s",
				      v->est_s));
	json_object_set_new(doc, "commit", json_string(kt_build_commit()));
}

static int keep_result(struct run *r, size_t i)
{
	const struct kt_variant *v = &r->v[r->var_of[i]];
	const struct kt_gauntlet_test *t = &r->tests[v->test];
	KT_AUTOFREE char *k = component(r->labels[v->kernel]);
	KT_AUTOFREE char *s = component(v->eevdf ? "EEVDF" : t->scheduler ? t->scheduler : "EEVDF");
	KT_AUTOFREE char *tn = component(t->name);
	KT_AUTOFREE char *dir = kt_asprintf("%s/%s/%s/%s/%s", r->run_dir, k, s, v->preset, v->profile);
	KT_AUTOFREE char *path = NULL;
	int e;

	if (!dir)
		return -ENOMEM;
	e = kt_mkdir_p(dir, 0755);
	if (e)
		return e;
	path = kt_asprintf("%s/%s.r%u.json", dir, tn, r->rep_of[i]);
	return path ? kt_runner_write_json_file(path, &r->outs[i]) : -ENOMEM;
}

static void on_done(void *ctx, size_t i)
{
	struct run *r = ctx;

	annotate(r, i);
	if (!r->c->tap)
		kt_runner_print(stdout, &r->jobs[i], &r->outs[i], r->c->verbose);
	fflush(stdout);
	if (r->run_dir && keep_result(r, i))
		fprintf(stderr, "ktstr: cannot keep the result of %s in %s\n", r->jobs[i].name,
			r->run_dir);
}

static int write_manifest(const struct run *r, const char *stamp)
{
	json_t *m = json_object(), *vars = json_array(), *ks = json_array();
	KT_AUTOFREE char *path = kt_asprintf("%s/run.json", r->run_dir);
	int e;

	for (size_t i = 0; i < r->nv; i++)
		json_array_append_new(vars, json_string(r->v[i].name));
	for (size_t i = 0; r->labels[i]; i++)
		json_array_append_new(ks, json_string(r->labels[i]));
	json_object_set_new(m, "schema", json_string("ktstr-run/1"));
	json_object_set_new(m, "commit", json_string(kt_build_commit()));
	json_object_set_new(m, "started", json_string(stamp));
	json_object_set_new(m, "kernels", ks);
	json_object_set_new(m, "repeat", json_integer(r->c->repeat));
	json_object_set_new(m, "shard", r->c->shard ? json_string(r->c->shard) : json_null());
	json_object_set_new(m, "variants", vars);
	e = path && !json_dump_file(m, path, JSON_INDENT(2)) ? 0 : -EIO;
	json_decref(m);
	return e;
}

/*
 * Resolve every --kernel (or the default one) into *envs; their labels
 * (versions) become the axes' kernel names, owned by the configuration
 * from the start so every exit path releases them with it.
 */
static int resolve_kernels(struct kt_gauntlet_cfg *c, bool need_boot, struct kt_run_env **envs,
			   const char ***labels)
{
	size_t nk = c->n_kernel_args ? c->n_kernel_args : 1;
	enum kt_accel want = KT_ACCEL_AUTO;

	*envs = calloc(nk, sizeof(**envs));
	*labels = calloc(nk + 1, sizeof(**labels));
	c->axes.kernels = *labels;
	c->axes.n_kernels = *labels ? nk : 0;
	if (!*envs || !*labels)
		return EXIT_ENV;
	if (c->accel && kt_accel_parse(c->accel, &want)) {
		fprintf(stderr, "ktstr: bad --accel '%s': auto, kvm or tcg\n", c->accel);
		return EXIT_USAGE;
	}
	for (size_t k = 0; k < nk; k++) {
		const char *arg = c->n_kernel_args ? c->kernel_args[k] : NULL;
		struct kt_run_env *env = &(*envs)[k];
		char *err = NULL;

		env->cancel_fd = -1;
		env->stream_fd = -1;
		if (kt_kernel_resolve(&kt_host_env()->vm, arg, &env->kernel, &err)) {
			if (need_boot) {
				fprintf(stderr, "ktstr: %s\n", err);
				free(err);
				return arg ? EXIT_USAGE : EXIT_ENV;
			}
			free(err);
			(*labels)[k] = component(arg ? (strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg)
						 : "default");
			continue;
		}
		(*labels)[k] = component(env->kernel.version ? env->kernel.version
					 : strrchr(env->kernel.image, '/') ? strrchr(env->kernel.image, '/') + 1
					 : env->kernel.image);
		if (need_boot && kt_accel_resolve(&kt_host_env()->vm, want, env->kernel.image,
						  &env->accel, &err)) {
			fprintf(stderr, "ktstr: %s\n", err);
			free(err);
			return EXIT_ENV;
		}
	}
	/* two --kernel arguments naming the same version still need two names */
	for (size_t k = 1; k < nk; k++)
		for (size_t j = 0; j < k; j++)
			if (!strcmp((*labels)[k], (*labels)[j])) {
				char *l = kt_asprintf("%s~%zu", (*labels)[k], k + 1);

				free((void *)(*labels)[k]);
				(*labels)[k] = l;
			}
	return 0;
}

/* keep[i] = variant i is in shard --shard K/N. */
static int select_shard(const char *shard, const struct kt_gauntlet_test *tests,
			struct kt_variant *v, size_t n, bool *keep)
{
	unsigned sk, sn;
	KT_AUTOFREE unsigned *shard_of = calloc(n + 1, sizeof(*shard_of));
	struct kt_estimate model;

	if (!shard_of)
		return -ENOMEM;
	/* the default model, not this machine's: every shard must agree */
	kt_estimate_default(&model);
	for (size_t i = 0; i < n; i++)
		v[i].est_s = kt_estimate_run(&model, kt_topo_spec_cpus(&v[i].topo),
					     tests[v[i].test].duration_s);
	kt_shard_parse(shard, &sk, &sn);
	kt_shard_assign(v, n, sn, shard_of);
	for (size_t i = 0; i < n; i++)
		keep[i] = shard_of[i] == sk;
	return 0;
}

/* Among the kept variants, keep only what --budget picks; prints the choice. */
static int select_budget(const struct kt_gauntlet_cfg *c, const struct kt_gauntlet_test *tests,
			 const struct kt_variant *v, size_t n, bool *keep, bool learned)
{
	KT_AUTOFREE struct kt_variant *sub = calloc(n + 1, sizeof(*sub));
	KT_AUTOFREE size_t *idx = calloc(n + 1, sizeof(*idx));
	KT_AUTOFREE bool *pick = calloc(n + 1, sizeof(*pick));
	char **missed = NULL;
	size_t m = 0, nb = 0, left, chosen = 0;
	double full_s = 0, chosen_s = 0;

	if (!sub || !idx || !pick)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (keep[i]) {
			idx[m] = i;
			sub[m++] = v[i];
			full_s += v[i].est_s;
		}
	left = kt_budget_select(sub, m, tests, c->axes.kernels, c->budget_s, pick, &nb, &missed);
	memset(keep, 0, n * sizeof(*keep));
	for (size_t i = 0; i < m; i++)
		if (pick[i]) {
			keep[idx[i]] = true;
			chosen_s += sub[i].est_s;
			chosen++;
		}
	fprintf(stderr, "budget %.0fs: %zu of %zu variants, ~%.0fs of ~%.0fs estimated "
			"(estimates from %s), %zu of %zu configuration buckets covered\n",
		c->budget_s, chosen, m, chosen_s, full_s,
		learned ? "this machine's past runs" : "the default model", nb - left, nb);
	for (size_t i = 0; missed && missed[i]; i++) {
		fprintf(stderr, "  not covered: %s\n", missed[i]);
		free(missed[i]);
	}
	free(missed);
	return 0;
}

/* Narrow the variants to this shard, then to the budget; estimates set. */
static int select_variants(struct kt_gauntlet_cfg *c, const struct kt_gauntlet_test *tests,
			   struct kt_variant *v, size_t *n, const struct kt_estimate *learned)
{
	KT_AUTOFREE bool *keep = calloc(*n + 1, sizeof(*keep));
	size_t k = 0, total = *n;

	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++)
		keep[i] = true;
	if (c->shard && select_shard(c->shard, tests, v, *n, keep))
		return -ENOMEM;
	/* from here on, what this machine's history says a variant costs */
	for (size_t i = 0; i < *n; i++)
		v[i].est_s = kt_estimate_test_run(learned, tests[v[i].test].name,
						  kt_topo_spec_cpus(&v[i].topo), tests[v[i].test].duration_s) *
			     (c->repeat ? c->repeat : 1);
	if (c->budget_s > 0 && select_budget(c, tests, v, *n, keep, learned->samples > 0))
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++) {
		if (keep[i]) {
			v[k++] = v[i];
		} else {
			free(v[i].name);
			free(v[i].profile);
		}
	}
	*n = k;
	if (c->shard)
		fprintf(stderr, "shard %s: %zu of %zu variants\n", c->shard, k, total);
	return 0;
}

static void list_variants(const struct run *r)
{
	for (size_t i = 0; i < r->nv; i++) {
		char spec[32];

		kt_topo_spec_format(&r->v[i].topo, spec, sizeof(spec));
		printf("%s\t%s\t~%.0fs\n", r->v[i].name, spec, r->v[i].est_s);
	}
}

static int build_jobs(struct run *r, kt_gauntlet_job_fn make_job, void *ctx)
{
	unsigned rep = r->c->repeat ? r->c->repeat : 1;

	r->nj = r->nv * rep;
	r->jobs = calloc(r->nj + 1, sizeof(*r->jobs));
	r->outs = calloc(r->nj + 1, sizeof(*r->outs));
	r->var_of = calloc(r->nj + 1, sizeof(*r->var_of));
	r->env_of = calloc(r->nj + 1, sizeof(*r->env_of));
	r->rep_of = calloc(r->nj + 1, sizeof(*r->rep_of));
	if (!r->jobs || !r->outs || !r->var_of || !r->env_of || !r->rep_of)
		return -ENOMEM;
	for (size_t i = 0; i < r->nv; i++)
		for (unsigned k = 0; k < rep; k++) {
			size_t j = i * rep + k;
			int e = make_job(ctx, &r->tests[r->v[i].test], &r->v[i], r->c->skip_missing,
					 &r->jobs[j]);

			if (e)
				return e;
			free(r->jobs[j].name);
			r->jobs[j].name = rep > 1 ? kt_asprintf("%s#%u", r->v[i].name, k + 1)
						  : strdup(r->v[i].name);
			if (r->c->timeout_s)
				r->jobs[j].timeout_s = r->c->timeout_s;
			r->var_of[j] = i;
			r->env_of[j] = r->v[i].kernel;
			r->rep_of[j] = k + 1;
		}
	return 0;
}

static void run_release(struct run *r)
{
	for (size_t i = 0; r->jobs && i < r->nj; i++) {
		kt_job_release(&r->jobs[i]);
		kt_outcome_release(&r->outs[i]);
	}
	free(r->jobs);
	free(r->outs);
	free(r->var_of);
	free(r->env_of);
	free(r->rep_of);
	free(r->run_dir);
	kt_variants_free(r->v, r->nv);
}

static char *make_run_dir(struct kt_gauntlet_cfg *c, char *stamp, size_t n)
{
	time_t now = time(NULL);
	const char *root = c->runs_dir ? c->runs_dir : "ktstr-runs";
	KT_AUTOFREE char *commit = component(kt_build_commit());
	KT_AUTOFREE char *latest = NULL;
	KT_AUTOFREE char *shard = NULL;
	char *dir = NULL;

	strftime(stamp, n, "%Y%m%dT%H%M%SZ", gmtime(&now));
	if (c->shard) {
		shard = kt_asprintf("-shard%s", c->shard);
		for (char *p = shard; p && *p; p++)
			if (*p == '/')
				*p = '-';
	}
	if (kt_mkdir_p(root, 0755))
		return NULL;
	/* runs starting in the same second get -2, -3, ... */
	for (int i = 1; i < 100; i++) {
		dir = i == 1 ? kt_asprintf("%s/%s-%s%s", root, stamp, commit, shard ? shard : "")
			     : kt_asprintf("%s/%s-%s%s-%d", root, stamp, commit, shard ? shard : "", i);
		if (!dir || mkdir(dir, 0755) == 0)
			break;
		free(dir);
		dir = NULL;
		if (errno != EEXIST)
			return NULL;
	}
	if (!dir)
		return NULL;
	/* `latest` names the newest run, for `ktstr compare ktstr-runs/latest ...`;
	 * a convenience only, so failing to make it is not an error */
	latest = kt_asprintf("%s/latest", root);
	if (latest) {
		unlink(latest);
		if (symlink(strrchr(dir, '/') + 1, latest) < 0) {
			/* nothing depends on it */
		}
	}
	return dir;
}

int kt_gauntlet_run(struct kt_gauntlet_cfg *c, const struct kt_gauntlet_test *tests,
		    size_t n_tests, kt_gauntlet_job_fn make_job, void *ctx)
{
	struct run r = { .c = c, .tests = tests };
	struct kt_run_env *envs = NULL;
	const char **labels = NULL;
	struct kt_estimate learned = { 0 };
	size_t filtered = 0, counts[4] = { 0 }, nk;
	char *err = NULL, stamp[32] = "";
	int rc;
	bool lost = false;
	struct kt_pool pool = { 0 };
	KT_AUTOFREE double *est = NULL;
	KT_AUTOFREE bool *done = NULL;

	rc = resolve_kernels(c, !c->list, &envs, &labels);
	nk = c->axes.n_kernels;
	if (rc)
		goto out;
	if (kt_gauntlet_expand(tests, n_tests, &c->axes, &r.v, &r.nv, &filtered, &err)) {
		fprintf(stderr, "ktstr: %s\n", err ? err : "out of memory");
		free(err);
		rc = EXIT_USAGE;
		goto out;
	}
	if (kt_estimate_learn(&learned, c->runs_dir ? c->runs_dir : "ktstr-runs"))
		kt_estimate_default(&learned);
	if (select_variants(c, tests, r.v, &r.nv, &learned)) {
		rc = EXIT_ENV;
		goto out;
	}
	if (c->list) {
		list_variants(&r);
		fprintf(stderr, "%zu variants (%zu left out by test constraints)\n", r.nv, filtered);
		rc = 0;
		goto out;
	}
	if (!r.nv) {
		fprintf(stderr, "ktstr: no variant to run (%zu left out by test constraints)\n", filtered);
		rc = c->shard ? 0 : EXIT_USAGE;
		goto out;
	}
	rc = build_jobs(&r, make_job, ctx);
	if (rc == -ENOENT) {
		/* a typo in a scheduler path must not turn CI green */
		fprintf(stderr, "ktstr: a scheduler binary was not found (or pass "
				"--skip-missing-scheduler)\n");
		rc = KT_EXIT_NO_SCHEDULER;
		goto out;
	}
	if (rc) {
		fprintf(stderr, "ktstr: cannot prepare the jobs\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (!c->no_runs) {
		r.run_dir = make_run_dir(c, stamp, sizeof(stamp));
		r.labels = labels;
		if (!r.run_dir || write_manifest(&r, stamp))
			fprintf(stderr, "ktstr: cannot create a run directory under %s; results are not kept\n",
				c->runs_dir ? c->runs_dir : "ktstr-runs");
	}
	r.labels = labels;
	est = calloc(r.nj + 1, sizeof(*est));
	done = calloc(r.nj + 1, sizeof(*done));
	if (!est || !done) {
		rc = EXIT_ENV;
		goto out;
	}
	for (size_t j = 0; j < r.nj; j++)
		est[j] = r.v[r.var_of[j]].est_s / (c->repeat ? c->repeat : 1);
	for (size_t k = 0; k < nk; k++) {
		envs[k].cancel_fd = kt_cancel_fd();
		envs[k].verbose = c->verbose;
	}
	pool = (struct kt_pool){
		.envs = envs, .env_of = r.env_of, .jobs = r.jobs, .outs = r.outs, .done = done,
		.est_s = est, .n = r.nj, .threads = c->jobs ? c->jobs : 1, .fail_fast = c->fail_fast,
		.progress = stderr, .tty = isatty(2) && !c->tap, .on_done = on_done, .ctx = &r,
	};
	kt_pool_run(&pool);
	for (size_t j = 0; j < r.nj; j++) {
		if (!done[j]) {
			r.outs[j].verdict = KT_SKIP;
			r.outs[j].reason = strdup(kt_cancelled() ? "interrupted" : "not run (--fail-fast)");
			r.outs[j].doc = json_pack("{s:s,s:s,s:s}", "schema", KT_RESULT_SCHEMA, "name",
						  r.jobs[j].name, "verdict", kt_verdict_key(KT_SKIP));
			annotate(&r, j);
		}
		counts[r.outs[j].verdict]++;
		if (c->json_dir && kt_runner_write_json(c->json_dir, &r.jobs[j], &r.outs[j])) {
			fprintf(stderr, "ktstr: cannot write JSON results into %s\n", c->json_dir);
			lost = true;
		}
	}
	if (c->tap)
		kt_runner_tap(stdout, r.jobs, r.outs, r.nj);
	if (c->junit && kt_runner_junit(c->junit, r.jobs, r.outs, r.nj, "ktstr-gauntlet")) {
		fprintf(stderr, "ktstr: cannot write %s\n", c->junit);
		lost = true;
	}
	/* the same exit codes as a normal run: nothing ran is not a pass */
	if (counts[KT_SKIP] == r.nj && !kt_cancelled())
		fprintf(stderr, "ktstr: every variant was skipped; nothing ran\n");
	rc = kt_runner_exit_code(r.outs, r.nj, lost);
	if (c->axes.vs_eevdf && !kt_cancelled() && counts[KT_SKIP] < r.nj) {
		json_t *docs = json_array();

		for (size_t j = 0; j < r.nj; j++)
			json_array_append(docs, r.outs[j].doc);
		if (kt_compare_vs_eevdf(stdout, docs, NULL) > 0 && !rc)
			rc = 1;
		json_decref(docs);
	}
	if (c->report_dir) {
		json_t *docs = json_array();

		for (size_t j = 0; j < r.nj; j++)
			json_array_append(docs, r.outs[j].doc);
		if (kt_report_html(c->report_dir, docs, "ktstr gauntlet", &err)) {
			fprintf(stderr, "ktstr: cannot write the report: %s\n", err ? err : "?");
			free(err);
		} else {
			fprintf(stderr, "report: %s/index.html\n", c->report_dir);
		}
		json_decref(docs);
	}
	if (!c->tap)
		printf("%zu passed, %zu failed, %zu skipped\n", counts[KT_PASS],
		       counts[KT_FAIL] + counts[KT_ERROR], counts[KT_SKIP]);
	if (r.run_dir)
		fprintf(stderr, "results kept in %s\n", r.run_dir);
out:
	kt_estimate_release(&learned);
	run_release(&r);
	for (size_t k = 0; envs && k < c->axes.n_kernels; k++)
		kt_kernel_release(&envs[k].kernel);
	free(envs);
	return rc;
}
