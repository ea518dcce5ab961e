/*
 * The gauntlet: every test expanded into variants over topology presets,
 * the scheduler's flag profiles and kernels, filtered by each test's
 * constraints before anything boots; time estimates for variants; shards;
 * budgeted selection; and the run that drives it all (job pool, progress
 * line, runs directory, outputs).  Internal to libktstr: the test binary
 * (--gauntlet) and `ktstr gauntlet` are its two front ends, and each hands
 * it a table of tests plus a function that turns a variant into a job.
 */
#ifndef KTSTR_GAUNTLET_H
#define KTSTR_GAUNTLET_H

#include <ktstr/sched.h>
#include <ktstr/topology.h>
#include <stdio.h>

#include "runner/runner.h"

/* One test as the gauntlet sees it: what it needs from a topology and which
 * of its scheduler's flags may (or must) be on. */
struct kt_gauntlet_test {
	const char *name;
	unsigned min_llcs, max_llcs, min_cpus, max_cpus, min_numa_nodes, max_numa_nodes;
	bool requires_smt;
	const char *required_flags[KT_SCHED_MAX_FLAGS + 1];	/* NULL-terminated */
	const char *excluded_flags[KT_SCHED_MAX_FLAGS + 1];
	const struct kt_sched_flag *flags;	/* the scheduler's flags (n_flags of them) */
	size_t n_flags;
	const char *scheduler;			/* label: binary name, or "EEVDF" */
	double duration_s;			/* 0 -> 2 s */
	bool eevdf_twin;			/* --vs-eevdf may add an EEVDF run of it */
	const void *user;			/* the front end's own (test def, scenario) */
};

/* One thing the gauntlet runs: a test on a preset with a profile and a kernel. */
struct kt_variant {
	char *name;			/* test/preset/profile[/kernel] */
	size_t test;			/* index into the test table */
	const char *preset;		/* preset name (static) */
	struct kt_topo_spec topo;
	unsigned mask;			/* bits: the test's flags that are on */
	char *profile;			/* "default", "a+b", or "eevdf" for an EEVDF twin */
	size_t kernel;			/* index into the kernels */
	bool eevdf;			/* the EEVDF twin of a scheduler variant */
	double est_s;			/* estimated wall time of one run */
};
void kt_variants_free(struct kt_variant *v, size_t n);

/* What to expand over. */
struct kt_gauntlet_axes {
	const char *const *presets;	/* names; NULL/0: all presets */
	size_t n_presets;
	unsigned max_cpus;		/* 0: no limit */
	const char *const *kernels;	/* labels; 0 kernels: one, unnamed */
	size_t n_kernels;
	bool vs_eevdf;			/* add an EEVDF twin per test/preset/kernel */
};

/* Why a topology does not suit a test (malloc'd), or NULL when it does. */
char *kt_gauntlet_topo_mismatch(const struct kt_gauntlet_test *t, const struct kt_topo_spec *s);
/* Is flag subset `mask` a valid profile for t (flag dependencies, the
 * test's required and excluded flags)? */
bool kt_gauntlet_profile_ok(const struct kt_gauntlet_test *t, unsigned mask);
/* "default" or "a+b" (malloc'd). */
char *kt_gauntlet_profile_name(const struct kt_gauntlet_test *t, unsigned mask);

/*
 * Expand tests x presets x valid profiles x kernels, in that nesting order
 * (stable: the same input gives the same list).  Variants whose topology
 * a test's constraints reject are left out and counted in *filtered.
 * Unknown preset names are -EINVAL with *err naming them.
 */
int kt_gauntlet_expand(const struct kt_gauntlet_test *tests, size_t n_tests,
		       const struct kt_gauntlet_axes *axes, struct kt_variant **out, size_t *n_out,
		       size_t *filtered, char **err);

/* ---- time estimates ------------------------------------------------------ */

/*
 * Wall time of one run: boot and teardown (which grow with the CPU count,
 * steeply under TCG) plus the test's duration.  The model's coefficients
 * start from defaults measured on a 2-core TCG machine and can be fitted
 * to past runs (kt_estimate_learn).
 */
struct kt_estimate_test {
	char *name;
	double extra_s;			/* beyond the model: what its declared duration misses */
};
struct kt_estimate {
	double base_s, per_cpu_s, per_cpu2_s;
	size_t samples;			/* runs it was fitted to; 0 = defaults */
	struct kt_estimate_test *tests;	/* per test, when fitted with names */
	size_t n_tests, tests_cap;
};
void kt_estimate_default(struct kt_estimate *e);
void kt_estimate_release(struct kt_estimate *e);
double kt_estimate_run(const struct kt_estimate *e, unsigned cpus, double duration_s);
/* kt_estimate_run plus what past runs of test `name` took beyond it (a
 * test that runs the whole catalog in one VM lasts far longer than its
 * declared duration). */
double kt_estimate_test_run(const struct kt_estimate *e, const char *name, unsigned cpus,
			    double duration_s);
/*
 * Fit e to observations: overhead_s[i] = wall time minus declared duration
 * of a run on cpus[i] CPUs, of test names[i] (names may be NULL).  The
 * model is additive, CPU cost plus a per-test term, fitted by alternating
 * least squares.  Keeps the defaults with fewer than 3 points.
 */
void kt_estimate_fit(struct kt_estimate *e, const unsigned *cpus, const double *overhead_s,
		     const char *const *names, size_t n);
/* Fit to every result file under a runs directory (missing dir: defaults). */
int kt_estimate_learn(struct kt_estimate *e, const char *runs_dir);

/* ---- shards --------------------------------------------------------------- */

/* "K/N", 1 <= K <= N <= 1000 -> 0-based k and n; -EINVAL otherwise. */
int kt_shard_parse(const char *s, unsigned *k, unsigned *n);
/*
 * Assign each variant a shard in [0, n): longest estimate first, each to
 * the least loaded shard (ties: lowest shard), variants ordered by name
 * when estimates tie, so every machine computes the same split from the
 * same list.  shard_of has n_variants entries.
 */
void kt_shard_assign(const struct kt_variant *v, size_t n_variants, unsigned n,
		     unsigned *shard_of);

/* ---- budget --------------------------------------------------------------- */

/*
 * The configuration buckets a variant covers (test, topology shape, SMT,
 * NUMA, flag profile, scheduler, kernel), written as "kind:value" strings
 * into out (up to max, malloc'd); returns how many.
 */
size_t kt_budget_buckets(const struct kt_variant *v, const struct kt_gauntlet_test *tests,
			 const char *const *kernels, char **out, size_t max);
/*
 * Choose variants to run within budget_s estimated seconds, greedily by new
 * buckets covered per estimated second.  keep[i] is set for the chosen
 * ones; returns the number of buckets left uncovered (their names, when
 * missed is non-NULL, in a malloc'd NULL-terminated array).
 */
size_t kt_budget_select(const struct kt_variant *v, size_t n, const struct kt_gauntlet_test *tests,
			const char *const *kernels, double budget_s, bool *keep,
			size_t *n_buckets, char ***missed);

/* ---- the job pool --------------------------------------------------------- */

struct kt_pool {
	const struct kt_run_env *envs;	/* one per kernel */
	const size_t *env_of;		/* per job: index into envs (NULL: all 0) */
	struct kt_job *jobs;
	struct kt_outcome *outs;	/* n, filled */
	bool *done;			/* n, set as jobs finish */
	const double *est_s;		/* per job, for the ETA (NULL: no ETA) */
	size_t n;
	unsigned threads;
	bool fail_fast;
	FILE *progress;			/* NULL: no progress line */
	bool tty;			/* live line (else one plain line per job) */
	void (*on_done)(void *ctx, size_t i);	/* under the pool's lock, in finish order */
	void *ctx;
};
/* Run the jobs; returns how many ran (fewer after --fail-fast or a signal). */
size_t kt_pool_run(struct kt_pool *p);
/* Seconds left: the estimates scaled by how long finished jobs really took
 * against theirs, spread over the threads. */
double kt_pool_eta(double est_left, double est_done, double wall_done, unsigned threads);
/* "42s", "3m05s", "1h02m"; "?" when negative. */
void kt_pool_eta_text(double s, char *buf, size_t n);

/* ---- the run --------------------------------------------------------------- */

/* Turn a variant into a job (the front end's part); 0 or -errno, -ENOENT
 * for a scheduler binary that is not there (unless skip_missing: then the
 * job is a SKIP). */
typedef int (*kt_gauntlet_job_fn)(void *ctx, const struct kt_gauntlet_test *t,
				  const struct kt_variant *v, bool skip_missing, struct kt_job *out);

/* Options both front ends take (parsed by kt_gauntlet_opt). */
struct kt_gauntlet_cfg {
	struct kt_gauntlet_axes axes;
	const char **kernel_args;	/* --kernel values (paths, dirs) */
	size_t n_kernel_args, kernel_args_cap;
	const char *accel;
	const char *presets_arg;
	const char *shard;
	const char *runs_dir;		/* default ./ktstr-runs */
	const char *report_dir;
	const char *junit, *json_dir;
	double budget_s;
	unsigned jobs, repeat, timeout_s;
	bool list, tap, verbose, fail_fast, no_runs;
	bool skip_missing;		/* a missing scheduler binary: SKIP, not exit 66 */
};

#define KT_GAUNTLET_LONGOPTS                                        \
	{ "gauntlet", no_argument, NULL, 0x200 },                   \
	{ "presets", required_argument, NULL, 0x201 },              \
	{ "max-cpus", required_argument, NULL, 0x202 },             \
	{ "kernel", required_argument, NULL, 0x203 },               \
	{ "repeat", required_argument, NULL, 0x204 },               \
	{ "shard", required_argument, NULL, 0x205 },                \
	{ "runs-dir", required_argument, NULL, 0x206 },             \
	{ "report", required_argument, NULL, 0x207 },               \
	{ "budget", required_argument, NULL, 0x208 },               \
	{ "vs-eevdf", no_argument, NULL, 0x209 },                   \
	{ "list", no_argument, NULL, 0x20a },                       \
	{ "jobs", required_argument, NULL, 'j' },                   \
	{ "accel", required_argument, NULL, 0x20b },                \
	{ "junit", required_argument, NULL, 0x20c },                \
	{ "json", required_argument, NULL, 0x20d },                 \
	{ "tap", no_argument, NULL, 0x20e },                        \
	{ "timeout", required_argument, NULL, 0x20f },              \
	{ "fail-fast", no_argument, NULL, 0x210 },                  \
	{ "no-runs-dir", no_argument, NULL, 0x211 },                \
	{ "skip-missing-scheduler", no_argument, NULL, 0x212 },     \
	{ "verbose", no_argument, NULL, 'v' }

#define KT_GAUNTLET_HELP                                                                     \
	"  --list              print the variants (test/preset/profile[/kernel]) and exit\n"       \
	"  --presets a,b       only these topology presets (default: all, `ktstr topo --list`)\n"  \
	"  --max-cpus N        only presets with at most N CPUs\n"                                \
	"  --kernel PATH       kernel to boot; repeat it to add kernels as a dimension\n"          \
	"  --accel auto|kvm|tcg\n"                                                                 \
	"  --jobs N            run N VMs at once (default 1)\n"                                    \
	"  --repeat N          run every variant N times (for `ktstr compare`)\n"                  \
	"  --vs-eevdf          also run each test under EEVDF and compare with it\n"               \
	"  --shard K/N         run only shard K of N (balanced by estimated time)\n"               \
	"  --budget S          run the subset covering most configurations in S estimated seconds\n"\
	"  --runs-dir DIR      where results are kept (default ./ktstr-runs); --no-runs-dir: not\n" \
	"  --report DIR        write an HTML report (DIR/index.html)\n"                            \
	"  --junit FILE, --json DIR, --tap   outputs as for a normal run\n"                         \
	"  --timeout S         per-VM watchdog (seconds)\n"                                         \
	"  --fail-fast         stop after the first failure\n"                                      \
	"  --skip-missing-scheduler  a scheduler binary not found is a SKIP (default: exit 66;\n" \
	"                      also KTSTR_SKIP_MISSING=1)\n"                                       \
	"  -v, --verbose       evidence for every variant\n"

/* Consume one option: 1 if it was ours, 0 if not, -1 on a bad value (printed). */
int kt_gauntlet_opt(struct kt_gauntlet_cfg *c, int opt, const char *arg);
void kt_gauntlet_cfg_release(struct kt_gauntlet_cfg *c);

/*
 * Expand, filter, shard or budget, then list or run (the job pool with a
 * progress line), keep every result in the runs directory and write the
 * outputs.  Prints; returns the process exit code (0 all passed, 1 a
 * failure or a regression against EEVDF, 64 bad input, 66 a scheduler
 * binary not found, 69 environment, 73 an output not written, 77 every
 * variant skipped, 130/143 interrupted).
 */
int kt_gauntlet_run(struct kt_gauntlet_cfg *c, const struct kt_gauntlet_test *tests,
		    size_t n_tests, kt_gauntlet_job_fn make_job, void *ctx);

/* ---- the front ends ------------------------------------------------------ */

/* Does the command line ask for the gauntlet (--gauntlet before any "--")? */
bool kt_gauntlet_wanted(int argc, char **argv);
/* The test binary's `--gauntlet` mode (called from kt_test_main). */
int kt_gauntlet_test_main(int argc, char **argv, const struct kt_test_def *const *begin,
			  const struct kt_test_def *const *end);
/* A declaration's constraints and flags as a gauntlet test (user = d). */
void kt_gauntlet_from_def(const struct kt_test_def *d, struct kt_gauntlet_test *t);

/* The project's commit this binary was built from ("unknown" outside git). */
const char *kt_build_commit(void);

#endif
