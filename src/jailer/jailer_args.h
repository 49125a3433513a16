/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jailer's command line: Firecracker's jailer flags, parsed and checked
 * before anything is created. Parsing (jailer_parse) touches nothing;
 * jailer_check_paths() looks at the files the flags name (lstat, open of the
 * netns) and still creates nothing.
 */
#ifndef FIGMENT_JAILER_ARGS_H
#define FIGMENT_JAILER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define JAILER_DEFAULT_BASE "/srv/jailer"
#define JAILER_DEFAULT_NOFILE 2048 /* Firecracker's default no-file limit */
#define JAILER_MAX_CGROUPS 32
#define JAILER_CONTROLLER_MAX 32
#define JAILER_PARENT_CGROUP_MAX 1024
/* What `jailer --version` claims, for tools that parse Firecracker's. */
#define JAILER_COMPAT_VERSION "1.7.0"

/* One --cgroup FILE=VALUE. */
struct jailer_cgroup_setting {
	char *file;  /* "cpu.max", "memory.limit_in_bytes" */
	char *value; /* written as it is */
	char controller[JAILER_CONTROLLER_MAX]; /* the part before the first '.' */
};

struct jailer_args {
	const char *id;
	const char *exec_file;
	const char *exec_name; /* exec_file's last component */
	char *base;            /* --chroot-base-dir, trailing '/' removed */
	const char *netns;
	const char *parent_cgroup; /* default: exec_name */
	uid_t uid;
	gid_t gid;
	bool daemonize;
	bool new_pid_ns;
	bool allow_root; /* --allow-root: uid or gid 0 is meant */
	int cgroup_version; /* 1 (Firecracker's default) or 2 */
	struct jailer_cgroup_setting cgroups[JAILER_MAX_CGROUPS];
	size_t nr_cgroups;
	bool has_fsize;
	uint64_t fsize; /* --resource-limit fsize=N (RLIMIT_FSIZE) */
	uint64_t nofile; /* --resource-limit no-file=N (RLIMIT_NOFILE) */
	char **extra; /* the arguments after "--", for the exec file */
	int nr_extra;
	bool help;
	bool version;
};

/*
 * Parses @argv (argv[0] is the program name) into @a, which it initialises.
 * Strings point into @argv except base and the cgroup settings, which are
 * @a's (jailer_args_free). Returns 0, VMM_EXIT_USAGE for a malformed command
 * line (unknown flag, missing value or required flag, not a number, a flag
 * given twice), or VMM_EXIT_CONFIG for a value that is well-formed but not
 * allowed (an id with '/', uid 0 without --allow-root, a parent cgroup with
 * ".."), with a one-line reason in @err. --help and --version only set
 * a->help / a->version.
 */
int jailer_parse(int argc, char **argv, struct jailer_args *a, char *err,
		 size_t errlen);

void jailer_args_free(struct jailer_args *a);

/*
 * Checks the paths @a names, creating nothing: the exec file is a regular
 * file (not a symlink) with an execute bit; the chroot base is a directory
 * (not a symlink); <base>/<exec name>/<id> does not exist yet; the netns, when
 * given, is a network namespace, opened into *@netns_fd (else -1). Returns 0
 * or VMM_EXIT_CONFIG with the reason in @err.
 */
int jailer_check_paths(const struct jailer_args *a, int *netns_fd, char *err,
		       size_t errlen);

/* <base>/<exec name>/<id>/root into @buf. 0, or -ENAMETOOLONG. */
int jailer_chroot_path(const struct jailer_args *a, char *buf, size_t len);

/* The usage text. */
void jailer_usage(FILE *out, const char *prog);

#endif
