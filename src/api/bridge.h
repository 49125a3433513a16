/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request queue from the API thread to the VMM thread. A request is
 * posted, the VMM thread is woken through an eventfd on its event loop, runs
 * the matching api_vmm_ops callback and wakes the waiting API thread. A
 * request whose waiter gave up (timeout) is still run and then freed by the
 * VMM thread; the VM state the bridge tracks is updated either way.
 */
#ifndef FIGMENT_API_BRIDGE_H
#define FIGMENT_API_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

enum bridge_op {
	BRIDGE_START,
	BRIDGE_PAUSE,
	BRIDGE_RESUME,
	BRIDGE_CTRL_ALT_DEL,
	BRIDGE_FLUSH_METRICS,
	BRIDGE_DRIVE_UPDATE,
	BRIDGE_NET_UPDATE,
	BRIDGE_SNAPSHOT_CREATE,
	BRIDGE_SNAPSHOT_LOAD,
	/* opens the files of msg->cfg that msg->files names: the API thread
	 * opens none itself (a path may be a FIFO, a slow NFS mount...) */
	BRIDGE_OPEN_FILES,
	/* a configuration call (msg->resource, msg->body, msg->drive_id),
	 * applied to the VMM's configuration, the only copy */
	BRIDGE_CONFIGURE,
	/* the VMM's configuration (msg->resource: CONFIG_RES_MACHINE or
	 * CONFIG_RES_ALL) as JSON text into *msg->out */
	BRIDGE_GET_CONFIG,
	/* the metadata store (msg->resource: enum api_mmds_op; msg->body for
	 * PUT and PATCH; GET's JSON text into *msg->out) */
	BRIDGE_MMDS,
	/* GET /memory: the memory report as JSON text into *msg->out */
	BRIDGE_MEMORY_REPORT,
	/* the balloon (msg->resource: enum api_balloon_op; msg->body for the
	 * PATCHes; GETs' JSON text into *msg->out) */
	BRIDGE_BALLOON,
};

/* BRIDGE_OPEN_FILES: which of cfg's files. */
enum bridge_files {
	BRIDGE_FILES_OVERRIDES, /* check every drive's file opens for reading */
};

/* One request to the VMM thread: the operation and what it uses. */
struct bridge_msg {
	enum bridge_op op;
	const struct vm_config *cfg; /* START; SNAPSHOT_LOAD: drive overrides */
	const char *drive_id;	     /* DRIVE_UPDATE; NET_UPDATE: the iface id;
				      * CONFIGURE: the path's id */
	const char *path;	     /* DRIVE_UPDATE: the new file;
				      * SNAPSHOT_*: the state file */
	const char *mem_path;	     /* SNAPSHOT_*: the memory file */
	bool resume;		     /* SNAPSHOT_LOAD: run once loaded */
	bool track_dirty;	     /* SNAPSHOT_LOAD: log dirty pages */
	bool diff;		     /* SNAPSHOT_CREATE: a Diff snapshot */
	bool uffd;		     /* SNAPSHOT_LOAD: mem_path is a handler's socket */
	enum bridge_files files;     /* OPEN_FILES */
	int resource;		     /* CONFIGURE, GET_CONFIG: config_resource */
	const char *body;	     /* CONFIGURE: the request's JSON body */
	/* GET_CONFIG, MEMORY_REPORT: receives the malloc'd text (the
	 * caller frees it) */
	char **out;
	/* DRIVE_UPDATE: a new rate limiter, or NULL (path may be NULL
	 * then, for a limiter alone) */
	const struct rate_limiter_config *rate_limiter;
	/* NET_UPDATE: new rx and tx limiters, each NULL: unchanged */
	const struct rate_limiter_config *net_rx, *net_tx;
};

/* What the VM is doing, as the API sees it. */
enum vm_state {
	VM_NOT_STARTED,
	VM_STARTING, /* InstanceStart posted, not answered yet */
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPED,
};

struct bridge;

/* Adds the queue's eventfd to @vmm_loop. 0 or a negative errno. */
int bridge_create(struct bridge **out, struct event_loop *vmm_loop,
		  const struct api_vmm_ops *ops, void *vmm,
		  enum vm_state initial);
/* Unregisters and frees; queued requests fail with -ESHUTDOWN. Same thread
 * rules as api_stop(). */
void bridge_destroy(struct bridge *b);
/* Wakes waiters with -ESHUTDOWN and refuses new requests. Any thread. */
void bridge_shutdown(struct bridge *b);

/*
 * API thread: runs @m on the VMM thread and waits up to @timeout_ms. What
 * @m points to is copied. Returns the callback's result (its message in
 * @err), -ETIMEDOUT, -ESHUTDOWN, -EOPNOTSUPP (no callback) or -ENOMEM.
 */
int bridge_call(struct bridge *b, const struct bridge_msg *m,
		unsigned timeout_ms, char *err, size_t errlen);

enum vm_state bridge_vm_state(struct bridge *b);
void bridge_set_vm_state(struct bridge *b, enum vm_state s);

#endif
