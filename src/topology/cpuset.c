/*
 * The CPU-set value type: a growable bitmap of 64-bit words, its set
 * algebra, and the kernel's cpulist text format.
 *
 * The bitmap grows on demand so machines with more than 1024 CPUs (the
 * glibc cpu_set_t ceiling) are represented exactly; cpu_set_t only appears
 * at the affinity boundary.  Must not know about topology or cgroups, and
 * never prints.
 */
#include <ktstr/cpuset.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <string.h>

#include "util/util.h"

/*
 * Largest CPU id the text parser accepts.  Far above any real machine; it
 * only exists so a typo such as "0-4000000000" fails with -EINVAL instead
 * of trying to allocate half a gigabyte.
 */
#define KT_CPUSET_PARSE_MAX (1u << 22)

#define WORD_BITS 64u

struct kt_cpuset {
	uint64_t *w;
	size_t nw;	/* allocated words; bits beyond the last member are 0 */
};

struct kt_cpuset *kt_cpuset_new(void)
{
	return calloc(1, sizeof(struct kt_cpuset));
}

void kt_cpuset_free(struct kt_cpuset *s)
{
	if (!s)
		return;
	free(s->w);
	free(s);
}

static int cpuset_grow(struct kt_cpuset *s, size_t nw)
{
	uint64_t *w;

	if (nw <= s->nw)
		return 0;
	w = realloc(s->w, nw * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + s->nw, 0, (nw - s->nw) * sizeof(*w));
	s->w = w;
	s->nw = nw;
	return 0;
}

struct kt_cpuset *kt_cpuset_dup(const struct kt_cpuset *s)
{
	struct kt_cpuset *d = kt_cpuset_new();

	if (!d)
		return NULL;
	if (kt_cpuset_copy(d, s)) {
		kt_cpuset_free(d);
		return NULL;
	}
	return d;
}

int kt_cpuset_set(struct kt_cpuset *s, unsigned cpu)
{
	int err = cpuset_grow(s, cpu / WORD_BITS + 1);

	if (err)
		return err;
	s->w[cpu / WORD_BITS] |= 1ull << (cpu % WORD_BITS);
	return 0;
}

void kt_cpuset_clear(struct kt_cpuset *s, unsigned cpu)
{
	if (cpu / WORD_BITS < s->nw)
		s->w[cpu / WORD_BITS] &= ~(1ull << (cpu % WORD_BITS));
}

void kt_cpuset_zero(struct kt_cpuset *s)
{
	if (s->nw)
		memset(s->w, 0, s->nw * sizeof(*s->w));
}

int kt_cpuset_set_range(struct kt_cpuset *s, unsigned first, unsigned last)
{
	int err;

	if (first > last)
		return -EINVAL;
	err = cpuset_grow(s, last / WORD_BITS + 1);
	if (err)
		return err;
	for (unsigned c = first;; c++) {
		/* Whole words at a time when aligned: ranges are often large. */
		if (c % WORD_BITS == 0 && last - c >= WORD_BITS - 1) {
			s->w[c / WORD_BITS] = ~0ull;
			c += WORD_BITS - 1;
		} else {
			s->w[c / WORD_BITS] |= 1ull << (c % WORD_BITS);
		}
		if (c >= last)
			break;
	}
	return 0;
}

bool kt_cpuset_test(const struct kt_cpuset *s, unsigned cpu)
{
	if (cpu / WORD_BITS >= s->nw)
		return false;
	return s->w[cpu / WORD_BITS] & (1ull << (cpu % WORD_BITS));
}

unsigned kt_cpuset_count(const struct kt_cpuset *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->nw; i++)
		n += (unsigned)__builtin_popcountll(s->w[i]);
	return n;
}

bool kt_cpuset_empty(const struct kt_cpuset *s)
{
	for (size_t i = 0; i < s->nw; i++)
		if (s->w[i])
			return false;
	return true;
}

int kt_cpuset_next(const struct kt_cpuset *s, int cpu)
{
	size_t start = cpu < 0 ? 0 : (size_t)cpu + 1;
	size_t i = start / WORD_BITS;

	if (i >= s->nw)
		return -1;
	uint64_t word = s->w[i] & (~0ull << (start % WORD_BITS));
	for (;;) {
		if (word)
			return (int)(i * WORD_BITS + (size_t)__builtin_ctzll(word));
		if (++i >= s->nw)
			return -1;
		word = s->w[i];
	}
}

int kt_cpuset_first(const struct kt_cpuset *s)
{
	return kt_cpuset_next(s, -1);
}

int kt_cpuset_last(const struct kt_cpuset *s)
{
	for (size_t i = s->nw; i-- > 0;)
		if (s->w[i])
			return (int)(i * WORD_BITS + 63 - (size_t)__builtin_clzll(s->w[i]));
	return -1;
}

static uint64_t word_at(const struct kt_cpuset *s, size_t i)
{
	return i < s->nw ? s->w[i] : 0;
}

bool kt_cpuset_equal(const struct kt_cpuset *a, const struct kt_cpuset *b)
{
	size_t n = a->nw > b->nw ? a->nw : b->nw;

	for (size_t i = 0; i < n; i++)
		if (word_at(a, i) != word_at(b, i))
			return false;
	return true;
}

bool kt_cpuset_subset(const struct kt_cpuset *sub, const struct kt_cpuset *super)
{
	for (size_t i = 0; i < sub->nw; i++)
		if (sub->w[i] & ~word_at(super, i))
			return false;
	return true;
}

bool kt_cpuset_intersects(const struct kt_cpuset *a, const struct kt_cpuset *b)
{
	size_t n = a->nw < b->nw ? a->nw : b->nw;

	for (size_t i = 0; i < n; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

int kt_cpuset_or(struct kt_cpuset *dst, const struct kt_cpuset *src)
{
	int err = cpuset_grow(dst, src->nw);

	if (err)
		return err;
	for (size_t i = 0; i < src->nw; i++)
		dst->w[i] |= src->w[i];
	return 0;
}

int kt_cpuset_and(struct kt_cpuset *dst, const struct kt_cpuset *src)
{
	for (size_t i = 0; i < dst->nw; i++)
		dst->w[i] &= word_at(src, i);
	return 0;
}

int kt_cpuset_andnot(struct kt_cpuset *dst, const struct kt_cpuset *src)
{
	size_t n = dst->nw < src->nw ? dst->nw : src->nw;

	for (size_t i = 0; i < n; i++)
		dst->w[i] &= ~src->w[i];
	return 0;
}

int kt_cpuset_copy(struct kt_cpuset *dst, const struct kt_cpuset *src)
{
	int err;

	if (dst == src)
		return 0;
	err = cpuset_grow(dst, src->nw);
	if (err)
		return err;
	kt_cpuset_zero(dst);
	if (src->nw)
		memcpy(dst->w, src->w, src->nw * sizeof(*src->w));
	return 0;
}

/* A decimal CPU id occupying exactly [p, end); no sign, no spaces. */
static bool parse_cpu_id(const char *p, const char *end, unsigned *out)
{
	unsigned long v = 0;

	if (p == end)
		return false;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > KT_CPUSET_PARSE_MAX)
			return false;
	}
	*out = (unsigned)v;
	return true;
}

static void set_bad_token(char **bad_token, const char *p, size_t len)
{
	if (bad_token)
		*bad_token = strndup(p, len);
}

int kt_cpuset_parse(const char *text, struct kt_cpuset **out, char **bad_token)
{
	KT_AUTO(kt_cpuset) s = kt_cpuset_new();
	const char *p = text, *end;

	if (bad_token)
		*bad_token = NULL;
	if (!s)
		return -ENOMEM;
	/* Tolerate what sysfs and shells add around the list, nothing inside. */
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *tok_end = comma ? comma : end;
		const char *dash = memchr(p, '-', (size_t)(tok_end - p));
		unsigned a, b;
		bool ok;

		if (dash)
			ok = parse_cpu_id(p, dash, &a) && parse_cpu_id(dash + 1, tok_end, &b) && a <= b;
		else
			ok = parse_cpu_id(p, tok_end, &a) && (b = a, true);
		if (!ok) {
			set_bad_token(bad_token, p, (size_t)(tok_end - p));
			return -EINVAL;
		}
		if (kt_cpuset_set_range(s, a, b))
			return -ENOMEM;
		if (!comma)
			break;
		p = comma + 1;
		/* A trailing comma leaves an empty last token: "1,". */
		if (p == end) {
			set_bad_token(bad_token, "", 0);
			return -EINVAL;
		}
	}
	*out = kt_take_ptr(s);
	return 0;
}

char *kt_cpuset_format(const struct kt_cpuset *s)
{
	struct kt_buf b = { 0 };
	int err = kt_buf_append(&b, "", 0);	/* "" for the empty set, not NULL */

	for (int c = kt_cpuset_first(s); c >= 0 && !err;) {
		int last = c, n;

		while ((n = kt_cpuset_next(s, last)) == last + 1)
			last = n;
		if (last == c)
			err = kt_buf_printf(&b, "%s%d", b.len ? "," : "", c);
		else
			err = kt_buf_printf(&b, "%s%d-%d", b.len ? "," : "", c, last);
		c = n;
	}
	if (err) {
		kt_buf_release(&b);
		return NULL;
	}
	return b.data;
}

struct kt_cpuset *kt_cpuset_from_array(const unsigned *cpus, size_t n)
{
	struct kt_cpuset *s = kt_cpuset_new();

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (kt_cpuset_set(s, cpus[i])) {
			kt_cpuset_free(s);
			return NULL;
		}
	}
	return s;
}

size_t kt_cpuset_to_array(const struct kt_cpuset *s, unsigned *cpus, size_t cap)
{
	size_t n = 0;

	kt_cpuset_for_each(c, s) {
		if (n >= cap)
			break;
		cpus[n++] = (unsigned)c;
	}
	return n;
}

int kt_cpuset_to_affinity(const struct kt_cpuset *s, void *cpu_set, size_t setsize)
{
	cpu_set_t *set = cpu_set;

	CPU_ZERO_S(setsize, set);
	kt_cpuset_for_each(c, s) {
		if ((size_t)c >= setsize * 8)
			break;
		CPU_SET_S((size_t)c, setsize, set);
	}
	return 0;
}

struct kt_cpuset *kt_cpuset_from_affinity(const void *cpu_set, size_t setsize)
{
	const cpu_set_t *set = cpu_set;
	struct kt_cpuset *s = kt_cpuset_new();

	if (!s)
		return NULL;
	for (size_t c = 0; c < setsize * 8; c++) {
		if (CPU_ISSET_S(c, setsize, set) && kt_cpuset_set(s, (unsigned)c)) {
			kt_cpuset_free(s);
			return NULL;
		}
	}
	return s;
}
