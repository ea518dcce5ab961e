/*
 * The pure parts of `ktstr kernel build` (see kbuild.h): checking a
 * .config against the ktstr kconfig fragment, and the identities the
 * built kernel is cached under.  Must not run make or print: the CLI does.
 */
#define _XOPEN_SOURCE 700
#include "vm/kbuild.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vm/vm_internal.h"

/* "CONFIG_X=v" -> name length; 0 if not an option line. */
static size_t option_name_len(const char *line)
{
	size_t n = 0;

	if (strncmp(line, "CONFIG_", 7))
		return 0;
	n = 7 + strspn(line + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
	return n > 7 ? n : 0;
}

/* One fragment line, trimmed of trailing blanks, in its .config form
 * (malloc'd); NULL with *skip for comments and blank lines. */
static char *normalise(const char *line, size_t len, bool *skip, bool *bad)
{
	size_t n;

	*skip = *bad = false;
	while (len && strchr(" \t\r", line[len - 1]))
		len--;
	while (len && strchr(" \t", *line))
		line++, len--;
	if (!len) {
		*skip = true;
		return NULL;
	}
	if (line[0] == '#') {
		/* "# CONFIG_X is not set" is a requirement; any other # line a comment */
		const char *p = line + 1;

		while (*p == ' ')
			p++;
		n = option_name_len(p);
		if (!n || (size_t)(p - line) + n + 11 != len || strncmp(p + n, " is not set", 11)) {
			*skip = true;
			return NULL;
		}
		return kt_asprintf("# %.*s is not set", (int)n, p);
	}
	n = option_name_len(line);
	if (!n || n >= len || line[n] != '=' || n + 1 == len) {
		*bad = true;
		return strndup(line, len);
	}
	return strndup(line, len);
}

int kt_kconfig_lines(const char *fragment, struct kt_strlist *lines, char **bad)
{
	const char *p = fragment;

	*bad = NULL;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		bool skip, malformed;
		char *l = normalise(p, len, &skip, &malformed);
		int e;

		p = nl ? nl + 1 : p + len;
		if (skip)
			continue;
		if (!l)
			return -ENOMEM;
		if (malformed) {
			*bad = l;
			return -EINVAL;
		}
		e = kt_strlist_add(lines, l);
		free(l);
		if (e)
			return e;
	}
	return 0;
}

/* The line of text that sets name ("CONFIG_X=..." or "# CONFIG_X is not
 * set"), as a malloc'd copy; NULL if none (or ENOMEM). */
static char *config_line_for(const char *text, const char *name, size_t n)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = p[0] == '#' && p[1] == ' ' ? p + 2 : p;

		if (!strncmp(q, name, n) && (q[n] == '=' || q[n] == ' '))
			return strndup(p, len);
		p = nl ? nl + 1 : p + len;
	}
	return NULL;
}

int kt_kconfig_check(const char *fragment, const char *config, char **unmet)
{
	struct kt_strlist want = { 0 };
	char *bad = NULL;
	int e = kt_kconfig_lines(fragment, &want, &bad);

	*unmet = NULL;
	if (e == -EINVAL) {
		*unmet = kt_asprintf("malformed fragment line '%s'", bad);
		free(bad);
		kt_strlist_release(&want);
		return -EINVAL;
	}
	for (size_t i = 0; !e && i < want.n; i++) {
		const char *w = want.v[i];
		bool unset = w[0] == '#';
		const char *name = unset ? w + 2 : w;
		size_t n = option_name_len(name);
		KT_AUTOFREE char *have = config_line_for(config, name, n);
		/* an unset option may also be absent (its dependencies are off) */
		bool ok = have ? !strcmp(have, w) || (unset && have[0] == '#') : unset;

		if (ok)
			continue;
		*unmet = have ? kt_asprintf("%s (the .config has: %s)", w, have)
			      : kt_asprintf("%s (not in the .config: its dependencies are off, or "
					    "this tree does not know it)", w);
		e = *unmet ? -ENOENT : -ENOMEM;
	}
	kt_strlist_release(&want);
	return e;
}

/* nftw has no user pointer: one walk at a time, which the CLI is. */
static uint64_t tree_sum;
static size_t tree_root_len;

static int tree_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	uint64_t h = KT_HASH_INIT;
	uint64_t meta[2] = { (uint64_t)st->st_size, (uint64_t)st->st_mtime };

	if (type != FTW_F && type != FTW_SL)
		return 0;
	h = kt_hash_bytes(h, path + tree_root_len, strlen(path + tree_root_len));
	h = kt_hash_bytes(h, meta, sizeof(meta));
	tree_sum += h;
	return 0;
}

int kt_kbuild_source_hash(const char *path, uint64_t *hash)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		*hash = KT_HASH_INIT;
		return kt_hash_file(hash, path);
	}
	tree_sum = 0;
	tree_root_len = strlen(path);
	if (nftw(path, tree_entry, 64, FTW_PHYS) < 0)
		return -errno;
	*hash = tree_sum;
	return 0;
}

uint64_t kt_kbuild_config_hash(const char *base, const char *fragment)
{
	uint64_t h = kt_hash_bytes(KT_HASH_INIT, base, strlen(base) + 1);

	return kt_hash_bytes(h, fragment, strlen(fragment));
}

/* The value of "NAME = value" in a Makefile's text ("" if empty). */
static char *make_var(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (!strncmp(p, name, n) && strchr(" \t=", p[n])) {
			const char *v = p + n, *end = p + len;

			while (v < end && strchr(" \t", *v))
				v++;
			if (v < end && *v == '=') {
				v++;
				while (v < end && strchr(" \t", *v))
					v++;
				while (end > v && strchr(" \t\r", end[-1]))
					end--;
				return strndup(v, (size_t)(end - v));
			}
		}
		p = nl ? nl + 1 : p + len;
	}
	return NULL;
}

int kt_kbuild_tree_version(const char *tree, char **version)
{
	KT_AUTOFREE char *path = kt_asprintf("%s/Makefile", tree), *text = NULL;
	KT_AUTOFREE char *v = NULL, *pl = NULL, *sl = NULL, *ev = NULL;
	int e;

	if (!path)
		return -ENOMEM;
	e = kt_read_file(path, &text, NULL);
	if (e)
		return e;
	v = make_var(text, "VERSION");
	pl = make_var(text, "PATCHLEVEL");
	sl = make_var(text, "SUBLEVEL");
	ev = make_var(text, "EXTRAVERSION");
	if (!v || !pl || !*v || !*pl)
		return -EINVAL;
	*version = kt_asprintf("%s.%s%s%s%s", v, pl, sl && *sl ? "." : "", sl ? sl : "",
			       ev ? ev : "");
	return *version ? 0 : -ENOMEM;
}

char *kt_kbuild_entry_name(const char *version, uint64_t source, uint64_t config)
{
	return kt_asprintf("%s-%08x-%08x", version, (unsigned)(source >> 32),
			   (unsigned)(config >> 32));
}
