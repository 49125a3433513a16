/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Firecracker-compatible HTTP API on a Unix socket, and its bridge to the
 * VMM thread.
 *
 * The API thread parses and validates requests and keeps its own copy of the
 * VM's configuration: before InstanceStart no VM exists, so resource PUTs only
 * change that copy. Everything that touches the VM (start, pause, resume,
 * Ctrl+Alt+Del, a drive's backing file, snapshots) and every file a request
 * names (kernel, initrd, drives, log and metrics files) is posted to the VMM
 * thread as one tagged message (api/bridge.h) through an eventfd-signalled
 * queue on the VMM's event loop and runs there; the API thread waits for the
 * answer with a timeout, never touches the VM and opens no file.
 */
#ifndef FIGMENT_API_API_H
#define FIGMENT_API_API_H

#include <stdbool.h>
#include <stddef.h>

#include "config/vm_config.h"

struct event_loop;
struct api_server;

/*
 * Implemented by the VMM. Every callback runs on the VMM thread (from the
 * handler api_start() adds to @vmm_loop). Each returns 0, or a negative errno
 * with a one-line reason in @err (shown to the client as fault_message).
 * A callback may be NULL: the request is then answered as not supported.
 */
/* How PUT /snapshot/load wants the VM back. */
struct api_snapshot_load {
	bool resume;	  /* running, else paused */
	bool track_dirty; /* log dirty pages, for Diff snapshots */
	bool uffd;	  /* mem_path is a page-fault handler's socket */
	/* ->drives (id and path_on_host) replace the snapshot's files */
	const struct vm_config *overrides;
};

/* What a call to the metadata store does. */
enum api_mmds_op { API_MMDS_PUT, API_MMDS_PATCH, API_MMDS_GET };

/* What a call to the balloon does (the PUT is a configuration call). */
enum api_balloon_op {
	API_BALLOON_GET,	  /* GET /balloon */
	API_BALLOON_PATCH,	  /* PATCH /balloon */
	API_BALLOON_STATS,	  /* GET /balloon/statistics */
	API_BALLOON_STATS_PATCH,  /* PATCH /balloon/statistics */
	API_BALLOON_HINT_START,	  /* PATCH /balloon/hinting/start */
	API_BALLOON_HINT_STATUS,  /* GET /balloon/hinting/status */
	API_BALLOON_HINT_STOP,	  /* PATCH /balloon/hinting/stop */
};

struct api_vmm_ops {
	/* Validates the VMM's configuration, then builds and starts the VM
	 * from it. */
	int (*instance_start)(void *vmm, char *err, size_t errlen);
	/* A configuration call before boot: decodes @body (JSON text) as
	 * resource @res (enum config_resource; @id the path's {id}) into the
	 * VMM's configuration (config/config_apply.h). */
	int (*configure)(void *vmm, int res, const char *id, const char *body,
			 char *err, size_t errlen);
	/* The VMM's configuration, or its @res part, as JSON text in *@out
	 * (malloc'd). */
	int (*get_config)(void *vmm, int res, char **out, char *err,
			  size_t errlen);
	int (*pause)(void *vmm, char *err, size_t errlen);
	int (*resume)(void *vmm, char *err, size_t errlen);
	int (*send_ctrl_alt_del)(void *vmm, char *err, size_t errlen);
	/* Optional: refresh device counters; metrics_flush() follows it. */
	int (*flush_metrics)(void *vmm, char *err, size_t errlen);
	/* Swaps the backing file of a running drive (media change) unless
	 * @path is NULL, and sets its rate limiter unless @rl is NULL. */
	int (*drive_update)(void *vmm, const char *drive_id, const char *path,
			    const struct rate_limiter_config *rl, char *err,
			    size_t errlen);
	/* Sets a running interface's rate limiters (each NULL: unchanged). */
	int (*net_update)(void *vmm, const char *iface_id,
			  const struct rate_limiter_config *rx,
			  const struct rate_limiter_config *tx, char *err,
			  size_t errlen);
	/* The metadata store, before or after boot: @op with @body (JSON
	 * text; PUT, PATCH) or the store as JSON text into *@out (GET,
	 * malloc'd). */
	int (*mmds)(void *vmm, int op, const char *body, char **out,
		    char *err, size_t errlen);
	/* The balloon, before or after boot: @op (enum api_balloon_op) with
	 * @body (JSON text or NULL), a GET's answer as JSON text in *@out
	 * (malloc'd). */
	int (*balloon)(void *vmm, int op, const char *body, char **out,
		       char *err, size_t errlen);
	/* Writes a snapshot of the paused VM (PUT /snapshot/create). */
	int (*snapshot_create)(void *vmm, const char *state_path,
			       const char *mem_path, bool diff, char *err,
			       size_t errlen);
	/* Builds the VM from a snapshot (PUT /snapshot/load, before any VM
	 * exists), as @how says. */
	int (*snapshot_load)(void *vmm, const char *state_path,
			     const char *mem_path,
			     const struct api_snapshot_load *how, char *err,
			     size_t errlen);
	/* figment's GET /memory: the running VM's memory report as JSON
	 * text in *@out (malloc'd). */
	int (*memory_report)(void *vmm, char **out, char *err, size_t errlen);
};

struct api_options {
	const char *sock_path;
	/* The VM was already started (--config-file with --api-sock): only
	 * the post-boot requests are served. */
	bool started;
	bool started_paused; /* ... and its vCPUs are parked (a restore) */
	size_t max_body;	    /* 0: HTTP_DEFAULT_MAX_BODY (51200) */
	const char *instance_id;    /* GET / "id"; NULL: "anonymous-instance" */
	unsigned vmm_timeout_ms;    /* wait for the VMM thread; 0: 5000 */
	unsigned start_timeout_ms;  /* for InstanceStart; 0: 30000 */
	unsigned client_timeout_ms; /* idle or slow client; 0: 30000 */
};

/*
 * Creates the socket (mode 0600; a stale socket at the path is replaced, a
 * live one or a non-socket file is refused with -EADDRINUSE / -EEXIST),
 * registers the request queue on @vmm_loop (call before the loop runs, or on
 * its thread) and starts the API thread. @ops and @vmm must outlive the
 * server. 0 with *out set, or a negative errno.
 */
int api_start(struct api_server **out, const struct api_options *opts,
	      struct event_loop *vmm_loop, const struct api_vmm_ops *ops,
	      void *vmm);

/*
 * Stops the API thread, fails queued requests, removes the socket and frees
 * the server. Call it on the VMM thread or after the VMM loop stopped (no
 * VMM callback may be running concurrently). NULL is a no-op.
 */
void api_stop(struct api_server *srv);

/*
 * Tells the API the VM stopped on its own (guest power-off, fatal exit):
 * later requests that need a VM are refused. Any thread.
 */
void api_notify_stopped(struct api_server *srv);

#endif
