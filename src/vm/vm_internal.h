/*
 * Internal declarations shared by the vm module's files: the cpio writer,
 * the ELF dependency walker and small string lists.  Not public API.
 */
#ifndef KTSTR_VM_INTERNAL_H
#define KTSTR_VM_INTERNAL_H

#include <ktstr/vm.h>
#include <stdio.h>

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
 * would (PT_INTERP, DT_NEEDED recursively, RPATH/RUNPATH with $ORIGIN,
 * ld.so.conf directories, the default directories).  Appends pairs of
 * (guest path = the path the loader would open, host path) to *libs,
 * skipping ones already present.  Not an ELF -> 0 with nothing added.
 * A missing library is -ENOENT with *missing set (malloc'd name).
 */
int kt_elf_closure(const char *path, struct kt_strlist *libs, char **missing);
/* Dynamic ELF?  1 yes, 0 static or not ELF, <0 error. */
int kt_elf_is_dynamic(const char *path);

/* Fast 64-bit content hash, chainable. */
uint64_t kt_hash_bytes(uint64_t h, const void *p, size_t n);
int kt_hash_file(uint64_t *h, const char *path);
#define KT_HASH_INIT 0x6a09e667f3bcc908ull

/* QEMU binary ($KTSTR_QEMU or qemu-system-x86_64). */
const char *kt_qemu_binary(void);
unsigned kt_vm_default_memory_mb(const struct kt_topo_spec *t);
/* The KVM boot probe's deadline in seconds from its setting
 * ($KTSTR_KVM_PROBE_S): 8 when unset or not a number in 1..3600. */
unsigned kt_vm_boot_probe_seconds(const char *setting);

#endif
