/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One VM's life: built from a validated config, run (vCPU threads plus the
 * VMM thread's event loop), paused and resumed, stopped. Its exit status
 * tells how it ended; see enum vmm_exit and the README.
 */
#ifndef FIGMENT_VMM_H
#define FIGMENT_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include "config/vm_config.h"
#include "devices/acpi/vmgenid.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/boot_timer.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pvpanic.h"
#include "devices/legacy/serial.h"
#include "devices/virtio/virtio_devices.h"
#include "util/event_loop.h"
#include "vmm_exit.h"
#include "vstate/vcpu.h"
#include "vstate/vm.h"

enum vmm_state { VMM_CONFIGURED, VMM_RUNNING, VMM_PAUSED, VMM_STOPPED };

struct vmm {
	const struct vm_config *cfg;
	struct vm_config owned_cfg; /* API mode: the config InstanceStart gave */
	struct vm vm;
	struct vcpu *vcpus;
	uint32_t nr_vcpus;
	struct vcpu_env vcpu_env; /* what the vCPUs see of the VM */
	struct event_loop loop;

	struct serial serial;
	struct i8042 i8042;
	struct acpi_pm pm;
	struct pvpanic pvpanic;
	struct boot_timer timer;
	struct vmgenid vmgenid;
	struct virtio_devices virtio;
	/* every device above, in one list (devices/device.h): snapshots and
	 * the DSDT are loops over it */
	struct device_list devices;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vmm_state state;
	bool start_paused; /* vmm_start() leaves the vCPUs parked (a restore) */
	bool sandboxed;    /* the VMM thread's seccomp filter is on */
	/* guest RAM as of a known memory file: after a Full snapshot or a
	 * restore, so a Diff snapshot has a base to be written onto */
	bool snapshot_base;
	/* the memory file this VM maps (a restore): a Diff is never written
	 * onto it, clones of it may be running */
	dev_t mapped_mem_dev;
	ino_t mapped_mem_ino;
	bool stopping;
	int exit_status;
	char exit_reason[512];

	int console_in;  /* -1: no console input */
	/* serial.out_fd shares O_NONBLOCK with the stdout we inherited
	 * (util/safe_open.h): cleared again on release */
	int console_out_shared;
	bool console_out_waiting; /* out_fd watched for EPOLLOUT */
	bool console_escape; /* saw Ctrl-A */
	bool console_in_paused; /* input unwatched until the guest reads */
	bool tty_raw;
	struct termios tty_saved;
	int signal_fd;

	/* the metadata store (mmds/mmds.h), made on first use (vmm_mmds())
	 * with at most mmds_size_limit bytes (0: the default); it outlives
	 * the VM, as the API's calls to it do */
	struct mmds *mmds;
	size_t mmds_size_limit;
};

/* The metadata store, made on first use; NULL when out of memory. */
struct mmds *vmm_mmds(struct vmm *vmm);

/* Prepares an empty VMM (event loop, locks); 0 or a negative errno. */
int vmm_init(struct vmm *vmm);

/*
 * Builds the VM described by @cfg (already validated): memory, devices,
 * firmware tables, kernel, vCPUs. Nothing runs yet. Returns 0, or a
 * vmm_exit status with a one-line reason in @err.
 */
int vmm_build(struct vmm *vmm, const struct vm_config *cfg, char *err,
	      size_t errlen);

/*
 * The restore recipe: the same machine as vmm_build() for @cfg (the
 * configuration a snapshot carries), with guest RAM mapped privately from
 * @src (a memory file or a page-fault handler), devices and vCPUs created but nothing loaded and
 * no state set: snapshot_restore() sets it. 0 or a vmm_exit status.
 */
/* Where a restored VM's RAM comes from: a memory file mapped privately
 * (@fd), or a userfaultfd handler's socket (@uffd_sock, @fd -1). */
struct vmm_memory_source {
	int fd;
	const char *uffd_sock;
};

int vmm_build_restored(struct vmm *vmm, const struct vm_config *cfg,
		       const struct vmm_memory_source *src, char *err,
		       size_t errlen);

/* Starts the vCPU threads and hooks the console to the event loop. Runs on
 * the VMM thread. 0, or a vmm_exit status with the reason in @err. */
int vmm_start(struct vmm *vmm, char *err, size_t errlen);

/* After the event loop stopped: joins the vCPUs, flushes the console,
 * restores the terminal. Returns the vmm_exit status. */
int vmm_finish(struct vmm *vmm);

/* vmm_start(), the event loop until the VM ends, vmm_finish(). Returns the
 * vmm_exit status; the reason is in vmm->exit_reason. */
int vmm_run(struct vmm *vmm);

/* Puts the calling (VMM) thread under its seccomp filter, once the vCPU and
 * API threads exist (they must not inherit it); idempotent. 0, or a
 * negative errno after asking the VM to stop. */
int vmm_enter_sandbox(struct vmm *vmm);

/* Releases what vmm_build() made (a failed build too), keeping the event
 * loop, so that another build can follow. */
void vmm_release_vm(struct vmm *vmm);

/* After the VM ended with @status: says why, in one line on stderr for a
 * failure ("@prog: reason"), in the log for a clean end. A stderr nobody
 * reads holds the exit up for a second at most. */
void vmm_report_exit(struct vmm *vmm, int status, const char *prog);

/* Releases everything; restores the terminal. */
void vmm_destroy(struct vmm *vmm);

/* Any thread: ends the VM with @status. The first request wins. */
void vmm_request_stop(struct vmm *vmm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The vCPUs' struct vcpu_env stop callback (@opaque is the vmm). */
void vmm_vcpu_stop(void *opaque, int status, const char *reason);

/* VMM thread: parks all vCPUs outside KVM_RUN / lets them go again.
 * 0 or a negative errno (a vCPU that did not answer). */
int vmm_pause(struct vmm *vmm);
int vmm_resume(struct vmm *vmm);

#endif
