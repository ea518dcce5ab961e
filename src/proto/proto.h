/*
 * The host <-> guest protocol, both ends: the request the host puts into
 * the guest's initramfs (one struct, one emitter, one parser) and the
 * result the guest sends back (its version checked here), and the one
 * function that turns a guest's result into a verdict.  Schemas:
 * docs/request-schema.json, docs/result-schema.json.  Internal to
 * libktstr; knows nothing of QEMU, test registries or how a request is
 * executed, and does no I/O.
 */
#ifndef KTSTR_PROTO_H
#define KTSTR_PROTO_H

#include <jansson.h>
#include <ktstr/check.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

/*
 * Both documents carry it ("version"); a guest refuses a request of
 * another version and a host refuses such a result.  Raise it when a
 * field is added, removed or changes meaning: both parsers are strict.
 */
#define KT_PROTO_VERSION 1

enum kt_proto_mode {
	KT_MODE_CMD = 1,		/* run argv, report its exit status */
	KT_MODE_SHELL,			/* interactive shell on the console */
	KT_MODE_TEST,			/* a registered test of the guest's binary */
	KT_MODE_SCENARIO,		/* a catalog scenario */
};
const char *kt_proto_mode_name(enum kt_proto_mode m);

/* The scheduler under test, as the guest starts it. */
struct kt_proto_sched {
	char *binary;			/* path where it runs (in the guest: /include/NAME) */
	struct kt_strlist args;
	char *ops;			/* expected sched_ext ops name; NULL: any */
	unsigned attach_timeout_ms;	/* 0: the default */
	struct kt_strlist sysctls;	/* "kernel.foo=1", set before it starts */
};

/* What the host asks the guest (or a --host child) to do.  Zero is unset. */
struct kt_request {
	enum kt_proto_mode mode;
	char *name;			/* test or scenario name */
	struct kt_strlist argv;		/* cmd: the command, non-empty */
	struct kt_strlist flags;	/* active flag names */
	uint64_t duration_ms;		/* 0: 2000 */
	unsigned workers;		/* per cgroup; 0: 2 */
	unsigned settle_ms;		/* wait after cgroup setup */
	char *work_type;		/* override of every work type; NULL: none */
	struct kt_assert checks;	/* the thresholds, already merged by the host */
	bool has_sched;			/* false: the kernel's own scheduler */
	struct kt_proto_sched sched;
};
void kt_request_release(struct kt_request *r);
/* Set the scheduler: binary (copied), args (nargs of them, copied), ops
 * (copied, may be NULL).  0 or -ENOMEM. */
int kt_request_set_sched(struct kt_request *r, const char *binary, const char *const *args,
			 size_t nargs, const char *ops);

/* The emitter: the request as a JSON object (new reference, NULL on
 * ENOMEM), and as compact text (malloc'd, NULL on ENOMEM). */
json_t *kt_request_to_json(const struct kt_request *r);
char *kt_request_emit(const struct kt_request *r);
/*
 * The parser: len bytes of text into *out (released on failure).  0, or
 * -EPROTO for another protocol version, -EINVAL for anything malformed
 * (not JSON, truncated, a missing, unknown or mistyped field), -ENOMEM;
 * *err (malloc'd) says which in one line.
 */
int kt_request_parse(const char *text, size_t len, struct kt_request *out, char **err);

/* ---- the result --------------------------------------------------------- */

/* A guest result object carrying this protocol's version (NULL on ENOMEM). */
json_t *kt_proto_result_new(void);
/* The guest's body outcome as the result's "verdict" (pass, fail, skip). */
int kt_proto_result_set_verdict(json_t *result, bool passed, bool skipped);
/* The guest refused the request for its version: the host says so too. */
int kt_proto_result_refuse(json_t *result, const char *why);
/*
 * The guest's result text, checked: 0 with *out (new reference), or
 * -EPROTO (another protocol version, or a request the guest refused for
 * its version), -EINVAL (malformed), with *err (malloc'd, one line).
 */
int kt_proto_result_parse(const char *text, json_t **out, char **err);

/* ---- the verdict --------------------------------------------------------- */

enum kt_verdict { KT_PASS = 0, KT_FAIL, KT_SKIP, KT_ERROR };
/* "PASS", "FAIL", ... for people; "pass", "fail", ... in documents. */
const char *kt_verdict_name(enum kt_verdict v);
const char *kt_verdict_key(enum kt_verdict v);
/* A document's "verdict" back; anything unknown is KT_ERROR. */
enum kt_verdict kt_verdict_from_key(const char *key);

/* What the test declared about its own outcome. */
struct kt_expect {
	bool fail;			/* the body is meant to fail ... */
	const char *detail;		/* ... with a finding containing this (NULL: any) */
};
/*
 * The one place a verdict is decided from a (checked) guest result: skip
 * as the guest said, an error when it has none, and pass/fail by the
 * body's outcome against the expectation.  *reason (malloc'd, may be
 * NULL) is the line that explains it: the guest's error, the first
 * finding, or why an expected failure did not happen.
 */
enum kt_verdict kt_proto_verdict(json_t *guest, const struct kt_expect *expect, char **reason);

#endif
