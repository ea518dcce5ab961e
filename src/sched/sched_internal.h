/*
 * Internals of the sched module shared by its files and its unit tests:
 * pure parsers of kernel log records and of the tracefs sched_ext dump, the
 * accumulator of sched_ext kernel messages, and small text helpers.  The
 * parsers take text and fill structs; they never touch files, so the tests
 * can feed them text captured in the VM.
 */
#ifndef KTSTR_SCHED_INTERNAL_H
#define KTSTR_SCHED_INTERNAL_H

#include <ktstr/sched.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* One /dev/kmsg record: "PRI,SEQ,TS_US,FLAGS;text\n[ KEY=VAL\n]...". */
struct kt_kmsg_rec {
	int level;		/* syslog level (PRI & 7) */
	uint64_t seq;
	uint64_t ts_us;		/* CLOCK_MONOTONIC at printk time */
	char text[1024];	/* message, \xNN escapes decoded, no newline */
};
/* 0, or -EINVAL when rec is not a kmsg record. */
int kt_kmsg_parse(const char *rec, size_t len, struct kt_kmsg_rec *out);

/*
 * What the kernel said about sched_ext since a scheduler was started.
 * Lines are fed in order; the first "disabled" line wins, the message and
 * backtrace lines after it are kept with it.
 */
struct kt_sched_klog {
	bool enabled_seen;		/* 'BPF scheduler "x" enabled' */
	bool disabled_seen;
	uint64_t disabled_ts_us;
	char *ops_name;			/* name in the enabled/disabled line */
	char *disabled_line;		/* 'BPF scheduler "x" disabled (reason)' */
	char *reason;			/* "runnable task stall" */
	char *msg;			/* "sh[133] failed to run for 2.660s" (lines joined) */
	struct kt_buf backtrace;	/* indented lines after the disable */
	struct kt_buf other;		/* other sched_ext lines (load errors, warnings) */
	bool in_disable;		/* internal: continuation of the disable report */
};
/* Feed one kernel log line (text after the record header). 0 or -ENOMEM. */
int kt_sched_klog_feed(struct kt_sched_klog *k, uint64_t ts_us, const char *line);
void kt_sched_klog_release(struct kt_sched_klog *k);

/*
 * Extract the sched_ext_dump lines from a tracefs "trace" text (lines
 * "... sched_ext_dump: <line>"), joined with '\n'.  *out is NULL when there
 * are none.  0 or -ENOMEM.
 */
int kt_sched_trace_dump_parse(const char *trace, char **out);

/* Last `max_lines` lines (and at most max_bytes) of text, malloc'd. */
char *kt_sched_text_tail(const char *text, size_t len, unsigned max_lines, size_t max_bytes);
/*
 * The scheduler's own exit report from its output: the reason and message
 * of the standard UEI report ("EXIT: reason (msg)", tools/sched_ext's
 * user_exit_info) when there is one, else the last lines that mention an
 * exit or an error (at most max_lines), else NULL.
 */
char *kt_sched_exit_report(const char *text, unsigned max_lines);
/* text with the UEI debug dump block ("DEBUG DUMP", rule, dump, rule)
 * replaced by one line, since the kernel's copy of the dump is shown on
 * its own; NULL when there is no such block (or no memory). */
char *kt_sched_strip_uei_dump(const char *text, size_t len, size_t *out_len);

/*
 * One-line "why" for kt_sched_alive, from what is known:
 *   ejected -> "scheduler ejected: <reason> (<msg>)"
 *   exited  -> "scheduler exited with status N[: <exit report>]"
 *   else    -> "sched_ext state is <state> (ops <ops>)"
 * Pass NULL for unknown parts; exit_status < 0 when it did not exit.
 */
char *kt_sched_why_format(const struct kt_sched_klog *k, int exit_status, const char *state,
			  const char *ops, const char *exit_report);

/* Wait status as words: "status 1", "signal 9 (Killed)". */
void kt_sched_status_str(int wstatus, char *buf, size_t size);

#endif
