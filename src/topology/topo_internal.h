/*
 * Private to the topology module: the common constructor that both the
 * spec builder and the sysfs reader feed.  Other modules use topology.h.
 */
#ifndef KTSTR_TOPO_INTERNAL_H
#define KTSTR_TOPO_INTERNAL_H

#include <ktstr/topology.h>

/*
 * Per-CPU raw facts.  Labels are arbitrary small integers (< nlabels) that
 * say which CPUs share an LLC / a core; kt_topo_assemble turns them into
 * dense indexes ordered by lowest CPU.
 */
struct kt_topo_input {
	size_t ncpus;
	const unsigned *cpus;		/* sorted, unique */
	const unsigned *llc_label;	/* per CPU */
	const unsigned *core_label;	/* per CPU */
	const unsigned *node_id;	/* per CPU */
	size_t nllc_labels;
	const uint64_t *llc_label_size;	/* per LLC label, bytes; NULL = unknown */
	/* Node distance matrix over dist_ids (ndist x ndist); NULL = unknown. */
	size_t ndist;
	const unsigned *dist_ids;
	const int *dist;
};

int kt_topo_assemble(const struct kt_topo_input *in, struct kt_topology **out);

/*
 * kt_topo_verify_boot, handing the topology it read from sysfs to *seen
 * (when it read one and it matched; else *seen is left alone) so the guest
 * does not read the same ~100 files again for the test.
 */
int kt_topo_verify_boot_keep(const char *root, char **why, struct kt_topology **seen);

#endif
