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
	kt_request_release(&j->request);
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

char *kt_runner_sched_guest_path(const char *host_path)
{
	const char *slash = strrchr(host_path, '/');

	return kt_asprintf("/include/%s", slash ? slash + 1 : host_path);
}

/* Run the request in a forked child of this process (bare metal). */
static int run_on_host(const struct kt_job *job, char **text, char **err)
{
	KT_AUTOCLOSE_PAIR int p[2] = { -1, -1 };
	int status;
	pid_t pid;
	struct kt_buf b = { 0 };
	char buf[8192];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = kt_asprintf("cannot make a pipe for the host run: %s", strerror(errno));
		return -EIO;
	}
	pid = fork();
	if (pid < 0) {
		*err = kt_asprintf("cannot fork the host run: %s", strerror(errno));
		return -EIO;
	}
	if (pid == 0) {
		json_t *result = kt_proto_result_new();
		char *s;

		kt_closep(&p[0]);
		if (result)
			kt_runner_execute(&job->request, result);
		s = result ? json_dumps(result, JSON_COMPACT) : NULL;
		if (s)
			kt_write_all(p[1], s, strlen(s));
		_exit(0);
	}
	kt_closep(&p[1]);	/* else the read below never sees the child's end */
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		kt_buf_append(&b, buf, (size_t)n);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!b.len || kt_buf_append(&b, "", 1)) {
		char st[64];

		kt_sched_status_str(status, st, sizeof(st));
		*err = kt_asprintf("host run ended without a result (%s)", st);
		kt_buf_release(&b);
		return -EIO;
	}
	*text = b.data;
	return 0;
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

void kt_runner_judge(const struct kt_job *job, char *text, char *err, struct kt_outcome *out)
{
	KT_AUTOFREE char *why = err;		/* why there is no (usable) result */
	KT_AUTOFREE char *owned_text = text;
	struct kt_expect expect = { .fail = job->expect_err, .detail = job->expect_detail };
	json_t *doc = out->doc, *guest = NULL, *res;
	double boot_ms = 0, guest_ms = 0;

	if (owned_text) {
		char *bad = NULL;
		int e = kt_proto_result_parse(owned_text, &guest, &bad);

		if (e) {
			free(why);
			why = bad;
			out->proto_error = e == -EPROTO;
		}
	}
	if (!guest) {
		out->verdict = KT_ERROR;
		out->reason = why ? kt_take_ptr(why) : strdup("no result");
		json_object_set_new(doc, "verdict", json_string(kt_verdict_key(KT_ERROR)));
		if (out->reason)
			json_object_set_new(doc, "reason", json_string(out->reason));
	} else {
		res = json_object_get(guest, "result");
		symbolize_crash(guest);
		boot_ms = json_number_value(json_object_get(guest, "guest_init_ms"));
		guest_ms = json_number_value(json_object_get(guest, "guest_total_ms"));
		out->verdict = kt_proto_verdict(guest, &expect, &out->reason);
		if (json_string_value(json_object_get(res, "summary")))
			out->summary = strdup(json_string_value(json_object_get(res, "summary")));
		json_object_set_new(doc, "verdict", json_string(kt_verdict_key(out->verdict)));
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
	if (out->host_wait_pct >= 0)
		json_object_set_new(json_object_get(doc, "timings"), "host_cpu_wait_pct",
				    json_real(out->host_wait_pct));
}

int kt_runner_exit_code(const struct kt_outcome *outs, size_t n, bool lost)
{
	size_t counts[4] = { 0 };
	bool proto = false;

	for (size_t i = 0; i < n; i++) {
		counts[outs[i].verdict]++;
		proto |= outs[i].proto_error;
	}
	return kt_cancelled() ? kt_cancel_exit_code()
	       : proto ? KT_EXIT_PROTOCOL
	       : (counts[KT_FAIL] || counts[KT_ERROR]) ? 1
	       : lost ? KT_EXIT_CANT_WRITE
	       : counts[KT_SKIP] == n ? KT_EXIT_ALL_SKIPPED : 0;
}

/* The job's identity, before anything runs: name, machine, request. */
static json_t *doc_new(const struct kt_job *job)
{
	const struct kt_request *r = &job->request;
	const char *bin = r->has_sched ? r->sched.binary : NULL;
	const char *slash = bin ? strrchr(bin, '/') : NULL;
	json_t *flags = json_array();
	char specbuf[32];

	for (size_t i = 0; flags && i < r->flags.n; i++)
		json_array_append_new(flags, json_string(r->flags.v[i]));
	kt_topo_spec_format(&job->topo, specbuf, sizeof(specbuf));
	return json_pack("{s:s,s:s?,s:s,s:b,s:o?,s:s,s:o?}", "schema", KT_RESULT_SCHEMA, "name",
			 job->name, "topology", specbuf, "host", job->host, "request",
			 kt_request_to_json(r), "scheduler",
			 bin ? (slash ? slash + 1 : bin) : "EEVDF", "flags", flags);
}

unsigned kt_runner_default_timeout_s(const struct kt_topo_spec *topo, enum kt_accel accel,
				     const char *kargs, uint64_t duration_ms)
{
	unsigned samples;
	double scale = kt_vm_boot_scale(&kt_host_env()->vm, accel, kt_topo_spec_cpus(topo),
					&samples);
	double dur = (double)(duration_ms ? duration_ms : 2000) / 1e3;
	double boot = kt_vm_boot_estimate_s(topo, accel, NULL, kt_vm_boots_late(topo, accel, kargs));

	/* a slow machine boots slower than the model, never faster than needed */
	if (scale < 1)
		scale = 1;
	return 60 + (unsigned)(4 * dur + 2 * scale * boot);
}

void kt_runner_run_job(const struct kt_run_env *env, const struct kt_job *job,
		       struct kt_outcome *out)
{
	struct kt_vm_result vr = { 0 };
	char *err = NULL, *text = NULL;
	json_t *doc;
	uint64_t t0 = kt_now_ns();
	int e;

	memset(out, 0, sizeof(*out));
	out->host_wait_pct = -1;
	doc = doc_new(job);
	out->doc = doc ? doc : json_object();
	doc = out->doc;
	if (job->skip_reason) {
		out->verdict = KT_SKIP;
		out->reason = strdup(job->skip_reason);
		json_object_set_new(doc, "verdict", json_string(kt_verdict_key(KT_SKIP)));
		json_object_set_new(doc, "reason", json_string(job->skip_reason));
		return;
	}
	if (job->host) {
		e = run_on_host(job, &text, &err);
	} else {
		struct kt_initramfs_file files[16];
		size_t nf = 0;
		KT_AUTOFREE char *reqtext = kt_request_emit(&job->request);
		struct kt_vm_config cfg = {
			.host = &kt_host_env()->vm,
			.kernel = &env->kernel,
			.topo = job->topo,
			.memory_mb = job->memory_mb,
			.accel = env->accel,
			.request_json = reqtext,
			.timeout_s = job->timeout_s ? job->timeout_s
						    : kt_runner_default_timeout_s(&job->topo, env->accel, job->kargs,
										 job->request.duration_ms),
			.out_fd = env->stream_fd,
			.extra_kargs = job->kargs,
			.cancel_fd = env->cancel_fd,
		};
		KT_AUTOFREE char *sched_guest = NULL;

		if (job->sched_host_path)
			sched_guest = kt_runner_sched_guest_path(job->sched_host_path);
		if (!reqtext || (job->sched_host_path && !sched_guest)) {
			kt_runner_judge(job, NULL, strdup("out of memory"), out);
			return;
		}
		if (sched_guest) {
			files[nf].host = job->sched_host_path;
			files[nf].guest = sched_guest;
			files[nf++].mode = 0;
		}
		for (size_t i = 0; i < env->n_extra_files && nf < KT_ARRAY_SIZE(files); i++)
			files[nf++] = env->extra_files[i];
		cfg.files = files;
		cfg.n_files = nf;
		e = kt_vm_run(&cfg, &vr, &err);
		if (!e)
			out->host_wait_pct = vr.host_wait_pct;
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
	kt_runner_judge(job, text, err, out);
	kt_vm_result_release(&vr);
}
