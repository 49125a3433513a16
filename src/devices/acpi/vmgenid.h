/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Virtual Machine Generation ID (Microsoft's "Virtual Machine
 * Generation ID" specification, as Linux's drivers/virt/vmgenid.c and
 * Firecracker implement it): 16 random bytes in guest memory that change
 * whenever the VM may have been duplicated, so that a guest can tell it is
 * a clone and reseed its random number generator.
 *
 * The guest finds the bytes through a DSDT device (_CID "VM_GEN_COUNTER",
 * which Linux 6.1 matches) whose ADDR method returns their guest-physical
 * address, and is told of a change by a notification (Notify 0x80) that an
 * ACPI Generic Event Device (ACPI0013) sends when its interrupt fires. At
 * boot the ID is fresh from getrandom(); restoring a snapshot is by
 * definition a new generation: the restore writes a new ID into guest
 * memory and the VMM raises the interrupt once the vCPUs run
 * (vmgenid_notify()).
 */
#ifndef FIGMENT_DEVICES_ACPI_VMGENID_H
#define FIGMENT_DEVICES_ACPI_VMGENID_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "vstate/memory.h"

#define VMGENID_SIZE 16
/* figment's own ACPI id for the device (iasl refuses "VMGENCTR" as a
 * _HID: an ACPI id ends in 4 hex digits); guests match its _CID. */
#define VMGENID_HID "FGMT0001"
#define VMGENID_CID "VM_GEN_COUNTER"
#define VMGENID_NOTIFY 0x80 /* the specification's "ID changed" */

struct vmgenid {
	const struct guest_memory *mem;
	uint64_t gpa; /* the 16 bytes, in reserved guest RAM */
	uint32_t gsi; /* the GED's interrupt */
	uint8_t id[VMGENID_SIZE];
	/* a restore wrote a new ID the guest has not been told about */
	bool notify_pending;
	void (*irq)(void *opaque, int level); /* drives the GSI's line */
	void *opaque;
};

/* Its entry in the device list: save/restore (the ID, its address and
 * GSI; a restore writes a new ID) and its DSDT nodes (VGEN, GED_). */
extern const struct device_ops vmgenid_device_ops;

/* Sets @g up for the ID at @gpa (8-byte aligned, in guest RAM the guest
 * does not use) and the GED interrupt @gsi raised through @irq. Writes
 * nothing to guest memory. */
void vmgenid_init(struct vmgenid *g, const struct guest_memory *mem,
		  uint64_t gpa, uint32_t gsi, void (*irq)(void *, int),
		  void *opaque);

/* A new generation: a fresh random ID, never equal to the current one,
 * written to guest memory (and marked dirty for Diff snapshots). Does not
 * notify. 0 or a negative errno (getrandom() failed, or -EFAULT when the
 * address is not guest RAM). */
int vmgenid_new_generation(struct vmgenid *g);

/* VMM thread, once the vCPUs run: when a restore changed the ID, pulses the
 * GED interrupt (edge) so the guest rereads it. Returns whether it did. */
bool vmgenid_notify(struct vmgenid *g);

#endif
