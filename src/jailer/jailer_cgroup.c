// SPDX-License-Identifier: Apache-2.0
/* The VM's cgroup (see jailer_cgroup.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer/jailer_cgroup.h"
#include "vmm_exit.h"

static int fail(int status, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int status, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

/* true when the comma- or space-separated @list has the token @word. */
static bool has_token(const char *list, const char *word, const char *seps)
{
	size_t n = strlen(word);

	while (*list) {
		size_t c = strcspn(list, seps);

		if (c == n && !strncmp(list, word, n))
			return true;
		list += c;
		list += strspn(list, seps);
	}
	return false;
}

/* /proc/mounts writes ' ', '\t', '\n' and '\\' in octal (\040). */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* Reads the first line of @path (at most @len - 1 bytes) without its
 * newline. 0 or a negative errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* One write() of @s to @path, as cgroup files want. 0 or a negative errno. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(s);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = write(fd, s, n);
	if (w < 0)
		w = -errno;
	close(fd);
	return w < 0 ? (int)w : (size_t)w == n ? 0 : -EIO;
}

/* The mount point of the hierarchy @version that has @controller (v2: the
 * first cgroup2 mount, whatever @controller). 0, -ENOENT, or an errno. */
static int find_mount(const char *mounts, int version, const char *controller,
		      char *out, size_t outlen)
{
	FILE *f = fopen(mounts, "re");
	char *line = NULL, *save, *mnt, *type, *opts;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret == -ENOENT && getline(&line, &cap, f) > 0) {
		if (!strtok_r(line, " ", &save))
			continue;
		mnt = strtok_r(NULL, " ", &save);
		type = strtok_r(NULL, " ", &save);
		opts = strtok_r(NULL, " ", &save);
		if (!mnt || !type || !opts)
			continue;
		if ((version == 2 && !strcmp(type, "cgroup2")) ||
		    (version == 1 && !strcmp(type, "cgroup") &&
		     has_token(opts, controller, ","))) {
			unescape(mnt);
			ret = snprintf(out, outlen, "%s", mnt) < (int)outlen ?
				      0 :
				      -ENAMETOOLONG;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

/* Where the jailer is now in hierarchy @h (from /proc/self/cgroup: v1 the
 * line listing @controller, v2 the "0::" line), as a path under h->mount.
 * Not found: the hierarchy's root. */
static void find_origin(const char *self_cgroup, struct jailer_hierarchy *h,
			const char *controller)
{
	FILE *f = fopen(self_cgroup, "re");
	char *line = NULL, *ctl, *path;
	size_t cap = 0;

	snprintf(h->origin, sizeof(h->origin), "%s", h->mount);
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		ctl = strchr(line, ':');
		path = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!path)
			continue;
		*ctl++ = '\0';
		*path++ = '\0';
		if ((h->version == 2 && !strcmp(line, "0") && !*ctl) ||
		    (h->version == 1 && has_token(ctl, controller, ","))) {
			if (strcmp(path, "/"))
				snprintf(h->origin, sizeof(h->origin), "%s%s",
					 h->mount, path);
			break;
		}
	}
	free(line);
	fclose(f);
}

/* "cgroup.*" files are the v2 core interface: every cgroup has them, no
 * controller to enable. */
static bool core_file(const struct jailer_hierarchy *h,
		      const struct jailer_cgroup_setting *s)
{
	return h->version == 2 && !strcmp(s->controller, "cgroup");
}

static int plan_one(struct jailer_cgroups *cg, const char *mounts,
		    const char *self_cgroup, size_t i, char *err, size_t errlen)
{
	const struct jailer_args *a = cg->args;
	const struct jailer_cgroup_setting *s = &a->cgroups[i];
	struct jailer_hierarchy *h;
	char mnt[PATH_MAX], path[PATH_MAX * 2], line[4096];
	int ret;

	ret = find_mount(mounts, a->cgroup_version, s->controller, mnt,
			 sizeof(mnt));
	if (ret == -ENOENT)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    a->cgroup_version == 2 ?
				    "--cgroup %s: no cgroup v2 hierarchy is mounted (try --cgroup-version 1)" :
				    "--cgroup %s: no cgroup v1 hierarchy has the '%s' controller (does it exist? try --cgroup-version 2)",
			    s->file, s->controller);
	if (ret)
		return fail(VMM_EXIT_ERROR, err, errlen, "cannot read '%s': %s",
			    mounts, strerror(-ret));

	for (cg->hier_of[i] = 0; cg->hier_of[i] < cg->nr; cg->hier_of[i]++)
		if (!strcmp(cg->h[cg->hier_of[i]].mount, mnt))
			break;
	h = &cg->h[cg->hier_of[i]];
	if (cg->hier_of[i] == cg->nr) {
		if (cg->nr == JAILER_MAX_HIERARCHIES)
			return fail(VMM_EXIT_CONFIG, err, errlen,
				    "--cgroup: more than %d hierarchies",
				    JAILER_MAX_HIERARCHIES);
		memset(h, 0, sizeof(*h));
		memcpy(h->mount, mnt, sizeof(mnt));
		h->version = a->cgroup_version;
		h->levels = 2; /* <id> and the parent's first component */
		for (const char *p = a->parent_cgroup; *p; p++)
			h->levels += *p == '/';
		if (h->levels > JAILER_MAX_LEVELS ||
		    snprintf(h->dir, sizeof(h->dir), "%s/%s/%s", mnt,
			     a->parent_cgroup, a->id) >= (int)sizeof(h->dir))
			return fail(VMM_EXIT_CONFIG, err, errlen,
				    "--parent-cgroup '%s' is too long",
				    a->parent_cgroup);
		find_origin(self_cgroup, h, s->controller);
		/* a v1 hierarchy mounted with several controllers is one
		 * hierarchy: is cpuset one of them? */
		h->cpuset = h->version == 1 &&
			    find_mount(mounts, 1, "cpuset", path,
				       sizeof(path)) == 0 &&
			    !strcmp(path, mnt);
		cg->nr++;
	}

	if (h->version == 1) {
		snprintf(path, sizeof(path), "%s/%s", mnt, s->file);
		if (access(path, F_OK))
			return fail(VMM_EXIT_CONFIG, err, errlen,
				    "--cgroup %s: the '%s' hierarchy at '%s' has no file '%s'",
				    s->file, s->controller, mnt, s->file);
	} else if (!core_file(h, s)) {
		snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
		ret = read_line(path, line, sizeof(line));
		if (ret)
			return fail(VMM_EXIT_ERROR, err, errlen,
				    "cannot read '%s': %s", path,
				    strerror(-ret));
		if (!has_token(line, s->controller, " "))
			return fail(VMM_EXIT_CONFIG, err, errlen,
				    "--cgroup %s: the cgroup v2 hierarchy at '%s' has no '%s' controller (it has: %s)",
				    s->file, mnt, s->controller,
				    *line ? line : "none");
	}
	return 0;
}

int jailer_cgroup_plan(const struct jailer_args *a, const char *mounts,
		       const char *self_cgroup, struct jailer_cgroups *cg,
		       char *err, size_t errlen)
{
	memset(cg, 0, sizeof(*cg));
	cg->args = a;
	for (size_t i = 0; i < a->nr_cgroups; i++) {
		int ret = plan_one(cg, mounts, self_cgroup, i, err, errlen);

		if (ret)
			return ret;
	}
	return 0;
}

/* @h->dir cut after @level components below the mount (1: the parent's
 * first component; h->levels: the VM's cgroup itself). */
static void level_path(const struct jailer_hierarchy *h, size_t level,
		       char *out, size_t outlen)
{
	size_t n = strlen(h->mount);
	const char *p = h->dir + n;

	for (size_t l = 0; l < level; l++)
		p = strchrnul(p + 1, '/');
	snprintf(out, outlen, "%.*s", (int)(p - h->dir), h->dir);
}

/* A new v1 cpuset cgroup has empty cpus and mems, and takes no process
 * until both are set: start from the parent's. */
static int cpuset_inherit(const char *dir, const char *parent, char *err,
			  size_t errlen)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char path[PATH_MAX + 32], line[4096];
	int ret;

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (read_line(path, line, sizeof(line)) == 0 && *line)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, files[i]);
		if (read_line(path, line, sizeof(line)) || !*line)
			continue; /* the value written later may set it */
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		ret = write_file(path, line);
		if (ret)
			return fail(VMM_EXIT_ERROR, err, errlen,
				    "cannot copy %s into '%s': %s", files[i],
				    dir, strerror(-ret));
	}
	return 0;
}

/* v2: a controller is usable in a cgroup only when every ancestor enables
 * it for its children. */
static int enable_controllers(struct jailer_cgroups *cg, size_t hi,
			      char *err, size_t errlen)
{
	struct jailer_hierarchy *h = &cg->h[hi];
	char dir[PATH_MAX], path[PATH_MAX + 32], word[JAILER_CONTROLLER_MAX + 1];
	int ret;

	for (size_t i = 0; i < cg->args->nr_cgroups; i++) {
		const struct jailer_cgroup_setting *s = &cg->args->cgroups[i];

		if (cg->hier_of[i] != hi || core_file(h, s))
			continue;
		snprintf(word, sizeof(word), "+%s", s->controller);
		for (size_t l = 0; l < h->levels; l++) {
			level_path(h, l, dir, sizeof(dir));
			snprintf(path, sizeof(path), "%s/cgroup.subtree_control",
				 dir);
			ret = write_file(path, word);
			if (ret)
				return fail(VMM_EXIT_ERROR, err, errlen,
					    "cannot enable the '%s' controller in '%s': %s",
					    s->controller, path, strerror(-ret));
		}
	}
	return 0;
}

static int make_dirs(struct jailer_hierarchy *h, char *err, size_t errlen)
{
	char dir[PATH_MAX], parent[PATH_MAX];
	struct stat st;
	int ret;

	for (size_t l = 1; l <= h->levels; l++) {
		level_path(h, l, dir, sizeof(dir));
		if (mkdir(dir, 0755) == 0) {
			if (!h->created) /* this level and all below it */
				h->created = h->levels - l + 1;
		} else if (errno != EEXIST || lstat(dir, &st) ||
			   !S_ISDIR(st.st_mode)) {
			return fail(VMM_EXIT_ERROR, err, errlen,
				    "cannot create the cgroup '%s': %s", dir,
				    strerror(errno == EEXIST ? ENOTDIR : errno));
		}
		if (h->cpuset) {
			level_path(h, l - 1, parent, sizeof(parent));
			ret = cpuset_inherit(dir, parent, err, errlen);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int write_values(struct jailer_cgroups *cg, char *err, size_t errlen)
{
	char path[PATH_MAX * 2];
	int ret;

	for (size_t i = 0; i < cg->args->nr_cgroups; i++) {
		const struct jailer_cgroup_setting *s = &cg->args->cgroups[i];
		const struct jailer_hierarchy *h = &cg->h[cg->hier_of[i]];

		snprintf(path, sizeof(path), "%s/%s", h->dir, s->file);
		ret = write_file(path, s->value);
		if (ret == -ENOENT)
			return fail(VMM_EXIT_CONFIG, err, errlen,
				    "--cgroup %s: the cgroup '%s' has no such file",
				    s->file, h->dir);
		if (ret)
			return fail(VMM_EXIT_CONFIG, err, errlen,
				    "--cgroup %s=%s: writing '%s' failed: %s",
				    s->file, s->value, path, strerror(-ret));
	}
	return 0;
}

int jailer_cgroup_apply(struct jailer_cgroups *cg, pid_t pid, char *err,
			size_t errlen)
{
	char path[PATH_MAX + 32], num[24];
	int ret = 0;

	for (size_t hi = 0; hi < cg->nr && !ret; hi++) {
		ret = make_dirs(&cg->h[hi], err, errlen);
		if (!ret && cg->h[hi].version == 2)
			ret = enable_controllers(cg, hi, err, errlen);
	}
	if (!ret)
		ret = write_values(cg, err, errlen);
	/* only once every value is in: a cpuset takes no process before */
	snprintf(num, sizeof(num), "%d", (int)pid);
	for (size_t hi = 0; hi < cg->nr && !ret; hi++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->h[hi].dir);
		ret = write_file(path, num);
		if (ret)
			ret = fail(VMM_EXIT_ERROR, err, errlen,
				   "cannot move the jailer into '%s': %s",
				   cg->h[hi].dir, strerror(-ret));
		else
			cg->h[hi].attached = true;
	}
	if (ret)
		jailer_cgroup_undo(cg, pid);
	return ret;
}

void jailer_cgroup_undo(struct jailer_cgroups *cg, pid_t pid)
{
	char path[PATH_MAX + 32], num[24];

	snprintf(num, sizeof(num), "%d", (int)pid);
	for (size_t hi = 0; hi < cg->nr; hi++) {
		struct jailer_hierarchy *h = &cg->h[hi];

		if (h->attached) {
			snprintf(path, sizeof(path), "%s/cgroup.procs",
				 h->origin);
			write_file(path, num);
			h->attached = false;
		}
		/* deepest first; each made by this jailer, so empty */
		for (size_t l = h->levels; h->created; l--, h->created--) {
			level_path(h, l, path, sizeof(path));
			rmdir(path);
		}
	}
}
