/*
 * The human form of a scheduler diagnosis for the verdict: a headline that
 * says what happened and when, then each piece of evidence under its own
 * label.  Pure formatting; no I/O.
 */
#include <stdio.h>
#include <string.h>

#include "sched/sched_internal.h"

/* The text inside the last "(...)" of the first line, e.g. the eject reason. */
static char *paren_reason(const char *s)
{
	const char *nl = strchr(s, '\n');
	size_t n = nl ? (size_t)(nl - s) : strlen(s);
	const char *close = NULL, *open = NULL, *p;

	for (p = s + n; p > s; p--)
		if (p[-1] == ')') {
			close = p - 1;
			break;
		}
	if (!close)
		return NULL;
	for (p = close; p > s; p--)
		if (p[-1] == '(') {
			open = p - 1;
			break;
		}
	return open ? strndup(open + 1, (size_t)(close - open - 1)) : NULL;
}

static int add_section(struct kt_buf *b, const char *label, const char *text)
{
	const char *line = text;

	if (!text || !*text)
		return 0;
	if (kt_buf_printf(b, "%s:\n", label))
		return -1;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		int n = nl ? (int)(nl - line) : (int)strlen(line);

		if (kt_buf_printf(b, "  %.*s\n", n, line))
			return -1;
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

char *kt_sched_diag_format(const struct kt_sched_diag *d)
{
	struct kt_buf b = { 0 };
	char st[64] = "";
	KT_AUTOFREE char *why = NULL;
	int err = 0;

	if (d->exit_status >= 0)
		kt_sched_status_str(d->exit_status, st, sizeof(st));
	if (!d->died) {
		err = kt_buf_printf(&b, "scheduler stayed attached until stopped%s%s\n",
				    st[0] ? "; exited with " : "", st);
	} else {
		why = d->reason ? paren_reason(d->reason) : NULL;
		if (why)
			err = kt_buf_printf(&b, "scheduler %s at %.0f ms: %s",
					    strncmp(why, "unregistered", 12) ? "ejected" : "exited",
					    d->died_at_ms, why);
		else if (st[0])
			err = kt_buf_printf(&b, "scheduler exited with %s at %.0f ms", st, d->died_at_ms);
		else
			err = kt_buf_printf(&b, "scheduler died at %.0f ms", d->died_at_ms);
		if (!err && d->kernel_log_ms > 0)
			err = kt_buf_printf(&b, " (kernel log %.3f s)", d->kernel_log_ms / 1e3);
		if (!err && why && st[0])
			err = kt_buf_printf(&b, "; process exited with %s", st);
		if (!err)
			err = kt_buf_append(&b, "\n", 1);
	}
	if (!err && d->died)
		err = add_section(&b, "kernel", d->reason);
	if (!err)
		err = add_section(&b, "scheduler exit report", d->exit_report);
	if (!err)
		err = add_section(&b, "scheduler output (tail)", d->output_tail);
	if (!err)
		err = add_section(&b, "sched_ext dump", d->dump);
	if (err || kt_buf_append(&b, "", 1)) {
		kt_buf_release(&b);
		return NULL;
	}
	return b.data;
}
