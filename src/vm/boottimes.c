/*
 * How fast this machine boots guests, learned from its own boots.
 *
 * The boot model (kt_vm_boot_estimate_s) holds figures from one reference
 * machine; a slower or busier host boots every size proportionally slower
 * (the same emulation, just less CPU for it).  Every VM that reaches its
 * init appends one line to <cache>/boot-times:
 *
 *     <unix time> <tcg|kvm> <QEMU major> <CPUs> <seconds to init's work> [late]
 *
 * ("late": booted with one CPU, init onlining the rest, which the model
 * holds separate figures for) and the scale is the median, over the
 * newest samples of an accelerator, of measured / model: of samples within
 * a factor of two of the size asked about when there are three, since a
 * slow host slows large guests more than small ones, else of all sizes.
 * One append per boot, short enough to be atomic beside parallel VMs; the
 * file is cut back to its newest lines when it grows, so it stays a few
 * kilobytes.
 */
#include "vm/vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

#define BOOT_TIMES "boot-times"
#define KEEP_LINES 200		/* lines kept when the file is cut back */
#define MAX_LINES 400		/* ... which happens past this many */
#define MIN_LINE 20		/* bytes, fewer than any real line ("1796147335 tcg 7 4 0.001") */
#define SCALE_SAMPLES 24	/* newest samples the scale is the median of */

static const char *accel_word(enum kt_accel a)
{
	return a == KT_ACCEL_KVM ? "kvm" : "tcg";
}

/* The newest `keep` lines of text (all of it when it has fewer). */
static const char *newest_lines(const char *text, size_t len, size_t keep)
{
	const char *p = text + len;
	size_t n = 0;

	if (p > text && p[-1] == '\n')
		p--;
	while (p > text) {
		if (*--p == '\n' && ++n == keep)
			return p + 1;
	}
	return text;
}

/* Past MAX_LINES, rewrite the file with its newest KEEP_LINES (atomically). */
static void cut_back(const char *path, const char *text, size_t len)
{
	size_t lines = 0;
	const char *keep;
	KT_AUTOFREE char *tmp = NULL;

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (lines <= MAX_LINES)
		return;
	keep = newest_lines(text, len, KEEP_LINES);
	tmp = kt_asprintf("%s.%d", path, (int)getpid());
	if (tmp && kt_write_whole(tmp, keep, len - (size_t)(keep - text), 0644) == 0 &&
	    rename(tmp, path) != 0)
		unlink(tmp);
}

void kt_vm_boot_record(const struct kt_vm_host *host, enum kt_accel accel, unsigned qemu_major,
		       unsigned cpus, bool late, double boot_s)
{
	const char *dir = KT_VM_HOST(host, cache_dir);
	KT_AUTOFREE char *path = NULL, *line = NULL, *text = NULL;
	size_t len = 0;
	struct stat st;
	int fd;

	if (!dir || !(boot_s > 0) || !cpus)
		return;
	path = kt_asprintf("%s/" BOOT_TIMES, dir);
	line = kt_asprintf("%lld %s %u %u %.3f%s\n", (long long)time(NULL), accel_word(accel),
			   qemu_major, cpus, boot_s, late ? " late" : "");
	if (!path || !line)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;	/* no cache directory: nothing is learned, nothing breaks */
	kt_write_all(fd, line, strlen(line));
	/* a line is at least MIN_LINE bytes: a smaller file needs no counting */
	if (fstat(fd, &st) == 0 && st.st_size > MAX_LINES * MIN_LINE &&
	    kt_read_file(path, &text, &len) == 0)
		cut_back(path, text, len);
	close(fd);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of v[0..n) (sorted in place); n > 0. */
static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double kt_vm_boot_scale(const struct kt_vm_host *host, enum kt_accel accel, unsigned cpus,
			unsigned *samples)
{
	const char *dir = KT_VM_HOST(host, cache_dir);
	KT_AUTOFREE char *path = NULL, *text = NULL;
	double all[SCALE_SAMPLES], near[SCALE_SAMPLES], scale;
	size_t n = 0, nn = 0, len = 0;
	const char *p;

	*samples = 0;
	if (!dir || !(path = kt_asprintf("%s/" BOOT_TIMES, dir)) ||
	    kt_read_file(path, &text, &len))
		return 1.0;
	/* newest first: walk the lines from the end */
	for (p = text + len; p > text && (n < SCALE_SAMPLES || (cpus && nn < SCALE_SAMPLES));) {
		const char *start = p;
		char word[8];
		long long when;
		unsigned major, c;
		double boot;
		int end = 0;

		while (start > text && start[-1] != '\n')
			start--;
		if (sscanf(start, "%lld %7s %u %u %lf%n", &when, word, &major, &c, &boot, &end) == 5 &&
		    !strcmp(word, accel_word(accel)) && c && boot > 0) {
			bool late = !strncmp(start + end, " late", 5);
			struct kt_topo_spec s = { .numa_nodes = 1, .llcs = 1, .cores = c,
						  .threads = 1 };
			struct kt_qemu_info q = { .major = major };
			double r = boot / kt_vm_boot_estimate_s(&s, accel, &q, late);

			if (n < SCALE_SAMPLES)
				all[n++] = r;
			/* a slow host slows large guests more: sizes within 2x count first */
			if (cpus && nn < SCALE_SAMPLES && c <= 2 * cpus && cpus <= 2 * c)
				near[nn++] = r;
		}
		p = start > text ? start - 1 : text;
	}
	if (nn >= 3) {
		scale = median(near, nn);
		*samples = (unsigned)nn;
	} else if (n >= 3) {
		scale = median(all, n);
		*samples = (unsigned)n;
	} else {
		return 1.0;	/* too few to tell this machine from noise */
	}
	return scale < 0.1 ? 0.1 : scale > 100 ? 100 : scale;
}
