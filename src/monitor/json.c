/*
 * The monitor summary as JSON (jansson) for the result files.  Pure: built
 * from the evaluator's state, no I/O.
 */
#include "monitor/monitor_json.h"

static json_t *num_or_null(double v, bool on)
{
	return on ? json_real(v) : json_null();
}

json_t *kt_mon_eval_json(const struct kt_mon_eval *e, unsigned period_ms,
			 const struct kt_mon_sources *src)
{
	json_t *j = json_object(), *th, *so, *ev, *vs;
	size_t i, k;
	int err = 0;

	th = json_object();
	so = json_object();
	ev = json_object();
	vs = json_array();
	if (!j || !th || !so || !ev || !vs)
		goto fail;
	err |= json_object_set_new(j, "period_ms", json_integer(period_ms));
	err |= json_object_set_new(j, "samples", json_integer((json_int_t)e->nsamples));
	err |= json_object_set_new(j, "duration_ms",
				   json_real(e->nsamples ? e->last_ms - e->first_ms : 0));
	err |= json_object_set_new(j, "cpus", json_integer(e->ncpu));

	err |= json_object_set_new(so, "sched_debug",
				   src && src->sched_debug ? json_string(src->sched_debug) : json_null());
	err |= json_object_set_new(so, "schedstat", json_boolean(src && src->schedstat));
	err |= json_object_set_new(so, "scx_events", json_boolean(e->saw_events));
	err |= json_object_set_new(so, "local_dsq_depth", json_boolean(e->max_local_dsq >= 0));
	err |= json_object_set_new(j, "sources", so);
	so = NULL;

	err |= json_object_set_new(th, "max_local_dsq_depth",
				   num_or_null(e->lim.dsq_depth, e->lim.dsq_depth > 0));
	err |= json_object_set_new(th, "fail_on_stall", json_boolean(e->lim.stall));
	err |= json_object_set_new(th, "sustained_samples", json_integer(e->lim.sustained));
	err |= json_object_set_new(th, "max_fallback_rate",
				   num_or_null(e->lim.fallback_rate, e->lim.fallback_rate > 0));
	err |= json_object_set_new(th, "max_keep_last_rate",
				   num_or_null(e->lim.keep_last_rate, e->lim.keep_last_rate > 0));
	err |= json_object_set_new(j, "thresholds", th);
	th = NULL;

	err |= json_object_set_new(j, "max_imbalance_ratio", json_real(e->max_imbalance));
	err |= json_object_set_new(j, "max_nr_running", json_integer(e->max_nr_running));
	err |= json_object_set_new(j, "max_local_dsq_depth",
				   e->max_local_dsq >= 0 ? json_integer(e->max_local_dsq) : json_null());
	err |= json_object_set_new(j, "stall_cpu_samples", json_integer(e->stall_cpu_samples));
	err |= json_object_set_new(j, "max_fallback_rate", json_real(e->max_fallback_rate));
	err |= json_object_set_new(j, "max_keep_last_rate", json_real(e->max_keep_last_rate));
	err |= json_object_set_new(j, "run_delay_ms", json_real((double)e->run_delay_total_ns / 1e6));
	for (i = 0; i < e->nevt; i++)
		err |= json_object_set_new(ev, e->evt_total[i].name,
					   json_integer((json_int_t)e->evt_total[i].value));
	err |= json_object_set_new(j, "events", ev);
	ev = NULL;

	for (i = 0; i < e->nviol; i++) {
		const struct kt_mon_violation *v = &e->viol[i];
		json_t *o = json_object(), *s = json_array();

		if (!o || !s) {
			json_decref(o);
			json_decref(s);
			goto fail;
		}
		for (k = 0; k < v->nsamples; k++)
			err |= json_array_append_new(s, json_string(v->samples[k]));
		err |= json_object_set_new(o, "check", json_string(kt_mon_check_name(v->check)));
		err |= json_object_set_new(o, "at_ms", json_real(v->at_ms));
		err |= json_object_set_new(o, "message", json_string(v->message));
		err |= json_object_set_new(o, "samples", s);
		err |= json_array_append_new(vs, o);
	}
	err |= json_object_set_new(j, "violations", vs);
	vs = NULL;
	if (err)
		goto fail;
	return j;
fail:
	json_decref(j);
	json_decref(th);
	json_decref(so);
	json_decref(ev);
	json_decref(vs);
	return NULL;
}

/* A run-queue length as it goes into the document: quarters, which print
 * exactly (0.25 rather than 0.2500000037252903), or null when unknown. */
static json_t *rq_value(double v)
{
	double q = (double)(long)(v * 4 + 0.5) / 4;

	if (v < 0)
		return json_null();
	return q == (double)(long)q ? json_integer((json_int_t)q) : json_real(q);
}

json_t *kt_mon_series_json(const struct kt_mon_series *s, unsigned period_ms, double shift_ms)
{
	size_t rows = kt_mon_series_rows(s);
	json_t *j = json_object(), *at = json_array(), *nr = json_array();
	int err = !j || !at || !nr;
	double t;

	for (size_t i = 0; !err && i < rows; i++) {
		json_t *row = json_array();

		kt_mon_series_value(s, i, 0, &t);
		err |= !row || json_array_append_new(at, json_real(t - shift_ms));
		for (unsigned c = 0; row && c < s->ncpu; c++)
			err |= json_array_append_new(row, rq_value(kt_mon_series_value(s, i, c, NULL)));
		err |= json_array_append_new(nr, row);
	}
	kt_mon_series_value(s, 0, 0, &t);
	err |= json_object_set_new(j, "t0_ms", json_real(rows ? t - shift_ms : 0));
	err |= json_object_set_new(j, "period_ms",
				   json_integer((json_int_t)period_ms * (s->per_row ? s->per_row : 1)));
	err |= json_object_set_new(j, "cpus", json_integer(s->ncpu));
	err |= json_object_set_new(j, "at_ms", at);
	at = NULL;
	err |= json_object_set_new(j, "nr_running", nr);
	nr = NULL;
	if (!err)
		return j;
	json_decref(j);
	json_decref(at);
	json_decref(nr);
	return NULL;
}
