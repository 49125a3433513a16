/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots of a paused VM: a state file (persist/snapshot_file.h: the
 * configuration, the VM's and each vCPU's KVM state, each device's state in
 * device-list order) and a memory file (vstate/memory.h: sparse, only what
 * the guest touched). Restoring builds the same machine with the restore
 * recipe (vmm_build_restored()), maps the memory file privately and puts
 * every piece of state back before any vCPU runs.
 */
#ifndef FIGMENT_SNAPSHOT_H
#define FIGMENT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

/* Section types of the state file. */
enum snapshot_section {
	SNAPSHOT_SEC_CONFIG = 1, /* the VM's configuration, JSON */
	SNAPSHOT_SEC_MEMORY = 2, /* guest RAM size */
	SNAPSHOT_SEC_VM = 3,	 /* struct vm_state */
	SNAPSHOT_SEC_VCPU = 4,	 /* struct vcpu_state, instance = index */
	SNAPSHOT_SEC_DEVICE = 5, /* kind, then the device's state; instance =
				  * place in the device list */
};

struct snapshot_stats {
	uint64_t state_bytes;
	uint64_t memory_bytes; /* written: what the guest touched */
	uint64_t memory_size;  /* the guest's RAM */
};

/*
 * VMM thread, VM paused: writes @state_path and @mem_path, each atomically
 * (a temporary file in the same directory, renamed once complete: a failure,
 * a full disk included, leaves nothing under either name). With @diff (the
 * VM tracks dirty pages, and a Full snapshot or a restore came before),
 * only the pages written since then go into @mem_path, which must be that
 * snapshot's memory file (or a copy of it) and not one this VM maps; the
 * state file is still complete. 0, or a negative errno with a one-line
 * reason in @err.
 */
int snapshot_create(struct vmm *vmm, const char *state_path,
		    const char *mem_path, bool diff,
		    struct snapshot_stats *stats, char *err, size_t errlen);

/*
 * VMM thread, nothing built yet on @vmm (vmm_init() done): reads
 * @state_path (refusing a damaged file, another format version, another
 * CPU vendor or CPU features this host's KVM cannot give), builds the
 * machine it describes over @mem_path, and puts all state back. The vCPUs
 * are created, not started: vmm_start() follows. The configuration lives in
 * vmm->owned_cfg; its serial settings come from @opts, not the file, its
 * drives' files too where @opts names them, and dirty pages are tracked
 * when the snapshot's VM did or opts->track_dirty. On
 * failure nothing of the VM is left (vmm_release_vm() done). 0, or a
 * vmm_exit status with a one-line reason in @err.
 */
/* What a restore may change of the snapshot's configuration. */
struct snapshot_restore_opts {
	const struct serial_config *serial; /* the console: this process's */
	bool track_dirty;		    /* log dirty pages (Diff) */
	/* mem_path is a page-fault handler's socket (the Uffd backend), not
	 * a memory file */
	bool uffd;
	/* new backing files for drives, by id (only id and path_on_host
	 * are used); as Firecracker's network_overrides, for drives */
	const struct drive_config *drives;
	int nr_drives;
	/* new TAPs for interfaces, by id (only id and host_dev_name are
	 * used): Firecracker's network_overrides */
	const struct net_config *nets;
	int nr_nets;
	/* a new Unix socket path for the vsock device, or NULL:
	 * Firecracker's vsock_override */
	const char *vsock_uds;
	/* page sharing for the restored RAM (KSM), whatever the snapshot's
	 * VM had: a host's choice */
	bool merge_pages;
};

int snapshot_restore(struct vmm *vmm, const char *state_path,
		     const char *mem_path,
		     const struct snapshot_restore_opts *opts, char *err,
		     size_t errlen);

#endif
