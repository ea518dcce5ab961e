/*
 * `ktstr list [--json]`: the scenario catalog.
 */
#include "cli/cli.h"

#include <jansson.h>
#include <ktstr/scenario.h>
#include <stdio.h>
#include <string.h>

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

int kt_cmd_list(int argc, char **argv)
{
	size_t n;
	const struct kt_scenario *s = kt_all_scenarios(&n);
	bool as_json = argc > 1 && !strcmp(argv[1], "--json");

	if (argc > 1 && !as_json) {
		if (strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
			kt_cli_error("list: unknown argument '%s'", argv[1]);
			return KT_EXIT_USAGE;
		}
		printf("usage: ktstr list [--json]\nList the scenario catalog.\n");
		return 0;
	}
	if (as_json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:i,s:o,s:o}", "name", s[i].name,
							   "category", s[i].category, "description",
							   s[i].description, "num_cgroups", s[i].num_cgroups,
							   "required_flags", strv_json(s[i].required_flags),
							   "excluded_flags", strv_json(s[i].excluded_flags)));
		json_dumpf(a, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(a);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		printf("%-20s %-9s %s\n", s[i].name, s[i].category, s[i].description);
	return 0;
}
