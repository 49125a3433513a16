// SPDX-License-Identifier: Apache-2.0
/* The jailer's flags: parsing and the checks that create nothing (see
 * jailer_args.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "jailer/jailer_args.h"
#include "util/instance_id.h"
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

void jailer_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s --id ID --exec-file FILE --uid UID --gid GID [options] [-- ARGS...]\n"
		"\n"
		"Builds a chroot at <base>/<exec file name>/<id>/root, copies FILE into it and\n"
		"runs it there as UID:GID in its own mount namespace, with ARGS after\n"
		"'--id ID --start-time-us T --start-time-cpu-us C --parent-cpu-time-us P'.\n"
		"\n"
		"  --id ID                 1-64 letters, digits and '-'\n"
		"  --exec-file FILE        the VMM to run (a regular file, not a symlink; static)\n"
		"  --uid UID, --gid GID    who it runs as (0 needs --allow-root)\n"
		"  --allow-root            allow --uid 0 or --gid 0\n"
		"  --chroot-base-dir DIR   where chroots are made (default %s)\n"
		"  --netns PATH            join this network namespace\n"
		"  --daemonize             setsid(), stdin/stdout/stderr to /dev/null\n"
		"  --new-pid-ns            run FILE as pid 1 of a new PID namespace; its pid\n"
		"                          goes to <chroot>/<exec file name>.pid\n"
		"  --cgroup FILE=VALUE     write VALUE to FILE of the VM's cgroup (repeatable)\n"
		"  --cgroup-version 1|2    which cgroup hierarchy (default 1, as Firecracker)\n"
		"  --parent-cgroup PATH    the cgroup is <hierarchy>/PATH/<id> (default the\n"
		"                          exec file's name)\n"
		"  --resource-limit fsize=N|no-file=N   setrlimit (default no-file=%d)\n"
		"  --help, --version\n"
		"\n"
		"Exit status: 0 (FILE's own once exec'd), 1 host error, 2 usage, 3 bad input.\n",
		prog, JAILER_DEFAULT_BASE, JAILER_DEFAULT_NOFILE);
}

/* Strict unsigned decimal: the whole string, no sign, at most @max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

enum {
	OPT_ID = 256, OPT_EXEC_FILE, OPT_UID, OPT_GID, OPT_BASE, OPT_NETNS,
	OPT_DAEMONIZE, OPT_NEW_PID_NS, OPT_CGROUP, OPT_CGROUP_VERSION,
	OPT_PARENT_CGROUP, OPT_RESOURCE_LIMIT, OPT_ALLOW_ROOT, OPT_HELP,
	OPT_VERSION,
};

static const struct option options[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "exec-file", required_argument, NULL, OPT_EXEC_FILE },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "chroot-base-dir", required_argument, NULL, OPT_BASE },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "daemonize", no_argument, NULL, OPT_DAEMONIZE },
	{ "new-pid-ns", no_argument, NULL, OPT_NEW_PID_NS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "cgroup-version", required_argument, NULL, OPT_CGROUP_VERSION },
	{ "parent-cgroup", required_argument, NULL, OPT_PARENT_CGROUP },
	{ "resource-limit", required_argument, NULL, OPT_RESOURCE_LIMIT },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* FILE=VALUE: FILE is <controller>.<name>, a file name (no '/'), split at
 * the first '=' (a v2 io.max value has '=' of its own). */
static int parse_cgroup(const char *arg, struct jailer_cgroup_setting *cg,
			char *err, size_t errlen)
{
	const char *eq = strchr(arg, '='), *dot;
	size_t flen, clen;

	if (!eq || eq == arg || !eq[1])
		return fail(VMM_EXIT_USAGE, err, errlen,
			    "--cgroup takes FILE=VALUE (e.g. cpu.max=50000), not '%s'",
			    arg);
	flen = (size_t)(eq - arg);
	dot = memchr(arg, '.', flen);
	clen = dot ? (size_t)(dot - arg) : 0;
	if (!dot || clen == 0 || clen >= JAILER_CONTROLLER_MAX ||
	    dot + 1 == eq || memchr(arg, '/', flen) || flen > NAME_MAX)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--cgroup '%s': the file must be <controller>.<name>, a file name",
			    arg);
	if (strchr(eq + 1, '\n'))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--cgroup '%s': the value has a newline", arg);
	cg->file = strndup(arg, flen);
	cg->value = strdup(eq + 1);
	if (!cg->file || !cg->value)
		return fail(VMM_EXIT_ERROR, err, errlen, "out of memory");
	memcpy(cg->controller, arg, clen);
	cg->controller[clen] = '\0';
	return 0;
}

static int parse_rlimit(const char *arg, struct jailer_args *a, char *err,
			size_t errlen)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq || parse_uint(eq + 1, UINT64_MAX, &v))
		return fail(VMM_EXIT_USAGE, err, errlen,
			    "--resource-limit takes fsize=N or no-file=N, not '%s'",
			    arg);
	if ((size_t)(eq - arg) == 5 && !strncmp(arg, "fsize", 5)) {
		a->has_fsize = true;
		a->fsize = v;
	} else if ((size_t)(eq - arg) == 7 && !strncmp(arg, "no-file", 7)) {
		/* the VMM cannot even hold its stdio below 3 */
		if (v < 3)
			return fail(VMM_EXIT_CONFIG, err, errlen,
				    "--resource-limit no-file=%llu: at least 3",
				    (unsigned long long)v);
		a->nofile = v;
	} else {
		return fail(VMM_EXIT_USAGE, err, errlen,
			    "--resource-limit: unknown resource in '%s' (fsize, no-file)",
			    arg);
	}
	return 0;
}

/* A relative path of plain components: no '/' at either end, no empty, "."
 * or ".." component (the cgroup must stay inside its hierarchy). */
static bool relative_path_ok(const char *p)
{
	size_t n = strlen(p);

	if (!n || n > JAILER_PARENT_CGROUP_MAX)
		return false;
	while (*p) {
		size_t c = strcspn(p, "/");

		if (c == 0 || (c == 1 && p[0] == '.') ||
		    (c == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += c;
		if (*p == '/' && !*++p)
			return false; /* trailing '/' */
	}
	return true;
}

static int set_once(const char **dst, const char *name, char *err,
		    size_t errlen)
{
	if (*dst)
		return fail(VMM_EXIT_USAGE, err, errlen, "--%s given twice",
			    name);
	*dst = optarg;
	return 0;
}

static int parse_id_number(const char *name, uint64_t *out, bool *seen,
			   char *err, size_t errlen)
{
	if (*seen)
		return fail(VMM_EXIT_USAGE, err, errlen, "--%s given twice",
			    name);
	/* (uid_t)-1 means "leave unchanged" to setresuid: never a user */
	if (parse_uint(optarg, UINT32_MAX - 1, out))
		return fail(VMM_EXIT_USAGE, err, errlen,
			    "--%s takes a number from 0 to 4294967294, not '%s'",
			    name, optarg);
	*seen = true;
	return 0;
}

static int parse_options(int argc, char **argv, struct jailer_args *a,
			 char *err, size_t errlen)
{
	const char *base = NULL, *version = NULL;
	bool have_uid = false, have_gid = false;
	int opt, ret = 0, last_end = 1;
	uint64_t v;

	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option, so "--" and what follows it
	 * are left for the exec file */
	while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
		switch (opt) {
		case OPT_ID:
			ret = set_once(&a->id, "id", err, errlen);
			break;
		case OPT_EXEC_FILE:
			ret = set_once(&a->exec_file, "exec-file", err, errlen);
			break;
		case OPT_UID:
			ret = parse_id_number("uid", &v, &have_uid, err, errlen);
			a->uid = (uid_t)v;
			break;
		case OPT_GID:
			ret = parse_id_number("gid", &v, &have_gid, err, errlen);
			a->gid = (gid_t)v;
			break;
		case OPT_BASE:
			ret = set_once(&base, "chroot-base-dir", err, errlen);
			break;
		case OPT_NETNS:
			ret = set_once(&a->netns, "netns", err, errlen);
			break;
		case OPT_DAEMONIZE:
			a->daemonize = true;
			break;
		case OPT_NEW_PID_NS:
			a->new_pid_ns = true;
			break;
		case OPT_ALLOW_ROOT:
			a->allow_root = true;
			break;
		case OPT_CGROUP:
			if (a->nr_cgroups == JAILER_MAX_CGROUPS)
				return fail(VMM_EXIT_USAGE, err, errlen,
					    "too many --cgroup (at most %d)",
					    JAILER_MAX_CGROUPS);
			ret = parse_cgroup(optarg, &a->cgroups[a->nr_cgroups],
					   err, errlen);
			if (!ret)
				a->nr_cgroups++;
			break;
		case OPT_CGROUP_VERSION:
			ret = set_once(&version, "cgroup-version", err, errlen);
			if (!ret && strcmp(optarg, "1") && strcmp(optarg, "2"))
				ret = fail(VMM_EXIT_USAGE, err, errlen,
					   "--cgroup-version takes 1 or 2, not '%s'",
					   optarg);
			if (!ret)
				a->cgroup_version = optarg[0] - '0';
			break;
		case OPT_PARENT_CGROUP:
			ret = set_once(&a->parent_cgroup, "parent-cgroup", err,
				       errlen);
			break;
		case OPT_RESOURCE_LIMIT:
			ret = parse_rlimit(optarg, a, err, errlen);
			break;
		case OPT_HELP:
			a->help = true;
			return 0;
		case OPT_VERSION:
			a->version = true;
			return 0;
		case ':':
			return fail(VMM_EXIT_USAGE, err, errlen,
				    "option '%s' needs a value", argv[optind - 1]);
		default:
			return fail(VMM_EXIT_USAGE, err, errlen,
				    "unknown option '%s'", argv[optind - 1]);
		}
		if (ret)
			return ret;
		last_end = optind;
	}
	/* getopt stepped over a "--" of its own only when optind moved one
	 * past the last option; a "--" that was an option's value does not
	 * count */
	if (optind == last_end + 1 && !strcmp(argv[last_end], "--")) {
		a->extra = argv + optind;
		a->nr_extra = argc - optind;
	} else if (optind < argc) {
		return fail(VMM_EXIT_USAGE, err, errlen,
			    "unexpected argument '%s' (arguments for the exec file go after '--')",
			    argv[optind]);
	}
	if (!a->id || !a->exec_file || !have_uid || !have_gid)
		return fail(VMM_EXIT_USAGE, err, errlen, "missing --%s",
			    !a->id ? "id" :
			    !a->exec_file ? "exec-file" :
			    !have_uid ? "uid" : "gid");
	a->base = strdup(base ? base : JAILER_DEFAULT_BASE);
	if (!a->base)
		return fail(VMM_EXIT_ERROR, err, errlen, "out of memory");
	return 0;
}

int jailer_parse(int argc, char **argv, struct jailer_args *a, char *err,
		 size_t errlen)
{
	const char *slash;
	size_t n;
	int ret;

	memset(a, 0, sizeof(*a));
	a->cgroup_version = 1;
	a->nofile = JAILER_DEFAULT_NOFILE;
	err[0] = '\0';
	ret = parse_options(argc, argv, a, err, errlen);
	if (ret || a->help || a->version)
		return ret;

	/* The id becomes a directory name: the rule leaves no '/' or '.' */
	if (!instance_id_valid(a->id))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "invalid --id '%s' (1-64 characters: letters, digits, -)",
			    a->id);
	if ((a->uid == 0 || a->gid == 0) && !a->allow_root)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--%s 0 would leave the VMM running as root; give --allow-root if that is meant",
			    a->uid == 0 ? "uid" : "gid");

	n = strlen(a->exec_file);
	while (n > 1 && a->exec_file[n - 1] == '/')
		n--;
	if (n < strlen(a->exec_file))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--exec-file '%s' names a directory", a->exec_file);
	slash = strrchr(a->exec_file, '/');
	a->exec_name = slash ? slash + 1 : a->exec_file;
	if (!*a->exec_name || !strcmp(a->exec_name, ".") ||
	    !strcmp(a->exec_name, ".."))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--exec-file '%s' has no file name", a->exec_file);

	/* "dir/" would make lstat() follow a symlink named dir */
	n = strlen(a->base);
	while (n > 1 && a->base[n - 1] == '/')
		a->base[--n] = '\0';
	if (!n)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--chroot-base-dir is empty");

	if (!a->parent_cgroup)
		a->parent_cgroup = a->exec_name;
	if (!relative_path_ok(a->parent_cgroup))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--parent-cgroup '%s' must be a relative path without '.', '..' or empty components",
			    a->parent_cgroup);
	return 0;
}

void jailer_args_free(struct jailer_args *a)
{
	for (size_t i = 0; i < a->nr_cgroups; i++) {
		free(a->cgroups[i].file);
		free(a->cgroups[i].value);
	}
	a->nr_cgroups = 0;
	free(a->base);
	a->base = NULL;
}

int jailer_chroot_path(const struct jailer_args *a, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s/root", a->base, a->exec_name,
			 a->id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static const char *kind_name(mode_t m)
{
	return S_ISDIR(m)  ? "a directory" :
	       S_ISLNK(m)  ? "a symlink" :
	       S_ISFIFO(m) ? "a FIFO" :
	       S_ISSOCK(m) ? "a socket" :
	       S_ISCHR(m)  ? "a character device" :
	       S_ISBLK(m)  ? "a block device" :
			     "a regular file";
}

/* The netns must be a namespace file (nsfs) of the network kind: setns() on
 * anything else fails late, or joins the wrong kind of namespace. */
static int check_netns(const char *path, int *netns_fd, char *err,
		       size_t errlen)
{
	struct statfs sfs;
	int fd, type;

	/* O_NONBLOCK: a FIFO named here must not hang the jailer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--netns '%s': %s", path, strerror(errno));
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
		close(fd);
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--netns '%s' is not a namespace file (e.g. /var/run/netns/NAME)",
			    path);
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--netns '%s' is a namespace, but not a network namespace",
			    path);
	}
	*netns_fd = fd;
	return 0;
}

int jailer_check_paths(const struct jailer_args *a, int *netns_fd, char *err,
		       size_t errlen)
{
	char path[PATH_MAX];
	struct statvfs vfs;
	struct stat st;

	*netns_fd = -1;
	if (lstat(a->exec_file, &st) < 0)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--exec-file '%s': %s", a->exec_file,
			    strerror(errno));
	/* A symlink would be copied as its target under the link's name: the
	 * jail would not hold what the caller named. */
	if (!S_ISREG(st.st_mode))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--exec-file '%s' is %s, not a regular file",
			    a->exec_file, kind_name(st.st_mode));
	if (!(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--exec-file '%s' is not executable", a->exec_file);

	if (lstat(a->base, &st) < 0)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--chroot-base-dir '%s': %s", a->base,
			    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--chroot-base-dir '%s' is %s, not a directory",
			    a->base, kind_name(st.st_mode));
	/* /dev/kvm made in the jail would not open there */
	if (statvfs(a->base, &vfs) == 0 && (vfs.f_flag & ST_NODEV))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--chroot-base-dir '%s' is on a filesystem mounted nodev: the jail's /dev/kvm could not be opened",
			    a->base);

	if (snprintf(path, sizeof(path), "%s/%s/%s/root/%s", a->base,
		     a->exec_name, a->id, a->exec_name) >= (int)sizeof(path))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "--chroot-base-dir '%s': the chroot path is too long",
			    a->base);
	/* <base>/<name>/<id>: a jail for this id exists already (Firecracker
	 * refuses to reuse one too) */
	*strrchr(path, '/') = '\0';
	*strrchr(path, '/') = '\0';
	if (lstat(path, &st) == 0)
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "'%s' exists already: a jail for id '%s' was made before (remove it first)",
			    path, a->id);
	if (errno != ENOENT)
		return fail(VMM_EXIT_CONFIG, err, errlen, "'%s': %s", path,
			    strerror(errno));
	/* <base>/<name> may exist (other jails), but as a directory */
	*strrchr(path, '/') = '\0';
	if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		return fail(VMM_EXIT_CONFIG, err, errlen,
			    "'%s' is %s, not a directory", path,
			    kind_name(st.st_mode));

	if (a->netns)
		return check_netns(a->netns, netns_fd, err, errlen);
	return 0;
}
