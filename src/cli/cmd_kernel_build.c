/*
 * `ktstr kernel build [SRC]`: build a sched_ext kernel from source, for
 * kernels a distribution builds without it (Debian's 6.12 LTS).  SRC is a
 * kernel tree or tarball; without one, Debian's linux-source-6.12 is
 * fetched into the cache (scripts/kernel-source).  The configuration is
 * allnoconfig plus the ktstr fragment (kernel/ktstr.config), so the build
 * holds what a ktstr guest needs and nothing else; a tree whose resulting
 * .config lacks any line of the fragment is refused before the long build.
 * The result goes to the cache as kernels-built/<version>-<source hash>-
 * <config hash>/ with the same files a fetched kernel has, so --kernel DIR
 * and `ktstr kernel list` take it; building it again is a cache hit.
 *
 * Builds out of tree (make O=): a source directory is never written to.
 * What a .config must hold is kbuild.c's; this file runs the tools.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/kbuild.h"

/* The tree lacks a required option: not the host's fault, not a usage
 * error.  (EX_DATAERR; documented in README.md.) */
#define KT_EXIT_KCONFIG 65

#define BASE_CONFIG "allnoconfig"

struct kbuild {
	const char *src_arg;
	char *fragment_path;
	char *fragment;
	unsigned jobs;
	bool force;
	char *cache;
	char *work;		/* cache/kbuild/<source hash>: unpacked tree, O= dir, log */
	char *tree;		/* the kernel source tree make runs in */
	char *out;		/* make O= */
	char *log;
	uint64_t src_hash, cfg_hash;
};

static void kbuild_release(struct kbuild *b)
{
	free(b->fragment_path);
	free(b->fragment);
	free(b->cache);
	free(b->work);
	free(b->tree);
	free(b->out);
	free(b->log);
}

static bool on_path(const char *tool)
{
	const char *path = kt_host_env()->vm.search_path;
	KT_AUTOFREE char *copy = strdup(path ? path : "/usr/bin:/bin");
	char *save = NULL;

	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
		KT_AUTOFREE char *p = kt_asprintf("%s/%s", d, tool);

		if (p && access(p, X_OK) == 0)
			return true;
	}
	return false;
}

struct redirect {
	int out_fd, err_fd;	/* where stdout and stderr go; -1 keeps them */
};

static void redirect_child(void *arg)
{
	const struct redirect *r = arg;

	if (r->out_fd >= 0)
		dup2(r->out_fd, STDOUT_FILENO);
	if (r->err_fd >= 0)
		dup2(r->err_fd, STDERR_FILENO);
}

/* Run argv to completion with r's redirections.  Its exit status (0 =
 * success, 128 + N for signal N), or -errno if it could not be started. */
static int run_redirected(char *const argv[], struct redirect *r)
{
	int status, e;
	pid_t pid;

	e = kt_spawn(argv, redirect_child, r, &pid);
	if (e)
		return e;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run argv with its output appended to log. */
static int run_logged(char *const argv[], const char *log)
{
	struct redirect r;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644), e;

	if (fd < 0)
		return -errno;
	r.out_fd = r.err_fd = fd;
	e = run_redirected(argv, &r);
	close(fd);
	return e;
}

/* The last non-empty line of the log, for a one-line error. */
static char *log_tail(const char *log)
{
	KT_AUTOFREE char *text = NULL;
	char *end;

	if (kt_read_file(log, &text, NULL))
		return strdup("");
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	return strdup(strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text);
}

/* Debian's linux-source-6.12, through scripts/kernel-source: the path of
 * its tarball (malloc'd), or NULL having printed why. */
static char *fetch_default_source(void)
{
	static const char *const rel[] = {
		"../scripts/kernel-source",		/* build tree: build/ktstr */
		"../libexec/ktstr/kernel-source",	/* installed: PREFIX/bin/ktstr */
		NULL,
	};
	KT_AUTOFREE char *script = kt_cli_find_beside_self(rel, R_OK), *text = NULL;
	char tmpl[] = "/tmp/ktstr-source.XXXXXX";
	char *argv[] = { script, NULL };
	struct redirect r = { .err_fd = -1 };
	char *nl;
	int rc;

	if (!script) {
		kt_cli_error("kernel build: helper script kernel-source not found next to ktstr");
		return NULL;
	}
	r.out_fd = mkostemp(tmpl, O_CLOEXEC);
	if (r.out_fd < 0) {
		kt_cli_error("kernel build: cannot create %s: %s", tmpl, strerror(errno));
		return NULL;
	}
	/* stdout (the tarball's path) is captured; progress and errors stay on stderr */
	rc = run_redirected(argv, &r);
	close(r.out_fd);
	if (rc == 0)
		kt_read_file(tmpl, &text, NULL);
	unlink(tmpl);
	if (rc) {
		if (rc < 0)
			kt_cli_error("kernel build: cannot run %s: %s", script, strerror(-rc));
		return NULL;	/* the script said why */
	}
	if (!text || !*text) {
		kt_cli_error("kernel build: %s printed no tarball path", script);
		return NULL;
	}
	if ((nl = strchr(text, '\n')))
		*nl = '\0';
	return strdup(text);
}

/* A built kernel already cached for this source and configuration
 * (any version: a tarball's is only known once unpacked). */
static char *find_built(const struct kbuild *b)
{
	KT_AUTOFREE char *dir = kt_asprintf("%s/kernels-built", b->cache);
	KT_AUTOFREE char *suffix = kt_kbuild_entry_name("", b->src_hash, b->cfg_hash);
	char *found = NULL;
	struct dirent *de;
	DIR *d = dir ? opendir(dir) : NULL;

	while (d && suffix && !found && (de = readdir(d))) {
		size_t n = strlen(de->d_name), m = strlen(suffix);
		KT_AUTOFREE char *img = NULL;

		if (n <= m || strcmp(de->d_name + n - m, suffix))
			continue;
		img = kt_asprintf("%s/%s/vmlinux.h", dir, de->d_name);
		if (img && access(img, R_OK) == 0)
			found = kt_asprintf("%s/%s", dir, de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static int check_tools(void)
{
	static const struct {
		const char *tool, *why;
	} need[] = {
		{ "make", "make" }, { "gcc", "gcc" }, { "flex", "flex" }, { "bison", "bison" },
		{ "bc", "bc" }, { "perl", "perl" }, { "tar", "tar" }, { "xz", "xz-utils" },
		{ "pahole", "dwarves (pahole makes the BTF sched_ext needs)" },
		{ "objcopy", "binutils" }, { "bpftool", "bpftool" },
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(need); i++)
		if (!on_path(need[i].tool)) {
			kt_cli_error("kernel build: %s not found (Debian package: %s)", need[i].tool,
				     need[i].why);
			return KT_EXIT_ENV;
		}
	return 0;
}

/* Unpack a tarball into work/src once (the marker says it completed). */
static int unpack(struct kbuild *b, const char *tarball)
{
	KT_AUTOFREE char *marker = NULL;
	char *argv[] = { "tar", "-xf", (char *)tarball, "-C", NULL, "--strip-components=1", NULL };
	int rc;

	b->tree = kt_asprintf("%s/src", b->work);
	marker = b->tree ? kt_asprintf("%s/.ktstr-unpacked", b->tree) : NULL;
	if (!marker)
		return -ENOMEM;
	if (access(marker, F_OK) == 0)
		return 0;
	kt_rm_rf(b->tree);
	if ((rc = kt_mkdir_p(b->tree, 0755)))
		return rc;
	printf("unpacking %s\n", tarball);
	fflush(stdout);
	argv[4] = b->tree;
	rc = run_logged(argv, b->log);
	if (rc) {
		KT_AUTOFREE char *tail = log_tail(b->log);

		kt_cli_error("kernel build: cannot unpack %s: %s", tarball, rc < 0 ? strerror(-rc) : tail);
		return -EIO;
	}
	return kt_write_whole(marker, "", 0, 0644);
}

/* make -C tree O=out ARGS... with its output in the log. */
static int make(const struct kbuild *b, const char *what, char *const extra[])
{
	KT_AUTOFREE char *o = kt_asprintf("O=%s", b->out);
	char *argv[16] = { "make", "-C", b->tree, o };
	size_t n = 4;
	int rc;

	for (size_t i = 0; extra[i] && n < KT_ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	rc = run_logged(argv, b->log);
	if (rc) {
		KT_AUTOFREE char *tail = log_tail(b->log);

		kt_cli_error("kernel build: make %s failed (log: %s): %s", what, b->log,
			     rc < 0 ? strerror(-rc) : tail);
		return -EIO;
	}
	return 0;
}

/* allnoconfig + fragment, olddefconfig, then every fragment line must hold. */
static int configure(const struct kbuild *b)
{
	KT_AUTOFREE char *allconfig = kt_asprintf("KCONFIG_ALLCONFIG=%s", b->fragment_path);
	KT_AUTOFREE char *cfg_path = kt_asprintf("%s/.config", b->out), *config = NULL;
	KT_AUTOFREE char *unmet = NULL;
	char *base[] = { allconfig, BASE_CONFIG, NULL }, *old[] = { "olddefconfig", NULL };
	int e;

	if (!allconfig || !cfg_path)
		return -ENOMEM;
	printf("configuring: %s + %s\n", BASE_CONFIG, b->fragment_path);
	fflush(stdout);
	if (make(b, BASE_CONFIG, base) || make(b, "olddefconfig", old))
		return KT_EXIT_ENV;
	e = kt_read_file(cfg_path, &config, NULL);
	if (e) {
		kt_cli_error("kernel build: cannot read %s: %s", cfg_path, strerror(-e));
		return KT_EXIT_ENV;
	}
	e = kt_kconfig_check(b->fragment, config, &unmet);
	if (e == -ENOENT) {
		kt_cli_error("kernel build: %s cannot give a ktstr guest kernel: %s", b->tree, unmet);
		return KT_EXIT_KCONFIG;
	}
	if (e) {
		kt_cli_error("kernel build: %s: %s", b->fragment_path, unmet ? unmet : strerror(-e));
		return KT_EXIT_USAGE;
	}
	return 0;
}

/* vmlinux (stripped of DWARF; .BTF stays), bzImage, .config, vmlinux.h and
 * a note of what it was built from, moved into place in one rename. */
static int install(const struct kbuild *b, const char *version, double seconds, char **dest_out)
{
	KT_AUTOFREE char *name = kt_kbuild_entry_name(version, b->src_hash, b->cfg_hash);
	KT_AUTOFREE char *dest = name ? kt_asprintf("%s/kernels-built/%s", b->cache, name) : NULL;
	KT_AUTOFREE char *tmp = dest ? kt_asprintf("%s.tmp", dest) : NULL;
	KT_AUTOFREE char *vmlinux = NULL, *img = NULL, *cfg = NULL, *h = NULL, *info = NULL;
	KT_AUTOFREE char *src_vmlinux = NULL, *src_img = NULL, *src_cfg = NULL, *note = NULL;
	int rc;

	if (!tmp)
		return -ENOMEM;
	kt_rm_rf(tmp);
	if ((rc = kt_mkdir_p(tmp, 0755)))
		return rc;
	vmlinux = kt_asprintf("%s/vmlinux", tmp);
	img = kt_asprintf("%s/vmlinuz", tmp);
	cfg = kt_asprintf("%s/config", tmp);
	h = kt_asprintf("%s/vmlinux.h", tmp);
	info = kt_asprintf("%s/build-info", tmp);
	src_vmlinux = kt_asprintf("%s/vmlinux", b->out);
	src_img = kt_asprintf("%s/arch/x86/boot/bzImage", b->out);
	src_cfg = kt_asprintf("%s/.config", b->out);
	note = kt_asprintf("version %s\nsource %s\nsource-hash %016llx\nbase %s\nfragment %s\n"
			   "config-hash %016llx\nbuild-seconds %.0f\njobs %u\n",
			   version, b->src_arg ? b->src_arg : "linux-source-6.12 (Debian)",
			   (unsigned long long)b->src_hash, BASE_CONFIG, b->fragment_path,
			   (unsigned long long)b->cfg_hash, seconds, b->jobs);
	if (!vmlinux || !img || !cfg || !h || !info || !src_vmlinux || !src_img || !src_cfg || !note)
		return -ENOMEM;
	{
		char *strip[] = { "objcopy", "--strip-debug", src_vmlinux, vmlinux, NULL };
		char *cp_img[] = { "cp", src_img, img, NULL }, *cp_cfg[] = { "cp", src_cfg, cfg, NULL };
		char *btf[] = { "sh", "-c", "bpftool btf dump file \"$0\" format c > \"$1\"", vmlinux, h,
				NULL };
		char *const *steps[] = { strip, cp_img, cp_cfg, btf };

		for (size_t i = 0; i < KT_ARRAY_SIZE(steps); i++)
			if ((rc = run_logged(steps[i], b->log))) {
				KT_AUTOFREE char *tail = log_tail(b->log);

				kt_cli_error("kernel build: installing into %s: %s failed: %s", tmp,
					     steps[i][0], rc < 0 ? strerror(-rc) : tail);
				return -EIO;
			}
	}
	if ((rc = kt_write_whole(info, note, strlen(note), 0644)))
		return rc;
	kt_rm_rf(dest);
	if (rename(tmp, dest) < 0)
		return -errno;
	*dest_out = dest;
	dest = NULL;
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int kernel_build(struct kbuild *b)
{
	static const char *const frag_rel[] = {
		"../kernel/ktstr.config",		/* build tree: build/ktstr */
		"../share/ktstr/ktstr.config",		/* installed: PREFIX/bin/ktstr */
		NULL,
	};
	KT_AUTOFREE char *tarball = NULL, *src_abs = NULL, *version = NULL, *dest = NULL;
	KT_AUTOFREE char *jobs = NULL;
	struct stat st;
	double t0, secs;
	int e, rc;

	/* a source that is not there is the caller's mistake, whatever the host has */
	if (b->src_arg && !(src_abs = realpath(b->src_arg, NULL))) {
		kt_cli_error("kernel build: %s: %s", b->src_arg, strerror(errno));
		return KT_EXIT_USAGE;
	}
	if ((rc = check_tools()))
		return rc;
	b->cache = strdup(kt_host_env()->cache_dir);
	if (!b->fragment_path)
		b->fragment_path = kt_cli_find_beside_self(frag_rel, R_OK);
	if (!b->cache || !b->fragment_path) {
		kt_cli_error("kernel build: the ktstr kconfig fragment (kernel/ktstr.config) not found "
			     "next to ktstr; give one with --fragment");
		return KT_EXIT_ENV;
	}
	e = kt_read_file(b->fragment_path, &b->fragment, NULL);
	if (e) {
		kt_cli_error("kernel build: cannot read fragment %s: %s", b->fragment_path, strerror(-e));
		return KT_EXIT_USAGE;
	}
	if (!b->src_arg) {
		if (!(tarball = fetch_default_source()))
			return KT_EXIT_ENV;
		src_abs = realpath(tarball, NULL);
	}
	if (!src_abs || stat(src_abs, &st) < 0) {
		kt_cli_error("kernel build: %s: %s", b->src_arg ? b->src_arg : tarball, strerror(errno));
		return b->src_arg ? KT_EXIT_USAGE : KT_EXIT_ENV;
	}
	printf("hashing the source %s\n", src_abs);
	fflush(stdout);
	e = kt_kbuild_source_hash(src_abs, &b->src_hash);
	if (e) {
		kt_cli_error("kernel build: cannot read %s: %s", src_abs, strerror(-e));
		return KT_EXIT_USAGE;
	}
	b->cfg_hash = kt_kbuild_config_hash(BASE_CONFIG, b->fragment);
	if (!b->force && (dest = find_built(b))) {
		printf("already built: %s\nboot it with --kernel %s\n", dest, dest);
		return 0;
	}
	b->work = kt_asprintf("%s/kbuild/%016llx", b->cache, (unsigned long long)b->src_hash);
	b->out = b->work ? kt_asprintf("%s/out", b->work) : NULL;
	b->log = b->work ? kt_asprintf("%s/build.log", b->work) : NULL;
	if (!b->out || !b->log || kt_mkdir_p(b->out, 0755)) {
		kt_cli_error("kernel build: cannot create %s", b->work ? b->work : "the work directory");
		return KT_EXIT_ENV;
	}
	kt_write_whole(b->log, "", 0, 0644);
	if (S_ISDIR(st.st_mode))
		b->tree = strdup(src_abs);
	else if (unpack(b, src_abs))
		return KT_EXIT_ENV;
	if (!b->tree)
		return KT_EXIT_ENV;
	e = kt_kbuild_tree_version(b->tree, &version);
	if (e) {
		kt_cli_error("kernel build: %s is not a kernel tree (no version in its Makefile)", b->tree);
		return KT_EXIT_USAGE;
	}
	if ((rc = configure(b)))
		return rc;
	jobs = kt_asprintf("-j%u", b->jobs);
	printf("building Linux %s (make %s; log: %s)\n", version, jobs ? jobs : "", b->log);
	fflush(stdout);
	t0 = now_s();
	{
		char *all[] = { jobs, "vmlinux", "bzImage", NULL };

		if (!jobs || make(b, "vmlinux bzImage", all))
			return KT_EXIT_ENV;
	}
	secs = now_s() - t0;
	e = install(b, version, secs, &dest);
	if (e) {
		if (e != -EIO)
			kt_cli_error("kernel build: cannot install into %s/kernels-built: %s", b->cache,
				     strerror(-e));
		return KT_EXIT_ENV;
	}
	printf("built Linux %s in %ld min %ld s: %s\nboot it with --kernel %s\n", version,
	       (long)secs / 60, (long)secs % 60, dest, dest);
	return 0;
}

int kt_cmd_kernel_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fragment", required_argument, NULL, 'f' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct kbuild b = { .jobs = (unsigned)sysconf(_SC_NPROCESSORS_ONLN) };
	char *end;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			free(b.fragment_path);
			b.fragment_path = strdup(optarg);
			break;
		case 'j':
			b.jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !b.jobs || b.jobs > 1024) {
				kt_cli_error("kernel build: --jobs wants a number 1..1024, not '%s'", optarg);
				kbuild_release(&b);
				return KT_EXIT_USAGE;
			}
			break;
		case 'F':
			b.force = true;
			break;
		case 'h':
			printf("usage: ktstr kernel build [SRC] [--fragment FILE] [-j N] [--force]\n"
			       "  SRC            kernel source tree or tarball (default: Debian's\n"
			       "                 linux-source-6.12 from bookworm-backports, fetched\n"
			       "                 into the cache; nothing is installed)\n"
			       "  --fragment F   kconfig fragment (default: ktstr's kernel/ktstr.config)\n"
			       "  -j, --jobs N   parallel make jobs (default: online CPUs)\n"
			       "  --force        build again even if this source and config are cached\n"
			       "Configures allnoconfig + the fragment, refuses (exit 65) a tree whose\n"
			       ".config lacks any fragment line, builds out of tree and caches the\n"
			       "kernel under kernels-built/<version>-<source hash>-<config hash>/.\n");
			kbuild_release(&b);
			return 0;
		default:
			kbuild_release(&b);
			return KT_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		kt_cli_error("kernel build: one source at most (got '%s' and '%s')", argv[optind],
			     argv[optind + 1]);
		kbuild_release(&b);
		return KT_EXIT_USAGE;
	}
	b.src_arg = optind < argc ? argv[optind] : NULL;
	rc = kernel_build(&b);
	kbuild_release(&b);
	return rc;
}
