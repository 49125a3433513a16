/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `figment container run`, host side: the image or rootfs to a disk, the
 * process to run from the image config and the command line, a microVM
 * (a `figment run` child with the agent initramfs, the disk and a vsock
 * device) and the agent's stream: spec out, stdio and exit status back.
 */
#ifndef FIGMENT_CONTAINER_RUN_H
#define FIGMENT_CONTAINER_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "container/oci_image.h"

struct container_opts {
	const char *image;  /* an OCI layout folder or its tar */
	const char *rootfs; /* or a plain folder */
	const char *kernel; /* NULL: the cache's minimal guest kernel */
	const char *agent;  /* NULL: figment-agent.cpio next to figment */
	const char *workdir;
	const char *user;
	uint64_t cpus, mem_mib;
	struct oci_strv env; /* -e K=V, in order */
	char **argv;         /* after --; may be empty */
	int argc;
	bool verbose;
};

/* Runs the container; returns figment's exit status: the process's, or
 * 2 (usage), 3 (bad image or input), 1 (a host failure). */
int container_run(const struct container_opts *o);

/* The process's argv per Docker's rule: the image's Entrypoint, then the
 * command line's arguments if any, else the image's Cmd. NULL-terminated,
 * into @out; 0, or -1 when that is empty. */
int container_args(const struct oci_process_defaults *d, char **argv, int argc,
		   struct oci_strv *out);

/* The image's Env with each -e applied (K=V replaces K; a bare K takes
 * the host's value, or is dropped when the host has none). */
int container_env(const struct oci_strv *image_env, const struct oci_strv *cli_env,
		  struct oci_strv *out);

#endif
