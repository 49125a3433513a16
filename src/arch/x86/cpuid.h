/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What CPUID tells the guest: KVM's supported set, normalised for one vCPU
 * (APIC ID and topology leaves, hypervisor bit and vendor leaf, TSC-deadline
 * timer) so that every vCPU of a VM describes the same machine.
 */
#ifndef FIGMENT_ARCH_X86_CPUID_H
#define FIGMENT_ARCH_X86_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_cpuid2;
struct kvm_cpuid_entry2;

struct cpuid_config {
	uint32_t nr_cpus;
	/* NULL: "KVMKVMKVM" (kvm-clock and PV features work); otherwise up to
	 * 12 characters shown in leaf 0x40000000 instead. */
	const char *vendor;
	bool hide_hypervisor; /* no hypervisor bit, no 0x4000_00xx leaves */
	bool tsc_deadline;    /* the host's KVM emulates the TSC-deadline timer */
};

/* Fetches KVM_GET_SUPPORTED_CPUID. Returns a malloc'd table or NULL with
 * errno set. */
struct kvm_cpuid2 *cpuid_supported(int kvm_fd);

/*
 * A snapshot's vCPU CPUID (@saved, @n entries) against what this host's KVM
 * supports (@host): every feature flag the guest was shown (leaves 1, 7.0,
 * 0xd.1, 0x80000001) must be one KVM or the CPU itself has here, apart from the flags
 * figment sets itself (hypervisor, TSC-deadline) and OSXSAVE, which follows
 * the guest's CR4. 0, or -ENOTSUP with the first missing flag named in @err.
 */
int cpuid_check_restorable(const struct kvm_cpuid_entry2 *saved, uint32_t n,
			   const struct kvm_cpuid2 *host, char *err,
			   size_t errlen);

/* Rewrites a copy of @base for vCPU @cpu_index. Returns a malloc'd table
 * or NULL (ENOMEM). */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base,
				  const struct cpuid_config *cfg,
				  uint32_t cpu_index);

#endif
