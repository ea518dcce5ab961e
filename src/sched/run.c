/*
 * The scheduler under test in the guest: start its binary with output
 * captured to a file in /tmp, wait until sched_ext reports it enabled,
 * check its health cheaply and often, stop it, and gather what explains
 * its end (kernel log from /dev/kmsg, the tracefs sched_ext dump, its own
 * output).  Knows nothing about scenarios; never prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sched/sched_internal.h"

#define SCX_SYSFS "/sys/kernel/sched_ext"
#define TRACEFS "/sys/kernel/tracing"
#define ATTACH_TIMEOUT_DFL_MS 30000u
#define STOP_TERM_MS 5000u
#define DISABLE_WAIT_MS 5000u
/* The disable report reaches the log shortly after the state flips. */
#define REASON_WAIT_MS 500u
/* After an eject, give the loader this long to print its own report and exit. */
#define EXIT_REPORT_WAIT_MS 2000u

struct kt_sched_run {
	pid_t pid;
	int pidfd;
	bool exited;			/* it has exited (seen, still a zombie until reaped) */
	bool reaped;			/* waited for: its pid may now belong to another */
	int wstatus;
	bool stopped;			/* kt_sched_stop has run; its result: */
	int stop_rc;
	char *out_path;
	int kmsg_fd;
	char *expect_ops;
	char ops[64];			/* ops name seen at attach */
	uint64_t enable_seq;		/* enable_seq at attach */
	char *trace_dir;		/* our tracefs instance, NULL if none */
	struct kt_sched_klog klog;
	bool stopping;			/* stop requested: later exits are not deaths */
	bool dead;
	double detected_at_ms;
	char *why;
	size_t out_attach_off;		/* output size when it attached */
};

static double uptime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void read_state(char *state, size_t n)
{
	if (kt_read_line(SCX_SYSFS "/state", state, n) < 0)
		snprintf(state, n, "unavailable");
}

static void read_ops(char *ops, size_t n)
{
	if (kt_read_line(SCX_SYSFS "/root/ops", ops, n) < 0)
		ops[0] = '\0';
}

static uint64_t read_enable_seq(void)
{
	uint64_t v = 0;

	kt_read_u64(SCX_SYSFS "/enable_seq", &v);
	return v;
}

/* Read all new kernel log records into the sched_ext accumulator. */
static void kmsg_drain(struct kt_sched_run *r)
{
	char rec[8192];
	struct kt_kmsg_rec k;

	if (r->kmsg_fd < 0)
		return;
	for (;;) {
		ssize_t n = read(r->kmsg_fd, rec, sizeof(rec) - 1);

		if (n < 0) {
			if (errno == EINTR || errno == EPIPE)	/* EPIPE: overwritten records */
				continue;
			return;					/* EAGAIN: nothing new */
		}
		if (n == 0)
			return;
		rec[n] = '\0';
		if (kt_kmsg_parse(rec, (size_t)n, &k) == 0)
			kt_sched_klog_feed(&r->klog, k.ts_us, k.text);
	}
}

/* Wait up to ms for the kernel's disable report, reading the log meanwhile. */
static void kmsg_wait_disable(struct kt_sched_run *r, unsigned ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)ms * 1000000ull;

	kmsg_drain(r);
	while (!r->klog.disabled_seen && r->kmsg_fd >= 0) {
		uint64_t now = kt_now_ns();
		struct pollfd p = { .fd = r->kmsg_fd, .events = POLLIN };

		if (now >= end)
			break;
		poll(&p, 1, (int)((end - now) / 1000000ull) + 1);
		kmsg_drain(r);
	}
}

/*
 * Has it exited?  Seen with WNOWAIT, so the process stays a zombie: its
 * pid, which is also its process group's id, cannot be reused while we
 * may still signal the group (helpers it forked).  collect() reaps.
 */
static bool reap(struct kt_sched_run *r)
{
	siginfo_t si = { 0 };

	if (r->exited)
		return true;
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == r->pid) {
		r->exited = true;
		r->wstatus = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8
			     : (si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
	}
	return r->exited;
}

/* Kill what is left of its process group, then reap the leader, once. */
static void collect(struct kt_sched_run *r)
{
	int st;

	if (r->pid <= 0 || r->reaped)
		return;
	kill(-r->pid, SIGKILL);	/* the unreaped leader still holds the group id */
	while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!r->exited) {
		r->exited = true;
		r->wstatus = st;
	}
	r->reaped = true;
}

/* Wait up to ms for the process to exit; true if it did. */
static bool wait_exit(struct kt_sched_run *r, unsigned ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)ms * 1000000ull;

	while (!reap(r)) {
		uint64_t now = kt_now_ns();
		struct pollfd p = { .fd = r->pidfd, .events = POLLIN };

		if (now >= end)
			return false;
		if (r->pidfd >= 0)
			poll(&p, 1, (int)((end - now) / 1000000ull) + 1);
		else
			kt_sleep_ns(10000000ull);
	}
	return true;
}

static char *output_read(const struct kt_sched_run *r, size_t *len)
{
	char *text = NULL;

	if (kt_read_file(r->out_path, &text, len) < 0)
		return NULL;
	return text;
}

/* "line1 | line2" from the last lines of the output, for one-line errors. */
static char *output_tail_oneline(const struct kt_sched_run *r, unsigned lines)
{
	size_t len = 0;
	KT_AUTOFREE char *text = output_read(r, &len);
	char *tail, *p;

	if (!text)
		return strdup("");
	tail = kt_sched_text_tail(text, len, lines, 600);
	if (!tail)
		return NULL;
	for (p = tail; *p; p++)
		if (*p == '\n')
			*p = '|';
	return tail;
}

/* Kernel sched_ext lines so far, on one line. */
static char *klog_oneline(const struct kt_sched_run *r)
{
	struct kt_buf b = { 0 };
	const struct kt_sched_klog *k = &r->klog;
	char *p;

	if (k->other.len)
		kt_buf_append(&b, k->other.data, k->other.len);
	if (k->disabled_line)
		kt_buf_printf(&b, "%s%s", b.len ? "; " : "", k->disabled_line);
	if (k->msg)
		kt_buf_printf(&b, "%s%s", b.len ? "; " : "", k->msg);
	if (kt_buf_append(&b, "", 1)) {
		kt_buf_release(&b);
		return NULL;
	}
	for (p = b.data; *p; p++)
		if (*p == '\n')
			*p = ';';
	return b.data;
}

static void trace_setup(struct kt_sched_run *r)
{
	static unsigned counter;
	char *dir, *en;

	dir = kt_asprintf(TRACEFS "/instances/ktstr-sched-%d-%u", (int)getpid(), counter++);
	if (!dir)
		return;
	if (mkdir(dir, 0700) < 0) {
		free(dir);
		return;
	}
	en = kt_asprintf("%s/events/sched_ext/sched_ext_dump/enable", dir);
	if (!en || kt_write_file(en, "1") < 0) {
		rmdir(dir);
		free(dir);
		free(en);
		return;
	}
	free(en);
	r->trace_dir = dir;
}

static void trace_teardown(struct kt_sched_run *r)
{
	char *en;

	if (!r->trace_dir)
		return;
	en = kt_asprintf("%s/events/sched_ext/sched_ext_dump/enable", r->trace_dir);
	if (en)
		kt_write_file(en, "0");
	free(en);
	rmdir(r->trace_dir);
	free(r->trace_dir);
	r->trace_dir = NULL;
}

static char *trace_dump(const struct kt_sched_run *r)
{
	KT_AUTOFREE char *path = NULL;
	KT_AUTOFREE char *text = NULL;
	char *dump = NULL;

	if (!r->trace_dir)
		return NULL;
	path = kt_asprintf("%s/trace", r->trace_dir);
	if (!path || kt_read_file(path, &text, NULL) < 0)
		return NULL;
	kt_sched_trace_dump_parse(text, &dump);
	return dump;
}

static void signal_group(struct kt_sched_run *r, int sig)
{
	if (r->reaped)
		return;	/* its pid may be someone else's now */
	/* The child leads its own process group; helpers it forked go too. */
	if (kill(-r->pid, sig) < 0 && !r->exited)
		kill(r->pid, sig);
}

static int wait_state_disabled(unsigned ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)ms * 1000000ull;
	char state[32];

	for (;;) {
		read_state(state, sizeof(state));
		if (strcmp(state, "enabled") && strcmp(state, "disabling") &&
		    strcmp(state, "enabling") && strcmp(state, "prepping"))
			return 0;
		if (kt_now_ns() >= end)
			return -ETIMEDOUT;
		kt_sleep_ns(5000000ull);
	}
}

/* In the child, before the exec: its own process group (stopped as one),
 * any CPU, no input, and output into the scheduler's log. */
static void spawn_setup(void *arg)
{
	int out_fd = *(int *)arg, null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	kt_unpin_self();
	if (null >= 0)
		dup2(null, 0);
	dup2(out_fd, 1);
	dup2(out_fd, 2);
}

/* The scheduler's pid, or -errno: fork's, or the exec's (no such binary). */
static pid_t spawn(const char *binary, const char *const *args, int out_fd)
{
	size_t n = 0, i;
	const char **argv;
	pid_t pid;
	int e;

	while (args && args[n])
		n++;
	argv = calloc(n + 2, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	argv[0] = binary;
	for (i = 0; i < n; i++)
		argv[i + 1] = args[i];
	e = kt_spawn((char *const *)argv, spawn_setup, &out_fd, &pid);
	free(argv);
	return e ? e : pid;
}

static void run_close(struct kt_sched_run *r)
{
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->kmsg_fd >= 0)
		close(r->kmsg_fd);
	r->pidfd = r->kmsg_fd = -1;
}

void kt_sched_run_free(struct kt_sched_run *r)
{
	if (!r)
		return;
	r->stopping = true;	/* whatever happens now is not a finding */
	if (r->pid > 0)
		kt_sched_stop(r);	/* no-op if stopped already; reaps in any case */
	run_close(r);
	trace_teardown(r);
	if (r->out_path)
		unlink(r->out_path);
	free(r->out_path);
	free(r->expect_ops);
	free(r->why);
	kt_sched_klog_release(&r->klog);
	free(r);
}

pid_t kt_sched_pid(const struct kt_sched_run *r)
{
	return r ? r->pid : -1;
}

const char *kt_sched_output_path(const struct kt_sched_run *r)
{
	return r ? r->out_path : NULL;
}

static int start_fail(struct kt_sched_run *r, int ret, char **err, char *msg)
{
	if (err)
		*err = msg;
	else
		free(msg);
	kt_sched_run_free(r);
	return ret;
}

int kt_sched_start(const char *binary, const char *const *args, const char *expect_ops,
		   unsigned attach_timeout_ms, struct kt_sched_run **out, char **err)
{
	struct kt_sched_run *r;
	char state[32], ops[64], path[] = "/tmp/ktstr-sched-XXXXXX.log";
	uint64_t seq0, end;
	int out_fd;

	if (err)
		*err = NULL;
	*out = NULL;
	if (!attach_timeout_ms)
		attach_timeout_ms = ATTACH_TIMEOUT_DFL_MS;
	if (access(SCX_SYSFS "/state", R_OK) < 0) {
		if (err)
			*err = strdup("this kernel has no sched_ext (" SCX_SYSFS " missing)");
		return -ENOTSUP;
	}
	/* A previous scheduler may still be on its way out. */
	if (wait_state_disabled(2000) < 0) {
		read_state(state, sizeof(state));
		read_ops(ops, sizeof(ops));
		if (err)
			*err = kt_asprintf("another sched_ext scheduler is attached (state %s, ops %s)",
					   state, ops[0] ? ops : "?");
		return -EBUSY;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pidfd = r->kmsg_fd = -1;
	r->expect_ops = expect_ops ? strdup(expect_ops) : NULL;
	r->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->kmsg_fd >= 0)
		lseek(r->kmsg_fd, 0, SEEK_END);
	trace_setup(r);
	out_fd = mkstemps(path, 4);
	if (out_fd < 0) {
		int e = -errno;	/* before kt_asprintf, which may change errno */

		return start_fail(r, e, err, kt_asprintf("cannot create %s: %s", path, strerror(-e)));
	}
	r->out_path = strdup(path);
	if (!r->out_path) {
		unlink(path);
		close(out_fd);
		return start_fail(r, -ENOMEM, err, strdup("out of memory"));
	}
	seq0 = read_enable_seq();
	r->pid = spawn(binary, args, out_fd);
	close(out_fd);
	if (r->pid < 0) {
		int e = r->pid;

		r->pid = 0;
		return start_fail(r, e, err, kt_asprintf("cannot start %s: %s", binary, strerror(-e)));
	}
	r->pidfd = pidfd_open_(r->pid);

	end = kt_now_ns() + (uint64_t)attach_timeout_ms * 1000000ull;
	for (;;) {
		struct pollfd p = { .fd = r->pidfd, .events = POLLIN };

		kmsg_drain(r);
		read_state(state, sizeof(state));
		if (!strcmp(state, "enabled") && read_enable_seq() > seq0) {
			read_ops(ops, sizeof(ops));
			if (ops[0] && (!expect_ops || !strcmp(ops, expect_ops)))
				break;
			if (ops[0] && reap(r) == false) {
				/* Enabled, but under another name: not the scheduler we expect. */
				KT_AUTOFREE char *tail = output_tail_oneline(r, 3);

				return start_fail(r, -EPROTO, err,
					kt_asprintf("scheduler attached as \"%s\", expected \"%s\": %s",
						    ops, expect_ops, tail ? tail : ""));
			}
		}
		if (reap(r)) {
			KT_AUTOFREE char *tail = NULL;
			KT_AUTOFREE char *kl = NULL;
			char st[64];

			kmsg_wait_disable(r, 100);
			tail = output_tail_oneline(r, 5);
			kl = klog_oneline(r);
			kt_sched_status_str(r->wstatus, st, sizeof(st));
			return start_fail(r, -ECHILD, err,
				kt_asprintf("scheduler exited with %s before attaching: %s%s%s",
					    st, tail && *tail ? tail : "(no output)",
					    kl && *kl ? " / kernel: " : "", kl ? kl : ""));
		}
		if (kt_now_ns() >= end) {
			KT_AUTOFREE char *tail = NULL;
			KT_AUTOFREE char *kl = NULL;

			kmsg_drain(r);
			tail = output_tail_oneline(r, 5);
			kl = klog_oneline(r);
			return start_fail(r, -ETIMEDOUT, err,
				kt_asprintf("scheduler did not attach within %u ms (state %s): %s%s%s",
					    attach_timeout_ms, state,
					    tail && *tail ? tail : "(no output)",
					    kl && *kl ? " / kernel: " : "", kl ? kl : ""));
		}
		/* Wakes at once if the process exits; sysfs state has no notification. */
		poll(&p, 1, 10);
	}
	snprintf(r->ops, sizeof(r->ops), "%s", ops);
	r->enable_seq = read_enable_seq();
	{
		struct stat sb;

		if (stat(r->out_path, &sb) == 0)
			r->out_attach_off = (size_t)sb.st_size;
	}
	*out = r;
	return 0;
}

/* Check health once; on the first failure record it and build the why. */
static bool check_health(struct kt_sched_run *r)
{
	char state[32], ops[64];
	bool ok;

	if (r->dead)
		return false;
	kmsg_drain(r);
	reap(r);
	read_state(state, sizeof(state));
	read_ops(ops, sizeof(ops));
	ok = !r->exited && !strcmp(state, "enabled") && !strcmp(ops, r->ops) &&
	     !r->klog.disabled_seen && read_enable_seq() == r->enable_seq;
	if (ok)
		return true;
	r->dead = true;
	r->detected_at_ms = uptime_ms();
	kmsg_wait_disable(r, REASON_WAIT_MS);
	{
		size_t len = 0;
		KT_AUTOFREE char *text = output_read(r, &len);
		KT_AUTOFREE char *rep = NULL;

		if (text && len > r->out_attach_off)
			rep = kt_sched_exit_report(text + r->out_attach_off, 3);
		if (!r->klog.disabled_seen && !r->exited && !strcmp(state, "enabled"))
			r->why = kt_asprintf("another scheduler replaced it (ops %s, enable_seq changed)",
					     ops[0] ? ops : "?");
		else if (!r->klog.disabled_seen && !r->exited)
			r->why = kt_asprintf("sched_ext state is %s (ops %s) while the scheduler process still runs",
					     state, ops[0] ? ops : "none");
		else
			r->why = kt_sched_why_format(&r->klog, r->exited ? r->wstatus : -1, state,
						     ops, rep);
	}
	return false;
}

bool kt_sched_alive(struct kt_sched_run *r, char **why)
{
	if (why)
		*why = NULL;
	if (!r)
		return false;
	if (check_health(r))
		return true;
	if (why)
		*why = strdup(r->why ? r->why : "scheduler is not running");
	return false;
}

/*
 * Idempotent: the runner stops a scheduler early (stuck workers), again
 * after the body, and kt_sched_run_free once more; only the first call
 * signals anything, the rest return its result.
 */
/* Is sched_ext still running a BPF scheduler? */
static bool scx_on(void)
{
	char state[32];

	read_state(state, sizeof(state));
	return !strcmp(state, "enabled") || !strcmp(state, "enabling");
}

int kt_sched_stop_now(struct kt_sched_run *r, unsigned grace_ms, bool *forced)
{
	uint64_t end;

	if (forced)
		*forced = false;
	if (!r || r->pid <= 0 || r->stopped)
		return kt_sched_stop(r);
	if (!r->stopping) {
		check_health(r);
		r->stopping = true;
	}
	if (!reap(r))
		signal_group(r, SIGTERM);
	end = kt_now_ns() + (uint64_t)grace_ms * 1000000ull;
	while (scx_on() && kt_now_ns() < end)
		kt_sleep_ns(5000000ull);
	/*
	 * A loader starved by its own scheduler cannot act on SIGTERM, and the
	 * kernel's watchdog would take seconds more: sysrq S makes the kernel
	 * itself disable the BPF scheduler now (every task back on the fair
	 * class), so the workers can report.
	 */
	if (scx_on() && kt_write_file("/proc/sysrq-trigger", "S") == 0 && forced)
		*forced = true;
	return kt_sched_stop(r);
}

int kt_sched_stop(struct kt_sched_run *r)
{
	if (!r || r->pid <= 0)
		return 0;
	if (r->stopped)
		return r->stop_rc;
	if (!r->stopping) {
		/* A death before the stop request is a finding, not our doing. */
		check_health(r);
		r->stopping = true;
	}
	if (!reap(r)) {
		signal_group(r, SIGTERM);
		if (!wait_exit(r, STOP_TERM_MS))
			signal_group(r, SIGKILL);
	}
	collect(r);	/* helpers left behind in its group, then the leader */
	r->stopped = true;
	r->stop_rc = wait_state_disabled(DISABLE_WAIT_MS);
	return r->stop_rc;
}

void kt_sched_diag_release(struct kt_sched_diag *d)
{
	if (!d)
		return;
	free(d->reason);
	free(d->exit_report);
	free(d->dump);
	free(d->output_tail);
	memset(d, 0, sizeof(*d));
	d->exit_status = -1;
}

int kt_sched_diagnose(struct kt_sched_run *r, struct kt_sched_diag *d)
{
	size_t len = 0;
	KT_AUTOFREE char *text = NULL;

	memset(d, 0, sizeof(*d));
	d->exit_status = -1;
	if (!r)
		return -EINVAL;
	if (!r->stopping)
		check_health(r);
	if (r->dead && !r->stopping)
		wait_exit(r, EXIT_REPORT_WAIT_MS);
	kmsg_drain(r);
	reap(r);

	d->died = r->dead;
	d->died_at_ms = r->detected_at_ms;
	if (r->klog.disabled_seen && (r->dead || !r->stopping))
		d->kernel_log_ms = (double)r->klog.disabled_ts_us / 1e3;
	if (r->exited)
		d->exit_status = r->wstatus;
	if (r->klog.disabled_seen && (r->dead || !r->stopping)) {
		d->reason = r->klog.msg ? kt_asprintf("%s\n%s: %s", r->klog.disabled_line,
						      r->klog.ops_name ? r->klog.ops_name : "?",
						      r->klog.msg)
					: strdup(r->klog.disabled_line);
	} else if (r->dead && r->why) {
		d->reason = strdup(r->why);
	}
	text = output_read(r, &len);
	if (text) {
		size_t plen = 0;
		KT_AUTOFREE char *plain = kt_sched_strip_uei_dump(text, len, &plen);

		d->output_tail = kt_sched_text_tail(plain ? plain : text, plain ? plen : len, 20, 4096);
		if (len > r->out_attach_off)
			d->exit_report = kt_sched_exit_report(text + r->out_attach_off, 3);
	}
	d->dump = trace_dump(r);
	if (!d->dump && r->klog.backtrace.len)
		d->dump = kt_asprintf("kernel backtrace:\n%.*s", (int)r->klog.backtrace.len,
				      r->klog.backtrace.data);
	return 0;
}
