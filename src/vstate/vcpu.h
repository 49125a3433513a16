/* SPDX-License-Identifier: Apache-2.0 */
/* One vCPU: its KVM file descriptor, its shared kvm_run page and the thread
 * that runs the KVM_RUN loop, dispatching exits to the VM's buses. */
#ifndef FIGMENT_VSTATE_VCPU_H
#define FIGMENT_VSTATE_VCPU_H

#include <pthread.h>
#include <stdint.h>

struct kvm_run;
struct vmm;

struct vcpu {
	uint32_t index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
	struct vmm *vmm;
};

/* KVM_CREATE_VCPU and the kvm_run mapping. 0 or a negative errno. */
int vcpu_create(struct vcpu *vcpu, struct vmm *vmm, uint32_t index);
void vcpu_destroy(struct vcpu *vcpu);

/* Installs the kick signal handler; call once before any vcpu_start(). */
int vcpu_signals_init(void);

int vcpu_start(struct vcpu *vcpu);

/* Makes the vCPU leave KVM_RUN soon (it then checks the VMM's state). */
void vcpu_kick(struct vcpu *vcpu);

/* Waits up to @timeout_ms (plus one more kick and a second) for the vCPU
 * thread to end. 0, or -ETIMEDOUT when it is stuck (it is then left
 * running and must not be destroyed). */
int vcpu_join(struct vcpu *vcpu, unsigned int timeout_ms);

#endif
