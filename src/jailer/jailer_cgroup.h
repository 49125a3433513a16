/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's cgroup: <hierarchy>/<parent cgroup>/<id> in every hierarchy the
 * --cgroup settings need (cgroup v1: one per controller mount; v2: the
 * unified one), the values written, the jailer's own pid moved in (the VMM
 * it execs inherits it). Planning reads only; applying creates, and undoes
 * what it created when something fails.
 */
#ifndef FIGMENT_JAILER_CGROUP_H
#define FIGMENT_JAILER_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jailer/jailer_args.h"

#define JAILER_MAX_HIERARCHIES 16
#define JAILER_MAX_LEVELS 64 /* components of <parent>/<id> */

struct jailer_hierarchy {
	char mount[PATH_MAX];  /* where the hierarchy is mounted */
	char dir[PATH_MAX];    /* <mount>/<parent>/<id> */
	char origin[PATH_MAX]; /* the jailer's cgroup there, to go back to */
	int version;           /* 1 or 2 */
	bool cpuset;           /* v1 with cpuset: new cgroups start empty */
	size_t levels;         /* components of <parent>/<id> */
	size_t created;        /* how many of the deepest we made */
	bool attached;
};

struct jailer_cgroups {
	struct jailer_hierarchy h[JAILER_MAX_HIERARCHIES];
	size_t nr;
	size_t hier_of[JAILER_MAX_CGROUPS]; /* each setting's hierarchy */
	const struct jailer_args *args;
};

/*
 * Finds the hierarchy of each of @a's --cgroup settings in @mounts (a
 * /proc/mounts file) and checks, creating nothing, that its controller is
 * there (v1: a mount with that controller; v2: listed in the root's
 * cgroup.controllers; "cgroup.*" core files need none), and that the
 * setting's file exists at the v1 hierarchy's root (v2 roots lack
 * controller files: those are checked once the cgroup is made). A cgroup
 * left by an earlier VM of the same id is reused, as Firecracker does; it is
 * never removed on failure. @self_cgroup is a
 * /proc/self/cgroup file (where to move back on failure). No settings: an
 * empty plan. Returns 0 or VMM_EXIT_CONFIG (VMM_EXIT_ERROR when a file
 * cannot be read) with the reason in @err.
 */
int jailer_cgroup_plan(const struct jailer_args *a, const char *mounts,
		       const char *self_cgroup, struct jailer_cgroups *cg,
		       char *err, size_t errlen);

/*
 * Creates each planned cgroup (v2: each controller enabled in
 * cgroup.subtree_control from the root down to the parent; v1 cpuset: cpus
 * and mems copied from the parent), writes every value, then moves @pid in.
 * On failure everything it did is undone (jailer_cgroup_undo) and it
 * returns VMM_EXIT_CONFIG (a file that is missing or refuses the value) or
 * VMM_EXIT_ERROR, with the reason in @err.
 */
int jailer_cgroup_apply(struct jailer_cgroups *cg, pid_t pid, char *err,
			size_t errlen);

/* Moves @pid back where it was and removes the cgroups apply made. */
void jailer_cgroup_undo(struct jailer_cgroups *cg, pid_t pid);

#endif
