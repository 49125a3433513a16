/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One vCPU: its KVM file descriptor, its shared kvm_run page and the thread
 * that runs the KVM_RUN loop, dispatching exits to the VM's buses.
 *
 * The vCPU owns its run state. Other threads do not reach into it: they
 * post an event (pause, resume, save its state, stop) and the vCPU thread
 * carries it out between two KVM_RUN calls and answers (vcpu_post()). What
 * the vCPU needs from the rest of figment is in struct vcpu_env: the buses
 * and a way to end the VM, nothing of the VMM itself.
 */
#ifndef FIGMENT_VSTATE_VCPU_H
#define FIGMENT_VSTATE_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"

struct kvm_run;
struct vcpu_state;

/* What a vCPU thread is given; outlives every vCPU that uses it. */
struct vcpu_env {
	int kvm_fd; /* /dev/kvm */
	int vm_fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	struct bus *pio;
	struct bus *mmio;
	/* Ends the VM with @status (enum vmm_exit) and @reason; any thread,
	 * the first call wins. */
	void (*stop)(void *opaque, int status, const char *reason);
	void *opaque;
};

enum vcpu_event {
	VCPU_EV_NONE,
	VCPU_EV_PAUSE,	/* leave KVM_RUN and wait; answered once parked */
	VCPU_EV_RESUME, /* run again */
	VCPU_EV_SAVE,	/* paused: read the state out of KVM into the buffer */
};

struct vcpu {
	uint32_t index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
	const struct vcpu_env *env;

	/* the mailbox and the run state, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool paused;
	bool stopping;
	bool exited;
	enum vcpu_event event; /* posted, not yet answered */
	struct vcpu_state *event_state;
	int event_result;
	uint64_t answered; /* count of answered events */
};

/* KVM_CREATE_VCPU and the kvm_run mapping. 0 or a negative errno. */
int vcpu_create(struct vcpu *vcpu, const struct vcpu_env *env, uint32_t index);
void vcpu_destroy(struct vcpu *vcpu);

/* Installs the kick signal handler; call once before any vcpu_start(). */
int vcpu_signals_init(void);

/* Starts the thread; with @paused it parks before its first KVM_RUN until
 * a VCPU_EV_RESUME. */
int vcpu_start(struct vcpu *vcpu, bool paused);

/*
 * Posts @ev (with @state for VCPU_EV_SAVE) and waits up to @timeout_ms for
 * the vCPU thread's answer: 0, the event's own negative errno, -ETIMEDOUT,
 * or -ESRCH when the thread has ended (or was never started). Not from the
 * vCPU's own thread. One poster at a time (the VMM thread).
 */
int vcpu_post(struct vcpu *vcpu, enum vcpu_event ev, struct vcpu_state *state,
	      unsigned int timeout_ms);

/* Any thread, never waits: the vCPU leaves KVM_RUN and its loop ends. */
void vcpu_request_stop(struct vcpu *vcpu);

/* Waits up to @timeout_ms (plus one more kick and a second) for the vCPU
 * thread to end. 0, or -ETIMEDOUT when it is stuck (it is then left
 * running and must not be destroyed). */
int vcpu_join(struct vcpu *vcpu, unsigned int timeout_ms);

#endif
