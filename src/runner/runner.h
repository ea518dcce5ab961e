/*
 * The runner: the test registry, variants (test x flag profile), running
 * one variant in a VM or on the host, verdicts and their outputs (human
 * lines, TAP, JUnit, JSON), and the guest modes ("test", "scenario") that
 * execute a request inside the VM.  Internal to libktstr.
 */
#ifndef KTSTR_RUNNER_H
#define KTSTR_RUNNER_H

#include <jansson.h>
#include <ktstr/test.h>
#include <ktstr/vm.h>
#include <limits.h>

#include "guest/guest.h"

#define KT_RESULT_SCHEMA "ktstr-result/1"

/* Exit codes beyond the CLI's common ones (README.md, "Exit codes"). */
#define KT_EXIT_NO_SCHEDULER 66	/* a scheduler binary under test was not found */
#define KT_EXIT_CANT_WRITE 73	/* a result file asked for cannot be written */
#define KT_EXIT_PROTOCOL 76	/* host and guest speak different protocol versions */
#define KT_EXIT_ALL_SKIPPED 77	/* nothing ran: every test was skipped */

/*
 * The environment variables ktstr documents, read once per process (on
 * first use, thread-safe) by host_env.c, the one place the runner reads
 * them; the library below gets them as arguments.
 */
struct kt_host_env {
	struct kt_vm_host vm;		/* what the vm module is passed */
	char cache_dir[PATH_MAX];	/* $XDG_CACHE_HOME/ktstr, else ~/.cache/ktstr */
	bool timing;			/* $KTSTR_TIMING: say where each VM's time went */
	const char *scheduler;		/* $KTSTR_SCHEDULER: replaces every declared one */
	const char *scheduler_ops;	/* $KTSTR_SCHEDULER_OPS: the ops name it attaches as */
	bool skip_missing;		/* $KTSTR_SKIP_MISSING=1: a missing scheduler skips */
	const char *kernel_fetch;	/* $KTSTR_KERNEL_FETCH: the kernel fetch helper */
};
const struct kt_host_env *kt_host_env(void);
/* The ops name a test's scheduler must attach as under env (NULL: any). */
const char *kt_runner_sched_ops(const struct kt_scheduler *s, const struct kt_host_env *env);

/* NULL-name-terminated table of the guest modes the runner provides. */
const struct kt_guest_mode *kt_runner_guest_modes(void);

/* The test table of the running executable (set by kt_test_main). */
void kt_runner_set_tests(const struct kt_test_def *const *begin,
			 const struct kt_test_def *const *end);
const struct kt_test_def *kt_runner_find_test(const char *name);

/* Run a request in this process as the guest would (used in the guest and,
 * forked, for --host runs).  Fills `result`. */
int kt_runner_execute(const struct kt_request *request, json_t *result);
/* The scheduler binary on the host: $KTSTR_SCHEDULER, the declared path,
 * or the declared name next to this program; NULL when not executable. */
char *kt_runner_sched_binary(const struct kt_scheduler *s);
/* How many flags the scheduler declares. */
size_t kt_runner_sched_nflags(const struct kt_scheduler *s);
/* Where the guest finds a scheduler binary the host includes: /include/NAME. */
char *kt_runner_sched_guest_path(const char *host_path);
/*
 * The request of test d under flag profile `mask` of scheduler s (NULL:
 * EEVDF), found on the host at sched_host_path (NULL: not found, no
 * scheduler in the request), running for duration_s: the one place both
 * the test binary and its gauntlet turn a declaration into a request.
 * 0 or -ENOMEM (*out released).
 */
int kt_runner_test_request(const struct kt_test_def *d, const struct kt_scheduler *s,
			   unsigned mask, const char *sched_host_path, double duration_s,
			   struct kt_request *out);

/* ---- host side ---------------------------------------------------------- */

/* One thing to run: a request plus how to boot for it. */
struct kt_job {
	char *name;			/* "test" or "test/profile" */
	struct kt_request request;	/* owned */
	struct kt_topo_spec topo;
	unsigned memory_mb;
	unsigned timeout_s;
	bool host;			/* run on this machine */
	bool expect_err;
	const char *expect_detail;	/* expected failure text (expect_err) */
	const char *kargs;
	char *sched_host_path;		/* scheduler binary to include (owned), or NULL */
	const char *sched;		/* declared scheduler binary (static), NULL: EEVDF */
	bool sched_missing;		/* ... which was not found (a skip, when allowed) */
	char *skip_reason;		/* set: not run, reported as SKIP */
};
void kt_job_release(struct kt_job *j);
/*
 * A job's timeout when none is given (kt_job.timeout_s 0): a minute, four
 * times the workload's duration and twice the boot this machine's recorded
 * boots predict for the topology (kt_vm_boot_scale), so a slow host or a
 * large guest is not killed while it is still booting.
 */
unsigned kt_runner_default_timeout_s(const struct kt_topo_spec *topo, enum kt_accel accel,
				     const char *kargs, uint64_t duration_ms);

/* The outcome of one job, with everything the outputs need. */
struct kt_outcome {
	enum kt_verdict verdict;
	char *summary;			/* stats line */
	char *reason;			/* first failure line / error / skip reason */
	json_t *doc;			/* the full result document (schema ktstr-result/1) */
	double wall_s;
	bool env_error;			/* the host could not give the declared machine */
	bool proto_error;		/* the guest speaks another protocol version */
	double host_wait_pct;		/* share of QEMU's runnable time spent waiting for
					 * a host CPU, %; -1 unknown or no VM */
};

/*
 * From this share of its runnable time waiting for a host CPU on, a VM's
 * verdict line says the host was busy; from the second, that its timing
 * checks (stuck, gaps, CPU shares, work conservation) had lost power,
 * both ways: on a 2-core host running 5 VMs and builds (QEMU waiting
 * ~55 %), healthy schedulers failed and broken ones passed.
 */
#define KT_HOST_BUSY_PCT 25.0
#define KT_HOST_OVERLOADED_PCT 50.0
void kt_outcome_release(struct kt_outcome *o);

/* Shared VM settings for all jobs of a run. */
struct kt_run_env {
	struct kt_kernel kernel;
	enum kt_accel accel;
	int cancel_fd;
	bool verbose;
	const struct kt_initramfs_file *extra_files;
	size_t n_extra_files;
	int stream_fd;			/* guest output of a single job; -1 none */
};

/* Run one job (VM or host); never fails: errors become KT_ERROR outcomes. */
void kt_runner_run_job(const struct kt_run_env *env, const struct kt_job *job,
		       struct kt_outcome *out);
/*
 * The outcome from the guest's result text (NULL: none came, `err` says
 * why, and is taken): the version checked, the verdict decided
 * (kt_proto_verdict), the result document completed.  out->doc must hold
 * the job's identity already.
 */
void kt_runner_judge(const struct kt_job *job, char *text, char *err, struct kt_outcome *out);
/*
 * The exit status of a whole run of n jobs: interrupted, a protocol
 * mismatch, a failure, a result lost (`lost`), everything skipped, or 0.
 */
int kt_runner_exit_code(const struct kt_outcome *outs, size_t n, bool lost);
/* Human-readable report of one outcome (verdict line; details on failure). */
void kt_runner_print(FILE *f, const struct kt_job *job, const struct kt_outcome *o, bool verbose);
/* Write the JSON document to dir/<name>.json ('/' in names -> '__'). */
int kt_runner_write_json(const char *dir, const struct kt_job *job, const struct kt_outcome *o);
int kt_runner_write_json_file(const char *path, const struct kt_outcome *o);
/* Can `path` be written (is_dir: created as a directory and written
 * into)?  Checked before a run so a result asked for is not lost after it.
 * 0 or -errno. */
int kt_runner_check_output(const char *path, bool is_dir);
/* One --list line: name, topology, scheduler, flags, expectations. */
void kt_runner_list_line(FILE *f, const struct kt_job *job);
/* TAP and JUnit over a whole run. */
void kt_runner_tap(FILE *f, const struct kt_job *jobs, const struct kt_outcome *outs, size_t n);
int kt_runner_junit(const char *path, const struct kt_job *jobs, const struct kt_outcome *outs,
		    size_t n, const char *suite);

/* SIGINT/SIGTERM/SIGHUP -> a readable fd (installed once); which signal. */
int kt_cancel_fd(void);
int kt_cancel_signal(void);
bool kt_cancelled(void);
/* 128 + the signal once interrupted (130 SIGINT, 143 SIGTERM), else 0. */
int kt_cancel_exit_code(void);

#endif
