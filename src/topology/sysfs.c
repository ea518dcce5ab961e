/*
 * Builds a topology from sysfs under a root directory ("/" for this
 * machine, a fake tree in tests).
 *
 * Real machines are messy, so every file is optional except the set of
 * online CPUs: missing sibling lists fall back to core_id, missing caches
 * to "one LLC", missing NUMA information to "node 0".  Groups are formed
 * from the CPU masks sysfs reports, clipped to the online CPUs, so offline
 * CPUs never appear.  Must not print; must not depend on the host having
 * any particular file beyond cpu/online (or cpuN directories).
 */
#include "topology/topo_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

struct sysfs_ctx {
	char *cpu_dir;			/* <root>/sys/devices/system/cpu */
	char *node_dir;			/* <root>/sys/devices/system/node */
	struct kt_cpuset *online;
	size_t n;
	unsigned *cpus;			/* sorted online CPUs */
	struct kt_cpuset **core_mask;	/* per CPU, NULL until known */
	struct kt_cpuset **llc_mask;
	uint64_t *llc_size;		/* per CPU, bytes */
	unsigned *node;
	char *llc_index;		/* "index3": where a level-3 cache was found */
};

static void ctx_release(struct sysfs_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->core_mask)
			kt_cpuset_free(c->core_mask[i]);
		if (c->llc_mask)
			kt_cpuset_free(c->llc_mask[i]);
	}
	free(c->core_mask);
	free(c->llc_mask);
	free(c->llc_size);
	free(c->node);
	free(c->cpus);
	kt_cpuset_free(c->online);
	free(c->cpu_dir);
	free(c->node_dir);
	free(c->llc_index);
}

/* Parse a cpulist file, clipped to the online CPUs.  NULL if unreadable. */
static struct kt_cpuset *read_mask(const struct sysfs_ctx *c, const char *path)
{
	KT_AUTOFREE char *text = NULL;
	struct kt_cpuset *s = NULL;

	if (kt_read_file(path, &text, NULL) || kt_cpuset_parse(text, &s, NULL))
		return NULL;
	kt_cpuset_and(s, c->online);
	return s;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Fallback when cpu/online is missing: cpuN directories whose online != 0. */
static int scan_cpu_dirs(struct sysfs_ctx *c)
{
	DIR *d = opendir(c->cpu_dir);
	struct dirent *e;
	int err = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && !err) {
		KT_AUTOFREE char *path = NULL;
		uint64_t on = 1;

		if (strncmp(e->d_name, "cpu", 3) || !all_digits(e->d_name + 3))
			continue;
		path = kt_asprintf("%s/%s/online", c->cpu_dir, e->d_name);
		if (!path) {
			err = -ENOMEM;
			break;
		}
		if (kt_read_u64(path, &on) == 0 && !on)
			continue;
		err = kt_cpuset_set(c->online, (unsigned)strtoul(e->d_name + 3, NULL, 10));
	}
	closedir(d);
	return err;
}

static int read_online(struct sysfs_ctx *c)
{
	KT_AUTOFREE char *path = kt_asprintf("%s/online", c->cpu_dir);
	KT_AUTOFREE char *text = NULL;
	int err;

	if (!path)
		return -ENOMEM;
	err = kt_read_file(path, &text, NULL);
	if (err == -ENOENT) {
		c->online = kt_cpuset_new();
		if (!c->online)
			return -ENOMEM;
		err = scan_cpu_dirs(c);
	} else if (!err) {
		err = kt_cpuset_parse(text, &c->online, NULL);
	}
	if (err)
		return err;
	c->n = kt_cpuset_count(c->online);
	if (!c->n)
		return -ENOENT;
	c->cpus = malloc(c->n * sizeof(unsigned));
	if (!c->cpus)
		return -ENOMEM;
	kt_cpuset_to_array(c->online, c->cpus, c->n);
	return 0;
}

/* Make sure a CPU's own group mask contains it (sysfs might disagree). */
static int own_mask(struct kt_cpuset **m, unsigned cpu)
{
	if (!*m) {
		*m = kt_cpuset_new();
		if (!*m)
			return -ENOMEM;
	}
	return kt_cpuset_set(*m, cpu);
}

/*
 * Index of an earlier CPU whose mask (as read so far) contains CPU i, or i.
 * Siblings and LLC-mates are read once: every file read costs ~0.3 ms under
 * TCG, and a 252-CPU guest would otherwise read ~3000 of them.
 */
static size_t known_in(const struct sysfs_ctx *c, struct kt_cpuset *const *masks, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (masks[j] && kt_cpuset_test(masks[j], c->cpus[i]))
			return j;
	return i;
}

static int read_cores(struct sysfs_ctx *c)
{
	static const char *const lists[] = { "thread_siblings_list", "core_cpus_list" };
	long *core_id = malloc(c->n * sizeof(long));
	long *pkg_id = malloc(c->n * sizeof(long));
	int err = 0;

	if (!core_id || !pkg_id) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->n && !err; i++) {
		uint64_t v;

		core_id[i] = pkg_id[i] = -1;
		/* a sibling already read names this CPU: same core, no reads */
		size_t j = known_in(c, c->core_mask, i);

		if (j < i && !(c->core_mask[i] = kt_cpuset_dup(c->core_mask[j]))) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < KT_ARRAY_SIZE(lists) && !c->core_mask[i]; k++) {
			KT_AUTOFREE char *path = kt_asprintf("%s/cpu%u/topology/%s", c->cpu_dir,
							     c->cpus[i], lists[k]);

			if (!path) {
				err = -ENOMEM;
				goto out;
			}
			c->core_mask[i] = read_mask(c, path);
		}
		if (c->core_mask[i]) {
			err = own_mask(&c->core_mask[i], c->cpus[i]);
			continue;
		}
		KT_AUTOFREE char *cpath = kt_asprintf("%s/cpu%u/topology/core_id", c->cpu_dir,
						      c->cpus[i]);
		KT_AUTOFREE char *ppath = kt_asprintf("%s/cpu%u/topology/physical_package_id",
						      c->cpu_dir, c->cpus[i]);
		if (!cpath || !ppath) {
			err = -ENOMEM;
			goto out;
		}
		if (kt_read_u64(cpath, &v) == 0 && v <= LONG_MAX)
			core_id[i] = (long)v;
		if (kt_read_u64(ppath, &v) == 0 && v <= LONG_MAX)
			pkg_id[i] = (long)v;
	}
	/* No sibling lists: CPUs with the same (package, core_id) are siblings. */
	for (size_t i = 0; i < c->n && !err; i++) {
		if (c->core_mask[i])
			continue;
		err = own_mask(&c->core_mask[i], c->cpus[i]);
		for (size_t j = 0; j < c->n && !err && core_id[i] >= 0; j++)
			if (j != i && !c->core_mask[j] && core_id[j] == core_id[i] &&
			    pkg_id[j] == pkg_id[i])
				err = kt_cpuset_set(c->core_mask[i], c->cpus[j]);
		/* Later CPUs of this core reuse the same mask contents. */
		for (size_t j = i + 1; j < c->n && !err; j++) {
			if (c->core_mask[j] || !kt_cpuset_test(c->core_mask[i], c->cpus[j]))
				continue;
			c->core_mask[j] = kt_cpuset_dup(c->core_mask[i]);
			if (!c->core_mask[j])
				err = -ENOMEM;
		}
	}
out:
	free(core_id);
	free(pkg_id);
	return err;
}

/* "32768K", "8M", "1G" or plain bytes. */
static uint64_t parse_size(const char *text)
{
	char *end;
	unsigned long long v = strtoull(text, &end, 10);

	if (end == text)
		return 0;
	switch (toupper((unsigned char)*end)) {
	case 'K': return v << 10;
	case 'M': return v << 20;
	case 'G': return v << 30;
	default: return v;
	}
}

/* The LLC mask and size of CPU i from its cache directory `index`. */
static int read_llc_index(struct sysfs_ctx *c, size_t i, const char *cache_dir,
			  const char *index)
{
	KT_AUTOFREE char *spath = kt_asprintf("%s/%s/shared_cpu_list", cache_dir, index);
	KT_AUTOFREE char *zpath = kt_asprintf("%s/%s/size", cache_dir, index);
	char size[64];

	if (!spath || !zpath)
		return -ENOMEM;
	c->llc_mask[i] = read_mask(c, spath);
	if (c->llc_mask[i] && kt_read_line(zpath, size, sizeof(size)) == 0)
		c->llc_size[i] = parse_size(size);
	return 0;
}

/*
 * The cache directory of CPU i that an earlier CPU's level-3 cache was found
 * in, when it holds a level-3 cache here too: since level 3 wins over every
 * other cache, that one file confirms what a scan of the whole directory
 * would find, and at 128 CPUs (8 LLCs) it saves some 60 of 150 file reads,
 * each of which costs milliseconds in a large TCG guest.
 * 1: read, 0: scan, < 0: error.
 */
static int read_llc_known_index(struct sysfs_ctx *c, size_t i, const char *cache_dir)
{
	KT_AUTOFREE char *lpath = NULL;
	uint64_t level;
	int err;

	if (!c->llc_index)
		return 0;
	lpath = kt_asprintf("%s/%s/level", cache_dir, c->llc_index);
	if (!lpath)
		return -ENOMEM;
	if (kt_read_u64(lpath, &level) || level != 3)
		return 0;
	err = read_llc_index(c, i, cache_dir, c->llc_index);
	return err ? err : c->llc_mask[i] != NULL;
}

/*
 * The LLC of one CPU: the level-3 cache if any, else the highest level
 * present.  Instruction caches are skipped (they never define the LLC).
 */
static int read_llc(struct sysfs_ctx *c, size_t i)
{
	KT_AUTOFREE char *cache_dir = kt_asprintf("%s/cpu%u/cache", c->cpu_dir, c->cpus[i]);
	DIR *d;
	struct dirent *e;
	uint64_t best_level = 0;
	KT_AUTOFREE char *best = NULL;
	int err = 0;

	if (!cache_dir)
		return -ENOMEM;
	err = read_llc_known_index(c, i, cache_dir);
	if (err)
		return err < 0 ? err : 0;
	d = opendir(cache_dir);
	if (!d)
		return 0;	/* no cache information for this CPU */
	while ((e = readdir(d))) {
		char type[32] = "";
		uint64_t level;
		KT_AUTOFREE char *lpath = NULL;
		KT_AUTOFREE char *tpath = NULL;

		if (strncmp(e->d_name, "index", 5) || !all_digits(e->d_name + 5))
			continue;
		lpath = kt_asprintf("%s/%s/level", cache_dir, e->d_name);
		tpath = kt_asprintf("%s/%s/type", cache_dir, e->d_name);
		if (!lpath || !tpath) {
			err = -ENOMEM;
			break;
		}
		if (kt_read_u64(lpath, &level))
			continue;
		kt_read_line(tpath, type, sizeof(type));
		if (!strcmp(type, "Instruction"))
			continue;
		/* Level 3 wins whatever readdir's order; otherwise the highest level. */
		if (level == 3)
			level = UINT64_MAX;
		if (level <= best_level)
			continue;
		free(best);
		best = strdup(e->d_name);
		if (!best) {
			err = -ENOMEM;
			break;
		}
		best_level = level;
	}
	closedir(d);
	if (err || !best)
		return err;
	err = read_llc_index(c, i, cache_dir, best);
	/* a level-3 cache wins wherever it is; a lower "highest" is rescanned */
	if (!err && c->llc_mask[i] && !c->llc_index && best_level == UINT64_MAX)
		c->llc_index = strdup(best);	/* NULL is fine: the next CPU scans */
	return err;
}

/* One CPU per LLC is read; the others of that LLC take its mask and size. */
static int read_llcs(struct sysfs_ctx *c)
{
	int err = 0;

	for (size_t i = 0; i < c->n && !err; i++) {
		size_t j = known_in(c, c->llc_mask, i);

		if (j == i) {
			err = read_llc(c, i);
		} else {
			c->llc_mask[i] = kt_cpuset_dup(c->llc_mask[j]);
			c->llc_size[i] = c->llc_size[j];
			if (!c->llc_mask[i])
				err = -ENOMEM;
		}
	}
	for (size_t i = 0; i < c->n && !err; i++) {
		/* Unknown cache: all online CPUs share one LLC. */
		if (!c->llc_mask[i] && !(c->llc_mask[i] = kt_cpuset_dup(c->online)))
			return -ENOMEM;
		err = own_mask(&c->llc_mask[i], c->cpus[i]);
	}
	return err;
}

/* Label CPUs so equal masks share a label (labels < n). */
static void label_masks(struct kt_cpuset **masks, size_t n, unsigned *label)
{
	for (size_t i = 0; i < n; i++) {
		label[i] = (unsigned)i;
		for (size_t j = 0; j < i; j++) {
			if (label[j] == j && kt_cpuset_equal(masks[i], masks[j])) {
				label[i] = (unsigned)j;
				break;
			}
		}
	}
}

static size_t cpu_index(const struct sysfs_ctx *c, unsigned cpu)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->cpus[i] == cpu)
			return i;
	return c->n;
}

/*
 * nodeN/cpulist assigns CPUs to nodes; nodeN/distance lists distances to
 * the nodes in ascending id order, so column j is the j-th node directory.
 */
static int read_nodes(struct sysfs_ctx *c, unsigned **ids_out, int **dist_out, size_t *nids)
{
	DIR *d = opendir(c->node_dir);
	struct dirent *e;
	unsigned *ids = NULL;
	size_t n = 0, cap = 0;
	int *dist;

	*ids_out = NULL;
	*dist_out = NULL;
	*nids = 0;
	if (!d)
		return 0;	/* no NUMA information: everything stays on node 0 */
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "node", 4) || !all_digits(e->d_name + 4))
			continue;
		if (n == cap) {
			unsigned *p = realloc(ids, (cap = cap ? cap * 2 : 8) * sizeof(*ids));

			if (!p) {
				free(ids);
				closedir(d);
				return -ENOMEM;
			}
			ids = p;
		}
		ids[n++] = (unsigned)strtoul(e->d_name + 4, NULL, 10);
	}
	closedir(d);
	if (!n)
		return 0;
	for (size_t i = 1; i < n; i++)	/* few nodes: insertion sort */
		for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			unsigned tmp = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = tmp;
		}
	dist = malloc(n * n * sizeof(int));
	if (!dist) {
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		KT_AUTOFREE char *lpath = kt_asprintf("%s/node%u/cpulist", c->node_dir, ids[i]);
		KT_AUTOFREE char *dpath = kt_asprintf("%s/node%u/distance", c->node_dir, ids[i]);
		KT_AUTOFREE char *text = NULL;
		KT_AUTO(kt_cpuset) cpus = NULL;
		size_t got = 0;

		if (!lpath || !dpath) {
			free(ids);
			free(dist);
			return -ENOMEM;
		}
		cpus = read_mask(c, lpath);
		if (cpus)
			kt_cpuset_for_each(cpu, cpus) {
				size_t k = cpu_index(c, (unsigned)cpu);

				if (k < c->n)
					c->node[k] = ids[i];
			}
		if (kt_read_file(dpath, &text, NULL) == 0) {
			char *p = text, *end;

			for (; got < n; got++) {
				long v = strtol(p, &end, 10);

				if (end == p)
					break;
				dist[i * n + got] = (int)v;
				p = end;
			}
		}
		/* A row that does not match the node count is not trusted. */
		for (size_t j = 0; j < n; j++)
			if (got != n)
				dist[i * n + j] = -1;
	}
	*ids_out = ids;
	*dist_out = dist;
	*nids = n;
	return 0;
}

int kt_topology_from_sysfs(const char *root, struct kt_topology **out)
{
	struct sysfs_ctx c = { 0 };
	const char *sep = root[0] && root[strlen(root) - 1] == '/' ? "" : "/";
	unsigned *llc_label = NULL, *core_label = NULL, *ids = NULL;
	uint64_t *label_size = NULL;
	int *dist = NULL;
	size_t nids = 0;
	int err;

	c.cpu_dir = kt_asprintf("%s%ssys/devices/system/cpu", root, sep);
	c.node_dir = kt_asprintf("%s%ssys/devices/system/node", root, sep);
	if (!c.cpu_dir || !c.node_dir) {
		err = -ENOMEM;
		goto out;
	}
	err = read_online(&c);
	if (err)
		goto out;
	c.core_mask = calloc(c.n, sizeof(*c.core_mask));
	c.llc_mask = calloc(c.n, sizeof(*c.llc_mask));
	c.llc_size = calloc(c.n, sizeof(*c.llc_size));
	c.node = calloc(c.n, sizeof(*c.node));
	llc_label = malloc(c.n * sizeof(unsigned));
	core_label = malloc(c.n * sizeof(unsigned));
	label_size = calloc(c.n, sizeof(*label_size));
	if (!c.core_mask || !c.llc_mask || !c.llc_size || !c.node || !llc_label ||
	    !core_label || !label_size) {
		err = -ENOMEM;
		goto out;
	}
	err = read_cores(&c);
	if (!err)
		err = read_llcs(&c);
	if (!err)
		err = read_nodes(&c, &ids, &dist, &nids);
	if (err)
		goto out;
	label_masks(c.core_mask, c.n, core_label);
	label_masks(c.llc_mask, c.n, llc_label);
	for (size_t i = 0; i < c.n; i++)
		if (!label_size[llc_label[i]])
			label_size[llc_label[i]] = c.llc_size[i];

	struct kt_topo_input in = {
		.ncpus = c.n, .cpus = c.cpus, .llc_label = llc_label, .core_label = core_label,
		.node_id = c.node, .nllc_labels = c.n, .llc_label_size = label_size,
		.ndist = nids, .dist_ids = ids, .dist = dist,
	};
	err = kt_topo_assemble(&in, out);
out:
	free(llc_label);
	free(core_label);
	free(label_size);
	free(ids);
	free(dist);
	ctx_release(&c);
	return err;
}
