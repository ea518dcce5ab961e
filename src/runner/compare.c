/*
 * placeholder
 */
#include "runner/compare.h"

int kt_compare_vs_eevdf(FILE *f, json_t *docs, const struct kt_compare_opts *o)
{
	return 0;
}
