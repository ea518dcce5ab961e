/*
 * The pure parts of `ktstr kernel build`: whether a kernel .config holds
 * every line of a kconfig fragment, a kernel source's identity (for the
 * cache key), a tree's version and the cache entry's name.  Running make
 * is the CLI's job (src/cli/cmd_kernel_build.c); nothing here forks or
 * prints.
 */
#ifndef KTSTR_VM_KBUILD_H
#define KTSTR_VM_KBUILD_H

#include <stdint.h>

#include "util/util.h"

/*
 * The option lines of a kconfig fragment, each as it must appear in a
 * .config: "CONFIG_X=y", "CONFIG_N=256", or "# CONFIG_X is not set".
 * Comments and blank lines are skipped.  0, -EINVAL (with *bad set to a
 * malloc'd copy of the offending line) for a line that is neither, or
 * -ENOMEM.
 */
int kt_kconfig_lines(const char *fragment, struct kt_strlist *lines, char **bad);

/*
 * Does config (a .config's text) hold every option line of fragment?  0 if
 * so; -ENOENT with *unmet set to a malloc'd one-line description of the
 * first line that does not ("CONFIG_NUMA=y (the .config has: # CONFIG_NUMA
 * is not set)"); -EINVAL for a malformed fragment (*unmet says which line).
 */
int kt_kconfig_check(const char *fragment, const char *config, char **unmet);

/*
 * A kernel source's identity: a tarball's contents, or a tree's file
 * names, sizes and modification times (order-independent, so the same
 * tree hashes the same however readdir orders it).  0 or -errno.
 */
int kt_kbuild_source_hash(const char *path, uint64_t *hash);

/* The configuration's identity: the base target and the fragment's text. */
uint64_t kt_kbuild_config_hash(const char *base, const char *fragment);

/* "6.12.95" from a tree's top Makefile (VERSION.PATCHLEVEL.SUBLEVEL
 * EXTRAVERSION), malloc'd in *version.  0, -ENOENT, -EINVAL or -ENOMEM. */
int kt_kbuild_tree_version(const char *tree, char **version);

/* The cache entry's name: "<version>-<source hash>-<config hash>", each
 * hash as 8 hex digits; NULL on ENOMEM. */
char *kt_kbuild_entry_name(const char *version, uint64_t source, uint64_t config);

#endif
