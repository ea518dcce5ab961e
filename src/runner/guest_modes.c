/*
 * Executing a request where the workload runs (inside the VM, or forked
 * on the host for --host): build the Ctx from the request (topology from
 * sysfs, a fresh cgroup parent, the merged checks the host computed),
 * start the scheduler under test and keep watching it, run the test body
 * or catalog scenario, then turn everything into the result object.
 */
#include "runner/runner.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <ktstr/monitor.h>

#include "check/check_json.h"
#include "monitor/monitor_json.h"
#include "scenario/ctx_state.h"
#include "scenario/scenario_json.h"
#include "util/util.h"

static bool sched_stopped_early;
/* ... and sched_ext had to be forced off by the kernel (sysrq S). */
static bool sched_forced_off;

static bool sched_alive_hook(struct kt_ctx *ctx, char **why)
{
	if (sched_stopped_early)
		return true;
	return kt_sched_alive(ctx->state->sched_data, why);
}

/* A worker is stuck: stop the scheduler so the stuck tasks fall back to the
 * kernel's scheduler, run, report and exit (and the kernel watchdog, which
 * would only say the same later, never fires). */
/* How long a scheduler gets to stop on its own once the verdict is certain. */
#define ABORT_STOP_GRACE_MS 300u

static void stop_sched_on_abort(struct kt_ctx *ctx)
{
	struct kt_sched_run *sched = ctx->state->sched_data;
	char *why = NULL;
	bool forced = false;

	if (!sched || sched_stopped_early)
		return;
	if (!kt_sched_alive(sched, &why)) {
		free(why);
		return;	/* already gone: its own death is the story */
	}
	sched_stopped_early = true;
	kt_timeline_add(ctx->state->timeline, "scheduler stopped by ktstr so stuck workers can be collected");
	kt_sched_stop_now(sched, ABORT_STOP_GRACE_MS, &forced);
	sched_forced_off = forced;
	if (forced)
		kt_timeline_add(ctx->state->timeline, "sched_ext forced off by the kernel (sysrq S): the "
				"scheduler did not stop within %u ms", ABORT_STOP_GRACE_MS);
}

/* Is `text` already among the result's lines (as is, or inside one)? */
static bool result_mentions(const struct kt_assert_result *r, const char *text)
{
	for (size_t i = 0; r && text && i < r->n_details; i++)
		if (strstr(r->details[i], text))
			return true;
	return false;
}

static void timeline_cgroup_change(void *timeline, const char *what)
{
	kt_timeline_add(timeline, "%s", what);
}

static json_t *timeline_json(const struct kt_timeline *t)
{
	json_t *a = json_array();

	for (size_t i = 0; t && i < kt_timeline_count(t); i++) {
		double at;
		const char *text = kt_timeline_get(t, i, &at);

		json_array_append_new(a, json_pack("{s:f,s:s}", "at_ms", at, "event", text));
	}
	return a;
}

static json_t *diag_json(const struct kt_sched_diag *d)
{
	return json_pack("{s:b,s:f,s:s?,s:s?,s:s?,s:s?,s:i}", "died", d->died, "died_at_ms",
			 d->died_at_ms, "reason", d->reason, "exit_report", d->exit_report, "dump",
			 d->dump, "output_tail", d->output_tail, "exit_status", d->exit_status);
}

/* A NULL-terminated view of a string list (the strings stay the list's). */
static const char **strv_view(const struct kt_strlist *l)
{
	const char **v = calloc(l->n + 1, sizeof(*v));

	for (size_t i = 0; v && i < l->n; i++)
		v[i] = l->v[i];
	return v;
}

/* The body: a registered test, or a catalog scenario. */
static struct kt_assert_result *run_body(const struct kt_request *req, struct kt_ctx *ctx)
{
	if (req->mode == KT_MODE_TEST) {
		const struct kt_test_def *d = kt_runner_find_test(req->name);

		if (!d)
			return kt_ctx_fail(ctx, "test '%s' is not in this binary", req->name);
		return d->fn(ctx);
	}
	if (req->mode == KT_MODE_SCENARIO) {
		const struct kt_scenario *s = kt_scenario_find(req->name);

		if (!s)
			return kt_ctx_fail(ctx, "unknown scenario '%s' (see `ktstr list`)", req->name);
		return kt_scenario_run(s, ctx);
	}
	return kt_ctx_fail(ctx, "a request of mode %s names neither a test nor a scenario",
			   kt_proto_mode_name(req->mode));
}

int kt_runner_execute(const struct kt_request *req, json_t *result)
{
	struct kt_ctx_state st = { 0 };
	struct kt_ctx ctx = { .state = &st };
	KT_AUTO(kt_topology) topo = NULL;
	KT_AUTO(kt_cgroup_manager) cgm = NULL;
	KT_AUTO(kt_sched_run) sched = NULL;
	KT_AUTO(kt_assert_result) res = NULL;
	const char **flags = NULL;
	const char *wt = req->work_type;
	struct kt_monitor *mon = NULL;
	struct kt_topo_spec spec;
	char specbuf[32];
	struct utsname uts;
	uint64_t t0 = kt_now_ns(), t_run = 0, t_end;
	char *err = NULL;
	int e;

	st.timeline = kt_timeline_new();
	ctx.assert = req->checks;
	ctx.duration_ms = req->duration_ms ? req->duration_ms : 2000;
	ctx.workers_per_cgroup = req->workers ? req->workers : 2;
	ctx.settle_ms = req->settle_ms;
	if (wt && kt_work_kind_parse(wt, &ctx.work_type_override.kind)) {
		json_object_set_new(result, "error", json_sprintf("unknown work type '%s'", wt));
		kt_timeline_free(st.timeline);
		return -EINVAL;
	}
	flags = strv_view(&req->flags);
	st.flags = flags;

	uname(&uts);
	json_object_set_new(result, "kernel", json_string(uts.release));
	/* as the boot check read it (in a VM), else from sysfs */
	topo = kt_guest_is_init() ? kt_guest_take_topology() : NULL;
	e = topo ? 0 : kt_topology_from_sysfs("/", &topo);
	if (e) {
		json_object_set_new(result, "error",
				    json_sprintf("cannot read the CPU topology: %s", strerror(-e)));
		goto out;
	}
	kt_topo_to_spec(topo, &spec);
	kt_topo_spec_format(&spec, specbuf, sizeof(specbuf));
	json_object_set_new(result, "guest_topology", json_string(specbuf));
	ctx.topo = topo;
	e = kt_cgroup_manager_new(NULL, NULL, &cgm);
	if (e) {
		json_object_set_new(result, "error",
				    json_sprintf("cannot set up cgroups: %s",
						 e == -ENOTSUP ? "cgroup v2 is not mounted at /sys/fs/cgroup"
						 : e == -ENODEV ? "the cpuset controller is not available in cgroup v2"
								: strerror(-e)));
		goto out;
	}
	ctx.cgroups = cgm;
	/* a test body's direct cgroup calls go on the timeline, as ops do */
	kt_cgroup_manager_observe(cgm, timeline_cgroup_change, st.timeline);

	/*
	 * In the VM the harness must never be starved by the scheduler it is
	 * judging: it runs SCHED_FIFO (not managed by sched_ext), and
	 * SCHED_RESET_ON_FORK gives every worker and the scheduler process the
	 * normal policy back.
	 */
	if (kt_guest_is_init()) {
		struct sched_param sp = { .sched_priority = 1 };

		if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
			kt_timeline_add(st.timeline, "harness cannot run SCHED_FIFO (%s): a scheduler "
					"that starves tasks may starve the judge too", strerror(errno));
		/* and it stays on the last CPU, the one usable_cpus leaves out of
		 * every scenario, so its own wakeups do not perturb the workers */
		if (topo) {
			size_t n;
			const unsigned *all = kt_topo_all_cpus(topo, &n);
			cpu_set_t one;

			CPU_ZERO(&one);
			if (n > 2 && all[n - 1] < CPU_SETSIZE) {
				CPU_SET(all[n - 1], &one);
				if (sched_setaffinity(0, sizeof(one), &one) < 0)
					kt_timeline_add(st.timeline, "harness cannot pin itself to CPU %u "
							"(%s): its wakeups may land among the workers",
							all[n - 1], strerror(errno));
			}
		}
	}
	if (req->has_sched) {
		const char *bin = req->sched.binary, *ops = req->sched.ops;
		KT_AUTOFREE const char **args = strv_view(&req->sched.args);
		unsigned tmo = req->sched.attach_timeout_ms;

		kt_timeline_add(st.timeline, "scheduler %s starting (expecting ops %s%s%s)", bin,
				ops ? "\"" : "", ops ? ops : "any name", ops ? "\"" : "");
		e = kt_sched_start(bin, args, ops, tmo, &sched, &err);
		if (e) {
			res = kt_assert_result_new();
			kt_assert_result_fail(res, "%s", err ? err : "scheduler failed to start");
			json_object_set_new(result, "sched_start_error", json_string(err ? err : "?"));
			free(err);
			goto verdict;
		}
		kt_timeline_add(st.timeline, "scheduler attached (pid %d)", (int)kt_sched_pid(sched));
		ctx.sched_pid = kt_sched_pid(sched);
		st.sched_alive = sched_alive_hook;
		st.sched_data = sched;
		st.on_abort = stop_sched_on_abort;
		sched_stopped_early = false;
		sched_forced_off = false;
	}
	if (kt_monitor_start(&ctx.assert, 100, &mon))
		mon = NULL;	/* no monitor: the run goes on without its samples */
	t_run = kt_now_ns();
	res = run_body(req, &ctx);
	if (!res)
		res = kt_ctx_fail(&ctx, "test body returned no result");
	kt_timeline_add(st.timeline, "workload finished");
	if (mon) {
		kt_monitor_stop(mon);
		kt_monitor_check(mon, res);
		json_object_set_new(result, "monitor", kt_monitor_summary_json(mon));
		json_object_set_new(json_object_get(result, "monitor"), "series",
				    kt_monitor_series_json(mon, kt_timeline_now_ms(st.timeline)));
	}
	json_object_set_new(result, "workers", kt_scen_progress_json(&ctx));
	if (st.abort_reason && !st.abort_reported && !result_mentions(res, st.abort_reason))
		kt_assert_result_fail(res, "%s", st.abort_reason);
	if (sched_forced_off)
		kt_assert_result_note(res, "sched_ext forced off by the kernel (sysrq S): the scheduler "
				      "did not stop within %u ms of a certain verdict", ABORT_STOP_GRACE_MS);
	if (sched) {
		struct kt_sched_diag d = { 0 };
		char *why = NULL;

		/* a death the body already saw is in its result; report only a late one */
		/* the scheduler's own reason is the cause: it leads the symptoms */
		if (!sched_stopped_early && !kt_sched_alive(sched, &why) && !st.abort_reason)
			kt_assert_result_fail_first(res, "%s", why ? why : "scheduler died");
		free(why);
		kt_sched_diagnose(sched, &d);
		if (d.died && d.exit_report && *d.exit_report)
			kt_assert_result_note(res, "scheduler's exit report: %s", d.exit_report);
		json_object_set_new(result, "scheduler_diag", diag_json(&d));
		kt_sched_diag_release(&d);
		kt_sched_stop(sched);
	}
verdict:
	t_end = kt_now_ns();
	kt_proto_result_set_verdict(result, res->passed, res->skipped);
	json_object_set_new(result, "result", kt_assert_result_to_json(res));
	json_object_set_new(result, "checks", kt_assert_to_json(&ctx.assert));
	json_object_set_new(result, "timings",
			    json_pack("{s:f,s:f}", "setup_ms", (t_run ? t_run - t0 : t_end - t0) / 1e6,
				      "run_ms", t_run ? (t_end - t_run) / 1e6 : 0.0));
out:
	kt_monitor_free(mon);
	json_object_set_new(result, "timeline", timeline_json(st.timeline));
	kt_timeline_free(st.timeline);
	kt_ctx_release(&ctx);
	free(flags);
	return 0;
}

/* Apply "kernel.foo=1"-style sysctls a scheduler declared. */
static void apply_sysctls(const struct kt_request *req, json_t *result)
{
	const struct kt_strlist *list = &req->sched.sysctls;

	for (size_t i = 0; req->has_sched && i < list->n; i++) {
		const char *kv = list->v[i];
		const char *eq = strchr(kv, '=');
		KT_AUTOFREE char *path = NULL;

		if (!eq)
			continue;
		path = kt_asprintf("/proc/sys/%.*s", (int)(eq - kv), kv);
		for (char *c = path ? path + 10 : NULL; c && *c; c++)
			if (*c == '.')
				*c = '/';
		if (!path || kt_write_file(path, eq + 1))
			json_object_set_new(result, "error", json_sprintf("cannot set sysctl %s", kv));
	}
}

/* A process's name and parent from /proc/PID/stat; false if it is gone. */
static bool proc_stat(int pid, char comm[64], int *ppid)
{
	char path[64], stat[512], state;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return kt_read_line(path, stat, sizeof(stat)) == 0 &&
	       sscanf(stat, "%*d (%63[^)]) %c %d", comm, &state, ppid) == 3;
}

static void add_process(json_t *found, int pid, const char *comm)
{
	json_array_append_new(found, json_sprintf("process %d (%s)", pid, comm));
}

/*
 * As init, every process that is not a kernel thread is our descendant,
 * and orphans are re-parented to us: our children lists name them all
 * (a few reads, instead of one per process, kernel threads included).
 * false, adding nothing, when the kernel has no children lists.
 */
static bool init_children(json_t *found)
{
	KT_AUTODIR DIR *d = getpid() == 1 ? opendir("/proc/1/task") : NULL;
	json_t *kids = json_array();
	struct dirent *de;
	bool ok = d != NULL;

	while (ok && (de = readdir(d))) {
		char path[320];
		KT_AUTOFREE char *text = NULL;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/1/task/%s/children", de->d_name);
		ok = kt_read_file(path, &text, NULL) == 0;
		for (char *p = ok ? text : NULL, *end; p && *p; p = end) {
			long pid = strtol(p, &end, 10);
			char comm[64] = "?";
			int ppid;

			if (end == p)
				break;
			if (pid <= 1)
				continue;
			proc_stat((int)pid, comm, &ppid);	/* "?" if it just exited */
			add_process(kids, (int)pid, comm);
		}
	}
	if (ok)
		json_array_extend(found, kids);
	json_decref(kids);
	return ok;
}

/*
 * What a run must not leave behind: cgroups under the run's parent and
 * processes other than init and kernel threads.  Checked after every run
 * in the guest, so a harness leak fails the test that caused it.
 */
static json_t *leftovers(void)
{
	json_t *found = json_array();
	KT_AUTODIR DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "ktstr-", 6))
			json_array_append_new(found, json_sprintf("cgroup /sys/fs/cgroup/%s", de->d_name));
	kt_closedirp(&d);
	if (init_children(found))
		return found;
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		char comm[64];
		int pid = atoi(de->d_name), ppid;

		/* kernel threads descend from kthreadd (pid 2) */
		if (pid <= 2 || pid == getpid() || !proc_stat(pid, comm, &ppid) || ppid == 2)
			continue;
		add_process(found, pid, comm);
	}
	return found;
}

/*
 * out_fd, the output port, is not used here on purpose: what a test body
 * or the scheduler prints goes to the console and the scheduler's output
 * file, which the host keeps with the result (console_tail, the
 * scheduler's output tail); the port streams `ktstr vm`'s command output,
 * which the host drops for test jobs.
 */
static int mode_run(const struct kt_request *req, json_t *result, int out_fd)
{
	json_t *left;
	int e;

	apply_sysctls(req, result);
	e = kt_runner_execute(req, result);
	left = leftovers();
	if (json_array_size(left)) {
		json_t *details = json_object_get(json_object_get(result, "result"), "details");

		for (size_t i = 0; i < json_array_size(left); i++)
			json_array_append_new(details, json_sprintf("left behind: %s",
				json_string_value(json_array_get(left, i))));
		kt_proto_result_set_verdict(result, false, false);
	}
	json_object_set_new(result, "leftovers", left);
	return e;
}

static const struct kt_guest_mode modes[] = {
	{ KT_MODE_TEST, mode_run },
	{ KT_MODE_SCENARIO, mode_run },
	{ 0, NULL },
};

const struct kt_guest_mode *kt_runner_guest_modes(void)
{
	return modes;
}
