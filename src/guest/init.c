/*
 * PID 1 in the VM.  Mounts what tests need (proc, sys, devtmpfs, tmpfs,
 * cgroup2 with cpuset/cpu/memory enabled, debugfs, tracefs), reads the
 * host's request from the initramfs, runs it, sends a JSON result on its
 * own virtio-serial port (never the kernel console), drains the console
 * and powers off.  Must not know about QEMU arguments.
 */
#include "guest/guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <ktstr/cpuset.h>
#include <ktstr/topology.h>

#include "topology/topo_internal.h"
#include "util/util.h"

#include <execinfo.h>
#include <ucontext.h>

/*
 * PID 1 alone does not mean "in a ktstr VM": a container (`docker run`,
 * `unshare --pid --fork`) also starts its first program as PID 1, and
 * taking the guest path there would mount over /dev and power off.  The
 * request file that launch.c puts into every guest's initramfs is the
 * positive marker; nothing else creates /ktstr/request.json.
 */
/*
 * A crash of the test body is a crash of PID 1, which the kernel would
 * turn into "Attempted to kill init" and a panic: the verdict would say
 * "kernel panic" and hide the bug.  Instead the handler sends a result
 * that says what crashed and where (offsets into this binary, which the
 * host can turn into function names), drains the console and powers off.
 * Only async-signal-safe calls, bar snprintf and the backtrace primed at
 * start-up.
 */
static int crash_res_fd = -1;
extern const char __ehdr_start;		/* this PIE's load address */

static void crash_handler(int sig, siginfo_t *si, void *uc_)
{
	static char buf[2048];
	void *frames[16];
	int n, len, nframes;
	const ucontext_t *uc = uc_;
	uintptr_t base = (uintptr_t)&__ehdr_start;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	const char *name = sigabbrev_np(sig);

	/* a forked worker inherits the handler: it dies as it would have */
	if (getpid() != 1) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	nframes = backtrace(frames, 16);
	len = snprintf(buf, sizeof(buf),
		       "{\"version\":%d,\"verdict\":\"fail\",\"result\":{\"passed\":false,"
		       "\"skipped\":false,\"details\":[\"test body crashed: SIG%s at +0x%lx (fault "
		       "address %p)\"]},\"crash\":{\"signal\":\"SIG%s\",\"pc_offset\":%lu,"
		       "\"fault_addr\":\"%p\",\"frames\":[",
		       KT_PROTO_VERSION, name ? name : "?", (unsigned long)(pc - base), si->si_addr,
		       name ? name : "?", (unsigned long)(pc - base), si->si_addr);
	for (int i = 0; i < nframes && len > 0 && len < (int)sizeof(buf) - 64; i++) {
		n = snprintf(buf + len, sizeof(buf) - (size_t)len, "%s%lu", i ? "," : "",
			     (unsigned long)((uintptr_t)frames[i] - base));
		if (n > 0)
			len += n;
	}
	if (len > 0 && len < (int)sizeof(buf) - 8)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "]}}\n");
	tcdrain(1);
	if (crash_res_fd >= 0 && len > 0)
		(void)!write(crash_res_fd, buf, (size_t)len);
	sync();
	reboot(RB_POWER_OFF);
	_exit(128 + sig);
}

static void crash_handlers_install(int res_fd)
{
	static char altstack[64 * 1024];
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP };
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_sigaction = crash_handler, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	void *prime[1];

	crash_res_fd = res_fd;
	backtrace(prime, 1);	/* loads the unwinder now, not inside the handler */
	sigaltstack(&ss, NULL);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < KT_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

bool kt_guest_is_init(void)
{
	return getpid() == 1 && access(KT_GUEST_REQUEST_PATH, R_OK) == 0;
}

double kt_guest_uptime_ms(void)
{
	struct timespec ts;

	/* the clock behind /proc/uptime, without its 10 ms resolution */
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static bool dir_is_empty(const char *path)
{
	KT_AUTODIR DIR *d = opendir(path);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return false;
	return true;
}

static void mount_all(void)
{
	static const struct {
		const char *src, *dst, *type;
		unsigned long flags;
	} m[] = {
		{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV },
		{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV },
		{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "debugfs", "/sys/kernel/debug", "debugfs", 0 },
		{ "tracefs", "/sys/kernel/tracing", "tracefs", 0 },
		{ "bpf", "/sys/fs/bpf", "bpf", 0 },
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(m); i++) {
		mkdir(m[i].dst, 0755);
		/*
		 * The initramfs is writable RAM already; a tmpfs over a
		 * directory it fills would hide what the host put there: a
		 * library under /tmp that the host's loader path names (a
		 * build tree cloned into /tmp, say) and the guest must load.
		 */
		if (!strcmp(m[i].type, "tmpfs") && !dir_is_empty(m[i].dst))
			continue;
		mount(m[i].src, m[i].dst, m[i].type, m[i].flags, NULL);
		/*
		 * The guest has no kernel modules, yet the kernel still forks
		 * a modprobe helper whenever something might be a module
		 * (mounting bpffs does): ~10 ms each under TCG.  An empty
		 * modprobe path makes such lookups fail at once.
		 */
		if (!strcmp(m[i].type, "proc"))
			kt_write_file("/proc/sys/kernel/modprobe", "\n");
	}
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", 0, NULL);
	mkdir("/dev/shm", 01777);
	mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, NULL);
}

/* Enable every controller the root offers (cpuset, cpu, memory, ...). */
static void enable_controllers(void)
{
	char ctl[512], *save = NULL;
	struct kt_buf want = { 0 };

	if (kt_read_line("/sys/fs/cgroup/cgroup.controllers", ctl, sizeof(ctl)))
		return;
	for (char *c = strtok_r(ctl, " ", &save); c; c = strtok_r(NULL, " ", &save))
		kt_buf_printf(&want, "%s+%s", want.len ? " " : "", c);
	if (want.data)
		kt_write_file("/sys/fs/cgroup/cgroup.subtree_control", want.data);
	kt_buf_release(&want);
}

static void setup_env(void)
{
	char ld[4096];

	setenv("PATH", "/include:/bin:/sbin:/usr/bin:/usr/sbin", 1);
	setenv("HOME", "/root", 1);
	setenv("TERM", "linux", 1);
	if (kt_read_line("/ktstr/ld_library_path", ld, sizeof(ld)) == 0 && *ld)
		setenv("LD_LIBRARY_PATH", ld, 1);
}

/* /dev/vportNpM of the virtio-serial port called `name`; -1 if absent. */
static int open_port(const char *name, int flags)
{
	for (int tries = 0; tries < 2000; tries++) {
		KT_AUTODIR DIR *d = opendir("/sys/class/virtio-ports");
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char path[512], got[128];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
			if (kt_read_line(path, got, sizeof(got)) || strcmp(got, name))
				continue;
			snprintf(path, sizeof(path), "/dev/%s", de->d_name);
			return open(path, flags | O_CLOEXEC);
		}
		kt_sleep_ns(1000000);	/* ports register shortly after the driver */
	}
	return -1;
}

static void console_stdio(void)
{
	KT_AUTOCLOSE int fd = open("/dev/console", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd <= 2)
		fd = -1;	/* PID 1 starts with none open: it is stdin itself */
}

/* The command's side of the fork: no stdin, output to the host channel.
 * (O_CLOEXEC: the copies dup2 makes stay, the originals go at exec.) */
static void cmd_child_setup(void *arg)
{
	int out_fd = *(int *)arg, null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	dup2(null, 0);
	if (out_fd >= 0) {
		dup2(out_fd, 1);
		dup2(out_fd, 2);
	}
	setsid();
}

static int run_cmd(const struct kt_request *req, json_t *result, int out_fd)
{
	size_t n = req->argv.n;	/* the parser refuses an empty argv */
	KT_AUTOFREE char **argv = calloc(n + 1, sizeof(*argv));
	int status, e;
	pid_t pid;

	if (!argv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		argv[i] = req->argv.v[i];
	e = kt_spawn(argv, cmd_child_setup, &out_fd, &pid);
	if (e == -ENOENT || e == -EACCES || e == -ENOEXEC) {
		json_object_set_new(result, "error",
				    json_sprintf("%s: %s in the guest", argv[0],
						 e == -ENOENT ? "command not found" : strerror(-e)));
		json_object_set_new(result, "exit_code", json_integer(e == -ENOENT ? 127 : 126));
		return 0;
	}
	if (e)
		return e;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status)) {
		json_object_set_new(result, "exit_code", json_integer(WEXITSTATUS(status)));
	} else {
		json_object_set_new(result, "signal", json_integer(WTERMSIG(status)));
		json_object_set_new(result, "exit_code", json_integer(128 + WTERMSIG(status)));
	}
	return 0;
}

static int run_shell(const struct kt_request *req, json_t *result, int out_fd)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		setsid();
		fd = open("/dev/ttyS0", O_RDWR | O_CLOEXEC);	/* the shell keeps its dup2 copies */
		if (fd >= 0) {
			ioctl(fd, TIOCSCTTY, 1);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		printf("ktstr guest shell: `exit` powers the VM off\n");
		fflush(stdout);
		execl("/bin/sh", "sh", "-l", (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	json_object_set_new(result, "exit_code", json_integer(0));
	return 0;
}

static const struct kt_guest_mode builtin_modes[] = {
	{ KT_MODE_CMD, run_cmd },
	{ KT_MODE_SHELL, run_shell },
	{ 0, NULL },
};

static const struct kt_guest_mode *find_mode(const struct kt_guest_mode *modes,
					     enum kt_proto_mode m)
{
	for (size_t i = 0; modes && modes[i].mode; i++)
		if (modes[i].mode == m)
			return &modes[i];
	for (size_t i = 0; builtin_modes[i].mode; i++)
		if (builtin_modes[i].mode == m)
			return &builtin_modes[i];
	return NULL;
}

static __attribute__((noreturn)) void power_off(void)
{
	tcdrain(1);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int kt_guest_load_request(const char *path, struct kt_request *req, json_t *result)
{
	KT_AUTOFREE char *text = NULL;
	KT_AUTOFREE char *why = NULL;
	size_t len = 0;
	int e = kt_read_file(path, &text, &len);

	if (e) {
		json_object_set_new(result, "error", json_sprintf("cannot read the request %s: %s",
								   path, strerror(-e)));
		return e;
	}
	e = kt_request_parse(text, len, req, &why);
	if (e == -EPROTO)
		kt_proto_result_refuse(result, why);
	else if (e)
		json_object_set_new(result, "error", json_sprintf("bad request: %s",
								   why ? why : strerror(-e)));
	return e;
}

/* The topology the boot check read and matched, for the request (taken). */
static struct kt_topology *boot_topology;

struct kt_topology *kt_guest_take_topology(void)
{
	return kt_take_ptr(boot_topology);
}

/*
 * A large TCG guest boots with one CPU online (maxcpus=1, the host's
 * choice: while the kernel boots, every online CPU ticks until the TSC
 * clocksource takes over, which under TCG makes a 128-CPU boot over ten times
 * slower) and ktstr.online=1 asks init to bring up the rest, one by one
 * (the kernel serialises hotplug anyway), before anything checks or uses
 * the machine.  Each CPU joins its NUMA node, LLC and sched domains as it
 * comes up, and the topology check that follows covers the result.  A CPU
 * that will not come up is an environment error: -EXDEV with *why.
 */
static int online_cpus(json_t *result, char **why)
{
	KT_AUTOFREE char *cmdline = NULL, *present_text = NULL, *online_text = NULL;
	KT_AUTO(kt_cpuset) present = NULL;
	KT_AUTO(kt_cpuset) online = NULL;
	double t = kt_guest_uptime_ms();
	unsigned n = 0;
	int e;

	if (kt_read_file("/proc/cmdline", &cmdline, NULL) ||
	    !kt_cmdline_has(cmdline, "ktstr.online=1"))
		return 0;
	if ((e = kt_read_file("/sys/devices/system/cpu/present", &present_text, NULL)) ||
	    (e = kt_read_file("/sys/devices/system/cpu/online", &online_text, NULL)) ||
	    (e = kt_cpuset_parse(present_text, &present, NULL)) ||
	    (e = kt_cpuset_parse(online_text, &online, NULL))) {
		*why = kt_asprintf("cannot read which CPUs are present and online: %s",
				   strerror(-e));
		return *why ? -EXDEV : -ENOMEM;
	}
	kt_cpuset_for_each(cpu, present) {
		char path[64];

		if (kt_cpuset_test(online, (unsigned)cpu))
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		if ((e = kt_write_file(path, "1"))) {
			*why = kt_asprintf("CPU %d of %u present did not come online (%s), %u brought "
					   "up before it", cpu, kt_cpuset_count(present),
					   strerror(-e), n);
			return *why ? -EXDEV : -ENOMEM;
		}
		n++;
	}
	json_object_set_new(result, "guest_online_ms", json_real(kt_guest_uptime_ms() - t));
	json_object_set_new(result, "guest_onlined", json_integer(n));
	return 0;
}

/* The booted machine against the declared one; what that cost, in the result. */
static int verify_topology(json_t *result, char **why)
{
	double t;
	int e = online_cpus(result, why);

	if (e)
		return e;
	t = kt_guest_uptime_ms();
	e = kt_topo_verify_boot_keep("/", why, &boot_topology);

	json_object_set_new(result, "guest_verify_ms", json_real(kt_guest_uptime_ms() - t));
	return e;
}

/* Run the request and send its result; the channels close on return. */
static void serve(const struct kt_guest_mode *modes, json_t *result)
{
	struct kt_request req = { 0 };
	const struct kt_guest_mode *mode;
	double t0 = kt_guest_uptime_ms();
	KT_AUTOCLOSE int res_fd = open_port("ktstr.result", O_WRONLY);
	KT_AUTOCLOSE int out_fd = open_port("ktstr.out", O_WRONLY);
	KT_AUTOFREE char *why = NULL;
	KT_AUTOFREE char *text = NULL;
	int e;

	crash_handlers_install(res_fd);
	json_object_set_new(result, "guest_init_ms", json_real(t0));
	json_object_set_new(result, "guest_channels_ms", json_real(kt_guest_uptime_ms() - t0));
	if (kt_guest_load_request(KT_GUEST_REQUEST_PATH, &req, result)) {
		/* the result says why */
	} else if (!(mode = find_mode(modes, req.mode))) {
		json_object_set_new(result, "error",
				    json_sprintf("this binary cannot run requests of mode %s",
						 kt_proto_mode_name(req.mode)));
	} else if (verify_topology(result, &why) == -EXDEV) {
		/* a machine other than the declared one must not pass for a result */
		json_object_set_new(result, "error", json_sprintf("topology: %s", why));
		json_object_set_new(result, "topology_mismatch", json_true());
	} else {
		e = mode->run(&req, result, out_fd >= 0 ? out_fd : 1);
		if (e && !json_object_get(result, "error"))
			json_object_set_new(result, "error", json_sprintf("%s", strerror(-e)));
	}
	kt_request_release(&req);
	json_object_set_new(result, "guest_total_ms", json_real(kt_guest_uptime_ms() - t0));
	text = json_dumps(result, JSON_COMPACT);
	tcdrain(1);	/* the host stops the VM as soon as the result is in */
	if (text && res_fd >= 0) {
		kt_write_all(res_fd, text, strlen(text));
		kt_write_all(res_fd, "\n", 1);
	} else {
		/*
		 * No result port (or no memory for the text): the host reads
		 * results only from that port, so say why on the console,
		 * whose tail the host shows with "guest ended without a result".
		 */
		printf("ktstr: guest cannot send its result: %s\n",
		       res_fd < 0 ? "no virtio-serial port named ktstr.result" : "out of memory");
	}
	crash_res_fd = -1;	/* res_fd closes now */
}

int kt_guest_main(const struct kt_guest_mode *modes)
{
	json_t *result;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
	console_stdio();
	mount_all();
	enable_controllers();
	setup_env();
	result = kt_proto_result_new();
	if (result)
		serve(modes, result);
	else
		printf("ktstr: guest cannot send its result: out of memory\n");
	json_decref(result);
	power_off();
}
