/* SPDX-License-Identifier: Apache-2.0 */
/* What KVM holds for the whole VM that a snapshot needs: the two PICs and
 * the IOAPIC of the in-kernel irqchip, the PIT and the kvmclock. Plain data
 * (the kernel's uapi structs). */
#ifndef FIGMENT_VSTATE_VM_STATE_H
#define FIGMENT_VSTATE_VM_STATE_H

#include <linux/kvm.h>
#include <stddef.h>

#include "vstate/vm.h"

struct vm_state {
	struct kvm_irqchip pic_master;
	struct kvm_irqchip pic_slave;
	struct kvm_irqchip ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* 0 or a negative errno. The vCPUs must be paused. */
int vm_state_save(const struct vm *vm, struct vm_state *st);

/* Into a VM with its irqchip and PIT created and no vCPU run yet. 0 or a
 * negative errno with the step in @err. */
int vm_state_restore(const struct vm *vm, const struct vm_state *st,
		     char *err, size_t errlen);

#endif
