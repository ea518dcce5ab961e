/*
 * Pure text handling for the scheduler's diagnosis: /dev/kmsg records,
 * sched_ext's messages in the kernel log, the tracefs dump, output tails
 * and the one-line "why".  No I/O here, so tests feed captured text.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "sched/sched_internal.h"

int kt_kmsg_parse(const char *rec, size_t len, struct kt_kmsg_rec *out)
{
	const char *semi = memchr(rec, ';', len), *p, *end;
	unsigned long long pri, seq, ts;
	size_t o = 0;

	if (!semi)
		return -EINVAL;
	if (sscanf(rec, "%llu,%llu,%llu", &pri, &seq, &ts) != 3)
		return -EINVAL;
	out->level = (int)(pri & 7);
	out->seq = seq;
	out->ts_us = ts;
	/* The message ends at the first newline; " KEY=VAL" dictionary lines follow. */
	p = semi + 1;
	end = memchr(p, '\n', len - (size_t)(p - rec));
	if (!end)
		end = rec + len;
	while (p < end && o + 1 < sizeof(out->text)) {
		unsigned v;

		if (p[0] == '\\' && end - p >= 4 && p[1] == 'x' && sscanf(p + 2, "%2x", &v) == 1) {
			out->text[o++] = v == '\n' || v == '\t' ? ' ' : (char)v;
			p += 4;
			continue;
		}
		out->text[o++] = *p++;
	}
	out->text[o] = '\0';
	return 0;
}

static int klog_append_line(struct kt_buf *b, const char *line)
{
	if (b->len && kt_buf_append(b, "\n", 1))
		return -ENOMEM;
	return kt_buf_append(b, line, strlen(line));
}

static char *strndup_trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/*
 * 'BPF scheduler "NAME" disabled (REASON)' or '... enabled'.  Returns 1 for
 * disabled, 2 for enabled, 0 otherwise.
 */
static int klog_state_line(const char *body, char **name, char **reason)
{
	static const char pfx[] = "BPF scheduler \"";
	const char *q, *rest;

	if (strncmp(body, pfx, sizeof(pfx) - 1))
		return 0;
	body += sizeof(pfx) - 1;
	q = strchr(body, '"');
	if (!q)
		return 0;
	rest = q + 1;
	if (!strncmp(rest, " enabled", 8)) {
		*name = strndup(body, (size_t)(q - body));
		return 2;
	}
	if (strncmp(rest, " disabled", 9))
		return 0;
	*name = strndup(body, (size_t)(q - body));
	rest += 9;
	while (*rest == ' ')
		rest++;
	if (*rest == '(') {
		const char *close = strrchr(rest, ')');

		*reason = close ? strndup(rest + 1, (size_t)(close - rest - 1)) : strdup(rest + 1);
	}
	return 1;
}

int kt_sched_klog_feed(struct kt_sched_klog *k, uint64_t ts_us, const char *line)
{
	static const char pfx[] = "sched_ext: ";
	const char *body;
	char *name = NULL, *reason = NULL;
	int kind, err = 0;

	if (strncmp(line, pfx, sizeof(pfx) - 1)) {
		/* Backtrace lines are indented records right after the report. */
		if (k->in_disable && (line[0] == ' ' || line[0] == '\t')) {
			const char *t = line;

			while (*t == ' ' || *t == '\t')
				t++;
			return klog_append_line(&k->backtrace, t);
		}
		k->in_disable = false;
		return 0;
	}
	body = line + sizeof(pfx) - 1;
	kind = klog_state_line(body, &name, &reason);
	if (kind == 2) {
		k->enabled_seen = true;
		if (!k->ops_name)
			k->ops_name = kt_take_ptr(name);
		k->in_disable = false;
		free(name);
		return 0;
	}
	if (kind == 1) {
		if (k->disabled_seen) {
			/* A later scheduler's disable is not ours to explain. */
			k->in_disable = false;
			free(name);
			free(reason);
			return 0;
		}
		k->disabled_seen = true;
		k->disabled_ts_us = ts_us;
		k->in_disable = true;
		free(k->ops_name);
		k->ops_name = name;
		k->reason = reason;
		k->disabled_line = strndup_trim(body, strlen(body));
		return k->disabled_line ? 0 : -ENOMEM;
	}
	/* "sched_ext: NAME: message" continues the disable report. */
	if (k->in_disable && k->ops_name) {
		size_t n = strlen(k->ops_name);

		if (!strncmp(body, k->ops_name, n) && body[n] == ':') {
			const char *m = body + n + 1;
			char *joined;

			while (*m == ' ')
				m++;
			joined = k->msg ? kt_asprintf("%s; %s", k->msg, m) : strdup(m);
			if (!joined)
				return -ENOMEM;
			free(k->msg);
			k->msg = joined;
			return 0;
		}
	}
	k->in_disable = false;
	err = klog_append_line(&k->other, body);
	return err;
}

void kt_sched_klog_release(struct kt_sched_klog *k)
{
	if (!k)
		return;
	free(k->ops_name);
	free(k->disabled_line);
	free(k->reason);
	free(k->msg);
	kt_buf_release(&k->backtrace);
	kt_buf_release(&k->other);
	memset(k, 0, sizeof(*k));
}

int kt_sched_trace_dump_parse(const char *trace, char **out)
{
	static const char tag[] = " sched_ext_dump: ";
	struct kt_buf b = { 0 };
	const char *line = trace;

	*out = NULL;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		const char *t = memmem(line, n, tag, sizeof(tag) - 1);

		if (line[0] != '#' && t) {
			const char *s = t + sizeof(tag) - 1;

			if ((b.len && kt_buf_append(&b, "\n", 1)) ||
			    kt_buf_append(&b, s, n - (size_t)(s - line))) {
				kt_buf_release(&b);
				return -ENOMEM;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (b.len) {
		if (kt_buf_append(&b, "", 1)) {
			kt_buf_release(&b);
			return -ENOMEM;
		}
		*out = b.data;
	}
	return 0;
}

char *kt_sched_text_tail(const char *text, size_t len, unsigned max_lines, size_t max_bytes)
{
	size_t start = len;
	unsigned lines = 0;

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	start = len;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++lines >= max_lines)
			break;
		if (len - start >= max_bytes)
			break;
		start--;
	}
	return strndup(text + start, len - start);
}

static bool line_mentions_exit(const char *s, size_t n)
{
	static const char *const words[] = { "exit", "error", "abort", "fail", "eject" };
	char low[512];
	size_t i;

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[n] = '\0';
	for (i = 0; i < KT_ARRAY_SIZE(words); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

#define UEI_DUMP_HEAD "DEBUG DUMP\n====="
#define UEI_RULE "================================================================================"

/* Where the standard UEI debug dump block starts and ends in text, if any:
 * "DEBUG DUMP", a rule, the dump, a rule, a blank line. */
static bool uei_dump_block(const char *text, const char **start, const char **end)
{
	const char *h = strstr(text, UEI_DUMP_HEAD), *first, *second;

	if (!h || (h != text && h[-1] != '\n'))
		return false;
	first = strstr(h, UEI_RULE);
	second = first ? strstr(first + sizeof(UEI_RULE) - 1, "\n" UEI_RULE) : NULL;
	if (!second)
		return false;
	second += sizeof(UEI_RULE);	/* past "\n" and the rule */
	while (*second == '\n')
		second++;
	*start = h;
	*end = second;
	return true;
}

char *kt_sched_strip_uei_dump(const char *text, size_t len, size_t *out_len)
{
	KT_AUTOFREE char *copy = text ? strndup(text, len) : NULL;
	const char *a, *b;
	unsigned lines = 0;
	char *out;

	if (!copy || !uei_dump_block(copy, &a, &b))
		return NULL;
	for (const char *p = a; p < b; p++)
		lines += *p == '\n';
	out = kt_asprintf("%.*s[sched_ext debug dump, %u lines: shown under \"sched_ext dump\"]\n%s",
			  (int)(a - copy), copy, lines, b);
	if (out && out_len)
		*out_len = strlen(out);
	return out;
}

/* The reason line of the standard UEI report ("EXIT: reason (msg)"). */
static char *uei_exit_line(const char *text)
{
	const char *found = NULL, *a = NULL, *b = NULL;
	bool dump = uei_dump_block(text, &a, &b);

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');

		if (!strncmp(p, "EXIT: ", 6) && !(dump && p >= a && p < b))
			found = p;
		p = nl ? nl + 1 : NULL;
	}
	if (!found)
		return NULL;
	found += 6;
	return strndup(found, strcspn(found, "\n"));
}

char *kt_sched_exit_report(const char *text, unsigned max_lines)
{
	const char *starts[64];
	size_t lens[64];
	unsigned n = 0, i, first;
	const char *line = text;
	struct kt_buf b = { 0 };

	if (!text || !max_lines)
		return NULL;
	/* A scheduler built on tools/sched_ext's user_exit_info says it in one line. */
	{
		char *uei = uei_exit_line(text);

		if (uei)
			return uei;
	}
	if (max_lines > KT_ARRAY_SIZE(starts))
		max_lines = KT_ARRAY_SIZE(starts);
	/* Keep a ring of the last max_lines matching lines. */
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len && line_mentions_exit(line, len)) {
			starts[n % max_lines] = line;
			lens[n % max_lines] = len;
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!n)
		return NULL;
	first = n > max_lines ? n - max_lines : 0;
	for (i = first; i < n; i++) {
		if ((b.len && kt_buf_append(&b, "\n", 1)) ||
		    kt_buf_append(&b, starts[i % max_lines], lens[i % max_lines])) {
			kt_buf_release(&b);
			return NULL;
		}
	}
	if (kt_buf_append(&b, "", 1)) {
		kt_buf_release(&b);
		return NULL;
	}
	return b.data;
}

void kt_sched_status_str(int wstatus, char *buf, size_t size)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, size, "status %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, size, "signal %d (%s)", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned)wstatus);
}

/* The first line of a possibly multi-line text, for one-line summaries:
 * loaders print the exit reason first and details after it. */
static const char *first_line(const char *s, size_t *n)
{
	const char *nl;

	if (!s)
		return NULL;
	nl = strchr(s, '\n');
	*n = nl ? (size_t)(nl - s) : strlen(s);
	return s;
}

char *kt_sched_why_format(const struct kt_sched_klog *k, int exit_status, const char *state,
			  const char *ops, const char *exit_report)
{
	char st[64];
	size_t rn = 0;
	const char *rep = first_line(exit_report, &rn);

	if (k && k->disabled_seen) {
		const char *reason = k->reason ? k->reason : "disabled";
		/* "unregistered from BPF/user space" is the scheduler leaving,
		 * not the kernel throwing it out. */
		const char *verb = strncmp(reason, "unregistered", 12) ? "ejected" : "exited";

		if (k->msg)
			return kt_asprintf("scheduler %s: %s (%s)", verb, reason, k->msg);
		if (rep && rn)
			return kt_asprintf("scheduler %s: %s; it reported: %.*s", verb, reason, (int)rn, rep);
		return kt_asprintf("scheduler %s: %s", verb, reason);
	}
	if (exit_status >= 0) {
		kt_sched_status_str(exit_status, st, sizeof(st));
		if (rep && rn)
			return kt_asprintf("scheduler exited with %s: %.*s", st, (int)rn, rep);
		return kt_asprintf("scheduler exited with %s", st);
	}
	return kt_asprintf("sched_ext state is %s (ops %s)", state ? state : "unknown",
			   ops && *ops ? ops : "none");
}
