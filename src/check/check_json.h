/*
 * JSON form of Assert records and results, for the runner's result files
 * and for host -> guest assert overrides.  Internal to libktstr (the public
 * headers stay free of jansson); must not print or do I/O.
 */
#ifndef KTSTR_CHECK_JSON_H
#define KTSTR_CHECK_JSON_H

#include <jansson.h>
#include <ktstr/check.h>

/* {"passed":..,"skipped":..,"skip_reason":..,"details":[..],"stats":{..}};
 * new reference, NULL on ENOMEM. */
json_t *kt_assert_result_to_json(const struct kt_assert_result *r);
/* An object holding only the set fields, keyed by field name; booleans
 * (not_starved, isolation, fail_on_stall) as JSON true/false.  New
 * reference, NULL on ENOMEM. */
json_t *kt_assert_to_json(const struct kt_assert *a);
/* Inverse of kt_assert_to_json: absent keys stay unset.  Returns 0,
 * or -EINVAL for a non-object, an unknown key or a value of the wrong
 * type (then *out is left untouched). */
int kt_assert_from_json(json_t *j, struct kt_assert *out);

#endif
