/*
 * Comparing runs: results paired by variant across two runs directories
 * (or a scheduler's variants with their EEVDF twins in one run), every
 * metric judged with its polarity by a significance test over the repeats
 * plus a minimum effect size, and a verdict flip (pass -> fail) always a
 * regression.  The statistics are small and kept here so they can be
 * unit-tested against known values.
 */
#ifndef KTSTR_COMPARE_H
#define KTSTR_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

double kt_stats_mean(const double *x, size_t n);
/* Sample variance (n - 1 in the denominator); 0 for n < 2. */
double kt_stats_var(const double *x, size_t n);
/* Regularized incomplete beta function I_x(a, b), for the t distribution. */
double kt_stats_betai(double a, double b, double x);
/* Two-sided p of Student's t with df degrees of freedom at |t|. */
double kt_stats_t_p(double t, double df);
/*
 * Welch's unequal-variance t test: two-sided p-value that the means of a
 * and b differ.  1 when either side has fewer than 2 samples; when both
 * variances are 0, 0 if the means differ and 1 if not.
 */
double kt_stats_welch_p(const double *a, size_t na, const double *b, size_t nb);

/* A metric of the result documents and which way is better. */
struct kt_metric {
	const char *name;		/* as printed */
	const char *path;		/* dotted path in the result document */
	int better;			/* +1 higher is better, -1 lower is better */
	double floor;			/* differences below this are noise whatever p says */
};
/* NULL-name-terminated table of the metrics compared. */
const struct kt_metric *kt_compare_metrics(void);
/* Value at a dotted path ("guest.result.stats.spread_pct"); false if absent. */
bool kt_compare_value(json_t *doc, const char *path, double *out);

struct kt_compare_opts {
	double alpha;			/* significance level (default 0.05) */
	double min_effect;		/* minimum relative change of the mean (default 0.10) */
	bool verbose;			/* print unchanged metrics too */
};

/*
 * Pair base and cand (arrays of result documents) by variant and compare.
 * The pairing key is test, preset, profile, kernel and scheduler, minus
 * any of those that takes a single value on each side (the dimension the
 * comparison is across).  Prints one line per regression and improvement
 * and a summary; returns the number of regressions (or -errno).
 */
int kt_compare_docs(FILE *f, json_t *base, json_t *cand, const struct kt_compare_opts *o);
/* Within one run: scheduler variants against their EEVDF twins. */
int kt_compare_vs_eevdf(FILE *f, json_t *docs, const struct kt_compare_opts *o);
/* Every result document (schema ktstr-result/1) under dir, recursively. */
int kt_compare_load_dir(const char *dir, json_t **docs);

#endif
