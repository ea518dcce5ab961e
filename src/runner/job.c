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

#include "sched/sched_internal.h"
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
	if (pid < 0) {
		int e = -errno;

		close(p[0]);
		close(p[1]);
		*err = kt_asprintf("cannot fork the host run: %s", strerror(-e));
		return e;
	}
	if (pid == 0) {
		json_t *result = json_object();
		char *s;

		close(p[0]);
		kt_runner_execute(job->request, result);
		s = json_dumps(result, JSON_COMPACT);
		if (s)
			kt_write_all(p[1], s, strlen(s));
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		kt_buf_append(&b, buf, (size_t)n);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!b.len) {
		char st[64];

		kt_sched_status_str(status, st, sizeof(st));
		*err = kt_asprintf("host run ended without a result (%s)", st);
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
	for (size_t i = 0; i < json_array_size(details); i++) {
		const char *d = json_string_value(json_array_get(details, i));

		/* a malformed result (a detail that is not a string) matches nothing */
		if (d && strstr(d, needle))
			return true;
	}
	return false;
}

/*
 * A crashed test body's result carries code offsets into the binary that
 * ran as the guest's init, which is this very program: addr2line turns
 * them into "function at file:line".  The first detail then says where,
 * and a second one gives the backtrace.  Without addr2line the offsets stay.
 */
static void symbolize_crash(json_t *guest)
{
	json_t *crash = json_object_get(guest, "crash");
	json_t *details = json_object_get(json_object_get(guest, "result"), "details");
	json_t *frames = json_object_get(crash, "frames");
	char exe[4096], line[512];
	struct kt_buf cmd = { 0 }, bt = { 0 };
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *sig = json_string_value(json_object_get(crash, "signal"));
	size_t k = 0;
	FILE *p;

	if (!crash || n <= 0 || !json_is_array(details))
		return;
	exe[n] = '\0';
	if (kt_buf_printf(&cmd, "addr2line -f -C -p -e '%s' 0x%llx", exe,
			  (unsigned long long)json_integer_value(json_object_get(crash, "pc_offset"))))
		goto out;
	for (size_t i = 0; i < json_array_size(frames); i++)
		if (kt_buf_printf(&cmd, " 0x%llx",
				  (unsigned long long)json_integer_value(json_array_get(frames, i))))
			goto out;
	if (kt_buf_append(&cmd, " 2>/dev/null", 13) || !(p = popen(cmd.data, "r")))
		goto out;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (k++ == 0) {
			if (strncmp(line, "??", 2))
				json_array_set_new(details, 0,
						   json_sprintf("test body crashed: %s in %s", sig ? sig : "?", line));
		} else if (strncmp(line, "??", 2) && !strstr(line, "crash_handler") &&
			   !strstr(line, "__restore_rt") && strncmp(line, "__libc_start", 12) &&
			   strncmp(line, "_start ", 7)) {
			kt_buf_printf(&bt, "%s%s", bt.len ? " <- " : "", line);
		}
	}
	pclose(p);
	if (bt.len && !kt_buf_append(&bt, "", 1))
		json_array_append_new(details, json_sprintf("backtrace: %s", bt.data));
out:
	kt_buf_release(&cmd);
	kt_buf_release(&bt);
}

static char *first_detail(json_t *res)
{
	json_t *details = json_object_get(json_object_get(res, "result"), "details");
	const char *e = json_string_value(json_object_get(res, "error"));

	if (e)
		return strdup(e);
	if (json_string_value(json_array_get(details, 0)))
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
		json_t *flags = json_object_get(job->request, "flags");

		json_object_set_new(doc, "flags", flags ? json_incref(flags) : json_array());
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
			.host = &kt_host_env()->vm,
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
			const char *slash = strrchr(job->sched_host_path, '/');

			sched_guest = kt_asprintf("/include/%s", slash ? slash + 1 : job->sched_host_path);
			if (!sched_guest) {
				free(reqtext);
				out->verdict = KT_ERROR;
				out->reason = strdup("out of memory");
				json_object_set_new(doc, "verdict", json_string("error"));
				return;
			}
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
		if (!e && kt_host_env()->timing) {
			KT_AUTOFREE char *timing = kt_vm_timing_describe(&vr);

			fprintf(stderr, "ktstr: timing: %s\n", timing ? timing : "out of memory");
		}
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

		symbolize_crash(guest);
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
