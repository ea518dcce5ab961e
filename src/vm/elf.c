/*
 * The shared-library closure of an ELF executable, found the way the
 * dynamic loader finds it, so that a dynamically linked binary copied into
 * the guest finds every library it needs there.  Uses libelf to read
 * PT_INTERP and the dynamic section.  Knows nothing about cpio or QEMU.
 */
#include "vm/vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

struct elf_info {
	char *interp;
	struct kt_strlist needed;
	char *rpath, *runpath;
	int elfclass, machine;
	bool is_elf;
};

static void elf_info_release(struct elf_info *e)
{
	free(e->interp);
	free(e->rpath);
	free(e->runpath);
	kt_strlist_release(&e->needed);
}

static int elf_read(const char *path, struct elf_info *info)
{
	Elf *elf;
	GElf_Ehdr eh;
	size_t nph;
	KT_AUTOCLOSE int fd = -1;
	int err = 0;

	memset(info, 0, sizeof(*info));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		goto out;	/* not an ELF file: nothing to resolve */
	info->is_elf = true;
	info->elfclass = eh.e_ident[EI_CLASS];
	info->machine = eh.e_machine;
	if (elf_getphdrnum(elf, &nph) < 0)
		goto out;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_INTERP) {
			size_t sz;
			char *raw = elf_rawfile(elf, &sz);

			if (raw && ph.p_offset + ph.p_filesz <= sz && ph.p_filesz > 1)
				info->interp = strndup(raw + ph.p_offset, ph.p_filesz);
		}
	}
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t i = 0; i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1); i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(data, (int)i, &dyn))
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH)
				continue;
			s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag == DT_NEEDED)
				err = kt_strlist_add(&info->needed, s);
			else if (dyn.d_tag == DT_RPATH && !info->rpath)
				info->rpath = strdup(s);
			else if (dyn.d_tag == DT_RUNPATH && !info->runpath)
				info->runpath = strdup(s);
			if (err)
				goto out;
		}
	}
out:
	if (elf)
		elf_end(elf);
	return err;
}

int kt_elf_is_dynamic(const char *path)
{
	struct elf_info info;
	int err = elf_read(path, &info), r;

	if (err)
		return err;
	r = info.is_elf && (info.interp || info.needed.n);
	elf_info_release(&info);
	return r;
}

/* Directories from ld.so.conf (with its include globs). */
static void ldconf_dirs(const char *conf, struct kt_strlist *dirs, int depth)
{
	char line[PATH_MAX];
	FILE *f;

	if (depth > 4)
		return;
	f = fopen(conf, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		s[strcspn(s, "#\n")] = '\0';
		while (*s && s[strlen(s) - 1] == ' ')
			s[strlen(s) - 1] = '\0';
		if (!*s)
			continue;
		if (!strncmp(s, "include", 7) && (s[7] == ' ' || s[7] == '\t')) {
			glob_t g;
			char *pat = s + 8 + strspn(s + 8, " \t");

			if (glob(pat, 0, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++)
					ldconf_dirs(g.gl_pathv[i], dirs, depth + 1);
				globfree(&g);
			}
		} else if (*s == '/' && !kt_strlist_has(dirs, s)) {
			kt_strlist_add(dirs, s);
		}
	}
	fclose(f);
}

/* Append the ':'-separated path list, expanding $ORIGIN. */
static void add_paths(struct kt_strlist *dirs, const char *list, const char *origin)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		return;
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (!strncmp(p, "$ORIGIN", 7))
			kt_strlist_addf(dirs, "%s%s", origin, p + 7);
		else if (!strncmp(p, "${ORIGIN}", 9))
			kt_strlist_addf(dirs, "%s%s", origin, p + 9);
		else
			kt_strlist_add(dirs, p);
	}
	free(copy);
}

static bool compatible(const char *path, const struct elf_info *want)
{
	struct elf_info got;
	bool ok;

	if (access(path, R_OK) < 0 || elf_read(path, &got))
		return false;
	ok = got.is_elf && got.elfclass == want->elfclass && got.machine == want->machine;
	elf_info_release(&got);
	return ok;
}

static const char *const default_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib",
	"/usr/lib", NULL,
};

static int resolve_one(const char *obj, const struct elf_info *info, const char *name,
		       const char *lib_path, char **found)
{
	struct kt_strlist dirs = { 0 };
	char origin[PATH_MAX], *slash;
	int err = -ENOENT;

	if (strchr(name, '/')) {
		*found = strdup(name);
		return *found ? 0 : -ENOMEM;
	}
	snprintf(origin, sizeof(origin), "%s", obj);
	slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(origin, ".");
	if (info->rpath && !info->runpath)
		add_paths(&dirs, info->rpath, origin);
	if (lib_path && *lib_path)
		add_paths(&dirs, lib_path, origin);
	if (info->runpath)
		add_paths(&dirs, info->runpath, origin);
	ldconf_dirs("/etc/ld.so.conf", &dirs, 0);
	for (size_t i = 0; default_dirs[i]; i++)
		kt_strlist_add(&dirs, default_dirs[i]);
	for (size_t i = 0; i < dirs.n; i++) {
		char *cand = kt_asprintf("%s/%s", dirs.v[i], name);

		if (cand && compatible(cand, info)) {
			*found = cand;
			err = 0;
			break;
		}
		free(cand);
	}
	kt_strlist_release(&dirs);
	return err;
}

int kt_elf_closure(const char *path, const char *lib_path, struct kt_strlist *libs,
		   char **missing)
{
	struct kt_strlist queue = { 0 };
	int err = 0;

	err = kt_strlist_add(&queue, path);
	for (size_t q = 0; !err && q < queue.n; q++) {
		struct elf_info info;
		const char *obj = queue.v[q];

		err = elf_read(obj, &info);
		if (err || !info.is_elf) {
			if (!err)
				elf_info_release(&info);
			continue;
		}
		if (info.interp && !kt_strlist_has(libs, info.interp)) {
			err = kt_strlist_add(libs, info.interp);
			if (!err)
				err = kt_strlist_add(libs, info.interp);
			if (!err)
				err = kt_strlist_add(&queue, info.interp);
		}
		for (size_t i = 0; !err && i < info.needed.n; i++) {
			char *found = NULL;

			err = resolve_one(obj, &info, info.needed.v[i], lib_path, &found);
			if (err == -ENOENT) {
				if (missing)
					*missing = strdup(info.needed.v[i]);
				break;
			}
			if (!err && !kt_strlist_has(libs, found)) {
				char real[PATH_MAX];
				const char *host = realpath(found, real) ? real : found;

				err = kt_strlist_add(libs, found);
				if (!err)
					err = kt_strlist_add(libs, host);
				if (!err)
					err = kt_strlist_add(&queue, found);
			}
			free(found);
		}
		elf_info_release(&info);
	}
	kt_strlist_release(&queue);
	return err;
}
