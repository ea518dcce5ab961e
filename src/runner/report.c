/*
 * Turning outcomes into what people and tools read: one verdict line per
 * job with the key numbers, the evidence on failure (reasons, the ops
 * timeline, the scheduler's diagnosis, the guest console tail), JSON
 * result files, TAP and JUnit.
 */
#include "runner/runner.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm_internal.h"

void kt_runner_print(FILE *f, const struct kt_job *job, const struct kt_outcome *o, bool verbose)
{
	json_t *doc = o->doc, *guest = json_object_get(doc, "guest");
	json_t *details = json_object_get(json_object_get(guest, "result"), "details");
	json_t *timeline = json_object_get(guest, "timeline");
	json_t *diag = json_object_get(guest, "scheduler_diag");
	const char *console = json_string_value(json_object_get(doc, "console_tail"));
	const char *topo = json_string_value(json_object_get(doc, "topology"));
	bool bad = o->verdict == KT_FAIL || o->verdict == KT_ERROR;

	fprintf(f, "%-5s %s [%s%s] %.1fs", kt_verdict_name(o->verdict), job->name,
		job->host ? "host" : topo ? topo : "?", job->expect_err ? ", expect_err" : "",
		o->wall_s);
	if (o->summary)
		fprintf(f, "  %s", o->summary);
	if (o->verdict == KT_SKIP && o->reason)
		fprintf(f, "  (%s)", o->reason);
	if (o->host_wait_pct >= KT_HOST_OVERLOADED_PCT)
		fprintf(f, "  [host overloaded: QEMU waited %.0f %% of its time for a CPU; "
			"timing checks had little power, rerun with fewer VMs at once]", o->host_wait_pct);
	else if (o->host_wait_pct >= KT_HOST_BUSY_PCT)
		fprintf(f, "  [host busy: QEMU waited %.0f %% of its time for a CPU]", o->host_wait_pct);
	fputc('\n', f);
	if (!bad && !verbose)
		return;
	if (o->verdict == KT_ERROR && o->reason)
		fprintf(f, "  error: %s\n", o->reason);
	for (size_t i = 0; i < json_array_size(details); i++)
		fprintf(f, "  %s\n", json_string_value(json_array_get(details, i)));
	if (json_is_object(diag) && json_is_true(json_object_get(diag, "died"))) {
		const char *k;
		json_t *v;

		json_object_foreach(diag, k, v) {
			const char *text = json_string_value(v);

			/* the exit report is among the findings already */
			if (!text || !*text || !strcmp(k, "exit_report"))
				continue;
			if (!strcmp(k, "dump") && !verbose) {
				const char *cut = text;

				for (int line = 0; line < 12 && cut && *cut; line++)
					cut = strchr(cut, '\n') ? strchr(cut, '\n') + 1 : NULL;
				fprintf(f, "  scheduler dump (first lines; -v or --json for all):\n%.*s\n",
					cut ? (int)(cut - text) : (int)strlen(text), text);
				continue;
			}
			fprintf(f, "  scheduler %s: %s\n", k, text);
		}
	}
	if (json_array_size(timeline)) {
		fprintf(f, "  timeline:\n");
		for (size_t i = 0; i < json_array_size(timeline); i++) {
			json_t *ev = json_array_get(timeline, i);

			fprintf(f, "    +%8.1f ms  %s\n",
				json_number_value(json_object_get(ev, "at_ms")),
				json_string_value(json_object_get(ev, "event")));
		}
	}
	if (console && *console)
		fprintf(f, "  guest console (tail):\n%s\n",
			o->verdict == KT_ERROR || verbose ? console : kt_text_tail(console, 8));
}

static char *json_path(const char *dir, const char *name)
{
	char *p = kt_asprintf("%s/%s.json", dir, name), *base;

	if (!p)
		return NULL;
	base = p + strlen(dir) + 1;
	for (char *c = base; *c; c++)
		if (*c == '/')
			*c = '_';
	return p;
}

int kt_runner_write_json_file(const char *path, const struct kt_outcome *o)
{
	errno = 0;
	if (json_dump_file(o->doc, path, JSON_INDENT(2) | JSON_SORT_KEYS) == 0)
		return 0;
	return errno ? -errno : -EIO;	/* jansson fails with fopen's or write's errno */
}

int kt_runner_write_json(const char *dir, const struct kt_job *job, const struct kt_outcome *o)
{
	KT_AUTOFREE char *p = NULL;
	int e = kt_mkdir_p(dir, 0755);

	if (e)
		return e;
	p = json_path(dir, job->name);
	return p ? kt_runner_write_json_file(p, o) : -ENOMEM;
}

int kt_runner_check_output(const char *path, bool is_dir)
{
	KT_AUTOFREE char *copy = NULL;
	const char *dir;
	struct stat st;
	int e;

	if (is_dir) {
		e = kt_mkdir_p(path, 0755);
		if (e)
			return e;
		return access(path, W_OK) < 0 ? -errno : 0;
	}
	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? -EISDIR : access(path, W_OK) < 0 ? -errno : 0;
	if (errno != ENOENT)
		return -errno;	/* e.g. ENOTDIR: a component is a file */
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);	/* may be a static "." rather than copy */
	if (stat(dir, &st) < 0)
		return -errno;
	return !S_ISDIR(st.st_mode) ? -ENOTDIR : access(dir, W_OK) < 0 ? -errno : 0;
}

void kt_runner_list_line(FILE *f, const struct kt_job *job)
{
	char spec[32];
	const struct kt_strlist *flags = &job->request.flags;

	kt_topo_spec_format(&job->topo, spec, sizeof(spec));
	fprintf(f, "%-40s %-10s %s%s", job->name, job->host ? "host" : spec,
		job->sched ? job->sched : "EEVDF", job->sched_missing ? " (not found)" : "");
	for (size_t i = 0; i < flags->n; i++)
		fprintf(f, "%s%s", i ? "," : "  flags ", flags->v[i]);
	if (job->expect_err)
		fprintf(f, "  expect_err");
	if (job->skip_reason)
		fprintf(f, "  (would skip: %s)", job->skip_reason);
	fputc('\n', f);
}

/* YAML-safe one-line text for TAP diagnostics. */
static void yaml_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);	/* YAML allows no raw control characters */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A literal block scalar: every line indented, control characters dropped. */
static void yaml_block(FILE *f, const char *text, const char *indent)
{
	bool bol = true;

	for (const char *s = text; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (bol) {
			fputs(indent, f);
			bol = false;
		}
		if (c == '\n') {
			fputc('\n', f);
			bol = true;
		} else if (c >= 0x20 && c != 0x7f) {
			fputc(c, f);
		} else if (c == '\t') {
			fputs("        ", f);	/* tabs cannot start YAML indentation */
		}
	}
	if (!bol)
		fputc('\n', f);
}

/* What the terminal shows for an outcome, as a string (NULL on ENOMEM). */
static char *report_text(const struct kt_job *job, const struct kt_outcome *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return NULL;
	kt_runner_print(m, job, o, false);
	if (fclose(m)) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * TAP 13: a failure's YAML block carries the whole verdict, so CI shows
 * what a terminal shows: each detail, the scheduler's own reason and exit
 * report, the timeline, and (as `output`) the report exactly as printed.
 */
static void tap_diag(FILE *f, const struct kt_job *job, const struct kt_outcome *o)
{
	json_t *guest = json_object_get(o->doc, "guest");
	json_t *details = json_object_get(json_object_get(guest, "result"), "details");
	json_t *timeline = json_object_get(guest, "timeline");
	json_t *diag = json_object_get(guest, "scheduler_diag");
	KT_AUTOFREE char *text = report_text(job, o);

	fprintf(f, "  ---\n  verdict: %s\n  message: ", kt_verdict_name(o->verdict));
	yaml_str(f, o->reason ? o->reason : "");
	fprintf(f, "\n  duration_s: %.2f\n", o->wall_s);
	if (o->summary) {
		fputs("  summary: ", f);
		yaml_str(f, o->summary);
		fputc('\n', f);
	}
	if (json_array_size(details)) {
		fputs("  details:\n", f);
		for (size_t i = 0; i < json_array_size(details); i++) {
			fputs("    - ", f);
			yaml_str(f, json_string_value(json_array_get(details, i)));
			fputc('\n', f);
		}
	}
	if (json_is_true(json_object_get(diag, "died"))) {
		static const char *const keys[] = { "reason", "exit_report", "output_tail" };

		fputs("  scheduler:\n", f);
		for (size_t i = 0; i < KT_ARRAY_SIZE(keys); i++) {
			const char *v = json_string_value(json_object_get(diag, keys[i]));

			if (!v || !*v)
				continue;
			fprintf(f, "    %s: ", keys[i]);
			yaml_str(f, v);
			fputc('\n', f);
		}
	}
	if (json_array_size(timeline)) {
		fputs("  timeline:\n", f);
		for (size_t i = 0; i < json_array_size(timeline); i++) {
			json_t *ev = json_array_get(timeline, i);
			KT_AUTOFREE char *line = kt_asprintf("+%.1f ms  %s",
				json_number_value(json_object_get(ev, "at_ms")),
				json_string_value(json_object_get(ev, "event")) ?: "");

			fputs("    - ", f);
			yaml_str(f, line);
			fputc('\n', f);
		}
	}
	if (text && *text) {
		fputs("  output: |\n", f);
		yaml_block(f, text, "    ");
	}
	fputs("  ...\n", f);
}

void kt_runner_tap(FILE *f, const struct kt_job *jobs, const struct kt_outcome *outs, size_t n)
{
	fprintf(f, "TAP version 13\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct kt_outcome *o = &outs[i];

		fprintf(f, "%s %zu - %s", o->verdict == KT_PASS || o->verdict == KT_SKIP ? "ok" : "not ok",
			i + 1, jobs[i].name);
		if (o->verdict == KT_SKIP)
			fprintf(f, " # SKIP %s", o->reason ? o->reason : "");
		fputc('\n', f);
		if (o->verdict == KT_FAIL || o->verdict == KT_ERROR)
			tap_diag(f, &jobs[i], o);
	}
}

int kt_runner_junit(const char *path, const struct kt_job *jobs, const struct kt_outcome *outs,
		    size_t n, const char *suite)
{
	unsigned failures = 0, errors = 0, skipped = 0;
	double total = 0;
	char stamp[32];
	time_t now = time(NULL);
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		failures += outs[i].verdict == KT_FAIL;
		errors += outs[i].verdict == KT_ERROR;
		skipped += outs[i].verdict == KT_SKIP;
		total += outs[i].wall_s;
	}
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime(&now));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites>\n  <testsuite name=\"");
	kt_fputs_xml(f, suite);
	fprintf(f, "\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.3f\" "
		   "timestamp=\"%s\" hostname=\"localhost\" id=\"0\" package=\"ktstr\">\n",
		n, failures, errors, skipped, total, stamp);
	fprintf(f, "    <properties/>\n");
	for (size_t i = 0; i < n; i++) {
		const struct kt_outcome *o = &outs[i];

		fprintf(f, "    <testcase name=\"");
		kt_fputs_xml(f, jobs[i].name);
		fprintf(f, "\" classname=\"");
		kt_fputs_xml(f, suite);
		fprintf(f, "\" time=\"%.3f\"", o->wall_s);
		if (o->verdict == KT_PASS) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, ">\n");
		if (o->verdict == KT_SKIP) {
			fprintf(f, "      <skipped message=\"");
			kt_fputs_xml(f, o->reason ? o->reason : "");
			fprintf(f, "\"/>\n");
		} else {
			/* the body is the report as the terminal shows it: details,
			 * the scheduler's reason, the timeline, the console tail */
			KT_AUTOFREE char *text = report_text(&jobs[i], o);

			fprintf(f, "      <%s message=\"", o->verdict == KT_FAIL ? "failure" : "error");
			kt_fputs_xml(f, o->reason ? o->reason : "");
			fprintf(f, "\" type=\"%s\">", kt_verdict_name(o->verdict));
			kt_fputs_xml(f, text ? text : o->summary ? o->summary : "");
			fprintf(f, "</%s>\n", o->verdict == KT_FAIL ? "failure" : "error");
		}
		fprintf(f, "    </testcase>\n");
	}
	fprintf(f, "    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n");
	return fclose(f) ? -EIO : 0;
}
