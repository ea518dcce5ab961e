/*
 * Running one job: in a VM (boot with the job's topology, the scheduler
 * binary included, wait for the result) or forked on this machine for
 * --host; then the verdict and the result document.  Infrastructure
 * failures (panic, timeout, no result) are ERROR, never PASS, and
 * expect_err tests pass only when the body itself failed.
 */
#include "runner/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm_internal.h"

void kt_job_release(struct kt_job *j)
{
	free(j->name);
	free(j->sched_host_path);
	json_decref(j->request);
	free(j->skip_reason);
	memset(j, 0, sizeof(*j));
}

void kt_outcome_release(struct kt_outcome *o)
{
	free(o->summary);
	free(o->reason);
	json_decref(o->doc);
	memset(o, 0, sizeof(*o));
}

const char *kt_verdict_name(enum kt_verdict v)
{
	switch (v) {
	case KT_PASS: return "PASS";
	case KT_FAIL: return "FAIL";
	case KT_SKIP: return "SKIP";
	case KT_ERROR: return "ERROR";
	}
	return "?";
}

/* Run the request in a forked child of this process (bare metal). */
static int run_on_host(const struct kt_job *job, char **text, char **err)
{
	int p[2], status;
	pid_t pid;
	struct kt_buf b = { 0 };
	char buf[8192];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		json_t *result = json_object();
		char *s;

		close(p[0]);
		kt_runner_execute(job->request, result, 1);
		s = json_dumps(result, JSON_COMPACT);
		if (s)
			kt_write_all(p[1], s, strlen(s));
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		kt_buf_append(&b, buf, (size_t)n);
	close(p[0]);
	waitpid(pid, &status, 0);
	if (!b.len) {
		*err = kt_asprintf("host run ended without a result (status %d)", status);
		kt_buf_release(&b);
		return -EIO;
	}
	*text = b.data;
	return 0;
}

/* Does any failure detail of the guest's result contain `needle`? */
static bool detail_has(json_t *res, const char *needle)
{
	json_t *details = json_object_get(res, "details");

	if (!needle)
		return true;
	for (size_t i = 0; i < json_array_size(details); i++)
		if (strstr(json_string_value(json_array_get(details, i)), needle))
			return true;
	return false;
}

static char *first_detail(json_t *res)
{
	json_t *details = json_object_get(json_object_get(res, "result"), "details");
	const char *e = json_string_value(json_object_get(res, "error"));

	if (e)
		return strdup(e);
	if (json_array_size(details))
		return strdup(json_string_value(json_array_get(details, 0)));
	return NULL;
}

void kt_runner_run_job(const struct kt_run_env *env, const struct kt_job *job,
		       struct kt_outcome *out)
{
	struct kt_vm_result vr = { 0 };
	char *err = NULL, *text = NULL;
	json_t *guest = NULL, *doc;
	uint64_t t0 = kt_now_ns();
	char specbuf[32];
	double boot_ms = 0, guest_ms = 0;
	int e;

	memset(out, 0, sizeof(*out));
	doc = json_object();
	out->doc = doc;
	kt_topo_spec_format(&job->topo, specbuf, sizeof(specbuf));
	json_object_set_new(doc, "schema", json_string(KT_RESULT_SCHEMA));
	json_object_set_new(doc, "name", json_string(job->name));
	json_object_set_new(doc, "topology", json_string(specbuf));
	json_object_set_new(doc, "host", json_boolean(job->host));
	json_object_set_new(doc, "request", json_incref(job->request));
	{
		json_t *sch = json_object_get(job->request, "scheduler");
		const char *bin = json_string_value(json_object_get(sch, "binary"));

		json_object_set_new(doc, "scheduler",
				    json_string(bin ? (strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin)
						    : "EEVDF"));
		json_object_set(doc, "flags", json_object_get(job->request, "flags")
						      ? json_object_get(job->request, "flags")
						      : json_array());
	}
	if (job->skip_reason) {
		out->verdict = KT_SKIP;
		out->reason = strdup(job->skip_reason);
		json_object_set_new(doc, "verdict", json_string("skip"));
		json_object_set_new(doc, "reason", json_string(job->skip_reason));
		return;
	}
	if (job->host) {
		e = run_on_host(job, &text, &err);
	} else {
		struct kt_initramfs_file files[16];
		size_t nf = 0;
		char *reqtext = json_dumps(job->request, JSON_COMPACT);
		struct kt_vm_config cfg = {
			.kernel = &env->kernel,
			.topo = job->topo,
			.memory_mb = job->memory_mb,
			.accel = env->accel,
			.request_json = reqtext,
			.timeout_s = job->timeout_s,
			.out_fd = env->stream_fd,
			.extra_kargs = job->kargs,
			.cancel_fd = env->cancel_fd,
		};
		KT_AUTOFREE char *sched_guest = NULL;

		if (job->sched_host_path) {
			KT_AUTOFREE char *copy = strdup(job->sched_host_path);
			const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;

			sched_guest = kt_asprintf("/include/%s", base);
			files[nf].host = job->sched_host_path;
			files[nf].guest = sched_guest;
			files[nf++].mode = 0;
		}
		for (size_t i = 0; i < env->n_extra_files && nf < KT_ARRAY_SIZE(files); i++)
			files[nf++] = env->extra_files[i];
		cfg.files = files;
		cfg.n_files = nf;
		e = kt_vm_run(&cfg, &vr, &err);
		free(reqtext);
		if (!e && vr.outcome == KT_VM_OK)
			text = kt_take_ptr(vr.result_json);
		else if (!e && vr.outcome == KT_VM_TOPOLOGY)
			err = kt_take_ptr(vr.topology_error);
		else if (!e)
			err = kt_asprintf("guest %s%s", kt_vm_outcome_name(vr.outcome),
					  vr.outcome == KT_VM_TIMEOUT ? " (killed)" : "");
		out->env_error = e == -EOPNOTSUPP || e == -ENOENT || (!e && vr.outcome == KT_VM_TOPOLOGY);
		if (vr.console)
			json_object_set_new(doc, "console_tail",
					    json_string(kt_text_tail(vr.console, 40)));
		json_object_set_new(doc, "vm_outcome",
				    json_string(e ? "host error" : kt_vm_outcome_name(vr.outcome)));
	}
	out->wall_s = (kt_now_ns() - t0) / 1e9;
	if (text) {
		json_error_t jerr;

		guest = json_loads(text, 0, &jerr);
		if (!guest)
			err = kt_asprintf("malformed result from the guest: %s", jerr.text);
	}
	if (!guest) {
		out->verdict = KT_ERROR;
		out->reason = err ? err : strdup("no result");
		err = NULL;
		json_object_set_new(doc, "verdict", json_string("error"));
		json_object_set_new(doc, "reason", json_string(out->reason));
	} else {
		const char *v = json_string_value(json_object_get(guest, "verdict"));
		bool body_failed = v && !strcmp(v, "fail");
		json_t *res = json_object_get(guest, "result");

		boot_ms = json_number_value(json_object_get(guest, "guest_init_ms"));
		guest_ms = json_number_value(json_object_get(guest, "guest_total_ms"));

		if (!v) {
			out->verdict = KT_ERROR;
		} else if (!strcmp(v, "skip")) {
			out->verdict = KT_SKIP;
		} else if (job->expect_err) {
			out->verdict = body_failed && detail_has(res, job->expect_detail) ? KT_PASS : KT_FAIL;
		} else {
			out->verdict = body_failed ? KT_FAIL : KT_PASS;
		}
		out->reason = first_detail(guest);
		if (job->expect_err && out->verdict == KT_FAIL) {
			free(out->reason);
			out->reason = body_failed
				? kt_asprintf("failed, but no finding mentions '%s'", job->expect_detail)
				: strdup("expected the test to fail, but it passed");
		}
		if (json_string_value(json_object_get(res, "summary")))
			out->summary = strdup(json_string_value(json_object_get(res, "summary")));
		json_object_set_new(doc, "verdict",
				    json_string(out->verdict == KT_PASS ? "pass"
						: out->verdict == KT_FAIL ? "fail"
						: out->verdict == KT_SKIP ? "skip" : "error"));
		json_object_set_new(doc, "expect_err", json_boolean(job->expect_err));
		json_object_set(doc, "guest", guest);
		if (json_object_get(guest, "kernel"))
			json_object_set(doc, "kernel", json_object_get(guest, "kernel"));
		if (out->reason)
			json_object_set_new(doc, "reason", json_string(out->reason));
		json_decref(guest);
	}
	json_object_set_new(doc, "timings",
			    json_pack("{s:f,s:f,s:f}", "wall_s", out->wall_s, "guest_boot_ms",
				      boot_ms, "guest_run_ms", guest_ms));
	free(err);
	free(text);
	kt_vm_result_release(&vr);
}
