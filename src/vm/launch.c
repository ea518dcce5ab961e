/*
 * Running one VM: private run directory, initrd = cached base + a small
 * per-run archive carrying the request, QEMU started with its output
 * channels, the guest's program output streamed to the caller, and every
 * way of ending handled (result, panic, timeout, cancel, QEMU failure).
 * The run directory and the QEMU process never outlive this function.
 */
#include "vm/vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

#define CONSOLE_TAIL_BYTES (64 * 1024)

const char *kt_vm_outcome_name(enum kt_vm_outcome o)
{
	switch (o) {
	case KT_VM_OK: return "ok";
	case KT_VM_NO_RESULT: return "no result";
	case KT_VM_PANIC: return "kernel panic";
	case KT_VM_TIMEOUT: return "timeout";
	case KT_VM_CANCELLED: return "cancelled";
	case KT_VM_QEMU_FAILED: return "qemu failed";
	case KT_VM_TOPOLOGY: return "topology mismatch";
	}
	return "?";
}

void kt_vm_result_release(struct kt_vm_result *r)
{
	free(r->result_json);
	free(r->console);
	free(r->qemu_stderr);
	free(r->topology_error);
	memset(r, 0, sizeof(*r));
}

char *kt_vm_timing_describe(const struct kt_vm_result *r)
{
	if (!r->result_ns)	/* the guest never answered: nothing it measured to show */
		return kt_asprintf("host prep %.1f ms, no result from the guest, QEMU gone after "
				   "%.1f ms, waited for a host CPU %.0f %%",
				   (double)r->prep_ns / 1e6, (double)r->total_ns / 1e6,
				   r->host_wait_pct);
	char online[64] = "";

	if (r->guest_online_ms > 0)	/* booted with one CPU (0: unset or none) */
		snprintf(online, sizeof(online), "bringing up CPUs %.1f ms, ", r->guest_online_ms);
	return kt_asprintf("host prep %.1f ms, QEMU start to result %.1f ms (guest kernel reached "
			   "init at %.1f ms of its uptime; init's work to the result %.1f ms, of "
			   "which %stopology check %.1f ms), to QEMU gone %.1f ms, waited for a "
			   "host CPU %.0f %%",
			   (double)r->prep_ns / 1e6, (double)r->result_ns / 1e6, r->guest_init_ms,
			   r->guest_work_ms, online, r->guest_verify_ms,
			   (double)r->total_ns / 1e6, r->host_wait_pct);
}

/* A top-level number of the guest's one-line result, found by its key
 * (the result is not parsed here); -1 when absent. */
static double result_number(const char *json, const char *key)
{
	KT_AUTOFREE char *k = json ? kt_asprintf("\"%s\":", key) : NULL;
	const char *at = k ? strstr(json, k) : NULL;

	return at ? strtod(at + strlen(k), NULL) : -1.0;
}

const char *kt_text_tail(const char *text, unsigned lines)
{
	const char *p;

	if (!text)
		return "";
	p = text + strlen(text);
	while (p > text && (p[-1] == '\n' || p[-1] == '\r'))
		p--;
	while (p > text) {
		if (p[-1] == '\n' && lines-- <= 1)
			break;
		p--;
	}
	return p;
}

static int append_file(int dst, const char *src)
{
	struct stat st;
	off_t off = 0;
	KT_AUTOCLOSE int fd = open(src, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	while (!err && off < st.st_size) {
		ssize_t n = sendfile(dst, fd, &off, (size_t)(st.st_size - off));

		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
	}
	return err;
}

/* initrd = base archive + a small archive with the request. */
static int make_initrd(const char *rundir, const char *base, const char *request,
		       char **initrd)
{
	KT_AUTOFREE char *extra = kt_asprintf("%s/run.cpio", rundir);
	char *path = kt_asprintf("%s/initrd", rundir);
	struct kt_cpio *c;
	int fd, err;

	if (!extra || !path) {
		free(path);
		return -ENOMEM;
	}
	err = kt_cpio_open(extra, &c);
	if (!err) {
		/* also the guest's marker that it is a ktstr VM (kt_guest_is_init) */
		err = kt_cpio_data(c, "ktstr/request.json", 0644, request ? request : "{}",
				   request ? strlen(request) : 2);
		if (err)
			kt_cpio_abort(c);
		else
			err = kt_cpio_finish(c);
	}
	fd = err ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!err && fd < 0)
		err = -errno;
	if (!err)
		err = append_file(fd, base);
	if (!err)
		err = append_file(fd, extra);
	if (fd >= 0 && close(fd) < 0 && !err)
		err = -errno;
	if (err) {
		free(path);
		return err;
	}
	*initrd = path;
	return 0;
}

static char *self_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/*
 * The last `max` bytes of a file (all of it when smaller), NUL-terminated;
 * only those bytes are read, so a guest that floods its console costs a
 * seek, not a copy of the whole log.
 */
static char *read_tail(const char *path, size_t max)
{
	KT_AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	struct kt_buf b = { 0 };
	char buf[65536];
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > max &&
	    lseek(fd, st.st_size - (off_t)max, SEEK_SET) < 0)
		return NULL;
	while (b.len < max && (n = read(fd, buf, max - b.len < sizeof(buf) ? max - b.len
									 : sizeof(buf))) > 0)
		if (kt_buf_append(&b, buf, (size_t)n))
			break;
	if (kt_buf_append(&b, "", 1)) {
		kt_buf_release(&b);
		return NULL;
	}
	return b.data;
}

/* Read a non-blocking fd dry: to out_fd when it is one, else into *into. */
static void drain(int fd, int out_fd, struct kt_buf *into)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (into)
			kt_buf_append(into, buf, (size_t)n);
		else if (out_fd >= 0)
			kt_write_all(out_fd, buf, (size_t)n);
	}
}

/* QEMU's side of the fork. */
struct qemu_child {
	bool interactive;
	const char *errpath;
};

static void qemu_child_setup(void *arg)
{
	const struct qemu_child *qc = arg;
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!qc->interactive) {
		/* its own process group: a terminal's ^C reaches ktstr, which stops it */
		setpgid(0, 0);
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
	}
	fd = open(qc->errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		dup2(fd, 2);
}

int kt_vm_run(const struct kt_vm_config *cfg, struct kt_vm_result *res, char **err)
{
	char rundir[PATH_MAX];
	KT_AUTOFREE char *exe = NULL, *base = NULL, *initrd = NULL, *fifo = NULL, *fifo_in = NULL;
	KT_AUTOFREE char *errpath = NULL, *console = NULL, *res_fifo = NULL, *res_fifo_in = NULL;
	struct kt_buf result = { 0 };
	char **argv = NULL;
	KT_AUTOCLOSE int out = -1;
	KT_AUTOCLOSE int resfd = -1;
	KT_AUTOCLOSE int pidfd = -1;
	int e, status = 0;
	bool timed_out = false, cancelled = false;
	uint64_t start, deadline, t_enter = kt_now_ns(), t_result = 0;
	const char *tmp = KT_VM_HOST(cfg->host, tmpdir);
	struct kt_qemu_info q = { 0 };
	pid_t pid = -1;

	memset(res, 0, sizeof(*res));
	res->host_wait_pct = -1;
	*err = NULL;
	/* a machine this QEMU cannot be asked for is refused before any work */
	if ((e = kt_vm_machine_for(cfg->host, &cfg->topo, cfg->accel, &q,
				   &(struct kt_vm_machine){ 0 }, err)))
		return e;
	if (!tmp)
		tmp = "/tmp";
	snprintf(rundir, sizeof(rundir), "%s/ktstr-run-XXXXXX", tmp);
	if (!mkdtemp(rundir)) {
		e = -errno;
		*err = kt_asprintf("cannot create a run directory in %s: %s", tmp, strerror(-e));
		return e;
	}
	exe = cfg->init_binary ? strdup(cfg->init_binary) : self_exe();
	if (!exe) {
		e = -ENOMEM;
		goto out;
	}
	e = kt_initramfs_base(cfg->host, exe, cfg->files, cfg->n_files, &base, err);
	if (e)
		goto out;
	e = make_initrd(rundir, base, cfg->request_json, &initrd);
	if (e) {
		*err = kt_asprintf("cannot write the initrd in %s: %s", rundir, strerror(-e));
		goto out;
	}
	fifo = kt_asprintf("%s/out.out", rundir);
	fifo_in = kt_asprintf("%s/out.in", rundir);
	errpath = kt_asprintf("%s/qemu.err", rundir);
	console = kt_asprintf("%s/console.log", rundir);
	res_fifo = kt_asprintf("%s/res.out", rundir);
	res_fifo_in = kt_asprintf("%s/res.in", rundir);
	if (!fifo || !fifo_in || !errpath || !console || !res_fifo || !res_fifo_in) {
		e = -ENOMEM;
		goto out;
	}
	if (mkfifo(fifo, 0600) < 0 || mkfifo(fifo_in, 0600) < 0 ||
	    mkfifo(res_fifo, 0600) < 0 || mkfifo(res_fifo_in, 0600) < 0) {
		e = -errno;
		*err = kt_asprintf("cannot create the channels in %s: %s", rundir, strerror(-e));
		goto out;
	}
	/* our read ends first, non-blocking: QEMU opens both ends read-write */
	out = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	resfd = open(res_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (out < 0 || resfd < 0) {
		e = -errno;
		goto out;
	}
	e = kt_vm_qemu_argv(cfg, initrd, rundir, &argv);
	if (e)
		goto out;
	start = kt_now_ns();
	{
		struct qemu_child qc = { .interactive = cfg->interactive, .errpath = errpath };

		e = kt_spawn(argv, qemu_child_setup, &qc, &pid);
	}
	if (e) {
		*err = kt_asprintf("cannot run %s: %s (install the qemu-system-x86 package, "
				   "or set KTSTR_QEMU)", argv[0], strerror(-e));
		pid = -1;
		goto out;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	deadline = start + (uint64_t)(cfg->timeout_s ? cfg->timeout_s : 120) * 1000000000ull;
	for (;;) {
		struct pollfd p[4] = {
			{ .fd = out, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = cfg->cancel_fd, .events = POLLIN },
			{ .fd = resfd, .events = POLLIN },
		};
		uint64_t now = kt_now_ns();
		int wait_ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);

		if (pidfd < 0 && wait_ms > 50)
			wait_ms = 50;	/* no pidfd: poll the child */
		if (poll(p, 4, wait_ms) < 0 && errno != EINTR) {
			e = -errno;
			*err = kt_asprintf("waiting on the VM failed: %s", strerror(-e));
			break;
		}
		drain(out, cfg->out_fd, NULL);
		drain(resfd, -1, &result);
		/*
		 * The guest sends its result as one line after its command has
		 * ended and every blocking write to the output port has been
		 * taken by QEMU, so a complete line means nothing more is coming
		 * that matters: stop QEMU instead of waiting for the guest
		 * kernel's power-off path.
		 */
		if (result.len && result.data[result.len - 1] == '\n') {
			t_result = kt_now_ns();	/* 0 until the result is complete */
			break;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = -1;
			break;
		}
		if (p[2].revents & (POLLIN | POLLHUP)) {
			cancelled = true;
			break;
		}
		if (kt_now_ns() >= deadline) {
			timed_out = true;
			break;
		}
	}
	if (pid > 0) {
		struct kt_host_wait zero = { 0 }, w;

		/* QEMU's threads began at zero: one reading covers the whole run */
		if (kt_host_wait_read(pid, &w) == 0)
			res->host_wait_pct = kt_host_wait_pct(&zero, &w);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		pid = -1;
	}
	if (e)
		goto out;	/* QEMU is gone; the run directory goes below */
	res->total_ns = kt_now_ns() - start;
	drain(out, cfg->out_fd, NULL);
	if (!t_result)
		drain(resfd, -1, &result);
	res->qemu_status = status;
	res->console = cfg->keep_console ? read_tail(console, SIZE_MAX / 2)
					 : read_tail(console, CONSOLE_TAIL_BYTES);
	res->qemu_stderr = read_tail(errpath, 4096);
	if (result.len && kt_buf_append(&result, "", 1) == 0) {
		res->result_json = result.data;
		result = (struct kt_buf){ 0 };
	}
	res->prep_ns = start - t_enter;
	res->result_ns = t_result ? t_result - start : 0;
	res->guest_init_ms = result_number(res->result_json, "guest_init_ms");
	res->guest_work_ms = result_number(res->result_json, "guest_total_ms");
	res->guest_verify_ms = result_number(res->result_json, "guest_verify_ms");
	res->guest_online_ms = result_number(res->result_json, "guest_online_ms");
	if (cancelled)
		res->outcome = KT_VM_CANCELLED;
	else if (timed_out)
		res->outcome = KT_VM_TIMEOUT;
	else if (res->result_json && strstr(res->result_json, "\"topology_mismatch\":true"))
		res->outcome = KT_VM_TOPOLOGY;
	else if (res->result_json)
		res->outcome = KT_VM_OK;
	else if (res->console && strstr(res->console, "Kernel panic"))
		res->outcome = KT_VM_PANIC;
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		res->outcome = KT_VM_QEMU_FAILED;
	else
		res->outcome = KT_VM_NO_RESULT;
	if (res->outcome == KT_VM_TOPOLOGY)
		res->topology_error = kt_vm_topology_error(cfg, res->result_json);
	/* what this machine's boots take, for estimates (ktstr topo --list) */
	if (res->outcome == KT_VM_OK && !cfg->interactive && res->guest_work_ms >= 0 &&
	    res->guest_verify_ms >= 0) {
		bool late = res->guest_online_ms >= 0;

		kt_vm_boot_record(cfg->host, cfg->accel, q.major, kt_topo_spec_cpus(&cfg->topo),
				  late, (double)res->result_ns / 1e9 -
				  (res->guest_work_ms - res->guest_verify_ms -
				   (late ? res->guest_online_ms : 0)) / 1e3);
	}
	e = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	kt_buf_release(&result);
	kt_vm_argv_free(argv);
	kt_rm_rf(rundir);
	if (e && !*err)
		*err = kt_asprintf("cannot run the VM: %s", strerror(-e));
	return e;
}
