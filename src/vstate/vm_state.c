// SPDX-License-Identifier: Apache-2.0
#include "vstate/vm_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int vm_state_save(const struct vm *vm, struct vm_state *st)
{
	memset(st, 0, sizeof(*st));
	st->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	st->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	st->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &st->pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &st->pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &st->ioapic) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_PIT2, &st->pit) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_CLOCK, &st->clock) < 0)
		return -errno;
	return 0;
}

int vm_state_restore(const struct vm *vm, const struct vm_state *st,
		     char *err, size_t errlen)
{
	struct kvm_clock_data clock = { .clock = st->clock.clock };
	const char *step = "KVM_SET_IRQCHIP";

	if (st->pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER ||
	    st->pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE ||
	    st->ioapic.chip_id != KVM_IRQCHIP_IOAPIC) {
		snprintf(err, errlen, "the VM state names the wrong interrupt controllers");
		return -EINVAL;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &st->pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &st->pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &st->ioapic) < 0)
		goto fail;
	step = "KVM_SET_PIT2";
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &st->pit) < 0)
		goto fail;
	/* Only the clock value: the other fields (flags, host time) are
	 * the saving host's and KVM refuses some of them here. */
	step = "KVM_SET_CLOCK";
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "restoring the VM: %s failed: %s", step,
		 strerror(errno));
	return -errno;
}
