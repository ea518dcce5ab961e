/*
 * The scenario layer's contributions to the result document, as JSON
 * (jansson).  Internal to libktstr so the public headers stay free of
 * jansson; no I/O.
 */
#ifndef KTSTR_SCENARIO_JSON_H
#define KTSTR_SCENARIO_JSON_H

#include <jansson.h>
#include <ktstr/scenario.h>

/*
 * Each worker kt_ctx_sleep watched, with its progress over the run:
 * [{"name": "cg_0/worker 1", "tid", "samples": [[at_ms, work_units,
 *   cpu_ms]...] (at most KT_PROGRESS_MAX, cumulative, evenly thinned),
 *   "gaps": [[from_ms, to_ms]...] (stretches of at least KT_PROGRESS_GAP_MS
 *   without progress)}], times on ctx's timeline.  NULL when nothing was
 * sampled (or on ENOMEM).
 */
#define KT_PROGRESS_MAX 200
#define KT_PROGRESS_GAP_MS 100
json_t *kt_scen_progress_json(const struct kt_ctx *ctx);

#endif
