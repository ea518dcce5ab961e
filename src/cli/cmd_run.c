/*
 * `ktstr run NAME`: one catalog scenario in a VM with the given topology
 * and scheduler (or on this machine with --host), printed as a verdict
 * with its evidence, optionally saved as a JSON result.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <ktstr/scenario.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "check/check_internal.h"
#include "check/check_json.h"
#include "runner/runner.h"
#include "util/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char usage[] =
	"usage: ktstr run NAME [OPTIONS] [--scheduler PATH [-- ARGS...]]\n"
	"Run catalog scenario NAME (see `ktstr list`) in a VM and print its verdict.\n\n"
	"options:\n" KT_VM_OPTS_HELP
	"  --scheduler PATH    scheduler binary under test (default: the kernel's EEVDF)\n"
	"  --sched-name NAME   expected /sys/kernel/sched_ext/root/ops name (default: any)\n"
	"  --duration S        workload duration in seconds (default 2)\n"
	"  --workers N         workers per cgroup (default 2)\n"
	"  --work-type T       override the work type (CpuSpin, Bursty, IoSync, Mixed, YieldHeavy)\n"
	"  --flags a,b         active flags (scenarios may require or exclude some)\n"
	"  --json FILE         write the result document to FILE\n"
	"  --host              run on this machine under its current scheduler\n"
	"  --check NAME=VALUE  set a check threshold (e.g. max_gap_ms=500, isolation=0);\n"
	"                      names as in struct kt_assert\n"
	"\nexit status: 0 pass, 1 fail, 64 bad input, 66 scheduler binary not found,\n"
	"69 environment, 70 VM/guest error, 73 --json cannot be written, 76 the guest\n"
	"speaks another protocol version, 77 skipped, 130/143 interrupted.\n";

/* Edit distance, for "did you mean" on a mistyped check name. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (lb >= KT_ARRAY_SIZE(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			best = up + 1 < best ? up + 1 : best;
			best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* One bad --check, named: the closest check name when the name is unknown. */
static void bad_check(const char *arg, const char *name)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX;

	for (size_t i = 0; i < kt_assert_n_fields; i++) {
		size_t d = distance(name, kt_assert_fields[i].name);

		if (!strcmp(name, kt_assert_fields[i].name)) {
			kt_cli_error("bad --check '%s': %s takes %s", arg, name,
				     kt_assert_fields[i].is_bool ? "0 or 1" : "a number");
			return;
		}
		if (d < bd) {
			bd = d;
			best = kt_assert_fields[i].name;
		}
	}
	if (best && bd <= 3)
		kt_cli_error("bad --check '%s': unknown check '%s' (did you mean '%s'?)", arg, name, best);
	else
		kt_cli_error("bad --check '%s': unknown check '%s' (names as in struct kt_assert)", arg,
			     name);
}

/*
 * --flags a,b: every name must be one some catalog scenario requires or
 * excludes, since nothing else reads them; an unknown or empty item would
 * otherwise run, and pass, as if no flag had been given.
 */
static int parse_flags(const char *arg, struct kt_strlist *out)
{
	size_t ns;
	const struct kt_scenario *all = kt_all_scenarios(&ns);
	const char *p = arg;

	for (;;) {
		size_t len = strcspn(p, ",");
		bool known = false;

		if (!len) {
			kt_cli_error("bad --flags '%s': empty item", arg);
			return -EINVAL;
		}
		for (size_t i = 0; i < ns && !known; i++)
			for (int k = 0; k < 2 && !known; k++)
				for (const char *const *f = k ? all[i].excluded_flags : all[i].required_flags;
				     f && *f && !known; f++)
					known = strlen(*f) == len && !strncmp(*f, p, len);
		if (!known) {
			kt_cli_error("bad --flags '%s': no scenario knows flag '%.*s' (see `ktstr list`)",
				     arg, (int)len, p);
			return -EINVAL;
		}
		if (kt_strlist_addn(out, p, len)) {
			kt_cli_error("out of memory");
			return -ENOMEM;
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

int kt_cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		KT_VM_LONGOPTS,
		{ "scheduler", required_argument, NULL, 's' },
		{ "sched-name", required_argument, NULL, 'N' },
		{ "duration", required_argument, NULL, 'd' },
		{ "workers", required_argument, NULL, 'w' },
		{ "work-type", required_argument, NULL, 'W' },
		{ "flags", required_argument, NULL, 'F' },
		{ "json", required_argument, NULL, 'j' },
		{ "host", no_argument, NULL, 'H' },
		{ "check", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct kt_vm_opts o = { 0 };
	const char *sched = NULL, *sched_name = NULL, *work_type = NULL, *flags = NULL;
	const char *json_out = NULL, *name = NULL;
	double duration = 2.0;
	unsigned workers = 2;
	bool host = false;
	KT_CLI_JSON checks = json_object();	/* released on every return */
	struct kt_vm_setup s = { 0 };
	struct kt_run_env env = { .cancel_fd = -1, .stream_fd = -1 };
	struct kt_job job = { 0 };
	struct kt_request *req = &job.request;
	struct kt_outcome out;
	const struct kt_scenario *sc;
	int opt, code;

	/* NAME first (`ktstr run steady --topology ...`) or after the options */
	if (argc > 1 && argv[1][0] != '-') {
		name = argv[1];
		argv++;
		argc--;
	}
	argv[0] = (char *)"ktstr run";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		char *end;
		int used = kt_cli_vm_opt(&o, opt, optarg);

		if (used < 0)
			return KT_EXIT_USAGE;
		if (used)
			continue;
		switch (opt) {
		case 's': sched = optarg; break;
		case 'N': sched_name = optarg; break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || duration <= 0 || duration > 3600) {
				kt_cli_error("bad --duration '%s': seconds, > 0", optarg);
				return KT_EXIT_USAGE;
			}
			break;
		case 'w':
			workers = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !workers || workers > 256) {
				kt_cli_error("bad --workers '%s': 1..256", optarg);
				return KT_EXIT_USAGE;
			}
			break;
		case 'W': work_type = optarg; break;
		case 'F': flags = optarg; break;
		case 'j': json_out = optarg; break;
		case 'H': host = true; break;
		case 'C': {
			KT_AUTOFREE char *copy = strdup(optarg);
			char *eq = copy ? strchr(copy, '=') : NULL, *endp = NULL;
			double v;

			if (eq) {
				*eq = '\0';
				v = strtod(eq + 1, &endp);
			}
			if (!eq || !*copy || endp == eq + 1 || *endp) {
				kt_cli_error("bad --check '%s': expected NAME=NUMBER", optarg);
				return KT_EXIT_USAGE;
			}
			{
				/* one at a time, so the message names the bad one */
				json_t *one = json_pack("{s:f}", copy, v);
				struct kt_assert tmp;
				int bad = !one || kt_assert_from_json(one, &tmp);

				json_decref(one);
				if (bad) {
					bad_check(optarg, copy);
					return KT_EXIT_USAGE;
				}
			}
			json_object_set_new(checks, copy, json_real(v));
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: fputs("(see `ktstr run --help`)\n", stderr); return KT_EXIT_USAGE;
		}
	}
	/* NAME may come before or after the options; scheduler args after "--". */
	if (!name && optind < argc && strcmp(argv[optind - 1], "--"))
		name = argv[optind++];
	if (!name) {
		kt_cli_error("run: no scenario named (see `ktstr list`)");
		return KT_EXIT_USAGE;
	}
	sc = kt_scenario_find(name);
	if (!sc) {
		kt_cli_error("run: unknown scenario '%s' (see `ktstr list`)", name);
		return KT_EXIT_USAGE;
	}
	if (work_type) {
		enum kt_work_kind k;

		if (kt_work_kind_parse(work_type, &k)) {
			kt_cli_error("bad --work-type '%s': CpuSpin, Bursty, IoSync, Mixed, YieldHeavy",
				     work_type);
			return KT_EXIT_USAGE;
		}
	}
	if (sched && access(sched, X_OK) < 0) {
		kt_cli_error("scheduler binary %s: %s", sched, strerror(errno));
		return KT_EXIT_NO_SCHEDULER;
	}
	if (json_out && (code = kt_runner_check_output(json_out, false))) {
		kt_cli_error("cannot write --json %s: %s", json_out, strerror(-code));
		return KT_EXIT_CANT_WRITE;
	}
	if (flags && parse_flags(flags, &req->flags)) {
		kt_job_release(&job);
		return KT_EXIT_USAGE;
	}
	for (size_t i = 0; sc->required_flags && sc->required_flags[i]; i++)
		if (!kt_strlist_has(&req->flags, sc->required_flags[i])) {
			kt_cli_error("run: scenario %s requires flag '%s' (--flags)", name,
				     sc->required_flags[i]);
			kt_job_release(&job);
			return KT_EXIT_USAGE;
		}
	for (size_t i = 0; sc->excluded_flags && sc->excluded_flags[i]; i++)
		if (kt_strlist_has(&req->flags, sc->excluded_flags[i])) {
			kt_cli_error("run: scenario %s cannot run with flag '%s'", name,
				     sc->excluded_flags[i]);
			kt_job_release(&job);
			return KT_EXIT_USAGE;
		}
	{
		struct kt_assert a = kt_assert_default_checks(), over = { 0 };

		if (kt_assert_from_json(checks, &over)) {
			kt_cli_error("bad --check: unknown check name or value (see struct kt_assert)");
			kt_job_release(&job);
			return KT_EXIT_USAGE;
		}
		a = kt_assert_merge(&a, &over);
		code = kt_cli_scenario_request(name, duration, workers, &a, req);
	}
	if (!code && work_type)
		code = (req->work_type = strdup(work_type)) ? 0 : -ENOMEM;
	if (!code && sched) {
		/* in a VM the binary is included under /include; --host runs it in place */
		KT_AUTOFREE char *guest = host ? strdup(sched) : kt_runner_sched_guest_path(sched);

		code = guest ? kt_request_set_sched(req, guest, (const char *const *)argv + optind,
						    (size_t)(argc - optind), sched_name)
			     : -ENOMEM;
		job.sched_host_path = strdup(sched);
		if (!job.sched_host_path)
			code = -ENOMEM;
	}
	job.name = strdup(name);
	if (code || !job.name) {
		kt_cli_error("out of memory");
		kt_job_release(&job);
		return KT_EXIT_ENV;
	}
	job.host = host;
	job.timeout_s = o.timeout_s;	/* 0: the default for its topology */
	if (host) {
		struct statfs sfs;

		if (statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
			kt_cli_error("--host needs cgroup v2 mounted at /sys/fs/cgroup (this machine "
				     "has cgroup v1 there); run in a VM instead (drop --host)");
			kt_job_release(&job);
			return KT_EXIT_ENV;
		}
	} else {
		code = kt_cli_vm_setup(&o, "1n2l2c1t", &s);
		if (code) {
			free(o.includes);
			kt_cli_vm_setup_release(&s);
			kt_job_release(&job);
			return code;
		}
		env.kernel = s.kernel;
		env.accel = s.cfg.accel;
		env.cancel_fd = s.cfg.cancel_fd;
		env.extra_files = s.files;
		env.n_extra_files = s.cfg.n_files;
		job.topo = s.cfg.topo;
		job.memory_mb = s.cfg.memory_mb;
		job.kargs = o.kargs;
	}
	env.verbose = o.verbose;
	kt_runner_run_job(&env, &job, &out);
	kt_runner_print(stdout, &job, &out, o.verbose);
	code = kt_cancelled() ? kt_cancel_exit_code()
	       : out.proto_error ? KT_EXIT_PROTOCOL
	       : out.verdict == KT_PASS ? 0
	       : out.env_error ? KT_EXIT_ENV
	       : out.verdict == KT_FAIL ? KT_EXIT_FAIL
	       : out.verdict == KT_SKIP ? KT_EXIT_ALL_SKIPPED : KT_EXIT_GUEST;
	if (json_out && (opt = kt_runner_write_json_file(json_out, &out))) {
		/* a result asked for and lost is not a success */
		kt_cli_error("cannot write %s: %s", json_out, strerror(-opt));
		if (!code)
			code = KT_EXIT_CANT_WRITE;
	}
	kt_outcome_release(&out);
	kt_job_release(&job);
	free(o.includes);
	kt_cli_vm_setup_release(&s);
	return code;
}
