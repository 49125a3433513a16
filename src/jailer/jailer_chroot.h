/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail's directory: <base>/<exec name>/<id>/root with a copy of the exec
 * file, then entered through a mount namespace and pivot_root, then given
 * the folders and device nodes the VMM needs, owned by the VM's uid:gid.
 */
#ifndef FIGMENT_JAILER_CHROOT_H
#define FIGMENT_JAILER_CHROOT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jailer/jailer_args.h"

struct jailer_chroot {
	char name_dir[PATH_MAX]; /* <base>/<exec name> */
	char id_dir[PATH_MAX];   /* <base>/<exec name>/<id> */
	char root[PATH_MAX];     /* <base>/<exec name>/<id>/root */
	char exec[PATH_MAX];     /* <root>/<exec name> */
	bool made_name_dir, made_id_dir, made_root, made_exec;
	bool entered;            /* pivoted: the paths above mean nothing now */
	dev_t root_dev;          /* the root directory made, as fstat() saw */
	ino_t root_ino;          /* it: the paths are checked against it */
	/* <base>, <name>, <id>, root, open (O_PATH) from jailer_chroot_create()
	 * until the jail is entered or removed: removing goes through them,
	 * never through the paths. -1 when not open. */
	int dir_fd[4];
	bool has_uffd;           /* the host has /dev/userfaultfd ... */
	dev_t uffd_rdev;         /* ... with this (dynamic) device number */
};

/*
 * Creates <base>/<exec name> (if need be), <id> (which must not exist: a
 * jail is never reused) and root (0700), and copies the exec file into it
 * as /<exec name> (root-owned, 0755). Nothing is followed through a
 * symlink. On failure what was made is removed again; returns 0,
 * VMM_EXIT_CONFIG (the id's jail exists) or VMM_EXIT_ERROR, with the reason
 * in @err.
 */
int jailer_chroot_create(const struct jailer_args *a, struct jailer_chroot *c,
			 char *err, size_t errlen);

/* Removes what jailer_chroot_create made (only before jailer_chroot_enter),
 * relative to the directories it opened: a symlink put in their place since
 * is not followed. */
void jailer_chroot_remove(struct jailer_chroot *c);

/*
 * A new mount namespace with / made a slave (nothing done here propagates to
 * the host), the root bind-mounted on itself and pivot_root'ed to, the old
 * root detached: afterwards the process sees only the jail, at "/". The
 * directory entered must be the one jailer_chroot_create() made: a path
 * swapped for a symlink meanwhile is refused. 0 or VMM_EXIT_ERROR with the
 * reason in @err.
 */
int jailer_chroot_enter(struct jailer_chroot *c, char *err, size_t errlen);

/*
 * Inside the jail: /, /dev, /dev/net and /run (where the API socket goes by
 * default) as 0700 directories owned by @uid:@gid; /dev/kvm (10:232),
 * /dev/net/tun (10:200) and, when the host has it, /dev/userfaultfd as
 * 0600 character devices owned by @uid:@gid. 0 or VMM_EXIT_ERROR.
 */
int jailer_chroot_populate(const struct jailer_chroot *c, uid_t uid, gid_t gid,
			   char *err, size_t errlen);

#endif
