/*
 * scenario_smoke: runs catalog scenarios for real (cgroup v2, forked
 * workers, the kernel's own scheduler) and prints one PASS/FAIL line per
 * scenario, with the evidence and the timeline on failure.  Meant to run
 * as root inside a `ktstr vm` guest:
 *
 *   scenario_smoke [-w WORKERS] [-s SETTLE_MS] [DURATION_S [NAME...]]
 *   scenario_smoke -f [DURATION_S]
 *
 * After every scenario it checks that no test cgroup and no child process
 * is left behind.  -f runs scenarios that must fail (unknown op
 * target, impossible cpuset, a runtime op failure mid-run, a scheduler
 * that dies) and checks that each fails cleanly with nothing left over.
 * Exit status 1 if anything failed.
 */
#include <ktstr/scenario.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

static void print_result(const char *name, const struct kt_assert_result *r, double secs)
{
	KT_AUTOFREE char *sum = r ? kt_assert_result_summary(r) : NULL;

	printf("%s %-18s %5.1fs  %s\n", !r ? "FAIL" : r->skipped ? "SKIP" : r->passed ? "PASS" : "FAIL",
	       name, secs, sum ? sum : "(no result)");
}

static void print_details(const struct kt_assert_result *r, const struct kt_timeline *t)
{
	for (size_t i = 0; r && i < r->n_details; i++)
		printf("    %s\n", r->details[i]);
	for (size_t i = 0; i < kt_timeline_count(t); i++) {
		double at;
		const char *text = kt_timeline_get(t, i, &at);

		printf("    [%8.1f ms] %s\n", at, text);
	}
}

/* Cgroups left under the run's parent, and children left unreaped. */
static int leftovers(struct kt_cgroup_manager *m)
{
	DIR *d = opendir(kt_cgroup_manager_path(m));
	struct dirent *de;
	int bad = 0, st;
	pid_t p;

	while (d && (de = readdir(d))) {
		if (de->d_type == DT_DIR && de->d_name[0] != '.') {
			printf("    LEAK: cgroup %s/%s left behind\n", kt_cgroup_manager_path(m), de->d_name);
			bad++;
		}
	}
	if (d)
		closedir(d);
	p = waitpid(-1, &st, WNOHANG);
	if (p > 0 || p == 0) {
		printf("    LEAK: child process%s left behind (waitpid -> %d)\n", p ? " zombie" : "",
		       (int)p);
		bad++;
	}
	return bad;
}

static int stale_ktstr_cgroups(void)
{
	DIR *d = opendir(KT_CGROUP_DEFAULT_ROOT);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		if (!strncmp(de->d_name, "ktstr-", 6)) {
			printf("LEAK: %s/%s left behind\n", KT_CGROUP_DEFAULT_ROOT, de->d_name);
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

struct smoke {
	struct kt_cgroup_manager *m;
	struct kt_topology *topo;
	uint64_t duration_ms, settle_ms;
	unsigned workers;
};

static void ctx_init(struct smoke *s, struct kt_ctx *ctx, struct kt_timeline *t)
{
	*ctx = (struct kt_ctx){
		.cgroups = s->m,
		.topo = s->topo,
		.duration_ms = s->duration_ms,
		.workers_per_cgroup = s->workers,
		.settle_ms = s->settle_ms,
		.assert = kt_assert_default_checks(),
		.timeline = t,
	};
}

typedef struct kt_assert_result *(*run_fn)(struct kt_ctx *ctx, const void *arg);

/* Run one scenario; returns 0 when its outcome matched `want_pass`. */
static int run_one(struct smoke *s, const char *name, run_fn fn, const void *arg, bool want_pass,
		   kt_sched_alive_fn alive)
{
	KT_AUTO(kt_timeline) t = kt_timeline_new();
	KT_AUTO(kt_assert_result) r = NULL;
	struct kt_ctx ctx;
	uint64_t t0 = kt_now_ns();
	bool passed;
	int bad;

	ctx_init(s, &ctx, t);
	ctx.sched_alive = alive;
	r = fn(&ctx, arg);
	passed = r && r->passed && !r->skipped;
	print_result(name, r, (double)(kt_now_ns() - t0) / 1e9);
	if (passed != want_pass || !want_pass)
		print_details(r, t);
	free(ctx.abort_reason);
	bad = leftovers(s->m);
	fflush(stdout);
	return passed == want_pass && !bad ? 0 : 1;
}

static struct kt_assert_result *run_catalog(struct kt_ctx *ctx, const void *arg)
{
	return kt_scenario_run(arg, ctx);
}

/* ---- failure paths ------------------------------------------------------ */

static struct kt_assert_result *bad_target(struct kt_ctx *ctx, const void *arg)
{
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), { 0 } };
	const struct kt_op ops[] = { KT_OP_SET_CPUSET_("cg_9", KT_CPUSET_LLC(0)), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = ops, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

static struct kt_assert_result *bad_cpuset(struct kt_ctx *ctx, const void *arg)
{
	const struct kt_cgroup_def setup[] = { KT_CGROUP("cg_0"), { 0 } };
	const struct kt_op ops[] = { KT_OP_SET_CPUSET_("cg_0", KT_CPUSET_LLC(3)), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = ops, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

/* Passes validation, fails when the kernel refuses it: after step 1 has
 * cgroups and running workers to clean up. */
static struct kt_assert_result *bad_runtime(struct kt_ctx *ctx, const void *arg)
{
	const struct kt_cgroup_def setup[] = {
		KT_CGROUP("cg_0", .cpuset = KT_CPUSET_DISJOINT(0, 2)), KT_CGROUP("cg_1/x"), { 0 },
	};
	const struct kt_op ops[] = { KT_OP_ADD("cg_2/../cg_0"), { 0 } };
	const struct kt_step steps[] = {
		{ .setup = setup, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ .ops = ops, .hold = { .kind = KT_HOLD_FRAC, .frac = 0.5 } },
		{ 0 },
	};

	return kt_execute_steps(ctx, steps);
}

static uint64_t dies_at_ns;

static bool sched_dies(struct kt_ctx *ctx, char **why)
{
	if (kt_now_ns() < dies_at_ns)
		return true;
	*why = strdup("fake scheduler exited (smoke test)");
	return false;
}

static struct kt_assert_result *sched_death(struct kt_ctx *ctx, const void *arg)
{
	dies_at_ns = kt_now_ns() + ctx->duration_ms * 1000000ull / 3;
	return kt_scenario_run(kt_scenario_find("cgroup_add"), ctx);
}

static int failpaths(struct smoke *s)
{
	int bad = 0;

	bad += run_one(s, "fail:bad_target", bad_target, NULL, false, NULL);
	bad += run_one(s, "fail:bad_cpuset", bad_cpuset, NULL, false, NULL);
	bad += run_one(s, "fail:bad_runtime", bad_runtime, NULL, false, NULL);
	bad += run_one(s, "fail:sched_death", sched_death, NULL, false, sched_dies);
	return bad;
}

int main(int argc, char **argv)
{
	struct smoke s = { .duration_ms = 2000, .workers = 2 };
	bool fail_mode = false;
	int opt, r, bad = 0, ran = 0;
	size_t n;
	const struct kt_scenario *all = kt_all_scenarios(&n);

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "w:s:f")) != -1) {
		if (opt == 'w')
			s.workers = (unsigned)atoi(optarg);
		else if (opt == 's')
			s.settle_ms = strtoull(optarg, NULL, 10);
		else if (opt == 'f')
			fail_mode = true;
		else {
			fprintf(stderr, "usage: %s [-w WORKERS] [-s SETTLE_MS] [-f] [DURATION_S [NAME...]]\n",
				argv[0]);
			return 2;
		}
	}
	if (optind < argc)
		s.duration_ms = (uint64_t)(atof(argv[optind++]) * 1000);

	r = kt_topology_from_sysfs("/", &s.topo);
	if (r) {
		fprintf(stderr, "scenario_smoke: cannot read the topology: %s\n", strerror(-r));
		return 1;
	}
	r = kt_cgroup_manager_new(NULL, NULL, &s.m);
	if (r) {
		fprintf(stderr, "scenario_smoke: cannot set up cgroups under %s: %s\n",
			KT_CGROUP_DEFAULT_ROOT, strerror(-r));
		kt_topology_free(s.topo);
		return 1;
	}
	{
		KT_AUTOFREE char *desc = kt_topo_describe(s.topo);
		char *nl = desc ? strchr(desc, '\n') : NULL;

		if (nl)
			*nl = 0;
		printf("topology: %s; duration %llu ms, %u workers per cgroup\n", desc ? desc : "?",
		       (unsigned long long)s.duration_ms, s.workers);
	}

	if (fail_mode) {
		bad = failpaths(&s);
		ran = 4;
	} else {
		for (size_t i = 0; i < n; i++) {
			bool want = optind >= argc;

			for (int a = optind; a < argc; a++)
				want |= !strcmp(argv[a], all[i].name);
			if (!want)
				continue;
			bad += run_one(&s, all[i].name, run_catalog, &all[i], true, NULL);
			ran++;
		}
		for (int a = optind; a < argc; a++) {
			if (!kt_scenario_find(argv[a])) {
				printf("FAIL %s: no such scenario\n", argv[a]);
				bad++;
			}
		}
	}
	kt_cgroup_manager_free(s.m);
	kt_topology_free(s.topo);
	bad += stale_ktstr_cgroups();
	printf("%s: %d of %d scenario%s failed\n", bad ? "FAILED" : "OK", bad, ran, ran == 1 ? "" : "s");
	return bad ? 1 : 0;
}
