/*
 * The HTML report: one self-contained page (inline CSS and SVG, no
 * scripts or external assets) from a set of result documents: the verdict
 * matrix, then failures first, each variant's timeline.  Reads only the
 * result documents; knows nothing of how they were produced.
 */
#ifndef KTSTR_REPORT_H
#define KTSTR_REPORT_H

#include <jansson.h>
#include <stdio.h>

/* Write dir/index.html from docs (an array of result documents). */
int kt_report_html(const char *dir, json_t *docs, const char *title, char **err);
/* The page itself, to a stream. */
void kt_report_write(FILE *f, json_t *docs, const char *title);

#endif
