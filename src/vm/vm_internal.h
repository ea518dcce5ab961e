/*
 * Internal declarations shared by the vm module's files: the cpio writer,
 * the ELF dependency walker and small string lists.  Not public API.
 */
#ifndef KTSTR_VM_INTERNAL_H
#define KTSTR_VM_INTERNAL_H

#include <ktstr/vm.h>
#include <stdio.h>
#include <sys/types.h>

#include "util/util.h"	/* struct kt_strlist */

/* cpio "newc" writer. */
struct kt_cpio;
int kt_cpio_open(const char *path, struct kt_cpio **out);
int kt_cpio_dir(struct kt_cpio *c, const char *name, unsigned mode);
int kt_cpio_data(struct kt_cpio *c, const char *name, unsigned mode, const void *data, size_t len);
int kt_cpio_file(struct kt_cpio *c, const char *name, const char *host_path, unsigned mode);
int kt_cpio_symlink(struct kt_cpio *c, const char *name, const char *target);
/* Writes the trailer, closes; frees c even on error. */
int kt_cpio_finish(struct kt_cpio *c);
/* Abandon (close and unlink nothing; caller removes the file). */
void kt_cpio_abort(struct kt_cpio *c);

/*
 * Shared-library closure of an ELF file, resolved as the dynamic loader
 * would (PT_INTERP, DT_NEEDED recursively, RPATH, then lib_path (the
 * loader's LD_LIBRARY_PATH, ':'-separated, or NULL), RUNPATH, with $ORIGIN
 * expanded, ld.so.conf directories, the default directories).  Appends pairs of
 * (guest path = the path the loader would open, host path) to *libs,
 * skipping ones already present.  Not an ELF -> 0 with nothing added.
 * A missing library is -ENOENT with *missing set (malloc'd name).
 */
int kt_elf_closure(const char *path, const char *lib_path, struct kt_strlist *libs,
		   char **missing);
/* Dynamic ELF?  1 yes, 0 static or not ELF, <0 error. */
int kt_elf_is_dynamic(const char *path);

/* Fast 64-bit content hash, chainable. */
uint64_t kt_hash_bytes(uint64_t h, const void *p, size_t n);
int kt_hash_file(uint64_t *h, const char *path);
#define KT_HASH_INIT 0x6a09e667f3bcc908ull

/*
 * Time a process's threads ran and waited for a host CPU, from
 * each /proc/PID/task/TID/schedstat (hostwait.c).  _parse adds one schedstat
 * line; _read sums every thread (-ENOENT when none could be read);
 * _pct is the waiting share of the runnable time between two readings,
 * -1 when it cannot be told.
 */
struct kt_host_wait {
	uint64_t run_ns, wait_ns;
};
int kt_host_wait_parse(const char *schedstat, struct kt_host_wait *w);
int kt_host_wait_read(pid_t pid, struct kt_host_wait *w);
double kt_host_wait_pct(const struct kt_host_wait *before, const struct kt_host_wait *after);

/* A host field, or NULL when there is no host or the field is empty. */
#define KT_VM_HOST(h, field) ((h) && (h)->field && *(h)->field ? (h)->field : NULL)

/* QEMU binary as named (host->qemu or qemu-system-x86_64). */
const char *kt_qemu_binary(const struct kt_vm_host *host);
unsigned kt_vm_default_memory_mb(const struct kt_topo_spec *t);
/* The KVM boot probe's deadline in seconds from its setting
 * ($KTSTR_KVM_PROBE_S): 8 when unset or not a number in 1..3600. */
unsigned kt_vm_boot_probe_seconds(const char *setting);

#endif
