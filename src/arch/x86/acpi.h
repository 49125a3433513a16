/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for x86 guests: RSDP, XSDT, FADT, FACS, MADT and DSDT, written
 * into guest memory at [LAYOUT_ACPI, LAYOUT_ACPI_END).
 *
 * The machine they describe is a PC as far as interrupts go (8259s, IOAPIC,
 * ISA IRQs), so the FADT is not "hardware-reduced": a hardware-reduced x86
 * Linux drops its legacy PIC and with it the ISA IRQ numbers that COM1,
 * the i8042 and command-line virtio devices are known by. Of ACPI's fixed
 * hardware there are only the PM1 blocks (no PM timer, no GPE blocks) and
 * an SCI that never fires. Poweroff goes through PM1_CNT, reset through
 * the FADT reset register, CPUs and the IOAPIC through the MADT. The DSDT
 * has \_S5_ and, in \_SB_, a node for each device of the VM's device list
 * that describes itself (devices/device.h, acpi_describe): the COM1 UART,
 * the i8042, pvpanic, the VM generation ID and its GED, the virtio-mmio
 * devices (LNRO0005, which is how a kernel without virtio_mmio
 * command-line support finds them).
 */
#ifndef FIGMENT_ARCH_X86_ACPI_H
#define FIGMENT_ARCH_X86_ACPI_H

#include <stdint.h>

#include "devices/device.h"
#include "vstate/memory.h"

/* APIC IDs are 8 bits in MADT type-0 entries, 0xff is the broadcast id and
 * the IOAPIC takes id nr_cpus: so at most 254 CPUs. */
#define ACPI_MAX_CPUS 254
/* Pins of the (KVM in-kernel) IOAPIC: GSIs a device may use. */
#define ACPI_IOAPIC_PINS 24

struct acpi_config {
	uint32_t nr_cpus; /* APIC IDs 0..nr_cpus-1 */
	/* the VM's device list (vmm->devices.items), may be NULL: those
	 * with an acpi_describe op get a DSDT node, in this order */
	const struct device *devices;
	uint32_t nr_devices;
};

/*
 * Writes RSDP, XSDT, FADT, FACS, MADT and DSDT into guest memory, RSDP
 * first at LAYOUT_ACPI (16-byte aligned inside the BIOS area a kernel
 * scans).
 * Needs: guest RAM covering [LAYOUT_ACPI, LAYOUT_ACPI_END) in one region.
 * Does not keep @cfg. Returns 0 and stores the RSDP address in *@rsdp_gpa,
 * or: -EINVAL for 0 CPUs, a device whose description is invalid (a bad
 * window or IRQ), or devices but a NULL array; -E2BIG for more than
 * ACPI_MAX_CPUS CPUs; -ENOSPC when the tables do not fit the window; -EFAULT when guest memory does not
 * cover it; -ENOMEM. Guest memory is only written on success.
 */
int acpi_build(const struct guest_memory *mem, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

#endif
