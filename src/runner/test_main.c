/*
 * The test binary: `./my_tests [--list] [FILTER...] [--topology T]
 * [--kernel K] [--jobs N] [--fail-fast] [--tap] [--junit F] [--json DIR]`.
 * Turns the declarations into jobs (test x flag profile), checks them,
 * runs them (several VMs at once with --jobs), and reports.  Inside the VM
 * the same binary is PID 1 and executes one job's request.
 */
#include "runner/runner.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner/gauntlet.h"
#include "util/util.h"
#include "vm/vm_internal.h"

#define EXIT_USAGE 64
#define EXIT_ENV 69
#define EXIT_SOFTWARE 70

struct opts {
	const char *topology, *kernel, *accel, *junit, *json_dir;
	bool list, fail_fast, tap, verbose, skip_missing;
	unsigned jobs, timeout_s;
	double duration_s;
	char **filters;
	int n_filters;
};

static const char usage_text[] =
	"usage: %s [OPTIONS] [FILTER...]\n"
	"Run this binary's ktstr tests, each in its own VM with its declared topology.\n"
	"FILTERs select tests whose name contains any of them.\n\n"
	"  --list             list tests (and flag profiles) and exit\n"
	"  --topology SPEC    override every test's topology (NnLlCcTt or a preset)\n"
	"  --kernel PATH      kernel to boot (default: $KTSTR_KERNEL, else the cache)\n"
	"  --accel auto|kvm|tcg\n"
	"  --duration S       override every test's duration (seconds)\n"
	"  --timeout S        per-test VM watchdog (seconds)\n"
	"  --jobs N           run N VMs at once (default 1)\n"
	"  --fail-fast        stop after the first failure\n"
	"  --tap              print TAP instead of verdict lines\n"
	"  --junit FILE       write a JUnit XML report\n"
	"  --json DIR         write one JSON result per test into DIR\n"
	"  --skip-missing-scheduler\n"
	"                     a test whose scheduler binary is not found is a SKIP\n"
	"                     (default: bad input, exit 66; also KTSTR_SKIP_MISSING=1)\n"
	"  --gauntlet         every test on every suitable preset, profile and kernel\n"
	"                     (`--gauntlet --help` for its options)\n"
	"  -v, --verbose      show timelines and console tails for every test\n"
	"\nexit status: 0 all ran tests passed, 1 a test failed, 64 bad input, 66 a\n"
	"scheduler binary not found, 69 environment, 70 internal error, 73 a result\n"
	"file cannot be written, 76 the guest speaks another protocol version (a stale\n"
	"binary), 77 every test skipped, 130/143 interrupted.\n";

static bool matches(const struct opts *o, const char *name)
{
	if (!o->n_filters)
		return true;
	for (int i = 0; i < o->n_filters; i++)
		if (strstr(name, o->filters[i]))
			return true;
	return false;
}

/* Declarations that cannot run, found before anything boots. */
static char *check_def(const struct kt_test_def *d)
{
	unsigned nodes = d->numa_nodes ? d->numa_nodes : 1, llcs = d->llcs ? d->llcs : nodes;

	if (!d->fn)
		return kt_asprintf("test %s: no body", d->name);
	if (llcs % nodes)
		return kt_asprintf("test %s (%s:%d): llcs (%u) is not a multiple of numa_nodes (%u)",
				   d->name, d->file, d->line, llcs, nodes);
#define RANGE(lo, hi)                                                                      \
	if (d->lo && d->hi && d->lo > d->hi)                                               \
		return kt_asprintf("test %s (%s:%d): " #lo " (%u) > " #hi " (%u)", d->name, \
				   d->file, d->line, d->lo, d->hi);
	RANGE(min_llcs, max_llcs)
	RANGE(min_cpus, max_cpus)
	RANGE(min_numa_nodes, max_numa_nodes)
#undef RANGE
	if (d->duration_s < 0)
		return kt_asprintf("test %s: negative duration", d->name);
	return NULL;
}

/* Why a topology does not suit a test, or NULL. */
static char *topo_mismatch(const struct kt_test_def *d, const struct kt_topo_spec *t)
{
	unsigned cpus = kt_topo_spec_cpus(t);

	if (d->min_llcs && t->llcs < d->min_llcs)
		return kt_asprintf("needs at least %u LLCs", d->min_llcs);
	if (d->max_llcs && t->llcs > d->max_llcs)
		return kt_asprintf("needs at most %u LLCs", d->max_llcs);
	if (d->min_cpus && cpus < d->min_cpus)
		return kt_asprintf("needs at least %u CPUs", d->min_cpus);
	if (d->max_cpus && cpus > d->max_cpus)
		return kt_asprintf("needs at most %u CPUs", d->max_cpus);
	if (d->min_numa_nodes && t->numa_nodes < d->min_numa_nodes)
		return kt_asprintf("needs at least %u NUMA nodes", d->min_numa_nodes);
	if (d->max_numa_nodes && t->numa_nodes > d->max_numa_nodes)
		return kt_asprintf("needs at most %u NUMA nodes", d->max_numa_nodes);
	if (d->requires_smt && t->threads < 2)
		return strdup("needs SMT");
	return NULL;
}

static bool in_list(const char *const *list, size_t max, const char *name)
{
	for (size_t i = 0; i < max && list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/* Is this subset of the scheduler's flags a valid profile for the test? */
static bool profile_ok(const struct kt_test_def *d, const struct kt_scheduler *s, unsigned mask)
{
	size_t n = kt_runner_sched_nflags(s);

	for (size_t i = 0; i < n; i++) {
		bool on = mask & (1u << i);

		if (on) {
			for (size_t r = 0; r < 4 && s->flags[i].requires[r]; r++) {
				bool found = false;

				for (size_t j = 0; j < n; j++)
					if ((mask & (1u << j)) && !strcmp(s->flags[j].name, s->flags[i].requires[r]))
						found = true;
				if (!found)
					return false;
			}
			if (in_list(d->excluded_flags, KT_SCHED_MAX_FLAGS, s->flags[i].name))
				return false;
		} else if (in_list(d->required_flags, KT_SCHED_MAX_FLAGS, s->flags[i].name)) {
			return false;
		}
	}
	return true;
}

/* The scheduler that replaces every declared one, or NULL. */
static const char *sched_override(void)
{
	return kt_host_env()->scheduler;
}


/* Why the scheduler binary was not found, in one line. */
static char *sched_missing(const struct kt_scheduler *s)
{
	KT_AUTOFREE char *dir = NULL;

	if (sched_override())
		return kt_asprintf("scheduler binary '%s' (from $KTSTR_SCHEDULER) is not an executable "
				   "file", sched_override());
	if (!s->binary)
		return kt_asprintf("scheduler '%s' declares no .binary", s->name ? s->name : "?");
	if (strchr(s->binary, '/'))
		return kt_asprintf("scheduler binary '%s' not found", s->binary);
	dir = kt_self_dir();
	return kt_asprintf("scheduler binary '%s' not found next to this test binary (%s/%s); "
			   "build it, or set $KTSTR_SCHEDULER", s->binary, dir ? dir : "?", s->binary);
}

/* Declaration order: by file, then line (the linker keeps no useful order). */
static int def_cmp(const void *a, const void *b)
{
	const struct kt_test_def *x = *(const struct kt_test_def *const *)a;
	const struct kt_test_def *y = *(const struct kt_test_def *const *)b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

static void jobs_free(struct kt_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kt_job_release(&jobs[i]);
	free(jobs);
}

/* Append a job; on ENOMEM the job is released. */
static int jobs_push(struct kt_job **jobs, size_t *n, size_t *cap, struct kt_job *j)
{
	if (kt_grow(*jobs, *n, *cap, 16)) {
		kt_job_release(j);
		return -ENOMEM;
	}
	(*jobs)[(*n)++] = *j;
	return 0;
}

/*
 * Every job of the selected tests, or -errno with nothing allocated left
 * behind (a bad declaration is -EINVAL, having printed why).
 */
static int build_jobs(const struct opts *o, const struct kt_test_def *const *sbegin,
		      const struct kt_test_def *const *send, struct kt_job **out, size_t *n_out)
{
	size_t ndefs = 0;
	KT_AUTOFREE const struct kt_test_def **sorted = NULL;
	const struct kt_test_def *const *begin, *const *end;

	struct kt_job *jobs = NULL;
	size_t n = 0, cap = 0;
	struct kt_topo_spec override;
	char *err = NULL;
	int e = 0;

	for (const struct kt_test_def *const *p = sbegin; p && p < send; p++)
		ndefs += *p != NULL;
	sorted = calloc(ndefs + 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	ndefs = 0;
	for (const struct kt_test_def *const *p = sbegin; p && p < send; p++)
		if (*p)
			sorted[ndefs++] = *p;
	qsort(sorted, ndefs, sizeof(*sorted), def_cmp);
	begin = sorted;
	end = sorted + ndefs;
	if (o->topology && kt_topo_spec_parse(o->topology, &override, &err)) {
		fprintf(stderr, "ktstr: %s\n", err);
		free(err);
		return -EINVAL;
	}
	for (const struct kt_test_def *const *p = begin; p && p < end; p++) {
		const struct kt_test_def *d = *p;
		const struct kt_scheduler *s;
		size_t nf;
		KT_AUTOFREE char *sched_path = NULL;

		if (!d)
			continue;
		err = check_def(d);
		if (err) {
			fprintf(stderr, "ktstr: %s\n", err);
			free(err);
			e = -EINVAL;
			goto fail;
		}
		s = d->scheduler;
		nf = kt_runner_sched_nflags(s);
		if (s) {
			sched_path = kt_runner_sched_binary(s);
		}
		for (unsigned mask = 0; mask < (1u << nf); mask++) {
			struct kt_job j = { 0 };
			struct kt_buf name = { 0 };
			double dur = o->duration_s > 0 ? o->duration_s : d->duration_s > 0 ? d->duration_s : 2.0;
			bool oom = false;

			if (!profile_ok(d, s, mask))
				continue;
			kt_buf_printf(&name, "%s", d->name);
			for (size_t f = 0; f < nf; f++)
				if (mask & (1u << f))
					kt_buf_printf(&name, "%s%s", name.len == strlen(d->name) ? "/" : "+",
						      s->flags[f].name);
			if (nf && !mask)
				kt_buf_printf(&name, "/default");
			j.name = name.data;
			if (j.name && !matches(o, j.name)) {
				kt_buf_release(&name);
				continue;
			}
			if (o->topology) {
				j.topo = override;
			} else if (!d->llcs && !d->cores && !d->threads && !d->numa_nodes && s &&
				   s->topology.llcs) {
				j.topo = s->topology;
			} else {
				j.topo.numa_nodes = d->numa_nodes ? d->numa_nodes : 1;
				j.topo.llcs = d->llcs ? d->llcs : j.topo.numa_nodes;
				j.topo.cores = d->cores ? d->cores : 2;
				j.topo.threads = d->threads ? d->threads : 1;
			}
			if (!d->host_only)
				j.skip_reason = topo_mismatch(d, &j.topo);
			/* a host run starts no scheduler: the machine's own is judged */
			oom |= kt_runner_test_request(d, s, mask, d->host_only ? NULL : sched_path,
						      dur, &j.request) != 0;
			if (s && !d->host_only) {
				if (!sched_path && !j.skip_reason) {
					KT_AUTOFREE char *why = sched_missing(s);

					/*
					 * A typo in .binary must not turn CI green:
					 * bad input unless the user opted into a skip
					 * (--list only shows it).
					 */
					if (!o->skip_missing && !o->list) {
						fprintf(stderr, "ktstr: test %s: %s (or pass "
							"--skip-missing-scheduler)\n", j.name,
							why ? why : "scheduler binary not found");
						kt_job_release(&j);
						e = -ENOENT;
						goto fail;
					}
					j.skip_reason = kt_take_ptr(why);
					oom |= !j.skip_reason;
				}
				j.kargs = s->kargs;
				j.sched = s->binary;
				j.sched_missing = !sched_path;
			}
			j.memory_mb = d->memory_mb;
			j.timeout_s = o->timeout_s ? o->timeout_s : d->timeout_s;	/* 0: default */
			j.host = d->host_only;
			j.expect_err = d->expect_err || d->expect_detail;
			j.expect_detail = d->expect_detail;
			if (sched_path && !d->host_only && !j.skip_reason) {
				j.sched_host_path = strdup(sched_path);
				oom |= !j.sched_host_path;
			}
			if (oom || !j.name) {
				kt_job_release(&j);
				e = -ENOMEM;
				goto fail;
			}
			e = jobs_push(&jobs, &n, &cap, &j);
			if (e)
				goto fail;
		}
	}
	*out = jobs;
	*n_out = n;
	return 0;
fail:
	jobs_free(jobs, n);
	return e;
}

/* ---- running ------------------------------------------------------------- */

struct pool {
	const struct opts *o;
	struct kt_run_env *env;
	struct kt_job *jobs;
	struct kt_outcome *outs;
	bool *done;
	size_t n, next, finished, failed;
	bool stop;
	bool tty;
	pthread_mutex_t lock;
};

static void progress(struct pool *p)
{
	if (!p->tty || p->o->tap)
		return;
	fprintf(stderr, "\r\033[K[%zu/%zu done, %zu failed] running:", p->finished, p->n, p->failed);
	for (size_t i = 0, shown = 0; i < p->next && shown < 3; i++)
		if (!p->done[i]) {
			fprintf(stderr, " %s", p->jobs[i].name);
			shown++;
		}
	fflush(stderr);
}

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		if (p->stop || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		i = p->next++;
		progress(p);
		pthread_mutex_unlock(&p->lock);

		kt_runner_run_job(p->env, &p->jobs[i], &p->outs[i]);

		pthread_mutex_lock(&p->lock);
		p->done[i] = true;
		p->finished++;
		if (p->outs[i].verdict == KT_FAIL || p->outs[i].verdict == KT_ERROR) {
			p->failed++;
			if (p->o->fail_fast)
				p->stop = true;
		}
		if (p->tty && !p->o->tap)
			fprintf(stderr, "\r\033[K");
		if (!p->o->tap)
			kt_runner_print(stdout, &p->jobs[i], &p->outs[i], p->o->verbose);
		fflush(stdout);
		if (kt_cancelled())
			p->stop = true;
		progress(p);
		pthread_mutex_unlock(&p->lock);
	}
}

int kt_test_main(int argc, char **argv, const struct kt_test_def *const *begin,
		 const struct kt_test_def *const *end)
{
	static const struct option longopts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "topology", required_argument, NULL, 't' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "accel", required_argument, NULL, 'a' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "fail-fast", no_argument, NULL, 'f' },
		{ "tap", no_argument, NULL, 'p' },
		{ "junit", required_argument, NULL, 'J' },
		{ "json", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "skip-missing-scheduler", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { .jobs = 1 };
	struct kt_run_env env = { .cancel_fd = -1, .stream_fd = -1 };
	struct kt_job *jobs = NULL;
	size_t n = 0, counts[4] = { 0 };
	struct pool pool;
	bool need_vm = false, lost = false;
	int opt, rc = 0, e;

	kt_runner_set_tests(begin, end);
	if (kt_guest_is_init())
		kt_guest_main(kt_runner_guest_modes());
	if (kt_gauntlet_wanted(argc, argv))
		return kt_gauntlet_test_main(argc, argv, begin, end);
	while ((opt = getopt_long(argc, argv, "hvj:", longopts, NULL)) != -1) {
		char *endp;

		switch (opt) {
		case 'l': o.list = true; break;
		case 't': o.topology = optarg; break;
		case 'k': o.kernel = optarg; break;
		case 'a': o.accel = optarg; break;
		case 'd':
			o.duration_s = strtod(optarg, &endp);
			if (*endp || o.duration_s <= 0 || o.duration_s > 3600) {
				fprintf(stderr, "ktstr: bad --duration '%s': seconds, > 0\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			o.timeout_s = (unsigned)strtoul(optarg, &endp, 10);
			if (*endp || !o.timeout_s) {
				fprintf(stderr, "ktstr: bad --timeout '%s': seconds, > 0\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			o.jobs = (unsigned)strtoul(optarg, &endp, 10);
			if (*endp || !o.jobs || o.jobs > 64) {
				fprintf(stderr, "ktstr: bad --jobs '%s': 1..64\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f': o.fail_fast = true; break;
		case 'p': o.tap = true; break;
		case 'J': o.junit = optarg; break;
		case 'o': o.json_dir = optarg; break;
		case 'v': o.verbose = true; break;
		case 'S': o.skip_missing = true; break;
		case 'h': printf(usage_text, argv[0]); return 0;
		default: fprintf(stderr, usage_text, argv[0]); return EXIT_USAGE;
		}
	}
	if (kt_host_env()->skip_missing)
		o.skip_missing = true;
	o.filters = argv + optind;
	o.n_filters = argc - optind;
	rc = build_jobs(&o, begin, end, &jobs, &n);
	if (rc)
		return rc == -EINVAL ? EXIT_USAGE : rc == -ENOENT ? KT_EXIT_NO_SCHEDULER : EXIT_SOFTWARE;
	if (o.list) {
		for (size_t i = 0; i < n; i++)
			kt_runner_list_line(stdout, &jobs[i]);
		goto out;
	}
	if (!n) {
		fprintf(stderr, "ktstr: no test matches\n");
		rc = EXIT_USAGE;
		goto out;
	}
	/* a result the user asked for must not be lost after the run */
	if ((o.json_dir && (rc = kt_runner_check_output(o.json_dir, true))) ||
	    (o.junit && (rc = kt_runner_check_output(o.junit, false)))) {
		fprintf(stderr, "ktstr: cannot write %s %s: %s\n", o.json_dir ? "--json" : "--junit",
			o.json_dir ? o.json_dir : o.junit, strerror(-rc));
		rc = KT_EXIT_CANT_WRITE;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		need_vm |= !jobs[i].host && !jobs[i].skip_reason;
	if (need_vm) {
		char *err = NULL;
		enum kt_accel want = KT_ACCEL_AUTO;

		if (o.accel && kt_accel_parse(o.accel, &want)) {
			fprintf(stderr, "ktstr: bad --accel '%s': auto, kvm or tcg\n", o.accel);
			rc = EXIT_USAGE;
			goto out;
		}
		if (kt_kernel_resolve(&kt_host_env()->vm, o.kernel, &env.kernel, &err)) {
			fprintf(stderr, "ktstr: %s\n", err);
			free(err);
			rc = o.kernel ? EXIT_USAGE : EXIT_ENV;
			goto out;
		}
		if (kt_accel_resolve(&kt_host_env()->vm, want, env.kernel.image, &env.accel, &err)) {
			fprintf(stderr, "ktstr: %s\n", err);
			free(err);
			rc = EXIT_ENV;
			goto out;
		}
	}
	env.cancel_fd = kt_cancel_fd();
	env.verbose = o.verbose;
	memset(&pool, 0, sizeof(pool));
	pool.o = &o;
	pool.env = &env;
	pool.jobs = jobs;
	pool.n = n;
	pool.outs = calloc(n, sizeof(*pool.outs));
	pool.done = calloc(n, sizeof(*pool.done));
	pool.tty = isatty(2);
	if (!pool.outs || !pool.done) {
		fprintf(stderr, "ktstr: out of memory for %zu jobs\n", n);
		free(pool.outs);
		free(pool.done);
		rc = EXIT_SOFTWARE;
		goto out;
	}
	pthread_mutex_init(&pool.lock, NULL);
	{
		unsigned nt = o.jobs < n ? o.jobs : (unsigned)n, started = 0;
		pthread_t *th = calloc(nt, sizeof(*th));

		/*
		 * Fewer threads than asked is still a run (the pool shares one
		 * queue); none at all runs the jobs on this thread.  Only
		 * threads that were created are joined.
		 */
		for (unsigned i = 0; th && i < nt; i++) {
			int te = pthread_create(&th[started], NULL, worker, &pool);

			if (te) {
				fprintf(stderr, "ktstr: cannot start a job thread (%s); running %u at once\n",
					strerror(te), started ? started : 1);
				break;
			}
			started++;
		}
		if (!started)
			worker(&pool);
		for (unsigned i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		free(th);
	}
	if (pool.tty && !o.tap)
		fprintf(stderr, "\r\033[K");
	for (size_t i = 0; i < n; i++) {
		if (!pool.done[i]) {
			pool.outs[i].verdict = KT_SKIP;
			pool.outs[i].reason = strdup(kt_cancelled() ? "interrupted" : "not run (--fail-fast)");
			pool.outs[i].doc = json_pack("{s:s,s:s,s:s}", "schema", KT_RESULT_SCHEMA, "name",
						     jobs[i].name, "verdict", kt_verdict_key(KT_SKIP));
		}
		counts[pool.outs[i].verdict]++;
		if (o.json_dir && (e = kt_runner_write_json(o.json_dir, &jobs[i], &pool.outs[i]))) {
			fprintf(stderr, "ktstr: cannot write JSON results into %s: %s\n", o.json_dir,
				strerror(-e));
			lost = true;
		}
	}
	if (o.tap)
		kt_runner_tap(stdout, jobs, pool.outs, n);
	if (o.junit && (e = kt_runner_junit(o.junit, jobs, pool.outs, n, "ktstr"))) {
		fprintf(stderr, "ktstr: cannot write %s: %s\n", o.junit, strerror(-e));
		lost = true;
	}
	if (!o.tap)
		printf("%zu passed, %zu failed, %zu skipped\n", counts[KT_PASS],
		       counts[KT_FAIL] + counts[KT_ERROR], counts[KT_SKIP]);
	/* a run where nothing ran is not a pass: CI must not go green on it */
	if (counts[KT_SKIP] == n && !kt_cancelled())
		fprintf(stderr, "ktstr: every test was skipped; nothing ran\n");
	rc = kt_runner_exit_code(pool.outs, n, lost);
	for (size_t i = 0; i < n; i++)
		kt_outcome_release(&pool.outs[i]);
	free(pool.outs);
	free(pool.done);
out:
	for (size_t i = 0; i < n; i++)
		kt_job_release(&jobs[i]);
	free(jobs);
	kt_kernel_release(&env.kernel);
	return rc;
}
