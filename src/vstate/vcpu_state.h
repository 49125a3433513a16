/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Everything KVM holds about one vCPU that a snapshot needs, read out of KVM
 * and written back: general and special registers, FPU/XSAVE, XCRs, debug
 * registers, LAPIC, MP state, pending events, the MSRs KVM lists as
 * saveable, CPUID and the TSC frequency. Plain data (the kernel's uapi
 * structs, fixed-size arrays), so it is written to a snapshot as it is and
 * checked by size and counts when read back.
 */
#ifndef FIGMENT_VSTATE_VCPU_STATE_H
#define FIGMENT_VSTATE_VCPU_STATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#define VCPU_STATE_MAX_MSRS 256
#define VCPU_STATE_MAX_CPUID 128

_Static_assert(sizeof(struct kvm_xsave) == 4096, "KVM_GET_XSAVE's size");

struct vcpu_state {
	uint32_t nr_msrs;
	uint32_t nr_cpuid;
	uint32_t tsc_khz; /* 0: KVM did not say */
	uint32_t pad;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	/* struct kvm_xsave, which ends in a flexible array: its fixed
	 * 4 KiB, what KVM_GET_XSAVE writes */
	uint32_t xsave[1024];
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp_state;
	struct kvm_vcpu_events events;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
	struct kvm_cpuid_entry2 cpuid[VCPU_STATE_MAX_CPUID];
};

/* Reads @vcpu_fd's state (the vCPU must not be in KVM_RUN); @kvm_fd is
 * /dev/kvm, for the list of saveable MSRs. 0 or a negative errno. */
int vcpu_state_save(int kvm_fd, int vcpu_fd, struct vcpu_state *st);

/* Writes @st into a vCPU that has not run yet. 0 or a negative errno with
 * the step that failed in @err. */
int vcpu_state_restore(int vcpu_fd, const struct vcpu_state *st, char *err,
		       size_t errlen);

/* Checks counts read from a file: 0 or -EINVAL. */
int vcpu_state_check(const struct vcpu_state *st);

#endif
