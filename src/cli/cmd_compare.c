/*
 * `ktstr compare A B` (two runs directories, or any directories of result
 * files) and `ktstr compare --vs-eevdf DIR` (a gauntlet run made with
 * --vs-eevdf): print regressions and improvements, exit 1 on a regression.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "runner/compare.h"

static const char usage[] =
	"usage: ktstr compare [OPTIONS] BASELINE CANDIDATE\n"
	"       ktstr compare [OPTIONS] --vs-eevdf RUN\n"
	"Pair the results of two runs directories by variant and compare every metric\n"
	"(Welch's t test over the repeats plus a minimum effect size); with --vs-eevdf,\n"
	"the scheduler's variants in RUN against their EEVDF twins.\n\n"
	"  --alpha P           significance level (default 0.05)\n"
	"  --min-effect PCT    smallest relative change that counts (default 10)\n"
	"  --vs-eevdf          compare within one run, against EEVDF\n"
	"  -v, --verbose       print unchanged and untested metrics too\n"
	"\nexit status: 0 no regression, 1 a regression, 64 bad input.\n";

static int load(const char *dir, json_t **docs)
{
	int e = kt_compare_load_dir(dir, docs);

	if (e) {
		kt_cli_error("compare: cannot read %s: %s", dir, strerror(-e));
		return -1;
	}
	if (!json_array_size(*docs)) {
		kt_cli_error("compare: no result files under %s", dir);
		json_decref(*docs);
		return -1;
	}
	return 0;
}

int kt_cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "alpha", required_argument, NULL, 'a' },
		{ "min-effect", required_argument, NULL, 'm' },
		{ "vs-eevdf", no_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct kt_compare_opts o = { .alpha = 0.05, .min_effect = 0.10 };
	bool vs_eevdf = false;
	json_t *a = NULL, *b = NULL;
	int opt, rc;

	argv[0] = (char *)"ktstr compare";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'a':
			o.alpha = strtod(optarg, &end);
			if (*end || !(o.alpha > 0 && o.alpha < 1)) {
				kt_cli_error("bad --alpha '%s': between 0 and 1", optarg);
				return KT_EXIT_USAGE;
			}
			break;
		case 'm':
			o.min_effect = strtod(optarg, &end) / 100;
			if (*end || o.min_effect < 0) {
				kt_cli_error("bad --min-effect '%s': percent, >= 0", optarg);
				return KT_EXIT_USAGE;
			}
			break;
		case 'e': vs_eevdf = true; break;
		case 'v': o.verbose = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs("(see `ktstr compare --help`)\n", stderr); return KT_EXIT_USAGE;
		}
	}
	if (argc - optind != (vs_eevdf ? 1 : 2)) {
		fputs(usage, stderr);
		return KT_EXIT_USAGE;
	}
	if (load(argv[optind], &a))
		return KT_EXIT_USAGE;
	if (vs_eevdf) {
		rc = kt_compare_vs_eevdf(stdout, a, &o);
	} else {
		if (load(argv[optind + 1], &b)) {
			json_decref(a);
			return KT_EXIT_USAGE;
		}
		rc = kt_compare_docs(stdout, a, b, &o);
	}
	json_decref(a);
	json_decref(b);
	if (rc < 0) {
		kt_cli_error("compare: out of memory");
		return KT_EXIT_ENV;
	}
	return rc ? KT_EXIT_FAIL : 0;
}
