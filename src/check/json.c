/*
 * JSON form of Assert records (host -> guest overrides, result files) and
 * of assertion results.  Conversion only: no I/O, no printing.  Field names
 * are the C field names, so a result file reads like the test source.
 */
#include "check/check_json.h"
#include "check/check_internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Integral thresholds as JSON integers so files read "2000", not "2000.0". */
static json_t *json_num(double v)
{
	if (fabs(v) < 9007199254740992.0 && v == floor(v))
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* jansson's json_object_set_new consumes value even on failure. */
static int set(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set_new(o, k, v) == 0 ? 0 : -ENOMEM;
}

json_t *kt_assert_to_json(const struct kt_assert *a)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < kt_assert_n_fields && !err; i++) {
		const struct kt_assert_field *f = &kt_assert_fields[i];
		const struct kt_opt *opt = kt_assert_field_cptr(a, f);

		if (!opt->set)
			continue;
		err = set(o, f->name, f->is_bool ? json_boolean(opt->v != 0) : json_num(opt->v));
	}
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const struct kt_assert_field *field_by_name(const char *name)
{
	for (size_t i = 0; i < kt_assert_n_fields; i++) {
		if (strcmp(kt_assert_fields[i].name, name) == 0)
			return &kt_assert_fields[i];
	}
	return NULL;
}

int kt_assert_from_json(json_t *j, struct kt_assert *out)
{
	struct kt_assert a = { 0 };
	const char *key;
	json_t *v;

	if (!json_is_object(j))
		return -EINVAL;
	json_object_foreach(j, key, v) {
		const struct kt_assert_field *f = field_by_name(key);

		if (!f)
			return -EINVAL;
		struct kt_opt *opt = kt_assert_field_ptr(&a, f);

		if (f->is_bool) {
			/* a switch: true/false, or 0/1 from a command line */
			if (json_is_boolean(v))
				*opt = KT_SET(json_is_true(v) ? 1 : 0);
			else if (json_is_number(v) && (json_number_value(v) == 0 || json_number_value(v) == 1))
				*opt = KT_SET(json_number_value(v));
			else
				return -EINVAL;
		} else {
			if (!json_is_number(v))
				return -EINVAL;
			*opt = KT_SET(json_number_value(v));
		}
	}
	*out = a;
	return 0;
}

static json_t *stats_to_json(const struct kt_stats *s)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= set(o, "workers", json_integer(s->workers));
	err |= set(o, "cgroups", json_integer(s->cgroups));
	err |= set(o, "cpus_used", json_integer(s->cpus_used));
	err |= set(o, "spread_pct", json_real(s->spread_pct));
	err |= set(o, "spread_judged", json_integer(s->spread_judged));
	err |= set(o, "spread_unjudged_pct", json_real(s->spread_unjudged_pct));
	err |= set(o, "throughput_cv", json_real(s->throughput_cv));
	err |= set(o, "worst_gap_ms", json_real(s->worst_gap_ms));
	err |= set(o, "worst_gap_worker", json_string(s->worst_gap_worker));
	err |= set(o, "worst_gap_cpu", json_integer(s->worst_gap_cpu));
	err |= set(o, "migrations", json_integer((json_int_t)s->migrations));
	err |= set(o, "iterations", json_integer((json_int_t)s->iterations));
	err |= set(o, "work_units", json_integer((json_int_t)s->work_units));
	err |= set(o, "p99_wake_latency_ns", json_real(s->p99_wake_latency_ns));
	err |= set(o, "wake_latency_cv", json_real(s->wake_latency_cv));
	err |= set(o, "run_delay_ns", json_integer((json_int_t)s->run_delay_ns));
	err |= set(o, "cpu_time_ns", json_integer((json_int_t)s->cpu_time_ns));
	err |= set(o, "wall_time_ns", json_integer((json_int_t)s->wall_time_ns));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *kt_assert_result_to_json(const struct kt_assert_result *r)
{
	json_t *o = json_object(), *details = json_array();
	KT_AUTOFREE char *summary = kt_assert_result_summary(r);
	int err = 0;

	if (!o || !details || !summary) {
		json_decref(o);
		json_decref(details);
		return NULL;
	}
	for (size_t i = 0; i < r->n_details && !err; i++)
		err = json_array_append_new(details, json_string(r->details[i])) ? -ENOMEM : 0;
	err |= set(o, "details", details);
	err |= set(o, "passed", json_boolean(r->passed));
	err |= set(o, "skipped", json_boolean(r->skipped));
	if (r->skipped && r->skip_reason)
		err |= set(o, "skip_reason", json_string(r->skip_reason));
	err |= set(o, "summary", json_string(summary));
	err |= set(o, "stats", stats_to_json(&r->stats));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}
