/*
 * The HTML report: a verdict matrix (rows test/profile[/kernel], columns
 * presets, each cell coloured by its runs' verdicts), then one section per
 * result, failures first, each with its findings and an SVG timeline:
 * the setup and run phases, the ops and steps, scheduler events (attach,
 * death) and, where the result carries them, each worker's progress with
 * its gaps and the monitor's per-CPU run-queue samples.  One file, inline
 * CSS and SVG, no scripts: it must open from a CI artifact as it is.
 */
#include "report/report.h"

#include <errno.h>
#include <string.h>

#include "util/util.h"

#define SVG_W 1000
#define LEFT 150	/* room for lane labels */

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *verdict(json_t *doc)
{
	const char *v = str(doc, "verdict");

	return v ? v : "error";
}

static int rank(const char *v)
{
	return !strcmp(v, "fail") ? 0 : !strcmp(v, "error") ? 1 : !strcmp(v, "pass") ? 3 : 2;
}

/* Identity of a result: its gauntlet variant when it has one. */
static const char *vfield(json_t *doc, const char *k)
{
	const char *s = str(json_object_get(doc, "variant"), k);

	if (s)
		return s;
	if (!strcmp(k, "preset"))
		return str(doc, "topology") ? str(doc, "topology") : "?";
	if (!strcmp(k, "test") || !strcmp(k, "name"))
		return str(doc, "name") ? str(doc, "name") : "?";
	return "";
}

static char *row_key(json_t *doc, bool kernels)
{
	const char *prof = vfield(doc, "profile");

	return kt_asprintf("%s%s%s%s%s", vfield(doc, "test"), *prof ? "/" : "", prof,
			   kernels ? " @ " : "", kernels ? vfield(doc, "kernel") : "");
}

/* Add s to the list unless it is there already (order of first sight). */
static void intern(struct kt_strlist *l, const char *s)
{
	if (s && !kt_strlist_has(l, s))
		kt_strlist_add(l, s);
}

static void anchor(FILE *f, json_t *doc)
{
	for (const char *p = str(doc, "name"); p && *p; p++)
		fputc((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
		      ? *p : '_', f);
}

static void matrix(FILE *f, json_t *docs)
{
	struct kt_strlist rows = { 0 }, cols = { 0 };
	size_t n = json_array_size(docs);
	bool kernels = false;
	const char *k0 = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *k = vfield(json_array_get(docs, i), "kernel");

		if (k0 && strcmp(k0, k))
			kernels = true;
		k0 = k;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(docs, i);
		KT_AUTOFREE char *r = row_key(d, kernels);

		intern(&rows, r);
		intern(&cols, vfield(d, "preset"));
	}
	fprintf(f, "<table class=\"matrix\"><tr><th>test / profile%s</th>", kernels ? " @ kernel" : "");
	for (size_t c = 0; c < cols.n; c++) {
		fputs("<th class=\"col\"><div>", f);
		kt_fputs_xml(f, cols.v[c]);
		fputs("</div></th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t r = 0; r < rows.n; r++) {
		fputs("<tr><th class=\"row\">", f);
		kt_fputs_xml(f, rows.v[r]);
		fputs("</th>", f);
		for (size_t c = 0; c < cols.n; c++) {
			size_t runs = 0, passed = 0;
			int worst = 4;
			json_t *first = NULL;

			for (size_t i = 0; i < n; i++) {
				json_t *d = json_array_get(docs, i);
				KT_AUTOFREE char *rk = row_key(d, kernels);

				if (!rk || strcmp(rk, rows.v[r]) || strcmp(vfield(d, "preset"), cols.v[c]))
					continue;
				runs++;
				passed += !strcmp(verdict(d), "pass");
				if (rank(verdict(d)) < worst) {
					worst = rank(verdict(d));
					first = d;
				}
			}
			if (!runs) {
				fputs("<td class=\"none\"></td>", f);
				continue;
			}
			fprintf(f, "<td class=\"%s\"><a href=\"#", verdict(first));
			anchor(f, first);
			fprintf(f, "\" title=\"%s\">%zu/%zu</a></td>", verdict(first), passed, runs);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	kt_strlist_release(&rows);
	kt_strlist_release(&cols);
}

/* ---- the timeline ------------------------------------------------------ */

struct scale {
	double t1;		/* ms at the right edge */
};

static double x_of(const struct scale *s, double ms)
{
	double x = LEFT + (SVG_W - LEFT - 10) * (ms / s->t1);

	return x < LEFT ? LEFT : x > SVG_W - 10 ? SVG_W - 10 : x;
}

static const char *event_class(const char *e)
{
	if (strstr(e, "died") || strstr(e, "eject") || strstr(e, "exited") || strstr(e, "fail"))
		return "ev-bad";
	if (!strncmp(e, "scheduler", 9))
		return "ev-sched";
	if (!strncmp(e, "step", 4) || strstr(e, "op "))
		return "ev-op";
	return "ev-other";
}

static void lane_label(FILE *f, double y, const char *text)
{
	fprintf(f, "<text class=\"lane\" x=\"%d\" y=\"%.1f\">", LEFT - 6, y);
	kt_fputs_xml(f, text);
	fputs("</text>\n", f);
}

/* Workers, when the result has them: guest.workers[] = {name, samples:
 * [[at_ms, work_units]...], gaps: [[from_ms, to_ms]...]}. */
static double workers_lanes(FILE *f, json_t *workers, const struct scale *s, double y)
{
	for (size_t w = 0; w < json_array_size(workers); w++) {
		json_t *wk = json_array_get(workers, w), *samples = json_object_get(wk, "samples");
		json_t *gaps = json_object_get(wk, "gaps");
		double max = 0;

		for (size_t i = 0; i < json_array_size(samples); i++) {
			double u = json_number_value(json_array_get(json_array_get(samples, i), 1));

			max = u > max ? u : max;
		}
		lane_label(f, y + 12, str(wk, "name") ? str(wk, "name") : "worker");
		fprintf(f, "<rect class=\"lanebg\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"16\"/>\n",
			LEFT, y, SVG_W - LEFT - 10);
		for (size_t i = 0; i < json_array_size(gaps); i++) {
			json_t *g = json_array_get(gaps, i);
			double a = json_number_value(json_array_get(g, 0)), b = json_number_value(json_array_get(g, 1));

			fprintf(f, "<rect class=\"gap\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\">"
				   "<title>gap %.0f ms at %.0f ms</title></rect>\n",
				x_of(s, a), y, x_of(s, b) - x_of(s, a) < 2 ? 2 : x_of(s, b) - x_of(s, a), b - a, a);
		}
		if (json_array_size(samples) > 1 && max > 0) {
			fputs("<polyline class=\"progress\" points=\"", f);
			for (size_t i = 0; i < json_array_size(samples); i++) {
				json_t *p = json_array_get(samples, i);

				fprintf(f, "%.1f,%.1f ", x_of(s, json_number_value(json_array_get(p, 0))),
					y + 15 - 14 * json_number_value(json_array_get(p, 1)) / max);
			}
			fputs("\"/>\n", f);
		}
		y += 20;
	}
	return y;
}

/* Run queues, when the monitor kept its samples: guest.monitor.series =
 * {t0_ms, period_ms, at_ms: [row start...], nr_running: [[cpu0, cpu1, ...]
 * per row]}; without at_ms, rows are period_ms apart from t0_ms. */
static double row_start(json_t *series, size_t i)
{
	json_t *at = json_array_get(json_object_get(series, "at_ms"), i);

	if (json_is_number(at))
		return json_number_value(at);
	return json_number_value(json_object_get(series, "t0_ms")) +
	       json_number_value(json_object_get(series, "period_ms")) * (double)i;
}

static double runqueue_lanes(FILE *f, json_t *series, const struct scale *s, double y)
{
	json_t *rows = json_object_get(series, "nr_running");
	double period = json_number_value(json_object_get(series, "period_ms"));
	size_t ncpu = json_array_size(json_array_get(rows, 0)), n = json_array_size(rows);

	if (!n || !ncpu || !(period > 0))
		return y;
	for (size_t c = 0; c < ncpu; c++) {
		char label[32];

		snprintf(label, sizeof(label), "rq cpu %zu", c);
		lane_label(f, y + 8, label);
		for (size_t i = 0; i < n; i++) {
			json_t *cell = json_array_get(json_array_get(rows, i), c);
			double v = json_number_value(cell), a = row_start(series, i);
			double b = i + 1 < n ? row_start(series, i + 1) : a + period;
			int shade = v <= 0 ? 0 : v >= 4 ? 4 : (int)(v + 0.5);

			if (!json_is_number(cell))
				continue;	/* unknown in this row */
			fprintf(f, "<rect class=\"rq%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"9\">"
				   "<title>cpu %zu at %.0f ms: %g runnable</title></rect>\n",
				shade, x_of(s, a), y, x_of(s, b) - x_of(s, a), c, a, v);
		}
		y += 11;
	}
	return y;
}

static void timeline(FILE *f, json_t *doc)
{
	json_t *g = json_object_get(doc, "guest"), *tl = json_object_get(g, "timeline");
	json_t *timings = json_object_get(g, "timings"), *diag = json_object_get(g, "scheduler_diag");
	json_t *workers = json_object_get(g, "workers");
	json_t *series = json_object_get(json_object_get(g, "monitor"), "series");
	json_t *stats = json_object_get(json_object_get(g, "result"), "stats");
	double setup = json_number_value(json_object_get(timings, "setup_ms"));
	double run = json_number_value(json_object_get(timings, "run_ms"));
	double init = json_number_value(json_object_get(g, "guest_init_ms"));
	/* died_at_ms is guest uptime; the timeline counts from init's start */
	double died = json_is_true(json_object_get(diag, "died"))
		      ? json_number_value(json_object_get(diag, "died_at_ms")) - init : -1;
	struct scale s = { .t1 = setup + run };
	size_t nw = json_array_size(workers);
	size_t ncpu = json_array_size(json_array_get(json_object_get(series, "nr_running"), 0));
	double y, h;

	for (size_t i = 0; i < json_array_size(tl); i++) {
		double at = json_number_value(json_object_get(json_array_get(tl, i), "at_ms"));

		s.t1 = at > s.t1 ? at : s.t1;
	}
	if (died > s.t1)
		s.t1 = died;
	if (!(s.t1 > 0))
		return;
	s.t1 *= 1.02;
	h = 30 + 20 + 34 + 20.0 * nw + 11.0 * ncpu + 24;
	fprintf(f, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		   "height=\"%.0f\" viewBox=\"0 0 %d %.0f\" role=\"img\">\n", SVG_W, h, SVG_W, h);
	/* time axis */
	for (int k = 0; k <= 10; k++) {
		double ms = s.t1 * k / 10;

		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"%.0f\"/>"
			   "<text class=\"tick\" x=\"%.1f\" y=\"10\">%.1f s</text>\n",
			x_of(&s, ms), x_of(&s, ms), h - 4, x_of(&s, ms), ms / 1000);
	}
	y = 20;
	lane_label(f, y + 12, "phases");
	fprintf(f, "<rect class=\"setup\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\">"
		   "<title>boot to scenario start: %.0f ms</title></rect>\n",
		x_of(&s, 0), y, x_of(&s, setup) - x_of(&s, 0), setup);
	fprintf(f, "<rect class=\"run\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\">"
		   "<title>scenario: %.0f ms</title></rect>\n",
		x_of(&s, setup), y, x_of(&s, setup + run) - x_of(&s, setup), run);
	y += 24;
	lane_label(f, y + 12, "ops / scheduler");
	for (size_t i = 0; i < json_array_size(tl); i++) {
		json_t *e = json_array_get(tl, i);
		const char *text = str(e, "event") ? str(e, "event") : "";
		double x = x_of(&s, json_number_value(json_object_get(e, "at_ms")));

		fprintf(f, "<g class=\"%s\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
			   "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/><text x=\"%.1f\" y=\"%.1f\">%zu</text>"
			   "<title>%.0f ms: ", event_class(text), x, y, x, y + 26, x, y + 8, x + 5,
			y + 24 - 8.0 * (double)(i % 2), i + 1,
			json_number_value(json_object_get(e, "at_ms")));
		kt_fputs_xml(f, text);
		fputs("</title></g>\n", f);
	}
	if (died >= 0) {
		fprintf(f, "<g class=\"ev-bad\"><line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"%.0f\" "
			   "class=\"death\"/><title>scheduler died at %.0f ms</title></g>\n",
			x_of(&s, died), x_of(&s, died), h - 4, died);
	}
	y += 34;
	y = workers_lanes(f, workers, &s, y);
	y = runqueue_lanes(f, series, &s, y);
	fputs("</svg>\n", f);
	if (json_number_value(json_object_get(stats, "worst_gap_ms")) > 0) {
		fprintf(f, "<p class=\"note\">worst gap %.0f ms",
			json_number_value(json_object_get(stats, "worst_gap_ms")));
		if (str(stats, "worst_gap_worker")) {
			fputs(": ", f);
			kt_fputs_xml(f, str(stats, "worst_gap_worker"));
		}
		if (json_is_integer(json_object_get(stats, "worst_gap_cpu")))
			fprintf(f, " on CPU %lld",
				(long long)json_integer_value(json_object_get(stats, "worst_gap_cpu")));
		fputs("</p>\n", f);
	}
	if (!nw || !ncpu)
		fprintf(f, "<p class=\"note\">%s%s%s</p>\n",
			!nw ? "This result has no per-worker progress samples" : "",
			!nw && !ncpu ? "; " : "",
			!ncpu ? "no per-CPU run-queue series (the monitor keeps aggregates only)" : "");
	/* the events, numbered as on the drawing */
	if (json_array_size(tl)) {
		fputs("<ol class=\"events\">", f);
		for (size_t i = 0; i < json_array_size(tl); i++) {
			json_t *e = json_array_get(tl, i);

			fprintf(f, "<li class=\"%s\"><span class=\"ms\">%.0f ms</span> ",
				event_class(str(e, "event") ? str(e, "event") : ""),
				json_number_value(json_object_get(e, "at_ms")));
			kt_fputs_xml(f, str(e, "event"));
			fputs("</li>", f);
		}
		fputs("</ol>\n", f);
	}
}

static void section(FILE *f, json_t *doc)
{
	json_t *g = json_object_get(doc, "guest"), *res = json_object_get(g, "result");
	json_t *details = json_object_get(res, "details"), *diag = json_object_get(g, "scheduler_diag");
	json_t *stats = json_object_get(res, "stats");
	const char *v = verdict(doc), *k;
	json_t *val;

	fputs("<section class=\"variant\" id=\"", f);
	anchor(f, doc);
	fprintf(f, "\"><h3><span class=\"badge %s\">%s</span> ", v, v);
	kt_fputs_xml(f, str(doc, "name"));
	fputs(" <small>", f);
	kt_fputs_xml(f, str(doc, "topology"));
	fputs(" · ", f);
	kt_fputs_xml(f, str(doc, "scheduler"));
	if (str(doc, "kernel")) {
		fputs(" · ", f);
		kt_fputs_xml(f, str(doc, "kernel"));
	}
	fprintf(f, " · %.1f s</small></h3>\n",
		json_number_value(json_object_get(json_object_get(doc, "timings"), "wall_s")));
	if (str(doc, "reason") && strcmp(v, "pass")) {
		fputs("<p class=\"reason\">", f);
		kt_fputs_xml(f, str(doc, "reason"));
		fputs("</p>\n", f);
	}
	if (json_array_size(details) > 1) {
		fputs("<ul class=\"details\">", f);
		for (size_t i = 0; i < json_array_size(details); i++) {
			fputs("<li>", f);
			kt_fputs_xml(f, json_string_value(json_array_get(details, i)));
			fputs("</li>", f);
		}
		fputs("</ul>\n", f);
	}
	if (json_object_size(stats)) {
		fputs("<p class=\"stats\">", f);
		json_object_foreach(stats, k, val) {
			if (json_is_number(val))
				fprintf(f, "<span>%s <b>%.4g</b></span> ", k, json_number_value(val));
		}
		fputs("</p>\n", f);
	}
	timeline(f, doc);
	if (json_is_true(json_object_get(diag, "died"))) {
		fputs("<details open><summary>scheduler diagnosis</summary><pre>", f);
		json_object_foreach(diag, k, val) {
			if (json_is_string(val) && *json_string_value(val)) {
				fprintf(f, "== %s\n", k);
				kt_fputs_xml(f, json_string_value(val));
				fputc('\n', f);
			}
		}
		fputs("</pre></details>\n", f);
	}
	if (str(doc, "console_tail") && strcmp(v, "pass")) {
		fputs("<details><summary>console tail</summary><pre>", f);
		kt_fputs_xml(f, str(doc, "console_tail"));
		fputs("</pre></details>\n", f);
	}
	fputs("</section>\n", f);
}

static int by_verdict(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int d = rank(verdict(x)) - rank(verdict(y));
	const char *nx = str(x, "name"), *ny = str(y, "name");

	return d ? d : strcmp(nx ? nx : "", ny ? ny : "");
}

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}"
	"h3{font-size:15px;margin:0 0 6px}small{color:#666;font-weight:normal}"
	".counts span{margin-right:14px}"
	"table.matrix{border-collapse:collapse;font-size:12px}"
	".matrix th,.matrix td{border:1px solid #ddd;padding:3px 6px;text-align:center}"
	".matrix th.row{text-align:left;font-weight:normal;white-space:nowrap}"
	".matrix th.col{height:110px;vertical-align:bottom;padding:2px}"
	".matrix th.col div{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}"
	".matrix td a{color:inherit;text-decoration:none;display:block}"
	"td.pass,.badge.pass{background:#2e9d4f;color:#fff}"
	"td.fail,.badge.fail{background:#d23c3c;color:#fff}"
	"td.error,.badge.error{background:#e88a1a;color:#fff}"
	"td.skip,.badge.skip{background:#b9b9b9;color:#fff}td.none{background:#f6f6f6}"
	".badge{padding:1px 7px;border-radius:3px;font-size:12px;text-transform:uppercase}"
	"section.variant{border-top:1px solid #ddd;padding:12px 0}"
	".reason{color:#b00;font-weight:600;margin:4px 0}.stats span{margin-right:10px;color:#555}"
	".note{color:#888;font-size:12px;margin:2px 0}"
	"ol.events{font-size:12px;color:#444;columns:2;margin:4px 0}.ms{color:#888}"
	"li.ev-bad{color:#b00}li.ev-sched{color:#2158a8}"
	"pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:320px;font-size:12px}"
	"svg.timeline{display:block;margin:6px 0}"
	"svg .grid{stroke:#eee}svg .tick{font-size:10px;fill:#888;text-anchor:middle}"
	"svg .lane{font-size:11px;fill:#555;text-anchor:end}"
	"svg .setup{fill:#c9d6ea}svg .run{fill:#8fb3e0}svg .lanebg{fill:#f3f3f3}"
	"svg .gap{fill:#d23c3c}svg .progress{fill:none;stroke:#2e9d4f;stroke-width:1.5}"
	"svg g line{stroke-width:1.5}svg g text{font-size:10px}"
	"svg .ev-op line{stroke:#777}svg .ev-op circle{fill:#777}svg .ev-op text{fill:#555}"
	"svg .ev-sched line{stroke:#2158a8}svg .ev-sched circle{fill:#2158a8}svg .ev-sched text{fill:#2158a8}"
	"svg .ev-bad line{stroke:#d23c3c}svg .ev-bad circle{fill:#d23c3c}svg .ev-bad text{fill:#d23c3c}"
	"svg .ev-other line{stroke:#aaa}svg .ev-other circle{fill:#aaa}svg .ev-other text{fill:#888}"
	"svg .death{stroke-dasharray:4 3;stroke-width:2}"
	"svg .rq0{fill:#f3f3f3}svg .rq1{fill:#cfe3f7}svg .rq2{fill:#8fbfe8}svg .rq3{fill:#e0a040}svg .rq4{fill:#d23c3c}";

void kt_report_write(FILE *f, json_t *docs, const char *title)
{
	size_t n = json_array_size(docs), counts[4] = { 0 };
	KT_AUTOFREE json_t **sorted = calloc(n + 1, sizeof(*sorted));

	for (size_t i = 0; i < n; i++) {
		const char *v = verdict(json_array_get(docs, i));

		counts[!strcmp(v, "pass") ? 0 : !strcmp(v, "fail") ? 1 : !strcmp(v, "skip") ? 3 : 2]++;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
	kt_fputs_xml(f, title);
	fprintf(f, "</title><style>%s</style></head><body>\n<h1>", css);
	kt_fputs_xml(f, title);
	fprintf(f, "</h1>\n<p class=\"counts\"><span>%zu results</span><span>%zu passed</span>"
		   "<span>%zu failed</span><span>%zu errors</span><span>%zu skipped</span></p>\n",
		n, counts[0], counts[1], counts[2], counts[3]);
	fputs("<h2>Verdicts</h2>\n", f);
	matrix(f, docs);
	fputs("<h2>Variants, failures first</h2>\n", f);
	if (sorted) {
		for (size_t i = 0; i < n; i++)
			sorted[i] = json_array_get(docs, i);
		qsort(sorted, n, sizeof(*sorted), by_verdict);
		for (size_t i = 0; i < n; i++)
			section(f, sorted[i]);
	}
	fputs("</body></html>\n", f);
}

int kt_report_html(const char *dir, json_t *docs, const char *title, char **err)
{
	KT_AUTOFREE char *path = kt_asprintf("%s/index.html", dir);
	FILE *f;
	int e = kt_mkdir_p(dir, 0755);

	if (e || !path) {
		*err = kt_asprintf("%s: %s", dir, strerror(e ? -e : ENOMEM));
		return e ? e : -ENOMEM;
	}
	f = fopen(path, "we");
	if (!f) {
		e = -errno;
		*err = kt_asprintf("%s: %s", path, strerror(errno));
		return e;
	}
	kt_report_write(f, docs, title);
	if (fclose(f)) {
		*err = kt_asprintf("%s: write failed", path);
		return -EIO;
	}
	return 0;
}
