/*
 * `ktstr report merge OUT DIR...`: the results of several shards (their
 * runs directories or --json directories) as one: OUT/junit.xml,
 * OUT/results.tap, OUT/json/ and OUT/index.html, refusing a variant that
 * two shards both ran and, with --expect FILE (a `--list` of the whole
 * gauntlet), any variant that no shard ran.  `ktstr report html OUT
 * DIR...` writes only the page.  TAP and JUnit are rebuilt from the JSON
 * documents, which hold everything they say.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "runner/compare.h"
#include "runner/runner.h"
#include "util/util.h"

static const char usage[] =
	"usage: ktstr report merge [--expect FILE] OUT DIR...\n"
	"       ktstr report html OUT DIR...\n"
	"merge: one report from shards' result directories: OUT/junit.xml, OUT/results.tap,\n"
	"OUT/json/ and OUT/index.html.  A variant found in two shards is an error; with\n"
	"--expect FILE (the output of `ktstr gauntlet ... --list`), so is one found in none.\n"
	"html: just OUT/index.html.\n"
	"\nexit status: 0 merged and all passed, 1 a failure, 64 bad input (overlap, gaps).\n";

static enum kt_verdict verdict_of(json_t *doc)
{
	return kt_verdict_from_key(json_string_value(json_object_get(doc, "verdict")));
}

static const char *doc_name(json_t *doc)
{
	const char *n = json_string_value(json_object_get(doc, "name"));

	return n ? n : "?";
}

static int by_name(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(doc_name(x), doc_name(y));
}

/* Load every DIR; docs sorted by name; -1 (printed) on overlap or error. */
static int load_all(char **dirs, int n, json_t **out)
{
	json_t *all = json_array();
	KT_AUTOFREE json_t **sorted = NULL;
	size_t total;
	int bad = 0;

	for (int i = 0; i < n; i++) {
		json_t *docs;
		int e = kt_compare_load_dir(dirs[i], &docs);

		if (e) {
			kt_cli_error("report: cannot read %s: %s", dirs[i], strerror(-e));
			json_decref(all);
			return -1;
		}
		for (size_t k = 0; k < json_array_size(docs); k++)
			json_object_set_new(json_array_get(docs, k), "shard_dir", json_string(dirs[i]));
		json_array_extend(all, docs);
		json_decref(docs);
	}
	total = json_array_size(all);
	sorted = calloc(total + 1, sizeof(*sorted));
	if (!sorted) {
		json_decref(all);
		return -1;
	}
	for (size_t i = 0; i < total; i++)
		sorted[i] = json_array_get(all, i);
	qsort(sorted, total, sizeof(*sorted), by_name);
	for (size_t i = 1; i < total; i++)
		if (!strcmp(doc_name(sorted[i]), doc_name(sorted[i - 1]))) {
			kt_cli_error("report: %s is in both %s and %s: shards must not overlap",
				     doc_name(sorted[i]),
				     json_string_value(json_object_get(sorted[i - 1], "shard_dir")),
				     json_string_value(json_object_get(sorted[i], "shard_dir")));
			bad = 1;
		}
	*out = json_array();
	for (size_t i = 0; i < total; i++) {
		json_object_del(sorted[i], "shard_dir");
		json_array_append(*out, sorted[i]);
	}
	json_decref(all);
	return bad ? -1 : 0;
}

/* Every variant of the --list output must be among the results. */
static int check_expected(const char *file, json_t *docs)
{
	FILE *f = fopen(file, "re");
	char line[1024];
	size_t missing = 0, expected = 0;

	if (!f) {
		kt_cli_error("report: cannot read %s: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		bool found = false;

		line[strcspn(line, "\t\n")] = '\0';
		if (!*line)
			continue;
		expected++;
		for (size_t i = 0; i < json_array_size(docs) && !found; i++) {
			json_t *d = json_array_get(docs, i);
			const char *v = json_string_value(json_object_get(json_object_get(d, "variant"), "name"));

			found = (v && !strcmp(v, line)) || !strcmp(doc_name(d), line);
		}
		if (!found) {
			if (missing++ < 20)
				kt_cli_error("report: %s was run by no shard", line);
		}
	}
	fclose(f);
	if (missing)
		kt_cli_error("report: %zu of %zu expected variants missing", missing, expected);
	return missing ? -1 : 0;
}

static int write_outputs(const char *out, json_t *docs, size_t *counts)
{
	size_t n = json_array_size(docs);
	KT_AUTOFREE struct kt_job *jobs = calloc(n + 1, sizeof(*jobs));
	KT_AUTOFREE struct kt_outcome *outs = calloc(n + 1, sizeof(*outs));
	KT_AUTOFREE char *jdir = kt_asprintf("%s/json", out);
	KT_AUTOFREE char *junit = kt_asprintf("%s/junit.xml", out);
	KT_AUTOFREE char *tap = kt_asprintf("%s/results.tap", out);
	FILE *f;
	int rc = 0;

	if (!jobs || !outs || !jdir || !junit || !tap || kt_mkdir_p(jdir, 0755))
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(docs, i);
		json_t *res = json_object_get(json_object_get(d, "guest"), "result");

		/* borrowed strings: nothing here is released with kt_job_release */
		jobs[i].name = (char *)doc_name(d);
		jobs[i].host = json_is_true(json_object_get(d, "host"));
		outs[i].verdict = verdict_of(d);
		outs[i].reason = (char *)json_string_value(json_object_get(d, "reason"));
		outs[i].summary = (char *)json_string_value(json_object_get(res, "summary"));
		outs[i].wall_s = json_number_value(json_object_get(json_object_get(d, "timings"), "wall_s"));
		outs[i].host_wait_pct = json_is_number(json_object_get(json_object_get(d, "timings"),
									"host_cpu_wait_pct"))
			? json_number_value(json_object_get(json_object_get(d, "timings"), "host_cpu_wait_pct"))
			: -1;
		outs[i].doc = d;
		counts[outs[i].verdict]++;
		if (kt_runner_write_json(jdir, &jobs[i], &outs[i]))
			rc = -1;
	}
	if (kt_runner_junit(junit, jobs, outs, n, "ktstr-gauntlet"))
		rc = -1;
	f = fopen(tap, "we");
	if (!f)
		return -1;
	kt_runner_tap(f, jobs, outs, n);
	if (fclose(f))
		rc = -1;
	return rc;
}

int kt_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *expect = NULL, *sub, *out;
	json_t *docs = NULL;
	size_t counts[4] = { 0 };
	char *err = NULL;
	int opt, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? KT_EXIT_USAGE : 0;
	}
	sub = argv[1];
	if (strcmp(sub, "merge") && strcmp(sub, "html")) {
		kt_cli_error("report: unknown subcommand '%s' (merge or html)", sub);
		return KT_EXIT_USAGE;
	}
	argv++;
	argc--;
	argv[0] = (char *)"ktstr report";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e': expect = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs("(see `ktstr report --help`)\n", stderr); return KT_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		fputs(usage, stderr);
		return KT_EXIT_USAGE;
	}
	out = argv[optind];
	if (load_all(argv + optind + 1, argc - optind - 1, &docs)) {
		json_decref(docs);
		return KT_EXIT_USAGE;
	}
	if (!json_array_size(docs)) {
		kt_cli_error("report: no result files found");
		json_decref(docs);
		return KT_EXIT_USAGE;
	}
	if (expect && check_expected(expect, docs)) {
		json_decref(docs);
		return KT_EXIT_USAGE;
	}
	if (kt_mkdir_p(out, 0755)) {
		kt_cli_error("report: cannot create %s: %s", out, strerror(errno));
		json_decref(docs);
		return KT_EXIT_ENV;
	}
	if (!strcmp(sub, "merge") && write_outputs(out, docs, counts)) {
		kt_cli_error("report: cannot write into %s", out);
		json_decref(docs);
		return KT_EXIT_ENV;
	}
	if (kt_report_html(out, docs, "ktstr gauntlet", &err)) {
		kt_cli_error("report: cannot write %s/index.html: %s", out, err ? err : "?");
		free(err);
		json_decref(docs);
		return KT_EXIT_ENV;
	}
	if (!strcmp(sub, "html")) {
		for (size_t i = 0; i < json_array_size(docs); i++)
			counts[verdict_of(json_array_get(docs, i))]++;
	}
	printf("%zu results: %zu passed, %zu failed, %zu skipped -> %s\n", json_array_size(docs),
	       counts[KT_PASS], counts[KT_FAIL] + counts[KT_ERROR], counts[KT_SKIP], out);
	rc = counts[KT_FAIL] || counts[KT_ERROR] ? KT_EXIT_FAIL : 0;
	json_decref(docs);
	return rc;
}
