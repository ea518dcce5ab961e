/*
 * The request's one emitter and one parser, the result's version check
 * and the verdict.  The parser is strict (an unknown, mistyped or
 * misplaced field is an error naming it), since both ends are built from
 * the same source and anything unexpected means they are not.  Must not
 * print or touch files: the guest's init and the host's runner report.
 */
#include "proto/proto.h"

#include <errno.h>
#include <string.h>

#include "check/check_json.h"

#define MODE_BIT(m) (1u << (m))
#define RUN_MODES (MODE_BIT(KT_MODE_TEST) | MODE_BIT(KT_MODE_SCENARIO))
#define ALL_MODES (MODE_BIT(KT_MODE_CMD) | MODE_BIT(KT_MODE_SHELL) | RUN_MODES)

static const char *const mode_names[] = {
	[KT_MODE_CMD] = "cmd",
	[KT_MODE_SHELL] = "shell",
	[KT_MODE_TEST] = "test",
	[KT_MODE_SCENARIO] = "scenario",
};

const char *kt_proto_mode_name(enum kt_proto_mode m)
{
	return (unsigned)m < KT_ARRAY_SIZE(mode_names) && mode_names[m] ? mode_names[m] : "?";
}

static void sched_release(struct kt_proto_sched *s)
{
	free(s->binary);
	free(s->ops);
	kt_strlist_release(&s->args);
	kt_strlist_release(&s->sysctls);
	memset(s, 0, sizeof(*s));
}

void kt_request_release(struct kt_request *r)
{
	free(r->name);
	free(r->work_type);
	kt_strlist_release(&r->argv);
	kt_strlist_release(&r->flags);
	sched_release(&r->sched);
	memset(r, 0, sizeof(*r));
}

int kt_request_set_sched(struct kt_request *r, const char *binary, const char *const *args,
			 size_t nargs, const char *ops)
{
	sched_release(&r->sched);
	r->has_sched = true;
	r->sched.binary = strdup(binary);
	r->sched.ops = ops ? strdup(ops) : NULL;
	if (!r->sched.binary || (ops && !r->sched.ops))
		return -ENOMEM;
	for (size_t i = 0; i < nargs; i++)
		if (kt_strlist_add(&r->sched.args, args[i]))
			return -ENOMEM;
	return 0;
}

/* ---- emitter -------------------------------------------------------------- */

static json_t *strv_json(const struct kt_strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n; i++)
		if (json_array_append_new(a, json_string(l->v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* json_object_set_new that remembers a failure (a NULL value included). */
static void put(json_t *o, const char *key, json_t *v, bool *fail)
{
	if (!v || json_object_set_new(o, key, v))
		*fail = true;
}

static json_t *sched_json(const struct kt_proto_sched *s)
{
	json_t *o = json_object();
	bool fail = !o;

	if (fail)
		return NULL;
	put(o, "binary", json_string(s->binary ? s->binary : ""), &fail);
	put(o, "args", strv_json(&s->args), &fail);
	if (s->ops)
		put(o, "ops", json_string(s->ops), &fail);
	put(o, "attach_timeout_ms", json_integer(s->attach_timeout_ms), &fail);
	put(o, "sysctls", strv_json(&s->sysctls), &fail);
	if (fail) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *kt_request_to_json(const struct kt_request *r)
{
	json_t *o = json_object();
	bool fail = !o;

	if (fail)
		return NULL;
	put(o, "version", json_integer(KT_PROTO_VERSION), &fail);
	put(o, "mode", json_string(kt_proto_mode_name(r->mode)), &fail);
	switch (r->mode) {
	case KT_MODE_CMD:
		put(o, "argv", strv_json(&r->argv), &fail);
		break;
	case KT_MODE_SHELL:
		break;
	case KT_MODE_TEST:
	case KT_MODE_SCENARIO:
		put(o, r->mode == KT_MODE_TEST ? "test" : "scenario",
		    json_string(r->name ? r->name : ""), &fail);
		put(o, "flags", strv_json(&r->flags), &fail);
		put(o, "duration_ms", json_integer((json_int_t)r->duration_ms), &fail);
		put(o, "workers", json_integer(r->workers), &fail);
		put(o, "settle_ms", json_integer(r->settle_ms), &fail);
		if (r->work_type)
			put(o, "work_type", json_string(r->work_type), &fail);
		put(o, "assert", kt_assert_to_json(&r->checks), &fail);
		if (r->has_sched)
			put(o, "scheduler", sched_json(&r->sched), &fail);
		break;
	}
	if (fail) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *kt_request_emit(const struct kt_request *r)
{
	json_t *o = kt_request_to_json(r);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

/* ---- parser --------------------------------------------------------------- */

static int bad(char **err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char **err, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*err = kt_vasprintf(fmt, ap);
	va_end(ap);
	return e;
}

/* A string from the request fit for a one-line message, into buf:
 * control characters escaped, a long one cut. */
static const char *shown(const char *s, char buf[static 200])
{
	size_t k = 0;

	for (; s && *s && k < 160; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			k += (size_t)snprintf(buf + k, 200 - k, "\\x%02x", c);
		else
			buf[k++] = (char)c;
	}
	if (s && *s)
		k += (size_t)snprintf(buf + k, 200 - k, "...");
	buf[k] = '\0';
	return buf;
}

static int get_strv(json_t *v, const char *key, struct kt_strlist *out, char **err)
{
	if (!json_is_array(v))
		return bad(err, -EINVAL, "request field '%s' must be an array of strings", key);
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));

		if (!s)
			return bad(err, -EINVAL, "request field '%s' item %zu is not a string", key, i);
		if (kt_strlist_add(out, s))
			return -ENOMEM;
	}
	return 0;
}

static int get_str(json_t *v, const char *key, char **out, char **err)
{
	if (!json_is_string(v))
		return bad(err, -EINVAL, "request field '%s' must be a string", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int get_uint(json_t *v, const char *key, uint64_t max, uint64_t *out, char **err)
{
	json_int_t n = json_integer_value(v);

	if (!json_is_integer(v) || n < 0 || (uint64_t)n > max)
		return bad(err, -EINVAL, "request field '%s' must be an integer from 0 to %llu", key,
			   (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static int parse_sched(json_t *o, struct kt_proto_sched *s, char **err)
{
	const char *key;
	json_t *v;
	uint64_t n = 0;
	int e = 0;
	char buf[200];

	if (!json_is_object(o))
		return bad(err, -EINVAL, "request field 'scheduler' must be an object");
	if (!json_is_string(json_object_get(o, "binary")))
		return bad(err, -EINVAL, "request field 'scheduler' has no 'binary' string");
	json_object_foreach(o, key, v) {
		if (!strcmp(key, "binary"))
			e = get_str(v, "scheduler.binary", &s->binary, err);
		else if (!strcmp(key, "args"))
			e = get_strv(v, "scheduler.args", &s->args, err);
		else if (!strcmp(key, "ops"))
			e = get_str(v, "scheduler.ops", &s->ops, err);
		else if (!strcmp(key, "sysctls"))
			e = get_strv(v, "scheduler.sysctls", &s->sysctls, err);
		else if (!strcmp(key, "attach_timeout_ms")) {
			e = get_uint(v, "scheduler.attach_timeout_ms", 3600000, &n, err);
			s->attach_timeout_ms = (unsigned)n;
		} else
			e = bad(err, -EINVAL, "request field 'scheduler.%s' is unknown",
				shown(key, buf));
		if (e)
			return e;
	}
	return 0;
}

/* Fields, the modes each belongs to, and where it goes. */
enum field { RQ_VERSION, RQ_MODE, RQ_ARGV, RQ_TEST, RQ_SCENARIO, RQ_FLAGS, RQ_DURATION, RQ_WORKERS,
	     RQ_SETTLE, RQ_WORK_TYPE, RQ_ASSERT, RQ_SCHED };
static const struct {
	const char *key;
	unsigned modes;
} fields[] = {
	[RQ_VERSION] = { "version", ALL_MODES },
	[RQ_MODE] = { "mode", ALL_MODES },
	[RQ_ARGV] = { "argv", MODE_BIT(KT_MODE_CMD) },
	[RQ_TEST] = { "test", MODE_BIT(KT_MODE_TEST) },
	[RQ_SCENARIO] = { "scenario", MODE_BIT(KT_MODE_SCENARIO) },
	[RQ_FLAGS] = { "flags", RUN_MODES },
	[RQ_DURATION] = { "duration_ms", RUN_MODES },
	[RQ_WORKERS] = { "workers", RUN_MODES },
	[RQ_SETTLE] = { "settle_ms", RUN_MODES },
	[RQ_WORK_TYPE] = { "work_type", RUN_MODES },
	[RQ_ASSERT] = { "assert", RUN_MODES },
	[RQ_SCHED] = { "scheduler", RUN_MODES },
};

static int parse_field(enum field f, json_t *v, struct kt_request *r, char **err)
{
	uint64_t n = 0;
	int e;

	switch (f) {
	case RQ_VERSION:
	case RQ_MODE:
		return 0;	/* checked first */
	case RQ_ARGV:
		e = get_strv(v, "argv", &r->argv, err);
		if (!e && !r->argv.n)
			e = bad(err, -EINVAL, "request field 'argv' is empty: no command to run");
		return e;
	case RQ_TEST:
	case RQ_SCENARIO:
		e = get_str(v, fields[f].key, &r->name, err);
		if (!e && !*r->name)
			e = bad(err, -EINVAL, "request field '%s' is empty", fields[f].key);
		return e;
	case RQ_FLAGS:
		return get_strv(v, "flags", &r->flags, err);
	case RQ_DURATION:
		e = get_uint(v, "duration_ms", 24ull * 3600 * 1000, &n, err);
		r->duration_ms = n;
		return e;
	case RQ_WORKERS:
		e = get_uint(v, "workers", 4096, &n, err);
		r->workers = (unsigned)n;
		return e;
	case RQ_SETTLE:
		e = get_uint(v, "settle_ms", 3600 * 1000, &n, err);
		r->settle_ms = (unsigned)n;
		return e;
	case RQ_WORK_TYPE:
		return get_str(v, "work_type", &r->work_type, err);
	case RQ_ASSERT:
		if (kt_assert_from_json(v, &r->checks))
			return bad(err, -EINVAL, "request field 'assert' has an unknown check or a "
				   "mistyped threshold");
		return 0;
	case RQ_SCHED:
		r->has_sched = true;
		return parse_sched(v, &r->sched, err);
	}
	return 0;
}

static int parse_object(json_t *o, struct kt_request *r, char **err)
{
	json_t *ver = json_object_get(o, "version"), *v;
	const char *mode = json_string_value(json_object_get(o, "mode")), *key;
	enum field name_field;
	char buf[200];

	if (!json_is_object(o))
		return bad(err, -EINVAL, "request is not a JSON object");
	if (!ver)
		return bad(err, -EPROTO, "request has no protocol version (this binary speaks "
			   "version %d)", KT_PROTO_VERSION);
	if (!json_is_integer(ver))
		return bad(err, -EINVAL, "request field 'version' must be an integer");
	if (json_integer_value(ver) != KT_PROTO_VERSION)
		return bad(err, -EPROTO, "request is protocol version %lld, this binary speaks "
			   "version %d: the host and guest binaries differ",
			   (long long)json_integer_value(ver), KT_PROTO_VERSION);
	if (!mode)
		return bad(err, -EINVAL, "request has no 'mode' string");
	for (size_t m = 1; m < KT_ARRAY_SIZE(mode_names); m++)
		if (!strcmp(mode, mode_names[m]))
			r->mode = (enum kt_proto_mode)m;
	if (!r->mode)
		return bad(err, -EINVAL, "request mode '%s' is unknown (cmd, shell, test or scenario)",
			   shown(mode, buf));
	r->checks = kt_assert_default_checks();
	json_object_foreach(o, key, v) {
		size_t f = 0;
		int e;

		while (f < KT_ARRAY_SIZE(fields) && strcmp(fields[f].key, key))
			f++;
		if (f == KT_ARRAY_SIZE(fields))
			return bad(err, -EINVAL, "request field '%s' is unknown", shown(key, buf));
		if (!(fields[f].modes & MODE_BIT(r->mode)))
			return bad(err, -EINVAL, "request field '%s' does not belong to mode %s", key,
				   mode);
		e = parse_field((enum field)f, v, r, err);
		if (e)
			return e;
	}
	name_field = r->mode == KT_MODE_TEST ? RQ_TEST : RQ_SCENARIO;
	if (r->mode == KT_MODE_CMD && !r->argv.n)
		return bad(err, -EINVAL, "request of mode cmd has no 'argv'");
	if ((r->mode == KT_MODE_TEST || r->mode == KT_MODE_SCENARIO) && !r->name)
		return bad(err, -EINVAL, "request of mode %s has no '%s' name", mode,
			   fields[name_field].key);
	return 0;
}

int kt_request_parse(const char *text, size_t len, struct kt_request *out, char **err)
{
	json_error_t jerr;
	json_t *o;
	char buf[200];
	int e;

	*err = NULL;
	memset(out, 0, sizeof(*out));
	if (!text || !len)
		return bad(err, -EINVAL, "request is empty");
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return bad(err, -EINVAL, "request is not valid JSON: %s (at byte %d)",
			   shown(jerr.text, buf), jerr.position);
	e = parse_object(o, out, err);
	json_decref(o);
	if (e) {
		kt_request_release(out);
		if (e == -ENOMEM && !*err)
			*err = strdup("out of memory reading the request");
	}
	return e;
}

/* ---- result ----------------------------------------------------------------- */

json_t *kt_proto_result_new(void)
{
	return json_pack("{s:i}", "version", KT_PROTO_VERSION);
}

int kt_proto_result_set_verdict(json_t *result, bool passed, bool skipped)
{
	return json_object_set_new(result, "verdict",
				   json_string(kt_verdict_key(skipped ? KT_SKIP
							      : passed ? KT_PASS : KT_FAIL)))
		       ? -ENOMEM : 0;
}

int kt_proto_result_refuse(json_t *result, const char *why)
{
	if (json_object_set_new(result, "error", json_string(why)) ||
	    json_object_set_new(result, "protocol_error", json_true()))
		return -ENOMEM;
	return 0;
}

int kt_proto_result_parse(const char *text, json_t **out, char **err)
{
	json_error_t jerr;
	json_t *res, *ver;
	char buf[200];

	*out = NULL;
	*err = NULL;
	res = json_loads(text ? text : "", 0, &jerr);
	if (!res)
		return bad(err, -EINVAL, "malformed result from the guest: %s", shown(jerr.text, buf));
	ver = json_object_get(res, "version");
	if (!json_is_object(res) || !json_is_integer(ver)) {
		int e = bad(err, -EINVAL, "malformed result from the guest: %s",
			    json_is_object(res) ? "no protocol version" : "not a JSON object");

		json_decref(res);
		return e;
	}
	if (json_integer_value(ver) != KT_PROTO_VERSION) {
		int e = bad(err, -EPROTO, "guest speaks protocol version %lld, this host version %d: "
			    "the guest's binary is not this one (rebuild, or clear the initramfs cache)",
			    (long long)json_integer_value(ver), KT_PROTO_VERSION);

		json_decref(res);
		return e;
	}
	if (json_is_true(json_object_get(res, "protocol_error"))) {
		const char *why = json_string_value(json_object_get(res, "error"));
		int e = bad(err, -EPROTO, "guest refused the request: %s", why ? why : "?");

		json_decref(res);
		return e;
	}
	*out = res;
	return 0;
}

/* ---- verdict ----------------------------------------------------------------- */

static const char *const verdict_names[] = { "PASS", "FAIL", "SKIP", "ERROR" };
static const char *const verdict_keys[] = { "pass", "fail", "skip", "error" };

const char *kt_verdict_name(enum kt_verdict v)
{
	return (unsigned)v < KT_ARRAY_SIZE(verdict_names) ? verdict_names[v] : "?";
}

const char *kt_verdict_key(enum kt_verdict v)
{
	return (unsigned)v < KT_ARRAY_SIZE(verdict_keys) ? verdict_keys[v] : "error";
}

enum kt_verdict kt_verdict_from_key(const char *key)
{
	for (size_t i = 0; key && i < KT_ARRAY_SIZE(verdict_keys); i++)
		if (!strcmp(key, verdict_keys[i]))
			return (enum kt_verdict)i;
	return KT_ERROR;
}

/* Does any finding of the guest's result contain `needle`? */
static bool detail_has(json_t *res, const char *needle)
{
	json_t *details = json_object_get(res, "details");

	if (!needle)
		return true;
	for (size_t i = 0; i < json_array_size(details); i++) {
		const char *d = json_string_value(json_array_get(details, i));

		/* a malformed result (a detail that is not a string) matches nothing */
		if (d && strstr(d, needle))
			return true;
	}
	return false;
}

static char *first_detail(json_t *guest)
{
	const char *e = json_string_value(json_object_get(guest, "error"));
	json_t *details = json_object_get(json_object_get(guest, "result"), "details");
	const char *d = json_string_value(json_array_get(details, 0));

	return e ? strdup(e) : d ? strdup(d) : NULL;
}

enum kt_verdict kt_proto_verdict(json_t *guest, const struct kt_expect *expect, char **reason)
{
	const char *v = json_string_value(json_object_get(guest, "verdict"));
	json_t *res = json_object_get(guest, "result");
	bool body_failed = v && !strcmp(v, "fail");
	enum kt_verdict verdict;

	*reason = first_detail(guest);
	if (!v || (strcmp(v, "pass") && strcmp(v, "fail") && strcmp(v, "skip"))) {
		if (!*reason)
			*reason = v ? kt_asprintf("guest result has an unknown verdict '%s'", v)
				    : strdup("guest result has no verdict");
		return KT_ERROR;
	}
	if (!strcmp(v, "skip"))
		return KT_SKIP;
	if (!expect || !expect->fail)
		return body_failed ? KT_FAIL : KT_PASS;
	verdict = body_failed && detail_has(res, expect->detail) ? KT_PASS : KT_FAIL;
	if (verdict == KT_FAIL) {
		free(*reason);
		*reason = body_failed
			? kt_asprintf("failed, but no finding mentions '%s'", expect->detail)
			: strdup("expected the test to fail, but it passed");
	}
	return verdict;
}
