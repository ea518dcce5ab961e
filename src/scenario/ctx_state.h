/*
 * ktstr's own part of the scenario context: what the runner that makes a
 * struct kt_ctx attaches to it (timeline, flag profile, scheduler hooks)
 * and what the scenario layer keeps there while it runs (abort state, the
 * workers kt_ctx_sleep watches).  Test bodies never see these fields:
 * the public header has only the guide's Ctx and a pointer to this, and
 * kt_ctx_timeline() / kt_ctx_abort_reason() give what a body may read.
 *
 * The owner (the runner; a unit test) keeps the state beside the ctx,
 * points ctx->state at it, and calls kt_ctx_release() when done.
 */
#ifndef KTSTR_SCENARIO_CTX_STATE_H
#define KTSTR_SCENARIO_CTX_STATE_H

#include <ktstr/scenario.h>

struct kt_ctx_watch;

/* Scheduler liveness hook, installed by whoever started the scheduler:
 * returns true while it is healthy, else false with *why (malloc'd). */
typedef bool (*kt_sched_alive_fn)(struct kt_ctx *ctx, char **why);

struct kt_ctx_state {
	struct kt_timeline *timeline;		/* every op, step and finding; owner frees */
	const char *const *flags;		/* active flag profile (NULL-terminated) */
	kt_sched_alive_fn sched_alive;		/* NULL when no scheduler */
	void *sched_data;
	/* Called once when kt_ctx_sleep ends a test early because a worker is
	 * stuck past max_gap_ms (the runner stops the scheduler here, so the
	 * stuck workers can run, report and exit).  May be NULL. */
	void (*on_abort)(struct kt_ctx *ctx);
	char *abort_reason;			/* set once a failure is certain (malloc'd) */
	bool abort_reported;			/* abort_reason is in a result already */
	struct kt_ctx_watch *watch;		/* workers kt_ctx_sleep watches */
};

#endif
